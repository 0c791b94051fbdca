// decode_event: simdjson DOM parse, a structure walk (duplicate keys, depth; it keeps the
// members of the envelope, payload and metadata for the field lookups), then typed structs.
// check_event: the same parse and the same checks, keeping only the metadata (no typed strings).
//
// Order of checks (the first failure is reported): size, JSON syntax / UTF-8 / depth,
// duplicate keys anywhere, envelope, event_type, payload, payload.metadata (fields in wire
// order), then the type's payload fields in wire order.
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "events/json_escape.h"
#include "events/timestamp.h"
#include "events/uuid.h"
#include "wallet_eventd/events.h"

namespace wallet_eventd {
namespace {

using events_internal::quote_for_message;
using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

// simdjson refuses documents nested deeper than its own max_depth - 1 levels; the parser
// allocates per-level state up front, so very large limits are clamped to this.
constexpr size_t kMaxSupportedDepth = 1024;
// Objects with more members than this are checked for duplicates by sorting, not pairwise.
constexpr size_t kPairwiseDuplicateCheckLimit = 16;

std::string_view json_type_name(element_type type) {
  switch (type) {
    case element_type::ARRAY:
      return "array";
    case element_type::OBJECT:
      return "object";
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE:
      return "number";
    case element_type::STRING:
      return "string";
    case element_type::BOOL:
      return "boolean";
    case element_type::NULL_VALUE:
      return "null";
  }
  return "value";
}

std::string expected_got(std::string_view expected, element_type got) {
  std::string out = "expected ";
  out += expected;
  out += ", got ";
  out += json_type_name(got);
  return out;
}

// A member name can go into a dotted path as is when it is a plain identifier; anything else
// is written as ["..."] so that the path stays unambiguous and printable.
bool is_plain_key(std::string_view key) {
  if (key.empty()) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

// Where a value sits in the record, as a chain on the stack; rendered only on error.
struct Path {
  const Path* parent = nullptr;  // nullptr: the record itself
  std::string_view key;
  size_t index = 0;
  bool is_index = false;

  Path member(std::string_view k) const { return Path{this, k, 0, false}; }
  Path item(size_t i) const { return Path{this, {}, i, true}; }

  std::string str() const {
    if (parent == nullptr) return {};
    std::string out = parent->str();
    if (is_index) {
      out += '[';
      out += std::to_string(index);
      out += ']';
    } else if (is_plain_key(key)) {
      if (!out.empty()) out += '.';
      out += key;
    } else {
      out += '[';
      out += quote_for_message(key);
      out += ']';
    }
    return out;
  }
};

constexpr std::string_view kMissing = "required field is missing";

bool is_container(element value) {
  const element_type type = value.type();
  return type == element_type::OBJECT || type == element_type::ARRAY;
}

DecodeError too_deep() {
  return {DecodeErrorCode::kTooDeep, "", "nesting of objects and arrays is too deep"};
}

// Name equality for member names, kept inline (string_view's operator== goes through an
// out-of-line compare() here, which the hot paths below would call several times per record).
inline bool same_name(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size()) == 0;
}

// The members of one object in document order, kept by the structure walk for the objects the
// decoders read (envelope, payload, metadata), so that each field is found among a handful of
// names instead of by another walk over the object (simdjson's at_key).
struct Members {
  struct Member {
    std::string_view key;
    element value;
  };
  // Left uninitialized: a slot is written (which begins its member's lifetime, the assignment
  // being trivial) before it is read.
  union Slot {
    Slot() {}  // NOLINT(modernize-use-equals-default): = default would initialize `m`
    Member m;
  };
  std::array<Slot, kPairwiseDuplicateCheckLimit> items;
  size_t size = 0;
  bool complete = false;  // false: the object was too large to keep; look members up in it
};

// An object the decoders read fields from: through its kept Members when the walk kept them,
// otherwise through simdjson. Either way a name has at most one member (duplicates are refused
// before any field is read).
class Fields {
 public:
  Fields(object obj) : obj_(obj) {}  // NOLINT(google-explicit-constructor): nested objects
  Fields(object obj, const Members* members)
      : obj_(obj), members_(members != nullptr && members->complete ? members : nullptr) {}

