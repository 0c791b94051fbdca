#include "dispatch/pipeline.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include <pthread.h>

#include "dispatch/handler_call.h"
#include "wallet_eventd/log.h"

namespace wallet_eventd::dispatch {

std::string_view to_string(PipelineState state) {
  switch (state) {
    case PipelineState::kStarting:
      return "starting";
    case PipelineState::kRunning:
      return "running";
    case PipelineState::kStuck:
      return "stuck in handler";
    case PipelineState::kStopped:
      return "stopped";
    case PipelineState::kFailed:
      return "failed";
  }
  return "?";
}

// The records of one poll and what became of them. Shared with a handler call that may outlive
// its deadline, so that the views the plugin holds stay valid until it returns.
struct Pipeline::Batch {
  std::vector<bus::MessagePtr> msgs;
  std::vector<CheckedEvent> checked;             // filled for the events handed out only
  std::string text;                              // their metadata strings (check_event)
  std::vector<std::vector<wep_header>> headers;  // filled for the events handed out only
  std::vector<uint32_t> attempts;                // deliveries made so far
  std::vector<size_t> wanted;                    // the records to hand to the instance
  uint64_t revocations = 0;                      // Pipeline::revocations_ when it was polled
};

namespace {

constexpr size_t kMessageCapacity = HandlerCall::kMessageCapacity;
// How long the pipeline's thread waits for a first record before it goes round its loop
// (settling the batch in flight, committing, seeing a stop request) with none.
constexpr std::chrono::milliseconds kIdlePoll{50};

std::string_view value_of(const rd_kafka_message_t* m) { return bus::message_value(m); }
std::string_view key_of(const rd_kafka_message_t* m) {
  return {static_cast<const char*>(m->key), m->key != nullptr ? m->key_len : 0};
}

// A record re-driven by `dlq replay` to one instance carries that instance's name; every other
// instance passes over it (it handled the original already).
bool replayed_for_another(const rd_kafka_message_t* m, const std::string& instance) {
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) return false;
  const void* value = nullptr;
  size_t size = 0;
  if (rd_kafka_header_get_last(hdrs, bus::kDlqReplayInstance, &value, &size) !=
      RD_KAFKA_RESP_ERR_NO_ERROR)
    return false;
  return std::string_view(static_cast<const char*>(value), value != nullptr ? size : 0) != instance;
}

wep_str str(std::string_view s) { return {s.data(), s.size()}; }

// Names the calling thread "<role>:<instance>" (cut to the 15 bytes Linux keeps), so that
// `top -H`, `perf` and gdb show which instance a busy thread belongs to.
void name_thread(std::string_view role, const std::string& instance) {
  std::string name = std::string(role) + ":" + instance;
  name.resize(std::min<size_t>(name.size(), 15));
  pthread_setname_np(pthread_self(), name.c_str());
}

}  // namespace

using Call = HandlerCall;

