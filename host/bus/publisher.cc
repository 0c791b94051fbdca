#include <array>
#include <atomic>
#include <future>

#include "bus/client_common.h"
#include "bus/producer.h"
#include "wallet_eventd/client.h"

namespace wallet_eventd {

namespace bus {
Properties base_properties(const ClientConfig& config) {
  Properties p = {{"bootstrap.servers", config.bootstrap_servers}};
  for (const auto& [k, v] : config.properties) p[k] = v;
  return p;
}
Properties producer_properties(const ClientConfig& config) {
  Properties p = base_properties(config);
  for (const auto& [k, v] : config.producer_properties) p[k] = v;
  return p;
}
Properties consumer_properties(const ClientConfig& config) {
  Properties p = base_properties(config);
  for (const auto& [k, v] : config.consumer_properties) p[k] = v;
  return p;
}
}  // namespace bus

namespace {

// Refuses what every consumer would dead-letter: the wire form must decode (within the
// configured limits) to an event of the same type and wallet as the one that routes it.
Status check_wire(const WalletEvent& event, std::string_view json, const DecodeLimits& limits) {
  // check_event runs decode_event's checks without building the typed event (whose strings
  // were most of this check's cost); its metadata lands in a buffer each thread keeps.
  thread_local std::string text;
  text.clear();
  auto checked = check_event(json, &text, limits);
  auto type = [&] { return std::string(event_type_name(type_of(event))); };
  if (!checked.ok())
    return Error{Error::Code::kInvalidArgument,
                 "invalid " + type() + " event: " + checked.error().message()};
  if (checked.value().type != type_of(event))
    return Error{Error::Code::kInvalidArgument,
                 "the JSON is a " + std::string(event_type_name(checked.value().type)) +
                     ", the event a " + type()};
  if (checked.value().wallet_id.in(text) != metadata_of(event).wallet_id)
    return Error{Error::Code::kInvalidArgument,
                 "the JSON's wallet_id differs from the event's (the record key)"};
  return Status::Ok();
}

}  // namespace

std::string ClientConfig::topic_for(EventType type) const {
  return topic_prefix + "." + std::string(topic_suffix(type));
}

const std::string* Record::header(std::string_view name) const {
  for (const auto& h : headers)
    if (h.key == name) return &h.value;
  return nullptr;
}

namespace {

// The wire format's four headers, by reference into the event (for a produce that copies them
// at once); event_headers() is their owning copy.
std::array<bus::HeaderView, 4> header_views(EventType type, std::string_view correlation_id,
                                            std::string_view wallet_id,
                                            std::string_view schema_version) {
  return {{{"event_type", event_type_name(type)},
           {"correlation_id", correlation_id},
           {"wallet_id", wallet_id},
           {"schema_version", schema_version}}};
}

std::array<bus::HeaderView, 4> header_views(const WalletEvent& event) {
  const EventMetadata& m = metadata_of(event);
  return header_views(type_of(event), m.correlation_id, m.wallet_id, m.schema_version);
}

// A publish_async `done` as the record's delivery report: one allocation per record (none
// without a `done`), where wrapping it in a Producer::Callback made three.
class DoneReport final : public bus::Producer::Report {
 public:
  explicit DoneReport(Publisher::Done done) : done_(std::move(done)) {}
  void delivered(const bus::Delivery& d) override { done_(d.status); }

 private:
  Publisher::Done done_;
};

std::unique_ptr<bus::Producer::Report> delivering_to(Publisher::Done done) {
  if (!done) return nullptr;
  return std::make_unique<DoneReport>(std::move(done));
}

}  // namespace

std::vector<Header> event_headers(const WalletEvent& event) {
  std::vector<Header> out;
  for (const auto& h : header_views(event))
    out.push_back({std::string(h.key), std::string(h.value)});
  return out;
}

class Publisher::Impl {
 public:
  ClientConfig config;
  std::unique_ptr<bus::Producer> producer;
  bool in_transaction = false;
  std::array<std::string, kEventTypeCount + 1> topics;  // config.topic_for, by EventType (1..13)
  // The producer's topic handles by EventType, made on the type's first publish: a handle
  // makes librdkafka ask for the topic's metadata, and a broker that creates topics on demand
  // would create (with its default partition count) every topic a publisher could ever use.
  std::array<std::atomic<rd_kafka_topic_t*>, kEventTypeCount + 1> handles{};

