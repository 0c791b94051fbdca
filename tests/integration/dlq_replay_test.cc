// `wallet-eventd dlq replay` against the real broker: a broken handler is fixed, its dead
// letters are re-driven to it alone, and its record becomes complete without duplicating
// anything in the other instances; replays are bounded and filters select what is re-driven.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "support.h"
#include "wallet_eventd/client.h"

namespace {

using namespace wallet_eventd;
namespace fs = std::filesystem;

std::string recorder(const std::string& name, const std::string& output,
                     const std::string& extra_config = "") {
  return "  - name: " + name + "\n    path: " WEP_BINARY_DIR "/test-plugins/recorder.so\n" +
         "    retry: {max_attempts: 2, initial_backoff_ms: 10, max_backoff_ms: 20}\n" +
         "    config:\n      output: " + output + "\n" + extra_config;
}

std::vector<std::string> publish_keys(const std::string& prefix, int count) {
  auto publisher = Publisher::create(wep_it::client_config(prefix));
  EXPECT_TRUE(publisher.ok());
  std::vector<std::string> ids;
  for (int i = 0; i < count; ++i) {
    KeyCreated e;
    e.metadata =
        EventMetadata::create("corr-" + std::to_string(i), "wallet-" + std::to_string(i % 17));
    e.key_id = "key-" + std::to_string(i);
    e.kid = "kid-" + std::to_string(i);
    e.key_type = "EC P-256";
    ids.push_back(e.metadata.event_id);
    Status s = publisher.value()->publish(e);
    EXPECT_TRUE(s.ok()) << s.message();
  }
  return ids;
}

size_t count_instance(const std::vector<Record>& records, const std::string& instance) {
  size_t n = 0;
  for (const auto& r : records)
    if (const std::string* h = r.header("dlq.instance"); h != nullptr && *h == instance) ++n;
  return n;
}

// A small tmpfs, so that the audit volume can really fill up and then be grown.
class SmallVolume {
 public:
  explicit SmallVolume(const fs::path& where) : where_(where) {
    fs::create_directories(where_);
    mounted_ = ::mount("tmpfs", where_.c_str(), "tmpfs", 0, "size=48k,mode=0700") == 0;
  }
  ~SmallVolume() {
    if (mounted_) ::umount2(where_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  bool grow() {
    return ::mount("tmpfs", where_.c_str(), "tmpfs", MS_REMOUNT, "size=16m,mode=0700") == 0;
  }

 private:
  fs::path where_;
  bool mounted_ = false;
};

std::vector<std::string> replay(const std::string& config, std::vector<std::string> args,
                                int* exit_code, std::string* err = nullptr) {
  std::vector<std::string> argv = {WEP_DAEMON, "dlq", "replay", "--config", config};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = wep_it::run_command(argv, "", std::chrono::seconds(120));
  *exit_code = r.exit_code;
  if (err != nullptr) *err = r.err;
  std::fprintf(
      stderr, "$ dlq replay %s\n%s%s",
      [&] {
        std::string s;
        for (const auto& a : args) s += a + " ";
        return s;
      }()
          .c_str(),
      r.out.c_str(), r.err.c_str());
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < r.out.size()) {
    size_t end = r.out.find('\n', start);
    if (end == std::string::npos) end = r.out.size();
    lines.push_back(r.out.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

TEST(DlqReplay, AFixedHandlerGetsItsDeadLettersAndTheAuditLogBecomesComplete) {
  const std::string prefix = wep_it::unique_prefix();
  auto dir = wep_it::temp_dir();
  SmallVolume volume(dir / "auditfs");
  ASSERT_TRUE(volume.mounted()) << "mounting a tmpfs needs root (CAP_SYS_ADMIN): "
                                << std::strerror(errno);
  const fs::path audit_dir = dir / "auditfs" / "log";
  const std::string picky_out = (dir / "picky.txt").string();
  const std::string bystander_out = (dir / "bystander.txt").string();
  auto plugins = [&](int fail_every) {
    return "  - name: audit\n    path: audit\n"
           "    retry: {max_attempts: 2, initial_backoff_ms: 10, max_backoff_ms: 20}\n"
           "    config:\n      directory: " +
           audit_dir.string() + "\n" +
           recorder("picky", picky_out, "      fail_every: " + std::to_string(fail_every) + "\n") +
           recorder("bystander", bystander_out);
  };
  constexpr int kEvents = 300;
  std::string config = wep_it::daemon_config(dir, prefix, plugins(10));
  std::vector<std::string> ids;
  size_t dead = 0;
  {
    wep_it::Daemon daemon(config);
    ids = publish_keys(prefix, kEvents);
    // Phase 1: the audit volume fills up and picky fails every 10th event.
    ASSERT_TRUE(wep_it::eventually(
        [&] {
          if (wep_it::recorded_ids(bystander_out).size() < kEvents) return false;
          auto dlq = wep_it::read_topic(prefix + ".dlq", 10000, std::chrono::seconds(2));
          size_t audit_dead = count_instance(dlq, "audit");
          dead = dlq.size();
          return count_instance(dlq, "picky") == kEvents / 10 && audit_dead > 0 &&
                 wep_it::audited_ids(audit_dir).size() + audit_dead == kEvents;
        },
        std::chrono::seconds(120)))
        << daemon.log();
    daemon.signal(SIGTERM);
    ASSERT_EQ(daemon.wait(std::chrono::seconds(20)), 0) << daemon.log();
  }
  const size_t audited_before = wep_it::audited_ids(audit_dir).size();
  std::fprintf(stderr, "phase 1: published %d, audited %zu, dead-lettered %zu (picky %d)\n",
               kEvents, audited_before, dead, kEvents / 10);
  ASSERT_LT(audited_before, static_cast<size_t>(kEvents));

  // The operator grows the volume and fixes picky's config, restarts, and replays.
  ASSERT_TRUE(volume.grow()) << std::strerror(errno);
  config = wep_it::daemon_config(dir, prefix, plugins(0));
  wep_it::Daemon daemon(config);
  int rc = -1;
  std::string err;
  replay(config, {}, &rc, &err);
  ASSERT_EQ(rc, 0) << err;
  EXPECT_NE(err.find("replayed " + std::to_string(dead) + ","), std::string::npos) << err;

  ASSERT_TRUE(wep_it::eventually(
      [&] {
        return wep_it::audited_ids(audit_dir).size() == kEvents &&
               wep_it::recorded_ids(picky_out).size() == kEvents;
      },
      std::chrono::seconds(90)))
      << daemon.log();
  std::this_thread::sleep_for(std::chrono::seconds(2));  // anything extra would show up now
  auto audit = wep_it::audited_ids(audit_dir);
  auto picky = wep_it::recorded_ids(picky_out);
  auto bystander = wep_it::recorded_ids(bystander_out);
  size_t duplicates = 0, lost = 0;
  for (const auto& id : ids) {
    if (audit[id] == 0) ++lost;
    if (audit[id] > 1) ++duplicates;
    EXPECT_EQ(picky[id], 1) << id;
    EXPECT_EQ(bystander[id], 1) << id << ": a replay targeted at another instance reached it";
  }
  std::fprintf(stderr, "after replay: audited %zu of %d, lost %zu, duplicated %zu\n", audit.size(),
               kEvents, lost, duplicates);
  EXPECT_EQ(lost, 0u);
  EXPECT_EQ(duplicates, 0u);
  auto verify = wep_it::run_command({WEP_DAEMON, "audit", "verify", audit_dir.string()});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;

  // The position was committed: a second run finds nothing new.
  replay(config, {}, &rc, &err);
  EXPECT_EQ(rc, 0) << err;
  EXPECT_NE(err.find("read 0, replayed 0"), std::string::npos) << err;
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(std::chrono::seconds(20)), 0) << daemon.log();
}

TEST(DlqReplay, DryRunFiltersAndTheReplayLimit) {
  const std::string prefix = wep_it::unique_prefix();
  auto dir = wep_it::temp_dir();
  const std::string always_out = (dir / "always.txt").string();
  const std::string bystander_out = (dir / "bystander.txt").string();
  const std::string config =
      wep_it::daemon_config(dir, prefix,
                            recorder("always", always_out, "      fail_every: 1\n") +
                                recorder("bystander", bystander_out),
                            "dlq:\n  max_replays: 2\n");
  wep_it::Daemon daemon(config);
  auto ids = publish_keys(prefix, 5);
  auto dlq_size = [&](size_t want) {
    return wep_it::eventually(
        [&] {
          return wep_it::read_topic(prefix + ".dlq", want + 1, std::chrono::seconds(2)).size() ==
                 want;
        },
        std::chrono::seconds(60));
  };
  ASSERT_TRUE(dlq_size(5)) << daemon.log();

  int rc = -1;
  std::string err;
  // A dry run sends and commits nothing.
  auto lines = replay(config, {"--dry-run"}, &rc, &err);
  EXPECT_EQ(rc, 0);
  ASSERT_EQ(lines.size(), 5u);
  for (const auto& l : lines) {
    EXPECT_EQ(l.rfind("would replay " + prefix + ".dlq[", 0), 0u) << l;
    EXPECT_NE(l.find("-> " + prefix + ".key.operations for instance always (replay 1 of 2)"),
              std::string::npos)
        << l;
  }
  // Filters that select nothing (each in a group of its own, so the main position stays).
  replay(config, {"--group", prefix + ".f1", "--error-contains", "no such text"}, &rc, &err);
  EXPECT_EQ(rc, 0);
  EXPECT_NE(err.find("replayed 0, skipped 5"), std::string::npos) << err;
  replay(config, {"--group", prefix + ".f2", "--since", "2200-01-01T00:00:00Z"}, &rc, &err);
  EXPECT_NE(err.find("replayed 0, skipped 5"), std::string::npos) << err;
  replay(config, {"--group", prefix + ".f3", "--instance", "bystander"}, &rc, &err);
  EXPECT_NE(err.find("replayed 0, skipped 5"), std::string::npos) << err;
  replay(config, {"--instance", "alwyas"}, &rc, &err);
  EXPECT_EQ(rc, 64);
  EXPECT_NE(err.find("did you mean `always`?"), std::string::npos) << err;
  replay(config, {"--since", "last tuesday"}, &rc, &err);
  EXPECT_EQ(rc, 64);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_EQ(wep_it::read_lines(always_out).size(), 5u) << "a dry run or a filter re-drove records";

  // Two real replays: each time the still-broken handler fails them again, and the new dead
  // letters count their replays. The third run leaves them.
  replay(config, {"--error-contains", "failing every Nth"}, &rc, &err);
  EXPECT_EQ(rc, 0);
  ASSERT_TRUE(dlq_size(10)) << daemon.log();
  replay(config, {"--since", "1h"}, &rc, &err);
  EXPECT_EQ(rc, 0);
  EXPECT_NE(err.find("read 5, replayed 5"), std::string::npos) << err;
  ASSERT_TRUE(dlq_size(15)) << daemon.log();
  replay(config, {"--instance", "always"}, &rc, &err);
  EXPECT_EQ(rc, 0);
  EXPECT_NE(err.find("replayed 0, skipped 0 (not selected), left 5"), std::string::npos) << err;
  EXPECT_NE(err.find("already replayed 2 time(s) (limit 2)"), std::string::npos) << err;

  auto dlq = wep_it::read_topic(prefix + ".dlq", 16, std::chrono::seconds(3));
  ASSERT_EQ(dlq.size(), 15u);
  std::map<std::string, int> by_replays;
  for (const auto& r : dlq) {
    const std::string* n = r.header("dlq.replays");
    ++by_replays[n != nullptr ? *n : "0"];
    EXPECT_EQ(*r.header("dlq.instance"), "always");
    EXPECT_EQ(r.header("dlq.replay.instance"), nullptr) << "replay context leaked into the DLQ";
  }
  EXPECT_EQ(by_replays["0"], 5);
  EXPECT_EQ(by_replays["1"], 5);
  EXPECT_EQ(by_replays["2"], 5);
  EXPECT_EQ(wep_it::read_lines(always_out).size(), 15u);
  auto bystander = wep_it::recorded_ids(bystander_out);
  EXPECT_EQ(bystander.size(), 5u);
  for (const auto& id : ids) EXPECT_EQ(bystander[id], 1) << id;
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(std::chrono::seconds(20)), 0) << daemon.log();
}

}  // namespace
