// audit_plugin.cc -- the "audit" handler plugin: the ABI glue, its config and its records.
//
// Every event becomes one record of a hash-chained JSON Lines log (audit_chain.h) written by
// AuditLog (audit_log.h). See README.md in this folder for the format and the guarantees.
#include <time.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "audit_chain.h"
#include "audit_log.h"
#include "audit_payload.h"
#include "wallet_event_plugin.h"

namespace {

using nlohmann::json;
using wep_audit::AuditLog;
using wep_audit::FieldPath;

constexpr int64_t kDefaultMaxFileBytes = int64_t{64} << 20;

struct Config {
  AuditLog::Options log;
  std::vector<FieldPath> sensitive_fields = wep_audit::default_sensitive_fields();
};

std::string_view View(wep_str s) {
  return s.ptr != nullptr ? std::string_view(s.ptr, s.len) : std::string_view();
}

// A config value for an error message, shortened.
std::string Shown(const json& value) {
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  return text.size() > 60 ? text.substr(0, 57) + "..." : text;
}

bool ValidPrefix(const std::string& prefix) {
  if (prefix.empty() || prefix[0] == '.') return false;
  for (char c : prefix) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// Reads `config_json` (defaults applied for missing keys). Returns "" or the operator's error.
std::string ParseConfig(std::string_view config_json, std::string_view state_dir, Config* out) {
  json config = json::object();
  if (!config_json.empty()) {
    try {
      config = json::parse(config_json);
    } catch (const json::parse_error& e) {
      return "config is not valid JSON (error at byte " + std::to_string(e.byte) + ")";
    }
  }
  if (!config.is_object()) return "config must be a JSON object, got " + Shown(config);

  Config cfg;
  std::string directory;
  for (const auto& [key, value] : config.items()) {
    if (key == "directory") {
      if (!value.is_string()) return "directory must be a string, got " + Shown(value);
      directory = value.get<std::string>();
    } else if (key == "file_prefix") {
      if (!value.is_string() || !ValidPrefix(value.get<std::string>())) {
        return "file_prefix must be a non-empty string of letters, digits, '.', '_' and '-' "
               "(not starting with '.'), got " +
               Shown(value);
      }
      cfg.log.file_prefix = value.get<std::string>();
    } else if (key == "max_file_bytes") {
      if (!value.is_number_integer() ||
          (!value.is_number_unsigned() && value.get<int64_t>() <= 0) ||
          (value.is_number_unsigned() && value.get<uint64_t>() == 0)) {
        return "max_file_bytes must be a positive integer (bytes; default " +
               std::to_string(kDefaultMaxFileBytes) + "), got " + Shown(value);
      }
      cfg.log.max_file_bytes = value.get<uint64_t>();
    } else if (key == "fsync") {
      if (!value.is_boolean()) return "fsync must be true or false, got " + Shown(value);
      cfg.log.fsync = value.get<bool>();
    } else if (key == "extra_sensitive_fields") {
      if (!value.is_array()) {
        return "extra_sensitive_fields must be a list of payload field paths, got " + Shown(value);
      }
      for (size_t i = 0; i < value.size(); ++i) {
        FieldPath path;
        if (!value[i].is_string() ||
            !wep_audit::parse_field_path(value[i].get<std::string>(), &path)) {
          return "extra_sensitive_fields[" + std::to_string(i) + "] must be a dotted payload " +
                 "field path such as \"nonce\" or \"grants.pre_authorized_code.tx_code\", got " +
                 Shown(value[i]);
        }
        cfg.sensitive_fields.push_back(std::move(path));
      }
    } else if (key == "hash_sensitive") {
      return "hash_sensitive is not a setting: sensitive fields are always hashed; list more "
             "fields to hash in extra_sensitive_fields";
    } else {
      return "unknown config key \"" + key +
             "\" (known: directory, file_prefix, max_file_bytes, fsync, "
             "extra_sensitive_fields)";
    }
  }

  if (directory.empty() || directory[0] != '/') {
    if (state_dir.empty()) {
      return "directory " +
             (directory.empty() ? std::string("is not set") : "\"" + directory + "\" is relative") +
             " and the host gave no state directory; set an absolute directory";
    }
    std::string base(state_dir);
    if (base.back() != '/') base += '/';
    directory = base + (directory.empty() ? "audit" : directory);
  }
  while (directory.size() > 1 && directory.back() == '/') directory.pop_back();
  cfg.log.directory = std::move(directory);
  *out = std::move(cfg);
  return "";
}

// CredentialDeleted, key operations, failed presentation verification, missing holder binding.
std::string NowRfc3339() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tm utc;
  gmtime_r(&ts.tv_sec, &utc);
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(buf + n, sizeof buf - n, ".%06ldZ", ts.tv_nsec / 1000);
  return buf;
}

}  // namespace

