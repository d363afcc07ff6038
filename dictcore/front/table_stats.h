// Per-table lookup counters and a latency histogram, for the stats command.
// Kept by the daemon across configuration reloads (keyed by table name) and
// updated by TableFront on the loop thread only, so no locking is needed.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace proxyd::dict {

// Log-scale latency histogram: 8 buckets per power of two from 1 us to
// about 2^30 us (18 min); percentiles are reported as a bucket's upper bound
// (at most 9% above the true value).
class LatencyHistogram {
 public:
  static constexpr int kSubBuckets = 8;
  static constexpr int kPowers = 28;
  static constexpr std::size_t kBuckets = kSubBuckets * kPowers;

  // Count one latency.
  void record(std::chrono::microseconds latency);

  // The latency below which fraction q (0..1) of recorded values lie;
  // zero when nothing was recorded.
  std::chrono::microseconds percentile(double q) const;

  uint64_t count() const { return count_; }

 private:
  static std::size_t bucket_of(uint64_t us);
  static uint64_t upper_bound_of(std::size_t bucket);

  std::array<uint64_t, kBuckets> buckets_{};
  uint64_t count_ = 0;
};

// Counters of one table (all requests through the proxy, not per client).
struct TableStats {
  uint64_t requests = 0;    // lookups received
  uint64_t ok = 0;          // answered with a value
  uint64_t notfound = 0;    // answered "not found"
  uint64_t retry = 0;       // answered RETRY (temporary failure, overload, deadline)
  uint64_t failed = 0;      // answered CONFIG or another error
  uint64_t cache_hits = 0;  // answered from the cache
  uint64_t coalesced = 0;   // joined an identical lookup already in flight
  uint64_t timeouts = 0;    // answered RETRY because lookup_timeout passed
  uint64_t queries = 0;     // lookups passed to the table (after cache and coalescing)
  LatencyHistogram latency;  // request to answer, every lookup
};

}  // namespace proxyd::dict
