#include "logging/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "wallet_eventd/events.h"
#include "wallet_eventd/log.h"

namespace wallet_eventd::logging {
namespace {

spdlog::level::level_enum to_spdlog(LogLevel l) {
  switch (l) {
    case LogLevel::kTrace:
      return spdlog::level::trace;
    case LogLevel::kDebug:
      return spdlog::level::debug;
    case LogLevel::kInfo:
      return spdlog::level::info;
    case LogLevel::kWarn:
      return spdlog::level::warn;
    case LogLevel::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

spdlog::level::level_enum to_spdlog(config::LogLevel l) {
  return to_spdlog(static_cast<LogLevel>(static_cast<int>(l)));
}

}  // namespace

void setup(config::LogLevel level, config::LogFormat format) {
  auto logger = spdlog::get("wallet-eventd");
  if (!logger) {
    logger = spdlog::stderr_color_mt("wallet-eventd");
    spdlog::set_default_logger(logger);
  }
  logger->set_level(to_spdlog(level));
  logger->flush_on(spdlog::level::warn);
  const bool json = format == config::LogFormat::kJson;
  logger->set_pattern(json ? "%v" : "%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %v");
  set_log_handler([json](LogLevel l, std::string_view msg) {
    auto lvl = to_spdlog(l);
    auto log = spdlog::default_logger_raw();
    if (!log->should_log(lvl)) return;
    if (!json) {
      log->log(lvl, "{}", msg);
      return;
    }
    nlohmann::json line = {
        {"time", format_timestamp(std::chrono::time_point_cast<std::chrono::nanoseconds>(
                     std::chrono::system_clock::now()))},
        {"level", spdlog::level::to_string_view(lvl).data()},
        {"msg", std::string(msg)}};
    log->log(lvl, "{}", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  });
}

}  // namespace wallet_eventd::logging
