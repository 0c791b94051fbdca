// Tests of the audit plugin (through the ABI, with the fake host) and of its chain verifier.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "audit_chain.h"
#include "audit_payload.h"
#include "wep_fake_host.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;
using wep_testing::EventResult;
using wep_testing::FakeHost;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string JoinLines(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& line : lines) text += line + "\n";
  return text;
}

// The golden events of shared/wire/valid, in file name order.
std::vector<std::string> Goldens() {
  std::vector<fs::path> paths;
  for (const auto& entry : fs::directory_iterator(WEP_GOLDEN_DIR "/wire/valid")) {
    if (entry.path().extension() == ".json") paths.push_back(entry.path());
  }
  std::sort(paths.begin(), paths.end());
  std::vector<std::string> out;
  for (const auto& p : paths) out.push_back(ReadFile(p));
  return out;
}

// Every non-null value at a sensitive path of the goldens.
std::vector<std::string> SensitiveValues(const std::vector<std::string>& goldens) {
  std::vector<std::string> values;
  for (const auto& raw : goldens) {
    json payload = json::parse(raw).at("payload");
    for (const auto& path : wep_audit::default_sensitive_fields()) {
      const json* node = &payload;
      for (const auto& key : path) {
        node = node->is_object() && node->contains(key) ? &(*node)[key] : nullptr;
        if (node == nullptr) break;
      }
      if (node != nullptr && node->is_string()) values.push_back(node->get<std::string>());
    }
  }
  return values;
}

// A fresh directory, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::path(::testing::TempDir()) / "audit_test_XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string Config(const std::string& dir, json extra = json::object()) {
  json config = {{"directory", dir}};
  config.update(extra);
  return config.dump();
}

std::vector<fs::path> LogFiles(const std::string& dir) {
  std::vector<wep_audit::LogFile> files;
  EXPECT_EQ(wep_audit::list_log_files(dir, "audit", &files), "");
  std::vector<fs::path> out;
  for (const auto& f : files) out.push_back(f.path);
  return out;
}

std::vector<json> Records(const std::string& dir) {
  std::vector<json> out;
  for (const auto& file : LogFiles(dir)) {
    for (const auto& line : Lines(ReadFile(file))) out.push_back(json::parse(line));
  }
  return out;
}

std::string AllLogText(const std::string& dir) {
  std::string text;
  for (const auto& file : LogFiles(dir)) text += ReadFile(file);
  return text;
}

void ExpectAll(const std::vector<EventResult>& results, int32_t code) {
  for (size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i].code, code) << "event " << i << ": " << results[i].message;
  }
}

class AuditPluginTest : public ::testing::Test {
 protected:
  void Start(FakeHost* host, const std::string& config) {
    std::string error;
    ASSERT_EQ(host->Create(config, state_.path(), &error), WEP_OK) << error;
  }
  // A log of all goldens written with `extra` config, the host destroyed (index written).
  void WriteGoldens(json extra = json::object()) {
    FakeHost host(WEP_AUDIT_PLUGIN);
    Start(&host, Config(dir_.path(), extra));
    ExpectAll(host.Handle(goldens_), WEP_RESULT_DONE);
  }

  TempDir dir_;
  TempDir state_;
  const std::vector<std::string> goldens_ = Goldens();
};

TEST_F(AuditPluginTest, DescriptorDeclaresItsConfig) {
  FakeHost host(WEP_AUDIT_PLUGIN);
  const wep_plugin_descriptor& d = host.descriptor();
  EXPECT_STREQ(d.name, "audit");
  EXPECT_EQ(d.subscriptions, WEP_EVENT_ALL);
  EXPECT_NE(d.flush, nullptr);
  std::map<std::string, std::pair<int32_t, std::string>> keys;
  for (size_t i = 0; i < d.config_key_count; ++i) {
    keys[d.config_keys[i]->name] = {d.config_keys[i]->type, d.config_keys[i]->default_json};
    EXPECT_GT(std::strlen(d.config_keys[i]->description), 10u);
  }
  using P = std::pair<int32_t, std::string>;
  EXPECT_EQ(keys["directory"], P(WEP_CONFIG_STRING, "\"\""));
  EXPECT_EQ(keys["file_prefix"], P(WEP_CONFIG_STRING, "\"audit\""));
  EXPECT_EQ(keys["max_file_bytes"], P(WEP_CONFIG_INT, "67108864"));
  EXPECT_EQ(keys["fsync"], P(WEP_CONFIG_BOOL, "true"));
  EXPECT_EQ(keys["extra_sensitive_fields"], P(WEP_CONFIG_STRING_LIST, "[]"));
  EXPECT_EQ(keys.size(), 5u);
}

