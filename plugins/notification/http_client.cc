#include "http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <mutex>

namespace wep_notification {
namespace {

constexpr char kUserAgent[] = "wallet-eventd-notification/1.0";

struct BodySink {
  std::string* body;
  size_t cap;
  bool* truncated;
};

size_t WriteBody(char* data, size_t size, size_t nmemb, void* user) {
  auto* sink = static_cast<BodySink*>(user);
  size_t n = size * nmemb;
  size_t room = sink->cap > sink->body->size() ? sink->cap - sink->body->size() : 0;
  if (n > room) *sink->truncated = true;
  sink->body->append(data, std::min(n, room));
  return n;  // keep reading (and discarding) so the connection stays reusable
}

std::string Header(CURL* curl, const char* name) {
  struct curl_header* h = nullptr;
  if (curl_easy_header(curl, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK || h == nullptr) return "";
  return h->value != nullptr ? h->value : "";
}

// curl_global_init is not guaranteed thread-safe; instances may be created on any thread.
void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

std::unique_ptr<HttpClient> HttpClient::Create(const Options& options, std::string* error) {
  GlobalInitOnce();
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    *error = "curl_easy_init failed";
    return nullptr;
  }
  return std::unique_ptr<HttpClient>(new HttpClient(curl, options));
}

HttpClient::~HttpClient() { curl_easy_cleanup(curl_); }

HttpResponse HttpClient::Post(const std::string& url, const std::string& body,
                              const std::vector<std::string>& headers, long timeout_ms,
                              size_t body_cap) {
  return Perform(url, &body, headers, timeout_ms, body_cap);
}

HttpResponse HttpClient::Get(const std::string& url, const std::vector<std::string>& headers,
                             long timeout_ms, size_t body_cap) {
  return Perform(url, nullptr, headers, timeout_ms, body_cap);
}

HttpResponse HttpClient::Perform(const std::string& url, const std::string* post_body,
                                 const std::vector<std::string>& headers, long timeout_ms,
                                 size_t body_cap) {
  HttpResponse r;
  // Reset keeps the connection cache, DNS cache and TLS sessions: only options go.
  curl_easy_reset(curl_);

  struct curl_slist* list = nullptr;
  for (const std::string& h : headers) {
    struct curl_slist* next = curl_slist_append(list, h.c_str());
    if (next == nullptr) {
      curl_slist_free_all(list);
      r.error = "out of memory building request headers";
      return r;
    }
    list = next;
  }
  char errbuf[CURL_ERROR_SIZE] = {0};
  BodySink sink{&r.body, body_cap, &r.body_truncated};

  curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl_, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl_, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options_.ca_file.empty()) curl_easy_setopt(curl_, CURLOPT_CAINFO, options_.ca_file.c_str());
  curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS,
                   std::max(1L, std::min(options_.connect_timeout_ms, timeout_ms)));
  curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, std::max(1L, timeout_ms));
  curl_easy_setopt(curl_, CURLOPT_USERAGENT, kUserAgent);
  curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &WriteBody);
  curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &sink);
  if (post_body != nullptr) {
    curl_easy_setopt(curl_, CURLOPT_POST, 1L);
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(post_body->size()));
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, post_body->data());
  } else {
    curl_easy_setopt(curl_, CURLOPT_HTTPGET, 1L);
  }

  CURLcode rc = curl_easy_perform(curl_);
  // The header list (it may hold a token) and the error buffer are ours; detach them.
  curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, nullptr);
  curl_slist_free_all(list);

  curl_easy_getinfo(curl_, CURLINFO_TOTAL_TIME, &r.seconds);
  if (rc != CURLE_OK) {
    r.timed_out = rc == CURLE_OPERATION_TIMEDOUT;
    r.error = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
    return r;
  }
  r.transport_ok = true;
  curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &r.status);
  r.retry_after = Header(curl_, "Retry-After");
  r.www_authenticate = Header(curl_, "WWW-Authenticate");
  r.location = Header(curl_, "Location");
  return r;
}

}  // namespace wep_notification
