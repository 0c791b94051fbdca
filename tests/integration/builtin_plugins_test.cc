// The four built-in plugins (audit, metrics, notification, security) end to end: one daemon
// with all four loaded by name, on the real broker, with a local HTTP server playing the
// credential issuers. Each TEST starts its own daemon on its own topic prefix.
#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/sha.h>
#include <signal.h>

#include <cmath>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "admin/http_server_thread.h"
#include "demo/demo_flow.h"
#include "support.h"
#include "wallet_eventd/client.h"

namespace {

using namespace wallet_eventd;
using nlohmann::json;
using std::chrono::seconds;

// ---- the issuers -----------------------------------------------------------------------------

struct Seen {
  std::string method, path, authorization, content_type, body, notification_id;
  std::chrono::steady_clock::time_point at;
};
struct Reply {
  int status = 204;
  std::string body;
  std::string retry_after;
};

// One loopback HTTP server for every issuer of a test: "<base>/configured" (endpoint from the
// `issuers` config), "<base>/meta" (endpoint from its metadata), and the default endpoint.
// Records every request; answers a notification with the replies scripted for its
// notification_id, one per request, then 204.
class IssuerServer {
 public:
  IssuerServer() {
    server_.Post(".*", [this](const httplib::Request& req, httplib::Response& res) {
      Seen s = record(req);
      std::lock_guard<std::mutex> lock(mu_);
      Reply reply;
      auto it = script_.find(s.notification_id);
      if (it != script_.end() && !it->second.empty()) {
        reply = it->second.front();
        it->second.pop_front();
      }
      res.status = reply.status;
      if (!reply.retry_after.empty()) res.set_header("Retry-After", reply.retry_after);
      if (!reply.body.empty()) res.set_content(reply.body, "application/json");
    });
    server_.Get(".*", [this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      if (req.path == "/.well-known/openid-credential-issuer/meta") {
        json md = {{"credential_issuer", base() + "/meta"},
                   {"credential_endpoint", base() + "/meta/credential"},
                   {"notification_endpoint", base() + "/meta/notify"}};
        res.set_content(md.dump(), "application/json");
      } else {
        res.status = 404;
      }
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    loop_.start(&server_);  // returns once it serves: a test that fails at once still ends
  }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void script(const std::string& notification_id, std::vector<Reply> replies) {
    std::lock_guard<std::mutex> lock(mu_);
    script_[notification_id] = {replies.begin(), replies.end()};
  }
  std::vector<Seen> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }
  std::vector<Seen> posts_for(const std::string& notification_id) {
    std::vector<Seen> out;
    for (const auto& s : requests())
      if (s.method == "POST" && s.notification_id == notification_id) out.push_back(s);
    return out;
  }

 private:
  Seen record(const httplib::Request& req) {
    Seen s{req.method,
           req.path,
           req.get_header_value("Authorization"),
           req.get_header_value("Content-Type"),
           req.body,
           "",
           std::chrono::steady_clock::now()};
    auto body = json::parse(req.body, nullptr, false);
    if (body.is_object() && body.contains("notification_id") && body["notification_id"].is_string())
      s.notification_id = body["notification_id"].get<std::string>();
    std::lock_guard<std::mutex> lock(mu_);
    seen_.push_back(s);
    return s;
  }

  httplib::Server server_;
  int port_ = -1;
  std::mutex mu_;
  std::vector<Seen> seen_;
  std::map<std::string, std::deque<Reply>> script_;
  wallet_eventd::admin::HttpServerThread loop_;  // last: stopped before the handlers' state goes
};

const char kTokenConfigured[] = "tok-configured-3f9a1c7e55d2";
const char kTokenMeta[] = "tok-meta-b81e04d9c6aa";
const char kTokenDefault[] = "tok-default-7c2d90e1f4b3";

// The plugins block: all four built-ins by name, notification pointed at `issuers`.
std::string four_plugins(const IssuerServer& issuers, const std::filesystem::path& audit_dir) {
  const std::string b = issuers.base();
  return "  - name: audit\n"
         "    path: audit\n"
         "    config:\n"
         "      directory: " +
         audit_dir.string() +
         "\n"
         "  - name: metrics\n"
         "    path: metrics\n"
         "  - name: notification\n"
         "    path: notification\n"
         "    retry: {max_attempts: 5, initial_backoff_ms: 100, max_backoff_ms: 400}\n"
         "    config:\n"
         "      issuers:\n"
         "        \"" +
         b + "/configured\":\n          notification_endpoint: \"" + b +
         "/configured/notify\"\n          token: \"" + kTokenConfigured +
         "\"\n"
         "        \"" +
         b + "/meta\":\n          token: \"" + kTokenMeta +
         "\"\n"
         "      default_endpoint: \"" +
         b + "/default/notify\"\n      default_token: \"" + kTokenDefault +
         "\"\n"
         "      request_timeout_ms: 3000\n"
         "  - name: security\n"
         "    path: security\n"
         "    config:\n"
         "      failed_verifications_threshold: 2\n"
         "      deletion_burst_threshold: 3\n"
         "      issuer_allowlist: [\"https://issuer.example.com\", "
         "\"https://issuer.demo.example\", "
         "\"" +
         b + "/configured\", \"" + b + "/meta\"]\n";
}

// ---- the daemon's admin endpoint -------------------------------------------------------------

using wep_it::admin_port;
using wep_it::http_get;

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Prometheus text format: `name{a="x",b="y"} value` lines; comments skipped.
std::vector<Sample> parse_metrics(const std::string& text) {
  std::vector<Sample> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    Sample s;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = line.substr(0, i);
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        size_t eq = line.find('=', i);
        std::string key = line.substr(i, eq - i);
        i = eq + 2;  // past ="
        std::string value;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\' && i + 1 < line.size()) ++i;
          value += line[i++];
        }
        ++i;  // past "
        if (i < line.size() && line[i] == ',') ++i;
        s.labels[key] = value;
      }
      ++i;  // past }
    }
    s.value = std::strtod(line.c_str() + i, nullptr);
    out.push_back(std::move(s));
  }
  return out;
}