TEST_F(AuditPluginTest, RecordsEveryGoldenEventWithoutBearerMaterial) {
  FakeHost host(WEP_AUDIT_PLUGIN);
  Start(&host, Config(dir_.path()));
  ExpectAll(host.Handle(goldens_), WEP_RESULT_DONE);
  ASSERT_EQ(host.Flush(), WEP_OK);

  const std::vector<json> records = Records(dir_.path());
  ASSERT_EQ(records.size(), goldens_.size());
  std::string prev(wep_audit::kGenesisHash);
  for (size_t i = 0; i < records.size(); ++i) {
    const json& r = records[i];
    const json golden = json::parse(goldens_[i]);
    const json& meta = golden["payload"]["metadata"];
    EXPECT_EQ(r["seq"], i + 1);
    EXPECT_EQ(r["prev"], prev);
    prev = r["hash"];
    EXPECT_EQ(r["event_type"], golden["event_type"]);
    EXPECT_EQ(r["event_id"], meta["event_id"]);
    EXPECT_EQ(r["wallet_id"], meta["wallet_id"]);
    EXPECT_EQ(r["correlation_id"], meta["correlation_id"]);
    EXPECT_EQ(r["event_time"], meta["timestamp"]);
    EXPECT_EQ(r["kafka"], json({{"topic", "wallet.test"}, {"partition", 0}, {"offset", i}}));
    EXPECT_THAT(r["recorded_at"].get<std::string>(),
                ::testing::MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}"
                                        "\\.[0-9]{6}Z"));
    EXPECT_EQ(r["payload"]["metadata"], meta);
    const std::string type = golden["event_type"];
    const bool relevant = type == "CredentialDeleted" || type.rfind("Key", 0) == 0 ||
                          meta["event_id"] == "1f0e2d3c-4b5a-4978-8796-a5b4c3d2e10b";
    EXPECT_EQ(r["security_relevant"], relevant) << type;
  }

  // Each sensitive value is replaced by {"sha256": hex of its bytes}.
  const json issued = records[2]["payload"];  // CredentialIssued
  ASSERT_EQ(records[2]["event_type"], "CredentialIssued");
  const std::string credential = json::parse(goldens_[2])["payload"]["credential"];
  EXPECT_EQ(issued["credential"], json({{"sha256", wep_audit::sha256_hex(credential)}}));
  EXPECT_EQ(records[3]["payload"]["grants"]["pre_authorized_code"]["tx_code"]["length"], 6);
  EXPECT_TRUE(
      records[4]["payload"]["grants"]["authorization_code"]["issuer_state"].contains("sha256"));
  EXPECT_TRUE(records[8]["payload"]["key_attestation"].is_null());  // KeyRotated: null stays

  const std::string text = AllLogText(dir_.path());
  const std::vector<std::string> secrets = SensitiveValues(goldens_);
  ASSERT_EQ(secrets.size(), 5u);
  for (const std::string& secret : secrets) {
    const std::string escaped = json(secret).dump();
    EXPECT_EQ(text.find(secret), std::string::npos) << secret;
    EXPECT_EQ(text.find(escaped.substr(1, escaped.size() - 2)), std::string::npos) << secret;
    for (const auto& log : host.logs()) EXPECT_EQ(log.text.find(secret), std::string::npos);
  }

  wep_audit::VerifyReport report = wep_audit::verify_directory(dir_.path());
  EXPECT_TRUE(report.ok) << report.error;
  EXPECT_EQ(report.records, goldens_.size());
  EXPECT_EQ(report.files, 1u);
  EXPECT_EQ(report.last_hash, prev);

  EXPECT_EQ(host.metric("wallet_audit_records_total"), goldens_.size());
  EXPECT_EQ(host.metric("wallet_audit_bytes_total"), text.size());
  EXPECT_EQ(host.metric("wallet_audit_duplicates_skipped_total"), 0);
}

TEST_F(AuditPluginTest, FailedVerificationAndMissingHolderBindingAreSecurityRelevant) {
  json valid = json::parse(goldens_[13]);  // PresentationVerified: Valid, binding verified
  ASSERT_EQ(valid["payload"]["validation_status"], "Valid");
  json unbound = valid;
  unbound["payload"]["holder_binding_verified"] = false;
  json invalid = valid;
  invalid["payload"]["validation_status"] = {{"Invalid", {{"reason", "expired"}}}};
  FakeHost host(WEP_AUDIT_PLUGIN);
  Start(&host, Config(dir_.path()));
  ExpectAll(host.Handle({valid.dump(), unbound.dump(), invalid.dump(), goldens_[5]}),
            WEP_RESULT_DONE);
  const std::vector<json> records = Records(dir_.path());
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0]["security_relevant"], false);
  EXPECT_EQ(records[1]["security_relevant"], true);
  EXPECT_EQ(records[2]["security_relevant"], true);
  EXPECT_EQ(records[3]["security_relevant"], false);  // CredentialStored
}

TEST_F(AuditPluginTest, HashIsSha256OfTheLineWithoutItsHashMember) {
  WriteGoldens();
  for (const std::string& line : Lines(AllLogText(dir_.path()))) {
    const std::string suffix =
        ",\"hash\":\"" + json::parse(line)["hash"].get<std::string>() + "\"}";
    ASSERT_EQ(line.substr(line.size() - suffix.size()), suffix);
    const std::string without = line.substr(0, line.size() - suffix.size()) + "}";
    EXPECT_EQ(wep_audit::sha256_hex(without), json::parse(line)["hash"]);
    EXPECT_FALSE(json::parse(without).contains("hash"));
  }
}

TEST_F(AuditPluginTest, RedeliveryWritesNothingNew) {
  FakeHost host(WEP_AUDIT_PLUGIN);
  Start(&host, Config(dir_.path()));
  ExpectAll(host.Handle(goldens_), WEP_RESULT_DONE);
  const std::string before = AllLogText(dir_.path());

  host.next_offset = 0;
  ExpectAll(host.Handle(goldens_, nullptr, 2), WEP_RESULT_DONE);
  EXPECT_EQ(AllLogText(dir_.path()), before);
  EXPECT_EQ(host.metric("wallet_audit_duplicates_skipped_total"), goldens_.size());

  // Overlapping: offsets 10..15, of which 14 and 15 are new.
  host.next_offset = 10;
  ExpectAll(host.Handle(std::vector<std::string>(goldens_.begin(), goldens_.begin() + 6)),
            WEP_RESULT_DONE);
  const std::vector<json> records = Records(dir_.path());
  ASSERT_EQ(records.size(), goldens_.size() + 2);
  EXPECT_EQ(records.back()["kafka"]["offset"], 15);
  EXPECT_EQ(host.metric("wallet_audit_duplicates_skipped_total"), goldens_.size() + 4);
  EXPECT_TRUE(wep_audit::verify_directory(dir_.path()).ok);
}

