// encode_event: byte-exact wire JSON, round trips through decode_event, escaping.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "golden.h"
#include "wallet_eventd/events.h"

namespace wallet_eventd {

// GoogleTest prints events as their wire JSON (same definition in every events_* test).
inline void PrintTo(const WalletEvent& event, std::ostream* os) { *os << encode_event(event); }

namespace {

using ojson = nlohmann::ordered_json;
using namespace std::chrono_literals;

using wep_unit::golden_dir;
using wep_unit::golden_files;
using wep_unit::read_file;

WalletEvent must_decode(std::string_view json) {
  auto result = decode_event(json);
  if (!result.ok()) {
    ADD_FAILURE() << result.error().message() << "\n" << json;
    return KeyRevoked{};
  }
  return std::move(result).value();
}

EventMetadata fixed_metadata() {
  EventMetadata m;
  m.event_id = "1f0e2d3c-4b5a-4978-8796-a5b4c3d2e10c";
  m.timestamp = Timestamp{} + std::chrono::seconds{1768478400};  // 2026-01-15T12:00:00Z
  m.correlation_id = "flow";
  m.wallet_id = "wallet-1";
  return m;
}

TEST(EventsEncode, DecodeEncodeDecodeIsIdentityForEveryGoldenFile) {
  const auto files = golden_files();
  ASSERT_GE(files.size(), 13u);
  for (const auto& file : files) {
    SCOPED_TRACE(file.filename().string());
    const WalletEvent first = must_decode(read_file(file));
    const std::string encoded = encode_event(first);
    const WalletEvent second = must_decode(encoded);
    EXPECT_EQ(first, second);
    EXPECT_EQ(encode_event(second), encoded) << "encoding is deterministic";
  }
}

// The encoding is the golden file, compacted, with the timestamp in its canonical form: same
// members, same order, same values, absent optionals as null.
TEST(EventsEncode, MatchesGoldenFilesByteForByte) {
  for (const auto& file : golden_files()) {
    SCOPED_TRACE(file.filename().string());
    ojson golden = ojson::parse(read_file(file));
    auto& ts = golden["payload"]["metadata"]["timestamp"];
    const auto parsed = parse_timestamp(ts.get<std::string>());
    ASSERT_TRUE(parsed);
    ts = format_timestamp(*parsed);
    EXPECT_EQ(encode_event(must_decode(read_file(file))), golden.dump());
  }
}

TEST(EventsEncode, WritesAbsentOptionalsAsNull) {
  KeyCreated e;
  e.metadata = fixed_metadata();
  e.key_id = "key-1";
  e.kid = "did:example:1#k";
  e.key_type = "EC";
  EXPECT_EQ(
      encode_event(e),
      R"({"event_type":"KeyCreated","payload":{"metadata":{"event_id":"1f0e2d3c-4b5a-4978-8796-a5b4c3d2e10c",)"
      R"("timestamp":"2026-01-15T12:00:00Z","correlation_id":"flow","wallet_id":"wallet-1",)"
      R"("schema_version":"1.0.0"},"key_id":"key-1","kid":"did:example:1#k","key_type":"EC",)"
      R"("key_attestation":null}})");

  CredentialOfferSent offer;
  offer.metadata = fixed_metadata();
  offer.offer_id = "o";
  offer.credential_issuer = "https://i";
  const ojson payload = ojson::parse(encode_event(offer))["payload"];
  std::vector<std::string> keys;
  for (const auto& [key, value] : payload.items()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"metadata", "offer_id", "credential_issuer",
                                            "credential_configuration_ids", "grants",
                                            "credential_offer_uri"}));
  EXPECT_EQ(payload["credential_configuration_ids"], ojson::array());
  EXPECT_TRUE(payload["grants"].is_null());
  EXPECT_TRUE(payload["credential_offer_uri"].is_null());
}

TEST(EventsEncode, WritesGrantsWithNullMembers) {
  CredentialOfferReceived offer;
  offer.metadata = fixed_metadata();
  offer.grants = Grants{};
  auto grants_json = [&] { return ojson::parse(encode_event(offer))["payload"]["grants"].dump(); };
  EXPECT_EQ(grants_json(), R"({"authorization_code":null,"pre_authorized_code":null})");

  offer.grants->authorization_code = AuthorizationCodeGrant{};
  offer.grants->pre_authorized_code = PreAuthorizedCodeGrant{"pac", std::nullopt};
  EXPECT_EQ(grants_json(),
            R"({"authorization_code":{"issuer_state":null},)"
            R"("pre_authorized_code":{"pre_authorized_code":"pac","tx_code":null}})");

  offer.grants->pre_authorized_code->tx_code = TxCode{};
  EXPECT_EQ(grants_json(),
            R"({"authorization_code":{"issuer_state":null},"pre_authorized_code":{)"
            R"("pre_authorized_code":"pac","tx_code":{"input_mode":null,"length":null,)"
            R"("description":null}}})");

  offer.grants->pre_authorized_code->tx_code = TxCode{"text", 4294967295u, "code"};
  EXPECT_EQ(grants_json(),
            R"({"authorization_code":{"issuer_state":null},"pre_authorized_code":{)"
            R"("pre_authorized_code":"pac","tx_code":{"input_mode":"text","length":4294967295,)"
            R"("description":"code"}}})");
  EXPECT_EQ(must_decode(encode_event(offer)), WalletEvent(offer));
}

