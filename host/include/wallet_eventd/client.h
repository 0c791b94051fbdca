// The client library for wallet services: publish wallet events to the bus and read them back
// without speaking raw Kafka. The seed's EventPublisher / EventSubscriber, in C++.
//
//   auto config = ClientConfig{};                       // the seed's defaults
//   auto publisher = Publisher::create(config);         // Result<std::unique_ptr<Publisher>>
//   Status s = publisher.value()->publish(event);       // returns once the broker acked
//
// Errors: one convention for the whole library. Every fallible call returns a Result (value or
// Error) or a Status (ok or Error), see result.h; nothing here throws (except std::bad_alloc,
// and std::bad_variant_access when value()/error() is read from the wrong side of a Result).
// Callbacks you pass in (Publisher::Done) must not throw either.
//
// Ownership: create() hands you the object in a std::unique_ptr; you own it, and destroying it
// releases its Kafka clients. Arguments are only borrowed for the duration of the call (events
// are encoded and copied before a call returns); everything returned (Record, ReceivedEvent,
// ReceiveError, Status) is a plain value you own. The library keeps no pointer to anything of
// yours, except the `done` callbacks of publish_async until they have run.
// Thread-safety: stated per class below. ClientConfig, Record and the events are plain values.
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
  // Publisher: true fails what waits, and every later publish, at the first authentication or
  // TLS handshake failure (wrong credentials, a broker certificate that does not verify), with
  // librdkafka's reason (code kInvalidArgument), instead of each record after `timeout`.
  // Subscriber: next() returns nullopt at once from then on and status() says why. For tools
  // that publish or read and exit; a long-running service keeps it false and keeps retrying.
  bool give_up_on_login_failure = false;
  // Any librdkafka property, passed through verbatim (security.protocol, sasl.*, ssl.*, ...):
  // `properties` to every Kafka client the library creates, then the producer- or
  // consumer-specific map on top (like the YAML's bus.properties / producer_properties /
  // consumer_properties).
  std::map<std::string, std::string> properties;
  std::map<std::string, std::string> producer_properties;
  std::map<std::string, std::string> consumer_properties;
  DecodeLimits limits;

  // Reads the daemon's YAML file (bus:, topics:, consumer:, dlq: sections); what the file does
  // not say keeps the default above. group_id = consumer.group_prefix when set; acks and
  // retries are taken out of bus.properties / bus.producer_properties into their fields; the
  // three property maps are copied. With `bus.embedded: true` the bootstrap address is the one
  // the running daemon wrote to `<state_dir>/embedded-bootstrap` (kUnavailable if absent).
  // A file the daemon would refuse is kInvalidArgument with the daemon's file:line:column
  // messages.
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

// Publishes events.
// Thread-safety: publish, publish_json, publish_async, flush and config may be called from
// several threads at once on one Publisher. With a transactional id, the transaction calls
// (publish_batch, begin/commit/abort_transaction) must not overlap each other, and while a
// transaction is open every record published through this Publisher, from any thread, joins it.
// A Publisher is meant to be long-lived and shared: each one owns a Kafka producer and a thread.
class Publisher {
 public:
  // Fails with kInvalidArgument on a librdkafka property it rejects; with a transactional id
  // also (kTimeout, kUnavailable or kBroker) when the transactions cannot be initialised with
  // the broker within config.timeout. Without one it does not contact the broker.
  static Result<std::unique_ptr<Publisher>> create(const ClientConfig& config);

