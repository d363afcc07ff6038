// Latency histogram arithmetic (see table_stats.h): bucket b covers
// [lower(b), upper(b)) microseconds, with kSubBuckets linear steps inside
// each power of two; values of 0..kSubBuckets-1 us get one bucket each.
#include "dictcore/front/table_stats.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace proxyd::dict {

std::size_t LatencyHistogram::bucket_of(uint64_t us) {
  if (us < kSubBuckets) return static_cast<std::size_t>(us);
  int power = std::bit_width(us) - 1;  // us in [2^power, 2^(power+1))
  int shift = power - 3;               // kSubBuckets == 8 == 2^3
  std::size_t sub = static_cast<std::size_t>((us >> shift) & (kSubBuckets - 1));
  std::size_t b = static_cast<std::size_t>(power - 2) * kSubBuckets + sub;
  return std::min(b, kBuckets - 1);
}

uint64_t LatencyHistogram::upper_bound_of(std::size_t bucket) {
  if (bucket < kSubBuckets) return bucket + 1;
  std::size_t power = bucket / kSubBuckets + 2;
  std::size_t sub = bucket % kSubBuckets;
  uint64_t step = uint64_t{1} << (power - 3);
  return (uint64_t{1} << power) + (sub + 1) * step;
}

void LatencyHistogram::record(std::chrono::microseconds latency) {
  uint64_t us = latency.count() < 0 ? 0 : static_cast<uint64_t>(latency.count());
  ++buckets_[bucket_of(us)];
  ++count_;
  sum_us_ += us;
  auto bound = std::lower_bound(kExportBoundsUs.begin(), kExportBoundsUs.end(), us);
  ++export_[static_cast<std::size_t>(bound - kExportBoundsUs.begin())];
}

std::chrono::microseconds LatencyHistogram::percentile(double q) const {
  if (count_ == 0) return std::chrono::microseconds(0);
  q = std::clamp(q, 0.0, 1.0);
  uint64_t rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * count_)));
  uint64_t seen = 0;
  for (std::size_t b = 0; b < kBuckets; ++b) {
    seen += buckets_[b];
    if (seen >= rank) return std::chrono::microseconds(upper_bound_of(b));
  }
  return std::chrono::microseconds(upper_bound_of(kBuckets - 1));
}

}  // namespace proxyd::dict