  bool find(std::string_view key, element* out) const {
    if (members_ == nullptr) return obj_.at_key(key).get(*out) == simdjson::SUCCESS;
    for (size_t i = 0; i < members_->size; ++i) {
      if (same_name(members_->items[i].m.key, key)) {
        *out = members_->items[i].m.value;
        return true;
      }
    }
    return false;
  }

 private:
  object obj_;
  const Members* members_ = nullptr;
};

// The Members the walk keeps: the record's, its "payload"'s and the payload's "metadata"'s.
struct KeptMembers {
  Members envelope, payload, metadata;
};

// The typed-decode state: the first error, and helpers that read one member each. Every
// helper returns false after recording the error, so decoders chain them with &&.
class Decoder {
 public:
  // keep_strings false: the payload helpers check each field but leave the typed structs'
  // strings empty (check_event, which returns no payload, allocates nothing for them).
  explicit Decoder(bool keep_strings = true) : keep_(keep_strings) {}

  bool fail(DecodeErrorCode code, const Path& path, std::string reason) {
    error_ = DecodeError{code, path.str(), std::move(reason)};
    return false;
  }
  DecodeError take_error() { return std::move(error_); }

  // Rejects the first duplicate member name found anywhere under `value` (depth first,
  // document order), and containers nested deeper than `max_depth` (`level` is the nesting
  // level of `value` if it is a container: 1 for the record). simdjson has already refused
  // anything deeper than max_depth + 1, and an empty container at max_depth + 1 is all it lets
  // through, which is caught here; so the recursion is bounded.
  // With `kept`, the record's members, its payload's and its metadata's are kept there.
  bool check_structure(element value, const Path& path, size_t level, size_t max_depth,
                       KeptMembers* kept = nullptr, Members* keep = nullptr) {
    const element_type type = value.type();
    if ((type == element_type::OBJECT || type == element_type::ARRAY) && level > max_depth) {
      error_ = too_deep();
      return false;
    }
    switch (type) {
      case element_type::OBJECT: {
        const object obj = value.get_object().value_unsafe();
        if (level == 1 && kept != nullptr) keep = &kept->envelope;
        const bool pairwise = obj.size() <= kPairwiseDuplicateCheckLimit;
        if (!pairwise && !check_large_object(obj, path)) return false;
        // The names seen so far (uninitialized: only the first n are read).
        union Key {
          Key() {}  // NOLINT(modernize-use-equals-default)
          std::string_view name;
        };
        std::array<Key, kPairwiseDuplicateCheckLimit> seen;
        size_t n = 0;
        for (const auto& [key, member] : obj) {
          if (pairwise) {
            for (size_t i = 0; i < n; ++i) {
              if (same_name(seen[i].name, key)) return fail_duplicate(path, key);
            }
            if (keep != nullptr) keep->items[n].m = {key, member};
            seen[n++].name = key;
          }
          if (is_container(member) &&
              !check_structure(member, path.member(key), level + 1, max_depth, kept,
                               kept_child(kept, keep, key))) {
            return false;
          }
        }
        if (keep != nullptr && pairwise) {
          keep->size = n;
          keep->complete = true;
        }
        return true;
      }
      case element_type::ARRAY: {
        const simdjson::dom::array array = value.get_array().value_unsafe();
        size_t i = 0;
        for (element item : array) {
          if (is_container(item) && !check_structure(item, path.item(i), level + 1, max_depth)) {
            return false;
          }
          ++i;
        }
        return true;
      }
      default:
        return true;
    }
  }

  // Looks up a required member: absent or null is kMissingField.
  bool required(const Fields& obj, const Path& parent, std::string_view key, element* out) {
    if (!obj.find(key, out) || out->is_null()) {
      return fail(DecodeErrorCode::kMissingField, parent.member(key), std::string(kMissing));
    }
    return true;
  }
  // Looks up an optional member: *present is false when it is absent or null.
  static void optional(const Fields& obj, std::string_view key, element* out, bool* present) {
    *present = obj.find(key, out) && !out->is_null();
  }

