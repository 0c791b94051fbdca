// Tests of the notification plugin, loaded with dlopen through the fake host, against a real
// HTTP server (cpp-httplib) on 127.0.0.1 that plays the credential issuer.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "listen_backlog.h"
#include "wep_fake_host.hpp"

namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;
using wep_testing::EventResult;
using wep_testing::FakeHost;

constexpr char kToken[] = "tok-SECRET-4f1c2a";
constexpr char kOtherToken[] = "tok-OTHER-SECRET-77aa";

// ---- The issuer ----------------------------------------------------------------------------

struct Recorded {
  std::string method, path, body, authorization, content_type;
  int remote_port = 0;
};

struct Reply {
  int status = 204;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  int delay_ms = 0;
};

// A credential issuer on 127.0.0.1 at a random port. Records every request; answers each path
// with the Reply set for it (POST: 204, GET: 404 otherwise).
class IssuerServer {
 public:
  IssuerServer() {
    auto handler = [this](const httplib::Request& req, httplib::Response& res) { Serve(req, res); };
    server_.Get(".*", handler);
    server_.Post(".*", handler);
    server_.set_keep_alive_timeout(1);
    // A thread per connection: enough for max_concurrent_requests' default (8) and then some.
    server_.new_task_queue = [] { return new httplib::ThreadPool(40); };
    server_.set_keep_alive_max_count(1000);
    port_ = server_.bind_to_any_port("127.0.0.1");
    wep_test::widen_listen_backlog(port_, 128);  // 5 would drop concurrent connects
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~IssuerServer() {
    server_.stop();
    thread_.join();
  }

  std::string url(const std::string& path = "") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  void Set(const std::string& path, Reply reply) {
    std::lock_guard<std::mutex> lock(mu_);
    replies_[path] = std::move(reply);
  }
  // Serves issuer metadata at `path` naming `notification_endpoint` (omitted when empty).
  void SetMetadata(const std::string& path, const std::string& issuer,
                   const std::string& notification_endpoint) {
    json md = {{"credential_issuer", issuer},
               {"credential_endpoint", issuer + "/credential"},
               {"credential_configurations_supported", json::object()}};
    if (!notification_endpoint.empty()) md["notification_endpoint"] = notification_endpoint;
    Set(path, {200, md.dump(), {}, 0});
  }
  std::vector<Recorded> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  size_t Count(const std::string& method, const std::string& path) const {
    size_t n = 0;
    for (const auto& r : requests()) n += r.method == method && r.path == path;
    return n;
  }

 private:
  void Serve(const httplib::Request& req, httplib::Response& res) {
    // Unset paths: notifications succeed (204), anything else is not found.
    Reply reply = req.method == "POST" ? Reply{} : Reply{404, R"({"error":"not_found"})", {}, 0};
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back({req.method, req.path, req.body, req.get_header_value("Authorization"),
                           req.get_header_value("Content-Type"), req.remote_port});
      auto it = replies_.find(req.path);
      if (it != replies_.end()) reply = it->second;
    }
    if (reply.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(reply.delay_ms));
    res.status = reply.status;
    for (const auto& [k, v] : reply.headers) res.set_header(k.c_str(), v);
    if (!reply.body.empty()) res.set_content(reply.body, "application/json");
  }

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  std::map<std::string, Reply> replies_;
  std::vector<Recorded> requests_;
};

// A 127.0.0.1 port nobody listens on.
int ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// ---- Events --------------------------------------------------------------------------------

json Golden(const std::string& type) {
  std::ifstream in(std::string(WEP_GOLDEN_DIR) + "/wire/valid/" + type + ".json");
  if (!in) throw std::runtime_error("missing golden event " + type);
  return json::parse(in);
}

json WithCorrelation(json record, const std::string& correlation_id) {
  record["payload"]["metadata"]["correlation_id"] = correlation_id;
  return record;
}

std::string Ack(const std::string& correlation_id, const std::string& notification_id = "3fwe98js",
                const std::string& event = "credential_accepted") {
  json r = WithCorrelation(Golden("CredentialAcknowledged"), correlation_id);
  r["payload"]["notification_id"] = notification_id;
  r["payload"]["event"] = event;
  return r.dump();
}

std::string Deleted(const std::string& correlation_id, const std::string& notification_id) {
  json r = WithCorrelation(Golden("CredentialDeleted"), correlation_id);
  r["payload"]["notification_id"] = notification_id;
  return r.dump();
}

std::string Offer(const std::string& correlation_id, const std::string& issuer,
                  const std::string& type = "CredentialOfferReceived") {
  json r = WithCorrelation(Golden(type), correlation_id);
  r["payload"]["credential_issuer"] = issuer;
  return r.dump();
}

std::string Stored(const std::string& correlation_id, const std::string& issuer,
                   const std::string& notification_id) {
  json r = WithCorrelation(Golden("CredentialStored"), correlation_id);
  r["payload"]["issuer"] = issuer;
  r["payload"]["notification_id"] = notification_id;
  return r.dump();
}

std::string Issued(const std::string& correlation_id, const std::string& notification_id) {
  json r = WithCorrelation(Golden("CredentialIssued"), correlation_id);
  r["payload"]["notification_id"] = notification_id;
  return r.dump();
}

// ---- Fixture -------------------------------------------------------------------------------

class NotificationTest : public ::testing::Test {
 protected:
  // The server outlives the host: the plugin's connections close before the server stops.
  IssuerServer issuer_;
  std::unique_ptr<FakeHost> host_;

