// Typing of YAML scalars (the YAML 1.2 core schema) for the config loader. Internal to config/.
#ifndef WALLET_EVENTD_CONFIG_YAML_SCALAR_H_
#define WALLET_EVENTD_CONFIG_YAML_SCALAR_H_

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "wallet_eventd/result.h"

namespace wallet_eventd::config {

enum class ScalarKind { kNull, kBool, kInt, kFloat, kString };

struct TypedScalar {
  ScalarKind kind = ScalarKind::kString;
  std::string text;        // as written (the value itself for strings)
  bool boolean = false;    // kBool
  bool negative = false;   // kInt: the sign
  uint64_t magnitude = 0;  // kInt: |value| (saturated when overflow)
  bool overflow = false;   // kInt: |value| does not fit 64 bits
  double number = 0;       // kFloat (may be inf or nan)
};

// Resolves a null or scalar node: plain scalars are typed by the core schema (null: ~ null
// Null NULL and empty; bool: true/True/TRUE/false/...; int: decimal, 0x hex, 0o octal; float:
// decimal with fraction or exponent, .inf, .nan); quoted and block scalars are strings; the
// tags !!str !!int !!float !!bool !!null are honoured. The error is a sentence (an unknown
// tag, or text that does not fit its tag).
Result<TypedScalar, std::string> resolve_scalar(const YAML::Node& node);

// How a plain (untagged, unquoted) scalar with this text would be typed.
TypedScalar resolve_plain(std::string_view text);

// How a value reads in an error message: `string "abc"`, `integer 5`, `float 1.5`,
// `boolean true`, `null`, `a mapping`, `a list`.
std::string describe(const YAML::Node& node);

// `text` in double quotes, escaped and cut to a readable length.
std::string quote(std::string_view text);

}  // namespace wallet_eventd::config

#endif  // WALLET_EVENTD_CONFIG_YAML_SCALAR_H_
