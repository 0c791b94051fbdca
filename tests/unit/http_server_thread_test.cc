// admin::HttpServerThread: a stop() that comes right after start() is honoured (httplib drops
// a stop() issued before its accept loop runs, and the join would never return).
#include "admin/http_server_thread.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <future>
#include <thread>

namespace wallet_eventd::admin {
namespace {

TEST(HttpServerThread, StopRightAfterStartNeverHangs) {
  // Each round is one chance for the race. The rounds run on a detached thread so that a lost
  // stop() fails this test (and lets the process exit) instead of hanging it.
  std::packaged_task<bool()> task([] {
    for (int i = 0; i < 200; ++i) {
      httplib::Server server;
      if (server.bind_to_any_port("127.0.0.1") <= 0) return false;
      HttpServerThread loop;
      loop.start(&server);
      loop.stop();
    }
    return true;
  });
  std::future<bool> rounds = task.get_future();
  std::thread(std::move(task)).detach();
  ASSERT_EQ(rounds.wait_for(std::chrono::seconds(60)), std::future_status::ready)
      << "a stop() right after start() was lost";
  EXPECT_TRUE(rounds.get());
}

TEST(HttpServerThread, ServesUntilStoppedAndTheDestructorStops) {
  httplib::Server server;
  server.Get("/x", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok", "text/plain");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  {
    HttpServerThread loop;
    loop.start(&server);
    httplib::Client client("127.0.0.1", port);
    auto res = client.Get("/x");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->body, "ok");
  }  // the destructor stops and joins
  EXPECT_FALSE(server.is_running());
}

}  // namespace
}  // namespace wallet_eventd::admin