// Runs handle_batch on a worker thread so that a plugin that blocks past its deadline does not
// block the pipeline's bookkeeping; the pipeline waits for the worker before the next call, so
// a non-thread-safe plugin is never entered twice.
class HandlerRunner {
 public:
  HandlerRunner(plugins::PluginInstance* instance, const std::string& name) : instance_(instance) {
    worker_ = std::thread([this, name] {
      name_thread("hdlr", name);
      loop();
    });
  }
  ~HandlerRunner() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      quit_ = true;
    }
    cv_.notify_all();
    worker_.join();
  }
  // Waits until no call is running (or `stop`); true when idle.
  bool wait_idle(const std::atomic<bool>& stop) {
    std::unique_lock<std::mutex> lock(mu_);
    while (job_ != nullptr) {
      if (stop.load()) return false;
      done_cv_.wait_for(lock, std::chrono::milliseconds(100));
    }
    return true;
  }
  // Hands the call to the worker and returns at once; call wait_idle() first.
  void start(std::shared_ptr<Call> call) {
    call->started = std::chrono::steady_clock::now();
    {
      std::lock_guard<std::mutex> lock(mu_);
      job_ = std::move(call);
      running_.store(true, std::memory_order_release);
    }
    cv_.notify_all();
  }
  // Waits for `call` (the last one started) until `deadline`; true when it returned in time.
  bool await(const Call& call, std::chrono::steady_clock::time_point deadline) {
    // Blocking for the answer costs a thread wake-up (tens of microseconds on a virtual
    // machine), more than a fast handler takes for a whole batch. While the handler's recent
    // calls have been that fast, look for the answer for a little while, yielding the core to
    // whoever needs it, before blocking.
    if (fast_) {
      const auto spin_until = std::min(call.started + kSpin, deadline);
      while (std::chrono::steady_clock::now() < spin_until) {
        if (!running_.load(std::memory_order_acquire)) return true;
        std::this_thread::yield();
      }
    }
    std::unique_lock<std::mutex> lock(mu_);
    const bool in_time = done_cv_.wait_until(lock, deadline, [&] { return job_ == nullptr; });
    fast_ = in_time && call.finished - call.started < kSpin;
    return in_time;
  }
  bool busy() {
    std::lock_guard<std::mutex> lock(mu_);
    return job_ != nullptr;
  }

 private:
  void loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return quit_ || job_ != nullptr; });
      if (job_ == nullptr) return;  // quit with nothing to do
      std::shared_ptr<Call> call = job_;
      lock.unlock();
      call->rc = instance_->handle_batch(&call->batch, call->err, sizeof call->err);
      call->finished = std::chrono::steady_clock::now();
      call.reset();  // before reporting: the pipeline may reuse the call once it is finished
      lock.lock();
      job_ = nullptr;
      running_.store(false, std::memory_order_release);
      done_cv_.notify_all();
      if (quit_) return;
    }
  }

  // How long run() looks for the answer before blocking (only while calls are this fast).
  static constexpr std::chrono::microseconds kSpin{200};

  plugins::PluginInstance* instance_;
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  std::shared_ptr<Call> job_;
  std::atomic<bool> running_{false};  // job_ != nullptr, readable without the lock
  bool fast_ = true;                  // the last call returned within kSpin (run()'s thread)
  bool quit_ = false;
  std::thread worker_;
};

Pipeline::Pipeline(PipelineOptions options, plugins::PluginInstance* instance, bus::DlqWriter* dlq,
                   admin::MetricsRegistry* metrics)
    : options_(std::move(options)), instance_(instance), dlq_(dlq), metrics_(metrics) {
  if (metrics_ != nullptr) {
    auto& events = metrics_->counter("wallet_eventd_handler_events_total",
                                     "Events handed to a handler instance, by result.",
                                     {"instance", "result"});
    handled_done_ = events.counter({options_.name, "done"});
    handled_retry_ = events.counter({options_.name, "retry"});
    handled_failed_ = events.counter({options_.name, "failed"});
    dead_lettered_ = metrics_
                         ->counter("wallet_eventd_dead_lettered_total",
                                   "Records written to the dead-letter topic.", {"instance"})
                         .counter({options_.name});
    skipped_ =
        metrics_
            ->counter("wallet_eventd_records_skipped_total",
                      "Records an instance did not handle (other types, invalid).", {"instance"})
            .counter({options_.name});
    batch_seconds_ = metrics_
                         ->histogram("wallet_eventd_batch_duration_seconds",
                                     "Time a handler instance took for one batch.", {"instance"})
                         .histogram({options_.name});
    lag_ = &metrics_->gauge("wallet_eventd_consumer_lag",
                            "Records behind the partition end, per instance (librdkafka).",
                            {"instance", "topic", "partition"});
    invalid_ = &metrics_->counter(
        "wallet_eventd_invalid_records_total",
        "Records that failed validation (decoding, or a type on another's topic), by reason.",
        {"reason"});
    by_type_ = &metrics_->counter("wallet_eventd_records_total", "Valid events consumed, by type.",
                                  {"event_type"});
    if (instance_ == nullptr)  // only the validator counts them
      for (EventType t : all_event_types())
        by_type_series_[static_cast<size_t>(t)] = by_type_->counter({event_type_name(t)});
  }
}

Pipeline::~Pipeline() {
  request_stop();
  join();
}

