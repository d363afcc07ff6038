// libFuzzer harness for main.cf parsing with $-expansion (dictcore/main_cf)
// and the allowlist built from it (dictcore/allowlist). The input is main.cf
// text; every parameter is expanded, both allowlists are built, and the
// input is also expanded as free text. Expansion problems are logged, never
// thrown; a ConfigError (bad boolean) is an accepted outcome.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "dictcore/config/allowlist.h"
#include "dictcore/config/main_cf.h"
#include "dictcore/util/config_error.h"
#include "dictcore/util/logger.h"

namespace {

namespace pd = proxyd::dict;

// Main.cf text bigger than this only slows the fuzzer down.
constexpr std::size_t kMaxInput = 64 * 1024;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size > kMaxInput) return 0;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  pd::NullLogger log;
  try {
    // A config_dir that does not exist: relative references find nothing.
    pd::MainCf cf = pd::MainCf::from_string(text, log, "/nonexistent/proxyd-fuzz");
    for (const std::string& name : cf.parameter_names()) {
      (void)cf.get(name, log);
      (void)cf.raw(name);
    }
    (void)cf.expand(text, log);
    for (bool read_only : {true, false}) {
      pd::Allowlist list = pd::Allowlist::build(cf, read_only, log);
      for (const std::string& table : list.tables()) {
        if (!list.contains(table)) std::abort();
      }
      (void)pd::Allowlist::build(cf, read_only, log, pd::AllowlistScope::AllTables);
    }
    pd::Allowlist direct = pd::Allowlist::from_value(text, log);
    for (const std::string& table : direct.tables()) {
      if (table.substr(0, 6) == "proxy:" || !direct.contains(table)) std::abort();
    }
    (void)cf.get_bool("smtputf8_enable");
  } catch (const pd::ConfigError&) {
    // Postfix stops on these too; what matters is that nothing else escapes.
  }
  return 0;
}
