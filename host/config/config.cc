#include "config/config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <utility>

#include "config/kafka_properties.h"
#include "config/yaml_scalar.h"
#include "wallet_eventd/events.h"

namespace wallet_eventd::config {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using YAML::Node;

constexpr size_t kMaxFileBytes = 16u << 20;
constexpr int kMaxJsonDepth = 64;

// ---- Schema: the keys of each mapping, in documentation order --------------------------------

const std::vector<std::string> kTopKeys = {"bus",       "topics",     "consumer",
                                           "dlq",       "admin",      "logging",
                                           "state_dir", "plugin_dir", "shutdown_timeout_ms",
                                           "demo",      "plugins"};
const std::vector<std::string> kBusKeys = {
    "embedded",   "embedded_partitions", "bootstrap_servers",
    "properties", "producer_properties", "consumer_properties"};
const std::vector<std::string> kTopicsKeys = {"prefix", "dlq",        "alerts",
                                              "create", "partitions", "replication_factor"};
const std::vector<std::string> kConsumerKeys = {
    "group_prefix",     "batch_size", "batch_timeout_ms", "handler_timeout_ms",
    "max_record_bytes", "max_depth",  "auto_offset_reset"};
const std::vector<std::string> kDlqKeys = {"enabled", "max_replays"};
const std::vector<std::string> kAdminKeys = {"enabled", "listen"};
const std::vector<std::string> kLoggingKeys = {"level", "format"};
const std::vector<std::string> kDemoKeys = {"enabled", "wallets", "interval_ms",
                                            "notification_server"};
const std::vector<std::string> kPluginKeys = {
    "name",  "path",  "enabled",    "events",           "sha256",
    "group", "retry", "batch_size", "batch_timeout_ms", "handler_timeout_ms",
    "config"};
const std::vector<std::string> kRetryKeys = {"max_attempts", "initial_backoff_ms", "max_backoff_ms",
                                             "multiplier"};

struct Section {
  const char* name;
  const std::vector<std::string>* keys;
};
const Section kSections[] = {{"bus", &kBusKeys},           {"topics", &kTopicsKeys},
                             {"consumer", &kConsumerKeys}, {"dlq", &kDlqKeys},
                             {"admin", &kAdminKeys},       {"logging", &kLoggingKeys},
                             {"demo", &kDemoKeys}};

// librdkafka properties the host sets itself; a user value would break a guarantee.
struct OwnedProperty {
  const char* name;
  const char* hint;
};
constexpr const char* kOffsetsOwned =
    "the host stores and commits offsets itself, only after events are handled "
    "(at-least-once)";
const OwnedProperty kOwnedProperties[] = {
    {"bootstrap.servers", "set `bus.bootstrap_servers` instead"},
    {"metadata.broker.list", "set `bus.bootstrap_servers` instead"},
    {"group.id",
     "each plugin instance has its own consumer group: set `consumer.group_prefix` or the "
     "instance's `group`"},
    {"enable.auto.commit", kOffsetsOwned},
    {"auto.commit.enable", kOffsetsOwned},
    {"enable.auto.offset.store", kOffsetsOwned},
    {"auto.offset.reset", "set `consumer.auto_offset_reset` instead"},
    {"test.mock.num.brokers", "set `bus.embedded: true` instead"},
};

// ---- Small helpers ---------------------------------------------------------------------------

std::string join(const std::string& path, std::string_view key) {
  if (path.empty()) return std::string(key);
  return path + "." + std::string(key);
}

std::string indexed(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

std::string did_you_mean(std::string_view s) { return "did you mean `" + std::string(s) + "`?"; }

std::string list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string strip_trailing_slash(std::string s) {
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

std::vector<std::string> event_type_names() {
  std::vector<std::string> out;
  for (EventType t : all_event_types()) out.emplace_back(event_type_name(t));
  return out;
}

// Why `name` is not a usable Kafka topic name, or nullopt.
std::optional<std::string> topic_name_problem(std::string_view name, size_t max_length) {
  if (name.empty()) return "must not be empty";
  if (name.size() > max_length)
    return "is " + std::to_string(name.size()) + " characters long; the limit is " +
           std::to_string(max_length);
  if (name == "." || name == "..") return "`" + std::string(name) + "` is not a valid topic name";
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok)
      return "contains " + quote(std::string(1, c)) +
             "; Kafka topic names allow only letters, digits, '.', '_' and '-'";
  }
  return std::nullopt;
}

bool is_instance_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool is_hostname(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  size_t start = 0;
  while (start <= host.size()) {
    size_t dot = host.find('.', start);
    if (dot == std::string_view::npos) dot = host.size();
    const std::string_view label = host.substr(start, dot - start);
    if (label.empty() || label.size() > 63) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_';
      if (!ok) return false;
    }
    start = dot + 1;
    if (dot == host.size()) break;
  }
  return true;
}

// ---- The loader ------------------------------------------------------------------------------

struct Entry {
  Node key;
  Node value;
  SourceLocation key_loc;
  SourceLocation value_loc;  // the key's location when the value is null (yaml-cpp gives a
                             // null value the position of the next token)
};
using Fields = std::map<std::string, Entry>;
using MisplacedHint = std::function<std::string(const std::string& key)>;

class Loader {
 public:
  Loader(std::string file, std::string base_dir)
      : file_(std::move(file)), base_dir_(std::move(base_dir)) {
    cfg_.file = file_;
    cfg_.dir = base_dir_;
  }

  Config load(const Node& root);
  std::vector<ConfigError>& errors() { return errors_; }

 private:
  SourceLocation at(const YAML::Mark& m) const {
    if (m.is_null()) return {file_, 0, 0};
    return {file_, m.line + 1, m.column + 1};
  }
  // What Config::locations records: a scalar's own position, else its key's.
  SourceLocation where_is(const Node& value, const SourceLocation& key_loc) const {
    return value.IsScalar() ? at(value.Mark()) : key_loc;
  }
  void fail(const SourceLocation& where, std::string key, std::string message,
            std::string hint = {}) {
    errors_.push_back({where, std::move(key), std::move(message), std::move(hint)});
  }
  // Whether a misspelt key under `parent` was already reported as probably meaning `leaf`
  // (then "required" would only repeat it).
  bool suggested(const std::string& parent, const std::string& leaf) const {
    const std::string hint = did_you_mean(leaf);
    const std::string prefix = parent.empty() ? "" : parent + ".";
    return std::any_of(errors_.begin(), errors_.end(), [&](const ConfigError& e) {
      return e.hint == hint && e.key.compare(0, prefix.size(), prefix) == 0;
    });
  }

  std::optional<Fields> mapping(const Node& node, const SourceLocation& where,
                                const std::string& path, const std::vector<std::string>& known,
                                const MisplacedHint& misplaced = {});
  Fields section(const Fields& parent, const std::string& parent_path, const char* key,
                 const std::vector<std::string>& known, const MisplacedHint& misplaced = {});

