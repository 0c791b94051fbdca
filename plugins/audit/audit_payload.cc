#include "audit_payload.h"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <utility>

namespace wep_audit {
namespace {

using nlohmann::json;
using simdjson::dom::element;
using simdjson::dom::element_type;

// Deeper documents go through nlohmann (the host refuses records nested deeper than 32 levels
// by default, so this only matters for a host configured far beyond that).
constexpr size_t kMaxDepth = 128;

bool AlwaysSecurityRelevant(std::string_view type) {
  return type == "CredentialDeleted" || type == "KeyCreated" || type == "KeyRotated" ||
         type == "KeyRevoked";
}

bool SecurityRelevant(std::string_view type, const json& payload) {
  if (AlwaysSecurityRelevant(type)) return true;
  auto binding = payload.find("holder_binding_verified");
  if (binding != payload.end() && binding->is_boolean() && !binding->get<bool>()) return true;
  if (type == "PresentationVerified") {
    auto status = payload.find("validation_status");
    // "Valid" or {"Invalid": {...}}; anything but "Valid" counts as a failure.
    return status == payload.end() || !status->is_string() || status->get<std::string>() != "Valid";
  }
  return false;
}

// The same test on the DOM (the payload has no repeated member names here).
bool SecurityRelevant(std::string_view type, simdjson::dom::object payload) {
  if (AlwaysSecurityRelevant(type)) return true;
  bool binding = true;
  if (payload["holder_binding_verified"].get(binding) == simdjson::SUCCESS && !binding) return true;
  if (type == "PresentationVerified") {
    std::string_view status;
    return payload["validation_status"].get(status) != simdjson::SUCCESS || status != "Valid";
  }
  return false;
}

void AppendHashed(std::string* out, std::string_view bytes) {
  *out += "{\"sha256\":\"";
  *out += sha256_hex(bytes);
  *out += "\"}";
}

}  // namespace

// The simdjson path: one DOM parse, then the payload written member by member.
struct PayloadWriter::Fast {
  struct Member {
    std::string_view key;
    element value;
  };
  struct Level {  // scratch space per nesting level, kept from record to record
    std::vector<Member> members;
    std::vector<uint32_t> active;
  };

  const std::vector<FieldPath>& fields;
  simdjson::dom::parser parser;
  // One per nesting level the parser lets through, allocated once: a level's vectors are
  // referred to while deeper levels are written.
  std::vector<Level> levels{kMaxDepth + 2};
  std::string scratch;              // a non-string sensitive value's text, before it is hashed
  std::vector<uint32_t> all_paths;  // 0..fields.size()-1: every path is active at the payload

  bool ready;  // the parser has its buffers (else every record goes through nlohmann)

  explicit Fast(const std::vector<FieldPath>& f)
      : fields(f),
        all_paths(f.size()),
        ready(parser.allocate(4096, kMaxDepth) == simdjson::SUCCESS) {
    for (uint32_t i = 0; i < all_paths.size(); ++i) all_paths[i] = i;
  }

  // Writes `value` as nlohmann's dump() would. `active` (at `depth`) are the sensitive paths
  // whose first `depth` names lead here. False when the value is not one this path writes
  // exactly like nlohmann (a repeated member name): the caller falls back.
  bool Value(element value, std::string* out, const std::vector<uint32_t>& active, size_t depth) {
    switch (value.type()) {
      case element_type::OBJECT:
        return Object(value.get_object().value_unsafe(), out, active, depth);
      case element_type::ARRAY: {
        *out += '[';
        bool first = true;
        const simdjson::dom::array array = value.get_array().value_unsafe();
        for (element item : array) {
          if (!first) *out += ',';
          first = false;
          if (!Value(item, out, {}, depth + 1)) return false;
        }
        *out += ']';
        return true;
      }
      case element_type::STRING:
        append_json_string(out, value.get_string().value_unsafe());
        return true;
      case element_type::INT64:
        return Integer(value.get_int64().value_unsafe(), out);
      case element_type::UINT64:
        return Integer(value.get_uint64().value_unsafe(), out);
      case element_type::DOUBLE:
        // Doubles are rare in wallet events; nlohmann formats them its own way.
        *out += json(value.get_double().value_unsafe()).dump();
        return true;
      case element_type::BOOL:
        *out += value.get_bool().value_unsafe() ? "true" : "false";
        return true;
      case element_type::NULL_VALUE:
        *out += "null";
        return true;
    }
    return false;
  }

  template <typename T>
  static bool Integer(T v, std::string* out) {
    char buf[24];
    const auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
    out->append(buf, end);
    return true;
  }