Status Pipeline::start() {
  bus::Consumer::Options copts;
  copts.properties = options_.consumer_properties;
  copts.group_id = options_.group_id;
  copts.topics = options_.topics;
  copts.from_beginning = options_.from_beginning;
  copts.read_committed = true;
  copts.on_revoke = [this](const std::vector<bus::TopicPartition>& parts) { on_revoke(parts); };
  copts.statistics_interval_ms = metrics_ != nullptr ? 5000 : 0;
  copts.on_statistics = [this](std::string_view json) { on_statistics(json); };
  copts.thread_nice = options_.nice;
  auto consumer = bus::Consumer::create(std::move(copts));
  if (!consumer.ok()) {
    state_ = PipelineState::kFailed;
    return Error{consumer.error().code,
                 "pipeline " + options_.name + ": " + consumer.error().message};
  }
  consumer_ = std::move(consumer).value();
  if (instance_ != nullptr) runner_ = std::make_unique<HandlerRunner>(instance_, options_.name);
  last_commit_ = std::chrono::steady_clock::now();
  state_ = PipelineState::kRunning;
  thread_ = std::thread([this] {
    name_thread("pipe", options_.name);
    if (options_.nice > 0 && !bus::lower_thread_priority(options_.nice))
      log_message(LogLevel::kWarn, "[" + options_.name + "] cannot lower the thread's priority: " +
                                       std::strerror(errno));
    run();
  });
  return Status::Ok();
}

void Pipeline::request_stop() {
  stop_ = true;
  wait_cv_.notify_all();
}

void Pipeline::join() {
  if (thread_.joinable()) thread_.join();
}

std::string Pipeline::status_text() const {
  std::lock_guard<std::mutex> lock(error_mu_);
  std::string s(to_string(state_.load()));
  if (!last_error_.empty()) s += " (last error: " + last_error_ + ")";
  return s;
}

void Pipeline::run() {
  // The instance's handler works on one batch while this thread reads and checks the next:
  // reading overlaps the handler's I/O (an fsync, an HTTP round trip) instead of waiting for
  // it. The next batch is handed over only once the previous one is settled (its retries and
  // dead letters included), so each partition's records still reach the handler in order.
  while (!stop_.load()) {
    std::shared_ptr<Batch> batch = take_batch();
    poll(*batch);
    const bool checked = check(*batch);
    if (!settle() || !checked) {  // stopped
      recycle(std::move(batch));
      continue;
    }
    // Nothing is in flight here, so the flush hook (run when a commit is due) never runs
    // beside handle_batch. The commit itself, a round trip to the broker, is sent once the next
    // batch is in the handler's hands, so that it does not delay that batch.
    auto due = take_commit(false);
    drop_lost(*batch, &batch->wanted);  // settling may have waited, and the group moved on
    if (batch->wanted.empty()) {
      record(*batch);
      recycle(std::move(batch));
    } else if (!stop_.load() && runner_->wait_idle(stop_)) {  // else: not handed, comes again
      auto call = start_call(batch, batch->wanted, 1);
      in_flight_ = InFlight{std::move(batch), std::move(call)};
    }
    if (due) send_commit(std::move(*due));
  }
  settle();
  commit(true);
  consumer_->close();
  state_ = PipelineState::kStopped;
}

void Pipeline::poll(Batch& batch) {
  if (held_.empty()) {
    batch.msgs = consumer_->poll_batch(options_.batch_size, kIdlePoll, options_.batch_timeout);
  } else {
    batch.msgs = std::move(held_);
    held_.clear();
    if (batch.msgs.size() < options_.batch_size)
      for (auto& m : consumer_->poll_batch(options_.batch_size - batch.msgs.size(),
                                           std::chrono::milliseconds(0)))
        batch.msgs.push_back(std::move(m));
  }
  batch.revocations = revocations_;
}

bool Pipeline::lost(uint64_t polled_at, const rd_kafka_message_t* m) const {
  if (polled_at == revocations_) return false;
  auto it = revoked_at_.find({rd_kafka_topic_name(m->rkt), m->partition});
  return it != revoked_at_.end() && it->second > polled_at;
}

