// Tests for static:, inline:, texthash: and unix: tables. Every expectation
// that encodes Postfix behaviour was checked with real Postfix 3.7.11:
// `postmap -c DIR -q KEY TYPE:NAME` (or -s) with DIR/main.cf containing
// compatibility_level = 3.6 (smtputf8 on) unless a comment says otherwise.
// Lookups with FOLD_FIX model a client that sends raw keys (direct postmap,
// smtputf8 off); lookups without it model a v1 client that already folded.
// Runs with the tests/ source directory as working directory.
#include "dictcore/tables/simple_tables.h"

#include <fmt/format.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <pwd.h>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "dictcore/tables/rhs_file.h"
#include "dictcore/tables/unix_table.h"
#include "dictcore/util/config_error.h"
#include "dictcore/util/logger.h"
#include "protocol/status.h"
#include "tests/fakes/capture_logger.h"

namespace proxyd::dict {
namespace {

namespace pflags = protocol::flags;

constexpr uint32_t kFold = pflags::kFoldFix;

// Most expectations below are Debian 12's postmap (Postfix 3.7.11).
constexpr PostfixVersion kDebian12{3, 7, 11};
const SimpleTableOptions kPostmap37{.release = kDebian12};
// Postfix 3.11: inline:/texthash: built on dict_ht without the UTF-8 layer.
const SimpleTableOptions kPostfix311{.release = PostfixVersion{3, 11, 0}};

using testing::CaptureLogger;

LookupResult lookup(Table& table, const std::string& key, uint32_t flags) {
  std::optional<LookupResult> result;
  table.lookup(key, flags, [&](LookupResult r) { result = std::move(r); });
  EXPECT_TRUE(result.has_value()) << "lookup did not complete inline";
  return result.value_or(LookupResult{ProxyStatus::Bad, {}});
}

SeqResult sequence(Table& table, uint32_t function, uint32_t flags) {
  std::optional<SeqResult> result;
  table.sequence(function, flags, [&](SeqResult r) { result = std::move(r); });
  EXPECT_TRUE(result.has_value());
  return result.value_or(SeqResult{ProxyStatus::Bad, {}, {}});
}

LookupResult update(Table& table, const std::string& key, const std::string& value,
                    uint32_t flags) {
  std::optional<LookupResult> result;
  table.update(key, value, flags, [&](LookupResult r) { result = std::move(r); });
  EXPECT_TRUE(result.has_value());
  return result.value_or(LookupResult{ProxyStatus::Bad, {}});
}

LookupResult remove(Table& table, const std::string& key, uint32_t flags) {
  std::optional<LookupResult> result;
  table.remove(key, flags, [&](LookupResult r) { result = std::move(r); });
  EXPECT_TRUE(result.has_value());
  return result.value_or(LookupResult{ProxyStatus::Bad, {}});
}

// Printable ASCII as is, other bytes as \xNN (gtest's XML report must stay
// well-formed).
std::string escaped(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  return out;
}

}  // namespace

// Readable failure output for results (found by ADL; internal linkage).
[[maybe_unused]] static void PrintTo(const LookupResult& r, std::ostream* os) {
  *os << "{status=" << static_cast<unsigned>(r.status) << ", value=\"" << escaped(r.value)
      << "\"}";
}

namespace {

LookupResult ok(std::string value) {
  return LookupResult{ProxyStatus::Ok, std::move(value)};
}
const LookupResult kNoKey{ProxyStatus::NoKey, {}};
const LookupResult kConfig{ProxyStatus::Config, {}};
const LookupResult kRetry{ProxyStatus::Retry, {}};

// One lookup against a table spec and its expected answer.
struct LookupCase {
  std::string spec;
  std::string key;
  uint32_t flags;
  LookupResult expected;
};

std::ostream& operator<<(std::ostream& os, const LookupCase& c) {
  return os << escaped(c.spec) << " ? " << escaped(c.key) << " flags=" << c.flags;
}

// --- static: ---------------------------------------------------------------

class StaticLookup : public ::testing::TestWithParam<LookupCase> {};

TEST_P(StaticLookup, AnswersLikePostmap) {
  const auto& c = GetParam();
  TableEnv env;
  auto table = make_static_table(c.spec, env);
  EXPECT_EQ(table->impl_flags(), pflags::kFixed);
  EXPECT_EQ(lookup(*table, c.key, c.flags), c.expected);
}

// Checked with postmap: every key gives the value; braces are stripped with
// the white space inside them; leading text before '{' is kept verbatim.
INSTANTIATE_TEST_SUITE_P(
    Postmap, StaticLookup,
    ::testing::Values(LookupCase{"bar", "foo", kFold, ok("bar")},
                      LookupCase{"bar", "Any@Thing", 0, ok("bar")},
                      LookupCase{"{ text with spaces }", "foo", kFold,
                                 ok("text with spaces")},
                      LookupCase{"{a}", "x", kFold, ok("a")},
                      LookupCase{" {a}", "x", kFold, ok(" {a}")},
                      LookupCase{"a b", "x", kFold, ok("a b")},
                      LookupCase{"100%", "x", kFold, ok("100%")},
                      // postmap prints "" with "empty string result is not
                      // allowed"; the maps layer turns that into a
                      // configuration error, so the wire answer is CONFIG.
                      LookupCase{"{}", "foo", kFold, kConfig},
                      LookupCase{"{ }", "foo", kFold, kConfig}));

TEST(StaticTable, BadBracesThrowPostmapMessage) {
  TableEnv env;
  // postmap: fatal: bad static:name syntax: missing '}' in "{ a"
  try {
    (void)make_static_table("{ a", env);
    FAIL() << "no exception";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "bad static:name syntax: missing '}' in \"{ a\"");
  }
  // postmap: fatal: bad static:name syntax: syntax error after '}' in "{ a } b"
  try {
    (void)make_static_table("{ a } b", env);
    FAIL() << "no exception";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "bad static:name syntax: syntax error after '}' in \"{ a } b\"");
  }
}

