#include "bus/consumer.h"

#include <sys/resource.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "bus/log.h"
#include "bus/producer.h"

namespace wallet_eventd::bus {
namespace {

// The first librdkafka with fetch.queue.backoff.ms (2.4.0), as rd_kafka_version() reports it.
constexpr int kFetchQueueBackoffVersion = 0x020400ff;

using PartitionListPtr =
    std::unique_ptr<rd_kafka_topic_partition_list_t, void (*)(rd_kafka_topic_partition_list_t*)>;

PartitionListPtr new_list(size_t n) {
  return PartitionListPtr(rd_kafka_topic_partition_list_new(static_cast<int>(n)),
                          rd_kafka_topic_partition_list_destroy);
}

std::vector<TopicPartition> to_vector(const rd_kafka_topic_partition_list_t* parts) {
  std::vector<TopicPartition> out;
  for (int i = 0; parts != nullptr && i < parts->cnt; ++i)
    out.emplace_back(parts->elems[i].topic, parts->elems[i].partition);
  return out;
}

}  // namespace

std::string_view message_value(const rd_kafka_message_t* msg) {
  return {static_cast<const char*>(msg->payload), msg->payload != nullptr ? msg->len : 0};
}

Record to_record(const rd_kafka_message_t* msg) {
  Record r;
  r.topic = rd_kafka_topic_name(msg->rkt);
  r.partition = msg->partition;
  r.offset = msg->offset;
  if (msg->key != nullptr) r.key.assign(static_cast<const char*>(msg->key), msg->key_len);
  r.value = std::string(message_value(msg));
  rd_kafka_timestamp_type_t tstype;
  r.timestamp_ms = rd_kafka_message_timestamp(msg, &tstype);
  for_each_header(msg, [&](std::string_view name, std::string_view value) {
    r.headers.push_back({std::string(name), std::string(value)});
  });
  return r;
}

void Consumer::rebalance_cb(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                            rd_kafka_topic_partition_list_t* parts, void* opaque) {
  auto* self = static_cast<Consumer*>(opaque);
  const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    if (cooperative) {
      if (rd_kafka_error_t* e = rd_kafka_incremental_assign(rk, parts))
        log_message(LogLevel::kError, kafka_error(e, "incremental_assign").message);
    } else {
      rd_kafka_assign(rk, parts);
    }
    // librdkafka keeps a partition's pause flag when the partition is taken away, and does not
    // pause one given while the others are paused. Each partition assigned here takes the
    // consumer's state: one that left while paused would otherwise come back paused and never
    // be read, and one given during a pause (a retry backoff) would deliver records there.
    // Only those left paused are resumed (a resume is not free: it resets the fetch state).
    auto assigned = to_vector(parts);
    if (self->paused_) {
      rd_kafka_pause_partitions(rk, parts);
      self->left_paused_.insert(assigned.begin(), assigned.end());
    } else {
      auto stale = new_list(0);
      for (const auto& tp : assigned)
        if (self->left_paused_.erase(tp) > 0)
          rd_kafka_topic_partition_list_add(stale.get(), tp.first.c_str(), tp.second);
      if (stale->cnt > 0) rd_kafka_resume_partitions(rk, stale.get());
    }
    if (self->options_.on_assign) self->options_.on_assign(std::move(assigned));
  } else {
    auto revoked = to_vector(parts);
    if (self->options_.on_revoke) self->options_.on_revoke(revoked);
    // Records of these partitions that poll_batch took before this callback are not the
    // owner's any more: poll_batch drops them (see there).
    self->revoked_in_poll_.insert(self->revoked_in_poll_.end(), revoked.begin(), revoked.end());
    if (cooperative) {
      if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk, parts))
        log_message(LogLevel::kError, kafka_error(e, "incremental_unassign").message);
    } else {
      rd_kafka_assign(rk, nullptr);
    }
  }
}

int Consumer::stats_cb(rd_kafka_t*, char* json, size_t len, void* opaque) {
  auto* self = static_cast<Consumer*>(opaque);
  if (self->options_.on_statistics) self->options_.on_statistics(std::string_view(json, len));
  return 0;  // librdkafka frees json
}

bool lower_thread_priority(int nice) {
  // On Linux the nice value is a thread's own: PRIO_PROCESS with a thread id sets that thread.
  return ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), nice) == 0;
}

bool needs_fetch_waker(int librdkafka_version) {
  return librdkafka_version < kFetchQueueBackoffVersion;
}