// The sum of the samples named `name` carrying all of `labels`; NaN when there is none.
double metric(const std::vector<Sample>& samples, const std::string& name,
              const std::map<std::string, std::string>& labels = {}) {
  double sum = 0;
  bool found = false;
  for (const auto& s : samples) {
    if (s.name != name) continue;
    bool match = true;
    for (const auto& [k, v] : labels) {
      auto it = s.labels.find(k);
      if (it == s.labels.end() || it->second != v) match = false;
    }
    if (match) {
      sum += s.value;
      found = true;
    }
  }
  return found ? sum : std::nan("");
}

double scrape(int port, const std::string& name, const std::map<std::string, std::string>& labels) {
  auto r = http_get(port, "/metrics");
  if (r.status != 200) return std::nan("");
  return metric(parse_metrics(r.body), name, labels);
}

// Waits until the instance reported `n` events done (the host's own counter).
bool instance_done(int port, const std::string& instance, double n) {
  return wep_it::eventually([&] {
    double v = scrape(port, "wallet_eventd_handler_events_total",
                      {{"instance", instance}, {"result", "done"}});
    return !std::isnan(v) && v >= n;
  });
}

// ---- events ----------------------------------------------------------------------------------

template <typename T>
T event(const std::string& correlation, const std::string& wallet) {
  T e{};
  e.metadata = EventMetadata::create(correlation, wallet);
  return e;
}

std::string id_of(const WalletEvent& e) { return metadata_of(e).event_id; }

void publish(Publisher& p, const WalletEvent& e) {
  Status s = p.publish(e);
  ASSERT_TRUE(s.ok()) << s.message();
}

// The golden events (tests/golden/wire/valid) as NDJSON, published with `wallet-eventd publish`.
std::vector<json> publish_golden(const std::string& config) {
  std::vector<json> docs;
  std::string ndjson;
  for (const auto& f : wep_it::golden_files()) {
    docs.push_back(json::parse(wep_it::read_file(f)));
    ndjson += docs.back().dump() + "\n";
  }
  auto r = wep_it::run_command({WEP_DAEMON, "publish", "--config", config, "-"}, ndjson);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  return docs;
}

std::string sha256_hex(const std::string& s) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : d) {
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

const std::vector<json::json_pointer>& sensitive_paths() {
  static const std::vector<json::json_pointer> p = {
      json::json_pointer("/credential"), json::json_pointer("/vp_token"),
      json::json_pointer("/grants/pre_authorized_code/pre_authorized_code"),
      json::json_pointer("/key_attestation"),
      json::json_pointer("/grants/authorization_code/issuer_state")};
  return p;
}

// The clear sensitive values of a payload.
std::vector<std::string> clear_values(const json& payload) {
  std::vector<std::string> out;
  for (const auto& p : sensitive_paths())
    if (payload.contains(p) && payload.at(p).is_string()) out.push_back(payload.at(p));
  return out;
}

std::string expected_topic(const std::string& prefix, const std::string& type) {
  auto t = parse_event_type(type);
  return t ? prefix + "." + std::string(topic_suffix(*t)) : "?";
}

std::vector<json> audit_records(const std::filesystem::path& dir) {
  std::vector<std::string> files;
  if (std::filesystem::exists(dir))
    for (const auto& e : std::filesystem::directory_iterator(dir))
      if (e.path().extension() == ".jsonl") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  std::vector<json> out;
  for (const auto& f : files)
    for (const auto& l : wep_it::read_lines(f)) {
      auto j = json::parse(l, nullptr, false);
      if (!j.is_discarded()) out.push_back(std::move(j));
    }
  return out;
}

std::string everything_in(const std::filesystem::path& dir) {
  std::string all;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.is_regular_file()) all += wep_it::read_file(e.path().string());
  return all;
}

// ---- audit -----------------------------------------------------------------------------------