TEST(StaticTable, NoUpdateDeleteOrSequence) {
  // dict_static has no update/delete/sequence (Postfix: fatal "operation is
  // not supported"); proxyd answers CONFIG instead of dying.
  TableEnv env;
  auto table = make_static_table("x", env);
  EXPECT_EQ(update(*table, "k", "v", 0).status, ProxyStatus::Config);
  EXPECT_EQ(remove(*table, "k", 0).status, ProxyStatus::Config);
  EXPECT_EQ(sequence(*table, 0, 0).status, ProxyStatus::Config);
}

// --- inline: ---------------------------------------------------------------

class InlineLookup : public ::testing::TestWithParam<LookupCase> {};

TEST_P(InlineLookup, AnswersLikePostmap) {
  const auto& c = GetParam();
  TableEnv env;
  auto table = make_inline_table(c.spec, env, kPostmap37);
  EXPECT_EQ(table->impl_flags(), pflags::kFixed);
  EXPECT_EQ(lookup(*table, c.key, c.flags), c.expected);
}

const std::string kMixed = "{ Foo=bar, { KEY = value with , comma } }";

// Checked with postmap -q (which folds: FOLD_FIX); the flags-0 rows are the
// same keys as a v1 smtputf8 client sends them, already folded.
INSTANTIATE_TEST_SUITE_P(
    Postmap, InlineLookup,
    ::testing::Values(LookupCase{kMixed, "Foo", kFold, ok("bar")},
                      LookupCase{kMixed, "foo", kFold, ok("bar")},
                      LookupCase{kMixed, "foo", 0, ok("bar")},
                      LookupCase{kMixed, "KEY", kFold, ok("value with , comma")},
                      LookupCase{kMixed, "key", 0, ok("value with , comma")},
                      // Without FOLD_FIX the key is used as sent: stored keys are folded.
                      LookupCase{kMixed, "Foo", 0, kNoKey},
                      LookupCase{kMixed, "bar", kFold, kNoKey},
                      // Later entries replace earlier ones, also after folding.
                      LookupCase{"{ foo=1, foo=2 }", "foo", kFold, ok("2")},
                      LookupCase{"{ FOO=1, foo=2 }", "foo", kFold, ok("2")},
                      // Separators are ", \t\r\n"; ';' is not one.
                      LookupCase{"{a=1,,b=2}", "a", kFold, ok("1")},
                      LookupCase{"{a=1,,b=2}", "b", kFold, ok("2")},
                      LookupCase{"{a=1;b=2}", "a", kFold, ok("1;b=2")},
                      LookupCase{"{a=1;b=2}", "b", kFold, kNoKey},
                      LookupCase{"{a=1\tb=2}", "b", kFold, ok("2")},
                      // Brace groups: stripped, may hold spaces and commas.
                      LookupCase{"{ {x=1 } }", "x", kFold, ok("1")},
                      LookupCase{"{ {x=1 }, }", "x", kFold, ok("1")},
                      LookupCase{"{ { x = 1, y } }", "x", kFold, ok("1, y")},
                      LookupCase{"{ x={1} }", "x", kFold, ok("{1}")},
                      LookupCase{"{ x={1,2} }", "x", kFold, ok("{1,2}")},
                      // Backslash and quotes stay in key and value.
                      LookupCase{"{ a\\=b=c }", "a\\=b", kFold, ok("c")},
                      LookupCase{"{ x='q' }", "x", kFold, ok("'q'")},
                      // Quotes inside a brace group may protect white space in the key.
                      LookupCase{"{ {\"a b\"=c} }", "\"a b\"", 0, ok("c")},
                      LookupCase{"{ {\"a b\" = c d } }", "\"A B\"", kFold, ok("c d")},
                      LookupCase{"{ {x=} }", "x", kFold, kConfig},
                      // Empty key is accepted.
                      LookupCase{"{ =x }", "", kFold, ok("x")},
                      // Addresses, empty localpart, bare domain, '%'.
                      LookupCase{"{ Foo@Example.COM=1 }", "foo@example.com", 0, ok("1")},
                      LookupCase{"{ Foo@Example.COM=1 }", "FOO@example.Com", kFold,
                                 ok("1")},
                      LookupCase{"{ @Example.COM=1 }", "@example.com", 0, ok("1")},
                      LookupCase{"{ @Example.COM=1 }", "@EXAMPLE.COM", kFold, ok("1")},
                      LookupCase{"{ Example.COM=1 }", "example.com", kFold, ok("1")},
                      LookupCase{"{ 100%=1 }", "100%", kFold, ok("1")},
                      // UTF-8 that needs no case folding.
                      LookupCase{"{ äbc=1 }", "äbc", 0, ok("1")},
                      // Empty value: postmap warns "empty string result is not allowed";
                      // CONFIG on the wire (see static:).
                      LookupCase{"{ foo=, bar=x }", "foo", kFold, kConfig},
                      LookupCase{"{ foo=, bar=x }", "bar", kFold, ok("x")}));

