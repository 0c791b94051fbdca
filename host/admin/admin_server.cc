#include "admin/admin_server.h"

#include <fcntl.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <nlohmann/json.hpp>
#include <system_error>
#include <utility>

namespace wallet_eventd::admin {
namespace {

constexpr char kMetricsContentType[] = "text/plain; version=0.0.4; charset=utf-8";
constexpr int kServerThreads = 4;

Error bad_listen(std::string_view listen, std::string_view why) {
  return Error{Error::Code::kInvalidArgument,
               "admin.listen " + std::string(listen) + ": " + std::string(why)};
}

// strerror text with a lower-case first letter, to read well after a colon.
std::string errno_text(int err) {
  std::string s = std::system_category().message(err);
  if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z' && (s.size() < 2 || !(s[1] >= 'A' && s[1] <= 'Z')))
    s[0] = static_cast<char>(s[0] - 'A' + 'a');
  return s;
}

// The same socket options as the server's: SO_REUSEADDR (restart while old connections sit in
// TIME_WAIT) but not SO_REUSEPORT, which would let two daemons share the port silently.
void admin_socket_options(int sock) {
  int yes = 1;
  setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  int flags = fcntl(sock, F_GETFD);
  if (flags >= 0) fcntl(sock, F_SETFD, flags | FD_CLOEXEC);
}

struct AddrInfoDeleter {
  void operator()(addrinfo* ai) const { freeaddrinfo(ai); }
};

// Why `host:port` cannot be bound: resolves it the way the server does and binds each address
// itself to learn the errno. Empty when it resolves and binds now (a race; caller words it).
std::string explain_bind_failure(const ListenAddress& addr) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* raw = nullptr;
  std::string port = std::to_string(addr.port);
  int rc = getaddrinfo(addr.host.c_str(), port.c_str(), &hints, &raw);
  if (rc != 0) return "cannot resolve \"" + addr.host + "\": " + gai_strerror(rc);
  std::unique_ptr<addrinfo, AddrInfoDeleter> list(raw);
  std::string first_error;
  for (addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
    int sock = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (sock < 0) {
      if (first_error.empty()) first_error = errno_text(errno);
      continue;
    }
    admin_socket_options(sock);
    int err = 0;
    if (bind(sock, ai->ai_addr, ai->ai_addrlen) != 0 || listen(sock, 1) != 0) err = errno;
    close(sock);
    if (err == 0) return {};
    if (first_error.empty()) first_error = errno_text(err);
  }
  return first_error.empty() ? "no usable address" : first_error;
}

}  // namespace

// ---- Readiness -------------------------------------------------------------------------------

Readiness& Readiness::add(std::string name, bool ok, std::string detail) {
  checks.push_back(Check{std::move(name), ok, std::move(detail)});
  return *this;
}

bool Readiness::ready() const {
  for (const Check& c : checks) {
    if (!c.ok) return false;
  }
  return true;
}

