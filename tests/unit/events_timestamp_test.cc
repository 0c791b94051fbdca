// parse_timestamp / format_timestamp, new_uuid and EventMetadata::create.
#include <gtest/gtest.h>

#include <limits>
#include <mutex>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "events/timestamp.h"
#include "wallet_eventd/events.h"

namespace wallet_eventd {
namespace {

using namespace std::chrono_literals;

Timestamp at(int64_t ns) { return Timestamp{std::chrono::nanoseconds{ns}}; }

TEST(EventsTimestamp, FormatsUtcWithTheFewestExactFractionDigits) {
  EXPECT_EQ(format_timestamp(at(0)), "1970-01-01T00:00:00Z");
  const Timestamp t = Timestamp{} + std::chrono::seconds{1770373124};  // 2026-02-06T10:18:44Z
  EXPECT_EQ(format_timestamp(t), "2026-02-06T10:18:44Z");
  EXPECT_EQ(format_timestamp(t + 500ms), "2026-02-06T10:18:44.500Z");
  EXPECT_EQ(format_timestamp(t + 120ms), "2026-02-06T10:18:44.120Z");
  EXPECT_EQ(format_timestamp(t + 1ms), "2026-02-06T10:18:44.001Z");
  EXPECT_EQ(format_timestamp(t + 1us), "2026-02-06T10:18:44.000001Z");
  EXPECT_EQ(format_timestamp(t + 123450us), "2026-02-06T10:18:44.123450Z");
  EXPECT_EQ(format_timestamp(t + 1ns), "2026-02-06T10:18:44.000000001Z");
  EXPECT_EQ(format_timestamp(t + 123456789ns), "2026-02-06T10:18:44.123456789Z");
  EXPECT_EQ(format_timestamp(t + 999999999ns), "2026-02-06T10:18:44.999999999Z");
  // Before the epoch and at the ends of the representable range.
  EXPECT_EQ(format_timestamp(at(-1)), "1969-12-31T23:59:59.999999999Z");
  EXPECT_EQ(format_timestamp(at(std::numeric_limits<int64_t>::min())),
            "1677-09-21T00:12:43.145224192Z");
  EXPECT_EQ(format_timestamp(at(std::numeric_limits<int64_t>::max())),
            "2262-04-11T23:47:16.854775807Z");
}

TEST(EventsTimestamp, ParsesRfc3339) {
  const Timestamp t = Timestamp{} + std::chrono::seconds{1770373124};
  EXPECT_EQ(parse_timestamp("2026-02-06T10:18:44Z"), t);
  EXPECT_EQ(parse_timestamp("2026-02-06t10:18:44z"), t);
  EXPECT_EQ(parse_timestamp("2026-02-06T15:48:44+05:30"), t);
  EXPECT_EQ(parse_timestamp("2026-02-06T05:18:44-05:00"), t);
  EXPECT_EQ(parse_timestamp("2026-02-06T10:18:44.5Z"), t + 500ms);
  EXPECT_EQ(parse_timestamp("2026-02-06T10:18:44.000000001Z"), t + 1ns);
  EXPECT_EQ(parse_timestamp("2026-02-06T10:18:44.123456789123456789Z"), t + 123456789ns);
  EXPECT_EQ(parse_timestamp("1969-12-31T23:59:59.999999999Z"), at(-1));
  EXPECT_EQ(parse_timestamp("2000-02-29T00:00:00Z").has_value(), true);  // divisible by 400
  EXPECT_EQ(parse_timestamp("2024-02-29T00:00:00Z").has_value(), true);
  EXPECT_EQ(parse_timestamp("1900-02-29T00:00:00Z").has_value(), false);  // divisible by 100
  EXPECT_EQ(parse_timestamp("2100-02-29T00:00:00Z").has_value(), false);
  EXPECT_EQ(parse_timestamp("2026-12-31T23:59:59-23:59").has_value(), true);
}

TEST(EventsTimestamp, RejectsWhatIsNotRfc3339OrNotRepresentable) {
  for (std::string_view bad :
       {"yesterday", "2026-02-30T00:00:00Z", "2026-02-06T24:00:00Z", "2026-02-06T23:60:00Z",
        "2026-02-06T23:59:60Z", "2026-02-06T23:59:59", "2026-02-06T23:59:59.Z",
        "2026-02-06T23:59:59+01", "2026-02-06T23:59:59+01:00Z", "2026-02-06T23:59:59 Z",
        "2026-02-06X23:59:59Z", "20260206T235959Z", "2026-02-06T23:59:59.5.5Z",
        "1677-09-21T00:12:43.145224191Z",  // one ns before the smallest Timestamp
        "2262-04-11T23:47:16.854775808Z",  // one ns after the largest
        "0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z"}) {
    EXPECT_FALSE(parse_timestamp(bad).has_value()) << bad;
  }
  EXPECT_EQ(parse_timestamp("1677-09-21T00:12:43.145224192Z"),
            at(std::numeric_limits<int64_t>::min()));
  EXPECT_EQ(parse_timestamp("2262-04-11T23:47:16.854775807Z"),
            at(std::numeric_limits<int64_t>::max()));
  // An offset can bring an instant back into range.
  EXPECT_EQ(parse_timestamp("2262-04-12T00:47:16.854775807+01:00"),
            at(std::numeric_limits<int64_t>::max()));
}

// check_event keeps a received timestamp's text when is_canonical_utc says formatting it
// again would give the same text; it must say so exactly then.
TEST(EventsTimestamp, CanonicalUtcIsExactlyTheTextFormatWouldWrite) {
  const char* const accepted[] = {
      "2026-02-06T10:18:44Z",           "2026-02-06T10:18:44.250Z",
      "2026-02-06T10:18:44.001Z",       "2026-02-06T10:18:44.000Z",
      "2026-02-06T10:18:44.100Z",       "2026-02-06T10:18:44.5Z",
      "2026-02-06T10:18:44.12Z",        "2026-02-06T10:18:44.1234Z",
      "2026-02-06T10:18:44.000001Z",    "2026-02-06T10:18:44.000100Z",
      "2026-02-06T10:18:44.500000Z",    "2026-02-06T10:18:44.000000Z",
      "2026-02-06T10:18:44.123456789Z", "2026-02-06T10:18:44.123456000Z",
      "2026-02-06T10:18:44.000000001Z", "2026-02-06T10:18:44.000000000Z",
      "2026-02-06T10:18:44.120000000Z", "2026-02-06T10:18:44.1234567891Z",
      "2026-02-06t10:18:44Z",           "2026-02-06T10:18:44z",
      "2026-02-06T10:18:44+00:00",      "2026-02-06T10:18:44.250+01:00",
      "1677-09-21T00:12:43.145224192Z", "2262-04-11T23:47:16.854775807Z",
      "1970-01-01T00:00:00Z",           "1969-12-31T23:59:59.999Z",
  };
  for (const char* text : accepted) {
    SCOPED_TRACE(text);
    Timestamp t;
    ASSERT_EQ(events_internal::parse_rfc3339(text, &t), events_internal::TimestampStatus::kOk);
    EXPECT_EQ(events_internal::is_canonical_utc(text), format_timestamp(t) == text);
  }
  EXPECT_TRUE(events_internal::is_canonical_utc("2026-02-06T10:18:44.250Z"));
  EXPECT_FALSE(events_internal::is_canonical_utc("2026-02-06T10:18:44.000Z"));
}

TEST(EventsTimestamp, FormatThenParseIsIdentity) {
  std::mt19937_64 rng(20260206);
  std::uniform_int_distribution<int64_t> any_ns;  // the whole range
  for (int i = 0; i < 20000; ++i) {
    int64_t ns = any_ns(rng);
    // Also exercise whole seconds, milli- and microseconds.
    if (i % 4 == 1) ns -= ns % 1'000'000'000;
    if (i % 4 == 2) ns -= ns % 1'000'000;
    if (i % 4 == 3) ns -= ns % 1'000;
    const std::string text = format_timestamp(at(ns));
    ASSERT_EQ(parse_timestamp(text), at(ns)) << text;
    const size_t dot = text.find('.');
    if (dot != std::string::npos) {
      const size_t digits = text.size() - dot - 2;
      const int64_t frac = ((ns % 1'000'000'000) + 1'000'000'000) % 1'000'000'000;
      EXPECT_NE(frac, 0) << text;
      if (digits == 6) {
        EXPECT_NE(frac % 1'000'000, 0) << text;
      }
      if (digits == 9) {
        EXPECT_NE(frac % 1'000, 0) << text;
      }
      EXPECT_TRUE(digits == 3 || digits == 6 || digits == 9) << text;
    } else {
      EXPECT_EQ(ns % 1'000'000'000, 0) << text;
    }
  }
}

TEST(EventsUuid, IsLowerCaseVersion4) {
  const std::regex v4("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    const std::string id = new_uuid();
    ASSERT_TRUE(std::regex_match(id, v4)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 10000u);
}

TEST(EventsUuid, IsUniqueAcrossThreads) {
  std::mutex mu;
  std::set<std::string> seen;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      std::vector<std::string> mine;
      for (int i = 0; i < 2000; ++i) mine.push_back(new_uuid());
      std::lock_guard lock(mu);
      seen.insert(mine.begin(), mine.end());
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(seen.size(), 8000u);
}

TEST(EventsMetadata, CreateFillsEveryField) {
  const auto before = std::chrono::system_clock::now();
  const EventMetadata m = EventMetadata::create("corr-1", "wallet-1");
  const auto after = std::chrono::system_clock::now();
  EXPECT_EQ(m.event_id.size(), 36u);
  EXPECT_EQ(m.event_id[14], '4');
  EXPECT_GE(m.timestamp, before);
  EXPECT_LE(m.timestamp, after);
  EXPECT_EQ(m.correlation_id, "corr-1");
  EXPECT_EQ(m.wallet_id, "wallet-1");
  EXPECT_EQ(m.schema_version, "1.0.0");
  EXPECT_NE(EventMetadata::create("c", "w").event_id, EventMetadata::create("c", "w").event_id);
}

}  // namespace
}  // namespace wallet_eventd
