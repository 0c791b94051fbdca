#include "wallet_eventd/log.h"

#include <cstdio>
#include <memory>
#include <mutex>

namespace wallet_eventd {
namespace {

std::mutex& handler_mutex() {
  static std::mutex mu;
  return mu;
}
std::shared_ptr<LogHandler>& handler_slot() {
  static std::shared_ptr<LogHandler> slot;
  return slot;
}

}  // namespace

void set_log_handler(LogHandler handler) {
  auto next = handler ? std::make_shared<LogHandler>(std::move(handler)) : nullptr;
  std::lock_guard<std::mutex> lock(handler_mutex());
  handler_slot() = std::move(next);
}

void log_message(LogLevel level, std::string_view message) {
  std::shared_ptr<LogHandler> h;
  {
    std::lock_guard<std::mutex> lock(handler_mutex());
    h = handler_slot();
  }
  if (h) {
    (*h)(level, message);
  } else if (level >= LogLevel::kWarn) {
    std::fprintf(stderr, "wallet-events %s: %.*s\n", level == LogLevel::kWarn ? "warn" : "error",
                 static_cast<int>(message.size()), message.data());
  }
}

}  // namespace wallet_eventd
