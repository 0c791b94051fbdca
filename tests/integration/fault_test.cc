// Delivery guarantees under faults, against the real broker. Each test prints its figures:
// published, handled, lost, duplicated, dead-lettered.
//   - kill -9 of the daemon at random moments while 50,000 events are published;
//   - the broker stopped for 10 s mid-run (readiness follows it, nothing lost);
//   - SIGTERM under load (in-flight batches finish, offsets committed, exit 0 in the deadline);
//   - SIGHUP reloads (enable, disable, change an instance; a bad file is refused);
//   - misbehaving plugins (retry forever, fail every 100th, block past the timeout);
//   - two daemons in one group, one killed: the other takes over.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "support.h"
#include "wallet_eventd/client.h"

namespace {

using namespace wallet_eventd;
namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

std::string recorder(const std::string& name, const std::string& output,
                     const std::string& config = "", const std::string& extra = "") {
  return "  - name: " + name + "\n    path: " WEP_BINARY_DIR "/test-plugins/recorder.so\n" + extra +
         "    config:\n      output: " + output + "\n" + config;
}

std::string audit(const fs::path& dir, const std::string& config = "") {
  return "  - name: audit\n    path: audit\n    config:\n      directory: " + dir.string() + "\n" +
         config;
}

// Rewrites `text` for `from` with `to` in the YAML file at `path` (which must contain it).
void edit(const std::string& path, const std::string& from, const std::string& to) {
  std::string yaml = wep_it::read_file(path);
  auto at = yaml.find(from);
  ASSERT_NE(at, std::string::npos) << from << " not in " << path;
  yaml.replace(at, from.size(), to);
  fs::path p(path);
  wep_it::write_file(p.parent_path(), p.filename().string(), yaml);
}

// Static group membership and a short session: a restarted daemon takes its partitions back at
// once, and a dead one is noticed within seconds.
void fast_group(const std::string& config, const std::string& member) {
  edit(config, "\"\ntopics:",
       "\"\n  consumer_properties:\n    group.instance.id: \"" + member +
           "\"\n    session.timeout.ms: \"6000\"\ntopics:");
}

std::string event_for(int i, std::string* id) {
  EventMetadata md =
      EventMetadata::create("corr-" + std::to_string(i), "wallet-" + std::to_string(i % 97));
  *id = md.event_id;
  switch (i % 3) {
    case 0: {
      KeyCreated e;
      e.metadata = md;
      e.key_id = "key-" + std::to_string(i);
      e.kid = "kid-" + std::to_string(i);
      e.key_type = "EC P-256";
      return encode_event(WalletEvent(e));
    }
    case 1: {
      CredentialStored e;
      e.metadata = md;
      e.credential_id = "cred-" + std::to_string(i);
      e.credential_type = "PID";
      e.issuer = "https://issuer.example";
      return encode_event(WalletEvent(e));
    }
    default: {
      KeyRevoked e;
      e.metadata = md;
      e.key_id = "key-" + std::to_string(i);
      e.kid = "kid-" + std::to_string(i);
      e.revocation_reason = "rotation";
      return encode_event(WalletEvent(e));
    }
  }
}

// Publishes `count` events at about `rate` per second from its own thread; every id that the
// broker acknowledged ends up in acked().
class Load {
 public:
  Load(const std::string& prefix, int count, int rate, seconds timeout = seconds(30)) {
    thread_ = std::thread([this, prefix, count, rate, timeout] {
      ClientConfig cc = wep_it::client_config(prefix);
      cc.timeout = timeout;
      auto publisher = Publisher::create(cc);
      if (!publisher.ok()) {
        failed_ = count;
        return;
      }
      const auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < count; ++i) {
        std::string id;
        std::string json = event_for(i, &id);
        auto decoded = decode_event(json);
        Status s =
            publisher.value()->publish_async(decoded.value(), json, [this, id](const Status& st) {
              std::lock_guard<std::mutex> lock(mu_);
              if (st.ok()) {
                acked_.insert(id);
              } else {
                ++failed_;
                if (first_error_.empty()) first_error_ = st.message();
              }
            });
        if (!s.ok()) {
          std::lock_guard<std::mutex> lock(mu_);
          ++failed_;
          if (first_error_.empty()) first_error_ = s.message();
        }
        if (rate > 0 && i % 100 == 99)
          std::this_thread::sleep_until(start + milliseconds(int64_t{1000} * (i + 1) / rate));
      }
      (void)publisher.value()->flush(timeout + seconds(60));
      done_ = true;
    });
  }
  ~Load() { join(); }
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  bool done() const { return done_; }
  std::set<std::string> acked() {
    std::lock_guard<std::mutex> lock(mu_);
    return acked_;
  }
  size_t failed() {
    std::lock_guard<std::mutex> lock(mu_);
    return failed_;
  }
  std::string first_error() {
    std::lock_guard<std::mutex> lock(mu_);
    return first_error_;
  }

