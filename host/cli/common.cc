#include "cli/common.h"

#include <signal.h>

#include <cstdio>

namespace wallet_eventd::cli {

std::optional<config::Config> load_config_or_print(const std::string& path) {
  auto loaded = config::load_config(path);
  if (!loaded.ok()) {
    std::fputs(config::format_errors(loaded.error()).c_str(), stderr);
    return std::nullopt;
  }
  return std::move(loaded).value();
}

std::atomic<bool> g_interrupted{false};

void install_interrupt_handler() {
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_interrupted = true; };
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

}  // namespace wallet_eventd::cli
