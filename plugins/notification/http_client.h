// http_client.h -- a small blocking HTTP client over one libcurl multi handle, kept for the
// client's life so that connections, DNS answers and TLS sessions are reused across requests.
// Single requests (Post/Get) and concurrent ones (PerformMany) share the same transfer setup.
//
// Thread-safety: none; one HttpClient per instance, used from one thread at a time.
#ifndef WALLET_EVENTD_PLUGINS_NOTIFICATION_HTTP_CLIENT_H_
#define WALLET_EVENTD_PLUGINS_NOTIFICATION_HTTP_CLIENT_H_

#include <curl/curl.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
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

struct HttpRequest {
  std::string url;
  bool post = false;  // POST `body`; otherwise GET
  std::string body;
  std::vector<std::string> headers;  // "Name: value"; may carry secrets, never logged
  long timeout_ms = 5000;            // bounds the whole transfer
  // When set, the transfer's timeout is also cut to what is left until then when it starts.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  size_t body_cap = 64 * 1024;
};

class HttpClient {
 public:
  struct Options {
    long connect_timeout_ms = 2000;
    std::string ca_file;        // empty: libcurl's default store
    size_t max_concurrent = 1;  // transfers PerformMany runs at once (>= 1)
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

  // Performs `requests` concurrently, at most options.max_concurrent transfers at a time.
  // Whenever a slot is free, `next` is asked which request to start (an index into `requests`)
  // and returns nullopt when none may start now. Each transfer's response goes to `done` as
  // soon as it finishes; `done` may make further requests startable. Returns once nothing is
  // running and `next` has nothing more. Same TLS / redirect rules as Post.
  //
  // The first request to an origin (scheme, host, port) this client has never had an answer
  // from goes alone; the other requests to it wait for that one to finish, so a cold client
  // opens one connection per issuer and reuses it instead of opening a burst of them.
  void PerformMany(const std::vector<HttpRequest>& requests,
                   const std::function<std::optional<size_t>()>& next,
                   const std::function<void(size_t, HttpResponse)>& done);

 private:
  struct Transfer;

  HttpClient(CURLM* multi, const Options& options) : multi_(multi), options_(options) {}
  HttpResponse PerformOne(HttpRequest request);
  // Sets every option of `easy` for `request` (the shared setup of all transfers).
  bool Setup(CURL* easy, const HttpRequest& request, Transfer* t) const;
  // Detaches what Setup attached and fills t->response from a finished transfer.
  static void Finish(CURL* easy, CURLcode rc, Transfer* t);
  // Hands an easy handle back to the pool (or frees it when the pool is full).
  void Release(CURL* easy);

  CURLM* multi_;                        // owns the connection cache shared by all transfers
  std::vector<CURL*> idle_;             // easy handles ready for reuse (at most max_concurrent)
  std::set<std::string> warm_origins_;  // origins that have answered at least once
  Options options_;
};

}  // namespace wep_notification

#endif  // WALLET_EVENTD_PLUGINS_NOTIFICATION_HTTP_CLIENT_H_
