// Shared SQL session pools: one pool per database identity (driver, hosts,
// credentials, database, options), each with a bounded number of sessions,
// each session owned by one worker thread. Loop-thread API; workers hand
// results back through the Poster.
#pragma once

#include <memory>

#include "dictcore/logger.h"
#include "dictcore/poster.h"

namespace proxyd::dict {

// Pool limits (proxyd.cf). Defaults are used when nothing is configured.
struct PoolSettings {
  int max_sessions = 4;  // sessions (and worker threads) per database identity
};

// All pools of one configuration generation.
class PoolSet {
 public:
  PoolSet(PoolSettings settings, Poster& poster, Logger& log);
  ~PoolSet();
  PoolSet(const PoolSet&) = delete;
  PoolSet& operator=(const PoolSet&) = delete;

  // Stop all workers after their current job; queued jobs complete with RETRY.
  void shutdown();

  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace proxyd::dict
