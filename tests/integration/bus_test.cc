// The bus against the real broker: publish/tail/kcat round trip of every golden event,
// per-wallet order at volume, and dead-lettering of a malformed record.
#include <gtest/gtest.h>

#include <fstream>

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support.h"
#include "wallet_eventd/client.h"

namespace {

using namespace wallet_eventd;
using nlohmann::json;

std::string compact(const std::string& path) { return json::parse(wep_it::read_file(path)).dump(); }

TEST(Bus, GoldenEventsRoundTripThroughPublishTailAndKcat) {
  const std::string prefix = wep_it::unique_prefix();
  auto dir = wep_it::temp_dir();
  const std::string cfg = wep_it::daemon_config(dir, prefix, "");
  std::string ndjson;
  std::vector<WalletEvent> expected;
  for (const auto& f : wep_it::golden_files()) {
    ndjson += compact(f) + "\n";
    auto d = decode_event(compact(f));
    ASSERT_TRUE(d.ok()) << f;
    expected.push_back(d.value());
  }
  ASSERT_EQ(expected.size(), 14u);

  auto dry = wep_it::run_command({WEP_DAEMON, "publish", "--config", cfg, "--dry-run"}, ndjson);
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_NE(dry.out.find("line 1: CredentialAcknowledged -> " + prefix +
                         ".credential.issuance key=wallet-7f3a"),
            std::string::npos)
      << dry.out;

  auto pub = wep_it::run_command({WEP_DAEMON, "publish", "--config", cfg}, ndjson);
  ASSERT_EQ(pub.exit_code, 0) << pub.err;
  EXPECT_NE(pub.err.find("published 14, invalid 0, not delivered 0"), std::string::npos) << pub.err;

  auto tail = wep_it::run_command({WEP_DAEMON, "tail", "--config", cfg, "--from-beginning",
                                   "--records", "--max", "14", "--idle-timeout", "30"});
  ASSERT_EQ(tail.exit_code, 0) << tail.err;
  std::vector<json> lines;
  std::istringstream in(tail.out);
  for (std::string l; std::getline(in, l);) lines.push_back(json::parse(l));
  ASSERT_EQ(lines.size(), 14u) << tail.out << tail.err;
  size_t matched = 0;
  for (const auto& line : lines) {
    auto d = decode_event(line["event"].dump());
    ASSERT_TRUE(d.ok()) << line.dump();
    const auto& ev = d.value();
    const auto& md = metadata_of(ev);
    EXPECT_EQ(line["topic"], prefix + "." + std::string(topic_suffix(type_of(ev))));
    EXPECT_EQ(line["key"], md.wallet_id);
    EXPECT_EQ(line["headers"]["event_type"], std::string(event_type_name(type_of(ev))));
    EXPECT_EQ(line["headers"]["correlation_id"], md.correlation_id);
    EXPECT_EQ(line["headers"]["wallet_id"], md.wallet_id);
    EXPECT_EQ(line["headers"]["schema_version"], md.schema_version);
    for (const auto& e : expected)
      if (e == ev) ++matched;
  }
  EXPECT_EQ(matched, 14u);

  // kcat sees the same records, keys and headers on the wire.
  size_t kcat_count = 0;
  for (auto suffix : all_topic_suffixes()) {
    const std::string topic = prefix + "." + std::string(suffix);
    auto k = wep_it::run_command({"kcat", "-b", wep_it::bootstrap(), "-C", "-t", topic, "-o",
                                  "beginning", "-e", "-q", "-f", "%k\t%h\t%s\n"});
    ASSERT_EQ(k.exit_code, 0) << k.err;
    std::istringstream lines_in(k.out);
    for (std::string l; std::getline(lines_in, l);) {
      if (l.empty()) continue;
      ++kcat_count;
      auto tab1 = l.find('\t'), tab2 = l.find('\t', tab1 + 1);
      std::string key = l.substr(0, tab1), headers = l.substr(tab1 + 1, tab2 - tab1 - 1);
      auto d = decode_event(l.substr(tab2 + 1));
      ASSERT_TRUE(d.ok()) << l;
      EXPECT_EQ(key, metadata_of(d.value()).wallet_id);
      EXPECT_EQ(std::string(topic_suffix(type_of(d.value()))), suffix);
      EXPECT_NE(headers.find("event_type=" + std::string(event_type_name(type_of(d.value())))),
                std::string::npos)
          << headers;
      EXPECT_NE(headers.find("wallet_id=" + key), std::string::npos) << headers;
      EXPECT_NE(headers.find("schema_version=1.0.0"), std::string::npos) << headers;
    }
  }
  EXPECT_EQ(kcat_count, 14u);
}

TEST(Bus, PublishReportsInvalidLinesWithLineNumbers) {
  const std::string prefix = wep_it::unique_prefix();
  auto dir = wep_it::temp_dir();
  const std::string cfg = wep_it::daemon_config(dir, prefix, "");
  std::string input = compact(wep_it::golden_files()[0]) + "\n{not json\n" +
                      R"({"event_type":"Nope","payload":{}})" + "\n";
  auto pub = wep_it::run_command({WEP_DAEMON, "publish", "--config", cfg}, input);
  EXPECT_EQ(pub.exit_code, 65) << pub.err;
  EXPECT_NE(pub.err.find("line 2: invalid: "), std::string::npos) << pub.err;
  EXPECT_NE(pub.err.find("line 3: invalid: event_type: unknown event type \"Nope\""),
            std::string::npos)
      << pub.err;
  EXPECT_NE(pub.err.find("published 1, invalid 2"), std::string::npos) << pub.err;
}

TEST(Bus, PublishTakesCrlfBlankAndUnterminatedLinesAndRefusesUnreadableInput) {
  const std::string prefix = wep_it::unique_prefix();
  auto dir = wep_it::temp_dir();
  const std::string cfg = wep_it::daemon_config(dir, prefix, "");
  const auto golden = wep_it::golden_files();
  // CRLF, a blank and a whitespace-only line, and a last line without its newline.
  std::string input = compact(golden[0]) + "\r\n\n \t\r\n" + compact(golden[1]);
  auto pub = wep_it::run_command({WEP_DAEMON, "publish", "--config", cfg}, input);
  EXPECT_EQ(pub.exit_code, 0) << pub.err;
  EXPECT_NE(pub.err.find("published 2, invalid 0, not delivered 0"), std::string::npos) << pub.err;
  // The same from a file argument.
  const std::string file = (dir / "events.ndjson").string();
  { std::ofstream(file) << input; }
  pub = wep_it::run_command({WEP_DAEMON, "publish", "--config", cfg, file}, "");
  EXPECT_EQ(pub.exit_code, 0) << pub.err;
  EXPECT_NE(pub.err.find("published 2, invalid 0, not delivered 0"), std::string::npos) << pub.err;
  // A directory opens but cannot be read: EX_IOERR, said so, not "published 0".
  pub = wep_it::run_command({WEP_DAEMON, "publish", "--config", cfg, dir.string()}, "");
  EXPECT_EQ(pub.exit_code, 74) << pub.err;
  EXPECT_NE(pub.err.find(dir.string() + ": read error after line 0: Is a directory"),
            std::string::npos)
      << pub.err;
  // A missing file is a usage error.
  pub = wep_it::run_command({WEP_DAEMON, "publish", "--config", cfg, file + ".missing"}, "");
  EXPECT_EQ(pub.exit_code, 64) << pub.err;
  EXPECT_NE(pub.err.find("No such file or directory"), std::string::npos) << pub.err;
}

TEST(Bus, TenThousandEventsAcrossHundredWalletsKeepPerWalletOrder) {
  const std::string prefix = wep_it::unique_prefix();
  auto cfg = wep_it::client_config(prefix);
  auto publisher = Publisher::create(cfg);
  ASSERT_TRUE(publisher.ok()) << publisher.error().message;
  std::atomic<int> failures{0};
  for (int i = 0; i < 10000; ++i) {
    CredentialStored e;
    e.metadata = EventMetadata::create("seq-" + std::to_string(i / 100),
                                       "wallet-" + std::to_string(i % 100));
    e.credential_id = "cred-" + std::to_string(i);
    e.credential_type = "T";
    e.issuer = "https://issuer.example";
    Status s = publisher.value()->publish_async(e, {}, [&](const Status& st) {
      if (!st.ok()) ++failures;
    });
    ASSERT_TRUE(s.ok()) << s.message();
  }
  ASSERT_TRUE(publisher.value()->flush(std::chrono::seconds(60)).ok());
  EXPECT_EQ(failures.load(), 0);

  Subscriber::Options opts;
  opts.types = {EventType::kCredentialStored};
  opts.group_id = prefix + ".order";
  auto sub = Subscriber::create(cfg, opts);
  ASSERT_TRUE(sub.ok()) << sub.error().message;
  std::map<std::string, int> last;
  std::map<std::string, int32_t> partition_of;
  int received = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  while (received < 10000 && std::chrono::steady_clock::now() < deadline) {
    auto next = sub.value()->next(std::chrono::milliseconds(500));
    if (!next) continue;
    ASSERT_TRUE(next->ok()) << next->error().error.message();
    const auto& r = next->value();
    const auto& e = std::get<CredentialStored>(r.event);
    int seq = std::stoi(e.credential_id.substr(5));
    auto [it, fresh] = last.emplace(e.metadata.wallet_id, seq);
    if (!fresh) {
      EXPECT_GT(seq, it->second) << "wallet " << e.metadata.wallet_id << " out of order";
      it->second = seq;
    }
    auto [p, pfresh] = partition_of.emplace(e.metadata.wallet_id, r.record.partition);
    EXPECT_EQ(p->second, r.record.partition) << "a wallet's events spread over partitions";
    EXPECT_EQ(r.record.key, e.metadata.wallet_id);
    ++received;
  }
  EXPECT_EQ(received, 10000);
  EXPECT_EQ(last.size(), 100u);
}

TEST(Bus, PublishToUnreachableBrokerFailsWithinTheTimeout) {
  ClientConfig cfg;
  cfg.bootstrap_servers = "127.0.0.1:1";  // nothing listens there
  cfg.timeout = std::chrono::milliseconds(3000);
  auto publisher = Publisher::create(cfg);
  ASSERT_TRUE(publisher.ok());
  KeyRevoked e;
  e.metadata = EventMetadata::create("c", "w");
  e.key_id = "k";
  e.kid = "kid";
  e.revocation_reason = "compromised";
  auto start = std::chrono::steady_clock::now();
  Status s = publisher.value()->publish(e);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Error::Code::kTimeout) << s.message();
  EXPECT_NE(s.message().find("timed out"), std::string::npos) << s.message();
  EXPECT_LT(took, std::chrono::seconds(8));
}