// The instance behind the ABI's opaque handle.
struct wep_instance {
  const wep_host_api* host = nullptr;
  wep_host_ctx* ctx = nullptr;
  Config config;
  std::unique_ptr<AuditLog> log;
  std::unique_ptr<wep_audit::PayloadWriter> payloads;
  std::string payload;  // the current record's payload text (kept: its storage is reused)
  wep_metric* records = nullptr;
  wep_metric* bytes = nullptr;
  wep_metric* duplicates = nullptr;

  void Log(int32_t level, const std::string& text) const {
    host->log(ctx, level, {text.data(), text.size()});
  }
  wep_metric* Counter(const char* name, const char* help) {
    wep_metric_desc desc{};
    desc.struct_size = sizeof desc;
    desc.kind = WEP_METRIC_COUNTER;
    desc.name = wep_str_from_cstr(name);
    desc.help = wep_str_from_cstr(help);
    wep_metric* metric = nullptr;
    char err[256] = {0};
    if (host->metric_register(ctx, &desc, &metric, err, sizeof err) != WEP_OK) {
      Log(WEP_LOG_WARN, std::string("cannot register metric ") + name + ": " + err);
      return nullptr;
    }
    return metric;
  }
  void Count(wep_metric* metric, double value) const {
    if (metric != nullptr && value > 0) host->metric_record(metric, nullptr, 0, value);
  }
};

