// http_client.h -- a small blocking HTTP client over one reused libcurl easy handle.
//
// Thread-safety: none; one HttpClient per instance, used from one thread at a time.
#ifndef WALLET_EVENTD_PLUGINS_NOTIFICATION_HTTP_CLIENT_H_
#define WALLET_EVENTD_PLUGINS_NOTIFICATION_HTTP_CLIENT_H_

#include <curl/curl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace wep_notification {

struct HttpResponse {
  bool transport_ok = false;  // false: no HTTP response (see timed_out / error)
  bool timed_out = false;
  std::string error;  // libcurl's reason when !transport_ok
  long status = 0;
  std::string body;  // at most the cap given to the request
  bool body_truncated = false;
  std::string retry_after;       // Retry-After header, raw
  std::string www_authenticate;  // WWW-Authenticate header, raw
  std::string location;          // Location header, raw
  double seconds = 0;            // total time of the transfer
};

class HttpClient {
 public:
  struct Options {
    long connect_timeout_ms = 2000;
    std::string ca_file;  // empty: libcurl's default store
  };

  // Returns nullptr with *error set when libcurl cannot be initialised.
  static std::unique_ptr<HttpClient> Create(const Options& options, std::string* error);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // TLS verification is always on and redirects are never followed (a bearer token must not
  // travel to a URL nobody configured). `headers` are "Name: value" lines; they may carry
  // secrets and are never logged. `timeout_ms` bounds the whole transfer.
  HttpResponse Post(const std::string& url, const std::string& body,
                    const std::vector<std::string>& headers, long timeout_ms, size_t body_cap);
  HttpResponse Get(const std::string& url, const std::vector<std::string>& headers, long timeout_ms,
                   size_t body_cap);

 private:
  HttpClient(CURL* curl, const Options& options) : curl_(curl), options_(options) {}
  HttpResponse Perform(const std::string& url, const std::string* post_body,
                       const std::vector<std::string>& headers, long timeout_ms, size_t body_cap);

  CURL* curl_;  // reused across requests so libcurl keeps connections alive
  Options options_;
};

}  // namespace wep_notification

#endif  // WALLET_EVENTD_PLUGINS_NOTIFICATION_HTTP_CLIENT_H_
