// bus::Producer's per-record reports against the real broker: each queued record's Report is
// delivered once and then deleted, on the poll thread or on the caller's; a record librdkafka
// refuses at once gives its Report back deleted and undelivered; a record without one is
// produced all the same.
#include <gtest/gtest.h>

#include <atomic>
#include <string>

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

TEST(Producer, EachReportIsDeliveredOnceThenDeletedAndARefusedRecordsReportIsOnlyDeleted) {
  produce_and_count(false);
  produce_and_count(true);
}

}  // namespace
