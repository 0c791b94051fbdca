// The wallet event model: the 13 event types of the wire format, their metadata, and
// decode/encode to the JSON envelope {"event_type": ..., "payload": {...}}.
//
// Thread-safety: all types are plain values; the free functions are reentrant.
#ifndef WALLET_EVENTD_EVENTS_H_
#define WALLET_EVENTD_EVENTS_H_

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "wallet_eventd/result.h"

namespace wallet_eventd {

// Numbered like WEP_EVENT_* in plugin_api/include/wallet_event_plugin.h (1..13).
enum class EventType : int32_t {
  kCredentialOfferSent = 1,
  kCredentialOfferReceived = 2,
  kCredentialIssued = 3,
  kCredentialAcknowledged = 4,
  kCredentialStored = 5,
  kCredentialDeleted = 6,
  kPresentationRequestSent = 7,
  kPresentationRequestReceived = 8,
  kPresentationSubmitted = 9,
  kPresentationVerified = 10,
  kKeyCreated = 11,
  kKeyRotated = 12,
  kKeyRevoked = 13,
};
inline constexpr int kEventTypeCount = 13;

// All 13 types in numeric order.
const std::array<EventType, kEventTypeCount>& all_event_types();
// "CredentialStored" etc.
std::string_view event_type_name(EventType type);
// Exact, case-sensitive match of the wire name; nullopt for anything else.
std::optional<EventType> parse_event_type(std::string_view name);
// "credential.storage" etc.: the topic is "<prefix>.<suffix>".
std::string_view topic_suffix(EventType type);
// The distinct topic suffixes, in a stable order (6 entries).
const std::vector<std::string_view>& all_topic_suffixes();

using Timestamp = std::chrono::sys_time<std::chrono::nanoseconds>;

inline constexpr std::string_view kSchemaVersion = "1.0.0";

struct EventMetadata {
  std::string event_id;  // UUID, hyphenated (lower case when generated here)
  Timestamp timestamp;   // UTC instant; encoded as RFC 3339 with Z
  std::string correlation_id;
  std::string wallet_id;
  std::string schema_version{kSchemaVersion};

