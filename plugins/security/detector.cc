#include "detector.h"

#include <simdjson.h>

#include <algorithm>
#include <limits>

#include "rfc3339.h"

namespace wep_security {
namespace {

using simdjson::dom::element;
using simdjson::dom::object;

constexpr int64_t kNsPerSecond = 1'000'000'000;
constexpr uint8_t kSent = 1;
constexpr uint8_t kReceived = 2;

int64_t AddSaturated(int64_t a, int64_t b) {
  int64_t out;
  if (__builtin_add_overflow(a, b, &out)) return std::numeric_limits<int64_t>::max();
  return out;
}

const char* TypeName(int32_t type) {
  switch (type) {
    case WEP_EVENT_CREDENTIAL_OFFER_SENT:
      return "CredentialOfferSent";
    case WEP_EVENT_CREDENTIAL_OFFER_RECEIVED:
      return "CredentialOfferReceived";
    case WEP_EVENT_PRESENTATION_REQUEST_SENT:
      return "PresentationRequestSent";
    case WEP_EVENT_PRESENTATION_REQUEST_RECEIVED:
      return "PresentationRequestReceived";
    case WEP_EVENT_KEY_CREATED:
      return "KeyCreated";
    case WEP_EVENT_KEY_ROTATED:
      return "KeyRotated";
    default:
      return "event";
  }
}

// A value fit for a one-line description: control characters replaced, long text cut.
std::string Clip(std::string_view text, size_t max = 120) {
  std::string out;
  for (char c : text.substr(0, max)) out += static_cast<unsigned char>(c) < 0x20 ? '?' : c;
  if (text.size() > max) out += "...";
  return out;
}

// A nonce is not bearer material, but alerts travel further than the events: keep a short
// prefix, enough to correlate by eye, and the length.
std::string TruncatedNonce(std::string_view nonce) {
  const size_t shown = std::min<size_t>(4, nonce.size() / 3);
  return "\"" + Clip(nonce.substr(0, shown)) + "...\" (" + std::to_string(nonce.size()) + " chars)";
}

// "<len>:<a><b>": an unambiguous composite key.
std::string PairKey(std::string_view a, std::string_view b) {
  std::string key = std::to_string(a.size());
  key += ':';
  key.append(a);
  key.append(b);
  return key;
}

bool ReadString(object payload, const char* name, bool required, std::string* out,
                std::string* error) {
  std::string_view value;
  if (payload[name].get(value) == simdjson::SUCCESS) {
    out->assign(value);
    return true;
  }
  if (!required) return true;
  *error = std::string("payload.") + name + " is missing or not a string";
  return false;
}

}  // namespace

const char* RuleName(Rule rule) {
  switch (rule) {
    case Rule::kNonceReuse:
      return "nonce_reuse";
    case Rule::kFailedVerifications:
      return "failed_verifications";
    case Rule::kMissingHolderBinding:
      return "missing_holder_binding";
    case Rule::kRevokedKeyReuse:
      return "revoked_key_reuse";
    case Rule::kDeletionBurst:
      return "deletion_burst";
    case Rule::kUntrustedIssuer:
      return "untrusted_issuer";
  }
  return "unknown";
}

const char* RuleSeverity(Rule rule) {
  switch (rule) {
    case Rule::kNonceReuse:
    case Rule::kFailedVerifications:
      return "high";
    case Rule::kRevokedKeyReuse:
      return "critical";
    case Rule::kMissingHolderBinding:
    case Rule::kDeletionBurst:
    case Rule::kUntrustedIssuer:
      return "medium";
  }
  return "unknown";
}

bool ReadPayload(std::string_view raw_json, EventFacts* facts, std::string* error) {
  // simdjson reads the few fields the rules need in a tenth of nlohmann's time. One parser per
  // thread (handle_batch may run on several); `p` is read before the thread's next record.
  thread_local simdjson::dom::parser parser;
  object p;
  if (raw_json.empty() ||
      parser.parse(raw_json.data(), raw_json.size())["payload"].get(p) != simdjson::SUCCESS) {
    *error = "record value is not a JSON object with a payload object";
    return false;
  }
  switch (facts->type) {
    case WEP_EVENT_PRESENTATION_REQUEST_SENT:
    case WEP_EVENT_PRESENTATION_REQUEST_RECEIVED:
      return ReadString(p, "request_id", true, &facts->request_id, error) &&
             ReadString(p, "nonce", true, &facts->nonce, error) &&
             ReadString(p, "client_id", true, &facts->client_id, error);
    case WEP_EVENT_PRESENTATION_VERIFIED: {
      ReadString(p, "request_id", false, &facts->request_id, error);
      ReadString(p, "presentation_submission_id", false, &facts->presentation_submission_id, error);
      if (p["holder_binding_verified"].get(facts->holder_binding_verified) != simdjson::SUCCESS) {
        *error = "payload.holder_binding_verified is missing or not a boolean";
        return false;
      }
      // "Valid" or {"Invalid": {"reason": "..."}}; any other variant is not a failure.
      element status;
      if (p["validation_status"].get(status) != simdjson::SUCCESS ||
          !(status.is_string() || status.is_object())) {
        *error = "payload.validation_status is missing or neither a string nor an object";
        return false;
      }
      element invalid;
      if (status.is_object()) {
        facts->verification_failed = status["Invalid"].get(invalid) == simdjson::SUCCESS;
        object detail;
        if (facts->verification_failed && invalid.get(detail) == simdjson::SUCCESS) {
          ReadString(detail, "reason", false, &facts->failure_reason, error);
        }
      }
      return true;
    }
    case WEP_EVENT_KEY_CREATED:
    case WEP_EVENT_KEY_REVOKED:
      return ReadString(p, "key_id", true, &facts->key_id, error);
    case WEP_EVENT_KEY_ROTATED:
      return ReadString(p, "old_key_id", true, &facts->old_key_id, error) &&
             ReadString(p, "new_key_id", true, &facts->new_key_id, error);
    case WEP_EVENT_CREDENTIAL_OFFER_SENT:
    case WEP_EVENT_CREDENTIAL_OFFER_RECEIVED:
      ReadString(p, "offer_id", false, &facts->offer_id, error);
      return ReadString(p, "credential_issuer", true, &facts->credential_issuer, error);
    default:
      return true;
  }
}

Detector::Detector(const Config& config) : config_(config) {}

bool Detector::NeedsPayload(int32_t type) const {
  switch (type) {
    case WEP_EVENT_PRESENTATION_REQUEST_SENT:
    case WEP_EVENT_PRESENTATION_REQUEST_RECEIVED:
      return config_.nonce_reuse_enabled;
    case WEP_EVENT_PRESENTATION_VERIFIED:
      return config_.failed_verifications_enabled || config_.missing_holder_binding_enabled;
    case WEP_EVENT_KEY_CREATED:
    case WEP_EVENT_KEY_ROTATED:
    case WEP_EVENT_KEY_REVOKED:
      return config_.revoked_key_reuse_enabled;
    case WEP_EVENT_CREDENTIAL_OFFER_SENT:
    case WEP_EVENT_CREDENTIAL_OFFER_RECEIVED:
      return config_.untrusted_issuer_enabled && !config_.issuer_allowlist.empty();
    default:
      return false;  // CredentialDeleted needs the metadata only
  }
}

uint32_t Detector::StreamId(std::string_view topic, int32_t partition) {
  std::string key(topic);
  key += '#';
  key += std::to_string(partition);
  auto [it, inserted] = streams_.try_emplace(std::move(key), watermarks_.size());
  if (inserted) watermarks_.push_back(std::numeric_limits<int64_t>::min());
  return it->second;
}

std::vector<Alert> Detector::Apply(const EventFacts& e) {
  std::vector<Alert> alerts;
  if (e.stream < watermarks_.size()) {
    watermarks_[e.stream] = std::max(watermarks_[e.stream], e.time_ns);
  }
  ++seq_;
  // Each rule table is fed by one event family; sweep the one this event touched.
  switch (e.type) {
    case WEP_EVENT_PRESENTATION_REQUEST_SENT:
    case WEP_EVENT_PRESENTATION_REQUEST_RECEIVED:
      if (config_.nonce_reuse_enabled) CheckNonce(e, &alerts);
      nonces_.SweepExpired(watermarks_);
      break;
    case WEP_EVENT_PRESENTATION_VERIFIED:
      CheckVerification(e, &alerts);
      failures_.SweepExpired(watermarks_);
      break;
    case WEP_EVENT_KEY_CREATED:
    case WEP_EVENT_KEY_ROTATED:
    case WEP_EVENT_KEY_REVOKED:
      if (config_.revoked_key_reuse_enabled) CheckKey(e, &alerts);
      revoked_.SweepExpired(watermarks_);
      break;
    case WEP_EVENT_CREDENTIAL_DELETED:
      if (config_.deletion_burst_enabled) CheckDeletion(e, &alerts);
      deletions_.SweepExpired(watermarks_);
      break;
    case WEP_EVENT_CREDENTIAL_OFFER_SENT:
    case WEP_EVENT_CREDENTIAL_OFFER_RECEIVED:
      CheckOffer(e, &alerts);  // stateless
      break;
    default:
      break;
  }
  return alerts;
}

void Detector::CheckNonce(const EventFacts& e, std::vector<Alert>* alerts) {
  const uint8_t direction = e.type == WEP_EVENT_PRESENTATION_REQUEST_SENT ? kSent : kReceived;
  std::string key = PairKey(e.client_id, e.nonce);
  auto* entry = nonces_.Find(key, e.time_ns);
  if (entry == nullptr) {
    MakeRoom();
    nonces_.Insert(
        std::move(key), NonceUse{std::string(e.event_id), e.request_id, e.type, direction},
        AddSaturated(e.time_ns, config_.nonce_reuse_window_s * kNsPerSecond), seq_, e.stream);
    return;
  }
  NonceUse& use = entry->value;
  if (use.first_event_id == e.event_id) return;  // the same event again, not a reuse
  nonces_.Touch(entry, seq_, e.stream);
  // The verifier's Sent and the wallet's Received of one request carry the same nonce: that
  // is one use. Any other sighting (same side again, or another request) is a reuse.
  if ((use.directions & direction) == 0 && use.first_request_id == e.request_id) {
    use.directions |= direction;
    return;
  }
  alerts->push_back(Alert{
      Rule::kNonceReuse,
      {use.first_event_id, std::string(e.event_id)},
      "nonce " + TruncatedNonce(e.nonce) + " of client_id " + Clip(e.client_id) +
          " seen again within " + std::to_string(config_.nonce_reuse_window_s) + " s: first in " +
          TypeName(use.first_type) + " (request_id " + Clip(use.first_request_id) + "), again in " +
          TypeName(e.type) + " (request_id " + Clip(e.request_id) + ")"});
}

void Detector::CheckVerification(const EventFacts& e, std::vector<Alert>* alerts) {
  if (config_.failed_verifications_enabled && e.verification_failed) {
    std::vector<Hit> burst = AddHit(&failures_, std::string(e.wallet_id), e,
                                    config_.failed_verifications_window_s * kNsPerSecond,
                                    static_cast<size_t>(config_.failed_verifications_threshold));
    if (!burst.empty()) {
      Alert alert{Rule::kFailedVerifications, {}, ""};
      for (Hit& hit : burst) alert.triggering_event_ids.push_back(std::move(hit.event_id));
      alert.description = std::to_string(burst.size()) +
                          " presentation verifications failed for wallet " + Clip(e.wallet_id) +
                          " within " + std::to_string(config_.failed_verifications_window_s) +
                          " s (latest reason: " + Clip(e.failure_reason) + ")";
      alerts->push_back(std::move(alert));
    }
  }
  if (config_.missing_holder_binding_enabled && !e.holder_binding_verified) {
    alerts->push_back(Alert{Rule::kMissingHolderBinding,
                            {std::string(e.event_id)},
                            "presentation " + Clip(e.presentation_submission_id) +
                                " for request_id " + Clip(e.request_id) +
                                " was verified without holder binding "
                                "(holder_binding_verified=false)"});
  }
}

void Detector::CheckKey(const EventFacts& e, std::vector<Alert>* alerts) {
  if (e.type == WEP_EVENT_KEY_REVOKED) {
    std::string key = PairKey(e.wallet_id, e.key_id);
    const int64_t expires = AddSaturated(e.time_ns, config_.revoked_key_ttl_s * kNsPerSecond);
    auto* entry = revoked_.Find(key, e.time_ns);
    if (entry == nullptr) {
      MakeRoom();
      revoked_.Insert(std::move(key), Revocation{std::string(e.event_id), e.time_ns}, expires, seq_,
                      e.stream);
      return;
    }
    revoked_.Touch(entry, seq_, e.stream);
    if (e.time_ns < entry->value.revoked_ns) {  // an earlier revocation, seen late
      entry->value = Revocation{std::string(e.event_id), e.time_ns};
    }
    entry->expires_ns = std::max(entry->expires_ns, expires);
    return;
  }

  std::vector<std::pair<std::string_view, const char*>> used;  // key id, field
  if (e.type == WEP_EVENT_KEY_CREATED) {
    used.emplace_back(e.key_id, "key_id");
  } else {
    used.emplace_back(e.old_key_id, "old_key_id");
    if (e.new_key_id != e.old_key_id) used.emplace_back(e.new_key_id, "new_key_id");
  }
  Alert alert{Rule::kRevokedKeyReuse, {}, ""};
  for (const auto& [key_id, field] : used) {
    auto* entry = revoked_.Find(PairKey(e.wallet_id, key_id), e.time_ns);
    if (entry == nullptr || e.time_ns < entry->value.revoked_ns) continue;
    revoked_.Touch(entry, seq_, e.stream);
    alert.triggering_event_ids.push_back(entry->value.event_id);
    if (!alert.description.empty()) alert.description += "; ";
    alert.description += "key " + Clip(key_id) + " (" + field + ") was revoked at " +
                         FormatRfc3339(entry->value.revoked_ns);
  }
  if (alert.triggering_event_ids.empty()) return;
  alert.triggering_event_ids.emplace_back(e.event_id);
  alert.description = std::string(TypeName(e.type)) + " of wallet " + Clip(e.wallet_id) +
                      " uses a revoked key: " + alert.description;
  alerts->push_back(std::move(alert));
}

void Detector::CheckDeletion(const EventFacts& e, std::vector<Alert>* alerts) {
  std::vector<Hit> burst = AddHit(&deletions_, std::string(e.wallet_id), e,
                                  config_.deletion_burst_window_s * kNsPerSecond,
                                  static_cast<size_t>(config_.deletion_burst_threshold));
  if (burst.empty()) return;
  Alert alert{Rule::kDeletionBurst, {}, ""};
  for (Hit& hit : burst) alert.triggering_event_ids.push_back(std::move(hit.event_id));
  alert.description = std::to_string(burst.size()) + " credentials deleted from wallet " +
                      Clip(e.wallet_id) + " within " +
                      std::to_string(config_.deletion_burst_window_s) + " s";
  alerts->push_back(std::move(alert));
}

void Detector::CheckOffer(const EventFacts& e, std::vector<Alert>* alerts) {
  if (!config_.untrusted_issuer_enabled || config_.issuer_allowlist.empty() ||
      config_.issuer_allowlist.count(e.credential_issuer) != 0) {
    return;
  }
  alerts->push_back(Alert{Rule::kUntrustedIssuer,
                          {std::string(e.event_id)},
                          std::string(TypeName(e.type)) + " " + Clip(e.offer_id) +
                              " names credential_issuer " + Clip(e.credential_issuer) +
                              ", which is not on issuer_allowlist"});
}

std::vector<Detector::Hit> Detector::AddHit(BoundedTable<Burst>* table, std::string key,
                                            const EventFacts& e, int64_t window_ns,
                                            size_t threshold) {
  auto* entry = table->Find(key, e.time_ns);
  if (entry == nullptr) {
    MakeRoom();
    entry = &table->Insert(std::move(key), Burst{e.time_ns, {}}, 0, seq_, e.stream);
  } else {
    table->Touch(entry, seq_, e.stream);
  }
  Burst& burst = entry->value;
  for (const Hit& hit : burst.hits) {
    if (hit.event_id == e.event_id) return {};  // the same event again
  }
  burst.newest_ns = std::max(burst.newest_ns, e.time_ns);
  const int64_t oldest_kept = burst.newest_ns - window_ns;  // inclusive: a span of exactly
                                                            // the window still counts
  entry->expires_ns = AddSaturated(burst.newest_ns, window_ns);
  if (e.time_ns < oldest_kept) return {};  // late and already outside the window
  burst.hits.erase(burst.hits.begin(),
                   std::find_if(burst.hits.begin(), burst.hits.end(),
                                [&](const Hit& h) { return h.time_ns >= oldest_kept; }));
  auto at = std::upper_bound(burst.hits.begin(), burst.hits.end(), e.time_ns,
                             [](int64_t t, const Hit& h) { return t < h.time_ns; });
  burst.hits.insert(at, Hit{e.time_ns, std::string(e.event_id)});
  if (burst.hits.size() < threshold) return {};
  std::vector<Hit> out = std::move(burst.hits);
  table->Erase(entry);  // the next burst starts from zero
  return out;
}

void Detector::MakeRoom() {
  const size_t limit = static_cast<size_t>(config_.max_entries);
  while (entries() >= limit) {
    // The globally least recently touched entry is the oldest tail of the four tables.
    const uint64_t none = std::numeric_limits<uint64_t>::max();
    uint64_t oldest = none;
    int table = -1;
    auto consider = [&](const auto& t, int index) {
      if (const auto* e = t.Oldest(); e != nullptr && e->touch_seq < oldest) {
        oldest = e->touch_seq;
        table = index;
      }
    };
    consider(nonces_, 0);
    consider(failures_, 1);
    consider(revoked_, 2);
    consider(deletions_, 3);
    switch (table) {
      case 0:
        nonces_.EraseOldest();
        break;
      case 1:
        failures_.EraseOldest();
        break;
      case 2:
        revoked_.EraseOldest();
        break;
      case 3:
        deletions_.EraseOldest();
        break;
      default:
        return;
    }
    ++capacity_evictions_;
  }
}

size_t Detector::entries() const {
  return nonces_.size() + failures_.size() + revoked_.size() + deletions_.size();
}

Detector::Evictions Detector::TakeEvictions() {
  Evictions out;
  out.expired = nonces_.TakeExpiredCount() + failures_.TakeExpiredCount() +
                revoked_.TakeExpiredCount() + deletions_.TakeExpiredCount();
  out.capacity = std::exchange(capacity_evictions_, 0);
  return out;
}

}  // namespace wep_security
