// proxyd-dbceiling: the database's own lookup ceiling for the benchmark
// workload. K threads, each with its own session made through dictcore's
// mysql/pgsql driver (as proxyd's pool makes them), run the SQL that each
// table's "query" would run (one '%s' = the escaped key, as Postfix's
// db_common expansion does for plain keys) in a closed loop over the same
// key file. With --pipeline N each thread sends N lookups per round trip
// instead (SqlSession::query_batch: one multi-statement text, and for
// pgsql a libpq pipeline if the text fails), the ceiling of a pipelining client on
// the same number of sessions. Prints the load generator's JSON fields.
#include <fmt/format.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "dictcore/pool/drivers/driver_factory.h"
#include "dictcore/pool/session.h"
#include "tests/bench/keys.h"
#include "tests/bench/options.h"

namespace proxyd::bench {
namespace {

using Clock = std::chrono::steady_clock;
namespace dict = proxyd::dict;

struct Options {
  std::string kind = "mysql";
  std::string hosts;  // mysql/pgsql "hosts" syntax
  std::string user;
  std::string dbname;
  std::vector<std::pair<std::string, std::string>> queries;  // table -> SQL with %s
  std::string keys;
  int threads = 4;
  double duration = 10;
  double warmup = 2;
  std::size_t hot = 0;
  int pipeline = 1;  // lookups per round trip
};

[[noreturn]] void usage(const std::string& why) {
  fmt::print(stderr,
             "proxyd-dbceiling: {}\n"
             "usage: proxyd-dbceiling --hosts H --user U --dbname D --keys FILE\n"
             "       --query TABLE=SQL [--query ...] [--kind mysql|pgsql] [--threads K]\n"
             "       [--duration S] [--warmup S] [--hot K] [--pipeline N]\n"
             "The password comes from $BENCH_DB_PASSWORD (never the command line).\n",
             why);
  std::exit(2);
}

Options parse_options(int argc, char** argv) {
  Options o;
  walk_options(
      argc, argv,
      [&](const std::string& a, const std::string& v) {
        if (a == "--kind")
          o.kind = v;
        else if (a == "--hosts")
          o.hosts = v;
        else if (a == "--user")
          o.user = v;
        else if (a == "--dbname")
          o.dbname = v;
        else if (a == "--keys")
          o.keys = v;
        else if (a == "--threads")
          o.threads = std::stoi(v);
        else if (a == "--duration")
          o.duration = std::stod(v);
        else if (a == "--warmup")
          o.warmup = std::stod(v);
        else if (a == "--hot")
          o.hot = std::stoul(v);
        else if (a == "--pipeline")
          o.pipeline = std::stoi(v);
        else if (a == "--query") {
          auto eq = v.find('=');
          if (eq == std::string::npos || eq == 0) usage("--query wants TABLE=SQL");
          o.queries.emplace_back(v.substr(0, eq), v.substr(eq + 1));
        } else
          return false;
        return true;
      },
      usage);
  if (o.keys.empty() || o.queries.empty()) usage("--keys and --query are required");
  if (o.kind != "mysql" && o.kind != "pgsql") usage("--kind must be mysql or pgsql");
  if (o.threads < 1 || o.threads > 1024 || o.duration <= 0 || o.warmup < 0)
    usage("bad --threads/--duration/--warmup");
  if (o.pipeline < 1 || o.pipeline > 256) usage("bad --pipeline");
  return o;
}

// Per-thread results, merged at the end.
struct Result {
  std::vector<uint32_t> lat_us;
  uint64_t ok = 0, notfound = 0;
  std::map<std::string, uint64_t> errors;
};

// The statement for one key: the template with '%s' = the escaped key.
bool make_sql(dict::SqlSession& session, const std::string& tpl, const std::string& key,
              std::string& sql) {
  std::string escaped;
  if (!session.escape(key, escaped)) return false;
  sql.clear();
  auto pos = tpl.find("%s");
  sql.append(tpl, 0, pos);
  if (pos != std::string::npos) {
    sql += escaped;
    sql.append(tpl, pos + 2);
  }
  return true;
}

void count(const dict::QueryResult& r, uint32_t lat_us, Result& res) {
  res.lat_us.push_back(lat_us);
  if (r.status == dict::QueryStatus::Rows) {
    if (r.rows.empty())
      ++res.notfound;
    else
      ++res.ok;
  } else {
    ++res.errors["query"];
  }
}

void worker(dict::SqlDriver& driver, const dict::HostSpec& host, const KeyFile& keys,
            const std::vector<std::string>& templates, std::size_t pick_n, int pipeline,
            uint64_t seed, Clock::time_point start, Clock::time_point end, Result& res) {
  driver.thread_init();
  Rng rng(seed);
  auto cr = pipeline > 1 ? driver.connect_batching(host) : driver.connect(host);
  if (!cr.session) {
    ++res.errors["connect"];
    fmt::print(stderr, "proxyd-dbceiling: connect: {}\n", cr.error);
    driver.thread_end();
    return;
  }
  std::vector<std::string> sqls(static_cast<std::size_t>(pipeline));
  for (;;) {
    auto t0 = Clock::now();
    if (t0 >= end) break;
    bool escaped = true;
    for (std::string& sql : sqls) {
      const KeyEntry& e = keys.entries[rng.below(pick_n)];
      escaped = escaped && make_sql(*cr.session, templates[e.table], e.key, sql);
    }
    if (!escaped) {
      ++res.errors["escape"];
      break;
    }
    std::vector<dict::QueryResult> rs;
    if (pipeline > 1) {
      rs = cr.session->query_batch(sqls).results;
    } else {
      rs.push_back(cr.session->query(sqls.front()));
    }
    auto t1 = Clock::now();
    if (t0 < start) continue;  // warm-up
    if (t1 >= end) break;
    auto lat = static_cast<uint32_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0).count());
    for (const auto& r : rs) count(r, lat, res);
    if (rs.size() < sqls.size()) res.errors["batch"] += sqls.size() - rs.size();
  }
  cr.session.reset();
  driver.thread_end();
}

