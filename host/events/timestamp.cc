// RFC 3339 timestamps: parse any offset and fraction length, emit UTC with Z.
#include "events/timestamp.h"

#include <chrono>
#include <cstdint>

namespace wallet_eventd {
namespace events_internal {
namespace {

using std::chrono::days;
using std::chrono::nanoseconds;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly `n` digits at text[pos..]; false if any is not a digit.
bool read_digits(std::string_view text, size_t pos, size_t n, int* value) {
  if (pos + n > text.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!is_digit(text[i])) return false;
    v = v * 10 + (text[i] - '0');
  }
  *value = v;
  return true;
}

void put2(char* p, unsigned v) {
  p[0] = static_cast<char>('0' + v / 10);
  p[1] = static_cast<char>('0' + v % 10);
}

}  // namespace

TimestampStatus parse_rfc3339(std::string_view text, Timestamp* out) {
  // Fixed part: YYYY-MM-DDThh:mm:ss (19 characters).
  int year, month, day, hour, minute, second;
  if (!read_digits(text, 0, 4, &year) || text.size() < 19 || text[4] != '-' ||
      !read_digits(text, 5, 2, &month) || text[7] != '-' || !read_digits(text, 8, 2, &day) ||
      (text[10] != 'T' && text[10] != 't') || !read_digits(text, 11, 2, &hour) || text[13] != ':' ||
      !read_digits(text, 14, 2, &minute) || text[16] != ':' || !read_digits(text, 17, 2, &second)) {
    return TimestampStatus::kNotRfc3339;
  }
  // Leap seconds (ss = 60) cannot be represented by a sys_time and are refused.
  if (hour > 23 || minute > 59 || second > 59) return TimestampStatus::kNotRfc3339;
  const std::chrono::year_month_day ymd{std::chrono::year{year},
                                        std::chrono::month{static_cast<unsigned>(month)},
                                        std::chrono::day{static_cast<unsigned>(day)}};
  if (!ymd.ok()) return TimestampStatus::kNotRfc3339;

  size_t pos = 19;
  int64_t fraction_ns = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    const size_t first = pos;
    int64_t scale = 100'000'000;
    while (pos < text.size() && is_digit(text[pos])) {
      fraction_ns += (text[pos] - '0') * scale;  // digits beyond the 9th are truncated
      scale /= 10;
      ++pos;
    }
    if (pos == first) return TimestampStatus::kNotRfc3339;
  }

  int64_t offset_seconds = 0;
  if (pos >= text.size()) return TimestampStatus::kNotRfc3339;
  if (text[pos] == 'Z' || text[pos] == 'z') {
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    int oh, om;
    if (!read_digits(text, pos + 1, 2, &oh) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
        !read_digits(text, pos + 4, 2, &om) || oh > 23 || om > 59) {
      return TimestampStatus::kNotRfc3339;
    }
    offset_seconds = (text[pos] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    pos += 6;
  } else {
    return TimestampStatus::kNotRfc3339;
  }
  if (pos != text.size()) return TimestampStatus::kNotRfc3339;

  // Local time minus offset = UTC. Years are at most 9999, so seconds fit easily in int64;
  // the nanosecond count may not.
  const int64_t day_number = std::chrono::sys_days{ymd}.time_since_epoch().count();
  const int64_t seconds = day_number * 86400 + hour * 3600 + minute * 60 + second - offset_seconds;
  // Before the epoch, (seconds + 1) * 1e9 - (1e9 - fraction): this reaches down to INT64_MIN,
  // where seconds * 1e9 would overflow before the fraction is added.
  const bool borrow = seconds < 0 && fraction_ns != 0;
  int64_t ns;
  if (__builtin_mul_overflow(seconds + (borrow ? 1 : 0), int64_t{1'000'000'000}, &ns) ||
      __builtin_add_overflow(ns, borrow ? fraction_ns - 1'000'000'000 : fraction_ns, &ns)) {
    return TimestampStatus::kOutOfRange;
  }
  *out = Timestamp{nanoseconds{ns}};
  return TimestampStatus::kOk;
}

void append_timestamp(std::string& out, Timestamp t) {
  // Plain integer arithmetic: chrono's floor<days> would overflow near the ends of the range.
  const int64_t ns = t.time_since_epoch().count();
  int64_t seconds = ns / 1'000'000'000;
  auto frac = static_cast<int32_t>(ns % 1'000'000'000);
  if (frac < 0) {
    frac += 1'000'000'000;
    --seconds;
  }
  int64_t day_number = seconds / 86400;
  int64_t secs_of_day = seconds % 86400;
  if (secs_of_day < 0) {
    secs_of_day += 86400;
    --day_number;
  }
  const std::chrono::year_month_day ymd{std::chrono::sys_days{days{day_number}}};

  // A Timestamp (int64 ns) spans years 1677..2262: always four digits.
  char buf[32];
  const auto y = static_cast<unsigned>(static_cast<int>(ymd.year()));
  put2(buf, y / 100);
  put2(buf + 2, y % 100);
  buf[4] = '-';
  put2(buf + 5, static_cast<unsigned>(ymd.month()));
  buf[7] = '-';
  put2(buf + 8, static_cast<unsigned>(ymd.day()));
  buf[10] = 'T';
  put2(buf + 11, static_cast<unsigned>(secs_of_day / 3600));
  buf[13] = ':';
  put2(buf + 14, static_cast<unsigned>(secs_of_day / 60 % 60));
  buf[16] = ':';
  put2(buf + 17, static_cast<unsigned>(secs_of_day % 60));
  size_t len = 19;
  if (frac != 0) {
    // The fewest of 3, 6 or 9 digits that keep the value exact.
    int digits = 9;
    auto value = static_cast<uint32_t>(frac);
    if (frac % 1'000'000 == 0) {
      digits = 3;
      value = frac / 1'000'000;
    } else if (frac % 1'000 == 0) {
      digits = 6;
      value = frac / 1'000;
    }
    buf[len++] = '.';
    for (int i = digits - 1; i >= 0; --i) {
      buf[len + i] = static_cast<char>('0' + value % 10);
      value /= 10;
    }
    len += digits;
  }
  buf[len++] = 'Z';
  out.append(buf, len);
}

bool is_canonical_utc(std::string_view text) {
  // YYYY-MM-DDThh:mm:ss is 19 characters; a fraction adds a dot and 3, 6 or 9 digits.
  const size_t n = text.size();
  if (n < 20 || text[10] != 'T' || text[n - 1] != 'Z') return false;
  switch (n) {
    case 20:
      return true;
    case 24:  // .fff: append_timestamp writes no fraction for .000
      return text.substr(20, 3) != "000";
    case 27:  // .ffffff: it writes 3 digits when the last 3 are zero
    case 30:  // .fffffffff: likewise 6
      return text.substr(n - 4, 3) != "000";
    default:
      return false;
  }
}

}  // namespace events_internal

std::string format_timestamp(Timestamp t) {
  std::string out;
  events_internal::append_timestamp(out, t);
  return out;
}

std::optional<Timestamp> parse_timestamp(std::string_view text) {
  Timestamp t;
  if (events_internal::parse_rfc3339(text, &t) != events_internal::TimestampStatus::kOk)
    return std::nullopt;
  return t;
}

}  // namespace wallet_eventd