TEST(BuiltinPlugins, AuditRecordsEveryEventOnceDigestedChainedAndSurvivesKill9) {
  IssuerServer issuers;
  const std::string prefix = wep_it::unique_prefix();
  auto dir = wep_it::temp_dir();
  const auto audit_dir = dir / "audit";
  std::string config = wep_it::daemon_config(dir, prefix, four_plugins(issuers, audit_dir),
                                             "logging:\n  level: debug\n");
  // A short session timeout, so that after the kill the group does not wait 45 s for the
  // dead member before the new daemon gets the partitions.
  {
    std::string yaml = wep_it::read_file(config);
    const std::string bus = "bus:\n";
    yaml.insert(yaml.find(bus) + bus.size(),
                "  consumer_properties:\n    session.timeout.ms: \"6000\"\n");
    config = wep_it::write_file(dir, "wallet-eventd.yaml", yaml);
  }

  // Expected: event id -> wire payload.
  std::map<std::string, json> expected;
  std::vector<std::string> clear;
  auto expect_event = [&](const json& doc) {
    const json& payload = doc["payload"];
    expected[payload["metadata"]["event_id"]] = doc;
    for (auto& v : clear_values(payload)) clear.push_back(v);
  };

  auto daemon = std::make_unique<wep_it::Daemon>(config);
  for (const auto& doc : publish_golden(config)) expect_event(doc);
  auto publisher = Publisher::create(wep_it::client_config(prefix));
  ASSERT_TRUE(publisher.ok());
  // A realistic flow: issuance, replayed nonce, valid + invalid presentation, key rotation,
  // deletion (the demo's).
  for (const auto& e : demo::wallet_flow("wallet-audit-1", 0, "https://issuer.demo.example")) {
    publish(*publisher.value(), e);
    expect_event(json::parse(encode_event(e)));
  }
  ASSERT_EQ(expected.size(), 25u);
  ASSERT_GE(clear.size(), 8u);

  ASSERT_TRUE(wep_it::eventually([&] { return audit_records(audit_dir).size() >= 25; }))
      << daemon->log();
  // The crash: no clean shutdown, no final commit.
  daemon->signal(SIGKILL);
  EXPECT_EQ(daemon->wait(seconds(10)), 128 + SIGKILL);
  const std::string first_log = daemon->log();

  auto check = [&](const std::vector<json>& records) {
    std::set<std::string> ids;
    std::set<std::tuple<std::string, int64_t, int64_t>> coordinates;
    int64_t seq = 0;
    for (const auto& r : records) {
      EXPECT_EQ(r["seq"].get<int64_t>(), ++seq);
      const std::string id = r["event_id"];
      EXPECT_TRUE(ids.insert(id).second) << "recorded twice: " << id;
      ASSERT_TRUE(expected.count(id)) << "unexpected record " << r.dump();
      const json& doc = expected[id];
      const json& meta = doc["payload"]["metadata"];
      EXPECT_EQ(r["event_type"], doc["event_type"]);
      EXPECT_EQ(r["wallet_id"], meta["wallet_id"]);
      EXPECT_EQ(r["correlation_id"], meta["correlation_id"]);
      // event_time is the host's normalised UTC form of the instant (wep_event.timestamp);
      // the payload keeps the wire text exactly.
      EXPECT_EQ(r["payload"]["metadata"]["timestamp"], meta["timestamp"]);
      EXPECT_EQ(r["event_time"].get<std::string>().back(), 'Z');
      EXPECT_EQ(parse_timestamp(r["event_time"].get<std::string>()),
                parse_timestamp(meta["timestamp"].get<std::string>()))
          << r["event_time"] << " " << meta["timestamp"];
      EXPECT_EQ(r["kafka"]["topic"], expected_topic(prefix, doc["event_type"]));
      EXPECT_GE(r["kafka"]["partition"].get<int>(), 0);
      EXPECT_GE(r["kafka"]["offset"].get<int64_t>(), 0);
      EXPECT_TRUE(coordinates
                      .insert({r["kafka"]["topic"], r["kafka"]["partition"].get<int64_t>(),
                               r["kafka"]["offset"].get<int64_t>()})
                      .second);
      EXPECT_EQ(r["hash"].get<std::string>().size(), 64u);
      EXPECT_EQ(r["prev"].get<std::string>().size(), 64u);
      // Every sensitive field is its SHA-256, everything else as published.
      const json& payload = doc["payload"];
      for (const auto& p : sensitive_paths()) {
        if (!payload.contains(p)) continue;
        if (payload.at(p).is_null()) {
          EXPECT_TRUE(r["payload"].at(p).is_null());
        } else {
          const std::string v =
              payload.at(p).is_string() ? payload.at(p).get<std::string>() : payload.at(p).dump();
          EXPECT_EQ(r["payload"].at(p), json({{"sha256", sha256_hex(v)}})) << p.to_string();
        }
      }
      EXPECT_EQ(r["payload"]["metadata"]["event_id"], id);
      // Security relevance.
      const std::string type = doc["event_type"];
      bool relevant = type == "CredentialDeleted" || type == "KeyCreated" || type == "KeyRotated" ||
                      type == "KeyRevoked" ||
                      (payload.contains("holder_binding_verified") &&
                       payload["holder_binding_verified"] == false) ||
                      (type == "PresentationVerified" && payload["validation_status"] != "Valid");
      EXPECT_EQ(r["security_relevant"].get<bool>(), relevant) << id << " " << type;
    }
  };
  auto records = audit_records(audit_dir);
  ASSERT_EQ(records.size(), 25u);
  check(records);
  // No clear sensitive value anywhere in the directory or the log.
  const std::string files = everything_in(audit_dir);
  for (const auto& v : clear) {
    EXPECT_EQ(files.find(v), std::string::npos) << "clear value in the audit files: " << v;
    EXPECT_EQ(first_log.find(v), std::string::npos) << "clear value in the daemon log: " << v;
  }
  auto verify = wep_it::run_command({WEP_DAEMON, "audit", "verify", audit_dir.string()});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;

  // Restart on the same group and directory: what was not committed comes again and is not
  // written twice; new events continue the chain.
  daemon = std::make_unique<wep_it::Daemon>(config);
  for (const auto& e : demo::wallet_flow("wallet-audit-2", 1, "https://issuer.demo.example")) {
    publish(*publisher.value(), e);
    expect_event(json::parse(encode_event(e)));
  }
  ASSERT_TRUE(wep_it::eventually([&] { return audit_records(audit_dir).size() >= 36; }))
      << daemon->log();
  const int port = admin_port(*daemon);
  ASSERT_TRUE(instance_done(port, "audit", 11)) << daemon->log();
  std::this_thread::sleep_for(seconds(2));  // room for a duplicate to show up
  records = audit_records(audit_dir);
  EXPECT_EQ(records.size(), 36u);
  check(records);
  const double skipped = scrape(port, "wallet_audit_duplicates_skipped_total", {});
  std::cout << "[ info     ] audit after kill -9: " << (std::isnan(skipped) ? 0 : skipped)
            << " redelivered event(s) recognised and not written again\n";
  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait(seconds(20)), 0) << daemon->log();
  verify = wep_it::run_command({WEP_DAEMON, "audit", "verify", audit_dir.string()});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;

  // Whether the kill left anything uncommitted is up to timing; a new consumer group on the
  // same directory is the worst case for sure: every one of the 36 events comes again.
  {
    std::string yaml = wep_it::read_file(config);
    const std::string group = "group_prefix: " + prefix + "\n";
    yaml.replace(yaml.find(group), group.size(), "group_prefix: " + prefix + "-again\n");
    wep_it::Daemon again(wep_it::write_file(dir, "again.yaml", yaml));
    const int again_port = admin_port(again);
    ASSERT_TRUE(wep_it::eventually([&] {
      return scrape(again_port, "wallet_audit_duplicates_skipped_total", {}) >= 36;
    })) << again.log();
    EXPECT_EQ(scrape(again_port, "wallet_audit_duplicates_skipped_total", {}), 36);
    again.signal(SIGTERM);
    EXPECT_EQ(again.wait(seconds(20)), 0) << again.log();
  }
  records = audit_records(audit_dir);
  EXPECT_EQ(records.size(), 36u);
  check(records);
  verify = wep_it::run_command({WEP_DAEMON, "audit", "verify", audit_dir.string()});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
}

