/* recorder: a pure-C test plugin. Appends one line per handled event to a file and can be told
 * to misbehave, so that tests can watch the host's pipeline semantics from outside:
 *
 *   <event_id> <event_type> <topic> <partition> <offset> <attempt> <result>
 *
 * Config keys: output (required), fail_every, retry_times, retry_every, sleep_ms, reject.
 * A call the host makes against the ABI's threading rule (handle_batch entered twice, or flush
 * while handle_batch runs) adds a line starting with "OVERLAP".
 * Built with RECORDER_UNTERMINATED_ERRORS, it breaks the ABI's error-text rule on purpose: it
 * fails handle_batch, flush, shutdown (and create, on reject) with `cap` bytes of 'x' and no NUL.
 * Built only against wallet_event_plugin.h, as a vendor's plugin would be. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wallet_event_plugin.h"

struct wep_instance {
  FILE* out;
  long fail_every;  /* every Nth event (by count handled) fails; 0 = never */
  long retry_times; /* events are RETRY'd this many deliveries before DONE; -1 = forever */
  long retry_every; /* only every Nth offset is retried (0/1 = all) */
  long sleep_ms;    /* sleep this long per batch */
  long seen;
  atomic_int in_handle_batch;
  const wep_host_api* host;
  wep_host_ctx* ctx;
};

/* Finds "key": <number|string> in a flat JSON object; enough for the host-validated config. */
static const char* find_key(const char* json, size_t len, const char* key) {
  char pattern[64];
  snprintf(pattern, sizeof pattern, "\"%s\"", key);
  size_t plen = strlen(pattern);
  for (size_t i = 0; i + plen <= len; ++i) {
    if (memcmp(json + i, pattern, plen) == 0) {
      const char* p = json + i + plen;
      while (*p == ' ' || *p == ':') ++p;
      return p;
    }
  }
  return NULL;
}

static long get_long(const char* json, size_t len, const char* key, long def) {
  const char* p = find_key(json, len, key);
  return p ? strtol(p, NULL, 10) : def;
}

#ifdef RECORDER_UNTERMINATED_ERRORS
static void write_error(char* err, size_t cap, const char* text, size_t len) {
  (void)text;
  (void)len;
  memset(err, 'x', cap);
}
#else
#define write_error wep_write_message
#endif

static int create(const wep_instance_info* info, wep_instance** out, char* err, size_t cap) {
  const char* json = info->config_json.ptr;
  size_t len = info->config_json.len;
  const char* reject = find_key(json, len, "reject");
  if (reject && strncmp(reject, "true", 4) == 0) {
    write_error(err, cap, "reject is true: refusing as asked", 33);
    return WEP_ERR_CONFIG;
  }
  const char* p = find_key(json, len, "output");
  if (!p || *p != '"') {
    write_error(err, cap, "output: a file path is required", 31);
    return WEP_ERR_CONFIG;
  }
  char path[4096];
  size_t n = 0;
  for (++p; *p && *p != '"' && n + 1 < sizeof path; ++p) path[n++] = *p;
  path[n] = '\0';
  FILE* f = fopen(path, "a");
  if (!f) {
    char msg[4200];
    snprintf(msg, sizeof msg, "output %s: %s", path, strerror(errno));
    write_error(err, cap, msg, strlen(msg));
    return WEP_ERR_CONFIG;
  }
  wep_instance* inst = calloc(1, sizeof *inst);
  if (!inst) {
    fclose(f);
    return WEP_ERR_INTERNAL;
  }
  inst->out = f;
  inst->fail_every = get_long(json, len, "fail_every", 0);
  inst->retry_times = get_long(json, len, "retry_times", 0);
  inst->retry_every = get_long(json, len, "retry_every", 0);
  inst->sleep_ms = get_long(json, len, "sleep_ms", 0);
  inst->host = info->host;
  inst->ctx = info->ctx;
  *out = inst;
  return WEP_OK;
}

static void destroy(wep_instance* inst) {
  if (inst->out) fclose(inst->out);
  free(inst);
}

