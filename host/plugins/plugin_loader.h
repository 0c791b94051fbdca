// Turns the `plugins:` list of the YAML into checked, ready-to-create instances. Every refusal
// is a ConfigError at the entry's line: missing or unloadable file, ABI mismatch, unsafe
// permissions, sha256 mismatch, unknown or mistyped config keys, event filters the plugin
// does not subscribe to.
#ifndef WALLET_EVENTD_PLUGINS_PLUGIN_LOADER_H_
#define WALLET_EVENTD_PLUGINS_PLUGIN_LOADER_H_

#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "plugins/plugin_instance.h"
#include "plugins/plugin_library.h"

namespace wallet_eventd::plugins {

struct PreparedInstance {
  config::PluginInstanceConfig config;
  std::shared_ptr<PluginLibrary> library;
  std::string resolved_path;
  std::string config_json;  // validated, defaults filled in
  uint64_t type_mask = 0;   // bit per EventType number it receives
};

// Loads the library of every enabled instance (all instances if include_disabled) and checks
// its config. Reports every error found.
Result<std::vector<PreparedInstance>, std::vector<config::ConfigError>> prepare_instances(
    const config::Config& cfg, bool include_disabled = false);

// Creates the instances; on the first refusal, destroys those already created and returns the
// refusal located at the entry.
Result<std::vector<std::unique_ptr<PluginInstance>>, std::vector<config::ConfigError>>
create_instances(const config::Config& cfg, const std::vector<PreparedInstance>& prepared,
                 const HostServices& services);

// Lets every plugin judge its own config without a bus: creates and destroys each instance
// with a scratch state directory (publishing is refused meanwhile). Empty when all accept.
// `check-config` and `run` (before it touches the bus) use it, so a config a plugin refuses
// never half-starts the daemon.
std::vector<config::ConfigError> check_instances(const config::Config& cfg,
                                                 const std::vector<PreparedInstance>& prepared);

}  // namespace wallet_eventd::plugins

#endif  // WALLET_EVENTD_PLUGINS_PLUGIN_LOADER_H_