// ---- metrics ---------------------------------------------------------------------------------

TEST(BuiltinPlugins, MetricsEndpointServesWalletAndPipelineSeries) {
  IssuerServer issuers;
  const std::string prefix = wep_it::unique_prefix();
  auto dir = wep_it::temp_dir();
  const std::string config =
      wep_it::daemon_config(dir, prefix, four_plugins(issuers, dir / "audit"));
  wep_it::Daemon daemon(config);
  const int port = admin_port(daemon);
  ASSERT_GT(port, 0) << daemon.log();
  EXPECT_EQ(http_get(port, "/healthz").status, 200);
  ASSERT_TRUE(wep_it::eventually([&] { return http_get(port, "/readyz").status == 200; }))
      << http_get(port, "/readyz").body << daemon.log();

  // 14 golden + 11 of a flow + 2 acknowledgements: one retried once, one rejected.
  publish_golden(config);
  auto publisher = Publisher::create(wep_it::client_config(prefix));
  ASSERT_TRUE(publisher.ok());
  for (const auto& e : demo::wallet_flow("wallet-metrics-1", 0, "https://issuer.demo.example"))
    publish(*publisher.value(), e);
  issuers.script("n-metrics-flaky", {{500, "", ""}});
  issuers.script("n-metrics-bad", {{400, R"({"error":"invalid_notification_id"})", ""}});
  for (const std::string id : {"n-metrics-flaky", "n-metrics-bad"}) {
    auto ack = event<CredentialAcknowledged>("corr-" + id, "wallet-metrics-2");
    ack.notification_id = id;
    ack.event = "credential_accepted";
    publish(*publisher.value(), ack);
  }
  const double total = 27;
  ASSERT_TRUE(instance_done(port, "metrics", total)) << daemon.log();
  ASSERT_TRUE(instance_done(port, "audit", total)) << daemon.log();
  ASSERT_TRUE(instance_done(port, "security", 17)) << daemon.log();
  // notification: 5 delivered (golden acknowledgement and deletion, the flow's, the retried
  // one), one rejected.
  ASSERT_TRUE(wep_it::eventually([&] {
    return scrape(port, "wallet_eventd_dead_lettered_total", {{"instance", "notification"}}) >= 1 &&
           scrape(port, "wallet_notifications_total",
                  {{"instance", "notification"}, {"outcome", "sent"}}) >= 5;
  })) << daemon.log();
  // Consumer lag comes from librdkafka statistics (every 5 s): wait until it shows caught up.
  ASSERT_TRUE(wep_it::eventually(
      [&] {
        auto samples = parse_metrics(http_get(port, "/metrics").body);
        double n = 0;
        for (const auto& s : samples)
          if (s.name == "wallet_eventd_consumer_lag" && s.labels.at("instance") == "metrics") {
            if (s.value != 0) return false;
            ++n;
          }
        return n >= 1;
      },
      seconds(30)))
      << http_get(port, "/metrics").body;

  auto answer = http_get(port, "/metrics");
  ASSERT_EQ(answer.status, 200);
  auto promtool = wep_it::run_command({"promtool", "check", "metrics"}, answer.body);
  EXPECT_EQ(promtool.exit_code, 0) << promtool.out << promtool.err;
  const auto m = parse_metrics(answer.body);
  auto at = [&](const std::string& name, std::map<std::string, std::string> labels) {
    labels["instance"] = labels.count("instance") ? labels["instance"] : "metrics";
    return metric(m, name, labels);
  };

  // Wallet activity.
  const std::map<std::string, double> by_type = {{"CredentialOfferSent", 1},
                                                 {"CredentialOfferReceived", 2},
                                                 {"CredentialIssued", 2},
                                                 {"CredentialAcknowledged", 4},
                                                 {"CredentialStored", 2},
                                                 {"CredentialDeleted", 2},
                                                 {"PresentationRequestSent", 1},
                                                 {"PresentationRequestReceived", 3},
                                                 {"PresentationSubmitted", 2},
                                                 {"PresentationVerified", 4},
                                                 {"KeyCreated", 1},
                                                 {"KeyRotated", 2},
                                                 {"KeyRevoked", 1}};
  for (const auto& [type, n] : by_type)
    EXPECT_EQ(at("wallet_events_total", {{"event_type", type}}), n) << type;
  const std::map<std::string, double> funnel = {{"offer_received", 2}, {"offer_sent", 1},
                                                {"issued", 2},         {"acknowledged", 4},
                                                {"stored", 2},         {"deleted", 2}};
  for (const auto& [stage, n] : funnel)
    EXPECT_EQ(at("wallet_issuance_funnel_total", {{"stage", stage}}), n) << stage;
  EXPECT_EQ(at("wallet_presentations_total", {{"outcome", "valid"}}), 2);
  EXPECT_EQ(at("wallet_presentations_total", {{"outcome", "invalid"}}), 2);
  EXPECT_EQ(at("wallet_presentations_holder_binding_missing_total", {}), 2);
  EXPECT_EQ(at("wallet_key_operations_total", {{"operation", "created"}}), 1);
  EXPECT_EQ(at("wallet_key_operations_total", {{"operation", "rotated"}}), 2);
  EXPECT_EQ(at("wallet_key_operations_total", {{"operation", "revoked"}}), 1);
  EXPECT_EQ(at("wallet_event_handling_delay_seconds_count", {}), total);
  // The golden events are months old: only the 13 fresh ones are within 4 h.
  EXPECT_EQ(at("wallet_event_handling_delay_seconds_bucket", {{"le", "14400"}}), 13);
  EXPECT_EQ(at("wallet_event_handling_delay_seconds_bucket", {{"le", "+Inf"}}), total);

  // The host's pipeline series, per instance.
  // audit and metrics take every event; security the 17 of the types its rules look at
  // (offers, deletions, presentation requests and verifications, key operations).
  const std::map<std::string, double> handled = {
      {"audit", total}, {"metrics", total}, {"security", 17}};
  for (const auto& [inst, n] : handled) {
    EXPECT_EQ(at("wallet_eventd_handler_events_total", {{"instance", inst}, {"result", "done"}}), n)
        << inst;
    EXPECT_EQ(at("wallet_eventd_handler_events_total", {{"instance", inst}, {"result", "retry"}}),
              0)
        << inst;
    EXPECT_EQ(at("wallet_eventd_dead_lettered_total", {{"instance", inst}}), 0) << inst;
    EXPECT_GE(at("wallet_eventd_batch_duration_seconds_count", {{"instance", inst}}), 1) << inst;
  }
  EXPECT_EQ(
      at("wallet_eventd_handler_events_total", {{"instance", "notification"}, {"result", "retry"}}),
      1);
  EXPECT_EQ(at("wallet_eventd_handler_events_total",
               {{"instance", "notification"}, {"result", "failed"}}),
            1);
  EXPECT_EQ(at("wallet_eventd_dead_lettered_total", {{"instance", "notification"}}), 1);
  EXPECT_EQ(at("wallet_notifications_total", {{"instance", "notification"}, {"outcome", "sent"}}),
            5);  // golden ack + deletion, the flow's ack + deletion, the flaky one
  EXPECT_EQ(at("wallet_audit_records_total", {{"instance", "audit"}}), total);
  EXPECT_GE(at("wallet_security_alerts_total", {{"instance", "security"}}), 1);
  // Lag per partition of every topic the instance reads.
  std::set<std::string> lag_topics;
  for (const auto& s : m)
    if (s.name == "wallet_eventd_consumer_lag" && s.labels.at("instance") == "metrics")
      lag_topics.insert(s.labels.at("topic"));
  EXPECT_GE(lag_topics.size(), 1u);
  for (const auto& t : lag_topics) EXPECT_EQ(t.rfind(prefix + ".", 0), 0u) << t;

  EXPECT_EQ(http_get(port, "/readyz").status, 200);
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(seconds(20)), 0) << daemon.log();
}

