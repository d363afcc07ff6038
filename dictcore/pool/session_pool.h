// Shared SQL session pools: one pool per database identity (driver, hosts,
// credentials, database, options), each with a bounded number of sessions,
// each session owned by one worker thread. Loop-thread API; workers hand
// results back through the Poster. Replaces the one-connection-per-process
// model of Postfix's dict_mysql/dict_pgsql/dict_sqlite with the same
// per-lookup failover semantics (see session_hosts.h).
//
//   loop thread                    SessionPool (one per identity)
//   SqlTable::lookup ──submit──▶  [bounded FIFO of PoolJob] ──▶ worker 1 ─ session ─▶
//   host A
//        ▲                                                   ──▶ worker 2 ─ session ─▶
//        host B └──── Poster::post(done(result)) ◀──────────────────── (≤ max_sessions
//        workers)
//                                   HostSet: host states shared by all workers
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dictcore/pool/pool_clock.h"
#include "dictcore/pool/session.h"
#include "dictcore/tables/table.h"
#include "dictcore/util/counters.h"
#include "dictcore/util/logger.h"
#include "dictcore/util/poster.h"

namespace proxyd::dict {

// Pool limits (proxyd.cf). Defaults are used when nothing is configured.
struct PoolSettings {
  int max_sessions = 4;          // sessions (and worker threads) per database identity
  std::size_t max_queue = 4096;  // queued jobs per pool; beyond that RETRY at once
  int max_batch = 16;            // lookups per round trip on batching drivers; 1 = off
  // Seconds between reconnect attempts to a host that is down (one probe
  // thread per host): the first that connects makes the host usable again
  // before retry_interval is over. 0 = wait out retry_interval (Postfix).
  int probe_interval = 1;
  // Let the loop thread run a lookup itself on one of the sessions when
  // nothing is queued (drivers with asynchronous queries: pgsql, mysql; needs a
  // Poster that watches descriptors and max_sessions >= 2): no thread
  // hand-off for a lone lookup. Never blocks the loop.
  bool loop_queries = true;
};

// A snapshot of one pool's counters (stats command, tests); the fields come
// from PROXYD_POOL_GAUGES and PROXYD_POOL_COUNTERS (counters.h).
#define PROXYD_FIELD(type, field, kind, family, label, help) type field = 0;
// The counters a pool increments (kept in its state under its lock).
struct PoolCounters {
  PROXYD_POOL_COUNTERS(PROXYD_FIELD)
};

struct PoolStats {
  std::string label;  // identity without password
  PROXYD_POOL_GAUGES(PROXYD_FIELD)
  PROXYD_POOL_COUNTERS(PROXYD_FIELD)
};
#undef PROXYD_FIELD

// What one attempt of a job reports back to the pool.
struct Attempt {
  bool host_failed = false;  // mark the session's host down, retry on another
  LookupResult result;       // the answer when !host_failed and !needs_single
  // The statement may not run on a batching session (QueryStatus::
  // NeedsSingle): reconnect without batching and attempt again.
  bool needs_single = false;
};

// A job's statement, built on a live session (quoting needs one).
struct Prepared {
  std::optional<Attempt> answer;  // set: nothing to run, this is the outcome
  std::string sql;                // otherwise: the statement
};

// The worker-side part of one job.
class JobWork {
 public:
  virtual ~JobWork() = default;
  // One whole attempt on a connected session; may be called again with
  // another session after host_failed or needs_single. Exceptions count
  // as RETRY.
  virtual Attempt attempt(SqlSession& session) = 0;
  // Jobs that can share a round trip with others split the attempt in two:
  // prepare builds the statement, finish turns its result set into the
  // outcome. attempt(s) must equal finish(s.query(prepare(s).sql)).
  virtual bool splits() const { return false; }
  // Jobs share a round trip only with jobs of the same group (a table):
  // one table's slow query must not hold another table's lookups hostage.
  virtual const void* batch_group() const { return nullptr; }
  virtual Prepared prepare(SqlSession& /*session*/) { return {}; }
  virtual Attempt finish(QueryResult /*result*/) { return {}; }
};

// JobWork from a single attempt function (tests, simple callers).
std::unique_ptr<JobWork> attempt_work(std::function<Attempt(SqlSession&)> attempt);

// One unit of work: run on a connected session, answer on the loop thread.
// Coalescing of identical lookups and caching happen before a job exists
// (see table_front.h); a job is always one query to run.
struct PoolJob {
  using Clock = std::chrono::steady_clock;
  // Runs on a worker with a connected session.
  std::unique_ptr<JobWork> work;
  // Receives the result on the loop thread (through the Poster).
  LookupDone done;
  // A job still queued at its deadline is answered RETRY without running.
  Clock::time_point deadline = Clock::time_point::max();
};

// Sessions, workers and the job queue for one database identity.
class SessionPool {
 public:
  // duplicate_single_host: see HostSet. Workers start lazily on demand.
  // clock: the pool's time source (null: the real one; tests: a manual one).
  SessionPool(std::string label, std::unique_ptr<SqlDriver> driver,
              std::vector<HostSpec> hosts, bool duplicate_single_host,
              std::chrono::seconds retry_interval, std::chrono::seconds idle_interval,
              PoolSettings settings, Poster& poster, Logger& log,
              std::shared_ptr<PoolClock> clock = nullptr);
  ~SessionPool();
  SessionPool(const SessionPool&) = delete;
  SessionPool& operator=(const SessionPool&) = delete;