  bool Object(simdjson::dom::object obj, std::string* out, const std::vector<uint32_t>& active,
              size_t depth) {
    // nlohmann keeps objects sorted by name (std::map): sort a copy of the member list.
    std::vector<Member>& members = levels[depth].members;
    members.clear();
    for (const auto& [key, member] : obj) members.push_back({key, member});
    std::sort(members.begin(), members.end(),
              [](const Member& a, const Member& b) { return a.key < b.key; });
    *out += '{';
    for (size_t i = 0; i < members.size(); ++i) {
      if (i > 0 && members[i].key == members[i - 1].key) return false;
      if (i > 0) *out += ',';
      append_json_string(out, members[i].key);
      *out += ':';
      if (!Field(members[i], out, active, depth)) return false;
    }
    *out += '}';
    return true;
  }

  bool Field(const Member& m, std::string* out, const std::vector<uint32_t>& active, size_t depth) {
    if (active.empty()) return Value(m.value, out, active, depth + 1);
    std::vector<uint32_t>& next = levels[depth].active;
    next.clear();
    for (uint32_t p : active) {
      const FieldPath& path = fields[p];
      if (path[depth] != m.key) continue;
      if (path.size() == depth + 1) {  // a sensitive value (no other path goes through it)
        if (m.value.is_null()) {
          *out += "null";
          return true;
        }
        std::string_view text;
        if (m.value.get_string().get(text) == simdjson::SUCCESS) {
          AppendHashed(out, text);
          return true;
        }
        scratch.clear();
        if (!Value(m.value, &scratch, {}, depth + 1)) return false;
        AppendHashed(out, scratch);
        return true;
      }
      next.push_back(p);
    }
    if (next.empty() || !m.value.is_object()) return Value(m.value, out, {}, depth + 1);
    // `next` is this level's: the next member refills it only once this value is written.
    return Value(m.value, out, next, depth + 1);
  }
};

PayloadWriter::PayloadWriter(std::vector<FieldPath> sensitive_fields)
    : fields_(std::move(sensitive_fields)) {
  bool overlapping = false;  // one path is a prefix of another: the order of hashing matters
  for (size_t i = 0; i < fields_.size(); ++i)
    for (size_t j = 0; j < fields_.size(); ++j) {
      if (i == j) continue;
      const FieldPath& a = fields_[i];
      const FieldPath& b = fields_[j];
      if (a.size() <= b.size() && std::equal(a.begin(), a.end(), b.begin())) overlapping = true;
    }
  if (!overlapping) fast_ = std::make_unique<Fast>(fields_);
}

PayloadWriter::~PayloadWriter() = default;

std::string PayloadWriter::Write(std::string_view raw_json, std::string_view event_type,
                                 std::string* out, bool* security_relevant) {
  out->clear();
  if (fast_ != nullptr && fast_->ready && !raw_json.empty()) {
    element root;
    simdjson::dom::object record;
    if (fast_->parser.parse(raw_json.data(), raw_json.size()).get(root) == simdjson::SUCCESS &&
        root.get_object().get(record) == simdjson::SUCCESS) {
      size_t payloads = 0;
      element payload;
      for (const auto& [key, value] : record)
        if (key == "payload") {
          ++payloads;
          payload = value;
        }
      if (payloads == 0 || (payloads == 1 && !payload.is_object()))
        return "audit: raw_json has no payload object";
      if (payloads == 1) {
        if (fast_->Value(payload, out, fast_->all_paths, 0)) {
          *security_relevant = SecurityRelevant(event_type, payload.get_object().value_unsafe());
          return "";
        }
      }
      out->clear();  // a repeated member name: nlohmann keeps the last one
    }
  }
  ++slow_writes_;
  return WriteWithNlohmann(raw_json, event_type, out, security_relevant);
}

std::string PayloadWriter::WriteWithNlohmann(std::string_view raw_json, std::string_view event_type,
                                             std::string* out, bool* security_relevant) const {
  json record;
  try {
    record = json::parse(raw_json);
  } catch (const json::parse_error& e) {
    // e.what() quotes the input, which may be bearer material: give the position only.
    return "audit: raw_json is not valid JSON (error at byte " + std::to_string(e.byte) + ")";
  }
  auto it = record.is_object() ? record.find("payload") : record.end();
  if (it == record.end() || !it->is_object()) return "audit: raw_json has no payload object";
  json payload = std::move(*it);
  *security_relevant = SecurityRelevant(event_type, payload);
  hash_fields(&payload, fields_);
  *out = payload.dump(-1, ' ', false, json::error_handler_t::replace);
  return "";
}

}  // namespace wep_audit
