// The dead-letter writer: every record that cannot be handled ends here, with its original
// bytes, key and headers, plus context headers that say where it came from and why.
#ifndef WALLET_EVENTD_BUS_DLQ_H_
#define WALLET_EVENTD_BUS_DLQ_H_

#include <string>
#include <string_view>
#include <vector>

#include "bus/producer.h"

namespace wallet_eventd::bus {

// Header names on DLQ records.
inline constexpr const char* kDlqOriginalTopic = "dlq.original.topic";
inline constexpr const char* kDlqOriginalPartition = "dlq.original.partition";
inline constexpr const char* kDlqOriginalOffset = "dlq.original.offset";
inline constexpr const char* kDlqStage = "dlq.stage";           // decode | handler | ...
inline constexpr const char* kDlqErrorCode = "dlq.error.code";  // e.g. missing_field
inline constexpr const char* kDlqError = "dlq.error";           // the reason, for people
inline constexpr const char* kDlqInstance = "dlq.instance";     // handler instance, if any
inline constexpr const char* kDlqAttempts = "dlq.attempts";     // deliveries tried
inline constexpr const char* kDlqTimestamp = "dlq.timestamp";   // RFC 3339, when written
inline constexpr const char* kDlqReplays = "dlq.replays";       // times `dlq replay` re-drove it
// Set when the record was too large for the DLQ (the producer's message.max.bytes or the DLQ
// topic's max.message.bytes): "<n> bytes: <why>". The DLQ record then has an empty value; the
// bytes stay in the source topic at dlq.original.*.
inline constexpr const char* kDlqValueOmitted = "dlq.value.omitted";
// On a record re-driven by `dlq replay`: the only instance that handles it (absent: every
// instance), and the DLQ record it came from ("<dlq topic>[partition]@offset").
inline constexpr const char* kDlqReplayInstance = "dlq.replay.instance";
inline constexpr const char* kDlqReplaySource = "dlq.replay.source";

struct DeadLetter {
  std::string_view topic;
  int32_t partition = -1;
  int64_t offset = -1;
  std::string_view key;
  std::string_view value;
  std::vector<Header> headers;  // the original record's headers (kept, dlq.* replaced)
  std::string stage;
  std::string error_code;
  std::string error;
  std::string instance;
  uint32_t attempts = 1;
};

// Builds the DLQ record's headers: the original ones (minus old dlq.* context, except
// dlq.replays) followed by the context of this failure.
std::vector<Header> dead_letter_headers(const DeadLetter& letter);

class DlqWriter {
 public:
  DlqWriter(Producer* producer, std::string topic)
      : producer_(producer), topic_(std::move(topic)) {}
  // Writes and waits for the broker's acknowledgement.
  Status write(const DeadLetter& letter);
  const std::string& topic() const { return topic_; }

 private:
  Producer* producer_;
  std::string topic_;
};

}  // namespace wallet_eventd::bus

#endif  // WALLET_EVENTD_BUS_DLQ_H_
