// RFC 3339 parsing with a reason, and allocation-free formatting. Internal to the event model;
// the public entry points are parse_timestamp / format_timestamp in wallet_eventd/events.h.
#ifndef WALLET_EVENTD_EVENTS_TIMESTAMP_H_
#define WALLET_EVENTD_EVENTS_TIMESTAMP_H_

#include <string>
#include <string_view>

#include "wallet_eventd/events.h"

namespace wallet_eventd::events_internal {

enum class TimestampStatus {
  kOk,
  kNotRfc3339,  // syntax, or a date/time that does not exist (Feb 30, 24:00, leap second 60)
  kOutOfRange,  // valid RFC 3339 but outside what Timestamp holds (1677-09-21..2262-04-11 UTC)
};

// Accepts `YYYY-MM-DD(T|t)hh:mm:ss[.fraction](Z|z|+hh:mm|-hh:mm)` with any number of fraction
// digits (truncated to nanoseconds) and converts to UTC. On kOk stores the instant in *out.
TimestampStatus parse_rfc3339(std::string_view text, Timestamp* out);

// Appends format_timestamp(t) to `out`.
void append_timestamp(std::string& out, Timestamp t);

// For a `text` that parse_rfc3339 accepted: true when format_timestamp of the parsed instant
// is `text` itself (UTC with an upper-case T and Z, and the fewest exact fraction digits of
// 0, 3, 6 or 9), so that the text can be kept instead of written again.
bool is_canonical_utc(std::string_view text);

}  // namespace wallet_eventd::events_internal

#endif  // WALLET_EVENTD_EVENTS_TIMESTAMP_H_
