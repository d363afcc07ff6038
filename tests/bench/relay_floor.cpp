// proxyd-relay-floor: the cheapest possible relay in front of a stock
// proxymap, as a yardstick for the forwarded rows of the benchmark (issue 12).
// Each accepted client gets its own upstream connection, opened at accept
// time, and bytes are copied both ways as they come: no parsing, no pooling,
// no queue, no deadlines, one thread on epoll. Whatever throughput this
// reaches at 128 clients bounds what any relay that keeps proxymap's one
// request per connection can reach on the same machine; proxyd's forwarded
// row is read against it. Not a product: no error handling beyond closing
// the pair.
//
// usage: proxyd-relay-floor LISTEN_SOCKET UPSTREAM_SOCKET
#include <fmt/format.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <unordered_map>

namespace {

int unix_socket(const std::string& path, bool listen_on) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) {
    ::close(fd);
    return -1;
  }
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  auto* addr = reinterpret_cast<sockaddr*>(&sa);
  if (listen_on) {
    ::unlink(path.c_str());
    if (::bind(fd, addr, sizeof sa) != 0 || ::listen(fd, 1024) != 0) {
      ::close(fd);
      return -1;
    }
  } else if (::connect(fd, addr, sizeof sa) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Copies everything readable on from to to; false when the pair must close.
bool copy(int from, int to) {
  char buf[65536];
  ssize_t n = ::read(from, buf, sizeof buf);
  if (n <= 0) return n < 0 && (errno == EAGAIN || errno == EINTR);
  for (ssize_t off = 0; off < n;) {
    ssize_t w = ::send(to, buf + off, static_cast<std::size_t>(n - off), MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    off += w;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fputs("usage: proxyd-relay-floor LISTEN_SOCKET UPSTREAM_SOCKET\n", stderr);
    return 2;
  }
  const std::string upstream = argv[2];
  int lfd = unix_socket(argv[1], true);
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  if (lfd < 0 || ep < 0) {
    fmt::print(stderr, "proxyd-relay-floor: {}: {}\n", argv[1], std::strerror(errno));
    return 1;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = lfd;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  std::unordered_map<int, int> peer;  // both directions of every pair
  auto close_pair = [&](int fd) {
    auto it = peer.find(fd);
    if (it == peer.end()) return;
    const int other = it->second;
    peer.erase(fd);
    peer.erase(other);
    ::close(fd);
    ::close(other);
  };
  epoll_event ready[256];
  for (;;) {
    int n = ::epoll_wait(ep, ready, 256, -1);
    for (int i = 0; i < n; ++i) {
      const int fd = ready[i].data.fd;
      if (fd == lfd) {
        int c = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) continue;
        int u = unix_socket(upstream, false);
        if (u < 0) {
          ::close(c);
          continue;
        }
        peer[c] = u;
        peer[u] = c;
        for (int s : {c, u}) {
          epoll_event e{};
          e.events = EPOLLIN;
          e.data.fd = s;
          ::epoll_ctl(ep, EPOLL_CTL_ADD, s, &e);
        }
        continue;
      }
      auto it = peer.find(fd);
      if (it != peer.end() && !copy(fd, it->second)) close_pair(fd);
    }
  }
}
