// The metrics plugin, loaded from its built .so as the host would load it.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "event_time.h"
#include "wallet_event_plugin.h"
#include "wep_fake_host.hpp"

namespace {

using wep_testing::FakeHost;

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::map<std::string, std::string> GoldenEvents() {
  std::map<std::string, std::string> out;  // file stem -> JSON
  for (const auto& entry :
       std::filesystem::directory_iterator(std::filesystem::path(WEP_GOLDEN_DIR) / "wire/valid")) {
    if (entry.path().extension() == ".json") out[entry.path().stem()] = ReadFile(entry.path());
  }
  return out;
}

std::string Rfc3339(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string Event(const std::string& type, const std::string& timestamp,
                  const std::string& payload_fields = "", const std::string& wallet = "w-1") {
  return R"({"event_type":")" + type +
         R"(","payload":{"metadata":{"event_id":)"
         R"("1f0e2d3c-4b5a-4978-8796-a5b4c3d2e199","timestamp":")" +
         timestamp + R"(","correlation_id":"c","wallet_id":")" + wallet +
         R"(","schema_version":"1.0.0"})" + (payload_fields.empty() ? "" : ",") + payload_fields +
         "}}";
}

TEST(MetricsPlugin, DescriptorDeclaresItselfAndItsConfig) {
  FakeHost host(WEP_METRICS_PLUGIN);
  const wep_plugin_descriptor& d = host.descriptor();
  EXPECT_EQ(d.abi_major, uint32_t{WEP_ABI_MAJOR});
  EXPECT_STREQ(d.name, "metrics");
  EXPECT_EQ(d.subscriptions, WEP_EVENT_ALL);
  EXPECT_TRUE(d.flags & WEP_PLUGIN_THREAD_SAFE);
  EXPECT_GE(d.struct_size, WEP_STRUCT_SIZE(wep_plugin_descriptor, shutdown));
  ASSERT_EQ(d.config_key_count, 2u);
  const wep_config_key* per_wallet = d.config_keys[0];
  EXPECT_STREQ(per_wallet->name, "per_wallet");
  EXPECT_EQ(per_wallet->type, WEP_CONFIG_BOOL);
  EXPECT_EQ(per_wallet->required, 0);
  EXPECT_STREQ(per_wallet->default_json, "false");
  EXPECT_GT(std::strlen(per_wallet->description), 10u);
  const wep_config_key* buckets = d.config_keys[1];
  EXPECT_STREQ(buckets->name, "handling_delay_buckets");
  EXPECT_EQ(buckets->type, WEP_CONFIG_LIST);
  EXPECT_EQ(buckets->required, 0);
  auto defaults = nlohmann::json::parse(buckets->default_json);
  ASSERT_TRUE(defaults.is_array());
  EXPECT_GE(defaults.back().get<double>(), 3 * 3600.0);  // up to a few hours
  // The default given in the descriptor is accepted as config.
  std::string error;
  EXPECT_EQ(host.Create(std::string(R"({"per_wallet":false,"handling_delay_buckets":)") +
                            buckets->default_json + "}",
                        "/tmp", &error),
            WEP_OK)
      << error;
}

