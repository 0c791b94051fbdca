#include "bus/dlq.h"

#include <chrono>

#include "wallet_eventd/events.h"

namespace wallet_eventd::bus {

std::vector<Header> dead_letter_headers(const DeadLetter& letter) {
  std::vector<Header> out;
  for (const auto& h : letter.headers) {
    if (h.key.rfind("dlq.", 0) == 0 && h.key != kDlqReplays) continue;
    out.push_back(h);
  }
  auto now =
      std::chrono::time_point_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now());
  out.push_back({kDlqOriginalTopic, std::string(letter.topic)});
  out.push_back({kDlqOriginalPartition, std::to_string(letter.partition)});
  out.push_back({kDlqOriginalOffset, std::to_string(letter.offset)});
  out.push_back({kDlqStage, letter.stage});
  out.push_back({kDlqErrorCode, letter.error_code});
  out.push_back({kDlqError, letter.error});
  if (!letter.instance.empty()) out.push_back({kDlqInstance, letter.instance});
  out.push_back({kDlqAttempts, std::to_string(letter.attempts)});
  out.push_back({kDlqTimestamp, format_timestamp(now)});
  return out;
}

Status DlqWriter::write(const DeadLetter& letter) {
  std::vector<Header> headers = dead_letter_headers(letter);
  Delivery d = producer_->produce_sync(topic_, letter.key, letter.value, headers);
  // A record too large for the DLQ would fail the same way on every retry and stall its
  // pipeline for good (a record over consumer.max_record_bytes is such a record with the
  // defaults): write the context without the bytes instead.
  const std::string too_large = rd_kafka_err2str(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
  if (d.status.ok() || letter.value.empty() ||
      d.status.message().find(too_large) == std::string::npos) {
    return d.status;
  }
  headers.push_back(
      {kDlqValueOmitted, std::to_string(letter.value.size()) + " bytes: " + d.status.message()});
  return producer_->produce_sync(topic_, letter.key, {}, headers).status;
}

}  // namespace wallet_eventd::bus
