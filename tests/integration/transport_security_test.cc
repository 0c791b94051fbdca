// Transport security against a real Kafka broker with TLS and SASL listeners, the daemon
// configured only through librdkafka passthrough properties (`bus.properties`):
//   - TLS (server certificate verified against the test CA), SASL/PLAIN over plaintext and
//     over TLS: `wallet-eventd publish` delivers, the daemon consumes into the recorder plugin
//     and /readyz says ready;
//   - a wrong password or an untrusted CA: `publish` exits 75 within a bounded time with the
//     broker's / OpenSSL's reason, and the daemon keeps answering /readyz with 503;
//   - SASL/SCRAM-SHA-256: Kafka 4.x rejects the SCRAM proof of librdkafka < 2.6.1 (it repeats
//     the client nonce, librdkafka PR #4895); with such a librdkafka the login fails at connect
//     time with a clear message, never a hang; with a fixed one it must work (docs/security.md);
//   - the admin endpoint binds to loopback by default.
//
// The suite starts its own broker (tests/kafka/broker.sh start --tls --sasl-scram) on port
// $WEP_TEST_SECURE_KAFKA_PORT, by default the port of $WEP_TEST_BOOTSTRAP + 500 (it uses that
// port up to +4), and removes it afterwards. If the broker cannot start, every test fails.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <ifaddrs.h>
#include <librdkafka/rdkafka.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <future>
#include <map>
#include <set>
#include <sstream>

#include "support.h"
#include "wallet_eventd/client.h"

namespace {

using namespace std::chrono_literals;
using std::chrono::seconds;
using wallet_eventd::EventMetadata;
using wallet_eventd::KeyCreated;

const std::string kBrokerScript = WEP_SOURCE_DIR "/tests/kafka/broker.sh";
const std::string kUser = "wep", kPassword = "wep-secret";  // created by broker.sh

// ---- the broker with TLS and SASL listeners ---------------------------------------------------

struct SecureBrokerInfo {
  int port = 0;
  std::string dir;
  std::string plaintext, sasl, ssl, sasl_ssl, ca, other_ca;
  std::string start_error;  // non-empty: it did not start
};

int secure_port() {
  if (const char* p = std::getenv("WEP_TEST_SECURE_KAFKA_PORT"); p != nullptr && *p != '\0')
    return std::atoi(p);
  const char* b = std::getenv("WEP_TEST_BOOTSTRAP");
  if (b == nullptr || *b == '\0') return -1;
  std::string s(b);
  auto colon = s.rfind(':');
  if (colon == std::string::npos) return -1;
  return std::atoi(s.c_str() + colon + 1) + 500;
}

SecureBrokerInfo& broker() {
  static SecureBrokerInfo info;
  return info;
}

void stop_secure_broker() {
  const auto& b = broker();
  if (b.port <= 0) return;
  const std::string port = std::to_string(b.port);
  // A throwaway broker: SIGKILL is enough, and quicker than a controlled shutdown.
  wep_it::run_command({kBrokerScript, "kill", "--port", port, "--dir", b.dir}, "", seconds(30));
  wep_it::run_command({kBrokerScript, "stop", "--port", port, "--dir", b.dir, "--clean"}, "",
                      seconds(60));
}

void start_secure_broker() {
  auto& b = broker();
  b = SecureBrokerInfo{};
  b.port = secure_port();
  if (b.port <= 0 || b.port > 65531) {
    b.start_error =
        "no port for the TLS/SASL test broker: set WEP_TEST_BOOTSTRAP=127.0.0.1:<port> (the "
        "broker goes to <port>+500) or WEP_TEST_SECURE_KAFKA_PORT";
    b.port = 0;
    return;
  }
  b.dir = "/tmp/wep-secure-kafka-" + std::to_string(b.port);
  stop_secure_broker();  // a leftover of an interrupted run would have stale state
  auto r = wep_it::run_command({kBrokerScript, "start", "--port", std::to_string(b.port), "--dir",
                                b.dir, "--tls", "--sasl-scram"},
                               "", seconds(240));
  if (r.exit_code != 0) {
    b.start_error = "tests/kafka/broker.sh start --tls --sasl-scram on port " +
                    std::to_string(b.port) + " failed (exit " + std::to_string(r.exit_code) +
                    "):\n" + r.out + r.err;
    return;
  }
  std::map<std::string, std::string> kv;
  std::istringstream lines(r.out);
  for (std::string l; std::getline(lines, l);)
    if (auto eq = l.find('='); eq != std::string::npos) kv[l.substr(0, eq)] = l.substr(eq + 1);
  b.plaintext = kv["bootstrap"];
  b.sasl = kv["sasl_bootstrap"];
  b.ssl = kv["ssl_bootstrap"];
  b.sasl_ssl = kv["sasl_ssl_bootstrap"];
  b.ca = kv["ca"];
  b.other_ca = b.dir + "/tls/other-ca.pem";
  if (b.sasl.empty() || b.ssl.empty() || b.sasl_ssl.empty() || b.ca.empty())
    b.start_error = "broker.sh start printed no TLS/SASL listeners:\n" + r.out + r.err;
}

class SecureBroker : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { start_secure_broker(); }
  static void TearDownTestSuite() { stop_secure_broker(); }
  void SetUp() override { ASSERT_TRUE(broker().start_error.empty()) << broker().start_error; }
};

