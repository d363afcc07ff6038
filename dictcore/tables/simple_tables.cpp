// static:, inline: and texthash: tables, reproducing Postfix's dict_static,
// dict_inline and dict_thash (both built on the dict_ht in-memory table):
// inline's brace/comma parser (balpar, extpar, mystrtokq, split_qnameval),
// texthash's readllines-based file reader with its warnings and duplicate
// policy, dict_ht's FOLD_FIX key handling (with dict_utf8's Unicode folding
// when the UTF-8 layer is active), and dict_file's SRC_RHS_IS_FILE values.
// Loop thread only; every operation completes before it returns.
#include "dictcore/tables/simple_tables.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dictcore/config/main_cf.h"
#include "dictcore/tables/rhs_file.h"
#include "dictcore/util/braces.h"
#include "dictcore/util/config_error.h"
#include "dictcore/util/files.h"
#include "dictcore/util/fold.h"
#include "dictcore/util/logger.h"
#include "dictcore/util/text.h"
#include "dictcore/util/tokens.h"
#include "protocol/status.h"

namespace proxyd::dict {

namespace {

namespace pflags = protocol::flags;

// Largest texthash file we read into memory.
constexpr std::size_t kMaxTexthashBytes = std::size_t{256} << 20;
// How often a texthash file that changes while being read is read again.
constexpr int kTexthashReadAttempts = 3;
// Request flags that let a texthash table with duplicate keys answer at all.
constexpr uint32_t kDupAny = pflags::kDupWarn | pflags::kDupIgnore | pflags::kDupReplace;

// dict_ht: insertion-ordered in-memory table behind inline: and texthash:.
class HashTable final : public Table {
 public:
  HashTable(Logger* log, const SimpleTableOptions& options)
      : log_(log),
        fold_stored_((options.instance_flags & pflags::kFoldFix) != 0),
        utf8_(options.utf8_active()) {}

  // The key an entry of the table source is stored under: case-folded when
  // the instance was opened with FOLD_FIX.
  std::string stored_key(std::string_view key) const {
    return fold_stored_ ? casefold(key, utf8_) : std::string(key);
  }

  uint32_t impl_flags() const override { return pflags::kFixed; }

  // Build-time store that replaces an existing value (dict_ht update).
  void put(std::string key, std::string value) {
    auto [it, inserted] = entries_.try_emplace(key);
    if (inserted) order_.push_back(std::move(key));
    it->second.first = value;
    it->second.last = std::move(value);
  }

  // True when key is already present (build time).
  bool contains(const std::string& key) const { return entries_.count(key) != 0; }

  // Build-time duplicate of an existing key: remembered for DUP_REPLACE.
  void put_duplicate(const std::string& key, std::string value) {
    entries_.at(key).last = std::move(value);
  }

  // From now on, requests without a DUP_* flag fail with RETRY, as Postfix
  // then replaces the whole table with a surrogate.
  void set_duplicate_failure() { duplicate_failure_ = true; }

  void lookup(const std::string& key, uint32_t flags, LookupDone done) override {
    if (refused(flags)) return done(LookupResult{ProxyStatus::Retry, {}});
    auto it = entries_.find(request_key(key, flags));
    if (it == entries_.end()) return done(LookupResult{ProxyStatus::NoKey, {}});
    const std::string& value = pick(it->second, flags);
    if (value.empty()) {
      // Postfix returns "" and the client's maps layer turns it into a
      // configuration error; the wire never carries OK with "".
      if (!empty_value_logged_ && log_ != nullptr) {
        log_->warn("table {}: key {}: empty string result is not allowed", name(), key);
        empty_value_logged_ = true;
      }
      return done(LookupResult{ProxyStatus::Config, {}});
    }
    done(LookupResult{ProxyStatus::Ok, value});
  }

  void update(const std::string& key, const std::string& value, uint32_t flags,
              LookupDone done) override {
    put(request_key(key, flags), value);
    done(LookupResult{ProxyStatus::Ok, {}});
  }

  void remove(const std::string& key, uint32_t flags, LookupDone done) override {
    auto folded = request_key(key, flags);
    if (entries_.erase(folded) == 0) return done(LookupResult{ProxyStatus::NoKey, {}});
    for (std::size_t i = 0; i < order_.size(); ++i) {
      if (order_[i] != folded) continue;
      order_.erase(order_.begin() + static_cast<std::ptrdiff_t>(i));
      if (i < cursor_) --cursor_;
      break;
    }
    done(LookupResult{ProxyStatus::Ok, {}});
  }

