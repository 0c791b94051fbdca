// The demo: publishes realistic wallet flows for a few wallets onto the bus the daemon runs,
// and plays a local issuer that answers OpenID4VCI notification requests, so that
// `wallet-eventd run --config config/demo.yaml` shows every handler at work.
#ifndef WALLET_EVENTD_DEMO_DEMO_FLOW_H_
#define WALLET_EVENTD_DEMO_DEMO_FLOW_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "admin/http_server_thread.h"
#include "config/config.h"
#include "wallet_eventd/client.h"

namespace httplib {
class Server;
}

namespace wallet_eventd::demo {

// One round of the demo for one wallet: an issuance (offer, issued, acknowledged, stored), a
// presentation verified valid and one invalid (with a reused nonce), a key rotation and a
// credential deletion. `issuer` is the credential issuer URL the events name.
std::vector<WalletEvent> wallet_flow(const std::string& wallet_id, int round,
                                     const std::string& issuer);

class DemoFlow {
 public:
  static Result<std::unique_ptr<DemoFlow>> start(const config::Config& config,
                                                 const std::string& bootstrap);
  // Stops publishing (idempotent); the issuer endpoint keeps answering, so that notifications
  // of events already published still reach it while the instances finish.
  void stop_publishing();
  ~DemoFlow();  // stops publishing, then the issuer endpoint

 private:
  DemoFlow() = default;
  void loop();

  // Logs the size and the hash-chain check of every audit instance's log.
  void report_audit_logs();

  struct AuditLog {
    std::string instance, dir, file_prefix;
  };
  config::Config config_;
  std::vector<AuditLog> audit_logs_;
  std::unique_ptr<Publisher> publisher_;
  std::unique_ptr<httplib::Server> issuer_;
  admin::HttpServerThread issuer_loop_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::string issuer_url_;
};

}  // namespace wallet_eventd::demo

#endif  // WALLET_EVENTD_DEMO_DEMO_FLOW_H_