// ---- configs, events, the daemon --------------------------------------------------------------

// `bus.properties` lines (already indented) for a listener.
std::string ssl_props(const std::string& ca) {
  return "    security.protocol: SSL\n    ssl.ca.location: \"" + ca + "\"\n";
}
std::string sasl_props(const std::string& protocol, const std::string& mechanism,
                       const std::string& password, const std::string& ca = "") {
  std::string p = "    security.protocol: " + protocol + "\n    sasl.mechanisms: " + mechanism +
                  "\n    sasl.username: " + kUser + "\n    sasl.password: \"" + password + "\"\n";
  if (!ca.empty()) p += "    ssl.ca.location: \"" + ca + "\"\n";
  return p;
}

std::string recorder(const std::string& output) {
  return "  - name: rec\n    path: " WEP_BINARY_DIR
         "/test-plugins/recorder.so\n    config:\n      output: " +
         output + "\n";
}

// The daemon's YAML: only the bus address and passthrough properties differ from a plain
// setup. `topics_extra` goes into the topics section.
std::string secure_config(const std::filesystem::path& dir, const std::string& prefix,
                          const std::string& bootstrap, const std::string& properties,
                          const std::string& plugins_yaml, const std::string& topics_extra = "",
                          int message_timeout_ms = 6000) {
  std::string yaml = "bus:\n  bootstrap_servers: \"" + bootstrap + "\"\n  properties:\n";
  yaml += properties;
  yaml += "  producer_properties:\n    message.timeout.ms: " + std::to_string(message_timeout_ms) +
          "\n";
  yaml += "topics:\n  prefix: " + prefix + "\n  partitions: 3\n" + topics_extra;
  yaml += "consumer:\n  group_prefix: " + prefix + "\n  batch_timeout_ms: 20\n";
  yaml += "admin:\n  listen: \"127.0.0.1:0\"\n";
  yaml += "state_dir: " + (dir / "state").string() + "\n";
  yaml += "plugin_dir: " WEP_BINARY_DIR "/plugins\nshutdown_timeout_ms: 10000\n";
  if (!plugins_yaml.empty()) yaml += "plugins:\n" + plugins_yaml;
  return wep_it::write_file(dir, "wallet-eventd.yaml", yaml);
}

// `count` KeyCreated events as NDJSON, their ids in `ids`.
std::string ndjson_events(int count, std::vector<std::string>* ids) {
  std::string out;
  for (int i = 0; i < count; ++i) {
    KeyCreated e;
    e.metadata = EventMetadata::create("corr-" + std::to_string(i), "wallet-" + std::to_string(i));
    e.key_id = "key-" + std::to_string(i);
    e.kid = "kid-" + std::to_string(i);
    e.key_type = "EC P-256";
    ids->push_back(e.metadata.event_id);
    out += wallet_eventd::encode_event(e) + "\n";
  }
  return out;
}

std::set<std::string> done_ids(const std::string& file) {
  std::set<std::string> out;
  for (const auto& l : wep_it::read_lines(file))
    if (l.size() > 5 && l.compare(l.size() - 5, 5, " done") == 0) out.insert(l.substr(0, 36));
  return out;
}

