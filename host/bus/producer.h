// An idempotent Kafka producer that reports every delivery to its caller.
// Thread-safety: produce*/flush may be called from any thread; transaction calls must not
// overlap each other.
#ifndef WALLET_EVENTD_BUS_PRODUCER_H_
#define WALLET_EVENTD_BUS_PRODUCER_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bus/kafka_conf.h"
#include "wallet_eventd/client.h"

namespace wallet_eventd::bus {

// A record header by reference: for producers that copy it at once.
struct HeaderView {
  std::string_view key;
  std::string_view value;
};

struct Delivery {
  Status status;
  int32_t partition = -1;
  int64_t offset = -1;
};

class Producer {
 public:
  struct Options {
    Properties properties;  // merged librdkafka properties (bootstrap.servers included)
    std::optional<std::string> transactional_id;
    std::chrono::milliseconds timeout{30000};
    std::string name = "producer";
    // false: a thread of the producer's serves delivery reports as they arrive. true: no such
    // thread; produce, produce_sync, flush and wait_for serve them on the calling thread (as
    // kcat does). librdkafka frees each record's memory where its report is served, and glibc
    // is several times slower when one thread allocates and another frees (a bulk publisher
    // spent most of its time in malloc's slow paths and arena locks).
    bool serve_on_caller = false;
    // true: the first authentication or TLS handshake failure (a wrong password, a broker
    // certificate that does not verify) fails the records waiting and every later produce at
    // once, with librdkafka's reason, instead of each after message.timeout.ms. For a command
    // that publishes and exits; a service keeps retrying (credentials can be fixed meanwhile).
    bool give_up_on_login_failure = false;
  };
  // acks=all and enable.idempotence=true unless `properties` says otherwise.
  static Result<std::unique_ptr<Producer>> create(Options options);
  ~Producer();

  // Where one record's delivery report goes. The producer takes it with the record and deletes
  // it once `delivered` has run (exactly once, with the record's outcome).
  class Report {
   public:
    virtual ~Report() = default;
    virtual void delivered(const Delivery& delivery) = 0;
  };
  using Callback = std::function<void(const Delivery&)>;
  // Queues one record; `cb` runs once it is delivered or failed: on the producer's poll thread,
  // or with serve_on_caller in a later produce/produce_sync/flush/wait_for call (this one
  // included). Waits (up to the timeout) while librdkafka's queue is full. Everything is
  // copied before it returns.
  Status produce(std::string_view topic, std::string_view key, std::string_view value,
                 std::span<const HeaderView> headers, Callback cb);
  // The same for a publisher of many records: the topic by its handle (topic_handle's; no
  // lookup by name per record) and the report as one object of the caller's (a Callback costs
  // two or three allocations per record, a Report one). `report` may be null (nobody waits);
  // it is deleted on failure too.
  Status produce(rd_kafka_topic_t* topic, std::string_view key, std::string_view value,
                 std::span<const HeaderView> headers, std::unique_ptr<Report> report);
  // The topic's handle, made on first use and kept until the producer goes (librdkafka looks a
  // topic name up and reference-counts it on every produce otherwise); null if librdkafka
  // refuses the name (rd_kafka_last_error() says why).
  rd_kafka_topic_t* topic_handle(std::string_view topic);
  Status produce(std::string_view topic, std::string_view key, std::string_view value,
                 const std::vector<Header>& headers, Callback cb);
  // Queues and waits for the delivery report.
  Delivery produce_sync(std::string_view topic, std::string_view key, std::string_view value,
                        std::span<const HeaderView> headers);
  Delivery produce_sync(std::string_view topic, std::string_view key, std::string_view value,
                        const std::vector<Header>& headers);
  Status flush(std::chrono::milliseconds timeout);
  // With serve_on_caller: serves delivery reports until `ready()` (e.g. a future a delivery
  // callback sets) turns true. Without: returns at once (the poll thread serves them; block on
  // the result itself).
  void wait_for(const std::function<bool()>& ready);

  Status begin_transaction();
  Status commit_transaction();
  Status abort_transaction();

  rd_kafka_t* handle() { return rk_.get(); }
  std::chrono::milliseconds timeout() const { return timeout_; }

 private:
  Producer() = default;
  static void on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque);
  static void on_delivery(rd_kafka_t* rk, const rd_kafka_message_t* msg, void* opaque);
  // The login failure given up on (give_up_on_login_failure), if any.
  std::optional<Error> login_failure() const;

  KafkaPtr rk_;
  std::mutex topics_mu_;
  std::map<std::string, rd_kafka_topic_t*, std::less<>> topics_;
  std::chrono::milliseconds timeout_{30000};
  std::atomic<bool> stop_{false};
  std::thread poller_;
  bool serve_on_caller_ = false;
  bool give_up_on_login_failure_ = false;
  std::atomic<bool> login_failed_{false};
  mutable std::mutex login_mu_;
  std::optional<Error> login_failure_;
};

// Error from a librdkafka error code, with a code class that tells transient from permanent.
Error kafka_error(rd_kafka_resp_err_t err, std::string_view context);
Error kafka_error(rd_kafka_error_t* err, std::string_view context);  // destroys err

}  // namespace wallet_eventd::bus

#endif  // WALLET_EVENTD_BUS_PRODUCER_H_
