// Pipeline semantics against the real broker, watched through the recorder test plugin:
// dead-lettering of malformed records, retry then success, retries exhausted, failures,
// offsets that do not move past unfinished events, and isolation of a slow instance.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "support.h"
#include "wallet_eventd/client.h"

namespace {

using namespace wallet_eventd;
namespace fs = std::filesystem;

std::string recorder(const std::string& name, const std::string& output,
                     const std::string& extra_config = "", const std::string& extra = "") {
  return "  - name: " + name + "\n    path: " WEP_BINARY_DIR "/test-plugins/recorder.so\n" + extra +
         "    config:\n      output: " + output + "\n" + extra_config;
}

KeyCreated key_event(const std::string& wallet, int n) {
  KeyCreated e;
  e.metadata = EventMetadata::create("corr-" + std::to_string(n), wallet);
  e.key_id = "key-" + std::to_string(n);
  e.kid = "kid-" + std::to_string(n);
  e.key_type = "EC P-256";
  return e;
}

std::vector<std::string> publish_keys(const std::string& prefix, int count,
                                      const std::string& wallet = "wallet-1") {
  auto publisher = Publisher::create(wep_it::client_config(prefix));
  EXPECT_TRUE(publisher.ok());
  std::vector<std::string> ids;
  for (int i = 0; i < count; ++i) {
    auto e = key_event(wallet, i);
    ids.push_back(e.metadata.event_id);
    Status s = publisher.value()->publish(e);
    EXPECT_TRUE(s.ok()) << s.message();
  }
  return ids;
}

// Lines of the recorder's file with the given result.
size_t count_lines(const std::string& file, const std::string& suffix) {
  size_t n = 0;
  for (const auto& l : wep_it::read_lines(file))
    if (l.size() >= suffix.size() &&
        l.compare(l.size() - suffix.size(), suffix.size(), suffix) == 0)
      ++n;
  return n;
}

const std::string* header(const Record& r, const std::string& key) { return r.header(key); }

TEST(Pipeline, MalformedRecordIsDeadLetteredAndTheConsumerKeepsGoing) {
  const std::string prefix = wep_it::unique_prefix();
  auto dir = wep_it::temp_dir();
  const std::string out = (dir / "seen.txt").string();
  wep_it::Daemon daemon(wep_it::daemon_config(dir, prefix, recorder("rec", out)));
  wep_it::produce_raw(prefix + ".key.operations", "wallet-1", "{this is not json");
  auto ids = publish_keys(prefix, 1);
  ASSERT_TRUE(wep_it::eventually([&] { return count_lines(out, " done") >= 1; })) << daemon.log();
  auto dlq = wep_it::read_topic(prefix + ".dlq", 1, std::chrono::seconds(30));
  ASSERT_EQ(dlq.size(), 1u) << daemon.log();
  const Record& r = dlq[0];
  EXPECT_EQ(r.value, "{this is not json");
  EXPECT_EQ(r.key, "wallet-1");
  EXPECT_EQ(*header(r, "dlq.original.topic"), prefix + ".key.operations");
  ASSERT_NE(header(r, "dlq.original.partition"), nullptr);
  EXPECT_EQ(*header(r, "dlq.original.offset"), "0");
  EXPECT_EQ(*header(r, "dlq.stage"), "decode");
  EXPECT_EQ(*header(r, "dlq.error.code"), "malformed_json");
  EXPECT_FALSE(header(r, "dlq.error")->empty());
  EXPECT_NE(header(r, "dlq.timestamp"), nullptr);
  EXPECT_EQ(wep_it::read_lines(out)[0].substr(0, 36), ids[0]);
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(std::chrono::seconds(20)), 0) << daemon.log();
}