  // Queue a job (any thread). When the queue is full or the pool is shut
  // down, done receives RETRY (posted, never inline). On the poster's own
  // thread a job may instead be sent on the loop session (loop_queries);
  // its done then runs from the poster's loop too, never inside submit.
  void submit(PoolJob job);

  // Stop workers after their current job; queued jobs complete with RETRY.
  void shutdown();

  // True when the driver answers with every column (mysql/pgsql).
  bool all_columns() const;

  // Connect to host with this pool's driver, outside the workers, and
  // return the session (sqlite: the database open at table open).
  ConnectResult connect_once(const HostSpec& host);

  // Loggable identity (no password).
  const std::string& label() const;

  // Change the limits (reload). Fewer sessions: extra workers exit after
  // their current job.
  void update_settings(PoolSettings settings);

  // Counters for the stats command.
  PoolStats stats() const;

  // Observability (tests): live workers, open sessions, queue.
  int worker_count() const;
  // Worker threads not yet joined: live ones, and finished ones until the
  // next worker starts.
  std::size_t thread_count() const;
  int open_sessions() const;
  std::size_t queued() const;
  // Lookups the loop thread answered itself (loop_queries).
  uint64_t loop_answered() const;

  // Queue, workers and host state shared with the worker threads.
  struct State;

 private:
  std::unique_ptr<State> state_;
};

using SessionPoolPtr = std::shared_ptr<SessionPool>;

// Builds a driver for a new pool; returns null when the driver is missing.
using DriverFactory = std::function<std::unique_ptr<SqlDriver>(const ConnectParams&)>;

// All pools of one configuration generation.
class PoolSet {
 public:
  PoolSet(PoolSettings settings, Poster& poster, Logger& log);
  ~PoolSet();
  PoolSet(const PoolSet&) = delete;
  PoolSet& operator=(const PoolSet&) = delete;

  // Stop all workers after their current job; queued jobs complete with RETRY.
  void shutdown();

  // The pool for params' identity, created on first use with a driver from
  // factory (the layers above pass make_driver, dictcore/pool/drivers).
  // Null when factory is empty or makes no driver.
  SessionPoolPtr pool_for(const ConnectParams& params, const DriverFactory& factory);

  // Number of pools created.
  std::size_t size() const;

  // New limits for every pool, present and future (reload).
  void update_settings(PoolSettings settings);

  // Counters of every pool, by label.
  std::vector<PoolStats> stats() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace proxyd::dict
