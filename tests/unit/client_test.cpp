// Tests for the blocking proxymap client against a tiny in-test server
// thread on a UNIX socket in a temporary directory: greeting check, exact
// request bytes in both dialects, replies split into single bytes, reply
// layout mismatch, read timeout, EOF, peer_closed(), connect errors, moves.
#include "protocol/client.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "protocol/unix_address.h"

namespace proxyd::protocol {
namespace {

using namespace std::string_literals;
using namespace std::chrono_literals;

// Server-side connection helpers (run in the server thread).
struct Peer {
  int fd;
  AttrDecoder decoder{};
  std::string received{};  // every byte read from the client

  void send(std::string_view bytes) const {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  // Next message from the client, or nullopt on EOF/error/5 s timeout.
  std::optional<AttrList> read() {
    AttrList message;
    for (;;) {
      if (decoder.next(message) == DecodeStatus::Complete) return message;
      pollfd pfd{fd, POLLIN, 0};
      if (::poll(&pfd, 1, 5000) <= 0) return std::nullopt;
      char buf[4096];
      const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) return std::nullopt;
      received.append(buf, static_cast<std::size_t>(n));
      decoder.feed(std::string_view(buf, static_cast<std::size_t>(n)));
    }
  }
  // Wait (bounded) until the client hangs up.
  void wait_for_close() {
    while (read()) {
    }
  }
};

// Listens on a fresh socket path and runs script on the one accepted
// connection in its own thread.
class FakeServer {
 public:
  explicit FakeServer(std::function<void(Peer&)> script) {
    char tmpl[] = "/tmp/proxyd-client-test-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp");
    dir_ = tmpl;
    path_ = dir_ + "/proxymap";
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(listen_fd_, 4) != 0) {
      throw std::runtime_error("bind/listen");
    }
    thread_ = std::thread([this, script = std::move(script)] {
      pollfd pfd{listen_fd_, POLLIN, 0};
      if (::poll(&pfd, 1, 5000) <= 0) return;
      Peer peer{::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC)};
      if (peer.fd < 0) return;
      script(peer);
      received_ = peer.received;
      ::close(peer.fd);
    });
  }
  ~FakeServer() {
    join();
    ::close(listen_fd_);
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  FakeServer(const FakeServer&) = delete;
  FakeServer& operator=(const FakeServer&) = delete;

  void join() {
    if (thread_.joinable()) thread_.join();
  }
  const std::string& path() const { return path_; }
  // Bytes the server read (valid after join()).
  const std::string& received() const { return received_; }

 private:
  std::string dir_;
  std::string path_;
  int listen_fd_ = -1;
  std::thread thread_;
  std::string received_;
};

const std::string kGreeting = "protocol\0proxymap_protocol\0\0"s;

TEST(Client, V1OpenAndLookupSendExactBytes) {
  FakeServer server([](Peer& peer) {
    peer.send(kGreeting);
    if (!peer.read()) return;
    peer.send(
        encode_reply(RequestType::Open, Dialect::V1, {ProxyStatus::Ok, 16, "", ""}));
    if (!peer.read()) return;
    peer.send(encode_reply(RequestType::Lookup, Dialect::V1,
                           {ProxyStatus::Ok, 0, "", "user0@example0.org"}));
    peer.wait_for_close();
  });
  {
    Client client(server.path(), 5s);
    const Reply open = client.open(Dialect::V1, "mysql:/x.cf", 0);
    EXPECT_EQ(open, (Reply{ProxyStatus::Ok, 16, "", ""}));
    const Reply hit = client.lookup(Dialect::V1, "mysql:/x.cf", 77, 524353, "alias0");
    EXPECT_EQ(hit, (Reply{ProxyStatus::Ok, 0, "", "user0@example0.org"}));
  }
  server.join();
  // v1 ignores instance_flags (77): SPEC Appendix A layout.
  EXPECT_EQ(server.received(),
            "request\0open\0table\0mysql:/x.cf\0flags\0000\0\0"
            "request\0lookup\0table\0mysql:/x.cf\0flags\000524353\0key\0alias0\0\0"s);
}