TEST(MetricsPlugin, CountsEveryGoldenEvent) {
  FakeHost host(WEP_METRICS_PLUGIN);
  std::string error;
  ASSERT_EQ(host.Create("{}", "/tmp", &error), WEP_OK) << error;
  std::vector<std::string> records;
  for (const auto& [name, json] : GoldenEvents()) records.push_back(json);
  ASSERT_EQ(records.size(), 14u);

  int32_t status = -1;
  auto results = host.Handle(records, &status);
  ASSERT_EQ(status, WEP_OK);
  for (const auto& r : results) EXPECT_EQ(r.code, WEP_RESULT_DONE) << r.message;

  for (const char* type : {"CredentialOfferSent", "CredentialOfferReceived", "CredentialIssued",
                           "CredentialAcknowledged", "CredentialStored", "CredentialDeleted",
                           "PresentationRequestSent", "PresentationRequestReceived",
                           "PresentationSubmitted", "KeyCreated", "KeyRotated", "KeyRevoked"}) {
    EXPECT_EQ(host.metric("wallet_events_total", {type}), 1.0) << type;
  }
  EXPECT_EQ(host.metric("wallet_events_total", {"PresentationVerified"}), 2.0);

  for (const char* stage :
       {"offer_received", "offer_sent", "issued", "acknowledged", "stored", "deleted"}) {
    EXPECT_EQ(host.metric("wallet_issuance_funnel_total", {stage}), 1.0) << stage;
  }
  EXPECT_EQ(host.metric("wallet_presentations_total", {"valid"}), 1.0);
  EXPECT_EQ(host.metric("wallet_presentations_total", {"invalid"}), 1.0);
  EXPECT_EQ(host.metric("wallet_presentations_holder_binding_missing_total"), 1.0);
  for (const char* op : {"created", "rotated", "revoked"}) {
    EXPECT_EQ(host.metric("wallet_key_operations_total", {op}), 1.0) << op;
  }
  // One delay observation per event (the fake host counts histogram observations).
  EXPECT_EQ(host.metric("wallet_event_handling_delay_seconds"), 14.0);
  // Never labelled by wallet unless asked.
  EXPECT_EQ(host.metric("wallet_events_by_wallet_total", {"wallet-7f3a", "CredentialStored"}), 0.0);
  EXPECT_TRUE(host.logs().empty());
}

TEST(MetricsPlugin, PerWalletCountsGoToTheirOwnMetric) {
  FakeHost host(WEP_METRICS_PLUGIN);
  std::string error;
  ASSERT_EQ(host.Create(R"({"per_wallet": true})", "/tmp", &error), WEP_OK) << error;
  auto golden = GoldenEvents();
  host.Handle({golden["CredentialStored"], golden["PresentationVerified.2"],
               golden["PresentationVerified"]});
  EXPECT_EQ(host.metric("wallet_events_by_wallet_total", {"wallet-7f3a", "CredentialStored"}), 1.0);
  EXPECT_EQ(host.metric("wallet_events_by_wallet_total", {"wallet-b2c1", "PresentationVerified"}),
            1.0);
  EXPECT_EQ(host.metric("wallet_events_by_wallet_total", {"wallet-7f3a", "PresentationVerified"}),
            1.0);
  // The per-type metric keeps its labels, so instances with either setting can coexist.
  EXPECT_EQ(host.metric("wallet_events_total", {"PresentationVerified"}), 2.0);
}

TEST(MetricsPlugin, RefusesBadConfigWithTheKey) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"per_wallet": "yes"})", "per_wallet"},
      {R"({"per_walet": true})", "unknown config key per_walet"},
      {R"({"handling_delay_buckets": [1, 1]})", "handling_delay_buckets"},
      {R"({"handling_delay_buckets": [2, 1]})", "ascending"},
      {R"({"handling_delay_buckets": [-1, 1]})", "positive"},
      {R"({"handling_delay_buckets": []})", "handling_delay_buckets"},
      {R"({"handling_delay_buckets": ["1"]})", "handling_delay_buckets"},
      {R"({"handling_delay_buckets": 5})", "handling_delay_buckets"},
      {R"([1])", "JSON object"},
      {R"({"per_wallet": )", "JSON object"},
  };
  for (const auto& [config, expected] : cases) {
    FakeHost host(WEP_METRICS_PLUGIN);
    std::string error;
    EXPECT_EQ(host.Create(config, "/tmp", &error), WEP_ERR_CONFIG) << config;
    EXPECT_NE(error.find(expected), std::string::npos) << config << " -> " << error;
  }
}

TEST(MetricsPlugin, UnreadableValidationStatusIsCountedAsUnknownAndLoggedOnce) {
  FakeHost host(WEP_METRICS_PLUGIN);
  ASSERT_EQ(host.Create("{}"), WEP_OK);
  std::string odd = Event("PresentationVerified", "2026-02-07T09:00:01Z",
                          R"("request_id":"r","presentation_submission_id":"s",)"
                          R"("validation_status":{"Pending":{}},"holder_binding_verified":true)");
  auto results = host.Handle({odd, odd});
  for (const auto& r : results) EXPECT_EQ(r.code, WEP_RESULT_DONE);
  EXPECT_EQ(host.metric("wallet_presentations_total", {"unknown"}), 2.0);
  EXPECT_EQ(host.metric("wallet_presentations_holder_binding_missing_total"), 0.0);
  ASSERT_EQ(host.logs().size(), 1u);
  EXPECT_EQ(host.logs()[0].level, WEP_LOG_WARN);
  EXPECT_NE(host.logs()[0].text.find("validation_status"), std::string::npos);
}