  bool as_string(element value, const Path& path, std::string_view* out) {
    if (value.get_string().get(*out) != simdjson::SUCCESS) {
      return fail(DecodeErrorCode::kWrongType, path, expected_got("string", value.type()));
    }
    return true;
  }
  bool as_object(element value, const Path& path, object* out) {
    if (value.get_object().get(*out) != simdjson::SUCCESS) {
      return fail(DecodeErrorCode::kWrongType, path, expected_got("object", value.type()));
    }
    return true;
  }

  bool req_string(const Fields& obj, const Path& parent, std::string_view key, std::string& out) {
    element value;
    std::string_view text;
    if (!required(obj, parent, key, &value) || !as_string(value, parent.member(key), &text)) {
      return false;
    }
    if (keep_) out.assign(text);
    return true;
  }

  bool opt_string(const Fields& obj, const Path& parent, std::string_view key,
                  std::optional<std::string>& out) {
    element value;
    bool present;
    optional(obj, key, &value, &present);
    if (!present) return true;
    std::string_view text;
    if (!as_string(value, parent.member(key), &text)) return false;
    if (keep_) out.emplace(text);
    return true;
  }

  bool req_bool(const Fields& obj, const Path& parent, std::string_view key, bool& out) {
    element value;
    if (!required(obj, parent, key, &value)) return false;
    if (value.get_bool().get(out) != simdjson::SUCCESS) {
      return fail(DecodeErrorCode::kWrongType, parent.member(key),
                  expected_got("boolean", value.type()));
    }
    return true;
  }

  bool req_string_array(const Fields& obj, const Path& parent, std::string_view key,
                        std::vector<std::string>& out) {
    element value;
    if (!required(obj, parent, key, &value)) return false;
    const Path path = parent.member(key);
    simdjson::dom::array array;
    if (value.get_array().get(array) != simdjson::SUCCESS) {
      return fail(DecodeErrorCode::kWrongType, path, expected_got("array", value.type()));
    }
    if (keep_) out.reserve(array.size());
    size_t i = 0;
    for (element item : array) {
      std::string_view text;
      if (!as_string(item, path.item(i++), &text)) return false;
      if (keep_) out.emplace_back(text);
    }
    return true;
  }

  // A JSON integer in [0, 2^32). Integral floating-point forms (6.0, 6e0) are accepted, as JSON
  // Schema's "integer" does.
  bool opt_uint32(const Fields& obj, const Path& parent, std::string_view key,
                  std::optional<uint32_t>& out) {
    element value;
    bool present;
    optional(obj, key, &value, &present);
    if (!present) return true;
    const Path path = parent.member(key);
    constexpr auto kMax = std::numeric_limits<uint32_t>::max();
    switch (value.type()) {
      case element_type::INT64: {
        const int64_t v = value.get_int64().value_unsafe();
        if (v < 0 || v > int64_t{kMax}) return out_of_range(path, std::to_string(v));
        out = static_cast<uint32_t>(v);
        return true;
      }
      case element_type::UINT64: {  // only used by simdjson above INT64_MAX
        return out_of_range(path, std::to_string(value.get_uint64().value_unsafe()));
      }
      case element_type::DOUBLE: {
        const double v = value.get_double().value_unsafe();
        char text[32];
        const auto end = std::to_chars(text, text + sizeof text, v).ptr;
        if (std::trunc(v) != v) {
          return fail(DecodeErrorCode::kInvalidValue, path,
                      "not an integer: " + std::string(text, end));
        }
        if (v < 0 || v > kMax) return out_of_range(path, std::string(text, end));
        out = static_cast<uint32_t>(v);
        return true;
      }
      default:
        return fail(DecodeErrorCode::kWrongType, path, expected_got("integer", value.type()));
    }
  }

