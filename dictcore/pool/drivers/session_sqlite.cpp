// sqlite driver (the only file that includes sqlite3.h), reproducing
// Postfix's dict_sqlite: the database is opened read-only (3.10+; an open
// failure makes lookups RETRY), keys are quoted like sqlite3_mprintf("%q")
// (single quotes doubled), only the first statement runs, column 0 of each
// row is the value, a step error fails the lookup with RETRY.
// Thread affinity: one session per worker thread (SQLITE_OPEN_NOMUTEX).
#include <sqlite3.h>

#include <memory>

#include <fmt/format.h>

#include "dictcore/pool/session.h"

namespace proxyd::dict {
namespace {

// Wait this long for a writer's lock instead of failing at once.
constexpr int kBusyTimeoutMs = 1000;

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};

class SqliteSession final : public SqlSession {
 public:
  explicit SqliteSession(std::unique_ptr<sqlite3, DbCloser> db) : db_(std::move(db)) {}

  bool escape(std::string_view text, std::string& out) override {
    for (char c : text) {
      out.push_back(c);
      if (c == '\'') out.push_back('\'');
    }
    return true;
  }

  QueryResult query(const std::string& sql) override {
    QueryResult result;
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v2(db_.get(), sql.c_str(), static_cast<int>(sql.size()) + 1, &raw,
                                &tail);
    std::unique_ptr<sqlite3_stmt, StmtFinalizer> stmt(raw);
    if (rc != SQLITE_OK) {
      // Postfix treats a prepare failure as fatal (daemon dies); a broken
      // statement is a configuration problem, anything else is transient.
      result.status = (rc == SQLITE_ERROR) ? QueryStatus::ConfigError : QueryStatus::TempError;
      result.message = fmt::format("SQL prepare failed: {}", sqlite3_errmsg(db_.get()));
      return result;
    }
    if (!stmt) {  // empty statement: nothing to step through
      result.status = QueryStatus::TempError;
      result.message = "SQL prepare failed: empty query";
      return result;
    }
    for (;;) {
      rc = sqlite3_step(stmt.get());
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) {
        result.status = QueryStatus::TempError;
        result.rows.clear();
        result.message = fmt::format("SQL step failed for query '{}': {}", sql,
                                     sqlite3_errmsg(db_.get()));
        return result;
      }
      SqlRow row;
      const unsigned char* text = sqlite3_column_text(stmt.get(), 0);
      if (text == nullptr) {
        row.emplace_back(std::nullopt);
      } else {
        // Postfix reads the value as a C string: stop at an embedded NUL.
        row.emplace_back(std::string(reinterpret_cast<const char*>(text)));
      }
      result.rows.push_back(std::move(row));
    }
    result.status = QueryStatus::Rows;
    return result;
  }

 private:
  std::unique_ptr<sqlite3, DbCloser> db_;
};

class SqliteDriver final : public SqlDriver {
 public:
  ConnectResult connect(const HostSpec& host) override {
    sqlite3* raw = nullptr;
    int rc = sqlite3_open_v2(host.name.c_str(), &raw,
                             SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
    std::unique_ptr<sqlite3, DbCloser> db(raw);
    if (rc != SQLITE_OK) {
      return ConnectResult{nullptr, fmt::format("open database {}: {}", host.name,
                                                db ? sqlite3_errmsg(db.get())
                                                   : sqlite3_errstr(rc))};
    }
    sqlite3_busy_timeout(db.get(), kBusyTimeoutMs);
    return ConnectResult{std::make_unique<SqliteSession>(std::move(db)), {}};
  }

  bool all_columns() const override { return false; }
};

}  // namespace

std::unique_ptr<SqlDriver> make_sqlite_driver(const ConnectParams&) {
  return std::make_unique<SqliteDriver>();
}

}  // namespace proxyd::dict