// Direct Postfix with smtputf8 on case-folds stored keys with ICU (ß -> ss,
// Ä -> ä): postmap -q äbc 'inline:{ ÄBC=1 }' and -q strasse
// 'inline:{ Straße=1 }' both print 1. A v1 client sends the ICU-folded key
// without FOLD_FIX; a client without a UTF-8 layer sends FOLD_FIX.
TEST(InlineTable, IcuFoldedStoredKeys) {
  TableEnv env;
  for (PostfixVersion v : {kDebian12, PostfixVersion{3, 10, 7}}) {
    auto table =
        make_inline_table("{ ÄBC=1, Straße=2 }", env, SimpleTableOptions{.release = v});
    EXPECT_EQ(lookup(*table, "äbc", 0), ok("1"));
    EXPECT_EQ(lookup(*table, "strasse", 0), ok("2"));
    EXPECT_EQ(lookup(*table, "STRASSE", kFold), ok("2"));
    EXPECT_EQ(lookup(*table, "Straße", kFold), ok("2"));
    EXPECT_EQ(lookup(*table, "Straße", 0), kNoKey);  // not folded, not stored so
  }
}

// 3.11.0 builds inline: on dict_ht_open() instead of dict_open3(): stored
// keys get only dict_ht's ASCII lowercase(), while lookups still go through
// the UTF-8 layer (ICU casefold()), so a key that folds differently is
// never found.
TEST(InlineTable, AsciiFoldedStoredKeysFrom311) {
  TableEnv env;
  auto table = make_inline_table("{ ÄBC=1, Straße=2, Plain=3 }", env, kPostfix311);
  EXPECT_EQ(lookup(*table, "äbc", 0), kNoKey);  // what the client sends for ÄBC
  EXPECT_EQ(lookup(*table, "ÄBC", kFold), kNoKey);
  EXPECT_EQ(lookup(*table, "Äbc", 0), ok("1"));  // stored as lowercase() left it
  EXPECT_EQ(lookup(*table, "strasse", 0), kNoKey);
  EXPECT_EQ(lookup(*table, "STRASSE", kFold), kNoKey);
  EXPECT_EQ(lookup(*table, "straße", 0), ok("2"));
  EXPECT_EQ(lookup(*table, "PLAIN", kFold), ok("3"));
  // Through the registry's options, the TableEnv's release decides.
  env.postfix_version = PostfixVersion{3, 11, 6};
  EXPECT_EQ(lookup(*make_inline_table("{ Straße=2 }", env), "strasse", 0), kNoKey);
  env.postfix_version = PostfixVersion{3, 10, 7};
  EXPECT_EQ(lookup(*make_inline_table("{ Straße=2 }", env), "strasse", 0), ok("2"));
}

TEST(TexthashTable, IcuFoldedStoredKeys) {
  std::string path = ::testing::TempDir() + "texthash_icu.txt";
  {
    FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(
        "J\xC3\x9CRGEN@EX\xC3\x84MPLE.ORG found\nStra\xC3\x9F"
        "e street\n",
        f);
    std::fclose(f);
  }
  TableEnv env;
  auto table = make_texthash_table(path, env, kPostmap37);
  EXPECT_EQ(lookup(*table, "j\xC3\xBCrgen@ex\xC3\xA4mple.org", 0), ok("found"));
  EXPECT_EQ(lookup(*table, "j\xC3\x9Crgen@ex\xC3\x84mple.org", kFold), ok("found"));
  EXPECT_EQ(lookup(*table, "strasse", 0), ok("street"));
  // 3.11: dict_ht's ASCII lowercase() only (see AsciiFoldedStoredKeysFrom311).
  auto v311 = make_texthash_table(path, env, kPostfix311);
  EXPECT_EQ(lookup(*v311, "j\xC3\xBCrgen@ex\xC3\xA4mple.org", 0), kNoKey);
  EXPECT_EQ(lookup(*v311, "j\xC3\x9Crgen@ex\xC3\x84mple.org", 0), ok("found"));
  EXPECT_EQ(lookup(*v311, "strasse", 0), kNoKey);
  EXPECT_EQ(lookup(*v311,
                   "stra\xC3\x9F"
                   "e",
                   0),
            ok("street"));
  auto ascii = make_texthash_table(
      path, env, SimpleTableOptions{.utf8 = false, .release = kDebian12});
  EXPECT_EQ(lookup(*ascii, "j\xC3\x9Crgen@ex\xC3\x84mple.org", kFold), ok("found"));
  EXPECT_EQ(lookup(*ascii, "j\xC3\xBCrgen@ex\xC3\xA4mple.org", kFold), kNoKey);
  EXPECT_EQ(lookup(*ascii, "strasse", kFold), kNoKey);
}

