// The consumer's fetch waker against the real broker: a consumer whose queue is far smaller
// than the backlog reads all of it, and on librdkafka < 2.4 (no fetch.queue.backoff.ms) it was
// kept fetching by wake-ups, not by librdkafka's one-second idle timeout alone.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "bus/client_common.h"
#include "bus/consumer.h"
#include "support.h"
#include "wallet_eventd/client.h"

namespace {

using namespace wallet_eventd;

TEST(FetchWaker, ASmallQueueReadsTheWholeBacklogAndWakesTheFetcher) {
  const std::string prefix = wep_it::unique_prefix();
  auto cfg = wep_it::client_config(prefix);
  constexpr int kEvents = 20000;  // about 6 MB: some 25 times the queue below
  {
    auto publisher = Publisher::create(cfg);
    ASSERT_TRUE(publisher.ok()) << publisher.error().message;
    std::atomic<int> failures{0};
    for (int i = 0; i < kEvents; ++i) {
      CredentialStored e;
      e.metadata = EventMetadata::create("c-" + std::to_string(i), "w-" + std::to_string(i % 50));
      e.credential_id = "cred-" + std::to_string(i);
      e.credential_type = "T";
      e.issuer = "https://issuer.example";
      ASSERT_TRUE(publisher.value()
                      ->publish_async(e, {},
                                      [&](const Status& st) {
                                        if (!st.ok()) ++failures;
                                      })
                      .ok());
    }
    ASSERT_TRUE(publisher.value()->flush(std::chrono::seconds(60)).ok());
    ASSERT_EQ(failures.load(), 0);
  }

  bus::Consumer::Options opts;
  opts.properties = bus::consumer_properties(cfg);
  // A 256 KiB queue (fetches follow it down: message.max.bytes sized, fetch.max.bytes left to
  // librdkafka, which caps it at the queue).
  opts.properties["queued.max.messages.kbytes"] = "256";
  opts.properties["message.max.bytes"] = "100000";
  opts.group_id = prefix + ".waker";
  opts.topics = {cfg.topic_for(EventType::kCredentialStored)};
  auto consumer = bus::Consumer::create(opts);
  ASSERT_TRUE(consumer.ok()) << consumer.error().message;
  auto& c = *consumer.value();

  std::set<std::pair<int32_t, int64_t>> seen;
  bool paused_once = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (seen.size() < static_cast<size_t>(kEvents) &&
         std::chrono::steady_clock::now() < deadline) {
    auto batch = c.poll_batch(500, std::chrono::milliseconds(500));
    for (const auto& m : batch) seen.emplace(m->partition, m->offset);
    if (!batch.empty() && !paused_once) {
      // Let the queue fill to its limit, where librdkafka stops fetching.
      paused_once = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(kEvents));
  if (bus::needs_fetch_waker(rd_kafka_version())) {
    EXPECT_GT(c.fetch_wake_ups(), 0u)
        << "the queue filled and drained, but nothing woke the fetcher";
  } else {
    EXPECT_EQ(c.fetch_wake_ups(), 0u) << "librdkafka " << rd_kafka_version_str()
                                      << " refetches by itself (fetch.queue.backoff.ms)";
  }
  c.close();
}

}  // namespace
