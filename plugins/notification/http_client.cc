#include "http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <deque>
#include <map>
#include <mutex>
#include <utility>

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

// "scheme://host:port" of `url`, or "" when it does not parse (such a request is not held back).
std::string Origin(const std::string& url) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), &curl_url_cleanup);
  if (u == nullptr || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return "";
  std::string out;
  for (CURLUPart part : {CURLUPART_SCHEME, CURLUPART_HOST, CURLUPART_PORT}) {
    char* value = nullptr;
    if (curl_url_get(u.get(), part, &value, CURLU_DEFAULT_PORT) != CURLUE_OK || value == nullptr)
      return "";
    out += value;
    out += part == CURLUPART_SCHEME ? "://" : part == CURLUPART_HOST ? ":" : "";
    curl_free(value);
  }
  return out;
}

constexpr size_t kMaxWarmOrigins = 4096;

// curl_global_init is not guaranteed thread-safe; instances may be created on any thread.
void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

// One transfer in flight: everything libcurl points into while it runs. Never moved.
struct HttpClient::Transfer {
  size_t index = 0;
  std::string origin;
  struct curl_slist* headers = nullptr;
  char errbuf[CURL_ERROR_SIZE] = {0};
  HttpResponse response;
  BodySink sink{&response.body, 0, &response.body_truncated};
};

std::unique_ptr<HttpClient> HttpClient::Create(const Options& options, std::string* error) {
  GlobalInitOnce();
  CURLM* multi = curl_multi_init();
  if (multi == nullptr) {
    *error = "curl_multi_init failed";
    return nullptr;
  }
  Options o = options;
  o.max_concurrent = std::max<size_t>(1, o.max_concurrent);
  // Room in the connection cache for a full set of concurrent connections and then some.
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS,
                    static_cast<long>(std::max<size_t>(16, 2 * o.max_concurrent)));
  return std::unique_ptr<HttpClient>(new HttpClient(multi, o));
}

HttpClient::~HttpClient() {
  for (CURL* easy : idle_) curl_easy_cleanup(easy);
  curl_multi_cleanup(multi_);
}

HttpResponse HttpClient::Post(const std::string& url, const std::string& body,
                              const std::vector<std::string>& headers, long timeout_ms,
                              size_t body_cap) {
  return PerformOne({url, true, body, headers, timeout_ms, std::nullopt, body_cap});
}

HttpResponse HttpClient::Get(const std::string& url, const std::vector<std::string>& headers,
                             long timeout_ms, size_t body_cap) {
  return PerformOne({url, false, "", headers, timeout_ms, std::nullopt, body_cap});
}

HttpResponse HttpClient::PerformOne(HttpRequest request) {
  const std::vector<HttpRequest> requests = {std::move(request)};
  bool taken = false;
  HttpResponse out;
  PerformMany(
      requests,
      [&taken]() -> std::optional<size_t> {
        if (taken) return std::nullopt;
        taken = true;
        return 0;
      },
      [&out](size_t, HttpResponse r) { out = std::move(r); });
  return out;
}

bool HttpClient::Setup(CURL* easy, const HttpRequest& request, Transfer* t) const {
  // Reset keeps nothing but the handle; connections, DNS and TLS sessions live in the multi.
  curl_easy_reset(easy);
  for (const std::string& h : request.headers) {
    struct curl_slist* next = curl_slist_append(t->headers, h.c_str());
    if (next == nullptr) {
      curl_slist_free_all(t->headers);
      t->headers = nullptr;
      t->response.error = "out of memory building request headers";
      return false;
    }
    t->headers = next;
  }
  long timeout_ms = request.timeout_ms;
  if (request.deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    *request.deadline - std::chrono::steady_clock::now())
                    .count();
    timeout_ms = static_cast<long>(std::min<int64_t>(timeout_ms, left));
  }
  timeout_ms = std::max(1L, timeout_ms);
  t->sink.cap = request.body_cap;

  curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options_.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, options_.ca_file.c_str());
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                   std::max(1L, std::min(options_.connect_timeout_ms, timeout_ms)));
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(easy, CURLOPT_USERAGENT, kUserAgent);
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t->headers);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t->errbuf);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &WriteBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &t->sink);
  if (request.post) {
    curl_easy_setopt(easy, CURLOPT_POST, 1L);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.data());
  } else {
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  }
  return true;
}

void HttpClient::Finish(CURL* easy, CURLcode rc, Transfer* t) {
  // The header list (it may hold a token) and the error buffer are ours; detach them.
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, nullptr);
  curl_slist_free_all(t->headers);
  t->headers = nullptr;

  HttpResponse& r = t->response;
  curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME, &r.seconds);
  if (rc != CURLE_OK) {
    r.timed_out = rc == CURLE_OPERATION_TIMEDOUT;
    r.error = t->errbuf[0] != '\0' ? t->errbuf : curl_easy_strerror(rc);
    return;
  }
  r.transport_ok = true;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &r.status);
  r.retry_after = Header(easy, "Retry-After");
  r.www_authenticate = Header(easy, "WWW-Authenticate");
  r.location = Header(easy, "Location");
}

