// The daemon's log: spdlog to stderr (journald picks it up under systemd), as text or as one
// JSON object per line. Also receives the client library's and the plugins' messages.
#ifndef WALLET_EVENTD_LOGGING_LOGGING_H_
#define WALLET_EVENTD_LOGGING_LOGGING_H_

#include "config/config.h"

namespace wallet_eventd::logging {

// Installs the logger (and the client library's log handler). Safe to call again (reload).
void setup(config::LogLevel level, config::LogFormat format);

}  // namespace wallet_eventd::logging

#endif  // WALLET_EVENTD_LOGGING_LOGGING_H_
