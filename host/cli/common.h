// Pieces every subcommand shares: loading the config with its errors printed, and Ctrl-C.
#ifndef WALLET_EVENTD_CLI_COMMON_H_
#define WALLET_EVENTD_CLI_COMMON_H_

#include <atomic>
#include <optional>
#include <string>

#include "config/config.h"

namespace wallet_eventd::cli {

// Loads the config, or prints every error (file:line:column) and returns nullopt.
std::optional<config::Config> load_config_or_print(const std::string& path);

// Set by SIGINT/SIGTERM once install_interrupt_handler() ran; long loops poll it.
extern std::atomic<bool> g_interrupted;
void install_interrupt_handler();

}  // namespace wallet_eventd::cli

#endif  // WALLET_EVENTD_CLI_COMMON_H_
