#include "notifier.h"

#include <curl/curl.h>
#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>
#include <deque>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <utility>

namespace wep_notification {
namespace {

using nlohmann::json;

constexpr uint64_t kNsPerSecond = 1'000'000'000ull;
constexpr size_t kMaxKeyBytes = 2048;           // longer ids/issuers are not remembered
constexpr size_t kMaxCachedIssuers = 1024;      // metadata cache bound
constexpr size_t kResponseBodyCap = 64 * 1024;  // notification responses
constexpr size_t kMetadataBodyCap = 1024 * 1024;
constexpr size_t kSnippetBytes = 200;
constexpr char kWellKnown[] = "/.well-known/openid-credential-issuer";

const double kLatencyBuckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

std::string View(wep_str s) { return s.ptr != nullptr ? std::string(s.ptr, s.len) : ""; }

// Text from outside (ids, response bodies) made safe for one log line / DLQ header.
std::string Printable(std::string_view text, size_t max = kSnippetBytes) {
  std::string out;
  for (unsigned char c : text.substr(0, max)) out += (c >= 0x20 && c < 0x7f) ? char(c) : ' ';
  if (text.size() > max) out += "...";
  return out;
}

std::string StringField(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

// The same for an event's payload, read with simdjson (the host has refused records with a
// repeated member name, so the first is the only one).
std::string StringField(const simdjson::dom::object& obj, const char* key) {
  std::string_view s;
  return obj[key].get(s) == simdjson::SUCCESS ? std::string(s) : std::string();
}

std::string MapKey(const wep_event& e, const std::string& id) {
  return View(e.wallet_id) + '\n' + id;
}

bool IsNotificationEvent(const std::string& event) {
  return event == "credential_accepted" || event == "credential_failure" ||
         event == "credential_deleted";
}

// OpenID4VCI 11.1: event_description is ASCII %x20-21 / %x23-5B / %x5D-7E.
std::string SanitizeDescription(const std::string& text) {
  std::string out = text.substr(0, 1000);
  for (char& c : out) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e || c == '"' || c == '\\') c = '?';
  }
  return out;
}

// Metadata locations for an issuer identifier: OpenID4VCI 1.0 inserts the well-known suffix
// between host and path; issuers with a path built on earlier drafts append it instead.
std::vector<std::string> MetadataUrls(const std::string& issuer) {
  std::vector<std::string> urls;
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), &curl_url_cleanup);
  if (u == nullptr || curl_url_set(u.get(), CURLUPART_URL, issuer.c_str(), 0) != CURLUE_OK)
    return urls;
  char* path = nullptr;
  std::string p;
  if (curl_url_get(u.get(), CURLUPART_PATH, &path, 0) == CURLUE_OK) p = path;
  curl_free(path);
  while (!p.empty() && p.back() == '/') p.pop_back();
  std::string well_known = kWellKnown + p;
  curl_url_set(u.get(), CURLUPART_PATH, well_known.c_str(), 0);
  curl_url_set(u.get(), CURLUPART_QUERY, nullptr, 0);
  curl_url_set(u.get(), CURLUPART_FRAGMENT, nullptr, 0);
  char* url = nullptr;
  if (curl_url_get(u.get(), CURLUPART_URL, &url, 0) == CURLUE_OK) urls.emplace_back(url);
  curl_free(url);
  if (!p.empty() && !urls.empty()) urls.push_back(NormalizeIssuer(issuer) + kWellKnown);
  return urls;
}

bool Transient(long status) { return status >= 500 || status == 429 || status == 408; }

}  // namespace