 private:
  std::thread thread_;
  std::atomic<bool> done_{false};
  std::mutex mu_;
  std::set<std::string> acked_;
  size_t failed_ = 0;
  std::string first_error_;
};

struct Tally {
  size_t handled = 0, lost = 0, duplicated = 0;
};
Tally tally(const std::set<std::string>& published, const std::map<std::string, int>& seen) {
  Tally t;
  for (const auto& id : published) {
    auto it = seen.find(id);
    if (it == seen.end()) {
      ++t.lost;
    } else {
      ++t.handled;
      if (it->second > 1) ++t.duplicated;
    }
  }
  return t;
}

void report(const char* test, const char* who, size_t published, const Tally& t,
            size_t dead_lettered = 0) {
  std::fprintf(stderr,
               "[figures] %s %s: published %zu, handled %zu, lost %zu, duplicated %zu, "
               "dead-lettered %zu\n",
               test, who, published, t.handled, t.lost, t.duplicated, dead_lettered);
}

std::string broker_script() { return WEP_SOURCE_DIR "/tests/kafka/broker.sh"; }
std::string broker_port() {
  std::string b = wep_it::bootstrap();
  return b.substr(b.rfind(':') + 1);
}

TEST(Fault, KillNineFiveTimesWhileFiftyThousandEventsArePublished) {
  const std::string prefix = wep_it::unique_prefix();
  auto dir = wep_it::temp_dir();
  const fs::path audit_dir = dir / "audit";
  const std::string counter = (dir / "counter.txt").string();
  const std::string config =
      wep_it::daemon_config(dir, prefix, audit(audit_dir) + recorder("counter", counter));
  fast_group(config, "fault-kill");
  constexpr int kEvents = 50000;
  auto daemon = std::make_unique<wep_it::Daemon>(config);
  Load load(prefix, kEvents, 4000);
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> pause_ms(800, 2600);
  for (int kill = 1; kill <= 5; ++kill) {
    std::this_thread::sleep_for(milliseconds(pause_ms(rng)));
    daemon->signal(SIGKILL);
    daemon->wait(seconds(10));
    std::fprintf(stderr, "kill -9 #%d after %zu acknowledged\n", kill, load.acked().size());
    daemon = std::make_unique<wep_it::Daemon>(config);
  }
  load.join();
  auto published = load.acked();
  ASSERT_EQ(load.failed(), 0u) << load.first_error();
  ASSERT_EQ(published.size(), static_cast<size_t>(kEvents));
  bool complete = wep_it::eventually(
      [&] {
        return wep_it::audited_ids(audit_dir).size() >= published.size() &&
               wep_it::recorded_ids(counter).size() >= published.size();
      },
      seconds(240));
  auto audit_seen = wep_it::audited_ids(audit_dir);
  auto counter_seen = wep_it::recorded_ids(counter);
  Tally a = tally(published, audit_seen), c = tally(published, counter_seen);
  report("kill-9", "audit", published.size(), a);
  report("kill-9", "counter", published.size(), c);
  ASSERT_TRUE(complete) << daemon->log();
  EXPECT_EQ(a.lost, 0u);
  EXPECT_EQ(a.duplicated, 0u) << "the audit log must hold every event exactly once";
  EXPECT_EQ(audit_seen.size(), published.size());
  EXPECT_EQ(c.lost, 0u) << "at-least-once: the counter must have seen every event";
  auto verify = wep_it::run_command({WEP_DAEMON, "audit", "verify", audit_dir.string()});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait(seconds(20)), 0) << daemon->log();
}

