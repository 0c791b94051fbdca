/* noop: the benchmark's handler plugin. Answers DONE for every event and does nothing else,
 * so that a run measures the host (consume, validate, dispatch) and not a handler. It only
 * keeps the figures the benchmark driver reads back:
 *
 *   count, the wall clock (CLOCK_REALTIME, ns) when the first and the last event arrived,
 *   and optionally, per event, now - the event's own timestamp (end-to-end latency).
 *
 * They are written to `output` (replaced atomically: written to "<output>.tmp", renamed) at
 * most every 100 ms from handle_batch, on every flush hook, when `expect` events were seen and
 * on destroy. The file is a few "key value" lines:
 *
 *   count 1000000
 *   first_ns 1733350000123456789
 *   last_ns 1733350004123456789
 *   done 1                          (count >= expect, when expect > 0)
 *   latency_n 25000                 (latency: true only; then the percentiles in ns)
 *   latency_p50_ns ... latency_p99_ns ... latency_p999_ns ... latency_max_ns ...
 *
 * With `hold_file` set, every event is answered RETRY until that file exists ("held 1" is
 * written meanwhile): the driver starts several daemons, waits until each holds a batch (all
 * joined the group and got partitions), then creates the file so that they start together.
 * The instance's retry policy must allow that many attempts.
 *
 * `timing_skip` moves first_ns to the batch that takes the count past it (e.g. past the slow
 * restart after a hold).
 *
 * Config keys: output (required), expect, latency, latency_skip, latency_capacity, hold_file,
 * timing_skip.
 * Built only against wallet_event_plugin.h, as a vendor's plugin would be. micro_bench also
 * compiles this file into itself (WEP_NOOP_LINKED_IN) and calls the same handle_batch directly:
 * the baseline of the ABI crossing is then this very code, not a copy of it. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wallet_event_plugin.h"

struct wep_instance {
  char path[4096];
  long long expect;
  int latency;
  long long latency_skip; /* events not recorded at the start (warm-up) */
  long long timing_skip;  /* first_ns is taken when this many events were seen */
  long long count;
  int64_t first_ns;
  int64_t last_ns;
  int64_t last_write_ns;
  int64_t* lat; /* latency samples, ns */
  size_t lat_n;
  size_t lat_cap;
  int done_written;
  char hold[4096]; /* "" = no gate */
  int held;
};

static int64_t realtime_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Finds "key": in a flat JSON object (the host-validated config) and returns what follows. */
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

static long long get_ll(const char* json, size_t len, const char* key, long long def) {
  const char* p = find_key(json, len, key);
  return p ? strtoll(p, NULL, 10) : def;
}

static int cmp_i64(const void* a, const void* b) {
  int64_t x = *(const int64_t*)a, y = *(const int64_t*)b;
  return (x > y) - (x < y);
}

static int64_t percentile(const int64_t* sorted, size_t n, double q) {
  if (n == 0) return 0;
  size_t i = (size_t)(q * (double)(n - 1) + 0.5);
  if (i >= n) i = n - 1;
  return sorted[i];
}

static int write_figures(wep_instance* inst) {
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", inst->path);
  FILE* f = fopen(tmp, "w");
  if (!f) return -1;
  fprintf(f, "count %lld\nfirst_ns %lld\nlast_ns %lld\n", inst->count, (long long)inst->first_ns,
          (long long)inst->last_ns);
  if (inst->expect > 0) fprintf(f, "done %d\n", inst->count >= inst->expect ? 1 : 0);
  if (inst->hold[0]) fprintf(f, "held %d\n", inst->held);
  if (inst->latency) {
    int64_t* sorted = malloc((inst->lat_n ? inst->lat_n : 1) * sizeof *sorted);
    if (sorted) {
      memcpy(sorted, inst->lat, inst->lat_n * sizeof *sorted);
      qsort(sorted, inst->lat_n, sizeof *sorted, cmp_i64);
      size_t n = inst->lat_n;
      fprintf(f,
              "latency_n %zu\nlatency_p50_ns %lld\nlatency_p99_ns %lld\nlatency_p999_ns %lld\n"
              "latency_max_ns %lld\n",
              n, (long long)percentile(sorted, n, 0.50), (long long)percentile(sorted, n, 0.99),
              (long long)percentile(sorted, n, 0.999), (long long)(n ? sorted[n - 1] : 0));
      free(sorted);
    }
  }
  if (fclose(f) != 0) return -1;
  return rename(tmp, inst->path);
}

