// wep_fake_host.hpp -- a stand-in host for unit-testing a plugin without wallet-eventd.
//
// It dlopen()s a built plugin, calls wep_plugin_entry, offers a wep_host_api whose log,
// publish and metric calls are recorded for assertions, and turns wire-format JSON into
// wep_event views. C++17, header-only, test use only (needs nlohmann/json and -ldl).
//
// Thread-safety: one FakeHost per test; its recordings are guarded, so a plugin may call the
// host table from its own threads.
#ifndef WEP_FAKE_HOST_HPP_
#define WEP_FAKE_HOST_HPP_

#include <dlfcn.h>
#include <time.h>

#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "wallet_event_plugin.h"

namespace wep_testing {

struct Published {
  std::string topic_suffix, key, value;
  std::vector<std::pair<std::string, std::string>> headers;
};
struct LogLine {
  int level;
  std::string text;
};
struct EventResult {
  int32_t code;
  uint32_t retry_after_ms;
  std::string message;
};

class FakeHost {
 public:
  explicit FakeHost(const std::string& plugin_path) {
    handle_ = dlopen(plugin_path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle_ == nullptr) throw std::runtime_error(std::string("dlopen: ") + dlerror());
    auto entry = reinterpret_cast<wep_plugin_entry_fn>(dlsym(handle_, WEP_ENTRY_SYMBOL));
    if (entry == nullptr) throw std::runtime_error("no wep_plugin_entry in " + plugin_path);
    wep_host_info info{sizeof(wep_host_info), WEP_ABI_MAJOR, WEP_ABI_MINOR, "fake"};
    desc_ = entry(&info);
    if (desc_ == nullptr) throw std::runtime_error("wep_plugin_entry returned NULL");
    api_.struct_size = sizeof(api_);
    api_.abi_major = WEP_ABI_MAJOR;
    api_.abi_minor = WEP_ABI_MINOR;
    api_.log = &FakeHost::Log;
    api_.publish = &FakeHost::Publish;
    api_.metric_register = &FakeHost::MetricRegister;
    api_.metric_record = &FakeHost::MetricRecord;
    api_.monotonic_ns = &FakeHost::MonotonicNs;
  }
  ~FakeHost() {
    Destroy();
    if (handle_ != nullptr) dlclose(handle_);
  }
  FakeHost(const FakeHost&) = delete;
  FakeHost& operator=(const FakeHost&) = delete;

  const wep_plugin_descriptor& descriptor() const { return *desc_; }

  // Creates the instance; returns the plugin's status, with its message in *error.
  int32_t Create(const std::string& config_json, const std::string& state_dir = "/tmp",
                 std::string* error = nullptr, const std::string& name = "test") {
    Destroy();
    instance_name_ = name;
    wep_instance_info info{};
    info.struct_size = sizeof(info);
    info.host = &api_;
    info.ctx = reinterpret_cast<wep_host_ctx*>(this);
    info.instance_name = {instance_name_.data(), instance_name_.size()};
    info.config_json = {config_json.data(), config_json.size()};
    info.state_dir = {state_dir.data(), state_dir.size()};
    info.topic_prefix = {"wallet", 6};
    char err[512] = {0};
    int32_t rc = desc_->create(&info, &instance_, err, sizeof err);
    if (error != nullptr) *error = err;
    return rc;
  }