  // What the seed's EventMetadata::new does: a fresh v4 UUID, now, schema 1.0.0.
  static EventMetadata create(std::string correlation_id, std::string wallet_id);
  bool operator==(const EventMetadata&) const = default;
};

struct TxCode {
  std::optional<std::string> input_mode;
  std::optional<uint32_t> length;
  std::optional<std::string> description;
  bool operator==(const TxCode&) const = default;
};
struct AuthorizationCodeGrant {
  std::optional<std::string> issuer_state;  // sensitive
  bool operator==(const AuthorizationCodeGrant&) const = default;
};
struct PreAuthorizedCodeGrant {
  std::string pre_authorized_code;  // sensitive
  std::optional<TxCode> tx_code;
  bool operator==(const PreAuthorizedCodeGrant&) const = default;
};
struct Grants {
  std::optional<AuthorizationCodeGrant> authorization_code;
  std::optional<PreAuthorizedCodeGrant> pre_authorized_code;
  bool operator==(const Grants&) const = default;
};

struct CredentialOffer {
  EventMetadata metadata;
  std::string offer_id;
  std::string credential_issuer;
  std::vector<std::string> credential_configuration_ids;
  std::optional<Grants> grants;
  std::optional<std::string> credential_offer_uri;
  bool operator==(const CredentialOffer&) const = default;
};
struct CredentialOfferSent : CredentialOffer {
  static constexpr EventType kType = EventType::kCredentialOfferSent;
};
struct CredentialOfferReceived : CredentialOffer {
  static constexpr EventType kType = EventType::kCredentialOfferReceived;
};

struct CredentialIssued {
  static constexpr EventType kType = EventType::kCredentialIssued;
  EventMetadata metadata;
  std::string credential;  // sensitive
  std::string credential_type;
  std::optional<std::string> notification_id;
  std::optional<std::string> transaction_id;
  bool operator==(const CredentialIssued&) const = default;
};
struct CredentialAcknowledged {
  static constexpr EventType kType = EventType::kCredentialAcknowledged;
  EventMetadata metadata;
  std::string notification_id;
  std::string event;  // credential_accepted | credential_failure | credential_deleted
  bool operator==(const CredentialAcknowledged&) const = default;
};
struct CredentialStored {
  static constexpr EventType kType = EventType::kCredentialStored;
  EventMetadata metadata;
  std::string credential_id;
  std::string credential_type;
  std::string issuer;
  std::optional<std::string> notification_id;
  bool operator==(const CredentialStored&) const = default;
};
struct CredentialDeleted {
  static constexpr EventType kType = EventType::kCredentialDeleted;
  EventMetadata metadata;
  std::string credential_id;
  std::string notification_id;
  std::string event;
  bool operator==(const CredentialDeleted&) const = default;
};

struct PresentationRequest {
  EventMetadata metadata;
  std::string request_id;
  std::string dcql_query;
  std::string nonce;
  std::string client_id;
  std::optional<std::string> response_uri;
  bool operator==(const PresentationRequest&) const = default;
};
struct PresentationRequestSent : PresentationRequest {
  static constexpr EventType kType = EventType::kPresentationRequestSent;
};
struct PresentationRequestReceived : PresentationRequest {
  static constexpr EventType kType = EventType::kPresentationRequestReceived;
};

struct PresentationSubmitted {
  static constexpr EventType kType = EventType::kPresentationSubmitted;
  EventMetadata metadata;
  std::string request_id;
  std::string presentation_submission_id;
  std::string vp_token;  // sensitive
  bool operator==(const PresentationSubmitted&) const = default;
};

// "Valid", or {"Invalid": {"reason": ...}}.
struct ValidationStatus {
  bool valid = true;
  std::string invalid_reason;  // empty when valid
  static ValidationStatus Valid() { return {}; }
  static ValidationStatus Invalid(std::string reason) { return {false, std::move(reason)}; }
  bool operator==(const ValidationStatus&) const = default;
};
struct PresentationVerified {
  static constexpr EventType kType = EventType::kPresentationVerified;
  EventMetadata metadata;
  std::string request_id;
  std::string presentation_submission_id;
  ValidationStatus validation_status;
  bool holder_binding_verified = false;
  bool operator==(const PresentationVerified&) const = default;
};

struct KeyCreated {
  static constexpr EventType kType = EventType::kKeyCreated;
  EventMetadata metadata;
  std::string key_id;
  std::string kid;
  std::string key_type;
  std::optional<std::string> key_attestation;  // sensitive
  bool operator==(const KeyCreated&) const = default;
};
struct KeyRotated {
  static constexpr EventType kType = EventType::kKeyRotated;
  EventMetadata metadata;
  std::string old_key_id;
  std::string new_key_id;
  std::string new_kid;
  std::string key_type;
  std::optional<std::string> key_attestation;  // sensitive
  bool operator==(const KeyRotated&) const = default;
};
struct KeyRevoked {
  static constexpr EventType kType = EventType::kKeyRevoked;
  EventMetadata metadata;
  std::string key_id;
  std::string kid;
  std::string revocation_reason;
  bool operator==(const KeyRevoked&) const = default;
};

// One event of any type; the alternative index + 1 is the EventType number.
using WalletEvent =
    std::variant<CredentialOfferSent, CredentialOfferReceived, CredentialIssued,
                 CredentialAcknowledged, CredentialStored, CredentialDeleted,
                 PresentationRequestSent, PresentationRequestReceived, PresentationSubmitted,
                 PresentationVerified, KeyCreated, KeyRotated, KeyRevoked>;

EventType type_of(const WalletEvent& event);
const EventMetadata& metadata_of(const WalletEvent& event);
EventMetadata& metadata_of(WalletEvent& event);

// ---- Decoding -------------------------------------------------------------------------------

// Why a record was rejected. `code` is a stable token for DLQ headers and metrics;
// `message()` is "<field path>: <reason>" for people, e.g.
// `payload.metadata.timestamp: not RFC 3339: "yesterday"`.
enum class DecodeErrorCode {
  kMalformedJson,       // not JSON at all, or trailing garbage
  kInvalidUtf8,         // bytes that are not UTF-8
  kTooLarge,            // record larger than DecodeLimits::max_bytes
  kTooDeep,             // nesting beyond DecodeLimits::max_depth
  kDuplicateKey,        // the same key twice in one object
  kNotAnObject,         // envelope, payload or metadata is not an object
  kMissingEventType,    // no event_type
  kUnknownEventType,    // event_type is not one of the 13
  kMissingField,        // a required field is absent or null
  kWrongType,           // a field has the wrong JSON type
  kInvalidValue,        // right type, bad value (UUID, timestamp, out-of-range number, ...)
  kUnsupportedVersion,  // schema_version major is not 1
  // Not found by decoding: a valid event read from another type's topic (consumers read only
  // the topics of the types they want, so it would reach some and not others).
  kWrongTopic,
};
std::string_view decode_error_code_name(DecodeErrorCode code);  // "missing_field" etc.

struct DecodeError {
  DecodeErrorCode code;
  std::string field;   // dotted path, e.g. "payload.metadata.event_id"; empty for the record
  std::string reason;  // e.g. "required field is missing"
  std::string message() const;  // field.empty() ? reason : field + ": " + reason
};

struct DecodeLimits {
  size_t max_bytes = 1 << 20;  // Default: 1 MiB
  size_t max_depth = 32;       // Default: 32 levels of objects/arrays
};

// Decodes and validates one record value. Unknown fields are ignored.
Result<WalletEvent, DecodeError> decode_event(std::string_view json,
                                              const DecodeLimits& limits = {});

// A place in a caller's text buffer: stays valid however the buffer grows later.
struct TextSpan {
  size_t offset = 0;
  size_t size = 0;
  std::string_view in(std::string_view text) const { return text.substr(offset, size); }
};

// What a consumer that passes records on needs from a valid one: its type and its metadata,
// without the typed payload. The strings live in the caller's text buffer (see check_event).
struct CheckedEvent {
  EventType type{};
  Timestamp timestamp{};
  TextSpan event_id;
  TextSpan timestamp_text;  // `timestamp` normalised as format_timestamp writes it (UTC, "Z")
  TextSpan correlation_id;
  TextSpan wallet_id;
  TextSpan schema_version;
};

// Validates one record exactly as decode_event does (the same checks, the same errors) but
// builds no typed event: the metadata strings and the normalised timestamp are appended to
// *text, which a caller keeps from record to record so that checking allocates nothing once it
// has grown. On failure *text is left as it was.
Result<CheckedEvent, DecodeError> check_event(std::string_view json, std::string* text,
                                              const DecodeLimits& limits = {});

// ---- Encoding -------------------------------------------------------------------------------

// The wire JSON: optional fields that are absent are written as null; the timestamp as UTC
// with Z and 0, 3, 6 or 9 fraction digits (the fewest that keep the value exact).
std::string encode_event(const WalletEvent& event);

// RFC 3339 helpers used by encode/decode, exposed for tools and plugins of the host.
std::string format_timestamp(Timestamp t);
std::optional<Timestamp> parse_timestamp(std::string_view text);
// A random (v4) UUID, lower-case hyphenated.
std::string new_uuid();

}  // namespace wallet_eventd

#endif  // WALLET_EVENTD_EVENTS_H_