Properties consumer_defaults(const Consumer::Options& options, int librdkafka_version) {
  Properties defaults = {
      {"group.id", options.group_id},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", options.from_beginning ? "earliest" : "latest"},
      {"isolation.level", options.read_committed ? "read_committed" : "read_uncommitted"},
      {"enable.partition.eof", "false"},
  };
  if (options.statistics_interval_ms > 0)
    defaults["statistics.interval.ms"] = std::to_string(options.statistics_interval_ms);
  // librdkafka stops fetching while the consumer's queue holds queued.min.messages or
  // queued.max.messages.kbytes and looks again only after fetch.queue.backoff.ms (1 s by
  // default), or before 2.4.0 when its broker thread is woken (which the host's FetchWaker
  // does). Refetching soon lets a small queue keep a fast pipeline fed, so memory is bounded
  // by the queue plus one fetch response, not by the backlog (docs/BENCHMARKS.md, "Memory").
  // The operator's properties override each.
  if (librdkafka_version >= kFetchQueueBackoffVersion) defaults["fetch.queue.backoff.ms"] = "10";
  defaults["queued.max.messages.kbytes"] = "4096";
  // A fetch.max.bytes below message.max.bytes is refused by librdkafka: leave it alone when
  // the operator sized either.
  if (!options.properties.count("fetch.max.bytes") &&
      !options.properties.count("message.max.bytes"))
    defaults["fetch.max.bytes"] = "2097152";
  return defaults;
}

namespace {

size_t conf_size(rd_kafka_conf_t* conf, const char* name) {
  char buf[64];
  size_t len = sizeof buf;
  if (rd_kafka_conf_get(conf, name, buf, &len) != RD_KAFKA_CONF_OK) return 0;
  return static_cast<size_t>(std::strtoull(buf, nullptr, 10));
}

}  // namespace

void Consumer::error_cb(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  log_error_event(rk, static_cast<rd_kafka_resp_err_t>(err), reason);
  auto* self = static_cast<Consumer*>(opaque);
  if (self->options_.give_up_on_login_failure && !self->login_failure_)
    self->login_failure_ = login_failure_of(err, reason);
}

Result<std::unique_ptr<Consumer>> Consumer::create(Options options) {
  Properties defaults = consumer_defaults(options, rd_kafka_version());
  auto conf = make_conf({&defaults, &options.properties});
  if (!conf.ok()) return conf.error();
  std::unique_ptr<FetchWakePolicy> policy;
  if (needs_fetch_waker(rd_kafka_version()))
    policy = std::make_unique<FetchWakePolicy>(
        conf_size(conf.value().get(), "queued.min.messages"),
        conf_size(conf.value().get(), "queued.max.messages.kbytes") * 1024);
  std::unique_ptr<Consumer> c(new Consumer());
  c->options_ = std::move(options);
  rd_kafka_conf_set_opaque(conf.value().get(), c.get());
  if (c->options_.thread_nice > 0) {
    // librdkafka creates its threads itself; an interceptor runs in each as it starts.
    void* nice = reinterpret_cast<void*>(static_cast<intptr_t>(c->options_.thread_nice));
    rd_kafka_conf_interceptor_add_on_new(
        conf.value().get(), "wallet-eventd-nice",
        [](rd_kafka_t* rk, const rd_kafka_conf_t*, void* opaque, char*, size_t) {
          return rd_kafka_interceptor_add_on_thread_start(
              rk, "wallet-eventd-nice",
              [](rd_kafka_t*, rd_kafka_thread_type_t, const char*, void* value) {
                if (!lower_thread_priority(static_cast<int>(reinterpret_cast<intptr_t>(value))))
                  log_message(LogLevel::kWarn, std::string("cannot lower a librdkafka thread's "
                                                           "priority: ") +
                                                   std::strerror(errno));
                return RD_KAFKA_RESP_ERR_NO_ERROR;
              },
              opaque);
        },
        nice);
  }
  rd_kafka_conf_set_rebalance_cb(conf.value().get(), &Consumer::rebalance_cb);
  if (c->options_.statistics_interval_ms > 0)
    rd_kafka_conf_set_stats_cb(conf.value().get(), &Consumer::stats_cb);
  route_logs(conf.value().get());
  rd_kafka_conf_set_error_cb(conf.value().get(), &Consumer::error_cb);
  char err[512];
  c->rk_.reset(rd_kafka_new(RD_KAFKA_CONSUMER, conf.value().get(), err, sizeof err));
  if (!c->rk_) return Error{Error::Code::kInvalidArgument, "consumer: " + std::string(err)};
  conf.value().release();
  rd_kafka_poll_set_consumer(c->rk_.get());
  if (policy) {
    c->queue_ = rd_kafka_queue_get_consumer(c->rk_.get());
    c->wake_policy_ = std::move(policy);
    c->waker_ = std::make_unique<FetchWaker>(c->rk_.get());
  }
  if (!c->options_.topics.empty()) {
    Status subscribed = c->subscribe(c->options_.topics);
    if (!subscribed.ok()) return subscribed.error();
  }
  return c;
}

