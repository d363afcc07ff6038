// Shared pieces of the benchmark tools: the key file (one "TABLE<TAB>KEY"
// per line, the workload both proxymap and proxyd are driven with), a small
// deterministic PRNG, and latency percentiles. Postfix clients look keys up
// one at a time per connection; the tools reproduce that closed loop.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace proxyd::bench {

// One workload entry: index into KeyFile::tables and the lookup key.
struct KeyEntry {
  std::size_t table = 0;
  std::string key;
};

// The parsed key file: distinct table names in first-seen order, entries in
// file order (so "--hot K" means the first K lines).
struct KeyFile {
  std::vector<std::string> tables;
  std::vector<KeyEntry> entries;
};

// Read path; throws std::runtime_error on I/O errors, lines without a TAB,
// keys longer than 4096 bytes or an empty file.
KeyFile read_key_file(const std::string& path);

// xorshift64*: cheap, deterministic per seed, good enough to pick keys.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed ? seed : 0x9e3779b97f4a7c15ULL) {}
  // Next 64-bit value.
  uint64_t next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545F4914F6CDD1DULL;
  }
  // Uniform-ish value in [0, n), n > 0.
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }

 private:
  uint64_t state_;
};

// The q-quantile (0..1) of samples in microseconds; reorders samples. 0 when
// empty.
uint32_t percentile(std::vector<uint32_t>& samples, double q);

// Escape text for a JSON string body (no quotes added).
std::string json_escape(const std::string& text);

}  // namespace proxyd::bench