int32_t Notifier::Create(const wep_instance_info& info, std::unique_ptr<Notifier>* out,
                         std::string* error) {
  Config config;
  if (!ParseConfig(std::string_view(info.config_json.ptr != nullptr ? info.config_json.ptr : "",
                                    info.config_json.len),
                   &config, error))
    return WEP_ERR_CONFIG;
  HttpClient::Options options;
  options.connect_timeout_ms = static_cast<long>(config.connect_timeout_ms);
  options.ca_file = config.ca_file;
  options.max_concurrent = static_cast<size_t>(config.max_concurrent_requests);
  auto http = HttpClient::Create(options, error);
  if (http == nullptr) return WEP_ERR_INTERNAL;

  std::unique_ptr<Notifier> n(new Notifier(info, std::move(config), std::move(http)));

  char err[256] = {0};
  const wep_str outcome_label = wep_str_from_cstr("outcome");
  wep_metric_desc counter{};
  counter.struct_size = WEP_STRUCT_SIZE(wep_metric_desc, bucket_count);
  counter.kind = WEP_METRIC_COUNTER;
  counter.name = wep_str_from_cstr("wallet_notifications_total");
  counter.help =
      wep_str_from_cstr("OpenID4VCI Notification Requests by outcome (sent, retry, failed)");
  counter.label_names = &outcome_label;
  counter.label_count = 1;
  int32_t rc =
      info.host->metric_register(info.ctx, &counter, &n->notifications_total_, err, sizeof err);
  if (rc == WEP_OK) {
    wep_metric_desc histogram{};
    histogram.struct_size = WEP_STRUCT_SIZE(wep_metric_desc, bucket_count);
    histogram.kind = WEP_METRIC_HISTOGRAM;
    histogram.name = wep_str_from_cstr("wallet_notification_latency_seconds");
    histogram.help =
        wep_str_from_cstr("Duration of Notification Requests to issuers, whatever the answer");
    histogram.buckets = kLatencyBuckets;
    histogram.bucket_count = sizeof kLatencyBuckets / sizeof kLatencyBuckets[0];
    rc = info.host->metric_register(info.ctx, &histogram, &n->latency_seconds_, err, sizeof err);
  }
  if (rc != WEP_OK) {
    *error = std::string("registering metrics: ") + err;
    return rc;
  }

  const Config& c = n->config_;
  n->Log(WEP_LOG_INFO,
         "notification: " + std::to_string(c.issuers.size()) + " issuer(s) configured, default " +
             (c.default_endpoint.empty() ? std::string("endpoint none")
                                         : "endpoint " + c.default_endpoint) +
             ", metadata cache " + std::to_string(c.metadata_cache_ttl_s) + " s" +
             (c.allow_insecure_http ? ", INSECURE plain-http endpoints allowed" : ""));
  *out = std::move(n);
  return WEP_OK;
}

Notifier::Notifier(const wep_instance_info& info, Config config, std::unique_ptr<HttpClient> http)
    : host_(info.host),
      ctx_(info.ctx),
      config_(std::move(config)),
      http_(std::move(http)),
      issuer_by_correlation_(static_cast<uint64_t>(config_.correlation_ttl_s) * kNsPerSecond,
                             static_cast<size_t>(config_.correlation_max_entries)),
      issuer_by_notification_(static_cast<uint64_t>(config_.correlation_ttl_s) * kNsPerSecond,
                              static_cast<size_t>(config_.correlation_max_entries)),
      metadata_(static_cast<uint64_t>(config_.metadata_cache_ttl_s) * kNsPerSecond,
                config_.metadata_cache_ttl_s > 0 ? kMaxCachedIssuers : 0) {}

void Notifier::HandleBatch(const wep_batch& batch) {
  // (a) In batch order: learn, resolve (metadata GETs included) and build each request, or
  // settle the event without sending.
  std::vector<Prepared> sends;
  for (size_t i = 0; i < batch.count; ++i) {
    std::optional<Outcome> outcome;
    try {
      Prepared prepared;
      outcome = HandleEvent(*batch.events[i], batch.deadline_ns, &prepared);
      if (!outcome) {
        prepared.index = i;
        sends.push_back(std::move(prepared));
      }
    } catch (const std::exception& ex) {
      outcome = Outcome{WEP_RESULT_FAILED, 0, std::string("internal error: ") + ex.what()};
      Count(WEP_RESULT_FAILED);
    }
    if (outcome) Write(batch, i, *outcome);
  }
  // (b) Send them all at once and settle each with its answer.
  Send(batch, &sends);
}