TEST(Client, V2ReplyArrivingOneByteAtATime) {
  const std::string reply = encode_reply(RequestType::Lookup, Dialect::V2,
                                         {ProxyStatus::NoKey, 1589329, "", ""});
  FakeServer server([&reply](Peer& peer) {
    for (char ch : kGreeting) {
      peer.send(std::string_view(&ch, 1));
      std::this_thread::sleep_for(1ms);
    }
    if (!peer.read()) return;
    for (char ch : reply) {
      peer.send(std::string_view(&ch, 1));
      std::this_thread::sleep_for(1ms);
    }
    peer.wait_for_close();
  });
  {
    Client client(server.path(), 5s);
    EXPECT_EQ(client.lookup(Dialect::V2, "pgsql:/y.cf", 540737, 1589329, "k"),
              (Reply{ProxyStatus::NoKey, 1589329, "", ""}));
  }
  server.join();
  EXPECT_EQ(server.received(),
            "request\0lookup\0table\0pgsql:/y.cf\0instance_flags\000540737\0"
            "flags\0001589329\0key\0k\0\0"s);
}

TEST(Client, V2OpenSendsInstanceFlags) {
  FakeServer server([](Peer& peer) {
    peer.send(kGreeting);
    if (!peer.read()) return;
    peer.send(
        encode_reply(RequestType::Open, Dialect::V2, {ProxyStatus::Ok, 1589329, "", ""}));
    peer.wait_for_close();
  });
  {
    Client client(server.path(), 5s);
    EXPECT_EQ(client.open(Dialect::V2, "t:x", 540737).flags, 1589329u);
  }
  server.join();
  EXPECT_EQ(server.received(),
            "request\0open\0table\0t:x\0instance_flags\000540737\0\0"s);
}

TEST(Client, RejectsWrongGreeting) {
  FakeServer server([](Peer& peer) {
    peer.send("protocol\0other_protocol\0\0"s);
    peer.wait_for_close();
  });
  try {
    Client client(server.path(), 5s);
    FAIL() << "no exception";
  } catch (const ClientError& e) {
    EXPECT_NE(std::string(e.what()).find("unexpected greeting"), std::string::npos)
        << e.what();
  }
}

TEST(Client, WithoutGreeting) {
  FakeServer server([](Peer& peer) {
    if (!peer.read()) return;
    peer.send(
        encode_reply(RequestType::Delete, Dialect::V1, {ProxyStatus::Deny, 0, "", ""}));
    peer.wait_for_close();
  });
  Client client(server.path(), 5s, /*expect_greeting=*/false);
  Request request;
  request.type = RequestType::Delete;
  request.table = "t:x";
  request.key = "k";
  EXPECT_EQ(client.call(request).status, ProxyStatus::Deny);
}

TEST(Client, ReplyInOtherDialectIsAnError) {
  FakeServer server([](Peer& peer) {
    peer.send(kGreeting);
    if (!peer.read()) return;
    peer.send(
        encode_reply(RequestType::Lookup, Dialect::V1, {ProxyStatus::Ok, 0, "", "v"}));
    peer.wait_for_close();
  });
  Client client(server.path(), 5s);
  try {
    client.lookup(Dialect::V2, "t:x", 0, 0, "k");
    FAIL() << "no exception";
  } catch (const ClientError& e) {
    EXPECT_NE(std::string(e.what()).find("unexpected attribute value (expecting: flags)"),
              std::string::npos)
        << e.what();
  }
}

