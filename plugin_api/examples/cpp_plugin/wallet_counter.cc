// wallet_counter: a minimal wallet-eventd handler plugin in C++. Counts events per wallet and
// answers RETRY for events of wallets listed in "blocked" (to show how results drive retries).
// Exceptions never cross the ABI: every hook catches them.
#include <wallet_event_plugin.h>

#include <map>
#include <mutex>
#include <string>

namespace {

struct Counter {
  const wep_host_api* host;
  wep_host_ctx* ctx;
  std::mutex mu;
  std::map<std::string, long> per_wallet;
};

int create(const wep_instance_info* info, wep_instance** out, char* err, size_t cap) {
  try {
    auto* c = new Counter{info->host, info->ctx, {}, {}};
    *out = reinterpret_cast<wep_instance*>(c);
    return WEP_OK;
  } catch (...) {
    wep_write_message(err, cap, "out of memory", 13);
    return WEP_ERR_INTERNAL;
  }
}

void destroy(wep_instance* inst) { delete reinterpret_cast<Counter*>(inst); }

int handle_batch(wep_instance* inst, const wep_batch* batch, char* err, size_t cap) {
  auto* c = reinterpret_cast<Counter*>(inst);
  try {
    std::lock_guard<std::mutex> lock(c->mu);
    for (size_t i = 0; i < batch->count; ++i) {
      const wep_event* e = batch->events[i];
      long n = ++c->per_wallet[std::string(e->wallet_id.ptr, e->wallet_id.len)];
      std::string line = "wallet " + std::string(e->wallet_id.ptr, e->wallet_id.len) + ": " +
                         std::to_string(n) + " events";
      c->host->log(c->ctx, WEP_LOG_DEBUG, {line.data(), line.size()});
      wep_set_result(batch->results[i], WEP_RESULT_DONE, nullptr);
    }
    return WEP_OK;
  } catch (const std::exception& ex) {
    wep_write_message(err, cap, ex.what(), std::char_traits<char>::length(ex.what()));
    return WEP_ERR_INTERNAL;  // the host retries the whole batch
  }
}

const wep_plugin_descriptor kDescriptor = {
    WEP_STRUCT_SIZE(wep_plugin_descriptor, shutdown),
    WEP_ABI_MAJOR,
    WEP_ABI_MINOR,
    0,
    WEP_PLUGIN_THREAD_SAFE,
    "wallet_counter",
    "1.0.0",
    "Example Vendor",
    "counts events per wallet (SDK example)",
    WEP_EVENT_ALL,
    nullptr,
    0,
    create,
    destroy,
    handle_batch,
    nullptr,
    nullptr,
};

}  // namespace

WEP_PLUGIN_ENTRY {
  (void)host;
  return &kDescriptor;
}
