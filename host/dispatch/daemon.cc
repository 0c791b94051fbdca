#include "dispatch/daemon.h"

#include <signal.h>
#include <systemd/sd-daemon.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <thread>

#include "demo/demo_flow.h"
#include "logging/logging.h"
#include "wallet_eventd/log.h"

namespace wallet_eventd::dispatch {
namespace {

void info(const std::string& msg) { log_message(LogLevel::kInfo, msg); }
void warn(const std::string& msg) { log_message(LogLevel::kWarn, msg); }
void error(const std::string& msg) { log_message(LogLevel::kError, msg); }

std::vector<std::string> wallet_topics(const config::Config& cfg) {
  std::vector<std::string> out;
  for (auto suffix : all_topic_suffixes()) out.push_back(cfg.topics.topic_for(suffix));
  return out;
}

// The topic each event type is published to, by EventType number.
std::array<std::string, kEventTypeCount + 1> topic_of_type(const config::Config& cfg) {
  std::array<std::string, kEventTypeCount + 1> out;
  for (EventType t : all_event_types())
    out[static_cast<size_t>(t)] = cfg.topics.topic_for(topic_suffix(t));
  return out;
}

// The topics events of these types are published to (the instance reads no others).
std::vector<std::string> topics_of(const std::array<std::string, kEventTypeCount + 1>& by_type,
                                   uint64_t type_mask) {
  std::vector<std::string> out;
  for (EventType t : all_event_types()) {
    if ((type_mask & WEP_EVENT_BIT(static_cast<int32_t>(t))) == 0) continue;
    const std::string& topic = by_type[static_cast<size_t>(t)];
    if (std::find(out.begin(), out.end(), topic) == out.end()) out.push_back(topic);
  }
  return out;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// Everything about an instance that, when changed, needs it re-created on reload.
bool same_instance(const plugins::PreparedInstance& a, const plugins::PreparedInstance& b) {
  const auto& x = a.config;
  const auto& y = b.config;
  return a.resolved_path == b.resolved_path && a.config_json == b.config_json &&
         a.type_mask == b.type_mask && x.group == y.group && x.sha256 == y.sha256 &&
         x.retry.max_attempts == y.retry.max_attempts &&
         x.retry.initial_backoff_ms == y.retry.initial_backoff_ms &&
         x.retry.max_backoff_ms == y.retry.max_backoff_ms &&
         x.retry.multiplier == y.retry.multiplier && x.batch_size == y.batch_size &&
         x.batch_timeout_ms == y.batch_timeout_ms && x.handler_timeout_ms == y.handler_timeout_ms;
}

}  // namespace

Daemon::Daemon(config::Config config, std::string config_path)
    : config_(std::move(config)), config_path_(std::move(config_path)) {}

Daemon::~Daemon() = default;

bus::Properties Daemon::consumer_properties() const {
  bus::Properties p = {{"bootstrap.servers", bootstrap_}};
  for (const auto& [k, v] : config_.bus.properties) p[k] = v;
  for (const auto& [k, v] : config_.bus.consumer_properties) p[k] = v;
  return p;
}

Status Daemon::start_bus() {
  const auto topics = wallet_topics(config_);
  std::vector<std::string> all = topics;
  all.push_back(config_.topics.dlq);
  all.push_back(config_.topics.alerts);
  if (config_.bus.embedded) {
    auto broker = bus::EmbeddedBroker::start(1);
    if (!broker.ok()) return broker.error();
    embedded_ = std::move(broker).value();
    for (const auto& t : all) {
      Status s = embedded_->create_topic(t, static_cast<int>(config_.bus.embedded_partitions));
      if (!s.ok()) return s;
    }
    bootstrap_ = embedded_->bootstrap();
    warn("embedded broker (librdkafka mock cluster) listening on " + bootstrap_ +
         " -- in memory, for demos and development only: it keeps about 5 MB or 100,000 "
         "message sets per partition and silently drops older data; TLS/SASL are ignored. "
         "Try: kcat -b " +
         bootstrap_ + " -L");
    std::error_code ec;
    std::filesystem::create_directories(config_.state_dir, ec);
    std::ofstream(std::filesystem::path(config_.state_dir) / "embedded-bootstrap")
        << bootstrap_ << "\n";
  } else {
    bootstrap_ = config_.bus.bootstrap_servers;
  }

  bus::Producer::Options popts;
  // Everything the host itself produces (dead letters, plugins' alerts) is sent one record at
  // a time by a caller that waits for the acknowledgement: lingering to fill a batch would
  // only add its 5 ms to every such wait (43k alerts took 256 s instead of ~30 s).
  popts.properties = {{"bootstrap.servers", bootstrap_}, {"linger.ms", "0"}};
  for (const auto& [k, v] : config_.bus.properties) popts.properties[k] = v;
  for (const auto& [k, v] : config_.bus.producer_properties) popts.properties[k] = v;
  popts.name = "host";
  auto producer = bus::Producer::create(std::move(popts));
  if (!producer.ok()) return producer.error();
  producer_ = std::move(producer).value();

  if (!config_.bus.embedded && config_.topics.create) {
    bus::Properties admin_props = {{"bootstrap.servers", bootstrap_}};
    for (const auto& [k, v] : config_.bus.properties) admin_props[k] = v;
    Status s = bus::create_topics(admin_props, all, static_cast<int>(config_.topics.partitions),
                                  static_cast<int>(config_.topics.replication_factor),
                                  std::chrono::milliseconds(15000));
    if (!s.ok()) warn("topic set-up: " + s.message() + "; relying on existing topics");
  }
  dlq_ = std::make_unique<bus::DlqWriter>(producer_.get(), config_.topics.dlq);
  return Status::Ok();
}

Status Daemon::start_instance(Instance& inst) {
  auto created = plugins::PluginInstance::create(inst.prepared.library, inst.prepared.config.name,
                                                 inst.prepared.config_json, services_);
  if (!created.ok()) return created.error();
  inst.plugin = std::move(created).value();
  const auto& c = inst.prepared.config;
  PipelineOptions o;
  o.name = c.name;
  o.group_id = c.group;
  o.topic_of_type = topic_of_type(config_);
  o.topics = topics_of(o.topic_of_type, inst.prepared.type_mask);
  o.consumer_properties = consumer_properties();
  o.from_beginning = config_.consumer.auto_offset_reset == config::OffsetReset::kEarliest;
  o.batch_size = c.batch_size;
  o.batch_timeout = std::chrono::milliseconds(c.batch_timeout_ms);
  o.handler_timeout = std::chrono::milliseconds(c.handler_timeout_ms);
  o.retry = c.retry;
  o.type_mask = inst.prepared.type_mask;
  o.limits = {config_.consumer.max_record_bytes, config_.consumer.max_depth};
  inst.pipeline = std::make_unique<Pipeline>(o, inst.plugin.get(), dlq_.get(), &metrics_);
  Status s = inst.pipeline->start();
  if (!s.ok()) return s;
  info("instance " + c.name + " (plugin " + inst.plugin->info().name + " " +
       inst.plugin->info().version + ") consuming " + joined(o.topics) + " as group " + c.group);
  return Status::Ok();
}

void Daemon::stop_instance(Instance& inst) {
  if (inst.pipeline) {
    inst.pipeline->request_stop();
    inst.pipeline->join();
    inst.pipeline.reset();
  }
  if (inst.plugin) {
    const uint64_t deadline =
        plugins::monotonic_ns() + uint64_t{config_.shutdown_timeout_ms} * 1000000ull;
    Status s = inst.plugin->shutdown(deadline);
    if (!s.ok()) warn(s.message());
    inst.plugin.reset();
  }
  metrics_.remove_series("instance", inst.prepared.config.name);
}

bool Daemon::broker_reachable() {
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(producer_->handle(), 0, nullptr, &md, 1500);
  if (md != nullptr) rd_kafka_metadata_destroy(md);
  return err == RD_KAFKA_RESP_ERR_NO_ERROR;
}

admin::Readiness Daemon::readiness() {
  admin::Readiness r;
  r.add("broker", broker_ok_.load(), broker_ok_.load() ? "up" : "unreachable: " + bootstrap_);
  r.add("started", started_.load(), started_.load() ? "yes" : "starting");
  if (validator_) {
    auto st = validator_->state();
    r.add("validator", st == PipelineState::kRunning, validator_->status_text());
  }
  for (auto& [name, inst] : instances_) {
    if (!inst.pipeline) continue;
    auto st = inst.pipeline->state();
    r.add("instance " + name, st == PipelineState::kRunning, inst.pipeline->status_text());
  }
  return r;
}

void Daemon::reload() {
  sd_notify(0, "RELOADING=1");
  info("SIGHUP: reloading " + config_path_);
  auto loaded = config::load_config(config_path_);
  if (!loaded.ok()) {
    error("reload refused; the running configuration stays:\n" +
          config::format_errors(loaded.error()));
    sd_notify(0, "READY=1\nSTATUS=reload refused: invalid config");
    return;
  }
  config::Config next = std::move(loaded).value();
  auto prepared = plugins::prepare_instances(next);
  if (!prepared.ok()) {
    error("reload refused; the running configuration stays:\n" +
          config::format_errors(prepared.error()));
    sd_notify(0, "READY=1\nSTATUS=reload refused: plugin error");
    return;
  }
  if (next.bus.bootstrap_servers != config_.bus.bootstrap_servers ||
      next.bus.embedded != config_.bus.embedded || next.topics.prefix != config_.topics.prefix ||
      next.admin.listen != config_.admin.listen || next.state_dir != config_.state_dir)
    warn("reload: changes to bus, topics, admin or state_dir take effect only on restart");
  logging::setup(next.logging.level, next.logging.format);

  std::map<std::string, plugins::PreparedInstance> wanted;
  for (auto& p : prepared.value()) wanted.emplace(p.config.name, std::move(p));
  // Stop removed and changed instances first: their offsets are committed on the way out, and
  // a plugin that keeps a resource (the audit log's lock) can hand it to its successor. A
  // changed instance whose new config its plugin refuses goes back to its previous config.
  std::map<std::string, plugins::PreparedInstance> previous;
  for (auto it = instances_.begin(); it != instances_.end();) {
    auto w = wanted.find(it->first);
    if (w != wanted.end() && same_instance(w->second, it->second.prepared)) {
      wanted.erase(w);
      ++it;
      continue;
    }
    info("reload: stopping instance " + it->first +
         (w == wanted.end() ? " (removed or disabled)" : " (changed)"));
    stop_instance(it->second);
    if (w != wanted.end()) previous.emplace(it->first, std::move(it->second.prepared));
    it = instances_.erase(it);
  }
  config_.plugins = next.plugins;
  config_.logging = next.logging;
  for (auto& [name, p] : wanted) {
    Instance inst;
    inst.prepared = std::move(p);
    Status s = start_instance(inst);
    if (!s.ok()) {
      error("reload: instance " + name + " not started: " + s.message());
      stop_instance(inst);
      auto old = previous.find(name);
      if (old == previous.end()) continue;
      Instance back;
      back.prepared = std::move(old->second);
      s = start_instance(back);
      if (!s.ok()) {
        error("reload: instance " + name +
              " could not go back to its previous config either: " + s.message());
        stop_instance(back);
        continue;
      }
      warn("reload: instance " + name + " keeps its previous config");
      instances_.emplace(name, std::move(back));
      continue;
    }
    info("reload: started instance " + name);
    instances_.emplace(name, std::move(inst));
  }
  sd_notify(0, "READY=1\nSTATUS=running");
}

int Daemon::run(const RunOptions& options) {
  // Signals are taken synchronously by this thread; every thread started below inherits the
  // mask, so none of them is interrupted.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // 1. Plugins: load and check every enabled instance before touching the bus.
  auto prepared = plugins::prepare_instances(config_);
  if (!prepared.ok()) {
    std::fputs(config::format_errors(prepared.error()).c_str(), stderr);
    return config::kExitConfig;
  }
  if (auto refused = plugins::check_instances(config_, prepared.value()); !refused.empty()) {
    std::fputs(config::format_errors(refused).c_str(), stderr);
    return config::kExitConfig;
  }
  // 2. The bus.
  Status s = start_bus();
  if (!s.ok()) {
    error("cannot start the bus: " + s.message());
    return kExitFailure;
  }
  services_.publish = [this](const std::string& suffix, std::string_view key,
                             std::string_view value, const std::vector<Header>& headers) {
    return producer_->produce_sync(config_.topics.topic_for(suffix), key, value, headers).status;
  };
  services_.metrics = &metrics_;
  services_.topic_prefix = config_.topics.prefix;
  services_.state_dir = config_.state_dir;

  // 3. The admin endpoint.
  if (config_.admin.enabled) {
    admin_ = std::make_unique<admin::AdminServer>(config_.admin.listen, metrics_,
                                                  [this] { return readiness(); });
    Status a = admin_->start();
    if (!a.ok()) {
      error(a.message());
      return kExitFailure;
    }
    info("admin endpoint on " + config_.admin.listen + " (port " + std::to_string(admin_->port()) +
         "): /metrics /healthz /readyz");
  }
  broker_ok_ = broker_reachable();
  if (!broker_ok_) warn("broker " + bootstrap_ + " not reachable yet; will keep trying");

  // 4. Instances, all or nothing.
  for (auto& p : prepared.value()) {
    Instance inst;
    inst.prepared = std::move(p);
    const std::string name = inst.prepared.config.name;
    Status st = start_instance(inst);
    if (!st.ok()) {
      std::fprintf(stderr, "%s\n",
                   config_.error("plugins[" + name + "]", st.message()).format().c_str());
      stop_instance(inst);
      for (auto& [n, i] : instances_) stop_instance(i);
      return config::kExitConfig;
    }
    instances_.emplace(name, std::move(inst));
  }
  PipelineOptions vo;
  vo.name = "validator";
  vo.group_id = config_.consumer.group_prefix + "._validator";
  vo.topics = wallet_topics(config_);
  vo.topic_of_type = topic_of_type(config_);
  vo.consumer_properties = consumer_properties();
  vo.from_beginning = config_.consumer.auto_offset_reset == config::OffsetReset::kEarliest;
  vo.batch_size = config_.consumer.batch_size;
  vo.batch_timeout = std::chrono::milliseconds(config_.consumer.batch_timeout_ms);
  vo.limits = {config_.consumer.max_record_bytes, config_.consumer.max_depth};
  // Dead-lettering invalid records is off the handlers' path (instance pipelines skip them):
  // when the CPU is short, the handlers get it first and the validator catches up after.
  vo.nice = kValidatorNice;
  validator_ = std::make_unique<Pipeline>(vo, nullptr, dlq_.get(), &metrics_);
  if (Status v = validator_->start(); !v.ok()) {
    error(v.message());
    for (auto& [n, i] : instances_) stop_instance(i);
    return kExitFailure;
  }

  // 5. The demo flow, if asked for.
  if (config_.demo.enabled) {
    auto flow = demo::DemoFlow::start(config_, bootstrap_);
    if (!flow.ok()) {
      error("demo: " + flow.error().message);
    } else {
      demo_ = std::move(flow).value();
    }
  }

  started_ = true;
  info("wallet-eventd " WEP_VERSION " running: " + std::to_string(instances_.size()) +
       " instance(s), bus " + bootstrap_ + ", topics " + config_.topics.prefix + ".*");
  sd_notify(0, "READY=1\nSTATUS=running");
  uint64_t watchdog_usec = 0;
  const bool watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0;

  const auto started = std::chrono::steady_clock::now();
  auto last_probe = started;
  auto last_watchdog = started;
  int exit_code = kExitOk;
  while (true) {
    timespec tick{0, 200 * 1000 * 1000};
    int sig = sigtimedwait(&signals, nullptr, &tick);
    if (sig == SIGINT || sig == SIGTERM) {
      info(std::string("received ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + ", stopping");
      break;
    }
    if (sig == SIGHUP) reload();
    auto now = std::chrono::steady_clock::now();
    if (options.duration && now - started >= *options.duration) {
      info("--duration reached, stopping");
      break;
    }
    if (now - last_probe >= std::chrono::seconds(2)) {
      last_probe = now;
      bool ok = broker_reachable();
      if (ok != broker_ok_.load())
        (ok ? info("broker " + bootstrap_ + " reachable again")
            : warn("broker " + bootstrap_ + " unreachable"));
      broker_ok_ = ok;
    }
    if (watchdog && now - last_watchdog >= std::chrono::microseconds(watchdog_usec / 2)) {
      last_watchdog = now;
      sd_notify(0, "WATCHDOG=1");
    }
  }

  // Stop: in-flight batches finish, offsets are committed, then instances shut down.
  sd_notify(0, "STOPPING=1");
  const auto stop_started = std::chrono::steady_clock::now();
  // A handler that never returns must not keep the process alive past the deadline.
  std::thread([deadline = config_.shutdown_timeout_ms] {
    std::this_thread::sleep_for(std::chrono::milliseconds(deadline));
    log_message(LogLevel::kError, "shutdown took longer than shutdown_timeout_ms (" +
                                      std::to_string(deadline) +
                                      " ms); exiting without waiting for stuck handlers");
    std::_Exit(kExitFailure);
  }).detach();
  // The demo stops publishing first; its issuer answers until the instances are gone, so that
  // the notifications of batches still in flight reach it (and their connections close first).
  if (demo_) demo_->stop_publishing();
  if (validator_) validator_->request_stop();
  for (auto& [n, i] : instances_)
    if (i.pipeline) i.pipeline->request_stop();
  if (validator_) validator_->join();
  for (auto& [n, i] : instances_) stop_instance(i);
  instances_.clear();
  validator_.reset();
  demo_.reset();
  if (producer_) {
    Status f = producer_->flush(std::chrono::milliseconds(config_.shutdown_timeout_ms));
    if (!f.ok()) warn("producer flush: " + f.message());
  }
  if (admin_) admin_->stop();
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - stop_started);
  info("stopped in " + std::to_string(took.count()) + " ms");
  return exit_code;
}

}  // namespace wallet_eventd::dispatch
