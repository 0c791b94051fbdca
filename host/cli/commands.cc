#include "cli/commands.h"

#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>

#include "cli/common.h"
#include "config/config.h"
#include "dispatch/daemon.h"
#include "logging/logging.h"
#include "plugins/plugin_loader.h"
#include "wallet_eventd/client.h"
#include "wallet_eventd/log.h"
#if __has_include("audit_chain.h")
#include "audit_chain.h"
#define WEP_HAVE_AUDIT_CHAIN 1
#endif

namespace wallet_eventd::cli {
namespace {

std::optional<config::Config> load(const std::string& path) { return load_config_or_print(path); }

std::string mask_to_types(uint64_t mask) {
  if (mask == 0) return "(none)";
  std::string out;
  int count = 0;
  for (EventType t : all_event_types())
    if (mask & WEP_EVENT_BIT(static_cast<int32_t>(t))) ++count;
  if (count == kEventTypeCount) return "all";
  for (EventType t : all_event_types()) {
    if ((mask & WEP_EVENT_BIT(static_cast<int32_t>(t))) == 0) continue;
    if (!out.empty()) out += ',';
    out += event_type_name(t);
  }
  return out;
}

}  // namespace

int run(const std::string& path, std::optional<double> duration_s) {
#ifdef __GLIBC__
  // librdkafka's fetch responses (megabytes each) are allocated by its broker threads and freed
  // by the pipelines once their last record goes. glibc raises its mmap threshold when such a
  // block is freed and from then on keeps them in its arenas, so the daemon's peak memory grew
  // with the records it had read (docs/BENCHMARKS.md, "Memory"). A fixed threshold hands each
  // one back to the system.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
#endif
  auto cfg = load(path);
  if (!cfg) return config::kExitConfig;
  logging::setup(cfg->logging.level, cfg->logging.format);
  dispatch::RunOptions options;
  if (duration_s)
    options.duration = std::chrono::milliseconds(static_cast<int64_t>(*duration_s * 1000));
  dispatch::Daemon daemon(std::move(*cfg), path);
  return daemon.run(options);
}

int check_config(const std::string& path) {
  auto cfg = load(path);
  if (!cfg) return config::kExitConfig;
  auto prepared = plugins::prepare_instances(*cfg);
  if (!prepared.ok()) {
    std::fputs(config::format_errors(prepared.error()).c_str(), stderr);
    return config::kExitConfig;
  }
  set_log_handler([](LogLevel l, std::string_view msg) {
    if (l >= LogLevel::kWarn) std::fprintf(stderr, "%.*s\n", int(msg.size()), msg.data());
  });
  if (auto refused = plugins::check_instances(*cfg, prepared.value()); !refused.empty()) {
    std::fputs(config::format_errors(refused).c_str(), stderr);
    return config::kExitConfig;
  }
  std::printf("%s: OK\n", path.c_str());
  std::printf("  bus:       %s\n", cfg->bus.embedded
                                       ? "embedded (librdkafka mock cluster; demo/dev only)"
                                       : cfg->bus.bootstrap_servers.c_str());
  std::printf("  topics:    %s.* (dlq %s, alerts %s)\n", cfg->topics.prefix.c_str(),
              cfg->topics.dlq.c_str(), cfg->topics.alerts.c_str());
  std::printf("  state_dir: %s\n", cfg->state_dir.c_str());
  std::printf("  admin:     %s\n", cfg->admin.enabled ? cfg->admin.listen.c_str() : "off");
  std::printf("  instances: %zu enabled of %zu\n", prepared.value().size(), cfg->plugins.size());
  for (const auto& p : prepared.value()) {
    const auto& info = p.library->info();
    std::printf("    %-16s %s %s, group %s, events %s\n", p.config.name.c_str(), info.name.c_str(),
                info.version.c_str(), p.config.group.c_str(), mask_to_types(p.type_mask).c_str());
  }
  return 0;
}

int publish(const std::string& path, const std::string& input, bool dry_run) {
  auto cfg = load(path);
  if (!cfg) return config::kExitConfig;
  // stdio's getline(3): std::getline on std::cin (synchronised with stdio) took a locked
  // getc/ungetc per byte, 72% of the command's CPU in a profile of 300,000 lines.
  std::unique_ptr<FILE, int (*)(FILE*)> file(nullptr, std::fclose);
  FILE* in = stdin;
  if (input != "-") {
    file.reset(std::fopen(input.c_str(), "r"));
    if (!file) {
      std::fprintf(stderr, "%s: %s\n", input.c_str(), std::strerror(errno));
      return kExitUsage;
    }
    in = file.get();
  }
  const DecodeLimits limits{cfg->consumer.max_record_bytes, cfg->consumer.max_depth};
  // What the delivery reports count. The `done` below captures only a pointer to it and a line
  // number, so std::function keeps it without an allocation of its own. Declared before the
  // publisher, whose destructor runs the `done` of any record still in flight.
  struct Outcomes {
    std::mutex mu;
    size_t failed = 0, delivered = 0;
  } outcomes;
  std::unique_ptr<Publisher> publisher;
  if (!dry_run) {
    auto client = ClientConfig::from_yaml(path);
    if (!client.ok()) {
      std::fprintf(stderr, "%s\n", client.error().message.c_str());
      return client.error().code == Error::Code::kInvalidArgument ? config::kExitConfig : 1;
    }
    // A wrong password or an untrusted certificate ends the command at once with the reason.
    client.value().give_up_on_login_failure = true;
    // One thread publishes everything: serve the delivery reports on it (see Deliveries).
    auto created = Publisher::create(client.value(), Publisher::Deliveries::kCallerThread);
    if (!created.ok()) {
      std::fprintf(stderr, "publish: %s\n", created.error().message.c_str());
      return 1;
    }
    publisher = std::move(created).value();
  }
  size_t lines = 0, invalid = 0, queued = 0;
  std::unique_ptr<char, void (*)(void*)> buf(nullptr, std::free);
  size_t cap = 0;
  std::string text;  // check_event's metadata, reused line after line
  while (true) {
    char* raw = buf.release();
    const ssize_t got = ::getline(&raw, &cap, in);
    buf.reset(raw);
    if (got < 0) break;
    std::string_view line(raw, static_cast<size_t>(got));
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    ++lines;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    // Checked as every consumer checks it; routing needs its type and metadata only, so no
    // typed event is built (its strings were most of the command's allocations).
    text.clear();
    auto checked = check_event(line, &text, limits);
    if (!checked.ok()) {
      ++invalid;
      std::fprintf(stderr, "line %zu: invalid: %s\n", lines, checked.error().message().c_str());
      continue;
    }
    const CheckedEvent& ev = checked.value();
    if (dry_run) {
      const std::string topic = cfg->topics.topic_for(topic_suffix(ev.type));
      std::printf("line %zu: %s -> %s key=%s\n", lines,
                  std::string(event_type_name(ev.type)).c_str(), topic.c_str(),
                  std::string(ev.wallet_id.in(text)).c_str());
      continue;
    }
    ++queued;
    const size_t n = lines;
    Outcomes* out = &outcomes;
    Status s = publisher->publish_async(ev, text, line, [out, n](const Status& st) {
      std::lock_guard<std::mutex> lock(out->mu);
      if (st.ok()) {
        ++out->delivered;
      } else {
        ++out->failed;
        std::fprintf(stderr, "line %zu: not delivered: %s\n", n, st.message().c_str());
      }
    });
    if (!s.ok()) {
      std::lock_guard<std::mutex> lock(outcomes.mu);
      ++outcomes.failed;
      std::fprintf(stderr, "line %zu: not delivered: %s\n", n, s.message().c_str());
    }
  }
  const bool read_failed = std::ferror(in) != 0;
  if (read_failed)
    std::fprintf(stderr, "%s: read error after line %zu: %s\n",
                 input == "-" ? "stdin" : input.c_str(), lines, std::strerror(errno));
  if (publisher) {
    Status f = publisher->flush(publisher->config().timeout + std::chrono::seconds(5));
    if (!f.ok()) std::fprintf(stderr, "publish: %s\n", f.message().c_str());
  }
  std::lock_guard<std::mutex> lock(outcomes.mu);
  const size_t delivered = outcomes.delivered, failed = outcomes.failed;
  if (dry_run) {
    std::fprintf(stderr, "dry run: %zu valid, %zu invalid\n", lines - invalid, invalid);
  } else {
    std::fprintf(stderr, "published %zu, invalid %zu, not delivered %zu\n", delivered, invalid,
                 failed + (queued - delivered - failed));
  }
  if (read_failed) return kExitIoErr;
  if (invalid > 0) return kExitDataErr;
  if (!dry_run && delivered != queued) return kExitTempFail;
  return 0;
}

int tail(const std::string& path, const TailOptions& options) {
  // The command line first: a mistyped --type is answered without reading the bus settings.
  Subscriber::Options sub;
  std::vector<std::string> names;
  for (EventType t : all_event_types()) names.emplace_back(event_type_name(t));
  for (const auto& name : options.types) {
    auto t = parse_event_type(name);
    if (!t) {
      auto guess = config::suggest(name, names);
      std::fprintf(stderr, "--type %s: unknown event type%s\n", name.c_str(),
                   guess ? (" (did you mean `" + *guess + "`?)").c_str() : "");
      return kExitUsage;
    }
    sub.types.push_back(*t);
  }
  auto client = ClientConfig::from_yaml(path);
  if (!client.ok()) {
    std::fprintf(stderr, "%s\n", client.error().message.c_str());
    return client.error().code == Error::Code::kInvalidArgument ? config::kExitConfig : 1;
  }
  sub.group_id = client.value().group_id + ".tail-" + new_uuid();
  sub.from_beginning = options.from_beginning;
  sub.commit = false;
  ClientConfig cc = client.value();
  cc.enable_dlq = false;               // tail only reads; the daemon's validator dead-letters
  cc.give_up_on_login_failure = true;  // a wrong password ends it, with the reason
  auto subscriber = Subscriber::create(cc, sub);
  if (!subscriber.ok()) {
    std::fprintf(stderr, "tail: %s\n", subscriber.error().message.c_str());
    return 1;
  }
  install_interrupt_handler();
  long printed = 0;
  auto last_event = std::chrono::steady_clock::now();
  while (!g_interrupted.load()) {
    if (options.max_events && printed >= *options.max_events) break;
    auto next = subscriber.value()->next(std::chrono::milliseconds(200));
    if (!next) {
      if (Status st = subscriber.value()->status(); !st.ok()) {
        std::fprintf(stderr, "tail: %s\n", st.message().c_str());
        return kExitTempFail;
      }
      if (options.idle_timeout_s &&
          std::chrono::steady_clock::now() - last_event >
              std::chrono::milliseconds(static_cast<int64_t>(*options.idle_timeout_s * 1000)))
        break;
      continue;
    }
    last_event = std::chrono::steady_clock::now();
    if (!next->ok()) {
      const auto& e = next->error();
      std::fprintf(stderr, "%s[%d]@%lld: invalid: %s\n", e.record.topic.c_str(), e.record.partition,
                   static_cast<long long>(e.record.offset), e.error.message().c_str());
      continue;
    }
    const auto& received = next->value();
    std::string encoded = encode_event(received.event);
    if (options.records) {
      nlohmann::json headers = nlohmann::json::object();
      for (const auto& h : received.record.headers) headers[h.key] = h.value;
      nlohmann::json line = {{"topic", received.record.topic},
                             {"partition", received.record.partition},
                             {"offset", received.record.offset},
                             {"key", received.record.key},
                             {"headers", headers},
                             {"event", nlohmann::json::parse(encoded)}};
      std::fputs((line.dump() + "\n").c_str(), stdout);
    } else {
      std::fputs((encoded + "\n").c_str(), stdout);
    }
    std::fflush(stdout);
    ++printed;
  }
  subscriber.value()->close();
  return 0;
}

int plugins_list(const std::string& path) {
  auto cfg = load(path);
  if (!cfg) return config::kExitConfig;
  auto prepared = plugins::prepare_instances(*cfg, /*include_disabled=*/true);
  if (!prepared.ok()) {
    std::fputs(config::format_errors(prepared.error()).c_str(), stderr);
    return config::kExitConfig;
  }
  std::printf("%-16s %-8s %-14s %-8s %-28s %s\n", "INSTANCE", "ENABLED", "PLUGIN", "VERSION",
              "GROUP", "FILE");
  for (const auto& p : prepared.value()) {
    const auto& info = p.library->info();
    std::printf("%-16s %-8s %-14s %-8s %-28s %s\n", p.config.name.c_str(),
                p.config.enabled ? "yes" : "no", info.name.c_str(), info.version.c_str(),
                p.config.group.c_str(), p.resolved_path.c_str());
    std::printf("%-16s events: %s\n", "", mask_to_types(p.type_mask).c_str());
  }
  return 0;
}

int plugins_inspect(const std::string& file) {
  const std::string path = plugins::resolve_plugin_path(file, plugins::default_plugin_dir(""));
  plugins::LoadOptions opts;
  opts.check_permissions = false;  // inspecting a file in hand; `run` checks them
  auto lib = plugins::PluginLibrary::load(path, opts);
  if (!lib.ok()) {
    std::fprintf(stderr, "%s\n", lib.error().message.c_str());
    return 1;
  }
  const auto& info = lib.value()->info();
  std::printf("file:          %s\n", path.c_str());
  std::printf("name:          %s\n", info.name.c_str());
  std::printf("version:       %s\n", info.version.c_str());
  std::printf("vendor:        %s\n", info.vendor.c_str());
  std::printf("description:   %s\n", info.description.c_str());
  std::printf("abi:           %u.%u (host %d.%d; needs host minor >= %u)\n", info.abi_major,
              info.abi_minor, WEP_ABI_MAJOR, WEP_ABI_MINOR, info.min_host_abi_minor);
  std::printf("thread-safe:   %s\n", info.thread_safe() ? "yes" : "no");
  std::printf("subscriptions: %s\n", info.subscriptions == WEP_EVENT_ALL
                                         ? "all"
                                         : mask_to_types(info.subscriptions).c_str());
  auto digest = plugins::sha256_file(path);
  if (digest.ok()) std::printf("sha256:        %s\n", digest.value().c_str());
  std::printf("config keys:%s\n", info.config_keys.empty() ? " (none)" : "");
  for (const auto& k : info.config_keys) {
    std::printf("  %-24s %-16s %s\n", k.name.c_str(),
                std::string(plugins::config_type_name(k.type)).c_str(),
                k.required ? "required" : ("default " + k.default_json.value_or("none")).c_str());
    if (!k.description.empty()) std::printf("  %-24s %s\n", "", k.description.c_str());
  }
  if (info.open_config()) std::printf("  (accepts further keys it does not declare)\n");
  return 0;
}

int audit_verify(const std::string& dir, const std::string& prefix) {
#ifdef WEP_HAVE_AUDIT_CHAIN
  auto report = wep_audit::verify_directory(dir, prefix);
  if (report.ok) {
    std::printf("%s: intact: %llu records in %llu files\n", dir.c_str(),
                static_cast<unsigned long long>(report.records),
                static_cast<unsigned long long>(report.files));
    return 0;
  }
  std::fprintf(stderr, "%s:%llu: %s\n", report.first_error_file.c_str(),
               static_cast<unsigned long long>(report.first_error_line), report.error.c_str());
  return 1;
#else
  (void)prefix;
  std::fprintf(stderr, "%s: this build has no audit plugin\n", dir.c_str());
  return 1;
#endif
}

}  // namespace wallet_eventd::cli