  void Start(const json& config) {
    host_ = std::make_unique<FakeHost>(WEP_NOTIFICATION_PLUGIN);
    std::string error;
    ASSERT_EQ(host_->Create(config.dump(), "/tmp", &error), WEP_OK) << error;
  }
  // Config with one issuer (the server) whose notification endpoint is /notify.
  json IssuerConfig(const std::string& path = "/notify") const {
    return {{"issuers",
             {{issuer_.url(), {{"notification_endpoint", issuer_.url(path)}, {"token", kToken}}}}}};
  }
  // Config whose default endpoint is the server's /notify.
  json DefaultConfig() const {
    return {{"default_endpoint", issuer_.url("/notify")}, {"default_token", kToken}};
  }
  EventResult HandleOne(const std::string& record, uint32_t attempt = 1) {
    int32_t status = -1;
    auto results = host_->Handle({record}, &status, attempt);
    EXPECT_EQ(status, WEP_OK);
    return results.at(0);
  }
  // Handles one batch of `count` acknowledgements with distinct notification_ids; returns how
  // long handle_batch took.
  std::chrono::milliseconds HandleAcks(int count, std::vector<EventResult>* results) {
    std::vector<std::string> records;
    for (int i = 0; i < count; ++i)
      records.push_back(Ack("flow-" + std::to_string(i), "n-" + std::to_string(i)));
    auto start = std::chrono::steady_clock::now();
    *results = host_->Handle(records);
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 start);
  }
  int32_t CreateError(const json& config, std::string* error) {
    FakeHost host(WEP_NOTIFICATION_PLUGIN);
    return host.Create(config.dump(), "/tmp", error);
  }
  std::string Tmp(const std::string& name, const std::string& contents) {
    std::string path =
        ::testing::TempDir() + "/notification_test_" + std::to_string(getpid()) + "_" + name;
    std::ofstream(path) << contents;
    return path;
  }
};

// ---- Descriptor ----------------------------------------------------------------------------

TEST_F(NotificationTest, DescriptorDeclaresSubscriptionsAndEveryConfigKey) {
  FakeHost host(WEP_NOTIFICATION_PLUGIN);
  const wep_plugin_descriptor& d = host.descriptor();
  EXPECT_STREQ(d.name, "notification");
  EXPECT_EQ(d.abi_major, WEP_ABI_MAJOR);
  EXPECT_EQ(d.flags & WEP_PLUGIN_THREAD_SAFE, 0u);
  EXPECT_EQ(d.subscriptions, WEP_EVENT_BIT(WEP_EVENT_CREDENTIAL_OFFER_SENT) |
                                 WEP_EVENT_BIT(WEP_EVENT_CREDENTIAL_OFFER_RECEIVED) |
                                 WEP_EVENT_BIT(WEP_EVENT_CREDENTIAL_ISSUED) |
                                 WEP_EVENT_BIT(WEP_EVENT_CREDENTIAL_STORED) |
                                 WEP_EVENT_BIT(WEP_EVENT_CREDENTIAL_ACKNOWLEDGED) |
                                 WEP_EVENT_BIT(WEP_EVENT_CREDENTIAL_DELETED));
  std::map<std::string, json> defaults;
  for (size_t i = 0; i < d.config_key_count; ++i) {
    const wep_config_key* k = d.config_keys[i];
    ASSERT_NE(k, nullptr);
    EXPECT_EQ(k->struct_size, WEP_STRUCT_SIZE(wep_config_key, description));
    ASSERT_NE(k->default_json, nullptr) << k->name;
    ASSERT_NE(k->description, nullptr) << k->name;
    EXPECT_GT(strlen(k->description), 10u) << k->name;
    defaults[k->name] = json::parse(k->default_json);
  }
  for (const char* key : {"issuers", "default_endpoint", "default_token", "default_token_file",
                          "metadata_cache_ttl_s", "connect_timeout_ms", "request_timeout_ms",
                          "ca_file", "allow_insecure_http"})
    EXPECT_EQ(defaults.count(key), 1u) << key;
  EXPECT_EQ(defaults["connect_timeout_ms"], 2000);
  EXPECT_EQ(defaults["request_timeout_ms"], 5000);
  EXPECT_EQ(defaults["allow_insecure_http"], false);
  // The host fills these defaults in: the result must be a valid config.
  json filled(defaults);
  std::string error;
  EXPECT_EQ(host.Create(filled.dump(), "/tmp", &error), WEP_OK) << error;
}

// ---- Sending -------------------------------------------------------------------------------

TEST_F(NotificationTest, AcknowledgedIsPostedWithBearerTokenAndJsonBody) {
  Start(DefaultConfig());
  EventResult r = HandleOne(Golden("CredentialAcknowledged").dump());
  EXPECT_EQ(r.code, WEP_RESULT_DONE) << r.message;

  auto requests = issuer_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].path, "/notify");
  EXPECT_EQ(requests[0].authorization, std::string("Bearer ") + kToken);
  EXPECT_EQ(requests[0].content_type, "application/json");
  EXPECT_EQ(json::parse(requests[0].body),
            json({{"notification_id", "3fwe98js"}, {"event", "credential_accepted"}}));
  EXPECT_EQ(host_->metric("wallet_notifications_total", {"sent"}), 1);
  EXPECT_EQ(host_->metric("wallet_notification_latency_seconds"), 1);
}

TEST_F(NotificationTest, DeletedIsPostedAsCredentialDeleted) {
  issuer_.Set("/notify", {200, "{}", {}, 0});
  Start(DefaultConfig());
  EventResult r = HandleOne(Golden("CredentialDeleted").dump());
  EXPECT_EQ(r.code, WEP_RESULT_DONE) << r.message;
  auto requests = issuer_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(json::parse(requests[0].body),
            json({{"notification_id", "3fwe98js"}, {"event", "credential_deleted"}}));
}

TEST_F(NotificationTest, EventDescriptionIsForwardedAsAllowedAscii) {
  Start(DefaultConfig());
  json record = json::parse(Ack("flow-1", "n-1", "credential_failure"));
  record["payload"]["event_description"] = "Out of \"storage\" \\ caf\xc3\xa9";
  EXPECT_EQ(HandleOne(record.dump()).code, WEP_RESULT_DONE);
  auto requests = issuer_.requests();
  ASSERT_EQ(requests.size(), 1u);
  json body = json::parse(requests[0].body);
  EXPECT_EQ(body["event"], "credential_failure");
  EXPECT_EQ(body["event_description"], "Out of ?storage? ? caf??");
}

TEST_F(NotificationTest, UnknownEventValueFailsWithoutSending) {
  Start(DefaultConfig());
  EventResult r = HandleOne(Ack("flow-1", "n-1", "credential_lost"));
  EXPECT_EQ(r.code, WEP_RESULT_FAILED);
  EXPECT_THAT(r.message, HasSubstr("\"credential_lost\""));
  EXPECT_THAT(r.message,
              HasSubstr("credential_accepted, credential_failure or credential_deleted"));
  EXPECT_TRUE(issuer_.requests().empty());
  EXPECT_EQ(host_->metric("wallet_notifications_total", {"failed"}), 1);
}

