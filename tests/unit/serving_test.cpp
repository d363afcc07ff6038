// Unit tests for the daemon layer (issue 15 item 6): a real EventLoop,
// Service and Server on a private socket, with the loop on its own thread
// and a protocol::Client as the Postfix client. Reply order under
// pipelining, flow control (max_in_flight), the request timeout, and the
// reload hand-over (a request in flight finishes on the generation it
// started with; new ones see the new configuration).
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "protocol/attr_codec.h"
#include "protocol/client.h"
#include "protocol/messages.h"
#include "proxyd/event_loop.h"
#include "proxyd/reload.h"
#include "proxyd/server.h"
#include "proxyd/service.h"
#include "proxyd/settings.h"
#include "tests/fakes/capture_logger.h"

namespace proxyd::daemon {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using protocol::Dialect;
using protocol::ProxyStatus;
using protocol::Reply;
using protocol::Request;
using protocol::RequestType;

// A sqlite query that takes a while (tens of milliseconds): its answers
// complete on a pool worker, after the static: answers queued behind it.
constexpr const char* kSlowQuery =
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000) "
    "SELECT '%s-slow' FROM c WHERE x = 200000";

class Serving : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("proxyd_serving_test_{}_{}", getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "t.db");  // an empty file is an empty sqlite database
    std::ofstream(dir_ / "slow.cf") << "dbpath = " << (dir_ / "t.db").string() << "\n"
                                    << "query = " << kSlowQuery << "\n";
    std::ofstream(dir_ / "proxyd.cf") << "postfix_version = 3.7.11\n";
    write_main_cf("static:old");
  }

  void TearDown() override {
    if (thread_.joinable()) {
      loop_.post([this] { loop_.stop(); });
      thread_.join();
    }
    server_.reset();
    service_.reset();
    fs::remove_all(dir_);
  }

  std::string slow_table() const { return "sqlite:" + (dir_ / "slow.cf").string(); }

  void write_main_cf(const std::string& static_table) {
    std::ofstream(dir_ / "main.cf") << "compatibility_level = 3.6\n"
                                    << "proxy_read_maps = proxy:" << static_table
                                    << " proxy:" << slow_table() << "\n";
  }

  // Load the configuration, listen, run the loop on its own thread.
  void start(ConnectionLimits limits = {}) {
    service_ = std::make_unique<Service>(log_, loop_);
    Settings settings = load_settings(dir_, log_);
    auto gen = service_->make_generation(load_main_cf(source(), log_), settings);
    gen->preopen();
    service_->set_generation(std::move(gen));
    server_ = std::make_unique<Server>(loop_, *service_, log_, limits);
    server_->add_listener(make_unix_listener(socket_path(), 64), Role::ReadOnly,
                          "proxymap");
    before_run();
    thread_ = std::thread([this] { loop_.run(); });
  }

  // Called on the test thread before the loop runs (loop objects may be
  // created there then).
  virtual void before_run() {}

  ConfigSource source() const { return ConfigSource{dir_.string(), {}}; }
  std::string socket_path() const { return (dir_ / "proxymap").string(); }

  // Run fn on the loop thread and wait for its result.
  template <typename Fn>
  auto on_loop(Fn fn) {
    using R = decltype(fn());
    auto task = std::make_shared<std::packaged_task<R()>>(std::move(fn));
    std::future<R> result = task->get_future();
    loop_.post([task] { (*task)(); });
    return result.get();
  }

  static std::string lookup_bytes(const std::string& table, const std::string& key) {
    Request r;
    r.type = RequestType::Lookup;
    r.dialect = Dialect::V1;
    r.table = table;
    r.key = key;
    return protocol::encode_request(r);
  }

  // One lookup in the 3.11 layout (instance_flags) on a new connection.
  Reply v2_lookup(const std::string& table, uint32_t instance_flags,
                  const std::string& key) const {
    protocol::Client client(socket_path(), 20s);
    Request r;
    r.type = RequestType::Lookup;
    r.dialect = Dialect::V2;
    r.table = table;
    r.instance_flags = instance_flags;
    r.key = key;
    client.send_raw(protocol::encode_request(r));
    protocol::AttrList attrs = client.read_message();
    Reply reply;
    std::string error;
    EXPECT_TRUE(
        protocol::parse_reply(RequestType::Lookup, Dialect::V2, attrs, reply, error))
        << error;
    return reply;
  }

  static Reply read_reply(protocol::Client& client) {
    protocol::AttrList attrs = client.read_message();
    Reply reply;
    std::string error;
    EXPECT_TRUE(
        protocol::parse_reply(RequestType::Lookup, Dialect::V1, attrs, reply, error))
        << error;
    return reply;
  }

  fs::path dir_;
  dict::testing::CaptureLogger log_;
  EventLoop loop_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
};