TEST(Pipeline, RetryThenSucceed) {
  const std::string prefix = wep_it::unique_prefix();
  auto dir = wep_it::temp_dir();
  const std::string out = (dir / "seen.txt").string();
  wep_it::Daemon daemon(wep_it::daemon_config(
      dir, prefix,
      recorder("rec", out, "      retry_times: 2\n",
               "    retry: {max_attempts: 5, initial_backoff_ms: 50, max_backoff_ms: 200}\n")));
  publish_keys(prefix, 3);
  ASSERT_TRUE(wep_it::eventually([&] { return count_lines(out, " done") >= 3; })) << daemon.log();
  EXPECT_EQ(count_lines(out, " 1 retry"), 3u);
  EXPECT_EQ(count_lines(out, " 2 retry"), 3u);
  EXPECT_EQ(count_lines(out, " 3 done"), 3u);
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(std::chrono::seconds(20)), 0) << daemon.log();
  EXPECT_TRUE(wep_it::read_topic(prefix + ".dlq", 1, std::chrono::seconds(3)).empty());
}

TEST(Pipeline, RetriesExhaustedAndFailuresGoToTheDlqWithContext) {
  const std::string prefix = wep_it::unique_prefix();
  auto dir = wep_it::temp_dir();
  const std::string retry_out = (dir / "retry.txt").string();
  const std::string fail_out = (dir / "fail.txt").string();
  const std::string ok_out = (dir / "ok.txt").string();
  wep_it::Daemon daemon(wep_it::daemon_config(
      dir, prefix,
      recorder("stubborn", retry_out, "      retry_times: -1\n",
               "    retry: {max_attempts: 3, initial_backoff_ms: 20, max_backoff_ms: 50}\n") +
          recorder("failing", fail_out, "      fail_every: 2\n") + recorder("fine", ok_out)));
  auto ids = publish_keys(prefix, 4);
  ASSERT_TRUE(wep_it::eventually([&] { return count_lines(ok_out, " done") >= 4; }))
      << daemon.log();
  // stubborn: 4 events x 3 attempts, then dead-lettered; failing: events 2 and 4 dead-lettered.
  auto dlq = wep_it::read_topic(prefix + ".dlq", 6, std::chrono::seconds(60));
  ASSERT_EQ(dlq.size(), 6u) << daemon.log();
  size_t exhausted = 0, failed = 0;
  for (const auto& r : dlq) {
    EXPECT_EQ(*header(r, "dlq.stage"), "handler");
    EXPECT_EQ(*header(r, "dlq.original.topic"), prefix + ".key.operations");
    EXPECT_EQ(*header(r, "event_type"), "KeyCreated");  // original headers are kept
    if (*header(r, "dlq.instance") == "stubborn") {
      ++exhausted;
      EXPECT_EQ(*header(r, "dlq.attempts"), "3");
      EXPECT_EQ(*header(r, "dlq.error.code"), "retries_exhausted");
      EXPECT_EQ(*header(r, "dlq.error"), "gave up after 3 attempts: recorder: retry as configured");
    } else {
      ++failed;
      EXPECT_EQ(*header(r, "dlq.instance"), "failing");
      EXPECT_EQ(*header(r, "dlq.attempts"), "1");
      EXPECT_EQ(*header(r, "dlq.error.code"), "failed");
      EXPECT_EQ(*header(r, "dlq.error"), "recorder: failing every Nth event as configured");
    }
  }
  EXPECT_EQ(exhausted, 4u);
  EXPECT_EQ(failed, 2u);
  EXPECT_EQ(count_lines(retry_out, " retry"), 12u);
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(std::chrono::seconds(20)), 0) << daemon.log();
}

