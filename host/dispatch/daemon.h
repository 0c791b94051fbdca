// The daemon: owns the bus (embedded or real), the shared producer and DLQ writer, the admin
// endpoint, the validator pipeline and one pipeline per enabled plugin instance. Starts all of
// it or nothing; reloads plugin instances on SIGHUP; stops cleanly on SIGINT/SIGTERM, and
// talks to systemd (READY, RELOADING, STOPPING, WATCHDOG) when run under it.
#ifndef WALLET_EVENTD_DISPATCH_DAEMON_H_
#define WALLET_EVENTD_DISPATCH_DAEMON_H_

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "admin/admin_server.h"
#include "admin/metrics_registry.h"
#include "bus/dlq.h"
#include "bus/embedded_broker.h"
#include "bus/producer.h"
#include "config/config.h"
#include "dispatch/pipeline.h"
#include "plugins/plugin_loader.h"

namespace wallet_eventd::demo {
class DemoFlow;
}

namespace wallet_eventd::dispatch {

struct RunOptions {
  std::optional<std::chrono::milliseconds> duration;  // stop by itself after this long
};

// Exit codes of `run`.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;

// The nice value of the validator group's threads (pipe:validator and its librdkafka threads):
// the lowest priority, so that instance pipelines get the CPU first when it is short.
inline constexpr int kValidatorNice = 19;

class Daemon {
 public:
  Daemon(config::Config config, std::string config_path);
  ~Daemon();
  // Blocks until stopped; returns the exit code (78 for a refused config).
  int run(const RunOptions& options);

 private:
  struct Instance {
    plugins::PreparedInstance prepared;
    std::unique_ptr<plugins::PluginInstance> plugin;
    std::unique_ptr<Pipeline> pipeline;
  };

  Status start_bus();
  bus::Properties consumer_properties() const;
  Status start_instance(Instance& inst);
  void stop_instance(Instance& inst);
  void reload();
  bool broker_reachable();
  admin::Readiness readiness();

  config::Config config_;
  std::string config_path_;
  admin::MetricsRegistry metrics_;
  std::unique_ptr<bus::EmbeddedBroker> embedded_;
  std::string bootstrap_;
  std::unique_ptr<bus::Producer> producer_;
  std::unique_ptr<bus::DlqWriter> dlq_;
  std::unique_ptr<admin::AdminServer> admin_;
  std::unique_ptr<Pipeline> validator_;
  std::map<std::string, Instance> instances_;
  std::unique_ptr<demo::DemoFlow> demo_;
  plugins::HostServices services_;
  std::atomic<bool> broker_ok_{false};
  std::atomic<bool> started_{false};
};

}  // namespace wallet_eventd::dispatch

#endif  // WALLET_EVENTD_DISPATCH_DAEMON_H_
