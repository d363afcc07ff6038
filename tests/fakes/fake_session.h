// Test seams for SQL tables and pools: a scriptable fake driver/session
// (per-host connect failures, scripted query results, visible quoting,
// optional blocking to hold workers busy) and a queued poster that runs
// completions on the test thread; brings in CaptureLogger for its users.
// Thread-safe where the pool's workers call in.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "dictcore/pool/session.h"
#include "dictcore/pool/session_batch.h"
#include "dictcore/util/logger.h"
#include "dictcore/util/poster.h"
#include "tests/fakes/capture_logger.h"

namespace proxyd::dict::testing {

// Poster that queues completions until the test thread runs them.
class QueuedPoster final : public Poster {
 public:
  void post(std::function<void()> fn) override {
    {
      std::lock_guard lock(mu_);
      queue_.push_back(std::move(fn));
    }
    cv_.notify_all();
  }
  // Run queued completions until done() is true or the timeout passes.
  bool run_while_not(const std::function<bool()>& done,
                     std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      std::vector<std::function<void()>> batch;
      {
        std::unique_lock lock(mu_);
        if (!cv_.wait_until(lock, deadline, [&] { return !queue_.empty(); }))
          return false;
        batch.swap(queue_);
      }
      for (auto& fn : batch) fn();
      std::lock_guard lock(mu_);
      ran_ += static_cast<int>(batch.size());
    }
    return true;
  }

  // Run queued completions on this thread until n have run in total or the
  // timeout passes; returns the total run so far.
  int run_until(int n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      std::vector<std::function<void()>> batch;
      {
        std::unique_lock lock(mu_);
        cv_.wait_until(lock, deadline, [&] { return !queue_.empty() || ran_ >= n; });
        if (queue_.empty()) {
          if (ran_ >= n || std::chrono::steady_clock::now() >= deadline) return ran_;
          continue;
        }
        batch.swap(queue_);
      }
      for (auto& fn : batch) fn();
      std::lock_guard lock(mu_);
      ran_ += static_cast<int>(batch.size());
    }
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::function<void()>> queue_;
  int ran_ = 0;
};

// Scripted database shared by a FakeDriver and its sessions.
struct FakeDb {
  // Answer for (host text, sql). Called on worker threads.
  std::function<QueryResult(const std::string& host, const std::string& sql)> on_query =
      [](const std::string&, const std::string&) {
        return QueryResult{QueryStatus::Rows, {}, {}, {}};
      };
  bool all_columns = true;
  // Offer batching sessions (connect_batching); their batches are recorded
  // as "host|batch:N" before the statements.
  bool batching = false;
  // Escaping: wrap in [] and double single quotes, so tests see where it ran.
  bool bracket_escape = true;

  std::mutex mu;
  std::set<std::string> refuse_connect;  // host texts whose connect fails
  std::set<std::string> fail_escape;     // host texts whose escape fails
  std::set<std::string> bad_keys;        // texts no session can escape
  std::string escape_failure;            // what escape_failure() says after one
  std::set<std::string> unusable;        // host texts whose sessions report !usable()
  std::vector<std::string> queries;      // "host|sql" in order
  std::atomic<int> connects{0};
  std::atomic<int> batching_connects{0};
  std::atomic<int> live{0};
  std::atomic<int> peak_live{0};
  std::atomic<int> in_query{0};
  std::atomic<int> peak_in_query{0};
};

class FakeSession final : public SqlSession {
 public:
  FakeSession(FakeDb& db, std::string host, bool batching = false)
      : db_(db), host_(std::move(host)), batching_(batching) {
    int now = ++db_.live;
    int peak = db_.peak_live.load();
    while (now > peak && !db_.peak_live.compare_exchange_weak(peak, now)) {
    }
  }
  ~FakeSession() override { --db_.live; }

  bool escape(std::string_view text, std::string& out) override {
    {
      std::lock_guard lock(db_.mu);
      if (db_.fail_escape.count(host_) || db_.bad_keys.count(std::string(text)))
        return false;
    }
    if (db_.bracket_escape) out.push_back('[');
    for (char c : text) {
      out.push_back(c);
      if (c == '\'') out.push_back('\'');
    }
    if (db_.bracket_escape) out.push_back(']');
    return true;
  }

  std::string escape_failure() const override {
    std::lock_guard lock(db_.mu);
    return db_.escape_failure;
  }

  bool usable() const override {
    std::lock_guard lock(db_.mu);
    return db_.unusable.count(host_) == 0;
  }

  QueryResult query(const std::string& sql) override {
    // Like the mysql driver: a batching session never runs a text that
    // could be several statements.
    if (batching_ && !single_statement_text(sql)) {
      return QueryResult{QueryStatus::NeedsSingle, {}, {}, {}};
    }
    {
      std::lock_guard lock(db_.mu);
      db_.queries.push_back(host_ + "|" + sql);
    }
    int now = ++db_.in_query;
    int peak = db_.peak_in_query.load();
    while (now > peak && !db_.peak_in_query.compare_exchange_weak(peak, now)) {
    }
    QueryResult r = db_.on_query(host_, sql);
    --db_.in_query;
    return r;
  }

  bool batching() const override { return batching_; }
  bool can_batch(const std::string& sql) const override {
    return batching_ && single_select_statement(sql);
  }
  BatchResult query_batch(const std::vector<std::string>& sqls) override {
    {
      std::lock_guard lock(db_.mu);
      db_.queries.push_back(host_ + "|batch:" + std::to_string(sqls.size()));
    }
    return SqlSession::query_batch(sqls);  // each statement through query()
  }

 private:
  FakeDb& db_;
  std::string host_;
  bool batching_;
};

class FakeDriver final : public SqlDriver {
 public:
  explicit FakeDriver(FakeDb& db) : db_(db) {}
  ConnectResult connect(const HostSpec& host) override { return open(host, false); }
  bool supports_batching() const override { return db_.batching; }
  ConnectResult connect_batching(const HostSpec& host) override {
    return open(host, true);
  }
  bool all_columns() const override { return db_.all_columns; }

 private:
  ConnectResult open(const HostSpec& host, bool batching) {
    ++db_.connects;
    {
      std::lock_guard lock(db_.mu);
      if (db_.refuse_connect.count(host.text)) return ConnectResult{nullptr, "refused"};
    }
    if (batching) ++db_.batching_connects;
    return ConnectResult{std::make_unique<FakeSession>(db_, host.text, batching), {}};
  }

  FakeDb& db_;
};

// Rows helper: each inner list is one row; nullptr means SQL NULL.
inline QueryResult rows(std::vector<std::vector<const char*>> table) {
  QueryResult r{QueryStatus::Rows, {}, {}, {}};
  for (const auto& row : table) {
    SqlRow out;
    for (const char* cell : row) {
      if (cell == nullptr) {
        out.emplace_back(std::nullopt);
      } else {
        out.emplace_back(std::string(cell));
      }
    }
    r.rows.push_back(std::move(out));
  }
  return r;
}

}  // namespace proxyd::dict::testing