TEST(MetricsPlugin, ConcurrentBatchesOnOneInstance) {
  FakeHost host(WEP_METRICS_PLUGIN);
  ASSERT_EQ(host.Create("{}"), WEP_OK);
  std::string stored = GoldenEvents()["CredentialStored"];
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) host.Handle({stored, stored});
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(host.metric("wallet_issuance_funnel_total", {"stored"}), 400.0);
}

// ---- a host that keeps every registration and recorded value --------------------------------

class RecordingHost {
 public:
  struct Metric {
    int32_t kind;
    std::string name;
    std::vector<std::string> labels;
    std::vector<double> buckets;
    RecordingHost* host;
  };
  struct Record {
    std::string name;
    std::vector<std::string> labels;
    double value;
  };

  RecordingHost() : loader_(WEP_METRICS_PLUGIN) {
    api_.struct_size = sizeof api_;
    api_.abi_major = WEP_ABI_MAJOR;
    api_.abi_minor = WEP_ABI_MINOR;
    api_.log = [](wep_host_ctx*, int32_t, wep_str) {};
    api_.publish = nullptr;
    api_.metric_register = &RecordingHost::Register;
    api_.metric_record = &RecordingHost::RecordValue;
    api_.monotonic_ns = [] { return uint64_t{0}; };
  }
  ~RecordingHost() {
    if (instance_ != nullptr) loader_.descriptor().destroy(instance_);
  }

  int32_t Create(const std::string& config, std::string* error) {
    wep_instance_info info{};
    info.struct_size = sizeof info;
    info.host = &api_;
    info.ctx = reinterpret_cast<wep_host_ctx*>(this);
    info.instance_name = {"m", 1};
    info.config_json = {config.data(), config.size()};
    char err[256] = {0};
    int32_t rc = loader_.descriptor().create(&info, &instance_, err, sizeof err);
    *error = err;
    return rc;
  }

  // Hands the given events (built by the caller) to handle_batch.
  int32_t Handle(std::vector<wep_event> events) {
    std::vector<wep_event_result> results(events.size());
    std::vector<std::vector<char>> buffers(events.size(), std::vector<char>(256, '\0'));
    std::vector<const wep_event*> event_ptrs;
    std::vector<wep_event_result*> result_ptrs;
    for (size_t i = 0; i < events.size(); ++i) {
      results[i] = {sizeof(wep_event_result), WEP_RESULT_UNSET, 0, buffers[i].data(), 256};
      event_ptrs.push_back(&events[i]);
      result_ptrs.push_back(&results[i]);
    }
    wep_batch batch{sizeof batch, event_ptrs.data(), result_ptrs.data(), events.size(), 0};
    char err[256] = {0};
    int32_t rc = loader_.descriptor().handle_batch(instance_, &batch, err, sizeof err);
    for (const auto& r : results) EXPECT_EQ(r.code, WEP_RESULT_DONE);
    return rc;
  }

  const Metric* metric(const std::string& name) const {
    for (const auto& m : metrics_)
      if (m->name == name) return m.get();
    return nullptr;
  }
  std::vector<Record> records(const std::string& name) const {
    std::vector<Record> out;
    for (const auto& r : records_)
      if (r.name == name) out.push_back(r);
    return out;
  }
  std::string fail_register;  // registering this name fails