  const Entry* present(const Fields& f, const char* key) const {
    auto it = f.find(key);
    if (it == f.end() || it->second.value.IsNull()) return nullptr;
    return &it->second;
  }
  // A present key's value, typed, with its dotted key for errors.
  struct Scalar {
    const Entry* entry;
    std::string key;
    TypedScalar value;
  };
  // The value of `key` when it is present (not null) and a scalar of one of `kinds`. Otherwise
  // nullopt, after reporting a present value: the resolver's sentence for a tag that does not
  // fit, else `expected <what>, got <value>` with the hint "remove the quotes" (a quoted one of
  // `kinds`) or `hint(value)` for a scalar.
  std::optional<Scalar> get_scalar(const Fields& f, const std::string& path, const char* key,
                                   std::initializer_list<ScalarKind> kinds, const char* what,
                                   std::string (*hint)(const TypedScalar&) = nullptr);
  // Whether lo <= value <= hi; reports `must be between lo and hi, got <text>` if not.
  template <typename T>
  bool in_range(const Scalar& s, T value, T lo, T hi);
  // The typed getters: true (and *out set) when `key` is present and valid; an invalid value
  // is reported, an absent one leaves *out alone.
  bool get_bool(const Fields& f, const std::string& path, const char* key, bool* out);
  bool get_u32(const Fields& f, const std::string& path, const char* key, uint32_t lo, uint32_t hi,
               uint32_t* out);
  bool get_double(const Fields& f, const std::string& path, const char* key, double lo, double hi,
                  double* out);
  const Entry* get_string(const Fields& f, const std::string& path, const char* key,
                          std::string* out);
  template <typename E>
  bool get_enum(const Fields& f, const std::string& path, const char* key,
                const std::vector<std::pair<std::string, E>>& values, E* out);

  std::string resolve_path(const std::string& p) const {
    fs::path path(p);
    if (!path.is_absolute()) path = fs::path(base_dir_) / path;
    return strip_trailing_slash(path.lexically_normal().string());
  }

  void read_bus(const Fields& top);
  void read_kafka_properties(const Fields& bus, const char* key, Properties* out);
  void read_topics(const Fields& top);
  void read_consumer(const Fields& top);
  void read_dlq(const Fields& top);
  void read_admin(const Fields& top);
  void read_logging(const Fields& top);
  void read_paths(const Fields& top);
  void read_demo(const Fields& top);
  void read_plugins(const Fields& top);
  // True when the instance was added with a valid, unique name.
  bool read_plugin(const Node& node, size_t index, std::map<std::string, int>* names);
  void read_events(const Entry& e, const std::string& key, PluginInstanceConfig* pi);
  void read_plugin_config(const Entry& e, const std::string& key, PluginInstanceConfig* pi);
  json to_json(const Node& node, const std::string& key, int depth);

  std::string file_;
  std::string base_dir_;
  Config cfg_;
  std::vector<ConfigError> errors_;
};

std::optional<Fields> Loader::mapping(const Node& node, const SourceLocation& where,
                                      const std::string& path,
                                      const std::vector<std::string>& known,
                                      const MisplacedHint& misplaced) {
  Fields fields;
  if (node.IsNull()) return fields;  // a section whose keys are all commented out
  if (!node.IsMap()) {
    fail(where, path, "expected a mapping, got " + describe(node));
    return std::nullopt;
  }
  std::map<std::string, int> seen;  // key -> line
  for (auto it = node.begin(); it != node.end(); ++it) {
    const Node k = it->first;
    const Node v = it->second;
    const SourceLocation kl = at(k.Mark());
    if (!k.IsScalar()) {
      fail(kl, path, "keys must be plain names, got " + describe(k));
      continue;
    }
    const std::string name = k.Scalar();
    const std::string key = join(path, name);
    if (auto [pos, inserted] = seen.emplace(name, kl.line); !inserted) {
      fail(kl, key, "duplicate key (first at line " + std::to_string(pos->second) + ")",
           "remove one of them");
      continue;
    }
    if (!contains(known, name)) {
      std::string hint;
      if (name == "<<") {
        hint = "YAML merge keys are not supported; write the keys out";
      } else if (auto s = suggest(name, known)) {
        hint = did_you_mean(*s);
      } else if (misplaced) {
        hint = misplaced(name);
      }
      if (hint.empty()) hint = "valid keys here: " + list(known);
      fail(kl, key, "unknown key", hint);
      continue;
    }
    fields.emplace(name, Entry{k, v, kl, v.IsNull() ? kl : at(v.Mark())});
    cfg_.locations[key] = where_is(v, kl);
  }
  return fields;
}

Fields Loader::section(const Fields& parent, const std::string& parent_path, const char* key,
                       const std::vector<std::string>& known, const MisplacedHint& misplaced) {
  auto it = parent.find(key);
  if (it == parent.end()) return {};
  auto fields =
      mapping(it->second.value, it->second.value_loc, join(parent_path, key), known, misplaced);
  return fields ? std::move(*fields) : Fields{};
}

std::optional<Loader::Scalar> Loader::get_scalar(const Fields& f, const std::string& path,
                                                 const char* key,
                                                 std::initializer_list<ScalarKind> kinds,
                                                 const char* what,
                                                 std::string (*hint)(const TypedScalar&)) {
  const Entry* e = present(f, key);
  if (e == nullptr) return std::nullopt;
  const std::string k = join(path, key);
  const auto expected = [&] {
    return std::string("expected ") + what + ", got " + describe(e->value);
  };
  if (!e->value.IsScalar()) {
    fail(e->value_loc, k, expected());
    return std::nullopt;
  }
  auto typed = resolve_scalar(e->value);
  if (!typed.ok()) {
    fail(e->value_loc, k, typed.error());
    return std::nullopt;
  }
  const TypedScalar& v = typed.value();
  const auto one_of = [&kinds](ScalarKind kind) {
    return std::find(kinds.begin(), kinds.end(), kind) != kinds.end();
  };
  if (one_of(v.kind)) return Scalar{e, k, std::move(typed.value())};
  if (v.kind == ScalarKind::kString && one_of(resolve_plain(v.text).kind)) {
    fail(e->value_loc, k, expected(), "remove the quotes");
  } else {
    fail(e->value_loc, k, expected(), hint != nullptr ? hint(v) : "");
  }
  return std::nullopt;
}

template <typename T>
bool Loader::in_range(const Scalar& s, T value, T lo, T hi) {
  if (value >= lo && value <= hi) return true;  // false for nan
  std::ostringstream range;
  range << "must be between " << lo << " and " << hi << ", got " << s.value.text;
  fail(s.entry->value_loc, s.key, range.str());
  return false;
}

bool Loader::get_bool(const Fields& f, const std::string& path, const char* key, bool* out) {
  const auto yaml11 = [](const TypedScalar& v) -> std::string {
    const std::string lower = to_lower(v.text);
    for (const char* word : {"yes", "no", "on", "off", "y", "n"})
      if (lower == word) return "YAML 1.2 booleans are `true` and `false`";
    return "";
  };
  auto s = get_scalar(f, path, key, {ScalarKind::kBool}, "boolean (true or false)", yaml11);
  if (s) *out = s->value.boolean;
  return s.has_value();
}

