// What `proxyd stats` reports, taken at one moment on the loop thread, and
// its three renderings: the historical text (the default; tests and scripts
// read it), JSON (`proxyd stats --json`) and the Prometheus text exposition
// format (the metrics endpoint and `proxyd stats --prometheus`). All three
// come from the field lists in dictcore/counters.h and stats_fields.h, so
// they always carry the same numbers. Pure functions; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dictcore/front/table_stats.h"
#include "dictcore/pool/session_pool.h"
#include "proxyd/stats_fields.h"

namespace proxyd::daemon {

// The daemon as a whole.
struct DaemonFigures {
  std::string service;           // master(8) service name; "" standalone
  int64_t uptime_s = 0;          // seconds since start
  int64_t start_time_s = 0;      // start, seconds since the epoch
  uint64_t generation = 0;       // configuration generation (1 at start)
  uint64_t reloads = 0;          // successful reloads
  uint64_t reload_failures = 0;  // refused reloads
  bool last_reload_ok = true;    // the last reload attempt succeeded (or none yet)
  int64_t last_reload_s = 0;     // last successful load, seconds since the epoch
};

struct StatsSnapshot {
  DaemonFigures daemon;
  std::vector<std::pair<std::string, dict::TableStats>> tables;  // by name
  std::vector<dict::PoolStats> pools;
  std::optional<CacheFigures> cache;  // the served configuration's cache
  ServerFigures server;
  // Forwarding pools (issue 12): read, then write, when the process has them.
  std::vector<ForwardFigures> forwards;
};

// The `proxyd stats` text: "proxyd", "table", "pool", "cache" and "server"
// lines (unchanged since the first release).
std::string render_text(const StatsSnapshot& s);

// One JSON object (no trailing newline).
std::string render_json(const StatsSnapshot& s);

// Prometheus text exposition format 0.0.4; every sample carries
// service="SERVICE" ("standalone" for a standalone daemon).
std::string render_prometheus(const StatsSnapshot& s);

// Several daemons' Prometheus outputs as one valid exposition: the samples of
// each metric family are brought together under one HELP/TYPE header.
std::string merge_prometheus(const std::vector<std::string>& outputs);

}  // namespace proxyd::daemon