Status Consumer::subscribe(const std::vector<std::string>& topics) {
  auto list = new_list(topics.size());
  for (const auto& t : topics)
    rd_kafka_topic_partition_list_add(list.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
  if (rd_kafka_resp_err_t e = rd_kafka_subscribe(rk_.get(), list.get()))
    return kafka_error(e, "subscribe");
  options_.topics = topics;
  return Status::Ok();
}

Consumer::~Consumer() {
  close();
  if (queue_ != nullptr) rd_kafka_queue_destroy(queue_);
  // After a close that could not leave the group, destroying must not try again (it would block
  // for the session timeout).
  if (rk_ && left_unclean_)
    rd_kafka_destroy_flags(rk_.release(), RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
}

std::vector<MessagePtr> Consumer::poll_batch(size_t max, std::chrono::milliseconds timeout,
                                             std::optional<std::chrono::milliseconds> linger) {
  revoked_in_poll_.clear();  // a revoke outside poll_batch (close) concerns no record here
  std::vector<MessagePtr> out;
  out.reserve(std::min<size_t>(max, 1024));  // batch_size may be large, traffic thin
  auto deadline = std::chrono::steady_clock::now() + timeout;
  // While records are queued, poll without waiting and without reading the clock (once per
  // record it showed in profiles); only an empty queue makes it wait for what is left.
  int wait_ms = 0;
  while (out.size() < max) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_.get(), wait_ms);
    if (m == nullptr) {
      if (!revoked_in_poll_.empty()) drop_revoked(&out);
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      wait_ms = static_cast<int>(left.count());
      continue;
    }
    wait_ms = 0;
    if (!revoked_in_poll_.empty()) drop_revoked(&out);
    if (m->err) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        log_message(LogLevel::kWarn, std::string("consumer ") + options_.group_id + ": " +
                                         rd_kafka_message_errstr(m));
      }
      rd_kafka_message_destroy(m);
      continue;
    }
    out.emplace_back(m);
    if (linger && out.size() == 1) deadline = std::chrono::steady_clock::now() + *linger;
  }
  if (wake_policy_) {
    size_t bytes = 0;
    for (const auto& m : out) bytes += m->len;
    wake_policy_->taken(out.size(), bytes);
    if (wake_policy_->should_wake(rd_kafka_queue_length(queue_))) waker_->wake();
  }
  return out;
}

void Consumer::drop_revoked(std::vector<MessagePtr>* out) {
  // A rebalance served inside this poll took partitions away after some of their records were
  // taken: nobody handled those, and the partitions' next owner (perhaps this consumer again,
  // from the committed offset) reads them again. Handing them over would let the pipeline
  // record offsets of partitions it no longer owns.
  auto gone = [&](const MessagePtr& m) {
    const char* topic = rd_kafka_topic_name(m->rkt);
    for (const auto& [t, p] : revoked_in_poll_)
      if (p == m->partition && t == topic) return true;
    return false;
  };
  out->erase(std::remove_if(out->begin(), out->end(), gone), out->end());
  revoked_in_poll_.clear();
}

Status Consumer::commit(const OffsetMap& offsets) {
  if (offsets.empty()) return Status::Ok();
  auto list = new_list(offsets.size());
  for (const auto& [tp, offset] : offsets)
    rd_kafka_topic_partition_list_add(list.get(), tp.first.c_str(), tp.second)->offset = offset;
  rd_kafka_resp_err_t err = rd_kafka_commit(rk_.get(), list.get(), 0);
  if (err) return kafka_error(err, "commit of group " + options_.group_id);
  for (int i = 0; i < list->cnt; ++i) {
    if (list->elems[i].err) {
      return kafka_error(list->elems[i].err, "commit of " + std::string(list->elems[i].topic) +
                                                 "[" + std::to_string(list->elems[i].partition) +
                                                 "]");
    }
  }
  return Status::Ok();
}

