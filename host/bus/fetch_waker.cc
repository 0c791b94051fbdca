#include "bus/fetch_waker.h"

#include <memory>

#include "bus/log.h"

namespace wallet_eventd::bus {

FetchWakePolicy::FetchWakePolicy(size_t max_messages, size_t max_bytes)
    : max_messages_(max_messages), max_bytes_(max_bytes) {}

void FetchWakePolicy::taken(size_t count, size_t bytes) {
  if (count == 0) return;
  const double batch = static_cast<double>(bytes) / static_cast<double>(count);
  // Follows a change of record sizes within a few batches without jumping on one odd batch.
  avg_payload_ = avg_payload_ == 0 ? batch : 0.8 * avg_payload_ + 0.2 * batch;
}

bool FetchWakePolicy::should_wake(size_t queued) {
  const double bytes = static_cast<double>(queued) * avg_payload_;
  const double max_bytes = static_cast<double>(max_bytes_);
  // Near a limit: the fetcher may have stopped (it stops at the limit, and a fetch response
  // can carry the queue past it).
  if (queued * 4 >= max_messages_ * 3 || bytes * 4 >= max_bytes * 3) {
    armed_ = true;
    return false;
  }
  if (armed_ && queued * 2 < max_messages_ && bytes * 2 < max_bytes) {
    armed_ = false;
    return true;
  }
  return false;
}

FetchWaker::FetchWaker(rd_kafka_t* rk) : rk_(rk), thread_([this] { loop(); }) {}

FetchWaker::~FetchWaker() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void FetchWaker::wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (pending_) return;
    pending_ = true;
  }
  cv_.notify_one();
}

uint64_t FetchWaker::wake_ups_sent() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sent_;
}

void FetchWaker::loop() {
  using ListPtr =
      std::unique_ptr<rd_kafka_topic_partition_list_t, void (*)(rd_kafka_topic_partition_list_t*)>;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return pending_ || stop_; });
    if (stop_) return;
    pending_ = false;
    lock.unlock();
    rd_kafka_topic_partition_list_t* raw = nullptr;
    if (rd_kafka_assignment(rk_, &raw) == RD_KAFKA_RESP_ERR_NO_ERROR && raw != nullptr) {
      ListPtr parts(raw, rd_kafka_topic_partition_list_destroy);
      if (parts->cnt > 0) {
        // The answer (each partition's latest offset) is not needed: queuing the request for
        // the leaders is what wakes their threads, so a slow answer is not waited for long
        // (and closing the consumer, which waits for this thread, is not held up). Offset -1
        // asks for the latest, which the broker answers from memory.
        for (int i = 0; i < parts->cnt; ++i) parts->elems[i].offset = -1;
        rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(rk_, parts.get(), 1000);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
          log_message(LogLevel::kDebug,
                      std::string("fetch wake-up: ") + rd_kafka_err2str(err) + " (ignored)");
      }
    }
    lock.lock();
    ++sent_;
  }
}

}  // namespace wallet_eventd::bus