// Instances: what a table stores depends on the flags it was opened with.
TEST(InlineTable, InstanceWithoutFoldFixStoresKeysAsWritten) {
  // postmap -f -q MixedCase 'inline:{ MixedCase=1 }' prints 1; -f -q mixedcase nothing.
  TableEnv env;
  SimpleTableOptions raw{.utf8 = true, .instance_flags = pflags::kUtf8Request};
  auto table = make_inline_table("{ MixedCase=1, Straße=2 }", env, raw);
  EXPECT_EQ(lookup(*table, "MixedCase", 0), ok("1"));
  EXPECT_EQ(lookup(*table, "mixedcase", 0), kNoKey);
  EXPECT_EQ(lookup(*table, "Straße", 0), ok("2"));
  EXPECT_EQ(lookup(*table, "strasse", 0), kNoKey);
}

TEST(InlineTable, InstanceWithoutUtf8RequestFoldsAscii) {
  // No UTF-8 layer without UTF8_REQUEST (postmap -o smtputf8_enable=no), even
  // when proxyd's own smtputf8 is on.
  TableEnv env;
  SimpleTableOptions ascii{.utf8 = true, .instance_flags = pflags::kFoldFix};
  auto table = make_inline_table("{ ÄBC=1 }", env, ascii);
  EXPECT_EQ(lookup(*table, "ÄBC", kFold), ok("1"));
  EXPECT_EQ(lookup(*table, "äbc", kFold), kNoKey);
}

TEST(RhsFile, Base64LikePostfix) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode(std::string_view("\xff\x00\x80", 3)), "/wCA");
}

// Writes text to a fresh file under the test temp dir; returns its path.
std::string temp_file(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + name;
  FILE* f = std::fopen(path.c_str(), "w");
  EXPECT_NE(f, nullptr);
  if (f != nullptr) {
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
  }
  return path;
}

// SRC_RHS_IS_FILE (postmap -F): values name files; the value is the base64
// of their contents, several files joined by a newline (dict_file).
TEST(RhsFile, StaticInlineTexthashValuesNameFiles) {
  std::string a = temp_file("rhs_a.pem", "AAA\n");
  std::string b = temp_file("rhs_b.pem", "BB");
  TableEnv env;
  SimpleTableOptions files{
      .utf8 = true, .instance_flags = kDaemonInstanceFlags | pflags::kSrcRhsIsFile};
  auto st = make_static_table(a, env, files);
  EXPECT_EQ(lookup(*st, "anything", 0), ok(base64_encode("AAA\n")));
  auto in = make_inline_table(fmt::format("{{ one={}, {{ two = {}, {} }} }}", a, a, b),
                              env, files);
  EXPECT_EQ(lookup(*in, "one", 0), ok(base64_encode("AAA\n")));
  EXPECT_EQ(lookup(*in, "TWO", kFold), ok(base64_encode("AAA\n\nBB")));
  std::string th =
      temp_file("rhs.txt", fmt::format("one {}\nMissing /nonexistent/x\n", b));
  CaptureLogger log;
  env.log = &log;
  auto hash = make_texthash_table(th, env, files);
  EXPECT_EQ(lookup(*hash, "one", 0), ok("QkI="));
  EXPECT_EQ(lookup(*hash, "missing", 0), kNoKey);
  ASSERT_EQ(log.lines().size(), 1u);
  EXPECT_EQ(log.lines()[0],
            th + ", line 2: open /nonexistent/x: No such file or directory: "
                 "skipping this entry");
  // Without the flag the value is the file name itself.
  EXPECT_EQ(lookup(*make_static_table(a, env), "k", 0), ok(a));
}

TEST(RhsFile, UnreadableFileMakesStaticAndInlineUnavailable) {
  TableEnv env;
  SimpleTableOptions files{
      .utf8 = true, .instance_flags = kDaemonInstanceFlags | pflags::kSrcRhsIsFile};
  try {
    (void)make_static_table("/nonexistent/x", env, files);
    FAIL() << "no exception";
  } catch (const ConfigUnavailable& e) {
    EXPECT_STREQ(e.what(), "open /nonexistent/x: No such file or directory");
  }
  try {
    (void)make_inline_table("{ a=/nonexistent/x }", env, files);
    FAIL() << "no exception";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "open /nonexistent/x: No such file or directory: \"inline:{ "
                 "a=/nonexistent/x }\"; "
                 "need \"inline:{name=filename...}\"");
  }
}

