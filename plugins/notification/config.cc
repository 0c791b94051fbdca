#include "config.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <strings.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <system_error>

namespace wep_notification {
namespace {

using nlohmann::json;

constexpr size_t kMaxTokenFileBytes = 64 * 1024;

#define WEP_KEY(var, key_name, key_type, default_text, text) \
  const wep_config_key var = {                               \
      WEP_STRUCT_SIZE(wep_config_key, description), key_name, key_type, 0, default_text, text}

WEP_KEY(kIssuers, "issuers", WEP_CONFIG_OBJECT, "{}",
        "Per-issuer settings keyed by credential_issuer URL: {notification_endpoint?, token | "
        "token_file}; without notification_endpoint the endpoint comes from the issuer's metadata");
WEP_KEY(kDefaultEndpoint, "default_endpoint", WEP_CONFIG_STRING, "\"\"",
        "Notification endpoint used when the issuer is unknown or has none (\"\" = none)");
WEP_KEY(kDefaultToken, "default_token", WEP_CONFIG_STRING, "\"\"",
        "Bearer token sent to default_endpoint (\"\" = none; prefer default_token_file)");
WEP_KEY(kDefaultTokenFile, "default_token_file", WEP_CONFIG_STRING, "\"\"",
        "File holding the bearer token for default_endpoint, read at start (\"\" = none)");
WEP_KEY(kDefaultTokenForDiscovered, "default_token_for_discovered_endpoints", WEP_CONFIG_BOOL,
        "false",
        "Also send default_token to endpoints discovered from the metadata of issuers that have "
        "no `issuers` entry (every such issuer then sees that token)");
WEP_KEY(kMetadataTtl, "metadata_cache_ttl_s", WEP_CONFIG_INT, "3600",
        "Seconds an issuer's fetched metadata (or its absence) is cached; 0 = fetch every time");
WEP_KEY(kCorrelationTtl, "correlation_ttl_s", WEP_CONFIG_INT, "86400",
        "Seconds a learned correlation_id / notification_id -> issuer mapping is kept");
WEP_KEY(kCorrelationMax, "correlation_max_entries", WEP_CONFIG_INT, "100000",
        "Most correlation_id and notification_id mappings kept (each); oldest dropped first");
WEP_KEY(kConnectTimeout, "connect_timeout_ms", WEP_CONFIG_INT, "2000",
        "TCP + TLS connect timeout for issuer requests, in milliseconds");
WEP_KEY(kRequestTimeout, "request_timeout_ms", WEP_CONFIG_INT, "5000",
        "Whole-request timeout for issuer requests (metadata and notification), in milliseconds");
WEP_KEY(kMaxConcurrent, "max_concurrent_requests", WEP_CONFIG_INT, "8",
        "Notification Requests of one batch sent at the same time (1 = one after the other); "
        "requests for the same wallet, notification_id and endpoint still go in batch order");
WEP_KEY(kMaxRetryAfter, "max_retry_after_s", WEP_CONFIG_INT, "3600",
        "Upper bound applied to an issuer's Retry-After before it becomes retry_after_ms");
WEP_KEY(kUnknownIssuerRetries, "unknown_issuer_retries", WEP_CONFIG_INT, "0",
        "Deliveries of a notification with no endpoint yet that are retried (the issuer may "
        "still be learned from another topic) before it fails");
WEP_KEY(kCaFile, "ca_file", WEP_CONFIG_STRING, "\"\"",
        "PEM CA bundle for verifying issuers' TLS certificates (\"\" = system store)");
WEP_KEY(kAllowInsecureHttp, "allow_insecure_http", WEP_CONFIG_BOOL, "false",
        "Allow plain-http endpoints on non-loopback hosts (never in production)");

#undef WEP_KEY

const wep_config_key* const kConfigKeys[] = {&kIssuers,
                                             &kDefaultEndpoint,
                                             &kDefaultToken,
                                             &kDefaultTokenFile,
                                             &kDefaultTokenForDiscovered,
                                             &kMetadataTtl,
                                             &kCorrelationTtl,
                                             &kCorrelationMax,
                                             &kConnectTimeout,
                                             &kRequestTimeout,
                                             &kMaxConcurrent,
                                             &kMaxRetryAfter,
                                             &kUnknownIssuerRetries,
                                             &kCaFile,
                                             &kAllowInsecureHttp};

std::string ErrnoText(int err) { return std::error_code(err, std::generic_category()).message(); }

// Reads a whole small file; on failure *error names the file and the errno text.
bool ReadSmallFile(const std::string& path, std::string* out, std::string* error) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = "cannot open " + path + ": " + ErrnoText(errno);
    return false;
  }
  out->clear();
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      *error = "cannot read " + path + ": " + ErrnoText(errno);
      close(fd);
      return false;
    }
    if (n == 0) break;
    out->append(buf, static_cast<size_t>(n));
    if (out->size() > kMaxTokenFileBytes) {
      *error = path + " is larger than 64 KiB";
      close(fd);
      return false;
    }
  }
  close(fd);
  return true;
}