  // Where the delivery callbacks of publish_async (its `done`) run.
  enum class Deliveries {
    // On a thread of the library's, as each delivery report arrives. The default.
    kLibraryThread,
    // On the thread that calls publish_async, publish, publish_json, publish_batch or flush:
    // each of these calls also serves the reports that are ready, so `done` runs inside one of
    // them (as with librdkafka's own rd_kafka_poll). For bulk publishers on one thread, like
    // `wallet-eventd publish`: librdkafka frees each record where its report is served, and
    // glibc's malloc is several times slower when one thread allocates what another frees
    // (1M events: 2.3-4.3 s instead of 5.9-9.3 s on the benchmark machine). Keep calling
    // publish_async or flush, or callbacks wait; do not call these from inside `done`.
    kCallerThread,
  };
  static Result<std::unique_ptr<Publisher>> create(const ClientConfig& config,
                                                   Deliveries deliveries);
  // Waits up to config.timeout for records still in flight; whatever is left then is failed,
  // so every publish_async `done` has run exactly once when the destructor returns.
  ~Publisher();
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  // Routes, keys and headers the event and returns once the broker acknowledged it, or with
  // the broker's error (Error::Code::kBroker / kTimeout / kUnavailable). An event whose wire
  // form would not decode (e.g. an event_id that is not a UUID, a schema_version of another
  // major, larger than config.limits) is refused with kInvalidArgument and nothing is sent.
  Status publish(const WalletEvent& event);
  // The same, sending `json` (already the event's wire form, e.g. with extra fields) verbatim;
  // refused (kInvalidArgument) unless it decodes to an event of the same type and wallet_id.
  Status publish_json(const WalletEvent& event, std::string_view json);

  // Queues the record and returns at once; `done` runs with the outcome on a library thread
  // (it must be thread-safe and must not block for long), or see Deliveries::kCallerThread.
  // `json` empty = encode and check the event as publish() does; a non-empty `json` is sent
  // verbatim without that check (for callers that decoded it themselves, like `wallet-eventd
  // publish`). When the returned Status is an error, nothing was queued and `done` is not
  // called. flush() waits for all of them.
  using Done = std::function<void(const Status&)>;
  Status publish_async(const WalletEvent& event, std::string json, Done done);
  // The same for a record given as its wire JSON only, which the caller has checked with
  // check_event (`checked` and the `text` buffer it filled, e.g. `wallet-eventd publish` for
  // each line it reads): routed by checked.type, keyed by its wallet_id, the four headers from
  // its metadata; `json` is sent verbatim and not checked again, and no typed event is built.
  // A `checked` of no known type is refused with kInvalidArgument.
  Status publish_async(const CheckedEvent& checked, std::string_view text, std::string_view json,
                       Done done);
  Status flush(std::chrono::milliseconds timeout);

  // Without a transactional id: each event is published; one Status per event, in order,
  // `status` ok only if all are (else the first failure). With one: all become visible
  // atomically or none does (consumers must read with isolation.level=read_committed); on
  // failure (e.g. one invalid event) the transaction was aborted, `status` and every entry
  // carry the first error, and the Publisher can run the next transaction.
  struct BatchResult {
    Status status;
    std::vector<Status> events;
  };
  BatchResult publish_batch(const std::vector<WalletEvent>& events);

  // Explicit transactions (needs a transactional id, else kInvalidArgument): events published
  // between begin and commit become visible together; abort discards them. commit flushes
  // first. An error with code kAborted means the transaction can only be aborted.
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
// Thread-safety: not thread-safe; use one Subscriber from one thread at a time (it may be
// handed to another thread between calls). Use one Subscriber per consuming thread.
// The destructor calls close().
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
  // nullopt when nothing arrived in time. Records of other types are skipped. A record that
  // does not decode, or a valid event on another type's topic (DecodeErrorCode::kWrongTopic:
  // the subscribers of its type would never see it), comes back as a ReceiveError and the
  // stream goes on with the next record (with enable_dlq, only once it was dead-lettered; if
  // that fails, the same record comes back again on a later call).
  // Broker trouble is not an error here: librdkafka reconnects, next() returns nullopt
  // meanwhile and logs through log.h.
  std::optional<Result<ReceivedEvent, ReceiveError>> next(std::chrono::milliseconds timeout);
  // OK, or with config.give_up_on_login_failure, the failed login given up on.
  Status status() const;
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
