// libFuzzer target: the event decoder (wallet_eventd::decode_event) on arbitrary record bytes.
// Besides "no crash, no sanitizer report" it checks two properties of every input:
//   - a rejection always has a known code and a non-empty reason;
//   - an accepted event survives encode_event and decodes again to the same value.
// See docs/fuzzing.md; tests/fuzz/run.sh builds and runs it.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "wallet_eventd/events.h"

namespace {

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "decode_fuzz: %s\n%s\n", what, detail.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wallet_eventd;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto decoded = decode_event(input);
  if (!decoded.ok()) {
    const DecodeError& e = decoded.error();
    if (decode_error_code_name(e.code) == "unknown") fail("rejection with an unknown code", "");
    if (e.reason.empty()) fail("rejection without a reason", e.message());
    return 0;
  }
  const std::string encoded = encode_event(decoded.value());
  auto again = decode_event(encoded);
  if (!again.ok()) fail("an accepted event does not decode after encode_event", encoded);
  if (!(again.value() == decoded.value()))
    fail("decode(encode(event)) differs from the event", encoded);
  return 0;
}