 private:
  // Which Members, if any, keep the members of the object `key` of the object kept in `keep`.
  static Members* kept_child(KeptMembers* kept, const Members* keep, std::string_view key) {
    if (keep == nullptr) return nullptr;
    if (keep == &kept->envelope && same_name(key, "payload")) return &kept->payload;
    if (keep == &kept->payload && same_name(key, "metadata")) return &kept->metadata;
    return nullptr;
  }
  bool fail_duplicate(const Path& object_path, std::string_view key) {
    return fail(DecodeErrorCode::kDuplicateKey, object_path.member(key), "duplicate key");
  }
  bool out_of_range(const Path& path, const std::string& value) {
    return fail(DecodeErrorCode::kInvalidValue, path, "out of range for uint32: " + value);
  }
  // Sort-based check for objects too large for the pairwise loop (bounds the work on hostile
  // input to O(n log n)). Reports the duplicate that comes first in document order.
  bool check_large_object(object obj, const Path& path) {
    std::vector<std::string_view> keys;
    keys.reserve(obj.size());
    for (const auto& [key, member] : obj) keys.push_back(key);
    std::vector<std::string_view> sorted = keys;
    std::sort(sorted.begin(), sorted.end());
    if (std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end()) return true;
    for (size_t i = 0; i < keys.size(); ++i) {
      if (std::find(keys.begin(), keys.begin() + static_cast<ptrdiff_t>(i), keys[i]) !=
          keys.begin() + static_cast<ptrdiff_t>(i)) {
        return fail_duplicate(path, keys[i]);
      }
    }
    return true;  // not reached
  }

