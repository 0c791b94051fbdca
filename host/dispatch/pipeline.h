// One consumer pipeline: its own consumer group reads the wallet topics, decodes every record,
// and hands batches of the event types it wants to one plugin instance, with retries, a
// handler deadline and dead-lettering. Offsets are committed only past records that are done
// or dead-lettered, after the instance's flush hook said they are durable.
//
// A pipeline without an instance is the validator: it dead-letters records that do not
// decode (once, for all instances; instance pipelines skip them) and counts the rest.
//
// Thread-safety: start/request_stop/join/state may be called from any thread; everything else
// runs on the pipeline's own thread.
#ifndef WALLET_EVENTD_DISPATCH_PIPELINE_H_
#define WALLET_EVENTD_DISPATCH_PIPELINE_H_

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "admin/metrics_registry.h"
#include "bus/consumer.h"
#include "bus/dlq.h"
#include "config/config.h"
#include "plugins/plugin_instance.h"
#include "wallet_eventd/events.h"

namespace wallet_eventd::dispatch {

struct PipelineOptions {
  std::string name;  // instance name, or "validator"
  std::string group_id;
  std::vector<std::string> topics;  // subscribed: an instance, those of its types
  // The topic each event type is published to, by EventType number: a valid event on another
  // type's topic is invalid ("wrong_topic": the validator dead-letters it, instances skip it).
  std::array<std::string, kEventTypeCount + 1> topic_of_type;
  bus::Properties consumer_properties;  // bootstrap.servers and passthrough properties
  bool from_beginning = true;
  size_t batch_size = 64;
  // Once a batch has its first record, how long it may wait for more (0: it takes what has
  // arrived; batches still fill by themselves while the handler works on the previous one).
  std::chrono::milliseconds batch_timeout{0};
  std::chrono::milliseconds handler_timeout{30000};
  config::RetryPolicy retry;
  uint64_t type_mask = 0;  // bit per EventType number; the validator ignores it
  DecodeLimits limits;
  std::chrono::milliseconds commit_interval{1000};
  // > 0: the pipeline's thread and its consumer's librdkafka threads run at this nice value
  // (the validator: handlers get the CPU first when it is short).
  int nice = 0;
};

enum class PipelineState { kStarting, kRunning, kStuck, kStopped, kFailed };
std::string_view to_string(PipelineState state);

class HandlerRunner;  // runs handle_batch on a worker thread with a deadline
struct HandlerCall;   // one handle_batch call: its views and result slots (handler_call.h)

class Pipeline {
 public:
  // `instance` may be null (the validator). `dlq` and `metrics` must outlive the pipeline.
  Pipeline(PipelineOptions options, plugins::PluginInstance* instance, bus::DlqWriter* dlq,
           admin::MetricsRegistry* metrics);
  ~Pipeline();

  // Creates the consumer and starts the thread; an error means nothing was started.
  Status start();
  void request_stop();
  // Waits for the thread; the last offsets are committed before it ends.
  void join();
  PipelineState state() const { return state_.load(); }
  const std::string& name() const { return options_.name; }
  std::string status_text() const;  // for /readyz