static int handle_batch(wep_instance* inst, const wep_batch* batch, char* err, size_t cap) {
#ifdef RECORDER_UNTERMINATED_ERRORS
  (void)inst;
  (void)batch;
  write_error(err, cap, NULL, 0);
  return WEP_ERR_INTERNAL;
#else
  (void)err;
  (void)cap;
#endif
  if (atomic_exchange(&inst->in_handle_batch, 1) != 0) fprintf(inst->out, "OVERLAP handle_batch\n");
  if (inst->sleep_ms > 0) {
    struct timespec ts = {inst->sleep_ms / 1000, (inst->sleep_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
  }
  for (size_t i = 0; i < batch->count; ++i) {
    const wep_event* e = batch->events[i];
    wep_event_result* r = batch->results[i];
    const char* outcome = "done";
    int retry_this = inst->retry_every <= 1 || e->offset % inst->retry_every == 0;
    if (retry_this && (inst->retry_times < 0 || (long)e->delivery_attempt <= inst->retry_times)) {
      wep_set_result(r, WEP_RESULT_RETRY, "recorder: retry as configured");
      outcome = "retry";
    } else if (inst->fail_every > 0 && (inst->seen + 1) % inst->fail_every == 0) {
      wep_set_result(r, WEP_RESULT_FAILED, "recorder: failing every Nth event as configured");
      outcome = "failed";
    } else {
      wep_set_result(r, WEP_RESULT_DONE, NULL);
    }
    if (strcmp(outcome, "retry") != 0) inst->seen++;
    fprintf(inst->out, "%.*s %.*s %.*s %d %lld %u %s\n", (int)e->event_id.len, e->event_id.ptr,
            (int)e->event_type_name.len, e->event_type_name.ptr, (int)e->topic.len, e->topic.ptr,
            (int)e->partition, (long long)e->offset, (unsigned)e->delivery_attempt, outcome);
  }
  fflush(inst->out);
  atomic_store(&inst->in_handle_batch, 0);
  return WEP_OK;
}

static int flush_hook(wep_instance* inst, char* err, size_t cap) {
#ifdef RECORDER_UNTERMINATED_ERRORS
  (void)inst;
  write_error(err, cap, NULL, 0);
  return WEP_ERR_UNAVAILABLE;
#endif
  if (atomic_load(&inst->in_handle_batch) != 0) fprintf(inst->out, "OVERLAP flush\n");
  if (fflush(inst->out) != 0) {
    write_error(err, cap, strerror(errno), strlen(strerror(errno)));
    return WEP_ERR_UNAVAILABLE;
  }
  return WEP_OK;
}

#ifdef RECORDER_UNTERMINATED_ERRORS
static int shutdown_hook(wep_instance* inst, uint64_t deadline_ns, char* err, size_t cap) {
  (void)inst;
  (void)deadline_ns;
  write_error(err, cap, NULL, 0);
  return WEP_ERR_TIMEOUT;
}
#else
#define shutdown_hook NULL
#endif

static const wep_config_key k_output = {
    WEP_STRUCT_SIZE(wep_config_key, description), "output", WEP_CONFIG_STRING, 1, NULL,
    "file each handled event is appended to"};
static const wep_config_key k_fail = {WEP_STRUCT_SIZE(wep_config_key, description),
                                      "fail_every",
                                      WEP_CONFIG_INT,
                                      0,
                                      "0",
                                      "fail every Nth event (0 = never)"};
static const wep_config_key k_retry = {
    WEP_STRUCT_SIZE(wep_config_key, description),          "retry_times", WEP_CONFIG_INT, 0, "0",
    "answer RETRY for this many deliveries (-1 = forever)"};
static const wep_config_key k_retry_every = {
    WEP_STRUCT_SIZE(wep_config_key, description),    "retry_every", WEP_CONFIG_INT, 0, "0",
    "retry only offsets divisible by this (0 = all)"};
static const wep_config_key k_sleep = {WEP_STRUCT_SIZE(wep_config_key, description),
                                       "sleep_ms",
                                       WEP_CONFIG_INT,
                                       0,
                                       "0",
                                       "sleep this long per batch"};
static const wep_config_key k_reject = {WEP_STRUCT_SIZE(wep_config_key, description),
                                        "reject",
                                        WEP_CONFIG_BOOL,
                                        0,
                                        "false",
                                        "refuse to be created"};
static const wep_config_key* const keys[] = {&k_output,      &k_fail,  &k_retry,
                                             &k_retry_every, &k_sleep, &k_reject};

/* Variants for the loader's refusal tests: a wrong major, a truncated descriptor, no entry,
 * no event type the host knows. */
#ifndef RECORDER_ABI_MAJOR
#define RECORDER_ABI_MAJOR WEP_ABI_MAJOR
#endif
#ifndef RECORDER_DESCRIPTOR_SIZE
#define RECORDER_DESCRIPTOR_SIZE WEP_STRUCT_SIZE(wep_plugin_descriptor, shutdown)
#endif
/* Built for a later ABI minor that knows more event types, subscribing only to one of those. */
#ifdef RECORDER_FUTURE_TYPES_ONLY
#define RECORDER_SUBSCRIPTIONS WEP_EVENT_BIT(40)
#else
#define RECORDER_SUBSCRIPTIONS WEP_EVENT_ALL
#endif

static const wep_plugin_descriptor descriptor = {
    RECORDER_DESCRIPTOR_SIZE,
    RECORDER_ABI_MAJOR,
    WEP_ABI_MINOR,
    0,
    0,
    "recorder",
    "1.0.0",
    "wallet-eventd tests",
    "records every event it is handed; misbehaves on request",
    RECORDER_SUBSCRIPTIONS,
    keys,
    sizeof keys / sizeof keys[0],
    create,
    destroy,
    handle_batch,
    flush_hook,
    shutdown_hook,
};

#ifndef RECORDER_NO_ENTRY
WEP_PLUGIN_ENTRY {
  (void)host;
  return &descriptor;
}
#else
WEP_EXPORT const wep_plugin_descriptor* not_the_entry(void);
WEP_EXPORT const wep_plugin_descriptor* not_the_entry(void) { return &descriptor; }
#endif
