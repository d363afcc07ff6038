// libFuzzer harness for table definitions: SQL table .cf text
// (dictcore/table_cf + parse_sql_table_config for sqlite, mysql and pgsql)
// and the in-memory tables (dictcore/simple_tables: inline:, static: and
// texthash: read from a scratch file). The first byte picks the kind; the
// rest is the text. Tables that open are looked up with a few keys and flag
// sets; only ConfigError may escape the builders.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>

#include "dictcore/config/table_cf.h"
#include "dictcore/sql/sql_params.h"
#include "dictcore/sql/sql_table.h"
#include "dictcore/tables/simple_tables.h"
#include "dictcore/tables/table.h"
#include "dictcore/util/config_error.h"
#include "dictcore/util/logger.h"
#include "protocol/status.h"

namespace {

namespace pd = proxyd::dict;
namespace pf = proxyd::protocol;

constexpr std::size_t kMaxInput = 64 * 1024;

// Look up keys taken from the text itself plus fixed ones, with and without
// FOLD_FIX and the duplicate-handling flags. Simple tables answer inline.
void probe(pd::Table& table, std::string_view text) {
  const uint32_t flag_sets[] = {0, pf::flags::kFoldFix, pf::flags::kDupReplace,
                                pf::flags::kDupIgnore | pf::flags::kFoldFix};
  std::string keys[] = {"", "k", "KEY", std::string(text.substr(0, 8)),
                        std::string(text.substr(text.size() / 2, 12))};
  for (uint32_t flags : flag_sets) {
    for (const std::string& key : keys) {
      bool answered = false;
      table.lookup(key, flags, [&answered](pd::LookupResult) { answered = true; });
      if (!answered) std::abort();  // simple tables never complete later
    }
  }
}

// A scratch file for texthash:, removed when the process exits.
class ScratchFile {
 public:
  ScratchFile() : path_("/tmp/proxyd-fuzz-texthash." + std::to_string(::getpid())) {}
  ~ScratchFile() { std::remove(path_.c_str()); }
  const std::string& write(std::string_view text) {
    std::ofstream(path_, std::ios::binary | std::ios::trunc)
        .write(text.data(), text.size());
    return path_;
  }

 private:
  std::string path_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size < 1 || size > kMaxInput) return 0;
  static ScratchFile scratch;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  pd::NullLogger log;
  pd::TableEnv env;
  env.log = &log;
  try {
    switch (data[0] % 4) {
      case 0: {
        pd::TableConfig cfg = pd::TableConfig::from_string(text, "/fuzz/t.cf", log);
        pd::TableConfigParams params(cfg);
        for (pd::SqlKind kind :
             {pd::SqlKind::Sqlite, pd::SqlKind::Mysql, pd::SqlKind::Pgsql}) {
          try {
            (void)pd::parse_sql_table_config(kind, "/fuzz/t.cf", params);
          } catch (const pd::ConfigError&) {
          }
        }
        break;
      }
      case 1:
        probe(*pd::make_static_table(text, env), text);
        break;
      case 2:
        for (bool utf8 : {true, false}) {
          try {
            probe(*pd::make_inline_table(text, env, pd::SimpleTableOptions{utf8}), text);
          } catch (const pd::ConfigError&) {
          }
        }
        break;
      case 3: {
        const std::string& path = scratch.write(text);
        for (bool utf8 : {true, false}) {
          probe(*pd::make_texthash_table(path, env, pd::SimpleTableOptions{utf8}), text);
        }
        break;
      }
    }
  } catch (const pd::ConfigError&) {
  }
  return 0;
}