// A token goes into an HTTP header: refuse bytes that would break or inject one.
bool ValidToken(std::string_view token) {
  for (unsigned char c : token)
    if (c <= 0x20 || c >= 0x7f) return false;
  return !token.empty();
}

// Loads a token from `inline_key` or `file_key` of `obj` (at most one). `where` prefixes messages.
bool LoadToken(const json& obj, const char* inline_key, const char* file_key,
               const std::string& where, std::string* token, std::string* error) {
  std::string inline_token, file;
  if (auto it = obj.find(inline_key); it != obj.end() && !it->is_null()) {
    if (!it->is_string()) {
      *error = where + inline_key + ": expected a string";
      return false;
    }
    inline_token = it->get<std::string>();
  }
  if (auto it = obj.find(file_key); it != obj.end() && !it->is_null()) {
    if (!it->is_string()) {
      *error = where + file_key + ": expected a string";
      return false;
    }
    file = it->get<std::string>();
  }
  if (!inline_token.empty() && !file.empty()) {
    *error = where + inline_key + " and " + where + file_key + " are both set; use one";
    return false;
  }
  if (!file.empty()) {
    std::string contents, why;
    if (!ReadSmallFile(file, &contents, &why)) {
      *error = where + file_key + ": " + why;
      return false;
    }
    while (!contents.empty() && (contents.back() == '\n' || contents.back() == '\r' ||
                                 contents.back() == ' ' || contents.back() == '\t'))
      contents.pop_back();
    if (contents.empty()) {
      *error = where + file_key + ": " + file + " is empty";
      return false;
    }
    if (!ValidToken(contents)) {
      *error = where + file_key + ": " + file +
               " holds characters not allowed in a bearer token (spaces, control or non-ASCII)";
      return false;
    }
    *token = std::move(contents);
    return true;
  }
  if (!inline_token.empty() && !ValidToken(inline_token)) {
    *error = where + inline_key +
             ": holds characters not allowed in a bearer token (spaces, control or non-ASCII)";
    return false;
  }
  *token = std::move(inline_token);
  return true;
}

bool GetString(const json& cfg, const wep_config_key& key, std::string* out, std::string* error) {
  auto it = cfg.find(key.name);
  if (it == cfg.end() || it->is_null()) return true;
  if (!it->is_string()) {
    *error = std::string(key.name) + ": expected a string, got " + it->type_name();
    return false;
  }
  *out = it->get<std::string>();
  return true;
}

bool GetBool(const json& cfg, const wep_config_key& key, bool* out, std::string* error) {
  auto it = cfg.find(key.name);
  if (it == cfg.end() || it->is_null()) return true;
  if (!it->is_boolean()) {
    *error = std::string(key.name) + ": expected true or false, got " + it->type_name();
    return false;
  }
  *out = it->get<bool>();
  return true;
}

bool GetInt(const json& cfg, const wep_config_key& key, int64_t min, int64_t max, int64_t* out,
            std::string* error) {
  auto it = cfg.find(key.name);
  if (it == cfg.end() || it->is_null()) return true;
  if (!it->is_number_integer() ||
      (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(max))) {
    *error = std::string(key.name) + ": expected an integer, got " +
             (it->is_number() ? it->dump() : std::string(it->type_name()));
    return false;
  }
  int64_t v = it->get<int64_t>();
  if (v < min || v > max) {
    *error = std::string(key.name) + ": " + std::to_string(v) + " is out of range [" +
             std::to_string(min) + ", " + std::to_string(max) + "]";
    return false;
  }
  *out = v;
  return true;
}

