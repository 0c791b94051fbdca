// Runs a bound httplib::Server's accept loop on a thread of its own, for the admin endpoint and
// the demo's local issuer. httplib's stop() only takes effect once the accept loop runs: a stop
// that comes earlier is lost and the join never returns. start() therefore returns only once the
// loop runs (or has already ended), so that any later stop() is honoured.
// Thread-safety: start and stop from one thread; stop is idempotent.
#ifndef WALLET_EVENTD_ADMIN_HTTP_SERVER_THREAD_H_
#define WALLET_EVENTD_ADMIN_HTTP_SERVER_THREAD_H_

#include <atomic>
#include <thread>

namespace httplib {
class Server;
}

namespace wallet_eventd::admin {

class HttpServerThread {
 public:
  HttpServerThread() = default;
  HttpServerThread(const HttpServerThread&) = delete;
  HttpServerThread& operator=(const HttpServerThread&) = delete;
  ~HttpServerThread() { stop(); }

  // `server` is bound already (bind_to_port / bind_to_any_port) and outlives stop().
  void start(httplib::Server* server);
  // Stops the loop and joins the thread; requests in flight finish first.
  void stop();

 private:
  void wait_until_running() const;

  httplib::Server* server_ = nullptr;
  std::thread thread_;
  std::atomic<bool> loop_done_{false};
};

}  // namespace wallet_eventd::admin

#endif  // WALLET_EVENTD_ADMIN_HTTP_SERVER_THREAD_H_