TEST(Fault, BrokerStoppedForTenSecondsMidRun) {
  const std::string prefix = wep_it::unique_prefix();
  auto dir = wep_it::temp_dir();
  const std::string out = (dir / "seen.txt").string();
  const int admin_port = wep_it::free_port();
  const auto readyz = [&] { return wep_it::http_get(admin_port, "/readyz").status; };
  const std::string config = wep_it::daemon_config(dir, prefix, recorder("rec", out));
  edit(config, "listen: \"127.0.0.1:0\"",
       "listen: \"127.0.0.1:" + std::to_string(admin_port) + "\"");
  wep_it::Daemon daemon(config);
  ASSERT_TRUE(wep_it::eventually([&] { return readyz() == 200; })) << daemon.log();

  constexpr int kEvents = 3000;
  Load load(prefix, kEvents, 150, seconds(180));  // ~20 s of traffic, riding out the outage
  std::this_thread::sleep_for(seconds(4));
  auto stop = wep_it::run_command({broker_script(), "stop", "--port", broker_port()});
  ASSERT_EQ(stop.exit_code, 0) << stop.err;
  const auto stopped_at = std::chrono::steady_clock::now();
  bool saw_not_ready = wep_it::eventually([&] { return readyz() == 503; }, seconds(9));
  std::this_thread::sleep_until(stopped_at + seconds(10));
  auto start = wep_it::run_command({broker_script(), "start", "--port", broker_port()});
  ASSERT_EQ(start.exit_code, 0) << start.err;
  std::fprintf(stderr, "broker down for %lld ms\n",
               static_cast<long long>(std::chrono::duration_cast<milliseconds>(
                                          std::chrono::steady_clock::now() - stopped_at)
                                          .count()));
  EXPECT_TRUE(saw_not_ready) << "/readyz stayed ready while the broker was down";
  EXPECT_TRUE(wep_it::eventually([&] { return readyz() == 200; }, seconds(60)))
      << "the daemon did not become ready again by itself\n"
      << daemon.log();
  load.join();
  auto published = load.acked();
  EXPECT_EQ(load.failed(), 0u) << load.first_error();
  wep_it::eventually([&] { return wep_it::recorded_ids(out).size() >= published.size(); },
                     seconds(90));
  Tally t = tally(published, wep_it::recorded_ids(out));
  report("broker-outage", "rec", published.size(), t);
  EXPECT_EQ(published.size(), static_cast<size_t>(kEvents));
  EXPECT_EQ(t.lost, 0u) << daemon.log();
  EXPECT_NE(daemon.log().find("unreachable"), std::string::npos);
  EXPECT_NE(daemon.log().find("reachable again"), std::string::npos);
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(seconds(20)), 0) << daemon.log();
}