TEST(Pipeline, OffsetsDoNotMovePastUnfinishedEvents) {
  const std::string prefix = wep_it::unique_prefix();
  auto dir = wep_it::temp_dir();
  const std::string out = (dir / "seen.txt").string();
  // First run: the instance keeps asking for a retry with a long backoff; stop it midway.
  {
    wep_it::Daemon daemon(wep_it::daemon_config(
        dir, prefix,
        recorder(
            "rec", out, "      retry_times: -1\n",
            "    retry: {max_attempts: 100, initial_backoff_ms: 60000, max_backoff_ms: 60000}\n")));
    publish_keys(prefix, 2);
    ASSERT_TRUE(wep_it::eventually([&] { return count_lines(out, " retry") >= 2; }))
        << daemon.log();
    daemon.signal(SIGTERM);
    ASSERT_EQ(daemon.wait(std::chrono::seconds(20)), 0) << daemon.log();
  }
  // Second run, same group, handler fixed: the same events come again and are handled.
  {
    wep_it::Daemon daemon(wep_it::daemon_config(dir, prefix, recorder("rec", out)));
    ASSERT_TRUE(wep_it::eventually([&] { return count_lines(out, " done") >= 2; })) << daemon.log();
    daemon.signal(SIGTERM);
    ASSERT_EQ(daemon.wait(std::chrono::seconds(20)), 0) << daemon.log();
  }
  // Third run: everything was committed; nothing is delivered again.
  {
    wep_it::Daemon daemon(wep_it::daemon_config(dir, prefix, recorder("rec", out)));
    std::this_thread::sleep_for(std::chrono::seconds(6));
    daemon.signal(SIGTERM);
    ASSERT_EQ(daemon.wait(std::chrono::seconds(20)), 0) << daemon.log();
  }
  EXPECT_EQ(count_lines(out, " done"), 2u);
}

TEST(Pipeline, ASlowInstanceDoesNotDelayAnother) {
  const std::string prefix = wep_it::unique_prefix();
  auto dir = wep_it::temp_dir();
  const std::string slow = (dir / "slow.txt").string();
  const std::string fast = (dir / "fast.txt").string();
  wep_it::Daemon daemon(wep_it::daemon_config(
      dir, prefix,
      recorder("slow", slow, "      sleep_ms: 3000\n", "    batch_size: 1\n") +
          recorder("fast", fast, "", "    batch_size: 1\n")));
  auto start = std::chrono::steady_clock::now();
  publish_keys(prefix, 20);
  ASSERT_TRUE(wep_it::eventually([&] { return count_lines(fast, " done") >= 20; },
                                 std::chrono::seconds(30)))
      << daemon.log();
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, std::chrono::seconds(20));
  // The slow one (3 s per event) is far behind: at most a handful done.
  EXPECT_LT(count_lines(slow, " done"), 10u);
  daemon.signal(SIGKILL);
  daemon.wait(std::chrono::seconds(10));
}

TEST(Pipeline, TheNextBatchIsReadWhileTheHandlerWorksYetCallsStayInOrderAndApart) {
  // The pipeline reads and checks the next batch while handle_batch runs. Each partition's
  // records must still reach the handler once each and in offset order, handle_batch must never
  // be entered twice, and flush (run by every commit, once a second) never beside it.
  const std::string prefix = wep_it::unique_prefix();
  auto dir = wep_it::temp_dir();
  const std::string out = (dir / "seen.txt").string();
  wep_it::Daemon daemon(wep_it::daemon_config(
      dir, prefix, recorder("rec", out, "      sleep_ms: 50\n", "    batch_size: 8\n")));
  std::set<std::string> published;
  for (int w = 0; w < 4; ++w)
    for (const auto& id : publish_keys(prefix, 200, "wallet-" + std::to_string(w)))
      published.insert(id);
  ASSERT_TRUE(wep_it::eventually([&] { return count_lines(out, " done") >= 800; },
                                 std::chrono::seconds(60)))
      << daemon.log();
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(std::chrono::seconds(20)), 0) << daemon.log();
  std::set<std::string> seen;
  std::map<std::string, long long> last_offset;  // "topic/partition" -> offset
  size_t partitions_out_of_order = 0;
  for (const auto& line : wep_it::read_lines(out)) {
    ASSERT_NE(line.rfind("OVERLAP", 0), 0u) << line;
    std::istringstream in(line);
    std::string id, type, topic, part, result;
    long long offset = 0;
    unsigned attempt = 0;
    in >> id >> type >> topic >> part >> offset >> attempt >> result;
    EXPECT_TRUE(seen.insert(id).second) << "delivered twice: " << line;
    auto [it, first] = last_offset.emplace(topic + "/" + part, offset);
    if (!first && offset <= it->second) ++partitions_out_of_order;
    it->second = offset;
  }
  EXPECT_EQ(partitions_out_of_order, 0u);
  EXPECT_EQ(seen, published);
  EXPECT_GE(last_offset.size(), 2u) << "the four wallets should span partitions";
}

