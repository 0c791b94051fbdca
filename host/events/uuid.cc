// UUIDs: the text check used by the decoder and random (v4) generation.
#include "events/uuid.h"

#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <random>

#include "wallet_eventd/events.h"

namespace wallet_eventd {
namespace events_internal {

namespace {

// A table rather than comparisons: every record's event_id goes through here on the
// consumer's and the publisher's hot paths.
constexpr std::array<bool, 256> kHex = [] {
  std::array<bool, 256> hex{};
  for (int c = '0'; c <= '9'; ++c) hex[c] = true;
  for (int c = 'a'; c <= 'f'; ++c) hex[c] = hex[c - 'a' + 'A'] = true;
  return hex;
}();

bool all_hex(const char* p, size_t n) {
  bool ok = true;
  for (size_t i = 0; i < n; ++i) ok &= kHex[static_cast<unsigned char>(p[i])];
  return ok;
}

}  // namespace

bool is_uuid(std::string_view text) {
  // 8-4-4-4-12 hex digits of either case.
  if (text.size() != 36 || text[8] != '-' || text[13] != '-' || text[18] != '-' ||
      text[23] != '-') {
    return false;
  }
  const char* p = text.data();
  return all_hex(p, 8) && all_hex(p + 9, 4) && all_hex(p + 14, 4) && all_hex(p + 19, 4) &&
         all_hex(p + 24, 12);
}

}  // namespace events_internal

namespace {

// 16 random bytes from the kernel's CSPRNG: thread-safe and fork-safe with no state of ours.
// Falls back to a random_device-seeded generator only if getrandom(2) is unavailable.
void random_bytes(uint8_t (&bytes)[16]) {
  size_t got = 0;
  while (got < sizeof bytes) {
    const ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
    if (n > 0) {
      got += static_cast<size_t>(n);
    } else if (n < 0 && errno != EINTR) {
      break;
    }
  }
  if (got == sizeof bytes) return;
  thread_local std::mt19937_64 fallback = [] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd(), rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }();
  for (size_t i = 0; i < sizeof bytes; i += 8) {
    uint64_t v = fallback();
    for (size_t k = 0; k < 8; ++k) bytes[i + k] = static_cast<uint8_t>(v >> (8 * k));
  }
}

}  // namespace

std::string new_uuid() {
  uint8_t b[16];
  random_bytes(b);
  b[6] = static_cast<uint8_t>((b[6] & 0x0F) | 0x40);  // version 4
  b[8] = static_cast<uint8_t>((b[8] & 0x3F) | 0x80);  // variant 10xx (RFC 4122)
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(36, '-');
  size_t pos = 0;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) ++pos;  // skip the hyphen
    out[pos++] = kHex[b[i] >> 4];
    out[pos++] = kHex[b[i] & 0x0F];
  }
  return out;
}

}  // namespace wallet_eventd
