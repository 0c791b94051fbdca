#include "admin/http_server_thread.h"

#include <httplib.h>

#include <chrono>

namespace wallet_eventd::admin {

void HttpServerThread::start(httplib::Server* server) {
  stop();
  server_ = server;
  loop_done_ = false;
  thread_ = std::thread([this] {
    server_->listen_after_bind();
    loop_done_ = true;
  });
  wait_until_running();
}

void HttpServerThread::stop() {
  if (server_ == nullptr) return;
  wait_until_running();
  server_->stop();
  if (thread_.joinable()) thread_.join();
  server_ = nullptr;
}

void HttpServerThread::wait_until_running() const {
  while (!server_->is_running() && !loop_done_)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

}  // namespace wallet_eventd::admin