// ---- notification ----------------------------------------------------------------------------

TEST(BuiltinPlugins, NotificationRequestsReachTheIssuers) {
  IssuerServer issuers;
  const std::string prefix = wep_it::unique_prefix();
  auto dir = wep_it::temp_dir();
  const std::string config = wep_it::daemon_config(
      dir, prefix, four_plugins(issuers, dir / "audit"), "logging:\n  level: debug\n");
  wep_it::Daemon daemon(config);
  const int port = admin_port(daemon);
  ASSERT_GT(port, 0) << daemon.log();
  auto created = Publisher::create(wep_it::client_config(prefix));
  ASSERT_TRUE(created.ok());
  Publisher& pub = *created.value();
  const std::string b = issuers.base();
  double done = 0;  // notification instance: events done so far

  // (1) Issuer with an `issuers` entry naming its endpoint, learned from the offer; the
  // acknowledgement carries an event_description (an extra wire field).
  auto offer1 = event<CredentialOfferReceived>("corr-configured", "wallet-n1");
  offer1.offer_id = "offer-1";
  offer1.credential_issuer = b + "/configured";
  offer1.credential_configuration_ids = {"UniversityDegree"};
  publish(pub, offer1);
  ASSERT_TRUE(instance_done(port, "notification", done += 1)) << daemon.log();
  auto ack1 = event<CredentialAcknowledged>("corr-configured", "wallet-n1");
  ack1.notification_id = "n-configured-1";
  ack1.event = "credential_accepted";
  json wire = json::parse(encode_event(ack1));
  wire["payload"]["event_description"] = "Credential stored in the wallet";
  Status s = pub.publish_json(ack1, wire.dump());
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_TRUE(instance_done(port, "notification", done += 1)) << daemon.log();
  {
    auto posts = issuers.posts_for("n-configured-1");
    ASSERT_EQ(posts.size(), 1u);
    EXPECT_EQ(posts[0].path, "/configured/notify");
    EXPECT_EQ(posts[0].authorization, std::string("Bearer ") + kTokenConfigured);
    EXPECT_EQ(posts[0].content_type, "application/json");
    EXPECT_EQ(posts[0].body, R"({"notification_id":"n-configured-1","event":"credential_accepted",)"
                             R"("event_description":"Credential stored in the wallet"})");
  }

  // (2) Issuer with an entry but no endpoint: found in its metadata, the issuer learned from
  // an earlier event of the same correlation_id.
  auto offer2 = event<CredentialOfferReceived>("corr-meta", "wallet-n2");
  offer2.offer_id = "offer-2";
  offer2.credential_issuer = b + "/meta";
  offer2.credential_configuration_ids = {"UniversityDegree"};
  publish(pub, offer2);
  ASSERT_TRUE(instance_done(port, "notification", done += 1)) << daemon.log();
  auto del2 = event<CredentialDeleted>("corr-meta", "wallet-n2");
  del2.credential_id = "cred-2";
  del2.notification_id = "n-meta-1";
  del2.event = "credential_deleted";
  publish(pub, del2);
  ASSERT_TRUE(instance_done(port, "notification", done += 1)) << daemon.log();
  {
    auto posts = issuers.posts_for("n-meta-1");
    ASSERT_EQ(posts.size(), 1u);
    EXPECT_EQ(posts[0].path, "/meta/notify");
    EXPECT_EQ(posts[0].authorization, std::string("Bearer ") + kTokenMeta);
    EXPECT_EQ(posts[0].content_type, "application/json");
    EXPECT_EQ(posts[0].body, R"({"notification_id":"n-meta-1","event":"credential_deleted"})");
    size_t metadata_gets = 0;
    for (const auto& r : issuers.requests())
      if (r.method == "GET" && r.path == "/.well-known/openid-credential-issuer/meta")
        ++metadata_gets;
    EXPECT_EQ(metadata_gets, 1u);
  }

  // (3) Unknown issuer: the default endpoint. (4) 500 then 204: delivered once after a retry.
  // (5) 429 with Retry-After: 1, then 204. (6) 400 invalid_notification_id: dead-lettered.
  issuers.script("n-flaky", {{503, R"({"error":"try later"})", ""}});
  issuers.script("n-busy", {{429, "", "1"}});
  issuers.script("n-bad", {{400,
                            R"({"error":"invalid_notification_id",)"
                            R"("error_description":"no such notification 4711"})",
                            ""}});
  for (const std::string id : {"n-default", "n-flaky", "n-busy", "n-bad"}) {
    auto ack = event<CredentialAcknowledged>("corr-" + id, "wallet-" + id);
    ack.notification_id = id;
    ack.event = "credential_accepted";
    publish(pub, ack);
  }
  ASSERT_TRUE(instance_done(port, "notification", done += 3)) << daemon.log();
  {
    auto posts = issuers.posts_for("n-default");
    ASSERT_EQ(posts.size(), 1u);
    EXPECT_EQ(posts[0].path, "/default/notify");
    EXPECT_EQ(posts[0].authorization, std::string("Bearer ") + kTokenDefault);
    EXPECT_EQ(posts[0].body, R"({"notification_id":"n-default","event":"credential_accepted"})");
  }
  {
    auto posts = issuers.posts_for("n-flaky");
    ASSERT_EQ(posts.size(), 2u);  // 503, then 204: one delivery
    EXPECT_EQ(posts[1].body, posts[0].body);
    EXPECT_EQ(posts[1].authorization, std::string("Bearer ") + kTokenDefault);
  }
  {
    auto posts = issuers.posts_for("n-busy");
    ASSERT_EQ(posts.size(), 2u);  // 429, then 204 after the issuer's Retry-After
    EXPECT_GE(posts[1].at - posts[0].at, std::chrono::milliseconds(950));
  }
  auto dlq = wep_it::read_topic(prefix + ".dlq", 1, seconds(30));
  ASSERT_EQ(dlq.size(), 1u) << daemon.log();
  EXPECT_EQ(issuers.posts_for("n-bad").size(), 1u);  // not retried
  EXPECT_EQ(*dlq[0].header("dlq.instance"), "notification");
  EXPECT_EQ(*dlq[0].header("dlq.stage"), "handler");
  EXPECT_EQ(*dlq[0].header("dlq.error.code"), "failed");
  EXPECT_EQ(*dlq[0].header("dlq.attempts"), "1");
  const std::string error = *dlq[0].header("dlq.error");
  EXPECT_NE(error.find("invalid_notification_id"), std::string::npos) << error;
  EXPECT_NE(error.find("no such notification 4711"), std::string::npos) << error;
  EXPECT_NE(dlq[0].value.find("\"n-bad\""), std::string::npos);
  EXPECT_EQ(dlq[0].key, "wallet-n-bad");

  EXPECT_EQ(scrape(port, "wallet_notifications_total",
                   {{"instance", "notification"}, {"outcome", "sent"}}),
            5);
  EXPECT_EQ(scrape(port, "wallet_notifications_total",
                   {{"instance", "notification"}, {"outcome", "retry"}}),
            2);
  EXPECT_EQ(scrape(port, "wallet_notifications_total",
                   {{"instance", "notification"}, {"outcome", "failed"}}),
            1);
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(seconds(20)), 0) << daemon.log();
  // Nothing more went to the DLQ; no token reached the log (which is at debug level).
  EXPECT_EQ(wep_it::read_topic(prefix + ".dlq", 2, seconds(3)).size(), 1u);
  const std::string log = daemon.log();
  for (const char* token : {kTokenConfigured, kTokenMeta, kTokenDefault})
    EXPECT_EQ(log.find(token), std::string::npos) << "token in the daemon log: " << token;
  EXPECT_NE(log.find("invalid_notification_id"), std::string::npos);  // the log is not empty
}

