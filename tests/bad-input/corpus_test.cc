// The bad-input corpus against the decoder alone (no broker): every record is rejected with
// the code and reason MANIFEST.tsv promises, and the corpus covers every rejection class of
// DecodeErrorCode. The same records go through the real broker and the daemon in
// tests/integration/bad_input_test.cc.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "bad_input.h"
#include "wallet_eventd/events.h"

namespace {

using wallet_eventd::decode_error_code_name;
using wallet_eventd::decode_event;
using wallet_eventd::DecodeErrorCode;

std::vector<wep_bad_input::BadRecord> all_records() {
  auto records = wep_bad_input::committed_records(WEP_BAD_INPUT_DIR);
  auto big = wep_bad_input::oversized_records(
      wep_bad_input::read_binary(WEP_GOLDEN_DIR "/wire/valid/KeyCreated.json"));
  records.insert(records.end(), big.begin(), big.end());
  return records;
}

TEST(BadInputCorpus, EveryRecordIsRejectedWithTheManifestReason) {
  const auto records = all_records();
  ASSERT_GE(records.size(), 40u);
  std::set<std::string> names;
  for (const auto& r : records) {
    SCOPED_TRACE(r.name);
    EXPECT_TRUE(names.insert(r.name).second) << "listed twice";
    auto decoded = decode_event(r.value);
    ASSERT_FALSE(decoded.ok()) << "decoded, but is in the bad-input corpus";
    EXPECT_EQ(decode_error_code_name(decoded.error().code), r.error_code)
        << decoded.error().message();
    EXPECT_NE(decoded.error().message().find(r.error_part), std::string::npos)
        << "message: " << decoded.error().message() << "\nexpected to contain: " << r.error_part;
  }
}

TEST(BadInputCorpus, CoversEveryRejectionClass) {
  std::map<std::string, int> by_code;
  for (const auto& r : all_records()) ++by_code[r.error_code];
  for (int c = static_cast<int>(DecodeErrorCode::kMalformedJson);
       c <= static_cast<int>(DecodeErrorCode::kUnsupportedVersion); ++c) {
    const std::string name(decode_error_code_name(static_cast<DecodeErrorCode>(c)));
    EXPECT_GE(by_code[name], 1) << "no record of class " << name;
  }
  for (const auto& [code, n] : by_code) std::printf("  %-20s %3d records\n", code.c_str(), n);
}

TEST(BadInputCorpus, TopicSuffixesAreWalletTopics) {
  const auto& suffixes = wallet_eventd::all_topic_suffixes();
  for (const auto& r : all_records()) {
    EXPECT_NE(std::find(suffixes.begin(), suffixes.end(), r.topic_suffix), suffixes.end())
        << r.name << ": " << r.topic_suffix;
  }
}

}  // namespace