TEST_F(AuditPluginTest, RestartContinuesTheChainAndDeduplicates) {
  WriteGoldens();
  const std::string last_hash = Records(dir_.path()).back()["hash"];
  ASSERT_TRUE(fs::exists(dir_.path() + "/audit.index.json"));

  // With the index, without it, and with a damaged one: same outcome.
  for (const std::string index : {"keep", "remove", "garbage"}) {
    SCOPED_TRACE(index);
    if (index == "remove") fs::remove(dir_.path() + "/audit.index.json");
    if (index == "garbage") WriteFile(dir_.path() + "/audit.index.json", "{\"format\":1,\"fi");
    const size_t count = Records(dir_.path()).size();
    FakeHost host(WEP_AUDIT_PLUGIN);
    Start(&host, Config(dir_.path()));
    ExpectAll(host.Handle(goldens_), WEP_RESULT_DONE);  // offsets 0..13 again
    EXPECT_EQ(Records(dir_.path()).size(), count);
    EXPECT_EQ(host.metric("wallet_audit_duplicates_skipped_total"), goldens_.size());
    host.next_offset = static_cast<int64_t>(count);
    ExpectAll(host.Handle({goldens_[0]}), WEP_RESULT_DONE);
  }
  const std::vector<json> records = Records(dir_.path());
  ASSERT_EQ(records.size(), goldens_.size() + 3);
  EXPECT_EQ(records[goldens_.size()]["seq"], goldens_.size() + 1);
  EXPECT_EQ(records[goldens_.size()]["prev"], last_hash);
  wep_audit::VerifyReport report = wep_audit::verify_directory(dir_.path());
  EXPECT_TRUE(report.ok) << report.error;
  EXPECT_EQ(report.records, goldens_.size() + 3);
}

TEST_F(AuditPluginTest, TornFinalLineIsCutAndItsEventWrittenAgain) {
  WriteGoldens();
  const fs::path file = LogFiles(dir_.path()).front();
  std::vector<std::string> lines = Lines(ReadFile(file));
  const std::string last = lines.back();
  // A crash in the middle of writing the last record (the index still names it).
  std::string text = ReadFile(file);
  WriteFile(file, text.substr(0, text.size() - last.size() / 2));
  EXPECT_FALSE(wep_audit::verify_directory(dir_.path()).ok);

  FakeHost host(WEP_AUDIT_PLUGIN);
  Start(&host, Config(dir_.path()));
  bool warned = false;
  for (const auto& log : host.logs()) {
    if (log.level == WEP_LOG_WARN && log.text.find("incomplete final line") != std::string::npos)
      warned = true;
  }
  EXPECT_TRUE(warned);
  EXPECT_EQ(Lines(ReadFile(file)).size(), lines.size() - 1);

  host.next_offset = static_cast<int64_t>(goldens_.size()) - 1;  // redelivered: not recorded
  ExpectAll(host.Handle({goldens_.back()}), WEP_RESULT_DONE);
  std::vector<std::string> now = Lines(ReadFile(file));
  ASSERT_EQ(now.size(), lines.size());
  EXPECT_EQ(json::parse(now.back())["seq"], lines.size());
  EXPECT_EQ(json::parse(now.back())["prev"], json::parse(lines[lines.size() - 2])["hash"]);
  wep_audit::VerifyReport report = wep_audit::verify_directory(dir_.path());
  EXPECT_TRUE(report.ok) << report.error;

  // An unreadable (but newline-terminated) final line is cut as well.
  host.Destroy();
  WriteFile(file, ReadFile(file) + "{\"seq\":99,\"garbage\n");
  FakeHost again(WEP_AUDIT_PLUGIN);
  Start(&again, Config(dir_.path()));
  EXPECT_EQ(Lines(ReadFile(file)).size(), lines.size());
  again.next_offset = 100;
  ExpectAll(again.Handle({goldens_[0]}), WEP_RESULT_DONE);
  EXPECT_TRUE(wep_audit::verify_directory(dir_.path()).ok);
}

TEST_F(AuditPluginTest, TornFirstLineOfANewFileIsRemovedWithTheFile) {
  WriteGoldens({{"max_file_bytes", 2500}});
  std::vector<fs::path> files = LogFiles(dir_.path());
  ASSERT_GE(files.size(), 2u);
  const std::string first_line = Lines(ReadFile(files.back())).front();
  const uint64_t first_seq = json::parse(first_line)["seq"];
  WriteFile(files.back(), first_line.substr(0, first_line.size() / 3));

  FakeHost host(WEP_AUDIT_PLUGIN);
  Start(&host, Config(dir_.path(), {{"max_file_bytes", 2500}}));
  EXPECT_FALSE(fs::exists(files.back()));
  bool noted = false;
  for (const auto& log : host.logs()) {
    if (log.text.find("removed the empty audit file") != std::string::npos) noted = true;
  }
  EXPECT_TRUE(noted);
  host.next_offset = static_cast<int64_t>(first_seq) - 1;  // redelivered from the torn record
  const std::vector<std::string> rest(goldens_.begin() + (first_seq - 1), goldens_.end());
  ExpectAll(host.Handle(rest), WEP_RESULT_DONE);
  EXPECT_EQ(LogFiles(dir_.path()), files);
  wep_audit::VerifyReport report = wep_audit::verify_directory(dir_.path());
  EXPECT_TRUE(report.ok) << report.error;
  EXPECT_EQ(report.records, goldens_.size());
}