void Notifier::Send(const wep_batch& batch, std::vector<Prepared>* sends_ptr) {
  std::vector<Prepared>& sends = *sends_ptr;
  const size_t n = sends.size();
  if (n == 0) return;
  std::optional<std::chrono::steady_clock::time_point> deadline;
  if (batch.deadline_ns != 0) {
    const uint64_t now = host_->monotonic_ns();
    deadline = std::chrono::steady_clock::now() +
               std::chrono::nanoseconds(batch.deadline_ns > now ? batch.deadline_ns - now : 0);
  }
  std::vector<HttpRequest> requests;
  requests.reserve(n);
  // A request with the same key as an earlier one waits for it (successor links the chain).
  std::vector<size_t> successor(n, n);
  std::deque<size_t> ready;
  std::unordered_map<std::string, size_t> last;
  for (size_t k = 0; k < n; ++k) {
    sends[k].request.deadline = deadline;
    requests.push_back(std::move(sends[k].request));
    auto [it, first] = last.emplace(sends[k].order_key, k);
    if (first) {
      ready.push_back(k);
    } else {
      successor[it->second] = k;
      it->second = k;
    }
  }
  std::vector<bool> settled(n, false);
  // Settles request k; its successor may go once k is DONE, otherwise it is not sent at all
  // (it would overtake k at the issuer when k is retried).
  auto settle = [&](size_t k, Outcome outcome) {
    for (;;) {
      settled[k] = true;
      Count(outcome.code);
      Write(batch, sends[k].index, outcome);
      const size_t later = successor[k];
      if (later == n) return;
      if (outcome.code == WEP_RESULT_DONE) {
        ready.push_back(later);
        return;
      }
      outcome = {WEP_RESULT_RETRY, outcome.code == WEP_RESULT_RETRY ? outcome.retry_after_ms : 0,
                 "not sent: an earlier notification for notification_id " +
                     Printable(sends[later].notification_id, 64) +
                     " in this batch is not done, and this one must not overtake it"};
      k = later;
    }
  };
  try {
    http_->PerformMany(
        requests,
        [&]() -> std::optional<size_t> {
          while (!ready.empty()) {
            const size_t k = ready.front();
            ready.pop_front();
            if (batch.deadline_ns != 0 && host_->monotonic_ns() >= batch.deadline_ns) {
              settle(k, {WEP_RESULT_RETRY, 0,
                         "batch deadline passed before the notification was sent"});
              continue;
            }
            return k;
          }
          return std::nullopt;
        },
        [&](size_t k, HttpResponse response) {
          const Prepared& p = sends[k];
          if (latency_seconds_ != nullptr)
            host_->metric_record(latency_seconds_, nullptr, 0, response.seconds);
          Outcome outcome = Classify(response, p.url, "the notification");
          if (outcome.code == WEP_RESULT_DONE) {
            Log(WEP_LOG_DEBUG, "sent " + p.event_name + " for notification_id " +
                                   Printable(p.notification_id, 64) + " to " + p.url + " (via " +
                                   p.via + ", HTTP " + std::to_string(response.status) + ")");
          }
          settle(k, std::move(outcome));
        });
  } catch (const std::exception& ex) {
    for (size_t k = 0; k < n; ++k) {
      if (settled[k]) continue;
      settled[k] = true;
      Count(WEP_RESULT_FAILED);
      Write(batch, sends[k].index,
            {WEP_RESULT_FAILED, 0, std::string("internal error: ") + ex.what()});
    }
  }
}

void Notifier::Write(const wep_batch& batch, size_t index, const Outcome& outcome) const {
  wep_event_result* result = batch.results[index];
  result->code = outcome.code;
  if (outcome.code == WEP_RESULT_RETRY) result->retry_after_ms = outcome.retry_after_ms;
  wep_write_message(result->message, result->message_capacity, outcome.message.data(),
                    outcome.message.size());
}

std::optional<Notifier::Outcome> Notifier::HandleEvent(const wep_event& event, uint64_t deadline_ns,
                                                       Prepared* prepared) {
  const int32_t type = event.event_type;
  const bool learns = type == WEP_EVENT_CREDENTIAL_OFFER_SENT ||
                      type == WEP_EVENT_CREDENTIAL_OFFER_RECEIVED ||
                      type == WEP_EVENT_CREDENTIAL_ISSUED || type == WEP_EVENT_CREDENTIAL_STORED;
  const bool notifies =
      type == WEP_EVENT_CREDENTIAL_ACKNOWLEDGED || type == WEP_EVENT_CREDENTIAL_DELETED;
  if (!learns && !notifies) return Outcome{};  // not subscribed: nothing to do

  // simdjson: a tenth of nlohmann's time for the few fields read here. One parser per thread;
  // the payload is only read before the next record is parsed.
  thread_local simdjson::dom::parser parser;
  simdjson::dom::object payload;
  const bool has_payload = event.raw_json.ptr != nullptr && event.raw_json.len > 0 &&
                           parser.parse(event.raw_json.ptr, event.raw_json.len)["payload"].get(
                               payload) == simdjson::SUCCESS;
  if (learns) {
    if (has_payload) Learn(event, payload);  // nothing to learn is not a failure
    return Outcome{};
  }
  Outcome outcome;
  if (!has_payload) {
    outcome = {WEP_RESULT_FAILED, 0,
               View(event.event_type_name) + " record has no JSON payload object; not sent"};
  } else if (Prepare(event, payload, deadline_ns, prepared, &outcome)) {
    return std::nullopt;  // counted when its answer is in
  }
  Count(outcome.code);
  return outcome;
}

