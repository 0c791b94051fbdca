// notifier.h -- one notification instance: learns issuers from events, resolves the issuer's
// Notification Endpoint and sends OpenID4VCI Notification Requests.
//
// Thread-safety: none. The descriptor does not set WEP_PLUGIN_THREAD_SAFE, so the host calls
// one instance from one thread at a time; the instance owns its libcurl handle and caches.
#ifndef WALLET_EVENTD_PLUGINS_NOTIFICATION_NOTIFIER_H_
#define WALLET_EVENTD_PLUGINS_NOTIFICATION_NOTIFIER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config.h"
#include "http_client.h"
#include "ttl_map.h"
#include "wallet_event_plugin.h"

namespace simdjson::dom {
class object;
}

namespace wep_notification {

class Notifier {
 public:
  // Parses the config and reads token files. Returns WEP_OK and sets *out, or an error code
  // (WEP_ERR_CONFIG for the operator's mistakes) with the reason in *error.
  static int32_t Create(const wep_instance_info& info, std::unique_ptr<Notifier>* out,
                        std::string* error);

  // Sets a result for every event of the batch.
  void HandleBatch(const wep_batch& batch);

 private:
  struct Outcome {
    int32_t code = WEP_RESULT_DONE;
    uint32_t retry_after_ms = 0;
    std::string message;
  };
  // Where a notification goes. `token` points into config_.
  struct Target {
    std::string url;
    const std::string* token = nullptr;
    const char* via = "";  // "issuers", "metadata" or "default_endpoint"
  };
  // What an issuer's metadata said about its Notification Endpoint (cached either way).
  struct IssuerMetadata {
    std::string endpoint;  // empty: none, see `problem`
    std::string problem;
  };

  Notifier(const wep_instance_info& info, Config config, std::unique_ptr<HttpClient> http);

  // A Notification Request ready to go, with what is needed to judge and log its answer.
  struct Prepared {
    size_t index = 0;  // of the event in the batch
    // Requests with the same key (wallet_id, notification_id, endpoint) go in batch order.
    std::string order_key;
    std::string event_name, notification_id, url;
    const char* via = "";
    HttpRequest request;
  };

  // The event's final outcome, or nullopt when *prepared now holds a request to send.
  std::optional<Outcome> HandleEvent(const wep_event& event, uint64_t deadline_ns,
                                     Prepared* prepared);
  void Learn(const wep_event& event, const simdjson::dom::object& payload);
  // Everything up to sending: true with *prepared set, or false with the final *outcome.
  bool Prepare(const wep_event& event, const simdjson::dom::object& payload, uint64_t deadline_ns,
               Prepared* prepared, Outcome* outcome);
  // Sends the prepared requests of `batch` concurrently and writes their events' results.
  void Send(const wep_batch& batch, std::vector<Prepared>* sends);
  void Write(const wep_batch& batch, size_t index, const Outcome& outcome) const;
  // Resolves the endpoint for a notification; on failure returns nullopt with *outcome set.
  std::optional<Target> Resolve(const wep_event& event, const std::string& notification_id,
                                uint64_t deadline_ns, Outcome* outcome);
  // The cached or freshly fetched metadata of `issuer`; nullopt with *outcome set (RETRY)
  // when the issuer could not be asked right now.
  std::optional<IssuerMetadata> Metadata(const std::string& issuer, uint64_t deadline_ns,
                                         Outcome* outcome);
  std::optional<IssuerMetadata> FetchMetadata(const std::string& issuer, uint64_t deadline_ns,
                                              Outcome* outcome);
  Outcome Classify(const HttpResponse& response, const std::string& url,
                   const std::string& what) const;
  uint32_t RetryAfterMs(const std::string& header) const;
  long TimeoutMs(uint64_t deadline_ns) const;

  void Log(int32_t level, const std::string& message) const;
  // One notification settled with `code`: counted as sent, retry or failed.
  void Count(int32_t code) const;

  const wep_host_api* host_;
  wep_host_ctx* ctx_;
  const Config config_;
  std::unique_ptr<HttpClient> http_;
  wep_metric* notifications_total_ = nullptr;
  wep_metric* latency_seconds_ = nullptr;
  // "<wallet_id>\n<correlation_id>" and "<wallet_id>\n<notification_id>" -> issuer.
  TtlMap<std::string> issuer_by_correlation_;
  TtlMap<std::string> issuer_by_notification_;
  TtlMap<IssuerMetadata> metadata_;
};

}  // namespace wep_notification

#endif  // WALLET_EVENTD_PLUGINS_NOTIFICATION_NOTIFIER_H_
