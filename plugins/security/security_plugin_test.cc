// Tests of the security plugin, loaded through the fake host like the daemon loads it, plus
// direct tests of its timestamp parser and bounded state.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "bounded_table.h"
#include "detector.h"
#include "rfc3339.h"
#include "wep_fake_host.hpp"

namespace wep_security {
namespace {

using nlohmann::json;
using wep_testing::EventResult;
using wep_testing::FakeHost;

const int64_t kBase = *ParseRfc3339("2026-03-01T08:00:00Z");

// RFC 3339 text of kBase + seconds.
std::string At(double seconds) { return FormatRfc3339(kBase + std::llround(seconds * 1e9)); }

std::string Id(uint64_t n) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012llx",
                static_cast<unsigned long long>(n));
  return buf;
}

std::string Record(const std::string& type, const std::string& event_id, const std::string& ts,
                   const std::string& wallet, json fields) {
  fields["metadata"] = {{"event_id", event_id},
                        {"timestamp", ts},
                        {"correlation_id", "corr-" + event_id.substr(30)},
                        {"wallet_id", wallet},
                        {"schema_version", "1.0.0"}};
  return json{{"event_type", type}, {"payload", fields}}.dump();
}

std::string Request(bool sent, const std::string& id, const std::string& ts,
                    const std::string& client, const std::string& nonce,
                    const std::string& request_id, const std::string& wallet = "wallet-1") {
  return Record(sent ? "PresentationRequestSent" : "PresentationRequestReceived", id, ts, wallet,
                {{"request_id", request_id},
                 {"dcql_query", "{}"},
                 {"nonce", nonce},
                 {"client_id", client},
                 {"response_uri", nullptr}});
}

std::string Verified(const std::string& id, const std::string& ts, const std::string& wallet,
                     bool valid, bool holder_binding = true) {
  json status = valid ? json("Valid") : json{{"Invalid", {{"reason", "signature mismatch"}}}};
  return Record("PresentationVerified", id, ts, wallet,
                {{"request_id", "req-1"},
                 {"presentation_submission_id", "sub-1"},
                 {"validation_status", status},
                 {"holder_binding_verified", holder_binding}});
}

std::string Deleted(const std::string& id, const std::string& ts, const std::string& wallet) {
  return Record("CredentialDeleted", id, ts, wallet,
                {{"credential_id", "cred-" + id.substr(30)},
                 {"notification_id", "n-1"},
                 {"event", "credential_deleted"}});
}

std::string KeyCreated(const std::string& id, const std::string& ts, const std::string& wallet,
                       const std::string& key_id) {
  return Record("KeyCreated", id, ts, wallet,
                {{"key_id", key_id}, {"kid", "did:ex#" + key_id}, {"key_type", "EC"}});
}
std::string KeyRevoked(const std::string& id, const std::string& ts, const std::string& wallet,
                       const std::string& key_id) {
  return Record("KeyRevoked", id, ts, wallet,
                {{"key_id", key_id}, {"kid", "did:ex#" + key_id}, {"revocation_reason", "x"}});
}
std::string KeyRotated(const std::string& id, const std::string& ts, const std::string& wallet,
                       const std::string& old_key, const std::string& new_key) {
  return Record("KeyRotated", id, ts, wallet,
                {{"old_key_id", old_key},
                 {"new_key_id", new_key},
                 {"new_kid", "did:ex#" + new_key},
                 {"key_type", "EC"},
                 {"key_attestation", nullptr}});
}

std::string Offer(const std::string& id, const std::string& ts, const std::string& issuer) {
  return Record("CredentialOfferReceived", id, ts, "wallet-1",
                {{"offer_id", "offer-1"},
                 {"credential_issuer", issuer},
                 {"credential_configuration_ids", {"Degree"}},
                 {"grants", nullptr},
                 {"credential_offer_uri", nullptr}});
}

std::string Golden(const std::string& name) {
  std::ifstream in(std::string(WEP_GOLDEN_DIR) + "/wire/valid/" + name + ".json");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class SecurityPluginTest : public ::testing::Test {
 protected:
  void CreateOk(const std::string& config = "{}") {
    std::string error;
    ASSERT_EQ(host_.Create(config, "/tmp", &error), WEP_OK) << error;
  }
  // Handles one event; expects it DONE.
  void Done(const std::string& record) {
    auto results = host_.Handle({record});
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].code, WEP_RESULT_DONE) << results[0].message;
  }
  std::vector<json> Alerts() const {
    std::vector<json> out;
    for (const auto& p : host_.published()) out.push_back(json::parse(p.value));
    return out;
  }
  size_t AlertCount() const { return host_.published().size(); }
  std::string LastRule() const { return Alerts().back()["payload"]["rule"]; }

  FakeHost host_{WEP_SECURITY_PLUGIN};
};

// ---- Descriptor and configuration ----------------------------------------------------------