  DecodeError error_{};
  bool keep_;
};

// ---- metadata ------------------------------------------------------------------------------

bool is_version_number(std::string_view part) {
  if (part.empty() || (part.size() > 1 && part[0] == '0')) return false;
  return std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// `1.x.y`: three dot-separated decimal numbers without leading zeros (the core form of
// Semantic Versioning); the major must be 1.
bool decode_schema_version(Decoder& d, std::string_view text, const Path& path) {
  const size_t dot1 = text.find('.');
  const size_t dot2 = dot1 == std::string_view::npos ? dot1 : text.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || !is_version_number(text.substr(0, dot1)) ||
      !is_version_number(text.substr(dot1 + 1, dot2 - dot1 - 1)) ||
      !is_version_number(text.substr(dot2 + 1))) {
    return d.fail(DecodeErrorCode::kInvalidValue, path,
                  "not a MAJOR.MINOR.PATCH version: " + quote_for_message(text));
  }
  const std::string_view major = text.substr(0, dot1);
  if (major != "1") {
    return d.fail(
        DecodeErrorCode::kUnsupportedVersion, path,
        "unsupported schema major version " + std::string(major) + " (this host reads 1.x.y)");
  }
  return true;
}

// The metadata's strings as simdjson holds them (valid until the parser's next document).
struct MetadataViews {
  std::string_view event_id, correlation_id, wallet_id, schema_version;
  std::string_view timestamp_text;  // as received
  Timestamp timestamp;
};

// `kept`: the metadata's members as the structure walk kept them (or not: complete false).
bool decode_metadata(Decoder& d, const Fields& payload, const Members& kept,
                     const Path& payload_path, MetadataViews& m) {
  element value;
  object metadata;
  const Path path = payload_path.member("metadata");
  if (!d.required(payload, payload_path, "metadata", &value)) return false;
  if (value.get_object().get(metadata) != simdjson::SUCCESS) {
    return d.fail(DecodeErrorCode::kNotAnObject, path, expected_got("object", value.type()));
  }
  const Fields obj(metadata, &kept);

  std::string_view text;
  if (!d.required(obj, path, "event_id", &value) ||
      !d.as_string(value, path.member("event_id"), &text)) {
    return false;
  }
  if (!events_internal::is_uuid(text)) {
    return d.fail(DecodeErrorCode::kInvalidValue, path.member("event_id"),
                  "not a UUID: " + quote_for_message(text));
  }
  m.event_id = text;

  if (!d.required(obj, path, "timestamp", &value) ||
      !d.as_string(value, path.member("timestamp"), &text)) {
    return false;
  }
  switch (events_internal::parse_rfc3339(text, &m.timestamp)) {
    case events_internal::TimestampStatus::kOk:
      m.timestamp_text = text;
      break;
    case events_internal::TimestampStatus::kNotRfc3339:
      return d.fail(DecodeErrorCode::kInvalidValue, path.member("timestamp"),
                    "not RFC 3339: " + quote_for_message(text));
    case events_internal::TimestampStatus::kOutOfRange:
      return d.fail(
          DecodeErrorCode::kInvalidValue, path.member("timestamp"),
          "outside the supported range 1677-09-21..2262-04-11: " + quote_for_message(text));
  }

  if (!d.required(obj, path, "correlation_id", &value) ||
      !d.as_string(value, path.member("correlation_id"), &m.correlation_id) ||
      !d.required(obj, path, "wallet_id", &value) ||
      !d.as_string(value, path.member("wallet_id"), &m.wallet_id)) {
    return false;
  }

  if (!d.required(obj, path, "schema_version", &value) ||
      !d.as_string(value, path.member("schema_version"), &text) ||
      !decode_schema_version(d, text, path.member("schema_version"))) {
    return false;
  }
  m.schema_version = text;
  return true;
}

bool decode_metadata(Decoder& d, const Fields& payload, const Members& kept,
                     const Path& payload_path, EventMetadata& m) {
  MetadataViews v;
  if (!decode_metadata(d, payload, kept, payload_path, v)) return false;
  m.event_id.assign(v.event_id);
  m.timestamp = v.timestamp;
  m.correlation_id.assign(v.correlation_id);
  m.wallet_id.assign(v.wallet_id);
  m.schema_version.assign(v.schema_version);
  return true;
}

// ---- payloads, one overload per struct -----------------------------------------------------

bool decode_tx_code(Decoder& d, const Fields& obj, const Path& path, TxCode& t) {
  return d.opt_string(obj, path, "input_mode", t.input_mode) &&
         d.opt_uint32(obj, path, "length", t.length) &&
         d.opt_string(obj, path, "description", t.description);
}

bool decode_grants(Decoder& d, const Fields& obj, const Path& path, Grants& g) {
  element value;
  bool present;
  object sub;

  Decoder::optional(obj, "authorization_code", &value, &present);
  if (present) {
    const Path p = path.member("authorization_code");
    if (!d.as_object(value, p, &sub)) return false;
    auto& grant = g.authorization_code.emplace();
    if (!d.opt_string(sub, p, "issuer_state", grant.issuer_state)) return false;
  }

  Decoder::optional(obj, "pre_authorized_code", &value, &present);
  if (present) {
    const Path p = path.member("pre_authorized_code");
    if (!d.as_object(value, p, &sub)) return false;
    auto& grant = g.pre_authorized_code.emplace();
    if (!d.req_string(sub, p, "pre_authorized_code", grant.pre_authorized_code)) return false;
    Decoder::optional(sub, "tx_code", &value, &present);
    if (present) {
      const Path tp = p.member("tx_code");
      object tx;
      if (!d.as_object(value, tp, &tx) || !decode_tx_code(d, tx, tp, grant.tx_code.emplace())) {
        return false;
      }
    }
  }
  return true;
}

bool decode_payload(Decoder& d, const Fields& p, const Path& path, CredentialOffer& e) {
  if (!d.req_string(p, path, "offer_id", e.offer_id) ||
      !d.req_string(p, path, "credential_issuer", e.credential_issuer) ||
      !d.req_string_array(p, path, "credential_configuration_ids",
                          e.credential_configuration_ids)) {
    return false;
  }
  element value;
  bool present;
  Decoder::optional(p, "grants", &value, &present);
  if (present) {
    const Path gp = path.member("grants");
    object grants;
    if (!d.as_object(value, gp, &grants) || !decode_grants(d, grants, gp, e.grants.emplace())) {
      return false;
    }
  }
  return d.opt_string(p, path, "credential_offer_uri", e.credential_offer_uri);
}

bool decode_payload(Decoder& d, const Fields& p, const Path& path, CredentialIssued& e) {
  return d.req_string(p, path, "credential", e.credential) &&
         d.req_string(p, path, "credential_type", e.credential_type) &&
         d.opt_string(p, path, "notification_id", e.notification_id) &&
         d.opt_string(p, path, "transaction_id", e.transaction_id);
}

bool decode_payload(Decoder& d, const Fields& p, const Path& path, CredentialAcknowledged& e) {
  return d.req_string(p, path, "notification_id", e.notification_id) &&
         d.req_string(p, path, "event", e.event);
}

bool decode_payload(Decoder& d, const Fields& p, const Path& path, CredentialStored& e) {
  return d.req_string(p, path, "credential_id", e.credential_id) &&
         d.req_string(p, path, "credential_type", e.credential_type) &&
         d.req_string(p, path, "issuer", e.issuer) &&
         d.opt_string(p, path, "notification_id", e.notification_id);
}

bool decode_payload(Decoder& d, const Fields& p, const Path& path, CredentialDeleted& e) {
  return d.req_string(p, path, "credential_id", e.credential_id) &&
         d.req_string(p, path, "notification_id", e.notification_id) &&
         d.req_string(p, path, "event", e.event);
}

bool decode_payload(Decoder& d, const Fields& p, const Path& path, PresentationRequest& e) {
  return d.req_string(p, path, "request_id", e.request_id) &&
         d.req_string(p, path, "dcql_query", e.dcql_query) &&
         d.req_string(p, path, "nonce", e.nonce) &&
         d.req_string(p, path, "client_id", e.client_id) &&
         d.opt_string(p, path, "response_uri", e.response_uri);
}

bool decode_payload(Decoder& d, const Fields& p, const Path& path, PresentationSubmitted& e) {
  return d.req_string(p, path, "request_id", e.request_id) &&
         d.req_string(p, path, "presentation_submission_id", e.presentation_submission_id) &&
         d.req_string(p, path, "vp_token", e.vp_token);
}

constexpr std::string_view kValidationStatusForms =
    R"(expected "Valid" or {"Invalid": {"reason": string}})";

bool decode_validation_status(Decoder& d, element value, const Path& path,
                              ValidationStatus& status) {
  std::string_view text;
  if (value.get_string().get(text) == simdjson::SUCCESS) {
    if (text != "Valid") {
      return d.fail(DecodeErrorCode::kInvalidValue, path,
                    std::string(kValidationStatusForms) + ", got " + quote_for_message(text));
    }
    status = ValidationStatus::Valid();
    return true;
  }
  object obj;
  if (value.get_object().get(obj) != simdjson::SUCCESS) {
    return d.fail(DecodeErrorCode::kWrongType, path,
                  expected_got("string or object", value.type()));
  }
  element invalid;
  if (obj.at_key("Invalid").get(invalid) != simdjson::SUCCESS) {
    return d.fail(DecodeErrorCode::kInvalidValue, path,
                  std::string(kValidationStatusForms) + ", got an object without \"Invalid\"");
  }
  const Path ip = path.member("Invalid");
  object detail;
  if (invalid.is_null()) {
    return d.fail(DecodeErrorCode::kMissingField, ip, std::string(kMissing));
  }
  if (!d.as_object(invalid, ip, &detail)) return false;
  status.valid = false;
  return d.req_string(detail, ip, "reason", status.invalid_reason);
}

bool decode_payload(Decoder& d, const Fields& p, const Path& path, PresentationVerified& e) {
  element value;
  return d.req_string(p, path, "request_id", e.request_id) &&
         d.req_string(p, path, "presentation_submission_id", e.presentation_submission_id) &&
         d.required(p, path, "validation_status", &value) &&
         decode_validation_status(d, value, path.member("validation_status"),
                                  e.validation_status) &&
         d.req_bool(p, path, "holder_binding_verified", e.holder_binding_verified);
}

bool decode_payload(Decoder& d, const Fields& p, const Path& path, KeyCreated& e) {
  return d.req_string(p, path, "key_id", e.key_id) && d.req_string(p, path, "kid", e.kid) &&
         d.req_string(p, path, "key_type", e.key_type) &&
         d.opt_string(p, path, "key_attestation", e.key_attestation);
}

bool decode_payload(Decoder& d, const Fields& p, const Path& path, KeyRotated& e) {
  return d.req_string(p, path, "old_key_id", e.old_key_id) &&
         d.req_string(p, path, "new_key_id", e.new_key_id) &&
         d.req_string(p, path, "new_kid", e.new_kid) &&
         d.req_string(p, path, "key_type", e.key_type) &&
         d.opt_string(p, path, "key_attestation", e.key_attestation);
}

bool decode_payload(Decoder& d, const Fields& p, const Path& path, KeyRevoked& e) {
  return d.req_string(p, path, "key_id", e.key_id) && d.req_string(p, path, "kid", e.kid) &&
         d.req_string(p, path, "revocation_reason", e.revocation_reason);
}

// ---- dispatch by type ----------------------------------------------------------------------

using DecodeResult = Result<WalletEvent, DecodeError>;
using PayloadDecoder = DecodeResult (*)(Decoder&, const Fields&, const Members&, const Path&);

template <size_t I>
DecodeResult decode_alternative(Decoder& d, const Fields& payload, const Members& metadata,
                                const Path& path) {
  WalletEvent event(std::in_place_index<I>);
  auto& typed = std::get<I>(event);
  if (!decode_metadata(d, payload, metadata, path, typed.metadata) ||
      !decode_payload(d, payload, path, typed)) {
    return d.take_error();
  }
  return event;
}

// check_event's counterpart: the same checks into a typed struct whose strings stay empty (the
// Decoder does not keep them); the metadata is copied into `text`.
using CheckResult = Result<CheckedEvent, DecodeError>;
using PayloadChecker = CheckResult (*)(Decoder&, const Fields&, const Members&, const Path&,
                                       std::string*);

TextSpan append_text(std::string* text, std::string_view s) {
  const TextSpan span{text->size(), s.size()};
  text->append(s);
  return span;
}

template <size_t I>
CheckResult check_alternative(Decoder& d, const Fields& payload, const Members& metadata,
                              const Path& path, std::string* text) {
  std::variant_alternative_t<I, WalletEvent> typed;
  MetadataViews m;
  if (!decode_metadata(d, payload, metadata, path, m) || !decode_payload(d, payload, path, typed)) {
    return d.take_error();
  }
  CheckedEvent out;
  out.type = static_cast<EventType>(I + 1);
  out.timestamp = m.timestamp;
  out.event_id = append_text(text, m.event_id);
  if (events_internal::is_canonical_utc(m.timestamp_text)) {
    // Already as append_timestamp would write it (most producers emit UTC with Z).
    out.timestamp_text = append_text(text, m.timestamp_text);
  } else {
    const size_t at = text->size();
    events_internal::append_timestamp(*text, m.timestamp);
    out.timestamp_text = TextSpan{at, text->size() - at};
  }
  out.correlation_id = append_text(text, m.correlation_id);
  out.wallet_id = append_text(text, m.wallet_id);
  out.schema_version = append_text(text, m.schema_version);
  return out;
}

template <size_t... I>
constexpr std::array<PayloadDecoder, sizeof...(I)> make_decoders(std::index_sequence<I...>) {
  return {&decode_alternative<I>...};
}
template <size_t... I>
constexpr std::array<PayloadChecker, sizeof...(I)> make_checkers(std::index_sequence<I...>) {
  return {&check_alternative<I>...};
}
constexpr auto kDecoders = make_decoders(std::make_index_sequence<kEventTypeCount>{});
constexpr auto kCheckers = make_checkers(std::make_index_sequence<kEventTypeCount>{});
static_assert(std::variant_size_v<WalletEvent> == kEventTypeCount);

DecodeError parse_error(simdjson::error_code code) {
  switch (code) {
    case simdjson::UTF8_ERROR:
      return {DecodeErrorCode::kInvalidUtf8, "", "the record is not valid UTF-8"};
    case simdjson::DEPTH_ERROR:
      return too_deep();
    default:
      return {DecodeErrorCode::kMalformedJson, "",
              std::string("not valid JSON: ") + simdjson::error_message(code)};
  }
}

}  // namespace

std::string_view decode_error_code_name(DecodeErrorCode code) {
  switch (code) {
    case DecodeErrorCode::kMalformedJson:
      return "malformed_json";
    case DecodeErrorCode::kInvalidUtf8:
      return "invalid_utf8";
    case DecodeErrorCode::kTooLarge:
      return "too_large";
    case DecodeErrorCode::kTooDeep:
      return "too_deep";
    case DecodeErrorCode::kDuplicateKey:
      return "duplicate_key";
    case DecodeErrorCode::kNotAnObject:
      return "not_an_object";
    case DecodeErrorCode::kMissingEventType:
      return "missing_event_type";
    case DecodeErrorCode::kUnknownEventType:
      return "unknown_event_type";
    case DecodeErrorCode::kMissingField:
      return "missing_field";
    case DecodeErrorCode::kWrongType:
      return "wrong_type";
    case DecodeErrorCode::kInvalidValue:
      return "invalid_value";
    case DecodeErrorCode::kUnsupportedVersion:
      return "unsupported_version";
    case DecodeErrorCode::kWrongTopic:
      return "wrong_topic";
  }
  return "unknown";
}

std::string DecodeError::message() const { return field.empty() ? reason : field + ": " + reason; }

namespace {

// Everything before the type's own fields: size, syntax, structure, envelope, event_type and
// payload. On success *type and *payload are set and nothing is returned.
std::optional<DecodeError> open_record(std::string_view json, const DecodeLimits& limits,
                                       Decoder& d, KeptMembers* kept, EventType* type,
                                       object* payload) {
  if (json.size() > limits.max_bytes) {
    return DecodeError{DecodeErrorCode::kTooLarge, "",
                       "record is " + std::to_string(json.size()) + " bytes, the limit is " +
                           std::to_string(limits.max_bytes)};
  }