bool Loader::get_u32(const Fields& f, const std::string& path, const char* key, uint32_t lo,
                     uint32_t hi, uint32_t* out) {
  auto s = get_scalar(f, path, key, {ScalarKind::kInt}, "integer");
  if (!s) return false;
  // A negative or overflowing value is out of every range; -0 is 0.
  const TypedScalar& v = s->value;
  const uint64_t value = (v.negative && v.magnitude != 0) || v.overflow
                             ? std::numeric_limits<uint64_t>::max()
                             : v.magnitude;
  if (!in_range<uint64_t>(*s, value, lo, hi)) return false;
  *out = static_cast<uint32_t>(value);
  return true;
}

bool Loader::get_double(const Fields& f, const std::string& path, const char* key, double lo,
                        double hi, double* out) {
  auto s = get_scalar(f, path, key, {ScalarKind::kFloat, ScalarKind::kInt}, "number");
  if (!s) return false;
  const TypedScalar& v = s->value;
  double value = v.number;
  if (v.kind == ScalarKind::kInt)
    value = v.overflow ? std::numeric_limits<double>::infinity()
                       : static_cast<double>(v.magnitude) * (v.negative ? -1.0 : 1.0);
  if (!in_range(*s, value, lo, hi)) return false;
  *out = value;
  return true;
}

const Entry* Loader::get_string(const Fields& f, const std::string& path, const char* key,
                                std::string* out) {
  auto s = get_scalar(f, path, key,
                      {ScalarKind::kNull, ScalarKind::kBool, ScalarKind::kInt, ScalarKind::kFloat,
                       ScalarKind::kString},
                      "string");
  if (s) *out = s->entry->value.Scalar();
  return s ? s->entry : nullptr;
}

template <typename E>
bool Loader::get_enum(const Fields& f, const std::string& path, const char* key,
                      const std::vector<std::pair<std::string, E>>& values, E* out) {
  std::string text;
  const Entry* e = get_string(f, path, key, &text);
  if (e == nullptr) return false;
  std::vector<std::string> names;
  for (const auto& [name, value] : values) {
    if (name == text) {
      *out = value;
      return true;
    }
    names.push_back(name);
  }
  auto s = suggest(text, names);
  fail(e->value_loc, join(path, key), "must be one of " + list(names) + "; got " + quote(text),
       s ? did_you_mean(*s) : "");
  return false;
}

// ---- Sections --------------------------------------------------------------------------------

void Loader::read_bus(const Fields& top) {
  const std::string path = "bus";
  const Fields f = section(top, "", "bus", kBusKeys, [](const std::string& name) -> std::string {
    if (name.find('.') != std::string::npos && kafka_property_catalog().scopes.count(name) != 0)
      return "librdkafka properties belong under `properties:`, `producer_properties:` or "
             "`consumer_properties:`";
    return {};
  });
  BusConfig& bus = cfg_.bus;
  const bool embedded_ok = get_bool(f, path, "embedded", &bus.embedded);
  get_u32(f, path, "embedded_partitions", 1, 64, &bus.embedded_partitions);
  std::string servers;
  const Entry* se = get_string(f, path, "bootstrap_servers", &servers);
  read_kafka_properties(f, "properties", &bus.properties);
  read_kafka_properties(f, "producer_properties", &bus.producer_properties);
  read_kafka_properties(f, "consumer_properties", &bus.consumer_properties);

  const std::string key = "bus.bootstrap_servers";
  if (present(f, "embedded") != nullptr && !embedded_ok) return;  // reported; cannot tell
  if (bus.embedded) {
    if (se != nullptr) {
      fail(se->value_loc, key,
           "ambiguous: `bus.embedded` is true (line " +
               std::to_string(cfg_.location_of("bus.embedded").line) +
               "), which runs an in-process mock cluster instead of connecting to brokers",
           "remove `bootstrap_servers`, or set `embedded: false`");
    }
    return;
  }
  if (se == nullptr) {
    auto it = f.find("bootstrap_servers");
    if (it != f.end() && !it->second.value.IsNull()) return;  // of the wrong type: reported
    if (it == f.end() && suggested("bus", "bootstrap_servers")) return;
    auto bus_key = cfg_.locations.find("bus");
    SourceLocation where = it != f.end()                     ? it->second.key_loc
                           : bus_key != cfg_.locations.end() ? bus_key->second
                                                             : SourceLocation{file_, 1, 1};
    fail(where, key, "required unless `bus.embedded` is true",
         "e.g. `bootstrap_servers: \"localhost:9092\"`, or `embedded: true` for the in-process "
         "demo cluster");
    return;
  }
  // "host:port,host:port", each optionally with a "protocol://" prefix as librdkafka allows;
  // kept with the spaces around entries removed.
  size_t start = 0;
  bool ok = true;
  std::string normalized;
  while (ok) {
    size_t comma = servers.find(',', start);
    if (comma == std::string::npos) comma = servers.size();
    std::string_view item = std::string_view(servers).substr(start, comma - start);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (!normalized.empty()) normalized += ',';
    normalized += item;
    if (size_t scheme = item.find("://"); scheme != std::string_view::npos)
      item.remove_prefix(scheme + 3);
    if (item.empty()) {
      fail(se->value_loc, key,
           servers.empty() ? "must not be empty" : "empty entry in " + quote(servers),
           "e.g. \"kafka-1:9092,kafka-2:9092\"");
      ok = false;
    } else if (auto hp = parse_host_port(item); !hp.ok()) {
      fail(se->value_loc, key, "invalid broker address " + quote(item) + ": " + hp.error());
      ok = false;
    } else if (hp.value().port == 0) {
      fail(se->value_loc, key, "invalid broker address " + quote(item) + ": port 0");
      ok = false;
    }
    if (comma == servers.size()) break;
    start = comma + 1;
  }
  if (ok) bus.bootstrap_servers = normalized;
}