TEST_F(SecurityPluginTest, DescriptorDeclaresEveryConfigKey) {
  const wep_plugin_descriptor& d = host_.descriptor();
  EXPECT_STREQ(d.name, "security");
  EXPECT_EQ(d.abi_major, WEP_ABI_MAJOR);
  EXPECT_TRUE(d.flags & WEP_PLUGIN_THREAD_SAFE);
  EXPECT_FALSE(d.flags & WEP_PLUGIN_OPEN_CONFIG);
  EXPECT_TRUE(d.subscriptions & WEP_EVENT_BIT(WEP_EVENT_CREDENTIAL_DELETED));
  EXPECT_FALSE(d.subscriptions & WEP_EVENT_BIT(WEP_EVENT_CREDENTIAL_ISSUED));
  std::set<std::string> names;
  for (size_t i = 0; i < d.config_key_count; ++i) {
    const wep_config_key* k = d.config_keys[i];
    ASSERT_NE(k, nullptr);
    EXPECT_EQ(k->struct_size, sizeof(wep_config_key));
    EXPECT_EQ(k->required, 0) << k->name;
    ASSERT_NE(k->default_json, nullptr) << k->name;
    EXPECT_FALSE(json::parse(k->default_json, nullptr, false).is_discarded()) << k->name;
    ASSERT_NE(k->description, nullptr);
    EXPECT_GT(std::strlen(k->description), 10u) << k->name;
    names.insert(k->name);
  }
  const std::set<std::string> expected = {"nonce_reuse_enabled",
                                          "nonce_reuse_window_s",
                                          "failed_verifications_enabled",
                                          "failed_verifications_threshold",
                                          "failed_verifications_window_s",
                                          "missing_holder_binding_enabled",
                                          "revoked_key_reuse_enabled",
                                          "revoked_key_ttl_s",
                                          "deletion_burst_enabled",
                                          "deletion_burst_threshold",
                                          "deletion_burst_window_s",
                                          "untrusted_issuer_enabled",
                                          "issuer_allowlist",
                                          "max_entries",
                                          "recent_event_ids"};
  EXPECT_EQ(names, expected);
}

TEST_F(SecurityPluginTest, DefaultsApplyWhenKeysAreMissing) {
  std::string error;
  EXPECT_EQ(host_.Create("", "/tmp", &error), WEP_OK) << error;
  EXPECT_EQ(host_.Create("{}", "/tmp", &error), WEP_OK) << error;
  // Default failed_verifications_threshold is 3: the third Invalid raises the alert.
  for (int i = 0; i < 3; ++i) Done(Verified(Id(i), At(i), "w", false));
  EXPECT_EQ(AlertCount(), 1u);
}

TEST_F(SecurityPluginTest, ConfigErrorsNameTheKeyAndValue) {
  struct Case {
    const char* config;
    std::vector<std::string> expect_in_message;
  };
  const Case cases[] = {
      {R"({"failed_verifications_threshold": -1})",
       {"failed_verifications_threshold", "-1", "between 1 and 1000"}},
      {R"({"deletion_burst_threshold": 0})", {"deletion_burst_threshold", "0"}},
      {R"({"deletion_burst_window_s": -60})", {"deletion_burst_window_s", "-60"}},
      {R"({"nonce_reuse_window_s": "1h"})", {"nonce_reuse_window_s", "integer", "\"1h\""}},
      {R"({"max_entries": 1.5})", {"max_entries", "integer"}},
      {R"({"max_entries": 18446744073709551615})", {"max_entries"}},
      {R"({"nonce_reuse_enabled": 1})", {"nonce_reuse_enabled", "true or false"}},
      {R"({"issuer_allowlist": "https://a"})", {"issuer_allowlist", "list of strings"}},
      {R"({"issuer_allowlist": ["https://a", 7]})", {"issuer_allowlist`[1]", "7"}},
      {R"({"issuer_allowlist": [""]})", {"issuer_allowlist`[0]", "non-empty"}},
      {R"({"revoked_key_ttl": 60})", {"unknown config key `revoked_key_ttl`", "revoked_key_ttl_s"}},
      {R"([1, 2])", {"JSON object", "array"}},
      {R"({"max_entries": )", {"not valid JSON"}},
  };
  for (const Case& c : cases) {
    std::string error;
    EXPECT_EQ(host_.Create(c.config, "/tmp", &error), WEP_ERR_CONFIG) << c.config;
    for (const std::string& part : c.expect_in_message) {
      EXPECT_NE(error.find(part), std::string::npos) << c.config << " -> " << error;
    }
  }
}

// ---- The golden events ---------------------------------------------------------------------

TEST_F(SecurityPluginTest, GoldenEventsRaiseOnlyTheMissingHolderBindingAlert) {
  CreateOk();
  // In event-time order; the Sent/Received pair share a nonce (one request, both sides), the
  // key is rotated before it is revoked: neither is suspicious.
  const char* names[] = {"KeyCreated",
                         "CredentialOfferSent",
                         "CredentialOfferReceived",
                         "CredentialIssued",
                         "CredentialAcknowledged",
                         "CredentialStored",
                         "PresentationRequestSent",
                         "PresentationRequestReceived",
                         "PresentationSubmitted",
                         "PresentationVerified",
                         "PresentationVerified.2",
                         "CredentialDeleted",
                         "KeyRotated",
                         "KeyRevoked"};
  std::vector<std::string> records;
  for (const char* name : names) records.push_back(Golden(name));
  for (const EventResult& r : host_.Handle(records)) {
    EXPECT_EQ(r.code, WEP_RESULT_DONE) << r.message;
  }
  auto alerts = Alerts();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0]["payload"]["rule"], "missing_holder_binding");
  EXPECT_EQ(alerts[0]["payload"]["wallet_id"], "wallet-b2c1");
  EXPECT_EQ(alerts[0]["payload"]["triggering_event_ids"],
            json::array({"1f0e2d3c-4b5a-4978-8796-a5b4c3d2e10b"}));
}

// ---- (a) nonce_reuse -----------------------------------------------------------------------

