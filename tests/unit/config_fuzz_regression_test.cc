// Inputs found by the config loader's fuzz target (tests/fuzz/config_fuzz.cc) that once went
// wrong; each must be refused promptly with a located syntax error. The raw reproducers are in
// tests/fuzz/corpus/config/crash-*.yaml.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>

#include "config/config.h"

namespace wallet_eventd::config {
namespace {

// yaml-cpp 0.7's LoadAll never returned on a `,` outside [ ] or { } (an endless series of
// empty documents, memory growing); the loader hung instead of exiting 78.
TEST(ConfigFuzzRegression, StrayCommaIsASyntaxErrorNotAHang) {
  struct Case {
    const char* text;
    int line, column;
  };
  for (const Case& c : {Case{",\n", 1, 1}, Case{"  , the key\nbus:\n  embedded: true\n", 1, 3},
                        Case{"bus:\n  embedded: true\n---\n,,\n", 4, 1}}) {
    SCOPED_TRACE(c.text);
    auto run = std::async(std::launch::async, [&] { return parse_config(c.text, "f.yaml"); });
    if (run.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
      std::fprintf(stderr, "parse_config did not return within 10 s\n");
      std::abort();  // the future's destructor would wait for it forever
    }
    auto parsed = run.get();
    ASSERT_FALSE(parsed.ok());
    ASSERT_EQ(parsed.error().size(), 1u);
    const ConfigError& e = parsed.error()[0];
    EXPECT_EQ(e.message, "YAML syntax error: unexpected `,`");
    EXPECT_EQ(e.where.line, c.line);
    EXPECT_EQ(e.where.column, c.column);
    EXPECT_NE(e.hint.find("inside [ ] or { }"), std::string::npos) << e.hint;
  }
}

}  // namespace
}  // namespace wallet_eventd::config