TEST_F(Serving, PipelinedRepliesKeepRequestOrder) {
  start();
  protocol::Client client(socket_path(), 20s);
  // slow, fast, slow, fast ... in one write: the static: answers are ready
  // long before the sqlite ones, yet every reply comes in request order.
  std::string batch;
  std::vector<std::string> want;
  for (int i = 0; i < 6; ++i) {
    const std::string key = fmt::format("k{}", i);
    if (i % 2 == 0) {
      batch += lookup_bytes(slow_table(), key);
      want.push_back(key + "-slow");
    } else {
      batch += lookup_bytes("static:old", key);
      want.push_back("old");
    }
  }
  client.send_raw(batch);
  for (const std::string& value : want) {
    EXPECT_EQ(read_reply(client), (Reply{ProxyStatus::Ok, 0, "", value}));
  }
}

class FlowControl : public Serving {
 protected:
  void before_run() override {
    sampler_ = std::make_unique<Timer>(loop_.base(), [this] {
      peak_ = std::max(peak_, server_->in_flight());
      sampler_->arm(0.0005);
    });
    sampler_->arm(0.0);
  }
  void TearDown() override {
    Serving::TearDown();
    sampler_.reset();
  }
  std::unique_ptr<Timer> sampler_;
  std::size_t peak_ = 0;  // loop thread; read after the replies
};

TEST_F(FlowControl, ReadsPauseAtMaxInFlight) {
  ConnectionLimits limits;
  limits.max_in_flight = 2;
  start(limits);
  protocol::Client client(socket_path(), 20s);
  std::string batch;
  constexpr int kRequests = 8;
  for (int i = 0; i < kRequests; ++i)
    batch += lookup_bytes(slow_table(), fmt::format("k{}", i));
  client.send_raw(batch);
  for (int i = 0; i < kRequests; ++i) {
    EXPECT_EQ(read_reply(client).value, fmt::format("k{}-slow", i));
  }
  const std::size_t peak = on_loop([this] { return peak_; });
  std::printf(
      "[ figures  ] %d pipelined requests, max_in_flight 2: at most %zu in flight\n",
      kRequests, peak);
  EXPECT_GE(peak, 1u);  // the sampler saw the work
  EXPECT_LE(peak, 2u);  // never more read than max_in_flight
}

// tls_server_sni_maps is read with the allowlist's own walk, so a table
// named inside unionmap:{...} gets its pre-opened SRC_RHS_IS_FILE variant
// too (the instance Postfix's SNI lookups use), and answers after its file
// is gone.
TEST_F(Serving, SniVariantIsPreopenedForTablesInsideUnionmap) {
  const std::string table = "texthash:" + (dir_ / "sni").string();
  std::ofstream(dir_ / "sni") << "example.com " << (dir_ / "chain.pem").string() << "\n";
  std::ofstream(dir_ / "chain.pem") << "hello";
  std::ofstream(dir_ / "main.cf")
      << "compatibility_level = 3.6\n"
      << "proxy_read_maps = proxy:" << table << "\n"
      << "tls_server_sni_maps = unionmap:{proxy:" << table << "}\n";
  start();
  fs::remove(dir_ / "sni");
  fs::remove(dir_ / "chain.pem");
  namespace pf = protocol::flags;
  Reply reply =
      v2_lookup(table, pf::kLock | pf::kFoldFix | pf::kSrcRhsIsFile, "example.com");
  EXPECT_EQ(reply.status, ProxyStatus::Ok);
  EXPECT_EQ(reply.value, "aGVsbG8=");  // base64("hello")
}

TEST_F(Serving, StalledRequestIsClosedAfterRequestTimeoutAndOthersAreServed) {
  ConnectionLimits limits;
  limits.request_timeout = 0.2;
  start(limits);
  protocol::Client stalled(socket_path(), 20s);
  const std::string half = lookup_bytes("static:old", "k");
  stalled.send_raw(std::string_view(half).substr(0, half.size() / 2));
  protocol::Client other(socket_path(), 20s);
  other.send_raw(lookup_bytes("static:old", "k"));
  EXPECT_EQ(read_reply(other).value, "old");
  EXPECT_TRUE(stalled.peer_closed(10s));  // closed by the timer, not by us
  EXPECT_TRUE(log_.contains("timeout")) << "the close is logged";
  // A client that sends a whole request in time is not affected.
  other.send_raw(lookup_bytes("static:old", "k2"));
  EXPECT_EQ(read_reply(other).value, "old");
}

