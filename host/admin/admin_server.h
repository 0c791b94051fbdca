// The admin HTTP endpoint (`admin.listen` in the YAML): Prometheus metrics and health checks
// for operators and orchestrators.
//
//   GET /metrics  200, the registry in the Prometheus text format 0.0.4
//   GET /healthz  200 "ok" while the process runs (liveness)
//   GET /readyz   200 when every readiness check passes, else 503; both with a JSON body
//                 {"ready":false,"checks":{"broker":"down: ...","instance audit":"running"}}
//
// Thread-safety: start()/stop() from one thread (the owner's); requests are served on the
// server's own threads, which call the registry and the ready probe concurrently.
#ifndef WALLET_EVENTD_ADMIN_ADMIN_SERVER_H_
#define WALLET_EVENTD_ADMIN_ADMIN_SERVER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "admin/http_server_thread.h"
#include "admin/metrics_registry.h"
#include "wallet_eventd/result.h"

namespace httplib {
class Server;
}

namespace wallet_eventd::admin {

// What the ready probe reports: the process is ready when every check is ok.
struct Readiness {
  struct Check {
    std::string name;  // e.g. "broker", "instance audit"
    bool ok = false;
    std::string detail;  // e.g. "up", "down: connection refused", "running"; may be empty
  };
  std::vector<Check> checks;

  Readiness& add(std::string name, bool ok, std::string detail = {});
  // True when every check is ok (also when there are none).
  bool ready() const;
  // {"ready":...,"checks":{name: detail, ...}}; an empty detail shows as "ok" / "not ready".
  std::string to_json() const;
};

// A parsed `admin.listen` value.
struct ListenAddress {
  std::string host;  // "127.0.0.1", "::1" (no brackets), "localhost", "0.0.0.0"
  int port = 0;      // 0 = any free port
};

// Accepts "host:port", "[ipv6]:port" and ":port" (all IPv4 interfaces); port 0..65535.
Result<ListenAddress> parse_listen_address(std::string_view listen);

class AdminServer {
 public:
  using ReadyProbe = std::function<Readiness()>;

  // `listen` e.g. "127.0.0.1:9464" or "[::1]:0". `registry` must outlive the server. An
  // empty `ready_probe` means always ready; the probe runs on a server thread per request.
  AdminServer(std::string listen, MetricsRegistry& registry, ReadyProbe ready_probe);
  // Stops the server if it is running.
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds and starts serving on a thread of its own. The error says which address failed and
  // why, e.g. "admin.listen 127.0.0.1:9464: address already in use". Refuses to bind a port
  // another socket listens on (no SO_REUSEPORT).
  Status start();
  // The bound port (the actual one when 0 was asked for); 0 before start().
  int port() const { return port_.load(); }
  const std::string& listen() const { return listen_; }
  // Stops serving and joins the thread; in-flight requests finish first. Idempotent.
  void stop();

 private:
  void install_routes();

  const std::string listen_;
  MetricsRegistry& registry_;
  const ReadyProbe ready_probe_;
  std::unique_ptr<httplib::Server> server_;
  HttpServerThread loop_;
  std::atomic<int> port_{0};
};

}  // namespace wallet_eventd::admin

#endif  // WALLET_EVENTD_ADMIN_ADMIN_SERVER_H_