TEST(Fault, SigtermUnderLoadFinishesInFlightBatchesAndCommits) {
  const std::string prefix = wep_it::unique_prefix();
  auto dir = wep_it::temp_dir();
  const std::string out = (dir / "seen.txt").string();
  // Slow batches: SIGTERM always lands while one is in flight.
  const std::string config =
      wep_it::daemon_config(dir, prefix, recorder("rec", out, "      sleep_ms: 300\n"));
  fast_group(config, "fault-term");
  constexpr int kEvents = 4000;
  std::set<std::string> published;
  {
    Load load(prefix, kEvents, 0);
    load.join();
    published = load.acked();
    ASSERT_EQ(published.size(), static_cast<size_t>(kEvents)) << load.first_error();
  }
  wep_it::Daemon first(config);
  ASSERT_TRUE(
      wep_it::eventually([&] { return wep_it::recorded_ids(out).size() >= 500; }, seconds(60)))
      << first.log();
  const auto t0 = std::chrono::steady_clock::now();
  first.signal(SIGTERM);
  const int rc = first.wait(seconds(15));
  const auto took = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - t0);
  const size_t before_restart = wep_it::recorded_ids(out).size();
  std::fprintf(stderr, "SIGTERM: exit %d after %lld ms with %zu handled\n", rc,
               static_cast<long long>(took.count()), before_restart);
  EXPECT_EQ(rc, 0) << first.log();
  EXPECT_LT(took, seconds(10)) << "the default shutdown deadline is 10 s";
  // The restarted daemon starts exactly where the first one committed: no event twice.
  wep_it::Daemon second(config);
  ASSERT_TRUE(wep_it::eventually(
      [&] { return wep_it::recorded_ids(out).size() >= published.size(); }, seconds(120)))
      << second.log();
  std::this_thread::sleep_for(seconds(1));
  Tally t = tally(published, wep_it::recorded_ids(out));
  report("sigterm", "rec", published.size(), t);
  EXPECT_EQ(t.lost, 0u);
  EXPECT_EQ(t.duplicated, 0u) << "offsets of finished batches were not committed at SIGTERM";
  second.signal(SIGTERM);
  EXPECT_EQ(second.wait(seconds(20)), 0) << second.log();
}

TEST(Fault, SigtermWithAStuckHandlerStillExitsByTheDeadline) {
  const std::string prefix = wep_it::unique_prefix();
  auto dir = wep_it::temp_dir();
  const std::string out = (dir / "seen.txt").string();
  const std::string config =
      wep_it::daemon_config(dir, prefix, recorder("stuck", out, "      sleep_ms: 60000\n"));
  edit(config, "shutdown_timeout_ms: 10000", "shutdown_timeout_ms: 2000");
  Load load(prefix, 10, 0);
  load.join();
  wep_it::Daemon daemon(config);
  std::this_thread::sleep_for(seconds(4));  // the handler is now asleep inside its batch
  const auto t0 = std::chrono::steady_clock::now();
  daemon.signal(SIGTERM);
  const int rc = daemon.wait(seconds(10));
  const auto took = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - t0);
  std::fprintf(stderr, "stuck handler: exit %d after %lld ms (deadline 2000 ms)\n", rc,
               static_cast<long long>(took.count()));
  EXPECT_EQ(rc, 1) << daemon.log();
  EXPECT_LT(took, milliseconds(3500));
  EXPECT_NE(daemon.log().find("shutdown took longer than shutdown_timeout_ms (2000 ms)"),
            std::string::npos)
      << daemon.log();
}