// Lines of a recorder's file per "topic/partition".
std::map<std::string, size_t> lines_per_partition(const std::string& file) {
  std::map<std::string, size_t> out;
  for (const auto& line : wep_it::read_lines(file)) {
    std::istringstream in(line);
    std::string id, type, topic, part;
    in >> id >> type >> topic >> part;
    ++out[topic + "/" + part];
  }
  return out;
}

// The event ids of wep_it::publish_spread's events (one per wallet, spanning partitions).
std::set<std::string> publish_spread(const std::string& prefix, int wallets,
                                     const std::string& tag) {
  std::set<std::string> ids;
  for (const auto& md : wep_it::publish_spread(prefix, wallets, tag)) ids.insert(md.event_id);
  return ids;
}

TEST(Pipeline, ARebalanceDuringARetryBackoffNeitherKeepsRevokedRecordsNorDropsNewOnes) {
  // While a batch waits out a retry backoff the pipeline polls (paused) to stay in its group,
  // so a rebalance can happen right there. Records of partitions revoked then are the next
  // owner's: this member must not go on retrying them (nor commit their offsets). Partitions
  // assigned then are not paused, and what they deliver during the wait must be handled.
  const std::string prefix = wep_it::unique_prefix();
  auto dir_a = wep_it::temp_dir(), dir_b = wep_it::temp_dir();
  const std::string out_a = (dir_a / "seen.txt").string(), out_b = (dir_b / "seen.txt").string();
  const std::string retry =
      "    retry: {max_attempts: 10, initial_backoff_ms: 1000, max_backoff_ms: 1000}\n";
  wep_it::Daemon a(wep_it::daemon_config(
      dir_a, prefix, recorder("stubborn", out_a, "      retry_times: 4\n", retry)));
  auto first = publish_spread(prefix, 30, "first");
  ASSERT_TRUE(wep_it::eventually([&] { return lines_per_partition(out_a).size() == 3; }))
      << a.log();

  // b joins while a is retrying all three partitions' records, one backoff after another.
  auto b = std::make_unique<wep_it::Daemon>(wep_it::daemon_config(
      dir_b, prefix, recorder("stubborn", out_b, "      retry_times: 4\n", retry)));
  ASSERT_TRUE(wep_it::eventually([&] { return !lines_per_partition(out_b).empty(); },
                                 std::chrono::seconds(60)))
      << b->log();
  const auto b_parts = lines_per_partition(out_b);
  const auto a_then = lines_per_partition(out_a);
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));  // three more backoffs
  const auto a_now = lines_per_partition(out_a);
  for (const auto& [tp, n] : b_parts) {
    auto count = [&](const std::map<std::string, size_t>& m) {
      auto it = m.find(tp);
      return it == m.end() ? size_t{0} : it->second;
    };
    EXPECT_EQ(count(a_now), count(a_then)) << "a went on handling " << tp << ", now b's";
  }
  auto done = [&] {
    auto seen = wep_it::recorded_ids(out_a, "done");
    for (const auto& [id, n] : wep_it::recorded_ids(out_b, "done")) seen[id] += n;
    return seen;
  };
  auto all_done = [&](const std::set<std::string>& ids) {
    auto seen = done();
    for (const auto& id : ids)
      if (seen.count(id) == 0) return false;
    return true;
  };
  ASSERT_TRUE(wep_it::eventually([&] { return all_done(first); }, std::chrono::seconds(60)))
      << a.log() << b->log();

  // b leaves while both are retrying: a is given b's partition during a backoff.
  auto second = publish_spread(prefix, 30, "second");
  ASSERT_TRUE(wep_it::eventually([&] {
    auto retried = [&](const std::string& file) {
      for (const auto& [id, n] : wep_it::recorded_ids(file, "retry"))
        if (second.count(id)) return true;
      return false;
    };
    return retried(out_a) && retried(out_b);
  })) << a.log()
      << b->log();
  b->signal(SIGTERM);
  EXPECT_EQ(b->wait(std::chrono::seconds(20)), 0) << b->log();
  EXPECT_TRUE(wep_it::eventually([&] { return all_done(second); }, std::chrono::seconds(60)))
      << a.log();
  for (const auto& line : wep_it::read_lines(out_a)) EXPECT_NE(line.rfind("OVERLAP", 0), 0u);
  a.signal(SIGTERM);
  EXPECT_EQ(a.wait(std::chrono::seconds(20)), 0) << a.log();
}