void Loader::read_kafka_properties(const Fields& bus, const char* key, Properties* out) {
  auto it = bus.find(key);
  if (it == bus.end() || it->second.value.IsNull()) return;
  const std::string path = join("bus", key);
  const Node& node = it->second.value;
  if (!node.IsMap()) {
    fail(it->second.value_loc, path,
         "expected a mapping of librdkafka properties, got " + describe(node),
         "e.g. `linger.ms: 5`");
    return;
  }
  const std::string section = key;
  const KafkaPropertyCatalog& catalog = kafka_property_catalog();
  std::map<std::string, int> seen;
  for (auto p = node.begin(); p != node.end(); ++p) {
    const SourceLocation kl = at(p->first.Mark());
    if (!p->first.IsScalar()) {
      fail(kl, path, "keys must be librdkafka property names, got " + describe(p->first));
      continue;
    }
    const std::string name = p->first.Scalar();
    const std::string k = join(path, name);
    if (auto [pos, inserted] = seen.emplace(name, kl.line); !inserted) {
      fail(kl, k, "duplicate key (first at line " + std::to_string(pos->second) + ")",
           "remove one of them");
      continue;
    }
    const Node v = p->second;
    cfg_.locations[k] = where_is(v, kl);
    const SourceLocation vl = v.IsNull() ? kl : at(v.Mark());
    if (v.IsNull()) {
      fail(vl, k, "expected a value, got null", "write \"\" for an empty string");
      continue;
    }
    if (!v.IsScalar()) {
      fail(vl, k, "expected a single value, got " + describe(v),
           v.IsSequence() ? "write lists as one comma-separated string" : "");
      continue;
    }
    const auto owned = std::find_if(std::begin(kOwnedProperties), std::end(kOwnedProperties),
                                    [&](const OwnedProperty& o) { return name == o.name; });
    if (owned != std::end(kOwnedProperties)) {
      fail(kl, k, "is set by the host and cannot be overridden", owned->hint);
      continue;
    }
    const std::string value = v.Scalar();
    if (auto problem = check_kafka_property(name, value)) {
      std::string hint;
      if (problem->unknown) {
        if (auto s = suggest(name, catalog.names)) hint = did_you_mean(*s);
      }
      fail(problem->unknown ? kl : vl, k, problem->message, hint);
      continue;
    }
    auto scope = catalog.scopes.find(name);
    if (scope != catalog.scopes.end()) {
      if (section == "producer_properties" && scope->second == KafkaScope::kConsumer) {
        fail(kl, k, "is a consumer property; the producer ignores it",
             "move it to `consumer_properties:`");
        continue;
      }
      if (section == "consumer_properties" && scope->second == KafkaScope::kProducer) {
        fail(kl, k, "is a producer property; consumers ignore it",
             "move it to `producer_properties:`");
        continue;
      }
    }
    (*out)[name] = value;
  }
}

void Loader::read_topics(const Fields& top) {
  const std::string path = "topics";
  const Fields f = section(top, "", "topics", kTopicsKeys);
  TopicsConfig& t = cfg_.topics;
  std::string prefix;
  if (const Entry* e = get_string(f, path, "prefix", &prefix)) {
    if (auto problem = topic_name_problem(prefix, 200)) {
      fail(e->value_loc, "topics.prefix", *problem);
    } else {
      t.prefix = prefix;
    }
  }
  const Entry* dlq = get_string(f, path, "dlq", &t.dlq);
  const Entry* alerts = get_string(f, path, "alerts", &t.alerts);
  get_bool(f, path, "create", &t.create);
  get_u32(f, path, "partitions", 1, 10000, &t.partitions);
  get_u32(f, path, "replication_factor", 1, 32767, &t.replication_factor);

  std::set<std::string> event_topics;
  for (std::string_view suffix : all_topic_suffixes()) event_topics.insert(t.topic_for(suffix));
  auto check = [&](const Entry* e, const char* key, std::string* topic, const char* suffix) {
    if (topic->empty()) {
      *topic = t.topic_for(suffix);
      return;
    }
    if (auto problem = topic_name_problem(*topic, 249)) {
      fail(e->value_loc, join(path, key), *problem);
    } else if (event_topics.count(*topic) != 0) {
      fail(e->value_loc, join(path, key),
           "`" + *topic + "` is one of the event topics; it needs a topic of its own",
           "the default is `" + t.topic_for(suffix) + "`");
    }
  };
  check(dlq, "dlq", &t.dlq, "dlq");
  check(alerts, "alerts", &t.alerts, "security.alerts");
  if (t.dlq == t.alerts) {
    const Entry* later = alerts != nullptr ? alerts : dlq;
    fail(later != nullptr ? later->value_loc : cfg_.location_of("topics"),
         alerts != nullptr ? "topics.alerts" : "topics.dlq",
         "the DLQ and the alerts topic are both `" + t.dlq + "`", "give each its own topic");
  }
}

void Loader::read_consumer(const Fields& top) {
  const std::string path = "consumer";
  const Fields f = section(top, "", "consumer", kConsumerKeys);
  ConsumerConfig& c = cfg_.consumer;
  std::string prefix;
  if (const Entry* e = get_string(f, path, "group_prefix", &prefix)) {
    const bool bad_char = std::any_of(prefix.begin(), prefix.end(), [](char ch) {
      return static_cast<unsigned char>(ch) <= ' ' || ch == 0x7f;
    });
    if (prefix.empty()) {
      fail(e->value_loc, "consumer.group_prefix", "must not be empty");
    } else if (prefix.size() > 200) {
      fail(e->value_loc, "consumer.group_prefix",
           "is " + std::to_string(prefix.size()) + " characters long; the limit is 200");
    } else if (bad_char) {
      fail(e->value_loc, "consumer.group_prefix",
           "must not contain spaces or control characters, got " + quote(prefix));
    } else {
      c.group_prefix = prefix;
    }
  }
  get_u32(f, path, "batch_size", 1, 10000, &c.batch_size);
  get_u32(f, path, "batch_timeout_ms", 0, 60000, &c.batch_timeout_ms);
  get_u32(f, path, "handler_timeout_ms", 1, 3600000, &c.handler_timeout_ms);
  get_u32(f, path, "max_record_bytes", 1, 1000000000, &c.max_record_bytes);
  get_u32(f, path, "max_depth", 1, 1024, &c.max_depth);
  get_enum<OffsetReset>(f, path, "auto_offset_reset",
                        {{"earliest", OffsetReset::kEarliest}, {"latest", OffsetReset::kLatest}},
                        &c.auto_offset_reset);
}

void Loader::read_dlq(const Fields& top) {
  const Fields f = section(top, "", "dlq", kDlqKeys);
  get_bool(f, "dlq", "enabled", &cfg_.dlq.enabled);
  get_u32(f, "dlq", "max_replays", 0, 1000, &cfg_.dlq.max_replays);
}

void Loader::read_admin(const Fields& top) {
  const Fields f = section(top, "", "admin", kAdminKeys);
  get_bool(f, "admin", "enabled", &cfg_.admin.enabled);
  std::string listen;
  if (const Entry* e = get_string(f, "admin", "listen", &listen)) {
    auto hp = parse_host_port(listen);
    if (!hp.ok()) {
      fail(e->value_loc, "admin.listen", "invalid address " + quote(listen) + ": " + hp.error());
    } else {
      cfg_.admin.listen = listen;
      cfg_.admin.address = hp.value();
    }
  }
}

void Loader::read_logging(const Fields& top) {
  const Fields f = section(top, "", "logging", kLoggingKeys);
  get_enum<LogLevel>(f, "logging", "level",
                     {{"trace", LogLevel::kTrace},
                      {"debug", LogLevel::kDebug},
                      {"info", LogLevel::kInfo},
                      {"warn", LogLevel::kWarn},
                      {"error", LogLevel::kError}},
                     &cfg_.logging.level);
  get_enum<LogFormat>(f, "logging", "format",
                      {{"text", LogFormat::kText}, {"json", LogFormat::kJson}},
                      &cfg_.logging.format);
}

