/* The seed's third usage example, "Registering Event Handlers", done the wallet-eventd way: the
 * handler logic of subscribe_events.cc as a plugin that the daemon loads and feeds, instead of
 * a loop in your own service. The daemon then does the consuming, retries, dead-lettering,
 * offsets and metrics; the plugin only handles batches. See plugin_api/README.md for the ABI.
 *
 * Build it with the SDK (wallet-eventd-dev):
 *   CMake:      find_package(WalletEventPlugin) + wallet_event_plugin_add(...), see
 * ../CMakeLists.txt
 *   pkg-config: cc -std=c99 -shared -fPIC $(pkg-config --cflags wallet-event-plugin) \
 *                 issued_stored_logger.c -o issued_stored_logger.so
 * and list it in the daemon's YAML:
 *   plugins:
 *     - name: issued_stored
 *       path: /usr/local/lib/wallet-eventd/issued_stored_logger.so
 */
#include <stdio.h>
#include <stdlib.h>

#include <wallet_event_plugin.h>

struct wep_instance {
  const wep_host_api* host;
  wep_host_ctx* ctx;
};

static int create(const wep_instance_info* info, wep_instance** out, char* err, size_t cap) {
  wep_instance* self = calloc(1, sizeof *self);
  if (self == NULL) {
    wep_write_message(err, cap, "out of memory", 13);
    return WEP_ERR_INTERNAL;
  }
  self->host = info->host;
  self->ctx = info->ctx;
  *out = self;
  return WEP_OK;
}

static void destroy(wep_instance* self) { free(self); }

/* The loop body of subscribe_events.cc: one line per event. The host only hands over the
 * types subscribed to below, already decoded and validated. */
static int handle_batch(wep_instance* self, const wep_batch* batch, char* err, size_t cap) {
  (void)err;
  (void)cap;
  for (size_t i = 0; i < batch->count; ++i) {
    const wep_event* e = batch->events[i];
    char line[256];
    int len = snprintf(line, sizeof line, "Received event: %.*s (wallet %.*s)",
                       (int)e->event_type_name.len, e->event_type_name.ptr, (int)e->wallet_id.len,
                       e->wallet_id.ptr);
    wep_str msg = {line, len < 0 ? 0 : (size_t)len < sizeof line ? (size_t)len : sizeof line - 1};
    self->host->log(self->ctx, WEP_LOG_INFO, msg);
    wep_set_result(batch->results[i], WEP_RESULT_DONE, NULL);
  }
  return WEP_OK;
}

static const wep_plugin_descriptor descriptor = {
    WEP_STRUCT_SIZE(wep_plugin_descriptor, shutdown),
    WEP_ABI_MAJOR,
    WEP_ABI_MINOR,
    0,                      /* min_host_abi_minor */
    WEP_PLUGIN_THREAD_SAFE, /* no mutable state: batches may run concurrently */
    "issued_stored_logger",
    "1.0.0",
    "Example Vendor",
    "logs CredentialIssued and CredentialStored events (client library example)",
    WEP_EVENT_BIT(WEP_EVENT_CREDENTIAL_ISSUED) | WEP_EVENT_BIT(WEP_EVENT_CREDENTIAL_STORED),
    NULL,
    0, /* no config keys */
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
