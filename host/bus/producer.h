// An idempotent Kafka producer that reports every delivery to its caller.
// Thread-safety: produce*/flush may be called from any thread; transaction calls must not
// overlap each other.
#ifndef WALLET_EVENTD_BUS_PRODUCER_H_
#define WALLET_EVENTD_BUS_PRODUCER_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
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
  };
  // acks=all and enable.idempotence=true unless `properties` says otherwise.
  static Result<std::unique_ptr<Producer>> create(Options options);
  ~Producer();

  using Callback = std::function<void(const Delivery&)>;
  // Queues one record; `cb` runs on the producer's poll thread once delivered or failed.
  // Waits (up to the timeout) while librdkafka's queue is full. Everything is copied before
  // it returns.
  Status produce(std::string_view topic, std::string_view key, std::string_view value,
                 std::span<const HeaderView> headers, Callback cb);
  Status produce(std::string_view topic, std::string_view key, std::string_view value,
                 const std::vector<Header>& headers, Callback cb);
  // Queues and waits for the delivery report.
  Delivery produce_sync(std::string_view topic, std::string_view key, std::string_view value,
                        std::span<const HeaderView> headers);
  Delivery produce_sync(std::string_view topic, std::string_view key, std::string_view value,
                        const std::vector<Header>& headers);
  Status flush(std::chrono::milliseconds timeout);

  Status begin_transaction();
  Status commit_transaction();
  Status abort_transaction();

  rd_kafka_t* handle() { return rk_.get(); }
  std::chrono::milliseconds timeout() const { return timeout_; }

 private:
  Producer() = default;
  // The topic's handle, made on first use and kept until the producer goes (librdkafka looks a
  // topic name up and reference-counts it on every produce otherwise).
  rd_kafka_topic_t* topic_handle(std::string_view topic);

  KafkaPtr rk_;
  std::mutex topics_mu_;
  std::map<std::string, rd_kafka_topic_t*, std::less<>> topics_;
  std::chrono::milliseconds timeout_{30000};
  std::atomic<bool> stop_{false};
  std::thread poller_;
};

// Error from a librdkafka error code, with a code class that tells transient from permanent.
Error kafka_error(rd_kafka_resp_err_t err, std::string_view context);
Error kafka_error(rd_kafka_error_t* err, std::string_view context);  // destroys err

}  // namespace wallet_eventd::bus

#endif  // WALLET_EVENTD_BUS_PRODUCER_H_
