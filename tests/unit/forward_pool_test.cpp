// Unit tests for the forwarding pool (issue 12) against a scripted stock
// service on a private UNIX socket: requests started in one loop iteration
// go out together but still one at a time per connection (never pipelined),
// every reply is counted in the table's counters, and a malformed or
// misshapen stock reply gives RETRY. The fake service runs on its own
// thread; the pool runs on the test thread's event loop.
#include "proxyd/forward_pool.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "protocol/attr_codec.h"
#include "protocol/messages.h"
#include "proxyd/event_loop.h"
#include "tests/fakes/capture_logger.h"

namespace proxyd::daemon {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using protocol::ProxyStatus;
using protocol::Reply;
using protocol::Request;
using protocol::RequestType;

// What the fake stock service answers to one lookup request.
using Script = std::function<std::string(const Request&)>;

// A stock proxymap stand-in: greets, then answers each request with
// script(request). Counts requests that arrived while another one on the
// same connection was still unanswered (pipelining).
class FakeStock {
 public:
  FakeStock(fs::path path, Script script) : path_(std::move(path)), script_(script) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path_.c_str());
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd_, 16) != 0) {
      throw std::runtime_error("fake stock: bind/listen failed");
    }
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~FakeStock() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    acceptor_.join();
    for (auto& t : conns_) t.join();
    ::close(fd_);
  }
  int requests() const { return requests_; }
  int pipelined() const { return pipelined_; }

 private:
  void accept_loop() {
    while (!stop_) {
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      conns_.emplace_back([this, c] { serve(c); });
    }
  }
  void serve(int c) {
    std::string greeting = protocol::encode_greeting();
    if (::send(c, greeting.data(), greeting.size(), MSG_NOSIGNAL) < 0) return;
    protocol::AttrDecoder dec;
    protocol::AttrList attrs;
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) break;
      dec.feed(std::string_view(buf, static_cast<std::size_t>(n)));
      int got = 0;
      while (dec.next(attrs) == protocol::DecodeStatus::Complete) {
        ++got;
        ++requests_;
        protocol::ParseResult p = protocol::parse_request(attrs);
        std::string out = script_(p.request);
        if (::send(c, out.data(), out.size(), MSG_NOSIGNAL) < 0) break;
      }
      if (got > 1) pipelined_ += got - 1;
    }
    ::close(c);
  }

  fs::path path_;
  Script script_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::atomic<int> pipelined_{0};
  std::thread acceptor_;
  std::vector<std::thread> conns_;  // joined after the acceptor stopped
};

// Wire bytes from a literal with embedded NULs (its final NUL excluded).
template <std::size_t N>
std::string wire(const char (&s)[N]) {
  return std::string(s, N - 1);
}

Request lookup(std::string key) {
  Request r;
  r.type = RequestType::Lookup;
  r.table = "cidr:/etc/postfix/x.cidr";
  r.flags = 0x4000;
  r.key = std::move(key);
  return r;
}

class ForwardPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("proxyd_forward_pool_test_{}_{}", getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  ForwardLimits limits(std::size_t connections) {
    ForwardLimits l;
    l.path = (dir_ / "stock").string();
    l.max_connections = connections;
    l.timeout = 5000ms;
    return l;
  }

  // Run the loop until n answers arrived (or 5 s passed).
  void run_until(const std::vector<Reply>& got, std::size_t n) {
    const auto end = std::chrono::steady_clock::now() + 5s;
    while (got.size() < n && std::chrono::steady_clock::now() < end) {
      event_base_loop(loop_.base(), EVLOOP_ONCE | EVLOOP_NONBLOCK);
      std::this_thread::sleep_for(1ms);
    }
  }

  fs::path dir_;
  EventLoop loop_;
  dict::testing::CaptureLogger log_;
};

std::string ok_reply(const Request& r) {
  Reply reply;
  reply.status = r.key == "miss" ? ProxyStatus::NoKey : ProxyStatus::Ok;
  if (reply.status == ProxyStatus::Ok) reply.value = "v-" + r.key;
  return protocol::encode_reply(RequestType::Lookup, r.dialect, reply);
}

