// Helpers for the integration tests: the real broker's address, scratch directories, YAML
// files, and running the daemon or a command as a child process.
#ifndef WALLET_EVENTD_TESTS_INTEGRATION_SUPPORT_H_
#define WALLET_EVENTD_TESTS_INTEGRATION_SUPPORT_H_

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "wallet_eventd/client.h"

namespace wep_it {

// $WEP_TEST_BOOTSTRAP; fails the test (never skips) when unset or unreachable.
std::string bootstrap();
// A topic prefix no other test uses ("it<random>").
std::string unique_prefix();
// A fresh 0700 directory, removed at exit.
std::filesystem::path temp_dir();
// Writes text to dir/name and returns the path.
std::string write_file(const std::filesystem::path& dir, const std::string& name,
                       const std::string& text);
std::string read_file(const std::string& path);
std::vector<std::string> read_lines(const std::string& path);
std::vector<std::string> golden_files();  // ../shared/wire/valid/*.json, sorted

// A ClientConfig for the test broker with the given prefix.
wallet_eventd::ClientConfig client_config(const std::string& prefix);
// Publishes `count` KeyCreated events under `prefix`, one per wallet "<tag>-wallet-<i>" (the
// record key), so that they span the topic's partitions; returns each event's metadata.
std::vector<wallet_eventd::EventMetadata> publish_spread(const std::string& prefix, int count,
                                                         const std::string& tag);

struct CommandResult {
  int exit_code = -1;
  std::string out, err;
};
// Runs argv[0] with args, optional stdin text; waits up to `timeout`.
CommandResult run_command(const std::vector<std::string>& argv, const std::string& input = "",
                          std::chrono::seconds timeout = std::chrono::seconds(120));

// The daemon as a child process, output to a log file.
class Daemon {
 public:
  Daemon(const std::string& config_path, std::vector<std::string> extra_args = {});
  ~Daemon();  // SIGKILL if still running
  void signal(int sig);
  // Waits for exit; returns the exit code (or 128+signal), -1 on timeout.
  int wait(std::chrono::seconds timeout);
  bool running();
  std::string log() const;
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  std::string log_path_;
  int status_ = -1;
  bool reaped_ = false;
};

// ---- the daemon's admin endpoint (/healthz, /readyz, /metrics) ----------------------------------

// A TCP port on 127.0.0.1 that was free when asked, for `admin.listen`.
int free_port();
// The admin endpoint's port, from the daemon's log line "admin endpoint on <address> (port N";
// -1 if the daemon exits or logs none within `timeout`.
int admin_port(Daemon& daemon, std::chrono::seconds timeout = std::chrono::seconds(40));

struct HttpAnswer {
  int status = -1;  // -1: no answer
  std::string body;
};
// GET http://127.0.0.1:<port><path>, 2 s to connect and 5 s to read.
HttpAnswer http_get(int port, const std::string& path);

// Waits until pred() is true or the timeout passes; returns pred().
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return pred();
}

// Reads every record of a topic from the beginning until `count` arrived or timeout.
std::vector<wallet_eventd::Record> read_topic(const std::string& topic, size_t count,
                                              std::chrono::seconds timeout);

// Produces raw bytes to a topic (no validation) and waits for the ack.
void produce_raw(const std::string& topic, const std::string& key, const std::string& value);

// A YAML config on the test broker with the given prefix and plugins block (may be empty).
std::string daemon_config(const std::filesystem::path& dir, const std::string& prefix,
                          const std::string& plugins_yaml, const std::string& extra = "");

// event_id -> how many lines of a recorder test plugin's output end with " <result>"
// ("done", "failed", "retry").
std::map<std::string, int> recorded_ids(const std::string& file,
                                        const std::string& result = "done");
// event_id -> how many records of the audit log in `dir` (its *.jsonl files) carry it.
std::map<std::string, int> audited_ids(const std::filesystem::path& dir);

}  // namespace wep_it

#endif  // WALLET_EVENTD_TESTS_INTEGRATION_SUPPORT_H_
