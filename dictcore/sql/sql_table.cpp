// SQL table lookups (Postfix dict_sqlite_lookup / dict_mysql_lookup /
// dict_pgsql_lookup): non-UTF-8 keys skipped by sqlite unless UTF8_ACTIVE,
// ASCII folding on FOLD_FIX, domain filter, suppression, then one pool job
// that quotes on the live session, runs the query and joins the result.
// Lookups start on the loop thread; the attempt runs on a pool worker.
#include "dictcore/sql/sql_table.h"

#include <fmt/format.h>

#include "dictcore/pool/drivers/driver_factory.h"
#include "dictcore/util/config_error.h"
#include "dictcore/util/fold.h"
#include "dictcore/util/text.h"
#include "protocol/attr_codec.h"
#include "protocol/status.h"

namespace proxyd::dict {
namespace {

namespace pf = protocol::flags;

// The immutable part of a table, shared with jobs on worker threads.
struct LookupSpec {
  SqlTableConfig cfg;
  std::string label;      // "sqlite:/etc/postfix/x.cf"
  std::string lookup_fn;  // Postfix's function name in its messages
  bool all_columns = false;
};

// The worker-side part of one lookup: the statement is built with the live
// session's quoting, and its result set is joined into the answer.
class LookupWork final : public JobWork {
 public:
  LookupWork(std::shared_ptr<const LookupSpec> spec, std::string key, Logger& log)
      : spec_(std::move(spec)), key_(std::move(key)), log_(log) {}

  bool splits() const override { return true; }
  const void* batch_group() const override { return spec_.get(); }

  Attempt attempt(SqlSession& session) override {
    Prepared p = prepare(session);
    if (p.answer) {
      // Said here, not in prepare: a batch that meets this leaves the job to
      // a single attempt, which would say it a second time.
      if (p.answer->host_failed) warn_escape_failed(session, "");
      return std::move(*p.answer);
    }
    return finish(session.query(p.sql));
  }

  Prepared prepare(SqlSession& session) override {
    Quoter quoter = [&session](std::string_view text, std::string& out) {
      return session.escape(text, out);
    };
    Prepared p;
    switch (spec_->cfg.rules.expand_query(key_, &quoter, p.sql)) {
      case ExpandStatus::Suppressed:
        p.answer = Attempt{false, LookupResult{ProxyStatus::NoKey, {}}};
        break;
      case ExpandStatus::QuoteFailed:
        if (session.usable()) {
          // The key's fault (a byte the connection's character set cannot
          // carry), not the host's: this lookup fails with RETRY, as in
          // Postfix, and the database stays up for every other table.
          warn_escape_failed(session, ": lookup deferred");
          p.answer = Attempt{false, LookupResult{ProxyStatus::Retry, {}}};
        } else {
          p.answer = Attempt{true, {}};  // attempt() logs it
        }
        break;
      case ExpandStatus::TooLong:
        // Postfix would send it and the server would refuse it (MySQL's
        // max_allowed_packet): a failed lookup, the host stays usable.
        log_.warn_limited(spec_->label, "{}: {}: query for key '{}' exceeds {} bytes",
                          spec_->lookup_fn, spec_->cfg.name, protocol::printable(key_),
                          kMaxQueryBytes);
        p.answer = Attempt{false, LookupResult{ProxyStatus::Retry, {}}};
        break;
      case ExpandStatus::Ok:
        break;
    }
    return p;
  }

  // A key the session cannot escape, in the driver's words where Postfix's
  // driver has some (pgsql: "dict pgsql: (host H) cannot escape input
  // string: MSG"), else proxyd's own followed by tail.
  void warn_escape_failed(const SqlSession& session, std::string_view tail) {
    if (!log_.admit(spec_->label)) return;
    std::string said = session.escape_failure();
    if (!said.empty()) {
      log_.warn("{}", said);
    } else {
      log_.warn("{}: cannot escape the lookup key on this connection{}", spec_->label,
                tail);
    }
  }

  // A failed query, worded as Postfix 3.7's driver words it (admins match
  // these): dict_mysql "mysql:NAME: query failed: MSG", dict_pgsql "pgsql
  // query failed: fatal error from host H: MSG", dict_sqlite
  // "dict_sqlite_lookup: NAME: SQL step failed ..." (the message carries
  // the SQL part). With -v, proxyd's fuller account (host, database, mysql
  // errno and SQLSTATE) follows on a line of its own.
  void warn_query_failed(const LookupSpec& spec, const QueryResult& qr) {
    if (!log_.admit(spec.label)) return;
    const std::string& said = qr.reason.empty() ? qr.message : qr.reason;
    switch (spec.cfg.kind) {
      case SqlKind::Mysql:
        log_.warn("{}: query failed: {}", spec.label, said);
        break;
      case SqlKind::Pgsql:
        log_.warn("pgsql query failed: {}", said);
        break;
      case SqlKind::Sqlite:
        log_.warn("{}: {}: {}", spec.lookup_fn, spec.cfg.name, said);
        break;
    }
    if (log_.verbose() && !qr.reason.empty()) {
      log_.info("{}: query failed on {}", spec.label, qr.message);
    }
  }

