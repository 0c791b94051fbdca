// Where the client library's diagnostics go. By default warnings and errors are written to
// stderr; an application (the daemon does) installs its own handler to route them into its
// logger. Thread-safety: set_log_handler may be called at any time; the handler itself may be
// called from librdkafka's threads and must be thread-safe.
#ifndef WALLET_EVENTD_LOG_H_
#define WALLET_EVENTD_LOG_H_

#include <functional>
#include <string_view>

namespace wallet_eventd {

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError };

using LogHandler = std::function<void(LogLevel, std::string_view)>;

// Replaces the handler; an empty function restores the stderr default.
void set_log_handler(LogHandler handler);

// Sends one message to the current handler.
void log_message(LogLevel level, std::string_view message);

}  // namespace wallet_eventd

#endif  // WALLET_EVENTD_LOG_H_