TEST(Client, ReadTimesOut) {
  std::atomic<bool> release{false};
  FakeServer server([&release](Peer& peer) {
    peer.send(kGreeting);
    peer.read();
    for (int i = 0; i < 1000 && !release; ++i) std::this_thread::sleep_for(5ms);
  });
  Client client(server.path(), 150ms);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(client.lookup(Dialect::V1, "t:x", 0, 0, "k"), ClientError);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, 140ms);
  EXPECT_LT(elapsed, 3s);
  EXPECT_FALSE(client.peer_closed());
  release = true;
}

TEST(Client, EofDuringCallAndPeerClosed) {
  FakeServer server([](Peer& peer) {
    peer.send(kGreeting);
    peer.read();  // then hang up without a reply
  });
  Client client(server.path(), 5s);
  try {
    client.lookup(Dialect::V1, "t:x", 0, 0, "k");
    FAIL() << "no exception";
  } catch (const ClientError& e) {
    EXPECT_NE(std::string(e.what()).find("closed"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(client.peer_closed());
}

TEST(Client, PeerClosedWaitsAndKeepsBufferedReply) {
  std::atomic<bool> release{false};
  FakeServer server([&release](Peer& peer) {
    peer.send(kGreeting);
    for (int i = 0; i < 1000 && !release; ++i) std::this_thread::sleep_for(5ms);
    peer.send(encode_status_only(ProxyStatus::Bad));  // then close
  });
  Client client(server.path(), 5s);
  EXPECT_FALSE(client.peer_closed(50ms));  // alive and silent
  release = true;
  EXPECT_TRUE(client.peer_closed(5000ms));
  EXPECT_EQ(client.read_message(), (AttrList{{"status", "3"}}));
  EXPECT_THROW(client.read_message(), ClientError);
}

TEST(Client, MalformedReplyExceedingLimits) {
  FakeServer server([](Peer& peer) {
    peer.send(kGreeting);
    peer.send(std::string(200, 'n'));  // attribute name over the 64-byte cap
    peer.wait_for_close();
  });
  Client client(server.path(), 5s);
  try {
    client.read_message();
    FAIL() << "no exception";
  } catch (const ClientError& e) {
    EXPECT_NE(std::string(e.what()).find("malformed"), std::string::npos) << e.what();
  }
}

TEST(Client, ConnectErrors) {
  EXPECT_THROW(Client("/nonexistent/proxyd-test/private/proxymap", 200ms), ClientError);
  EXPECT_THROW(Client(std::string(200, 'x'), 200ms), ClientError);
  EXPECT_THROW(Client("", 200ms), ClientError);
}

TEST(Client, MoveTransfersTheConnection) {
  FakeServer server([](Peer& peer) {
    peer.send(kGreeting);
    if (!peer.read()) return;
    peer.send(
        encode_reply(RequestType::Update, Dialect::V1, {ProxyStatus::Ok, 0, "", ""}));
    peer.wait_for_close();
  });
  Client first(server.path(), 5s);
  const int fd = first.fd();
  Client second(std::move(first));
  EXPECT_EQ(first.fd(),
            -1);  // NOLINT(bugprone-use-after-move): checking moved-from state
  EXPECT_EQ(second.fd(), fd);
  EXPECT_THROW(first.read_message(), ClientError);
  Client third = std::move(second);
  Request request;
  request.type = RequestType::Update;
  request.table = "t:x";
  request.key = "k";
  request.value = "v";
  EXPECT_EQ(third.call(request).status, ProxyStatus::Ok);
}

TEST(UnixAddress, BoundsThePathLength) {
  EXPECT_FALSE(unix_address("").has_value());
  const std::size_t room = sizeof(sockaddr_un{}.sun_path);  // 108 on Linux, NUL included
  std::string longest(room - 1, 'x');
  auto addr = unix_address(longest);
  ASSERT_TRUE(addr.has_value());
  EXPECT_EQ(addr->sun_family, AF_UNIX);
  EXPECT_EQ(std::string(addr->sun_path), longest);  // NUL-terminated
  EXPECT_FALSE(unix_address(longest + "x").has_value());
}

}  // namespace
}  // namespace proxyd::protocol