TEST_F(SecurityPluginTest, NonceReuseFiresOnTheSecondUseOnly) {
  CreateOk();
  const std::string client = "x509_san_dns:verifier.example.org";
  Done(Request(true, Id(1), At(0), client, "nonce-AAAA-1111", "req-1"));
  Done(Request(false, Id(2), At(1), client, "nonce-AAAA-1111", "req-1"));  // same request
  Done(Request(true, Id(3), At(2), "other-client", "nonce-AAAA-1111", "req-9"));
  Done(Request(true, Id(4), At(3), client, "nonce-BBBB-2222", "req-2"));
  EXPECT_EQ(AlertCount(), 0u);

  Done(Request(false, Id(5), At(4), client, "nonce-AAAA-1111", "req-3"));  // a new request
  ASSERT_EQ(AlertCount(), 1u);
  json p = Alerts()[0]["payload"];
  EXPECT_EQ(p["rule"], "nonce_reuse");
  EXPECT_EQ(p["severity"], "high");
  EXPECT_EQ(p["triggering_event_ids"], json::array({Id(1), Id(5)}));
  const std::string description = p["description"];
  EXPECT_EQ(description.find("nonce-AAAA-1111"), std::string::npos) << description;
  EXPECT_NE(description.find("15 chars"), std::string::npos) << description;
  EXPECT_NE(description.find(client), std::string::npos) << description;

  Done(Request(true, Id(6), At(5), client, "nonce-BBBB-2222", "req-2"));  // Sent twice
  EXPECT_EQ(AlertCount(), 2u);
}

TEST_F(SecurityPluginTest, NonceWindowIsInclusiveAndExpires) {
  CreateOk(R"({"nonce_reuse_window_s": 60})");
  Done(Request(true, Id(1), At(0), "c", "n-at-edge", "r1"));
  Done(Request(true, Id(2), At(60), "c", "n-at-edge", "r2"));  // exactly the window: reuse
  EXPECT_EQ(AlertCount(), 1u);
  Done(Request(true, Id(3), At(100), "c", "n-expired", "r1"));
  Done(Request(true, Id(4), At(160.001), "c", "n-expired", "r2"));  // 1 ms too late
  EXPECT_EQ(AlertCount(), 1u);
  Done(Request(true, Id(5), At(161), "c", "n-expired", "r3"));  // within 60 s of Id(4)
  EXPECT_EQ(AlertCount(), 2u);
}

TEST_F(SecurityPluginTest, TheSameEventTwiceIsNotAReuse) {
  CreateOk();
  const std::string record = Request(true, Id(1), At(0), "c", "nonce-1", "r1");
  Done(record);
  Done(record);  // e.g. a producer retry that duplicated the record
  EXPECT_EQ(AlertCount(), 0u);
}

// ---- (b) failed_verifications --------------------------------------------------------------

TEST_F(SecurityPluginTest, FailedVerificationsFireAtTheThresholdWithinTheWindow) {
  CreateOk();  // 3 in 600 s
  Done(Verified(Id(1), At(0), "w1", false));
  Done(Verified(Id(2), At(10), "w1", true));   // valid: not counted
  Done(Verified(Id(3), At(20), "w2", false));  // another wallet
  Done(Verified(Id(4), At(30), "w1", false));
  EXPECT_EQ(AlertCount(), 0u);
  Done(Verified(Id(5), At(600), "w1", false));  // Id(1) at 0 is exactly 600 s earlier: counts
  ASSERT_EQ(AlertCount(), 1u);
  json p = Alerts()[0]["payload"];
  EXPECT_EQ(p["rule"], "failed_verifications");
  EXPECT_EQ(p["severity"], "high");
  EXPECT_EQ(p["wallet_id"], "w1");
  EXPECT_EQ(p["triggering_event_ids"], json::array({Id(1), Id(4), Id(5)}));
  EXPECT_NE(p["description"].get<std::string>().find("signature mismatch"), std::string::npos);

  // The count starts again after an alert.
  Done(Verified(Id(6), At(601), "w1", false));
  Done(Verified(Id(7), At(602), "w1", false));
  EXPECT_EQ(AlertCount(), 1u);
  Done(Verified(Id(8), At(603), "w1", false));
  EXPECT_EQ(AlertCount(), 2u);
}

TEST_F(SecurityPluginTest, FailedVerificationsOutsideTheWindowDoNotCount) {
  CreateOk(R"({"failed_verifications_threshold": 3, "failed_verifications_window_s": 600})");
  Done(Verified(Id(1), At(0), "w", false));
  Done(Verified(Id(2), At(300), "w", false));
  Done(Verified(Id(3), At(600.001), "w", false));  // Id(1) fell out 1 ms ago
  EXPECT_EQ(AlertCount(), 0u);
  Done(Verified(Id(4), At(700), "w", false));
  ASSERT_EQ(AlertCount(), 1u);
  EXPECT_EQ(Alerts()[0]["payload"]["triggering_event_ids"], json::array({Id(2), Id(3), Id(4)}));
}

// ---- (c) missing_holder_binding ------------------------------------------------------------

