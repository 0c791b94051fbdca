// The daemon's YAML configuration: its schema as C++ values, and the loader that checks all of
// it before anything starts. Every problem comes back as a ConfigError that points at
// `file:line:column` and names the offending key, with a suggestion where one fits; the loader
// reports every problem it finds, in file order, and never throws.
//
// Paths: relative `state_dir`, `plugin_dir` and plugin `path` values (those containing a '/')
// are resolved against the directory of the config file, never against the current
// directory, so a file means the same thing from wherever the daemon is started (systemd
// starts it in /). `config/demo.yaml` therefore says `state_dir: ../.demo-state`.
//
// Thread-safety: all types are plain values; load_config and parse_config are reentrant.
#ifndef WALLET_EVENTD_CONFIG_CONFIG_H_
#define WALLET_EVENTD_CONFIG_CONFIG_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/suggest.h"
#include "wallet_eventd/result.h"

namespace wallet_eventd::config {

// The exit code of a refused configuration (sysexits.h EX_CONFIG).
inline constexpr int kExitConfig = 78;

// A place in the config file; line and column are 1-based, 0 when unknown (e.g. the file
// itself could not be read).
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;
  bool known() const { return line > 0; }
  // "file:line:column", or just "file" when the line is unknown.
  std::string format() const;
  bool operator==(const SourceLocation&) const = default;
};

struct ConfigError {
  SourceLocation where;
  std::string key;      // dotted path, e.g. bus.bootstrap_servers or plugins[1].retry.max_attempts;
                        // empty for YAML syntax errors and unreadable files
  std::string message;  // e.g. `expected integer, got string "abc"`
  std::string hint;     // e.g. "did you mean `bootstrap_servers`?", or empty
  // "file:line:column: key: message (hint)"; the parts that are empty are left out.
  std::string format() const;
};

// One formatted error per line, each ending in '\n'.
std::string format_errors(const std::vector<ConfigError>& errors);

using Properties = std::map<std::string, std::string>;  // librdkafka name -> value text

struct BusConfig {
  bool embedded = false;             // librdkafka's in-process mock cluster (demo/dev only)
  uint32_t embedded_partitions = 3;  // 1..64
  std::string bootstrap_servers;     // "host:port,host:port" (no spaces); set iff !embedded
  // Passed verbatim to librdkafka (already accepted by rd_kafka_conf_set). `properties` goes
  // to the producer and every consumer, then the specific map on top. Values may be secrets
  // (sasl.password, ssl.key.password): never log them.
  Properties properties;
  Properties producer_properties;
  Properties consumer_properties;
};

struct TopicsConfig {
  std::string prefix = "wallet";  // [A-Za-z0-9._-]+, at most 200 characters
  std::string dlq;                // Default: "<prefix>.dlq" (filled in by the loader)
  std::string alerts;             // Default: "<prefix>.security.alerts" (filled in)
  bool create = true;             // create missing topics at start
  uint32_t partitions = 3;
  uint32_t replication_factor = 1;
  // "<prefix>.<suffix>", e.g. topic_for("credential.storage").
  std::string topic_for(std::string_view suffix) const;
};

enum class OffsetReset { kEarliest, kLatest };
enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError };
enum class LogFormat { kText, kJson };
std::string_view to_string(OffsetReset value);  // "earliest" | "latest"
std::string_view to_string(LogLevel value);     // "trace" | ... | "error"
std::string_view to_string(LogFormat value);    // "text" | "json"

struct ConsumerConfig {
  std::string group_prefix = "wallet-eventd";
  uint32_t batch_size = 64;  // 1..10000
  // Once a batch has its first event, how long it may wait for more; 0..60000. 0: a batch is
  // what has arrived (up to batch_size).
  uint32_t batch_timeout_ms = 0;
  uint32_t handler_timeout_ms = 30000;  // a batch that takes longer is given up; 1..3600000
  uint32_t max_record_bytes = 1048576;  // larger records go to the DLQ
  uint32_t max_depth = 32;              // deeper JSON goes to the DLQ; 1..1024
  OffsetReset auto_offset_reset = OffsetReset::kEarliest;
};

struct DlqConfig {
  bool enabled = true;
  uint32_t max_replays = 3;  // `dlq replay` refuses records replayed this often; 0..1000
};

struct HostPort {
  std::string host;  // without brackets: "::1", "127.0.0.1", "kafka-1.example"
  uint16_t port = 0;
  bool operator==(const HostPort&) const = default;
};

