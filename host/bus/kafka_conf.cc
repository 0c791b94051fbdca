#include "bus/kafka_conf.h"

#include <cstring>
#include <deque>
#include <mutex>
#include <string_view>
#include <utility>

#include "bus/log.h"

namespace wallet_eventd::bus {

Result<ConfPtr> make_conf(std::initializer_list<const Properties*> layers) {
  ConfPtr conf(rd_kafka_conf_new());
  char err[512];
  for (const Properties* layer : layers) {
    if (layer == nullptr) continue;
    for (const auto& [name, value] : *layer) {
      if (rd_kafka_conf_set(conf.get(), name.c_str(), value.c_str(), err, sizeof err) !=
          RD_KAFKA_CONF_OK) {
        return Error{Error::Code::kInvalidArgument, name + ": " + err};
      }
    }
  }
  return conf;
}

Status check_property(const std::string& name, const std::string& value) {
  ConfPtr conf(rd_kafka_conf_new());
  char err[512];
  if (rd_kafka_conf_set(conf.get(), name.c_str(), value.c_str(), err, sizeof err) !=
      RD_KAFKA_CONF_OK) {
    return Error{Error::Code::kInvalidArgument, err};
  }
  return Status::Ok();
}

namespace {

// Failures librdkafka has just logged as "FAIL" lines, per client, until their error event
// arrives. librdkafka logs the line and then queues the event on the same thread, so the line
// is always seen first. Bounded: an event a client never serves leaves its line behind.
class LoggedFailures {
 public:
  void add(const rd_kafka_t* rk, std::string_view text) {
    std::lock_guard<std::mutex> lock(mu_);
    if (lines_.size() == kMax) lines_.pop_front();
    lines_.emplace_back(rk, std::string(text));
  }
  // Whether `text` was logged for `rk` (and forgets it).
  bool take(const rd_kafka_t* rk, std::string_view text) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = lines_.begin(); it != lines_.end(); ++it) {
      if (it->first == rk && it->second == text) {
        lines_.erase(it);
        return true;
      }
    }
    return false;
  }

 private:
  static constexpr size_t kMax = 64;
  std::mutex mu_;
  std::deque<std::pair<const rd_kafka_t*, std::string>> lines_;
};

LoggedFailures& logged_failures() {
  static LoggedFailures failures;
  return failures;
}

// A log line's text without the "[thrd:<name>]: " librdkafka puts first (log.thread.name).
std::string_view without_thread_name(std::string_view line) {
  constexpr std::string_view kThread = "[thrd:";
  if (line.substr(0, kThread.size()) != kThread) return line;
  const size_t end = line.find("]: ");
  return end == std::string_view::npos ? line : line.substr(end + 3);
}

}  // namespace

void log_error_event(rd_kafka_t* rk, rd_kafka_resp_err_t err, const char* reason) {
  if (logged_failures().take(rk, reason)) return;
  log_message(LogLevel::kError, std::string("librdkafka ") + rd_kafka_name(rk) + " " +
                                    rd_kafka_err2name(err) + ": " + reason);
}

std::optional<Error> login_failure_of(int err, const char* reason) {
  if (err != RD_KAFKA_RESP_ERR__AUTHENTICATION && err != RD_KAFKA_RESP_ERR__SSL)
    return std::nullopt;
  return Error{Error::Code::kInvalidArgument, std::string("cannot log in to the bus: ") + reason};
}

void route_logs(rd_kafka_conf_t* conf) {
  rd_kafka_conf_set_log_cb(
      conf, [](const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
        // syslog levels: 0..3 error, 4 warning, 5..6 info, 7 debug.
        LogLevel l = level <= 3   ? LogLevel::kError
                     : level == 4 ? LogLevel::kWarn
                     : level <= 6 ? LogLevel::kInfo
                                  : LogLevel::kDebug;
        if (std::strcmp(fac, "FAIL") == 0) logged_failures().add(rk, without_thread_name(buf));
        log_message(l, std::string("librdkafka ") + rd_kafka_name(rk) + " " + fac + ": " + buf);
      });
  rd_kafka_conf_set_error_cb(conf, [](rd_kafka_t* rk, int err, const char* reason, void*) {
    log_error_event(rk, static_cast<rd_kafka_resp_err_t>(err), reason);
  });
}

}  // namespace wallet_eventd::bus
