// libFuzzer harness for query and result_format expansion (dictcore/expand):
// the input is "query NUL result_format NUL key NUL value". Templates that
// parse are expanded for the key, with and without a quoter that escapes
// like a SQL driver, under a small size bound that must hold; the value goes
// through result_format and a ResultBuilder with an expansion_limit.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "dictcore/sql/expand.h"
#include "dictcore/util/config_error.h"
#include "dictcore/util/logger.h"

namespace {

namespace pd = proxyd::dict;

constexpr std::size_t kMaxInput = 16 * 1024;
// Small enough that the fuzzer reaches it; each piece at most doubles.
constexpr std::size_t kBound = 4096;

// Next NUL-terminated field of rest ("" once rest is exhausted).
std::string_view field(std::string_view& rest) {
  std::size_t nul = rest.find('\0');
  std::string_view f = rest.substr(0, nul);
  rest.remove_prefix(nul == std::string_view::npos ? rest.size() : nul + 1);
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size > kMaxInput) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  std::string_view query = field(rest);
  std::string_view format = field(rest);
  std::string_view key = field(rest);
  std::string_view value = field(rest);

  std::optional<pd::ExpandRules> rules;
  try {
    rules = pd::ExpandRules::parse(std::string(query), std::string(format), "fuzz.cf");
  } catch (const pd::ConfigError&) {
    return 0;
  }
  pd::Quoter quoter = [](std::string_view text, std::string& out) {
    for (char c : text) {
      if (c == '\'' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    return true;
  };
  std::string out;
  pd::ExpandStatus plain = rules->expand_query(key, nullptr, out);
  if (plain == pd::ExpandStatus::Ok && !rules->key_usable(key)) std::abort();
  const pd::Quoter* quoters[] = {nullptr, &quoter};
  for (const pd::Quoter* q : quoters) {
    pd::ExpandStatus st = rules->expand_query(key, q, out, kBound);
    if (st == pd::ExpandStatus::Ok && out.size() > kBound) std::abort();
    if (st == pd::ExpandStatus::TooLong && !out.empty()) std::abort();
  }
  if (value.empty()) return 0;
  std::string joined = "x";
  pd::AppendStatus ap = rules->append_result(value, key, joined, kBound);
  if (ap == pd::AppendStatus::Added && joined.size() > kBound) std::abort();
  if (ap != pd::AppendStatus::Added && joined != "x") std::abort();

  pd::NullLogger log;
  pd::ResultContext ctx{"mysql:fuzz.cf", "fuzz.cf", "dict_mysql_lookup", &log};
  pd::ResultBuilder builder(*rules, key, 3, ctx);
  std::string v(value);
  for (int i = 0; i < 5 && builder.add(v); ++i) {
    if (i == 2) (void)builder.add(std::nullopt);
  }
  (void)builder.finish();
  return 0;
}