void Notifier::Learn(const wep_event& event, const simdjson::dom::object& payload) {
  const uint64_t now = host_->monotonic_ns();
  const std::string correlation = View(event.correlation_id);
  std::string issuer, notification_id;
  switch (event.event_type) {
    case WEP_EVENT_CREDENTIAL_OFFER_SENT:
    case WEP_EVENT_CREDENTIAL_OFFER_RECEIVED:
      issuer = StringField(payload, "credential_issuer");
      break;
    case WEP_EVENT_CREDENTIAL_STORED:
      issuer = StringField(payload, "issuer");
      notification_id = StringField(payload, "notification_id");
      break;
    case WEP_EVENT_CREDENTIAL_ISSUED:
      // No issuer field: ties its notification_id to the issuer of the same flow.
      notification_id = StringField(payload, "notification_id");
      if (!correlation.empty() && correlation.size() <= kMaxKeyBytes) {
        if (const std::string* known = issuer_by_correlation_.Get(MapKey(event, correlation), now))
          issuer = *known;
      }
      break;
  }
  issuer = NormalizeIssuer(issuer);
  if (issuer.empty() || issuer.size() > kMaxKeyBytes) return;
  if (!correlation.empty() && correlation.size() <= kMaxKeyBytes)
    issuer_by_correlation_.Put(MapKey(event, correlation), issuer, now);
  if (!notification_id.empty() && notification_id.size() <= kMaxKeyBytes)
    issuer_by_notification_.Put(MapKey(event, notification_id), issuer, now);
}

bool Notifier::Prepare(const wep_event& event, const simdjson::dom::object& payload,
                       uint64_t deadline_ns, Prepared* prepared, Outcome* outcome) {
  const std::string notification_id = StringField(payload, "notification_id");
  const std::string event_name = StringField(payload, "event");
  if (notification_id.empty()) {
    *outcome = {WEP_RESULT_FAILED, 0,
                View(event.event_type_name) + " has no notification_id string; not sent"};
    return false;
  }
  if (!IsNotificationEvent(event_name)) {
    *outcome = {WEP_RESULT_FAILED, 0,
                "event \"" + Printable(event_name, 64) +
                    "\" is not a Notification Request event (credential_accepted, "
                    "credential_failure or credential_deleted); notification_id " +
                    Printable(notification_id, 64) + " not sent"};
    return false;
  }
  if (deadline_ns != 0 && host_->monotonic_ns() >= deadline_ns) {
    *outcome = {WEP_RESULT_RETRY, 0, "batch deadline passed before the notification was sent"};
    return false;
  }

  std::optional<Target> target = Resolve(event, notification_id, deadline_ns, outcome);
  if (!target) return false;
  std::string why;
  if (!CheckEndpointUrl(target->url, config_.allow_insecure_http, &why)) {
    *outcome = {WEP_RESULT_FAILED, 0,
                std::string("notification endpoint from ") + target->via + ": " + why};
    return false;
  }

  nlohmann::ordered_json body = {{"notification_id", notification_id}, {"event", event_name}};
  if (std::string_view description;
      payload["event_description"].get(description) == simdjson::SUCCESS)
    body["event_description"] = SanitizeDescription(std::string(description));
  prepared->order_key = MapKey(event, notification_id) + '\n' + target->url;
  prepared->event_name = event_name;
  prepared->notification_id = notification_id;
  prepared->url = target->url;
  prepared->via = target->via;
  HttpRequest& request = prepared->request;
  request.url = target->url;
  request.post = true;
  request.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  request.headers = {"Content-Type: application/json", "Accept: application/json",
                     "Authorization: Bearer " + *target->token};
  request.timeout_ms = static_cast<long>(config_.request_timeout_ms);  // and the batch deadline
  request.body_cap = kResponseBodyCap;
  return true;
}

