// libFuzzer target: the config loader (wallet_eventd::config::parse_config) on arbitrary YAML
// text. Besides "no crash, no sanitizer report, no exception" it checks that every refusal
// carries a message, and that a location, when known, is a sane line:column.
// See docs/fuzzing.md; tests/fuzz/run.sh builds and runs it.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wallet_eventd::config;
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto parsed = parse_config(text, "/fuzz/wallet-eventd.yaml");
  if (parsed.ok()) return 0;
  if (parsed.error().empty()) {
    std::fprintf(stderr, "config_fuzz: refused without any error\n");
    std::abort();
  }
  for (const ConfigError& e : parsed.error()) {
    if (e.message.empty() || e.where.line < 0 || e.where.column < 0 ||
        (e.where.known() && e.where.column == 0)) {
      std::fprintf(stderr, "config_fuzz: malformed error: %s\n", e.format().c_str());
      std::abort();
    }
  }
  return 0;
}