// "host:port" with an IPv4 address, a hostname or a bracketed IPv6 address ("[::1]:9464");
// port 0..65535. The error is a sentence for people.
Result<HostPort, std::string> parse_host_port(std::string_view text);

struct AdminConfig {
  bool enabled = true;
  std::string listen = "127.0.0.1:9464";  // as written; port 0 = any free port
  HostPort address{"127.0.0.1", 9464};    // `listen` parsed
};

struct LoggingConfig {
  LogLevel level = LogLevel::kInfo;
  LogFormat format = LogFormat::kText;
};

struct DemoConfig {
  bool enabled = false;
  uint32_t wallets = 3;  // 1..10000
  uint32_t interval_ms = 1000;
  std::string notification_server = "127.0.0.1:0";  // local issuer endpoint; "" = off
  std::optional<HostPort> notification_address{HostPort{"127.0.0.1", 0}};  // parsed; nullopt = off
};

struct RetryPolicy {
  uint32_t max_attempts = 5;          // 1..1000, the first attempt included
  uint32_t initial_backoff_ms = 200;  // 0..3600000
  uint32_t max_backoff_ms = 30000;    // initial_backoff_ms..86400000
  double multiplier = 2.0;            // 1.0..100.0
};

struct PluginInstanceConfig {
  std::string name;  // [a-z0-9_-]+, unique in the file
  std::string path;  // a built-in name ([a-z0-9_-]+), or an absolute path to a shared library
  bool enabled = true;
  // Event type names to receive (each one of the 13 of PRODUCT.md, no repeats); empty = every
  // type the plugin subscribes to.
  std::vector<std::string> events;
  std::optional<std::string> sha256;  // 64 lower-case hex digits of the library file
  std::string group;                  // Default: "<consumer.group_prefix>.<name>" (filled in)
  RetryPolicy retry;
  // Defaults: the consumer: section's values (filled in).
  uint32_t batch_size = 64;
  uint32_t batch_timeout_ms = 0;
  uint32_t handler_timeout_ms = 30000;
  // The `config:` mapping as a JSON object ("{}" when absent). Plain YAML scalars are typed
  // (integer, float, true/false, null, else string); quoted and block scalars stay strings.
  std::string config_json = "{}";
  // Each top-level key of `config:` -> the location of that key.
  std::map<std::string, SourceLocation> config_locations;
  SourceLocation config_location;  // the `config:` key, or the instance when absent
  SourceLocation location;         // the instance (its first key)
};

struct Config {
  std::string file;  // the path as given to load_config / the name given to parse_config
  std::string dir;   // absolute directory of `file`: the base of relative paths
  BusConfig bus;
  TopicsConfig topics;
  ConsumerConfig consumer;
  DlqConfig dlq;
  AdminConfig admin;
  LoggingConfig logging;
  std::string state_dir = "/var/lib/wallet-eventd";  // absolute after loading
  std::string plugin_dir;  // "" = the compiled-in plugin directory; else absolute
  uint32_t shutdown_timeout_ms = 10000;
  DemoConfig demo;
  std::vector<PluginInstanceConfig> plugins;  // in file order, disabled ones included

  // Dotted key -> where its value is written, for every known key present in the file
  // ("admin.listen", "bus.properties.linger.ms", "plugins[0].retry.max_attempts",
  // "plugins[0].config.directory", ...), so that components refusing a value later can still
  // point at it. That is the value itself for a scalar, the key for a mapping, a list or an
  // empty value.
  std::map<std::string, SourceLocation> locations;

  // locations[key], or {file, 0, 0} when the key is not in the file.
  SourceLocation location_of(std::string_view key) const;
  // An error about `key` at its location, for problems found after loading.
  ConfigError error(std::string key, std::string message, std::string hint = {}) const;
  // The instance named `name`, or null.
  const PluginInstanceConfig* find_plugin(std::string_view name) const;
};

// Reads and checks the file at `path`. An unreadable file gives one error naming the path
// and the reason (strerror).
Result<Config, std::vector<ConfigError>> load_config(const std::string& path);

// Checks YAML text; `file_name` is used in locations and as the base for relative paths.
Result<Config, std::vector<ConfigError>> parse_config(const std::string& yaml_text,
                                                      const std::string& file_name);

}  // namespace wallet_eventd::config

#endif  // WALLET_EVENTD_CONFIG_CONFIG_H_
