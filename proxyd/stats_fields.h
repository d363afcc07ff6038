// The one definition of the daemon-wide figures: the answer cache and the
// client side (see dictcore/util/counters.h for the form of an X-macro entry
// and for the per-table and per-pool lists). StatsSnapshot's structs, the
// `proxyd stats` text, the JSON and the Prometheus output are generated
// from these lists (stats_render.cpp). The order is the order of the
// `proxyd stats` fields.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "dictcore/util/counters.h"

// The answer cache of the configuration being served.
#define PROXYD_CACHE_FIELDS(X)                                                     \
  X(std::size_t, entries, Gauge, "cache_entries", "", "Answers in the cache")      \
  X(std::size_t, bytes, Gauge, "cache_bytes", "", "Memory the cached answers use") \
  X(std::size_t, max_bytes, Gauge, "cache_max_bytes", "",                          \
    "Memory bound of the cache (cache_max_bytes)")                                 \
  X(uint64_t, evictions, Counter, "cache_evictions_total", "",                     \
    "Answers dropped to stay within cache_max_bytes")

// Client connections and their buffers.
#define PROXYD_SERVER_FIELDS(X)                                                        \
  X(std::size_t, connections, Gauge, "client_connections", "",                         \
    "Client connections open")                                                         \
  X(std::size_t, max_clients, Gauge, "client_connections_max", "",                     \
    "Client connections allowed at once (max_clients, or what the file limit allows)") \
  X(uint64_t, idle_closed, Counter, "client_idle_closed_total", "",                    \
    "Idle connections closed to make room for new ones")                               \
  X(uint64_t, refused, Counter, "client_refused_total", "",                            \
    "Connections turned away: max_clients reached and none idle")                      \
  X(uint64_t, accept_errors, Counter, "client_accept_errors_total", "",                \
    "Errors accepting a connection")                                                   \
  X(std::size_t, memory_bytes, Gauge, "client_memory_bytes", "",                       \
    "Memory in use for buffered requests and unsent replies")                          \
  X(std::size_t, memory_peak, Gauge, "client_memory_peak_bytes", "",                   \
    "Most of that memory in use at once since start")                                  \
  X(std::size_t, max_memory_bytes, Gauge, "client_memory_max_bytes", "",               \
    "Memory bound for client buffers (max_memory_bytes)")                              \
  X(std::size_t, memory_waiting, Gauge, "client_memory_waiting", "",                   \
    "Connections whose reading waits for memory now")                                  \
  X(uint64_t, memory_pauses, Counter, "client_memory_pauses_total", "",                \
    "Times a connection waited for memory")

// One forwarding pool (issue 12): connections to Postfix's own proxymap
// (or proxywrite) service and the requests passed to it.
#define PROXYD_FORWARD_FIELDS(X)                                                       \
  X(std::size_t, connections_open, Gauge, "forward_connections_open", "",              \
    "Connections to the stock service open now")                                       \
  X(std::size_t, connections_busy, Gauge, "forward_connections_busy", "",              \
    "Connections to the stock service waiting for a reply now")                        \
  X(std::size_t, connections_peak, Gauge, "forward_connections_peak", "",              \
    "Most connections to the stock service open at once since start")                  \
  X(std::size_t, max_connections, Gauge, "forward_connections_max", "",                \
    "Connections allowed to the stock service (forward_connections)")                  \
  X(std::size_t, queued, Gauge, "forward_queue_depth", "",                             \
    "Forwarded requests waiting for a connection now")                                 \
  X(std::size_t, queue_peak, Gauge, "forward_queue_peak", "",                          \
    "Most forwarded requests waiting at once since start")                             \
  X(std::size_t, max_queue, Gauge, "forward_queue_max", "",                            \
    "Forwarded requests allowed to wait (forward_max_queue)")                          \
  X(uint64_t, jobs, Counter, "forward_requests_total", "",                             \
    "Requests forwarded to the stock service")                                         \
  X(uint64_t, answered, Counter, "forward_answered_total", "",                         \
    "Replies of the stock service passed on to the client")                            \
  X(uint64_t, rejected, Counter, "forward_retries_total", "reason=\"queue_full\"",     \
    "Forwarded requests answered RETRY by proxyd, by reason")                          \
  X(uint64_t, expired, Counter, "forward_retries_total", "reason=\"timeout\"",         \
    "Forwarded requests answered RETRY by proxyd, by reason")                          \
  X(uint64_t, unreachable, Counter, "forward_retries_total", "reason=\"unreachable\"", \
    "Forwarded requests answered RETRY by proxyd, by reason")                          \
  X(uint64_t, died, Counter, "forward_retries_total", "reason=\"died\"",               \
    "Forwarded requests answered RETRY by proxyd, by reason")                          \
  X(uint64_t, resent, Counter, "forward_resent_total", "",                             \
    "Lookups resent once after a reused connection closed")                            \
  X(uint64_t, connects, Counter, "forward_connects_total", "",                         \
    "Connections opened to the stock service")                                         \
  X(uint64_t, connect_failures, Counter, "forward_connect_failures_total", "",         \
    "Failed connection attempts to the stock service")

namespace proxyd::daemon {

#define PROXYD_FIELD(type, field, kind, family, label, help) type field = 0;
struct CacheFigures {
  PROXYD_CACHE_FIELDS(PROXYD_FIELD)
};
struct ServerFigures {
  PROXYD_SERVER_FIELDS(PROXYD_FIELD)
};
struct ForwardFigures {
  std::string label;                // "read" or "write"
  std::string path;                 // the stock service's socket ("" = none)
  std::vector<std::string> tables;  // tables forwarded so far
  PROXYD_FORWARD_FIELDS(PROXYD_FIELD)
};
#undef PROXYD_FIELD

}  // namespace proxyd::daemon