  // One parser per thread: it keeps its buffers between records.
  thread_local simdjson::dom::parser parser;
  // simdjson accepts max_depth - 1 levels (max_depth if the innermost container is empty).
  const size_t max_depth = std::min(limits.max_depth, kMaxSupportedDepth);
  if (parser.max_depth() != max_depth + 1) {
    if (auto err = parser.allocate(std::max<size_t>(parser.capacity(), 4096), max_depth + 1)) {
      return parse_error(err);
    }
  }
  element root;
  if (auto err = parser.parse(json.data(), json.size()).get(root)) return parse_error(err);

  const Path record;
  if (!d.check_structure(root, record, 1, max_depth, kept)) return d.take_error();

  object envelope_object;
  if (root.get_object().get(envelope_object) != simdjson::SUCCESS) {
    return DecodeError{DecodeErrorCode::kNotAnObject, "", expected_got("object", root.type())};
  }
  const Fields envelope(envelope_object, &kept->envelope);

  element value;
  std::string_view type_name;
  if (!envelope.find("event_type", &value) || value.is_null()) {
    return DecodeError{DecodeErrorCode::kMissingEventType, "event_type", std::string(kMissing)};
  }
  if (value.get_string().get(type_name) != simdjson::SUCCESS) {
    return DecodeError{DecodeErrorCode::kWrongType, "event_type",
                       expected_got("string", value.type())};
  }
  const std::optional<EventType> parsed = parse_event_type(type_name);
  if (!parsed) {
    return DecodeError{DecodeErrorCode::kUnknownEventType, "event_type",
                       "unknown event type " + quote_for_message(type_name)};
  }
  *type = *parsed;

