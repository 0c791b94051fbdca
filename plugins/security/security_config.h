// The security plugin's configuration: the declared keys (type, default, description, limits)
// and the parser that turns an instance's config JSON into a Config.
//
// Thread-safety: the key table is immutable; ParseConfig is reentrant.
#ifndef WEP_SECURITY_SECURITY_CONFIG_H_
#define WEP_SECURITY_SECURITY_CONFIG_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

#include "wallet_event_plugin.h"

namespace wep_security {

struct Config {
  bool nonce_reuse_enabled = true;
  int64_t nonce_reuse_window_s = 3600;

  bool failed_verifications_enabled = true;
  int64_t failed_verifications_threshold = 3;
  int64_t failed_verifications_window_s = 600;

  bool missing_holder_binding_enabled = true;

  bool revoked_key_reuse_enabled = true;
  int64_t revoked_key_ttl_s = 30 * 24 * 3600;

  bool deletion_burst_enabled = true;
  int64_t deletion_burst_threshold = 5;
  int64_t deletion_burst_window_s = 60;

  bool untrusted_issuer_enabled = true;
  std::unordered_set<std::string> issuer_allowlist;  // empty: the rule is inactive

  int64_t max_entries = 1'000'000;
  int64_t recent_event_ids = 65'536;
};

// The declared keys, for the plugin descriptor (static storage).
const wep_config_key* const* ConfigKeys();
size_t ConfigKeyCount();

// Parses an instance's `config:` object (JSON text; empty text counts as {}). Missing keys get
// their defaults; an unknown key, a wrong type or a value outside a key's limits is refused:
// returns nullopt and puts the reason, naming the key and the value, in *error.
std::optional<Config> ParseConfig(std::string_view json_text, std::string* error);

}  // namespace wep_security

#endif  // WEP_SECURITY_SECURITY_CONFIG_H_