// Name, nice value and CPU time used (user + system) of each thread of `pid`, from
// /proc/<pid>/task/<tid>/stat.
struct ThreadStat {
  std::string name;
  int nice;
  double cpu_seconds;
};
std::vector<ThreadStat> thread_stats(pid_t pid) {
  std::vector<ThreadStat> out;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    std::ifstream in(task.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));  // fields 3.. (state first)
    std::vector<std::string> f{std::istream_iterator<std::string>(rest), {}};
    if (f.size() < 17) continue;
    out.push_back({stat.substr(open + 1, close - open - 1), std::stoi(f[16]),  // field 19
                   (std::stod(f[11]) + std::stod(f[12])) / tick});             // fields 14, 15
  }
  return out;
}

TEST(Pipeline, TheValidatorRunsAtTheLowestPriorityAndInstancesAtTheNormalOne) {
  // Dead-lettering invalid records is off the handlers' path: the validator group's threads
  // (its pipeline and its librdkafka threads) run at nice 19, an instance's at the daemon's.
  const std::string prefix = wep_it::unique_prefix();
  auto dir = wep_it::temp_dir();
  const std::string out = (dir / "seen.txt").string();
  wep_it::Daemon daemon(wep_it::daemon_config(dir, prefix, recorder("rec", out)));
  wep_it::produce_raw(prefix + ".key.operations", "wallet-1", "{not json");
  publish_keys(prefix, 1);
  ASSERT_TRUE(wep_it::eventually([&] { return count_lines(out, " done") >= 1; })) << daemon.log();
  // The validator still works at its priority: the bad record reaches the DLQ.
  ASSERT_EQ(wep_it::read_topic(prefix + ".dlq", 1, std::chrono::seconds(30)).size(), 1u)
      << daemon.log();
  std::map<std::string, std::set<int>> nice;  // thread name -> nice values seen
  size_t low_librdkafka = 0, normal_librdkafka = 0;
  for (const auto& t : thread_stats(daemon.pid())) {
    nice[t.name].insert(t.nice);
    if (t.name.rfind("rdk:", 0) == 0) ++(t.nice == 19 ? low_librdkafka : normal_librdkafka);
  }
  EXPECT_EQ(nice["pipe:validator"], std::set<int>{19});
  EXPECT_EQ(nice["pipe:rec"], std::set<int>{0});
  EXPECT_EQ(nice["hdlr:rec"], std::set<int>{0});
  // The validator's consumer has a main thread and broker threads; the instance's, the DLQ
  // producer's and the admin client's stay at 0.
  EXPECT_GE(low_librdkafka, 2u);
  EXPECT_GE(normal_librdkafka, 2u);
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(std::chrono::seconds(20)), 0) << daemon.log();
}

