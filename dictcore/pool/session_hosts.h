// HostSet, the shared host state of one pool (Postfix dict_mysql/dict_pgsql PLDB host
// selection): hosts are untried, active or failed-until; active hosts are
// preferred, UNIX sockets before TCP before URIs, uniformly random within a
// class; a failed host is skipped for retry_interval. Thread-safe: every
// worker of the pool selects and reports through one HostSet.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <vector>

#include "dictcore/pool/session.h"

namespace proxyd::dict {

class HostSet {
 public:
  using Clock = std::chrono::steady_clock;
  using NowFn = std::function<Clock::time_point()>;

  // duplicate_single: list a lone host twice, so one failure is retried at
  // once (pool_for: Postfix 3.6.17, 3.7.13, 3.8.8, 3.9.2, 3.10.0 on).
  HostSet(std::vector<HostSpec> hosts, std::chrono::seconds retry_interval,
          bool duplicate_single, NowFn now = Clock::now, uint64_t seed = 0);

  // Host index to connect to, skipping indexes set in tried; nullopt when no
  // host is eligible (all tried, or down within their retry interval).
  std::optional<std::size_t> pick(const std::vector<bool>& tried);

  // A session connected to host i.
  void mark_up(std::size_t i);

  // Host i failed: down for retry_interval; sessions on it must reconnect.
  void mark_down(std::size_t i);

  // A probe connected to host i: every entry for the same host that is
  // down becomes eligible again at once. False when none was down.
  bool revive(std::size_t i);

  // The first entry with host i's text (a duplicated single host has two):
  // probes run per distinct host.
  std::size_t probe_index(std::size_t i) const;

  // A session connected to host i was closed (idle, recycled or failed).
  void release(std::size_t i);

  // Changes whenever host i is marked down (sessions compare it).
  uint64_t generation(std::size_t i) const;

  // True when any entry for host i's host (see probe_index) is down.
  bool host_down(std::size_t i) const;

  // True when host i is currently marked down (tests, stats).
  bool is_down(std::size_t i) const;

  const HostSpec& spec(std::size_t i) const { return hosts_[i].spec; }
  std::size_t size() const { return hosts_.size(); }

 private:
  // Life cycle of one host entry.
  enum class State {
    Untried,  // no session connected; eligible
    Active,   // at least one session connected; preferred
    Failed    // down until down_until; eligible again afterwards
  };
  struct Host {
    HostSpec spec;
    State state = State::Untried;
    Clock::time_point down_until{};
    int connected = 0;
    uint64_t generation = 0;
  };

  std::optional<std::size_t> pick_locked(const std::vector<bool>& tried, bool active_only,
                                         HostKind kind, Clock::time_point now);

  std::chrono::seconds retry_interval_;
  NowFn now_;
  mutable std::mutex mu_;
  std::vector<Host> hosts_;  // guarded by mu_ (spec is immutable)
  std::mt19937_64 rng_;      // guarded by mu_
};

}  // namespace proxyd::dict
