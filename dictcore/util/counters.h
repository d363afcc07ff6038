// The one definition of every table and pool counter. Each X-macro list
// below generates the struct fields (table_stats.h, session_pool.h), the
// copy out of a pool, the `proxyd stats` text, the JSON and the Prometheus
// output (proxyd/stats_render.cpp): adding a counter is one line here.
//
// X(type, field, kind, family, label, help)
//   type    C++ type of the field
//   field   struct member and key in `proxyd stats` text and JSON
//   kind    Counter (only grows) or Gauge (goes up and down)
//   family  Prometheus metric name without the "proxyd_" prefix; fields
//           that share a family differ by label
//   label   extra Prometheus label `name="value"`, or "" for none
//   help    the Prometheus HELP text and the meaning documented in proxyd(8)
//
// The order of each list is the order of the `proxyd stats` fields.
#pragma once

// Per table (label table="TYPE:NAME"), kept across reloads; loop thread.
#define PROXYD_TABLE_COUNTERS(X)                                                   \
  X(uint64_t, requests, Counter, "table_requests_total", "",                       \
    "Lookups received for the table")                                              \
  X(uint64_t, ok, Counter, "table_lookups_total", "result=\"ok\"",                 \
    "Lookups answered, by result (ok, notfound, retry, failed)")                   \
  X(uint64_t, notfound, Counter, "table_lookups_total", "result=\"notfound\"", "") \
  X(uint64_t, retry, Counter, "table_lookups_total", "result=\"retry\"", "")       \
  X(uint64_t, failed, Counter, "table_lookups_total", "result=\"failed\"", "")     \
  X(uint64_t, cache_hits, Counter, "table_cache_hits_total", "",                   \
    "Lookups answered from the answer cache")                                      \
  X(uint64_t, coalesced, Counter, "table_coalesced_total", "",                     \
    "Lookups that joined an identical lookup already in flight")                   \
  X(uint64_t, timeouts, Counter, "table_timeouts_total", "",                       \
    "Lookups answered RETRY because lookup_timeout passed")                        \
  X(uint64_t, queries, Counter, "table_queries_total", "",                         \
    "Lookups passed to the table after the cache and coalescing")

// Per SQL pool (label pool="IDENTITY", no password): values read from the
// pool's live state when the snapshot is taken.
#define PROXYD_POOL_GAUGES(X)                                                            \
  X(int, sessions_open, Gauge, "pool_sessions_open", "",                                 \
    "Database sessions connected now")                                                   \
  X(int, sessions_busy, Gauge, "pool_sessions_busy", "", "Sessions running a query now") \
  X(int, sessions_peak, Gauge, "pool_sessions_peak", "",                                 \
    "Most sessions open at once since start")                                            \
  X(int, max_sessions, Gauge, "pool_sessions_max", "",                                   \
    "Configured bound on sessions (max_sessions)")                                       \
  X(std::size_t, queued, Gauge, "pool_queue_depth", "",                                  \
    "Lookups waiting for a session now")                                                 \
  X(std::size_t, queue_peak, Gauge, "pool_queue_peak", "",                               \
    "Most lookups waiting at once since start")

// Per SQL pool: counters the pool increments.
#define PROXYD_POOL_COUNTERS(X)                                                         \
  X(uint64_t, jobs, Counter, "pool_jobs_total", "", "Queries run on a session")         \
  X(uint64_t, rejected, Counter, "pool_rejected_total", "",                             \
    "Lookups answered RETRY at once because the queue was full (max_queue)")            \
  X(uint64_t, expired, Counter, "pool_expired_total", "",                               \
    "Lookups answered RETRY because their deadline passed in the queue")                \
  X(uint64_t, connects, Counter, "pool_connects_total", "", "Database sessions opened") \
  X(uint64_t, connect_failures, Counter, "pool_connect_failures_total", "",             \
    "Failed connection attempts")                                                       \
  X(uint64_t, retried, Counter, "pool_retried_total", "",                               \
    "Reads retried on a fresh session after a broken one")                              \
  X(uint64_t, batches, Counter, "pool_batches_total", "",                               \
    "Round trips that carried more than one lookup")                                    \
  X(uint64_t, batched, Counter, "pool_batched_lookups_total", "",                       \
    "Lookups answered by those round trips")                                            \
  X(uint64_t, probes, Counter, "pool_probes_total", "",                                 \
    "Reconnect attempts to database hosts that were down")                              \
  X(uint64_t, revived, Counter, "pool_revived_total", "",                               \
    "Database hosts made usable again by a probe")                                      \
  X(uint64_t, loop_answered, Counter, "pool_loop_answered_total", "",                   \
    "Lookups the event loop ran itself on its session (loop_queries)")