TEST(InlineTable, SmtputfOffFoldsAsciiOnly) {
  // Checked with postmap and smtputf8_enable = no: -q ÄBC 'inline:{ ÄBC=1 }'
  // prints 1, -q äbc finds nothing.
  TableEnv env;
  auto table = make_inline_table("{ ÄBC=1 }", env,
                                 SimpleTableOptions{.utf8 = false, .release = kDebian12});
  EXPECT_EQ(lookup(*table, "ÄBC", kFold), ok("1"));
  EXPECT_EQ(lookup(*table, "äbc", kFold), kNoKey);
}

struct ErrorCase {
  std::string spec;
  std::string message;
};

std::ostream& operator<<(std::ostream& os, const ErrorCase& c) {
  return os << escaped(c.spec);
}

class InlineError : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(InlineError, ThrowsPostmapMessage) {
  const auto& c = GetParam();
  TableEnv env;
  try {
    (void)make_inline_table(c.spec, env, kPostmap37);
    FAIL() << "no exception for " << c.spec;
  } catch (const ConfigUnavailable&) {
    FAIL() << "wrong exception type";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.what(), c.message);
  }
}

std::string need(std::string_view what, std::string_view spec) {
  return fmt::format("{}: \"inline:{}\"; need \"inline:{{name=value...}}\"", what, spec);
}

// Each message is the text of postmap's "fatal:" line for the same spec.
INSTANTIATE_TEST_SUITE_P(
    Postmap, InlineError,
    ::testing::Values(
        ErrorCase{"{ foo }", need("missing '=' after attribute name", "{ foo }")},
        ErrorCase{"{ a = b = c }",
                  need("missing '=' after attribute name", "{ a = b = c }")},
        ErrorCase{"{ {x=1} junk }",
                  need("missing '=' after attribute name", "{ {x=1} junk }")},
        ErrorCase{"{ {x=1}, { y } }",
                  need("missing '=' after attribute name", "{ {x=1}, { y } }")},
        ErrorCase{"{ }", need("empty table", "{ }")},
        ErrorCase{"{}", need("bad syntax", "{}")},
        ErrorCase{"{ foo=1 ", need("bad syntax", "{ foo=1 ")},
        ErrorCase{"foo=1", need("bad syntax", "foo=1")},
        ErrorCase{"{ x=1 }junk", need("bad syntax", "{ x=1 }junk")},
        ErrorCase{"{x=1}}", need("bad syntax", "{x=1}}")},
        ErrorCase{"{{x=1}", need("bad syntax", "{{x=1}")},
        ErrorCase{"{ {x=1}junk }",
                  need("syntax error after '}' in \"{x=1}junk\"", "{ {x=1}junk }")},
        ErrorCase{"{ \"a b\"=c }", need("unbalanced '\"'", "{ \"a b\"=c }")},
        ErrorCase{"{ \"x=1 }", need("unbalanced '\"'", "{ \"x=1 }")},
        ErrorCase{"{ {  } }",
                  need("no key found; expected format: key = value", "{ {  } }")},
        ErrorCase{"{ x=\xff }", need("bad UTF-8 syntax", "{ x=\xff }")}));

TEST(InlineTable, NonUtf8AcceptedWhenSmtputf8Off) {
  // Checked with postmap and smtputf8_enable = no: prints the \xff byte.
  TableEnv env;
  auto table = make_inline_table("{ x=\xff }", env,
                                 SimpleTableOptions{.utf8 = false, .release = kDebian12});
  EXPECT_EQ(lookup(*table, "x", kFold), ok("\xff"));
}

TEST(InlineTable, SequenceInInsertionOrderWithFoldedKeys) {
  TableEnv env;
  auto table = make_inline_table("{ B=2, a=1, C=3, b=4 }", env, kPostmap37);
  std::vector<std::pair<std::string, std::string>> seen;
  for (auto r = sequence(*table, 0, 0); r.status == ProxyStatus::Ok;
       r = sequence(*table, 1, 0)) {
    seen.emplace_back(r.key, r.value);
  }
  std::vector<std::pair<std::string, std::string>> expected{
      {"b", "4"}, {"a", "1"}, {"c", "3"}};
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(sequence(*table, 1, 0).status, ProxyStatus::NoKey);
  // function 0 restarts.
  EXPECT_EQ(sequence(*table, 0, 0).key, "b");
}

