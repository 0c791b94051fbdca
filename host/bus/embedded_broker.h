// The embedded broker: librdkafka's in-process mock cluster, for demos and development only.
// It keeps data in memory, drops old data past about 5 MB or 100,000 message sets per
// partition, and ignores TLS/SASL. Other processes (kcat, `wallet-eventd publish`) reach it
// on the loopback address bootstrap() returns while this object lives.
#ifndef WALLET_EVENTD_BUS_EMBEDDED_BROKER_H_
#define WALLET_EVENTD_BUS_EMBEDDED_BROKER_H_

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "bus/kafka_conf.h"

namespace wallet_eventd::bus {

class EmbeddedBroker {
 public:
  static Result<std::unique_ptr<EmbeddedBroker>> start(int brokers = 1);
  ~EmbeddedBroker();
  std::string bootstrap() const;
  Status create_topic(const std::string& name, int partitions);

 private:
  EmbeddedBroker() = default;
  KafkaPtr rk_;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

// Creates the topics that do not exist yet on a real cluster (admin API). Existing topics are
// left as they are.
Status create_topics(const Properties& properties, const std::vector<std::string>& topics,
                     int partitions, int replication_factor, std::chrono::milliseconds timeout);

}  // namespace wallet_eventd::bus

#endif  // WALLET_EVENTD_BUS_EMBEDDED_BROKER_H_