 private:
  struct Batch;
  // A batch whose first handler call (its `wanted` records) was started and not yet settled
  // (at most one).
  struct InFlight {
    std::shared_ptr<Batch> batch;
    std::shared_ptr<HandlerCall> call;
  };
  void run();
  std::shared_ptr<Batch> take_batch();
  // Fills the batch from the consumer (after what a wait() held back).
  void poll(Batch& batch);
  // Whether the record's partition was revoked since it was polled (`polled_at`: revocations_
  // then; in a wait() or a dead letter's retry): it is then the next owner's, neither handled
  // nor recorded here.
  bool lost(uint64_t polled_at, const rd_kafka_message_t* m) const;
  void drop_lost(const Batch& batch, std::vector<size_t>* indexes) const;
  // Whether events of type `t` are published to the record's topic. Records come in runs of
  // one topic: the topic's types are worked out when it changes (within one batch, whose
  // records keep their topic handles alive), not per record.
  bool on_its_topic(const rd_kafka_message_t* m, EventType t);
  void recycle(std::shared_ptr<Batch> batch);
  // Checks every record of the batch and fills its `wanted`; the validator dead-letters what
  // is invalid here (false if stopped before that was done).
  bool check(Batch& batch);
  // Records the batch's offsets as resolved.
  void record(const Batch& batch);
  // Finishes the in-flight batch (its retries and dead letters) and records it; false if the
  // pipeline was stopped before every record was resolved (nothing is recorded then).
  bool settle();
  // Hands `pending` (indexes into the batch) to the handler's thread and returns.
  std::shared_ptr<HandlerCall> start_call(const std::shared_ptr<Batch>& batch,
                                          const std::vector<size_t>& pending, uint32_t attempt);
  // Waits for `call`, resolves its results and retries until every record is done or
  // dead-lettered; false if stopped before all were resolved.
  bool complete(const std::shared_ptr<Batch>& batch, std::vector<size_t> pending,
                std::shared_ptr<HandlerCall> call, uint32_t attempt);
  // Dead-letters one record, retrying the write until it succeeds or the pipeline stops.
  bool dead_letter(const rd_kafka_message_t* msg, const std::string& stage, const std::string& code,
                   const std::string& error, uint32_t attempts);
  // Sleeps up to `d` keeping the group membership alive (by polling, except inside a rebalance
  // callback); false if asked to stop.
  bool wait(std::chrono::milliseconds d);
  void commit(bool force);
  // The two halves of commit(): the flush hook and taking what is done (when a commit is due,
  // or `force`; nothing may be in flight), then the commit request. A failed request puts the
  // offsets back for the next commit.
  std::optional<bus::OffsetMap> take_commit(bool force);
  void send_commit(bus::OffsetMap offsets);
  void on_revoke(const std::vector<bus::TopicPartition>& parts);
  void on_statistics(std::string_view json);

  PipelineOptions options_;
  const rd_kafka_topic_t* types_topic_ = nullptr;  // on_its_topic(): the topic last seen
  uint64_t topic_types_ = 0;                       // and the WEP_EVENT_BIT()s it carries
  plugins::PluginInstance* instance_;
  bus::DlqWriter* dlq_;
  admin::MetricsRegistry* metrics_;
  std::unique_ptr<bus::Consumer> consumer_;
  std::unique_ptr<HandlerRunner> runner_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<PipelineState> state_{PipelineState::kStarting};
  std::mutex wait_mu_;
  std::condition_variable wait_cv_;

  bus::OffsetMap done_;  // next offsets resolved but not yet committed
  std::chrono::steady_clock::time_point last_commit_;
  mutable std::mutex error_mu_;
  std::string last_error_;

  // Cached metric series.
  admin::Counter* handled_done_ = nullptr;
  admin::Counter* handled_retry_ = nullptr;
  admin::Counter* handled_failed_ = nullptr;
  admin::Counter* dead_lettered_ = nullptr;
  admin::Counter* skipped_ = nullptr;
  admin::Histogram* batch_seconds_ = nullptr;
  admin::Family* lag_ = nullptr;
  admin::Family* invalid_ = nullptr;
  admin::Family* by_type_ = nullptr;
  std::array<admin::Counter*, kEventTypeCount + 1> by_type_series_{};  // by EventType (1..13)

  // The last handler call's views and result buffers, kept for the next batch once the handler
  // has returned: allocating and freeing them per batch showed in profiles. Dropped when a call
  // outlives its deadline (the worker still holds it).
  std::shared_ptr<HandlerCall> spare_call_;
  std::shared_ptr<Batch> spare_batch_;  // the last settled batch, cleared, for the next poll
  std::optional<InFlight> in_flight_;
  bool in_rebalance_ = false;  // on_revoke is running (inside librdkafka's poll)
  uint64_t revocations_ = 0;   // on_revoke calls so far
  std::map<bus::TopicPartition, uint64_t> revoked_at_;  // revocations_ at its last revoke
  std::vector<bus::MessagePtr> held_;  // returned by a poll in wait(); lead the next batch
};

}  // namespace wallet_eventd::dispatch

#endif  // WALLET_EVENTD_DISPATCH_PIPELINE_H_