TEST(Pipeline, AnIdlePipelineSleepsBetweenPollsEvenWithABatchTimeoutOfZero) {
  // batch_timeout_ms is how long a batch waits to fill once it has a record; 0 hands over what
  // has arrived. With nothing to read, the pipeline threads must still sleep, not spin.
  const std::string prefix = wep_it::unique_prefix();
  auto dir = wep_it::temp_dir();
  const std::string out = (dir / "seen.txt").string();
  const std::string config = wep_it::daemon_config(dir, prefix, recorder("rec", out));
  std::string yaml = wep_it::read_file(config);
  yaml.replace(yaml.find("batch_timeout_ms: 20"), 20, "batch_timeout_ms: 0");
  wep_it::write_file(dir, "wallet-eventd.yaml", yaml);
  wep_it::Daemon daemon(config);
  publish_keys(prefix, 1);
  ASSERT_TRUE(wep_it::eventually([&] { return count_lines(out, " done") >= 1; })) << daemon.log();
  auto pipe_cpu = [&] {
    double seconds = 0;
    for (const auto& t : thread_stats(daemon.pid()))
      if (t.name.rfind("pipe:", 0) == 0) seconds += t.cpu_seconds;
    return seconds;
  };
  const double before = pipe_cpu();
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const double used = pipe_cpu() - before;
  // Two pipeline threads (rec, validator) spinning would use about 3 s each.
  EXPECT_LT(used, 0.3) << "the idle pipeline threads used " << used << " s of CPU in 3 s";
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(std::chrono::seconds(20)), 0) << daemon.log();
}

TEST(Pipeline, AHandlerThatBlocksPastItsTimeoutIsDeadLettered) {
  const std::string prefix = wep_it::unique_prefix();
  auto dir = wep_it::temp_dir();
  const std::string out = (dir / "seen.txt").string();
  wep_it::Daemon daemon(
      wep_it::daemon_config(dir, prefix,
                            recorder("sleepy", out, "      sleep_ms: 3000\n",
                                     "    batch_size: 1\n    handler_timeout_ms: 500\n")));
  publish_keys(prefix, 1);
  auto dlq = wep_it::read_topic(prefix + ".dlq", 1, std::chrono::seconds(30));
  ASSERT_EQ(dlq.size(), 1u) << daemon.log();
  EXPECT_EQ(*header(dlq[0], "dlq.error.code"), "handler_timeout");
  EXPECT_EQ(*header(dlq[0], "dlq.instance"), "sleepy");
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(std::chrono::seconds(20)), 0) << daemon.log();
}

// The offsets `group` has committed on partitions 0..2 of `topic` (RD_KAFKA_OFFSET_INVALID:
// none), as Kafka holds them.
std::vector<int64_t> committed_offsets(const std::string& group, const std::string& topic) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  EXPECT_EQ(
      rd_kafka_conf_set(conf, "bootstrap.servers", wep_it::bootstrap().c_str(), err, sizeof err),
      RD_KAFKA_CONF_OK);
  EXPECT_EQ(rd_kafka_conf_set(conf, "group.id", group.c_str(), err, sizeof err), RD_KAFKA_CONF_OK);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  EXPECT_NE(rk, nullptr) << err;
  if (rk == nullptr) return {};
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(3);
  for (int32_t p = 0; p < 3; ++p) rd_kafka_topic_partition_list_add(parts, topic.c_str(), p);
  std::vector<int64_t> out;
  rd_kafka_resp_err_t e = rd_kafka_committed(rk, parts, 15000);
  EXPECT_EQ(e, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(e);
  for (int i = 0; i < parts->cnt; ++i) out.push_back(parts->elems[i].offset);
  rd_kafka_topic_partition_list_destroy(parts);
  rd_kafka_destroy(rk);
  return out;
}

