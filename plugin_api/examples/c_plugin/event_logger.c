/* event_logger: a minimal wallet-eventd handler plugin in C.
 *
 * It logs one line per event through the host's logger and counts events per type in a
 * Prometheus counter. Config: {"prefix": "seen"} (optional). Build it with the SDK:
 *   cmake -S . -B build && cmake --build build         (find_package(WalletEventPlugin))
 *   cc -shared -fPIC $(pkg-config --cflags wallet-event-plugin) event_logger.c -o event_logger.so
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wallet_event_plugin.h>

struct wep_instance {
  const wep_host_api* host;
  wep_host_ctx* ctx;
  wep_metric* events; /* counter by event_type */
  char prefix[64];
};

static int create(const wep_instance_info* info, wep_instance** out, char* err, size_t cap) {
  wep_instance* self = calloc(1, sizeof *self);
  if (self == NULL) {
    wep_write_message(err, cap, "out of memory", 13);
    return WEP_ERR_INTERNAL;
  }
  self->host = info->host;
  self->ctx = info->ctx;
  /* The host validated the config and filled in defaults: {"prefix":"..."}. */
  const char* p = strstr(info->config_json.ptr, "\"prefix\":\"");
  size_t n = 0;
  if (p != NULL) {
    for (p += 10; *p != '"' && n + 1 < sizeof self->prefix; ++p) self->prefix[n++] = *p;
  }
  self->prefix[n] = '\0';

  wep_str labels[] = {{"event_type", 10}};
  wep_metric_desc desc = {WEP_STRUCT_SIZE(wep_metric_desc, bucket_count),
                          WEP_METRIC_COUNTER,
                          {"event_logger_events_total", 25},
                          {"Events seen by the event_logger example", 39},
                          labels,
                          1,
                          NULL,
                          0};
  if (self->host->metric_register(self->ctx, &desc, &self->events, err, cap) != WEP_OK) {
    free(self);
    return WEP_ERR_INTERNAL;
  }
  *out = self;
  return WEP_OK;
}

static void destroy(wep_instance* self) { free(self); }

static int handle_batch(wep_instance* self, const wep_batch* batch, char* err, size_t cap) {
  (void)err;
  (void)cap;
  for (size_t i = 0; i < batch->count; ++i) {
    const wep_event* e = batch->events[i];
    char line[512];
    int len = snprintf(line, sizeof line, "%s %.*s of %.*s (%.*s[%d]@%lld)", self->prefix,
                       (int)e->event_type_name.len, e->event_type_name.ptr, (int)e->wallet_id.len,
                       e->wallet_id.ptr, (int)e->topic.len, e->topic.ptr, (int)e->partition,
                       (long long)e->offset);
    wep_str msg = {line, len < 0 ? 0 : (size_t)len};
    self->host->log(self->ctx, WEP_LOG_INFO, msg);
    self->host->metric_record(self->events, &e->event_type_name, 1, 1.0);
    wep_set_result(batch->results[i], WEP_RESULT_DONE, NULL);
  }
  return WEP_OK;
}

static const wep_config_key prefix_key = {WEP_STRUCT_SIZE(wep_config_key, description),
                                          "prefix",
                                          WEP_CONFIG_STRING,
                                          0,
                                          "\"seen\"",
                                          "word each log line starts with"};
static const wep_config_key* const config_keys[] = {&prefix_key};

static const wep_plugin_descriptor descriptor = {
    WEP_STRUCT_SIZE(wep_plugin_descriptor, shutdown),
    WEP_ABI_MAJOR,
    WEP_ABI_MINOR,
    0, /* min_host_abi_minor */
    0, /* flags */
    "event_logger",
    "1.0.0",
    "Example Vendor",
    "logs and counts every wallet event (SDK example)",
    WEP_EVENT_ALL,
    config_keys,
    1,
    create,
    destroy,
    handle_batch,
    NULL, /* flush */
    NULL, /* shutdown */
};

WEP_PLUGIN_ENTRY {
  (void)host;
  return &descriptor;
}
