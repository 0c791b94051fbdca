#include "support.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <librdkafka/rdkafka.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <sstream>

#include "bus/consumer.h"

namespace wep_it {

std::string bootstrap() {
  const char* b = std::getenv("WEP_TEST_BOOTSTRAP");
  if (b == nullptr || *b == '\0') {
    ADD_FAILURE() << "WEP_TEST_BOOTSTRAP is not set: integration tests need the real broker. "
                     "Run tests/run-all.sh, or tests/kafka/broker.sh start and export "
                     "WEP_TEST_BOOTSTRAP=127.0.0.1:19092";
    throw std::runtime_error("no broker");
  }
  return b;
}

std::string unique_prefix() {
  static std::mt19937_64 rng(std::random_device{}());
  std::ostringstream s;
  s << "it" << std::hex << (rng() & 0xffffffffffull);
  return s.str();
}

std::filesystem::path temp_dir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "wep-it-XXXXXX").string();
  char* made = mkdtemp(tmpl.data());
  if (made == nullptr) throw std::runtime_error("mkdtemp failed");
  return made;
}

std::string write_file(const std::filesystem::path& dir, const std::string& name,
                       const std::string& text) {
  auto path = dir / name;
  std::ofstream(path) << text;
  return path.string();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> read_lines(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(line);
  return out;
}

std::vector<std::string> golden_files() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(WEP_GOLDEN_DIR "/wire/valid"))
    if (e.path().extension() == ".json") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

wallet_eventd::ClientConfig client_config(const std::string& prefix) {
  wallet_eventd::ClientConfig c;
  c.bootstrap_servers = bootstrap();
  c.topic_prefix = prefix;
  c.dlq_topic = prefix + ".dlq";
  c.group_id = prefix + ".client";
  c.timeout = std::chrono::milliseconds(20000);
  return c;
}

std::vector<wallet_eventd::EventMetadata> publish_spread(const std::string& prefix, int count,
                                                         const std::string& tag) {
  auto publisher = wallet_eventd::Publisher::create(client_config(prefix));
  EXPECT_TRUE(publisher.ok()) << publisher.error().message;
  std::vector<wallet_eventd::EventMetadata> out;
  for (int i = 0; i < count && publisher.ok(); ++i) {
    wallet_eventd::KeyCreated e;
    e.metadata = wallet_eventd::EventMetadata::create("corr", tag + "-wallet-" + std::to_string(i));
    e.key_id = "key-" + std::to_string(i);
    e.kid = "kid-" + std::to_string(i);
    e.key_type = "EC P-256";
    wallet_eventd::Status s = publisher.value()->publish(e);
    EXPECT_TRUE(s.ok()) << s.message();
    out.push_back(e.metadata);
  }
  return out;
}

namespace {

// Starts argv with stdin, stdout and stderr opened from the given paths (stderr may be the same
// file as stdout). posix_spawn, not fork + exec: a forked child of this multi-threaded process
// must not allocate before exec, and under ASan (GCC 12's runtime does not lock its allocator
// around fork) one that does can deadlock on an allocator lock another thread held at the fork:
// the child then never runs the program. That hung one `publish` of three started at once.
pid_t spawn(const std::vector<std::string>& argv, const std::string& in_path,
            const std::string& out_path, const std::string& err_path) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, in_path.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  if (err_path == out_path)
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
  else
    posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
  return pid;
}

}  // namespace

