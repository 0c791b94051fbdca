#include "plugins/plugin_instance.h"

#include <time.h>

#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>

#include "wallet_eventd/log.h"

// The per-instance context behind wep_host_ctx*.
struct wep_host_ctx {
  std::string instance;
  wallet_eventd::plugins::HostServices services;
  std::mutex metrics_mu;
  std::vector<std::unique_ptr<struct wep_metric>> metrics;
};

// A registered plugin metric: the family plus the label count the plugin declared.
struct wep_metric {
  wallet_eventd::admin::Family* family;
  std::string instance;
  size_t label_count;
};

namespace wallet_eventd::plugins {
namespace {

using nlohmann::json;

std::string_view view(wep_str s) { return {s.ptr != nullptr ? s.ptr : "", s.len}; }
wep_str str(const std::string& s) { return {s.data(), s.size()}; }

// The error text a plugin left in `err` after a call. The ABI has the plugin write at most
// err_cap bytes including the NUL; one that fills the buffer without it must not make the host
// read past the buffer, so the last byte is made the NUL whatever the plugin wrote.
template <size_t N>
std::string error_text(char (&err)[N]) {
  err[N - 1] = '\0';
  return err;
}

void host_log(wep_host_ctx* ctx, int32_t level, wep_str message) {
  LogLevel l = level <= WEP_LOG_TRACE   ? LogLevel::kTrace
               : level == WEP_LOG_DEBUG ? LogLevel::kDebug
               : level == WEP_LOG_INFO  ? LogLevel::kInfo
               : level == WEP_LOG_WARN  ? LogLevel::kWarn
                                        : LogLevel::kError;
  // Appended piece by piece: GCC 12 at -O3 warns (-Wrestrict, a false positive, GCC bug
  // 105329) on "[" + std::string&&.
  std::string line = "[";
  line += ctx != nullptr ? std::string_view(ctx->instance) : std::string_view("?");
  line += "] ";
  line += view(message);
  log_message(l, line);
}

int32_t host_publish(wep_host_ctx* ctx, wep_str topic_suffix, wep_str key, wep_str value,
                     const wep_header* headers, size_t header_count, char* err, size_t err_cap) {
  if (ctx == nullptr || !ctx->services.publish) {
    wep_write_message(err, err_cap, "publishing is not available", 27);
    return WEP_ERR_UNSUPPORTED;
  }
  std::string suffix(view(topic_suffix));
  if (suffix.empty() || suffix.find_first_not_of(
                            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
                            std::string::npos) {
    std::string msg = "invalid topic suffix \"" + suffix + "\"";
    wep_write_message(err, err_cap, msg.data(), msg.size());
    return WEP_ERR_INVALID_ARGUMENT;
  }
  std::vector<Header> hdrs;
  for (size_t i = 0; i < header_count; ++i)
    hdrs.push_back({std::string(view(headers[i].key)), std::string(view(headers[i].value))});
  Status s = ctx->services.publish(suffix, view(key), view(value), hdrs);
  if (s.ok()) return WEP_OK;
  wep_write_message(err, err_cap, s.message().data(), s.message().size());
  return s.error().code == Error::Code::kTimeout ? WEP_ERR_TIMEOUT : WEP_ERR_UNAVAILABLE;
}

int32_t host_metric_register(wep_host_ctx* ctx, const wep_metric_desc* desc, wep_metric** out,
                             char* err, size_t err_cap) {
  auto fail = [&](const std::string& msg) {
    wep_write_message(err, err_cap, msg.data(), msg.size());
    return WEP_ERR_INVALID_ARGUMENT;
  };
  if (ctx == nullptr || desc == nullptr || out == nullptr) return fail("null argument");
  if (ctx->services.metrics == nullptr) return fail("metrics are not available");
  if (desc->struct_size < WEP_STRUCT_SIZE(wep_metric_desc, bucket_count))
    return fail("wep_metric_desc too small");
  admin::MetricKind kind;
  switch (desc->kind) {
    case WEP_METRIC_COUNTER:
      kind = admin::MetricKind::kCounter;
      break;
    case WEP_METRIC_GAUGE:
      kind = admin::MetricKind::kGauge;
      break;
    case WEP_METRIC_HISTOGRAM:
      kind = admin::MetricKind::kHistogram;
      break;
    default:
      return fail("unknown metric kind " + std::to_string(desc->kind));
  }
  std::vector<std::string> labels{"instance"};
  for (size_t i = 0; i < desc->label_count; ++i) {
    std::string label(view(desc->label_names[i]));
    if (label == "instance") return fail("label `instance` is added by the host");
    labels.push_back(label);
  }
  std::vector<double> buckets;
  if (desc->buckets != nullptr) buckets.assign(desc->buckets, desc->buckets + desc->bucket_count);
  std::string error;
  admin::Family* family = ctx->services.metrics->register_family(
      kind, std::string(view(desc->name)), std::string(view(desc->help)), labels, buckets, &error);
  if (family == nullptr) return fail(error);
  std::lock_guard<std::mutex> lock(ctx->metrics_mu);
  ctx->metrics.push_back(
      std::make_unique<wep_metric>(wep_metric{family, ctx->instance, desc->label_count}));
  *out = ctx->metrics.back().get();
  return WEP_OK;
}

void host_metric_record(wep_metric* metric, const wep_str* label_values, size_t label_count,
                        double value) {
  if (metric == nullptr || label_count != metric->label_count) return;
  std::string_view values[16];
  std::vector<std::string_view> many;
  std::string_view* v = values;
  if (label_count + 1 > 16) {
    many.resize(label_count + 1);
    v = many.data();
  }
  v[0] = metric->instance;
  for (size_t i = 0; i < label_count; ++i) v[i + 1] = view(label_values[i]);
  metric->family->record(std::span<const std::string_view>(v, label_count + 1), value);
}

uint64_t host_monotonic_ns() { return monotonic_ns(); }

const wep_host_api kHostApi = {
    sizeof(wep_host_api), WEP_ABI_MAJOR,        WEP_ABI_MINOR,      host_log,
    host_publish,         host_metric_register, host_metric_record, host_monotonic_ns,
};

bool type_matches(int32_t type, const json& v) {
  switch (type) {
    case WEP_CONFIG_STRING:
      return v.is_string();
    case WEP_CONFIG_INT:
      return v.is_number_integer();
    case WEP_CONFIG_DOUBLE:
      return v.is_number();
    case WEP_CONFIG_BOOL:
      return v.is_boolean();
    case WEP_CONFIG_STRING_LIST:
      if (!v.is_array()) return false;
      for (const auto& e : v)
        if (!e.is_string()) return false;
      return true;
    case WEP_CONFIG_OBJECT:
      return v.is_object();
    case WEP_CONFIG_LIST:
      return v.is_array();
    default:
      return true;
  }
}

std::string json_type_name(const json& v) {
  if (v.is_string()) return "string " + v.dump();
  if (v.is_number_integer()) return "integer " + v.dump();
  if (v.is_number()) return "number " + v.dump();
  if (v.is_boolean()) return std::string("boolean ") + (v.get<bool>() ? "true" : "false");
  if (v.is_array()) return "a list";
  if (v.is_object()) return "a mapping";
  return "null";
}

}  // namespace

uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

const wep_host_api* host_api() { return &kHostApi; }

Result<std::string, std::vector<config::ConfigError>> validate_plugin_config(
    const PluginInfo& info, const config::PluginInstanceConfig& instance,
    const config::Config& file) {
  std::vector<config::ConfigError> errors;
  const std::string base = "plugins[" + instance.name + "].config";
  auto where = [&](const std::string& key) {
    auto it = instance.config_locations.find(key);
    return it != instance.config_locations.end() ? it->second : instance.config_location;
  };
  json cfg = json::parse(instance.config_json, nullptr, false);
  if (!cfg.is_object()) {
    errors.push_back({instance.config_location, base, "must be a mapping", ""});
    return errors;
  }
  std::vector<std::string> known;
  for (const auto& k : info.config_keys) known.push_back(k.name);
  for (const auto& [key, value] : cfg.items()) {
    auto it = std::find_if(info.config_keys.begin(), info.config_keys.end(),
                           [&](const ConfigKeyInfo& k) { return k.name == key; });
    if (it == info.config_keys.end()) {
      if (info.open_config()) continue;
      auto guess = config::suggest(key, known);
      std::string keys;
      for (const auto& k : known) keys += (keys.empty() ? "" : ", ") + k;
      errors.push_back({where(key), base + "." + key,
                        "unknown key for plugin `" + info.name +
                            "` (it takes: " + (keys.empty() ? "no keys" : keys) + ")",
                        guess ? "did you mean `" + *guess + "`?" : ""});
      continue;
    }
    if (value.is_null() && !it->required) continue;
    if (!type_matches(it->type, value)) {
      errors.push_back(
          {where(key), base + "." + key,
           "expected " + std::string(config_type_name(it->type)) + ", got " + json_type_name(value),
           ""});
    }
  }
  for (const auto& k : info.config_keys) {
    bool present = cfg.contains(k.name) && !cfg[k.name].is_null();
    if (present) continue;
    if (k.required) {
      errors.push_back({instance.config_location, base + "." + k.name,
                        "required by plugin `" + info.name + "`: " + k.description, ""});
    } else if (k.default_json) {
      json def = json::parse(*k.default_json, nullptr, false);
      if (def.is_discarded()) {
        errors.push_back({instance.location, base + "." + k.name,
                          "plugin `" + info.name +
                              "` declares an invalid default for this key: " + *k.default_json,
                          ""});
      } else {
        cfg[k.name] = def;
      }
    }
  }
  (void)file;
  if (!errors.empty()) return errors;
  return cfg.dump();
}

Result<std::unique_ptr<PluginInstance>> PluginInstance::create(
    std::shared_ptr<PluginLibrary> library, const std::string& instance_name,
    const std::string& config_json, const HostServices& services) {
  std::unique_ptr<PluginInstance> p(new PluginInstance());
  p->library_ = std::move(library);
  p->ctx_ = std::make_unique<wep_host_ctx>();
  p->ctx_->instance = instance_name;
  p->ctx_->services = services;
  std::string state_dir;
  if (!services.state_dir.empty()) {
    state_dir = (std::filesystem::path(services.state_dir) / instance_name).string();
    std::error_code ec;
    std::filesystem::create_directories(state_dir, ec);
    if (ec)
      return Error{Error::Code::kInvalidArgument, "instance " + instance_name + ": cannot create " +
                                                      state_dir + ": " + ec.message()};
  }
  wep_instance_info info{};
  info.struct_size = sizeof(info);
  info.host = &kHostApi;
  info.ctx = p->ctx_.get();
  info.instance_name = str(p->ctx_->instance);
  info.config_json = str(config_json);
  info.state_dir = str(state_dir);
  info.topic_prefix = str(p->ctx_->services.topic_prefix);
  char err[1024] = {0};
  int32_t rc = p->library_->descriptor()->create(&info, &p->instance_, err, sizeof err);
  if (rc != WEP_OK || p->instance_ == nullptr) {
    return Error{Error::Code::kInvalidArgument,
                 "instance " + instance_name + ": plugin `" + p->info().name +
                     "` rejected its config: " +
                     (err[0] ? error_text(err) : std::string("no reason given")) + " (code " +
                     std::to_string(rc) + ")"};
  }
  return p;
}

PluginInstance::~PluginInstance() {
  if (instance_ == nullptr) return;
  if (!shut_down_) {
    Status s = shutdown(monotonic_ns() + 5'000'000'000ull);
    (void)s;
  }
  library_->descriptor()->destroy(instance_);
  instance_ = nullptr;
}

const std::string& PluginInstance::name() const { return ctx_->instance; }

int32_t PluginInstance::handle_batch(const wep_batch* batch, char* err, size_t err_cap) {
  int32_t rc = library_->descriptor()->handle_batch(instance_, batch, err, err_cap);
  if (err_cap > 0) err[err_cap - 1] = '\0';  // see error_text
  return rc;
}

Status PluginInstance::flush() {
  auto fn = library_->descriptor()->flush;
  if (fn == nullptr) return Status::Ok();
  char err[1024] = {0};
  int32_t rc = fn(instance_, err, sizeof err);
  if (rc == WEP_OK) return Status::Ok();
  return Error{Error::Code::kUnavailable,
               "instance " + name() + ": flush failed: " + error_text(err)};
}

Status PluginInstance::shutdown(uint64_t deadline_ns) {
  shut_down_ = true;
  auto fn = library_->descriptor()->shutdown;
  if (fn == nullptr) return Status::Ok();
  char err[1024] = {0};
  int32_t rc = fn(instance_, deadline_ns, err, sizeof err);
  if (rc == WEP_OK) return Status::Ok();
  return Error{Error::Code::kTimeout, "instance " + name() + ": shutdown: " + error_text(err)};
}

}  // namespace wallet_eventd::plugins