int run(const Options& o) {
  KeyFile keys = read_key_file(o.keys);
  std::vector<std::string> templates;
  for (const auto& t : keys.tables) {
    std::string found;
    for (const auto& [name, sql] : o.queries)
      if (name == t) found = sql;
    if (found.empty())
      throw std::runtime_error(fmt::format("no --query for table {}", t));
    templates.push_back(found);
  }
  dict::ConnectParams p;
  p.kind = o.kind == "mysql" ? dict::SqlKind::Mysql : dict::SqlKind::Pgsql;
  p.hosts = p.kind == dict::SqlKind::Mysql ? dict::parse_mysql_hosts(o.hosts, "--hosts")
                                           : dict::parse_pgsql_hosts(o.hosts);
  p.user = o.user;
  if (const char* pw = std::getenv("BENCH_DB_PASSWORD")) p.password = pw;
  p.dbname = o.dbname;
  p.charset = "utf8mb4";
  p.encoding = "UTF8";
  auto driver = dict::make_driver(p);
  if (!driver) throw std::runtime_error("driver not linked in");
  std::size_t pick_n =
      o.hot > 0 && o.hot < keys.entries.size() ? o.hot : keys.entries.size();

  auto start = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                  std::chrono::duration<double>(o.warmup));
  auto end = start + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(o.duration));
  std::vector<Result> results(static_cast<std::size_t>(o.threads));
  auto cpu_s = [] {
    rusage r{};
    getrusage(RUSAGE_SELF, &r);
    return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
           static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
  };
  double cpu0 = 0;
  {
    std::vector<std::jthread> threads;
    for (int k = 0; k < o.threads; ++k)
      threads.emplace_back([&, k] {
        worker(*driver, p.hosts.front(), keys, templates, pick_n, o.pipeline,
               static_cast<uint64_t>(k) * 7919 + 17, start, end,
               results[static_cast<std::size_t>(k)]);
      });
    std::this_thread::sleep_until(start);
    cpu0 = cpu_s();
  }
  double cpu_pct = 100.0 * (cpu_s() - cpu0) / o.duration;
  Result all;
  for (auto& r : results) {
    all.lat_us.insert(all.lat_us.end(), r.lat_us.begin(), r.lat_us.end());
    all.ok += r.ok;
    all.notfound += r.notfound;
    for (const auto& [k, v] : r.errors) all.errors[k] += v;
  }
  uint64_t errors_total = 0;
  std::string errs;
  for (const auto& [k, v] : all.errors) {
    errors_total += v;
    errs += fmt::format("{}\"{}\": {}", errs.empty() ? "" : ", ", json_escape(k), v);
  }
  uint64_t lookups = all.lat_us.size();
  uint32_t p50 = percentile(all.lat_us, 0.50);
  uint32_t p99 = percentile(all.lat_us, 0.99);
  fmt::print(
      "{{\"clients\": {}, \"duration_s\": {}, \"lookups\": {}, \"lookups_per_s\": "
      "{:.1f}, "
      "\"p50_us\": {}, \"p99_us\": {}, \"ok\": {}, \"notfound\": {}, \"errors_total\": "
      "{}, "
      "\"errors\": {{{}}}, \"keys\": {}, \"loadgen_cpu_pct\": {:.1f}}}\n",
      o.threads, o.duration, lookups, static_cast<double>(lookups) / o.duration, p50, p99,
      all.ok, all.notfound, errors_total, errs, pick_n, cpu_pct);
  return errors_total == 0 ? 0 : 1;
}

}  // namespace
}  // namespace proxyd::bench

int main(int argc, char** argv) {
  auto o = proxyd::bench::parse_options(argc, argv);
  try {
    return proxyd::bench::run(o);
  } catch (const std::exception& e) {
    fmt::print(stderr, "proxyd-dbceiling: {}\n", e.what());
    return 1;
  }
}