TEST(InlineTable, UpdateAndRemoveFollowDictHt) {
  // dict_ht: update replaces or adds, delete answers "not found" for a
  // missing key; FOLD_FIX folds the key of both.
  TableEnv env;
  auto table = make_inline_table("{ a=1 }", env, kPostmap37);
  EXPECT_EQ(update(*table, "A", "2", kFold).status, ProxyStatus::Ok);
  EXPECT_EQ(lookup(*table, "a", 0), ok("2"));
  EXPECT_EQ(update(*table, "New", "3", 0).status, ProxyStatus::Ok);
  EXPECT_EQ(lookup(*table, "New", 0), ok("3"));
  EXPECT_EQ(remove(*table, "A", kFold).status, ProxyStatus::Ok);
  EXPECT_EQ(lookup(*table, "a", 0), kNoKey);
  EXPECT_EQ(remove(*table, "a", 0).status, ProxyStatus::NoKey);
  auto first = sequence(*table, 0, 0);
  EXPECT_EQ(first.key, "New");
  EXPECT_EQ(sequence(*table, 1, 0).status, ProxyStatus::NoKey);
}

// --- texthash: -------------------------------------------------------------

class TexthashLookup : public ::testing::TestWithParam<LookupCase> {};

TEST_P(TexthashLookup, AnswersLikePostmap) {
  const auto& c = GetParam();
  TableEnv env;
  auto table = make_texthash_table(c.spec, env, kPostmap37);
  EXPECT_EQ(table->impl_flags(), pflags::kFixed);
  EXPECT_EQ(lookup(*table, c.key, c.flags), c.expected);
}

const std::string kBasic = "data/tables/basic.txt";
const std::string kDups = "data/tables/duplicates.txt";

// Checked with postmap -q / -s on the same files.
INSTANTIATE_TEST_SUITE_P(
    Postmap, TexthashLookup,
    ::testing::Values(
        // Value trimmed at both ends, inner white space kept.
        LookupCase{kBasic, "foo", kFold, ok("bar baz")},
        LookupCase{kBasic, "FOO", kFold, ok("bar baz")},
        LookupCase{kBasic, "foo", 0, ok("bar baz")},
        // Continuation lines joined as read (newline dropped, indentation
        // kept), comment lines inside skipped.
        LookupCase{kBasic, "cont", kFold, ok("first  second line\tthird")},
        // "key" without value is ignored.
        LookupCase{kBasic, "alone", kFold, kNoKey},
        // Quotes and backslashes stay in the key.
        LookupCase{kBasic, "\"quoted key\"", kFold, ok("qv")},
        LookupCase{kBasic, "quoted key", kFold, kNoKey},
        LookupCase{kBasic, "back\\ slash", kFold, ok("bv")},
        LookupCase{kBasic, "alias:", kFold, ok("av")},
        // '#' only starts a comment at the start of a line.
        LookupCase{kBasic, "k#x", kFold, ok("v#y")},
        // CR before LF is trailing white space; last line needs no LF.
        LookupCase{kBasic, "crlf2", kFold, ok("val2")},
        LookupCase{kBasic, "nonl", kFold, ok("last")},
        LookupCase{"data/tables/continued.txt", "a", kFold, ok("1 a2")},
        LookupCase{"data/tables/leading.txt", "b", kFold, ok("2")},
        LookupCase{"data/tables/quotes.txt", "a", kFold, ok("\"x")},
        LookupCase{"data/tables/quotes.txt", "q\"q", kFold, kNoKey},
        LookupCase{"data/tables/latin1.txt", "ok", kFold, ok("y")},
        LookupCase{"data/tables/latin1.txt", "caf\xe9", kFold, kNoKey},
        // Duplicates: postmap (DUP_WARN) warns and keeps the first value.
        LookupCase{kDups, "dup", kFold | pflags::kDupWarn, ok("1")},
        LookupCase{kDups, "DUP", kFold | pflags::kDupWarn, ok("1")},
        // From source (dict_thash.c): DUP_IGNORE keeps the first value,
        // DUP_REPLACE the last, and without any DUP flag the whole table is a
        // surrogate (every lookup a temporary failure).
        LookupCase{kDups, "dup", kFold | pflags::kDupIgnore, ok("1")},
        LookupCase{kDups, "dup", kFold | pflags::kDupReplace, ok("3")},
        LookupCase{kDups, "dup", kFold | pflags::kDupIgnore | pflags::kDupReplace,
                   ok("1")},
        LookupCase{kDups, "dup", kFold, kRetry},
        LookupCase{kDups, "other", kFold, kRetry},
        LookupCase{kDups, "other", pflags::kDupWarn, ok("o")}));