TEST_F(SecurityPluginTest, MissingHolderBindingFiresOnEveryUnboundPresentation) {
  CreateOk(R"({"failed_verifications_enabled": false})");
  Done(Verified(Id(1), At(0), "w", true, true));
  Done(Verified(Id(2), At(1), "w", false, true));
  EXPECT_EQ(AlertCount(), 0u);
  Done(Verified(Id(3), At(2), "w", true, false));
  ASSERT_EQ(AlertCount(), 1u);
  json p = Alerts()[0]["payload"];
  EXPECT_EQ(p["rule"], "missing_holder_binding");
  EXPECT_EQ(p["severity"], "medium");
  EXPECT_EQ(p["triggering_event_ids"], json::array({Id(3)}));
}

// ---- (d) revoked_key_reuse -----------------------------------------------------------------

TEST_F(SecurityPluginTest, RevokedKeyReuseFiresOnUseAfterRevocation) {
  CreateOk();
  Done(KeyCreated(Id(1), At(0), "w1", "k1"));
  Done(KeyRotated(Id(2), At(10), "w1", "k1", "k2"));
  Done(KeyRevoked(Id(3), At(20), "w1", "k1"));
  Done(KeyCreated(Id(4), At(30), "w2", "k1"));  // another wallet's k1
  Done(KeyCreated(Id(5), At(15), "w1", "k1"));  // happened before the revocation
  EXPECT_EQ(AlertCount(), 0u);

  Done(KeyRotated(Id(6), At(40), "w1", "k1", "k3"));  // old_key_id revoked
  ASSERT_EQ(AlertCount(), 1u);
  json p = Alerts()[0]["payload"];
  EXPECT_EQ(p["rule"], "revoked_key_reuse");
  EXPECT_EQ(p["severity"], "critical");
  EXPECT_EQ(p["triggering_event_ids"], json::array({Id(3), Id(6)}));
  EXPECT_NE(p["description"].get<std::string>().find("k1 (old_key_id)"), std::string::npos);

  Done(KeyRotated(Id(7), At(50), "w1", "k3", "k1"));  // new_key_id revoked
  Done(KeyCreated(Id(8), At(60), "w1", "k1"));        // key_id revoked
  ASSERT_EQ(AlertCount(), 3u);
  EXPECT_NE(Alerts()[1]["payload"]["description"].get<std::string>().find("k1 (new_key_id)"),
            std::string::npos);
}

TEST_F(SecurityPluginTest, RevokedKeysAreForgottenAfterTheTtl) {
  CreateOk(R"({"revoked_key_ttl_s": 3600})");
  Done(KeyRevoked(Id(1), At(0), "w", "k1"));
  Done(KeyCreated(Id(2), At(3600), "w", "k1"));  // still remembered
  EXPECT_EQ(AlertCount(), 1u);
  Done(KeyCreated(Id(3), At(3600.5), "w", "k1"));
  EXPECT_EQ(AlertCount(), 1u);
}

// ---- (e) deletion_burst --------------------------------------------------------------------

TEST_F(SecurityPluginTest, DeletionBurstFiresOnTheFifthDeletionWithinSixtySeconds) {
  CreateOk();
  for (int i = 0; i < 4; ++i) Done(Deleted(Id(i), At(i * 15), "w"));  // 0, 15, 30, 45 s
  Done(Deleted(Id(10), At(1), "other-wallet"));
  EXPECT_EQ(AlertCount(), 0u);
  Done(Deleted(Id(4), At(60), "w"));  // 5 within exactly 60 s
  ASSERT_EQ(AlertCount(), 1u);
  json p = Alerts()[0]["payload"];
  EXPECT_EQ(p["rule"], "deletion_burst");
  EXPECT_EQ(p["severity"], "medium");
  EXPECT_EQ(p["triggering_event_ids"].size(), 5u);
}

TEST_F(SecurityPluginTest, DeletionBurstWindowSlides) {
  CreateOk(R"({"deletion_burst_threshold": 5, "deletion_burst_window_s": 60})");
  for (int i = 0; i < 4; ++i) Done(Deleted(Id(i), At(i * 15), "w"));
  Done(Deleted(Id(4), At(60.001), "w"));  // the first fell out of the window
  EXPECT_EQ(AlertCount(), 0u);
  Done(Deleted(Id(5), At(61), "w"));
  EXPECT_EQ(AlertCount(), 1u);
}

TEST_F(SecurityPluginTest, LateEventsAreCountedInEventTimeOrder) {
  CreateOk(R"({"deletion_burst_threshold": 3, "deletion_burst_window_s": 10})");
  Done(Deleted(Id(1), At(100), "w"));
  Done(Deleted(Id(2), At(50), "w"));  // late by 50 s: outside the window, ignored
  Done(Deleted(Id(3), At(95), "w"));  // late by 5 s: inside
  EXPECT_EQ(AlertCount(), 0u);
  Done(Deleted(Id(4), At(101), "w"));
  ASSERT_EQ(AlertCount(), 1u);
  EXPECT_EQ(Alerts()[0]["payload"]["triggering_event_ids"], json::array({Id(3), Id(1), Id(4)}));
}

// ---- (f) untrusted_issuer ------------------------------------------------------------------

TEST_F(SecurityPluginTest, UntrustedIssuerIsInactiveWithAnEmptyAllowlist) {
  CreateOk();
  Done(Offer(Id(1), At(0), "https://evil.example"));
  EXPECT_EQ(AlertCount(), 0u);
}

