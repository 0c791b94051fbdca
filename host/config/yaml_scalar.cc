#include "config/yaml_scalar.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <string_view>

namespace wallet_eventd::config {
namespace {

constexpr std::string_view kTagStr = "tag:yaml.org,2002:str";
constexpr std::string_view kTagInt = "tag:yaml.org,2002:int";
constexpr std::string_view kTagFloat = "tag:yaml.org,2002:float";
constexpr std::string_view kTagBool = "tag:yaml.org,2002:bool";
constexpr std::string_view kTagNull = "tag:yaml.org,2002:null";

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool parse_null(std::string_view s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

bool parse_bool(std::string_view s, bool* out) {
  if (s == "true" || s == "True" || s == "TRUE") {
    *out = true;
    return true;
  }
  if (s == "false" || s == "False" || s == "FALSE") {
    *out = false;
    return true;
  }
  return false;
}

// Accumulates digits of `base`; false when a character is not a digit of that base.
bool accumulate(std::string_view digits, unsigned base, TypedScalar* out) {
  if (digits.empty()) return false;
  uint64_t value = 0;
  bool overflow = false;
  for (char c : digits) {
    unsigned d;
    if (is_digit(c)) {
      d = static_cast<unsigned>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      d = static_cast<unsigned>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      d = static_cast<unsigned>(c - 'A' + 10);
    } else {
      return false;
    }
    if (d >= base) return false;
    if (value > (std::numeric_limits<uint64_t>::max() - d) / base) {
      overflow = true;
      value = std::numeric_limits<uint64_t>::max();
    } else if (!overflow) {
      value = value * base + d;
    }
  }
  out->magnitude = value;
  out->overflow = overflow;
  return true;
}

bool parse_int(std::string_view s, TypedScalar* out) {
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
    out->negative = false;
    return accumulate(s.substr(2), s[1] == 'x' ? 16 : 8, out);
  }
  std::string_view digits = s;
  out->negative = false;
  if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) {
    out->negative = digits[0] == '-';
    digits.remove_prefix(1);
  }
  return accumulate(digits, 10, out);
}

// [-+]? ( \.[0-9]+ | [0-9]+ ( \.[0-9]* )? ) ( [eE] [-+]? [0-9]+ )?   and .inf / .nan
bool parse_float(std::string_view s, double* out) {
  std::string_view body = s;
  bool negative = false;
  if (!body.empty() && (body[0] == '-' || body[0] == '+')) {
    negative = body[0] == '-';
    body.remove_prefix(1);
  }
  if (body == ".inf" || body == ".Inf" || body == ".INF") {
    *out = negative ? -std::numeric_limits<double>::infinity()
                    : std::numeric_limits<double>::infinity();
    return true;
  }
  if (s == ".nan" || s == ".NaN" || s == ".NAN") {
    *out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  size_t i = 0;
  size_t int_digits = 0, frac_digits = 0;
  while (i < body.size() && is_digit(body[i])) ++i, ++int_digits;
  if (i < body.size() && body[i] == '.') {
    ++i;
    while (i < body.size() && is_digit(body[i])) ++i, ++frac_digits;
  }
  if (int_digits == 0 && frac_digits == 0) return false;
  if (i < body.size() && (body[i] == 'e' || body[i] == 'E')) {
    ++i;
    if (i < body.size() && (body[i] == '-' || body[i] == '+')) ++i;
    size_t exp_digits = 0;
    while (i < body.size() && is_digit(body[i])) ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  if (i != body.size()) return false;
  // from_chars wants no sign and a digit before a trailing '.'.
  std::string normalized(body);
  if (normalized.front() == '.') normalized.insert(normalized.begin(), '0');
  double value = 0;
  auto [ptr, ec] = std::from_chars(normalized.data(), normalized.data() + normalized.size(), value);
  if (ec == std::errc::result_out_of_range) {
    value = std::numeric_limits<double>::infinity();
  } else if (ec != std::errc() || ptr != normalized.data() + normalized.size()) {
    return false;
  }
  *out = negative ? -value : value;
  return true;
}

}  // namespace

std::string quote(std::string_view text) {
  constexpr size_t kMax = 60;
  std::string out = "\"";
  size_t n = 0;
  for (char c : text) {
    if (n++ == kMax) {
      out += "...";
      break;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += c;
    }
  }
  out += '"';
  return out;
}

TypedScalar resolve_plain(std::string_view s) {
  TypedScalar out;
  out.text = std::string(s);
  if (parse_null(s)) {
    out.kind = ScalarKind::kNull;
  } else if (parse_bool(s, &out.boolean)) {
    out.kind = ScalarKind::kBool;
  } else if (parse_int(s, &out)) {
    out.kind = ScalarKind::kInt;
  } else if (parse_float(s, &out.number)) {
    out.kind = ScalarKind::kFloat;
  }
  return out;
}

Result<TypedScalar, std::string> resolve_scalar(const YAML::Node& node) {
  TypedScalar out;
  if (node.IsNull()) {
    out.kind = ScalarKind::kNull;
    return out;
  }
  out.text = node.Scalar();
  const std::string& tag = node.Tag();
  if (tag == "!" || tag == kTagStr) return out;  // quoted / block scalar, or !!str
  const std::string_view s = out.text;
  if (tag == "?" || tag.empty()) return resolve_plain(s);
  if (tag == kTagNull) {
    if (!parse_null(s)) return std::string("`!!null` tag on ") + quote(s);
    out.kind = ScalarKind::kNull;
  } else if (tag == kTagBool) {
    if (!parse_bool(s, &out.boolean)) return std::string("`!!bool` tag on ") + quote(s);
    out.kind = ScalarKind::kBool;
  } else if (tag == kTagInt) {
    if (!parse_int(s, &out)) return std::string("`!!int` tag on ") + quote(s);
    out.kind = ScalarKind::kInt;
  } else if (tag == kTagFloat) {
    if (parse_int(s, &out)) {
      out.number = static_cast<double>(out.magnitude) * (out.negative ? -1 : 1);
    } else if (!parse_float(s, &out.number)) {
      return std::string("`!!float` tag on ") + quote(s);
    }
    out.kind = ScalarKind::kFloat;
  } else {
    return "unsupported tag `" + tag + "`";
  }
  return out;
}

std::string describe(const YAML::Node& node) {
  if (node.IsMap()) return "a mapping";
  if (node.IsSequence()) return "a list";
  auto typed = resolve_scalar(node);
  if (!typed.ok()) return "a value with an " + typed.error();
  const TypedScalar& v = typed.value();
  switch (v.kind) {
    case ScalarKind::kNull:
      return "null";
    case ScalarKind::kBool:
      return std::string("boolean ") + (v.boolean ? "true" : "false");
    case ScalarKind::kInt:
      return "integer " + v.text;
    case ScalarKind::kFloat:
      return "float " + v.text;
    case ScalarKind::kString:
      break;
  }
  return "string " + quote(v.text);
}

}  // namespace wallet_eventd::config