  // Hands one batch of wire-format JSON records to handle_batch (topic/partition/offset are
  // invented: partition 0, offsets from next_offset). Returns per-event results; the batch's
  // status goes to *status. A record the real host would refuse (not JSON, no payload object,
  // no metadata) is still handed over, with whatever type and metadata can be read from it
  // (else empty), so that a plugin's defensive paths can be tested.
  std::vector<EventResult> Handle(const std::vector<std::string>& records,
                                  int32_t* status = nullptr, uint32_t attempt = 1) {
    if (instance_ == nullptr) throw std::runtime_error("Handle before a successful Create");
    std::vector<Owned> owned(records.size());
    std::vector<wep_event> events(records.size());
    std::vector<wep_event_result> results(records.size());
    std::vector<std::vector<char>> buffers(records.size(), std::vector<char>(512, '\0'));
    std::vector<const wep_event*> event_ptrs;
    std::vector<wep_event_result*> result_ptrs;
    for (size_t i = 0; i < records.size(); ++i) {
      Fill(records[i], &owned[i], &events[i], attempt);
      results[i] = {sizeof(wep_event_result), WEP_RESULT_UNSET, 0, buffers[i].data(), 512};
      event_ptrs.push_back(&events[i]);
      result_ptrs.push_back(&results[i]);
    }
    wep_batch batch{sizeof(wep_batch), event_ptrs.data(), result_ptrs.data(), records.size(),
                    MonotonicNs() + 10'000'000'000ull};
    char err[512] = {0};
    int32_t rc = desc_->handle_batch(instance_, &batch, err, sizeof err);
    if (status != nullptr) *status = rc;
    std::vector<EventResult> out;
    for (auto& r : results) out.push_back({r.code, r.retry_after_ms, r.message});
    return out;
  }

  int32_t Flush(std::string* error = nullptr) {
    if (desc_->flush == nullptr) return WEP_OK;
    char err[512] = {0};
    int32_t rc = desc_->flush(instance_, err, sizeof err);
    if (error != nullptr) *error = err;
    return rc;
  }

  void Destroy() {
    if (instance_ == nullptr) return;
    if (desc_->shutdown != nullptr) {
      char err[256];
      desc_->shutdown(instance_, MonotonicNs() + 5'000'000'000ull, err, sizeof err);
    }
    desc_->destroy(instance_);
    instance_ = nullptr;
  }

  // Recordings.
  std::vector<Published> published() const {
    std::lock_guard<std::mutex> lock(mu_);
    return published_;
  }
  std::vector<LogLine> logs() const {
    std::lock_guard<std::mutex> lock(mu_);
    return logs_;
  }
  // Sum of counter adds / last gauge value / count of histogram observations, by
  // "name{v1,v2}" (label values in registration order).
  double metric(const std::string& name, const std::vector<std::string>& labels = {}) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = metric_values_.find(Key(name, labels));
    return it == metric_values_.end() ? 0.0 : it->second;
  }
  // Makes publish fail with WEP_ERR_UNAVAILABLE while set.
  void set_publish_fails(bool fails) { publish_fails_ = fails; }
  int64_t next_offset = 0;

 private:
  struct Owned {
    std::string raw, type, id, ts, corr, wallet, version, topic;
  };
  struct Metric {
    FakeHost* host;
    int32_t kind;
    std::string name;
  };

  static std::string Key(const std::string& name, const std::vector<std::string>& labels) {
    std::string k = name + "{";
    for (size_t i = 0; i < labels.size(); ++i) k += (i ? "," : "") + labels[i];
    return k + "}";
  }
  static int32_t TypeNumber(const std::string& name) {
    static const char* names[] = {"",
                                  "CredentialOfferSent",
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
    for (int32_t i = 1; i < WEP_EVENT_TYPE_COUNT; ++i)
      if (name == names[i]) return i;
    return WEP_EVENT_UNKNOWN;
  }
  static wep_str S(const std::string& s) { return {s.data(), s.size()}; }

  void Fill(const std::string& raw, Owned* o, wep_event* e, uint32_t attempt) {
    const auto j = nlohmann::json::parse(raw, nullptr, /*allow_exceptions=*/false);
    const nlohmann::json none = nlohmann::json::object();
    const nlohmann::json& payload =
        j.is_object() && j.contains("payload") && j["payload"].is_object() ? j["payload"] : none;
    const nlohmann::json& m = payload.contains("metadata") && payload["metadata"].is_object()
                                  ? payload["metadata"]
                                  : none;
    auto text = [](const nlohmann::json& obj, const char* key) {
      auto it = obj.find(key);
      return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    o->raw = raw;
    o->type = j.is_object() ? text(j, "event_type") : std::string();
    o->id = text(m, "event_id");
    o->ts = text(m, "timestamp");
    o->corr = text(m, "correlation_id");
    o->wallet = text(m, "wallet_id");
    o->version = text(m, "schema_version");
    o->topic = "wallet.test";
    *e = wep_event{};
    e->struct_size = sizeof(wep_event);
    e->event_type = TypeNumber(o->type);
    e->event_type_name = S(o->type);
    e->event_id = S(o->id);
    e->timestamp = S(o->ts);
    e->timestamp_unix_ns = 0;
    e->correlation_id = S(o->corr);
    e->wallet_id = S(o->wallet);
    e->schema_version = S(o->version);
    e->raw_json = S(o->raw);
    e->topic = S(o->topic);
    e->partition = 0;
    e->offset = next_offset++;
    e->key = S(o->wallet);
    e->delivery_attempt = attempt;
  }

  static FakeHost* Self(wep_host_ctx* ctx) { return reinterpret_cast<FakeHost*>(ctx); }
  static void Log(wep_host_ctx* ctx, int32_t level, wep_str msg) {
    std::lock_guard<std::mutex> lock(Self(ctx)->mu_);
    Self(ctx)->logs_.push_back({level, std::string(msg.ptr, msg.len)});
  }
  static int32_t Publish(wep_host_ctx* ctx, wep_str suffix, wep_str key, wep_str value,
                         const wep_header* headers, size_t n, char* err, size_t cap) {
    FakeHost* self = Self(ctx);
    if (self->publish_fails_) {
      wep_write_message(err, cap, "fake broker down", 16);
      return WEP_ERR_UNAVAILABLE;
    }
    Published p{std::string(suffix.ptr, suffix.len),
                std::string(key.ptr, key.len),
                std::string(value.ptr, value.len),
                {}};
    for (size_t i = 0; i < n; ++i)
      p.headers.emplace_back(std::string(headers[i].key.ptr, headers[i].key.len),
                             std::string(headers[i].value.ptr, headers[i].value.len));
    std::lock_guard<std::mutex> lock(self->mu_);
    self->published_.push_back(std::move(p));
    return WEP_OK;
  }
  static int32_t MetricRegister(wep_host_ctx* ctx, const wep_metric_desc* d, wep_metric** out,
                                char*, size_t) {
    FakeHost* self = Self(ctx);
    std::lock_guard<std::mutex> lock(self->mu_);
    self->metrics_.push_back(
        std::make_unique<Metric>(Metric{self, d->kind, std::string(d->name.ptr, d->name.len)}));
    *out = reinterpret_cast<wep_metric*>(self->metrics_.back().get());
    return WEP_OK;
  }
  static void MetricRecord(wep_metric* metric, const wep_str* values, size_t n, double v) {
    auto* m = reinterpret_cast<Metric*>(metric);
    std::vector<std::string> labels;
    for (size_t i = 0; i < n; ++i) labels.emplace_back(values[i].ptr, values[i].len);
    std::lock_guard<std::mutex> lock(m->host->mu_);
    double& slot = m->host->metric_values_[Key(m->name, labels)];
    if (m->kind == WEP_METRIC_COUNTER)
      slot += v;
    else if (m->kind == WEP_METRIC_GAUGE)
      slot = v;
    else
      slot += 1;
  }
  static uint64_t MonotonicNs() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1'000'000'000ull + uint64_t(ts.tv_nsec);
  }

  void* handle_ = nullptr;
  const wep_plugin_descriptor* desc_ = nullptr;
  wep_host_api api_{};
  wep_instance* instance_ = nullptr;
  std::string instance_name_;
  mutable std::mutex mu_;
  std::vector<Published> published_;
  std::vector<LogLine> logs_;
  std::vector<std::unique_ptr<Metric>> metrics_;
  std::map<std::string, double> metric_values_;
  bool publish_fails_ = false;
};

}  // namespace wep_testing

#endif  // WEP_FAKE_HOST_HPP_
