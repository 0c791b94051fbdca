// One handle_batch call as the pipeline builds it: the wep_event views of the records handed
// over, their result slots and message buffers, and the wep_batch that points at them. Kept
// from call to call (reset() keeps the storage), since allocating them per batch showed in
// profiles. Shared by the pipeline and the ABI microbenchmark (bench/decode_bench.cc), so the
// benchmark times the code the daemon runs.
#ifndef WALLET_EVENTD_DISPATCH_HANDLER_CALL_H_
#define WALLET_EVENTD_DISPATCH_HANDLER_CALL_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "wallet_event_plugin.h"
#include "wallet_eventd/events.h"

namespace wallet_eventd::dispatch {

// What the pipeline knows of one record it hands over. The views must outlive the call.
struct HandOver {
  const CheckedEvent* event = nullptr;
  std::string_view text;  // the batch's metadata text, which event's spans point into
  std::string_view topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string_view key;
  std::string_view value;  // the record's JSON, handed over as raw_json
  const wep_header* headers = nullptr;
  size_t header_count = 0;
  uint32_t attempt = 1;
};

struct HandlerCall {
  // Bytes of each event's result message buffer.
  static constexpr size_t kMessageCapacity = 1024;

  // Makes room for `count` events and clears what the last call left (results, messages, rc).
  void reset(size_t count);
  // Fills event `j` (< count) and its empty result slot.
  void set(size_t j, const HandOver& record);
  // Builds the wep_batch over the `count` events, due by `deadline_ns` (host monotonic clock).
  void seal(uint64_t deadline_ns);

  std::shared_ptr<void> keep_alive;  // what the views point into, while a late call runs
  std::vector<wep_event> events;
  std::vector<wep_event_result> results;
  // kMessageCapacity per event, all zeros on entry but for bytes the plugin itself wrote past
  // an earlier NUL: a plugin that forgets the NUL leaves no stale heap bytes after its text
  // (the message goes into DLQ headers and logs). See reset().
  std::vector<char> messages;
  std::vector<const wep_event*> event_ptrs;
  std::vector<wep_event_result*> result_ptrs;
  wep_batch batch{};
  std::chrono::steady_clock::time_point started;   // when the pipeline handed it over
  std::chrono::steady_clock::time_point finished;  // when handle_batch returned (worker)
  int32_t rc = WEP_OK;
  char err[kMessageCapacity] = {0};
};

}  // namespace wallet_eventd::dispatch

#endif  // WALLET_EVENTD_DISPATCH_HANDLER_CALL_H_
