// Query and result templates of SQL tables, with the semantics of Postfix's
// db_common layer: %-token parsing at open, key suppression rules (which
// keys never reach the database), per-value result_format expansion, result
// joining with ',' and expansion_limit. Pure logic, no I/O; safe to use from
// any thread once built (ExpandRules is immutable after parse()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "dictcore/tables/table.h"
#include "dictcore/util/logger.h"

namespace proxyd::dict {

// Quoter: appends the escaped form of text to out; false = escaping failed
// (for live-connection escaping this means the connection is unusable).
using Quoter = std::function<bool(std::string_view text, std::string& out)>;

// The longest query a template may expand to. Room for any query with a
// few copies of the largest key (1 MiB, up to 2 MiB once escaped), while a
// template that repeats %s thousands of times cannot ask for gigabytes.
inline constexpr std::size_t kMaxQueryBytes = 4u << 20;

// Outcome of expanding the query template for one key.
enum class ExpandStatus {
  Ok,           // out holds the query
  Suppressed,   // the key lacks parts the templates need: NOKEY without a query
  QuoteFailed,  // the quoter failed: the host is unusable
  TooLong       // the query would exceed max_bytes: this lookup fails (RETRY)
};

// Outcome of expanding result_format for one result value.
enum class AppendStatus {
  Added,    // the expanded value was appended
  Skipped,  // the value lacks a part the format needs: out unchanged
  TooLong   // out would exceed max_bytes: out unchanged, the lookup fails
};

// The parsed query + result_format pair of one table. As in db_common both
// templates feed one set of requirement flags: %D or %1-9 in result_format
// also suppress domain-less keys before the query is run.
class ExpandRules {
 public:
  // Parse both templates. Throws ConfigError ("<origin>: invalid query
  // template: ...") for an unknown %x or a trailing '%'.
  static ExpandRules parse(std::string query, std::string result_format,
                           std::string_view origin);

  // True when key satisfies every template requirement (non-empty key,
  // local part / domain / enough domain labels as needed).
  bool key_usable(std::string_view key) const;

  // Expand the query for key. Key parts are passed through quoter (when
  // given); template text is copied verbatim. out is replaced. Expansion
  // stops with TooLong as soon as out would pass max_bytes.
  ExpandStatus expand_query(std::string_view key, const Quoter* quoter, std::string& out,
                            std::size_t max_bytes = kMaxQueryBytes) const;

  // Expand result_format for one result value and append it to out (with a
  // ',' separator when out is non-empty). value must be non-empty. Stops
  // with TooLong as soon as out would pass max_bytes.
  AppendStatus append_result(std::string_view value, std::string_view key,
                             std::string& out, std::size_t max_bytes = SIZE_MAX) const;

  const std::string& query() const { return query_; }
  const std::string& result_format() const { return result_format_; }

 private:
  std::string query_;
  std::string result_format_;
  unsigned flags_ = 0;  // kNeed* bits from both templates
  int nparts_ = 0;      // highest %1-%9 label index used (0 = none)
};

// The legacy query parameters (table, select_field, where_field, ...).
struct LegacyQueryParts {
  std::optional<std::string> table, select_field, where_field;
  std::string additional_conditions;
};
// Build the legacy query "SELECT f FROM t WHERE w='%s' cond" (Postfix's
// db_common_sql_build_query). Throws ConfigError when a part is missing.
std::string build_legacy_query(const LegacyQueryParts& parts, std::string_view origin);

// Where warnings go and what they name, for one table.
struct ResultContext {
  std::string_view table_label;  // "sqlite:/etc/postfix/x.cf"
  std::string_view cf_name;      // "/etc/postfix/x.cf"
  std::string_view lookup_fn;    // "dict_sqlite_lookup" (Postfix's wording)
  Logger* log = nullptr;
};

// Accumulates result fields of one lookup: NULL skipped silently, "" skipped
// with a warning, result_format per value, ',' joining, expansion_limit.
class ResultBuilder {
 public:
  // The largest answer we build; larger results fail with RETRY.
  static constexpr std::size_t kMaxResultBytes = 64u << 20;

  ResultBuilder(const ExpandRules& rules, std::string_view key, int expansion_limit,
                const ResultContext& ctx);

  // Add one field (nullopt = SQL NULL). False once the lookup has failed
  // (limit exceeded); the caller stops feeding fields.
  bool add(const std::optional<std::string>& field);

  // The outcome: RETRY after a failure, NOKEY when empty, else OK.
  LookupResult finish();

 private:
  const ExpandRules& rules_;
  std::string_view key_;
  int limit_;
  const ResultContext& ctx_;
  int count_ = 0;
  bool failed_ = false;
  std::string out_;
};

}  // namespace proxyd::dict