  Attempt finish(QueryResult qr) override {
    const LookupSpec& spec = *spec_;
    switch (qr.status) {
      case QueryStatus::HostError:
        warn_query_failed(spec, qr);
        return Attempt{true, {}};
      case QueryStatus::NeedsSingle:
        return Attempt{false, {}, true};
      case QueryStatus::TempError:
        warn_query_failed(spec, qr);
        return Attempt{false, LookupResult{ProxyStatus::Retry, {}}};
      case QueryStatus::ConfigError:
        warn_query_failed(spec, qr);
        return Attempt{false, LookupResult{ProxyStatus::Config, {}}};
      case QueryStatus::NoResultSet:
        if (spec.cfg.require_result_set) {
          // Postfix marks the host down here; the connection is fine, and
          // with shared sessions that would fail every table on the database.
          log_.warn_limited(
              spec.label,
              "{}: query failed: query returned no result set(require_result_set = yes)",
              spec.label);
          return Attempt{false, LookupResult{ProxyStatus::Retry, {}}};
        }
        return Attempt{false, LookupResult{ProxyStatus::NoKey, {}}};
      case QueryStatus::Rows:
        break;
    }
    ResultContext ctx{spec.label, spec.cfg.name, spec.lookup_fn, &log_};
    ResultBuilder builder(spec.cfg.rules, key_, spec.cfg.expansion_limit, ctx);
    for (const SqlRow& row : qr.rows) {
      std::size_t columns =
          spec.all_columns ? row.size() : std::min<std::size_t>(row.size(), 1);
      bool more = true;
      for (std::size_t c = 0; c < columns && more; ++c) more = builder.add(row[c]);
      if (!more) break;
    }
    return Attempt{false, builder.finish()};
  }

 private:
  std::shared_ptr<const LookupSpec> spec_;
  std::string key_;
  Logger& log_;
};

class SqlTable final : public Table, public std::enable_shared_from_this<SqlTable> {
 public:
  SqlTable(std::shared_ptr<const LookupSpec> spec, std::shared_ptr<DomainFilter> domain,
           SessionPoolPtr pool, Logger& log, std::chrono::milliseconds timeout)
      : spec_(std::move(spec)),
        domain_(std::move(domain)),
        pool_(std::move(pool)),
        log_(log),
        timeout_(timeout) {}

  uint32_t impl_flags() const override { return pf::kFixed; }

  void lookup(const std::string& key_in, uint32_t flags, LookupDone done) override {
    // sqlite never looks up non-UTF-8 keys unless the UTF-8 layer is active.
    if (spec_->cfg.kind == SqlKind::Sqlite && (flags & pf::kUtf8Active) == 0 &&
        !valid_utf8(key_in)) {
      done(LookupResult{ProxyStatus::NoKey, {}});
      return;
    }
    std::string key = key_in;
    if (flags & pf::kFoldFix) ascii_lowercase(key);
    if (!domain_) {
      run(std::move(key), std::move(done));
      return;
    }
    auto self = shared_from_this();
    domain_->check(key, [self, key, done = std::move(done)](DomainMatch m) mutable {
      switch (m.kind) {
        case DomainMatch::Kind::Match:
          self->run(std::move(key), std::move(done));
          return;
        case DomainMatch::Kind::NoMatch:
          done(LookupResult{ProxyStatus::NoKey, {}});
          return;
        case DomainMatch::Kind::Error:
          self->log_.warn_limited(self->spec_->label,
                                  "{} 'domain' pattern match failed for '{}'",
                                  self->spec_->label, key);
          done(LookupResult{m.error, {}});
          return;
      }
    });
  }

 private:
  void run(std::string key, LookupDone done) {
    if (key.empty()) {
      log_.warn("table \"{}\": empty query string -- ignored", spec_->label);
      done(LookupResult{ProxyStatus::NoKey, {}});
      return;
    }
    if (!spec_->cfg.rules.key_usable(key)) {
      done(LookupResult{ProxyStatus::NoKey, {}});
      return;
    }
    if (!pool_) {
      log_.warn("{}: the {} client library could not be initialised", spec_->label,
                sql_kind_name(spec_->cfg.kind));
      done(LookupResult{ProxyStatus::Retry, {}});
      return;
    }
    pool_->submit(PoolJob{std::make_unique<LookupWork>(spec_, std::move(key), log_),
                          std::move(done), PoolJob::Clock::now() + timeout_});
  }

