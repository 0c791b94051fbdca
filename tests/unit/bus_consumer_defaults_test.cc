// The consumer's own librdkafka defaults: what it sets, for which librdkafka, and that the
// operator's properties are left to win.
#include <gtest/gtest.h>

#include "bus/consumer.h"
#include "bus/fetch_waker.h"
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
  EXPECT_TRUE(needs_fetch_waker(kDebian12));           // and is woken by the host instead
  for (int v : {k2_4, k2_10}) {
    EXPECT_EQ(consumer_defaults(options(), v)["fetch.queue.backoff.ms"], "10");
    EXPECT_FALSE(needs_fetch_waker(v));
  }
}

TEST(ConsumerDefaults, TheQueueIsBoundedOnEveryVersion) {
  for (int v : {kDebian12, k2_4, k2_10}) {
    auto d = consumer_defaults(options(), v);
    EXPECT_EQ(d["queued.max.messages.kbytes"], "4096");
    EXPECT_EQ(d["fetch.max.bytes"], "2097152");
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

// FetchWakePolicy: librdkafka < 2.4 stops fetching at a queue limit until its broker thread is
// woken; the policy wakes it once a full queue has drained to half, and not otherwise.

TEST(FetchWakePolicy, WakesOnceAfterAFullQueueDrainsToHalfOfTheCount) {
  FetchWakePolicy p(1000, 1 << 30);
  p.taken(10, 1000);                  // 100-byte records: the byte limit is far away
  EXPECT_FALSE(p.should_wake(100));   // never near the limit: the fetcher never stopped
  EXPECT_FALSE(p.should_wake(1000));  // at the limit: fetching has stopped
  EXPECT_FALSE(p.should_wake(600));   // draining, but more than half is still queued
  EXPECT_TRUE(p.should_wake(499));    // half drained: wake, while records remain
  EXPECT_FALSE(p.should_wake(100));   // once per fill
  EXPECT_FALSE(p.should_wake(0));
}

TEST(FetchWakePolicy, BytesCountThroughTheAveragePayload) {
  FetchWakePolicy p(100000, 8 << 20);  // librdkafka's record default, the host's 8 MiB
  p.taken(64, 64 * 1000);              // 1,000-byte records: the byte limit is 8,388 records
  EXPECT_FALSE(p.should_wake(6500));   // 6.5 MB: armed (over three quarters)
  EXPECT_FALSE(p.should_wake(4300));   // 4.3 MB: not yet half
  EXPECT_TRUE(p.should_wake(4000));    // 4 MB
  EXPECT_NEAR(p.average_payload(), 1000, 1e-9);
}

TEST(FetchWakePolicy, AnEmptyQueueBeforeAnyRecordNeverWakes) {
  FetchWakePolicy p(100000, 8 << 20);
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(p.should_wake(0));
  p.taken(0, 0);  // an empty batch leaves the average alone
  EXPECT_EQ(p.average_payload(), 0);
}

TEST(FetchWakePolicy, TheAverageFollowsAChangeOfRecordSize) {
  FetchWakePolicy p(100000, 8 << 20);
  p.taken(10, 1000);
  for (int i = 0; i < 30; ++i) p.taken(10, 100000);  // records grow to 10 kB
  EXPECT_NEAR(p.average_payload(), 10000, 50);
  EXPECT_FALSE(p.should_wake(700));  // 7 MB of 10 kB records: armed
  EXPECT_TRUE(p.should_wake(300));
}

}  // namespace
}  // namespace wallet_eventd::bus