// ---- security --------------------------------------------------------------------------------

TEST(BuiltinPlugins, SecurityAlertsArePublished) {
  IssuerServer issuers;
  const std::string prefix = wep_it::unique_prefix();
  auto dir = wep_it::temp_dir();
  wep_it::Daemon daemon(wep_it::daemon_config(dir, prefix, four_plugins(issuers, dir / "audit")));
  auto created = Publisher::create(wep_it::client_config(prefix));
  ASSERT_TRUE(created.ok());
  Publisher& pub = *created.value();
  std::map<std::string, std::vector<std::string>> triggers;  // rule -> event ids expected
  std::map<std::string, std::string> wallet_of;              // rule -> wallet

  // nonce_reuse: one verifier, one nonce, two requests.
  {
    std::vector<std::string> ids;
    for (int i = 0; i < 2; ++i) {
      auto req = event<PresentationRequestSent>("corr-nonce", "wallet-s1");
      req.request_id = "req-s1-" + std::to_string(i);
      req.dcql_query = R"({"credentials":[]})";
      req.nonce = "nonce-replayed-0123456789";
      req.client_id = "x509_san_dns:verifier.example.org";
      publish(pub, req);
      ids.push_back(id_of(req));
    }
    triggers["nonce_reuse"] = ids;
    wallet_of["nonce_reuse"] = "wallet-s1";
  }
  // Two invalid verifications (threshold 2), the second without holder binding.
  {
    std::vector<std::string> ids;
    for (int i = 0; i < 2; ++i) {
      auto v = event<PresentationVerified>("corr-verify", "wallet-s2");
      v.request_id = "req-s2-" + std::to_string(i);
      v.presentation_submission_id = "sub-s2-" + std::to_string(i);
      v.validation_status = ValidationStatus::Invalid("signature invalid");
      v.holder_binding_verified = i == 0;
      publish(pub, v);
      ids.push_back(id_of(v));
    }
    triggers["failed_verifications"] = ids;
    wallet_of["failed_verifications"] = "wallet-s2";
    triggers["missing_holder_binding"] = {ids[1]};
    wallet_of["missing_holder_binding"] = "wallet-s2";
  }
  // A revoked key used again.
  {
    auto revoked = event<KeyRevoked>("corr-keys", "wallet-s3");
    revoked.key_id = "key-s3";
    revoked.kid = "did:example:s3#1";
    revoked.revocation_reason = "compromised";
    publish(pub, revoked);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    auto reuse = event<KeyCreated>("corr-keys", "wallet-s3");
    reuse.key_id = "key-s3";
    reuse.kid = "did:example:s3#1";
    reuse.key_type = "EC";
    publish(pub, reuse);
    triggers["revoked_key_reuse"] = {id_of(revoked), id_of(reuse)};
    wallet_of["revoked_key_reuse"] = "wallet-s3";
  }
  // A deletion burst (threshold 3).
  {
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) {
      auto d = event<CredentialDeleted>("corr-del-" + std::to_string(i), "wallet-s4");
      d.credential_id = "cred-s4-" + std::to_string(i);
      d.notification_id = "n-s4-" + std::to_string(i);
      d.event = "credential_deleted";
      publish(pub, d);
      ids.push_back(id_of(d));
    }
    triggers["deletion_burst"] = ids;
    wallet_of["deletion_burst"] = "wallet-s4";
  }
  // An offer from an issuer not on the allowlist.
  {
    auto offer = event<CredentialOfferReceived>("corr-offer", "wallet-s5");
    offer.offer_id = "offer-s5";
    offer.credential_issuer = "https://issuer.untrusted.example";
    offer.credential_configuration_ids = {"Anything"};
    publish(pub, offer);
    triggers["untrusted_issuer"] = {id_of(offer)};
    wallet_of["untrusted_issuer"] = "wallet-s5";
  }
  const std::map<std::string, std::string> severity = {{"nonce_reuse", "high"},
                                                       {"failed_verifications", "high"},
                                                       {"missing_holder_binding", "medium"},
                                                       {"revoked_key_reuse", "critical"},
                                                       {"deletion_burst", "medium"},
                                                       {"untrusted_issuer", "medium"}};

  auto alerts = wep_it::read_topic(prefix + ".security.alerts", triggers.size(), seconds(60));
  ASSERT_EQ(alerts.size(), triggers.size()) << daemon.log();
  std::set<std::string> rules;
  for (const auto& r : alerts) {
    json doc = json::parse(r.value);
    ASSERT_EQ(doc["event_type"], "SecurityAlert") << r.value;
    const json& p = doc["payload"];
    const std::string rule = p["rule"];
    ASSERT_TRUE(triggers.count(rule)) << r.value;
    EXPECT_TRUE(rules.insert(rule).second) << "twice: " << rule;
    EXPECT_EQ(p["severity"], severity.at(rule)) << rule;
    EXPECT_EQ(p["wallet_id"], wallet_of[rule]) << rule;
    EXPECT_EQ(r.key, wallet_of[rule]) << rule;
    EXPECT_EQ(p["triggering_event_ids"].get<std::vector<std::string>>(), triggers[rule]) << rule;
    EXPECT_EQ(p["alert_id"].get<std::string>().size(), 36u);
    EXPECT_FALSE(p["correlation_id"].get<std::string>().empty());
    EXPECT_FALSE(p["detected_at"].get<std::string>().empty());
    EXPECT_FALSE(p["event_time"].get<std::string>().empty());
    EXPECT_EQ(*r.header("event_type"), "SecurityAlert");
    EXPECT_EQ(*r.header("wallet_id"), wallet_of[rule]);
    if (rule == "nonce_reuse") {  // only a prefix of the nonce
      EXPECT_EQ(p["description"].get<std::string>().find("nonce-replayed-0123456789"),
                std::string::npos);
    }
  }
  EXPECT_EQ(rules.size(), 6u);
  const int port = admin_port(daemon);
  EXPECT_TRUE(wep_it::eventually([&] {
    return scrape(port, "wallet_security_alerts_total", {{"instance", "security"}}) == 6;
  })) << http_get(port, "/metrics").body;
  EXPECT_EQ(
      scrape(port, "wallet_security_alerts_total",
             {{"instance", "security"}, {"rule", "revoked_key_reuse"}, {"severity", "critical"}}),
      1);
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(seconds(20)), 0) << daemon.log();
  // Logged at WARN, and nothing raised twice.
  EXPECT_NE(daemon.log().find("nonce_reuse"), std::string::npos);
  EXPECT_EQ(wep_it::read_topic(prefix + ".security.alerts", 7, seconds(3)).size(), 6u);
}

}  // namespace