  std::shared_ptr<const LookupSpec> spec_;
  std::shared_ptr<DomainFilter> domain_;
  SessionPoolPtr pool_;
  Logger& log_;
  std::chrono::milliseconds timeout_;
};

// Postfix's own lookup function names, used in its warnings.
std::string_view lookup_fn_name(SqlKind kind) {
  switch (kind) {
    case SqlKind::Sqlite:
      return "dict_sqlite_lookup";
    case SqlKind::Mysql:
      return "dict_mysql_lookup";
    case SqlKind::Pgsql:
      return "dict_pgsql_lookup";
  }
  return "dict_sql_lookup";
}

// Postfix 3.11+ (dict_sqlite): warn when a %-token in the query is not
// inside '' quotes, since only the quoted form is safe from SQL injection.
void warn_unquoted_tokens(std::string_view query, std::string_view name, Logger& log) {
  char in_quote = 0;
  for (std::size_t i = 0; i < query.size(); ++i) {
    char c = query[i];
    if (in_quote == 0) {
      if (c == '\'' || c == '"') in_quote = c;
    } else if (c == in_quote) {
      in_quote = 0;
    }
    if (in_quote == '\'' || c != '%' || i + 1 >= query.size()) continue;
    char next = query[i + 1];
    if (next == '%') {
      ++i;
    } else if (ascii_alnum(next)) {
      log.warn("sqlite:{}: query >{}< contains >{}< without the recommended '' quotes",
               name, query, query.substr(i, 2));
      ++i;
    }
  }
}

// retry_interval and idle_interval exist from Postfix 3.9 on; before, both
// are fixed at 60 seconds and the lines are not read.
void read_intervals(const SqlParamSource& p, PostfixVersion version, ConnectParams& c) {
  if (!version.sql_has_intervals()) return;
  c.retry_interval = std::chrono::seconds(p.get_int("retry_interval", 60, 1));
  c.idle_interval = std::chrono::seconds(p.get_int("idle_interval", 60, 1));
}

// A parameter with no default, as Postfix's cfg_get_str(..., NULL, ...)
// reads it: absent or empty are both "not set" ("tls_CAfile =" turns no
// TLS on, exactly like no tls_CAfile line).
std::optional<std::string> opt_str(const SqlParamSource& p, std::string_view name) {
  if (!p.has(name)) return std::nullopt;
  std::string value = p.get_str(name, "");
  if (value.empty()) return std::nullopt;
  return value;
}

// mysql's connection parameters and require_result_set, in the order
// Postfix reads them.
void read_mysql_params(const SqlParamSource& p, PostfixVersion version, ConnectParams& c,
                       bool& require_result_set) {
  c.user = p.get_str("user", "");
  c.password = p.get_str("password", "");
  c.dbname = p.get_str("dbname", "", 1);
  // Before 3.9 "charset" is not read: the connector's default applies
  // (empty: see session_mysql.cpp).
  if (version.mysql_has_charset()) c.charset = p.get_str("charset", "utf8mb4", 1);
  read_intervals(p, version, c);
  c.option_file = opt_str(p, "option_file");
  c.option_group = p.get_str("option_group", "client");
  c.tls_key_file = opt_str(p, "tls_key_file");
  c.tls_cert_file = opt_str(p, "tls_cert_file");
  c.tls_CAfile = opt_str(p, "tls_CAfile");
  c.tls_CApath = opt_str(p, "tls_CApath");
  c.tls_ciphers = opt_str(p, "tls_ciphers");
  if (p.has("tls_verify_cert")) c.tls_verify_cert = p.get_bool("tls_verify_cert", false);
  require_result_set = p.get_bool("require_result_set", true);
}

}  // namespace

std::optional<SqlKind> sql_kind_from_type(std::string_view type) {
  if (type == "sqlite") return SqlKind::Sqlite;
  if (type == "mysql") return SqlKind::Mysql;
  if (type == "pgsql") return SqlKind::Pgsql;
  return std::nullopt;
}

SqlTableConfig parse_sql_table_config(SqlKind kind, std::string_view name,
                                      const SqlParamSource& p, PostfixVersion version) {
  SqlTableConfig cfg;
  cfg.kind = kind;
  cfg.name = std::string(name);
  cfg.origin = p.origin();
  ConnectParams& c = cfg.connect;
  c.kind = kind;
  c.duplicate_single_host = version.sql_retries_single_host();

  // Connection parameters, in the order Postfix reads them.
  switch (kind) {
    case SqlKind::Sqlite: {
      std::string dbpath = p.get_str("dbpath", "", 1);
      c.hosts.push_back(HostSpec{dbpath, HostKind::Unix, dbpath, {}});
      break;
    }
    case SqlKind::Mysql:
      read_mysql_params(p, version, c, cfg.require_result_set);
      break;
    case SqlKind::Pgsql:
      c.user = p.get_str("user", "");
      c.password = p.get_str("password", "");
      // Before 3.10 dbname is required, URI hosts or not.
      c.dbname = p.get_str("dbname", "", version.pgsql_uri_hosts_any_scheme() ? 0 : 1);
      // Before 3.8 the client encoding is always LATIN1 and "encoding" is
      // not read at all.
      c.encoding =
          version.pgsql_has_encoding() ? p.get_str("encoding", "UTF8", 1) : "LATIN1";
      read_intervals(p, version, c);
      break;
  }

  std::string result_format = p.get_str("result_format", "%s", 1);
  cfg.expansion_limit = p.get_int("expansion_limit", 0);

  std::string query;
  if (p.has("query")) {
    query = p.get_str("query", "");
  } else if (kind == SqlKind::Pgsql && p.has("select_function")) {
    query = fmt::format("SELECT {}('%s')", p.get_str("select_function", ""));
  } else {
    LegacyQueryParts parts;
    parts.table = opt_str(p, "table");
    parts.select_field = opt_str(p, "select_field");
    parts.where_field = opt_str(p, "where_field");
    parts.additional_conditions = p.get_str("additional_conditions", "");
    query = build_legacy_query(parts, cfg.origin);
  }
  cfg.rules = ExpandRules::parse(std::move(query), std::move(result_format), cfg.origin);
  cfg.domain_list = p.get_str("domain", "");

  if (kind == SqlKind::Mysql) {
    c.hosts = parse_mysql_hosts(p.get_str("hosts", ""), cfg.origin);
  } else if (kind == SqlKind::Pgsql) {
    c.hosts =
        parse_pgsql_hosts(p.get_str("hosts", ""), version.pgsql_uri_hosts_any_scheme());
    for (const HostSpec& h : c.hosts) {
      if (h.kind != HostKind::Uri && c.dbname.empty()) {
        // Postfix 3.10+ opens a surrogate here (lookups fail with RETRY).
        throw ConfigUnavailable(fmt::format(
            "pgsql:{} host target '{}' requires dbname setting", name, h.name));
      }
    }
  }
  return cfg;
}

TablePtr make_sql_table_from(SqlKind kind, std::string_view name,
                             const SqlParamSource& params, OpenMode mode,
                             const TableEnv& env, const SqlTableHooks& hooks) {
  std::string type(sql_kind_name(kind));
  if (mode != OpenMode::ReadOnly) {
    // Postfix: a surrogate whose every operation fails with RETRY.
    throw ConfigUnavailable(
        fmt::format("{}:{} map requires O_RDONLY access mode", type, name));
  }
  if (env.log == nullptr || env.pools == nullptr) {
    throw ConfigError(fmt::format("{}:{}: no session pools configured", type, name));
  }
  auto spec = std::make_shared<LookupSpec>();
  spec->cfg = parse_sql_table_config(kind, name, params, env.postfix_version);
  spec->label = fmt::format("{}:{}", type, name);
  spec->lookup_fn = std::string(lookup_fn_name(kind));

  if (kind == SqlKind::Sqlite && env.postfix_version.sqlite_warns_unquoted())
    warn_unquoted_tokens(spec->cfg.rules.query(), name, *env.log);

  std::shared_ptr<DomainFilter> domain;
  if (!spec->cfg.domain_list.empty()) {
    domain =
        DomainFilter::parse(spec->cfg.domain_list, spec->cfg.name, hooks.domain_opener,
                            *env.log, smtputf8_enabled(env), env.postfix_version);
  }

  SessionPoolPtr pool = env.pools->pool_for(
      spec->cfg.connect,
      hooks.driver_factory ? hooks.driver_factory : DriverFactory(make_driver));
  if (kind == SqlKind::Sqlite && pool && !hooks.driver_factory) {
    // Postfix 3.10+ opens the database at table open and substitutes a
    // surrogate (RETRY on every lookup) when that fails. Deliberately for
    // every release: before 3.10 the proxymap process exits fatally and the
    // client retries its request forever; RETRY defers the mail instead. The pool's
    // driver keeps the file open (before chroot at start-up; on reload the file opened
    // then, when its path is not reachable from the jail).
    ConnectResult probe = pool->connect_once(spec->cfg.connect.hosts.front());
    if (!probe.session) {
      throw ConfigUnavailable(fmt::format("{}: {}", spec->label, probe.error));
    }
  }
  if (pool) {
    spec->all_columns = pool->all_columns();
  } else {
    env.log->warn(
        "{}: the {} client library could not be initialised: every lookup will fail "
        "with RETRY",
        spec->label, type);
  }
  auto table = std::make_shared<SqlTable>(std::move(spec), std::move(domain),
                                          std::move(pool), *env.log, env.lookup_timeout);
  table->set_name(fmt::format("{}:{}", type, name));
  return table;
}

}  // namespace proxyd::dict