// An instance reads only the topics its event types are published to (before, every instance
// read all six and skipped what it did not handle), and so an event on another type's topic is
// invalid: the validator dead-letters it once (wrong_topic) and no instance is handed it.
TEST(Pipeline, AnInstanceReadsOnlyItsTypesTopicsAndAStrayEventIsDeadLettered) {
  const std::string prefix = wep_it::unique_prefix();
  auto dir = wep_it::temp_dir();
  const std::string all_out = (dir / "all.txt").string();
  const std::string keys_out = (dir / "keys.txt").string();
  wep_it::Daemon daemon(wep_it::daemon_config(
      dir, prefix,
      recorder("all", all_out) + recorder("keys", keys_out, "", "    events: [KeyCreated]\n")));
  const KeyCreated stray = key_event("wallet-9", 99);
  const std::string stray_json = encode_event(stray);
  wep_it::produce_raw(prefix + ".credential.storage", "wallet-9", stray_json);
  auto key_ids = publish_keys(prefix, 2);
  CredentialStored stored;
  stored.metadata = EventMetadata::create("corr-stored", "wallet-2");
  stored.credential_id = "cred-1";
  stored.credential_type = "PID";
  stored.issuer = "https://issuer.example";
  auto publisher = Publisher::create(wep_it::client_config(prefix));
  ASSERT_TRUE(publisher.ok());
  ASSERT_TRUE(publisher.value()->publish(stored).ok());

  ASSERT_TRUE(wep_it::eventually([&] {
    return count_lines(all_out, " done") >= 3 && count_lines(keys_out, " done") >= 2;
  })) << daemon.log();
  auto dlq = wep_it::read_topic(prefix + ".dlq", 1, std::chrono::seconds(30));
  ASSERT_EQ(dlq.size(), 1u) << daemon.log();
  EXPECT_EQ(dlq[0].value, stray_json);
  EXPECT_EQ(*header(dlq[0], "dlq.original.topic"), prefix + ".credential.storage");
  EXPECT_EQ(*header(dlq[0], "dlq.stage"), "decode");
  EXPECT_EQ(*header(dlq[0], "dlq.error.code"), "wrong_topic");
  EXPECT_EQ(*header(dlq[0], "dlq.error"),
            "KeyCreated belongs on topic " + prefix + ".key.operations");
  daemon.signal(SIGTERM);
  ASSERT_EQ(daemon.wait(std::chrono::seconds(20)), 0) << daemon.log();
  EXPECT_EQ(wep_it::read_topic(prefix + ".dlq", 2, std::chrono::seconds(3)).size(), 1u);

  const auto all_ids = wep_it::recorded_ids(all_out, "done");
  const auto keys_seen = wep_it::recorded_ids(keys_out, "done");
  EXPECT_EQ(all_ids.size(), 3u);
  EXPECT_EQ(all_ids.count(stored.metadata.event_id), 1u);
  EXPECT_EQ(keys_seen.size(), 2u);
  for (const auto& id : key_ids) {
    EXPECT_EQ(all_ids.count(id), 1u) << id;
    EXPECT_EQ(keys_seen.count(id), 1u) << id;
  }
  EXPECT_EQ(all_ids.count(stray.metadata.event_id), 0u);
  EXPECT_EQ(keys_seen.count(stray.metadata.event_id), 0u);
  EXPECT_NE(
      daemon.log().find("consuming " + prefix + ".key.operations as group " + prefix + ".keys"),
      std::string::npos)
      << daemon.log();

  // Kafka's view: "keys" has progress on key.operations and none on the credential topic,
  // which "all" read past (the stray event and the stored one).
  auto has_offset = [](const std::vector<int64_t>& offsets) {
    return std::any_of(offsets.begin(), offsets.end(), [](int64_t o) { return o > 0; });
  };
  EXPECT_TRUE(has_offset(committed_offsets(prefix + ".keys", prefix + ".key.operations")));
  for (int64_t o : committed_offsets(prefix + ".keys", prefix + ".credential.storage"))
    EXPECT_EQ(o, RD_KAFKA_OFFSET_INVALID);
  EXPECT_TRUE(has_offset(committed_offsets(prefix + ".all", prefix + ".credential.storage")));
}

}  // namespace