TEST_F(AuditPluginTest, RotationKeepsTheChainAcrossFiles) {
  const uint64_t max_bytes = 2500;
  WriteGoldens({{"max_file_bytes", max_bytes}});
  {
    FakeHost host(WEP_AUDIT_PLUGIN);  // restart: continues in the last file
    Start(&host, Config(dir_.path(), {{"max_file_bytes", max_bytes}}));
    host.next_offset = 100;
    ExpectAll(host.Handle(goldens_), WEP_RESULT_DONE);
  }
  const std::vector<fs::path> files = LogFiles(dir_.path());
  ASSERT_GT(files.size(), 4u);
  std::string prev(wep_audit::kGenesisHash);
  uint64_t seq = 0;
  for (const fs::path& file : files) {
    const std::vector<std::string> lines = Lines(ReadFile(file));
    ASSERT_FALSE(lines.empty());
    EXPECT_LE(fs::file_size(file), max_bytes) << file;
    const json first = json::parse(lines.front());
    EXPECT_EQ(file.filename().string(), wep_audit::log_file_name("audit", first["seq"]));
    EXPECT_EQ(first["prev"], prev) << file;  // the chain goes on across the file boundary
    prev = json::parse(lines.back())["hash"];
    seq += lines.size();
  }
  EXPECT_EQ(seq, 2 * goldens_.size());
  wep_audit::VerifyReport report = wep_audit::verify_directory(dir_.path());
  EXPECT_TRUE(report.ok) << report.error;
  EXPECT_EQ(report.files, files.size());
  EXPECT_EQ(report.records, seq);
}

TEST_F(AuditPluginTest, ARecordLargerThanMaxFileBytesGetsAFileOfItsOwn) {
  WriteGoldens({{"max_file_bytes", 1}});
  EXPECT_EQ(LogFiles(dir_.path()).size(), goldens_.size());
  EXPECT_TRUE(wep_audit::verify_directory(dir_.path()).ok);
}

// A rotated log copied into a fresh directory, to be damaged one way per case.
class VerifyTest : public AuditPluginTest {
 protected:
  void SetUp() override {
    WriteGoldens({{"max_file_bytes", 2500}});
    files_ = LogFiles(dir_.path());
    ASSERT_GE(files_.size(), 3u);
    ASSERT_GE(Lines(ReadFile(files_[0])).size(), 3u);
    ASSERT_GE(Lines(ReadFile(files_[1])).size(), 2u);
  }
  std::vector<std::string> LinesOf(size_t file) { return Lines(ReadFile(files_[file])); }
  void ExpectBroken(size_t file, uint64_t line, std::string_view error) {
    wep_audit::VerifyReport report = wep_audit::verify_directory(dir_.path());
    EXPECT_FALSE(report.ok);
    EXPECT_EQ(report.first_error_file, files_[file].string());
    EXPECT_EQ(report.first_error_line, line);
    EXPECT_THAT(report.error, HasSubstr(std::string(error)));
  }
  std::vector<fs::path> files_;
};

TEST_F(VerifyTest, IntactLogIsOk) {
  wep_audit::VerifyReport report = wep_audit::verify_directory(dir_.path());
  EXPECT_TRUE(report.ok) << report.error;
  EXPECT_EQ(report.records, goldens_.size());
  EXPECT_EQ(report.error, "");
}

TEST_F(VerifyTest, DetectsAChangedByte) {
  std::vector<std::string> lines = LinesOf(1);
  size_t at = lines[1].find("wallet-");
  ASSERT_NE(at, std::string::npos);
  lines[1][at] = 'W';
  WriteFile(files_[1], JoinLines(lines));
  ExpectBroken(1, 2, wep_audit::kErrHashMismatch);
}

TEST_F(VerifyTest, DetectsADeletedRecord) {
  std::vector<std::string> lines = LinesOf(0);
  lines.erase(lines.begin() + 1);
  WriteFile(files_[0], JoinLines(lines));
  ExpectBroken(0, 2, wep_audit::kErrPrevMismatch);
}

TEST_F(VerifyTest, DetectsTheLastRecordOfAFileDeleted) {
  std::vector<std::string> lines = LinesOf(0);
  lines.pop_back();
  WriteFile(files_[0], JoinLines(lines));
  ExpectBroken(1, 1, wep_audit::kErrPrevMismatch);
}

TEST_F(VerifyTest, DetectsReorderedRecords) {
  std::vector<std::string> lines = LinesOf(1);
  std::swap(lines[0], lines[1]);
  WriteFile(files_[1], JoinLines(lines));
  ExpectBroken(1, 1, wep_audit::kErrPrevMismatch);
}

TEST_F(VerifyTest, DetectsAFileTruncatedMidRecord) {
  const std::string text = ReadFile(files_[0]);
  const size_t count = LinesOf(0).size();
  WriteFile(files_[0], text.substr(0, text.size() - 40));
  ExpectBroken(0, count, wep_audit::kErrTruncated);
}

TEST_F(VerifyTest, DetectsRecordsCutFromTheEndOfTheLog) {
  const size_t last = files_.size() - 1;
  std::vector<std::string> lines = LinesOf(last);
  lines.pop_back();
  WriteFile(files_[last], JoinLines(lines));
  ExpectBroken(last, lines.size() + 1, wep_audit::kErrTruncatedLog);
}

TEST_F(VerifyTest, DetectsARecordRewrittenWithAValidHash) {
  // Rewriting the last record and re-sealing it keeps the chain intact; the index catches it.
  const size_t last = files_.size() - 1;
  std::vector<std::string> lines = LinesOf(last);
  json r = json::parse(lines.back());
  r["wallet_id"] = "someone-else";
  std::string hash;
  const std::string payload = r["payload"].dump();
  wep_audit::RecordFields f;
  std::string recorded_at = r["recorded_at"], id = r["event_id"], type = r["event_type"],
              wallet = r["wallet_id"], corr = r["correlation_id"], time = r["event_time"],
              topic = r["kafka"]["topic"];
  f.recorded_at = recorded_at;
  f.event_id = id;
  f.event_type = type;
  f.wallet_id = wallet;
  f.correlation_id = corr;
  f.event_time = time;
  f.topic = topic;
  f.partition = r["kafka"]["partition"];
  f.offset = r["kafka"]["offset"];
  f.security_relevant = r["security_relevant"];
  f.payload_json = payload;
  lines.back() = wep_audit::seal_record(r["seq"], r["prev"].get<std::string>(), f, &hash);
  lines.back().pop_back();
  WriteFile(files_[last], JoinLines(lines));
  ExpectBroken(last, lines.size(), wep_audit::kErrIndexMismatch);
}