TEST_F(NotificationTest, RecordWithoutAPayloadObjectFailsWithoutSending) {
  Start(DefaultConfig());
  auto results = host_->Handle({R"({"event_type":"CredentialAcknowledged","payload":"3fwe98js"})",
                                R"({"event_type":"CredentialDeleted"})",
                                // Learning events without a payload have nothing to teach.
                                R"({"event_type":"CredentialStored","payload":[1]})"});
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].code, WEP_RESULT_FAILED);
  EXPECT_EQ(results[0].message,
            "CredentialAcknowledged record has no JSON payload object; not sent");
  EXPECT_EQ(results[1].code, WEP_RESULT_FAILED);
  EXPECT_EQ(results[1].message, "CredentialDeleted record has no JSON payload object; not sent");
  EXPECT_EQ(results[2].code, WEP_RESULT_DONE);
  EXPECT_TRUE(issuer_.requests().empty());
  EXPECT_EQ(host_->metric("wallet_notifications_total", {"failed"}), 2);
}

// The host only hands over subscribed types; anything else (here: a record whose type cannot
// even be read) is done without a request, not mistaken for one to send.
TEST_F(NotificationTest, TypesItDoesNotSubscribeToAreDoneWithoutARequest) {
  Start(DefaultConfig());
  auto results = host_->Handle(
      {R"({"event_type":"CredentialDeleted","payload":{"event":)", Golden("KeyRevoked").dump()});
  ASSERT_EQ(results.size(), 2u);
  for (const auto& r : results) {
    EXPECT_EQ(r.code, WEP_RESULT_DONE);
    EXPECT_EQ(r.message, "");
  }
  EXPECT_TRUE(issuer_.requests().empty());
  EXPECT_EQ(host_->metric("wallet_notifications_total", {"failed"}), 0);
}

TEST_F(NotificationTest, ReusesTheConnection) {
  Start(DefaultConfig());
  auto results = host_->Handle({Ack("flow-1", "n-1"), Ack("flow-2", "n-2")});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].code, WEP_RESULT_DONE);
  EXPECT_EQ(results[1].code, WEP_RESULT_DONE);
  auto requests = issuer_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].remote_port, requests[1].remote_port);
}

// ---- Concurrency ---------------------------------------------------------------------------

TEST_F(NotificationTest, RequestsOfABatchAreSentConcurrently) {
  issuer_.Set("/notify", {204, "", {}, 200});
  Start(DefaultConfig());  // max_concurrent_requests: 8
  std::vector<EventResult> results;
  auto took = HandleAcks(20, &results);
  ASSERT_EQ(results.size(), 20u);
  for (const auto& r : results) EXPECT_EQ(r.code, WEP_RESULT_DONE) << r.message;
  EXPECT_EQ(issuer_.Count("POST", "/notify"), 20u);
  EXPECT_LT(took, std::chrono::seconds(2));  // one after the other: 4 s; 8 at a time: 0.6 s
  EXPECT_EQ(host_->metric("wallet_notifications_total", {"sent"}), 20);
  EXPECT_EQ(host_->metric("wallet_notification_latency_seconds"), 20);
  std::set<std::string> ids;
  for (const auto& r : issuer_.requests()) ids.insert(json::parse(r.body)["notification_id"]);
  EXPECT_EQ(ids.size(), 20u);
  std::cerr << "20 notifications at 200 ms each, 8 at a time: " << took.count() << " ms\n";
}

TEST_F(NotificationTest, MaxConcurrentRequestsOneSendsOneAfterAnother) {
  issuer_.Set("/notify", {204, "", {}, 100});
  json config = DefaultConfig();
  config["max_concurrent_requests"] = 1;
  Start(config);
  std::vector<EventResult> results;
  auto took = HandleAcks(10, &results);
  ASSERT_EQ(results.size(), 10u);
  for (const auto& r : results) EXPECT_EQ(r.code, WEP_RESULT_DONE) << r.message;
  EXPECT_EQ(issuer_.Count("POST", "/notify"), 10u);
  EXPECT_GE(took, std::chrono::milliseconds(10 * 100));
  // One connection, reused for every request.
  std::set<int> ports;
  for (const auto& r : issuer_.requests()) ports.insert(r.remote_port);
  EXPECT_EQ(ports.size(), 1u);
  std::cerr << "10 notifications at 100 ms each, 1 at a time: " << took.count() << " ms\n";
}

TEST_F(NotificationTest, SameNotificationIdIsSentInBatchOrder) {
  issuer_.Set("/notify", {204, "", {}, 200});
  Start(DefaultConfig());
  auto start = std::chrono::steady_clock::now();
  auto results = host_->Handle({Ack("flow-1", "nid-1"), Ack("flow-2", "nid-2"),
                                Deleted("flow-3", "nid-1"), Ack("flow-4", "nid-3")});
  auto took = std::chrono::steady_clock::now() - start;
  for (const auto& r : results) EXPECT_EQ(r.code, WEP_RESULT_DONE) << r.message;
  std::vector<std::string> events_of_nid1;
  for (const auto& r : issuer_.requests()) {
    json body = json::parse(r.body);
    if (body["notification_id"] == "nid-1") events_of_nid1.push_back(body["event"]);
  }
  EXPECT_EQ(events_of_nid1,
            std::vector<std::string>({"credential_accepted", "credential_deleted"}));
  // The deletion waited for the acceptance's answer; the batch did not go one by one.
  EXPECT_GE(took, std::chrono::milliseconds(2 * 200));
  EXPECT_LT(took, std::chrono::milliseconds(4 * 200));
}

