// bus::Producer's per-record reports against the real broker: each queued record's Report is
// delivered once and then deleted, on the poll thread or on the caller's; a record librdkafka
// refuses at once gives its Report back deleted and undelivered; a record without one is
// produced all the same. And the Publisher's topic handles, made on a type's first publish.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <thread>

#include "bus/client_common.h"
#include "bus/producer.h"
#include "support.h"
#include "wallet_eventd/client.h"

namespace {

using namespace wallet_eventd;

struct Counts {
  std::atomic<int> delivered{0}, ok{0}, with_offset{0}, deleted{0};
};

class CountingReport final : public bus::Producer::Report {
 public:
  explicit CountingReport(Counts* counts) : counts_(counts) {}
  ~CountingReport() override { ++counts_->deleted; }
  void delivered(const bus::Delivery& d) override {
    ++counts_->delivered;
    if (d.status.ok()) ++counts_->ok;
    if (d.offset >= 0 && d.partition >= 0) ++counts_->with_offset;
  }

 private:
  Counts* counts_;
};

void produce_and_count(bool serve_on_caller) {
  SCOPED_TRACE(serve_on_caller ? "reports served on the caller's thread"
                               : "reports served on the producer's thread");
  const ClientConfig cfg = wep_it::client_config(wep_it::unique_prefix());
  bus::Producer::Options opts;
  opts.properties = bus::producer_properties(cfg);
  opts.properties["message.max.bytes"] = "10000";
  opts.serve_on_caller = serve_on_caller;
  opts.timeout = std::chrono::seconds(20);
  auto created = bus::Producer::create(opts);
  ASSERT_TRUE(created.ok()) << created.error().message;
  auto& producer = *created.value();
  const std::string name = cfg.topic_for(EventType::kKeyCreated);
  rd_kafka_topic_t* topic = producer.topic_handle(name);
  ASSERT_NE(topic, nullptr);
  EXPECT_EQ(producer.topic_handle(name), topic) << "one handle per topic, kept";

  Counts counts;
  const bus::HeaderView headers[] = {{"event_type", "KeyCreated"}, {"wallet_id", "w"}};
  constexpr int kRecords = 200;
  for (int i = 0; i < kRecords; ++i) {
    Status s =
        producer.produce(topic, "w-" + std::to_string(i), "{\"i\":" + std::to_string(i) + "}",
                         headers, std::make_unique<CountingReport>(&counts));
    ASSERT_TRUE(s.ok()) << s.message();
  }
  // No report: nobody waits for this one, and nothing is leaked (ASan's leak check).
  ASSERT_TRUE(producer.produce(topic, "w", "{}", headers, nullptr).ok());
  // Refused before it is queued (larger than message.max.bytes): the error now, the report
  // deleted without a delivery.
  Status big = producer.produce(topic, "w", std::string(20000, 'x'), headers,
                                std::make_unique<CountingReport>(&counts));
  EXPECT_FALSE(big.ok());
  EXPECT_NE(big.message().find("produce to " + name), std::string::npos) << big.message();
  EXPECT_EQ(counts.deleted.load(), 1) << "the refused record's report";

  ASSERT_TRUE(producer.flush(std::chrono::seconds(20)).ok());
  EXPECT_EQ(counts.delivered.load(), kRecords);
  EXPECT_EQ(counts.ok.load(), kRecords);
  EXPECT_EQ(counts.with_offset.load(), kRecords);
  EXPECT_EQ(counts.deleted.load(), kRecords + 1);
}

// The topics named "<prefix>.*" the broker has (a metadata request for all topics creates none).
std::set<std::string> topics_under(const std::string& prefix) {
  bus::Producer::Options opts;
  opts.properties = bus::producer_properties(wep_it::client_config(prefix));
  auto producer = bus::Producer::create(opts);
  EXPECT_TRUE(producer.ok()) << producer.error().message;
  std::set<std::string> out;
  if (!producer.ok()) return out;
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(producer.value()->handle(), 1, nullptr, &md, 10000);
  EXPECT_EQ(err, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(err);
  if (err) return out;
  for (int i = 0; i < md->topic_cnt; ++i) {
    const std::string name = md->topics[i].topic;
    if (name.rfind(prefix + ".", 0) == 0) out.insert(name);
  }
  rd_kafka_metadata_destroy(md);
  return out;
}

TEST(Producer, APublisherAsksTheBrokerOnlyForTheTopicsItPublishesTo) {
  // The test broker creates a topic when a producer asks for its metadata (auto.create.topics,
  // as many brokers do): handles made for every type when the Publisher was created made it
  // create all six topics, with the broker's default partitioning.
  const std::string prefix = wep_it::unique_prefix();
  auto publisher = Publisher::create(wep_it::client_config(prefix));
  ASSERT_TRUE(publisher.ok()) << publisher.error().message;
  KeyCreated e;
  e.metadata = EventMetadata::create("corr", "wallet-topics");
  e.key_id = "key-1";
  e.kid = "kid-1";
  e.key_type = "EC P-256";
  Status s = publisher.value()->publish(e);
  ASSERT_TRUE(s.ok()) << s.message();
  std::this_thread::sleep_for(std::chrono::seconds(2));  // time for any other request to land
  EXPECT_EQ(topics_under(prefix), std::set<std::string>{prefix + ".key.operations"});
}

TEST(Producer, EachReportIsDeliveredOnceThenDeletedAndARefusedRecordsReportIsOnlyDeleted) {
  produce_and_count(false);
  produce_and_count(true);
}

}  // namespace
