// decode_event: the golden files, every rejection class with its exact message, and the
// lenient cases the wire format allows.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "golden.h"
#include "wallet_eventd/events.h"

namespace wallet_eventd {

// GoogleTest prints events as their wire JSON (same definition in every events_* test).
inline void PrintTo(const WalletEvent& event, std::ostream* os) { *os << encode_event(event); }

namespace {

using ojson = nlohmann::ordered_json;
using Code = DecodeErrorCode;

using wep_unit::golden_dir;
using wep_unit::golden_files;
using wep_unit::read_file;

// "CredentialStored" -> the text of CredentialStored.json.
std::string golden(std::string_view type) {
  return read_file(golden_dir() / (std::string(type) + ".json"));
}
ojson golden_json(std::string_view type) { return ojson::parse(golden(type)); }

// Decodes `json`, which must fail, and returns the error. check_event (the host's path) must
// fail the same way and leave its text buffer alone, so every rejection below covers both.
DecodeError error_of(std::string_view json, const DecodeLimits& limits = {}) {
  auto result = decode_event(json, limits);
  std::string text = "before";
  auto checked = check_event(json, &text, limits);
  if (checked.ok()) {
    ADD_FAILURE() << "check_event accepted: " << json.substr(0, 300);
  } else if (result.ok() || checked.error().code != result.error().code ||
             checked.error().message() != result.error().message()) {
    ADD_FAILURE() << "check_event: " << checked.error().message();
  }
  EXPECT_EQ(text, "before");
  if (result.ok()) {
    ADD_FAILURE() << "decoded, but should have failed: " << json.substr(0, 300);
    return DecodeError{Code::kMalformedJson, "<decoded>", "<decoded>"};
  }
  return result.error();
}

// Decodes `json`, which must be valid; check_event must accept it too and report the same type
// and metadata, appended after what its text buffer held.
WalletEvent decoded(std::string_view json) {
  auto result = decode_event(json);
  if (!result.ok()) {
    ADD_FAILURE() << "rejected: " << result.error().message() << "\n" << json.substr(0, 300);
    return KeyRevoked{};
  }
  std::string text = "earlier record";
  auto checked = check_event(json, &text);
  if (!checked.ok()) {
    ADD_FAILURE() << "check_event rejected: " << checked.error().message();
  } else {
    const EventMetadata& m = metadata_of(result.value());
    const CheckedEvent& c = checked.value();
    EXPECT_EQ(c.type, type_of(result.value()));
    EXPECT_EQ(c.timestamp, m.timestamp);
    EXPECT_EQ(c.event_id.in(text), m.event_id);
    EXPECT_EQ(c.timestamp_text.in(text), format_timestamp(m.timestamp));
    EXPECT_EQ(c.correlation_id.in(text), m.correlation_id);
    EXPECT_EQ(c.wallet_id.in(text), m.wallet_id);
    EXPECT_EQ(c.schema_version.in(text), m.schema_version);
    EXPECT_EQ(text.substr(0, 14), "earlier record");
  }
  return std::move(result).value();
}

template <typename T>
T decoded_as(std::string_view json) {
  WalletEvent event = decoded(json);
  if (!std::holds_alternative<T>(event)) {
    ADD_FAILURE() << "wrong type " << event_type_name(type_of(event));
    return T{};
  }
  return std::get<T>(std::move(event));
}

#define EXPECT_DECODE_ERROR(json, expected_code, expected_message)                    \
  do {                                                                                \
    const DecodeError e_ = error_of(json);                                            \
    EXPECT_EQ(decode_error_code_name(e_.code), decode_error_code_name(expected_code)) \
        << e_.message();                                                              \
    EXPECT_EQ(e_.message(), expected_message);                                        \
  } while (0)

// Required and optional payload fields per type, as in PRODUCT.md (independent of the code).
struct FieldSpec {
  const char* type;
  std::vector<const char*> required;
  std::vector<const char*> optional;
};
const std::vector<FieldSpec>& field_specs() {
  static const std::vector<FieldSpec> specs = {
      {"CredentialOfferSent",
       {"offer_id", "credential_issuer", "credential_configuration_ids"},
       {"grants", "credential_offer_uri"}},
      {"CredentialOfferReceived",
       {"offer_id", "credential_issuer", "credential_configuration_ids"},
       {"grants", "credential_offer_uri"}},
      {"CredentialIssued",
       {"credential", "credential_type"},
       {"notification_id", "transaction_id"}},
      {"CredentialAcknowledged", {"notification_id", "event"}, {}},
      {"CredentialStored", {"credential_id", "credential_type", "issuer"}, {"notification_id"}},
      {"CredentialDeleted", {"credential_id", "notification_id", "event"}, {}},
      {"PresentationRequestSent",
       {"request_id", "dcql_query", "nonce", "client_id"},
       {"response_uri"}},
      {"PresentationRequestReceived",
       {"request_id", "dcql_query", "nonce", "client_id"},
       {"response_uri"}},
      {"PresentationSubmitted", {"request_id", "presentation_submission_id", "vp_token"}, {}},
      {"PresentationVerified",
       {"request_id", "presentation_submission_id", "validation_status", "holder_binding_verified"},
       {}},
      {"KeyCreated", {"key_id", "kid", "key_type"}, {"key_attestation"}},
      {"KeyRotated", {"old_key_id", "new_key_id", "new_kid", "key_type"}, {"key_attestation"}},
      {"KeyRevoked", {"key_id", "kid", "revocation_reason"}, {}},
  };
  return specs;
}

const char* const kMetadataFields[] = {"event_id", "timestamp", "correlation_id", "wallet_id",
                                       "schema_version"};

// ---- golden files --------------------------------------------------------------------------

TEST(EventsDecode, EveryGoldenFileDecodesToItsType) {
  const auto files = golden_files();
  ASSERT_GE(files.size(), 13u) << golden_dir();
  std::set<EventType> seen;
  for (const auto& file : files) {
    SCOPED_TRACE(file.filename().string());
    const std::string json = read_file(file);
    const WalletEvent event = decoded(json);  // and check_event agrees
    auto result = decode_event(json);
    ASSERT_TRUE(result.ok()) << result.error().message();
    EXPECT_EQ(result.value(), event);
    const std::string stem = file.filename().string();
    const std::string type_name = stem.substr(0, stem.find('.'));
    EXPECT_EQ(event_type_name(type_of(result.value())), type_name);
    const EventMetadata& m = metadata_of(result.value());
    EXPECT_EQ(m.schema_version, "1.0.0");
    EXPECT_EQ(m.event_id.size(), 36u);
    EXPECT_FALSE(m.correlation_id.empty());
    EXPECT_FALSE(m.wallet_id.empty());
    seen.insert(type_of(result.value()));
  }
  EXPECT_EQ(seen.size(), 13u) << "a golden file per event type";
}

TEST(EventsDecode, GoldenCredentialOfferSentValues) {
  auto e = decoded_as<CredentialOfferSent>(golden("CredentialOfferSent"));
  EXPECT_EQ(e.metadata.event_id, "1f0e2d3c-4b5a-4978-8796-a5b4c3d2e101");
  EXPECT_EQ(format_timestamp(e.metadata.timestamp), "2026-02-06T10:18:43.123456789Z");
  EXPECT_EQ(e.metadata.correlation_id, "flow-issuance-001");
  EXPECT_EQ(e.metadata.wallet_id, "wallet-7f3a");
  EXPECT_EQ(e.offer_id, "offer-789");
  EXPECT_EQ(e.credential_issuer, "https://issuer.example.com");
  EXPECT_EQ(e.credential_configuration_ids,
            (std::vector<std::string>{"UniversityDegree", "ProofOfAge"}));
  ASSERT_TRUE(e.grants);
  ASSERT_TRUE(e.grants->authorization_code);
  EXPECT_EQ(e.grants->authorization_code->issuer_state, "eyJhbGciOiJSU0Et");
  EXPECT_FALSE(e.grants->pre_authorized_code);
  EXPECT_FALSE(e.credential_offer_uri);
}

TEST(EventsDecode, GoldenCredentialOfferReceivedValues) {
  auto e = decoded_as<CredentialOfferReceived>(golden("CredentialOfferReceived"));
  EXPECT_EQ(format_timestamp(e.metadata.timestamp), "2026-02-06T10:18:43.500Z");
  ASSERT_TRUE(e.grants);
  EXPECT_FALSE(e.grants->authorization_code);
  ASSERT_TRUE(e.grants->pre_authorized_code);
  EXPECT_EQ(e.grants->pre_authorized_code->pre_authorized_code, "adhjhdjajkdkhjhdj");
  ASSERT_TRUE(e.grants->pre_authorized_code->tx_code);
  const TxCode& tx = *e.grants->pre_authorized_code->tx_code;
  EXPECT_EQ(tx.input_mode, "numeric");
  EXPECT_EQ(tx.length, 6u);
  EXPECT_EQ(tx.description, "Please provide the one-time code sent by e-mail");
  EXPECT_EQ(e.credential_offer_uri, "https://issuer.example.com/offers/offer-789");
}

TEST(EventsDecode, GoldenValuesOfTheOtherTypes) {
  auto issued = decoded_as<CredentialIssued>(golden("CredentialIssued"));
  EXPECT_EQ(issued.credential_type, "UniversityDegree");
  EXPECT_EQ(issued.notification_id, "3fwe98js");
  EXPECT_FALSE(issued.transaction_id);
  EXPECT_TRUE(issued.credential.starts_with("eyJhbGciOiJFUzI1NiIsInR5cCI6InZjK3NkLWp3dCJ9."));

  auto ack = decoded_as<CredentialAcknowledged>(golden("CredentialAcknowledged"));
  EXPECT_EQ(ack.notification_id, "3fwe98js");
  EXPECT_EQ(ack.event, "credential_accepted");

  auto stored = decoded_as<CredentialStored>(golden("CredentialStored"));
  EXPECT_EQ(stored.credential_id, "cred-0001");
  EXPECT_EQ(stored.issuer, "https://issuer.example.com");
  EXPECT_EQ(stored.notification_id, "3fwe98js");

  auto deleted = decoded_as<CredentialDeleted>(golden("CredentialDeleted"));
  EXPECT_EQ(deleted.event, "credential_deleted");
  EXPECT_EQ(format_timestamp(deleted.metadata.timestamp), "2026-03-01T08:00:00Z");

  auto sent = decoded_as<PresentationRequestSent>(golden("PresentationRequestSent"));
  EXPECT_EQ(
      sent.dcql_query,
      R"({"credentials":[{"id":"degree","format":"dc+sd-jwt","meta":{"vct_values":["UniversityDegree"]}}]})");
  EXPECT_EQ(sent.response_uri, "https://verifier.example.org/post");
  EXPECT_EQ(format_timestamp(sent.metadata.timestamp), "2026-02-07T09:00:00.000001Z");

  auto received = decoded_as<PresentationRequestReceived>(golden("PresentationRequestReceived"));
  EXPECT_EQ(received.nonce, "n-0S6_WzA2Mj");
  EXPECT_EQ(received.client_id, "x509_san_dns:verifier.example.org");
  EXPECT_FALSE(received.response_uri);

  auto submitted = decoded_as<PresentationSubmitted>(golden("PresentationSubmitted"));
  EXPECT_EQ(submitted.presentation_submission_id, "sub-456");
  EXPECT_TRUE(submitted.vp_token.starts_with(R"({"degree":["eyJ)"));

  auto valid = decoded_as<PresentationVerified>(golden("PresentationVerified"));
  EXPECT_EQ(valid.validation_status, ValidationStatus::Valid());
  EXPECT_TRUE(valid.holder_binding_verified);

  auto invalid = decoded_as<PresentationVerified>(golden("PresentationVerified.2"));
  EXPECT_EQ(invalid.validation_status, ValidationStatus::Invalid("key binding JWT nonce mismatch"));
  EXPECT_FALSE(invalid.holder_binding_verified);
  EXPECT_EQ(invalid.metadata.wallet_id, "wallet-b2c1");

  auto created = decoded_as<KeyCreated>(golden("KeyCreated"));
  EXPECT_EQ(created.kid, "did:example:123#key-1");
  EXPECT_EQ(created.key_type, "EC");
  ASSERT_TRUE(created.key_attestation);

  auto rotated = decoded_as<KeyRotated>(golden("KeyRotated"));
  EXPECT_EQ(rotated.old_key_id, "key-123");
  EXPECT_EQ(rotated.new_key_id, "key-124");
  EXPECT_EQ(rotated.new_kid, "did:example:123#key-2");
  EXPECT_FALSE(rotated.key_attestation);

  auto revoked = decoded_as<KeyRevoked>(golden("KeyRevoked"));
  EXPECT_EQ(revoked.revocation_reason, "superseded");
}

// ---- record-level rejections ---------------------------------------------------------------

TEST(EventsDecode, RejectsMalformedJson) {
  for (std::string_view bad : {R"({"event_type": )", "", "   ", "{} x", "{}{}", "[1,]",
                               R"({"a" 1})", "nul", R"({"a":"\ud800"})", "{\"a\":\"x\ny\"}"}) {
    SCOPED_TRACE(bad);
    const DecodeError e = error_of(bad);
    EXPECT_EQ(e.code, Code::kMalformedJson);
    EXPECT_EQ(e.field, "");
    EXPECT_TRUE(e.reason.starts_with("not valid JSON: ")) << e.reason;
    EXPECT_GT(e.reason.size(), std::string_view("not valid JSON: ").size());
  }
  // A number no 64-bit type holds is refused by the parser (as by the Rust seed's serde_json).
  EXPECT_EQ(error_of(R"({"a":1e400})").code, Code::kMalformedJson);
}

TEST(EventsDecode, RejectsInvalidUtf8) {
  std::string json = golden("CredentialStored");
  json.replace(json.find("cred-0001"), 4, "cr\xff\xfe");
  EXPECT_DECODE_ERROR(json, Code::kInvalidUtf8, "the record is not valid UTF-8");
  // Overlong encoding of '/', in an unknown member.
  EXPECT_DECODE_ERROR("{\"x\":\"\xc0\xaf\"}", Code::kInvalidUtf8, "the record is not valid UTF-8");
  // An encoded UTF-16 surrogate.
  EXPECT_DECODE_ERROR("{\"x\":\"\xed\xa0\x80\"}", Code::kInvalidUtf8,
                      "the record is not valid UTF-8");
}

TEST(EventsDecode, RejectsOversizedRecordBeforeParsing) {
  EXPECT_EQ(error_of(golden("KeyRevoked"), {.max_bytes = 100}).message(),
            "record is 385 bytes, the limit is 100");
  EXPECT_EQ(error_of(golden("KeyRevoked"), {.max_bytes = 100}).code, Code::kTooLarge);
  // Not even parsed: garbage larger than the limit is "too large", not "malformed".
  EXPECT_EQ(error_of(std::string(2000, '!'), {.max_bytes = 1000}).code, Code::kTooLarge);

  // The default limit is 1 MiB: a record of exactly 1 MiB (padded with an unknown member)
  // decodes, one byte more does not.
  ojson j = golden_json("CredentialStored");
  j["payload"]["padding"] = "";
  const size_t base = j.dump().size();
  j["payload"]["padding"] = std::string((1u << 20) - base, 'p');
  std::string exact = j.dump();
  ASSERT_EQ(exact.size(), 1u << 20);
  EXPECT_TRUE(decode_event(exact).ok());
  j["payload"]["padding"] = std::string((1u << 20) - base + 1, 'p');
  EXPECT_DECODE_ERROR(j.dump(), Code::kTooLarge, "record is 1048577 bytes, the limit is 1048576");
}

std::string nested_array(size_t depth) {
  return std::string(depth, '[') + "0" + std::string(depth, ']');
}

TEST(EventsDecode, RejectsExcessiveNesting) {
  // CredentialOfferReceived nests 5 levels: envelope, payload, grants, pre_authorized_code,
  // tx_code.
  const std::string offer = golden("CredentialOfferReceived");
  EXPECT_TRUE(decode_event(offer, {.max_depth = 5}).ok());
  const DecodeError e = error_of(offer, {.max_depth = 4});
  EXPECT_EQ(e.code, Code::kTooDeep);
  EXPECT_EQ(e.message(), "nesting of objects and arrays is too deep");

  // Default 32: an unknown member at payload level adds levels 3.. to the envelope's 2.
  ojson j = golden_json("KeyRevoked");
  j["payload"]["deep"] = ojson::parse(nested_array(30));  // 32 levels in all
  EXPECT_TRUE(decode_event(j.dump()).ok());
  j["payload"]["deep"] = ojson::parse(nested_array(31));  // 33
  EXPECT_EQ(error_of(j.dump()).code, Code::kTooDeep);
  // Also when the innermost container is empty, or an object.
  j["payload"]["deep"] = ojson::parse(std::string(30, '[') + "[]" + std::string(30, ']'));
  EXPECT_EQ(error_of(j.dump()).code, Code::kTooDeep);
  j["payload"]["deep"] = ojson::parse(std::string(30, '[') + "{}" + std::string(30, ']'));
  EXPECT_EQ(error_of(j.dump()).code, Code::kTooDeep);
  j["payload"]["deep"] = ojson::parse(std::string(29, '[') + "{}" + std::string(29, ']'));
  EXPECT_TRUE(decode_event(j.dump()).ok());
  // A hostile depth is refused without exhausting the stack.
  EXPECT_EQ(error_of(nested_array(100000), {.max_bytes = 1 << 20}).code, Code::kTooDeep);
  // Limits may change from call to call on the same thread.
  EXPECT_TRUE(decode_event(offer).ok());
  EXPECT_EQ(error_of(offer, {.max_depth = 2}).code, Code::kTooDeep);
  EXPECT_TRUE(decode_event(offer, {.max_depth = 6}).ok());
}

TEST(EventsDecode, RejectsDuplicateKeysAnywhere) {
  EXPECT_DECODE_ERROR(R"({"event_type":"KeyRevoked","event_type":"KeyCreated","payload":{}})",
                      Code::kDuplicateKey, "event_type: duplicate key");

  std::string json = golden("CredentialStored");
  json.insert(json.find("\"correlation_id\""), R"("event_id": "x", )");
  EXPECT_DECODE_ERROR(json, Code::kDuplicateKey, "payload.metadata.event_id: duplicate key");

  // Inside an unknown member, in an array; and a key that is not a plain name.
  ojson j = golden_json("KeyRevoked");
  j["payload"]["extra"] = ojson::array({1, ojson::object()});
  std::string text = j.dump();
  text.replace(text.find("{}"), 2, R"({"a":1,"b":{"x y":1,"x y":2}})");
  EXPECT_DECODE_ERROR(text, Code::kDuplicateKey, R"(payload.extra[1].b["x y"]: duplicate key)");

  // A large object (sorted check): the duplicate is still named.
  j = golden_json("KeyRevoked");
  for (int i = 0; i < 200; ++i) j["payload"]["k" + std::to_string(i)] = i;
  text = j.dump();
  text.insert(text.rfind('}') - 1, R"(,"k150":0)");
  EXPECT_DECODE_ERROR(text, Code::kDuplicateKey, "payload.k150: duplicate key");
  // Escaped and unescaped spellings of the same key are the same key.
  EXPECT_DECODE_ERROR(R"({"a":1,"\u0061":2})", Code::kDuplicateKey, "a: duplicate key");
}

TEST(EventsDecode, RejectsNonObjects) {
  EXPECT_DECODE_ERROR("[]", Code::kNotAnObject, "expected object, got array");
  EXPECT_DECODE_ERROR("\"CredentialStored\"", Code::kNotAnObject, "expected object, got string");
  EXPECT_DECODE_ERROR("null", Code::kNotAnObject, "expected object, got null");

  ojson j = golden_json("CredentialStored");
  j["payload"] = "x";
  EXPECT_DECODE_ERROR(j.dump(), Code::kNotAnObject, "payload: expected object, got string");
  j["payload"] = ojson::array();
  EXPECT_DECODE_ERROR(j.dump(), Code::kNotAnObject, "payload: expected object, got array");

  j = golden_json("CredentialStored");
  j["payload"]["metadata"] = 5;
  EXPECT_DECODE_ERROR(j.dump(), Code::kNotAnObject,
                      "payload.metadata: expected object, got number");
}

TEST(EventsDecode, RejectsMissingOrBadEventType) {
  EXPECT_DECODE_ERROR(R"({"payload":{}})", Code::kMissingEventType,
                      "event_type: required field is missing");
  EXPECT_DECODE_ERROR(R"({"event_type":null,"payload":{}})", Code::kMissingEventType,
                      "event_type: required field is missing");
  EXPECT_DECODE_ERROR(R"({"event_type":5,"payload":{}})", Code::kWrongType,
                      "event_type: expected string, got number");
  EXPECT_DECODE_ERROR(R"({"event_type":"CredentialBurned","payload":{}})", Code::kUnknownEventType,
                      R"(event_type: unknown event type "CredentialBurned")");
  // Case-sensitive.
  EXPECT_DECODE_ERROR(R"({"event_type":"credentialstored","payload":{}})", Code::kUnknownEventType,
                      R"(event_type: unknown event type "credentialstored")");
  // The value is quoted with escapes, and a long one is cut.
  EXPECT_DECODE_ERROR(R"({"event_type":"a\"b\n","payload":{}})", Code::kUnknownEventType,
                      R"(event_type: unknown event type "a\"b\n")");
  const std::string long_name(200, 'X');
  EXPECT_DECODE_ERROR(
      R"({"event_type":")" + long_name + R"("})", Code::kUnknownEventType,
      "event_type: unknown event type \"" + std::string(64, 'X') + "\"... (200 bytes)");
}

TEST(EventsDecode, RejectsMissingPayloadAndMetadata) {
  EXPECT_DECODE_ERROR(R"({"event_type":"KeyRevoked"})", Code::kMissingField,
                      "payload: required field is missing");
  EXPECT_DECODE_ERROR(R"({"event_type":"KeyRevoked","payload":null})", Code::kMissingField,
                      "payload: required field is missing");
  for (const auto& spec : field_specs()) {
    SCOPED_TRACE(spec.type);
    ojson j = golden_json(spec.type);
    j["payload"].erase("metadata");
    EXPECT_DECODE_ERROR(j.dump(), Code::kMissingField,
                        "payload.metadata: required field is missing");
    j["payload"]["metadata"] = nullptr;
    EXPECT_DECODE_ERROR(j.dump(), Code::kMissingField,
                        "payload.metadata: required field is missing");
  }
}

// ---- field-level rejections ----------------------------------------------------------------

TEST(EventsDecode, RejectsEachMissingOrNullMetadataField) {
  for (const char* field : kMetadataFields) {
    SCOPED_TRACE(field);
    ojson j = golden_json("KeyCreated");
    j["payload"]["metadata"].erase(field);
    const std::string msg =
        std::string("payload.metadata.") + field + ": required field is missing";
    EXPECT_DECODE_ERROR(j.dump(), Code::kMissingField, msg);
    j["payload"]["metadata"][field] = nullptr;
    EXPECT_DECODE_ERROR(j.dump(), Code::kMissingField, msg);
    j["payload"]["metadata"][field] = 7;
    EXPECT_DECODE_ERROR(j.dump(), Code::kWrongType,
                        std::string("payload.metadata.") + field + ": expected string, got number");
  }
}

TEST(EventsDecode, RejectsEachMissingOrNullRequiredFieldOfEachType) {
  size_t checked = 0;
  for (const auto& spec : field_specs()) {
    for (const char* field : spec.required) {
      SCOPED_TRACE(std::string(spec.type) + "." + field);
      const std::string msg = std::string("payload.") + field + ": required field is missing";
      ojson j = golden_json(spec.type);
      ASSERT_TRUE(j["payload"].contains(field));
      j["payload"].erase(field);
      EXPECT_DECODE_ERROR(j.dump(), Code::kMissingField, msg);
      j["payload"][field] = nullptr;
      EXPECT_DECODE_ERROR(j.dump(), Code::kMissingField, msg);
      ++checked;
    }
  }
  EXPECT_EQ(checked, 41u);
  // Required members of nested objects.
  ojson j = golden_json("CredentialOfferReceived");
  j["payload"]["grants"]["pre_authorized_code"].erase("pre_authorized_code");
  EXPECT_DECODE_ERROR(j.dump(), Code::kMissingField,
                      "payload.grants.pre_authorized_code.pre_authorized_code: required field is "
                      "missing");
}

TEST(EventsDecode, RejectsWrongTypes) {
  ojson j = golden_json("CredentialStored");
  j["payload"]["credential_id"] = 42;
  EXPECT_DECODE_ERROR(j.dump(), Code::kWrongType,
                      "payload.credential_id: expected string, got number");
  j = golden_json("CredentialStored");
  j["payload"]["notification_id"] = ojson::array();  // optional, but not any type
  EXPECT_DECODE_ERROR(j.dump(), Code::kWrongType,
                      "payload.notification_id: expected string, got array");

  j = golden_json("CredentialOfferSent");
  j["payload"]["credential_configuration_ids"] = "UniversityDegree";
  EXPECT_DECODE_ERROR(j.dump(), Code::kWrongType,
                      "payload.credential_configuration_ids: expected array, got string");
  j["payload"]["credential_configuration_ids"] = ojson::array({"a", "b", 3});
  EXPECT_DECODE_ERROR(j.dump(), Code::kWrongType,
                      "payload.credential_configuration_ids[2]: expected string, got number");
  j["payload"]["credential_configuration_ids"] = ojson::array({nullptr});
  EXPECT_DECODE_ERROR(j.dump(), Code::kWrongType,
                      "payload.credential_configuration_ids[0]: expected string, got null");

  j = golden_json("CredentialOfferSent");
  j["payload"]["grants"] = ojson::array();
  EXPECT_DECODE_ERROR(j.dump(), Code::kWrongType, "payload.grants: expected object, got array");
  j = golden_json("CredentialOfferSent");
  j["payload"]["grants"]["authorization_code"] = true;
  EXPECT_DECODE_ERROR(j.dump(), Code::kWrongType,
                      "payload.grants.authorization_code: expected object, got boolean");
  j = golden_json("CredentialOfferSent");
  j["payload"]["grants"]["authorization_code"]["issuer_state"] = 1.5;
  EXPECT_DECODE_ERROR(j.dump(), Code::kWrongType,
                      "payload.grants.authorization_code.issuer_state: expected string, got "
                      "number");
  j = golden_json("CredentialOfferReceived");
  j["payload"]["grants"]["pre_authorized_code"]["tx_code"] = "6";
  EXPECT_DECODE_ERROR(j.dump(), Code::kWrongType,
                      "payload.grants.pre_authorized_code.tx_code: expected object, got string");
  j = golden_json("CredentialOfferReceived");
  j["payload"]["grants"]["pre_authorized_code"]["tx_code"]["length"] = "6";
  EXPECT_DECODE_ERROR(j.dump(), Code::kWrongType,
                      "payload.grants.pre_authorized_code.tx_code.length: expected integer, got "
                      "string");

  j = golden_json("PresentationVerified");
  j["payload"]["holder_binding_verified"] = "true";
  EXPECT_DECODE_ERROR(j.dump(), Code::kWrongType,
                      "payload.holder_binding_verified: expected boolean, got string");
  j["payload"]["holder_binding_verified"] = 1;
  EXPECT_DECODE_ERROR(j.dump(), Code::kWrongType,
                      "payload.holder_binding_verified: expected boolean, got number");
}

TEST(EventsDecode, RejectsBadUuid) {
  for (std::string_view bad :
       {"not-a-uuid", "1f0e2d3c4b5a497887 96a5b4c3d2e101", "1f0e2d3c-4b5a-4978-8796-a5b4c3d2e10",
        "1f0e2d3c-4b5a-4978-8796-a5b4c3d2e1011", "1f0e2d3g-4b5a-4978-8796-a5b4c3d2e101",
        "{1f0e2d3c-4b5a-4978-8796-a5b4c3d2e101}", "1f0e2d3c4b5a49788796a5b4c3d2e101", ""}) {
    SCOPED_TRACE(bad);
    ojson j = golden_json("CredentialStored");
    j["payload"]["metadata"]["event_id"] = bad;
    EXPECT_DECODE_ERROR(j.dump(), Code::kInvalidValue,
                        "payload.metadata.event_id: not a UUID: \"" + std::string(bad) + "\"");
  }
}

TEST(EventsDecode, RejectsBadTimestamps) {
  ojson j = golden_json("CredentialStored");
  j["payload"]["metadata"]["timestamp"] = "yesterday";
  EXPECT_DECODE_ERROR(j.dump(), Code::kInvalidValue,
                      R"(payload.metadata.timestamp: not RFC 3339: "yesterday")");
  for (std::string_view bad : {
           "2026-02-30T10:00:00Z",       // no Feb 30
           "2026-02-29T10:00:00Z",       // not a leap year
           "2026-04-31T10:00:00Z",       // April has 30 days
           "2026-13-01T10:00:00Z",       // month 13
           "2026-00-10T10:00:00Z",       // month 0
           "2026-01-00T10:00:00Z",       // day 0
           "2026-02-06T24:00:00Z",       // hour 24
           "2026-02-06T10:60:00Z",       // minute 60
           "2026-02-06T10:18:60Z",       // leap second: not representable
           "2026-02-06T10:18:44",        // no offset
           "2026-02-06 10:18:44Z",       // space separator
           "2026-02-06T10:18:44.Z",      // empty fraction
           "2026-02-06T10:18:44,5Z",     // comma fraction
           "2026-02-06T10:18:44+0530",   // offset without colon
           "2026-02-06T10:18:44+05:60",  // offset minute 60
           "2026-02-06T10:18:44+24:00",  // offset hour 24
           "2026-02-06T10:18:44Z ",      // trailing space
           "2026-2-6T10:18:44Z",         // short fields
           "+2026-02-06T10:18:44Z",      // sign
           "2026-02-06",                 // date only
           "",
       }) {
    SCOPED_TRACE(bad);
    j["payload"]["metadata"]["timestamp"] = bad;
    EXPECT_DECODE_ERROR(j.dump(), Code::kInvalidValue,
                        "payload.metadata.timestamp: not RFC 3339: \"" + std::string(bad) + "\"");
  }
  j["payload"]["metadata"]["timestamp"] = "9999-12-31T23:59:59Z";
  EXPECT_DECODE_ERROR(j.dump(), Code::kInvalidValue,
                      "payload.metadata.timestamp: outside the supported range "
                      "1677-09-21..2262-04-11: \"9999-12-31T23:59:59Z\"");
}

TEST(EventsDecode, RejectsOtherSchemaMajorVersions) {
  ojson j = golden_json("KeyRotated");
  j["payload"]["metadata"]["schema_version"] = "2.0.0";
  EXPECT_DECODE_ERROR(j.dump(), Code::kUnsupportedVersion,
                      "payload.metadata.schema_version: unsupported schema major version 2 (this "
                      "host reads 1.x.y)");
  j["payload"]["metadata"]["schema_version"] = "0.9.1";
  EXPECT_DECODE_ERROR(j.dump(), Code::kUnsupportedVersion,
                      "payload.metadata.schema_version: unsupported schema major version 0 (this "
                      "host reads 1.x.y)");
  for (std::string_view bad : {"1.0", "1", "v1.0.0", "1.0.0-rc1", "01.0.0", "1.00.0", "1..0",
                               "1.0.0.0", "1.0.", ".1.0", "1.a.0", ""}) {
    SCOPED_TRACE(bad);
    j["payload"]["metadata"]["schema_version"] = bad;
    EXPECT_DECODE_ERROR(j.dump(), Code::kInvalidValue,
                        "payload.metadata.schema_version: not a MAJOR.MINOR.PATCH version: \"" +
                            std::string(bad) + "\"");
  }
}

TEST(EventsDecode, RejectsTxCodeLengthOutsideUint32) {
  const std::string prefix = "payload.grants.pre_authorized_code.tx_code.length: ";
  const std::pair<const char*, std::string> cases[] = {
      {"4294967296", "out of range for uint32: 4294967296"},
      {"-1", "out of range for uint32: -1"},
      {"18446744073709551615", "out of range for uint32: 18446744073709551615"},
      {"1e30", "out of range for uint32: 1e+30"},
      {"6.5", "not an integer: 6.5"},
  };
  for (const auto& [number, reason] : cases) {
    SCOPED_TRACE(number);
    std::string json = golden("CredentialOfferReceived");
    json.replace(json.find("\"length\": 6"), 11, std::string("\"length\": ") + number);
    EXPECT_DECODE_ERROR(json, Code::kInvalidValue, prefix + reason);
  }
  for (const auto& [number, value] :
       {std::pair{"4294967295", 4294967295u}, {"0", 0u}, {"6.0", 6u}, {"6e0", 6u}}) {
    SCOPED_TRACE(number);
    std::string json = golden("CredentialOfferReceived");
    json.replace(json.find("\"length\": 6"), 11, std::string("\"length\": ") + number);
    auto e = decoded_as<CredentialOfferReceived>(json);
    EXPECT_EQ(e.grants->pre_authorized_code->tx_code->length, value);
  }
}

TEST(EventsDecode, RejectsBadValidationStatus) {
  const auto with_status = [](const ojson& status) {
    ojson j = golden_json("PresentationVerified");
    j["payload"]["validation_status"] = status;
    return j.dump();
  };
  EXPECT_DECODE_ERROR(
      with_status("valid"), Code::kInvalidValue,
      R"(payload.validation_status: expected "Valid" or {"Invalid": {"reason": string}}, got "valid")");
  EXPECT_DECODE_ERROR(
      with_status("Invalid"), Code::kInvalidValue,
      R"(payload.validation_status: expected "Valid" or {"Invalid": {"reason": string}}, got "Invalid")");
  EXPECT_DECODE_ERROR(with_status(true), Code::kWrongType,
                      "payload.validation_status: expected string or object, got boolean");
  EXPECT_DECODE_ERROR(
      with_status(ojson::object()), Code::kInvalidValue,
      R"(payload.validation_status: expected "Valid" or {"Invalid": {"reason": string}}, got an object without "Invalid")");
  EXPECT_DECODE_ERROR(
      with_status({{"Valid", nullptr}}), Code::kInvalidValue,
      R"(payload.validation_status: expected "Valid" or {"Invalid": {"reason": string}}, got an object without "Invalid")");
  EXPECT_DECODE_ERROR(with_status({{"Invalid", nullptr}}), Code::kMissingField,
                      "payload.validation_status.Invalid: required field is missing");
  EXPECT_DECODE_ERROR(with_status({{"Invalid", "nonce"}}), Code::kWrongType,
                      "payload.validation_status.Invalid: expected object, got string");
  EXPECT_DECODE_ERROR(with_status({{"Invalid", ojson::object()}}), Code::kMissingField,
                      "payload.validation_status.Invalid.reason: required field is missing");
  EXPECT_DECODE_ERROR(with_status({{"Invalid", {{"reason", 3}}}}), Code::kWrongType,
                      "payload.validation_status.Invalid.reason: expected string, got number");
}

TEST(EventsDecode, ReportsTheFirstProblemInWireOrder) {
  // Metadata before payload fields, and payload fields in wire order.
  ojson j = golden_json("CredentialStored");
  j["payload"].erase("issuer");
  j["payload"].erase("credential_id");
  j["payload"]["metadata"]["timestamp"] = "later";
  EXPECT_EQ(error_of(j.dump()).field, "payload.metadata.timestamp");
  j["payload"]["metadata"]["timestamp"] = "2026-02-06T10:18:44Z";
  EXPECT_EQ(error_of(j.dump()).field, "payload.credential_id");
  // An unknown event type is reported before a missing payload.
  EXPECT_EQ(error_of(R"({"event_type":"Nope"})").code, Code::kUnknownEventType);
}

// ---- lenient cases -------------------------------------------------------------------------

TEST(EventsDecode, AcceptsMissingAndNullOptionalFields) {
  size_t checked = 0;
  for (const auto& spec : field_specs()) {
    for (const char* field : spec.optional) {
      SCOPED_TRACE(std::string(spec.type) + "." + field);
      ojson j = golden_json(spec.type);
      j["payload"].erase(field);
      const WalletEvent missing = decoded(j.dump());
      j["payload"][field] = nullptr;
      const WalletEvent null = decoded(j.dump());
      EXPECT_EQ(missing, null);
      // Encoding writes the absent field as null.
      EXPECT_TRUE(ojson::parse(encode_event(missing))["payload"][field].is_null());
      ++checked;
    }
  }
  EXPECT_EQ(checked, 11u);

  // Optional members of the grants objects.
  ojson j = golden_json("CredentialOfferReceived");
  j["payload"]["grants"] = ojson::object();
  auto offer = decoded_as<CredentialOfferReceived>(j.dump());
  ASSERT_TRUE(offer.grants);
  EXPECT_EQ(*offer.grants, Grants{});
  j["payload"]["grants"] = {{"authorization_code", ojson::object()},
                            {"pre_authorized_code", {{"pre_authorized_code", "abc"}}}};
  offer = decoded_as<CredentialOfferReceived>(j.dump());
  EXPECT_EQ(offer.grants->authorization_code, AuthorizationCodeGrant{});
  EXPECT_EQ(offer.grants->pre_authorized_code->pre_authorized_code, "abc");
  EXPECT_FALSE(offer.grants->pre_authorized_code->tx_code);
  j["payload"]["grants"]["pre_authorized_code"]["tx_code"] = {{"input_mode", nullptr},
                                                              {"length", nullptr}};
  offer = decoded_as<CredentialOfferReceived>(j.dump());
  EXPECT_EQ(offer.grants->pre_authorized_code->tx_code, TxCode{});
  j["payload"]["credential_configuration_ids"] = ojson::array();
  offer = decoded_as<CredentialOfferReceived>(j.dump());
  EXPECT_TRUE(offer.credential_configuration_ids.empty());
}

TEST(EventsDecode, IgnoresUnknownFieldsEverywhere) {
  ojson j = golden_json("CredentialOfferReceived");
  const WalletEvent plain = decoded(j.dump());
  j["future_envelope_field"] = {{"nested", ojson::array({1, 2.5, nullptr, "x"})}};
  j["payload"]["future_payload_field"] = 12345678901234LL;
  j["payload"]["metadata"]["trace_id"] = "abc";
  j["payload"]["grants"]["urn:ietf:params:oauth:grant-type:other"] = {{"x", 1}};
  j["payload"]["grants"]["pre_authorized_code"]["authorization_server"] = "https://as";
  j["payload"]["grants"]["pre_authorized_code"]["tx_code"]["extra"] = false;
  EXPECT_EQ(decoded(j.dump()), plain);

  j = golden_json("PresentationVerified.2");
  j["payload"]["validation_status"]["Invalid"]["code"] = 17;
  EXPECT_EQ(decoded(j.dump()), decoded(golden("PresentationVerified.2")));
}

// The decoders find the envelope's, payload's and metadata's fields among the members the
// structure walk kept; objects with more members than it keeps are read through simdjson. Both
// ways must find the same fields, and only the record's own payload and metadata count.
TEST(EventsDecode, ReadsObjectsOfAnySizeAndOnlyTheRecordsOwnPayloadAndMetadata) {
  for (const char* type : {"CredentialOfferReceived", "PresentationVerified.2", "KeyRotated"}) {
    SCOPED_TRACE(type);
    const WalletEvent plain = decoded(golden(type));
    for (int extra : {0, 5, 16, 17, 40}) {
      SCOPED_TRACE(extra);
      ojson j = golden_json(type);
      for (int i = 0; i < extra; ++i) {
        const std::string name = "x" + std::to_string(i);
        j[name] = i;
        j["payload"][name] = i;
        j["payload"]["metadata"][name] = i;
      }
      EXPECT_EQ(decoded(j.dump()), plain);
      // A missing field is reported the same way whichever way the object is read.
      ojson missing = j;
      missing["payload"]["metadata"].erase("wallet_id");
      EXPECT_DECODE_ERROR(missing.dump(), Code::kMissingField,
                          "payload.metadata.wallet_id: required field is missing");
      // Duplicates are refused before any field is read, in large objects too.
      std::string dup = j.dump();
      dup.insert(dup.find("\"wallet_id\""), R"("wallet_id":"other",)");
      EXPECT_DECODE_ERROR(dup, Code::kDuplicateKey, "payload.metadata.wallet_id: duplicate key");
    }
  }
  // Members named payload and metadata elsewhere in the record are not the record's.
  ojson j = golden_json("KeyRevoked");
  const WalletEvent plain = decoded(j.dump());
  ojson decoy = j["payload"];
  decoy["metadata"]["wallet_id"] = "decoy";
  j["wrapper"] = {{"payload", decoy}};
  j["payload"]["nested"] = {{"metadata", decoy["metadata"]}};
  j["payload"]["metadata"]["extension"] = {{"metadata", decoy["metadata"]}};
  EXPECT_EQ(decoded(j.dump()), plain);
  EXPECT_EQ(metadata_of(decoded(j.dump())).wallet_id, metadata_of(plain).wallet_id);
}

TEST(EventsDecode, AcceptsAnyCaseUuidAndKeepsIt) {
  ojson j = golden_json("CredentialStored");
  j["payload"]["metadata"]["event_id"] = "1F0E2D3C-4B5A-4978-8796-A5B4C3D2E105";
  EXPECT_EQ(metadata_of(decoded(j.dump())).event_id, "1F0E2D3C-4B5A-4978-8796-A5B4C3D2E105");
  // Other UUID versions too (v7 here).
  j["payload"]["metadata"]["event_id"] = "01890a5d-ac96-774b-bcce-b302099a8057";
  EXPECT_TRUE(decode_event(j.dump()).ok());
}

TEST(EventsDecode, ConvertsTimestampOffsetsAndFractions) {
  const std::pair<const char*, const char*> cases[] = {
      {"2026-02-06T15:48:44+05:30", "2026-02-06T10:18:44Z"},
      {"2026-02-06T02:18:44-08:00", "2026-02-06T10:18:44Z"},
      {"2026-02-06T10:18:44-00:00", "2026-02-06T10:18:44Z"},
      {"2026-02-06T00:30:00+01:00", "2026-02-05T23:30:00Z"},   // crosses midnight
      {"2024-03-01T00:30:00+01:00", "2024-02-29T23:30:00Z"},   // into a leap day
      {"2026-02-06t10:18:44z", "2026-02-06T10:18:44Z"},        // lower-case t and z
      {"2026-02-06T10:18:44.5Z", "2026-02-06T10:18:44.500Z"},  // 1 digit
      {"2026-02-06T10:18:44.123456789999Z", "2026-02-06T10:18:44.123456789Z"},  // 12: truncated
      {"2026-02-06T10:18:44.000000Z", "2026-02-06T10:18:44Z"},
  };
  for (const auto& [in, out] : cases) {
    SCOPED_TRACE(in);
    ojson j = golden_json("CredentialStored");
    j["payload"]["metadata"]["timestamp"] = in;
    EXPECT_EQ(format_timestamp(metadata_of(decoded(j.dump())).timestamp), out);
  }
}

TEST(EventsDecode, AcceptsAnyMinorAndPatchOfVersion1) {
  for (std::string_view version : {"1.7.3", "1.0.0", "1.10.200"}) {
    ojson j = golden_json("KeyRevoked");
    j["payload"]["metadata"]["schema_version"] = version;
    EXPECT_EQ(metadata_of(decoded(j.dump())).schema_version, version);
  }
}

TEST(EventsDecode, AcceptsAnyMemberOrderAndEscapedNames) {
  ojson j = golden_json("KeyCreated");
  ojson reordered = ojson::object();
  reordered["payload"] = ojson::object();
  const ojson& payload = j["payload"];
  std::vector<std::string> keys;
  for (const auto& [key, value] : payload.items()) keys.push_back(key);
  std::reverse(keys.begin(), keys.end());
  for (const auto& key : keys) reordered["payload"][key] = payload[key];
  reordered["event_type"] = "KeyCreated";
  EXPECT_EQ(decoded(reordered.dump()), decoded(golden("KeyCreated")));

  std::string escaped = golden("KeyRevoked");
  escaped.replace(escaped.find("\"event_type\""), 12, R"("event\u005ftype")");
  EXPECT_EQ(decoded(escaped), decoded(golden("KeyRevoked")));
}

TEST(EventsDecode, KeepsUnicodeAndEscapesInStrings) {
  ojson j = golden_json("KeyRevoked");
  j["payload"]["revocation_reason"] = "compromis\xc3\xa9 \xf0\x9f\x94\x91 \"quoted\"\t\\";
  auto e = decoded_as<KeyRevoked>(j.dump());
  EXPECT_EQ(e.revocation_reason, "compromis\xc3\xa9 \xf0\x9f\x94\x91 \"quoted\"\t\\");
  std::string with_nul = golden("KeyRevoked");
  with_nul.replace(with_nul.find("superseded"), 10, R"(a\u0000b)");
  EXPECT_EQ(decoded_as<KeyRevoked>(with_nul).revocation_reason, std::string("a\0b", 3));
}

// ---- error values --------------------------------------------------------------------------

TEST(EventsDecode, ErrorCodeNamesAndMessages) {
  const std::pair<Code, const char*> names[] = {
      {Code::kMalformedJson, "malformed_json"},
      {Code::kInvalidUtf8, "invalid_utf8"},
      {Code::kTooLarge, "too_large"},
      {Code::kTooDeep, "too_deep"},
      {Code::kDuplicateKey, "duplicate_key"},
      {Code::kNotAnObject, "not_an_object"},
      {Code::kMissingEventType, "missing_event_type"},
      {Code::kUnknownEventType, "unknown_event_type"},
      {Code::kMissingField, "missing_field"},
      {Code::kWrongType, "wrong_type"},
      {Code::kInvalidValue, "invalid_value"},
      {Code::kUnsupportedVersion, "unsupported_version"},
      {Code::kWrongTopic, "wrong_topic"},
  };
  for (const auto& [code, name] : names) EXPECT_EQ(decode_error_code_name(code), name);
  EXPECT_EQ((DecodeError{Code::kMissingField, "payload.x", "required field is missing"}.message()),
            "payload.x: required field is missing");
  EXPECT_EQ((DecodeError{Code::kTooDeep, "", "too deep"}.message()), "too deep");
}

TEST(EventsDecode, IsSafeFromManyThreads) {
  std::vector<std::string> records;
  for (const auto& file : golden_files()) records.push_back(read_file(file));
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        const std::string& r = records[(i + t) % records.size()];
        // Alternate limits so parsers are re-sized while others run.
        auto ok = decode_event(r, {.max_depth = static_cast<size_t>(8 + (i % 3))});
        auto bad = decode_event(r, {.max_depth = 1});
        if (!ok.ok() || bad.ok()) failures.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

// The host checks a whole batch into one text buffer and builds its views once the batch is
// checked: spans taken early must still name the right bytes after the buffer has grown.
TEST(EventsDecode, CheckEventSpansStayValidAsTheTextGrows) {
  std::vector<std::string> records;
  for (const auto& file : golden_files()) records.push_back(read_file(file));
  ASSERT_GE(records.size(), 13u);
  std::string text;
  std::vector<CheckedEvent> checked;
  for (int round = 0; round < 20; ++round)
    for (const auto& r : records) {
      auto c = check_event(r, &text);
      ASSERT_TRUE(c.ok()) << c.error().message();
      checked.push_back(c.value());
    }
  for (size_t i = 0; i < checked.size(); ++i) {
    const WalletEvent event = decode_event(records[i % records.size()]).value();
    EXPECT_EQ(checked[i].type, type_of(event));
    EXPECT_EQ(checked[i].event_id.in(text), metadata_of(event).event_id);
    EXPECT_EQ(checked[i].wallet_id.in(text), metadata_of(event).wallet_id);
    EXPECT_EQ(checked[i].timestamp_text.in(text), format_timestamp(metadata_of(event).timestamp));
  }
}

}  // namespace
}  // namespace wallet_eventd
