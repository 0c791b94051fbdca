// The YAML config loader: values, defaults, every error class with its exact location and
// hint, the shipped config files, and the tests/bad-config corpus.
#include "config/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "config/suggest.h"

namespace wallet_eventd::config {
namespace {

namespace fs = std::filesystem;

std::vector<ConfigError> errors_of(const std::string& yaml) {
  auto r = parse_config(yaml, "test.yaml");
  if (r.ok()) return {};
  return r.error();
}

// The only error of `yaml`, formatted; fails the test when there is not exactly one.
std::string only_error(const std::string& yaml) {
  auto errors = errors_of(yaml);
  EXPECT_EQ(errors.size(), 1u) << format_errors(errors);
  return errors.empty() ? "" : errors.front().format();
}

Config parse_ok(const std::string& yaml, const std::string& file = "test.yaml") {
  auto r = parse_config(yaml, file);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : format_errors(r.error()));
  return r.ok() ? r.value() : Config{};
}

std::string cwd() { return fs::current_path().lexically_normal().string(); }

constexpr const char* kEmbedded = "bus: {embedded: true}\n";

// ---- suggest -------------------------------------------------------------------------------

TEST(Suggest, FindsTyposAndNothingFarAway) {
  const std::vector<std::string> keys = {"embedded", "embedded_partitions", "bootstrap_servers",
                                         "properties"};
  EXPECT_EQ(suggest("bootstrap_server", keys), "bootstrap_servers");
  EXPECT_EQ(suggest("bootstarp_servers", keys), "bootstrap_servers");  // transposition
  EXPECT_EQ(suggest("Embedded", keys), "embedded");                    // case only
  EXPECT_EQ(suggest("propertise", keys), "properties");
  EXPECT_EQ(suggest("zzz", keys), std::nullopt);
  EXPECT_EQ(suggest("", keys), std::nullopt);
  EXPECT_EQ(suggest("warning", {"trace", "debug", "info", "warn", "error"}), "warn");
  EXPECT_EQ(suggest("x", {"db"}), std::nullopt);  // short words do not match anything
  EXPECT_EQ(edit_distance("ab", "ba"), 1u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
}

// ---- Valid files ---------------------------------------------------------------------------

TEST(Config, MinimalFileGetsAllDefaults) {
  Config c = parse_ok("bus:\n  bootstrap_servers: \"localhost:9092\"\n");
  EXPECT_EQ(c.file, "test.yaml");
  EXPECT_EQ(c.dir, cwd());
  EXPECT_FALSE(c.bus.embedded);
  EXPECT_EQ(c.bus.embedded_partitions, 3u);
  EXPECT_EQ(c.bus.bootstrap_servers, "localhost:9092");
  EXPECT_TRUE(c.bus.properties.empty());
  EXPECT_EQ(c.topics.prefix, "wallet");
  EXPECT_EQ(c.topics.dlq, "wallet.dlq");
  EXPECT_EQ(c.topics.alerts, "wallet.security.alerts");
  EXPECT_TRUE(c.topics.create);
  EXPECT_EQ(c.topics.partitions, 3u);
  EXPECT_EQ(c.topics.replication_factor, 1u);
  EXPECT_EQ(c.topics.topic_for("credential.storage"), "wallet.credential.storage");
  EXPECT_EQ(c.consumer.group_prefix, "wallet-eventd");
  EXPECT_EQ(c.consumer.batch_size, 64u);
  EXPECT_EQ(c.consumer.batch_timeout_ms, 0u);
  EXPECT_EQ(c.consumer.handler_timeout_ms, 30000u);
  EXPECT_EQ(c.consumer.max_record_bytes, 1048576u);
  EXPECT_EQ(c.consumer.max_depth, 32u);
  EXPECT_EQ(c.consumer.auto_offset_reset, OffsetReset::kEarliest);
  EXPECT_TRUE(c.dlq.enabled);
  EXPECT_EQ(c.dlq.max_replays, 3u);
  EXPECT_TRUE(c.admin.enabled);
  EXPECT_EQ(c.admin.listen, "127.0.0.1:9464");
  EXPECT_EQ(c.admin.address, (HostPort{"127.0.0.1", 9464}));
  EXPECT_EQ(c.logging.level, LogLevel::kInfo);
  EXPECT_EQ(c.logging.format, LogFormat::kText);
  EXPECT_EQ(c.state_dir, "/var/lib/wallet-eventd");
  EXPECT_EQ(c.plugin_dir, "");
  EXPECT_EQ(c.shutdown_timeout_ms, 10000u);
  EXPECT_FALSE(c.demo.enabled);
  EXPECT_EQ(c.demo.wallets, 3u);
  EXPECT_EQ(c.demo.interval_ms, 1000u);
  EXPECT_EQ(c.demo.notification_server, "127.0.0.1:0");
  EXPECT_EQ(c.demo.notification_address, (HostPort{"127.0.0.1", 0}));
  EXPECT_TRUE(c.plugins.empty());
  EXPECT_EQ(c.location_of("bus.bootstrap_servers"), (SourceLocation{"test.yaml", 2, 22}));
  EXPECT_EQ(c.location_of("bus"), (SourceLocation{"test.yaml", 1, 1}));  // a mapping: its key
  EXPECT_EQ(c.location_of("topics.prefix"), (SourceLocation{"test.yaml", 0, 0}));
}

TEST(Config, NullSectionsAndValuesMeanDefaults) {
  Config c = parse_ok(
      "bus:\n  embedded: true\n  bootstrap_servers:\ntopics:\nconsumer:\n  batch_size: ~\n"
      "plugins:\n");
  EXPECT_TRUE(c.bus.embedded);
  EXPECT_EQ(c.topics.prefix, "wallet");
  EXPECT_EQ(c.consumer.batch_size, 64u);
}

constexpr const char* kFullFile = R"(bus:
  bootstrap_servers: "kafka-1:9092, kafka-2:9093,[::1]:9094"
  properties:
    security.protocol: SASL_SSL
    sasl.mechanisms: SCRAM-SHA-512
    sasl.username: svc
    sasl.password: "s3cret"
    socket.keepalive.enable: true
  producer_properties:
    linger.ms: 5
    compression.type: zstd
    acks: all
  consumer_properties:
    fetch.wait.max.ms: 100
topics:
  prefix: acme.wallet
  dlq: acme.dead
  alerts: acme.alerts
  create: false
  partitions: 12
  replication_factor: 3
consumer:
  group_prefix: acme-eventd
  batch_size: 500
  batch_timeout_ms: 0
  handler_timeout_ms: 60000
  max_record_bytes: 2097152
  max_depth: 64
  auto_offset_reset: latest
dlq:
  enabled: false
  max_replays: 0
admin:
  enabled: false
  listen: "[::1]:0"
logging:
  level: debug
  format: json
state_dir: state
plugin_dir: /opt/wallet-eventd/plugins/
shutdown_timeout_ms: 2500
demo:
  enabled: true
  wallets: 10
  interval_ms: 20
  notification_server: ""
plugins:
  - name: audit
    path: audit
    events: [CredentialStored, CredentialDeleted]
    sha256: "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"
    group: acme.audit-group
    retry: {max_attempts: 9, initial_backoff_ms: 10, max_backoff_ms: 1000, multiplier: 1.5}
    batch_size: 7
    batch_timeout_ms: 8
    handler_timeout_ms: 9
    config:
      directory: /var/log/acme-audit
      max_file_bytes: 1048576
      fsync: true
  - name: vendor_x
    path: ../lib/libvendor.so
    enabled: false
)";

TEST(Config, FullFileParsesToTheRightValues) {
  Config c = parse_ok(kFullFile, "/etc/wallet-eventd/wallet-eventd.yaml");
  EXPECT_EQ(c.dir, "/etc/wallet-eventd");
  EXPECT_EQ(c.bus.bootstrap_servers, "kafka-1:9092,kafka-2:9093,[::1]:9094");
  EXPECT_EQ(c.bus.properties, (Properties{{"security.protocol", "SASL_SSL"},
                                          {"sasl.mechanisms", "SCRAM-SHA-512"},
                                          {"sasl.username", "svc"},
                                          {"sasl.password", "s3cret"},
                                          {"socket.keepalive.enable", "true"}}));
  EXPECT_EQ(c.bus.producer_properties,
            (Properties{{"linger.ms", "5"}, {"compression.type", "zstd"}, {"acks", "all"}}));
  EXPECT_EQ(c.bus.consumer_properties, (Properties{{"fetch.wait.max.ms", "100"}}));
  EXPECT_EQ(c.topics.prefix, "acme.wallet");
  EXPECT_EQ(c.topics.dlq, "acme.dead");
  EXPECT_EQ(c.topics.alerts, "acme.alerts");
  EXPECT_FALSE(c.topics.create);
  EXPECT_EQ(c.topics.partitions, 12u);
  EXPECT_EQ(c.topics.replication_factor, 3u);
  EXPECT_EQ(c.consumer.group_prefix, "acme-eventd");
  EXPECT_EQ(c.consumer.batch_size, 500u);
  EXPECT_EQ(c.consumer.batch_timeout_ms, 0u);
  EXPECT_EQ(c.consumer.handler_timeout_ms, 60000u);
  EXPECT_EQ(c.consumer.max_record_bytes, 2097152u);
  EXPECT_EQ(c.consumer.max_depth, 64u);
  EXPECT_EQ(c.consumer.auto_offset_reset, OffsetReset::kLatest);
  EXPECT_FALSE(c.dlq.enabled);
  EXPECT_EQ(c.dlq.max_replays, 0u);
  EXPECT_FALSE(c.admin.enabled);
  EXPECT_EQ(c.admin.listen, "[::1]:0");
  EXPECT_EQ(c.admin.address, (HostPort{"::1", 0}));
  EXPECT_EQ(c.logging.level, LogLevel::kDebug);
  EXPECT_EQ(c.logging.format, LogFormat::kJson);
  EXPECT_EQ(to_string(c.logging.level), "debug");
  EXPECT_EQ(c.state_dir, "/etc/wallet-eventd/state");
  EXPECT_EQ(c.plugin_dir, "/opt/wallet-eventd/plugins");
  EXPECT_EQ(c.shutdown_timeout_ms, 2500u);
  EXPECT_TRUE(c.demo.enabled);
  EXPECT_EQ(c.demo.wallets, 10u);
  EXPECT_EQ(c.demo.interval_ms, 20u);
  EXPECT_EQ(c.demo.notification_server, "");
  EXPECT_FALSE(c.demo.notification_address.has_value());

  ASSERT_EQ(c.plugins.size(), 2u);
  const PluginInstanceConfig& audit = c.plugins[0];
  EXPECT_EQ(audit.name, "audit");
  EXPECT_EQ(audit.path, "audit");
  EXPECT_TRUE(audit.enabled);
  EXPECT_EQ(audit.events, (std::vector<std::string>{"CredentialStored", "CredentialDeleted"}));
  EXPECT_EQ(audit.sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(audit.group, "acme.audit-group");
  EXPECT_EQ(audit.retry.max_attempts, 9u);
  EXPECT_EQ(audit.retry.initial_backoff_ms, 10u);
  EXPECT_EQ(audit.retry.max_backoff_ms, 1000u);
  EXPECT_DOUBLE_EQ(audit.retry.multiplier, 1.5);
  EXPECT_EQ(audit.batch_size, 7u);
  EXPECT_EQ(audit.batch_timeout_ms, 8u);
  EXPECT_EQ(audit.handler_timeout_ms, 9u);
  EXPECT_EQ(
      nlohmann::json::parse(audit.config_json),
      nlohmann::json(
          {{"directory", "/var/log/acme-audit"}, {"max_file_bytes", 1048576}, {"fsync", true}}));
  EXPECT_EQ(audit.location, (SourceLocation{"/etc/wallet-eventd/wallet-eventd.yaml", 48, 5}));
  EXPECT_EQ(audit.config_location.line, 57);
  EXPECT_EQ(audit.config_locations.at("fsync"),
            (SourceLocation{"/etc/wallet-eventd/wallet-eventd.yaml", 60, 7}));

  const PluginInstanceConfig& vendor = c.plugins[1];
  EXPECT_EQ(vendor.path, "/etc/lib/libvendor.so");
  EXPECT_FALSE(vendor.enabled);
  EXPECT_TRUE(vendor.events.empty());
  EXPECT_FALSE(vendor.sha256.has_value());
  EXPECT_EQ(vendor.group, "acme-eventd.vendor_x");  // default from the consumer: section
  EXPECT_EQ(vendor.batch_size, 500u);
  EXPECT_EQ(vendor.batch_timeout_ms, 0u);
  EXPECT_EQ(vendor.handler_timeout_ms, 60000u);
  EXPECT_EQ(vendor.retry.max_attempts, 5u);
  EXPECT_EQ(vendor.config_json, "{}");
  EXPECT_EQ(vendor.config_location, vendor.location);

  EXPECT_EQ(c.find_plugin("vendor_x"), &c.plugins[1]);
  EXPECT_EQ(c.find_plugin("nope"), nullptr);
  EXPECT_EQ(c.location_of("plugins[0].retry.max_attempts"),
            (SourceLocation{"/etc/wallet-eventd/wallet-eventd.yaml", 53, 27}));
  EXPECT_EQ(c.location_of("bus.properties.sasl.password").line, 7);
  const ConfigError later = c.error("admin.listen", "address already in use");
  EXPECT_EQ(later.format(),
            "/etc/wallet-eventd/wallet-eventd.yaml:35:11: admin.listen: address already in use");
}

TEST(Config, PluginConfigBecomesTypedJson) {
  Config c = parse_ok(std::string(kEmbedded) + R"(plugins:
  - name: security
    path: security
    config:
      int: 42
      negative: -7
      hex: 0x1F
      big: 18446744073709551615
      float: 2.5
      exp: 1e3
      yes_bool: true
      no_bool: False
      nothing: ~
      empty:
      word: hello
      quoted_int: "42"
      quoted_bool: 'true'
      quoted_null: "null"
      version: 1.0.0
      block: |
        line one
      forced: !!str 12
      list: [1, two, 3.0, null]
      nested:
        rules:
          - {name: nonce_reuse, threshold: 3, window_s: 600}
)");
  ASSERT_EQ(c.plugins.size(), 1u);
  const auto j = nlohmann::json::parse(c.plugins[0].config_json);
  EXPECT_TRUE(j["int"].is_number_integer());
  EXPECT_EQ(j["int"], 42);
  EXPECT_EQ(j["negative"], -7);
  EXPECT_EQ(j["hex"], 31);
  EXPECT_TRUE(j["big"].is_number_unsigned());
  EXPECT_EQ(j["big"].get<uint64_t>(), 18446744073709551615ull);
  EXPECT_TRUE(j["float"].is_number_float());
  EXPECT_DOUBLE_EQ(j["float"].get<double>(), 2.5);
  EXPECT_TRUE(j["exp"].is_number_float());
  EXPECT_DOUBLE_EQ(j["exp"].get<double>(), 1000.0);
  EXPECT_EQ(j["yes_bool"], true);
  EXPECT_EQ(j["no_bool"], false);
  EXPECT_TRUE(j["nothing"].is_null());
  EXPECT_TRUE(j["empty"].is_null());
  EXPECT_EQ(j["word"], "hello");
  EXPECT_EQ(j["quoted_int"], "42");
  EXPECT_EQ(j["quoted_bool"], "true");
  EXPECT_EQ(j["quoted_null"], "null");
  EXPECT_EQ(j["version"], "1.0.0");
  EXPECT_EQ(j["block"], "line one\n");
  EXPECT_EQ(j["forced"], "12");
  EXPECT_EQ(j["list"], nlohmann::json::parse(R"([1, "two", 3.0, null])"));
  EXPECT_TRUE(j["list"][2].is_number_float());
  EXPECT_EQ(j["nested"]["rules"][0]["threshold"], 3);
  EXPECT_EQ(c.plugins[0].config_locations.size(), 19u);
  EXPECT_EQ(c.plugins[0].config_locations.at("int"), (SourceLocation{"test.yaml", 6, 7}));
  EXPECT_EQ(c.plugins[0].config_locations.at("nested").line, 25);
  EXPECT_EQ(c.plugins[0].config_location, (SourceLocation{"test.yaml", 5, 5}));
}

TEST(Config, RelativePathsResolveAgainstTheConfigDirectory) {
  Config c = parse_ok(std::string(kEmbedded) +
                          "state_dir: ../.demo-state\nplugin_dir: lib/\nplugins:\n"
                          "  - {name: a, path: ./p/liba.so}\n  - {name: b, path: /abs/libb.so}\n"
                          "  - {name: c, path: audit}\n",
                      "/srv/app/config/x.yaml");
  EXPECT_EQ(c.state_dir, "/srv/app/.demo-state");
  EXPECT_EQ(c.plugin_dir, "/srv/app/config/lib");
  EXPECT_EQ(c.plugins[0].path, "/srv/app/config/p/liba.so");
  EXPECT_EQ(c.plugins[1].path, "/abs/libb.so");
  EXPECT_EQ(c.plugins[2].path, "audit");

  Config here = parse_ok(std::string(kEmbedded) + "state_dir: st\n", "x.yaml");
  EXPECT_EQ(here.state_dir, cwd() + "/st");
}

TEST(Config, LoadsAFileFromDisk) {
  const fs::path dir = fs::temp_directory_path() / ("wep-config-test-" + std::to_string(getpid()));
  fs::create_directories(dir);
  const fs::path file = dir / "w.yaml";
  std::ofstream(file) << "bus:\n  embedded: true\nstate_dir: ./state\n";
  auto r = load_config(file.string());
  ASSERT_TRUE(r.ok()) << format_errors(r.error());
  EXPECT_EQ(r.value().file, file.string());
  EXPECT_EQ(r.value().dir, dir.string());
  EXPECT_EQ(r.value().state_dir, (dir / "state").string());

  std::ofstream(file) << "bus:\n  embedded: maybe\n";
  auto bad = load_config(file.string());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().at(0).format(),
            file.string() +
                ":2:13: bus.embedded: expected boolean (true or false), got string \"maybe\"");
  fs::remove_all(dir);
}

// ---- Errors --------------------------------------------------------------------------------

TEST(ConfigErrors, FormatLeavesOutEmptyParts) {
  EXPECT_EQ((ConfigError{{"f.yaml", 3, 7}, "bus.x", "unknown key", "did you mean `y`?"}).format(),
            "f.yaml:3:7: bus.x: unknown key (did you mean `y`?)");
  EXPECT_EQ((ConfigError{{"f.yaml", 1, 2}, "", "YAML syntax error: x", ""}).format(),
            "f.yaml:1:2: YAML syntax error: x");
  EXPECT_EQ((ConfigError{{"f.yaml", 0, 0}, "", "cannot read", ""}).format(), "f.yaml: cannot read");
  EXPECT_EQ(format_errors({{{"a", 1, 1}, "k", "m", ""}, {{"a", 2, 1}, "k", "n", ""}}),
            "a:1:1: k: m\na:2:1: k: n\n");
}

TEST(ConfigErrors, UnknownKeyWithDidYouMean) {
  auto errors = errors_of("bus:\n  bootstrap_server: \"localhost:9092\"\n");
  ASSERT_EQ(errors.size(), 1u) << format_errors(errors);  // no extra "required" noise
  EXPECT_EQ(errors[0].where, (SourceLocation{"test.yaml", 2, 3}));
  EXPECT_EQ(errors[0].key, "bus.bootstrap_server");
  EXPECT_EQ(errors[0].message, "unknown key");
  EXPECT_EQ(errors[0].hint, "did you mean `bootstrap_servers`?");
  EXPECT_EQ(errors[0].format(),
            "test.yaml:2:3: bus.bootstrap_server: unknown key (did you mean "
            "`bootstrap_servers`?)");
}

TEST(ConfigErrors, UnknownKeysAtEveryLevel) {
  EXPECT_EQ(only_error(std::string(kEmbedded) + "loging: {}\n"),
            "test.yaml:2:1: loging: unknown key (did you mean `logging`?)");
  EXPECT_EQ(only_error(std::string(kEmbedded) + "group_prefix: x\n"),
            "test.yaml:2:1: group_prefix: unknown key (did you mean `consumer.group_prefix`?)");
  EXPECT_EQ(only_error(std::string(kEmbedded) + "topics:\n  colour: red\n"),
            "test.yaml:3:3: topics.colour: unknown key (valid keys here: prefix, dlq, alerts, "
            "create, partitions, replication_factor)");
  EXPECT_EQ(only_error(std::string(kEmbedded) +
                       "plugins:\n  - name: a\n    path: a\n    retry:\n      max_attempt: 2\n"),
            "test.yaml:6:7: plugins[0].retry.max_attempt: unknown key (did you mean "
            "`max_attempts`?)");
  EXPECT_EQ(only_error(std::string(kEmbedded) + "plugins:\n  - name: a\n    path: a\n    enabeld: "
                                                "true\n"),
            "test.yaml:5:5: plugins[0].enabeld: unknown key (did you mean `enabled`?)");
}

TEST(ConfigErrors, YamlSyntaxErrorHasTheParsersLocation) {
  EXPECT_EQ(only_error("bus:\n  embedded: true\nconsumer: [1, 2\n"),
            "test.yaml:4:1: YAML syntax error: end of sequence flow not found (a `[` is missing "
            "its `]`)");
  EXPECT_EQ(only_error("bus:\n  embedded: true\n\tlevel: info\n"),
            "test.yaml:3:1: YAML syntax error: illegal tab when looking for indentation (line 3 "
            "is indented with a tab; YAML allows only spaces)");
  EXPECT_EQ(only_error("bus:\n  embedded: true\nstate_dir: \"/var/lib\nlogging: {}\n"),
            "test.yaml:3:12: state_dir: YAML syntax error: quoted string is never closed (add "
            "the closing quote)");
}

TEST(ConfigErrors, WrongTypes) {
  EXPECT_EQ(only_error(std::string(kEmbedded) + "consumer:\n  batch_size: abc\n"),
            "test.yaml:3:15: consumer.batch_size: expected integer, got string \"abc\"");
  EXPECT_EQ(only_error(std::string(kEmbedded) + "consumer:\n  batch_size: \"12\"\n"),
            "test.yaml:3:15: consumer.batch_size: expected integer, got string \"12\" (remove "
            "the quotes)");
  EXPECT_EQ(only_error(std::string(kEmbedded) + "consumer:\n  batch_size: [1]\n"),
            "test.yaml:3:15: consumer.batch_size: expected integer, got a list");
  EXPECT_EQ(only_error(std::string(kEmbedded) + "topics:\n  create: 1\n"),
            "test.yaml:3:11: topics.create: expected boolean (true or false), got integer 1");
  EXPECT_EQ(only_error(std::string(kEmbedded) + "topics:\n  prefix: {a: 1}\n"),
            "test.yaml:3:11: topics.prefix: expected string, got a mapping");
  EXPECT_EQ(only_error(std::string(kEmbedded) + "plugins:\n  - name: a\n    path: a\n    retry:\n"
                                                "      multiplier: fast\n"),
            "test.yaml:6:19: plugins[0].retry.multiplier: expected number, got string \"fast\"");
  EXPECT_EQ(only_error(std::string(kEmbedded) + "logging: verbose\n"),
            "test.yaml:2:10: logging: expected a mapping, got string \"verbose\"");
}

TEST(ConfigErrors, Ranges) {
  EXPECT_EQ(only_error(std::string(kEmbedded) + "consumer:\n  batch_size: 10001\n"),
            "test.yaml:3:15: consumer.batch_size: must be between 1 and 10000, got 10001");
  EXPECT_EQ(only_error(std::string(kEmbedded) + "consumer:\n  batch_size: -1\n"),
            "test.yaml:3:15: consumer.batch_size: must be between 1 and 10000, got -1");
  EXPECT_EQ(only_error(std::string(kEmbedded) +
                       "consumer:\n  max_record_bytes: 99999999999999999999999\n"),
            "test.yaml:3:21: consumer.max_record_bytes: must be between 1 and 1000000000, got "
            "99999999999999999999999");
  EXPECT_EQ(only_error("bus:\n  embedded: true\n  embedded_partitions: 65\n"),
            "test.yaml:3:24: bus.embedded_partitions: must be between 1 and 64, got 65");
}

TEST(ConfigErrors, EnumsWithDidYouMean) {
  EXPECT_EQ(only_error(std::string(kEmbedded) + "logging:\n  level: infoo\n"),
            "test.yaml:3:10: logging.level: must be one of trace, debug, info, warn, error; got "
            "\"infoo\" (did you mean `info`?)");
  EXPECT_EQ(only_error(std::string(kEmbedded) + "logging:\n  level: loud\n"),
            "test.yaml:3:10: logging.level: must be one of trace, debug, info, warn, error; got "
            "\"loud\"");
  EXPECT_EQ(only_error(std::string(kEmbedded) + "consumer:\n  auto_offset_reset: Latest\n"),
            "test.yaml:3:22: consumer.auto_offset_reset: must be one of earliest, latest; got "
            "\"Latest\" (did you mean `latest`?)");
}

TEST(ConfigErrors, MissingAndUnreadableFiles) {
  auto missing = load_config("/nonexistent/wallet-eventd.yaml");
  ASSERT_FALSE(missing.ok());
  ASSERT_EQ(missing.error().size(), 1u);
  EXPECT_EQ(missing.error()[0].format(),
            "/nonexistent/wallet-eventd.yaml: cannot read the config file: No such file or "
            "directory");
  auto dir = load_config(fs::temp_directory_path().string());
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.error()[0].message, "cannot read the config file: Is a directory");
}