TEST(TexthashTable, WarningsMatchPostmap) {
  struct Case {
    std::string file;
    std::vector<std::string> warnings;
  };
  // The "postmap: warning: " lines printed for each file, in order.
  const std::vector<Case> cases{
      {kBasic,
       {"data/tables/basic.txt, line 7: expected format: key whitespace value -- "
        "ignoring "
        "this line",
        "data/tables/basic.txt, line 10: record is in \"key: value\" format; is this an "
        "alias file?"}},
      {kDups,
       {"data/tables/duplicates.txt, line 3: duplicate entry: \"dup\"",
        "data/tables/duplicates.txt, line 4: duplicate entry: \"DUP\""}},
      {"data/tables/leading.txt",
       {"data/tables/leading.txt: logical line must not start with whitespace: \" lead x "
        " "
        "more\""}},
      {"data/tables/quotes.txt",
       {"data/tables/quotes.txt, line 2: unbalanced '\"' in 'q\"q 1' -- ignoring this "
        "line",
        "data/tables/quotes.txt, line 3: expected format: key whitespace value -- "
        "ignoring "
        "this line"}},
      // postmap shows the byte as '?' (its log sanitizer); we log it raw.
      {"data/tables/latin1.txt",
       {"data/tables/latin1.txt, line 1: non-UTF-8 input \"caf\xe9 x\" -- ignoring this "
        "line"}},
  };
  for (const auto& c : cases) {
    CaptureLogger log;
    TableEnv env;
    env.log = &log;
    (void)make_texthash_table(c.file, env, kPostmap37);
    EXPECT_EQ(log.lines(), c.warnings) << c.file;
  }
}

TEST(TexthashTable, LongLeadingWhitespaceLineIsAbbreviated) {
  // readllines quotes at most 30 bytes and appends "..." (source).
  std::string path = ::testing::TempDir() + "texthash_long.txt";
  {
    FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(" 123456789012345678901234567890xyz\nk v\n", f);
    std::fclose(f);
  }
  CaptureLogger log;
  TableEnv env;
  env.log = &log;
  auto table = make_texthash_table(path, env, kPostmap37);
  ASSERT_EQ(log.lines().size(), 1u);
  EXPECT_EQ(log.lines()[0], path +
                                ": logical line must not start with whitespace: \" "
                                "12345678901234567890123456789...\"");
  EXPECT_EQ(lookup(*table, "k", 0), ok("v"));
}

TEST(TexthashTable, NulByteEndsTheLineAs3711ReadsIt) {
  // Debian's 3.7.11 postmap on this file: key1 -> "val", key2 -> "after",
  // and line 3 ("ke\0y3 v3") is "ke" alone: "expected format" and ignored.
  std::string path = ::testing::TempDir() + "texthash_nul.txt";
  {
    FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    const char text[] = "key1 val\0ue\nkey2 after\nke\0y3 v3\n";
    std::fwrite(text, 1, sizeof(text) - 1, f);
    std::fclose(f);
  }
  CaptureLogger log;
  TableEnv env;
  env.log = &log;
  auto table = make_texthash_table(path, env, kPostmap37);
  EXPECT_EQ(log.lines(), (std::vector<std::string>{
                             path + ", line 3: expected format: key whitespace value -- "
                                    "ignoring this line"}));
  EXPECT_EQ(lookup(*table, "key1", kFold), ok("val"));
  EXPECT_EQ(lookup(*table, "key2", kFold), ok("after"));
  EXPECT_EQ(lookup(*table, "ke", kFold), kNoKey);
  EXPECT_EQ(lookup(*table, "key3", kFold), kNoKey);
}

TEST(TexthashTable, NulByteWarnedFrom39) {
  // readllines() in 3.9.0 warns about every logical line that holds a NUL
  // (also a continued one, with its line range); texthash then checks UTF-8
  // only up to the NUL (valid_utf8_stringz), where 3.7 checked the whole
  // line: "k\xc3\xa9 v\0\xff" is skipped by 3.7 and kept by 3.9.
  std::string path =
      temp_file("texthash_nul39.txt", std::string("key1 val\0ue\nkey2 after\n"
                                                  "k\xc3\xa9 v\0\xff\n"
                                                  "key4 a\n b\0c\n",
                                                  43));
  CaptureLogger new_log;
  TableEnv env;
  env.log = &new_log;
  auto v39 = make_texthash_table(path, env, SimpleTableOptions{.release = {3, 9, 0}});
  EXPECT_EQ(new_log.lines(),
            (std::vector<std::string>{
                path + ", line 1: text after null byte may be ignored",
                path + ", line 3: text after null byte may be ignored",
                path + ", line 4-5: text after null byte may be ignored"}));
  EXPECT_EQ(lookup(*v39, "key1", kFold), ok("val"));
  EXPECT_EQ(lookup(*v39, "k\xc3\xa9", 0), ok("v"));
  EXPECT_EQ(lookup(*v39, "key4", kFold), ok("a b"));
  CaptureLogger old_log;
  env.log = &old_log;
  auto v38 = make_texthash_table(path, env, SimpleTableOptions{.release = {3, 8, 7}});
  ASSERT_EQ(old_log.lines().size(), 1u);
  EXPECT_NE(
      old_log.lines()[0].find(", line 3: non-UTF-8 input \"k\xc3\xa9 v\" -- ignoring"),
      std::string::npos);
  EXPECT_EQ(lookup(*v38, "key1", kFold), ok("val"));
  EXPECT_EQ(lookup(*v38, "k\xc3\xa9", 0), kNoKey);
  EXPECT_EQ(lookup(*v38, "key4", kFold), ok("a b"));
}