TEST_F(NotificationTest, LaterNotificationForTheSameIdIsNotSentWhenTheEarlierIsNotDone) {
  issuer_.Set("/notify", {503, "", {{"Retry-After", "5"}}, 0});
  Start(DefaultConfig());
  auto results = host_->Handle({Ack("flow-1", "nid-1"), Deleted("flow-2", "nid-1")});
  EXPECT_EQ(results[0].code, WEP_RESULT_RETRY);
  EXPECT_THAT(results[0].message, HasSubstr("HTTP 503"));
  EXPECT_EQ(results[1].code, WEP_RESULT_RETRY);
  EXPECT_EQ(results[1].retry_after_ms, 5000u);
  EXPECT_THAT(results[1].message, HasSubstr("earlier notification for notification_id nid-1"));
  EXPECT_THAT(results[1].message, HasSubstr("not done"));
  auto requests = issuer_.requests();
  ASSERT_EQ(requests.size(), 1u);  // the deletion never left
  EXPECT_EQ(json::parse(requests[0].body)["event"], "credential_accepted");
  EXPECT_EQ(host_->metric("wallet_notifications_total", {"retry"}), 2);
  EXPECT_EQ(host_->metric("wallet_notification_latency_seconds"), 1);
}

TEST_F(NotificationTest, MaxConcurrentRequestsIsDeclaredAndRangeChecked) {
  FakeHost host(WEP_NOTIFICATION_PLUGIN);
  const wep_plugin_descriptor& d = host.descriptor();
  bool found = false;
  for (size_t i = 0; i < d.config_key_count; ++i) {
    if (std::string(d.config_keys[i]->name) != "max_concurrent_requests") continue;
    found = true;
    EXPECT_EQ(d.config_keys[i]->type, WEP_CONFIG_INT);
    EXPECT_EQ(json::parse(d.config_keys[i]->default_json), 8);
  }
  EXPECT_TRUE(found);
  std::string error;
  for (int bad : {0, 257}) {
    EXPECT_EQ(CreateError({{"max_concurrent_requests", bad}}, &error), WEP_ERR_CONFIG);
    EXPECT_THAT(error, HasSubstr("max_concurrent_requests: "));
  }
  EXPECT_EQ(CreateError({{"max_concurrent_requests", 0}}, &error), WEP_ERR_CONFIG);
  EXPECT_THAT(error, HasSubstr("max_concurrent_requests: 0 is out of range [1, 256]"));
  EXPECT_EQ(CreateError({{"max_concurrent_requests", "4"}}, &error), WEP_ERR_CONFIG);
  EXPECT_THAT(error, HasSubstr("max_concurrent_requests: expected an integer"));
  for (int good : {1, 256})
    EXPECT_EQ(CreateError({{"max_concurrent_requests", good}}, &error), WEP_OK) << error;
}

// ---- Responses -----------------------------------------------------------------------------

TEST_F(NotificationTest, ServerErrorRetries) {
  issuer_.Set("/notify", {500, R"({"error":"server_error"})", {}, 0});
  Start(DefaultConfig());
  EventResult r = HandleOne(Ack("flow-1"));
  EXPECT_EQ(r.code, WEP_RESULT_RETRY);
  EXPECT_EQ(r.retry_after_ms, 0u);
  EXPECT_THAT(r.message, HasSubstr("HTTP 500"));
  EXPECT_THAT(r.message, HasSubstr("server_error"));
  EXPECT_EQ(host_->metric("wallet_notifications_total", {"retry"}), 1);
  EXPECT_EQ(host_->metric("wallet_notification_latency_seconds"), 1);
}

TEST_F(NotificationTest, ServiceUnavailableHonoursRetryAfter) {
  issuer_.Set("/notify", {503, "", {{"Retry-After", "7"}}, 0});
  Start(DefaultConfig());
  EventResult r = HandleOne(Ack("flow-1"));
  EXPECT_EQ(r.code, WEP_RESULT_RETRY);
  EXPECT_EQ(r.retry_after_ms, 7000u);
  EXPECT_THAT(r.message, HasSubstr("HTTP 503"));
}

TEST_F(NotificationTest, TooManyRequestsHonoursRetryAfter) {
  issuer_.Set("/notify", {429, "", {{"Retry-After", "3"}}, 0});
  Start(DefaultConfig());
  EventResult r = HandleOne(Ack("flow-1"));
  EXPECT_EQ(r.code, WEP_RESULT_RETRY);
  EXPECT_EQ(r.retry_after_ms, 3000u);
  EXPECT_THAT(r.message, HasSubstr("HTTP 429"));
}

TEST_F(NotificationTest, RetryAfterIsCappedAndAcceptsHttpDates) {
  issuer_.Set("/notify", {429, "", {{"Retry-After", "100000"}}, 0});
  json config = DefaultConfig();
  config["max_retry_after_s"] = 60;
  Start(config);
  EXPECT_EQ(HandleOne(Ack("flow-1")).retry_after_ms, 60000u);

  char date[64];
  time_t later = time(nullptr) + 30;
  tm gmt;
  gmtime_r(&later, &gmt);
  strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &gmt);
  issuer_.Set("/notify", {503, "", {{"Retry-After", date}}, 0});
  uint32_t ms = HandleOne(Ack("flow-1")).retry_after_ms;
  EXPECT_GE(ms, 28000u);
  EXPECT_LE(ms, 30000u);
}

TEST_F(NotificationTest, InvalidNotificationIdFailsWithTheIssuersError) {
  issuer_.Set("/notify", {400,
                          R"({"error":"invalid_notification_id",)"
                          R"("error_description":"unknown id 3fwe98js"})",
                          {},
                          0});
  Start(DefaultConfig());
  EventResult r = HandleOne(Ack("flow-1"));
  EXPECT_EQ(r.code, WEP_RESULT_FAILED);
  EXPECT_THAT(r.message, HasSubstr("invalid_notification_id"));
  EXPECT_THAT(r.message, HasSubstr("unknown id 3fwe98js"));
  EXPECT_THAT(r.message, HasSubstr("not retried"));
  EXPECT_EQ(host_->metric("wallet_notifications_total", {"failed"}), 1);
}

TEST_F(NotificationTest, InvalidNotificationRequestFails) {
  issuer_.Set("/notify", {400, R"({"error":"invalid_notification_request"})", {}, 0});
  Start(DefaultConfig());
  EventResult r = HandleOne(Ack("flow-1"));
  EXPECT_EQ(r.code, WEP_RESULT_FAILED);
  EXPECT_THAT(r.message, HasSubstr("invalid_notification_request"));
}