 private:
  static int32_t Register(wep_host_ctx* ctx, const wep_metric_desc* d, wep_metric** out, char* err,
                          size_t cap) {
    auto* self = reinterpret_cast<RecordingHost*>(ctx);
    std::string name(d->name.ptr, d->name.len);
    if (name == self->fail_register) {
      wep_write_message(err, cap, "clashes with a gauge", 20);
      return WEP_ERR_INVALID_ARGUMENT;
    }
    auto m = std::make_unique<Metric>();
    m->kind = d->kind;
    m->name = name;
    for (size_t i = 0; i < d->label_count; ++i)
      m->labels.emplace_back(d->label_names[i].ptr, d->label_names[i].len);
    if (d->buckets != nullptr) m->buckets.assign(d->buckets, d->buckets + d->bucket_count);
    m->host = self;
    *out = reinterpret_cast<wep_metric*>(m.get());
    self->metrics_.push_back(std::move(m));
    return WEP_OK;
  }
  static void RecordValue(wep_metric* metric, const wep_str* values, size_t n, double v) {
    auto* m = reinterpret_cast<Metric*>(metric);
    EXPECT_EQ(n, m->labels.size()) << m->name;
    Record r{m->name, {}, v};
    for (size_t i = 0; i < n; ++i) r.labels.emplace_back(values[i].ptr, values[i].len);
    std::lock_guard<std::mutex> lock(m->host->mu_);
    m->host->records_.push_back(std::move(r));
  }

  FakeHost loader_;  // only loads the library and keeps it loaded
  wep_host_api api_{};
  wep_instance* instance_ = nullptr;
  std::mutex mu_;
  std::vector<std::unique_ptr<Metric>> metrics_;
  std::vector<Record> records_;
};

struct EventStrings {
  std::string type, timestamp, raw;
};

wep_event MakeEvent(const EventStrings& s, int32_t type, int64_t unix_ns) {
  wep_event e{};
  e.struct_size = sizeof e;
  e.event_type = type;
  e.event_type_name = {s.type.data(), s.type.size()};
  e.timestamp = {s.timestamp.data(), s.timestamp.size()};
  e.timestamp_unix_ns = unix_ns;
  e.raw_json = {s.raw.data(), s.raw.size()};
  return e;
}

TEST(MetricsPlugin, RegistersTheDocumentedMetricsAndStartsSeriesAtZero) {
  RecordingHost host;
  std::string error;
  ASSERT_EQ(host.Create("{}", &error), WEP_OK) << error;
  const std::pair<const char*, int32_t> expected[] = {
      {"wallet_events_total", WEP_METRIC_COUNTER},
      {"wallet_issuance_funnel_total", WEP_METRIC_COUNTER},
      {"wallet_presentations_total", WEP_METRIC_COUNTER},
      {"wallet_presentations_holder_binding_missing_total", WEP_METRIC_COUNTER},
      {"wallet_key_operations_total", WEP_METRIC_COUNTER},
      {"wallet_event_handling_delay_seconds", WEP_METRIC_HISTOGRAM},
  };
  for (const auto& [name, kind] : expected) {
    const auto* m = host.metric(name);
    ASSERT_NE(m, nullptr) << name;
    EXPECT_EQ(m->kind, kind) << name;
  }
  EXPECT_EQ(host.metric("wallet_events_total")->labels, std::vector<std::string>{"event_type"});
  EXPECT_EQ(host.metric("wallet_issuance_funnel_total")->labels, std::vector<std::string>{"stage"});
  EXPECT_EQ(host.metric("wallet_presentations_total")->labels, std::vector<std::string>{"outcome"});
  EXPECT_TRUE(host.metric("wallet_presentations_holder_binding_missing_total")->labels.empty());
  EXPECT_EQ(host.metric("wallet_key_operations_total")->labels,
            std::vector<std::string>{"operation"});
  EXPECT_EQ(host.metric("wallet_events_by_wallet_total"), nullptr);
  const auto& buckets = host.metric("wallet_event_handling_delay_seconds")->buckets;
  ASSERT_FALSE(buckets.empty());
  EXPECT_TRUE(std::is_sorted(buckets.begin(), buckets.end()));
  EXPECT_EQ(buckets.back(), 14400.0);

  auto funnel = host.records("wallet_issuance_funnel_total");
  ASSERT_EQ(funnel.size(), 6u);
  for (const auto& r : funnel) EXPECT_EQ(r.value, 0.0) << r.labels[0];
  EXPECT_EQ(host.records("wallet_events_total").size(), 13u);
  EXPECT_EQ(host.records("wallet_presentations_total").size(), 2u);
  EXPECT_EQ(host.records("wallet_key_operations_total").size(), 3u);
}

