// RFC 3339 timestamps <-> nanoseconds since the Unix epoch (UTC).
//
// Thread-safety: the functions are reentrant.
#ifndef WEP_SECURITY_RFC3339_H_
#define WEP_SECURITY_RFC3339_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wep_security {

// Parses "2026-02-06T10:18:43.123456789Z": any offset ("Z", "z", "+02:00", "-05:30"), any
// number of fraction digits (digits past the 9th are truncated), 'T', 't' or ' ' between date
// and time. Returns nullopt for anything else or for an instant outside the int64 range.
std::optional<int64_t> ParseRfc3339(std::string_view text);

// Formats as UTC with 'Z' and the fewest of 0, 3, 6 or 9 fraction digits that is exact.
std::string FormatRfc3339(int64_t unix_ns);

}  // namespace wep_security

#endif  // WEP_SECURITY_RFC3339_H_