using wep_it::admin_port;
using wep_it::http_get;
using wep_it::HttpAnswer;

// Publishes `count` events with the CLI, runs the daemon with the recorder and checks that
// every event arrived and /readyz says ready.
void round_trip(const std::string& what, const std::string& bootstrap,
                const std::string& properties) {
  SCOPED_TRACE(what);
  const std::string prefix = wep_it::unique_prefix();
  auto dir = wep_it::temp_dir();
  const std::string out = (dir / "seen.txt").string();
  const std::string cfg = secure_config(dir, prefix, bootstrap, properties, recorder(out));

  auto check = wep_it::run_command({WEP_DAEMON, "check-config", "--config", cfg}, "", 60s);
  ASSERT_EQ(check.exit_code, 0) << check.out << check.err;

  std::vector<std::string> ids;
  auto pub =
      wep_it::run_command({WEP_DAEMON, "publish", "--config", cfg}, ndjson_events(5, &ids), 60s);
  ASSERT_EQ(pub.exit_code, 0) << pub.err;
  EXPECT_NE(pub.err.find("published 5, invalid 0, not delivered 0"), std::string::npos) << pub.err;

  wep_it::Daemon daemon(cfg);
  ASSERT_TRUE(wep_it::eventually([&] { return done_ids(out).size() >= 5; }, 60s)) << daemon.log();
  EXPECT_EQ(done_ids(out), std::set<std::string>(ids.begin(), ids.end()));
  const int port = admin_port(daemon);
  ASSERT_GT(port, 0) << daemon.log();
  EXPECT_TRUE(wep_it::eventually([&] { return http_get(port, "/readyz").status == 200; }, 20s))
      << http_get(port, "/readyz").body << daemon.log();
  // Nothing in the log about failed handshakes or logins.
  const std::string log = daemon.log();
  EXPECT_EQ(log.find("SSL handshake failed"), std::string::npos) << log;
  EXPECT_EQ(log.find("Authentication failed"), std::string::npos) << log;
  // The password is a secret: neither the daemon nor `publish` prints it.
  EXPECT_EQ(log.find(kPassword), std::string::npos) << log;
  EXPECT_EQ(pub.err.find(kPassword), std::string::npos) << pub.err;
  EXPECT_EQ(check.out.find(kPassword), std::string::npos) << check.out;
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(20s), 0) << daemon.log();
}

// `publish` of one event must fail with exit 75 (not delivered) within `bound`, and its
// output must carry `reason`.
struct Refusal {
  wep_it::CommandResult result;
  std::chrono::steady_clock::duration took{};
};
Refusal publish_refused(const std::string& cfg) {
  std::vector<std::string> ids;
  auto start = std::chrono::steady_clock::now();
  Refusal r;
  r.result =
      wep_it::run_command({WEP_DAEMON, "publish", "--config", cfg}, ndjson_events(1, &ids), 90s);
  r.took = std::chrono::steady_clock::now() - start;
  return r;
}

void expect_refused(const Refusal& r, const std::string& reason) {
  // publish gives up at the failed login, well within message.timeout.ms (60 s in the configs
  // of WrongPassword..., 6 s in Scram...).
  EXPECT_EQ(r.result.exit_code, 75) << r.result.err;
  EXPECT_LT(r.took, 20s) << r.result.err;
  EXPECT_NE(r.result.err.find("line 1: not delivered: cannot log in to the bus: "),
            std::string::npos)
      << r.result.err;
  EXPECT_NE(r.result.err.find("published 0, invalid 0, not delivered 1"), std::string::npos)
      << r.result.err;
  EXPECT_NE(r.result.err.find(reason), std::string::npos) << r.result.err;
  EXPECT_EQ(r.result.err.find("not-the-password"), std::string::npos) << r.result.err;
}