TEST(Fault, SighupReloadsInstancesWithoutLosingOrDuplicatingAuditRecords) {
  const std::string prefix = wep_it::unique_prefix();
  auto dir = wep_it::temp_dir();
  const fs::path audit_dir = dir / "audit";
  const std::string r1 = (dir / "r1.txt").string(), r2 = (dir / "r2.txt").string();
  const std::string config = wep_it::daemon_config(
      dir, prefix,
      audit(audit_dir) + recorder("r1", r1) + recorder("r2", r2, "", "    enabled: false\n"));
  const std::string yaml_a = wep_it::read_file(config);
  wep_it::Daemon daemon(config);
  std::set<std::string> published;
  auto publish = [&](int n) {
    Load load(prefix, n, 0);
    load.join();
    auto acked = load.acked();
    published.insert(acked.begin(), acked.end());
    return acked;
  };
  auto first = publish(300);
  // r1 is disabled next and must have handled these first: each instance reads in its own
  // group, and r1's may join after audit's has read everything.
  ASSERT_TRUE(wep_it::eventually([&] {
    return wep_it::audited_ids(audit_dir).size() >= 300 && wep_it::recorded_ids(r1).size() >= 300;
  })) << daemon.log();

  // B: r1 disabled, r2 enabled, audit's config changed (one more field stored as a digest).
  std::string yaml_b = yaml_a;
  yaml_b.replace(yaml_b.find("    enabled: false\n"), 19, "");
  yaml_b.replace(yaml_b.find("  - name: r1\n"), 13, "  - name: r1\n    enabled: false\n");
  yaml_b.replace(yaml_b.find("      directory: "), 0, "      extra_sensitive_fields: [kid]\n");
  wep_it::write_file(dir, "wallet-eventd.yaml", yaml_b);
  daemon.signal(SIGHUP);
  ASSERT_TRUE(wep_it::eventually(
      [&] {
        const std::string log = daemon.log();
        return log.find("reload: started instance audit") != std::string::npos &&
               log.find("reload: started instance r2") != std::string::npos &&
               log.find("reload: stopping instance r1 (removed or disabled)") != std::string::npos;
      },
      seconds(30)))
      << daemon.log();
  auto second = publish(300);
  ASSERT_TRUE(wep_it::eventually(
      [&] {
        return wep_it::audited_ids(audit_dir).size() >= 600 &&
               wep_it::recorded_ids(r2).size() >= 600;
      },
      seconds(60)))
      << daemon.log();

  // C: not YAML at all. Refused, logged, and the running set keeps going.
  wep_it::write_file(dir, "wallet-eventd.yaml", yaml_b + "plugins: [unclosed\n");
  const size_t log_before = daemon.log().size();
  daemon.signal(SIGHUP);
  ASSERT_TRUE(wep_it::eventually(
      [&] {
        return daemon.log().substr(log_before).find("wallet-eventd.yaml:") != std::string::npos;
      },
      seconds(20)))
      << daemon.log();
  EXPECT_NE(daemon.log().find("reload refused; the running configuration stays"),
            std::string::npos);
  auto third = publish(300);
  ASSERT_TRUE(wep_it::eventually(
      [&] {
        return wep_it::audited_ids(audit_dir).size() >= 900 &&
               wep_it::recorded_ids(r2).size() >= 900;
      },
      seconds(60)))
      << daemon.log();

  // D: valid YAML, but a config the audit plugin itself refuses: audit keeps its previous one.
  std::string yaml_d = yaml_b;
  yaml_d.replace(yaml_d.find("      directory: "), 0, "      max_file_bytes: -1\n");
  wep_it::write_file(dir, "wallet-eventd.yaml", yaml_d);
  daemon.signal(SIGHUP);
  ASSERT_TRUE(wep_it::eventually(
      [&] {
        return daemon.log().find("reload: instance audit keeps its previous config") !=
               std::string::npos;
      },
      seconds(30)))
      << daemon.log();
  auto fourth = publish(300);
  ASSERT_TRUE(wep_it::eventually(
      [&] {
        return wep_it::audited_ids(audit_dir).size() >= 1200 &&
               wep_it::recorded_ids(r2).size() >= 1200;
      },
      seconds(60)))
      << daemon.log();
  EXPECT_TRUE(daemon.running());
  std::this_thread::sleep_for(seconds(1));

  Tally a = tally(published, wep_it::audited_ids(audit_dir));
  report("sighup", "audit", published.size(), a);
  EXPECT_EQ(a.lost, 0u);
  EXPECT_EQ(a.duplicated, 0u);
  auto r1_seen = wep_it::recorded_ids(r1);
  for (const auto& id : first) EXPECT_EQ(r1_seen.count(id), 1u) << "r1 missed " << id;
  for (const auto& id : third)
    EXPECT_EQ(r1_seen.count(id), 0u) << "disabled r1 still handled " << id;
  for (const auto& id : fourth)
    EXPECT_EQ(r1_seen.count(id), 0u) << "disabled r1 still handled " << id;
  Tally t2 = tally(published, wep_it::recorded_ids(r2));
  report("sighup", "r2 (enabled by reload, reads from the start)", published.size(), t2);
  EXPECT_EQ(t2.lost, 0u);
  // The audit config change took effect for the second and third thirds: kid is a digest.
  size_t digested = 0, clear = 0;
  for (const auto& entry : fs::directory_iterator(audit_dir)) {
    if (entry.path().extension() != ".jsonl") continue;
    for (const auto& line : wep_it::read_lines(entry.path().string())) {
      auto j = nlohmann::json::parse(line);
      if (j["event_type"] != "KeyCreated") continue;
      const std::string id = j["event_id"];
      if (!second.count(id) && !third.count(id) && !fourth.count(id)) continue;
      (j["payload"]["kid"].is_object() ? digested : clear)++;
    }
  }
  EXPECT_GT(digested, 0u);
  EXPECT_EQ(clear, 0u) << "the reloaded audit config was not applied";
  auto verify = wep_it::run_command({WEP_DAEMON, "audit", "verify", audit_dir.string()});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(seconds(20)), 0) << daemon.log();
}

