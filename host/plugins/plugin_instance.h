// A created plugin instance and the host function table it talks to. The loader turns one
// `plugins:` entry of the YAML into a PluginInstance, refusing it with file:line:column when
// the library or its config is wrong.
// Thread-safety: handle_batch/flush/shutdown are called by one pipeline thread at a time; the
// host functions the plugin calls are safe from any thread.
#ifndef WALLET_EVENTD_PLUGINS_PLUGIN_INSTANCE_H_
#define WALLET_EVENTD_PLUGINS_PLUGIN_INSTANCE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "admin/metrics_registry.h"
#include "config/config.h"
#include "plugins/plugin_library.h"
#include "wallet_eventd/client.h"

struct wep_host_ctx;  // defined in plugin_instance.cc

namespace wallet_eventd::plugins {

// What the host offers every instance.
struct HostServices {
  // Publishes to "<topic prefix>.<suffix>" and waits for the broker's acknowledgement.
  std::function<Status(const std::string& topic_suffix, std::string_view key,
                       std::string_view value, const std::vector<Header>& headers)>
      publish;
  admin::MetricsRegistry* metrics = nullptr;
  std::string topic_prefix = "wallet";
  std::string state_dir;  // the daemon's; each instance gets <state_dir>/<instance>
};

class PluginInstance {
 public:
  // Calls the plugin's create with `config_json` (already validated, defaults filled in).
  static Result<std::unique_ptr<PluginInstance>> create(std::shared_ptr<PluginLibrary> library,
                                                        const std::string& instance_name,
                                                        const std::string& config_json,
                                                        const HostServices& services);
  ~PluginInstance();  // shutdown (if not done) and destroy

  const PluginInfo& info() const { return library_->info(); }
  const std::string& name() const;
  // On return `err` is NUL-terminated within err_cap, whatever the plugin wrote into it.
  int32_t handle_batch(const wep_batch* batch, char* err, size_t err_cap);
  Status flush();
  Status shutdown(uint64_t deadline_ns);

 private:
  PluginInstance() = default;
  std::shared_ptr<PluginLibrary> library_;
  std::unique_ptr<wep_host_ctx> ctx_;
  wep_instance* instance_ = nullptr;
  bool shut_down_ = false;
};

// Checks an instance's `config:` JSON against the plugin's declared keys: unknown keys (with a
// did-you-mean, unless the plugin accepts open config), wrong types, missing required keys.
// Returns the JSON with defaults filled in, or the errors located at the offending keys.
Result<std::string, std::vector<config::ConfigError>> validate_plugin_config(
    const PluginInfo& info, const config::PluginInstanceConfig& instance,
    const config::Config& file);

// The host's wep_host_api table (static; the same for every instance).
const wep_host_api* host_api();
uint64_t monotonic_ns();

}  // namespace wallet_eventd::plugins

#endif  // WALLET_EVENTD_PLUGINS_PLUGIN_INSTANCE_H_