TEST_F(SecurityPluginTest, UntrustedIssuerFiresForIssuersOffTheAllowlist) {
  CreateOk(R"({"issuer_allowlist": ["https://issuer.example.com"]})");
  Done(Golden("CredentialOfferSent"));
  Done(Golden("CredentialOfferReceived"));
  Done(Offer(Id(1), At(0), "https://issuer.example.com/"));  // compared exactly
  ASSERT_EQ(AlertCount(), 1u);
  json p = Alerts()[0]["payload"];
  EXPECT_EQ(p["rule"], "untrusted_issuer");
  EXPECT_EQ(p["severity"], "medium");
  EXPECT_NE(p["description"].get<std::string>().find("https://issuer.example.com/"),
            std::string::npos);
}

// ---- Rules can be switched off ---------------------------------------------------------------

TEST_F(SecurityPluginTest, DisabledRulesStaySilent) {
  CreateOk(R"({"nonce_reuse_enabled": false, "failed_verifications_enabled": false,
               "missing_holder_binding_enabled": false, "revoked_key_reuse_enabled": false,
               "deletion_burst_enabled": false, "untrusted_issuer_enabled": false,
               "issuer_allowlist": ["https://trusted"],
               "deletion_burst_threshold": 1, "failed_verifications_threshold": 1})");
  Done(Request(true, Id(1), At(0), "c", "n", "r1"));
  Done(Request(true, Id(2), At(1), "c", "n", "r2"));
  Done(Verified(Id(3), At(2), "w", false, false));
  Done(KeyRevoked(Id(4), At(3), "w", "k"));
  Done(KeyCreated(Id(5), At(4), "w", "k"));
  Done(Deleted(Id(6), At(5), "w"));
  Done(Offer(Id(7), At(6), "https://untrusted"));
  EXPECT_EQ(AlertCount(), 0u);
  EXPECT_EQ(host_.metric("wallet_security_state_entries"), 0.0);
}

// ---- The alert record ----------------------------------------------------------------------