// The daemon on a bus it cannot log in to: it runs, answers /readyz with 503 naming the broker,
// logs the reason, and stops cleanly on SIGTERM.
void expect_daemon_not_ready(const std::string& cfg, const std::string& reason) {
  wep_it::Daemon daemon(cfg);
  const int port = admin_port(daemon);
  ASSERT_GT(port, 0) << daemon.log();
  HttpAnswer ready = http_get(port, "/readyz");
  EXPECT_EQ(ready.status, 503) << ready.body << daemon.log();
  EXPECT_NE(ready.body.find("\"broker\":\"unreachable"), std::string::npos) << ready.body;
  EXPECT_EQ(http_get(port, "/healthz").status, 200);
  EXPECT_TRUE(
      wep_it::eventually([&] { return daemon.log().find(reason) != std::string::npos; }, 20s))
      << daemon.log();
  // Still not ready a few probes later: no retry loop turns a bad login into "ready".
  std::this_thread::sleep_for(2500ms);
  EXPECT_EQ(http_get(port, "/readyz").status, 503) << daemon.log();
  EXPECT_EQ(daemon.log().find("not-the-password"), std::string::npos) << daemon.log();
  auto start = std::chrono::steady_clock::now();
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(20s), 0) << daemon.log();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 15s);
}

// ---- the tests --------------------------------------------------------------------------------

// One test for the three listeners: each test process starts its own broker under ctest.
TEST_F(SecureBroker, TlsVerifiedAgainstTheTestCaAndSaslPlainOverPlaintextAndTls) {
  round_trip("SSL", broker().ssl, ssl_props(broker().ca));
  round_trip("SASL_PLAINTEXT PLAIN", broker().sasl,
             sasl_props("SASL_PLAINTEXT", "PLAIN", kPassword));
  round_trip("SASL_SSL PLAIN", broker().sasl_ssl,
             sasl_props("SASL_SSL", "PLAIN", kPassword, broker().ca));
}

