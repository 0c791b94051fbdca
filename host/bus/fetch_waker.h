// Keeps librdkafka < 2.4's fetcher from pausing a second each time a consumer's queue fills.
//
// librdkafka stops fetching for a partition while the consumer's queue holds
// queued.min.messages records or queued.max.messages.kbytes, and its broker thread then looks
// again only when something wakes it: before 2.4.0 (no fetch.queue.backoff.ms) that is its
// one-second idle timeout. Any request queued for a broker wakes that broker's thread, which
// decides afresh which partitions to fetch. So once a full queue has drained to half, the
// waker sends a ListOffsets for the assignment (rd_kafka_offsets_for_times: one small request
// per partition leader) from a thread of its own, and fetching resumes at once. A bounded
// queue then keeps a fast consumer fed (docs/BENCHMARKS.md, "Consume").
#ifndef WALLET_EVENTD_BUS_FETCH_WAKER_H_
#define WALLET_EVENTD_BUS_FETCH_WAKER_H_

#include <librdkafka/rdkafka.h>

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>

namespace wallet_eventd::bus {

// When to wake the fetcher, from what the consumer's queue holds. Pure and single-threaded.
class FetchWakePolicy {
 public:
  // The queue's limits as librdkafka enforces them: queued.min.messages and
  // queued.max.messages.kbytes * 1024.
  FetchWakePolicy(size_t max_messages, size_t max_bytes);

  // Records the payload sizes of records taken off the queue (`count` records, `bytes` in
  // all): librdkafka counts a queue's bytes as payload bytes, and only the count is public.
  void taken(size_t count, size_t bytes);

  // Called with the queue's length after each poll. True when the fetcher should be woken
  // now: the queue has been near a limit (where the fetcher stops) and has since drained to
  // half of both limits, leaving time for a fetch before it runs dry.
  bool should_wake(size_t queued);

  double average_payload() const { return avg_payload_; }

 private:
  size_t max_messages_;
  size_t max_bytes_;
  double avg_payload_ = 0;
  bool armed_ = false;
};

// Sends the wake-up requests from its own thread (they wait for the broker's answer; the
// consumer's thread must not).
class FetchWaker {
 public:
  explicit FetchWaker(rd_kafka_t* rk);
  ~FetchWaker();  // stops the thread; call before the consumer closes
  FetchWaker(const FetchWaker&) = delete;
  FetchWaker& operator=(const FetchWaker&) = delete;

  // Asks for a wake-up; requests made while one is under way are folded into the next.
  void wake();
  uint64_t wake_ups_sent() const;

 private:
  void loop();

  rd_kafka_t* rk_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool pending_ = false;
  bool stop_ = false;
  uint64_t sent_ = 0;
  std::thread thread_;
};

}  // namespace wallet_eventd::bus

#endif  // WALLET_EVENTD_BUS_FETCH_WAKER_H_