void Pipeline::drop_lost(const Batch& batch, std::vector<size_t>* indexes) const {
  if (batch.revocations == revocations_) return;
  indexes->erase(
      std::remove_if(indexes->begin(), indexes->end(),
                     [&](size_t i) { return lost(batch.revocations, batch.msgs[i].get()); }),
      indexes->end());
}

std::shared_ptr<Pipeline::Batch> Pipeline::take_batch() {
  // Batches serve poll after poll (their vectors keep their storage: allocating the decoded
  // events' slots per batch made glibc consolidate its free lists each time).
  if (spare_batch_ != nullptr) return std::move(spare_batch_);
  return std::make_shared<Batch>();
}

void Pipeline::recycle(std::shared_ptr<Batch> batch) {
  // A handler that outlived its deadline still reads its batch: that one is let go.
  if (batch == nullptr || batch.use_count() != 1) return;
  batch->msgs.clear();  // the records go back to librdkafka now
  batch->checked.clear();
  batch->text.clear();
  batch->wanted.clear();
  // headers[i] keep their storage too: start_call() refills one before handing it out.
  spare_batch_ = std::move(batch);
}

bool Pipeline::on_its_topic(const rd_kafka_message_t* m, EventType t) {
  if (m->rkt != types_topic_) {
    types_topic_ = m->rkt;
    topic_types_ = 0;
    const std::string_view name = rd_kafka_topic_name(m->rkt);
    for (EventType u : all_event_types())
      if (options_.topic_of_type[static_cast<size_t>(u)] == name)
        topic_types_ |= WEP_EVENT_BIT(static_cast<int32_t>(u));
  }
  return (topic_types_ & WEP_EVENT_BIT(static_cast<int32_t>(t))) != 0;
}

bool Pipeline::check(Batch& batch) {
  types_topic_ = nullptr;  // a handle of an earlier batch may have gone, its address reused
  const size_t n = batch.msgs.size();
  batch.checked.resize(n);
  batch.headers.resize(n);
  batch.attempts.assign(n, 0);
  batch.wanted.clear();
  for (size_t i = 0; i < n; ++i) {
    const rd_kafka_message_t* m = batch.msgs[i].get();
    if (lost(batch.revocations, m)) continue;  // a dead letter's retry waited; the group moved
    // Validated like decode_event, without building the typed event: the host hands plugins
    // the record's own JSON and its metadata only.
    auto checked = check_event(value_of(m), &batch.text, options_.limits);
    // An invalid record is dead-lettered once, by the validator; instances skip it.
    auto reject = [&](const std::string& code, const std::string& message) {
      if (instance_ != nullptr) {
        if (skipped_ != nullptr) skipped_->inc();
        return true;
      }
      if (invalid_ != nullptr) invalid_->inc({code});
      log_message(LogLevel::kWarn, std::string("invalid record ") + rd_kafka_topic_name(m->rkt) +
                                       "[" + std::to_string(m->partition) + "]@" +
                                       std::to_string(m->offset) + ": " + message);
      return dead_letter(m, "decode", code, message, 1);
    };
    if (!checked.ok()) {
      const DecodeError& e = checked.error();
      if (!reject(std::string(decode_error_code_name(e.code)), e.message())) return false;
      continue;
    }
    const EventType t = checked.value().type;
    // Instances read only the topics of their types: one elsewhere would reach some of them.
    if (!on_its_topic(m, t)) {
      if (!reject(std::string(decode_error_code_name(DecodeErrorCode::kWrongTopic)),
                  std::string(event_type_name(t)) + " belongs on topic " +
                      options_.topic_of_type[static_cast<size_t>(t)]))
        return false;
      continue;
    }
    if (instance_ == nullptr) {
      if (admin::Counter* c = by_type_series_[static_cast<size_t>(t)]) c->inc();
      continue;
    }
    if ((options_.type_mask & WEP_EVENT_BIT(static_cast<int32_t>(t))) == 0 ||
        replayed_for_another(m, options_.name)) {
      if (skipped_ != nullptr) skipped_->inc();
      continue;
    }
    batch.checked[i] = checked.value();
    batch.headers[i].clear();
    batch.wanted.push_back(i);
  }
  return true;
}