TEST_F(VerifyTest, DetectsARenamedFile) {
  const uint64_t seq = json::parse(LinesOf(1).front())["seq"];
  const fs::path renamed = files_[1].parent_path() / wep_audit::log_file_name("audit", seq - 1);
  fs::rename(files_[1], renamed);
  files_[1] = renamed;
  ExpectBroken(1, 1, wep_audit::kErrFileName);
}

TEST_F(VerifyTest, EmptyOrMissingDirectoryIsNotOk) {
  TempDir empty;
  EXPECT_THAT(wep_audit::verify_directory(empty.path()).error, HasSubstr("no audit log files"));
  EXPECT_THAT(wep_audit::verify_directory(empty.path() + "/nope").error,
              HasSubstr("cannot read directory"));
}

TEST_F(AuditPluginTest, DamagedLogRefusesToStart) {
  WriteGoldens();
  fs::remove(dir_.path() + "/audit.index.json");  // so that the start reads the whole log
  const fs::path file = LogFiles(dir_.path()).front();
  std::vector<std::string> lines = Lines(ReadFile(file));
  lines[3][lines[3].find("wallet-")] = 'W';
  WriteFile(file, JoinLines(lines));
  FakeHost host(WEP_AUDIT_PLUGIN);
  std::string error;
  EXPECT_EQ(host.Create(Config(dir_.path() + "/"), state_.path(), &error), WEP_ERR_INTERNAL);
  EXPECT_THAT(error, HasSubstr(wep_audit::kErrHashMismatch));
  EXPECT_THAT(error, HasSubstr(file.string() + " at byte "));
  EXPECT_THAT(error, HasSubstr("audit verify"));
  // Nothing of the half-done recovery is kept.
  EXPECT_FALSE(fs::exists(dir_.path() + "/audit.index.json"));
  EXPECT_EQ(ReadFile(file), JoinLines(lines));
}

TEST_F(AuditPluginTest, RejectsBadConfig) {
  struct Case {
    std::string config, expect;
  };
  const std::string dir = json(dir_.path()).dump();
  const std::vector<Case> cases = {
      {R"({"max_file_bytes": -1})", "max_file_bytes must be a positive integer"},
      {R"({"max_file_bytes": 0})", "max_file_bytes must be a positive integer"},
      {R"({"max_file_bytes": 1.5})", "got 1.5"},
      {R"({"max_file_bytes": "64M"})", "got \"64M\""},
      {R"({"fsync": "yes"})", "fsync must be true or false, got \"yes\""},
      {R"({"directory": 7})", "directory must be a string"},
      {R"({"file_prefix": "../x"})", "file_prefix must be"},
      {R"({"file_prefix": ""})", "file_prefix must be"},
      {R"({"extra_sensitive_fields": "nonce"})", "extra_sensitive_fields must be a list"},
      {R"({"extra_sensitive_fields": ["nonce", "a..b"]})", "extra_sensitive_fields[1]"},
      {R"({"extra_sensitive_fields": [3]})", "extra_sensitive_fields[0]"},
      {R"({"hash_sensitive": false})", "sensitive fields are always hashed"},
      {R"({"directroy": "/tmp"})", "unknown config key \"directroy\""},
      {R"({"fsync": tru})", "config is not valid JSON"},
      {R"([1])", "config must be a JSON object"},
  };
  for (const Case& c : cases) {
    FakeHost host(WEP_AUDIT_PLUGIN);
    std::string error;
    EXPECT_EQ(host.Create(c.config, state_.path(), &error), WEP_ERR_CONFIG) << c.config;
    EXPECT_THAT(error, HasSubstr(c.expect)) << c.config;
  }
  FakeHost host(WEP_AUDIT_PLUGIN);
  std::string error;
  EXPECT_EQ(host.Create(R"({"max_file_bytes": -1})", state_.path(), &error), WEP_ERR_CONFIG);
  EXPECT_EQ(error, "max_file_bytes must be a positive integer (bytes; default 67108864), got -1");
  EXPECT_EQ(host.Create("{}", "", &error), WEP_ERR_CONFIG);
  EXPECT_THAT(error, HasSubstr("no state directory"));
}

TEST_F(AuditPluginTest, DefaultsAndRelativeDirectoriesUseTheStateDir) {
  {
    FakeHost host(WEP_AUDIT_PLUGIN);
    Start(&host, "");  // no config at all: every default
    ExpectAll(host.Handle({goldens_[0]}), WEP_RESULT_DONE);
  }
  EXPECT_TRUE(wep_audit::verify_directory(state_.path() + "/audit").ok);
  {
    FakeHost host(WEP_AUDIT_PLUGIN);
    Start(&host, R"({"directory": "logs/a", "file_prefix": "compliance", "fsync": false})");
    ExpectAll(host.Handle({goldens_[0]}), WEP_RESULT_DONE);
    EXPECT_EQ(host.Flush(), WEP_OK);
  }
  wep_audit::VerifyReport report =
      wep_audit::verify_directory(state_.path() + "/logs/a", "compliance");
  EXPECT_TRUE(report.ok) << report.error;
  EXPECT_EQ(report.records, 1u);
}