TEST(Fault, MisbehavingPluginsPutExactlyTheRightRecordsInTheDlq) {
  const std::string prefix = wep_it::unique_prefix();
  auto dir = wep_it::temp_dir();
  const std::string healthy = (dir / "healthy.txt").string();
  const std::string stubborn = (dir / "stubborn.txt").string();
  const std::string flaky = (dir / "flaky.txt").string();
  const std::string blocker = (dir / "blocker.txt").string();
  const std::string config = wep_it::daemon_config(
      dir, prefix,
      recorder("healthy", healthy) +
          recorder("stubborn", stubborn, "      retry_times: -1\n",
                   "    events: [KeyRevoked]\n"
                   "    retry: {max_attempts: 3, initial_backoff_ms: 10, max_backoff_ms: 40}\n") +
          recorder("flaky", flaky, "      fail_every: 100\n") +
          recorder("blocker", blocker, "      sleep_ms: 1500\n",
                   "    events: [CredentialStored]\n    handler_timeout_ms: 300\n"));
  std::set<std::string> published;
  std::set<std::string> revoked, stored;
  {
    auto publisher = Publisher::create(wep_it::client_config(prefix));
    ASSERT_TRUE(publisher.ok());
    // 1000 KeyCreated, 30 KeyRevoked, 12 CredentialStored.
    for (int i = 0; i < 1042; ++i) {
      std::string id;
      int kind = i < 1000 ? 0 : (i < 1030 ? 2 : 1);
      std::string json = event_for(kind + 3 * i, &id);
      auto decoded = decode_event(json);
      ASSERT_TRUE(decoded.ok());
      ASSERT_TRUE(publisher.value()->publish_json(decoded.value(), json).ok());
      published.insert(id);
      if (kind == 2) revoked.insert(id);
      if (kind == 1) stored.insert(id);
    }
  }
  wep_it::Daemon daemon(config);
  ASSERT_TRUE(wep_it::eventually(
      [&] { return wep_it::recorded_ids(healthy).size() >= published.size(); }, seconds(60)))
      << daemon.log();
  const size_t want = revoked.size() + stored.size() + published.size() / 100;
  std::vector<Record> dlq;
  wep_it::eventually(
      [&] {
        dlq = wep_it::read_topic(prefix + ".dlq", want + 1, seconds(3));
        return dlq.size() >= want;
      },
      seconds(90));
  std::this_thread::sleep_for(seconds(2));
  dlq = wep_it::read_topic(prefix + ".dlq", want + 1, seconds(3));
  std::map<std::string, std::set<std::string>> by_instance;
  std::map<std::string, std::string> codes;
  for (const auto& r : dlq) {
    auto decoded = decode_event(r.value);
    ASSERT_TRUE(decoded.ok());
    const std::string inst = *r.header("dlq.instance");
    by_instance[inst].insert(metadata_of(decoded.value()).event_id);
    codes[inst] = *r.header("dlq.error.code");
  }
  std::fprintf(stderr,
               "[figures] misbehaving: published %zu, healthy handled %zu, dead-lettered %zu "
               "(stubborn %zu, flaky %zu, blocker %zu)\n",
               published.size(), wep_it::recorded_ids(healthy).size(), dlq.size(),
               by_instance["stubborn"].size(), by_instance["flaky"].size(),
               by_instance["blocker"].size());
  EXPECT_EQ(dlq.size(), want);
  EXPECT_EQ(by_instance["stubborn"], revoked);
  EXPECT_EQ(codes["stubborn"], "retries_exhausted");
  EXPECT_EQ(by_instance["blocker"], stored);
  EXPECT_EQ(codes["blocker"], "handler_timeout");
  std::set<std::string> flaky_failed;
  for (const auto& [id, n] : wep_it::recorded_ids(flaky, "failed")) flaky_failed.insert(id);
  EXPECT_EQ(by_instance["flaky"], flaky_failed);
  EXPECT_EQ(flaky_failed.size(), published.size() / 100);
  EXPECT_EQ(codes["flaky"], "failed");
  EXPECT_EQ(by_instance.count("healthy"), 0u);
  Tally t = tally(published, wep_it::recorded_ids(healthy));
  EXPECT_EQ(t.lost, 0u);
  EXPECT_EQ(t.duplicated, 0u) << "the healthy instance was disturbed by the others";
  daemon.signal(SIGTERM);
  daemon.wait(seconds(20));
}