void Pipeline::record(const Batch& batch) {
  // Records come in runs of one partition: look the partition up once per run.
  int64_t* next = nullptr;
  const rd_kafka_topic_t* run_topic = nullptr;
  int32_t run_partition = -1;
  for (const auto& msg : batch.msgs) {
    const rd_kafka_message_t* m = msg.get();
    if (lost(batch.revocations, m)) continue;  // the partition's next owner reads it again
    if (next == nullptr || m->rkt != run_topic || m->partition != run_partition) {
      run_topic = m->rkt;
      run_partition = m->partition;
      next = &done_[{rd_kafka_topic_name(m->rkt), m->partition}];
    }
    *next = std::max(*next, m->offset + 1);
  }
}

bool Pipeline::settle() {
  if (!in_flight_) return true;
  InFlight f = std::move(*in_flight_);
  in_flight_.reset();
  const bool resolved = complete(f.batch, f.batch->wanted, std::move(f.call), 1);
  if (resolved) record(*f.batch);  // stopped: nothing recorded, the records come again
  recycle(std::move(f.batch));
  return resolved;
}

std::shared_ptr<HandlerCall> Pipeline::start_call(const std::shared_ptr<Batch>& shared,
                                                  const std::vector<size_t>& pending,
                                                  uint32_t attempt) {
  Batch& batch = *shared;
  state_ = PipelineState::kRunning;
  // Reuse the last call's buffers when nobody else holds them (the worker lets go of a call
  // before it reports it finished).
  std::shared_ptr<Call> call = std::move(spare_call_);
  if (call == nullptr || call.use_count() != 1) call = std::make_shared<Call>();
  call->keep_alive = shared;  // the plugin's views point into it
  const size_t k = pending.size();
  call->reset(k);
  for (size_t j = 0; j < k; ++j) {
    const size_t i = pending[j];
    const rd_kafka_message_t* m = batch.msgs[i].get();
    if (attempt == 1) {
      bus::for_each_header(m, [&](std::string_view name, std::string_view value) {
        batch.headers[i].push_back({str(name), str(value)});
      });
    }
    batch.attempts[i] = attempt;
    call->set(j,
              {&batch.checked[i], batch.text, rd_kafka_topic_name(m->rkt), m->partition, m->offset,
               key_of(m), value_of(m), batch.headers[i].data(), batch.headers[i].size(), attempt});
  }
  call->seal(plugins::monotonic_ns() +
             static_cast<uint64_t>(options_.handler_timeout.count()) * 1000000ull);
  runner_->start(call);
  return call;
}