TEST_F(AuditPluginTest, ExtraSensitiveFieldsAreHashed) {
  WriteGoldens({{"extra_sensitive_fields",
                 {"nonce", "payload.client_id", "grants.pre_authorized_code.tx_code"}}});
  const std::string text = AllLogText(dir_.path());
  EXPECT_EQ(text.find("n-0S6_WzA2Mj"), std::string::npos);
  EXPECT_EQ(text.find("verifier.example.org\""), std::string::npos);
  EXPECT_EQ(text.find("one-time code"), std::string::npos);
  const std::vector<json> records = Records(dir_.path());
  EXPECT_EQ(records[9]["payload"]["nonce"],
            json({{"sha256", wep_audit::sha256_hex("n-0S6_WzA2Mj")}}));
  const json tx_code =
      json::parse(goldens_[3])["payload"]["grants"]["pre_authorized_code"]["tx_code"];
  EXPECT_EQ(records[3]["payload"]["grants"]["pre_authorized_code"]["tx_code"],
            json({{"sha256", wep_audit::sha256_hex(tx_code.dump())}}));
}

TEST_F(AuditPluginTest, SecondWriterOnTheSameDirectoryIsRefused) {
  FakeHost first(WEP_AUDIT_PLUGIN);
  Start(&first, Config(dir_.path()));
  FakeHost second(WEP_AUDIT_PLUGIN);
  std::string error;
  EXPECT_EQ(second.Create(Config(dir_.path()), state_.path(), &error), WEP_ERR_CONFIG);
  EXPECT_THAT(error, HasSubstr("already being written"));
  first.Destroy();
  EXPECT_EQ(second.Create(Config(dir_.path()), state_.path(), &error), WEP_OK) << error;
}

// A write fails part-way (EFBIG from RLIMIT_FSIZE): within the current file (the partial
// record is truncated away) and, with one record per file, in a new file (which is removed).
class WriteFailureTest : public AuditPluginTest, public ::testing::WithParamInterface<int> {};

TEST_P(WriteFailureTest, IsRetriedAndLeavesNoPartialRecord) {
  FakeHost host(WEP_AUDIT_PLUGIN);
  Start(&host, Config(dir_.path(), {{"max_file_bytes", GetParam()}}));
  ExpectAll(host.Handle({goldens_[0], goldens_[1], goldens_[2]}), WEP_RESULT_DONE);
  const std::string before = AllLogText(dir_.path());
  const size_t files_before = LogFiles(dir_.path()).size();

  signal(SIGXFSZ, SIG_IGN);
  rlimit old_limit;
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  rlimit limit = old_limit;
  limit.rlim_cur = fs::file_size(LogFiles(dir_.path()).back()) + 100;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &limit), 0);
  const std::vector<std::string> batch(goldens_.begin() + 3, goldens_.begin() + 9);
  std::vector<EventResult> results = host.Handle(batch);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old_limit), 0);

  ExpectAll(results, WEP_RESULT_RETRY);
  EXPECT_THAT(results[0].message, HasSubstr("File too large"));
  EXPECT_EQ(AllLogText(dir_.path()), before);
  EXPECT_EQ(LogFiles(dir_.path()).size(), files_before);
  EXPECT_EQ(host.metric("wallet_audit_records_total"), 3);

  host.next_offset = 3;  // redelivered
  ExpectAll(host.Handle(batch, nullptr, 2), WEP_RESULT_DONE);
  EXPECT_EQ(host.Flush(), WEP_OK);
  EXPECT_EQ(LogFiles(dir_.path()).size(), files_before + (GetParam() == 1 ? batch.size() : 0));
  wep_audit::VerifyReport report = wep_audit::verify_directory(dir_.path());
  EXPECT_TRUE(report.ok) << report.error;
  EXPECT_EQ(report.records, 9u);
}

INSTANTIATE_TEST_SUITE_P(SameFileAndRotation, WriteFailureTest, ::testing::Values(64 << 20, 1));

// Drives the plugin with hand-made events (the fake host only makes well-formed ones).
class RawEventTest : public AuditPluginTest {
 protected:
  static void Log(wep_host_ctx*, int32_t, wep_str msg) { logs_.emplace_back(msg.ptr, msg.len); }
  static int32_t Publish(wep_host_ctx*, wep_str, wep_str, wep_str, const wep_header*, size_t, char*,
                         size_t) {
    return WEP_ERR_UNSUPPORTED;
  }
  static int32_t Register(wep_host_ctx*, const wep_metric_desc*, wep_metric** out, char*, size_t) {
    *out = nullptr;
    return WEP_OK;
  }
  static void Record(wep_metric*, const wep_str*, size_t, double) {}
  static uint64_t Now() { return 0; }

  void SetUp() override {
    api_ = {sizeof(wep_host_api),
            WEP_ABI_MAJOR,
            WEP_ABI_MINOR,
            &Log,
            &Publish,
            &Register,
            &Record,
            &Now};
    config_ = Config(dir_.path());
    wep_instance_info info{};
    info.struct_size = sizeof info;
    info.host = &api_;
    info.config_json = {config_.data(), config_.size()};
    info.state_dir = {state_.path().data(), state_.path().size()};
    char err[256] = {0};
    ASSERT_EQ(desc().create(&info, &instance_, err, sizeof err), WEP_OK) << err;
  }
  void TearDown() override {
    if (instance_ != nullptr) desc().destroy(instance_);
  }
  const wep_plugin_descriptor& desc() { return loader_.descriptor(); }