TEST(EventsEncode, WritesValidationStatus) {
  PresentationVerified e;
  e.metadata = fixed_metadata();
  e.request_id = "r";
  e.presentation_submission_id = "s";
  e.holder_binding_verified = true;
  std::string json = encode_event(e);
  EXPECT_NE(json.find(R"("validation_status":"Valid","holder_binding_verified":true}})"),
            std::string::npos)
      << json;
  e.validation_status = ValidationStatus::Invalid("bad \"nonce\"");
  e.holder_binding_verified = false;
  json = encode_event(e);
  EXPECT_NE(json.find(R"("validation_status":{"Invalid":{"reason":"bad \"nonce\""}},)"
                      R"("holder_binding_verified":false}})"),
            std::string::npos)
      << json;
  EXPECT_EQ(must_decode(json), WalletEvent(e));
}

TEST(EventsEncode, EscapesStrings) {
  KeyRevoked e;
  e.metadata = fixed_metadata();
  e.key_id = "quote\" backslash\\ slash/";
  e.kid = "controls\b\f\n\r\t\x01\x1f nul";
  e.kid.push_back('\0');
  e.revocation_reason = "unicode \xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91";
  const std::string json = encode_event(e);
  EXPECT_NE(json.find(R"("key_id":"quote\" backslash\\ slash/")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("kid":"controls\b\f\n\r\t\u0001\u001f nul\u0000")"), std::string::npos)
      << json;
  EXPECT_NE(json.find("\"unicode \xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91\""), std::string::npos)
      << "UTF-8 is written as is";
  EXPECT_EQ(must_decode(json), WalletEvent(e));
}

TEST(EventsEncode, ReplacesInvalidUtf8SoTheOutputIsAlwaysValidJson) {
  KeyRevoked e;
  e.metadata = fixed_metadata();
  e.key_id =
      "a\xff"
      "b";                               // stray byte
  e.kid = "c\xc3";                       // truncated sequence at the end
  e.revocation_reason = "\xed\xa0\x80";  // encoded surrogate
  const std::string json = encode_event(e);
  auto decoded = decode_event(json);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message();
  const auto& k = std::get<KeyRevoked>(decoded.value());
  EXPECT_EQ(k.key_id,
            "a\xef\xbf\xbd"
            "b");
  EXPECT_EQ(k.kid, "c\xef\xbf\xbd");
  EXPECT_EQ(k.revocation_reason, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}

TEST(EventsEncode, EveryTypeRoundTripsFromConstructedValues) {
  const EventMetadata m = EventMetadata::create("corr", "wallet-9");
  Grants grants{AuthorizationCodeGrant{"state"},
                PreAuthorizedCodeGrant{"pac", TxCode{"numeric", 6, std::nullopt}}};
  CredentialOfferSent offer_sent;
  offer_sent.metadata = m;
  offer_sent.offer_id = "o1";
  offer_sent.credential_issuer = "https://issuer";
  offer_sent.credential_configuration_ids = {"A", "B"};
  offer_sent.grants = grants;
  CredentialOfferReceived offer_received;
  static_cast<CredentialOffer&>(offer_received) = offer_sent;
  offer_received.credential_offer_uri = "https://issuer/offer";
  PresentationRequestSent request_sent;
  request_sent.metadata = m;
  request_sent.request_id = "r";
  request_sent.dcql_query = R"({"credentials":[]})";
  request_sent.nonce = "n";
  request_sent.client_id = "c";
  PresentationRequestReceived request_received;
  static_cast<PresentationRequest&>(request_received) = request_sent;
  request_received.response_uri = "https://v/post";

  const std::vector<WalletEvent> events = {
      offer_sent,
      offer_received,
      CredentialIssued{m, "jwt", "Degree", "n1", "t1"},
      CredentialAcknowledged{m, "n1", "credential_accepted"},
      CredentialStored{m, "c1", "Degree", "https://issuer", std::nullopt},
      CredentialDeleted{m, "c1", "n1", "credential_deleted"},
      request_sent,
      request_received,
      PresentationSubmitted{m, "r", "s", "vp"},
      PresentationVerified{m, "r", "s", ValidationStatus::Invalid("x"), false},
      KeyCreated{m, "k", "kid", "EC", "att"},
      KeyRotated{m, "k", "k2", "kid2", "EC", std::nullopt},
      KeyRevoked{m, "k", "kid", "lost"},
  };
  ASSERT_EQ(events.size(), 13u);
  for (size_t i = 0; i < events.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(static_cast<size_t>(type_of(events[i])), i + 1);
    EXPECT_EQ(must_decode(encode_event(events[i])), events[i]);
  }
}

TEST(EventsEncode, WritesTimestampsWithTheFewestExactFractionDigits) {
  KeyRevoked e;
  e.metadata = fixed_metadata();
  const Timestamp base = e.metadata.timestamp;
  const std::pair<std::chrono::nanoseconds, const char*> cases[] = {
      {0ns, "2026-01-15T12:00:00Z"},
      {500ms, "2026-01-15T12:00:00.500Z"},
      {1us, "2026-01-15T12:00:00.000001Z"},
      {1ns, "2026-01-15T12:00:00.000000001Z"},
  };
  for (const auto& [offset, text] : cases) {
    e.metadata.timestamp = base + offset;
    EXPECT_NE(encode_event(e).find(std::string("\"timestamp\":\"") + text + "\""),
              std::string::npos)
        << text;
  }
}

}  // namespace
}  // namespace wallet_eventd