  // Entries in insertion order (Postfix walks its hash table in hash order).
  void sequence(uint32_t function, uint32_t flags, SeqDone done) override {
    if (refused(flags)) return done(SeqResult{ProxyStatus::Retry, {}, {}});
    if (function == 0) {
      cursor_ = 0;
    } else if (function != 1) {
      return done(SeqResult{ProxyStatus::NoKey, {}, {}});
    }
    if (cursor_ >= order_.size()) return done(SeqResult{ProxyStatus::NoKey, {}, {}});
    const std::string& key = order_[cursor_++];
    done(SeqResult{ProxyStatus::Ok, key, pick(entries_.at(key), flags)});
  }

 private:
  struct Entry {
    std::string first;  // value of the first occurrence
    std::string last;   // value of the last occurrence
  };

  bool refused(uint32_t flags) const {
    return duplicate_failure_ && (flags & kDupAny) == 0;
  }

  // Duplicate policy of dict_thash: IGNORE and WARN keep the first value,
  // REPLACE the last (IGNORE takes precedence over REPLACE).
  static const std::string& pick(const Entry& entry, uint32_t flags) {
    if ((flags & pflags::kDupIgnore) == 0 && (flags & pflags::kDupReplace) != 0) {
      return entry.last;
    }
    return entry.first;
  }

  // The key a lookup/update/delete uses: folded only on FOLD_FIX.
  std::string request_key(const std::string& key, uint32_t flags) const {
    return (flags & pflags::kFoldFix) ? casefold(key, utf8_) : key;
  }

  Logger* log_;
  bool fold_stored_;  // instance opened with FOLD_FIX
  bool utf8_;         // UTF-8 layer active: Unicode folding
  std::unordered_map<std::string, Entry> entries_;
  std::vector<std::string> order_;
  std::size_t cursor_ = 0;
  bool duplicate_failure_ = false;
  bool empty_value_logged_ = false;
};

// dict_static: one value for every key.
class StaticTable final : public Table {
 public:
  StaticTable(std::string value, Logger* log) : value_(std::move(value)), log_(log) {}

  uint32_t impl_flags() const override { return pflags::kFixed; }

  void lookup(const std::string& key, uint32_t, LookupDone done) override {
    if (value_.empty()) {
      // As for inline: an empty result is a configuration error, never OK "".
      if (!empty_value_logged_ && log_ != nullptr) {
        log_->warn("table {}: key {}: empty string result is not allowed", name(), key);
        empty_value_logged_ = true;
      }
      return done(LookupResult{ProxyStatus::Config, {}});
    }
    done(LookupResult{ProxyStatus::Ok, value_});
  }

