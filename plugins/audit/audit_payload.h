// audit_payload.h -- what a record's `payload` member says: the event's payload as compact JSON
// with its sensitive fields replaced by their SHA-256 (hashed_value in audit_chain.h).
//
// The text is byte for byte what nlohmann/json's dump() makes of the parsed payload after
// hash_fields (members sorted by name, a repeated name keeping its last value, strings escaped
// the same way), so the log's format does not depend on which path wrote it. The fast path
// reads the record with simdjson's DOM parser and writes the text itself (about a tenth of
// parsing and dumping with nlohmann); anything it does not take (not JSON, not UTF-8, nested
// deeper than it reads, overlapping sensitive paths) goes through nlohmann as before.
//
// Not thread-safe: one PayloadWriter per instance (handle_batch is never entered twice).
#ifndef WEP_AUDIT_AUDIT_PAYLOAD_H_
#define WEP_AUDIT_AUDIT_PAYLOAD_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "audit_chain.h"

namespace wep_audit {

class PayloadWriter {
 public:
  explicit PayloadWriter(std::vector<FieldPath> sensitive_fields);
  ~PayloadWriter();
  PayloadWriter(const PayloadWriter&) = delete;
  PayloadWriter& operator=(const PayloadWriter&) = delete;

  // Reads an event record ({"event_type": ..., "payload": {...}}). Returns "" and sets *out to
  // the payload's text and *security_relevant (see SecurityRelevant in the README), or the
  // reason it cannot be recorded: not JSON (with the byte position, never a quote of the input)
  // or no payload object.
  std::string Write(std::string_view raw_json, std::string_view event_type, std::string* out,
                    bool* security_relevant);

  // How many records went through nlohmann (see above), for tests and diagnostics.
  uint64_t slow_writes() const { return slow_writes_; }

 private:
  struct Fast;
  std::string WriteWithNlohmann(std::string_view raw_json, std::string_view event_type,
                                std::string* out, bool* security_relevant) const;

  std::vector<FieldPath> fields_;
  std::unique_ptr<Fast> fast_;  // null when sensitive paths overlap (nlohmann for every record)
  uint64_t slow_writes_ = 0;
};

}  // namespace wep_audit

#endif  // WEP_AUDIT_AUDIT_PAYLOAD_H_
