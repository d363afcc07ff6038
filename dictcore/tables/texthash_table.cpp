// texthash:/path tables, as Postfix's dict_thash builds them: the file's
// logical lines (logical_lines, NUL bytes kept; warned about from 3.9), "key whitespace
// value" split with quotes, its warnings, SRC_RHS_IS_FILE values and the duplicate
// policy, over a HashTable. Loop thread only.
#include <fmt/format.h>

#include <memory>
#include <string>
#include <utility>

#include "dictcore/tables/hash_table.h"
#include "dictcore/tables/rhs_file.h"
#include "dictcore/tables/simple_tables.h"
#include "dictcore/tables/texthash_file.h"
#include "dictcore/util/config_lines.h"
#include "dictcore/util/fold.h"
#include "dictcore/util/text.h"

namespace proxyd::dict {
namespace {

namespace pflags = protocol::flags;

template <typename... Args>
void log_warn(Logger* log, fmt::format_string<Args...> f, Args&&... args) {
  if (log != nullptr) log->warn(f, std::forward<Args>(args)...);
}

}  // namespace

TablePtr make_texthash_table(std::string_view name, const TableEnv& env) {
  return make_texthash_table(name, env, simple_table_options(env, kDaemonInstanceFlags));
}

TablePtr make_texthash_table(std::string_view name, const TableEnv& env,
                             SimpleTableOptions options) {
  const std::string path(name);
  const std::string content = read_texthash_file(path);
  auto table = std::make_shared<HashTable>(env.log, options);
  bool have_duplicates = false;
  const bool nul_aware = options.release.readllines_warns_null();
  NullLogger quiet;
  for (auto& line : logical_lines(content, path, env.log != nullptr ? *env.log : quiet,
                                  nul_aware ? NulBytes::KeepAndWarn : NulBytes::Keep)) {
    // Postfix handles the line as a C string from here on, except that
    // before 3.9 the UTF-8 check (not the ASCII test) reads past a NUL.
    std::string_view text(line.text);
    text = text.substr(0, text.find('\0'));
    // The UTF-8 layer under the table's keys is gone in 3.11.
    if (options.utf8_stored_keys() && !is_ascii(text) &&
        !valid_utf8(nul_aware ? text : std::string_view(line.text))) {
      log_warn(env.log, "{}, line {}: non-UTF-8 input \"{}\" -- ignoring this line", path,
               line.line_no, text);
      continue;
    }
    // Split at the first white space outside quotes; a backslash protects
    // the next character. Quotes and backslashes stay in the key.
    bool in_quotes = false;
    std::size_t pos = 0;
    for (; pos < text.size(); ++pos) {
      char c = text[pos];
      if (c == '\\') {
        if (++pos >= text.size()) break;
      } else if (c_space(c)) {
        if (!in_quotes) break;
      } else if (c == '"') {
        in_quotes = !in_quotes;
      }
    }
    if (pos > text.size()) pos = text.size();
    if (in_quotes) {
      log_warn(env.log, "{}, line {}: unbalanced '\"' in '{}' -- ignoring this line",
               path, line.line_no, text);
      continue;
    }
    std::string_view key = text.substr(0, pos);
    std::string_view value = trim(text.substr(pos < text.size() ? pos + 1 : pos));
    if (key.empty() || value.empty()) {
      log_warn(env.log,
               "{}, line {}: expected format: key whitespace value -- ignoring this line",
               path, line.line_no);
      continue;
    }
    if (key.back() == ':') {
      log_warn(env.log,
               "{}, line {}: record is in \"key: value\" format; is this an alias file?",
               path, line.line_no);
    }
    std::string stored_value(value);
    if (options.instance_flags & pflags::kSrcRhsIsFile) {
      RhsFileResult files = rhs_files_to_base64(value);
      if (!files.ok) {
        log_warn(env.log, "{}, line {}: {}: skipping this entry", path, line.line_no,
                 files.value);
        continue;
      }
      stored_value = std::move(files.value);
    }
    std::string folded = table->stored_key(key);
    if (table->contains(folded)) {
      // Clients that ask with DUP_WARN/IGNORE/REPLACE (postmap) get the
      // value their flag selects; others get RETRY, as Postfix turns the
      // table into a surrogate for them.
      log_warn(env.log, "{}, line {}: duplicate entry: \"{}\"", path, line.line_no, key);
      table->put_duplicate(folded, std::move(stored_value));
      have_duplicates = true;
    } else {
      table->put(std::move(folded), std::move(stored_value));
    }
  }
  if (have_duplicates) table->set_duplicate_failure();
  return table;
}

}  // namespace proxyd::dict