TEST_F(NotificationTest, OtherClientErrorsFailWithStatusAndBodySnippet) {
  Start(DefaultConfig());
  issuer_.Set("/notify", {401,
                          R"({"error":"invalid_token"})",
                          {{"WWW-Authenticate", "Bearer error=\"invalid_token\""}},
                          0});
  EventResult r = HandleOne(Ack("flow-1"));
  EXPECT_EQ(r.code, WEP_RESULT_FAILED);
  EXPECT_THAT(r.message, HasSubstr("HTTP 401"));
  EXPECT_THAT(r.message, HasSubstr("invalid_token"));

  for (int status : {403, 404}) {
    issuer_.Set("/notify", {status, "forbidden-or-missing " + std::string(500, 'x'), {}, 0});
    r = HandleOne(Ack("flow-1"));
    EXPECT_EQ(r.code, WEP_RESULT_FAILED) << status;
    EXPECT_THAT(r.message, HasSubstr("HTTP " + std::to_string(status)));
    EXPECT_THAT(r.message, HasSubstr("forbidden-or-missing"));
    EXPECT_LT(r.message.size(), 500u);  // a snippet, not the whole body
  }
}

TEST_F(NotificationTest, RedirectIsNotFollowed) {
  issuer_.Set("/notify", {302, "", {{"Location", issuer_.url("/elsewhere")}}, 0});
  Start(DefaultConfig());
  EventResult r = HandleOne(Ack("flow-1"));
  EXPECT_EQ(r.code, WEP_RESULT_FAILED);
  EXPECT_THAT(r.message, HasSubstr("HTTP 302"));
  EXPECT_EQ(issuer_.Count("POST", "/elsewhere"), 0u);
}

TEST_F(NotificationTest, SlowIssuerTimesOutAndRetries) {
  issuer_.Set("/notify", {204, "", {}, 1000});
  json config = DefaultConfig();
  config["request_timeout_ms"] = 200;
  Start(config);
  auto start = std::chrono::steady_clock::now();
  EventResult r = HandleOne(Ack("flow-1"));
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.code, WEP_RESULT_RETRY);
  EXPECT_THAT(r.message, HasSubstr("timed out"));
  EXPECT_LT(took, std::chrono::milliseconds(900));
  EXPECT_EQ(host_->metric("wallet_notifications_total", {"retry"}), 1);
}

TEST_F(NotificationTest, ConnectionRefusedRetries) {
  std::string closed = "http://127.0.0.1:" + std::to_string(ClosedPort()) + "/notify";
  Start({{"default_endpoint", closed}, {"default_token", kToken}});
  EventResult r = HandleOne(Ack("flow-1"));
  EXPECT_EQ(r.code, WEP_RESULT_RETRY);
  EXPECT_THAT(r.message, HasSubstr("could not send the notification to " + closed));
  EXPECT_THAT(r.message, HasSubstr("onnect"));
}

// ---- Tokens --------------------------------------------------------------------------------

TEST_F(NotificationTest, TokenIsReadFromFile) {
  std::string file = Tmp("token", std::string(kOtherToken) + "\n");
  Start({{"issuers",
          {{issuer_.url(),
            {{"notification_endpoint", issuer_.url("/notify")}, {"token_file", file}}}}}});
  EXPECT_EQ(HandleOne(Offer("flow-1", issuer_.url())).code, WEP_RESULT_DONE);
  EXPECT_EQ(HandleOne(Ack("flow-1")).code, WEP_RESULT_DONE);
  auto requests = issuer_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].authorization, std::string("Bearer ") + kOtherToken);

  std::string defaults = Tmp("default-token", kToken);
  host_.reset();
  Start({{"default_endpoint", issuer_.url("/notify")}, {"default_token_file", defaults}});
  EXPECT_EQ(HandleOne(Ack("flow-2")).code, WEP_RESULT_DONE);
  EXPECT_EQ(issuer_.requests().back().authorization, std::string("Bearer ") + kToken);
}

TEST_F(NotificationTest, UnreadableTokenFileIsAConfigErrorNamingTheFile) {
  std::string missing = ::testing::TempDir() + "/no-such-token-file";
  std::string error;
  EXPECT_EQ(
      CreateError({{"issuers",
                    {{issuer_.url(),
                      {{"notification_endpoint", issuer_.url("/n")}, {"token_file", missing}}}}}},
                  &error),
      WEP_ERR_CONFIG);
  EXPECT_THAT(error, HasSubstr("token_file"));
  EXPECT_THAT(error, HasSubstr(missing));
  EXPECT_THAT(error, HasSubstr("No such file or directory"));

  EXPECT_EQ(CreateError({{"default_endpoint", issuer_.url("/n")},
                         {"default_token_file", ::testing::TempDir()}},
                        &error),
            WEP_ERR_CONFIG);
  EXPECT_THAT(error, HasSubstr("default_token_file"));
  EXPECT_THAT(error, HasSubstr("Is a directory"));

  EXPECT_EQ(CreateError({{"default_endpoint", issuer_.url("/n")},
                         {"default_token_file", Tmp("empty-token", "\n")}},
                        &error),
            WEP_ERR_CONFIG);
  EXPECT_THAT(error, HasSubstr("is empty"));
}

