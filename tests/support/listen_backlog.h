// Test and benchmark HTTP servers: raise the listen backlog of a cpp-httplib server.
//
// Debian 12's libcpp-httplib (0.11, a compiled library) listens with a backlog of 5. When a
// client opens several connections at once (the notification plugin sends a batch's requests
// together) the kernel drops the surplus SYNs and the client resends them a second later, which
// a test or benchmark would then charge to the client. Linux lets listen() be called again on
// the listening socket to raise the backlog; this finds the socket by its port.
#ifndef WALLET_EVENTD_TESTS_SUPPORT_LISTEN_BACKLOG_H_
#define WALLET_EVENTD_TESTS_SUPPORT_LISTEN_BACKLOG_H_

#include <netinet/in.h>
#include <sys/socket.h>

namespace wep_test {

// True when the IPv4 listening socket on `port` was found and its backlog raised.
inline bool widen_listen_backlog(int port, int backlog) {
  for (int fd = 0; fd < 1024; ++fd) {
    int listening = 0;
    socklen_t len = sizeof listening;
    sockaddr_in addr{};
    socklen_t addr_len = sizeof addr;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening == 1 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &addr_len) == 0 &&
        addr.sin_family == AF_INET && ntohs(addr.sin_port) == port) {
      return listen(fd, backlog) == 0;
    }
  }
  return false;
}

}  // namespace wep_test

#endif  // WALLET_EVENTD_TESTS_SUPPORT_LISTEN_BACKLOG_H_
