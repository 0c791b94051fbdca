// config.h -- the notification instance's configuration, parsed from wep_instance_info's JSON.
#ifndef WALLET_EVENTD_PLUGINS_NOTIFICATION_CONFIG_H_
#define WALLET_EVENTD_PLUGINS_NOTIFICATION_CONFIG_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "wallet_event_plugin.h"

namespace wep_notification {

// One `issuers` entry. Tokens are bearer material: never log them or put them in a message.
struct IssuerConfig {
  std::string notification_endpoint;  // empty: discovered from the issuer's metadata
  std::string token;                  // from `token` or the contents of `token_file`
};

struct Config {
  // Keyed by credential issuer identifier, normalised with NormalizeIssuer().
  std::map<std::string, IssuerConfig> issuers;
  std::string default_endpoint;  // Default: "" (none)
  std::string default_token;     // from default_token or default_token_file
  // Also send default_token to endpoints discovered for issuers not in `issuers`.
  bool default_token_for_discovered_endpoints = false;  // Default: false
  int64_t metadata_cache_ttl_s = 3600;                  // 0 = no caching
  int64_t correlation_ttl_s = 86400;
  int64_t correlation_max_entries = 100000;
  int64_t connect_timeout_ms = 2000;
  int64_t request_timeout_ms = 5000;
  int64_t max_concurrent_requests = 8;  // notification requests of a batch in flight at once
  int64_t max_retry_after_s = 3600;
  int64_t unknown_issuer_retries = 0;
  std::string ca_file;  // Default: "" (the system's CA store)
  bool allow_insecure_http = false;
};

// The descriptor's config key table (static, NULL-free).
const wep_config_key* const* ConfigKeys();
size_t ConfigKeyCount();

// Parses and validates `json` (the instance's config object). Missing keys get their defaults;
// wrong types, bad values and unreadable token/CA files are refused with a reason in *error
// that names the key (and file) but never a token.
bool ParseConfig(std::string_view json, Config* out, std::string* error);

// Issuer identifiers are compared as strings after dropping trailing '/'.
std::string NormalizeIssuer(std::string_view issuer);

// Checks that `url` is an absolute http(s) URL we may send to: https always; http only to
// loopback (127.0.0.1, localhost, [::1]) unless allow_insecure_http. Sets *why when not.
bool CheckEndpointUrl(std::string_view url, bool allow_insecure_http, std::string* why);

}  // namespace wep_notification

#endif  // WALLET_EVENTD_PLUGINS_NOTIFICATION_CONFIG_H_