TEST_F(ForwardPoolTest, BurstGoesOutOneRequestAtATimePerConnectionAndIsCounted) {
  FakeStock stock(dir_ / "stock", ok_reply);
  ForwardPool pool(loop_.base(), log_, "read", limits(2));
  auto stats = std::make_shared<dict::TableStats>();
  std::vector<Reply> got;
  std::vector<std::string> keys;
  for (int i = 0; i < 40; ++i)
    keys.push_back(i % 4 == 3 ? "miss" : fmt::format("k{}", i));
  for (const auto& k : keys) {
    pool.submit(
        lookup(k), [&got](Reply r) { got.push_back(std::move(r)); }, stats);
  }
  run_until(got, keys.size());
  ASSERT_EQ(got.size(), keys.size());
  int ok = 0;
  int miss = 0;
  for (const Reply& r : got) {
    if (r.status == ProxyStatus::Ok) {
      ++ok;
      EXPECT_EQ(r.value.rfind("v-k", 0), 0u) << r.value;
    } else {
      EXPECT_EQ(r.status, ProxyStatus::NoKey);
      ++miss;
    }
  }
  EXPECT_EQ(ok, 30);
  EXPECT_EQ(miss, 10);
  EXPECT_EQ(stats->ok, 30u);
  EXPECT_EQ(stats->notfound, 10u);
  EXPECT_EQ(stats->retry, 0u);
  EXPECT_EQ(stock.requests(), 40);
  EXPECT_EQ(stock.pipelined(), 0) << "a stock connection carried two requests at once";
  EXPECT_LE(pool.figures().connections_peak, 2u);
  EXPECT_EQ(pool.stats().answered, 40u);
}

TEST_F(ForwardPoolTest, MalformedStockReplyIsRetryAndCounted) {
  // Not a number in status: the reply is refused, never passed on.
  FakeStock stock(dir_ / "stock", [](const Request&) {
    return wire(
        "status\0"
        "x1\0"
        "value\0"
        "v\0\0");
  });
  ForwardPool pool(loop_.base(), log_, "read", limits(1));
  auto stats = std::make_shared<dict::TableStats>();
  std::vector<Reply> got;
  pool.submit(
      lookup("a"), [&got](Reply r) { got.push_back(std::move(r)); }, stats);
  run_until(got, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].status, ProxyStatus::Retry);
  EXPECT_EQ(stats->retry, 1u);
  EXPECT_EQ(pool.stats().died, 1u);
}

TEST_F(ForwardPoolTest, ReplyInTheOtherLayoutIsRetry) {
  // A lookup reply without its value attribute (wrong layout for the
  // request): RETRY, not a reply with an empty value.
  FakeStock stock(dir_ / "stock", [](const Request&) {
    return wire(
        "status\0"
        "0\0"
        "flags\0"
        "0\0\0");
  });
  ForwardPool pool(loop_.base(), log_, "read", limits(1));
  std::vector<Reply> got;
  pool.submit(lookup("a"), [&got](Reply r) { got.push_back(std::move(r)); });
  run_until(got, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].status, ProxyStatus::Retry);
}

TEST_F(ForwardPoolTest, DenyFromTheStockServiceIsPassedOn) {
  FakeStock stock(dir_ / "stock", [](const Request& r) {
    Reply reply;
    reply.status = ProxyStatus::Deny;
    return protocol::encode_reply(RequestType::Lookup, r.dialect, reply);
  });
  ForwardPool pool(loop_.base(), log_, "read", limits(1));
  auto stats = std::make_shared<dict::TableStats>();
  std::vector<Reply> got;
  pool.submit(
      lookup("a"), [&got](Reply r) { got.push_back(std::move(r)); }, stats);
  run_until(got, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].status, ProxyStatus::Deny);
  EXPECT_EQ(stats->failed, 1u);
}

}  // namespace
}  // namespace proxyd::daemon