  // Hands `raw` records at the given coordinates; returns the results.
  std::vector<EventResult> Handle(const std::vector<std::string>& raws,
                                  const std::vector<std::pair<int32_t, int64_t>>& coords) {
    std::vector<wep_event> events(raws.size());
    std::vector<wep_event_result> results(raws.size());
    std::vector<std::vector<char>> buffers(raws.size(), std::vector<char>(256));
    std::vector<const wep_event*> event_ptrs;
    std::vector<wep_event_result*> result_ptrs;
    static const std::string kTopic = "wallet.credential.issuance", kType = "CredentialIssued";
    for (size_t i = 0; i < raws.size(); ++i) {
      events[i] = wep_event{};
      events[i].struct_size = sizeof(wep_event);
      events[i].event_type = WEP_EVENT_CREDENTIAL_ISSUED;
      events[i].event_type_name = {kType.data(), kType.size()};
      events[i].raw_json = {raws[i].data(), raws[i].size()};
      events[i].topic = {kTopic.data(), kTopic.size()};
      events[i].partition = coords[i].first;
      events[i].offset = coords[i].second;
      results[i] = {sizeof(wep_event_result), WEP_RESULT_UNSET, 0, buffers[i].data(), 256};
      event_ptrs.push_back(&events[i]);
      result_ptrs.push_back(&results[i]);
    }
    wep_batch batch{sizeof batch, event_ptrs.data(), result_ptrs.data(), raws.size(), 0};
    char err[256] = {0};
    EXPECT_EQ(desc().handle_batch(instance_, &batch, err, sizeof err), WEP_OK) << err;
    std::vector<EventResult> out;
    for (auto& r : results) out.push_back({r.code, r.retry_after_ms, r.message});
    return out;
  }

  static inline std::vector<std::string> logs_;
  FakeHost loader_{WEP_AUDIT_PLUGIN};
  wep_host_api api_{};
  std::string config_;
  wep_instance* instance_ = nullptr;
};

TEST_F(RawEventTest, UnparsableRawJsonFailsWithoutQuotingIt) {
  const std::string secret = "eyJhbGciOiJFUzI1NiJ9.c2VjcmV0";
  std::vector<EventResult> results =
      Handle({"{\"event_type\":\"CredentialIssued\",\"payload\":{\"credential\":" + secret + "}}",
              "{\"event_type\":\"CredentialIssued\"}", goldens_[2]},
             {{0, 0}, {0, 1}, {0, 2}});
  EXPECT_EQ(results[0].code, WEP_RESULT_FAILED);
  EXPECT_THAT(results[0].message, HasSubstr("raw_json is not valid JSON (error at byte"));
  EXPECT_EQ(results[0].message.find("eyJ"), std::string::npos);
  EXPECT_EQ(results[1].code, WEP_RESULT_FAILED);
  EXPECT_THAT(results[1].message, HasSubstr("no payload object"));
  EXPECT_EQ(results[2].code, WEP_RESULT_DONE);
  EXPECT_EQ(Records(dir_.path()).size(), 1u);
}

TEST_F(RawEventTest, HighWaterMarksArePerTopicPartition) {
  ExpectAll(Handle({goldens_[0], goldens_[1]}, {{0, 10}, {1, 3}}), WEP_RESULT_DONE);
  ExpectAll(Handle({goldens_[2], goldens_[3], goldens_[4]}, {{1, 2}, {1, 3}, {0, 9}}),
            WEP_RESULT_DONE);
  EXPECT_EQ(Records(dir_.path()).size(), 2u);  // all three were duplicates
  ExpectAll(Handle({goldens_[5], goldens_[6]}, {{1, 4}, {2, 0}}), WEP_RESULT_DONE);
  const std::vector<json> records = Records(dir_.path());
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[2]["kafka"],
            json({{"topic", "wallet.credential.issuance"}, {"partition", 1}, {"offset", 4}}));
  EXPECT_EQ(records[3]["kafka"]["partition"], 2);
}

// ---- PayloadWriter: the fast path writes what nlohmann wrote -------------------------------

