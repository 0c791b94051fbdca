#include "plugins/plugin_loader.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>

#include "admin/metrics_registry.h"
#include "config/suggest.h"

#include "wallet_eventd/events.h"

namespace wallet_eventd::plugins {
namespace {

std::string entry_key(size_t index) { return "plugins[" + std::to_string(index) + "]"; }

}  // namespace

Result<std::vector<PreparedInstance>, std::vector<config::ConfigError>> prepare_instances(
    const config::Config& cfg, bool include_disabled) {
  std::vector<PreparedInstance> out;
  std::vector<config::ConfigError> errors;
  const std::string plugin_dir = default_plugin_dir(cfg.plugin_dir);
  for (size_t i = 0; i < cfg.plugins.size(); ++i) {
    const auto& inst = cfg.plugins[i];
    if (!inst.enabled && !include_disabled) continue;
    const std::string key = entry_key(i);
    PreparedInstance p;
    p.config = inst;
    p.resolved_path = resolve_plugin_path(inst.path, plugin_dir);
    LoadOptions opts;
    opts.sha256 = inst.sha256;
    auto lib = PluginLibrary::load(p.resolved_path, opts);
    if (!lib.ok()) {
      std::string hint;
      if (inst.path.find('/') == std::string::npos) {
        hint = "built-in plugins are looked up in " + plugin_dir + " (set plugin_dir to change)";
        std::vector<std::string> builtins;
        std::error_code ec;
        for (const auto& entry : std::filesystem::directory_iterator(plugin_dir, ec))
          if (entry.path().extension() == ".so") builtins.push_back(entry.path().stem().string());
        if (auto guess = config::suggest(inst.path, builtins))
          hint = "did you mean `" + *guess + "`? " + hint;
      }
      errors.push_back(cfg.error(key + ".path", lib.error().message, hint));
      continue;
    }
    p.library = lib.value();
    const PluginInfo& info = p.library->info();
    auto json = validate_plugin_config(info, inst, cfg);
    if (!json.ok()) {
      errors.insert(errors.end(), json.error().begin(), json.error().end());
      continue;
    }
    p.config_json = json.value();
    if (inst.events.empty()) {
      for (EventType t : all_event_types())
        if (info.subscribes(static_cast<int32_t>(t)))
          p.type_mask |= WEP_EVENT_BIT(static_cast<int32_t>(t));
      if (p.type_mask == 0) {  // e.g. built for a later ABI minor, for its new types only
        char mask[24];
        std::snprintf(mask, sizeof mask, "0x%llx",
                      static_cast<unsigned long long>(info.subscriptions));
        errors.push_back(cfg.error(key + ".path", "plugin `" + info.name +
                                                      "` subscribes to no event type this host "
                                                      "knows (subscriptions " +
                                                      mask + "): it would never get an event"));
        continue;
      }
    } else {
      for (size_t e = 0; e < inst.events.size(); ++e) {
        auto t = parse_event_type(inst.events[e]);
        if (!t) continue;  // the config loader already refused it
        int32_t n = static_cast<int32_t>(*t);
        if (!info.subscribes(n)) {
          errors.push_back(
              cfg.error(key + ".events[" + std::to_string(e) + "]",
                        "plugin `" + info.name + "` does not handle " + inst.events[e]));
          continue;
        }
        p.type_mask |= WEP_EVENT_BIT(n);
      }
    }
    out.push_back(std::move(p));
  }
  if (!errors.empty()) return errors;
  return out;
}

Result<std::vector<std::unique_ptr<PluginInstance>>, std::vector<config::ConfigError>>
create_instances(const config::Config& cfg, const std::vector<PreparedInstance>& prepared,
                 const HostServices& services) {
  std::vector<std::unique_ptr<PluginInstance>> out;
  for (const auto& p : prepared) {
    auto inst = PluginInstance::create(p.library, p.config.name, p.config_json, services);
    if (!inst.ok()) {
      size_t index = 0;
      for (; index < cfg.plugins.size(); ++index)
        if (cfg.plugins[index].name == p.config.name) break;
      config::ConfigError e = cfg.error(entry_key(index) + ".config", inst.error().message);
      if (!e.where.known()) e.where = p.config.config_location;
      // Plugins name the key first ("max_file_bytes must be ...", "issuers[...].token_file:
      // ..."): point at that key's line when the message starts with one of the block's keys.
      const std::string& why = inst.error().message;
      const auto reason_at = why.find("rejected its config: ");
      if (reason_at != std::string::npos) {
        const std::string reason = why.substr(reason_at + 21);
        size_t best = 0;
        for (const auto& [key, where] : p.config.config_locations) {
          if (key.size() <= best || reason.compare(0, key.size(), key) != 0) continue;
          const char next = reason.size() > key.size() ? reason[key.size()] : ' ';
          if (next != ' ' && next != ':' && next != '[' && next != '.') continue;
          best = key.size();
          e.where = where;
        }
      }
      return std::vector<config::ConfigError>{e};
    }
    out.push_back(std::move(inst).value());
  }
  return out;
}

std::vector<config::ConfigError> check_instances(const config::Config& cfg,
                                                 const std::vector<PreparedInstance>& prepared) {
  static std::atomic<int> counter{0};
  std::error_code ec;
  const auto scratch =
      std::filesystem::temp_directory_path() /
      ("wallet-eventd-check-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::create_directories(scratch, ec);
  std::filesystem::permissions(scratch, std::filesystem::perms::owner_all, ec);
  HostServices services;
  services.topic_prefix = cfg.topics.prefix;
  services.state_dir = scratch.string();
  admin::MetricsRegistry metrics;
  services.metrics = &metrics;
  std::vector<config::ConfigError> errors;
  {
    auto created = create_instances(cfg, prepared, services);
    if (!created.ok()) errors = created.error();
  }  // instances destroyed here, before their scratch directory goes
  std::filesystem::remove_all(scratch, ec);
  return errors;
}

}  // namespace wallet_eventd::plugins
