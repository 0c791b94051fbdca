// security: raises alert events for suspicious patterns in the wallet's event stream (nonce
// reuse, repeated failed verifications, missing holder binding, use of revoked keys, deletion
// bursts, offers from issuers outside an allowlist). Alerts go to "<prefix>.security.alerts".
//
// Delivery: an event whose alert could not be published gets WEP_RESULT_RETRY. Its alerts are
// kept with its event id in a bounded recent set; when the event comes again the rules are not
// applied a second time, only the alerts still pending are published.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "bounded_table.h"
#include "detector.h"
#include "rfc3339.h"
#include "security_config.h"
#include "wallet_event_plugin.h"

namespace wep_security {
namespace {

using nlohmann::json;

constexpr char kAlertTopicSuffix[] = "security.alerts";
constexpr char kAlertEventType[] = "SecurityAlert";
constexpr char kSchemaVersion[] = "1.0.0";
constexpr const char* kEvictionReasons[] = {"expired", "capacity"};

wep_str View(std::string_view s) { return wep_str{s.data(), s.size()}; }
std::string_view View(wep_str s) {
  return s.ptr == nullptr ? std::string_view() : std::string_view(s.ptr, s.len);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

uint64_t Fnv1a64(std::string_view data, uint64_t basis) {
  uint64_t h = basis;
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  // splitmix64 finalizer: spreads FNV's weak high bits.
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

// A UUID-shaped (version 8, RFC 9562) id derived from the instance, the rule and the event:
// the same detection made again (a redelivery, or a replay after a restart) has the same id,
// so consumers of the alert topic can drop duplicates.
std::string AlertId(std::string_view instance, Rule rule, std::string_view event_id) {
  std::string input(instance);
  input += '\0';
  input += RuleName(rule);
  input += '\0';
  input += event_id;
  const uint64_t hi = Fnv1a64(input, 0xcbf29ce484222325ull);
  const uint64_t lo = Fnv1a64(input, 0x84222325cbf29ce4ull);
  unsigned char b[16];
  for (int i = 0; i < 8; ++i) {
    b[i] = static_cast<unsigned char>(hi >> (56 - 8 * i));
    b[8 + i] = static_cast<unsigned char>(lo >> (56 - 8 * i));
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x80);  // version 8
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 9562 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[b[i] >> 4];
    out += kHex[b[i] & 0xf];
  }
  return out;
}

int64_t WallClockNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// An alert ready to publish (and to publish again after a failure).
struct PendingAlert {
  std::string alert_id;
  Rule rule;
  std::string wallet_id;
  std::string correlation_id;
  std::string description;
  std::string value;  // the record value, JSON
};

// What the recent set remembers of a handled event.
struct Handled {
  std::vector<PendingAlert> pending;  // alerts not yet acknowledged by the broker
};

class Instance {
 public:
  Instance(const wep_instance_info& info, const Config& config)
      : host_(info.host),
        ctx_(info.ctx),
        name_(View(info.instance_name)),
        recent_capacity_(static_cast<size_t>(config.recent_event_ids)),
        detector_(config) {}

  // Registers the metrics; returns an error text or "".
  std::string RegisterMetrics() {
    const wep_str alert_labels[] = {View("rule"), View("severity")};
    const wep_str eviction_labels[] = {View("reason")};
    std::string error =
        Register(WEP_METRIC_COUNTER, "wallet_security_alerts_total",
                 "Security alerts published to the alert topic", alert_labels, 2, &alerts_total_);
    if (error.empty()) {
      error = Register(WEP_METRIC_GAUGE, "wallet_security_state_entries",
                       "Entries held by the security rules (bounded by max_entries)", nullptr, 0,
                       &state_entries_);
    }
    if (error.empty()) {
      error = Register(WEP_METRIC_COUNTER, "wallet_security_state_evictions_total",
                       "Security rule state entries dropped: window passed (expired) or "
                       "max_entries reached (capacity)",
                       eviction_labels, 1, &evictions_total_);
    }
    if (!error.empty()) return error;
    for (Rule rule : kAllRules) {  // every series exists from the start, at 0
      const wep_str values[] = {View(RuleName(rule)), View(RuleSeverity(rule))};
      host_->metric_record(alerts_total_, values, 2, 0);
    }
    for (const char* reason : kEvictionReasons) {
      const wep_str values[] = {View(reason)};
      host_->metric_record(evictions_total_, values, 1, 0);
    }
    host_->metric_record(state_entries_, nullptr, 0, 0);
    return "";
  }

  void HandleBatch(const wep_batch& batch) {
    std::string publish_failure;  // once publishing failed, later alerts of the batch wait
    for (size_t i = 0; i < batch.count; ++i) {
      wep_event_result* result = batch.results[i];
      if (batch.events[i] == nullptr) {
        wep_set_result(result, WEP_RESULT_FAILED, "no event (host bug)");
        continue;
      }
      HandleEvent(*batch.events[i], batch.deadline_ns, result, &publish_failure);
    }
    size_t entries;
    Detector::Evictions evictions;
    {
      std::lock_guard<std::mutex> lock(mu_);
      entries = detector_.entries();
      evictions = detector_.TakeEvictions();
    }
    host_->metric_record(state_entries_, nullptr, 0, static_cast<double>(entries));
    const uint64_t counts[] = {evictions.expired, evictions.capacity};
    for (size_t r = 0; r < 2; ++r) {
      if (counts[r] == 0) continue;
      const wep_str values[] = {View(kEvictionReasons[r])};
      host_->metric_record(evictions_total_, values, 1, static_cast<double>(counts[r]));
    }
  }

 private:
  std::string Register(int32_t kind, const char* name, const char* help, const wep_str* labels,
                       size_t label_count, wep_metric** out) {
    wep_metric_desc desc{};
    desc.struct_size = sizeof desc;
    desc.kind = kind;
    desc.name = View(name);
    desc.help = View(help);
    desc.label_names = labels;
    desc.label_count = label_count;
    char err[256] = {0};
    if (host_->metric_register(ctx_, &desc, out, err, sizeof err) != WEP_OK || *out == nullptr) {
      return std::string("registering metric ") + name + " failed: " + err;
    }
    return "";
  }

  void Log(int32_t level, const std::string& text) { host_->log(ctx_, level, View(text)); }

  void HandleEvent(const wep_event& event, uint64_t deadline_ns, wep_event_result* result,
                   std::string* publish_failure) {
    EventFacts facts;
    facts.type = event.event_type;
    facts.event_id = View(event.event_id);
    facts.wallet_id = View(event.wallet_id);
    if (event.timestamp_unix_ns != 0) {
      facts.time_ns = event.timestamp_unix_ns;
    } else if (auto parsed = ParseRfc3339(View(event.timestamp))) {
      facts.time_ns = *parsed;
    } else {
      const std::string message = "metadata.timestamp \"" +
                                  std::string(View(event.timestamp)).substr(0, 64) +
                                  "\" is not an RFC 3339 date-time";
      wep_set_result(result, WEP_RESULT_FAILED, message.c_str());
      return;
    }
    std::string error;
    if (detector_.NeedsPayload(facts.type) &&  // reads the immutable config only
        !ReadPayload(View(event.raw_json), &facts, &error)) {
      error = std::string(View(event.event_type_name)) + ": " + error;
      wep_set_result(result, WEP_RESULT_FAILED, error.c_str());
      return;
    }

    const std::string id_key = Lower(facts.event_id);
    std::vector<PendingAlert> pending;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (auto* handled = recent_.Find(id_key, std::numeric_limits<int64_t>::min())) {
        pending = handled->value.pending;  // a redelivery: rules already applied
      } else {
        facts.stream = detector_.StreamId(View(event.topic), event.partition);
        const int64_t detected_ns = WallClockNs();
        for (Alert& alert : detector_.Apply(facts)) {
          pending.push_back(MakePendingAlert(event, facts, id_key, alert, detected_ns));
        }
        Remember(id_key, pending);
      }
    }
    if (pending.empty()) {
      wep_set_result(result, WEP_RESULT_DONE, nullptr);
      return;
    }

    std::vector<std::string> published;
    for (const PendingAlert& alert : pending) {
      if (publish_failure->empty() && deadline_ns != 0 && host_->monotonic_ns() > deadline_ns) {
        *publish_failure = "the batch deadline passed";
      }
      if (!publish_failure->empty()) break;
      *publish_failure = Publish(alert);
      if (!publish_failure->empty()) break;
      published.push_back(alert.alert_id);
    }
    if (!published.empty()) {
      std::lock_guard<std::mutex> lock(mu_);
      if (auto* handled = recent_.Find(id_key, std::numeric_limits<int64_t>::min())) {
        auto& p = handled->value.pending;
        p.erase(std::remove_if(p.begin(), p.end(),
                               [&](const PendingAlert& a) {
                                 return std::find(published.begin(), published.end(), a.alert_id) !=
                                        published.end();
                               }),
                p.end());
      }
    }
    if (published.size() == pending.size()) {
      wep_set_result(result, WEP_RESULT_DONE, nullptr);
      return;
    }
    const PendingAlert& first = pending[published.size()];
    const std::string message = "security alert " + first.alert_id + " (" + RuleName(first.rule) +
                                ") not published to " + kAlertTopicSuffix + ": " +
                                *publish_failure +
                                "; it is kept and published when this event is redelivered";
    wep_set_result(result, WEP_RESULT_RETRY, message.c_str());
  }

  PendingAlert MakePendingAlert(const wep_event& event, const EventFacts& facts,
                                const std::string& id_key, const Alert& alert,
                                int64_t detected_ns) {
    PendingAlert out{
        AlertId(name_, alert.rule, id_key),      alert.rule,        std::string(facts.wallet_id),
        std::string(View(event.correlation_id)), alert.description, ""};
    const json record = {{"event_type", kAlertEventType},
                         {"payload",
                          {{"alert_id", out.alert_id},
                           {"rule", RuleName(alert.rule)},
                           {"severity", RuleSeverity(alert.rule)},
                           {"wallet_id", out.wallet_id},
                           {"correlation_id", out.correlation_id},
                           {"triggering_event_ids", alert.triggering_event_ids},
                           {"description", alert.description},
                           {"detected_at", FormatRfc3339(detected_ns)},
                           {"event_time", FormatRfc3339(facts.time_ns)}}}};
    // Ids and descriptions come from the wire: never let a stray byte make dump() throw.
    out.value = record.dump(-1, ' ', false, json::error_handler_t::replace);
    return out;
  }

  // Adds a handled event to the recent set, forgetting the oldest one if full. Holds mu_.
  void Remember(const std::string& id_key, const std::vector<PendingAlert>& pending) {
    while (recent_.size() >= recent_capacity_) {
      const auto* oldest = recent_.Oldest();
      for (const PendingAlert& alert : oldest->value.pending) {
        Log(WEP_LOG_ERROR,
            "security alert " + alert.alert_id + " (" + RuleName(alert.rule) + ") of event " +
                oldest->key() +
                " was never published and is forgotten (the event was dead-lettered, or "
                "recent_event_ids = " +
                std::to_string(recent_capacity_) + " is too small to cover its redelivery)");
      }
      recent_.EraseOldest();
    }
    recent_.Insert(id_key, Handled{pending}, std::numeric_limits<int64_t>::max(), 0, 0);
  }

  // Publishes one alert; returns "" or the reason it failed.
  std::string Publish(const PendingAlert& alert) {
    const wep_header headers[] = {
        {View("event_type"), View(kAlertEventType)},
        {View("correlation_id"), View(alert.correlation_id)},
        {View("wallet_id"), View(alert.wallet_id)},
        {View("schema_version"), View(kSchemaVersion)},
    };
    char err[256] = {0};
    const int32_t rc = host_->publish(ctx_, View(kAlertTopicSuffix), View(alert.wallet_id),
                                      View(alert.value), headers, 4, err, sizeof err);
    const std::string summary = std::string(RuleName(alert.rule)) + " (" +
                                RuleSeverity(alert.rule) + ") for wallet " + alert.wallet_id +
                                ": " + alert.description + " [alert_id " + alert.alert_id + "]";
    if (rc != WEP_OK) {
      const std::string reason = (err[0] != '\0' ? std::string(err) : "publish failed") +
                                 " (code " + std::to_string(rc) + ")";
      Log(WEP_LOG_WARN, "could not publish security alert " + summary + ": " + reason);
      return reason;
    }
    Log(WEP_LOG_WARN, "security alert " + summary);
    const wep_str values[] = {View(RuleName(alert.rule)), View(RuleSeverity(alert.rule))};
    host_->metric_record(alerts_total_, values, 2, 1);
    return "";
  }

  const wep_host_api* host_;
  wep_host_ctx* ctx_;
  const std::string name_;
  const size_t recent_capacity_;
  wep_metric* alerts_total_ = nullptr;
  wep_metric* state_entries_ = nullptr;
  wep_metric* evictions_total_ = nullptr;

  std::mutex mu_;  // guards detector_ (except NeedsPayload) and recent_
  Detector detector_;
  BoundedTable<Handled> recent_;  // lower-cased event id -> alerts still pending
};

Instance* Impl(wep_instance* instance) { return reinterpret_cast<Instance*>(instance); }

int32_t Create(const wep_instance_info* info, wep_instance** out, char* err, size_t err_cap) {
  auto fail = [&](int32_t code, const std::string& message) {
    wep_write_message(err, err_cap, message.data(), message.size());
    return code;
  };
  if (info == nullptr || out == nullptr || !WEP_HAS_FIELD(info, wep_instance_info, topic_prefix)) {
    return fail(WEP_ERR_INVALID_ARGUMENT, "create: missing or too old wep_instance_info");
  }
  const wep_host_api* host = info->host;
  if (!WEP_HAS_FIELD(host, wep_host_api, monotonic_ns) || host->log == nullptr ||
      host->publish == nullptr || host->metric_register == nullptr ||
      host->metric_record == nullptr || host->monotonic_ns == nullptr) {
    return fail(WEP_ERR_UNSUPPORTED, "the host function table lacks functions of ABI 1.0");
  }
  try {
    std::string error;
    std::optional<Config> config = ParseConfig(View(info->config_json), &error);
    if (!config) return fail(WEP_ERR_CONFIG, error);
    auto instance = std::make_unique<Instance>(*info, *config);
    error = instance->RegisterMetrics();
    if (!error.empty()) return fail(WEP_ERR_INTERNAL, error);
    *out = reinterpret_cast<wep_instance*>(instance.release());
    return WEP_OK;
  } catch (const std::exception& e) {
    return fail(WEP_ERR_INTERNAL, std::string("create: ") + e.what());
  }
}

void Destroy(wep_instance* instance) { delete Impl(instance); }

int32_t HandleBatch(wep_instance* instance, const wep_batch* batch, char* err, size_t err_cap) {
  if (instance == nullptr || batch == nullptr ||
      (batch->count > 0 && (batch->events == nullptr || batch->results == nullptr))) {
    wep_write_message(err, err_cap, "handle_batch: no instance or batch", 34);
    return WEP_ERR_INVALID_ARGUMENT;
  }
  try {
    Impl(instance)->HandleBatch(*batch);
    return WEP_OK;
  } catch (const std::exception& e) {
    // Events handled before the throw are in the recent set: the batch's retry skips them.
    const std::string message = std::string("security: ") + e.what();
    wep_write_message(err, err_cap, message.data(), message.size());
    return WEP_ERR_INTERNAL;
  }
}

const wep_plugin_descriptor& Descriptor() {
  static const wep_plugin_descriptor descriptor = [] {
    wep_plugin_descriptor d{};
    d.struct_size = sizeof d;
    d.abi_major = WEP_ABI_MAJOR;
    d.abi_minor = WEP_ABI_MINOR;
    d.min_host_abi_minor = 0;
    d.flags = WEP_PLUGIN_THREAD_SAFE;  // all state is behind Instance::mu_
    d.name = "security";
    d.version = "1.0.0";
    d.vendor = "wallet-eventd";
    d.description =
        "Raises alerts on security.alerts for nonce reuse, failed verifications, missing "
        "holder binding, revoked key reuse, deletion bursts and untrusted issuers";
    d.subscriptions = WEP_EVENT_BIT(WEP_EVENT_CREDENTIAL_OFFER_SENT) |
                      WEP_EVENT_BIT(WEP_EVENT_CREDENTIAL_OFFER_RECEIVED) |
                      WEP_EVENT_BIT(WEP_EVENT_CREDENTIAL_DELETED) |
                      WEP_EVENT_BIT(WEP_EVENT_PRESENTATION_REQUEST_SENT) |
                      WEP_EVENT_BIT(WEP_EVENT_PRESENTATION_REQUEST_RECEIVED) |
                      WEP_EVENT_BIT(WEP_EVENT_PRESENTATION_VERIFIED) |
                      WEP_EVENT_BIT(WEP_EVENT_KEY_CREATED) | WEP_EVENT_BIT(WEP_EVENT_KEY_ROTATED) |
                      WEP_EVENT_BIT(WEP_EVENT_KEY_REVOKED);
    d.config_keys = ConfigKeys();
    d.config_key_count = ConfigKeyCount();
    d.create = &Create;
    d.destroy = &Destroy;
    d.handle_batch = &HandleBatch;
    d.flush = nullptr;     // nothing to make durable: state is in memory, alerts acked
    d.shutdown = nullptr;  // no background work
    return d;
  }();
  return descriptor;
}

}  // namespace
}  // namespace wep_security

WEP_PLUGIN_ENTRY {
  (void)host;
  return &wep_security::Descriptor();
}