TEST_F(SecurityPluginTest, AlertRecordShapeHeadersLogAndMetric) {
  CreateOk(R"({"deletion_burst_threshold": 1})");
  const std::string ts = "2026-03-01T10:00:00.5+02:00";  // any offset on the wire
  Done(Record("CredentialDeleted", Id(42), ts, "wallet-9",
              {{"credential_id", "c"}, {"notification_id", "n"}, {"event", "credential_deleted"}}));
  auto published = host_.published();
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].topic_suffix, "security.alerts");
  EXPECT_EQ(published[0].key, "wallet-9");
  const std::vector<std::pair<std::string, std::string>> headers = {
      {"event_type", "SecurityAlert"},
      {"correlation_id", "corr-" + Id(42).substr(30)},
      {"wallet_id", "wallet-9"},
      {"schema_version", "1.0.0"}};
  EXPECT_EQ(published[0].headers, headers);

  json record = json::parse(published[0].value);
  EXPECT_EQ(record["event_type"], "SecurityAlert");
  const json& p = record["payload"];
  std::set<std::string> keys;
  for (const auto& item : p.items()) keys.insert(item.key());
  EXPECT_EQ(keys, (std::set<std::string>{"alert_id", "rule", "severity", "wallet_id",
                                         "correlation_id", "triggering_event_ids", "description",
                                         "detected_at", "event_time"}));
  EXPECT_TRUE(std::regex_match(p["alert_id"].get<std::string>(),
                               std::regex("[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                                          "[0-9a-f]{12}")))
      << p["alert_id"];
  EXPECT_EQ(p["rule"], "deletion_burst");
  EXPECT_EQ(p["severity"], "medium");
  EXPECT_EQ(p["wallet_id"], "wallet-9");
  EXPECT_EQ(p["correlation_id"], "corr-" + Id(42).substr(30));
  EXPECT_EQ(p["triggering_event_ids"], json::array({Id(42)}));
  EXPECT_TRUE(p["description"].is_string());
  EXPECT_EQ(p["event_time"], "2026-03-01T08:00:00.500Z");  // normalized to UTC
  const std::string detected_at = p["detected_at"];
  ASSERT_TRUE(ParseRfc3339(detected_at).has_value()) << detected_at;
  EXPECT_EQ(detected_at.back(), 'Z');
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  EXPECT_LT(std::llabs(now - *ParseRfc3339(detected_at)), 60'000'000'000LL);

  bool logged = false;
  for (const auto& line : host_.logs()) {
    if (line.level == WEP_LOG_WARN && line.text.find("deletion_burst") != std::string::npos &&
        line.text.find(p["alert_id"].get<std::string>()) != std::string::npos) {
      logged = true;
    }
  }
  EXPECT_TRUE(logged);
  EXPECT_EQ(host_.metric("wallet_security_alerts_total", {"deletion_burst", "medium"}), 1.0);
  EXPECT_EQ(host_.metric("wallet_security_alerts_total", {"nonce_reuse", "high"}), 0.0);
}

TEST_F(SecurityPluginTest, AlertIdsAreStableAcrossAReplay) {
  const std::string config = R"({"deletion_burst_threshold": 2})";
  const std::vector<std::string> events = {Deleted(Id(1), At(0), "w"), Deleted(Id(2), At(1), "w")};
  CreateOk(config);
  host_.Handle(events);
  CreateOk(config);  // a restart: fresh state, same events again
  host_.Handle(events);
  auto alerts = Alerts();
  ASSERT_EQ(alerts.size(), 2u);
  EXPECT_EQ(alerts[0]["payload"]["alert_id"], alerts[1]["payload"]["alert_id"]);
  EXPECT_EQ(alerts[0]["payload"]["event_time"], alerts[1]["payload"]["event_time"]);
}

// ---- Publish failure, retry and redelivery -------------------------------------------------

TEST_F(SecurityPluginTest, PublishFailureRetriesAndRedeliveryPublishesOnce) {
  CreateOk(R"({"deletion_burst_threshold": 2})");
  const std::string first = Deleted(Id(1), At(0), "w");
  const std::string second = Deleted(Id(2), At(1), "w");
  Done(first);

  host_.set_publish_fails(true);
  auto results = host_.Handle({second});
  EXPECT_EQ(results[0].code, WEP_RESULT_RETRY);
  EXPECT_NE(results[0].message.find("fake broker down"), std::string::npos) << results[0].message;
  EXPECT_NE(results[0].message.find("deletion_burst"), std::string::npos) << results[0].message;
  EXPECT_EQ(AlertCount(), 0u);
  EXPECT_EQ(host_.metric("wallet_security_alerts_total", {"deletion_burst", "medium"}), 0.0);
  results = host_.Handle({second}, nullptr, 2);  // still down
  EXPECT_EQ(results[0].code, WEP_RESULT_RETRY);

  host_.set_publish_fails(false);
  results = host_.Handle({second}, nullptr, 3);
  EXPECT_EQ(results[0].code, WEP_RESULT_DONE) << results[0].message;
  ASSERT_EQ(AlertCount(), 1u);
  EXPECT_EQ(Alerts()[0]["payload"]["triggering_event_ids"], json::array({Id(1), Id(2)}));
  EXPECT_EQ(host_.metric("wallet_security_alerts_total", {"deletion_burst", "medium"}), 1.0);

  // Once more (e.g. the host redelivers after a crash before committing): nothing new.
  results = host_.Handle({second}, nullptr, 4);
  EXPECT_EQ(results[0].code, WEP_RESULT_DONE);
  EXPECT_EQ(AlertCount(), 1u);
  // The state was not counted twice: had the redelivery been applied again, this third
  // deletion would complete a second burst of 2.
  Done(Deleted(Id(3), At(2), "w"));
  EXPECT_EQ(AlertCount(), 1u);
  Done(Deleted(Id(4), At(3), "w"));
  EXPECT_EQ(AlertCount(), 2u);
}

TEST_F(SecurityPluginTest, AfterOnePublishFailsTheRestOfTheBatchWaits) {
  CreateOk(R"({"deletion_burst_threshold": 1})");
  host_.set_publish_fails(true);
  const std::vector<std::string> batch = {Deleted(Id(1), At(0), "a"),
                                          Verified(Id(2), At(1), "b", true),  // no alert
                                          Deleted(Id(3), At(2), "c")};
  auto results = host_.Handle(batch);
  EXPECT_EQ(results[0].code, WEP_RESULT_RETRY);
  EXPECT_EQ(results[1].code, WEP_RESULT_DONE);
  EXPECT_EQ(results[2].code, WEP_RESULT_RETRY);
  size_t failed_publish_logs = 0;
  for (const auto& line : host_.logs()) {
    failed_publish_logs += line.text.find("could not publish") != std::string::npos;
  }
  EXPECT_EQ(failed_publish_logs, 1u);  // the third was not even attempted

  host_.set_publish_fails(false);
  results = host_.Handle(batch, nullptr, 2);  // the host redelivers from the first RETRY
  for (const auto& r : results) {
    EXPECT_EQ(r.code, WEP_RESULT_DONE) << r.message;
  }
  ASSERT_EQ(AlertCount(), 2u);
  EXPECT_EQ(Alerts()[0]["payload"]["wallet_id"], "a");
  EXPECT_EQ(Alerts()[1]["payload"]["wallet_id"], "c");
}

TEST_F(SecurityPluginTest, APendingAlertPushedOutOfTheRecentSetIsLoggedAsAnError) {
  CreateOk(R"({"deletion_burst_threshold": 1, "recent_event_ids": 1})");
  host_.set_publish_fails(true);
  EXPECT_EQ(host_.Handle({Deleted(Id(1), At(0), "w")})[0].code, WEP_RESULT_RETRY);
  host_.set_publish_fails(false);
  Done(Verified(Id(2), At(1), "w", true));  // takes the only recent-set slot
  bool logged = false;
  for (const auto& line : host_.logs()) {
    logged |= line.level == WEP_LOG_ERROR && line.text.find(Id(1)) != std::string::npos &&
              line.text.find("never published") != std::string::npos;
  }
  EXPECT_TRUE(logged);
}

// ---- Bad input -----------------------------------------------------------------------------

TEST_F(SecurityPluginTest, AnEventWithoutTheFieldsARuleNeedsFails) {
  CreateOk();
  auto results = host_.Handle({Record("PresentationRequestSent", Id(1), At(0), "w",
                                      {{"request_id", "r"}, {"client_id", "c"}})});
  EXPECT_EQ(results[0].code, WEP_RESULT_FAILED);
  EXPECT_NE(results[0].message.find("payload.nonce"), std::string::npos) << results[0].message;

  results = host_.Handle({Deleted(Id(2), "yesterday", "w")});
  EXPECT_EQ(results[0].code, WEP_RESULT_FAILED);
  EXPECT_NE(results[0].message.find("yesterday"), std::string::npos) << results[0].message;
}

TEST_F(SecurityPluginTest, EachMissingOrMistypedFieldFailsNamingIt) {
  CreateOk();
  const json metadata = json::parse(Verified(Id(9), At(0), "w", true))["payload"]["metadata"];
  auto verified = [&](json fields) {
    fields["metadata"] = metadata;
    return json{{"event_type", "PresentationVerified"}, {"payload", fields}}.dump();
  };
  struct Case {
    std::string record, message;
  };
  const std::vector<Case> cases = {
      {verified({{"validation_status", "Valid"}, {"holder_binding_verified", "yes"}}),
       "PresentationVerified: payload.holder_binding_verified is missing or not a boolean"},
      {verified({{"validation_status", "Valid"}}),
       "PresentationVerified: payload.holder_binding_verified is missing or not a boolean"},
      {verified({{"validation_status", 5}, {"holder_binding_verified", true}}),
       "PresentationVerified: payload.validation_status is missing or neither a string nor an "
       "object"},
      {verified({{"holder_binding_verified", true}}),
       "PresentationVerified: payload.validation_status is missing or neither a string nor an "
       "object"},
      {Record("KeyRotated", Id(2), At(0), "w", {{"old_key_id", "k1"}, {"new_key_id", 7}}),
       "KeyRotated: payload.new_key_id is missing or not a string"},
      {Record("KeyRevoked", Id(3), At(0), "w", {{"kid", "k"}}),
       "KeyRevoked: payload.key_id is missing or not a string"},
  };
  for (const auto& c : cases) {
    auto results = host_.Handle({c.record});
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].code, WEP_RESULT_FAILED) << c.record;
    EXPECT_EQ(results[0].message, c.message) << c.record;
  }
  EXPECT_EQ(AlertCount(), 0u);
}

TEST_F(SecurityPluginTest, AnInvalidVerificationCountsWithOrWithoutAReason) {
  CreateOk(R"({"failed_verifications_threshold": 2})");
  auto invalid = [&](uint64_t n, json status) {
    json r = json::parse(Verified(Id(n), At(n), "w", true));
    r["payload"]["validation_status"] = status;
    return r.dump();
  };
  Done(invalid(1, {{"Invalid", {{"reason", 42}}}}));
  EXPECT_EQ(AlertCount(), 0u);
  Done(invalid(2, {{"Invalid", "expired"}}));
  ASSERT_EQ(AlertCount(), 1u);
  EXPECT_EQ(LastRule(), "failed_verifications");
  Done(invalid(3, {{"Other", {}}}));  // neither Valid nor Invalid: not a failure
  EXPECT_EQ(AlertCount(), 1u);
}

// ---- Bounded state -------------------------------------------------------------------------

// A record built by concatenation, cheaper than through json: the test below builds many.
std::string QuickRecord(const char* type, uint64_t n, const std::string& wallet,
                        const std::string& fields) {
  return std::string(R"({"event_type":")") + type + R"(","payload":{"metadata":{"event_id":")" +
         Id(n) + R"(","timestamp":")" + At(n * 0.001) + R"(","correlation_id":"c","wallet_id":")" +
         wallet + R"(","schema_version":"1.0.0"},)" + fields + "}}";
}

