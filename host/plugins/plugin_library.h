// One plugin shared library, loaded through Boost.DLL and checked against the ABI: the file is
// a root- or daemon-owned, not group/other-writable ELF shared object (sha256 as pinned), it
// exports wep_plugin_entry, and its descriptor is large enough and of our major version.
// Thread-safety: immutable after load().
#ifndef WALLET_EVENTD_PLUGINS_PLUGIN_LIBRARY_H_
#define WALLET_EVENTD_PLUGINS_PLUGIN_LIBRARY_H_

#include <boost/dll/shared_library.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "wallet_event_plugin.h"
#include "wallet_eventd/result.h"

namespace wallet_eventd::plugins {

struct ConfigKeyInfo {
  std::string name;
  int32_t type = 0;
  bool required = false;
  std::optional<std::string> default_json;
  std::string description;
};

// What `plugins inspect` prints; copied out of the descriptor.
struct PluginInfo {
  std::string file;
  std::string name, version, vendor, description;
  uint32_t abi_major = 0, abi_minor = 0, min_host_abi_minor = 0;
  uint32_t flags = 0;
  uint64_t subscriptions = 0;  // WEP_EVENT_BIT()s; 0 = all
  std::vector<ConfigKeyInfo> config_keys;
  bool thread_safe() const { return (flags & WEP_PLUGIN_THREAD_SAFE) != 0; }
  bool open_config() const { return (flags & WEP_PLUGIN_OPEN_CONFIG) != 0; }
  bool subscribes(int32_t event_type) const;
};

std::string_view config_type_name(int32_t type);  // "string", "int", ...

struct LoadOptions {
  std::optional<std::string> sha256;  // lower- or upper-case hex; checked when set
  bool check_permissions = true;      // off only for `plugins inspect` of a file in hand
};

class PluginLibrary {
 public:
  // Every refusal names the file and the reason.
  static Result<std::shared_ptr<PluginLibrary>> load(const std::string& path,
                                                     const LoadOptions& options = {});
  const PluginInfo& info() const { return info_; }
  const wep_plugin_descriptor* descriptor() const { return descriptor_; }
  // Whether the descriptor includes `field` (for hooks appended after 1.0).
  size_t descriptor_size() const { return descriptor_->struct_size; }

 private:
  PluginLibrary() = default;
  boost::dll::shared_library lib_;
  const wep_plugin_descriptor* descriptor_ = nullptr;
  PluginInfo info_;
};

// Resolves `path` from the YAML: a name without '/' (e.g. "audit") is a built-in looked up in
// the plugin directory; anything else is a file path.
std::string resolve_plugin_path(const std::string& path, const std::string& plugin_dir);
// The directory built-ins are looked up in: `configured` if set, else $WALLET_EVENTD_PLUGIN_DIR,
// else the build tree's plugins/ for the daemon of that build tree, else the install directory.
std::string default_plugin_dir(const std::string& configured);

// SHA-256 of a file as lower-case hex.
Result<std::string> sha256_file(const std::string& path);

}  // namespace wallet_eventd::plugins

#endif  // WALLET_EVENTD_PLUGINS_PLUGIN_LIBRARY_H_