TEST(Fault, TwoDaemonsShareTheGroupAndTheSurvivorTakesOver) {
  const std::string prefix = wep_it::unique_prefix();
  auto dir = wep_it::temp_dir();
  const std::string out_a = (dir / "a.txt").string(), out_b = (dir / "b.txt").string();
  auto dir_a = dir / "a", dir_b = dir / "b";
  fs::create_directories(dir_a);
  fs::create_directories(dir_b);
  const std::string config_a = wep_it::daemon_config(dir_a, prefix, recorder("rec", out_a));
  const std::string config_b = wep_it::daemon_config(dir_b, prefix, recorder("rec", out_b));
  fast_group(config_a, "scale-a");
  fast_group(config_b, "scale-b");
  wep_it::Daemon a(config_a);
  wep_it::Daemon b(config_b);
  Load load(prefix, 6000, 600);  // ~10 s
  ASSERT_TRUE(wep_it::eventually(
      [&] {
        return wep_it::recorded_ids(out_a).size() > 100 && wep_it::recorded_ids(out_b).size() > 100;
      },
      seconds(60)))
      << "both daemons should get partitions\n"
      << a.log() << b.log();
  // Partitions named by the lines of `file` from line `from` on.
  auto partitions = [](const std::string& file, size_t from = 0) {
    std::set<std::string> tps;
    auto lines = wep_it::read_lines(file);
    for (size_t i = from; i < lines.size(); ++i) {
      std::istringstream in(lines[i]);
      std::string id, type, topic, part;
      in >> id >> type >> topic >> part;
      tps.insert(topic + "/" + part);
    }
    return tps;
  };
  // b may already have handled every partition before the kill (the first daemon to join
  // holds them all until the second one's join rebalances the group), so the takeover is
  // judged on what b handles after the kill: it must include every partition a was reading.
  a.signal(SIGKILL);
  a.wait(seconds(10));
  const auto pa = partitions(out_a);
  const size_t b_lines_at_kill = wep_it::read_lines(out_b).size();
  const size_t a_handled = wep_it::recorded_ids(out_a).size();
  load.join();
  auto published = load.acked();
  ASSERT_EQ(published.size(), 6000u) << load.first_error();
  auto union_seen = [&] {
    auto seen = wep_it::recorded_ids(out_a);
    for (const auto& [id, n] : wep_it::recorded_ids(out_b)) seen[id] += n;
    return seen;
  };
  bool complete =
      wep_it::eventually([&] { return tally(published, union_seen()).lost == 0; }, seconds(90));
  Tally t = tally(published, union_seen());
  std::fprintf(stderr, "[figures] scale-out: a handled %zu before kill -9, b %zu in total\n",
               a_handled, wep_it::recorded_ids(out_b).size());
  report("scale-out", "a+b", published.size(), t);
  EXPECT_TRUE(complete) << b.log();
  EXPECT_EQ(t.lost, 0u);
  const auto pb_after = partitions(out_b, b_lines_at_kill);
  for (const auto& tp : pa)
    EXPECT_TRUE(pb_after.count(tp)) << "b did not take over " << tp << " from a";
  b.signal(SIGTERM);
  EXPECT_EQ(b.wait(seconds(20)), 0) << b.log();
}

}  // namespace
