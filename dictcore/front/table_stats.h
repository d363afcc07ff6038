// Per-table lookup counters and a latency histogram, for the stats command.
// Kept by the daemon across configuration reloads (keyed by table name) and
// updated by TableFront on the loop thread only, so no locking is needed.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "dictcore/util/counters.h"

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

  // Upper bounds of the exported (Prometheus) buckets, in microseconds,
  // from 100 us to 10 s; a last bucket (+Inf) takes the rest.
  static constexpr std::array<uint64_t, 16> kExportBoundsUs = {
      100,   250,    500,    1000,   2500,    5000,    10000,   25000,
      50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};
  // Non-cumulative counts per exported bucket; the last is above 10 s.
  const std::array<uint64_t, kExportBoundsUs.size() + 1>& export_buckets() const {
    return export_;
  }
  // Sum of every recorded latency, in microseconds.
  uint64_t sum_us() const { return sum_us_; }

 private:
  static std::size_t bucket_of(uint64_t us);
  static uint64_t upper_bound_of(std::size_t bucket);

  std::array<uint64_t, kBuckets> buckets_{};
  std::array<uint64_t, kExportBoundsUs.size() + 1> export_{};
  uint64_t count_ = 0;
  uint64_t sum_us_ = 0;
};

// Counters of one table (all requests through the proxy, not per client);
// the fields come from PROXYD_TABLE_COUNTERS (counters.h).
struct TableStats {
#define PROXYD_FIELD(type, field, kind, family, label, help) type field = 0;
  PROXYD_TABLE_COUNTERS(PROXYD_FIELD)
#undef PROXYD_FIELD
  LatencyHistogram latency;  // request to answer, every lookup
};

}  // namespace proxyd::dict
