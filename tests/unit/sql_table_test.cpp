// Tests for SQL tables: sqlite end to end against answers captured from
// real postmap 3.7.11 (and, when /usr/sbin/postmap is installed, compared
// live), plus mysql/pgsql tables over a fake driver (all columns, quoting on
// the session, require_result_set, errors never NOKEY, missing driver) and
// configuration validation of every sqlite/mysql/pgsql_table(5) parameter.
#include "dictcore/sql/sql_table.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sqlite3.h>  // tests only: builds the fixture database
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "dictcore/config/main_cf.h"
#include "dictcore/sql/expand.h"
#include "dictcore/util/config_error.h"
#include "protocol/status.h"
#include "tests/fakes/fake_session.h"

extern char** environ;

namespace proxyd::dict {
namespace {

namespace fs = std::filesystem;
namespace pf = protocol::flags;
using testing::CaptureLogger;
using testing::FakeDb;
using testing::FakeDriver;
using testing::QueuedPoster;
using Params = std::map<std::string, std::string, std::less<>>;

// Runs a lookup and waits for its completion on this thread.
LookupResult lookup_sync(Table& table, const std::string& key, uint32_t flags,
                         QueuedPoster& poster) {
  std::optional<LookupResult> got;
  table.lookup(key, flags, [&got](LookupResult r) { got = std::move(r); });
  if (!got) {
    EXPECT_TRUE(poster.run_while_not([&got] { return got.has_value(); })) << key;
  }
  return got.value_or(LookupResult{ProxyStatus::Bad, "timeout"});
}

// ---------------------------------------------------------------------------
// sqlite against postmap 3.7.11.

const char* const kFixtureSql = R"SQL(
CREATE TABLE users(k TEXT, v TEXT);
INSERT INTO users VALUES('user@example.com','alice@dest.org'),('user@example.com','bob@dest.org'),
 ('user@example.com','@nolocal.org'),('user@example.com','plainvalue'),
 ('multi','m1'),('multi',NULL),('multi',''),('multi','m2'),('multi','m3'),
 ('nullonly',NULL),('emptyonly',''),
 ('o''ne','quoted-single'),('do"ub','quoted-double'),('back\slash','bs'),('100%','pct'),
 ('ünïcode@exämple.de','utf8-hit'),('mixed@case.org','mixed-hit');
)SQL";

// The .cf files of the corpus (dbpath added per test).
const std::map<std::string, Params>& corpus_cfs() {
  static const std::map<std::string, Params> cfs = {
      {"basic", {{"query", "SELECT v FROM users WHERE k='%s'"}}},
      {"echo", {{"query", "SELECT 'S=%s|u=%u|U=%U|P=%%'"}}},
      {"echod", {{"query", "SELECT 'd=%d|D=%D|1=%1|2=%2'"}}},
      {"rf",
       {{"query", "SELECT v FROM users WHERE k='%s'"},
        {"result_format", "%u at %d for %U/%D/%S/%1"}}},
      {"rfu", {{"query", "SELECT v FROM users WHERE k='%s'"}, {"result_format", "<%u>"}}},
      {"limit",
       {{"query", "SELECT v FROM users WHERE k='%s'"}, {"expansion_limit", "3"}}},
      {"dom",
       {{"query", "SELECT '%s'"},
        {"domain", "!bad.example.com, example.com EXAMPLE1.org, exämple.de"}}},
      {"cols",
       {{"query",
         "SELECT NULL, 'second' UNION ALL SELECT 'a', 'b' UNION ALL SELECT '', 'c' "
         "UNION ALL SELECT 'd', NULL"}}},
      {"legacy",
       {{"table", "users"},
        {"select_field", "v"},
        {"where_field", "k"},
        {"additional_conditions", "ORDER BY v DESC"}}},
  };
  return cfs;
}

struct OracleCase {
  const char* cf;
  const char* key;  // "@K@" stands for 2048 'k' characters
  bool fold;        // postmap without -f: FOLD_FIX reaches dict_sqlite
  ProxyStatus status;
  const char* value;
};

// Captured from postmap 3.7.11 (Debian 12) with
//   postmap -c DIR [-f] -q KEY sqlite:/tmp/sqlo/<cf>.cf
// where DIR/main.cf = "compatibility_level = 3.6" + "smtputf8_enable = no"
// (so the raw key and FOLD_FIX reach dict_sqlite, as for a proxy client
// with smtputf8 off). "Retry" = postmap printed "fatal: ... query error".
const OracleCase kOracle[] = {
    {"basic", "User@Example.COM", true, ProxyStatus::Ok,
     "alice@dest.org,bob@dest.org,@nolocal.org,plainvalue"},
    {"basic", "User@Example.COM", false, ProxyStatus::NoKey, ""},
    {"basic", "user@example.com", true, ProxyStatus::Ok,
     "alice@dest.org,bob@dest.org,@nolocal.org,plainvalue"},
    {"basic", "user@example.com", false, ProxyStatus::Ok,
     "alice@dest.org,bob@dest.org,@nolocal.org,plainvalue"},
    {"basic", "multi", true, ProxyStatus::Ok, "m1,m2,m3"},
    {"basic", "multi", false, ProxyStatus::Ok, "m1,m2,m3"},
    {"basic", "nullonly", true, ProxyStatus::NoKey, ""},
    {"basic", "nullonly", false, ProxyStatus::NoKey, ""},
    {"basic", "emptyonly", true, ProxyStatus::NoKey, ""},
    {"basic", "emptyonly", false, ProxyStatus::NoKey, ""},
    {"basic", "o'ne", true, ProxyStatus::Ok, "quoted-single"},
    {"basic", "o'ne", false, ProxyStatus::Ok, "quoted-single"},
    {"basic", "do\"ub", true, ProxyStatus::Ok, "quoted-double"},
    {"basic", "do\"ub", false, ProxyStatus::Ok, "quoted-double"},
    {"basic", "back\\slash", true, ProxyStatus::Ok, "bs"},
    {"basic", "back\\slash", false, ProxyStatus::Ok, "bs"},
    {"basic", "100%", true, ProxyStatus::Ok, "pct"},
    {"basic", "100%", false, ProxyStatus::Ok, "pct"},
    {"basic", "mixed@case.org", true, ProxyStatus::Ok, "mixed-hit"},
    {"basic", "mixed@case.org", false, ProxyStatus::Ok, "mixed-hit"},
    {"basic",
     "\xc3\xbcn\xc3\xaf"
     "code@ex\xc3\xa4mple.de",
     true, ProxyStatus::Ok, "utf8-hit"},
    {"basic",
     "\xc3\xbcn\xc3\xaf"
     "code@ex\xc3\xa4mple.de",
     false, ProxyStatus::Ok, "utf8-hit"},
    {"basic",
     "\xc3\x9cN\xc3\x8f"
     "CODE@EX\xc3\x84MPLE.DE",
     true, ProxyStatus::NoKey, ""},
    {"basic",
     "\xc3\x9cN\xc3\x8f"
     "CODE@EX\xc3\x84MPLE.DE",
     false, ProxyStatus::NoKey, ""},
    {"basic", "\xff\xfe@example.com", true, ProxyStatus::NoKey, ""},
    {"basic", "\xff\xfe@example.com", false, ProxyStatus::NoKey, ""},
    {"basic", "@example.com", true, ProxyStatus::NoKey, ""},
    {"basic", "@example.com", false, ProxyStatus::NoKey, ""},
    {"basic", "user@", true, ProxyStatus::NoKey, ""},
    {"basic", "user@", false, ProxyStatus::NoKey, ""},
    {"basic", "user", true, ProxyStatus::NoKey, ""},
    {"basic", "user", false, ProxyStatus::NoKey, ""},
    {"basic", "joe@com", true, ProxyStatus::NoKey, ""},
    {"basic", "joe@com", false, ProxyStatus::NoKey, ""},
    {"basic", "joe@a..com", true, ProxyStatus::NoKey, ""},
    {"basic", "joe@a..com", false, ProxyStatus::NoKey, ""},
    {"basic", "a.b@x.y.z", true, ProxyStatus::NoKey, ""},
    {"basic", "a.b@x.y.z", false, ProxyStatus::NoKey, ""},
    {"basic", "x@bad.example.com", true, ProxyStatus::NoKey, ""},
    {"basic", "x@bad.example.com", false, ProxyStatus::NoKey, ""},
    {"basic", "a@EXAMPLE1.org", true, ProxyStatus::NoKey, ""},
    {"basic", "a@EXAMPLE1.org", false, ProxyStatus::NoKey, ""},
    {"basic", "a@sub.example.com", true, ProxyStatus::NoKey, ""},
    {"basic", "a@sub.example.com", false, ProxyStatus::NoKey, ""},
    {"basic", "example.com", true, ProxyStatus::NoKey, ""},
    {"basic", "example.com", false, ProxyStatus::NoKey, ""},
    {"basic", "u@v@example.com", true, ProxyStatus::NoKey, ""},
    {"basic", "u@v@example.com", false, ProxyStatus::NoKey, ""},
    {"basic", "@K@@example.com", true, ProxyStatus::NoKey, ""},
    {"basic", "@K@@example.com", false, ProxyStatus::NoKey, ""},
    {"basic", "%s%u", true, ProxyStatus::NoKey, ""},
    {"basic", "%s%u", false, ProxyStatus::NoKey, ""},
    {"basic", "with space@example.com", true, ProxyStatus::NoKey, ""},
    {"basic", "with space@example.com", false, ProxyStatus::NoKey, ""},
    {"echo", "User@Example.COM", true, ProxyStatus::Ok,
     "S=user@example.com|u=user|U=user|P=%"},
    {"echo", "User@Example.COM", false, ProxyStatus::Ok,
     "S=User@Example.COM|u=User|U=User|P=%"},
    {"echo", "user@example.com", true, ProxyStatus::Ok,
     "S=user@example.com|u=user|U=user|P=%"},
    {"echo", "user@example.com", false, ProxyStatus::Ok,
     "S=user@example.com|u=user|U=user|P=%"},
    {"echo", "multi", true, ProxyStatus::Ok, "S=multi|u=multi|U=multi|P=%"},
    {"echo", "multi", false, ProxyStatus::Ok, "S=multi|u=multi|U=multi|P=%"},
    {"echo", "nullonly", true, ProxyStatus::Ok, "S=nullonly|u=nullonly|U=nullonly|P=%"},
    {"echo", "nullonly", false, ProxyStatus::Ok, "S=nullonly|u=nullonly|U=nullonly|P=%"},
    {"echo", "emptyonly", true, ProxyStatus::Ok,
     "S=emptyonly|u=emptyonly|U=emptyonly|P=%"},
    {"echo", "emptyonly", false, ProxyStatus::Ok,
     "S=emptyonly|u=emptyonly|U=emptyonly|P=%"},
    {"echo", "o'ne", true, ProxyStatus::Ok, "S=o'ne|u=o'ne|U=o'ne|P=%"},
    {"echo", "o'ne", false, ProxyStatus::Ok, "S=o'ne|u=o'ne|U=o'ne|P=%"},
    {"echo", "do\"ub", true, ProxyStatus::Ok, "S=do\"ub|u=do\"ub|U=do\"ub|P=%"},
    {"echo", "do\"ub", false, ProxyStatus::Ok, "S=do\"ub|u=do\"ub|U=do\"ub|P=%"},
    {"echo", "back\\slash", true, ProxyStatus::Ok,
     "S=back\\slash|u=back\\slash|U=back\\slash|P=%"},
    {"echo", "back\\slash", false, ProxyStatus::Ok,
     "S=back\\slash|u=back\\slash|U=back\\slash|P=%"},
    {"echo", "100%", true, ProxyStatus::Ok, "S=100%|u=100%|U=100%|P=%"},
    {"echo", "100%", false, ProxyStatus::Ok, "S=100%|u=100%|U=100%|P=%"},
    {"echo", "mixed@case.org", true, ProxyStatus::Ok,
     "S=mixed@case.org|u=mixed|U=mixed|P=%"},
    {"echo", "mixed@case.org", false, ProxyStatus::Ok,
     "S=mixed@case.org|u=mixed|U=mixed|P=%"},
    {"echo",
     "\xc3\xbcn\xc3\xaf"
     "code@ex\xc3\xa4mple.de",
     true, ProxyStatus::Ok,
     "S=\xc3\xbcn\xc3\xaf"
     "code@ex\xc3\xa4mple.de|u=\xc3\xbcn\xc3\xaf"
     "code|U=\xc3\xbcn\xc3\xaf"
     "code|P=%"},
    {"echo",
     "\xc3\xbcn\xc3\xaf"
     "code@ex\xc3\xa4mple.de",
     false, ProxyStatus::Ok,
     "S=\xc3\xbcn\xc3\xaf"
     "code@ex\xc3\xa4mple.de|u=\xc3\xbcn\xc3\xaf"
     "code|U=\xc3\xbcn\xc3\xaf"
     "code|P=%"},
    {"echo",
     "\xc3\x9cN\xc3\x8f"
     "CODE@EX\xc3\x84MPLE.DE",
     true, ProxyStatus::Ok,
     "S=\xc3\x9cn\xc3\x8f"
     "code@ex\xc3\x84mple.de|u=\xc3\x9cn\xc3\x8f"
     "code|U=\xc3\x9cn\xc3\x8f"
     "code|P=%"},
    {"echo",
     "\xc3\x9cN\xc3\x8f"
     "CODE@EX\xc3\x84MPLE.DE",
     false, ProxyStatus::Ok,
     "S=\xc3\x9cN\xc3\x8f"
     "CODE@EX\xc3\x84MPLE.DE|u=\xc3\x9cN\xc3\x8f"
     "CODE|U=\xc3\x9cN\xc3\x8f"
     "CODE|P=%"},
    {"echo", "\xff\xfe@example.com", true, ProxyStatus::NoKey, ""},
    {"echo", "\xff\xfe@example.com", false, ProxyStatus::NoKey, ""},
    {"echo", "@example.com", true, ProxyStatus::NoKey, ""},
    {"echo", "@example.com", false, ProxyStatus::NoKey, ""},
    {"echo", "user@", true, ProxyStatus::Ok, "S=user@|u=user|U=user|P=%"},
    {"echo", "user@", false, ProxyStatus::Ok, "S=user@|u=user|U=user|P=%"},
    {"echo", "user", true, ProxyStatus::Ok, "S=user|u=user|U=user|P=%"},
    {"echo", "user", false, ProxyStatus::Ok, "S=user|u=user|U=user|P=%"},
    {"echo", "joe@com", true, ProxyStatus::Ok, "S=joe@com|u=joe|U=joe|P=%"},
    {"echo", "joe@com", false, ProxyStatus::Ok, "S=joe@com|u=joe|U=joe|P=%"},
    {"echo", "joe@a..com", true, ProxyStatus::Ok, "S=joe@a..com|u=joe|U=joe|P=%"},
    {"echo", "joe@a..com", false, ProxyStatus::Ok, "S=joe@a..com|u=joe|U=joe|P=%"},
    {"echo", "a.b@x.y.z", true, ProxyStatus::Ok, "S=a.b@x.y.z|u=a.b|U=a.b|P=%"},
    {"echo", "a.b@x.y.z", false, ProxyStatus::Ok, "S=a.b@x.y.z|u=a.b|U=a.b|P=%"},
    {"echo", "x@bad.example.com", true, ProxyStatus::Ok,
     "S=x@bad.example.com|u=x|U=x|P=%"},
    {"echo", "x@bad.example.com", false, ProxyStatus::Ok,
     "S=x@bad.example.com|u=x|U=x|P=%"},
    {"echo", "a@EXAMPLE1.org", true, ProxyStatus::Ok, "S=a@example1.org|u=a|U=a|P=%"},
    {"echo", "a@EXAMPLE1.org", false, ProxyStatus::Ok, "S=a@EXAMPLE1.org|u=a|U=a|P=%"},
    {"echo", "a@sub.example.com", true, ProxyStatus::Ok,
     "S=a@sub.example.com|u=a|U=a|P=%"},
    {"echo", "a@sub.example.com", false, ProxyStatus::Ok,
     "S=a@sub.example.com|u=a|U=a|P=%"},
    {"echo", "example.com", true, ProxyStatus::Ok,
     "S=example.com|u=example.com|U=example.com|P=%"},
    {"echo", "example.com", false, ProxyStatus::Ok,
     "S=example.com|u=example.com|U=example.com|P=%"},
    {"echo", "u@v@example.com", true, ProxyStatus::Ok,
     "S=u@v@example.com|u=u@v|U=u@v|P=%"},
    {"echo", "u@v@example.com", false, ProxyStatus::Ok,
     "S=u@v@example.com|u=u@v|U=u@v|P=%"},
    {"echo", "@K@@example.com", true, ProxyStatus::Ok,
     "S=@K@@example.com|u=@K@|U=@K@|P=%"},
    {"echo", "@K@@example.com", false, ProxyStatus::Ok,
     "S=@K@@example.com|u=@K@|U=@K@|P=%"},
    {"echo", "%s%u", true, ProxyStatus::Ok, "S=%s%u|u=%s%u|U=%s%u|P=%"},
    {"echo", "%s%u", false, ProxyStatus::Ok, "S=%s%u|u=%s%u|U=%s%u|P=%"},
    {"echo", "with space@example.com", true, ProxyStatus::Ok,
     "S=with space@example.com|u=with space|U=with space|P=%"},
    {"echo", "with space@example.com", false, ProxyStatus::Ok,
     "S=with space@example.com|u=with space|U=with space|P=%"},
    {"echod", "User@Example.COM", true, ProxyStatus::Ok,
     "d=example.com|D=example.com|1=com|2=example"},
    {"echod", "User@Example.COM", false, ProxyStatus::Ok,
     "d=Example.COM|D=Example.COM|1=COM|2=Example"},
    {"echod", "user@example.com", true, ProxyStatus::Ok,
     "d=example.com|D=example.com|1=com|2=example"},
    {"echod", "user@example.com", false, ProxyStatus::Ok,
     "d=example.com|D=example.com|1=com|2=example"},
    {"echod", "multi", true, ProxyStatus::NoKey, ""},
    {"echod", "multi", false, ProxyStatus::NoKey, ""},
    {"echod", "nullonly", true, ProxyStatus::NoKey, ""},
    {"echod", "nullonly", false, ProxyStatus::NoKey, ""},
    {"echod", "emptyonly", true, ProxyStatus::NoKey, ""},
    {"echod", "emptyonly", false, ProxyStatus::NoKey, ""},
    {"echod", "o'ne", true, ProxyStatus::NoKey, ""},
    {"echod", "o'ne", false, ProxyStatus::NoKey, ""},
    {"echod", "do\"ub", true, ProxyStatus::NoKey, ""},
    {"echod", "do\"ub", false, ProxyStatus::NoKey, ""},
    {"echod", "back\\slash", true, ProxyStatus::NoKey, ""},
    {"echod", "back\\slash", false, ProxyStatus::NoKey, ""},
    {"echod", "100%", true, ProxyStatus::NoKey, ""},
    {"echod", "100%", false, ProxyStatus::NoKey, ""},
    {"echod", "mixed@case.org", true, ProxyStatus::Ok,
     "d=case.org|D=case.org|1=org|2=case"},
    {"echod", "mixed@case.org", false, ProxyStatus::Ok,
     "d=case.org|D=case.org|1=org|2=case"},
    {"echod",
     "\xc3\xbcn\xc3\xaf"
     "code@ex\xc3\xa4mple.de",
     true, ProxyStatus::Ok,
     "d=ex\xc3\xa4mple.de|D=ex\xc3\xa4mple.de|1=de|2=ex\xc3\xa4mple"},
    {"echod",
     "\xc3\xbcn\xc3\xaf"
     "code@ex\xc3\xa4mple.de",
     false, ProxyStatus::Ok,
     "d=ex\xc3\xa4mple.de|D=ex\xc3\xa4mple.de|1=de|2=ex\xc3\xa4mple"},
    {"echod",
     "\xc3\x9cN\xc3\x8f"
     "CODE@EX\xc3\x84MPLE.DE",
     true, ProxyStatus::Ok,
     "d=ex\xc3\x84mple.de|D=ex\xc3\x84mple.de|1=de|2=ex\xc3\x84mple"},
    {"echod",
     "\xc3\x9cN\xc3\x8f"
     "CODE@EX\xc3\x84MPLE.DE",
     false, ProxyStatus::Ok,
     "d=EX\xc3\x84MPLE.DE|D=EX\xc3\x84MPLE.DE|1=DE|2=EX\xc3\x84MPLE"},
    {"echod", "\xff\xfe@example.com", true, ProxyStatus::NoKey, ""},
    {"echod", "\xff\xfe@example.com", false, ProxyStatus::NoKey, ""},
    {"echod", "@example.com", true, ProxyStatus::Ok,
     "d=example.com|D=example.com|1=com|2=example"},
    {"echod", "@example.com", false, ProxyStatus::Ok,
     "d=example.com|D=example.com|1=com|2=example"},
    {"echod", "user@", true, ProxyStatus::NoKey, ""},
    {"echod", "user@", false, ProxyStatus::NoKey, ""},
    {"echod", "user", true, ProxyStatus::NoKey, ""},
    {"echod", "user", false, ProxyStatus::NoKey, ""},
    {"echod", "joe@com", true, ProxyStatus::NoKey, ""},
    {"echod", "joe@com", false, ProxyStatus::NoKey, ""},
    {"echod", "joe@a..com", true, ProxyStatus::Ok, "d=a..com|D=a..com|1=com|2=a"},
    {"echod", "joe@a..com", false, ProxyStatus::Ok, "d=a..com|D=a..com|1=com|2=a"},
    {"echod", "a.b@x.y.z", true, ProxyStatus::Ok, "d=x.y.z|D=x.y.z|1=z|2=y"},
    {"echod", "a.b@x.y.z", false, ProxyStatus::Ok, "d=x.y.z|D=x.y.z|1=z|2=y"},
    {"echod", "x@bad.example.com", true, ProxyStatus::Ok,
     "d=bad.example.com|D=bad.example.com|1=com|2=example"},
    {"echod", "x@bad.example.com", false, ProxyStatus::Ok,
     "d=bad.example.com|D=bad.example.com|1=com|2=example"},
    {"echod", "a@EXAMPLE1.org", true, ProxyStatus::Ok,
     "d=example1.org|D=example1.org|1=org|2=example1"},
    {"echod", "a@EXAMPLE1.org", false, ProxyStatus::Ok,
     "d=EXAMPLE1.org|D=EXAMPLE1.org|1=org|2=EXAMPLE1"},
    {"echod", "a@sub.example.com", true, ProxyStatus::Ok,
     "d=sub.example.com|D=sub.example.com|1=com|2=example"},
    {"echod", "a@sub.example.com", false, ProxyStatus::Ok,
     "d=sub.example.com|D=sub.example.com|1=com|2=example"},
    {"echod", "example.com", true, ProxyStatus::NoKey, ""},
    {"echod", "example.com", false, ProxyStatus::NoKey, ""},
    {"echod", "u@v@example.com", true, ProxyStatus::Ok,
     "d=example.com|D=example.com|1=com|2=example"},
    {"echod", "u@v@example.com", false, ProxyStatus::Ok,
     "d=example.com|D=example.com|1=com|2=example"},
    {"echod", "@K@@example.com", true, ProxyStatus::Ok,
     "d=example.com|D=example.com|1=com|2=example"},
    {"echod", "@K@@example.com", false, ProxyStatus::Ok,
     "d=example.com|D=example.com|1=com|2=example"},
    {"echod", "%s%u", true, ProxyStatus::NoKey, ""},
    {"echod", "%s%u", false, ProxyStatus::NoKey, ""},
    {"echod", "with space@example.com", true, ProxyStatus::Ok,
     "d=example.com|D=example.com|1=com|2=example"},
    {"echod", "with space@example.com", false, ProxyStatus::Ok,
     "d=example.com|D=example.com|1=com|2=example"},
    {"rf", "User@Example.COM", true, ProxyStatus::Ok,
     "alice at dest.org for user/example.com/user@example.com/com,bob at dest.org for "
     "user/example.com/user@example.com/com"},
    {"rf", "User@Example.COM", false, ProxyStatus::NoKey, ""},
    {"rf", "user@example.com", true, ProxyStatus::Ok,
     "alice at dest.org for user/example.com/user@example.com/com,bob at dest.org for "
     "user/example.com/user@example.com/com"},
    {"rf", "user@example.com", false, ProxyStatus::Ok,
     "alice at dest.org for user/example.com/user@example.com/com,bob at dest.org for "
     "user/example.com/user@example.com/com"},
    {"rf", "multi", true, ProxyStatus::NoKey, ""},
    {"rf", "multi", false, ProxyStatus::NoKey, ""},
    {"rf", "nullonly", true, ProxyStatus::NoKey, ""},
    {"rf", "nullonly", false, ProxyStatus::NoKey, ""},
    {"rf", "emptyonly", true, ProxyStatus::NoKey, ""},
    {"rf", "emptyonly", false, ProxyStatus::NoKey, ""},
    {"rf", "o'ne", true, ProxyStatus::NoKey, ""},
    {"rf", "o'ne", false, ProxyStatus::NoKey, ""},
    {"rf", "do\"ub", true, ProxyStatus::NoKey, ""},
    {"rf", "do\"ub", false, ProxyStatus::NoKey, ""},
    {"rf", "back\\slash", true, ProxyStatus::NoKey, ""},
    {"rf", "back\\slash", false, ProxyStatus::NoKey, ""},
    {"rf", "100%", true, ProxyStatus::NoKey, ""},
    {"rf", "100%", false, ProxyStatus::NoKey, ""},
    {"rf", "mixed@case.org", true, ProxyStatus::NoKey, ""},
    {"rf", "mixed@case.org", false, ProxyStatus::NoKey, ""},
    {"rf",
     "\xc3\xbcn\xc3\xaf"
     "code@ex\xc3\xa4mple.de",
     true, ProxyStatus::NoKey, ""},
    {"rf",
     "\xc3\xbcn\xc3\xaf"
     "code@ex\xc3\xa4mple.de",
     false, ProxyStatus::NoKey, ""},
    {"rf",
     "\xc3\x9cN\xc3\x8f"
     "CODE@EX\xc3\x84MPLE.DE",
     true, ProxyStatus::NoKey, ""},
    {"rf",
     "\xc3\x9cN\xc3\x8f"
     "CODE@EX\xc3\x84MPLE.DE",
     false, ProxyStatus::NoKey, ""},
    {"rf", "\xff\xfe@example.com", true, ProxyStatus::NoKey, ""},
    {"rf", "\xff\xfe@example.com", false, ProxyStatus::NoKey, ""},
    {"rf", "@example.com", true, ProxyStatus::NoKey, ""},
    {"rf", "@example.com", false, ProxyStatus::NoKey, ""},
    {"rf", "user@", true, ProxyStatus::NoKey, ""},
    {"rf", "user@", false, ProxyStatus::NoKey, ""},
    {"rf", "user", true, ProxyStatus::NoKey, ""},
    {"rf", "user", false, ProxyStatus::NoKey, ""},
    {"rf", "joe@com", true, ProxyStatus::NoKey, ""},
    {"rf", "joe@com", false, ProxyStatus::NoKey, ""},
    {"rf", "joe@a..com", true, ProxyStatus::NoKey, ""},
    {"rf", "joe@a..com", false, ProxyStatus::NoKey, ""},
    {"rf", "a.b@x.y.z", true, ProxyStatus::NoKey, ""},
    {"rf", "a.b@x.y.z", false, ProxyStatus::NoKey, ""},
    {"rf", "x@bad.example.com", true, ProxyStatus::NoKey, ""},
    {"rf", "x@bad.example.com", false, ProxyStatus::NoKey, ""},
    {"rf", "a@EXAMPLE1.org", true, ProxyStatus::NoKey, ""},
    {"rf", "a@EXAMPLE1.org", false, ProxyStatus::NoKey, ""},
    {"rf", "a@sub.example.com", true, ProxyStatus::NoKey, ""},
    {"rf", "a@sub.example.com", false, ProxyStatus::NoKey, ""},
    {"rf", "example.com", true, ProxyStatus::NoKey, ""},
    {"rf", "example.com", false, ProxyStatus::NoKey, ""},
    {"rf", "u@v@example.com", true, ProxyStatus::NoKey, ""},
    {"rf", "u@v@example.com", false, ProxyStatus::NoKey, ""},
    {"rf", "@K@@example.com", true, ProxyStatus::NoKey, ""},
    {"rf", "@K@@example.com", false, ProxyStatus::NoKey, ""},
    {"rf", "%s%u", true, ProxyStatus::NoKey, ""},
    {"rf", "%s%u", false, ProxyStatus::NoKey, ""},
    {"rf", "with space@example.com", true, ProxyStatus::NoKey, ""},
    {"rf", "with space@example.com", false, ProxyStatus::NoKey, ""},
    {"rfu", "User@Example.COM", true, ProxyStatus::Ok, "<alice>,<bob>,<plainvalue>"},
    {"rfu", "User@Example.COM", false, ProxyStatus::NoKey, ""},
    {"rfu", "user@example.com", true, ProxyStatus::Ok, "<alice>,<bob>,<plainvalue>"},
    {"rfu", "user@example.com", false, ProxyStatus::Ok, "<alice>,<bob>,<plainvalue>"},
    {"rfu", "multi", true, ProxyStatus::Ok, "<m1>,<m2>,<m3>"},
    {"rfu", "multi", false, ProxyStatus::Ok, "<m1>,<m2>,<m3>"},
    {"rfu", "nullonly", true, ProxyStatus::NoKey, ""},
    {"rfu", "nullonly", false, ProxyStatus::NoKey, ""},
    {"rfu", "emptyonly", true, ProxyStatus::NoKey, ""},
    {"rfu", "emptyonly", false, ProxyStatus::NoKey, ""},
    {"rfu", "o'ne", true, ProxyStatus::Ok, "<quoted-single>"},
    {"rfu", "o'ne", false, ProxyStatus::Ok, "<quoted-single>"},
    {"rfu", "do\"ub", true, ProxyStatus::Ok, "<quoted-double>"},
    {"rfu", "do\"ub", false, ProxyStatus::Ok, "<quoted-double>"},
    {"rfu", "back\\slash", true, ProxyStatus::Ok, "<bs>"},
    {"rfu", "back\\slash", false, ProxyStatus::Ok, "<bs>"},
    {"rfu", "100%", true, ProxyStatus::Ok, "<pct>"},
    {"rfu", "100%", false, ProxyStatus::Ok, "<pct>"},
    {"rfu", "mixed@case.org", true, ProxyStatus::Ok, "<mixed-hit>"},
    {"rfu", "mixed@case.org", false, ProxyStatus::Ok, "<mixed-hit>"},
    {"rfu",
     "\xc3\xbcn\xc3\xaf"
     "code@ex\xc3\xa4mple.de",
     true, ProxyStatus::Ok, "<utf8-hit>"},
    {"rfu",
     "\xc3\xbcn\xc3\xaf"
     "code@ex\xc3\xa4mple.de",
     false, ProxyStatus::Ok, "<utf8-hit>"},
    {"rfu",
     "\xc3\x9cN\xc3\x8f"
     "CODE@EX\xc3\x84MPLE.DE",
     true, ProxyStatus::NoKey, ""},
    {"rfu",
     "\xc3\x9cN\xc3\x8f"
     "CODE@EX\xc3\x84MPLE.DE",
     false, ProxyStatus::NoKey, ""},
    {"rfu", "\xff\xfe@example.com", true, ProxyStatus::NoKey, ""},
    {"rfu", "\xff\xfe@example.com", false, ProxyStatus::NoKey, ""},
    {"rfu", "@example.com", true, ProxyStatus::NoKey, ""},
    {"rfu", "@example.com", false, ProxyStatus::NoKey, ""},
    {"rfu", "user@", true, ProxyStatus::NoKey, ""},
    {"rfu", "user@", false, ProxyStatus::NoKey, ""},
    {"rfu", "user", true, ProxyStatus::NoKey, ""},
    {"rfu", "user", false, ProxyStatus::NoKey, ""},
    {"rfu", "joe@com", true, ProxyStatus::NoKey, ""},
    {"rfu", "joe@com", false, ProxyStatus::NoKey, ""},
    {"rfu", "joe@a..com", true, ProxyStatus::NoKey, ""},
    {"rfu", "joe@a..com", false, ProxyStatus::NoKey, ""},
    {"rfu", "a.b@x.y.z", true, ProxyStatus::NoKey, ""},
    {"rfu", "a.b@x.y.z", false, ProxyStatus::NoKey, ""},
    {"rfu", "x@bad.example.com", true, ProxyStatus::NoKey, ""},
    {"rfu", "x@bad.example.com", false, ProxyStatus::NoKey, ""},
    {"rfu", "a@EXAMPLE1.org", true, ProxyStatus::NoKey, ""},
    {"rfu", "a@EXAMPLE1.org", false, ProxyStatus::NoKey, ""},
    {"rfu", "a@sub.example.com", true, ProxyStatus::NoKey, ""},
    {"rfu", "a@sub.example.com", false, ProxyStatus::NoKey, ""},
    {"rfu", "example.com", true, ProxyStatus::NoKey, ""},
    {"rfu", "example.com", false, ProxyStatus::NoKey, ""},
    {"rfu", "u@v@example.com", true, ProxyStatus::NoKey, ""},
    {"rfu", "u@v@example.com", false, ProxyStatus::NoKey, ""},
    {"rfu", "@K@@example.com", true, ProxyStatus::NoKey, ""},
    {"rfu", "@K@@example.com", false, ProxyStatus::NoKey, ""},
    {"rfu", "%s%u", true, ProxyStatus::NoKey, ""},
    {"rfu", "%s%u", false, ProxyStatus::NoKey, ""},
    {"rfu", "with space@example.com", true, ProxyStatus::NoKey, ""},
    {"rfu", "with space@example.com", false, ProxyStatus::NoKey, ""},
    {"limit", "User@Example.COM", true, ProxyStatus::Retry, ""},
    {"limit", "User@Example.COM", false, ProxyStatus::NoKey, ""},
    {"limit", "user@example.com", true, ProxyStatus::Retry, ""},
    {"limit", "user@example.com", false, ProxyStatus::Retry, ""},
    {"limit", "multi", true, ProxyStatus::Ok, "m1,m2,m3"},
    {"limit", "multi", false, ProxyStatus::Ok, "m1,m2,m3"},
    {"limit", "nullonly", true, ProxyStatus::NoKey, ""},
    {"limit", "nullonly", false, ProxyStatus::NoKey, ""},
    {"limit", "emptyonly", true, ProxyStatus::NoKey, ""},
    {"limit", "emptyonly", false, ProxyStatus::NoKey, ""},
    {"limit", "o'ne", true, ProxyStatus::Ok, "quoted-single"},
    {"limit", "o'ne", false, ProxyStatus::Ok, "quoted-single"},
    {"limit", "do\"ub", true, ProxyStatus::Ok, "quoted-double"},
    {"limit", "do\"ub", false, ProxyStatus::Ok, "quoted-double"},
    {"limit", "back\\slash", true, ProxyStatus::Ok, "bs"},
    {"limit", "back\\slash", false, ProxyStatus::Ok, "bs"},
    {"limit", "100%", true, ProxyStatus::Ok, "pct"},
    {"limit", "100%", false, ProxyStatus::Ok, "pct"},
    {"limit", "mixed@case.org", true, ProxyStatus::Ok, "mixed-hit"},
    {"limit", "mixed@case.org", false, ProxyStatus::Ok, "mixed-hit"},
    {"limit",
     "\xc3\xbcn\xc3\xaf"
     "code@ex\xc3\xa4mple.de",
     true, ProxyStatus::Ok, "utf8-hit"},
    {"limit",
     "\xc3\xbcn\xc3\xaf"
     "code@ex\xc3\xa4mple.de",
     false, ProxyStatus::Ok, "utf8-hit"},
    {"limit",
     "\xc3\x9cN\xc3\x8f"
     "CODE@EX\xc3\x84MPLE.DE",
     true, ProxyStatus::NoKey, ""},
    {"limit",
     "\xc3\x9cN\xc3\x8f"
     "CODE@EX\xc3\x84MPLE.DE",
     false, ProxyStatus::NoKey, ""},
    {"limit", "\xff\xfe@example.com", true, ProxyStatus::NoKey, ""},
    {"limit", "\xff\xfe@example.com", false, ProxyStatus::NoKey, ""},
    {"limit", "@example.com", true, ProxyStatus::NoKey, ""},
    {"limit", "@example.com", false, ProxyStatus::NoKey, ""},
    {"limit", "user@", true, ProxyStatus::NoKey, ""},
    {"limit", "user@", false, ProxyStatus::NoKey, ""},
    {"limit", "user", true, ProxyStatus::NoKey, ""},
    {"limit", "user", false, ProxyStatus::NoKey, ""},
    {"limit", "joe@com", true, ProxyStatus::NoKey, ""},
    {"limit", "joe@com", false, ProxyStatus::NoKey, ""},
    {"limit", "joe@a..com", true, ProxyStatus::NoKey, ""},
    {"limit", "joe@a..com", false, ProxyStatus::NoKey, ""},
    {"limit", "a.b@x.y.z", true, ProxyStatus::NoKey, ""},
    {"limit", "a.b@x.y.z", false, ProxyStatus::NoKey, ""},
    {"limit", "x@bad.example.com", true, ProxyStatus::NoKey, ""},
    {"limit", "x@bad.example.com", false, ProxyStatus::NoKey, ""},
    {"limit", "a@EXAMPLE1.org", true, ProxyStatus::NoKey, ""},
    {"limit", "a@EXAMPLE1.org", false, ProxyStatus::NoKey, ""},
    {"limit", "a@sub.example.com", true, ProxyStatus::NoKey, ""},
    {"limit", "a@sub.example.com", false, ProxyStatus::NoKey, ""},
    {"limit", "example.com", true, ProxyStatus::NoKey, ""},
    {"limit", "example.com", false, ProxyStatus::NoKey, ""},
    {"limit", "u@v@example.com", true, ProxyStatus::NoKey, ""},
    {"limit", "u@v@example.com", false, ProxyStatus::NoKey, ""},
    {"limit", "@K@@example.com", true, ProxyStatus::NoKey, ""},
    {"limit", "@K@@example.com", false, ProxyStatus::NoKey, ""},
    {"limit", "%s%u", true, ProxyStatus::NoKey, ""},
    {"limit", "%s%u", false, ProxyStatus::NoKey, ""},
    {"limit", "with space@example.com", true, ProxyStatus::NoKey, ""},
    {"limit", "with space@example.com", false, ProxyStatus::NoKey, ""},
    {"dom", "User@Example.COM", true, ProxyStatus::Ok, "user@example.com"},
    {"dom", "User@Example.COM", false, ProxyStatus::Ok, "User@Example.COM"},
    {"dom", "user@example.com", true, ProxyStatus::Ok, "user@example.com"},
    {"dom", "user@example.com", false, ProxyStatus::Ok, "user@example.com"},
    {"dom", "multi", true, ProxyStatus::NoKey, ""},
    {"dom", "multi", false, ProxyStatus::NoKey, ""},
    {"dom", "nullonly", true, ProxyStatus::NoKey, ""},
    {"dom", "nullonly", false, ProxyStatus::NoKey, ""},
    {"dom", "emptyonly", true, ProxyStatus::NoKey, ""},
    {"dom", "emptyonly", false, ProxyStatus::NoKey, ""},
    {"dom", "o'ne", true, ProxyStatus::NoKey, ""},
    {"dom", "o'ne", false, ProxyStatus::NoKey, ""},
    {"dom", "do\"ub", true, ProxyStatus::NoKey, ""},
    {"dom", "do\"ub", false, ProxyStatus::NoKey, ""},
    {"dom", "back\\slash", true, ProxyStatus::NoKey, ""},
    {"dom", "back\\slash", false, ProxyStatus::NoKey, ""},
    {"dom", "100%", true, ProxyStatus::NoKey, ""},
    {"dom", "100%", false, ProxyStatus::NoKey, ""},
    {"dom", "mixed@case.org", true, ProxyStatus::NoKey, ""},
    {"dom", "mixed@case.org", false, ProxyStatus::NoKey, ""},
    {"dom",
     "\xc3\xbcn\xc3\xaf"
     "code@ex\xc3\xa4mple.de",
     true, ProxyStatus::Ok,
     "\xc3\xbcn\xc3\xaf"
     "code@ex\xc3\xa4mple.de"},
    {"dom",
     "\xc3\xbcn\xc3\xaf"
     "code@ex\xc3\xa4mple.de",
     false, ProxyStatus::Ok,
     "\xc3\xbcn\xc3\xaf"
     "code@ex\xc3\xa4mple.de"},
    {"dom",
     "\xc3\x9cN\xc3\x8f"
     "CODE@EX\xc3\x84MPLE.DE",
     true, ProxyStatus::NoKey, ""},
    {"dom",
     "\xc3\x9cN\xc3\x8f"
     "CODE@EX\xc3\x84MPLE.DE",
     false, ProxyStatus::NoKey, ""},
    {"dom", "\xff\xfe@example.com", true, ProxyStatus::NoKey, ""},
    {"dom", "\xff\xfe@example.com", false, ProxyStatus::NoKey, ""},
    {"dom", "@example.com", true, ProxyStatus::NoKey, ""},
    {"dom", "@example.com", false, ProxyStatus::NoKey, ""},
    {"dom", "user@", true, ProxyStatus::NoKey, ""},
    {"dom", "user@", false, ProxyStatus::NoKey, ""},
    {"dom", "user", true, ProxyStatus::NoKey, ""},
    {"dom", "user", false, ProxyStatus::NoKey, ""},
    {"dom", "joe@com", true, ProxyStatus::NoKey, ""},
    {"dom", "joe@com", false, ProxyStatus::NoKey, ""},
    {"dom", "joe@a..com", true, ProxyStatus::NoKey, ""},
    {"dom", "joe@a..com", false, ProxyStatus::NoKey, ""},
    {"dom", "a.b@x.y.z", true, ProxyStatus::NoKey, ""},
    {"dom", "a.b@x.y.z", false, ProxyStatus::NoKey, ""},
    {"dom", "x@bad.example.com", true, ProxyStatus::NoKey, ""},
    {"dom", "x@bad.example.com", false, ProxyStatus::NoKey, ""},
    {"dom", "a@EXAMPLE1.org", true, ProxyStatus::Ok, "a@example1.org"},
    {"dom", "a@EXAMPLE1.org", false, ProxyStatus::Ok, "a@EXAMPLE1.org"},
    {"dom", "a@sub.example.com", true, ProxyStatus::NoKey, ""},
    {"dom", "a@sub.example.com", false, ProxyStatus::NoKey, ""},
    {"dom", "example.com", true, ProxyStatus::NoKey, ""},
    {"dom", "example.com", false, ProxyStatus::NoKey, ""},
    {"dom", "u@v@example.com", true, ProxyStatus::Ok, "u@v@example.com"},
    {"dom", "u@v@example.com", false, ProxyStatus::Ok, "u@v@example.com"},
    {"dom", "@K@@example.com", true, ProxyStatus::Ok, "@K@@example.com"},
    {"dom", "@K@@example.com", false, ProxyStatus::Ok, "@K@@example.com"},
    {"dom", "%s%u", true, ProxyStatus::NoKey, ""},
    {"dom", "%s%u", false, ProxyStatus::NoKey, ""},
    {"dom", "with space@example.com", true, ProxyStatus::Ok, "with space@example.com"},
    {"dom", "with space@example.com", false, ProxyStatus::Ok, "with space@example.com"},
    {"cols", "User@Example.COM", true, ProxyStatus::Ok, "a,d"},
    {"cols", "User@Example.COM", false, ProxyStatus::Ok, "a,d"},
    {"cols", "user@example.com", true, ProxyStatus::Ok, "a,d"},
    {"cols", "user@example.com", false, ProxyStatus::Ok, "a,d"},
    {"cols", "multi", true, ProxyStatus::Ok, "a,d"},
    {"cols", "multi", false, ProxyStatus::Ok, "a,d"},
    {"cols", "nullonly", true, ProxyStatus::Ok, "a,d"},
    {"cols", "nullonly", false, ProxyStatus::Ok, "a,d"},
    {"cols", "emptyonly", true, ProxyStatus::Ok, "a,d"},
    {"cols", "emptyonly", false, ProxyStatus::Ok, "a,d"},
    {"cols", "o'ne", true, ProxyStatus::Ok, "a,d"},
    {"cols", "o'ne", false, ProxyStatus::Ok, "a,d"},
    {"cols", "do\"ub", true, ProxyStatus::Ok, "a,d"},
    {"cols", "do\"ub", false, ProxyStatus::Ok, "a,d"},
    {"cols", "back\\slash", true, ProxyStatus::Ok, "a,d"},
    {"cols", "back\\slash", false, ProxyStatus::Ok, "a,d"},
    {"cols", "100%", true, ProxyStatus::Ok, "a,d"},
    {"cols", "100%", false, ProxyStatus::Ok, "a,d"},
    {"cols", "mixed@case.org", true, ProxyStatus::Ok, "a,d"},
    {"cols", "mixed@case.org", false, ProxyStatus::Ok, "a,d"},
    {"cols",
     "\xc3\xbcn\xc3\xaf"
     "code@ex\xc3\xa4mple.de",
     true, ProxyStatus::Ok, "a,d"},
    {"cols",
     "\xc3\xbcn\xc3\xaf"
     "code@ex\xc3\xa4mple.de",
     false, ProxyStatus::Ok, "a,d"},
    {"cols",
     "\xc3\x9cN\xc3\x8f"
     "CODE@EX\xc3\x84MPLE.DE",
     true, ProxyStatus::Ok, "a,d"},
    {"cols",
     "\xc3\x9cN\xc3\x8f"
     "CODE@EX\xc3\x84MPLE.DE",
     false, ProxyStatus::Ok, "a,d"},
    {"cols", "\xff\xfe@example.com", true, ProxyStatus::NoKey, ""},
    {"cols", "\xff\xfe@example.com", false, ProxyStatus::NoKey, ""},
    {"cols", "@example.com", true, ProxyStatus::Ok, "a,d"},
    {"cols", "@example.com", false, ProxyStatus::Ok, "a,d"},
    {"cols", "user@", true, ProxyStatus::Ok, "a,d"},
    {"cols", "user@", false, ProxyStatus::Ok, "a,d"},
    {"cols", "user", true, ProxyStatus::Ok, "a,d"},
    {"cols", "user", false, ProxyStatus::Ok, "a,d"},
    {"cols", "joe@com", true, ProxyStatus::Ok, "a,d"},
    {"cols", "joe@com", false, ProxyStatus::Ok, "a,d"},
    {"cols", "joe@a..com", true, ProxyStatus::Ok, "a,d"},
    {"cols", "joe@a..com", false, ProxyStatus::Ok, "a,d"},
    {"cols", "a.b@x.y.z", true, ProxyStatus::Ok, "a,d"},
    {"cols", "a.b@x.y.z", false, ProxyStatus::Ok, "a,d"},
    {"cols", "x@bad.example.com", true, ProxyStatus::Ok, "a,d"},
    {"cols", "x@bad.example.com", false, ProxyStatus::Ok, "a,d"},
    {"cols", "a@EXAMPLE1.org", true, ProxyStatus::Ok, "a,d"},
    {"cols", "a@EXAMPLE1.org", false, ProxyStatus::Ok, "a,d"},
    {"cols", "a@sub.example.com", true, ProxyStatus::Ok, "a,d"},
    {"cols", "a@sub.example.com", false, ProxyStatus::Ok, "a,d"},
    {"cols", "example.com", true, ProxyStatus::Ok, "a,d"},
    {"cols", "example.com", false, ProxyStatus::Ok, "a,d"},
    {"cols", "u@v@example.com", true, ProxyStatus::Ok, "a,d"},
    {"cols", "u@v@example.com", false, ProxyStatus::Ok, "a,d"},
    {"cols", "@K@@example.com", true, ProxyStatus::Ok, "a,d"},
    {"cols", "@K@@example.com", false, ProxyStatus::Ok, "a,d"},
    {"cols", "%s%u", true, ProxyStatus::Ok, "a,d"},
    {"cols", "%s%u", false, ProxyStatus::Ok, "a,d"},
    {"cols", "with space@example.com", true, ProxyStatus::Ok, "a,d"},
    {"cols", "with space@example.com", false, ProxyStatus::Ok, "a,d"},
    {"legacy", "User@Example.COM", true, ProxyStatus::Ok,
     "plainvalue,bob@dest.org,alice@dest.org,@nolocal.org"},
    {"legacy", "User@Example.COM", false, ProxyStatus::NoKey, ""},
    {"legacy", "user@example.com", true, ProxyStatus::Ok,
     "plainvalue,bob@dest.org,alice@dest.org,@nolocal.org"},
    {"legacy", "user@example.com", false, ProxyStatus::Ok,
     "plainvalue,bob@dest.org,alice@dest.org,@nolocal.org"},
    {"legacy", "multi", true, ProxyStatus::Ok, "m3,m2,m1"},
    {"legacy", "multi", false, ProxyStatus::Ok, "m3,m2,m1"},
    {"legacy", "nullonly", true, ProxyStatus::NoKey, ""},
    {"legacy", "nullonly", false, ProxyStatus::NoKey, ""},
    {"legacy", "emptyonly", true, ProxyStatus::NoKey, ""},
    {"legacy", "emptyonly", false, ProxyStatus::NoKey, ""},
    {"legacy", "o'ne", true, ProxyStatus::Ok, "quoted-single"},
    {"legacy", "o'ne", false, ProxyStatus::Ok, "quoted-single"},
    {"legacy", "do\"ub", true, ProxyStatus::Ok, "quoted-double"},
    {"legacy", "do\"ub", false, ProxyStatus::Ok, "quoted-double"},
    {"legacy", "back\\slash", true, ProxyStatus::Ok, "bs"},
    {"legacy", "back\\slash", false, ProxyStatus::Ok, "bs"},
    {"legacy", "100%", true, ProxyStatus::Ok, "pct"},
    {"legacy", "100%", false, ProxyStatus::Ok, "pct"},
    {"legacy", "mixed@case.org", true, ProxyStatus::Ok, "mixed-hit"},
    {"legacy", "mixed@case.org", false, ProxyStatus::Ok, "mixed-hit"},
    {"legacy",
     "\xc3\xbcn\xc3\xaf"
     "code@ex\xc3\xa4mple.de",
     true, ProxyStatus::Ok, "utf8-hit"},
    {"legacy",
     "\xc3\xbcn\xc3\xaf"
     "code@ex\xc3\xa4mple.de",
     false, ProxyStatus::Ok, "utf8-hit"},
    {"legacy",
     "\xc3\x9cN\xc3\x8f"
     "CODE@EX\xc3\x84MPLE.DE",
     true, ProxyStatus::NoKey, ""},
    {"legacy",
     "\xc3\x9cN\xc3\x8f"
     "CODE@EX\xc3\x84MPLE.DE",
     false, ProxyStatus::NoKey, ""},
    {"legacy", "\xff\xfe@example.com", true, ProxyStatus::NoKey, ""},
    {"legacy", "\xff\xfe@example.com", false, ProxyStatus::NoKey, ""},
    {"legacy", "@example.com", true, ProxyStatus::NoKey, ""},
    {"legacy", "@example.com", false, ProxyStatus::NoKey, ""},
    {"legacy", "user@", true, ProxyStatus::NoKey, ""},
    {"legacy", "user@", false, ProxyStatus::NoKey, ""},
    {"legacy", "user", true, ProxyStatus::NoKey, ""},
    {"legacy", "user", false, ProxyStatus::NoKey, ""},
    {"legacy", "joe@com", true, ProxyStatus::NoKey, ""},
    {"legacy", "joe@com", false, ProxyStatus::NoKey, ""},
    {"legacy", "joe@a..com", true, ProxyStatus::NoKey, ""},
    {"legacy", "joe@a..com", false, ProxyStatus::NoKey, ""},
    {"legacy", "a.b@x.y.z", true, ProxyStatus::NoKey, ""},
    {"legacy", "a.b@x.y.z", false, ProxyStatus::NoKey, ""},
    {"legacy", "x@bad.example.com", true, ProxyStatus::NoKey, ""},
    {"legacy", "x@bad.example.com", false, ProxyStatus::NoKey, ""},
    {"legacy", "a@EXAMPLE1.org", true, ProxyStatus::NoKey, ""},
    {"legacy", "a@EXAMPLE1.org", false, ProxyStatus::NoKey, ""},
    {"legacy", "a@sub.example.com", true, ProxyStatus::NoKey, ""},
    {"legacy", "a@sub.example.com", false, ProxyStatus::NoKey, ""},
    {"legacy", "example.com", true, ProxyStatus::NoKey, ""},
    {"legacy", "example.com", false, ProxyStatus::NoKey, ""},
    {"legacy", "u@v@example.com", true, ProxyStatus::NoKey, ""},
    {"legacy", "u@v@example.com", false, ProxyStatus::NoKey, ""},
    {"legacy", "@K@@example.com", true, ProxyStatus::NoKey, ""},
    {"legacy", "@K@@example.com", false, ProxyStatus::NoKey, ""},
    {"legacy", "%s%u", true, ProxyStatus::NoKey, ""},
    {"legacy", "%s%u", false, ProxyStatus::NoKey, ""},
    {"legacy", "with space@example.com", true, ProxyStatus::NoKey, ""},
    {"legacy", "with space@example.com", false, ProxyStatus::NoKey, ""},
};

std::string expand_placeholder(std::string_view text) {
  std::string out(text);
  const std::string marker = "@K@";
  const std::string longkey(2048, 'k');
  for (std::size_t pos = out.find(marker); pos != std::string::npos;
       pos = out.find(marker, pos + longkey.size())) {
    out.replace(pos, marker.size(), longkey);
  }
  return out;
}

class SqliteCorpus : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / fmt::format("proxyd_sql_table_test_{}", getpid());
    fs::create_directories(dir_);
    db_path_ = (dir_ / "t.db").string();
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_path_.c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    int rc = sqlite3_exec(db, kFixtureSql, nullptr, nullptr, &err);
    std::string msg = err ? err : "";
    sqlite3_free(err);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK) << msg;
    pools_ = std::make_unique<PoolSet>(PoolSettings{2}, poster_, log_);
    // The main.cf the corpus was captured with (smtputf8 off: domain lists
    // fold ASCII only).
    main_cf_.emplace(MainCf::from_string(kCorpusMainCf, log_));
    env_ = TableEnv{&*main_cf_, &log_, &poster_, pools_.get()};
  }
  void TearDown() override {
    pools_->shutdown();
    fs::remove_all(dir_);
  }

  std::string cf_path(const std::string& cf) const {
    return (dir_ / (cf + ".cf")).string();
  }

  Params params_for(const std::string& cf) const {
    Params p = corpus_cfs().at(cf);
    p["dbpath"] = db_path_;
    return p;
  }

  TablePtr open(const std::string& cf) {
    auto& slot = tables_[cf];
    if (!slot) {
      MapParams params(params_for(cf), cf_path(cf));
      slot = make_sql_table_from(SqlKind::Sqlite, cf_path(cf), params, OpenMode::ReadOnly,
                                 env_);
    }
    return slot;
  }

  static uint32_t flags_for(bool fold) { return pf::kLock | (fold ? pf::kFoldFix : 0u); }

  fs::path dir_;
  std::string db_path_;
  static constexpr const char* kCorpusMainCf =
      "compatibility_level = 3.6\nsmtputf8_enable = no\n";

  CaptureLogger log_;
  QueuedPoster poster_;
  std::unique_ptr<PoolSet> pools_;
  std::optional<MainCf> main_cf_;
  TableEnv env_;
  std::map<std::string, TablePtr> tables_;
};