bool Pipeline::complete(const std::shared_ptr<Batch>& shared, std::vector<size_t> pending,
                        std::shared_ptr<Call> call, uint32_t attempt) {
  Batch& batch = *shared;
  const auto& retry = options_.retry;
  while (true) {
    const bool in_time = runner_->await(*call, call->started + options_.handler_timeout);
    if (batch_seconds_ != nullptr) {
      const auto end = in_time ? call->finished : std::chrono::steady_clock::now();
      batch_seconds_->observe(std::chrono::duration<double>(end - call->started).count());
    }

    std::vector<size_t> again;
    uint32_t retry_after_ms = 0;
    for (size_t j = 0; j < pending.size(); ++j) {
      const size_t i = pending[j];
      const rd_kafka_message_t* m = batch.msgs[i].get();
      int32_t code;
      std::string message;
      if (!in_time) {
        code = WEP_RESULT_FAILED;
        message = "handler did not return within " +
                  std::to_string(options_.handler_timeout.count()) + " ms (handler_timeout_ms)";
      } else if (call->rc != WEP_OK) {
        code = WEP_RESULT_RETRY;
        message = "handle_batch failed (code " + std::to_string(call->rc) + "): " + call->err;
      } else {
        code = call->results[j].code;
        message.assign(call->results[j].message,
                       strnlen(call->results[j].message, kMessageCapacity));
        if (code == WEP_RESULT_RETRY)
          retry_after_ms = std::max(retry_after_ms, call->results[j].retry_after_ms);
      }
      switch (code) {
        case WEP_RESULT_DONE:
          if (handled_done_ != nullptr) handled_done_->inc();
          break;
        case WEP_RESULT_RETRY:
          if (handled_retry_ != nullptr) handled_retry_->inc();
          if (attempt < retry.max_attempts) {
            again.push_back(i);
          } else if (!dead_letter(
                         m, "handler", "retries_exhausted",
                         "gave up after " + std::to_string(attempt) + " attempts: " + message,
                         attempt)) {
            return false;
          }
          break;
        default: {
          if (handled_failed_ != nullptr) handled_failed_->inc();
          std::string why =
              code == WEP_RESULT_FAILED
                  ? message
                  : "handler left no result for the event (code " + std::to_string(code) + ")";
          if (why.empty()) why = "handler reported failure without a message";
          if (!dead_letter(m, "handler", in_time ? "failed" : "handler_timeout", why, attempt))
            return false;
        }
      }
    }
    if (in_time) {  // a late handler still reads the batch through the call: keep both
      call->keep_alive.reset();
      spare_call_ = std::move(call);
    }
    if (!in_time) {
      state_ = PipelineState::kStuck;
      std::lock_guard<std::mutex> lock(error_mu_);
      last_error_ = "handler exceeded handler_timeout_ms";
    }
    pending = std::move(again);
    if (pending.empty()) return true;
    double backoff = retry.initial_backoff_ms * std::pow(retry.multiplier, attempt - 1);
    backoff = std::min<double>(backoff, retry.max_backoff_ms);
    backoff = std::max<double>(backoff, retry_after_ms);
    if (!wait(std::chrono::milliseconds(static_cast<int64_t>(backoff)))) return false;
    // A rebalance during the wait may have given some partitions to another member: their
    // records are its to read again from the committed offset, not this one's to retry.
    drop_lost(batch, &pending);
    if (pending.empty()) return true;
    ++attempt;
    if (!runner_->wait_idle(stop_)) return false;
    call = start_call(shared, pending, attempt);
  }
}

bool Pipeline::dead_letter(const rd_kafka_message_t* m, const std::string& stage,
                           const std::string& code, const std::string& error, uint32_t attempts) {
  bus::DeadLetter letter;
  letter.topic = rd_kafka_topic_name(m->rkt);
  letter.partition = m->partition;
  letter.offset = m->offset;
  letter.key = key_of(m);
  letter.value = value_of(m);
  Record original = bus::to_record(m);
  letter.headers = std::move(original.headers);
  letter.stage = stage;
  letter.error_code = code;
  letter.error = error;
  letter.instance = instance_ != nullptr ? options_.name : "";
  letter.attempts = attempts;
  std::chrono::milliseconds backoff(200);
  while (true) {
    Status s = dlq_->write(letter);
    if (s.ok()) {
      if (dead_lettered_ != nullptr) dead_lettered_->inc();
      log_message(LogLevel::kWarn,
                  "[" + options_.name + "] dead-lettered " + std::string(letter.topic) + "[" +
                      std::to_string(letter.partition) + "]@" + std::to_string(letter.offset) +
                      " (" + stage + ", " + code + "): " + error);
      return true;
    }
    {
      std::lock_guard<std::mutex> lock(error_mu_);
      last_error_ = "DLQ write failed: " + s.message();
    }
    log_message(LogLevel::kError,
                "[" + options_.name + "] DLQ write failed, will retry: " + s.message());
    if (!wait(backoff)) return false;
    backoff = std::min(backoff * 2, std::chrono::milliseconds(10000));
  }
}

