#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <httplib.h>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "admin/admin_server.h"
#include "admin/metrics_registry.h"

namespace wallet_eventd::admin {
namespace {

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

CommandResult run(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) result.output.append(buf, n);
  int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// `promtool check metrics` on the text: parse errors and lint problems both fail it.
// Fails (never skips) when promtool is not installed.
void ExpectPromtoolAccepts(const std::string& text) {
  ASSERT_EQ(run("command -v promtool").exit_code, 0)
      << "promtool is required for this test (Debian package: prometheus)";
  char path[] = "/tmp/wep_admin_metrics_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  {
    std::ofstream out(path, std::ios::binary);
    out << text;
  }
  CommandResult r = run(std::string("promtool check metrics < ") + path);
  unlink(path);
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n--- input ---\n" << text;
  EXPECT_EQ(r.output, "") << r.output;
}

void FillSampleRegistry(MetricsRegistry* r) {
  Family& handled =
      r->counter("wallet_eventd_events_handled_total",
                 "Events a handler instance finished, by result.", {"instance", "result"});
  handled.inc({"audit", "done"}, 41);
  handled.inc({"weird \"name\"\\\n", "failed"});
  r->gauge("wallet_eventd_consumer_lag_records", "Records not yet consumed.", {"instance"})
      .set({"audit"}, 12);
  Family& batch =
      r->histogram("wallet_eventd_batch_duration_seconds", "Time per batch.", {"instance"});
  batch.observe({"audit"}, 0.003);
  batch.observe({"audit"}, 0.2);
  batch.observe({"audit"}, 30);
  r->gauge("wallet_eventd_up", "1 while the daemon runs.").set({}, 1);
}

std::string Listen(int port) { return "127.0.0.1:" + std::to_string(port); }

TEST(AdminServer, ServesMetricsThatPromtoolAccepts) {
  MetricsRegistry registry;
  FillSampleRegistry(&registry);
  AdminServer server("127.0.0.1:0", registry, nullptr);
  Status st = server.start();
  ASSERT_TRUE(st.ok()) << st.message();
  ASSERT_GT(server.port(), 0);

  httplib::Client client("127.0.0.1", server.port());
  auto res = client.Get("/metrics");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type").rfind("text/plain; version=0.0.4", 0), 0u)
      << res->get_header_value("Content-Type");
  EXPECT_EQ(res->body, registry.render());
  EXPECT_NE(res->body.find("wallet_eventd_events_handled_total{instance=\"audit\",result=\"done\"}"
                           " 41\n"),
            std::string::npos);
  EXPECT_NE(res->body.find("wallet_eventd_batch_duration_seconds_bucket{instance=\"audit\","
                           "le=\"+Inf\"} 3\n"),
            std::string::npos);
  ExpectPromtoolAccepts(res->body);
}

TEST(AdminServer, PromtoolRejectsBrokenTextSoTheCheckIsReal) {
  CommandResult r = run("printf 'broken{\\n' | promtool check metrics");
  EXPECT_NE(r.exit_code, 0) << r.output;
}

TEST(AdminServer, HealthzIsOkWhileRunning) {
  MetricsRegistry registry;
  AdminServer server("127.0.0.1:0", registry,
                     [] { return Readiness{}.add("broker", false, "down: connection refused"); });
  ASSERT_TRUE(server.start().ok());
  httplib::Client client("127.0.0.1", server.port());
  auto res = client.Get("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);  // alive even when not ready
  EXPECT_EQ(res->body, "ok\n");
  auto missing = client.Get("/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST(AdminServer, ReadyzFollowsTheProbe) {
  MetricsRegistry registry;
  std::atomic<bool> broker_up{false};
  AdminServer server("127.0.0.1:0", registry, [&] {
    Readiness r;
    r.add("broker", broker_up.load(), broker_up ? "up" : "down: connection refused");
    r.add("instance audit", true, "running");
    return r;
  });
  ASSERT_TRUE(server.start().ok());
  httplib::Client client("127.0.0.1", server.port());

  auto res = client.Get("/readyz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(res->body,
            "{\"ready\":false,\"checks\":{\"broker\":\"down: connection refused\","
            "\"instance audit\":\"running\"}}\n");

  broker_up = true;
  res = client.Get("/readyz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  auto body = nlohmann::json::parse(res->body);
  EXPECT_EQ(body["ready"], true);
  EXPECT_EQ(body["checks"]["broker"], "up");
}

TEST(AdminServer, ReadyzWithoutProbeIsReadyAndAThrowingProbeIsNot) {
  MetricsRegistry registry;
  AdminServer always("127.0.0.1:0", registry, nullptr);
  ASSERT_TRUE(always.start().ok());
  auto res = httplib::Client("127.0.0.1", always.port()).Get("/readyz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "{\"ready\":true,\"checks\":{}}\n");

  AdminServer throwing("127.0.0.1:0", registry,
                       []() -> Readiness { throw std::runtime_error("boom"); });
  ASSERT_TRUE(throwing.start().ok());
  res = httplib::Client("127.0.0.1", throwing.port()).Get("/readyz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(nlohmann::json::parse(res->body)["checks"]["probe"], "failed: boom");
}

TEST(AdminServer, BindErrorNamesTheAddressWhenThePortIsInUse) {
  MetricsRegistry registry;
  AdminServer first("127.0.0.1:0", registry, nullptr);
  ASSERT_TRUE(first.start().ok());
  AdminServer second(Listen(first.port()), registry, nullptr);
  Status st = second.start();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(), "admin.listen " + Listen(first.port()) + ": address already in use");
  EXPECT_EQ(st.error().code, Error::Code::kUnavailable);
  EXPECT_EQ(second.port(), 0);

  // Also when someone else's socket (without SO_REUSEPORT) holds the port.
  int sock = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(sock, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(sock, 1), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(getsockname(sock, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  int port = ntohs(addr.sin_port);
  AdminServer third(Listen(port), registry, nullptr);
  st = third.start();
  close(sock);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(), "admin.listen " + Listen(port) + ": address already in use");
}

TEST(AdminServer, BadAddressesAreRefusedWithAReason) {
  MetricsRegistry registry;
  const std::pair<const char*, const char*> cases[] = {
      {"", "empty address"},
      {"localhost", "missing :port"},
      {"127.0.0.1:", "is not a number"},
      {"127.0.0.1:http", "is not a number"},
      {"127.0.0.1:65536", "out of range"},
      {"::1:9464", "IPv6 addresses need brackets"},
      {"[::1]9464", "missing :port"},
      {"[::1:9464", "missing ']'"},
      {"192.0.2.1:0", "cannot assign requested address"},  // TEST-NET-1: not ours
  };
  for (const auto& [listen, why] : cases) {
    AdminServer server(listen, registry, nullptr);
    Status st = server.start();
    ASSERT_FALSE(st.ok()) << listen;
    EXPECT_EQ(st.message().rfind("admin.listen " + std::string(listen) + ": ", 0), 0u)
        << st.message();
    EXPECT_NE(st.message().find(why), std::string::npos) << st.message();
  }
}

TEST(AdminServer, ParsesListenAddresses) {
  auto a = parse_listen_address("127.0.0.1:9464");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a.value().host, "127.0.0.1");
  EXPECT_EQ(a.value().port, 9464);
  auto b = parse_listen_address("[::1]:0");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b.value().host, "::1");
  EXPECT_EQ(b.value().port, 0);
  auto c = parse_listen_address(":9464");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c.value().host, "0.0.0.0");
  auto d = parse_listen_address("localhost:65535");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d.value().host, "localhost");
  EXPECT_EQ(d.value().port, 65535);
}

TEST(AdminServer, ServesOnIpv6Loopback) {
  MetricsRegistry registry;
  AdminServer server("[::1]:0", registry, nullptr);
  Status st = server.start();
  ASSERT_TRUE(st.ok()) << st.message();
  auto res = httplib::Client("::1", server.port()).Get("/healthz");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
}

TEST(AdminServer, StopsRestartsAndReusesThePort) {
  MetricsRegistry registry;
  AdminServer server("127.0.0.1:0", registry, nullptr);
  server.stop();  // before start: a no-op
  ASSERT_TRUE(server.start().ok());
  Status again = server.start();
  EXPECT_FALSE(again.ok());
  EXPECT_NE(again.message().find("already started"), std::string::npos);
  int port = server.port();
  {
    httplib::Client client("127.0.0.1", port);
    ASSERT_TRUE(client.Get("/healthz"));  // leaves a connection behind (TIME_WAIT)
  }
  server.stop();
  server.stop();
  EXPECT_EQ(server.port(), 0);
  EXPECT_FALSE(httplib::Client("127.0.0.1", port).Get("/healthz"));

  // A restarted daemon gets its configured port back at once.
  AdminServer fixed(Listen(port), registry, nullptr);
  Status st = fixed.start();
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(fixed.port(), port);
  ASSERT_TRUE(httplib::Client("127.0.0.1", port).Get("/healthz"));
  // Stop right after start, many times: never hangs.
  fixed.stop();
  for (int i = 0; i < 20; ++i) {
    AdminServer quick("127.0.0.1:0", registry, nullptr);
    ASSERT_TRUE(quick.start().ok());
  }
}

TEST(AdminServer, StopDoesNotWaitLongForIdleKeepAliveClients) {
  MetricsRegistry registry;
  AdminServer server("127.0.0.1:0", registry, nullptr);
  ASSERT_TRUE(server.start().ok());
  httplib::Client client("127.0.0.1", server.port());
  client.set_keep_alive(true);
  ASSERT_TRUE(client.Get("/metrics"));  // the connection stays open and idle
  auto begin = std::chrono::steady_clock::now();
  server.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(3));
}

}  // namespace
}  // namespace wallet_eventd::admin