void Loader::read_paths(const Fields& top) {
  std::string state_dir;
  if (const Entry* e = get_string(top, "", "state_dir", &state_dir)) {
    if (state_dir.empty()) {
      fail(e->value_loc, "state_dir", "must not be empty", "the default is /var/lib/wallet-eventd");
    } else {
      cfg_.state_dir = resolve_path(state_dir);
    }
  }
  std::string plugin_dir;
  if (get_string(top, "", "plugin_dir", &plugin_dir) && !plugin_dir.empty())
    cfg_.plugin_dir = resolve_path(plugin_dir);
  get_u32(top, "", "shutdown_timeout_ms", 1, 3600000, &cfg_.shutdown_timeout_ms);
}

void Loader::read_demo(const Fields& top) {
  const Fields f = section(top, "", "demo", kDemoKeys);
  DemoConfig& d = cfg_.demo;
  get_bool(f, "demo", "enabled", &d.enabled);
  get_u32(f, "demo", "wallets", 1, 10000, &d.wallets);
  get_u32(f, "demo", "interval_ms", 1, 3600000, &d.interval_ms);
  std::string server;
  if (const Entry* e = get_string(f, "demo", "notification_server", &server)) {
    if (server.empty()) {
      d.notification_server.clear();
      d.notification_address.reset();
    } else if (auto hp = parse_host_port(server); !hp.ok()) {
      fail(e->value_loc, "demo.notification_server",
           "invalid address " + quote(server) + ": " + hp.error(), "\"\" turns it off");
    } else {
      d.notification_server = server;
      d.notification_address = hp.value();
    }
  }
}

void Loader::read_plugins(const Fields& top) {
  auto it = top.find("plugins");
  if (it == top.end() || it->second.value.IsNull()) return;
  const Node& list_node = it->second.value;
  if (!list_node.IsSequence()) {
    fail(it->second.value_loc, "plugins",
         "expected a list of plugin instances, got " + describe(list_node),
         "start each instance with `- name: ...`");
    return;
  }
  std::map<std::string, int> names;  // name -> line of its first definition
  std::vector<size_t> indexes;       // list index of each valid entry of cfg_.plugins
  for (size_t i = 0; i < list_node.size(); ++i)
    if (read_plugin(list_node[i], i, &names)) indexes.push_back(i);

  // Instances sharing a consumer group would split the partitions between them.
  std::map<std::string, size_t> groups;
  for (size_t n = 0; n < indexes.size(); ++n) {
    const size_t i = indexes[n];
    const PluginInstanceConfig& pi = cfg_.plugins[n];
    if (!pi.enabled) continue;
    auto [pos, inserted] = groups.emplace(pi.group, n);
    if (inserted) continue;
    const PluginInstanceConfig& first = cfg_.plugins[pos->second];
    const std::string base = indexed("plugins", i);
    const bool explicit_group = cfg_.locations.count(base + ".group") != 0;
    fail(cfg_.location_of(explicit_group ? base + ".group" : base + ".name"), base + ".group",
         "consumer group `" + pi.group + "` is also used by instance `" + first.name + "` (line " +
             std::to_string(first.location.line) +
             "); instances sharing a group split the events between them",
         "give each instance its own `group`");
  }
}

bool Loader::read_plugin(const Node& node, size_t index, std::map<std::string, int>* names) {
  const std::string path = indexed("plugins", index);
  const SourceLocation where = at(node.Mark());
  if (!node.IsMap()) {
    fail(where, path, "expected a mapping (a plugin instance), got " + describe(node),
         "each instance needs at least `name:` and `path:`");
    return false;
  }
  const auto misplaced = [](const std::string& name) -> std::string {
    if (contains(kRetryKeys, name)) return "did you mean `retry." + name + "`?";
    if (auto s = suggest(name, kRetryKeys)) return "did you mean `retry." + *s + "`?";
    return "settings of the plugin itself belong under `config:`";
  };
  auto fields = mapping(node, where, path, kPluginKeys, misplaced);
  if (!fields) return false;
  const Fields& f = *fields;
  bool name_ok = false;

  PluginInstanceConfig pi;
  pi.location = where;
  pi.config_location = where;
  pi.batch_size = cfg_.consumer.batch_size;
  pi.batch_timeout_ms = cfg_.consumer.batch_timeout_ms;
  pi.handler_timeout_ms = cfg_.consumer.handler_timeout_ms;

  const std::string name_key = join(path, "name");
  if (const Entry* e = get_string(f, path, "name", &pi.name)) {
    if (!is_instance_name(pi.name)) {
      const std::string lower = to_lower(pi.name);
      fail(e->value_loc, name_key,
           "invalid instance name " + quote(pi.name) + ": use 1 to 64 of a-z, 0-9, '_' and '-'",
           is_instance_name(lower) ? did_you_mean(lower) : "");
    } else if (auto [pos, inserted] = names->emplace(pi.name, e->key_loc.line); !inserted) {
      fail(e->value_loc, name_key,
           "duplicate instance name `" + pi.name + "` (first defined at line " +
               std::to_string(pos->second) + ")",
           "instance names must be unique; rename one, e.g. `" + pi.name + "-2`");
    } else {
      name_ok = true;
    }
  } else if (f.count("name") == 0 && !suggested(path, "name")) {
    fail(where, name_key, "required: every instance needs a `name:`");
  } else if (f.count("name") != 0 && present(f, "name") == nullptr) {
    fail(f.at("name").key_loc, name_key, "must not be empty");
  }

  const std::string path_key = join(path, "path");
  std::string plugin_path;
  if (const Entry* e = get_string(f, path, "path", &plugin_path)) {
    if (plugin_path.find('/') != std::string::npos) {
      pi.path = resolve_path(plugin_path);
    } else if (is_instance_name(plugin_path)) {
      pi.path = plugin_path;
    } else if (plugin_path.size() > 3 &&
               plugin_path.compare(plugin_path.size() - 3, 3, ".so") == 0) {
      fail(e->value_loc, path_key, "a library file needs a directory: " + quote(plugin_path),
           "write `./" + plugin_path + "` for a file next to the config file");
    } else {
      fail(e->value_loc, path_key,
           "neither a built-in plugin name (a-z, 0-9, '_', '-') nor a path to a shared "
           "library (with a '/'): " +
               quote(plugin_path),
           "built-in plugins: audit, metrics, notification, security");
    }
  } else if (f.count("path") == 0 && !suggested(path, "path")) {
    fail(where, path_key,
         "required: a built-in plugin name (audit, metrics, notification, security) or the "
         "path of a shared library");
  } else if (f.count("path") != 0 && present(f, "path") == nullptr) {
    fail(f.at("path").key_loc, path_key, "must not be empty");
  }

  get_bool(f, path, "enabled", &pi.enabled);
  if (const Entry* e = present(f, "events")) read_events(*e, join(path, "events"), &pi);

  std::string sha;
  if (const Entry* e = get_string(f, path, "sha256", &sha)) {
    const bool hex = std::all_of(sha.begin(), sha.end(), [](char c) {
      return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    });
    if (sha.size() != 64) {
      fail(e->value_loc, join(path, "sha256"),
           "expected 64 hexadecimal digits (a SHA-256), got " + std::to_string(sha.size()) +
               " characters",
           "compute it with `sha256sum <library>`");
    } else if (!hex) {
      fail(e->value_loc, join(path, "sha256"),
           "expected 64 hexadecimal digits (a SHA-256), got a character that is not one");
    } else {
      pi.sha256 = to_lower(sha);
    }
  }

  if (const Entry* e = get_string(f, path, "group", &pi.group)) {
    if (pi.group.empty() || std::any_of(pi.group.begin(), pi.group.end(), [](char ch) {
          return static_cast<unsigned char>(ch) <= ' ' || ch == 0x7f;
        })) {
      fail(e->value_loc, join(path, "group"),
           "must be a non-empty name without spaces or control characters",
           "remove it for the default `<consumer.group_prefix>." +
               (pi.name.empty() ? std::string("<name>") : pi.name) + "`");
      pi.group.clear();
    }
  }
  if (pi.group.empty()) pi.group = cfg_.consumer.group_prefix + "." + pi.name;

  const std::string retry_path = join(path, "retry");
  const Fields r = section(f, path, "retry", kRetryKeys);
  get_u32(r, retry_path, "max_attempts", 1, 1000, &pi.retry.max_attempts);
  const bool initial =
      get_u32(r, retry_path, "initial_backoff_ms", 0, 3600000, &pi.retry.initial_backoff_ms);
  const bool max = get_u32(r, retry_path, "max_backoff_ms", 0, 86400000, &pi.retry.max_backoff_ms);
  get_double(r, retry_path, "multiplier", 1.0, 100.0, &pi.retry.multiplier);
  if ((initial || max) && pi.retry.max_backoff_ms < pi.retry.initial_backoff_ms) {
    const std::string at_key = retry_path + (max ? ".max_backoff_ms" : ".initial_backoff_ms");
    const Entry& e = r.at(max ? "max_backoff_ms" : "initial_backoff_ms");
    fail(e.value_loc, at_key,
         "max_backoff_ms (" + std::to_string(pi.retry.max_backoff_ms) +
             ") is smaller than initial_backoff_ms (" +
             std::to_string(pi.retry.initial_backoff_ms) + ")");
  }

  get_u32(f, path, "batch_size", 1, 10000, &pi.batch_size);
  get_u32(f, path, "batch_timeout_ms", 0, 60000, &pi.batch_timeout_ms);
  get_u32(f, path, "handler_timeout_ms", 1, 3600000, &pi.handler_timeout_ms);

  if (auto it = f.find("config"); it != f.end()) {
    pi.config_location = it->second.key_loc;
    read_plugin_config(it->second, join(path, "config"), &pi);
  }
  if (!name_ok) return false;
  cfg_.plugins.push_back(std::move(pi));
  return true;
}

