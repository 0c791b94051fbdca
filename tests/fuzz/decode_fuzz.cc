// libFuzzer target: the event decoder (wallet_eventd::decode_event) on arbitrary record bytes.
// Besides "no crash, no sanitizer report" it checks three properties of every input:
//   - a rejection always has a known code and a non-empty reason;
//   - check_event (the host's path) accepts and rejects exactly what decode_event does, with
//     the same error, and reports the same type and metadata;
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
  std::string text = "kept";
  auto checked = check_event(input, &text);
  if (decoded.ok() != checked.ok()) fail("check_event and decode_event disagree", "");
  if (!decoded.ok()) {
    const DecodeError& e = decoded.error();
    if (decode_error_code_name(e.code) == "unknown") fail("rejection with an unknown code", "");
    if (e.reason.empty()) fail("rejection without a reason", e.message());
    if (checked.error().code != e.code || checked.error().message() != e.message())
      fail("check_event rejects with another error", checked.error().message());
    if (text != "kept") fail("a rejecting check_event changed the text", text);
    return 0;
  }
  const EventMetadata& m = metadata_of(decoded.value());
  const CheckedEvent& c = checked.value();
  if (c.type != type_of(decoded.value()) || c.timestamp != m.timestamp ||
      text.compare(0, 4, "kept") != 0 || c.event_id.in(text) != m.event_id ||
      c.correlation_id.in(text) != m.correlation_id || c.wallet_id.in(text) != m.wallet_id ||
      c.schema_version.in(text) != m.schema_version ||
      c.timestamp_text.in(text) != format_timestamp(m.timestamp))
    fail("check_event reports other metadata than decode_event", text);
  const std::string encoded = encode_event(decoded.value());
  auto again = decode_event(encoded);
  if (!again.ok()) fail("an accepted event does not decode after encode_event", encoded);
  if (!(again.value() == decoded.value()))
    fail("decode(encode(event)) differs from the event", encoded);
  return 0;
}
