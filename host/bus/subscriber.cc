#include "bus/client_common.h"
#include "bus/consumer.h"
#include "bus/dlq.h"
#include "bus/log.h"
#include "bus/producer.h"
#include "wallet_eventd/client.h"

namespace wallet_eventd {

class Subscriber::Impl {
 public:
  ClientConfig config;
  Options options;
  std::unique_ptr<bus::Consumer> consumer;
  std::unique_ptr<bus::Producer> dlq_producer;  // only with enable_dlq
  bus::OffsetMap done;                          // next offsets of everything returned
  bus::OffsetMap pending;                       // the record returned last (done on next())
  std::array<std::string, kEventTypeCount + 1> topic_of_type;  // config.topic_for, by EventType
  bool wants(EventType t) const {
    if (options.types.empty()) return true;
    for (EventType w : options.types)
      if (w == t) return true;
    return false;
  }
};

Subscriber::Subscriber(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Subscriber::~Subscriber() { close(); }

Result<std::unique_ptr<Subscriber>> Subscriber::create(const ClientConfig& config,
                                                       Options options) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->options = std::move(options);
  for (EventType t : all_event_types())
    impl->topic_of_type[static_cast<size_t>(t)] = config.topic_for(t);
  std::vector<std::string> topics;
  if (impl->options.types.empty()) {
    for (auto suffix : all_topic_suffixes())
      topics.push_back(config.topic_prefix + "." + std::string(suffix));
  } else {
    for (EventType t : impl->options.types) {
      std::string topic = config.topic_for(t);
      if (std::find(topics.begin(), topics.end(), topic) == topics.end()) topics.push_back(topic);
    }
  }
  bus::Consumer::Options copts;
  copts.properties = bus::consumer_properties(config);
  copts.group_id = impl->options.group_id.empty() ? config.group_id : impl->options.group_id;
  copts.topics = topics;
  copts.from_beginning = impl->options.from_beginning;
  copts.read_committed = impl->options.read_committed;
  copts.give_up_on_login_failure = config.give_up_on_login_failure;
  Impl* raw = impl.get();
  copts.on_revoke = [raw](const std::vector<bus::TopicPartition>&) {
    if (!raw->options.commit || raw->done.empty()) return;
    Status s = raw->consumer->commit(raw->done);
    if (!s.ok()) log_message(LogLevel::kWarn, s.message());
    raw->done.clear();
  };
  auto consumer = bus::Consumer::create(std::move(copts));
  if (!consumer.ok()) return consumer.error();
  impl->consumer = std::move(consumer).value();
  if (config.enable_dlq) {
    bus::Producer::Options popts;
    popts.properties = bus::producer_properties(config);
    popts.timeout = config.timeout;
    auto producer = bus::Producer::create(std::move(popts));
    if (!producer.ok()) return producer.error();
    impl->dlq_producer = std::move(producer).value();
  }
  return std::unique_ptr<Subscriber>(new Subscriber(std::move(impl)));
}

Status Subscriber::status() const {
  if (auto failure = impl_->consumer->login_failure()) return *failure;
  return Status::Ok();
}

std::optional<Result<ReceivedEvent, ReceiveError>> Subscriber::next(
    std::chrono::milliseconds timeout) {
  Impl& s = *impl_;
  for (const auto& [tp, off] : s.pending) s.done[tp] = off;
  s.pending.clear();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (s.consumer->login_failure()) return std::nullopt;  // status() says why
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() < 0) left = std::chrono::milliseconds(0);
    auto batch = s.consumer->poll_batch(1, left);
    if (batch.empty()) return std::nullopt;
    const rd_kafka_message_t* msg = batch.front().get();
    bus::TopicPartition tp{rd_kafka_topic_name(msg->rkt), msg->partition};
    auto decoded = decode_event(bus::message_value(msg), s.config.limits);
    std::optional<DecodeError> invalid;
    if (!decoded.ok()) {
      invalid = decoded.error();
    } else if (const auto& its = s.topic_of_type[static_cast<size_t>(type_of(decoded.value()))];
               tp.first != its) {
      // It would reach the consumers of this topic and not those of its type's (the daemon
      // dead-letters it too, and its instances skip it).
      invalid = DecodeError{
          DecodeErrorCode::kWrongTopic, "",
          std::string(event_type_name(type_of(decoded.value()))) + " belongs on topic " + its};
    }
    if (invalid) {
      Record record = bus::to_record(msg);
      if (s.dlq_producer) {
        bus::DeadLetter letter;
        letter.topic = record.topic;
        letter.partition = record.partition;
        letter.offset = record.offset;
        letter.key = record.key;
        letter.value = record.value;
        letter.headers = record.headers;
        letter.stage = "decode";
        letter.error_code = std::string(decode_error_code_name(invalid->code));
        letter.error = invalid->message();
        letter.instance = s.consumer->group_id();
        bus::DlqWriter writer(s.dlq_producer.get(), s.config.dlq_topic);
        Status w = writer.write(letter);
        if (!w.ok()) {
          // Not dead-lettered: do not move past it. Rewind the fetch position so that the
          // next call delivers this record again (and retries the dead letter); otherwise a
          // later record of the partition would commit past it and lose it.
          log_message(LogLevel::kError, "dead-lettering failed: " + w.message());
          Status back = s.consumer->seek(tp, msg->offset);
          if (!back.ok()) log_message(LogLevel::kError, "subscriber rewind: " + back.message());
          return Result<ReceivedEvent, ReceiveError>(ReceiveError{*invalid, record});
        }
      }
      s.pending[tp] = msg->offset + 1;
      return Result<ReceivedEvent, ReceiveError>(ReceiveError{*invalid, std::move(record)});
    }
    if (!s.wants(type_of(decoded.value()))) {
      s.done[tp] = msg->offset + 1;
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      continue;
    }
    s.pending[tp] = msg->offset + 1;
    return Result<ReceivedEvent, ReceiveError>(
        ReceivedEvent{std::move(decoded).value(), bus::to_record(msg)});
  }
}

Status Subscriber::commit() {
  Impl& s = *impl_;
  for (const auto& [tp, off] : s.pending) s.done[tp] = off;
  s.pending.clear();
  if (!s.options.commit || s.done.empty()) return Status::Ok();
  Status st = s.consumer->commit(s.done);
  if (st.ok()) s.done.clear();
  return st;
}

void Subscriber::close() {
  if (!impl_ || !impl_->consumer) return;
  if (impl_->options.commit) {
    Status s = commit();
    if (!s.ok()) log_message(LogLevel::kWarn, "subscriber close: " + s.message());
  }
  impl_->consumer->close();
  impl_->consumer.reset();
}

}  // namespace wallet_eventd
