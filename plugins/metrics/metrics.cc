// metrics: Prometheus metrics of the wallet's activity, recorded through the host's metric
// table (wep_host_api.metric_register / metric_record) and shown on the host's /metrics with
// an `instance` label. See README.md for the metric list.
//
// Thread-safety: an instance holds only metric handles and its config after create, so
// handle_batch may run concurrently (WEP_PLUGIN_THREAD_SAFE); the host's metric functions are
// callable from any thread.
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <exception>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "event_time.h"
#include "wallet_event_plugin.h"

namespace {

using Json = nlohmann::json;

// Event time -> handled: from sub-second to a few hours (a consumer catching up on a backlog).
constexpr double kDefaultDelayBuckets[] = {0.01, 0.05, 0.1, 0.25, 0.5, 1,    2.5,  5,    10,
                                           30,   60,   120, 300,  600, 1800, 3600, 7200, 14400};
constexpr size_t kMaxBuckets = 64;

// ---- descriptor --------------------------------------------------------------------------------

const wep_config_key kPerWallet = {
    .struct_size = WEP_STRUCT_SIZE(wep_config_key, description),
    .name = "per_wallet",
    .type = WEP_CONFIG_BOOL,
    .required = 0,
    .default_json = "false",
    .description =
        "also count events per wallet in wallet_events_by_wallet_total{wallet_id,"
        "event_type}; one series per wallet, so leave off unless wallets are few",
};
const wep_config_key kDelayBuckets = {
    .struct_size = WEP_STRUCT_SIZE(wep_config_key, description),
    .name = "handling_delay_buckets",
    .type = WEP_CONFIG_LIST,
    .required = 0,
    .default_json = "[0.01,0.05,0.1,0.25,0.5,1,2.5,5,10,30,60,120,300,600,1800,3600,7200,14400]",
    .description =
        "ascending upper bounds in seconds of the wallet_event_handling_delay_seconds "
        "histogram",
};
const wep_config_key* const kConfigKeys[] = {&kPerWallet, &kDelayBuckets};

int32_t Create(const wep_instance_info* info, wep_instance** out, char* err, size_t err_cap);
void Destroy(wep_instance* instance);
int32_t HandleBatch(wep_instance* instance, const wep_batch* batch, char* err, size_t err_cap);

const wep_plugin_descriptor kDescriptor = {
    .struct_size = WEP_STRUCT_SIZE(wep_plugin_descriptor, shutdown),
    .abi_major = WEP_ABI_MAJOR,
    .abi_minor = WEP_ABI_MINOR,
    .min_host_abi_minor = 0,
    .flags = WEP_PLUGIN_THREAD_SAFE,
    .name = "metrics",
    .version = "1.0.0",
    .vendor = "wallet-eventd",
    .description =
        "Prometheus metrics of wallet activity: events by type, issuance funnel, "
        "presentation outcomes, key operations, event handling delay",
    .subscriptions = WEP_EVENT_ALL,
    .config_keys = kConfigKeys,
    .config_key_count = sizeof kConfigKeys / sizeof kConfigKeys[0],
    .create = &Create,
    .destroy = &Destroy,
    .handle_batch = &HandleBatch,
    .flush = nullptr,
    .shutdown = nullptr,
};

// ---- instance ----------------------------------------------------------------------------------

struct Config {
  bool per_wallet = false;
  std::vector<double> delay_buckets{std::begin(kDefaultDelayBuckets),
                                    std::end(kDefaultDelayBuckets)};
};

struct Instance {
  const wep_host_api* host = nullptr;
  wep_host_ctx* ctx = nullptr;
  Config config;
  wep_metric* events = nullptr;            // {event_type}
  wep_metric* events_by_wallet = nullptr;  // {wallet_id, event_type}; per_wallet only
  wep_metric* funnel = nullptr;            // {stage}
  wep_metric* presentations = nullptr;     // {outcome}
  wep_metric* binding_missing = nullptr;   // no labels
  wep_metric* key_operations = nullptr;    // {operation}
  wep_metric* delay = nullptr;             // histogram, no labels
  std::atomic<bool> warned_unreadable{false};
};

wep_str Str(std::string_view s) { return {s.data(), s.size()}; }

void Fail(char* err, size_t cap, const std::string& message) {
  wep_write_message(err, cap, message.data(), message.size());
}

void Log(const Instance* in, int32_t level, const std::string& message) {
  if (in->host->log != nullptr) in->host->log(in->ctx, level, Str(message));
}

void Record(const Instance* in, wep_metric* metric, std::initializer_list<std::string_view> labels,
            double value) {
  wep_str values[4];
  size_t n = 0;
  for (std::string_view l : labels) values[n++] = Str(l);
  in->host->metric_record(metric, values, n, value);
}

// Reads the instance's `config:` JSON; the host has validated types and filled defaults, but a
// plugin must not rely on that (e.g. a test host), so everything is checked again.
bool ParseConfig(std::string_view text, Config* config, std::string* error) {
  Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (text.empty()) j = Json::object();
  if (j.is_discarded() || !j.is_object()) {
    *error = "config: expected a JSON object";
    return false;
  }
  for (const auto& [key, value] : j.items()) {
    if (key == "per_wallet") {
      if (!value.is_boolean()) {
        *error = "config key per_wallet: expected true or false";
        return false;
      }
      config->per_wallet = value.get<bool>();
    } else if (key == "handling_delay_buckets") {
      if (!value.is_array() || value.empty() || value.size() > kMaxBuckets) {
        *error = "config key handling_delay_buckets: expected a list of 1 to " +
                 std::to_string(kMaxBuckets) + " numbers (seconds)";
        return false;
      }
      std::vector<double> buckets;
      for (const Json& b : value) {
        if (!b.is_number() || !std::isfinite(b.get<double>()) || b.get<double>() <= 0 ||
            (!buckets.empty() && b.get<double>() <= buckets.back())) {
          *error =
              "config key handling_delay_buckets: expected positive numbers in strictly "
              "ascending order, got " +
              value.dump();
          return false;
        }
        buckets.push_back(b.get<double>());
      }
      config->delay_buckets = std::move(buckets);
    } else {
      *error = "unknown config key " + key + " (known: per_wallet, handling_delay_buckets)";
      return false;
    }
  }
  return true;
}

int32_t Register(Instance* in, int32_t kind, std::string_view name, std::string_view help,
                 std::initializer_list<std::string_view> labels, const std::vector<double>* buckets,
                 wep_metric** out, char* err, size_t err_cap) {
  std::vector<wep_str> label_names;
  for (std::string_view l : labels) label_names.push_back(Str(l));
  wep_metric_desc desc{};
  desc.struct_size = WEP_STRUCT_SIZE(wep_metric_desc, bucket_count);
  desc.kind = kind;
  desc.name = Str(name);
  desc.help = Str(help);
  desc.label_names = label_names.empty() ? nullptr : label_names.data();
  desc.label_count = label_names.size();
  desc.buckets = buckets != nullptr ? buckets->data() : nullptr;
  desc.bucket_count = buckets != nullptr ? buckets->size() : 0;
  char reason[256] = {0};
  int32_t rc = in->host->metric_register(in->ctx, &desc, out, reason, sizeof reason);
  if (rc == WEP_OK && *out == nullptr) rc = WEP_ERR_INTERNAL;
  if (rc != WEP_OK) {
    Fail(err, err_cap, "registering metric " + std::string(name) + ": " + reason);
  }
  return rc;
}

constexpr std::string_view kStages[] = {"offer_received", "offer_sent", "issued",
                                        "acknowledged",   "stored",     "deleted"};
constexpr std::string_view kOutcomes[] = {"valid", "invalid"};
constexpr std::string_view kKeyOperations[] = {"created", "rotated", "revoked"};
constexpr std::string_view kTypeNames[] = {"CredentialOfferSent",
                                           "CredentialOfferReceived",
                                           "CredentialIssued",
                                           "CredentialAcknowledged",
                                           "CredentialStored",
                                           "CredentialDeleted",
                                           "PresentationRequestSent",
                                           "PresentationRequestReceived",
                                           "PresentationSubmitted",
                                           "PresentationVerified",
                                           "KeyCreated",
                                           "KeyRotated",
                                           "KeyRevoked"};

int32_t RegisterAll(Instance* in, char* err, size_t err_cap) {
  int32_t rc;
  if ((rc = Register(in, WEP_METRIC_COUNTER, "wallet_events_total",
                     "Wallet events handled, by event type.", {"event_type"}, nullptr, &in->events,
                     err, err_cap)) != WEP_OK ||
      (rc = Register(in, WEP_METRIC_COUNTER, "wallet_issuance_funnel_total",
                     "Credential issuance events by funnel stage (offer_received, offer_sent, "
                     "issued, acknowledged, stored, deleted).",
                     {"stage"}, nullptr, &in->funnel, err, err_cap)) != WEP_OK ||
      (rc = Register(in, WEP_METRIC_COUNTER, "wallet_presentations_total",
                     "Verified presentations by outcome (valid, invalid).", {"outcome"}, nullptr,
                     &in->presentations, err, err_cap)) != WEP_OK ||
      (rc = Register(in, WEP_METRIC_COUNTER, "wallet_presentations_holder_binding_missing_total",
                     "Verified presentations whose holder binding was not verified.", {}, nullptr,
                     &in->binding_missing, err, err_cap)) != WEP_OK ||
      (rc = Register(in, WEP_METRIC_COUNTER, "wallet_key_operations_total",
                     "Wallet key operations (created, rotated, revoked).", {"operation"}, nullptr,
                     &in->key_operations, err, err_cap)) != WEP_OK ||
      (rc = Register(in, WEP_METRIC_HISTOGRAM, "wallet_event_handling_delay_seconds",
                     "Seconds from an event's timestamp to its handling by this instance.", {},
                     &in->config.delay_buckets, &in->delay, err, err_cap)) != WEP_OK) {
    return rc;
  }
  if (in->config.per_wallet &&
      (rc = Register(in, WEP_METRIC_COUNTER, "wallet_events_by_wallet_total",
                     "Wallet events handled, by wallet and event type (per_wallet: true).",
                     {"wallet_id", "event_type"}, nullptr, &in->events_by_wallet, err, err_cap)) !=
          WEP_OK) {
    return rc;
  }
  // Known series start at zero, so that rate() and absent() work before the first event.
  for (std::string_view t : kTypeNames) Record(in, in->events, {t}, 0);
  for (std::string_view s : kStages) Record(in, in->funnel, {s}, 0);
  for (std::string_view o : kOutcomes) Record(in, in->presentations, {o}, 0);
  for (std::string_view k : kKeyOperations) Record(in, in->key_operations, {k}, 0);
  return WEP_OK;
}

int32_t Create(const wep_instance_info* info, wep_instance** out, char* err, size_t err_cap) {
  try {
    if (info == nullptr || out == nullptr || info->host == nullptr ||
        !WEP_HAS_FIELD(info->host, wep_host_api, metric_record) ||
        info->host->metric_register == nullptr || info->host->metric_record == nullptr) {
      Fail(err, err_cap, "metrics: the host offers no metric functions");
      return WEP_ERR_UNSUPPORTED;
    }
    auto in = std::make_unique<Instance>();
    in->host = info->host;
    in->ctx = info->ctx;
    std::string error;
    if (!ParseConfig(std::string_view(info->config_json.ptr, info->config_json.len), &in->config,
                     &error)) {
      Fail(err, err_cap, error);
      return WEP_ERR_CONFIG;
    }
    int32_t rc = RegisterAll(in.get(), err, err_cap);
    if (rc != WEP_OK) return rc;
    *out = reinterpret_cast<wep_instance*>(in.release());
    return WEP_OK;
  } catch (const std::exception& e) {
    Fail(err, err_cap, std::string("metrics: ") + e.what());
    return WEP_ERR_INTERNAL;
  }
}

void Destroy(wep_instance* instance) { delete reinterpret_cast<Instance*>(instance); }

int64_t WallClockNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string_view View(wep_str s) { return s.ptr != nullptr ? std::string_view(s.ptr, s.len) : ""; }

// validation_status and holder_binding_verified of a PresentationVerified payload.
void RecordPresentation(Instance* in, const wep_event& e) {
  std::string_view raw = View(e.raw_json);
  Json j = Json::parse(raw.begin(), raw.end(), nullptr, /*allow_exceptions=*/false);
  const Json* payload = nullptr;
  if (!j.is_discarded() && j.is_object()) {
    auto it = j.find("payload");
    if (it != j.end() && it->is_object()) payload = &*it;
  }
  std::string_view outcome = "unknown";
  if (payload != nullptr) {
    auto status = payload->find("validation_status");
    if (status != payload->end()) {
      if (status->is_string() && status->get_ref<const std::string&>() == "Valid") {
        outcome = "valid";
      } else if (status->is_object() && status->contains("Invalid")) {
        outcome = "invalid";
      }
    }
    auto binding = payload->find("holder_binding_verified");
    if (binding != payload->end() && binding->is_boolean() && !binding->get<bool>()) {
      Record(in, in->binding_missing, {}, 1);
    }
  }
  if (outcome == "unknown" && !in->warned_unreadable.exchange(true)) {
    Log(in, WEP_LOG_WARN,
        "PresentationVerified " + std::string(View(e.event_id)) +
            ": validation_status is neither \"Valid\" nor {\"Invalid\": ...}; counted as "
            "outcome=\"unknown\" (logged once)");
  }
  Record(in, in->presentations, {outcome}, 1);
}

void RecordEvent(Instance* in, const wep_event& e, int64_t now_ns) {
  std::string_view type = View(e.event_type_name);
  if (type.empty()) type = "unknown";
  Record(in, in->events, {type}, 1);
  if (in->events_by_wallet != nullptr) {
    Record(in, in->events_by_wallet, {View(e.wallet_id), type}, 1);
  }

  switch (e.event_type) {
    case WEP_EVENT_CREDENTIAL_OFFER_RECEIVED:
      Record(in, in->funnel, {"offer_received"}, 1);
      break;
    case WEP_EVENT_CREDENTIAL_OFFER_SENT:
      Record(in, in->funnel, {"offer_sent"}, 1);
      break;
    case WEP_EVENT_CREDENTIAL_ISSUED:
      Record(in, in->funnel, {"issued"}, 1);
      break;
    case WEP_EVENT_CREDENTIAL_ACKNOWLEDGED:
      Record(in, in->funnel, {"acknowledged"}, 1);
      break;
    case WEP_EVENT_CREDENTIAL_STORED:
      Record(in, in->funnel, {"stored"}, 1);
      break;
    case WEP_EVENT_CREDENTIAL_DELETED:
      Record(in, in->funnel, {"deleted"}, 1);
      break;
    case WEP_EVENT_PRESENTATION_VERIFIED:
      RecordPresentation(in, e);
      break;
    case WEP_EVENT_KEY_CREATED:
      Record(in, in->key_operations, {"created"}, 1);
      break;
    case WEP_EVENT_KEY_ROTATED:
      Record(in, in->key_operations, {"rotated"}, 1);
      break;
    case WEP_EVENT_KEY_REVOKED:
      Record(in, in->key_operations, {"revoked"}, 1);
      break;
    default:
      break;
  }

  int64_t event_ns =
      e.struct_size >= WEP_STRUCT_SIZE(wep_event, timestamp_unix_ns) ? e.timestamp_unix_ns : 0;
  if (event_ns == 0 && !wep_metrics::ParseRfc3339(View(e.timestamp), &event_ns)) return;
  // An event stamped in the future (clock skew between wallet and host) counts as no delay.
  double delay = now_ns > event_ns ? static_cast<double>(now_ns - event_ns) / 1e9 : 0.0;
  Record(in, in->delay, {}, delay);
}

int32_t HandleBatch(wep_instance* instance, const wep_batch* batch, char* err, size_t err_cap) {
  auto* in = reinterpret_cast<Instance*>(instance);
  if (in == nullptr || batch == nullptr) {
    Fail(err, err_cap, "metrics: null instance or batch");
    return WEP_ERR_INVALID_ARGUMENT;
  }
  try {
    int64_t now_ns = WallClockNs();
    for (size_t i = 0; i < batch->count; ++i) {
      const wep_event* e = batch->events[i];
      if (e != nullptr) RecordEvent(in, *e, now_ns);
      // Metrics are best effort: an event is never retried or dead-lettered for them.
      wep_set_result(batch->results[i], WEP_RESULT_DONE, nullptr);
    }
    return WEP_OK;
  } catch (const std::exception& e) {
    Fail(err, err_cap, std::string("metrics: ") + e.what());
    return WEP_ERR_INTERNAL;
  }
}

}  // namespace

WEP_PLUGIN_ENTRY {
  if (host == nullptr || host->abi_major != WEP_ABI_MAJOR) return nullptr;
  return &kDescriptor;
}
