// JSON string escaping shared by the encoder and the decoder's error messages. Internal to the
// event model (not installed).
#ifndef WALLET_EVENTD_EVENTS_JSON_ESCAPE_H_
#define WALLET_EVENTD_EVENTS_JSON_ESCAPE_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace wallet_eventd::events_internal {

// Appends `text` as a JSON string literal, quotes included. Escapes '"', '\\' and control
// characters; copies valid UTF-8 as is and replaces each byte of an invalid UTF-8 sequence with
// U+FFFD, so the output is always valid JSON whatever the input. Never throws but bad_alloc.
void append_json_string(std::string& out, std::string_view text);

// `text` as a JSON string literal for an error message, cut at about `max_bytes` bytes (on a
// character boundary) with the original length noted: "abc"... (300 bytes).
std::string quote_for_message(std::string_view text, size_t max_bytes = 64);

}  // namespace wallet_eventd::events_internal

#endif  // WALLET_EVENTD_EVENTS_JSON_ESCAPE_H_