TEST(ConfigErrors, EmptyFileNeedsABus) {
  for (const char* text : {"", "# nothing\n", "---\n"}) {
    EXPECT_EQ(only_error(text),
              "test.yaml:1:1: bus.bootstrap_servers: required unless `bus.embedded` is true "
              "(e.g. `bootstrap_servers: \"localhost:9092\"`, or `embedded: true` for the "
              "in-process demo cluster)")
        << text;
  }
  EXPECT_EQ(errors_of("logging:\n  level: info\nbus:\n  embedded: false\n").at(0).where.line, 3);
}

TEST(ConfigErrors, EmbeddedAndBootstrapServersAreAmbiguous) {
  auto errors = errors_of("bus:\n  embedded: true\n  bootstrap_servers: \"localhost:9092\"\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].where, (SourceLocation{"test.yaml", 3, 22}));
  EXPECT_EQ(errors[0].key, "bus.bootstrap_servers");
  EXPECT_NE(errors[0].message.find("ambiguous: `bus.embedded` is true (line 2)"),
            std::string::npos);
}

TEST(ConfigErrors, BootstrapServersAreHostPorts) {
  EXPECT_EQ(only_error("bus:\n  bootstrap_servers: \"a:1,b\"\n"),
            "test.yaml:2:22: bus.bootstrap_servers: invalid broker address \"b\": expected "
            "host:port, e.g. 127.0.0.1:9464; the port is missing");
  EXPECT_EQ(only_error("bus:\n  bootstrap_servers: \"a:1,,b:2\"\n"),
            "test.yaml:2:22: bus.bootstrap_servers: empty entry in \"a:1,,b:2\" (e.g. "
            "\"kafka-1:9092,kafka-2:9092\")");
  parse_ok("bus:\n  bootstrap_servers: \"SSL://kafka-1.example.com:9093,10.0.0.2:9092\"\n");
}

TEST(ConfigErrors, LibrdkafkaPropertiesAreCheckedByLibrdkafka) {
  auto errors = errors_of(
      "bus:\n"
      "  embedded: true\n"
      "  properties:\n"
      "    queue.buffering.max.ms: banana\n"
      "    no.such.property: 1\n"
      "    linger.msx: 1\n");
  ASSERT_EQ(errors.size(), 3u) << format_errors(errors);
  EXPECT_EQ(errors[0].format(),
            "test.yaml:4:29: bus.properties.queue.buffering.max.ms: Invalid value for "
            "configuration property \"queue.buffering.max.ms\"");
  EXPECT_EQ(errors[1].format(),
            "test.yaml:5:5: bus.properties.no.such.property: No such configuration property: "
            "\"no.such.property\"");
  EXPECT_EQ(errors[2].hint, "did you mean `linger.ms`?");

  EXPECT_EQ(only_error("bus:\n  embedded: true\n  producer_properties:\n    message.timeout.ms: "
                       "-1\n"),
            "test.yaml:4:25: bus.producer_properties.message.timeout.ms: Configuration property "
            "\"message.timeout.ms\" value -1 is outside allowed range 0..2147483647");
}

TEST(ConfigErrors, LibrdkafkaPropertyPlacement) {
  EXPECT_EQ(only_error("bus:\n  embedded: true\n  producer_properties:\n    fetch.min.bytes: 1\n"),
            "test.yaml:4:5: bus.producer_properties.fetch.min.bytes: is a consumer property; "
            "the producer ignores it (move it to `consumer_properties:`)");
  EXPECT_EQ(only_error("bus:\n  embedded: true\n  properties:\n    group.id: mine\n"),
            "test.yaml:4:5: bus.properties.group.id: is set by the host and cannot be "
            "overridden (each plugin instance has its own consumer group: set "
            "`consumer.group_prefix` or the instance's `group`)");
  EXPECT_EQ(only_error("bus:\n  embedded: true\n  properties:\n    enable.auto.commit: true\n")
                    .find("at-least-once") != std::string::npos,
            true);
  EXPECT_EQ(only_error("bus:\n  embedded: true\n  properties:\n    sasl.password:\n"),
            "test.yaml:4:5: bus.properties.sasl.password: expected a value, got null (write \"\" "
            "for an empty string)");
  // Producer-only properties are fine in the shared map.
  parse_ok("bus:\n  embedded: true\n  properties:\n    acks: all\n    fetch.min.bytes: 1\n");
}

TEST(ConfigErrors, MultipleErrorsAreReportedTogetherInFileOrder) {
  auto errors = errors_of(
      "plugins:\n"
      "  - name: audit\n"
      "    path: audit\n"
      "    events: [CredentialStord]\n"
      "logging:\n"
      "  level: verbose\n"
      "consumer:\n"
      "  batch_size: 0\n"
      "bus:\n"
      "  bootstrap_servers: \"localhost:9092\"\n"
      "  colour: blue\n");
  ASSERT_EQ(errors.size(), 4u) << format_errors(errors);
  EXPECT_EQ(errors[0].key, "plugins[0].events[0]");
  EXPECT_EQ(errors[1].key, "logging.level");
  EXPECT_EQ(errors[2].key, "consumer.batch_size");
  EXPECT_EQ(errors[3].key, "bus.colour");
  for (size_t i = 1; i < errors.size(); ++i)
    EXPECT_LT(errors[i - 1].where.line, errors[i].where.line);
}

TEST(ConfigErrors, DuplicatePluginNamePointsAtTheSecondAndNamesTheFirst) {
  auto errors = errors_of(std::string(kEmbedded) +
                          "plugins:\n"
                          "  - name: audit\n"
                          "    path: audit\n"
                          "  - name: metrics\n"
                          "    path: metrics\n"
                          "  - name: audit\n"
                          "    path: ./other/libaudit.so\n");
  ASSERT_EQ(errors.size(), 1u) << format_errors(errors);
  EXPECT_EQ(errors[0].format(),
            "test.yaml:7:11: plugins[2].name: duplicate instance name `audit` (first defined at "
            "line 3) (instance names must be unique; rename one, e.g. `audit-2`)");
}

TEST(ConfigErrors, PluginEntries) {
  const std::string head = std::string(kEmbedded) + "plugins:\n";
  EXPECT_EQ(only_error(head + "  - name: audit\n    path: audit\n    events: [KeyCreated, "
                              "CredentialStord]\n"),
            "test.yaml:5:26: plugins[0].events[1]: unknown event type \"CredentialStord\" (did "
            "you mean `CredentialStored`?)");
  EXPECT_EQ(only_error(head + "  - name: audit\n    path: audit\n    sha256: abc123\n"),
            "test.yaml:5:13: plugins[0].sha256: expected 64 hexadecimal digits (a SHA-256), got "
            "6 characters (compute it with `sha256sum <library>`)");
  EXPECT_EQ(only_error(head + "  - path: audit\n"),
            "test.yaml:3:5: plugins[0].name: required: every instance needs a `name:`");
  EXPECT_EQ(only_error(head + "  - nmae: audit\n    path: audit\n"),
            "test.yaml:3:5: plugins[0].nmae: unknown key (did you mean `name`?)");
  EXPECT_EQ(only_error(head + "  - name: audit\n    path: audit\n    retry:\n      "
                              "initial_backoff_ms: 500\n      max_backoff_ms: 100\n"),
            "test.yaml:7:23: plugins[0].retry.max_backoff_ms: max_backoff_ms (100) is smaller "
            "than initial_backoff_ms (500)");
  EXPECT_EQ(only_error(head + "  - name: a\n    path: audit\n  - name: b\n    path: audit\n"
                              "    group: wallet-eventd.a\n"),
            "test.yaml:7:12: plugins[1].group: consumer group `wallet-eventd.a` is also used by "
            "instance `a` (line 3); instances sharing a group split the events between them "
            "(give each instance its own `group`)");
  // A disabled copy does not consume, so it may share the group.
  parse_ok(head +
           "  - name: a\n    path: audit\n  - name: b\n    path: audit\n"
           "    group: wallet-eventd.a\n    enabled: false\n");
}

TEST(ConfigErrors, YamlOddities) {
  EXPECT_EQ(only_error(std::string(kEmbedded) + "logging:\n  level: info\n  level: debug\n"),
            "test.yaml:4:3: logging.level: duplicate key (first at line 3) (remove one of "
            "them)");
  EXPECT_EQ(only_error(std::string(kEmbedded) + "---\nlogging: {}\n"),
            "test.yaml:2:1: a second YAML document; the config file holds one (remove the `---` "
            "line and merge the sections)");
  EXPECT_EQ(only_error("- a\n- b\n"),
            "test.yaml:1:1: the top level must be a mapping of sections, got a list (start with "
            "e.g. `bus:`)");
  // Anchors and aliases work.
  Config c = parse_ok(std::string(kEmbedded) +
                      "consumer:\n  batch_size: &n 9\nplugins:\n  - {name: a, path: a, "
                      "batch_size: *n}\n");
  EXPECT_EQ(c.plugins[0].batch_size, 9u);
  // A byte order mark is fine.
  parse_ok("\xEF\xBB\xBF" + std::string(kEmbedded));
}

TEST(ConfigErrors, GarbageNeverThrows) {
  // Every prefix of a full file, and some noise: the loader answers, it never throws.
  const std::string full = kFullFile;
  for (size_t n = 0; n <= full.size(); n += 7) {
    auto r = parse_config(full.substr(0, n), "cut.yaml");
    if (!r.ok()) {
      for (const ConfigError& e : r.error())
        EXPECT_EQ(e.message.find("internal error"), std::string::npos) << n << ": " << e.format();
    }
  }
  for (const char* text : {"\x01\x02\x03", "{{{{", "[", "]]", "? : ?", "&a [*a]", "!!binary x",
                           "plugins: [[[[]]]]", "bus: !!map x", "a: !!int x"}) {
    auto r = parse_config(text, "noise.yaml");
    ASSERT_FALSE(r.ok()) << text;
    for (const ConfigError& e : r.error()) {
      EXPECT_FALSE(e.message.empty()) << text;
      EXPECT_EQ(e.message.find("internal error"), std::string::npos) << e.format();
    }
  }
}

TEST(HostPort, Parsing) {
  EXPECT_EQ(parse_host_port("127.0.0.1:9464").value(), (HostPort{"127.0.0.1", 9464}));
  EXPECT_EQ(parse_host_port("[::1]:0").value(), (HostPort{"::1", 0}));
  EXPECT_EQ(parse_host_port("kafka-1.example.com:65535").value(),
            (HostPort{"kafka-1.example.com", 65535}));
  EXPECT_EQ(parse_host_port("0.0.0.0:80").value(), (HostPort{"0.0.0.0", 80}));
  for (const char* bad :
       {"", "localhost", ":9464", "::1:9464", "[::1]", "[::1:9464", "[x]:1", "1.2.3.256:1",
        "host:65536", "host:-1", "host:", "bad_host!:1", "-host:1", "host:12a"}) {
    EXPECT_FALSE(parse_host_port(bad).ok()) << bad;
  }
}

// ---- Shipped files and the corpus ----------------------------------------------------------

TEST(ShippedConfigs, LoadWithoutErrors) {
  for (const char* name : {"config/wallet-eventd.yaml", "config/demo.yaml"}) {
    const std::string path = std::string(WEP_SOURCE_DIR) + "/" + name;
    auto r = load_config(path);
    ASSERT_TRUE(r.ok()) << path << "\n" << format_errors(r.error());
    const Config& c = r.value();
    std::vector<std::string> names;
    for (const auto& p : c.plugins) {
      names.push_back(p.name);
      EXPECT_TRUE(p.enabled) << p.name;
      EXPECT_EQ(p.path, p.name);  // the built-in of that name
    }
    EXPECT_EQ(names, (std::vector<std::string>{"audit", "metrics", "notification", "security"}))
        << name;
  }
  const Config demo = load_config(std::string(WEP_SOURCE_DIR) + "/config/demo.yaml").value();
  EXPECT_TRUE(demo.bus.embedded);
  EXPECT_TRUE(demo.demo.enabled);
  EXPECT_EQ(demo.admin.address, (HostPort{"127.0.0.1", 9464}));
  EXPECT_EQ(demo.state_dir, (fs::path(WEP_SOURCE_DIR) / ".demo-state").lexically_normal().string());
  const Config prod =
      load_config(std::string(WEP_SOURCE_DIR) + "/config/wallet-eventd.yaml").value();
  EXPECT_FALSE(prod.bus.embedded);
  EXPECT_FALSE(prod.demo.enabled);
  EXPECT_EQ(prod.state_dir, "/var/lib/wallet-eventd");
  // audit syncs per batch: its batches may wait 20 ms to fill; the others hand over what came.
  for (const auto& p : prod.plugins)
    EXPECT_EQ(p.batch_timeout_ms, p.name == "audit" ? 20u : 0u) << p.name;
}

TEST(BadConfigCorpus, EveryFileFailsWithItsExpectedErrorAndLocation) {
  const fs::path dir = fs::path(WEP_SOURCE_DIR) / "tests" / "bad-config";
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().extension() == ".yaml") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  EXPECT_GE(files.size(), 30u);
  for (const fs::path& file : files) {
    SCOPED_TRACE(file.filename().string());
    std::ifstream in(file);
    std::string first, second;
    std::getline(in, first);
    std::getline(in, second);
    const std::string kExpect = "# expect: ";
    ASSERT_EQ(first.compare(0, kExpect.size(), kExpect), 0) << "first line: " << first;
    const std::string expected = first.substr(kExpect.size());
    ASSERT_FALSE(expected.empty());
    std::string expected_at;  // optional second line "# at: LINE:COLUMN"
    if (second.compare(0, 6, "# at: ") == 0) expected_at = second.substr(6);

    auto r = load_config(file.string());
    ASSERT_FALSE(r.ok()) << "loaded without errors";
    const std::string prefix = file.string() + ":";
    bool found = false;
    for (const ConfigError& e : r.error()) {
      const std::string text = e.format();
      EXPECT_GT(e.where.line, 0) << text;
      EXPECT_GT(e.where.column, 0) << text;
      const std::string location =
          std::to_string(e.where.line) + ":" + std::to_string(e.where.column);
      EXPECT_EQ(text.compare(0, prefix.size() + location.size() + 2, prefix + location + ": "), 0)
          << text;
      if (!found && text.find(expected) != std::string::npos) {
        found = true;
        if (!expected_at.empty()) {
          EXPECT_EQ(location, expected_at) << text;
        }
      }
    }
    EXPECT_TRUE(found) << "expected \"" << expected << "\" in:\n" << format_errors(r.error());
  }
}

}  // namespace
}  // namespace wallet_eventd::config
