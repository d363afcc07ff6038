// Key file reader, percentiles and JSON escaping for the benchmark tools
// (see keys.h). The key file is the single workload definition shared by the
// load generator (through proxymap or proxyd) and the database ceiling tool.
#include "tests/bench/keys.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <stdexcept>
#include <unordered_map>

namespace proxyd::bench {

namespace {
constexpr std::size_t kMaxKeyLen = 4096;
constexpr std::size_t kMaxEntries = 10'000'000;
}  // namespace

KeyFile read_key_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("cannot open key file {}", path));
  KeyFile out;
  std::unordered_map<std::string, std::size_t> index;
  std::string line;
  std::size_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty()) continue;
    auto tab = line.find('\t');
    if (tab == std::string::npos || tab == 0)
      throw std::runtime_error(
          fmt::format("{}:{}: expected TABLE<TAB>KEY", path, lineno));
    std::string table = line.substr(0, tab);
    std::string key = line.substr(tab + 1);
    if (key.size() > kMaxKeyLen || table.size() > kMaxKeyLen)
      throw std::runtime_error(fmt::format("{}:{}: line too long", path, lineno));
    auto [it, added] = index.try_emplace(table, out.tables.size());
    if (added) out.tables.push_back(table);
    out.entries.push_back(KeyEntry{it->second, std::move(key)});
    if (out.entries.size() > kMaxEntries)
      throw std::runtime_error(fmt::format("{}: more than {} keys", path, kMaxEntries));
  }
  if (in.bad()) throw std::runtime_error(fmt::format("error reading {}", path));
  if (out.entries.empty()) throw std::runtime_error(fmt::format("{}: no keys", path));
  return out;
}

uint32_t percentile(std::vector<uint32_t>& samples, double q) {
  if (samples.empty()) return 0;
  auto rank =
      static_cast<std::size_t>(std::ceil(q * static_cast<double>(samples.size())));
  if (rank > 0) --rank;
  rank = std::min(rank, samples.size() - 1);
  std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(rank),
                   samples.end());
  return samples[rank];
}

std::string json_escape(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      out += fmt::format("\\u{:04x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace proxyd::bench