namespace {

int32_t Create(const wep_instance_info* info, wep_instance** out, char* err, size_t err_cap) {
  auto fail = [&](int32_t code, const std::string& message) {
    wep_write_message(err, err_cap, message.data(), message.size());
    return code;
  };
  if (info == nullptr || out == nullptr || info->host == nullptr) {
    return fail(WEP_ERR_INVALID_ARGUMENT, "audit: create called without instance info");
  }
  auto instance = std::make_unique<wep_instance>();
  instance->host = info->host;
  instance->ctx = info->ctx;
  if (std::string error =
          ParseConfig(View(info->config_json), View(info->state_dir), &instance->config);
      !error.empty()) {
    return fail(WEP_ERR_CONFIG, error);
  }
  instance->payloads =
      std::make_unique<wep_audit::PayloadWriter>(instance->config.sensitive_fields);
  instance->records =
      instance->Counter("wallet_audit_records_total", "Events recorded in the audit log");
  instance->bytes =
      instance->Counter("wallet_audit_bytes_total", "Bytes appended to the audit log");
  instance->duplicates = instance->Counter(
      "wallet_audit_duplicates_skipped_total",
      "Redelivered events not recorded again: their Kafka offset was already in the log");

  wep_instance* self = instance.get();
  std::string error;
  int32_t code = WEP_OK;
  instance->log = AuditLog::Open(
      instance->config.log,
      [self](int32_t level, const std::string& text) { self->Log(level, text); }, &error, &code);
  if (instance->log == nullptr) return fail(code, error);
  *out = instance.release();
  return WEP_OK;
}

void Destroy(wep_instance* instance) {
  if (instance == nullptr) return;
  if (instance->log != nullptr) instance->log->DetachLogger();  // no host calls from destroy
  delete instance;
}

int32_t HandleBatch(wep_instance* self, const wep_batch* batch, char* err, size_t err_cap) {
  if (self == nullptr || batch == nullptr || (batch->count > 0 && batch->events == nullptr) ||
      (batch->count > 0 && batch->results == nullptr)) {
    wep_write_message(err, err_cap, "audit: invalid batch", 20);
    return WEP_ERR_INVALID_ARGUMENT;
  }
  AuditLog& log = *self->log;
  const std::string recorded_at = NowRfc3339();
  std::vector<size_t> appended;
  std::string write_error;  // set once a write failed: the batch is rolled back
  uint64_t duplicates = 0;
  log.Begin();

  auto retry_appended = [&] {
    const std::string message = "audit log write failed: " + write_error;
    for (size_t j : appended) wep_set_result(batch->results[j], WEP_RESULT_RETRY, message.c_str());
    appended.clear();
  };
  for (size_t i = 0; i < batch->count; ++i) {
    const wep_event* event = batch->events[i];
    wep_event_result* result = batch->results[i];
    if (result == nullptr) continue;
    if (event == nullptr) {
      wep_set_result(result, WEP_RESULT_FAILED, "audit: no event");
      continue;
    }
    const std::string_view topic = View(event->topic);
    if (log.Recorded(topic, event->partition, event->offset)) {
      wep_set_result(result, WEP_RESULT_DONE, nullptr);
      ++duplicates;
      continue;
    }
    if (!write_error.empty()) {
      appended.push_back(i);
      continue;
    }
    wep_audit::RecordFields fields;
    if (std::string why = self->payloads->Write(View(event->raw_json), View(event->event_type_name),
                                                &self->payload, &fields.security_relevant);
        !why.empty()) {
      wep_set_result(result, WEP_RESULT_FAILED, why.c_str());
      continue;
    }
    fields.recorded_at = recorded_at;
    fields.event_id = View(event->event_id);
    fields.event_type = View(event->event_type_name);
    fields.wallet_id = View(event->wallet_id);
    fields.correlation_id = View(event->correlation_id);
    fields.event_time = View(event->timestamp);
    fields.topic = topic;
    fields.partition = event->partition;
    fields.offset = event->offset;
    fields.payload_json = self->payload;
    appended.push_back(i);
    if (!log.Append(fields, &write_error)) log.Abort();
  }
  if (write_error.empty() && !log.Commit(&write_error)) log.Abort();

  if (!write_error.empty()) {
    self->Log(WEP_LOG_WARN, "audit log write failed, " + std::to_string(appended.size()) +
                                " events to be retried: " + write_error);
    retry_appended();
  } else {
    for (size_t j : appended) wep_set_result(batch->results[j], WEP_RESULT_DONE, nullptr);
    self->Count(self->records, static_cast<double>(appended.size()));
    self->Count(self->bytes, static_cast<double>(log.batch_bytes()));
  }
  self->Count(self->duplicates, static_cast<double>(duplicates));
  return WEP_OK;
}

int32_t Flush(wep_instance* self, char* err, size_t err_cap) {
  std::string error;
  if (self->log->Sync(&error)) return WEP_OK;
  error = "audit: " + error;
  wep_write_message(err, err_cap, error.data(), error.size());
  return WEP_ERR_UNAVAILABLE;
}

int32_t Shutdown(wep_instance* self, uint64_t /*deadline_ns*/, char* err, size_t err_cap) {
  return Flush(self, err, err_cap);
}

const wep_config_key kDirectory{
    sizeof(wep_config_key),
    "directory",
    WEP_CONFIG_STRING,
    0,
    "\"\"",
    "log directory; \"\" = <state_dir>/audit, a relative path is taken under state_dir"};
const wep_config_key kFilePrefix{sizeof(wep_config_key),
                                 "file_prefix",
                                 WEP_CONFIG_STRING,
                                 0,
                                 "\"audit\"",
                                 "log files are named <file_prefix>-<seq of first record>.jsonl"};
const wep_config_key kMaxFileBytes{
    sizeof(wep_config_key),
    "max_file_bytes",
    WEP_CONFIG_INT,
    0,
    "67108864",
    "start a new file before the current one would grow past this many bytes"};
const wep_config_key kFsync{
    sizeof(wep_config_key),
    "fsync",
    WEP_CONFIG_BOOL,
    0,
    "true",
    "fsync every batch before reporting it done (false: fsync only when the host commits)"};
const wep_config_key kExtraSensitive{
    sizeof(wep_config_key),
    "extra_sensitive_fields",
    WEP_CONFIG_STRING_LIST,
    0,
    "[]",
    "more payload fields (dotted paths, e.g. \"nonce\") to store only as SHA-256"};
const wep_config_key* const kConfigKeys[] = {&kDirectory, &kFilePrefix, &kMaxFileBytes, &kFsync,
                                             &kExtraSensitive};

const wep_plugin_descriptor kDescriptor = {
    .struct_size = sizeof(wep_plugin_descriptor),
    .abi_major = WEP_ABI_MAJOR,
    .abi_minor = WEP_ABI_MINOR,
    .min_host_abi_minor = 0,
    .flags = 0,  // one chain: batches are written one at a time
    .name = "audit",
    .version = "1.0.0",
    .vendor = "wallet-eventd",
    .description =
        "durable, tamper-evident (SHA-256 hash chain) JSON Lines log of every "
        "event; bearer material stored only as SHA-256",
    .subscriptions = WEP_EVENT_ALL,
    .config_keys = kConfigKeys,
    .config_key_count = sizeof kConfigKeys / sizeof kConfigKeys[0],
    .create = &Create,
    .destroy = &Destroy,
    .handle_batch = &HandleBatch,
    .flush = &Flush,
    .shutdown = &Shutdown,
};

}  // namespace

WEP_PLUGIN_ENTRY {
  (void)host;
  return &kDescriptor;
}