TEST_F(NotificationTest, TokensNeverReachLogsOrMessages) {
  std::string file = Tmp("secret-token", kOtherToken);
  json config = DefaultConfig();
  config["issuers"] = {{issuer_.url(), {{"token_file", file}}}};
  Start(config);
  issuer_.SetMetadata("/.well-known/openid-credential-issuer", issuer_.url(),
                      issuer_.url("/issuer-notify"));
  issuer_.Set("/issuer-notify",
              {401, "", {{"WWW-Authenticate", "Bearer error=\"invalid_token\""}}, 0});
  std::vector<std::string> messages;
  for (const auto& r : host_->Handle({Offer("flow-1", issuer_.url()), Ack("flow-1"), Ack("flow-2"),
                                      Ack("flow-3", "n", "credential_lost")}))
    messages.push_back(r.message);
  issuer_.Set("/notify", {500, "", {}, 0});
  messages.push_back(HandleOne(Ack("flow-4")).message);
  // Both tokens were really used...
  EXPECT_EQ(issuer_.Count("POST", "/issuer-notify"), 1u);
  EXPECT_EQ(issuer_.Count("POST", "/notify"), 2u);
  // ... and neither appears anywhere the host keeps text.
  auto logs = host_->logs();
  EXPECT_FALSE(logs.empty());
  for (const auto& line : logs) {
    EXPECT_THAT(line.text, Not(HasSubstr(kToken)));
    EXPECT_THAT(line.text, Not(HasSubstr(kOtherToken)));
    EXPECT_THAT(line.text, Not(HasSubstr("Bearer tok")));
  }
  for (const auto& m : messages) {
    EXPECT_THAT(m, Not(HasSubstr(kToken)));
    EXPECT_THAT(m, Not(HasSubstr(kOtherToken)));
  }
}

// ---- Endpoint resolution -------------------------------------------------------------------

TEST_F(NotificationTest, ConfiguredIssuerIsLearnedFromOfferAndStored) {
  json config = IssuerConfig("/issuer-notify");
  config.update(DefaultConfig());
  Start(config);
  // Unknown flow: default endpoint.
  EXPECT_EQ(HandleOne(Ack("flow-unknown")).code, WEP_RESULT_DONE);
  EXPECT_EQ(issuer_.requests().back().path, "/notify");
  // Offer (sent or received) teaches correlation_id -> issuer; trailing '/' is ignored.
  for (const char* type : {"CredentialOfferSent", "CredentialOfferReceived"}) {
    std::string flow = std::string("flow-") + type;
    auto results = host_->Handle({Offer(flow, issuer_.url("/"), type), Ack(flow)});
    EXPECT_EQ(results[0].code, WEP_RESULT_DONE);
    EXPECT_EQ(results[1].code, WEP_RESULT_DONE) << results[1].message;
    EXPECT_EQ(issuer_.requests().back().path, "/issuer-notify") << type;
  }
  // CredentialStored teaches both its correlation_id and its notification_id: a later deletion
  // in another flow reaches the same issuer.
  EXPECT_EQ(HandleOne(Stored("flow-store", issuer_.url(), "nid-42")).code, WEP_RESULT_DONE);
  EXPECT_EQ(HandleOne(Deleted("flow-delete-later", "nid-42")).code, WEP_RESULT_DONE);
  EXPECT_EQ(issuer_.requests().back().path, "/issuer-notify");
  EXPECT_EQ(json::parse(issuer_.requests().back().body)["notification_id"], "nid-42");
  // CredentialIssued ties its notification_id to the issuer learned for its flow.
  host_->Handle({Offer("flow-issue", issuer_.url()), Issued("flow-issue", "nid-43")});
  EXPECT_EQ(HandleOne(Deleted("flow-other", "nid-43")).code, WEP_RESULT_DONE);
  EXPECT_EQ(issuer_.requests().back().path, "/issuer-notify");
  EXPECT_EQ(issuer_.requests().back().authorization, std::string("Bearer ") + kToken);
}

TEST_F(NotificationTest, LearningEventsAreDoneAndSendNothing) {
  Start(IssuerConfig());
  auto results =
      host_->Handle({Golden("CredentialOfferSent").dump(), Golden("CredentialOfferReceived").dump(),
                     Golden("CredentialIssued").dump(), Golden("CredentialStored").dump()});
  for (const auto& r : results) {
    EXPECT_EQ(r.code, WEP_RESULT_DONE);
    EXPECT_EQ(r.message, "");
  }
  EXPECT_TRUE(issuer_.requests().empty());
  EXPECT_EQ(host_->metric("wallet_notifications_total", {"sent"}), 0);
}

TEST_F(NotificationTest, CorrelationMemoryIsBounded) {
  json config = IssuerConfig("/issuer-notify");
  config.update(DefaultConfig());
  config["correlation_max_entries"] = 1;
  Start(config);
  host_->Handle({Offer("flow-a", issuer_.url()), Offer("flow-b", "https://other.example")});
  EXPECT_EQ(HandleOne(Ack("flow-a")).code, WEP_RESULT_DONE);
  EXPECT_EQ(issuer_.requests().back().path, "/notify");  // flow-a was evicted
}

TEST_F(NotificationTest, NoEndpointFailsWithIssuerAndCorrelation) {
  Start(json::object());
  EventResult r = HandleOne(Ack("flow-lonely"));
  EXPECT_EQ(r.code, WEP_RESULT_FAILED);
  EXPECT_THAT(r.message, HasSubstr("no notification endpoint for issuer <unknown>"));
  EXPECT_THAT(r.message, HasSubstr("(correlation_id flow-lonely)"));
  EXPECT_EQ(host_->metric("wallet_notifications_total", {"failed"}), 1);

  // Known issuer without an `issuers` entry and no default endpoint.
  EXPECT_EQ(HandleOne(Offer("flow-known", "https://issuer.example.com")).code, WEP_RESULT_DONE);
  r = HandleOne(Ack("flow-known"));
  EXPECT_EQ(r.code, WEP_RESULT_FAILED);
  EXPECT_THAT(r.message, HasSubstr("no notification endpoint for issuer https://issuer.example.com "
                                   "(correlation_id flow-known)"));
  EXPECT_TRUE(issuer_.requests().empty());
}

TEST_F(NotificationTest, UnknownIssuerIsRetriedWhenConfigured) {
  Start({{"unknown_issuer_retries", 2}});
  EventResult r = HandleOne(Ack("flow-1"), /*attempt=*/1);
  EXPECT_EQ(r.code, WEP_RESULT_RETRY);
  EXPECT_THAT(r.message, HasSubstr("delivery 1 of 3"));
  EXPECT_EQ(HandleOne(Ack("flow-1"), 2).code, WEP_RESULT_RETRY);
  EXPECT_EQ(HandleOne(Ack("flow-1"), 3).code, WEP_RESULT_FAILED);
}

// ---- Metadata discovery --------------------------------------------------------------------