std::optional<Notifier::Target> Notifier::Resolve(const wep_event& event,
                                                  const std::string& notification_id,
                                                  uint64_t deadline_ns, Outcome* outcome) {
  const uint64_t now = host_->monotonic_ns();
  const std::string correlation = View(event.correlation_id);
  std::string issuer;
  if (const std::string* known = issuer_by_correlation_.Get(MapKey(event, correlation), now))
    issuer = *known;
  else if (const std::string* by_id =
               issuer_by_notification_.Get(MapKey(event, notification_id), now))
    issuer = *by_id;

  std::string why;
  if (!issuer.empty()) {
    auto entry = config_.issuers.find(issuer);
    const IssuerConfig* ic = entry != config_.issuers.end() ? &entry->second : nullptr;
    if (ic != nullptr && !ic->notification_endpoint.empty())
      return Target{ic->notification_endpoint, &ic->token, "issuers"};
    const std::string* token = nullptr;
    if (ic != nullptr)
      token = &ic->token;
    else if (config_.default_token_for_discovered_endpoints)
      token = &config_.default_token;
    if (token != nullptr) {
      std::optional<IssuerMetadata> md = Metadata(issuer, deadline_ns, outcome);
      if (!md) return std::nullopt;
      if (!md->endpoint.empty()) return Target{md->endpoint, token, "metadata"};
      why = md->problem;
    } else {
      why =
          "it has no `issuers` entry (and default_token_for_discovered_endpoints is false), so "
          "no token may go to an endpoint from its metadata";
    }
  } else {
    why =
        "issuer not known: no earlier CredentialOffer*/CredentialStored with this "
        "correlation_id, nor CredentialIssued/CredentialStored with this notification_id";
  }
  if (!config_.default_endpoint.empty())
    return Target{config_.default_endpoint, &config_.default_token, "default_endpoint"};

  if (issuer.empty() && event.delivery_attempt <= config_.unknown_issuer_retries) {
    *outcome = {WEP_RESULT_RETRY, 0,
                "no notification endpoint yet for correlation_id " + Printable(correlation, 128) +
                    " (issuer not learned yet; delivery " + std::to_string(event.delivery_attempt) +
                    " of " + std::to_string(config_.unknown_issuer_retries + 1) + ")"};
    return std::nullopt;
  }
  *outcome = {WEP_RESULT_FAILED, 0,
              "no notification endpoint for issuer " +
                  (issuer.empty() ? std::string("<unknown>") : Printable(issuer, 128)) +
                  " (correlation_id " + Printable(correlation, 128) + "): " + why};
  return std::nullopt;
}

std::optional<Notifier::IssuerMetadata> Notifier::Metadata(const std::string& issuer,
                                                           uint64_t deadline_ns, Outcome* outcome) {
  if (const IssuerMetadata* cached = metadata_.Get(issuer, host_->monotonic_ns())) return *cached;
  std::optional<IssuerMetadata> md = FetchMetadata(issuer, deadline_ns, outcome);
  if (md) {
    if (md->endpoint.empty())
      Log(WEP_LOG_WARN, "issuer " + Printable(issuer, 128) + ": " + md->problem);
    metadata_.Put(issuer, *md, host_->monotonic_ns());
  }
  return md;
}

std::optional<Notifier::IssuerMetadata> Notifier::FetchMetadata(const std::string& issuer,
                                                                uint64_t deadline_ns,
                                                                Outcome* outcome) {
  std::vector<std::string> urls = MetadataUrls(issuer);
  if (urls.empty())
    return IssuerMetadata{"", "credential_issuer \"" + Printable(issuer, 128) +
                                  "\" is not a URL, so it has no metadata"};
  IssuerMetadata md;
  for (const std::string& url : urls) {
    std::string why;
    if (!CheckEndpointUrl(url, config_.allow_insecure_http, &why)) {
      md.problem = "issuer metadata: " + why;
      return md;
    }
    HttpResponse r =
        http_->Get(url, {"Accept: application/json"}, TimeoutMs(deadline_ns), kMetadataBodyCap);
    if (!r.transport_ok || Transient(r.status)) {
      *outcome = Classify(r, url, "issuer metadata");
      return std::nullopt;
    }
    if (r.status == 404 && &url != &urls.back()) continue;
    if (r.status != 200) {
      md.problem = "issuer metadata " + url + " answered HTTP " + std::to_string(r.status);
      return md;
    }
    if (r.body_truncated) {
      md.problem = "issuer metadata " + url + " is larger than 1 MiB";
      return md;
    }
    json doc = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
    if (!doc.is_object()) {
      md.problem = "issuer metadata " + url + " is not a JSON object";
      return md;
    }
    auto ci = doc.find("credential_issuer");
    if (ci != doc.end() &&
        (!ci->is_string() || NormalizeIssuer(ci->get<std::string>()) != issuer)) {
      md.problem = "issuer metadata " + url + " names a different credential_issuer (" +
                   Printable(ci->is_string() ? ci->get<std::string>() : ci->dump(), 128) + ")";
      return md;
    }
    md.endpoint = StringField(doc, "notification_endpoint");
    if (md.endpoint.empty())
      md.problem = "issuer metadata " + url + " has no notification_endpoint";
    return md;
  }
  return md;  // not reached: the last URL always returns above
}