TEST_F(SecureBroker, WrongPasswordOrUntrustedCaIsAClearErrorNotAHang) {
  const std::string prefix = wep_it::unique_prefix();
  auto dir_pw = wep_it::temp_dir(), dir_ca = wep_it::temp_dir(), dir_none = wep_it::temp_dir();
  const int kLong = 60000;  // message.timeout.ms: publish must not wait for it
  const std::string cfg_pw = secure_config(
      dir_pw, prefix, broker().sasl_ssl,
      sasl_props("SASL_SSL", "PLAIN", "not-the-password", broker().ca), "", "", kLong);
  const std::string cfg_ca =
      secure_config(dir_ca, prefix, broker().ssl, ssl_props(broker().other_ca), "", "", kLong);
  // TLS on, but no CA given: librdkafka falls back to the system store, which does not
  // know the test CA either.
  const std::string cfg_none =
      secure_config(dir_none, prefix, broker().ssl, "    security.protocol: SSL\n", "", "", kLong);

  auto pw = std::async(std::launch::async, [&] { return publish_refused(cfg_pw); });
  auto ca = std::async(std::launch::async, [&] { return publish_refused(cfg_ca); });
  auto none = std::async(std::launch::async, [&] { return publish_refused(cfg_none); });
  expect_refused(pw.get(), "Authentication failed: Invalid username or password");
  expect_refused(ca.get(), "certificate verify failed");
  expect_refused(none.get(), "certificate verify failed");

  // tail and dlq replay give up too, with the reason. tail read on until --idle-timeout,
  // printing nothing; dlq replay waited 10 s for the DLQ's end offsets, then exited 1 with
  // "Local: Broker transport failure", dry run or not.
  auto command_refused = [](std::vector<std::string> args, const std::string& said,
                            const std::string& reason, std::chrono::seconds within) {
    auto start = std::chrono::steady_clock::now();
    auto r = wep_it::run_command(args, "", 90s);
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(r.exit_code, 75) << r.err;
    EXPECT_LT(took, within) << r.err;
    EXPECT_NE(r.err.find(said + ": cannot log in to the bus: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(reason), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("not-the-password"), std::string::npos) << r.err;
  };
  const std::string bad_password = "Authentication failed: Invalid username or password";
  const std::string bad_ca = "certificate verify failed";
  std::vector<std::future<void>> refused;
  for (const auto& [cfg, reason] : {std::pair{cfg_pw, bad_password}, std::pair{cfg_ca, bad_ca}}) {
    refused.push_back(std::async(std::launch::async, [&, cfg = cfg, reason = reason] {
      command_refused({WEP_DAEMON, "tail", "--config", cfg, "--idle-timeout", "60"}, "tail", reason,
                      20s);
    }));
    refused.push_back(std::async(std::launch::async, [&, cfg = cfg, reason = reason] {
      command_refused({WEP_DAEMON, "dlq", "replay", "--config", cfg}, "dlq replay", reason, 8s);
    }));
    refused.push_back(std::async(std::launch::async, [&, cfg = cfg, reason = reason] {
      command_refused({WEP_DAEMON, "dlq", "replay", "--config", cfg, "--dry-run"}, "dlq replay",
                      reason, 8s);
    }));
  }
  for (auto& f : refused) f.get();

  // For the daemon, topics.create: false spares the 15 s topic-creation attempt at start
  // (the admin endpoint only opens after it).
  auto daemon_cfg = [&](const std::filesystem::path& dir, const std::string& bootstrap,
                        const std::string& props) {
    return secure_config(dir, prefix, bootstrap, props, "", "  create: false\n");
  };
  auto d_pw = std::async(std::launch::async, [&] {
    expect_daemon_not_ready(
        daemon_cfg(dir_pw, broker().sasl_ssl,
                   sasl_props("SASL_SSL", "PLAIN", "not-the-password", broker().ca)),
        "Authentication failed: Invalid username or password");
  });
  auto d_ca = std::async(std::launch::async, [&] {
    expect_daemon_not_ready(daemon_cfg(dir_ca, broker().ssl, ssl_props(broker().other_ca)),
                            "certificate verify failed");
  });
  d_pw.get();
  d_ca.get();
}

TEST_F(SecureBroker, ScramSha256WorksOrFailsClearlyWithThisLibrdkafka) {
  const int version = rd_kafka_version();
  const bool fixed = version >= 0x020601ff;  // librdkafka 2.6.1, PR #4895
  std::printf("librdkafka %s: SCRAM against Kafka 4.x expected to %s\n", rd_kafka_version_str(),
              fixed ? "work" : "fail (client nonce repeated in client-final-message)");
  if (fixed) {
    round_trip("SASL_PLAINTEXT SCRAM-SHA-256", broker().sasl,
               sasl_props("SASL_PLAINTEXT", "SCRAM-SHA-256", kPassword));
    round_trip("SASL_SSL SCRAM-SHA-256", broker().sasl_ssl,
               sasl_props("SASL_SSL", "SCRAM-SHA-256", kPassword, broker().ca));
    return;
  }
  // librdkafka < 2.6.1: the broker checks the nonce strictly (CVE-2024-56128) and answers
  // "invalid credentials" even for the right password. That must be a connect-time error
  // with the broker's reason, within the message timeout, not a hang.
  const std::string prefix = wep_it::unique_prefix();
  auto dir = wep_it::temp_dir();
  const std::string cfg = secure_config(
      dir, prefix, broker().sasl, sasl_props("SASL_PLAINTEXT", "SCRAM-SHA-256", kPassword), "");
  auto check = wep_it::run_command({WEP_DAEMON, "check-config", "--config", cfg}, "", 60s);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;  // the config itself is valid
  expect_refused(publish_refused(cfg),
                 "Authentication failed during authentication due to invalid credentials with "
                 "SASL mechanism SCRAM-SHA-256");
  // The same user and password over PLAIN on the same listener work: it is not the account.
  const std::string plain_cfg = secure_config(dir, prefix, broker().sasl,
                                              sasl_props("SASL_PLAINTEXT", "PLAIN", kPassword), "");
  std::vector<std::string> ids;
  auto pub = wep_it::run_command({WEP_DAEMON, "publish", "--config", plain_cfg},
                                 ndjson_events(1, &ids), 60s);
  EXPECT_EQ(pub.exit_code, 0) << pub.err;
  EXPECT_NE(pub.err.find("published 1, invalid 0, not delivered 0"), std::string::npos) << pub.err;
}

// ---- the admin endpoint's default address -----------------------------------------------------

// Inodes of the sockets a process holds.
std::set<std::string> socket_inodes(pid_t pid) {
  std::set<std::string> out;
  const std::string fd_dir = "/proc/" + std::to_string(pid) + "/fd";
  for (const auto& e : std::filesystem::directory_iterator(fd_dir)) {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(e.path(), ec).string();
    if (!ec && target.rfind("socket:[", 0) == 0) out.insert(target.substr(8, target.size() - 9));
  }
  return out;
}

struct Listening {
  std::string address;  // hex as in /proc/net/tcp*, e.g. 0100007F
  int port = 0;
  bool v6 = false;
};

// The TCP sockets in LISTEN state among `inodes`, from /proc/net/tcp and tcp6.
std::vector<Listening> listening_sockets(const std::set<std::string>& inodes) {
  std::vector<Listening> out;
  for (const char* file : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::istringstream in(wep_it::read_file(file));
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream f(line);
      std::string sl, local, remote, state, queues, timer, retr, uid, timeout, inode;
      f >> sl >> local >> remote >> state >> queues >> timer >> retr >> uid >> timeout >> inode;
      if (state != "0A" || inodes.count(inode) == 0) continue;  // 0A = LISTEN
      auto colon = local.find(':');
      out.push_back({local.substr(0, colon), std::stoi(local.substr(colon + 1), nullptr, 16),
                     std::string(file).find("tcp6") != std::string::npos});
    }
  }
  return out;
}

bool port_free_everywhere(int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  bool ok = bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(s);
  return ok;
}

TEST(AdminEndpoint, BindsToLoopbackByDefault) {
  auto dir = wep_it::temp_dir();
  // No admin section at all: the default applies. No broker is needed to start.
  const std::string cfg = wep_it::write_file(
      dir, "wallet-eventd.yaml",
      "bus:\n  bootstrap_servers: \"127.0.0.1:1\"\ntopics:\n  prefix: " + wep_it::unique_prefix() +
          "\n  create: false\nstate_dir: " + (dir / "state").string() +
          "\nplugin_dir: " WEP_BINARY_DIR "/plugins\n");
  // The default port may be held for a moment by another test's daemon; wait for it.
  ASSERT_TRUE(wep_it::eventually([] { return port_free_everywhere(9464); }, 30s))
      << "port 9464 (the admin endpoint's default) stays in use by another process";
  wep_it::Daemon daemon(cfg);
  const int port = admin_port(daemon);
  ASSERT_EQ(port, 9464) << daemon.log();
  EXPECT_NE(daemon.log().find("admin endpoint on 127.0.0.1:9464"), std::string::npos)
      << daemon.log();

  std::vector<Listening> socks;
  ASSERT_TRUE(wep_it::eventually(
      [&] {
        socks = listening_sockets(socket_inodes(daemon.pid()));
        return !socks.empty();
      },
      10s))
      << daemon.log();
  for (const auto& s : socks) {
    EXPECT_FALSE(s.v6) << "the daemon listens on an IPv6 address (port " << s.port << ")";
    EXPECT_EQ(s.address, "0100007F")
        << "the daemon listens on a non-loopback address, port " << s.port;
  }
  bool admin_seen = false;
  for (const auto& s : socks) admin_seen |= s.port == 9464;
  EXPECT_TRUE(admin_seen);
  EXPECT_EQ(http_get(9464, "/healthz").status, 200);

  // From a non-loopback address of this machine, if it has one, nothing answers on 9464.
  ifaddrs* ifs = nullptr;
  ASSERT_EQ(getifaddrs(&ifs), 0);
  int tried = 0;
  for (ifaddrs* i = ifs; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    sockaddr_in a = *reinterpret_cast<sockaddr_in*>(i->ifa_addr);
    if ((ntohl(a.sin_addr.s_addr) >> 24) == 127) continue;
    a.sin_port = htons(9464);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int rc = connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    int err = errno;
    close(s);
    char text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &a.sin_addr, text, sizeof text);
    EXPECT_NE(rc, 0) << "the admin endpoint answers on " << text << ":9464";
    if (rc != 0) {
      EXPECT_EQ(err, ECONNREFUSED) << text << ": " << std::strerror(err);
    }
    ++tried;
  }
  freeifaddrs(ifs);
  std::printf(
      "admin endpoint: listening sockets %zu, all on 127.0.0.1; non-loopback addresses "
      "tried: %d\n",
      socks.size(), tried);
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(20s), 0) << daemon.log();
}

}  // namespace
