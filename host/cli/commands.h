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

}  // namespace wallet_eventd::cli

#endif  // WALLET_EVENTD_CLI_COMMANDS_H_