TEST_F(SqliteCorpus, MatchesCapturedPostmapAnswers) {
  for (const OracleCase& c : kOracle) {
    TablePtr table = open(c.cf);
    std::string key = expand_placeholder(c.key);
    LookupResult got = lookup_sync(*table, key, flags_for(c.fold), poster_);
    EXPECT_EQ(got.status, c.status) << c.cf << " key=" << c.key << " fold=" << c.fold;
    EXPECT_EQ(got.value, expand_placeholder(c.value))
        << c.cf << " key=" << c.key << " fold=" << c.fold;
  }
  // Warnings with Postfix's wording.
  EXPECT_TRUE(log_.contains("empty lookup result for: \"multi\" -- ignored"));
  EXPECT_TRUE(log_.contains("Expansion limit exceeded for key 'user@example.com'"));
  EXPECT_EQ(tables_.at("basic")->impl_flags(), pf::kFixed);
}

// Run postmap for real; returns {status, value}. Needs no shell quoting.
std::optional<LookupResult> run_postmap(const fs::path& config_dir,
                                        const std::string& key, bool fold,
                                        const std::string& table,
                                        const fs::path& out_file) {
  std::vector<std::string> args = {"postmap", "-c", config_dir.string()};
  if (!fold) args.push_back("-f");
  args.insert(args.end(), {"-q", key, table});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_file.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = 0;
  int rc =
      posix_spawn(&pid, "/usr/sbin/postmap", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return std::nullopt;
  int status = 0;
  waitpid(pid, &status, 0);
  std::ifstream in(out_file, std::ios::binary);
  std::stringstream all;
  all << in.rdbuf();
  // stdout and stderr share the file: drop "postmap: warning:" lines.
  std::string value, line, text = all.str();
  bool fatal = false;
  std::istringstream lines(text);
  while (std::getline(lines, line)) {
    if (line.rfind("postmap: fatal:", 0) == 0) fatal = true;
    if (line.rfind("postmap: ", 0) == 0) continue;
    value = line;
  }
  if (fatal) return LookupResult{ProxyStatus::Retry, ""};
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return LookupResult{ProxyStatus::Ok, value};
  return LookupResult{ProxyStatus::NoKey, ""};
}

TEST_F(SqliteCorpus, MatchesLivePostmap) {
  if (access("/usr/sbin/postmap", X_OK) != 0) GTEST_SKIP() << "postmap not installed";
  fs::path conf = dir_ / "conf";
  fs::create_directories(conf);
  std::ofstream(conf / "main.cf") << kCorpusMainCf;
  for (const auto& [cf, params] : corpus_cfs()) {
    std::ofstream out(cf_path(cf));
    for (const auto& [name, value] : params_for(cf))
      out << name << " = " << value << "\n";
  }
  // proxyd reads the very .cf files postmap reads, through the production
  // reader (make_sql_table: TableConfig, Postfix's cfg_parser rules).
  std::map<std::string, TablePtr> from_cf;
  int compared = 0;
  for (const OracleCase& c : kOracle) {
    std::string key = expand_placeholder(c.key);
    auto want =
        run_postmap(conf, key, c.fold, "sqlite:" + cf_path(c.cf), dir_ / "out.txt");
    if (!want) GTEST_SKIP() << "cannot run postmap";
    TablePtr& table = from_cf[c.cf];
    if (!table) table = make_sql_table("sqlite", cf_path(c.cf), OpenMode::ReadOnly, env_);
    LookupResult got = lookup_sync(*table, key, flags_for(c.fold), poster_);
    EXPECT_EQ(got, *want) << c.cf << " key=" << c.key << " fold=" << c.fold;
    ++compared;
  }
  EXPECT_EQ(compared, static_cast<int>(std::size(kOracle)));
}

TEST_F(SqliteCorpus, InvalidUtf8KeyIsQueriedOnlyWhenUtf8LayerIsActive) {
  MapParams params({{"dbpath", db_path_}, {"query", "SELECT 'hit'"}}, "/x.cf");
  TablePtr t =
      make_sql_table_from(SqlKind::Sqlite, "/x.cf", params, OpenMode::ReadOnly, env_);
  EXPECT_EQ(lookup_sync(*t, "\xff@x", 0, poster_).status, ProxyStatus::NoKey);
  EXPECT_EQ(lookup_sync(*t, "\xff@x", pf::kUtf8Active, poster_),
            (LookupResult{ProxyStatus::Ok, "hit"}));
}

TEST_F(SqliteCorpus, EmptyKeyIsIgnoredWithWarning) {
  TablePtr t = open("echo");
  EXPECT_EQ(lookup_sync(*t, "", pf::kFoldFix, poster_).status, ProxyStatus::NoKey);
  // Wording as printed by postmap 3.7.11 for -q "".
  EXPECT_TRUE(log_.contains("table \"sqlite:" + cf_path("echo") +
                            "\": empty query string -- ignored"));
}

TEST_F(SqliteCorpus, WarnsAboutUnquotedTokensLikePostfix311) {
  MapParams bad(
      {{"dbpath", db_path_}, {"query", "SELECT v FROM users WHERE k=%s OR k=\"%u\""}},
      "/q.cf");
  (void)make_sql_table_from(SqlKind::Sqlite, "/q.cf", bad, OpenMode::ReadOnly, env_);
  EXPECT_TRUE(log_.contains("contains >%s< without the recommended '' quotes"));
  EXPECT_TRUE(log_.contains("contains >%u< without the recommended '' quotes"));
  CaptureLogger quiet;
  TableEnv env{nullptr, &quiet, &poster_, pools_.get()};
  MapParams good({{"dbpath", db_path_}, {"query", "SELECT '%s', '100%%'"}}, "/g.cf");
  (void)make_sql_table_from(SqlKind::Sqlite, "/g.cf", good, OpenMode::ReadOnly, env);
  EXPECT_TRUE(quiet.lines().empty());
}

TEST_F(SqliteCorpus, NoUnquotedTokenWarningBefore311) {
  // dict_sqlite's flag_non_recommended_query is new in 3.11.0.
  MapParams bad({{"dbpath", db_path_}, {"query", "SELECT v FROM users WHERE k=%s"}},
                "/q.cf");
  for (PostfixVersion v : {PostfixVersion{3, 7, 11}, PostfixVersion{3, 10, 7}}) {
    CaptureLogger log;
    TableEnv env{nullptr, &log, &poster_, pools_.get()};
    env.postfix_version = v;
    (void)make_sql_table_from(SqlKind::Sqlite, "/q.cf", bad, OpenMode::ReadOnly, env);
    EXPECT_FALSE(log.contains("without the recommended '' quotes")) << v.text();
  }
  CaptureLogger log;
  TableEnv env{nullptr, &log, &poster_, pools_.get()};
  env.postfix_version = PostfixVersion{3, 11, 0};
  (void)make_sql_table_from(SqlKind::Sqlite, "/q.cf", bad, OpenMode::ReadOnly, env);
  EXPECT_TRUE(log.contains("contains >%s< without the recommended '' quotes"));
}

TEST_F(SqliteCorpus, SqlErrorsAreNeverNokey) {
  // A statement that fails while stepping (integer overflow in abs()).
  MapParams step(
      {{"dbpath", db_path_}, {"query", "SELECT abs(-9223372036854775807 - 1)"}},
      "/step.cf");
  TablePtr t1 =
      make_sql_table_from(SqlKind::Sqlite, "/step.cf", step, OpenMode::ReadOnly, env_);
  EXPECT_EQ(lookup_sync(*t1, "k", 0, poster_).status, ProxyStatus::Retry);
  // A statement that cannot be prepared (Postfix dies; we answer CONFIG).
  MapParams prep({{"dbpath", db_path_}, {"query", "SELECT v FROM no_such_table"}},
                 "/prep.cf");
  TablePtr t2 =
      make_sql_table_from(SqlKind::Sqlite, "/prep.cf", prep, OpenMode::ReadOnly, env_);
  EXPECT_EQ(lookup_sync(*t2, "k", 0, poster_).status, ProxyStatus::Config);
  EXPECT_TRUE(log_.contains("SQL prepare failed"));
}

TEST_F(SqliteCorpus, DatabaseIsOpenedReadOnlyAndMissingFileIsUnavailable) {
  MapParams missing({{"dbpath", (dir_ / "missing.db").string()}, {"query", "SELECT 1"}},
                    "/m.cf");
  EXPECT_THROW(
      make_sql_table_from(SqlKind::Sqlite, "/m.cf", missing, OpenMode::ReadOnly, env_),
      ConfigUnavailable);
  EXPECT_FALSE(fs::exists(dir_ / "missing.db"));  // never created (3.10+ semantics)
  // Deliberately the same for older releases (proxyd.cf(5)): their proxymap
  // creates or fails on the file and exits, and the client retries forever.
  TableEnv old_env = env_;
  old_env.postfix_version = PostfixVersion{3, 7, 11};
  EXPECT_THROW(
      make_sql_table_from(SqlKind::Sqlite, "/m.cf", missing, OpenMode::ReadOnly, old_env),
      ConfigUnavailable);
  EXPECT_FALSE(fs::exists(dir_ / "missing.db"));
  MapParams write({{"dbpath", db_path_}, {"query", "DELETE FROM users"}}, "/w.cf");
  TablePtr t =
      make_sql_table_from(SqlKind::Sqlite, "/w.cf", write, OpenMode::ReadOnly, env_);
  EXPECT_EQ(lookup_sync(*t, "k", 0, poster_).status, ProxyStatus::Retry);
  EXPECT_EQ(lookup_sync(*open("basic"), "multi", 0, poster_).value, "m1,m2,m3");
}

// ---------------------------------------------------------------------------
// mysql / pgsql tables over a fake driver.

class FakeSqlTable : public ::testing::Test {
 protected:
  FakeSqlTable() : pools_(PoolSettings{2}, poster_, log_) {
    env_ = TableEnv{nullptr, &log_, &poster_, &pools_};
    hooks_.driver_factory = [this](const ConnectParams&) {
      return std::make_unique<FakeDriver>(db_);
    };
  }
  ~FakeSqlTable() override { pools_.shutdown(); }

  TablePtr open(SqlKind kind, Params p, const char* name = "/etc/postfix/t.cf") {
    MapParams params(std::move(p), name);
    return make_sql_table_from(kind, name, params, OpenMode::ReadOnly, env_, hooks_);
  }
  std::vector<std::string> queries() {
    std::lock_guard lock(db_.mu);
    return db_.queries;
  }

  FakeDb db_;
  CaptureLogger log_;
  QueuedPoster poster_;
  PoolSet pools_;
  TableEnv env_;
  SqlTableHooks hooks_;
};

TEST_F(FakeSqlTable, MysqlJoinsEveryColumnOfEveryRow) {
  // SPEC §6.4 [verified with mysql]: SELECT 'a',NULL,'','b' UNION ALL SELECT
  // 'c',NULL,NULL,NULL
  db_.on_query = [](const std::string&, const std::string&) {
    return testing::rows({{"a", nullptr, "", "b"}, {"c", nullptr, nullptr, nullptr}});
  };
  TablePtr t = open(SqlKind::Mysql, {{"dbname", "mail"}, {"query", "SELECT x"}});
  EXPECT_EQ(lookup_sync(*t, "k", 0, poster_), (LookupResult{ProxyStatus::Ok, "a,b,c"}));
  EXPECT_TRUE(log_.contains("empty lookup result for: \"k\" -- ignored"));
  db_.all_columns = false;  // a first-column driver (sqlite) on a new identity
  TablePtr s = open(SqlKind::Mysql, {{"dbname", "other"}, {"query", "SELECT x"}});
  EXPECT_EQ(lookup_sync(*s, "k", 0, poster_), (LookupResult{ProxyStatus::Ok, "a,c"}));
}

TEST_F(FakeSqlTable, QuotingRunsOnTheSessionForKeyPartsOnly) {
  db_.on_query = [](const std::string&, const std::string&) {
    return testing::rows({{"v"}});
  };
  TablePtr t =
      open(SqlKind::Mysql, {{"dbname", "mail"},
                            {"hosts", "inet:db1"},
                            {"query", "SELECT v FROM t WHERE u='%u' AND d='%d' -- 'x'"}});
  EXPECT_EQ(lookup_sync(*t, "O'Ne@Ex.COM", pf::kFoldFix, poster_).status,
            ProxyStatus::Ok);
  ASSERT_EQ(queries().size(), 1u);
  EXPECT_EQ(queries()[0],
            "inet:db1|SELECT v FROM t WHERE u='[o''ne]' AND d='[ex.com]' -- 'x'");
}

TEST_F(FakeSqlTable, EscapeFailureOnABrokenSessionFailsOverToTheNextHost) {
  db_.on_query = [](const std::string& h, const std::string&) {
    return testing::rows({{h.c_str()}});
  };
  db_.fail_escape = {"unix:/sock"};
  db_.unusable = {"unix:/sock"};  // the connection is gone, not the key at fault
  TablePtr t =
      open(SqlKind::Mysql,
           {{"dbname", "mail"}, {"hosts", "unix:/sock inet:db2"}, {"query", "'%s'"}});
  EXPECT_EQ(lookup_sync(*t, "k", 0, poster_),
            (LookupResult{ProxyStatus::Ok, "inet:db2"}));
  EXPECT_TRUE(log_.contains("cannot escape"));
}

// Issue 13 item 4: a key the connection cannot escape (a Latin-1 byte on a
// UTF8 pgsql connection) fails its own lookup with RETRY; the host stays up
// and every other table on the database keeps its answers.
TEST_F(FakeSqlTable, KeyThatCannotBeEscapedFailsOnlyItsOwnLookup) {
  db_.on_query = [](const std::string& h, const std::string&) {
    return testing::rows({{h.c_str()}});
  };
  db_.bad_keys = {"se\xF1or"};
  Params cf{{"dbname", "mail"}, {"hosts", "inet:db1 inet:db2"}, {"query", "'%s'"}};
  TablePtr t = open(SqlKind::Pgsql, cf);
  TablePtr other = open(SqlKind::Pgsql, cf, "/etc/postfix/other.cf");
  EXPECT_EQ(lookup_sync(*t, "se\xF1or", 0, poster_).status, ProxyStatus::Retry);
  EXPECT_TRUE(
      log_.contains("cannot escape the lookup key on this connection: lookup deferred"));
  EXPECT_EQ(db_.connects.load(), 1);  // no failover: every host would refuse the key
  // Before, both hosts were marked down and these answered RETRY.
  EXPECT_EQ(lookup_sync(*other, "k", 0, poster_).status, ProxyStatus::Ok);
  EXPECT_EQ(lookup_sync(*t, "k", 0, poster_).status, ProxyStatus::Ok);
  EXPECT_FALSE(log_.contains("no usable database host"));
}

TEST_F(FakeSqlTable, OversizedQueryFailsOnlyThatLookup) {
  db_.on_query = [](const std::string&, const std::string&) {
    return testing::rows({{"v"}});
  };
  std::string tmpl = "SELECT v FROM t WHERE k IN (";
  for (int i = 0; i < 100000; ++i) tmpl += "'%s',";
  tmpl += "'')";
  TablePtr t = open(SqlKind::Mysql, {{"dbname", "mail"}, {"query", tmpl}});
  const std::string big(200 * 1024, 'k');
  EXPECT_EQ(lookup_sync(*t, big, 0, poster_).status, ProxyStatus::Retry);
  EXPECT_TRUE(queries().empty());  // never sent
  EXPECT_TRUE(log_.contains("dict_mysql_lookup: /etc/postfix/t.cf: query for key 'kkkk"));
  EXPECT_TRUE(log_.contains(fmt::format("...' exceeds {} bytes", kMaxQueryBytes)));
  // The host stays usable: a short key on the same table is answered.
  EXPECT_EQ(lookup_sync(*t, "short", 0, poster_), (LookupResult{ProxyStatus::Ok, "v"}));
  EXPECT_EQ(queries().size(), 1u);
}

TEST_F(FakeSqlTable, RequireResultSet) {
  db_.on_query = [](const std::string&, const std::string&) {
    return QueryResult{QueryStatus::NoResultSet, {}, {}, {}};
  };
  TablePtr strict = open(SqlKind::Mysql, {{"dbname", "a"}, {"query", "DO 1"}});
  EXPECT_EQ(lookup_sync(*strict, "k", 0, poster_).status, ProxyStatus::Retry);
  EXPECT_TRUE(log_.contains("require_result_set = yes"));
  TablePtr lax = open(SqlKind::Mysql,
                      {{"dbname", "b"}, {"query", "DO 1"}, {"require_result_set", "no"}});
  EXPECT_EQ(lookup_sync(*lax, "k", 0, poster_).status, ProxyStatus::NoKey);  // [verified]
}

TEST_F(FakeSqlTable, DatabaseFailuresAreRetryOrConfigNeverNokey) {
  struct Case {
    QueryStatus status;
    ProxyStatus want;
  };
  int n = 0;
  for (const Case& c : {Case{QueryStatus::HostError, ProxyStatus::Retry},
                        Case{QueryStatus::TempError, ProxyStatus::Retry},
                        Case{QueryStatus::ConfigError, ProxyStatus::Config}}) {
    db_.on_query = [&c](const std::string&, const std::string&) {
      return QueryResult{c.status, {}, "failed", {}};
    };
    TablePtr t = open(SqlKind::Pgsql,
                      {{"dbname", "d" + std::to_string(n++)}, {"query", "SELECT '%s'"}});
    EXPECT_EQ(lookup_sync(*t, "k", 0, poster_).status, c.want);
  }
  db_.refuse_connect = {"localhost"};
  TablePtr down = open(SqlKind::Pgsql, {{"dbname", "down"}, {"query", "SELECT '%s'"}});
  EXPECT_EQ(lookup_sync(*down, "k", 0, poster_).status, ProxyStatus::Retry);
  // The lone default host was tried twice (single-host duplication), then
  // the next lookup fails at once without connecting.
  int connects = db_.connects.load();
  EXPECT_EQ(lookup_sync(*down, "k", 0, poster_).status, ProxyStatus::Retry);
  EXPECT_EQ(db_.connects.load(), connects);
}

TEST_F(FakeSqlTable, SingleHostRetryFollowsTheRelease) {
  // dict_mysql.c/dict_pgsql.c list a lone host twice from 3.6.17, 3.7.13,
  // 3.8.8, 3.9.2 and 3.10.0 on: a failed connection is retried at once.
  PoolSettings no_probes{2};
  no_probes.probe_interval = 0;  // only the lookups connect
  pools_.update_settings(no_probes);
  db_.refuse_connect = {"localhost"};
  struct Case {
    PostfixVersion release;
    int connects;
  };
  int n = 0;
  for (const Case& c :
       {Case{{3, 7, 11}, 1}, Case{{3, 7, 13}, 2}, Case{{3, 6, 16}, 1},
        Case{{3, 6, 17}, 2}, Case{{3, 8, 7}, 1}, Case{{3, 8, 8}, 2}, Case{{3, 9, 1}, 1},
        Case{{3, 9, 2}, 2}, Case{{3, 10, 0}, 2}, Case{PostfixVersion::newest(), 2}}) {
    for (SqlKind kind : {SqlKind::Mysql, SqlKind::Pgsql}) {
      env_.postfix_version = c.release;
      TablePtr t =
          open(kind, {{"dbname", "s" + std::to_string(n++)}, {"query", "SELECT '%s'"}});
      int before = db_.connects.load();
      EXPECT_EQ(lookup_sync(*t, "k", 0, poster_).status, ProxyStatus::Retry);
      EXPECT_EQ(db_.connects.load() - before, c.connects)
          << c.release.text() << " " << sql_kind_name(kind);
    }
  }
  // The same database under both semantics is two pools, not one.
  env_.postfix_version = PostfixVersion{3, 7, 11};
  ConnectParams old_params =
      parse_sql_table_config(SqlKind::Mysql, "/x.cf",
                             MapParams({{"dbname", "d"}, {"query", "SELECT 1"}}, "/x.cf"),
                             env_.postfix_version)
          .connect;
  ConnectParams new_params =
      parse_sql_table_config(SqlKind::Mysql, "/x.cf",
                             MapParams({{"dbname", "d"}, {"query", "SELECT 1"}}, "/x.cf"))
          .connect;
  EXPECT_FALSE(old_params.duplicate_single_host);
  EXPECT_TRUE(new_params.duplicate_single_host);
  EXPECT_NE(old_params.identity_key(), new_params.identity_key());
}

TEST_F(FakeSqlTable, QueryFailuresWordedAsPostfix37) {
  // dict_mysql.c / dict_pgsql.c / dict_sqlite.c of Postfix 3.7.11.
  db_.on_query = [](const std::string&, const std::string&) {
    return QueryResult{QueryStatus::TempError, {}, "Illegal mix of collations", {}};
  };
  TablePtr my = open(SqlKind::Mysql, {{"dbname", "m"}, {"query", "SELECT '%s'"}});
  EXPECT_EQ(lookup_sync(*my, "k", 0, poster_).status, ProxyStatus::Retry);
  EXPECT_TRUE(log_.contains("mysql:/etc/postfix/t.cf: query failed: Illegal mix"));
  TablePtr pg = open(SqlKind::Pgsql, {{"dbname", "p"}, {"query", "SELECT '%s'"}});
  EXPECT_EQ(lookup_sync(*pg, "k", 0, poster_).status, ProxyStatus::Retry);
  EXPECT_TRUE(log_.contains("pgsql query failed: Illegal mix"));
  EXPECT_FALSE(log_.contains("dict_mysql_lookup"));
  EXPECT_FALSE(log_.contains("dict_pgsql_lookup"));
}

// Issue 13: the whole line as Postfix 3.7.11 logs it (dict_mysql.c,
// dict_pgsql.c), with the texts the drivers give (session_*_test check
// them against real servers): MariaDB 10.11 and PostgreSQL 15 refusing an
// unknown column, libpq refusing to escape a Latin-1 byte on a UTF8
// connection. proxyd's host, database and errno part (message) stays out
// of the warning.
TEST_F(FakeSqlTable, DriverFailuresWordedAsPostfix37) {
  auto has_line = [this](const std::string& want) {
    for (const std::string& line : log_.lines()) {
      if (line == want) return true;
    }
    ADD_FAILURE() << "no line \"" << want << "\"";
    return false;
  };
  const std::string collations = "Unknown column 'nosuchcolumn' in 'WHERE'";
  db_.on_query = [&collations](const std::string&, const std::string&) {
    return QueryResult{QueryStatus::TempError,
                       {},
                       "host inet:127.0.0.1:3306 database mx: " + collations +
                           " (errno 1054, SQLSTATE 42S22)",
                       collations};
  };
  TablePtr my = open(SqlKind::Mysql, {{"dbname", "mx"}, {"query", "SELECT '%s'"}});
  EXPECT_EQ(lookup_sync(*my, "se\xF1or@example.com", 0, poster_).status,
            ProxyStatus::Retry);
  EXPECT_TRUE(has_line("mysql:/etc/postfix/t.cf: query failed: " + collations));
  const std::string column =
      "fatal error from host inet:127.0.0.1:5432: ERROR:  column \"nosuchcolumn\" "
      "does not exist LINE 1: SELECT nosuchcolumn ^";
  db_.on_query = [&column](const std::string&, const std::string&) {
    return QueryResult{
        QueryStatus::TempError,
        {},
        "host inet:127.0.0.1:5432 database mx: fatal error: ERROR:  column "
        "\"nosuchcolumn\" does not exist LINE 1: SELECT nosuchcolumn ^",
        column};
  };
  TablePtr pg = open(SqlKind::Pgsql, {{"dbname", "mx"}, {"query", "SELECT '%s'"}});
  EXPECT_EQ(lookup_sync(*pg, "k", 0, poster_).status, ProxyStatus::Retry);
  EXPECT_TRUE(has_line("pgsql query failed: " + column));
  db_.bad_keys = {"se\xF1or@example.com"};
  db_.escape_failure =
      "dict pgsql: (host inet:127.0.0.1:5432) cannot escape input string: invalid "
      "multibyte character";
  EXPECT_EQ(lookup_sync(*pg, "se\xF1or@example.com", 0, poster_).status,
            ProxyStatus::Retry);
  EXPECT_TRUE(has_line(db_.escape_failure));
  EXPECT_FALSE(log_.contains("errno"));
  EXPECT_FALSE(log_.contains("database mx"));
  EXPECT_FALSE(log_.contains("lookup key on this connection"));
}

TEST_F(FakeSqlTable, SuppressedAndFilteredKeysNeverReachTheDatabase) {
  TablePtr t = open(SqlKind::Mysql, {{"dbname", "mail"},
                                     {"query", "SELECT '%u'"},
                                     {"result_format", "%D"},
                                     {"domain", "example.com"}});
  for (const char* key :
       {"", "@example.com", "user", "user@", "a@sub.example.com", "a@other.org"}) {
    EXPECT_EQ(lookup_sync(*t, key, 0, poster_).status, ProxyStatus::NoKey) << key;
  }
  EXPECT_TRUE(queries().empty());
  db_.on_query = [](const std::string&, const std::string&) {
    return testing::rows({{"v"}});
  };
  EXPECT_EQ(lookup_sync(*t, "a@EXAMPLE.com", 0, poster_),
            (LookupResult{ProxyStatus::Ok, "EXAMPLE.com"}));
}

TEST_F(FakeSqlTable, DomainTableErrorIsReturned) {
  struct Failing final : Table {
    uint32_t impl_flags() const override { return 0; }
    void lookup(const std::string&, uint32_t, LookupDone done) override {
      done(LookupResult{ProxyStatus::Retry, {}});
    }
  };
  hooks_.domain_opener = [](std::string_view) { return std::make_shared<Failing>(); };
  TablePtr t =
      open(SqlKind::Mysql,
           {{"dbname", "mail"}, {"query", "SELECT '%s'"}, {"domain", "hash:/d"}});
  EXPECT_EQ(lookup_sync(*t, "a@x.org", 0, poster_).status, ProxyStatus::Retry);
  EXPECT_TRUE(log_.contains("'domain' pattern match failed for 'a@x.org'"));
  EXPECT_TRUE(queries().empty());
}

// Every driver is in every build; a factory yields nothing only when the
// client library cannot start (Connector/C++'s driver instance), and the
// warnings say so.
TEST_F(FakeSqlTable, DriverThatCannotStartAnswersRetryAndSaysWhy) {
  hooks_.driver_factory = [](const ConnectParams&) { return nullptr; };
  TablePtr t = open(SqlKind::Mysql, {{"dbname", "mail"}, {"query", "SELECT '%s'"}});
  EXPECT_EQ(lookup_sync(*t, "k", 0, poster_).status, ProxyStatus::Retry);
  EXPECT_TRUE(
      log_.contains("the mysql client library could not be initialised: every "
                    "lookup will fail with RETRY"));
  EXPECT_FALSE(log_.contains("in this build"));
}

TEST_F(FakeSqlTable, UnreachableRealDriverAnswersRetry) {
  hooks_.driver_factory = nullptr;  // the real Connector/C++ and libpq drivers
  for (SqlKind kind : {SqlKind::Mysql, SqlKind::Pgsql}) {
    TablePtr t = open(kind, {{"dbname", "mail"},
                             {"hosts", "unix:/nonexistent/proxyd-test.sock"},
                             {"query", "SELECT '%s'"}});
    EXPECT_EQ(lookup_sync(*t, "k", 0, poster_).status, ProxyStatus::Retry);
    EXPECT_EQ(t->impl_flags(), pf::kFixed);
  }
}

TEST_F(FakeSqlTable, NonUtf8KeysReachMysqlAndPgsql) {
  // Only sqlite skips them in stable releases (SPEC §5.3).
  db_.on_query = [](const std::string&, const std::string&) {
    return testing::rows({{"v"}});
  };
  TablePtr t = open(SqlKind::Pgsql, {{"dbname", "mail"}, {"query", "SELECT '%s'"}});
  EXPECT_EQ(lookup_sync(*t, "\xff@x", 0, poster_).status, ProxyStatus::Ok);
}

TEST_F(FakeSqlTable, BadDomainListIsConfigError) {
  EXPECT_THROW(
      open(SqlKind::Mysql, {{"dbname", "d"}, {"query", "q"}, {"domain", "a.org, !"}}),
      ConfigError);
  // type:table entries need an opener (make_sql_table wires the registry).
  EXPECT_THROW(
      open(SqlKind::Mysql, {{"dbname", "d"}, {"query", "q"}, {"domain", "hash:/d"}}),
      ConfigError);
}

TEST_F(FakeSqlTable, ReadWriteOpenIsUnavailable) {
  MapParams params({{"dbname", "mail"}, {"query", "q"}}, "/t.cf");
  EXPECT_THROW(make_sql_table_from(SqlKind::Mysql, "/t.cf", params, OpenMode::ReadWrite,
                                   env_, hooks_),
               ConfigUnavailable);
}

// ---------------------------------------------------------------------------
// Configuration parsing.

TEST(SqlTableConfig, MysqlParametersAndDefaults) {
  MapParams p({{"hosts", "unix:/s db2:3307"},
               {"user", "u"},
               {"password", "pw"},
               {"dbname", "mail"},
               {"query", "SELECT '%s'"},
               {"option_file", "/etc/my.cnf"},
               {"tls_CAfile", "/ca.pem"},
               {"tls_verify_cert", "YES"},
               {"retry_interval", "30"},
               {"expansion_limit", "5"}},
              "/m.cf");
  SqlTableConfig cfg = parse_sql_table_config(SqlKind::Mysql, "/m.cf", p);
  const ConnectParams& c = cfg.connect;
  ASSERT_EQ(c.hosts.size(), 2u);
  EXPECT_EQ(c.hosts[1].port, "3307");
  EXPECT_EQ(c.user, "u");
  EXPECT_EQ(c.password, "pw");
  EXPECT_EQ(c.charset, "utf8mb4");
  EXPECT_EQ(c.option_file, "/etc/my.cnf");
  EXPECT_EQ(c.option_group, "client");
  EXPECT_EQ(c.tls_CAfile, "/ca.pem");
  EXPECT_FALSE(c.tls_key_file.has_value());
  EXPECT_EQ(c.tls_verify_cert, true);
  EXPECT_EQ(c.retry_interval, std::chrono::seconds(30));
  EXPECT_EQ(c.idle_interval, std::chrono::seconds(60));
  EXPECT_TRUE(cfg.require_result_set);
  EXPECT_EQ(cfg.expansion_limit, 5);
  EXPECT_EQ(cfg.rules.result_format(), "%s");
  EXPECT_EQ(c.label().find("pw"), std::string::npos);
}

TEST(SqlTableConfig, PgsqlSelectFunctionAndUris) {
  MapParams p({{"select_function", "lookup"}, {"hosts", "postgresql://h/db"}}, "/p.cf");
  SqlTableConfig cfg = parse_sql_table_config(SqlKind::Pgsql, "/p.cf", p);
  EXPECT_EQ(cfg.rules.query(), "SELECT lookup('%s')");
  EXPECT_EQ(cfg.connect.encoding, "UTF8");
  EXPECT_EQ(cfg.connect.hosts.at(0).kind, HostKind::Uri);
  // A non-URI host needs dbname (Postfix 3.10+: surrogate, RETRY).
  MapParams q({{"query", "SELECT 1"}, {"hosts", "pg1"}}, "/q.cf");
  EXPECT_THROW(parse_sql_table_config(SqlKind::Pgsql, "/q.cf", q), ConfigUnavailable);
}

// Where Postfix releases read a .cf file differently, the release passed in
// decides (proxyd.cf(5), "postfix_version"); every case runs under both.
const PostfixVersion kDebian12{3, 7, 11};

TEST(SqlTableConfig, PgsqlEncodingFollowsTheRelease) {
  MapParams none({{"dbname", "d"}, {"query", "q"}}, "/e.cf");
  EXPECT_EQ(parse_sql_table_config(SqlKind::Pgsql, "/e.cf", none).connect.encoding,
            "UTF8");
  EXPECT_EQ(
      parse_sql_table_config(SqlKind::Pgsql, "/e.cf", none, kDebian12).connect.encoding,
      "LATIN1");
  // 3.7 does not read "encoding" at all: any value, even an empty one, is LATIN1.
  MapParams utf8({{"dbname", "d"}, {"query", "q"}, {"encoding", "UTF8"}}, "/e.cf");
  EXPECT_EQ(parse_sql_table_config(SqlKind::Pgsql, "/e.cf", utf8).connect.encoding,
            "UTF8");
  EXPECT_EQ(
      parse_sql_table_config(SqlKind::Pgsql, "/e.cf", utf8, kDebian12).connect.encoding,
      "LATIN1");
  MapParams empty({{"dbname", "d"}, {"query", "q"}, {"encoding", ""}}, "/e.cf");
  EXPECT_THROW(parse_sql_table_config(SqlKind::Pgsql, "/e.cf", empty), ConfigError);
  EXPECT_EQ(
      parse_sql_table_config(SqlKind::Pgsql, "/e.cf", empty, kDebian12).connect.encoding,
      "LATIN1");
  EXPECT_EQ(
      parse_sql_table_config(SqlKind::Pgsql, "/e.cf", none, {3, 8, 0}).connect.encoding,
      "UTF8");
}

TEST(SqlTableConfig, MysqlCharsetIsReadFrom39On) {
  // 3.9+: "charset", default utf8mb4. Before, the line is not read at all
  // (empty: the connector's default, which an option file may change).
  MapParams none({{"dbname", "d"}, {"query", "q"}}, "/c.cf");
  EXPECT_EQ(parse_sql_table_config(SqlKind::Mysql, "/c.cf", none).connect.charset,
            "utf8mb4");
  EXPECT_EQ(
      parse_sql_table_config(SqlKind::Mysql, "/c.cf", none, kDebian12).connect.charset,
      "");
  MapParams latin1({{"dbname", "d"}, {"query", "q"}, {"charset", "latin1"}}, "/c.cf");
  EXPECT_EQ(parse_sql_table_config(SqlKind::Mysql, "/c.cf", latin1).connect.charset,
            "latin1");
  EXPECT_EQ(
      parse_sql_table_config(SqlKind::Mysql, "/c.cf", latin1, kDebian12).connect.charset,
      "");
  EXPECT_EQ(
      parse_sql_table_config(SqlKind::Mysql, "/c.cf", latin1, {3, 8, 20}).connect.charset,
      "");
  EXPECT_EQ(
      parse_sql_table_config(SqlKind::Mysql, "/c.cf", latin1, {3, 9, 0}).connect.charset,
      "latin1");
  // An empty charset, refused by 3.9+, is not read by 3.7.
  MapParams empty({{"dbname", "d"}, {"query", "q"}, {"charset", ""}}, "/c.cf");
  EXPECT_THROW(parse_sql_table_config(SqlKind::Mysql, "/c.cf", empty), ConfigError);
  EXPECT_NO_THROW(parse_sql_table_config(SqlKind::Mysql, "/c.cf", empty, kDebian12));
}

TEST(SqlTableConfig, IntervalsAreReadFrom39On) {
  for (SqlKind kind : {SqlKind::Mysql, SqlKind::Pgsql}) {
    MapParams p({{"dbname", "d"},
                 {"query", "q"},
                 {"retry_interval", "5"},
                 {"idle_interval", "7"}},
                "/i.cf");
    ConnectParams now = parse_sql_table_config(kind, "/i.cf", p).connect;
    EXPECT_EQ(now.retry_interval, std::chrono::seconds(5));
    EXPECT_EQ(now.idle_interval, std::chrono::seconds(7));
    ConnectParams old = parse_sql_table_config(kind, "/i.cf", p, kDebian12).connect;
    EXPECT_EQ(old.retry_interval, std::chrono::seconds(60));
    EXPECT_EQ(old.idle_interval, std::chrono::seconds(60));
    // A value 3.9+ refuses is not even read by 3.7.
    MapParams zero({{"dbname", "d"}, {"query", "q"}, {"retry_interval", "0"}}, "/z.cf");
    EXPECT_THROW(parse_sql_table_config(kind, "/z.cf", zero), ConfigError);
    EXPECT_NO_THROW(parse_sql_table_config(kind, "/z.cf", zero, kDebian12));
    EXPECT_NO_THROW(parse_sql_table_config(kind, "/z.cf", zero, {3, 8, 20}));
    EXPECT_THROW(parse_sql_table_config(kind, "/z.cf", zero, {3, 9, 0}), ConfigError);
  }
}

TEST(SqlTableConfig, PgsqlDbnameAndUriHostsFollowTheRelease) {
  // 3.10+: a URI carries its own database; before, dbname is always required.
  MapParams uri({{"query", "q"}, {"hosts", "postgresql://u@h/db"}}, "/u.cf");
  EXPECT_NO_THROW(parse_sql_table_config(SqlKind::Pgsql, "/u.cf", uri));
  EXPECT_THROW(parse_sql_table_config(SqlKind::Pgsql, "/u.cf", uri, kDebian12),
               ConfigError);
  EXPECT_THROW(parse_sql_table_config(SqlKind::Pgsql, "/u.cf", uri, {3, 9, 14}),
               ConfigError);
  // 3.10+: any scheme:// host is a URI. Before, only "postgresql:" is a
  // connection string: "postgres://h/db" is host "postgres", port "//h/db".
  MapParams other({{"dbname", "d"}, {"query", "q"}, {"hosts", "postgres://h/db"}},
                  "/o.cf");
  HostSpec now =
      parse_sql_table_config(SqlKind::Pgsql, "/o.cf", other).connect.hosts.at(0);
  EXPECT_EQ(now.kind, HostKind::Uri);
  HostSpec old = parse_sql_table_config(SqlKind::Pgsql, "/o.cf", other, kDebian12)
                     .connect.hosts.at(0);
  EXPECT_EQ(old.kind, HostKind::Inet);
  EXPECT_EQ(old.name, "postgres");
  EXPECT_EQ(old.port, "//h/db");
  MapParams pg({{"dbname", "d"}, {"query", "q"}, {"hosts", "postgresql://h/db"}},
               "/g.cf");
  EXPECT_EQ(parse_sql_table_config(SqlKind::Pgsql, "/g.cf", pg, kDebian12)
                .connect.hosts.at(0)
                .kind,
            HostKind::Uri);
}

TEST(PostfixVersion, ParsesReleasesAndSnapshots) {
  EXPECT_EQ(PostfixVersion::parse("3.7.11"), (PostfixVersion{3, 7, 11}));
  EXPECT_EQ(PostfixVersion::parse("3.10"), (PostfixVersion{3, 10, 0}));
  EXPECT_EQ(PostfixVersion::parse("3.12-20250101"), (PostfixVersion{3, 12, 0}));
  EXPECT_FALSE(PostfixVersion::parse("").has_value());
  EXPECT_FALSE(PostfixVersion::parse("3").has_value());
  EXPECT_FALSE(PostfixVersion::parse("3.7.11.2").has_value());
  EXPECT_FALSE(PostfixVersion::parse("auto").has_value());
  EXPECT_LT((PostfixVersion{3, 7, 11}), (PostfixVersion{3, 7, 13}));
  EXPECT_LT((PostfixVersion{3, 9, 14}), (PostfixVersion{3, 10, 0}));
  EXPECT_EQ((PostfixVersion{3, 7, 11}).text(), "3.7.11");
}

// Postfix reads these with no default: an empty value is the same as no
// line, so "tls_CAfile =" alone leaves TLS off.
TEST(SqlTableConfig, EmptyTlsAndOptionFileValuesAreUnset) {
  MapParams p({{"dbname", "d"},
               {"query", "q"},
               {"tls_CAfile", ""},
               {"tls_key_file", ""},
               {"tls_cert_file", ""},
               {"tls_CApath", ""},
               {"tls_ciphers", ""},
               {"option_file", ""}},
              "/t.cf");
  ConnectParams c = parse_sql_table_config(SqlKind::Mysql, "/t.cf", p).connect;
  EXPECT_FALSE(c.tls_CAfile.has_value());
  EXPECT_FALSE(c.tls_key_file.has_value());
  EXPECT_FALSE(c.tls_cert_file.has_value());
  EXPECT_FALSE(c.tls_CApath.has_value());
  EXPECT_FALSE(c.tls_ciphers.has_value());
  EXPECT_FALSE(c.option_file.has_value());
  MapParams set({{"dbname", "d"}, {"query", "q"}, {"tls_CAfile", "/ca.pem"}}, "/t.cf");
  EXPECT_EQ(parse_sql_table_config(SqlKind::Mysql, "/t.cf", set).connect.tls_CAfile,
            "/ca.pem");
}

TEST(SqlTableConfig, InvalidSettingsAreConfigErrors) {
  struct Case {
    SqlKind kind;
    Params params;
    const char* why;
  };
  const std::vector<Case> cases = {
      {SqlKind::Sqlite, {{"query", "SELECT 1"}}, "missing dbpath"},
      {SqlKind::Sqlite, {{"dbpath", "/x"}}, "no query and no legacy parts"},
      {SqlKind::Sqlite,
       {{"dbpath", "/x"}, {"table", "t"}, {"select_field", "v"}},
       "legacy without where_field"},
      {SqlKind::Sqlite, {{"dbpath", "/x"}, {"query", "SELECT '%z'"}}, "bad query token"},
      {SqlKind::Sqlite,
       {{"dbpath", "/x"}, {"query", "q"}, {"result_format", ""}},
       "empty result_format"},
      {SqlKind::Sqlite,
       {{"dbpath", "/x"}, {"query", "q"}, {"expansion_limit", "1x"}},
       "bad integer"},
      {SqlKind::Mysql, {{"query", "q"}}, "missing dbname"},
      {SqlKind::Mysql,
       {{"dbname", "d"}, {"query", "q"}, {"retry_interval", "0"}},
       "retry_interval < 1"},
      {SqlKind::Mysql,
       {{"dbname", "d"}, {"query", "q"}, {"idle_interval", "-5"}},
       "idle_interval < 1"},
      {SqlKind::Mysql,
       {{"dbname", "d"}, {"query", "q"}, {"require_result_set", "maybe"}},
       "bad boolean"},
      {SqlKind::Mysql,
       {{"dbname", "d"}, {"query", "q"}, {"tls_verify_cert", "1"}},
       "bad boolean"},
      {SqlKind::Mysql,
       {{"dbname", "d"}, {"query", "q"}, {"charset", ""}},
       "empty charset"},
      {SqlKind::Mysql,
       {{"dbname", "d"}, {"query", "q"}, {"hosts", "db:nosuchsvc"}},
       "unknown port service"},
      {SqlKind::Pgsql,
       {{"dbname", "d"}, {"query", "q"}, {"encoding", ""}},
       "empty encoding"},
  };
  for (const Case& c : cases) {
    MapParams p(c.params, "/bad.cf");
    EXPECT_THROW(parse_sql_table_config(c.kind, "/bad.cf", p), ConfigError) << c.why;
  }
}

}  // namespace
}  // namespace proxyd::dict
