// The loader's refusals, each with its message, and the frozen 1.0 fixture plugin.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "config/config.h"
#include "plugins/plugin_loader.h"

namespace wallet_eventd::plugins {
namespace {

namespace fs = std::filesystem;
const std::string kPlugins = WEP_BINARY_DIR "/test-plugins/";

fs::path temp_dir() {
  std::string tmpl = (fs::temp_directory_path() / "wep-loader-XXXXXX").string();
  return mkdtemp(tmpl.data());
}

std::string load_error(const std::string& path, LoadOptions opts = {}) {
  auto lib = PluginLibrary::load(path, opts);
  EXPECT_FALSE(lib.ok()) << path << " loaded but should not";
  return lib.ok() ? "" : lib.error().message;
}

// Built-ins by name: the configured directory, else $WALLET_EVENTD_PLUGIN_DIR, else the build
// tree's plugins/ for this build tree's daemon only. Another binary (this test's, an installed
// daemon in /usr/bin) never takes a "plugins" directory beside it: it used to, so an installed
// daemon looked in /usr/bin/plugins before the install directory.
TEST(PluginLoader, TheDefaultPluginDirectoryIsNeverTheOneBesideAnotherBinary) {
  const fs::path beside = fs::read_symlink("/proc/self/exe").parent_path() / "plugins";
  ASSERT_NE(beside.parent_path(), fs::path(WEP_BUILD_PLUGIN_DIR).parent_path());
  const bool made = fs::create_directory(beside);
  ::unsetenv("WALLET_EVENTD_PLUGIN_DIR");
  const std::string chosen = default_plugin_dir("");
  ::setenv("WALLET_EVENTD_PLUGIN_DIR", "/opt/vendor/plugins", 1);
  const std::string from_env = default_plugin_dir("");
  const std::string configured = default_plugin_dir("/etc/x");
  ::unsetenv("WALLET_EVENTD_PLUGIN_DIR");
  if (made) fs::remove(beside);
  EXPECT_EQ(chosen, WEP_DEFAULT_PLUGIN_DIR);
  EXPECT_EQ(from_env, "/opt/vendor/plugins");
  EXPECT_EQ(configured, "/etc/x");
}

TEST(PluginLoader, LoadsAPluginAndReadsItsDescriptor) {
  auto lib = PluginLibrary::load(kPlugins + "recorder.so");
  ASSERT_TRUE(lib.ok()) << lib.error().message;
  const PluginInfo& info = lib.value()->info();
  EXPECT_EQ(info.name, "recorder");
  EXPECT_EQ(info.version, "1.0.0");
  EXPECT_EQ(info.abi_major, 1u);
  EXPECT_EQ(info.config_keys.size(), 6u);
  EXPECT_EQ(info.config_keys[0].name, "output");
  EXPECT_TRUE(info.config_keys[0].required);
  EXPECT_TRUE(info.subscribes(WEP_EVENT_KEY_REVOKED));
}

TEST(PluginLoader, RefusesAMissingFile) {
  EXPECT_EQ(load_error("/nonexistent/x.so"), "plugin /nonexistent/x.so: no such file");
}

TEST(PluginLoader, RefusesAFileThatIsNotASharedLibrary) {
  auto dir = temp_dir();
  std::ofstream(dir / "text.so") << "#!/bin/sh\necho hi\n";
  EXPECT_NE(load_error((dir / "text.so").string()).find("not a shared library (no ELF header)"),
            std::string::npos);
  fs::remove_all(dir);
}

TEST(PluginLoader, RefusesALibraryWithoutTheEntryPoint) {
  EXPECT_NE(load_error(kPlugins + "recorder_noentry.so").find("does not export wep_plugin_entry"),
            std::string::npos);
}

TEST(PluginLoader, RefusesAnAbiMajorMismatchNamingBothVersions) {
  EXPECT_NE(load_error(kPlugins + "recorder_abi2.so")
                .find("plugin ABI 2.0 is incompatible with host ABI 1.0 (major versions differ)"),
            std::string::npos);
}

TEST(PluginLoader, RefusesADescriptorThatIsTooSmall) {
  EXPECT_NE(load_error(kPlugins + "recorder_small.so").find("descriptor too small (40 bytes"),
            std::string::npos);
}

TEST(PluginLoader, RefusesFilesOrDirectoriesWritableByOthers) {
  auto dir = temp_dir();
  fs::copy_file(kPlugins + "recorder.so", dir / "r.so");
  chmod((dir / "r.so").c_str(), 0666);
  EXPECT_NE(load_error((dir / "r.so").string()).find("is writable by group or others (mode 0666)"),
            std::string::npos);
  chmod((dir / "r.so").c_str(), 0755);
  chmod(dir.c_str(), 0777);
  EXPECT_NE(load_error((dir / "r.so").string()).find("its directory"), std::string::npos);
  chmod(dir.c_str(), 0700);
  EXPECT_TRUE(PluginLibrary::load((dir / "r.so").string()).ok());
  fs::remove_all(dir);
}

TEST(PluginLoader, RefusesAFileOwnedByAnotherUser) {
  if (geteuid() != 0) GTEST_FAIL() << "needs root to chown (CI runs as root)";
  auto dir = temp_dir();
  fs::copy_file(kPlugins + "recorder.so", dir / "r.so");
  ASSERT_EQ(chown((dir / "r.so").c_str(), 12345, 12345), 0);
  EXPECT_NE(load_error((dir / "r.so").string()).find("is owned by uid 12345"), std::string::npos);
  fs::remove_all(dir);
}

TEST(PluginLoader, ChecksAPinnedSha256) {
  LoadOptions opts;
  opts.sha256 = std::string(64, 'a');
  EXPECT_NE(load_error(kPlugins + "recorder.so", opts).find("sha256 mismatch"), std::string::npos);
  auto digest = sha256_file(kPlugins + "recorder.so");
  ASSERT_TRUE(digest.ok());
  opts.sha256 = digest.value();
  EXPECT_TRUE(PluginLibrary::load(kPlugins + "recorder.so", opts).ok());
}

config::Config parse(const std::string& yaml) {
  auto cfg = config::parse_config(yaml, "/tmp/test.yaml");
  if (!cfg.ok()) ADD_FAILURE() << config::format_errors(cfg.error());
  return std::move(cfg).value();
}

std::string base_yaml() {
  return "bus:\n  embedded: true\nplugin_dir: " WEP_BINARY_DIR "/test-plugins\nplugins:\n";
}

// The plugins of base_yaml() + `plugins`, which prepare_instances must refuse: its errors as
// the operator reads them (empty, and a failure, if it accepts them).
std::string refusal(const std::string& plugins) {
  auto prepared = prepare_instances(parse(base_yaml() + plugins));
  if (prepared.ok()) {
    ADD_FAILURE() << "prepare_instances accepted:\n" << plugins;
    return "";
  }
  return config::format_errors(prepared.error());
}

TEST(PluginLoader, RefusesUnknownConfigKeysWithASuggestion) {
  auto cfg =
      parse(base_yaml() + "  - name: rec\n    path: recorder\n    config:\n      outptu: /tmp/x\n");
  auto prepared = prepare_instances(cfg);
  ASSERT_FALSE(prepared.ok());
  const auto& errors = prepared.error();
  ASSERT_GE(errors.size(), 1u);
  std::string text = config::format_errors(errors);
  EXPECT_NE(text.find("/tmp/test.yaml:8:7: plugins[rec].config.outptu: unknown key for plugin "
                      "`recorder`"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("did you mean `output`?"), std::string::npos) << text;
  // The required key is missing too, and both are reported.
  EXPECT_NE(text.find("plugins[rec].config.output: required"), std::string::npos) << text;
}

TEST(PluginLoader, RefusesWronglyTypedConfigValues) {
  std::string text = refusal(
      "  - name: rec\n    path: recorder\n    config:\n      output: /tmp/x\n"
      "      fail_every: often\n");
  EXPECT_NE(text.find(":9:7: plugins[rec].config.fail_every: expected int, got string \"often\""),
            std::string::npos)
      << text;
}

TEST(PluginLoader, FillsInDefaults) {
  auto cfg =
      parse(base_yaml() + "  - name: rec\n    path: recorder\n    config:\n      output: /tmp/x\n");
  auto prepared = prepare_instances(cfg);
  ASSERT_TRUE(prepared.ok()) << config::format_errors(prepared.error());
  EXPECT_EQ(
      prepared.value()[0].config_json,
      R"({"fail_every":0,"output":"/tmp/x","reject":false,"retry_every":0,"retry_times":0,"sleep_ms":0})");
}

TEST(PluginLoader, ReportsAMissingBuiltInWithWhereItLooked) {
  std::string text = refusal("  - name: x\n    path: nosuchplugin\n");
  EXPECT_NE(text.find("/tmp/test.yaml:6:11: plugins[0].path: plugin " WEP_BINARY_DIR
                      "/test-plugins/nosuchplugin.so: no such file"),
            std::string::npos)
      << text;
}

// An instance reads the topics of its types: one that knows none of this host's types would
// subscribe to nothing. Refused with the plugin's mask instead of starting idle.
TEST(PluginLoader, RefusesAPluginThatSubscribesToNoTypeThisHostKnows) {
  std::string text = refusal(
      "  - name: later\n    path: recorder_future_types\n    config:\n      output: /tmp/x\n");
  EXPECT_NE(text.find("/tmp/test.yaml:6:11: plugins[0].path: plugin `recorder` subscribes to "
                      "no event type this host knows (subscriptions 0x10000000000): it would "
                      "never get an event"),
            std::string::npos)
      << text;
}

TEST(PluginLoader, ReportsTheDuplicateInstanceName) {
  auto cfg = config::parse_config(base_yaml() +
                                      "  - name: a\n    path: recorder\n"
                                      "  - name: a\n    path: recorder\n",
                                  "/tmp/test.yaml");
  ASSERT_FALSE(cfg.ok());
  std::string text = config::format_errors(cfg.error());
  EXPECT_NE(text.find("/tmp/test.yaml:7"), std::string::npos) << text;
  EXPECT_NE(text.find("duplicate"), std::string::npos) << text;
}

TEST(PluginLoader, PassesOnThePluginsOwnRefusal) {
  auto cfg = parse(base_yaml() +
                   "  - name: rec\n    path: recorder\n    config:\n      output: /tmp/x\n"
                   "      reject: true\n");
  auto prepared = prepare_instances(cfg);
  ASSERT_TRUE(prepared.ok());
  HostServices services;
  auto created = create_instances(cfg, prepared.value(), services);
  ASSERT_FALSE(created.ok());
  std::string text = config::format_errors(created.error());
  EXPECT_NE(text.find("plugin `recorder` rejected its config: reject is true: refusing as asked"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("/tmp/test.yaml:"), std::string::npos) << text;
}

// A plugin built against the frozen 1.0 header loads into this host and handles events.
TEST(PluginAbi, FrozenOnePointZeroPluginWorksInThisHost) {
  auto lib = PluginLibrary::load(kPlugins + "recorder_v1_0.so");
  ASSERT_TRUE(lib.ok()) << lib.error().message;
  auto dir = temp_dir();
  const std::string out = (dir / "seen.txt").string();
  HostServices services;
  auto inst = PluginInstance::create(lib.value(), "old", "{\"output\":\"" + out + "\"}", services);
  ASSERT_TRUE(inst.ok()) << inst.error().message;

  const std::string raw = R"({"event_type":"KeyRevoked","payload":{}})";
  wep_event e{};
  e.struct_size = sizeof e;
  e.event_type = WEP_EVENT_KEY_REVOKED;
  e.event_type_name = {"KeyRevoked", 10};
  e.event_id = {"0f0e2d3c-4b5a-4978-8796-a5b4c3d2e101", 36};
  e.raw_json = {raw.data(), raw.size()};
  e.topic = {"wallet.key.operations", 21};
  e.offset = 42;
  e.delivery_attempt = 1;
  char msg[256] = {0};
  wep_event_result r{sizeof r, WEP_RESULT_UNSET, 0, msg, sizeof msg};
  const wep_event* events[] = {&e};
  wep_event_result* results[] = {&r};
  wep_batch batch{sizeof batch, events, results, 1, 0};
  char err[256];
  EXPECT_EQ(inst.value()->handle_batch(&batch, err, sizeof err), WEP_OK);
  EXPECT_EQ(r.code, WEP_RESULT_DONE);
  inst.value().reset();
  std::ifstream in(out);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line,
            "0f0e2d3c-4b5a-4978-8796-a5b4c3d2e101 KeyRevoked wallet.key.operations 0 42 1 done");
  fs::remove_all(dir);
}

// A plugin that fills `err` without the NUL the ABI asks for: the host reads no byte past the
// buffer (under ASan an over-read fails this test outright) and reports the text it holds.
TEST(PluginInstance, ReadsAnUnterminatedErrorTextNoFurtherThanItsBuffer) {
  auto lib = PluginLibrary::load(kPlugins + "recorder_unterminated.so");
  ASSERT_TRUE(lib.ok()) << lib.error().message;
  HostServices services;
  const std::string xs(1023, 'x');  // the host's buffers are 1024 bytes

  auto refused = PluginInstance::create(lib.value(), "u", R"({"reject":true})", services);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("rejected its config: " + xs + " (code 2)"),
            std::string::npos)
      << refused.error().message;

  auto dir = temp_dir();
  auto inst = PluginInstance::create(
      lib.value(), "u", "{\"output\":\"" + (dir / "seen.txt").string() + "\"}", services);
  ASSERT_TRUE(inst.ok()) << inst.error().message;

  // handle_batch: the text is cut at err_cap - 1, and nothing beyond err_cap is touched.
  char err[48];
  std::memset(err, '#', sizeof err);
  wep_batch batch{sizeof batch, nullptr, nullptr, 0, 0};
  EXPECT_EQ(inst.value()->handle_batch(&batch, err, 32), WEP_ERR_INTERNAL);
  EXPECT_EQ(std::string(err), std::string(31, 'x'));
  EXPECT_EQ(std::string(err + 32, 16), std::string(16, '#'));

  Status flushed = inst.value()->flush();
  ASSERT_FALSE(flushed.ok());
  EXPECT_EQ(flushed.error().message, "instance u: flush failed: " + xs);
  Status shut = inst.value()->shutdown(monotonic_ns() + 1'000'000'000ull);
  ASSERT_FALSE(shut.ok());
  EXPECT_EQ(shut.error().message, "instance u: shutdown: " + xs);
  inst.value().reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace wallet_eventd::plugins