  if (!d.required(envelope, record, "payload", &value)) return d.take_error();
  if (value.get_object().get(*payload) != simdjson::SUCCESS) {
    return DecodeError{DecodeErrorCode::kNotAnObject, "payload",
                       expected_got("object", value.type())};
  }
  return std::nullopt;
}

}  // namespace

Result<WalletEvent, DecodeError> decode_event(std::string_view json, const DecodeLimits& limits) {
  Decoder d;
  KeptMembers kept;
  EventType type;
  object payload;
  if (auto error = open_record(json, limits, d, &kept, &type, &payload)) return std::move(*error);
  const Path record;
  return kDecoders[static_cast<size_t>(type) - 1](d, Fields(payload, &kept.payload), kept.metadata,
                                                  record.member("payload"));
}

Result<CheckedEvent, DecodeError> check_event(std::string_view json, std::string* text,
                                              const DecodeLimits& limits) {
  Decoder d(/*keep_strings=*/false);
  KeptMembers kept;
  EventType type;
  object payload;
  if (auto error = open_record(json, limits, d, &kept, &type, &payload)) return std::move(*error);
  const Path record;
  return kCheckers[static_cast<size_t>(type) - 1](d, Fields(payload, &kept.payload), kept.metadata,
                                                  record.member("payload"), text);
}

}  // namespace wallet_eventd