TEST_F(NotificationTest, MetadataEndpointIsDiscoveredAndCached) {
  issuer_.SetMetadata("/.well-known/openid-credential-issuer", issuer_.url(),
                      issuer_.url("/issuer-notify"));
  Start({{"issuers", {{issuer_.url(), {{"token", kToken}}}}}});
  auto results = host_->Handle({Offer("flow-1", issuer_.url()), Ack("flow-1", "n-1")});
  EXPECT_EQ(results[1].code, WEP_RESULT_DONE) << results[1].message;
  EXPECT_EQ(HandleOne(Stored("flow-2", issuer_.url(), "n-2")).code, WEP_RESULT_DONE);
  EXPECT_EQ(HandleOne(Ack("flow-2", "n-2")).code, WEP_RESULT_DONE);

  EXPECT_EQ(issuer_.Count("GET", "/.well-known/openid-credential-issuer"), 1u);
  EXPECT_EQ(issuer_.Count("POST", "/issuer-notify"), 2u);
  auto requests = issuer_.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[2].authorization, std::string("Bearer ") + kToken);
}

TEST_F(NotificationTest, MetadataCacheExpires) {
  issuer_.SetMetadata("/.well-known/openid-credential-issuer", issuer_.url(),
                      issuer_.url("/issuer-notify"));
  Start({{"issuers", {{issuer_.url(), {{"token", kToken}}}}}, {"metadata_cache_ttl_s", 1}});
  host_->Handle({Offer("flow-1", issuer_.url()), Ack("flow-1")});
  EXPECT_EQ(issuer_.Count("GET", "/.well-known/openid-credential-issuer"), 1u);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_EQ(HandleOne(Ack("flow-1")).code, WEP_RESULT_DONE);
  EXPECT_EQ(issuer_.Count("GET", "/.well-known/openid-credential-issuer"), 2u);
}

TEST_F(NotificationTest, MetadataOfPathIssuerFollowsOpenId4Vci10ThenEarlierDrafts) {
  std::string tenant = issuer_.url("/tenant");
  issuer_.SetMetadata("/.well-known/openid-credential-issuer/tenant", tenant,
                      issuer_.url("/tenant/notify"));
  Start({{"issuers", {{tenant, {{"token", kToken}}}}}});
  auto results = host_->Handle({Offer("flow-1", tenant), Ack("flow-1")});
  EXPECT_EQ(results[1].code, WEP_RESULT_DONE) << results[1].message;
  EXPECT_EQ(issuer_.Count("POST", "/tenant/notify"), 1u);

  std::string legacy = issuer_.url("/legacy");
  issuer_.SetMetadata("/legacy/.well-known/openid-credential-issuer", legacy,
                      issuer_.url("/legacy/notify"));
  host_.reset();
  Start({{"issuers", {{legacy, {{"token", kToken}}}}}});
  results = host_->Handle({Offer("flow-2", legacy), Ack("flow-2")});
  EXPECT_EQ(results[1].code, WEP_RESULT_DONE) << results[1].message;
  EXPECT_EQ(issuer_.Count("GET", "/.well-known/openid-credential-issuer/legacy"), 1u);
  EXPECT_EQ(issuer_.Count("POST", "/legacy/notify"), 1u);
}

TEST_F(NotificationTest, MetadataServerErrorRetriesAndIsNotCached) {
  issuer_.Set("/.well-known/openid-credential-issuer", {503, "", {{"Retry-After", "2"}}, 0});
  Start({{"issuers", {{issuer_.url(), {{"token", kToken}}}}}});
  HandleOne(Offer("flow-1", issuer_.url()));
  EventResult r = HandleOne(Ack("flow-1"));
  EXPECT_EQ(r.code, WEP_RESULT_RETRY);
  EXPECT_EQ(r.retry_after_ms, 2000u);
  EXPECT_THAT(r.message, HasSubstr("issuer metadata"));
  EXPECT_EQ(host_->metric("wallet_notifications_total", {"retry"}), 1);

  issuer_.SetMetadata("/.well-known/openid-credential-issuer", issuer_.url(),
                      issuer_.url("/issuer-notify"));
  EXPECT_EQ(HandleOne(Ack("flow-1")).code, WEP_RESULT_DONE);
  EXPECT_EQ(issuer_.Count("GET", "/.well-known/openid-credential-issuer"), 2u);
}

TEST_F(NotificationTest, MetadataWithoutEndpointFallsBackToDefault) {
  issuer_.SetMetadata("/.well-known/openid-credential-issuer", issuer_.url(), "");
  json config = DefaultConfig();
  config["issuers"] = {{issuer_.url(), {{"token", kOtherToken}}}};
  Start(config);
  auto results = host_->Handle({Offer("flow-1", issuer_.url()), Ack("flow-1"), Ack("flow-1")});
  EXPECT_EQ(results[1].code, WEP_RESULT_DONE) << results[1].message;
  EXPECT_EQ(issuer_.Count("POST", "/notify"), 2u);
  EXPECT_EQ(issuer_.requests().back().authorization, std::string("Bearer ") + kToken);
  EXPECT_EQ(issuer_.Count("GET", "/.well-known/openid-credential-issuer"), 1u);  // cached
  bool warned = false;
  for (const auto& l : host_->logs())
    warned |= l.text.find("no notification_endpoint") != std::string::npos;
  EXPECT_TRUE(warned);

  // Without a default endpoint the metadata's silence is the reason given.
  host_.reset();
  Start({{"issuers", {{issuer_.url(), {{"token", kOtherToken}}}}}});
  results = host_->Handle({Offer("flow-1", issuer_.url()), Ack("flow-1")});
  EXPECT_EQ(results[1].code, WEP_RESULT_FAILED);
  EXPECT_THAT(results[1].message,
              HasSubstr("no notification endpoint for issuer " + issuer_.url()));
  EXPECT_THAT(results[1].message, HasSubstr("has no notification_endpoint"));
}

