// The client library for wallet services: publish wallet events to the bus and read them back
// without speaking raw Kafka. The seed's EventPublisher / EventSubscriber, in C++.
//
//   auto config = ClientConfig{};                       // the seed's defaults
//   auto publisher = Publisher::create(config);         // Result<std::unique_ptr<Publisher>>
//   Status s = publisher.value()->publish(event);       // returns once the broker acked
//
// Errors are values (Result / Status, see result.h); nothing here throws.
#ifndef WALLET_EVENTD_CLIENT_H_
#define WALLET_EVENTD_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wallet_eventd/events.h"
#include "wallet_eventd/result.h"

namespace wallet_eventd {

// Bus settings. Defaults are the seed's KafkaEventBusConfig::default().
struct ClientConfig {
  std::string bootstrap_servers = "localhost:9092";
  std::string topic_prefix = "wallet";
  std::string group_id = "wallet-event-handlers";
  std::string acks = "all";  // producer acks; "all" with idempotence on
  int retries = 3;           // producer retries of a failed send (librdkafka `retries`)
  bool enable_dlq = true;    // Subscriber dead-letters records that do not decode
  std::string dlq_topic = "wallet.dlq";
  // With a transactional id, publish_batch is atomic (Kafka transactions).
  std::optional<std::string> transactional_id;
  // How long publish() waits for the broker's acknowledgement (librdkafka message.timeout.ms),
  // and the bound on transaction calls. Default: 30 s.
  std::chrono::milliseconds timeout{30000};
  // Any librdkafka property, passed through verbatim (security.protocol, sasl.*, ssl.*, ...).
  std::map<std::string, std::string> properties;
  DecodeLimits limits;

  // Reads the daemon's YAML file (bus:, topics:, consumer:, dlq: sections). With
  // `bus.embedded: true` the bootstrap address is the one the running daemon wrote to
  // `<state_dir>/embedded-bootstrap`.
  static Result<ClientConfig> from_yaml(const std::string& path);

  std::string topic_for(EventType type) const;  // "<prefix>.<suffix>"
};

struct Header {
  std::string key;
  std::string value;
  bool operator==(const Header&) const = default;
};

// One Kafka record as received.
struct Record {
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
  std::string key;
  std::string value;
  std::vector<Header> headers;
  int64_t timestamp_ms = 0;                               // broker/producer timestamp
  const std::string* header(std::string_view key) const;  // first header with that key, or null
};

// The record key and headers PRODUCT.md fixes for an event: key = wallet_id; headers
// event_type, correlation_id, wallet_id, schema_version.
std::vector<Header> event_headers(const WalletEvent& event);

// Publishes events. Thread-safety: all methods may be called from several threads at once,
// except that the transaction calls (publish_batch with a transactional id, begin/commit/
// abort) must not overlap each other.
class Publisher {
 public:
  static Result<std::unique_ptr<Publisher>> create(const ClientConfig& config);
  ~Publisher();  // waits up to config.timeout for records still in flight
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  // Routes, keys and headers the event and returns once the broker acknowledged it, or with
  // the broker's error (Error::Code::kBroker / kTimeout / kUnavailable).
  Status publish(const WalletEvent& event);
  // The same, sending `json` (already the event's wire form, e.g. with extra fields) verbatim.
  Status publish_json(const WalletEvent& event, std::string_view json);

  // Queues the record and returns at once; `done` runs on a library thread with the outcome.
  // `json` empty = encode the event. Use flush() to wait for all of them.
  using Done = std::function<void(const Status&)>;
  Status publish_async(const WalletEvent& event, std::string json, Done done);
  Status flush(std::chrono::milliseconds timeout);

  // Without a transactional id: each event is published; one Status per event, in order,
  // `status` ok only if all are. With one: all become visible atomically or none does
  // (consumers must read with isolation.level=read_committed); on failure every entry
  // carries the error and the transaction was aborted.
  struct BatchResult {
    Status status;
    std::vector<Status> events;
  };
  BatchResult publish_batch(const std::vector<WalletEvent>& events);

  // Explicit transactions (needs a transactional id): events published between begin and
  // commit become visible together; abort discards them.
  Status begin_transaction();
  Status commit_transaction();
  Status abort_transaction();

  const ClientConfig& config() const;

  class Impl;

 private:
  explicit Publisher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct ReceivedEvent {
  WalletEvent event;
  Record record;
};
// A record on a wallet topic that is not a valid event (it was dead-lettered when
// enable_dlq is on).
struct ReceiveError {
  DecodeError error;
  Record record;
};

// Reads events of chosen types with its own consumer group. Offsets are committed at least
// once: an event's offset is committed only after the next call to next() (or commit()), so
// an event whose processing crashed the caller is delivered again.
// Thread-safety: one thread at a time.
class Subscriber {
 public:
  struct Options {
    std::vector<EventType> types;  // empty = every type
    std::string group_id;          // empty = config.group_id
    bool from_beginning = true;    // where a new group starts: earliest (true) or latest
    bool commit = true;            // false: never commit (e.g. tail)
    bool read_committed = true;    // isolation.level=read_committed
  };
  static Result<std::unique_ptr<Subscriber>> create(const ClientConfig& config, Options options);
  ~Subscriber();
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  // The next event of a subscribed type (or a decode error), waiting up to `timeout`;
  // nullopt when nothing arrived in time. Records of other types are skipped.
  std::optional<Result<ReceivedEvent, ReceiveError>> next(std::chrono::milliseconds timeout);
  // Commits everything returned so far.
  Status commit();
  // Leaves the group (commits first when commit is on).
  void close();

  class Impl;

 private:
  explicit Subscriber(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace wallet_eventd

#endif  // WALLET_EVENTD_CLIENT_H_
