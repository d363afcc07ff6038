// Shared SQL session pools: one pool per database identity (driver, hosts,
// credentials, database, options), each with a bounded number of sessions,
// each session owned by one worker thread. Loop-thread API; workers hand
// results back through the Poster. Replaces the one-connection-per-process
// model of Postfix's dict_mysql/dict_pgsql/dict_sqlite with the same
// per-lookup failover semantics (see session_hosts.h).
//
//   loop thread                    SessionPool (one per identity)
//   SqlTable::lookup ──submit──▶  [bounded FIFO of PoolJob] ──▶ worker 1 ─ session ─▶ host A
//        ▲                                                   ──▶ worker 2 ─ session ─▶ host B
//        └──── Poster::post(done(result)) ◀──────────────────── (≤ max_sessions workers)
//                                   HostSet: host states shared by all workers
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "dictcore/logger.h"
#include "dictcore/poster.h"
#include "dictcore/session.h"
#include "dictcore/table.h"

namespace proxyd::dict {

// Pool limits (proxyd.cf). Defaults are used when nothing is configured.
struct PoolSettings {
  int max_sessions = 4;         // sessions (and worker threads) per database identity
  std::size_t max_queue = 4096;  // queued jobs per pool; beyond that RETRY at once
};

// What one attempt of a job reports back to the pool.
struct Attempt {
  bool host_failed = false;  // mark the session's host down, retry on another
  LookupResult result;       // the answer when !host_failed
};

// One unit of work: run on a connected session, answer on the loop thread.
// TODO(sql): per-request deadline, client generation id and coalescing of
// identical lookups attach here.
struct PoolJob {
  // Called on a worker with a connected session; may be called again with
  // another session after host_failed. Exceptions count as RETRY.
  std::function<Attempt(SqlSession&)> attempt;
  // Receives the result on the loop thread (through the Poster).
  LookupDone done;
};

// Sessions, workers and the job queue for one database identity.
class SessionPool {
 public:
  // duplicate_single_host: see HostSet. Workers start lazily on demand.
  SessionPool(std::string label, std::unique_ptr<SqlDriver> driver, std::vector<HostSpec> hosts,
              bool duplicate_single_host, std::chrono::seconds retry_interval,
              std::chrono::seconds idle_interval, PoolSettings settings, Poster& poster,
              Logger& log);
  ~SessionPool();
  SessionPool(const SessionPool&) = delete;
  SessionPool& operator=(const SessionPool&) = delete;

  // Queue a job (any thread). When the queue is full or the pool is shut
  // down, done receives RETRY (posted, never inline).
  void submit(PoolJob job);

  // Stop workers after their current job; queued jobs complete with RETRY.
  void shutdown();

  // True when the driver answers with every column (mysql/pgsql).
  bool all_columns() const;

  // Loggable identity (no password).
  const std::string& label() const;

  // Observability (tests, future stats): live workers, open sessions, queue.
  int worker_count() const;
  int open_sessions() const;
  std::size_t queued() const;
  int peak_open_sessions() const;

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
  // factory (default: make_driver). Null when no driver is available.
  SessionPoolPtr pool_for(const ConnectParams& params, const DriverFactory& factory = {});

  // Number of pools created.
  std::size_t size() const;

  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace proxyd::dict
