// The one definition of the daemon-wide figures: the answer cache and the
// client side (see dictcore/counters.h for the form of an X-macro entry and
// for the per-table and per-pool lists). StatsSnapshot's structs, the
// `proxyd stats` text, the JSON and the Prometheus output are generated
// from these lists (stats_render.cpp). The order is the order of the
// `proxyd stats` fields.
#pragma once

#include <cstddef>
#include <cstdint>

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

namespace proxyd::daemon {

#define PROXYD_FIELD(type, field, kind, family, label, help) type field = 0;
struct CacheFigures {
  PROXYD_CACHE_FIELDS(PROXYD_FIELD)
};
struct ServerFigures {
  PROXYD_SERVER_FIELDS(PROXYD_FIELD)
};
#undef PROXYD_FIELD

}  // namespace proxyd::daemon
