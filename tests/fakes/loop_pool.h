// Test helpers for asynchronous statements and the pool's loop session
// (loop_queries), shared by the mysql and pgsql driver tests: a Poster whose
// loop runs on the test thread and watches descriptors like proxyd's
// EventLoop, a lookup job answering a statement's first value, and a pool
// of one driver on that poster. Test thread only.
#pragma once

#include <gtest/gtest.h>
#include <poll.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "dictcore/pool/session.h"
#include "dictcore/pool/session_pool.h"
#include "dictcore/util/poster.h"
#include "tests/fakes/capture_logger.h"

namespace proxyd::dict::testing {

// Send sql with send_query and poll read_query until the answer (10 s).
inline QueryResult async_query(SqlSession& s, const std::string& sql) {
  EXPECT_GE(s.async_socket(), 0);
  if (!s.send_query(sql))
    return QueryResult{QueryStatus::NeedsSingle, {}, "not sent", {}};
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{s.async_socket(), POLLIN, 0};
    poll(&p, 1, 100);
    if (std::optional<QueryResult> r = s.read_query()) return std::move(*r);
  }
  ADD_FAILURE() << sql << ": no answer in 10 s";
  return {};
}

// A poster with a loop on the test thread: posted functions and watched
// descriptors, like proxyd's EventLoop.
class LoopPoster final : public Poster {
 public:
  void post(std::function<void()> fn) override {
    std::lock_guard lock(mu_);
    posted_.push_back(std::move(fn));
  }
  bool on_owner_thread() const override { return std::this_thread::get_id() == owner_; }
  std::unique_ptr<FdWatch> watch_readable(int fd, std::function<void()> fn) override {
    ++watches_made;
    return std::make_unique<Watch>(*this, fd, std::move(fn));
  }
  // Run the loop until done() or timeout; false on timeout.
  bool run_while_not(const std::function<bool()>& done,
                     std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::vector<std::function<void()>> batch;
      {
        std::lock_guard lock(mu_);
        batch.swap(posted_);
      }
      for (auto& fn : batch) fn();
      std::vector<pollfd> fds;
      for (auto& [w, fn] : watched_) fds.push_back(pollfd{w->fd, POLLIN, 0});
      poll(fds.data(), fds.size(), 5);
      for (const pollfd& p : fds) {
        if ((p.revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
        for (auto& [w, fn] : watched_) {
          if (w->fd != p.fd) continue;
          auto copy = fn;  // fn may drop its watch
          copy();
          break;
        }
      }
    }
    return true;
  }
  int watches_made = 0;

 private:
  struct Watch final : FdWatch {
    Watch(LoopPoster& l, int f, std::function<void()> fn) : loop(l), fd(f) {
      loop.watched_.emplace_back(this, std::move(fn));
    }
    ~Watch() override {
      std::erase_if(loop.watched_, [this](const auto& e) { return e.first == this; });
    }
    LoopPoster& loop;
    int fd;
  };
  std::thread::id owner_ = std::this_thread::get_id();
  std::mutex mu_;
  std::vector<std::function<void()>> posted_;
  std::vector<std::pair<Watch*, std::function<void()>>> watched_;
};

// A lookup job: its statement's first value is the answer, a host error
// fails the host, any other error is RETRY. Jobs given the same group may
// share a batch (pipeline); without one each job is its own group.
class ValueJob final : public JobWork {
 public:
  explicit ValueJob(std::string sql, const void* group = nullptr)
      : sql_(std::move(sql)), group_(group) {}
  bool splits() const override { return true; }
  const void* batch_group() const override { return group_ ? group_ : this; }
  Attempt attempt(SqlSession& session) override { return finish(session.query(sql_)); }
  Prepared prepare(SqlSession& /*session*/) override {
    return Prepared{std::nullopt, sql_};
  }
  Attempt finish(QueryResult r) override {
    if (r.status == QueryStatus::HostError) return Attempt{true, {}};
    if (r.status != QueryStatus::Rows) return Attempt{false, {ProxyStatus::Retry, {}}};
    if (r.rows.empty()) return Attempt{false, {ProxyStatus::NoKey, {}}};
    return Attempt{false, {ProxyStatus::Ok, r.rows[0][0].value_or("")}};
  }

 private:
  std::string sql_;
  const void* group_;
};

struct LoopPool {
  LoopPoster poster;
  testing::CaptureLogger log;
  SessionPool pool;
  std::map<std::string, LookupResult> got;
  LoopPool(std::unique_ptr<SqlDriver> driver, HostSpec host, bool loop_queries,
           int max_sessions = 4)
      : pool("sql:test", std::move(driver), {std::move(host)}, true,
             std::chrono::seconds(60), std::chrono::seconds(60),
             PoolSettings{max_sessions, 4096, 16, 0, loop_queries}, poster, log) {}
  void submit(const std::string& name, const std::string& sql) {
    pool.submit(PoolJob{std::make_unique<ValueJob>(sql),
                        [this, name](LookupResult r) { got[name] = std::move(r); }});
  }
  bool wait_for(const std::string& name,
                std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    return poster.run_while_not([&] { return got.count(name) > 0; }, timeout);
  }
};

}  // namespace proxyd::dict::testing
