// A Kafka group consumer for at-least-once processing: nothing is committed automatically;
// the owner commits the offsets it has finished with.
// Thread-safety: one thread at a time (rebalance and statistics hooks run on that thread
// inside poll_batch, except on_stats, which librdkafka may call from poll too).
#ifndef WALLET_EVENTD_BUS_CONSUMER_H_
#define WALLET_EVENTD_BUS_CONSUMER_H_

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bus/fetch_waker.h"
#include "bus/kafka_conf.h"
#include "wallet_eventd/client.h"

namespace wallet_eventd::bus {

using TopicPartition = std::pair<std::string, int32_t>;
using OffsetMap = std::map<TopicPartition, int64_t>;  // next offset to read, per partition

struct MessageDeleter {
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};
using MessagePtr = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;

// Copies a librdkafka message into a Record.
Record to_record(const rd_kafka_message_t* msg);
// Calls fn(name, value) for each header of `msg` in order; both stay valid while `msg` does
// (a header without a value gives an empty one).
template <typename Fn>
void for_each_header(const rd_kafka_message_t* msg, Fn&& fn) {
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(msg, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
  const char* name;
  const void* value;
  size_t size;
  for (size_t i = 0;
       rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i)
    fn(std::string_view(name),
       std::string_view(static_cast<const char*>(value), value != nullptr ? size : 0));
}
std::string_view message_value(const rd_kafka_message_t* msg);

class Consumer {
 public:
  struct Options {
    Properties properties;  // merged librdkafka properties (bootstrap.servers included)
    std::string group_id;
    // Subscribed at create(); empty: none until subscribe() (a tool that must query the
    // bus first, and meanwhile serve its errors with poll_batch, which then returns nothing).
    std::vector<std::string> topics;
    bool from_beginning = true;
    bool read_committed = true;
    // Called before partitions are taken away (rebalance or close): commit what is done.
    std::function<void(const std::vector<TopicPartition>&)> on_revoke;
    std::function<void(const std::vector<TopicPartition>&)> on_assign;
    int statistics_interval_ms = 0;  // 0 = off
    std::function<void(std::string_view json)> on_statistics;
    // > 0: librdkafka's threads of this consumer run at this nice value (a lower CPU priority
    // than the process's other threads), set as each starts. Linux only.
    int thread_nice = 0;
    // true: login_failure() keeps the first authentication or TLS handshake failure, for a
    // tool that should stop at it (librdkafka itself retries forever).
    bool give_up_on_login_failure = false;
  };
  static Result<std::unique_ptr<Consumer>> create(Options options);
  ~Consumer();

  // Up to `max` messages, waiting at most `timeout` for the first. What is queued is taken
  // without waiting; when the queue runs dry before `max`, it waits for more until `timeout`
  // after the call, or, given `linger`, until `linger` after the first message (0: returns
  // what had arrived). Errors that are not records are logged and skipped, and so are records
  // taken before a rebalance in the same call revoked their partition.
  std::vector<MessagePtr> poll_batch(size_t max, std::chrono::milliseconds timeout,
                                     std::optional<std::chrono::milliseconds> linger = {});

  // Subscribes to `topics` (a consumer created with none).
  Status subscribe(const std::vector<std::string>& topics);

  // Commits the given next-offsets synchronously.
  Status commit(const OffsetMap& offsets);
  // Committed next-offsets of the current assignment (for tests and tools).
  Result<OffsetMap> committed(std::chrono::milliseconds timeout);
  // Pauses/resumes fetching on the whole assignment (keeps group membership alive while the
  // owner waits, e.g. during retry backoff). Partitions assigned by a rebalance in between are
  // paused too; resume_all() resumes the assignment as it is then.
  void pause_all();
  void resume_all();
  // Moves the fetch position of one partition (e.g. back to a record to redeliver).
  Status seek(const TopicPartition& tp, int64_t offset);
  std::vector<TopicPartition> assignment();
  // Leaves the group; on_revoke runs first. Waits at most `timeout` for a clean leave.
  void close(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  rd_kafka_t* handle() { return rk_.get(); }
  const std::string& group_id() const { return options_.group_id; }
  // With give_up_on_login_failure: the failed login seen while polling, if any.
  std::optional<Error> login_failure() const { return login_failure_; }
  // Fetcher wake-ups sent (librdkafka < 2.4 only; see bus/fetch_waker.h).
  uint64_t fetch_wake_ups() const { return waker_ ? waker_->wake_ups_sent() : 0; }

 private:
  Consumer() = default;
  static void rebalance_cb(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* parts, void* opaque);
  static int stats_cb(rd_kafka_t* rk, char* json, size_t len, void* opaque);
  // Served inside poll_batch, on the polling thread.
  static void error_cb(rd_kafka_t* rk, int err, const char* reason, void* opaque);
  void drop_revoked(std::vector<MessagePtr>* out);

  Options options_;
  KafkaPtr rk_;
  // librdkafka < 2.4 only: the consumer's queue (watched after each poll) and its waker.
  rd_kafka_queue_t* queue_ = nullptr;
  std::unique_ptr<FetchWakePolicy> wake_policy_;
  std::unique_ptr<FetchWaker> waker_;
  std::vector<TopicPartition> revoked_in_poll_;  // by a rebalance inside the current poll
  bool paused_ = false;                          // between pause_all() and resume_all()
  std::set<TopicPartition> left_paused_;         // paused here and not resumed since
  bool closed_ = false;
  bool left_unclean_ = false;  // close() gave up on leaving the group
  std::optional<Error> login_failure_;
};

// The properties Consumer::create sets under the operator's (`options.properties` win), for
// the librdkafka version given as rd_kafka_version() reports it.
Properties consumer_defaults(const Consumer::Options& options, int librdkafka_version);
// Lowers the calling thread's CPU priority to `nice` (no privilege needed to lower it); false
// with errno set if the kernel refused.
bool lower_thread_priority(int nice);
// Whether a consumer on this librdkafka runs a FetchWaker (no fetch.queue.backoff.ms: < 2.4).
bool needs_fetch_waker(int librdkafka_version);

}  // namespace wallet_eventd::bus

#endif  // WALLET_EVENTD_BUS_CONSUMER_H_
