#include "plugins/plugin_library.h"

#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace wallet_eventd::plugins {
namespace {

Error refuse(const std::string& path, const std::string& why) {
  return Error{Error::Code::kInvalidArgument, "plugin " + path + ": " + why};
}

std::string describe_mode(mode_t m) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

// The file and its directory must not be writable by group or others, and be owned by root
// or by the user the daemon runs as: otherwise anyone who can write them runs code as us.
Status check_ownership(const std::string& path) {
  std::filesystem::path p = std::filesystem::absolute(path);
  const uid_t self = geteuid();
  for (const std::filesystem::path& target : {p, p.parent_path()}) {
    struct stat st;
    if (stat(target.c_str(), &st) != 0)
      return refuse(path, target.string() + ": " + std::strerror(errno));
    const bool is_dir = S_ISDIR(st.st_mode);
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
      return refuse(path, std::string(is_dir ? "its directory " : "the file ") + target.string() +
                              " is writable by group or others (mode " + describe_mode(st.st_mode) +
                              "); run chmod go-w on it");
    }
    if (st.st_uid != 0 && st.st_uid != self) {
      return refuse(path, std::string(is_dir ? "its directory " : "the file ") + target.string() +
                              " is owned by uid " + std::to_string(st.st_uid) +
                              ", not by root or by the daemon's user (uid " + std::to_string(self) +
                              ")");
    }
  }
  return Status::Ok();
}

std::string cstr(const char* s) { return s != nullptr ? s : ""; }

}  // namespace

bool PluginInfo::subscribes(int32_t event_type) const {
  if (subscriptions == WEP_EVENT_ALL) return true;
  if (event_type < 0 || event_type >= 64) return false;
  return (subscriptions & WEP_EVENT_BIT(event_type)) != 0;
}

std::string_view config_type_name(int32_t type) {
  switch (type) {
    case WEP_CONFIG_STRING:
      return "string";
    case WEP_CONFIG_INT:
      return "int";
    case WEP_CONFIG_DOUBLE:
      return "number";
    case WEP_CONFIG_BOOL:
      return "bool";
    case WEP_CONFIG_STRING_LIST:
      return "list of strings";
    case WEP_CONFIG_OBJECT:
      return "object";
    case WEP_CONFIG_LIST:
      return "list";
    default:
      return "unknown";
  }
}