CommandResult run_command(const std::vector<std::string>& argv, const std::string& input,
                          std::chrono::seconds timeout) {
  auto dir = temp_dir();
  std::string in_path = write_file(dir, "stdin", input);
  std::string out_path = (dir / "stdout").string(), err_path = (dir / "stderr").string();
  pid_t pid = spawn(argv, in_path, out_path, err_path);
  CommandResult r;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (true) {
    pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      r.err = "TIMEOUT after " + std::to_string(timeout.count()) + " s\n";
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_file(out_path);
  r.err += read_file(err_path);
  std::filesystem::remove_all(dir);
  return r;
}

Daemon::Daemon(const std::string& config_path, std::vector<std::string> extra_args) {
  log_path_ = (temp_dir() / "daemon.log").string();
  std::vector<std::string> argv = {WEP_DAEMON, "run", "--config", config_path};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  pid_ = spawn(argv, "/dev/null", log_path_, log_path_);
}

Daemon::~Daemon() {
  if (running()) {
    kill(pid_, SIGKILL);
    wait(std::chrono::seconds(10));
  }
}

void Daemon::signal(int sig) { kill(pid_, sig); }

bool Daemon::running() {
  if (reaped_) return false;
  int status;
  pid_t w = waitpid(pid_, &status, WNOHANG);
  if (w == pid_) {
    reaped_ = true;
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return false;
  }
  return true;
}

int Daemon::wait(std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return status_;
}

std::string Daemon::log() const { return read_file(log_path_); }

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

int admin_port(Daemon& daemon, std::chrono::seconds timeout) {
  static const std::regex re(R"(admin endpoint on \S+ \(port (\d+))");
  int port = -1;
  eventually(
      [&] {
        std::smatch m;
        std::string log = daemon.log();
        if (std::regex_search(log, m, re)) port = std::stoi(m[1]);
        return port > 0 || !daemon.running();
      },
      timeout);
  return port;
}

HttpAnswer http_get(int port, const std::string& path) {
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(2);
  c.set_read_timeout(5);
  auto r = c.Get(path);
  if (!r) return {};
  return {r->status, r->body};
}

std::vector<wallet_eventd::Record> read_topic(const std::string& topic, size_t count,
                                              std::chrono::seconds timeout) {
  // A plain assign-from-beginning consumer: no group, sees every record.
  std::string errstr(512, '\0');
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap().c_str(), errstr.data(), errstr.size());
  rd_kafka_conf_set(conf, "group.id", ("reader-" + unique_prefix()).c_str(), errstr.data(),
                    errstr.size());
  rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr.data(), errstr.size());
  rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", errstr.data(), errstr.size());
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr.data(), errstr.size());
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, topic.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_subscribe(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  std::vector<wallet_eventd::Record> out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (out.size() < count && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 200);
    if (m == nullptr) continue;
    if (!m->err) out.push_back(wallet_eventd::bus::to_record(m));
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return out;
}

void produce_raw(const std::string& topic, const std::string& key, const std::string& value) {
  std::string errstr(512, '\0');
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap().c_str(), errstr.data(), errstr.size());
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr.data(), errstr.size());
  rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()),
                    RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
                    RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
  ASSERT_EQ(rd_kafka_flush(rk, 20000), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_destroy(rk);
}

std::string daemon_config(const std::filesystem::path& dir, const std::string& prefix,
                          const std::string& plugins_yaml, const std::string& extra) {
  std::string yaml = "bus:\n  bootstrap_servers: \"" + bootstrap() +
                     "\"\n"
                     "topics:\n  prefix: " +
                     prefix +
                     "\n  partitions: 3\n"
                     "consumer:\n  group_prefix: " +
                     prefix +
                     "\n  batch_timeout_ms: 20\n"
                     "admin:\n  listen: \"127.0.0.1:0\"\n"
                     "state_dir: " +
                     (dir / "state").string() +
                     "\n"
                     "plugin_dir: " WEP_BINARY_DIR
                     "/plugins\n"
                     "shutdown_timeout_ms: 10000\n" +
                     extra;
  if (!plugins_yaml.empty()) yaml += "plugins:\n" + plugins_yaml;
  return write_file(dir, "wallet-eventd.yaml", yaml);
}

std::map<std::string, int> recorded_ids(const std::string& file, const std::string& result) {
  std::map<std::string, int> out;
  const std::string suffix = " " + result;
  for (const auto& l : read_lines(file))
    if (l.size() > suffix.size() && l.compare(l.size() - suffix.size(), suffix.size(), suffix) == 0)
      ++out[l.substr(0, l.find(' '))];
  return out;
}

std::map<std::string, int> audited_ids(const std::filesystem::path& dir) {
  std::map<std::string, int> out;
  if (!std::filesystem::exists(dir)) return out;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".jsonl") continue;
    for (const auto& line : read_lines(entry.path().string())) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_object() && j.contains("event_id") && j["event_id"].is_string())
        ++out[j["event_id"].get<std::string>()];
    }
  }
  return out;
}

}  // namespace wep_it