bool ParseIssuers(const json& cfg, bool allow_insecure_http, Config* out, std::string* error) {
  auto it = cfg.find(kIssuers.name);
  if (it == cfg.end() || it->is_null()) return true;
  if (!it->is_object()) {
    *error = std::string("issuers: expected an object keyed by credential_issuer URL, got ") +
             it->type_name();
    return false;
  }
  for (const auto& [issuer, entry] : it->items()) {
    const std::string where = "issuers[\"" + issuer + "\"]";
    std::string why;
    if (!CheckEndpointUrl(issuer, allow_insecure_http, &why)) {
      *error = where + ": the key must be a credential_issuer URL: " + why;
      return false;
    }
    if (!entry.is_object()) {
      *error = where + ": expected an object {notification_endpoint?, token | token_file}, got " +
               entry.type_name();
      return false;
    }
    for (const auto& [key, value] : entry.items()) {
      (void)value;
      if (key != "notification_endpoint" && key != "token" && key != "token_file") {
        *error = where + ": unknown key \"" + key +
                 "\" (expected notification_endpoint, token or token_file)";
        return false;
      }
    }
    IssuerConfig ic;
    if (auto ep = entry.find("notification_endpoint"); ep != entry.end() && !ep->is_null()) {
      if (!ep->is_string()) {
        *error = where + ".notification_endpoint: expected a string";
        return false;
      }
      ic.notification_endpoint = ep->get<std::string>();
      if (!ic.notification_endpoint.empty() &&
          !CheckEndpointUrl(ic.notification_endpoint, allow_insecure_http, &why)) {
        *error = where + ".notification_endpoint: " + why;
        return false;
      }
    }
    if (!LoadToken(entry, "token", "token_file", where + ".", &ic.token, error)) return false;
    if (ic.token.empty()) {
      *error = where +
               ": needs token or token_file (the Notification Endpoint requires a "
               "bearer access token)";
      return false;
    }
    std::string normalized = NormalizeIssuer(issuer);
    if (out->issuers.count(normalized) != 0) {
      *error = where + ": duplicate of another entry for the same issuer";
      return false;
    }
    out->issuers.emplace(std::move(normalized), std::move(ic));
  }
  return true;
}

bool IsLoopbackHost(const char* host) {
  return strcasecmp(host, "127.0.0.1") == 0 || strcasecmp(host, "localhost") == 0 ||
         strcmp(host, "[::1]") == 0 || strcmp(host, "::1") == 0;
}

}  // namespace

const wep_config_key* const* ConfigKeys() { return kConfigKeys; }
size_t ConfigKeyCount() { return sizeof kConfigKeys / sizeof kConfigKeys[0]; }

std::string NormalizeIssuer(std::string_view issuer) {
  while (!issuer.empty() && issuer.back() == '/') issuer.remove_suffix(1);
  return std::string(issuer);
}

bool CheckEndpointUrl(std::string_view url, bool allow_insecure_http, std::string* why) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), &curl_url_cleanup);
  const std::string text(url);
  if (u == nullptr || text.empty() ||
      curl_url_set(u.get(), CURLUPART_URL, text.c_str(), 0) != CURLUE_OK) {
    *why = "\"" + text + "\" is not an absolute URL";
    return false;
  }
  auto part = [&u](CURLUPart which) {
    char* value = nullptr;
    std::string out;
    if (curl_url_get(u.get(), which, &value, 0) == CURLUE_OK && value != nullptr) out = value;
    curl_free(value);
    return out;
  };
  // Credentials in a URL would end up in logs and DLQ headers with it.
  if (!part(CURLUPART_USER).empty() || !part(CURLUPART_PASSWORD).empty()) {
    *why = "a URL must not carry user:password (use a token)";
    return false;
  }
  const std::string scheme = part(CURLUPART_SCHEME);
  if (strcasecmp(scheme.c_str(), "https") == 0) return true;
  if (strcasecmp(scheme.c_str(), "http") != 0) {
    *why = "\"" + text + "\" is not an http(s) URL";
    return false;
  }
  if (allow_insecure_http || IsLoopbackHost(part(CURLUPART_HOST).c_str())) return true;
  *why = "refusing plain-http URL \"" + text +
         "\": OpenID4VCI requires TLS (http is only allowed to 127.0.0.1, localhost and [::1], "
         "or with allow_insecure_http)";
  return false;
}