TEST_F(Serving, ReloadHandsOverWhileARequestIsInFlight) {
  start();
  protocol::Client early(socket_path(), 20s);
  EXPECT_EQ(early.lookup(Dialect::V1, "static:old", 0, 0, "k").value, "old");
  // A slow lookup in flight on the old generation while the reload lands.
  early.send_raw(lookup_bytes(slow_table(), "inflight"));
  write_main_cf("static:new");
  const std::string answer =
      on_loop([this] { return reload(*service_, source(), log_); });
  EXPECT_EQ(answer.rfind("ok: ", 0), 0u) << answer;
  EXPECT_EQ(read_reply(early), (Reply{ProxyStatus::Ok, 0, "", "inflight-slow"}));
  // New requests, on the old connection and a new one, see the new lists.
  EXPECT_EQ(early.lookup(Dialect::V1, "static:new", 0, 0, "k").value, "new");
  EXPECT_EQ(early.lookup(Dialect::V1, "static:old", 0, 0, "k").status, ProxyStatus::Deny);
  protocol::Client late(socket_path(), 20s);
  EXPECT_EQ(late.lookup(Dialect::V1, "static:new", 0, 0, "k").value, "new");
  // A broken configuration is refused and the running one keeps serving.
  std::ofstream(dir_ / "proxyd.cf") << "max_sessions = many\n";
  const std::string refused =
      on_loop([this] { return reload(*service_, source(), log_); });
  EXPECT_EQ(refused.rfind("error: ", 0), 0u) << refused;
  EXPECT_EQ(late.lookup(Dialect::V1, "static:new", 0, 0, "k").value, "new");
}

// Issue 13 (instance flags): preopen() opens, besides the daemons'
// instance, the variants Postfix's own programs use (no folding: postmap -f
// and match lists), so those answer after the file is gone (as after a
// chroot would hide it). A variant nobody pre-opens is opened on first use
// and then finds no file: the control that shows the pre-opening matters.
TEST_F(Serving, PreopenOpensTheInstanceVariantsPostfixUses) {
  const std::string table = "texthash:" + (dir_ / "th").string();
  std::ofstream(dir_ / "th") << "MixedKey from-file\n";
  std::ofstream(dir_ / "main.cf") << "compatibility_level = 3.6\n"
                                  << "proxy_read_maps = proxy:" << table << "\n";
  start();
  fs::remove(dir_ / "th");
  auto lookup = [&](uint32_t instance_flags, const std::string& key) {
    return v2_lookup(table, instance_flags, key);
  };
  namespace pf = protocol::flags;
  // The daemons' instance (stored keys folded) and the unfolded variant.
  EXPECT_EQ(lookup(pf::kFoldFix | pf::kUtf8Request, "mixedkey").value, "from-file");
  EXPECT_EQ(lookup(0, "MixedKey").value, "from-file");
  EXPECT_EQ(lookup(pf::kUtf8Request | pf::kLock, "MixedKey").value, "from-file");
  // Not a pre-opened variant: opened now, the file is gone.
  Reply late = lookup(pf::kSrcRhsIsFile, "MixedKey");
  EXPECT_NE(late.status, ProxyStatus::Ok);
  EXPECT_EQ(late.value, "");
}

TEST_F(Serving, PreopenOpensTheSniVariantOfTablesInSniMaps) {
  // tls_server_sni_maps opens its tables with SRC_RHS_IS_FILE (values name
  // certificate files, read before chroot): pre-opened for a table listed
  // there, not for one that is not (the control).
  const std::string sni = "texthash:" + (dir_ / "sni").string();
  const std::string plain = "texthash:" + (dir_ / "plain").string();
  std::ofstream(dir_ / "cert") << "CERT\n";
  std::ofstream(dir_ / "sni") << "mail.example " << (dir_ / "cert").string() << "\n";
  std::ofstream(dir_ / "plain") << "mail.example " << (dir_ / "cert").string() << "\n";
  std::ofstream(dir_ / "main.cf")
      << "compatibility_level = 3.6\n"
      << "tls_server_sni_maps = proxy:" << sni << "\n"
      << "proxy_read_maps = proxy:" << sni << " proxy:" << plain << "\n";
  start();
  fs::remove(dir_ / "sni");
  fs::remove(dir_ / "plain");
  fs::remove(dir_ / "cert");
  auto lookup = [&](const std::string& table) {
    return v2_lookup(table,
                     protocol::flags::kLock | protocol::flags::kFoldFix |
                         protocol::flags::kSrcRhsIsFile,
                     "mail.example");
  };
  Reply got = lookup(sni);
  EXPECT_EQ(got.status, ProxyStatus::Ok);
  EXPECT_EQ(got.value, "Q0VSVAo=");  // base64 of "CERT\n"
  EXPECT_NE(lookup(plain).status, ProxyStatus::Ok);
}

}  // namespace
}  // namespace proxyd::daemon