Result<OffsetMap> Consumer::committed(std::chrono::milliseconds timeout) {
  rd_kafka_topic_partition_list_t* raw = nullptr;
  if (rd_kafka_resp_err_t e = rd_kafka_assignment(rk_.get(), &raw))
    return kafka_error(e, "assignment");
  PartitionListPtr list(raw, rd_kafka_topic_partition_list_destroy);
  if (rd_kafka_resp_err_t e =
          rd_kafka_committed(rk_.get(), list.get(), static_cast<int>(timeout.count())))
    return kafka_error(e, "committed");
  OffsetMap out;
  for (int i = 0; i < list->cnt; ++i)
    out[{list->elems[i].topic, list->elems[i].partition}] = list->elems[i].offset;
  return out;
}

std::vector<TopicPartition> Consumer::assignment() {
  rd_kafka_topic_partition_list_t* raw = nullptr;
  if (rd_kafka_assignment(rk_.get(), &raw) != RD_KAFKA_RESP_ERR_NO_ERROR) return {};
  PartitionListPtr list(raw, rd_kafka_topic_partition_list_destroy);
  return to_vector(list.get());
}

void Consumer::pause_all() {
  paused_ = true;
  rd_kafka_topic_partition_list_t* raw = nullptr;
  if (rd_kafka_assignment(rk_.get(), &raw) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
  PartitionListPtr list(raw, rd_kafka_topic_partition_list_destroy);
  rd_kafka_pause_partitions(rk_.get(), list.get());
  for (const auto& tp : to_vector(list.get())) left_paused_.insert(tp);
}

void Consumer::resume_all() {
  paused_ = false;
  rd_kafka_topic_partition_list_t* raw = nullptr;
  if (rd_kafka_assignment(rk_.get(), &raw) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
  PartitionListPtr list(raw, rd_kafka_topic_partition_list_destroy);
  rd_kafka_resume_partitions(rk_.get(), list.get());
  // What a rebalance took away meanwhile stays paused in librdkafka: resumed if it comes back.
  for (const auto& tp : to_vector(list.get())) left_paused_.erase(tp);
}

Status Consumer::seek(const TopicPartition& tp, int64_t offset) {
  auto list = new_list(1);
  rd_kafka_topic_partition_list_add(list.get(), tp.first.c_str(), tp.second)->offset = offset;
  if (rd_kafka_error_t* e = rd_kafka_seek_partitions(rk_.get(), list.get(), 5000))
    return kafka_error(e, "seek");
  return Status::Ok();
}

void Consumer::close(std::chrono::milliseconds timeout) {
  if (closed_ || !rk_) return;
  closed_ = true;
  waker_.reset();  // its requests need the handle open
  // rd_kafka_consumer_close() can block for up to session.timeout.ms when the group
  // coordinator is gone or has already expired the member (after a long broker outage). Close
  // on a queue we serve ourselves (rebalance events still reach on_revoke here), and
  // give up on a clean leave after `timeout`: the broker then expires the member by itself.
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk_.get());
  if (rd_kafka_error_t* e = rd_kafka_consumer_close_queue(rk_.get(), queue)) {
    log_message(LogLevel::kWarn,
                "consumer " + options_.group_id + ": close: " + rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
  } else {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!rd_kafka_consumer_closed(rk_.get()) && std::chrono::steady_clock::now() < deadline) {
      rd_kafka_event_t* ev = rd_kafka_queue_poll(queue, 100);
      if (ev == nullptr) continue;
      if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_REBALANCE)
        rebalance_cb(rk_.get(), rd_kafka_event_error(ev), rd_kafka_event_topic_partition_list(ev),
                     this);
      rd_kafka_event_destroy(ev);
    }
  }
  const bool clean = rd_kafka_consumer_closed(rk_.get()) != 0;
  rd_kafka_queue_destroy(queue);
  if (!clean) {
    log_message(LogLevel::kWarn, "consumer " + options_.group_id +
                                     ": did not leave the group within " +
                                     std::to_string(timeout.count()) +
                                     " ms; closing without it (the broker expires the member)");
    // The handle itself goes with the Consumer: messages the owner still holds point into it.
    left_unclean_ = true;
  }
}

}  // namespace wallet_eventd::bus