bool ParseConfig(std::string_view text, Config* out, std::string* error) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) text = "{}";
  json cfg = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (cfg.is_discarded()) {
    *error = "config is not valid JSON";
    return false;
  }
  if (cfg.is_null()) cfg = json::object();
  if (!cfg.is_object()) {
    *error = std::string("config must be a JSON object, got ") + cfg.type_name();
    return false;
  }
  for (const auto& [key, value] : cfg.items()) {
    (void)value;
    bool known = false;
    for (const wep_config_key* k : kConfigKeys) known = known || key == k->name;
    if (!known) {
      *error = "unknown config key \"" + key + "\"";
      return false;
    }
  }

  Config c;
  std::string default_token, default_token_file;
  if (!GetBool(cfg, kAllowInsecureHttp, &c.allow_insecure_http, error) ||
      !GetString(cfg, kDefaultEndpoint, &c.default_endpoint, error) ||
      !GetString(cfg, kDefaultToken, &default_token, error) ||
      !GetString(cfg, kDefaultTokenFile, &default_token_file, error) ||
      !GetBool(cfg, kDefaultTokenForDiscovered, &c.default_token_for_discovered_endpoints, error) ||
      !GetInt(cfg, kMetadataTtl, 0, 365LL * 86400, &c.metadata_cache_ttl_s, error) ||
      !GetInt(cfg, kCorrelationTtl, 1, 365LL * 86400, &c.correlation_ttl_s, error) ||
      !GetInt(cfg, kCorrelationMax, 1, 100'000'000, &c.correlation_max_entries, error) ||
      !GetInt(cfg, kConnectTimeout, 1, 600'000, &c.connect_timeout_ms, error) ||
      !GetInt(cfg, kRequestTimeout, 1, 600'000, &c.request_timeout_ms, error) ||
      !GetInt(cfg, kMaxConcurrent, 1, 256, &c.max_concurrent_requests, error) ||
      !GetInt(cfg, kMaxRetryAfter, 0, 86400, &c.max_retry_after_s, error) ||
      !GetInt(cfg, kUnknownIssuerRetries, 0, 1000, &c.unknown_issuer_retries, error) ||
      !GetString(cfg, kCaFile, &c.ca_file, error)) {
    return false;
  }
  if (!ParseIssuers(cfg, c.allow_insecure_http, &c, error)) return false;
  if (!LoadToken(cfg, kDefaultToken.name, kDefaultTokenFile.name, "", &c.default_token, error))
    return false;

  std::string why;
  if (!c.default_endpoint.empty()) {
    if (!CheckEndpointUrl(c.default_endpoint, c.allow_insecure_http, &why)) {
      *error = std::string("default_endpoint: ") + why;
      return false;
    }
    if (c.default_token.empty()) {
      *error = "default_endpoint is set but neither default_token nor default_token_file is";
      return false;
    }
  } else if (!c.default_token.empty() && !c.default_token_for_discovered_endpoints) {
    *error =
        "default_token/default_token_file is set but unused: set default_endpoint (or "
        "default_token_for_discovered_endpoints)";
    return false;
  }
  if (c.default_token_for_discovered_endpoints && c.default_token.empty()) {
    *error = "default_token_for_discovered_endpoints is true but there is no default_token";
    return false;
  }
  if (!c.ca_file.empty()) {
    if (access(c.ca_file.c_str(), R_OK) != 0) {
      *error = "ca_file: cannot read " + c.ca_file + ": " + ErrnoText(errno);
      return false;
    }
  }
  *out = std::move(c);
  return true;
}

}  // namespace wep_notification