Notifier::Outcome Notifier::Classify(const HttpResponse& r, const std::string& url,
                                     const std::string& what) const {
  if (!r.transport_ok) {
    if (r.timed_out)
      return {WEP_RESULT_RETRY, 0,
              "timed out sending " + what + " to " + url + ": " + Printable(r.error)};
    return {WEP_RESULT_RETRY, 0,
            "could not send " + what + " to " + url + ": " + Printable(r.error)};
  }
  const std::string status = "HTTP " + std::to_string(r.status);
  if (r.status >= 200 && r.status < 300) return {};
  if (Transient(r.status)) {
    uint32_t after = RetryAfterMs(r.retry_after);
    return {WEP_RESULT_RETRY, after,
            url + " answered " + status + " to " + what +
                (r.retry_after.empty() ? std::string()
                                       : " (Retry-After " + Printable(r.retry_after, 40) + " -> " +
                                             std::to_string(after / 1000) + " s)") +
                (r.body.empty() ? std::string() : ": " + Printable(r.body))};
  }
  if (r.status == 400) {
    json doc = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
    if (doc.is_object()) {
      std::string error = StringField(doc, "error");
      std::string description = StringField(doc, "error_description");
      if (!error.empty()) {
        return {WEP_RESULT_FAILED, 0,
                "issuer rejected " + what + " with " + status + " " + Printable(error, 64) +
                    (description.empty() ? std::string() : ": " + Printable(description)) + " (" +
                    url + "); not retried"};
      }
    }
  }
  if (r.status >= 300 && r.status < 400) {
    return {WEP_RESULT_FAILED, 0,
            url + " answered " + status + " redirecting to " + Printable(r.location, 128) +
                "; redirects are not followed (the bearer token stays with the configured "
                "endpoint)"};
  }
  std::string detail;
  if (!r.www_authenticate.empty())
    detail += " WWW-Authenticate: " + Printable(r.www_authenticate, 128) + ";";
  if (!r.body.empty()) detail += " body: " + Printable(r.body);
  return {WEP_RESULT_FAILED, 0, url + " answered " + status + " to " + what + ";" + detail};
}

uint32_t Notifier::RetryAfterMs(const std::string& header) const {
  std::string v = header;
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.pop_back();
  if (v.empty()) return 0;
  int64_t seconds = 0;
  if (std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c) != 0; })) {
    seconds = v.size() > 9 ? config_.max_retry_after_s : std::stoll(v);
  } else {
    time_t when = curl_getdate(v.c_str(), nullptr);  // HTTP-date form
    if (when == -1) return 0;
    seconds =
        std::max<int64_t>(0, static_cast<int64_t>(when) - static_cast<int64_t>(time(nullptr)));
  }
  return static_cast<uint32_t>(std::min(seconds, config_.max_retry_after_s) * 1000);
}

long Notifier::TimeoutMs(uint64_t deadline_ns) const {
  long timeout = static_cast<long>(config_.request_timeout_ms);
  if (deadline_ns == 0) return timeout;
  uint64_t now = host_->monotonic_ns();
  long left = now >= deadline_ns ? 1 : static_cast<long>((deadline_ns - now) / 1'000'000);
  return std::max(1L, std::min(timeout, left));
}

void Notifier::Log(int32_t level, const std::string& message) const {
  host_->log(ctx_, level, wep_str{message.data(), message.size()});
}

void Notifier::Count(int32_t code) const {
  if (notifications_total_ == nullptr) return;
  wep_str label = wep_str_from_cstr(code == WEP_RESULT_DONE    ? "sent"
                                    : code == WEP_RESULT_RETRY ? "retry"
                                                               : "failed");
  host_->metric_record(notifications_total_, &label, 1, 1.0);
}

}  // namespace wep_notification