TEST(TexthashTable, NonUtf8LinesKeptFrom311) {
  // 3.11's dict_ht has no UTF-8 layer: the "non-UTF-8 input" check is gone.
  CaptureLogger log;
  TableEnv env;
  env.log = &log;
  auto table = make_texthash_table("data/tables/latin1.txt", env, kPostfix311);
  EXPECT_TRUE(log.lines().empty());
  EXPECT_EQ(lookup(*table, "caf\xe9", 0), ok("x"));
  EXPECT_EQ(lookup(*table, "ok", kFold), ok("y"));
}

TEST(TexthashTable, NonUtf8KeptWhenSmtputf8Off) {
  // Checked with postmap and smtputf8_enable = no: -s lists "caf\xe9 x".
  TableEnv env;
  auto table =
      make_texthash_table("data/tables/latin1.txt", env,
                          SimpleTableOptions{.utf8 = false, .release = kDebian12});
  EXPECT_EQ(lookup(*table, "caf\xe9", kFold), ok("x"));
}

TEST(TexthashTable, MissingFileIsUnavailable) {
  // postmap: fatal: open database /nonexistent: No such file or directory
  TableEnv env;
  try {
    (void)make_texthash_table("data/tables/missing.txt", env, kPostmap37);
    FAIL() << "no exception";
  } catch (const ConfigUnavailable& e) {
    EXPECT_STREQ(e.what(),
                 "open database data/tables/missing.txt: No such file or directory");
  }
}

TEST(TexthashTable, DirectoryIsUnavailable) {
  TableEnv env;
  EXPECT_THROW((void)make_texthash_table("data/tables", env, kPostmap37),
               ConfigUnavailable);
}

TEST(TexthashTable, SequenceListsFoldedKeysOnce) {
  // postmap -s lists every key once, folded ("strasse" there: ICU; ASCII here).
  TableEnv env;
  auto table = make_texthash_table(kDups, env, kPostmap37);
  std::vector<std::pair<std::string, std::string>> seen;
  for (auto r = sequence(*table, 0, pflags::kDupWarn); r.status == ProxyStatus::Ok;
       r = sequence(*table, 1, pflags::kDupWarn)) {
    seen.emplace_back(r.key, r.value);
  }
  std::vector<std::pair<std::string, std::string>> expected{{"dup", "1"}, {"other", "o"}};
  EXPECT_EQ(seen, expected);
  // Without a DUP flag the table is unavailable for sequence too.
  EXPECT_EQ(sequence(*table, 0, 0).status, ProxyStatus::Retry);
}

// --- unix: -----------------------------------------------------------------

std::string passwd_line(const char* name) {
  const passwd* pw = ::getpwnam(name);
  if (pw == nullptr) return {};
  return fmt::format("{}:{}:{}:{}:{}:{}:{}", pw->pw_name, pw->pw_passwd,
                     static_cast<long>(pw->pw_uid), static_cast<long>(pw->pw_gid),
                     pw->pw_gecos, pw->pw_dir, pw->pw_shell);
}

TEST(UnixTable, PasswdByName) {
  // postmap -q root unix:passwd.byname -> root:x:0:0:root:/root:/bin/bash
  // (and the same for ROOT: postmap folds).
  TableEnv env;
  auto table = make_unix_table("passwd.byname", env);
  EXPECT_EQ(table->impl_flags(), pflags::kFixed);
  const std::string root = passwd_line("root");
  ASSERT_FALSE(root.empty());
  EXPECT_EQ(root.substr(0, 7), "root:x:");
  EXPECT_EQ(lookup(*table, "root", 0), ok(root));
  EXPECT_EQ(lookup(*table, "ROOT", kFold), ok(root));
  EXPECT_EQ(lookup(*table, "ROOT", 0), kNoKey);
  EXPECT_EQ(lookup(*table, "no-such-user-proxyd", kFold), kNoKey);
  EXPECT_EQ(lookup(*table, "", kFold), kNoKey);
}

TEST(UnixTable, GroupByName) {
  // postmap -q root unix:group.byname -> root:x:0:   (members comma-joined)
  TableEnv env;
  auto table = make_unix_table("group.byname", env);
  const group* gr = ::getgrnam("root");
  ASSERT_NE(gr, nullptr);
  std::string expected =
      fmt::format("{}:{}:{}:", gr->gr_name, gr->gr_passwd, static_cast<long>(gr->gr_gid));
  for (char** m = gr->gr_mem; *m != nullptr; ++m) {
    if (m != gr->gr_mem) expected += ',';
    expected += *m;
  }
  EXPECT_EQ(lookup(*table, "ROOT", kFold), ok(expected));
}

TEST(UnixTable, UnknownMapIsConfigError) {
  // postmap: fatal: unknown table: unix:foo
  TableEnv env;
  try {
    (void)make_unix_table("foo", env);
    FAIL() << "no exception";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "unknown table: unix:foo");
  }
}

}  // namespace
}  // namespace proxyd::dict