std::string Readiness::to_json() const {
  nlohmann::ordered_json j;
  j["ready"] = ready();
  j["checks"] = nlohmann::ordered_json::object();
  for (const Check& c : checks) {
    j["checks"][c.name] = c.detail.empty() ? (c.ok ? "ok" : "not ready") : c.detail;
  }
  // Replace invalid UTF-8 in probe texts instead of throwing.
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

// ---- listen address --------------------------------------------------------------------------

Result<ListenAddress> parse_listen_address(std::string_view listen) {
  if (listen.empty()) return bad_listen(listen, "empty address (want host:port)");
  ListenAddress out;
  std::string_view port_text;
  if (listen.front() == '[') {
    size_t close = listen.find(']');
    if (close == std::string_view::npos) {
      return bad_listen(listen, "missing ']' after the IPv6 address (want [::1]:9464)");
    }
    out.host = std::string(listen.substr(1, close - 1));
    if (out.host.empty()) return bad_listen(listen, "empty IPv6 address between [ and ]");
    if (close + 1 >= listen.size() || listen[close + 1] != ':') {
      return bad_listen(listen, "missing :port after the IPv6 address (want [::1]:9464)");
    }
    port_text = listen.substr(close + 2);
  } else {
    size_t colon = listen.rfind(':');
    if (colon == std::string_view::npos) {
      return bad_listen(listen, "missing :port (want host:port, e.g. 127.0.0.1:9464)");
    }
    if (listen.find(':') != colon) {
      return bad_listen(listen, "IPv6 addresses need brackets (e.g. [::1]:9464)");
    }
    out.host = colon == 0 ? "0.0.0.0" : std::string(listen.substr(0, colon));
    port_text = listen.substr(colon + 1);
  }
  if (port_text.empty() || port_text.size() > 5 ||
      port_text.find_first_not_of("0123456789") != std::string_view::npos) {
    return bad_listen(listen, "port \"" + std::string(port_text) + "\" is not a number 0-65535");
  }
  int port = std::stoi(std::string(port_text));
  if (port > 65535) {
    return bad_listen(listen, "port " + std::string(port_text) + " is out of range 0-65535");
  }
  out.port = port;
  return out;
}

// ---- AdminServer -----------------------------------------------------------------------------

AdminServer::AdminServer(std::string listen, MetricsRegistry& registry, ReadyProbe ready_probe)
    : listen_(std::move(listen)), registry_(registry), ready_probe_(std::move(ready_probe)) {}

AdminServer::~AdminServer() { stop(); }

Status AdminServer::start() {
  if (server_ != nullptr) {
    return Error{Error::Code::kInternal, "admin.listen " + listen_ + ": already started"};
  }
  auto parsed = parse_listen_address(listen_);
  if (!parsed.ok()) return parsed.error();
  const ListenAddress& addr = parsed.value();

  auto server = std::make_unique<httplib::Server>();
  server->set_socket_options([](socket_t sock) { admin_socket_options(sock); });
  server->new_task_queue = [] { return new httplib::ThreadPool(kServerThreads); };
  server->set_read_timeout(5, 0);
  server->set_write_timeout(5, 0);
  // stop() waits for idle keep-alive connections to time out; scrapers rarely reuse them.
  server->set_keep_alive_timeout(1);
  server_ = std::move(server);
  install_routes();

  int port = addr.port == 0 ? server_->bind_to_any_port(addr.host)
                            : (server_->bind_to_port(addr.host, addr.port) ? addr.port : -1);
  if (port < 0) {
    server_.reset();
    std::string why = explain_bind_failure(addr);
    if (why.empty()) why = "cannot bind (the address was busy and is free again; retry)";
    return Error{Error::Code::kUnavailable, "admin.listen " + listen_ + ": " + why};
  }
  port_ = port;

  loop_.start(server_.get());
  return Status::Ok();
}

void AdminServer::stop() {
  if (server_ == nullptr) return;
  loop_.stop();
  server_.reset();
  port_ = 0;
}

void AdminServer::install_routes() {
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(registry_.render(), kMetricsContentType);
  });

  server_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain; charset=utf-8");
  });

  server_->Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    Readiness r;
    if (ready_probe_) {
      try {
        r = ready_probe_();
      } catch (const std::exception& e) {
        r = Readiness{};
        r.add("probe", false, std::string("failed: ") + e.what());
      } catch (...) {
        r = Readiness{};
        r.add("probe", false, "failed: unknown exception");
      }
    }
    res.status = r.ready() ? 200 : 503;
    res.set_content(r.to_json() + "\n", "application/json");
  });

  server_->set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "internal error";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what += std::string(": ") + e.what();
        } catch (...) {
        }
        res.status = 500;
        res.set_content(what + "\n", "text/plain; charset=utf-8");
      });
}

}  // namespace wallet_eventd::admin