void HttpClient::Release(CURL* easy) {
  if (idle_.size() < options_.max_concurrent)
    idle_.push_back(easy);
  else
    curl_easy_cleanup(easy);
}

void HttpClient::PerformMany(const std::vector<HttpRequest>& requests,
                             const std::function<std::optional<size_t>()>& next,
                             const std::function<void(size_t, HttpResponse)>& done) {
  std::map<CURL*, std::unique_ptr<Transfer>> running;
  std::set<std::string> probing;                        // cold origins with a transfer running
  std::map<std::string, std::deque<size_t>> held_back;  // behind those transfers
  std::deque<size_t> released;                          // no longer held back, not yet started

  // Whatever happens (a callback may throw), no handle stays in the multi pointing at freed
  // memory, and no header list leaks.
  struct Guard {
    HttpClient* self;
    std::map<CURL*, std::unique_ptr<Transfer>>* running;
    ~Guard() {
      for (auto& [easy, t] : *running) {
        curl_multi_remove_handle(self->multi_, easy);
        Finish(easy, CURLE_ABORTED_BY_CALLBACK, t.get());
        self->Release(easy);
      }
    }
  } guard{this, &running};

  // The next request that may start now, with its origin.
  auto take = [&]() -> std::optional<std::pair<size_t, std::string>> {
    if (!released.empty()) {
      size_t i = released.front();
      released.pop_front();
      return std::make_pair(i, Origin(requests[i].url));
    }
    for (;;) {
      std::optional<size_t> i = next();
      if (!i) return std::nullopt;
      std::string origin = Origin(requests[*i].url);
      if (probing.count(origin) == 0) return std::make_pair(*i, std::move(origin));
      held_back[origin].push_back(*i);
    }
  };
  auto start = [&](size_t i, std::string origin) {
    auto t = std::make_unique<Transfer>();
    t->index = i;
    t->origin = std::move(origin);
    CURL* easy = nullptr;
    if (!idle_.empty()) {
      easy = idle_.back();
      idle_.pop_back();
    } else {
      easy = curl_easy_init();
    }
    if (easy == nullptr) {
      t->response.error = "curl_easy_init failed";
      done(i, std::move(t->response));
      return;
    }
    CURLMcode mc = CURLM_OK;
    if (!Setup(easy, requests[i], t.get()) ||
        (mc = curl_multi_add_handle(multi_, easy)) != CURLM_OK) {
      Finish(easy, CURLE_FAILED_INIT, t.get());
      if (mc != CURLM_OK) t->response.error = curl_multi_strerror(mc);
      Release(easy);
      done(i, std::move(t->response));
      return;
    }
    if (!t->origin.empty() && warm_origins_.count(t->origin) == 0) probing.insert(t->origin);
    running.emplace(easy, std::move(t));
  };
  auto finish = [&](CURL* easy, CURLcode rc, const char* multi_error) {
    auto it = running.find(easy);
    if (it == running.end()) return;
    std::unique_ptr<Transfer> t = std::move(it->second);
    running.erase(it);
    curl_multi_remove_handle(multi_, easy);
    Finish(easy, rc, t.get());
    if (multi_error != nullptr) t->response.error = multi_error;
    Release(easy);
    if (probing.erase(t->origin) != 0) {
      if (t->response.transport_ok) {
        if (warm_origins_.size() >= kMaxWarmOrigins) warm_origins_.clear();
        warm_origins_.insert(t->origin);
      }
      auto held = held_back.find(t->origin);
      if (held != held_back.end()) {
        released.insert(released.end(), held->second.begin(), held->second.end());
        held_back.erase(held);
      }
    }
    done(t->index, std::move(t->response));
  };

  for (;;) {
    while (running.size() < options_.max_concurrent) {
      auto item = take();
      if (!item) break;
      start(item->first, std::move(item->second));
    }
    if (running.empty()) break;

    int still_running = 0;
    CURLMcode mc = curl_multi_perform(multi_, &still_running);
    if (mc != CURLM_OK) {
      // The multi handle is broken: every running transfer ends with its error.
      while (!running.empty())
        finish(running.begin()->first, CURLE_FAILED_INIT, curl_multi_strerror(mc));
      continue;
    }
    bool finished_any = false;
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* easy = msg->easy_handle;
      CURLcode rc = msg->data.result;
      finish(easy, rc, nullptr);  // msg is invalid from here on
      finished_any = true;
    }
    // libcurl's own timers (timeouts, connects) shorten the wait as needed.
    if (!finished_any && still_running > 0) curl_multi_poll(multi_, nullptr, 0, 1000, nullptr);
  }
}

}  // namespace wep_notification