  const std::string& topic(const WalletEvent& event) const {
    return topics[static_cast<size_t>(type_of(event))];
  }
  // Null if librdkafka refuses the topic (rd_kafka_last_error() says why). Two threads may
  // both ask the producer at first; it hands out one handle per topic.
  rd_kafka_topic_t* handle(size_t type) {
    rd_kafka_topic_t* h = handles[type].load(std::memory_order_acquire);
    if (h == nullptr) {
      h = producer->topic_handle(topics[type]);
      handles[type].store(h, std::memory_order_release);
    }
    return h;
  }
  Status produce(size_t type, std::string_view key, std::string_view json,
                 std::span<const bus::HeaderView> headers, Publisher::Done done) {
    rd_kafka_topic_t* h = handle(type);
    if (h == nullptr) return bus::kafka_error(rd_kafka_last_error(), "produce to " + topics[type]);
    return producer->produce(h, key, json, headers, delivering_to(std::move(done)));
  }
};

Publisher::Publisher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Publisher::~Publisher() = default;

Result<std::unique_ptr<Publisher>> Publisher::create(const ClientConfig& config) {
  return create(config, Deliveries::kLibraryThread);
}

Result<std::unique_ptr<Publisher>> Publisher::create(const ClientConfig& config,
                                                     Deliveries deliveries) {
  bus::Producer::Options opts;
  opts.serve_on_caller = deliveries == Deliveries::kCallerThread;
  opts.properties = {{"acks", config.acks}, {"retries", std::to_string(config.retries)}};
  for (const auto& [k, v] : bus::producer_properties(config)) opts.properties[k] = v;
  opts.transactional_id = config.transactional_id;
  opts.timeout = config.timeout;
  opts.give_up_on_login_failure = config.give_up_on_login_failure;
  opts.name = "publisher";
  auto producer = bus::Producer::create(std::move(opts));
  if (!producer.ok()) return producer.error();
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->producer = std::move(producer).value();
  for (EventType t : all_event_types()) impl->topics[static_cast<size_t>(t)] = config.topic_for(t);
  return std::unique_ptr<Publisher>(new Publisher(std::move(impl)));
}

const ClientConfig& Publisher::config() const { return impl_->config; }

Status Publisher::publish(const WalletEvent& event) {
  return publish_json(event, encode_event(event));
}

Status Publisher::publish_json(const WalletEvent& event, std::string_view json) {
  if (Status c = check_wire(event, json, impl_->config.limits); !c.ok()) return c;
  return impl_->producer
      ->produce_sync(impl_->topic(event), metadata_of(event).wallet_id, json, header_views(event))
      .status;
}

Status Publisher::publish_async(const WalletEvent& event, std::string json, Done done) {
  if (json.empty()) {
    json = encode_event(event);
    if (Status c = check_wire(event, json, impl_->config.limits); !c.ok()) return c;
  }
  return impl_->produce(static_cast<size_t>(type_of(event)), metadata_of(event).wallet_id, json,
                        header_views(event), std::move(done));
}

Status Publisher::publish_async(const CheckedEvent& checked, std::string_view text,
                                std::string_view json, Done done) {
  const auto t = static_cast<size_t>(checked.type);
  if (t == 0 || t >= impl_->topics.size())
    return Error{Error::Code::kInvalidArgument, "publish_async: the checked event has no type"};
  const std::string_view wallet_id = checked.wallet_id.in(text);
  return impl_->produce(t, wallet_id, json,
                        header_views(checked.type, checked.correlation_id.in(text), wallet_id,
                                     checked.schema_version.in(text)),
                        std::move(done));
}

Status Publisher::flush(std::chrono::milliseconds timeout) {
  return impl_->producer->flush(timeout);
}

Publisher::BatchResult Publisher::publish_batch(const std::vector<WalletEvent>& events) {
  BatchResult result;
  result.events.resize(events.size());
  if (!impl_->config.transactional_id) {
    std::vector<std::future<Status>> futures;
    for (size_t i = 0; i < events.size(); ++i) {
      auto promise = std::make_shared<std::promise<Status>>();
      futures.push_back(promise->get_future());
      Status s =
          publish_async(events[i], {}, [promise](const Status& st) { promise->set_value(st); });
      if (!s.ok()) promise->set_value(s);
    }
    for (size_t i = 0; i < futures.size(); ++i) {
      impl_->producer->wait_for([&] {
        return futures[i].wait_for(std::chrono::seconds(0)) == std::future_status::ready;
      });
      result.events[i] = futures[i].get();
      if (!result.events[i].ok() && result.status.ok()) result.status = result.events[i];
    }
    return result;
  }
  Status s = begin_transaction();
  for (size_t i = 0; s.ok() && i < events.size(); ++i) s = publish_async(events[i], {}, nullptr);
  if (s.ok()) s = commit_transaction();  // flushes, then commits
  if (!s.ok()) {
    if (impl_->in_transaction) {
      Status aborted = abort_transaction();
      (void)aborted;  // the first error is the one worth reporting
    }
    for (auto& e : result.events) e = s;
    result.status = s;
  }
  return result;
}

Status Publisher::begin_transaction() {
  if (!impl_->config.transactional_id)
    return Error{Error::Code::kInvalidArgument, "transactions need a transactional_id"};
  Status s = impl_->producer->begin_transaction();
  impl_->in_transaction = s.ok();
  return s;
}

Status Publisher::commit_transaction() {
  Status s = impl_->producer->commit_transaction();
  if (s.ok()) impl_->in_transaction = false;
  return s;
}

Status Publisher::abort_transaction() {
  Status s = impl_->producer->abort_transaction();
  impl_->in_transaction = false;
  return s;
}

}  // namespace wallet_eventd
