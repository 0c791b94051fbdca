#include "security_config.h"

#include <algorithm>
#include <array>
#include <limits>
#include <nlohmann/json.hpp>
#include <vector>

namespace wep_security {
namespace {

using nlohmann::json;

constexpr int64_t kMaxWindowS = 10LL * 365 * 24 * 3600;  // keeps window * 1e9 far from overflow
constexpr int64_t kMaxThreshold = 1000;  // a burst keeps up to `threshold` event ids per wallet

// One declared key: what the descriptor shows, plus the limits and the Config field it fills.
struct KeySpec {
  wep_config_key key;
  int64_t min = 0;
  int64_t max = 0;
  bool Config::*bool_field = nullptr;
  int64_t Config::*int_field = nullptr;
};

constexpr wep_config_key Key(const char* name, int32_t type, const char* default_json,
                             const char* description) {
  return wep_config_key{sizeof(wep_config_key), name, type, 0, default_json, description};
}
KeySpec Bool(const char* name, const char* def, const char* description, bool Config::*field) {
  return KeySpec{Key(name, WEP_CONFIG_BOOL, def, description), 0, 0, field, nullptr};
}
KeySpec Int(const char* name, const char* def, const char* description, int64_t min, int64_t max,
            int64_t Config::*field) {
  return KeySpec{Key(name, WEP_CONFIG_INT, def, description), min, max, nullptr, field};
}

const std::vector<KeySpec>& Specs() {
  static const std::vector<KeySpec> specs = {
      Bool("nonce_reuse_enabled", "true",
           "Alert (high) when a client_id's presentation request nonce is seen again",
           &Config::nonce_reuse_enabled),
      Int("nonce_reuse_window_s", "3600",
          "Seconds of event time a nonce is remembered per client_id (1..315360000)", 1,
          kMaxWindowS, &Config::nonce_reuse_window_s),
      Bool("failed_verifications_enabled", "true",
           "Alert (high) on repeated Invalid PresentationVerified events for one wallet",
           &Config::failed_verifications_enabled),
      Int("failed_verifications_threshold", "3",
          "Invalid verifications of one wallet within the window that raise an alert (1..1000)", 1,
          kMaxThreshold, &Config::failed_verifications_threshold),
      Int("failed_verifications_window_s", "600",
          "Window in seconds of event time for failed_verifications (1..315360000)", 1, kMaxWindowS,
          &Config::failed_verifications_window_s),
      Bool("missing_holder_binding_enabled", "true",
           "Alert (medium) on a PresentationVerified with holder_binding_verified=false",
           &Config::missing_holder_binding_enabled),
      Bool(
          "revoked_key_reuse_enabled", "true",
          "Alert (critical) when a wallet uses a key id in KeyCreated/KeyRotated after revoking it",
          &Config::revoked_key_reuse_enabled),
      Int("revoked_key_ttl_s", "2592000",
          "Seconds of event time a revoked key id is remembered per wallet (1..315360000)", 1,
          kMaxWindowS, &Config::revoked_key_ttl_s),
      Bool("deletion_burst_enabled", "true",
           "Alert (medium) on many CredentialDeleted events for one wallet in a short time",
           &Config::deletion_burst_enabled),
      Int("deletion_burst_threshold", "5",
          "CredentialDeleted events of one wallet within the window that raise an alert (1..1000)",
          1, kMaxThreshold, &Config::deletion_burst_threshold),
      Int("deletion_burst_window_s", "60",
          "Window in seconds of event time for deletion_burst (1..315360000)", 1, kMaxWindowS,
          &Config::deletion_burst_window_s),
      Bool("untrusted_issuer_enabled", "true",
           "Alert (medium) on a credential offer whose credential_issuer is not allow-listed",
           &Config::untrusted_issuer_enabled),
      KeySpec{Key("issuer_allowlist", WEP_CONFIG_STRING_LIST, "[]",
                  "Trusted credential_issuer identifiers, compared exactly; empty: "
                  "untrusted_issuer is inactive")},
      Int("max_entries", "1000000",
          "Most rule-state entries kept in all rules together; the least recently used go first", 1,
          1'000'000'000, &Config::max_entries),
      Int("recent_event_ids", "65536",
          "Recently handled event ids remembered so a redelivery is not applied twice (1..10^7)", 1,
          10'000'000, &Config::recent_event_ids),
  };
  return specs;
}

const std::vector<const wep_config_key*>& KeyPointers() {
  static const std::vector<const wep_config_key*> pointers = [] {
    std::vector<const wep_config_key*> out;
    for (const KeySpec& spec : Specs()) out.push_back(&spec.key);
    return out;
  }();
  return pointers;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string Shown(const json& value) {
  std::string text = value.dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

// Checks one value against its spec and stores it; returns an error text or "".
std::string Apply(const KeySpec& spec, const json& value, Config* config) {
  const std::string name = spec.key.name;
  switch (spec.key.type) {
    case WEP_CONFIG_BOOL:
      if (!value.is_boolean()) {
        return "config key `" + name + "` must be true or false, got " + Shown(value);
      }
      config->*spec.bool_field = value.get<bool>();
      return "";
    case WEP_CONFIG_INT: {
      const std::string limits =
          " between " + std::to_string(spec.min) + " and " + std::to_string(spec.max);
      if (!value.is_number_integer()) {
        return "config key `" + name + "` must be an integer" + limits + ", got " + Shown(value);
      }
      if (value.is_number_unsigned() &&
          value.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return "config key `" + name + "` must be" + limits + ", got " + Shown(value);
      }
      const int64_t v = value.get<int64_t>();
      if (v < spec.min || v > spec.max) {
        return "config key `" + name + "` must be" + limits + ", got " + std::to_string(v);
      }
      config->*spec.int_field = v;
      return "";
    }
    case WEP_CONFIG_STRING_LIST: {  // issuer_allowlist, the only list
      if (!value.is_array()) {
        return "config key `" + name + "` must be a list of strings, got " + Shown(value);
      }
      config->issuer_allowlist.clear();
      for (size_t i = 0; i < value.size(); ++i) {
        if (!value[i].is_string() || value[i].get_ref<const std::string&>().empty()) {
          return "config key `" + name + "`[" + std::to_string(i) +
                 "] must be a non-empty string, got " + Shown(value[i]);
        }
        config->issuer_allowlist.insert(value[i].get<std::string>());
      }
      return "";
    }
  }
  return "config key `" + name + "` has an unhandled type (plugin bug)";
}

}  // namespace

const wep_config_key* const* ConfigKeys() { return KeyPointers().data(); }
size_t ConfigKeyCount() { return KeyPointers().size(); }

std::optional<Config> ParseConfig(std::string_view json_text, std::string* error) {
  json root = json_text.empty() ? json::object() : json::parse(json_text, nullptr, false);
  if (root.is_discarded()) {
    *error = "config is not valid JSON";
    return std::nullopt;
  }
  if (!root.is_object()) {
    *error = std::string("config must be a JSON object, got ") + root.type_name();
    return std::nullopt;
  }
  for (const auto& item : root.items()) {
    const std::string& key = item.key();
    const auto& specs = Specs();
    if (std::any_of(specs.begin(), specs.end(),
                    [&](const KeySpec& s) { return key == s.key.name; })) {
      continue;
    }
    *error = "unknown config key `" + key + "`";
    const KeySpec* best = nullptr;
    size_t best_distance = 4;  // suggest only close names
    for (const KeySpec& spec : specs) {
      const size_t d = EditDistance(key, spec.key.name);
      if (d < best_distance) {
        best_distance = d;
        best = &spec;
      }
    }
    if (best != nullptr) *error += std::string(" (did you mean `") + best->key.name + "`?)";
    return std::nullopt;
  }
  Config config;
  for (const KeySpec& spec : Specs()) {
    auto it = root.find(spec.key.name);
    const json value = it != root.end() ? *it : json::parse(spec.key.default_json);
    std::string problem = Apply(spec, value, &config);
    if (!problem.empty()) {
      *error = std::move(problem);
      return std::nullopt;
    }
  }
  return config;
}

}  // namespace wep_security