TEST_F(NotificationTest, DefaultTokenGoesToDiscoveredEndpointsOnlyWhenAllowed) {
  issuer_.SetMetadata("/.well-known/openid-credential-issuer", issuer_.url(),
                      issuer_.url("/issuer-notify"));
  // Issuer learned but not configured: the default token is not handed to it.
  Start(DefaultConfig());
  host_->Handle({Offer("flow-1", issuer_.url()), Ack("flow-1")});
  EXPECT_EQ(issuer_.Count("GET", "/.well-known/openid-credential-issuer"), 0u);
  EXPECT_EQ(issuer_.Count("POST", "/notify"), 1u);

  json config = DefaultConfig();
  config["default_token_for_discovered_endpoints"] = true;
  host_.reset();
  Start(config);
  auto results = host_->Handle({Offer("flow-1", issuer_.url()), Ack("flow-1")});
  EXPECT_EQ(results[1].code, WEP_RESULT_DONE);
  EXPECT_EQ(issuer_.Count("GET", "/.well-known/openid-credential-issuer"), 1u);
  EXPECT_EQ(issuer_.Count("POST", "/issuer-notify"), 1u);
}

TEST_F(NotificationTest, DiscoveredPlainHttpEndpointIsRefused) {
  issuer_.SetMetadata("/.well-known/openid-credential-issuer", issuer_.url(),
                      "http://issuer.example.com/notify");
  Start({{"issuers", {{issuer_.url(), {{"token", kToken}}}}}});
  auto results = host_->Handle({Offer("flow-1", issuer_.url()), Ack("flow-1")});
  EXPECT_EQ(results[1].code, WEP_RESULT_FAILED);
  EXPECT_THAT(results[1].message, HasSubstr("refusing plain-http URL"));
  EXPECT_THAT(results[1].message, HasSubstr("http://issuer.example.com/notify"));
  EXPECT_EQ(issuer_.Count("GET", "/.well-known/openid-credential-issuer"), 1u);
}

// ---- Configuration -------------------------------------------------------------------------

TEST_F(NotificationTest, EmptyConfigGetsDefaults) {
  FakeHost host(WEP_NOTIFICATION_PLUGIN);
  std::string error;
  EXPECT_EQ(host.Create("{}", "/tmp", &error), WEP_OK) << error;
  EXPECT_EQ(host.Create("", "/tmp", &error), WEP_OK) << error;
}

TEST_F(NotificationTest, BadConfigIsRefusedNamingTheKey) {
  const std::string ep = issuer_.url("/n");
  const std::vector<std::pair<json, std::string>> cases = {
      {{{"connect_timeout_ms", "2000"}}, "connect_timeout_ms: expected an integer"},
      {{{"request_timeout_ms", 1.5}}, "request_timeout_ms: expected an integer"},
      {{{"request_timeout_ms", 0}}, "request_timeout_ms: 0 is out of range"},
      {{{"metadata_cache_ttl_s", -1}}, "metadata_cache_ttl_s: -1 is out of range"},
      {{{"allow_insecure_http", "yes"}}, "allow_insecure_http: expected true or false"},
      {{{"default_endpoint", 5}}, "default_endpoint: expected a string"},
      {{{"issuers", json::array()}}, "issuers: expected an object"},
      {{{"issuers", {{"not a url", {{"token", "t"}}}}}}, "issuers[\"not a url\"]"},
      {{{"issuers", {{"https://i.example", "tok"}}}},
       "issuers[\"https://i.example\"]: expected an object"},
      {{{"issuers", {{"https://i.example", {{"notification_endpoint", ep}}}}}},
       "needs token or token_file"},
      {{{"issuers", {{"https://i.example", {{"token", "a"}, {"token_file", "/etc/hostname"}}}}}},
       "are both set"},
      {{{"issuers", {{"https://i.example", {{"token", "a"}, {"tokn", "b"}}}}}},
       "unknown key \"tokn\""},
      {{{"issuers", {{"https://i.example", {{"token", "has space"}}}}}},
       "not allowed in a bearer token"},
      {{{"default_endpoint", ep}}, "neither default_token nor default_token_file"},
      {{{"default_token", "t"}}, "default_token/default_token_file is set but unused"},
      {{{"default_endpoint", "ftp://x.example/n"}, {"default_token", "t"}}, "not an http(s) URL"},
      {{{"bogus_key", 1}}, "unknown config key \"bogus_key\""},
      {{{"ca_file", "/nonexistent/ca.pem"}}, "ca_file: cannot read /nonexistent/ca.pem"},
      {{{"default_endpoint", "https://user:pw-secret@x.example/n"}, {"default_token", "t"}},
       "must not carry user:password"},
  };
  for (const auto& [config, expected] : cases) {
    std::string error;
    EXPECT_EQ(CreateError(config, &error), WEP_ERR_CONFIG) << config.dump();
    EXPECT_THAT(error, HasSubstr(expected)) << config.dump();
    EXPECT_THAT(error, Not(HasSubstr("pw-secret")));
  }
  FakeHost host(WEP_NOTIFICATION_PLUGIN);
  std::string error;
  EXPECT_EQ(host.Create("{not json", "/tmp", &error), WEP_ERR_CONFIG);
  EXPECT_THAT(error, HasSubstr("not valid JSON"));
}

TEST_F(NotificationTest, PlainHttpIsOnlyForLoopbackUnlessAllowed) {
  std::string error;
  json config = {{"default_endpoint", "http://issuer.example.com/notify"}, {"default_token", "t"}};
  EXPECT_EQ(CreateError(config, &error), WEP_ERR_CONFIG);
  EXPECT_THAT(error, HasSubstr("default_endpoint: refusing plain-http URL"));
  json issuers = {{"issuers", {{"http://issuer.example.com", {{"token", "t"}}}}}};
  EXPECT_EQ(CreateError(issuers, &error), WEP_ERR_CONFIG);
  EXPECT_THAT(error, HasSubstr("refusing plain-http URL"));

  for (const char* ok : {"http://127.0.0.1:9/n", "http://localhost:9/n", "http://[::1]:9/n",
                         "https://issuer.example.com/n"}) {
    EXPECT_EQ(CreateError({{"default_endpoint", ok}, {"default_token", "t"}}, &error), WEP_OK)
        << ok << ": " << error;
  }
  config["allow_insecure_http"] = true;
  EXPECT_EQ(CreateError(config, &error), WEP_OK) << error;
  issuers["allow_insecure_http"] = true;
  EXPECT_EQ(CreateError(issuers, &error), WEP_OK) << error;
}

}  // namespace