static int create(const wep_instance_info* info, wep_instance** out, char* err, size_t cap) {
  const char* json = info->config_json.ptr;
  size_t len = info->config_json.len;
  const char* p = find_key(json, len, "output");
  if (!p || *p != '"') {
    wep_write_message(err, cap, "output: a file path is required", 31);
    return WEP_ERR_CONFIG;
  }
  wep_instance* inst = calloc(1, sizeof *inst);
  if (!inst) return WEP_ERR_INTERNAL;
  size_t n = 0;
  for (++p; *p && *p != '"' && n + 1 < sizeof inst->path; ++p) inst->path[n++] = *p;
  inst->path[n] = '\0';
  inst->expect = get_ll(json, len, "expect", 0);
  const char* h = find_key(json, len, "hold_file");
  if (h && *h == '"') {
    size_t m = 0;
    for (++h; *h && *h != '"' && m + 1 < sizeof inst->hold; ++h) inst->hold[m++] = *h;
    inst->hold[m] = '\0';
  }
  const char* lat = find_key(json, len, "latency");
  inst->latency = lat != NULL && strncmp(lat, "true", 4) == 0;
  inst->latency_skip = get_ll(json, len, "latency_skip", 0);
  inst->timing_skip = get_ll(json, len, "timing_skip", 0);
  if (inst->latency) {
    long long c = get_ll(json, len, "latency_capacity", 2000000);
    if (c < 1) c = 1;
    inst->lat_cap = (size_t)c;
    inst->lat = malloc(inst->lat_cap * sizeof *inst->lat);
    if (!inst->lat) {
      free(inst);
      return WEP_ERR_INTERNAL;
    }
  }
  if (write_figures(inst) != 0) {
    char msg[4300];
    snprintf(msg, sizeof msg, "output %s: %s", inst->path, strerror(errno));
    wep_write_message(err, cap, msg, strlen(msg));
    free(inst->lat);
    free(inst);
    return WEP_ERR_CONFIG;
  }
  *out = inst;
  return WEP_OK;
}

static void destroy(wep_instance* inst) {
  write_figures(inst);
  free(inst->lat);
  free(inst);
}

static int handle_batch(wep_instance* inst, const wep_batch* batch, char* err, size_t cap) {
  (void)err;
  (void)cap;
  if (inst->hold[0]) {
    FILE* gate = fopen(inst->hold, "r");
    if (!gate) {
      for (size_t i = 0; i < batch->count; ++i) batch->results[i]->code = WEP_RESULT_RETRY;
      if (!inst->held) {
        inst->held = 1;
        write_figures(inst);
      }
      return WEP_OK;
    }
    fclose(gate);
    inst->hold[0] = '\0';
  }
  const int64_t now = realtime_ns();
  if (inst->first_ns == 0 && inst->count + (long long)batch->count > inst->timing_skip)
    inst->first_ns = now;
  for (size_t i = 0; i < batch->count; ++i) {
    const wep_event* e = batch->events[i];
    batch->results[i]->code = WEP_RESULT_DONE;
    if (inst->latency && inst->count >= inst->latency_skip && inst->lat_n < inst->lat_cap)
      inst->lat[inst->lat_n++] = now - e->timestamp_unix_ns;
    inst->count++;
  }
  inst->last_ns = now;
  if ((inst->expect > 0 && inst->count >= inst->expect && !inst->done_written) ||
      now - inst->last_write_ns >= 100000000LL) {
    inst->done_written = inst->expect > 0 && inst->count >= inst->expect;
    inst->last_write_ns = now;
    write_figures(inst);
  }
  return WEP_OK;
}