Result<std::string> sha256_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{Error::Code::kInvalidArgument, path + ": " + std::strerror(errno)};
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  char buf[1 << 16];
  while (in) {
    in.read(buf, sizeof buf);
    if (in.gcount() > 0) EVP_DigestUpdate(ctx, buf, static_cast<size_t>(in.gcount()));
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

Result<std::shared_ptr<PluginLibrary>> PluginLibrary::load(const std::string& path,
                                                           const LoadOptions& options) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return refuse(path, "no such file");
    return refuse(path, std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return refuse(path, "not a regular file");
  {
    std::ifstream in(path, std::ios::binary);
    char magic[4] = {0, 0, 0, 0};
    in.read(magic, 4);
    if (!in || std::memcmp(magic,
                           "\x7f"
                           "ELF",
                           4) != 0)
      return refuse(path, "not a shared library (no ELF header)");
  }
  if (options.check_permissions) {
    Status s = check_ownership(path);
    if (!s.ok()) return s.error();
  }
  if (options.sha256) {
    auto digest = sha256_file(path);
    if (!digest.ok()) return refuse(path, digest.error().message);
    std::string want = *options.sha256;
    std::transform(want.begin(), want.end(), want.begin(), ::tolower);
    if (digest.value() != want)
      return refuse(path,
                    "sha256 mismatch: the file is " + digest.value() + ", the config pins " + want);
  }

  std::shared_ptr<PluginLibrary> lib(new PluginLibrary());
  boost::dll::fs::error_code ec;
  lib->lib_.load(path, ec, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  if (ec) {
    const char* why = dlerror();
    return refuse(path, "cannot be loaded: " + (why != nullptr ? std::string(why) : ec.message()));
  }
  if (!lib->lib_.has(WEP_ENTRY_SYMBOL))
    return refuse(path,
                  "does not export wep_plugin_entry (is it a wallet-eventd plugin? "
                  "declare it with WEP_PLUGIN_ENTRY)");
  auto entry = lib->lib_.get<const wep_plugin_descriptor*(const wep_host_info*)>(WEP_ENTRY_SYMBOL);
  wep_host_info host{sizeof(wep_host_info), WEP_ABI_MAJOR, WEP_ABI_MINOR, WEP_VERSION};
  const wep_plugin_descriptor* d = entry(&host);
  if (d == nullptr)
    return refuse(path, "wep_plugin_entry returned no descriptor (the plugin declined host ABI " +
                            std::to_string(WEP_ABI_MAJOR) + "." + std::to_string(WEP_ABI_MINOR) +
                            ")");
  // Read the version fields first: they are at the same place in every major.
  const size_t min_size = WEP_STRUCT_SIZE(wep_plugin_descriptor, abi_minor);
  if (d->struct_size < min_size)
    return refuse(path, "descriptor too small (" + std::to_string(d->struct_size) +
                            " bytes; even the version fields need " + std::to_string(min_size) +
                            ")");
  if (d->abi_major != WEP_ABI_MAJOR)
    return refuse(path, "plugin ABI " + std::to_string(d->abi_major) + "." +
                            std::to_string(d->abi_minor) + " is incompatible with host ABI " +
                            std::to_string(WEP_ABI_MAJOR) + "." + std::to_string(WEP_ABI_MINOR) +
                            " (major versions differ); rebuild the plugin against this SDK");
  const size_t v1_size = WEP_STRUCT_SIZE(wep_plugin_descriptor, shutdown);
  if (d->struct_size < v1_size)
    return refuse(path, "descriptor too small (" + std::to_string(d->struct_size) +
                            " bytes; ABI 1.0 needs " + std::to_string(v1_size) + ")");
  if (d->min_host_abi_minor > WEP_ABI_MINOR)
    return refuse(path, "needs host ABI 1." + std::to_string(d->min_host_abi_minor) +
                            " or later; this host offers " + std::to_string(WEP_ABI_MAJOR) + "." +
                            std::to_string(WEP_ABI_MINOR));
  if (d->create == nullptr || d->destroy == nullptr || d->handle_batch == nullptr)
    return refuse(path, "descriptor lacks create, destroy or handle_batch");
  if (d->name == nullptr || *d->name == '\0') return refuse(path, "descriptor has no name");
  for (const char* c = d->name; *c != '\0'; ++c) {
    if (!(std::islower(static_cast<unsigned char>(*c)) ||
          std::isdigit(static_cast<unsigned char>(*c)) || *c == '_' || *c == '-'))
      return refuse(path, "plugin name \"" + std::string(d->name) + "\" is not [a-z0-9_-]+");
  }

  PluginInfo& info = lib->info_;
  info.file = path;
  info.name = d->name;
  info.version = cstr(d->version);
  info.vendor = cstr(d->vendor);
  info.description = cstr(d->description);
  info.abi_major = d->abi_major;
  info.abi_minor = d->abi_minor;
  info.min_host_abi_minor = d->min_host_abi_minor;
  info.flags = d->flags;
  info.subscriptions = d->subscriptions;
  for (size_t i = 0; i < d->config_key_count; ++i) {
    const wep_config_key* k = d->config_keys != nullptr ? d->config_keys[i] : nullptr;
    if (k == nullptr || k->struct_size < WEP_STRUCT_SIZE(wep_config_key, description) ||
        k->name == nullptr)
      return refuse(path, "config key #" + std::to_string(i) + " is malformed");
    info.config_keys.push_back(
        {k->name, k->type, k->required != 0,
         k->default_json != nullptr ? std::optional<std::string>(k->default_json) : std::nullopt,
         cstr(k->description)});
  }
  lib->descriptor_ = d;
  return lib;
}

std::string default_plugin_dir(const std::string& configured) {
  if (!configured.empty()) return configured;
  if (const char* env = std::getenv("WALLET_EVENTD_PLUGIN_DIR"); env != nullptr && *env != '\0')
    return env;
  // A daemon run from its own build tree uses the plugins built there. Any other copy, the
  // installed one in particular, never looks beside itself: /usr/bin/plugins is nobody's plugin
  // directory.
  std::error_code ec;
  const std::filesystem::path built(WEP_BUILD_PLUGIN_DIR);
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec && std::filesystem::equivalent(exe.parent_path(), built.parent_path(), ec) &&
      std::filesystem::is_directory(built, ec))
    return built.string();
  return WEP_DEFAULT_PLUGIN_DIR;
}

std::string resolve_plugin_path(const std::string& path, const std::string& plugin_dir) {
  if (path.find('/') != std::string::npos) return path;
  return (std::filesystem::path(plugin_dir) / (path + ".so")).string();
}

}  // namespace wallet_eventd::plugins
