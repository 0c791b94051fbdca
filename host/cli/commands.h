// The subcommands of the wallet-eventd binary. Each returns the process exit code:
// 0 ok, 1 runtime failure, 64 usage, 65 invalid input data, 75 not delivered (temporary),
// 78 refused configuration.
#ifndef WALLET_EVENTD_CLI_COMMANDS_H_
#define WALLET_EVENTD_CLI_COMMANDS_H_

#include <optional>
#include <string>
#include <vector>

namespace wallet_eventd::cli {

inline constexpr int kExitUsage = 64;
inline constexpr int kExitDataErr = 65;
inline constexpr int kExitIoErr = 74;  // EX_IOERR: the input could not be read
inline constexpr int kExitTempFail = 75;

int run(const std::string& config, std::optional<double> duration_s);
int check_config(const std::string& config);
int publish(const std::string& config, const std::string& input, bool dry_run);
struct TailOptions {
  std::vector<std::string> types;
  bool from_beginning = false;
  bool records = false;  // print Kafka coordinates around each event
  std::optional<long> max_events;
  std::optional<double> idle_timeout_s;
};
int tail(const std::string& config, const TailOptions& options);
int plugins_list(const std::string& config);
int plugins_inspect(const std::string& file);
int audit_verify(const std::string& dir, const std::string& prefix);

struct DlqReplayOptions {
  std::optional<std::string> instance;        // only records dead-lettered by this instance
  std::optional<std::string> error_contains;  // only records whose dlq.error(.code) contains it
  std::optional<std::string> since;           // RFC 3339, or back from now: 90s, 15m, 2h, 7d
  std::optional<uint32_t> max_replays;        // overrides dlq.max_replays
  std::string group;                          // default "<group_prefix>.dlq-replay"
  bool dry_run = false;
};
// 0 done (left records are reported), 75 a republish was not acknowledged (the DLQ position
// stays before it), 130 interrupted, 78 bad config, 64 bad options.
int dlq_replay(const std::string& config, const DlqReplayOptions& options);

}  // namespace wallet_eventd::cli

#endif  // WALLET_EVENTD_CLI_COMMANDS_H_