// librdkafka reports a broker connection's failure as a FAIL log line and as an error event
// with the same text (logged again as ERROR when nobody takes the event): one line each.
TEST(Bus, AnUnreachableBrokerIsLoggedOncePerFailureWithTheReason) {
  auto dir = wep_it::temp_dir();
  const std::string cfg = wep_it::write_file(dir, "unreachable.yaml",
                                             "bus:\n  bootstrap_servers: \"127.0.0.1:1\"\n"
                                             "  producer_properties:\n"
                                             "    message.timeout.ms: 2500\n"
                                             "topics:\n  prefix: wallet\n");
  auto pub =
      wep_it::run_command({WEP_DAEMON, "publish", "--config", cfg},
                          compact(wep_it::golden_files()[0]) + "\n", std::chrono::seconds(30));
  EXPECT_EQ(pub.exit_code, 75) << pub.err;
  EXPECT_NE(pub.err.find("published 0, invalid 0, not delivered 1"), std::string::npos) << pub.err;
  size_t refused = 0, refused_fail = 0, brokers_down = 0;
  std::istringstream lines(pub.err);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("Connection refused") != std::string::npos) {
      ++refused;
      if (line.find(" FAIL: ") != std::string::npos) ++refused_fail;
    }
    if (line.find("_ALL_BROKERS_DOWN: 1/1 brokers are down") != std::string::npos) ++brokers_down;
  }
  EXPECT_GE(refused, 1u) << pub.err;
  EXPECT_EQ(refused, refused_fail) << "a failure logged twice:\n" << pub.err;
  // The error event no FAIL line carries is logged, with librdkafka's name for it.
  EXPECT_GE(brokers_down, 1u) << pub.err;
}

}  // namespace