 private:
  std::string value_;
  Logger* log_;
  bool empty_value_logged_ = false;
};

template <typename... Args>
void warn(Logger* log, fmt::format_string<Args...> f, Args&&... args) {
  if (log != nullptr) log->warn(f, std::forward<Args>(args)...);
}

// Trim ASCII white space at both ends.
std::string_view trim(std::string_view text) {
  while (!text.empty() && c_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && c_space(text.back())) text.remove_suffix(1);
  return text;
}

// extpar() with stripping: the inside of a "{...}" token, or an error text.
std::optional<std::string> brace_contents(std::string_view token,
                                          std::string_view& inner) {
  std::size_t len = balanced_length(token);
  if (len == 0) return fmt::format("missing '}}' in \"{}\"", token);
  if (len != token.size()) return fmt::format("syntax error after '}}' in \"{}\"", token);
  inner = trim(token.substr(1, len - 2));
  return std::nullopt;
}

// split_qnameval(): "key = value" with quotes and backslashes kept in the
// key; returns an error text or fills key and value.
std::optional<std::string> split_name_value(std::string_view text, std::string_view& key,
                                            std::string_view& value) {
  std::size_t pos = 0;
  while (pos < text.size() && c_space(text[pos])) ++pos;
  if (pos == text.size())
    return std::string("no key found; expected format: key = value");
  std::size_t key_start = pos;
  bool in_quotes = false;
  for (; pos < text.size(); ++pos) {
    char c = text[pos];
    if (c == '\\') {
      if (++pos >= text.size()) break;
    } else if (c_space(c) || c == '=') {
      if (!in_quotes) break;
    } else if (c == '"') {
      in_quotes = !in_quotes;
    }
  }
  if (pos > text.size()) pos = text.size();
  if (in_quotes) return std::string("unbalanced '\"'");
  std::size_t key_end = pos;
  while (pos < text.size() && c_space(text[pos])) ++pos;
  if (pos == text.size() || text[pos] != '=') {
    return std::string("missing '=' after attribute name");
  }
  ++pos;
  key = text.substr(key_start, key_end - key_start);
  value = trim(text.substr(pos));
  return std::nullopt;
}

// One logical line of a texthash file and the line number where it starts.
struct TextLine {
  int line_no = 0;
  std::string text;
};

// readllines(): joins continuation lines (starting with white space), drops
// comment and blank lines, warns about and skips a logical line that starts
// with white space.
// Not logical_lines(), which is 3.11's: 3.7.11's readllines keeps NUL bytes unwarned.
std::vector<TextLine> read_logical_lines(std::string_view content, std::string_view path,
                                         Logger* log) {
  std::vector<TextLine> lines;
  std::size_t pos = 0;
  int line_no = 0;
  while (pos < content.size()) {
    std::string buf;
    int first_line = 0;
    for (;;) {
      std::size_t start = buf.size();
      std::size_t nl = content.find('\n', pos);
      bool have_newline = nl != std::string_view::npos;
      std::size_t end = have_newline ? nl : content.size();
      buf.append(content.substr(pos, end - pos));
      pos = have_newline ? nl + 1 : content.size();
      if (have_newline || buf.size() > start) ++line_no;
      std::size_t cp = start;
      while (cp < buf.size() && c_space(buf[cp])) ++cp;
      if (cp == buf.size() || buf[cp] == '#') {
        buf.resize(start);
      } else if (start == 0) {
        first_line = line_no;
      }
      if (pos >= content.size()) break;
      if (!buf.empty() && content[pos] != '#' && !c_space(content[pos])) break;
    }
    if (buf.empty()) continue;
    if (c_space(buf[0])) {
      warn(log, "{}: logical line must not start with whitespace: \"{}{}\"", path,
           std::string_view(buf).substr(0, 30), buf.size() > 30 ? "..." : "");
      continue;
    }
    lines.push_back(TextLine{first_line, std::move(buf)});
  }
  return lines;
}

std::string errno_text(int err) { return std::system_category().message(err); }

// Read a whole texthash file; ConfigUnavailable when it cannot be read. A
// file that changes while it is read is read again (Postfix waits for a
// "hot" file to cool down; proxyd must not stall the loop for seconds).
std::string read_texthash_file(const std::string& path) {
  for (int attempt = 1;; ++attempt) {
    UniqueFd file = open_read_only(path, O_NONBLOCK);
    if (!file.valid())
      throw ConfigUnavailable(
          fmt::format("open database {}: {}", path, errno_text(errno)));
    const int fd = file.get();
    struct stat before {};
    if (::fstat(fd, &before) < 0) {
      throw ConfigUnavailable(fmt::format("fstat {}: {}", path, errno_text(errno)));
    }
    if (S_ISFIFO(before.st_mode) || S_ISSOCK(before.st_mode)) {
      throw ConfigUnavailable(fmt::format("open database {}: not a regular file", path));
    }
    std::string content;
    switch (read_all(fd, content, kMaxTexthashBytes)) {
      case ReadAll::Ok:
        break;
      case ReadAll::Error:
        throw ConfigUnavailable(fmt::format("read {}: {}", path, errno_text(errno)));
      case ReadAll::TooLarge:
        throw ConfigError(
            fmt::format("{}: file is larger than {} bytes", path, kMaxTexthashBytes));
    }
    struct stat after {};
    if (::fstat(fd, &after) < 0) {
      throw ConfigUnavailable(fmt::format("fstat {}: {}", path, errno_text(errno)));
    }
    bool changed = before.st_size != after.st_size ||
                   before.st_mtim.tv_sec != after.st_mtim.tv_sec ||
                   before.st_mtim.tv_nsec != after.st_mtim.tv_nsec;
    if (!changed || attempt >= kTexthashReadAttempts) return content;
  }
}

std::string inline_error(std::string_view what, std::string_view name,
                         bool rhs_is_file = false) {
  return fmt::format("{}: \"inline:{}\"; need \"inline:{{name={}...}}\"", what, name,
                     rhs_is_file ? "filename" : "value");
}

}  // namespace

SimpleTableOptions simple_table_options(const TableEnv& env, uint32_t instance_flags) {
  SimpleTableOptions options;
  options.utf8 = smtputf8_enabled(env);
  options.instance_flags = instance_flags;
  return options;
}

TablePtr make_static_table(std::string_view name, const TableEnv& env,
                           SimpleTableOptions options) {
  std::string_view value = name;
  if (!name.empty() && name[0] == '{') {
    if (auto err = brace_contents(name, value)) {
      throw ConfigError(fmt::format("bad static:name syntax: {}", *err));
    }
  }
  if (options.instance_flags & pflags::kSrcRhsIsFile) {
    // Postfix substitutes a surrogate (RETRY) when a file cannot be read.
    RhsFileResult files = rhs_files_to_base64(value);
    if (!files.ok) throw ConfigUnavailable(files.value);
    return std::make_shared<StaticTable>(std::move(files.value), env.log);
  }
  return std::make_shared<StaticTable>(std::string(value), env.log);
}

TablePtr make_inline_table(std::string_view name, const TableEnv& env) {
  return make_inline_table(name, env, simple_table_options(env, kDaemonInstanceFlags));
}

TablePtr make_inline_table(std::string_view name, const TableEnv& env,
                           SimpleTableOptions options) {
  if (options.utf8_active() && !is_ascii(name) && !valid_utf8(name)) {
    throw ConfigError(inline_error("bad UTF-8 syntax", name));
  }
  const bool rhs_is_file = (options.instance_flags & pflags::kSrcRhsIsFile) != 0;
  std::size_t len = balanced_length(name);
  if (len == 0 || len != name.size() || len == 2) {
    throw ConfigError(inline_error("bad syntax", name));
  }
  auto table = std::make_shared<HashTable>(env.log, options);
  std::string_view rest = name.substr(1, len - 2);
  int count = 0;
  while (auto token = next_grouped_token(rest)) {
    std::string_view nameval = *token;
    std::optional<std::string> err;
    if (nameval[0] == '{') err = brace_contents(*token, nameval);
    std::string_view key;
    std::string_view value;
    if (!err) err = split_name_value(nameval, key, value);
    std::string stored_value(value);
    if (!err && rhs_is_file) {
      RhsFileResult files = rhs_files_to_base64(value);
      if (!files.ok) err = std::move(files.value);
      stored_value = std::move(files.value);
    }
    if (err) throw ConfigError(inline_error(*err, name, rhs_is_file));
    // No duplicate checks: a later entry replaces an earlier one.
    table->put(table->stored_key(key), std::move(stored_value));
    ++count;
  }
  if (count == 0) throw ConfigError(inline_error("empty table", name, rhs_is_file));
  return table;
}

TablePtr make_texthash_table(std::string_view name, const TableEnv& env) {
  return make_texthash_table(name, env, simple_table_options(env, kDaemonInstanceFlags));
}

TablePtr make_texthash_table(std::string_view name, const TableEnv& env,
                             SimpleTableOptions options) {
  const std::string path(name);
  const std::string content = read_texthash_file(path);
  auto table = std::make_shared<HashTable>(env.log, options);
  bool have_duplicates = false;
  for (auto& line : read_logical_lines(content, path, env.log)) {
    if (options.utf8_active() && !is_ascii(line.text) && !valid_utf8(line.text)) {
      warn(env.log, "{}, line {}: non-UTF-8 input \"{}\" -- ignoring this line", path,
           line.line_no, line.text);
      continue;
    }
    // Postfix handles the line as a C string from here on.
    std::string_view text(line.text);
    text = text.substr(0, text.find('\0'));
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
      warn(env.log, "{}, line {}: unbalanced '\"' in '{}' -- ignoring this line", path,
           line.line_no, text);
      continue;
    }
    std::string_view key = text.substr(0, pos);
    std::string_view value = trim(text.substr(pos < text.size() ? pos + 1 : pos));
    if (key.empty() || value.empty()) {
      warn(env.log,
           "{}, line {}: expected format: key whitespace value -- ignoring this line",
           path, line.line_no);
      continue;
    }
    if (key.back() == ':') {
      warn(env.log,
           "{}, line {}: record is in \"key: value\" format; is this an alias file?",
           path, line.line_no);
    }
    std::string stored_value(value);
    if (options.instance_flags & pflags::kSrcRhsIsFile) {
      RhsFileResult files = rhs_files_to_base64(value);
      if (!files.ok) {
        warn(env.log, "{}, line {}: {}: skipping this entry", path, line.line_no,
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
      warn(env.log, "{}, line {}: duplicate entry: \"{}\"", path, line.line_no, key);
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
