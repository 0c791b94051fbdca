// The consumer's pause state across rebalances, against the real broker. The pipeline pauses
// its whole assignment while it waits out a retry backoff and keeps polling to stay in the
// group, so rebalances happen while it is paused. librdkafka keeps a partition's pause flag
// when the partition is taken away, and a partition assigned while the others are paused is
// not paused: the consumer has to set each new partition's state itself.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <set>
#include <thread>

#include "bus/client_common.h"
#include "bus/consumer.h"
#include "support.h"
#include "wallet_eventd/client.h"

namespace {

using namespace wallet_eventd;
using std::chrono::milliseconds;
using std::chrono::seconds;

// The wallet ids (one per event, the record key) of wep_it::publish_spread's events.
std::set<std::string> publish_spread(const ClientConfig& cfg, int count, const std::string& tag) {
  std::set<std::string> wallets;
  for (const auto& md : wep_it::publish_spread(cfg.topic_prefix, count, tag))
    wallets.insert(md.wallet_id);
  return wallets;
}

std::unique_ptr<bus::Consumer> consumer(const ClientConfig& cfg, const std::string& group) {
  bus::Consumer::Options opts;
  opts.properties = bus::consumer_properties(cfg);
  opts.properties["session.timeout.ms"] = "6000";
  opts.group_id = group;
  opts.topics = {cfg.topic_for(EventType::kKeyCreated)};
  auto c = bus::Consumer::create(opts);
  EXPECT_TRUE(c.ok()) << c.error().message;
  return c.ok() ? std::move(c).value() : nullptr;
}

// The wallet ids of what one poll returned (added to `into`); the number of records.
size_t poll_ids(bus::Consumer& c, std::set<std::string>* into, milliseconds timeout) {
  auto msgs = c.poll_batch(100, timeout);
  for (const auto& m : msgs) {
    auto r = bus::to_record(m.get());
    if (const std::string* id = r.header("wallet_id")) into->insert(*id);
  }
  return msgs.size();
}

// Polls `a` (as the pipeline does while it waits: one record at most, no wait) and `b` from
// two threads until `done` holds or `timeout` passed; returns what `a`'s polls returned.
size_t poll_both_until(bus::Consumer& a, bus::Consumer& b, const std::function<bool()>& done,
                       seconds timeout) {
  std::atomic<bool> stop{false};
  std::thread tb([&] {
    std::set<std::string> ignored;
    while (!stop) poll_ids(b, &ignored, milliseconds(100));
  });
  size_t got = 0;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    got += a.poll_batch(1, milliseconds(0)).size();
    std::this_thread::sleep_for(milliseconds(50));
  }
  stop = true;
  tb.join();
  return got;
}

// Polls `c` until every id in `want` was among what it returned (`seen` keeps all it did).
bool reads_all(bus::Consumer& c, const std::set<std::string>& want, std::set<std::string>* seen,
               seconds timeout) {
  return wep_it::eventually(
      [&] {
        poll_ids(c, seen, milliseconds(200));
        for (const auto& id : want)
          if (!seen->count(id)) return false;
        return true;
      },
      timeout);
}

TEST(Consumer, APartitionTakenAwayWhilePausedComesBackUnpausedAndOneGivenWhilePausedIsPaused) {
  const std::string prefix = wep_it::unique_prefix();
  const auto cfg = wep_it::client_config(prefix);
  const std::string group = prefix + ".pause";
  auto ids = publish_spread(cfg, 30, "first");

  auto a = consumer(cfg, group);
  ASSERT_NE(a, nullptr);
  std::set<std::string> seen;
  ASSERT_TRUE(reads_all(*a, ids, &seen, seconds(60)));
  ASSERT_EQ(a->assignment().size(), 3u);

  // a pauses (a retry backoff) and b joins: b takes partitions away from the paused a.
  a->pause_all();
  auto b = consumer(cfg, group);
  ASSERT_NE(b, nullptr);
  size_t while_paused = poll_both_until(
      *a, *b, [&] { return !b->assignment().empty() && a->assignment().size() < 3; }, seconds(60));
  ASSERT_FALSE(b->assignment().empty());
  EXPECT_EQ(while_paused, 0u) << "a paused consumer was handed records";
  a->resume_all();  // the backoff ends: a resumes what it holds now

  // Case 1: a, no longer paused, is given b's partitions back when b leaves: it reads what
  // is published to any of them from now on.
  b->close();
  b.reset();
  ASSERT_TRUE(wep_it::eventually(
      [&] {
        poll_ids(*a, &seen, milliseconds(200));
        return a->assignment().size() == 3u;
      },
      seconds(60)));
  auto later = publish_spread(cfg, 30, "later");
  EXPECT_TRUE(reads_all(*a, later, &seen, seconds(30)))
      << "a partition taken away while paused came back paused";

  // Case 2: b joins, and leaves while a is paused: the partitions a is given during the pause
  // deliver nothing until a resumes.
  b = consumer(cfg, group);
  ASSERT_NE(b, nullptr);
  poll_both_until(
      *a, *b, [&] { return !b->assignment().empty() && a->assignment().size() < 3; }, seconds(60));
  ASSERT_FALSE(b->assignment().empty());
  a->pause_all();
  b->close();
  b.reset();
  ASSERT_TRUE(wep_it::eventually(
      [&] {
        a->poll_batch(1, milliseconds(0));  // as the pipeline polls while it waits
        return a->assignment().size() == 3u;
      },
      seconds(60)));
  auto during = publish_spread(cfg, 30, "during");
  size_t given_while_paused = 0;
  const auto until = std::chrono::steady_clock::now() + seconds(3);
  while (std::chrono::steady_clock::now() < until) {
    given_while_paused += a->poll_batch(1, milliseconds(0)).size();
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_EQ(given_while_paused, 0u) << "partitions assigned during a pause were not paused";
  a->resume_all();
  EXPECT_TRUE(reads_all(*a, during, &seen, seconds(30))) << "after resume";
  a->close();
}

TEST(Consumer, WithALingerOfZeroABatchIsWhatHasArrivedNotWhatFillsItInTime) {
  const std::string prefix = wep_it::unique_prefix();
  const auto cfg = wep_it::client_config(prefix);
  publish_spread(cfg, 5, "few");
  auto c = consumer(cfg, prefix + ".linger");
  ASSERT_NE(c, nullptr);
  // One record first; a second later the other four are surely fetched and queued.
  ASSERT_EQ(c->poll_batch(1, milliseconds(30000)).size(), 1u);
  std::this_thread::sleep_for(milliseconds(1000));
  const auto start = std::chrono::steady_clock::now();
  auto msgs = c->poll_batch(1000, milliseconds(10000), milliseconds(0));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(msgs.size(), 4u);
  EXPECT_LT(took, seconds(2)) << "waited for a batch of 1000 to fill";
  c->close();
}

}  // namespace
