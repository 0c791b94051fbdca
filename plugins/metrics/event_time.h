// RFC 3339 timestamps to Unix nanoseconds, for events whose wep_event.timestamp_unix_ns is 0.
// Header-only so that the plugin and its test share it; internal to the metrics plugin.
#ifndef WEP_METRICS_EVENT_TIME_H_
#define WEP_METRICS_EVENT_TIME_H_

#include <chrono>
#include <cstdint>
#include <string_view>

namespace wep_metrics {

namespace internal {
inline bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}
}  // namespace internal

// Parses "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)" ('T' may be 't' or a space, 'Z'
// may be 'z'; any number of fraction digits, truncated to nanoseconds; second 60 accepted)
// into nanoseconds since the Unix epoch, UTC. False for anything else or outside the int64
// nanosecond range (years 1678..2261).
inline bool ParseRfc3339(std::string_view s, int64_t* unix_ns) {
  using internal::Digits;
  int year, month, day, hour, minute, second;
  if (!Digits(s, 0, 4, &year) || s.size() < 20 || s[4] != '-' || !Digits(s, 5, 2, &month) ||
      s[7] != '-' || !Digits(s, 8, 2, &day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !Digits(s, 11, 2, &hour) || s[13] != ':' || !Digits(s, 14, 2, &minute) || s[16] != ':' ||
      !Digits(s, 17, 2, &second)) {
    return false;
  }
  if (hour > 23 || minute > 59 || second > 60) return false;
  std::chrono::year_month_day ymd{std::chrono::year(year),
                                  std::chrono::month(static_cast<unsigned>(month)),
                                  std::chrono::day(static_cast<unsigned>(day))};
  if (!ymd.ok()) return false;

  size_t pos = 19;
  int64_t fraction_ns = 0;
  if (s[pos] == '.') {
    ++pos;
    size_t digits = 0;
    int64_t scale = 100'000'000;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 9) {
        fraction_ns += (s[pos] - '0') * scale;
        scale /= 10;
      }
      ++digits;
      ++pos;
    }
    if (digits == 0) return false;
  }
  if (pos >= s.size()) return false;
  int64_t offset_s = 0;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    int oh, om;
    if (!Digits(s, pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !Digits(s, pos + 4, 2, &om) || oh > 23 || om > 59) {
      return false;
    }
    offset_s = (s[pos] == '+' ? 1 : -1) * (int64_t{oh} * 3600 + int64_t{om} * 60);
    pos += 6;
  } else {
    return false;
  }
  if (pos != s.size()) return false;

  int64_t days = std::chrono::sys_days(ymd).time_since_epoch().count();
  int64_t secs = days * 86400 + int64_t{hour} * 3600 + int64_t{minute} * 60 + second - offset_s;
  // int64 nanoseconds end in 2262 and start in 1677.
  constexpr int64_t kMaxSecs = INT64_MAX / 1'000'000'000 - 1;
  if (secs > kMaxSecs || secs < -kMaxSecs) return false;
  *unix_ns = secs * 1'000'000'000 + fraction_ns;
  return true;
}

}  // namespace wep_metrics

#endif  // WEP_METRICS_EVENT_TIME_H_
