// static: tables, as Postfix's dict_static: one value for every key, the
// value optionally in { }, or (SRC_RHS_IS_FILE) the base64 of the files it
// names. Loop thread only.
#include <fmt/format.h>

#include <memory>
#include <string>
#include <utility>

#include "dictcore/tables/rhs_file.h"
#include "dictcore/tables/simple_tables.h"
#include "dictcore/util/braces.h"
#include "dictcore/util/config_error.h"
#include "dictcore/util/logger.h"

namespace proxyd::dict {
namespace {

namespace pflags = protocol::flags;

// One value for every key.
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

  // Every key gets the value, however long.
  LookupResult answer_any_key(std::size_t, uint32_t flags) override {
    LookupResult out;
    lookup({}, flags, [&out](LookupResult r) { out = std::move(r); });
    return out;
  }

 private:
  std::string value_;
  Logger* log_;
  bool empty_value_logged_ = false;
};

}  // namespace

TablePtr make_static_table(std::string_view name, const TableEnv& env,
                           SimpleTableOptions options) {
  std::string_view value = name;
  if (!name.empty() && name[0] == '{') {
    if (auto err = extpar(name, value, Extpar::Strip)) {
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

}  // namespace proxyd::dict