void Loader::read_events(const Entry& e, const std::string& key, PluginInstanceConfig* pi) {
  if (!e.value.IsSequence()) {
    fail(e.value_loc, key, "expected a list of event type names, got " + describe(e.value),
         e.value.IsScalar() ? "write `[" + e.value.Scalar() + "]`" : "");
    return;
  }
  if (e.value.size() == 0) {
    fail(e.value_loc, key, "an empty list would receive nothing",
         "remove `events:` to receive every type the plugin subscribes to, or set "
         "`enabled: false`");
    return;
  }
  static const std::vector<std::string> names = event_type_names();
  std::map<std::string, int> seen;
  for (size_t i = 0; i < e.value.size(); ++i) {
    const Node item = e.value[i];
    const std::string item_key = indexed(key, i);
    const SourceLocation loc = item.IsNull() ? e.value_loc : at(item.Mark());
    if (!item.IsScalar()) {
      fail(loc, item_key, "expected an event type name, got " + describe(item));
      continue;
    }
    const std::string name = item.Scalar();
    if (!parse_event_type(name)) {
      auto s = suggest(name, names);
      fail(loc, item_key, "unknown event type " + quote(name),
           s ? did_you_mean(*s) : "event types: " + list(names));
      continue;
    }
    if (auto [pos, inserted] = seen.emplace(name, loc.line); !inserted) {
      fail(loc, item_key,
           "`" + name + "` is listed twice (first at line " + std::to_string(pos->second) + ")");
      continue;
    }
    pi->events.push_back(name);
  }
}

void Loader::read_plugin_config(const Entry& e, const std::string& key, PluginInstanceConfig* pi) {
  if (e.value.IsNull()) return;
  if (!e.value.IsMap()) {
    fail(e.value_loc, key,
         "expected a mapping (handed to the plugin as a JSON object), got " + describe(e.value));
    return;
  }
  json object = json::object();
  std::map<std::string, int> seen;
  for (auto it = e.value.begin(); it != e.value.end(); ++it) {
    const SourceLocation kl = at(it->first.Mark());
    if (!it->first.IsScalar()) {
      fail(kl, key, "keys must be plain names, got " + describe(it->first));
      continue;
    }
    const std::string name = it->first.Scalar();
    if (auto [pos, inserted] = seen.emplace(name, kl.line); !inserted) {
      fail(kl, join(key, name), "duplicate key (first at line " + std::to_string(pos->second) + ")",
           "remove one of them");
      continue;
    }
    pi->config_locations[name] = kl;
    cfg_.locations[join(key, name)] = where_is(it->second, kl);
    object[name] = to_json(it->second, join(key, name), 1);
  }
  pi->config_json = object.dump();
}

json Loader::to_json(const Node& node, const std::string& key, int depth) {
  if (depth > kMaxJsonDepth) {
    fail(at(node.Mark()), key, "nested more than " + std::to_string(kMaxJsonDepth) + " levels");
    return nullptr;
  }
  if (node.IsMap()) {
    json object = json::object();
    std::set<std::string> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      const SourceLocation kl = at(it->first.Mark());
      if (!it->first.IsScalar()) {
        fail(kl, key, "keys must be plain names, got " + describe(it->first));
        continue;
      }
      const std::string name = it->first.Scalar();
      if (!seen.insert(name).second) {
        fail(kl, join(key, name), "duplicate key", "remove one of them");
        continue;
      }
      object[name] = to_json(it->second, join(key, name), depth + 1);
    }
    return object;
  }
  if (node.IsSequence()) {
    json array = json::array();
    for (size_t i = 0; i < node.size(); ++i)
      array.push_back(to_json(node[i], indexed(key, i), depth + 1));
    return array;
  }
  if (node.IsNull()) return nullptr;
  auto typed = resolve_scalar(node);
  if (!typed.ok()) {
    fail(at(node.Mark()), key, typed.error());
    return nullptr;
  }
  const TypedScalar& v = typed.value();
  switch (v.kind) {
    case ScalarKind::kNull:
      return nullptr;
    case ScalarKind::kBool:
      return v.boolean;
    case ScalarKind::kInt: {
      constexpr uint64_t kMinMagnitude = uint64_t{1} << 63;
      if (v.overflow || (v.negative && v.magnitude > kMinMagnitude)) {
        fail(at(node.Mark()), key, "integer " + v.text + " does not fit in 64 bits",
             "quote it to pass it as a string");
        return nullptr;
      }
      if (!v.negative) {
        if (v.magnitude <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
          return static_cast<int64_t>(v.magnitude);
        return v.magnitude;
      }
      if (v.magnitude == kMinMagnitude) return std::numeric_limits<int64_t>::min();
      return -static_cast<int64_t>(v.magnitude);
    }
    case ScalarKind::kFloat:
      if (!std::isfinite(v.number)) {
        fail(at(node.Mark()), key, v.text + " cannot be represented in JSON",
             "quote it to pass it as a string");
        return nullptr;
      }
      return v.number;
    case ScalarKind::kString:
      break;
  }
  return v.text;
}

