// Detector: the six security rules and their bounded, event-time state.
//
// Every window is measured in event time (metadata.timestamp), never wall-clock time, so a
// replay of the same events gives the same alerts. State is bounded twice: each entry expires
// a rule window (or revoked_key_ttl_s) after its last relevant event, and all rule tables
// together hold at most Config::max_entries entries, the least recently touched going first.
//
// Thread-safety: none; the plugin instance guards a Detector with its mutex.
#ifndef WEP_SECURITY_DETECTOR_H_
#define WEP_SECURITY_DETECTOR_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bounded_table.h"
#include "security_config.h"

namespace wep_security {

enum class Rule {
  kNonceReuse,
  kFailedVerifications,
  kMissingHolderBinding,
  kRevokedKeyReuse,
  kDeletionBurst,
  kUntrustedIssuer,
};
inline constexpr Rule kAllRules[] = {Rule::kNonceReuse,           Rule::kFailedVerifications,
                                     Rule::kMissingHolderBinding, Rule::kRevokedKeyReuse,
                                     Rule::kDeletionBurst,        Rule::kUntrustedIssuer};

const char* RuleName(Rule rule);      // "nonce_reuse", ...
const char* RuleSeverity(Rule rule);  // "medium", "high" or "critical"

// What the rules need from one event: its metadata and the payload fields of its type (left
// empty for other types). Views stay valid for the Apply call only.
struct EventFacts {
  int32_t type = 0;  // WEP_EVENT_*
  std::string_view event_id;
  std::string_view wallet_id;
  int64_t time_ns = 0;  // metadata.timestamp
  uint32_t stream = 0;  // Detector::StreamId of the event's topic-partition

  // PresentationRequestSent / PresentationRequestReceived
  std::string request_id, nonce, client_id;
  // PresentationVerified (also request_id)
  std::string presentation_submission_id;
  bool verification_failed = false;  // validation_status is {"Invalid": {...}}
  std::string failure_reason;
  bool holder_binding_verified = true;
  // KeyCreated / KeyRevoked: key_id; KeyRotated: old_key_id, new_key_id
  std::string key_id, old_key_id, new_key_id;
  // CredentialOfferSent / CredentialOfferReceived
  std::string offer_id, credential_issuer;
};

// Fills the payload fields of `facts` (its `type` set) from the record value; returns false
// with the reason in *error when a field the rules need is missing or has the wrong type.
bool ReadPayload(std::string_view raw_json, EventFacts* facts, std::string* error);

struct Alert {
  Rule rule;
  std::vector<std::string> triggering_event_ids;  // oldest first; the current event last
  std::string description;                        // no bearer material, nonces truncated
};

class Detector {
 public:
  explicit Detector(const Config& config);

  // True when an enabled rule reads payload fields of this event type (ReadPayload needed).
  bool NeedsPayload(int32_t type) const;

  // A small number naming a topic-partition: expiry sweeps judge an entry by the event time
  // of the stream that last touched it, so a lagging partition keeps its state.
  uint32_t StreamId(std::string_view topic, int32_t partition);

  // Applies one event to the rule state and returns the alerts it raises, in rule order.
  // An event id a rule already holds is ignored by that rule, but the caller should not apply
  // an event twice (the plugin keeps a recent set of handled event ids).
  std::vector<Alert> Apply(const EventFacts& event);

  // Entries in all rule tables together (<= max_entries).
  size_t entries() const;

  struct Evictions {
    uint64_t expired = 0;   // dropped because their window passed
    uint64_t capacity = 0;  // dropped to stay within max_entries
  };
  // Evictions since the last call.
  Evictions TakeEvictions();

 private:
  struct NonceUse {
    std::string first_event_id;
    std::string first_request_id;
    int32_t first_type;
    uint8_t directions;  // bit 0: seen in a Sent, bit 1: seen in a Received
  };
  struct Hit {
    int64_t time_ns;
    std::string event_id;
  };
  struct Burst {
    int64_t newest_ns;
    std::vector<Hit> hits;  // ascending time, all within the window ending at newest_ns
  };
  struct Revocation {
    std::string event_id;
    int64_t revoked_ns;
  };

  void CheckNonce(const EventFacts& e, std::vector<Alert>* alerts);
  void CheckVerification(const EventFacts& e, std::vector<Alert>* alerts);
  void CheckKey(const EventFacts& e, std::vector<Alert>* alerts);
  void CheckDeletion(const EventFacts& e, std::vector<Alert>* alerts);
  void CheckOffer(const EventFacts& e, std::vector<Alert>* alerts);

  // Adds `e` to the burst under `key`; returns the hits of a completed burst (and forgets
  // them) or an empty vector.
  std::vector<Hit> AddHit(BoundedTable<Burst>* table, std::string key, const EventFacts& e,
                          int64_t window_ns, size_t threshold);
  // Evicts least recently touched entries (across tables) until one more fits.
  void MakeRoom();

  Config config_;
  uint64_t seq_ = 0;  // touch counter shared by all tables
  std::unordered_map<std::string, uint32_t> streams_;
  std::vector<int64_t> watermarks_;   // by stream: the newest event time seen
  BoundedTable<NonceUse> nonces_;     // "<len>:<client_id><nonce>"
  BoundedTable<Burst> failures_;      // wallet_id
  BoundedTable<Revocation> revoked_;  // "<len>:<wallet_id><key_id>"
  BoundedTable<Burst> deletions_;     // wallet_id
  uint64_t capacity_evictions_ = 0;
};

}  // namespace wep_security

#endif  // WEP_SECURITY_DETECTOR_H_
