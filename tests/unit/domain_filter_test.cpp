// Tests for the SQL "domain" list (Postfix string_list semantics): exact,
// case-insensitive names without subdomain matching, '!' negation with
// first match winning, /file/name expansion, type:table entries (sync and
// async), and errors. Literal cases mirror SPEC §6.4 [verified] and a
// postmap 3.7.11 run with domain = !bad.example.com, example.com EXAMPLE1.org.
#include "dictcore/sql/domain_filter.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "dictcore/util/config_error.h"
#include "tests/fakes/fake_session.h"

namespace proxyd::dict {
namespace {

using Kind = DomainMatch::Kind;
using testing::CaptureLogger;

// In-memory table; answers at once, or later when defer is set.
class MapTable final : public Table {
 public:
  std::map<std::string, LookupResult> answers;
  bool defer = false;
  std::vector<std::pair<std::string, LookupDone>> pending;
  std::vector<std::string> keys_seen;

  uint32_t impl_flags() const override { return 0x10; }
  void lookup(const std::string& key, uint32_t, LookupDone done) override {
    keys_seen.push_back(key);
    if (defer) {
      pending.emplace_back(key, std::move(done));
      return;
    }
    done(answer(key));
  }
  LookupResult answer(const std::string& key) const {
    auto it = answers.find(key);
    return it == answers.end() ? LookupResult{ProxyStatus::NoKey, {}} : it->second;
  }
};

std::optional<Kind> check_sync(const DomainFilter& f, std::string_view key,
                               ProxyStatus* error = nullptr) {
  std::optional<Kind> got;
  f.check(key, [&](DomainMatch m) {
    got = m.kind;
    if (error != nullptr) *error = m.error;
  });
  return got;
}

struct Case {
  const char* key;
  Kind want;
};

// Postfix's match_list casefolds patterns and domains with ICU when
// smtputf8_enable is on (checked with postmap 3.7.11 through a sqlite table
// whose domain list is EXÄMPLE.ORG, Straße.DE), with ASCII rules otherwise.
TEST(DomainFilter, UnicodeFoldingWithSmtputf8) {
  CaptureLogger log;
  auto on = DomainFilter::parse(
      "EX\xC3\x84MPLE.ORG, Stra\xC3\x9F"
      "e.DE",
      "t.cf", {}, log, true);
  for (const Case& c : {
           Case{"J\xC3\x9CRGEN@EX\xC3\x84MPLE.ORG", Kind::Match},
           Case{"j\xC3\x9Crgen@ex\xC3\x84mple.org", Kind::Match},
           Case{"j\xC3\xBCrgen@ex\xC3\xA4mple.org", Kind::Match},
           Case{"a@STRASSE.de", Kind::Match},
           Case{"a@stra\xC3\x9F"
                "e.de",
                Kind::Match},
           Case{"a@example.org", Kind::NoMatch},
       }) {
    EXPECT_EQ(check_sync(*on, c.key), c.want) << c.key;
  }
  auto off = DomainFilter::parse(
      "EX\xC3\x84MPLE.ORG, Stra\xC3\x9F"
      "e.DE",
      "t.cf", {}, log, false);
  for (const Case& c : {
           Case{"J\xC3\x9CRGEN@EX\xC3\x84MPLE.ORG", Kind::Match},
           Case{"j\xC3\x9Crgen@ex\xC3\x84mple.org", Kind::Match},    // Ä stays Ä
           Case{"j\xC3\xBCrgen@ex\xC3\xA4mple.org", Kind::NoMatch},  // ä is not Ä
           Case{"a@STRASSE.de", Kind::NoMatch},
           Case{"a@STRA\xC3\x9F"
                "E.de",
                Kind::Match},
       }) {
    EXPECT_EQ(check_sync(*off, c.key), c.want) << c.key;
  }
}

TEST(DomainFilter, LiteralNamesVerifiedCases) {
  CaptureLogger log;
  auto f = DomainFilter::parse("!bad.example.com, example.com EXAMPLE1.org,exämple.de",
                               "t.cf", {}, log);
  EXPECT_EQ(f->size(), 4u);
  for (const Case& c : {
           Case{"user@example.com", Kind::Match},
           Case{"User@Example.COM",
                Kind::Match},  // domain casefolded even without FOLD_FIX
           Case{"a@EXAMPLE1.org", Kind::Match},
           Case{"a@example1.org", Kind::Match},
           Case{"x@bad.example.com", Kind::NoMatch},
           Case{"a@sub.example.com", Kind::NoMatch},  // no subdomain matching
           Case{"example.com", Kind::NoMatch},        // no '@'
           Case{"@example.com", Kind::NoMatch},       // empty local part
           Case{"user@", Kind::NoMatch},
           Case{"u@v@example.com", Kind::Match},  // last '@' splits
           Case{"ünïcode@exämple.de", Kind::Match},
           Case{"other@example.org", Kind::NoMatch},
       }) {
    EXPECT_EQ(check_sync(*f, c.key), c.want) << c.key;
  }
}

TEST(DomainFilter, FirstMatchWinsWithNegation) {
  CaptureLogger log;
  auto f = DomainFilter::parse("!example.com example.com other.org !other.org", "t.cf",
                               {}, log);
  EXPECT_EQ(check_sync(*f, "a@example.com"), Kind::NoMatch);
  EXPECT_EQ(check_sync(*f, "a@other.org"), Kind::Match);
  auto g = DomainFilter::parse("!!example.com", "t.cf", {}, log);  // double negation
  EXPECT_EQ(check_sync(*g, "a@example.com"), Kind::Match);
}

TEST(DomainFilter, BarePatternAfterBangIsConfigError) {
  CaptureLogger log;
  EXPECT_THROW(DomainFilter::parse("example.com, !", "t.cf", {}, log), ConfigError);
}

TEST(DomainFilter, CommentTokenStopsParsingWithWarning) {
  // match_list.c before 3.8; mystrtok.c's mystrtokq_cw from 3.8 on.
  for (PostfixVersion v : {PostfixVersion{3, 7, 11}, PostfixVersion{3, 8, 0}}) {
    CaptureLogger log;
    auto f = DomainFilter::parse("a.org #comment b.org and more text here", "t.cf", {},
                                 log, false, v);
    EXPECT_EQ(f->size(), 1u);
    EXPECT_EQ(check_sync(*f, "x@b.org"), Kind::NoMatch);
    EXPECT_EQ(log.lines(),
              std::vector<std::string>{
                  v.domain_files_logical_lines()
                      ? "t.cf: #comment after other text is not allowed: #comment b.org "
                        "and more text ..."
                      : "t.cf: comment at end of line is not supported: #comment b.org "
                        "and more text here"})
        << v.text();
  }
}

TEST(DomainFilter, FileIsReadAsTheReleaseReadsIt) {
  // Before 3.8 (vstring_fgets) every physical line is a list of its own and
  // an indented "#" is a comment token; from 3.8 (readlline) an indented
  // line continues the one before, and an indented "#" line is a comment.
  auto dir = std::filesystem::temp_directory_path() / "proxyd_domain_filter_release";
  std::filesystem::create_directories(dir);
  auto file = dir / "domains";
  std::ofstream(file) << "x.org #note\n  y.org\n  #indented z.org\n";
  CaptureLogger old_log;
  auto old_list =
      DomainFilter::parse(file.string(), "t.cf", {}, old_log, false, {3, 7, 11});
  EXPECT_EQ(check_sync(*old_list, "a@x.org"), Kind::Match);
  EXPECT_EQ(check_sync(*old_list, "a@y.org"), Kind::Match);
  EXPECT_EQ(check_sync(*old_list, "a@z.org"), Kind::NoMatch);
  EXPECT_EQ(old_log.lines(),
            (std::vector<std::string>{
                "t.cf: comment at end of line is not supported: #note ",
                "t.cf: comment at end of line is not supported: #indented z.org"}));
  CaptureLogger new_log;
  auto new_list =
      DomainFilter::parse(file.string(), "t.cf", {}, new_log, false, {3, 8, 0});
  EXPECT_EQ(check_sync(*new_list, "a@x.org"), Kind::Match);
  EXPECT_EQ(check_sync(*new_list, "a@y.org"), Kind::NoMatch);
  EXPECT_EQ(check_sync(*new_list, "a@z.org"), Kind::NoMatch);
  EXPECT_EQ(new_log.lines(),
            (std::vector<std::string>{
                "t.cf: #comment after other text is not allowed: #note  y.org..."}));
  std::filesystem::remove_all(dir);
}

TEST(DomainFilter, FileEntriesExpandInPlace) {
  auto dir = std::filesystem::temp_directory_path() / "proxyd_domain_filter_test";
  std::filesystem::create_directories(dir);
  auto file = dir / "domains";
  {
    std::ofstream out(file);
    out << "# comment line\nfile1.org, FILE2.org\n\n!neg.file.org\nfile3.org #trailing\n";
  }
  CaptureLogger log;
  auto f =
      DomainFilter::parse("!blocked.org " + file.string() + " last.org", "t.cf", {}, log);
  EXPECT_EQ(check_sync(*f, "a@file1.org"), Kind::Match);
  EXPECT_EQ(check_sync(*f, "a@file2.org"), Kind::Match);
  EXPECT_EQ(check_sync(*f, "a@file3.org"), Kind::Match);
  EXPECT_EQ(check_sync(*f, "a@neg.file.org"), Kind::NoMatch);
  EXPECT_EQ(check_sync(*f, "a@blocked.org"), Kind::NoMatch);
  EXPECT_EQ(check_sync(*f, "a@last.org"), Kind::Match);

  // "!/file": every entry of the file is negated.
  auto g = DomainFilter::parse("!" + file.string() + " file1.org", "t.cf", {}, log);
  EXPECT_EQ(check_sync(*g, "a@file1.org"), Kind::NoMatch);
  std::filesystem::remove_all(dir);
}

TEST(DomainFilter, UnreadableFileFailsLookupsWithRetry) {
  CaptureLogger log;
  auto f = DomainFilter::parse("first.org /nonexistent/proxyd/domains", "t.cf", {}, log);
  EXPECT_EQ(check_sync(*f, "a@first.org"), Kind::Match);  // earlier entries still work
  ProxyStatus error = ProxyStatus::Ok;
  EXPECT_EQ(check_sync(*f, "a@other.org", &error), Kind::Error);
  EXPECT_EQ(error, ProxyStatus::Retry);
}

TEST(DomainFilter, TableEntriesAreLookedUpWithFoldedDomain) {
  CaptureLogger log;
  auto table = std::make_shared<MapTable>();
  table->answers["listed.org"] = {ProxyStatus::Ok, "yes"};
  table->answers["broken.org"] = {ProxyStatus::Retry, ""};
  table->answers["badcfg.org"] = {ProxyStatus::Config, ""};
  std::vector<std::string> opened;
  TableOpener opener = [&](std::string_view name) -> TablePtr {
    opened.emplace_back(name);
    return table;
  };
  auto f = DomainFilter::parse("literal.org, inline:{listed.org=yes}, last.org", "t.cf",
                               opener, log);
  ASSERT_EQ(opened.size(), 1u);
  EXPECT_EQ(opened[0], "inline:{listed.org=yes}");  // braces keep the token whole
  EXPECT_EQ(check_sync(*f, "a@LISTED.org"), Kind::Match);
  EXPECT_EQ(table->keys_seen.back(), "listed.org");
  EXPECT_EQ(check_sync(*f, "a@literal.org"), Kind::Match);
  EXPECT_EQ(check_sync(*f, "a@last.org"), Kind::Match);  // table miss: next entry
  EXPECT_EQ(check_sync(*f, "a@none.org"), Kind::NoMatch);
  ProxyStatus error = ProxyStatus::Ok;
  EXPECT_EQ(check_sync(*f, "a@broken.org", &error), Kind::Error);
  EXPECT_EQ(error, ProxyStatus::Retry);
  EXPECT_EQ(check_sync(*f, "a@badcfg.org", &error), Kind::Error);
  EXPECT_EQ(error, ProxyStatus::Config);
  EXPECT_TRUE(log.contains("table lookup problem"));

  auto neg = DomainFilter::parse("!hash:/x, listed.org", "t.cf", opener, log);
  EXPECT_EQ(check_sync(*neg, "a@listed.org"), Kind::NoMatch);
}

TEST(DomainFilter, AsyncTableContinuesLater) {
  CaptureLogger log;
  auto table = std::make_shared<MapTable>();
  table->defer = true;
  auto f = DomainFilter::parse(
      "mysql:/d.cf later.org", "t.cf",
      [&](std::string_view) -> TablePtr { return table; }, log);
  std::optional<Kind> got;
  f->check("a@later.org", [&](DomainMatch m) { got = m.kind; });
  EXPECT_FALSE(got.has_value());
  ASSERT_EQ(table->pending.size(), 1u);
  // Taken out of the table before it runs: the callback holds the filter,
  // which holds the table, and a kept callback would be a cycle
  // (LeakSanitizer reports it).
  LookupDone done = std::move(table->pending[0].second);
  table->pending.clear();
  done(LookupResult{ProxyStatus::NoKey, {}});
  EXPECT_EQ(got, Kind::Match);
  // The answered callback holds the filter, which holds the table that
  // holds the callback: drop it, or LeakSanitizer reports the cycle.
  table->pending.clear();
}

TEST(DomainFilter, TableEntriesWithoutOpenerAreConfigErrors) {
  CaptureLogger log;
  EXPECT_THROW(
      DomainFilter::parse("example.com, mysql:/etc/postfix/d.cf", "t.cf", {}, log),
      ConfigError);
  // "[...]" is not a table even with a ':'.
  auto f = DomainFilter::parse("[::1]", "t.cf", {}, log);
  EXPECT_EQ(f->size(), 1u);
}

}  // namespace
}  // namespace proxyd::dict