Config Loader::load(const Node& root) {
  Fields top;
  if (!root.IsNull() && !root.IsMap()) {
    fail(at(root.Mark()), "", "the top level must be a mapping of sections, got " + describe(root),
         "start with e.g. `bus:`");
    return std::move(cfg_);
  }
  {
    const auto misplaced = [](const std::string& name) -> std::string {
      std::vector<std::string> homes;
      for (const Section& s : kSections)
        if (contains(*s.keys, name)) homes.push_back(std::string(s.name) + "." + name);
      if (homes.empty()) {
        std::vector<std::string> leaves;
        for (const Section& s : kSections)
          for (const std::string& k : *s.keys)
            if (!contains(leaves, k)) leaves.push_back(k);
        if (auto best = suggest(name, leaves)) {
          for (const Section& s : kSections)
            if (contains(*s.keys, *best)) homes.push_back(std::string(s.name) + "." + *best);
        }
      }
      if (homes.size() == 1) return did_you_mean(homes[0]);
      if (!homes.empty()) return "it belongs under a section: " + list(homes);
      if (contains(kPluginKeys, name) || contains(kRetryKeys, name))
        return "plugin settings belong to an entry of the `plugins:` list";
      return {};
    };
    if (auto fields = mapping(root, at(root.Mark()), "", kTopKeys, misplaced))
      top = std::move(*fields);
  }
  read_bus(top);
  read_topics(top);
  read_consumer(top);
  read_dlq(top);
  read_admin(top);
  read_logging(top);
  read_paths(top);
  read_demo(top);
  read_plugins(top);
  return std::move(cfg_);
}

// ---- Text-level checks -----------------------------------------------------------------------

std::string line_of(const std::string& text, int line /* 1-based */) {
  size_t start = 0;
  for (int i = 1; i < line; ++i) {
    start = text.find('\n', start);
    if (start == std::string::npos) return {};
    ++start;
  }
  const size_t end = text.find('\n', start);
  return text.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

bool tab_indented(const std::string& line) {
  for (char c : line) {
    if (c == '\t') return true;
    if (c != ' ' && c != '-') return false;
  }
  return false;
}

ConfigError syntax_error(const YAML::Exception& e, const std::string& text,
                         const std::string& file) {
  ConfigError err;
  err.where = e.mark.is_null() ? SourceLocation{file, 0, 0}
                               : SourceLocation{file, e.mark.line + 1, e.mark.column + 1};
  err.message = "YAML syntax error: " + e.msg;
  const int line = err.where.line;
  int tab_line = 0;
  for (int l = std::max(1, line - 1); l <= line && tab_line == 0; ++l)
    if (tab_indented(line_of(text, l))) tab_line = l;
  if (tab_line != 0) {
    err.hint =
        "line " + std::to_string(tab_line) + " is indented with a tab; YAML allows only spaces";
  } else if (e.msg == "illegal map value") {
    err.hint = "quote a value that contains \": \", or check the indentation";
  } else if (e.msg == "end of map not found" || e.msg == "end of sequence not found") {
    err.hint = "check the indentation of this line and the one before";
  } else if (e.msg == "end of sequence flow not found") {
    err.hint = "a `[` is missing its `]`";
  } else if (e.msg == "end of map flow not found") {
    err.hint = "a `{` is missing its `}`";
  } else if (e.msg == "unexpected `,`") {
    err.hint = "a `,` separates items only inside [ ] or { }; quote a value that starts with it";
  } else if (e.msg == "unknown token") {
    err.hint = "quote values that start with `@` or a backquote";
  }
  return err;
}

// yaml-cpp 0.7 accepts a quoted scalar that runs to the end of the input; find the first one.
struct Unterminated {
  SourceLocation where;
  std::string key;
};
void find_unterminated(const Node& node, const std::string& text, const std::string& file,
                       const std::string& key, std::optional<Unterminated>* found, int depth) {
  if (found->has_value() || depth > 200) return;
  if (node.IsScalar()) {
    const YAML::Mark m = node.Mark();
    if (m.is_null() || m.pos < 0 || static_cast<size_t>(m.pos) >= text.size()) return;
    const char q = text[m.pos];
    if (q != '"' && q != '\'') return;
    size_t i = m.pos + 1;
    for (; i < text.size(); ++i) {
      if (q == '"' && text[i] == '\\') {
        ++i;
      } else if (text[i] == q) {
        if (q == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
          ++i;
        } else {
          return;
        }
      }
    }
    *found = Unterminated{{file, m.line + 1, m.column + 1}, key};
    return;
  }
  if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      const std::string name = it->first.IsScalar() ? it->first.Scalar() : "?";
      find_unterminated(it->first, text, file, key, found, depth + 1);
      find_unterminated(it->second, text, file, join(key, name), found, depth + 1);
    }
  } else if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i)
      find_unterminated(node[i], text, file, indexed(key, i), found, depth + 1);
  }
}

std::string base_dir_of(const std::string& file) {
  fs::path parent = fs::path(file).parent_path();
  if (parent.empty()) parent = ".";
  std::error_code ec;
  fs::path abs = fs::absolute(parent, ec);
  if (ec) abs = parent;
  return strip_trailing_slash(abs.lexically_normal().string());
}

// Reads the documents of `text` with yaml-cpp's event parser and throws where one makes no
// progress. yaml-cpp 0.7 (Debian 12) leaves a token that cannot start a node (a `,` outside
// [ ] or { }) unconsumed, so YAML::LoadAll would return an empty document at the same place
// forever, its memory growing without bound (found by tests/fuzz/config_fuzz).
void check_documents_progress(const std::string& text) {
  struct DocumentStarts : YAML::EventHandler {
    std::vector<YAML::Mark> starts;
    void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                    YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}
  } handler;
  std::istringstream in(text);
  YAML::Parser parser(in);
  while (parser.HandleNextDocument(handler)) {
    const std::vector<YAML::Mark>& s = handler.starts;
    if (s.size() >= 2 && s[s.size() - 1].pos == s[s.size() - 2].pos) {
      const YAML::Mark& m = s.back();
      const std::string token =
          m.pos >= 0 && static_cast<size_t>(m.pos) < text.size() ? text.substr(m.pos, 1) : "?";
      throw YAML::ParserException(m, "unexpected `" + token + "`");
    }
  }
}