// The payload text the plugin wrote before PayloadWriter: parse, hash_fields, dump.
std::string NlohmannPayload(const std::string& raw,
                            const std::vector<wep_audit::FieldPath>& paths) {
  json payload = json::parse(raw).at("payload");
  wep_audit::hash_fields(&payload, paths);
  return payload.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::vector<wep_audit::FieldPath> WithExtras(std::vector<std::string> dotted) {
  std::vector<wep_audit::FieldPath> paths = wep_audit::default_sensitive_fields();
  for (const auto& d : dotted) {
    wep_audit::FieldPath p;
    EXPECT_TRUE(wep_audit::parse_field_path(d, &p)) << d;
    paths.push_back(p);
  }
  return paths;
}

std::string Written(wep_audit::PayloadWriter& writer, const std::string& raw) {
  std::string out;
  bool relevant = false;
  const std::string why = writer.Write(raw, "CredentialStored", &out, &relevant);
  EXPECT_EQ(why, "") << raw;
  return out;
}

TEST(AuditChainTest, Sha256MatchesTheStandardsTestVectors) {
  EXPECT_EQ(wep_audit::sha256_hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(wep_audit::sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(wep_audit::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

// Every ASCII byte at every position of strings up to 40 bytes, and multi-byte UTF-8 around
// them: escaped exactly as nlohmann escapes (the word-at-a-time scan must miss nothing).
TEST(AuditChainTest, JsonStringsAreEscapedAsNlohmannDoes) {
  for (size_t len = 0; len <= 40; ++len) {
    for (int c = 0; c < 0x80; ++c) {
      for (size_t at = 0; at < std::max<size_t>(len, 1); at += (len > 16 ? 5 : 1)) {
        std::string text(len, 'x');
        if (len > 0) text[at] = static_cast<char>(c);
        if (len > 3) text.replace(0, 2, "\xc3\xa9");  // é before it
        std::string out = "prefix:";
        wep_audit::append_json_string(&out, text);
        ASSERT_EQ(out, "prefix:" + json(text).dump())
            << "len " << len << " byte " << c << " at " << at;
      }
    }
  }
}

TEST(PayloadWriterTest, WritesTheGoldensByteForByteAsNlohmannDid) {
  for (const auto& paths :
       {wep_audit::default_sensitive_fields(),
        WithExtras({"nonce", "payload.client_id", "grants.pre_authorized_code.tx_code",
                    "metadata.wallet_id"})}) {
    wep_audit::PayloadWriter writer(paths);
    for (const auto& raw : Goldens()) EXPECT_EQ(Written(writer, raw), NlohmannPayload(raw, paths));
    EXPECT_EQ(writer.slow_writes(), 0u);  // all of them on the fast path
  }
}

TEST(PayloadWriterTest, WritesEscapesNumbersAndNestingAsNlohmannDid) {
  const auto paths = WithExtras({"secret", "deep.er.est", "list"});
  wep_audit::PayloadWriter writer(paths);
  const std::vector<std::string> payloads = {
      R"({})",
      R"({"b":1,"a":2,"B":3,"_":4,"aa":5,"":6})",
      R"({"s":"quote \" backslash \\ slash \/ tab \t nl \n cr \r bs \b ff \f )"
      R"(nul \u0000 us \u001f del )"
      "\x7f"
      R"( e\u0301 \u00e9 é 😀 \ud83d\ude00"})",
      R"({"k\"ey\n":"v","\u00e9":"x"})",
      R"({"n":[0,-0,1,-1,9223372036854775807,-9223372036854775808,18446744073709551615]})",
      R"({"d":[1.0,-0.0,6.0,1e2,1.5,0.1,1e-7,1.5e300,-2.5e-300,123456789012345678901234567890]})",
      R"({"t":true,"f":false,"z":null,"e":[],"o":{},"nest":[[[{"x":[{}]}]]]})",
      R"({"secret":{"b":[1,2,{"z":1,"a":"x"}],"a":1.0},"list":[1,"a"],)"
      R"("deep":{"er":{"est":7,"other":"kept"},"x":1}})",
      R"({"secret":null,"deep":{"er":"not an object"},"list":false})",
      R"({"secret":"plain","deep":{"er":{"est":"s"}},"credential":"c","vp_token":{"a":1}})",
  };
  for (const auto& p : payloads) {
    const std::string raw = R"({"event_type":"CredentialStored","payload":)" + p + "}";
    EXPECT_EQ(Written(writer, raw), NlohmannPayload(raw, paths)) << p;
  }
  EXPECT_LE(writer.slow_writes(), 1u);  // the integer beyond 64 bits may go through nlohmann
}

TEST(PayloadWriterTest, RepeatedNamesAndOverlappingPathsGoThroughNlohmann) {
  const auto defaults = wep_audit::default_sensitive_fields();
  wep_audit::PayloadWriter writer(defaults);
  for (const std::string p : {R"({"a":1,"a":2})", R"({"credential":"x","credential":"y"})",
                              R"({"o":{"k":1,"k":{"z":2}}})"}) {
    const std::string raw = R"({"event_type":"CredentialStored","payload":)" + p + "}";
    EXPECT_EQ(Written(writer, raw), NlohmannPayload(raw, defaults)) << p;
  }
  EXPECT_EQ(writer.slow_writes(), 3u);
  const std::string twice = R"({"event_type":"X","payload":{"a":1},"payload":{"credential":"c"}})";
  EXPECT_EQ(Written(writer, twice), NlohmannPayload(twice, defaults));

  // Overlapping or repeated paths: the order of hashing shows, as it always did.
  for (const auto& paths :
       {WithExtras({"grants.pre_authorized_code"}), WithExtras({"credential"})}) {
    wep_audit::PayloadWriter overlapping(paths);
    for (const auto& raw : Goldens())
      EXPECT_EQ(Written(overlapping, raw), NlohmannPayload(raw, paths));
    EXPECT_EQ(overlapping.slow_writes(), Goldens().size());
  }
}

TEST(PayloadWriterTest, RefusesWhatHasNoPayloadWithoutQuotingIt) {
  wep_audit::PayloadWriter writer(wep_audit::default_sensitive_fields());
  std::string out;
  bool relevant = false;
  EXPECT_EQ(writer.Write(R"({"payload":{"credential":"s3cret")", "X", &out, &relevant),
            "audit: raw_json is not valid JSON (error at byte 34)");
  EXPECT_THAT(writer.Write("", "X", &out, &relevant),
              HasSubstr("audit: raw_json is not valid JSON (error at byte"));
  EXPECT_EQ(writer.Write("{\"payload\":\"\xff\"}", "X", &out, &relevant),
            "audit: raw_json is not valid JSON (error at byte 13)");
  for (const std::string raw : {R"([1])", R"({"event_type":"X"})", R"({"payload":"s"})",
                                R"({"payload":[1]})", R"({"payload":{},"payload":null})"}) {
    EXPECT_EQ(writer.Write(raw, "X", &out, &relevant), "audit: raw_json has no payload object")
        << raw;
  }
}

TEST(PayloadWriterTest, SecurityRelevanceIsReadFromThePayload) {
  wep_audit::PayloadWriter writer(wep_audit::default_sensitive_fields());
  auto relevant = [&](std::string_view type, const std::string& payload) {
    std::string out;
    bool r = false;
    EXPECT_EQ(writer.Write(R"({"payload":)" + payload + "}", type, &out, &r), "");
    return r;
  };
  EXPECT_TRUE(relevant("KeyRevoked", "{}"));
  EXPECT_TRUE(relevant("CredentialDeleted", "{}"));
  EXPECT_FALSE(relevant("CredentialStored", "{}"));
  EXPECT_TRUE(relevant("PresentationSubmitted", R"({"holder_binding_verified":false})"));
  EXPECT_FALSE(relevant("PresentationSubmitted", R"({"holder_binding_verified":"false"})"));
  EXPECT_FALSE(relevant("PresentationVerified",
                        R"({"holder_binding_verified":true,"validation_status":"Valid"})"));
  EXPECT_TRUE(relevant("PresentationVerified", R"({"validation_status":{"Invalid":{}}})"));
  EXPECT_TRUE(relevant("PresentationVerified", R"({"validation_status":"valid"})"));
  EXPECT_TRUE(relevant("PresentationVerified", "{}"));
}

}  // namespace
