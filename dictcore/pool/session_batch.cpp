// Batch-safety rule for statement texts, and the default SqlSession batch
// (one query after another) for drivers without a batching protocol.
#include "dictcore/pool/session_batch.h"

#include <cctype>

#include "dictcore/pool/session.h"
#include "dictcore/util/text.h"

namespace proxyd::dict {

bool single_statement_text(std::string_view sql) {
  return sql.find_first_of(std::string_view(";\0", 2)) == std::string_view::npos;
}

bool single_select_statement(std::string_view sql) {
  if (!single_statement_text(sql)) return false;
  std::size_t i = 0;
  while (i < sql.size() && c_space(sql[i])) ++i;
  constexpr std::string_view kSelect = "select";
  if (sql.size() - i <= kSelect.size()) return false;
  if (!ascii_istarts_with(sql.substr(i), kSelect)) return false;
  // The keyword must end here: "SELECT 1", "SELECT(1)", not "SELECTED".
  unsigned char next = static_cast<unsigned char>(sql[i + kSelect.size()]);
  return c_space(static_cast<char>(next)) || next == '(' || next == '*' || next == '\'' ||
         next == '"' || next == '`' || next == '@';
}

BatchResult SqlSession::query_batch(const std::vector<std::string>& sqls) {
  BatchResult out;
  for (const std::string& sql : sqls) {
    QueryResult r = query(sql);
    if (r.status != QueryStatus::Rows) {
      out.usable = r.status != QueryStatus::HostError;
      out.message = std::move(r.message);
      break;
    }
    out.results.push_back(std::move(r));
  }
  return out;
}

}  // namespace proxyd::dict