TEST_F(SecurityPluginTest, StateStaysWithinMaxEntriesThroughThePlugin) {
  CreateOk(R"({"max_entries": 4000, "recent_event_ids": 1000})");
  uint64_t n = 0;
  for (int batch = 0; batch < 40; ++batch) {
    std::vector<std::string> records;
    for (int i = 0; i < 1000; ++i, ++n) {
      const std::string wallet = "wallet-" + std::to_string(n);
      switch (n % 4) {
        case 0:
          records.push_back(QuickRecord("CredentialDeleted", n, wallet,
                                        R"("credential_id":"c","notification_id":"n",)"
                                        R"("event":"credential_deleted")"));
          break;
        case 1:
          records.push_back(QuickRecord("PresentationRequestSent", n, wallet,
                                        R"("request_id":"r","dcql_query":"{}","client_id":"c",)"
                                        R"("nonce":")" +
                                            wallet + R"(")"));
          break;
        case 2:
          records.push_back(QuickRecord("PresentationVerified", n, wallet,
                                        R"("request_id":"r","presentation_submission_id":"s",)"
                                        R"("validation_status":{"Invalid":{"reason":"x"}},)"
                                        R"("holder_binding_verified":true)"));
          break;
        default:
          records.push_back(QuickRecord("KeyRevoked", n, wallet,
                                        R"("key_id":"k","kid":"k","revocation_reason":"x")"));
      }
    }
    for (const auto& r : host_.Handle(records)) {
      ASSERT_EQ(r.code, WEP_RESULT_DONE) << r.message;
    }
    const double entries = host_.metric("wallet_security_state_entries");
    ASSERT_LE(entries, 4000.0) << "after batch " << batch;
    if (batch >= 4) {
      ASSERT_EQ(entries, 4000.0);  // full: the windows are long
    }
  }
  EXPECT_EQ(host_.metric("wallet_security_state_evictions_total", {"capacity"}), 36000.0);
  EXPECT_EQ(AlertCount(), 0u);
}

TEST_F(SecurityPluginTest, ExpiredStateIsSweptByEventTime) {
  CreateOk(R"({"deletion_burst_window_s": 60, "failed_verifications_window_s": 60})");
  for (int i = 0; i < 1000; ++i) Done(Deleted(Id(i), At(i * 0.01), "w-" + std::to_string(i)));
  EXPECT_EQ(host_.metric("wallet_security_state_entries"), 1000.0);
  Done(Deleted(Id(5000), At(1000), "w-late"));  // event time moved on 1000 s
  EXPECT_EQ(host_.metric("wallet_security_state_entries"), 1.0);
  EXPECT_EQ(host_.metric("wallet_security_state_evictions_total", {"expired"}), 1000.0);
}

