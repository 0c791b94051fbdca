// The consumer's own librdkafka defaults: what it sets, for which librdkafka, and that the
// operator's properties are left to win.
#include <gtest/gtest.h>

#include "bus/consumer.h"
#include "bus/kafka_conf.h"

namespace wallet_eventd::bus {
namespace {

constexpr int kDebian12 = 0x020002ff;  // librdkafka 2.0.2
constexpr int k2_4 = 0x020400ff;
constexpr int k2_10 = 0x020a00ff;

Consumer::Options options() {
  Consumer::Options o;
  o.group_id = "g";
  return o;
}

TEST(ConsumerDefaults, AtLeastOnceSettingsForEveryVersion) {
  for (int v : {kDebian12, k2_4, k2_10}) {
    auto d = consumer_defaults(options(), v);
    EXPECT_EQ(d["group.id"], "g");
    EXPECT_EQ(d["enable.auto.commit"], "false");
    EXPECT_EQ(d["enable.auto.offset.store"], "false");
    EXPECT_EQ(d["isolation.level"], "read_committed");
  }
}

TEST(ConsumerDefaults, FetchQueueBackoffOnlyWhereLibrdkafkaKnowsIt) {
  auto old = consumer_defaults(options(), kDebian12);
  EXPECT_EQ(old.count("fetch.queue.backoff.ms"), 0u);  // 2.0.2 refuses the property
  EXPECT_EQ(old.count("queued.max.messages.kbytes"), 0u);
  EXPECT_EQ(old.count("fetch.max.bytes"), 0u);
  for (int v : {k2_4, k2_10}) {
    auto d = consumer_defaults(options(), v);
    EXPECT_EQ(d["fetch.queue.backoff.ms"], "10");
    EXPECT_EQ(d["queued.max.messages.kbytes"], "8192");
    EXPECT_EQ(d["fetch.max.bytes"], "4194304");
  }
}

TEST(ConsumerDefaults, TheOperatorsMessageSizeKeepsFetchMaxBytesUnset) {
  for (const char* key : {"message.max.bytes", "fetch.max.bytes"}) {
    auto o = options();
    o.properties[key] = "16777216";
    EXPECT_EQ(consumer_defaults(o, k2_10).count("fetch.max.bytes"), 0u) << key;
  }
}

TEST(ConsumerDefaults, EveryDefaultIsAPropertyThisLibrdkafkaAccepts) {
  // Whatever runs the tests (Debian's 2.0.2, or a newer one through LD_LIBRARY_PATH) must take
  // the defaults chosen for its own version.
  auto d = consumer_defaults(options(), rd_kafka_version());
  for (const auto& [k, v] : d) EXPECT_TRUE(check_property(k, v).ok()) << k << "=" << v;
  EXPECT_TRUE(make_conf({&d}).ok());
}

}  // namespace
}  // namespace wallet_eventd::bus