TEST(MetricsPlugin, HandlingDelayUsesTheEventTime) {
  RecordingHost host;
  std::string error;
  ASSERT_EQ(host.Create(R"({"handling_delay_buckets": [1, 60, 3600]})", &error), WEP_OK) << error;
  EXPECT_EQ(host.metric("wallet_event_handling_delay_seconds")->buckets,
            (std::vector<double>{1, 60, 3600}));

  auto now = std::chrono::system_clock::now();
  auto ns = [](std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  };
  // 1: only the RFC 3339 string (timestamp_unix_ns == 0), 90 s ago, written with an offset.
  std::string utc = Rfc3339(now - std::chrono::seconds(90));
  EventStrings a{"KeyCreated", utc.substr(0, utc.size() - 1) + ".25+00:00", "{}"};
  // 2: timestamp_unix_ns wins over the string.
  EventStrings b{"KeyRevoked", "2000-01-01T00:00:00Z", "{}"};
  // 3: in the future (clock skew): no delay.
  EventStrings c{"KeyRotated", Rfc3339(now + std::chrono::hours(1)), "{}"};
  // 4: unparsable string and no unix time: not observed.
  EventStrings d{"KeyRotated", "yesterday", "{}"};
  ASSERT_EQ(
      host.Handle({MakeEvent(a, WEP_EVENT_KEY_CREATED, 0),
                   MakeEvent(b, WEP_EVENT_KEY_REVOKED, ns(now - std::chrono::seconds(5))),
                   MakeEvent(c, WEP_EVENT_KEY_ROTATED, 0), MakeEvent(d, WEP_EVENT_KEY_ROTATED, 0)}),
      WEP_OK);
  auto delays = host.records("wallet_event_handling_delay_seconds");
  ASSERT_EQ(delays.size(), 3u);
  EXPECT_GE(delays[0].value, 88.0);
  EXPECT_LT(delays[0].value, 120.0);
  EXPECT_GE(delays[1].value, 4.9);
  EXPECT_LT(delays[1].value, 30.0);
  EXPECT_EQ(delays[2].value, 0.0);
  EXPECT_EQ(host.records("wallet_key_operations_total").size(), 3u + 4u);
}

TEST(MetricsPlugin, RegistrationFailureRefusesTheInstance) {
  RecordingHost host;
  host.fail_register = "wallet_presentations_total";
  std::string error;
  EXPECT_EQ(host.Create("{}", &error), WEP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(error, "registering metric wallet_presentations_total: clashes with a gauge");
}

TEST(EventTime, ParsesRfc3339) {
  int64_t ns = 0;
  ASSERT_TRUE(wep_metrics::ParseRfc3339("1970-01-01T00:00:00Z", &ns));
  EXPECT_EQ(ns, 0);
  ASSERT_TRUE(wep_metrics::ParseRfc3339("2026-02-06T10:18:43.123456789Z", &ns));
  EXPECT_EQ(ns, 1770373123123456789);
  ASSERT_TRUE(wep_metrics::ParseRfc3339("2026-02-06T11:18:43.5+01:00", &ns));
  EXPECT_EQ(ns, 1770373123500000000);
  ASSERT_TRUE(wep_metrics::ParseRfc3339("2026-02-06t05:48:43.1234567891234-04:30", &ns));
  EXPECT_EQ(ns, 1770373123123456789);  // digits past nanoseconds are truncated
  ASSERT_TRUE(wep_metrics::ParseRfc3339("2024-02-29 00:00:00z", &ns));
  EXPECT_EQ(ns, 1709164800000000000);
  ASSERT_TRUE(wep_metrics::ParseRfc3339("1969-12-31T23:59:59Z", &ns));
  EXPECT_EQ(ns, -1000000000);
  for (const char* bad :
       {"", "2026-02-06", "2026-02-06T10:18:43", "2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z",
        "2026-02-06T24:00:00Z", "2026-02-06T10:18:43.Z", "2026-02-06T10:18:43+0100",
        "2026-02-06T10:18:43Zjunk", "2026-02-06X10:18:43Z", "9999-01-01T00:00:00Z",
        "2026-02-06T10:18:43+24:00", "+026-02-06T10:18:43Z"}) {
    EXPECT_FALSE(wep_metrics::ParseRfc3339(bad, &ns)) << bad;
  }
}

}  // namespace
