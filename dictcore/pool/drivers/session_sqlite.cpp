// sqlite driver (the only file that includes sqlite3.h), reproducing
// Postfix's dict_sqlite: the database is opened read-only (3.10+; an open
// failure makes lookups RETRY), keys are quoted like sqlite3_mprintf("%q")
// (single quotes doubled), only the first statement runs, column 0 of each
// row is the value, a step error fails the lookup with RETRY.
// The database file is opened when the table is opened (before chroot) and
// kept: kKeptHandles read-only handles on it, shared by the sessions, each
// used under its own mutex. A session of a chrooted proxyd therefore reads
// a dbpath outside the jail. When the path names another file later (the
// database was replaced, or a copy inside the jail has the same path), the
// next session opens that file instead, as a fresh open would.
#include <fmt/format.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "dictcore/pool/drivers/driver_factory.h"
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

// Handles kept per database file. More sessions than this share them.
constexpr std::size_t kKeptHandles = 4;

// One read-only handle on the kept file; used by one session at a time.
struct KeptHandle {
  std::unique_ptr<sqlite3, DbCloser> db;
  std::mutex mu;              // held for the whole of one query
  std::atomic<int> users{0};  // sessions leasing this handle
};

// The database file as opened: its identity and the handles on it.
struct KeptFile {
  dev_t dev = 0;
  ino_t ino = 0;
  std::vector<std::unique_ptr<KeptHandle>> handles;
};

// Open path read-only, then read the schema once so that a WAL database's
// -wal and -shm files are opened too, while the path is still reachable.
ConnectResult open_handle(const std::string& path,
                          std::unique_ptr<sqlite3, DbCloser>& out) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  std::unique_ptr<sqlite3, DbCloser> db(raw);
  if (rc != SQLITE_OK) {
    return ConnectResult{nullptr,
                         fmt::format("open database {}: {}", path,
                                     db ? sqlite3_errmsg(db.get()) : sqlite3_errstr(rc))};
  }
  sqlite3_busy_timeout(db.get(), kBusyTimeoutMs);
  // Errors here (not a database, say) show again on every lookup.
  sqlite3_exec(db.get(), "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr);
  out = std::move(db);
  return {};
}

class SqliteSession final : public SqlSession {
 public:
  SqliteSession(std::shared_ptr<KeptFile> file, KeptHandle& handle)
      : file_(std::move(file)), handle_(handle) {
    ++handle_.users;
  }
  ~SqliteSession() override { --handle_.users; }
  SqliteSession(const SqliteSession&) = delete;
  SqliteSession& operator=(const SqliteSession&) = delete;

  bool escape(std::string_view text, std::string& out) override {
    for (char c : text) {
      out.push_back(c);
      if (c == '\'') out.push_back('\'');
    }
    return true;
  }

  QueryResult query(const std::string& sql) override {
    std::lock_guard lock(handle_.mu);
    return run(handle_.db.get(), sql);
  }

 private:
  static QueryResult run(sqlite3* db, const std::string& sql) {
    QueryResult result;
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()) + 1, &raw,
                                &tail);
    std::unique_ptr<sqlite3_stmt, StmtFinalizer> stmt(raw);
    if (rc != SQLITE_OK) {
      // Postfix treats a prepare failure as fatal (daemon dies); a broken
      // statement is a configuration problem, anything else is transient.
      result.status =
          (rc == SQLITE_ERROR) ? QueryStatus::ConfigError : QueryStatus::TempError;
      result.message = fmt::format("SQL prepare failed: {}", sqlite3_errmsg(db));
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
        result.message =
            fmt::format("SQL step failed for query '{}': {}", sql, sqlite3_errmsg(db));
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

  std::shared_ptr<KeptFile> file_;  // keeps handle_ alive
  KeptHandle& handle_;
};

class SqliteDriver final : public SqlDriver {
 public:
  ConnectResult connect(const HostSpec& host) override {
    std::lock_guard lock(mu_);
    ConnectResult opened = refresh(host.name);
    if (!file_) return opened;
    KeptHandle* least = file_->handles.front().get();
    for (const auto& h : file_->handles) {
      if (h->users < least->users) least = h.get();
    }
    return ConnectResult{std::make_unique<SqliteSession>(file_, *least), {}};
  }

  bool all_columns() const override { return false; }

 private:
  // Keep file_ on the file that path names, when it names one; keep the
  // file opened earlier when the path is unreachable (from inside a jail).
  ConnectResult refresh(const std::string& path) {
    struct stat st {};
    bool named = ::stat(path.c_str(), &st) == 0;
    if (file_ && (!named || (st.st_dev == file_->dev && st.st_ino == file_->ino)))
      return {};
    auto file = std::make_shared<KeptFile>();
    for (std::size_t i = 0; i < kKeptHandles; ++i) {
      auto handle = std::make_unique<KeptHandle>();
      ConnectResult r = open_handle(path, handle->db);
      if (!handle->db) {
        if (file_) return {};
        return r;
      }
      file->handles.push_back(std::move(handle));
    }
    // A file replaced between stat and open is noticed at the next connect.
    file->dev = st.st_dev;
    file->ino = st.st_ino;
    file_ = std::move(file);
    return {};
  }

  std::mutex mu_;
  std::shared_ptr<KeptFile> file_;  // guarded by mu_
};

}  // namespace

std::unique_ptr<SqlDriver> make_sqlite_driver(const ConnectParams&) {
  return std::make_unique<SqliteDriver>();
}

}  // namespace proxyd::dict