// Two million distinct wallets and nonces straight into the Detector (no JSON on this path,
// so it stays fast), with max_entries 100,000: the entry count never exceeds the limit.
TEST(DetectorTest, TwoMillionDistinctKeysStayWithinMaxEntries) {
  Config config;
  config.max_entries = 100'000;
  Detector detector(config);
  const uint32_t stream = detector.StreamId("wallet.credential.storage", 0);
  size_t max_seen = 0;
  std::string id, wallet;
  for (uint64_t n = 0; n < 2'000'000; ++n) {
    id = Id(n);
    wallet = "wallet-" + std::to_string(n);
    EventFacts e;
    e.event_id = id;
    e.wallet_id = wallet;
    e.time_ns = kBase + static_cast<int64_t>(n) * 1000;
    e.stream = stream;
    if (n % 2 == 0) {
      e.type = WEP_EVENT_CREDENTIAL_DELETED;
    } else {
      e.type = WEP_EVENT_PRESENTATION_REQUEST_SENT;
      e.client_id = "client-" + std::to_string(n % 7);
      e.nonce = "nonce-" + std::to_string(n);
      e.request_id = "req";
    }
    ASSERT_TRUE(detector.Apply(e).empty());
    max_seen = std::max(max_seen, detector.entries());
    ASSERT_LE(detector.entries(), 100'000u) << "after event " << n;
  }
  EXPECT_EQ(max_seen, 100'000u);
  EXPECT_EQ(detector.TakeEvictions().capacity, 1'900'000u);
}

TEST(BoundedTableTest, EvictsLeastRecentlyTouchedAndSweepsByStreamWatermark) {
  BoundedTable<int> table;
  table.Insert("a", 1, /*expires_ns=*/100, /*seq=*/1, /*stream=*/0);
  table.Insert("b", 2, 200, 2, 1);
  table.Insert("c", 3, 300, 3, 0);
  table.Touch(table.Find("a", 0), 4, 0);
  EXPECT_EQ(table.Oldest()->key(), "b");
  // Stream 1 lags at 150: "b" (its stream) is still live although stream 0 is at 1000.
  EXPECT_EQ(table.SweepExpired({1000, 150}), 0u);
  EXPECT_EQ(table.SweepExpired({1000, 250}), 3u);
  EXPECT_EQ(table.size(), 0u);
  table.Insert("d", 4, 100, 5, 0);
  EXPECT_EQ(table.Find("d", 101), nullptr);  // expired for an event after its end
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.TakeExpiredCount(), 4u);
}

// ---- RFC 3339 ------------------------------------------------------------------------------

TEST(Rfc3339Test, ParsesOffsetsAndFractions) {
  const int64_t t = *ParseRfc3339("2026-02-06T10:18:43Z");
  EXPECT_EQ(t, 1770373123LL * 1'000'000'000);
  EXPECT_EQ(ParseRfc3339("2026-02-06T12:18:43+02:00"), t);
  EXPECT_EQ(ParseRfc3339("2026-02-06T05:48:43-04:30"), t);
  EXPECT_EQ(ParseRfc3339("2026-02-06t10:18:43z"), t);
  EXPECT_EQ(ParseRfc3339("2026-02-06T10:18:43.5Z"), t + 500'000'000);
  EXPECT_EQ(ParseRfc3339("2026-02-06T10:18:43.123456789Z"), t + 123'456'789);
  EXPECT_EQ(ParseRfc3339("2026-02-06T10:18:43.1234567891234Z"), t + 123'456'789);
  EXPECT_EQ(ParseRfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseRfc3339("1969-12-31T23:59:59.5Z"), -500'000'000);
  EXPECT_EQ(ParseRfc3339("2024-02-29T00:00:00Z").has_value(), true);
  for (const char* bad :
       {"", "2026-02-06", "2026-02-06T10:18:43", "2026-02-30T00:00:00Z", "2025-02-29T00:00:00Z",
        "2026-13-01T00:00:00Z", "2026-02-06T24:00:00Z", "2026-02-06T10:18:43.Z",
        "2026-02-06T10:18:43+0200", "2026-02-06T10:18:43Zjunk", "9999-12-31T23:59:59Z"}) {
    EXPECT_FALSE(ParseRfc3339(bad).has_value()) << bad;
  }
}

TEST(Rfc3339Test, FormatsUtcWithTheFewestExactFractionDigits) {
  const int64_t t = *ParseRfc3339("2026-02-06T10:18:43Z");
  EXPECT_EQ(FormatRfc3339(t), "2026-02-06T10:18:43Z");
  EXPECT_EQ(FormatRfc3339(t + 250'000'000), "2026-02-06T10:18:43.250Z");
  EXPECT_EQ(FormatRfc3339(t + 1'000), "2026-02-06T10:18:43.000001Z");
  EXPECT_EQ(FormatRfc3339(t + 1), "2026-02-06T10:18:43.000000001Z");
  EXPECT_EQ(FormatRfc3339(-500'000'000), "1969-12-31T23:59:59.500Z");
  for (int64_t v : {int64_t{0}, t, t + 123'456'789, int64_t{951782400} * 1'000'000'000}) {
    EXPECT_EQ(ParseRfc3339(FormatRfc3339(v)), v);
  }
}

}  // namespace
}  // namespace wep_security