Result<Config, std::vector<ConfigError>> parse(std::string text, const std::string& file) {
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);  // UTF-8 byte order mark
  std::vector<Node> docs;
  try {
    check_documents_progress(text);
    docs = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    return std::vector<ConfigError>{syntax_error(e, text, file)};
  }
  if (docs.size() > 1) {
    SourceLocation where{file, 0, 0};
    const YAML::Mark m = docs[1].Mark();
    if (!m.is_null()) {
      where = {file, m.line + 1, m.column + 1};
      // Point at the `---` that starts the second document.
      for (int l = where.line; l >= 1; --l) {
        if (line_of(text, l).compare(0, 3, "---") == 0) {
          where = {file, l, 1};
          break;
        }
      }
    }
    return std::vector<ConfigError>{{where, "", "a second YAML document; the config file holds one",
                                     "remove the `---` line and merge the sections"}};
  }
  const Node root = docs.empty() ? Node() : docs[0];
  std::optional<Unterminated> unterminated;
  find_unterminated(root, text, file, "", &unterminated, 0);
  if (unterminated) {
    return std::vector<ConfigError>{{unterminated->where, unterminated->key,
                                     "YAML syntax error: quoted string is never closed",
                                     "add the closing quote"}};
  }
  Loader loader(file, base_dir_of(file));
  Config cfg = loader.load(root);
  std::vector<ConfigError>& errors = loader.errors();
  if (errors.empty()) return cfg;
  std::stable_sort(errors.begin(), errors.end(), [](const ConfigError& a, const ConfigError& b) {
    return std::pair(a.where.line, a.where.column) < std::pair(b.where.line, b.where.column);
  });
  return std::move(errors);
}

struct ReadFailure {
  std::string reason;
};

Result<std::string, ReadFailure> read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ReadFailure{std::strerror(errno)};
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return ReadFailure{std::strerror(err)};
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return ReadFailure{std::strerror(EISDIR)};
  }
  std::string text;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return ReadFailure{std::strerror(err)};
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
    if (text.size() > kMaxFileBytes) {
      ::close(fd);
      return ReadFailure{"larger than 16 MiB; this is not a config file"};
    }
  }
  ::close(fd);
  return text;
}

}  // namespace

// ---- Public API ------------------------------------------------------------------------------

std::string SourceLocation::format() const {
  if (line <= 0) return file;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

std::string ConfigError::format() const {
  std::string out = where.format();
  out += ": ";
  if (!key.empty()) out += key + ": ";
  out += message;
  if (!hint.empty()) out += " (" + hint + ")";
  return out;
}

std::string format_errors(const std::vector<ConfigError>& errors) {
  std::string out;
  for (const ConfigError& e : errors) out += e.format() + "\n";
  return out;
}

std::string TopicsConfig::topic_for(std::string_view suffix) const {
  return prefix + "." + std::string(suffix);
}

std::string_view to_string(OffsetReset value) {
  return value == OffsetReset::kLatest ? "latest" : "earliest";
}

std::string_view to_string(LogLevel value) {
  switch (value) {
    case LogLevel::kTrace:
      return "trace";
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

std::string_view to_string(LogFormat value) { return value == LogFormat::kJson ? "json" : "text"; }

Result<HostPort, std::string> parse_host_port(std::string_view text) {
  if (text.empty()) return std::string("expected host:port, got an empty string");
  HostPort out;
  std::string_view port_text;
  if (text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return std::string("missing `]` after the IPv6 address");
    out.host = std::string(text.substr(1, close - 1));
    const std::string_view rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':')
      return std::string("expected `:port` after `]`, e.g. [::1]:9464");
    port_text = rest.substr(1);
    in6_addr addr{};
    if (inet_pton(AF_INET6, out.host.c_str(), &addr) != 1)
      return "`" + out.host + "` is not an IPv6 address";
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos)
      return std::string("expected host:port, e.g. 127.0.0.1:9464; the port is missing");
    out.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
    if (out.host.find(':') != std::string::npos)
      return std::string("an IPv6 address must be in brackets, e.g. [::1]:9464");
    if (out.host.empty())
      return std::string("the host is missing (0.0.0.0 listens on every interface)");
    const bool numeric = std::all_of(out.host.begin(), out.host.end(),
                                     [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
    if (numeric) {
      in_addr addr{};
      if (inet_pton(AF_INET, out.host.c_str(), &addr) != 1)
        return "`" + out.host + "` is not an IPv4 address";
    } else if (!is_hostname(out.host)) {
      return "`" + out.host + "` is not a valid hostname";
    }
  }
  const bool digits =
      !port_text.empty() && port_text.size() <= 5 &&
      std::all_of(port_text.begin(), port_text.end(), [](char c) { return c >= '0' && c <= '9'; });
  const long port = digits ? std::stol(std::string(port_text)) : -1;
  if (port < 0 || port > 65535)
    return "the port must be a number from 0 to 65535, got `" + std::string(port_text) + "`";
  out.port = static_cast<uint16_t>(port);
  return out;
}

SourceLocation Config::location_of(std::string_view key) const {
  auto it = locations.find(std::string(key));
  if (it == locations.end()) return {file, 0, 0};
  return it->second;
}

ConfigError Config::error(std::string key, std::string message, std::string hint) const {
  ConfigError e;
  e.where = location_of(key);
  e.key = std::move(key);
  e.message = std::move(message);
  e.hint = std::move(hint);
  return e;
}

const PluginInstanceConfig* Config::find_plugin(std::string_view name) const {
  for (const PluginInstanceConfig& p : plugins)
    if (p.name == name) return &p;
  return nullptr;
}

namespace {

// An error about the whole file (no line). Built member by member: GCC 12 at -O3 warned
// (-Wmaybe-uninitialized, a false positive) on the same vector brace-initialised.
std::vector<ConfigError> file_error(const std::string& file, std::string message) {
  std::vector<ConfigError> errors(1);
  errors[0].where.file = file;
  errors[0].message = std::move(message);
  return errors;
}

}  // namespace

Result<Config, std::vector<ConfigError>> parse_config(const std::string& yaml_text,
                                                      const std::string& file_name) {
  try {
    return parse(yaml_text, file_name);
  } catch (const std::exception& e) {
    return file_error(file_name, std::string("internal error reading the config: ") + e.what());
  }
}

Result<Config, std::vector<ConfigError>> load_config(const std::string& path) {
  try {
    auto text = read_file(path);
    if (!text.ok()) return file_error(path, "cannot read the config file: " + text.error().reason);
    return parse(std::move(text.value()), path);
  } catch (const std::exception& e) {
    return file_error(path, std::string("internal error reading the config: ") + e.what());
  }
}

}  // namespace wallet_eventd::config