bool Pipeline::wait(std::chrono::milliseconds d) {
  if (in_rebalance_) {
    // Called from inside librdkafka's poll (settling a batch before partitions go): polling
    // again from here is not allowed, and nothing needs fetching; just sleep.
    std::unique_lock<std::mutex> lock(wait_mu_);
    wait_cv_.wait_for(lock, d, [&] { return stop_.load(); });
    return !stop_.load();
  }
  consumer_->pause_all();
  auto deadline = std::chrono::steady_clock::now() + d;
  while (!stop_.load() && std::chrono::steady_clock::now() < deadline) {
    // Serve the group protocol (heartbeats, rebalances) while paused. Nothing is fetched: the
    // consumer pauses what a rebalance assigns meanwhile too. Should a record come anyway, it
    // leads the next batch: dropping it would let a later commit skip it.
    for (auto& m : consumer_->poll_batch(1, std::chrono::milliseconds(0)))
      held_.push_back(std::move(m));
    std::unique_lock<std::mutex> lock(wait_mu_);
    wait_cv_.wait_for(
        lock, std::min<std::chrono::steady_clock::duration>(
                  std::chrono::milliseconds(100), deadline - std::chrono::steady_clock::now()));
  }
  consumer_->resume_all();
  return !stop_.load();
}

void Pipeline::commit(bool force) {
  if (auto offsets = take_commit(force)) send_commit(std::move(*offsets));
}

std::optional<bus::OffsetMap> Pipeline::take_commit(bool force) {
  auto now = std::chrono::steady_clock::now();
  if (done_.empty() || (!force && now - last_commit_ < options_.commit_interval)) return {};
  // A handler call that outlived its deadline may still be running: flush must not run beside
  // it (the ABI's threading rule), so the commit waits until it has returned.
  if (runner_ != nullptr && runner_->busy()) return {};
  last_commit_ = now;
  if (instance_ != nullptr) {
    Status f = instance_->flush();
    if (!f.ok()) {
      std::lock_guard<std::mutex> lock(error_mu_);
      last_error_ = f.message();
      log_message(LogLevel::kError,
                  "[" + options_.name + "] " + f.message() + "; offsets not committed");
      return {};
    }
  }
  bus::OffsetMap offsets;
  offsets.swap(done_);
  return offsets;
}

void Pipeline::send_commit(bus::OffsetMap offsets) {
  Status s = consumer_->commit(offsets);
  if (s.ok()) return;
  // Kept for the next commit; done_ may have moved on meanwhile.
  for (const auto& [tp, offset] : offsets) {
    int64_t& next = done_[tp];
    next = std::max(next, offset);
  }
  std::lock_guard<std::mutex> lock(error_mu_);
  last_error_ = s.message();
  log_message(LogLevel::kWarn, "[" + options_.name + "] " + s.message());
}

void Pipeline::on_revoke(const std::vector<bus::TopicPartition>& parts) {
  // The batch in the handler's hands is settled first, retries included, as if it had been
  // handed over synchronously: what it resolved is committed while the partitions are ours.
  in_rebalance_ = true;
  settle();
  in_rebalance_ = false;
  commit(true);
  // Whatever could not be committed now belongs to the next owner, who redelivers it; so do
  // the records of these partitions in batches polled before now (see lost()).
  ++revocations_;
  for (const auto& tp : parts) {
    done_.erase(tp);
    revoked_at_[tp] = revocations_;
  }
  // Records held back by wait() were polled before this revoke.
  held_.erase(
      std::remove_if(held_.begin(), held_.end(),
                     [&](const bus::MessagePtr& m) { return lost(revocations_ - 1, m.get()); }),
      held_.end());
  if (lag_ != nullptr)
    for (const auto& tp : parts) lag_->set({options_.name, tp.first, std::to_string(tp.second)}, 0);
}

void Pipeline::on_statistics(std::string_view json) {
  if (lag_ == nullptr) return;
  auto doc = nlohmann::json::parse(json, nullptr, false);
  if (!doc.is_object() || !doc.contains("topics")) return;
  for (const auto& [topic, t] : doc["topics"].items()) {
    if (!t.contains("partitions")) continue;
    for (const auto& [partition, p] : t["partitions"].items()) {
      if (partition == "-1" || !p.value("fetch_state", std::string()).size()) continue;
      if (p.value("fetch_state", std::string()) == "none") continue;
      int64_t lag = p.value("consumer_lag", int64_t{-1});
      if (lag >= 0) lag_->set({options_.name, topic, partition}, static_cast<double>(lag));
    }
  }
}

}  // namespace wallet_eventd::dispatch