static int flush_hook(wep_instance* inst, char* err, size_t cap) {
  (void)err;
  (void)cap;
  write_figures(inst);
  return WEP_OK;
}

static const wep_config_key k_output = {
    WEP_STRUCT_SIZE(wep_config_key, description),
    "output",
    WEP_CONFIG_STRING,
    1,
    NULL,
    "file the counters (and latency percentiles) are written to"};
static const wep_config_key k_expect = {
    WEP_STRUCT_SIZE(wep_config_key, description),
    "expect",
    WEP_CONFIG_INT,
    0,
    "0",
    "write `output` at once when this many events were seen (0 = no target)"};
static const wep_config_key k_latency = {
    WEP_STRUCT_SIZE(wep_config_key, description),
    "latency",
    WEP_CONFIG_BOOL,
    0,
    "false",
    "record now - event timestamp per event and write p50/p99/p99.9"};
static const wep_config_key k_skip = {
    WEP_STRUCT_SIZE(wep_config_key, description), "latency_skip", WEP_CONFIG_INT, 0, "0",
    "events not sampled at the start (warm-up)"};
static const wep_config_key k_capacity = {
    WEP_STRUCT_SIZE(wep_config_key, description), "latency_capacity", WEP_CONFIG_INT, 0, "2000000",
    "at most this many latency samples are kept"};
static const wep_config_key k_hold = {WEP_STRUCT_SIZE(wep_config_key, description),
                                      "hold_file",
                                      WEP_CONFIG_STRING,
                                      0,
                                      "\"\"",
                                      "answer RETRY until this file exists (\"\" = never hold)"};
static const wep_config_key k_timing = {
    WEP_STRUCT_SIZE(wep_config_key, description),
    "timing_skip",
    WEP_CONFIG_INT,
    0,
    "0",
    "first_ns is taken at the batch that takes the count past this"};
static const wep_config_key* const keys[] = {&k_output,   &k_expect, &k_latency, &k_skip,
                                             &k_capacity, &k_hold,   &k_timing};

static const wep_plugin_descriptor descriptor = {
    WEP_STRUCT_SIZE(wep_plugin_descriptor, shutdown),
    WEP_ABI_MAJOR,
    WEP_ABI_MINOR,
    0,
    0,
    "noop",
    "1.0.0",
    "wallet-eventd benchmarks",
    "answers DONE for every event; counts, times and (optionally) samples latency",
    WEP_EVENT_ALL,
    keys,
    sizeof keys / sizeof keys[0],
    create,
    destroy,
    handle_batch,
    flush_hook,
    NULL,
};

#ifdef WEP_NOOP_LINKED_IN
/* Plain functions of the executable, called directly (no dlopen, descriptor or pointer). */
int noop_linked_create(const wep_instance_info* info, wep_instance** out, char* err, size_t cap);
int noop_linked_handle_batch(wep_instance* inst, const wep_batch* batch, char* err, size_t cap);
void noop_linked_destroy(wep_instance* inst);
const wep_plugin_descriptor* noop_linked_descriptor(void);

int noop_linked_create(const wep_instance_info* info, wep_instance** out, char* err, size_t cap) {
  return create(info, out, err, cap);
}
int noop_linked_handle_batch(wep_instance* inst, const wep_batch* batch, char* err, size_t cap) {
  return handle_batch(inst, batch, err, cap);
}
void noop_linked_destroy(wep_instance* inst) { destroy(inst); }
/* Not called: keeps the descriptor, and the hooks only it names, in use. */
const wep_plugin_descriptor* noop_linked_descriptor(void) { return &descriptor; }
#else
WEP_PLUGIN_ENTRY {
  (void)host;
  return &descriptor;
}
#endif
