// Tests for the proxymap allowlist (Postfix 3.11.0 authorize_proxied_maps):
// token splitting with { } groups, first-word-of-group, /file/name
// references, unionmap:/pipemap: nesting, proxy: stripping, restriction
// classes and the defaults. The fixture main.cf in data/conf/allowlist was
// expanded with real `postconf -xh` (3.7.11); see the .postconf files.
#include "dictcore/config/allowlist.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "dictcore/config/release_defaults.h"
#include "dictcore/util/config_lines.h"
#include "dictcore/util/files.h"
#include "tests/fakes/capture_logger.h"

namespace proxyd::dict {
namespace {

namespace fs = std::filesystem;
using Tables = std::set<std::string, std::less<>>;

using testing::CaptureLogger;

struct ValueCase {
  const char* name;
  const char* value;
  Tables expected;
  int warnings;
};

TEST(Allowlist, FromValue) {
  const ValueCase cases[] = {
      {"plain proxy token",
       "proxy:mysql:/etc/postfix/a.cf",
       {"mysql:/etc/postfix/a.cf"},
       0},
      {"not proxied", "mysql:/etc/postfix/a.cf hash:/etc/aliases", {}, 0},
      {"repeated proxy: prefixes", "proxy:proxy:proxy:pgsql:/p.cf", {"pgsql:/p.cf"}, 0},
      {"prefix is case-sensitive", "PROXY:mysql:/x.cf Proxy:mysql:/y.cf", {}, 0},
      {"separators",
       "proxy:a:1,proxy:b:2\tproxy:c:3\r\nproxy:d:4 ,, proxy:e:5",
       {"a:1", "b:2", "c:3", "d:4", "e:5"},
       0},
      {"brace group with attributes",
       "{ proxy:mysql:/x.cf, attr=v }",
       {"mysql:/x.cf"},
       0},
      {"brace group without spaces", "{proxy:mysql:/x.cf}", {"mysql:/x.cf"}, 0},
      {"only the first word of a group", "{ mysql:/x.cf, proxy:pgsql:/y.cf }", {}, 0},
      {"empty group", "{ } {}", {}, 0},
      {"group inside a group is not a table", "{{proxy:a:b}}", {}, 0},
      {"unbalanced group", "proxy:a:1 { proxy:b:2", {"a:1"}, 1},
      {"text after group", "{proxy:b:2}x proxy:c:3", {"c:3"}, 1},
      {"unionmap",
       "unionmap:{proxy:mysql:/a.cf, proxy:pgsql:/b.cf, hash:/c}",
       {"mysql:/a.cf", "pgsql:/b.cf"},
       0},
      {"nested pipemap and unionmap",
       "pipemap:{proxy:mysql:/a.cf, unionmap:{proxy:sqlite:/c.cf, hash:/d}} proxy:z:1",
       {"mysql:/a.cf", "sqlite:/c.cf", "z:1"},
       0},
      {"group inside unionmap",
       "unionmap:{{proxy:mysql:/a.cf, x=y}, proxy:b:1}",
       {"mysql:/a.cf", "b:1"},
       0},
      {"unionmap without braces is ignored", "unionmap:proxy:mysql:/a.cf", {}, 0},
      {"unionmap with junk after braces", "pipemap:{proxy:a:1}junk", {}, 1},
      {"proxied unionmap is stored as written",
       "proxy:unionmap:{proxy:mysql:/a.cf}",
       {"unionmap:{proxy:mysql:/a.cf}"},
       0},
      {"inline: is not a nesting map", "inline:{proxy:x:y}", {}, 0},
      {"non-table words",
       "[::1]/128 permit_mynetworks 127.0.0.1 reject_unauth_destination",
       {},
       0},
      {"restriction list",
       "permit_mynetworks, check_client_access proxy:cidr:/etc/postfix/c.cidr, reject",
       {"cidr:/etc/postfix/c.cidr"},
       0},
      {"first character must be alphanumeric", "_proxy:a:b -proxy:c:d !proxy:e:f", {}, 0},
      // [proxymap 3.11.0 export-proxy-proxywrite] "proxy:foo" is listed as "foo".
      {"remainder without a colon",
       "proxy:foo proxy:proxy: proxy:unix:passwd.byname",
       {"", "foo", "unix:passwd.byname"},
       0},
      {"exact strings, no canonicalisation",
       "proxy:mysql:/etc//x.cf proxy:mysql:/etc/X.cf",
       {"mysql:/etc//x.cf", "mysql:/etc/X.cf"},
       0},
      {"missing file is logged and ignored",
       "/nonexistent/proxyd-test.list proxy:a:b",
       {"a:b"},
       1},
  };
  for (const auto& c : cases) {
    CaptureLogger log;
    const auto list = Allowlist::from_value(c.value, log);
    EXPECT_EQ(list.tables(), c.expected) << c.name;
    EXPECT_EQ(static_cast<int>(log.lines().size()), c.warnings) << c.name;
    for (const auto& t : c.expected) EXPECT_TRUE(list.contains(t)) << c.name << " " << t;
  }
}

TEST(Allowlist, WarningTexts) {
  CaptureLogger log;
  (void)Allowlist::from_value("{ proxy:a:b  pipemap:{x}y /nonexistent/l", log);
  ASSERT_EQ(log.lines().size(), 1u);
  EXPECT_EQ(log.lines()[0],
            "bad syntax in proxy_read_maps content: missing '}' in "
            "\"{ proxy:a:b  pipemap:{x}y /nonexistent/l\"");
  CaptureLogger log2;
  (void)Allowlist::from_value("pipemap:{x}y /nonexistent/l", log2);
  ASSERT_EQ(log2.lines().size(), 2u);
  EXPECT_EQ(log2.lines()[0],
            "bad syntax in proxy_read_maps content: syntax error after '}' "
            "in \"{x}y\"");
  EXPECT_EQ(log2.lines()[1], "open /nonexistent/l: No such file or directory");
}

TEST(Allowlist, ContainsIsExact) {
  NullLogger log;
  const auto list = Allowlist::from_value("proxy:mysql:/etc/postfix/x.cf", log);
  EXPECT_TRUE(list.contains("mysql:/etc/postfix/x.cf"));
  EXPECT_FALSE(list.contains("proxy:mysql:/etc/postfix/x.cf"));
  EXPECT_FALSE(list.contains("mysql:/etc/postfix//x.cf"));
  EXPECT_FALSE(list.contains("MYSQL:/etc/postfix/x.cf"));
  EXPECT_FALSE(list.contains("mysql:/etc/postfix/x.c"));
  EXPECT_EQ(strip_proxy_prefixes("proxy:proxy:mysql:/x"), "mysql:/x");
  EXPECT_EQ(strip_proxy_prefixes("mysql:proxy:/x"), "mysql:proxy:/x");
  EXPECT_EQ(strip_proxy_prefixes("proxy:"), "");
}

TEST(Allowlist, AllTablesScope) {
  NullLogger log;
  const auto list = Allowlist::from_value(
      "hash:/etc/aliases proxy:mysql:/a.cf proxy:foo [::1] static:anyone "
      "unionmap:{cidr:/c, proxy:pgsql:/p}",
      log, AllowlistScope::AllTables);
  EXPECT_EQ(list.tables(), (Tables{"cidr:/c", "foo", "hash:/etc/aliases", "mysql:/a.cf",
                                   "pgsql:/p", "static:anyone"}));
}

// A scratch directory for files that must name each other by absolute path.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "proxyd-allowlist-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    const fs::path p = path_ / name;
    std::ofstream(p) << text;
    return p.string();
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

TEST(Allowlist, FileReferences) {
  TempDir dir;
  const std::string inner = (dir.path() / "inner.list").string();
  const std::string outer =
      dir.write("outer.list",
                "  leading white space: warned and skipped proxy:bad:/skipped.cf\n"
                "# maps for the proxy\n"
                "proxy:mysql:/from/file.cf\n"
                "    proxy:pgsql:/continued.cf, mysql:/not-proxied.cf\n"
                "  # indented comment, then a continuation after it\n"
                "    proxy:sqlite:/after-comment.cf\n"
                "{ " +
                    inner + " }\n" + inner + "\n");
  dir.write("inner.list",
            "proxy:cidr:/inner.cidr\nunionmap:{proxy:texthash:/u}\n" + outer + "\n");
  CaptureLogger log;
  const auto list = Allowlist::from_value("proxy:a:1 " + outer, log);
  EXPECT_EQ(list.tables(),
            (Tables{"a:1", "cidr:/inner.cidr", "mysql:/from/file.cf",
                    "pgsql:/continued.cf", "sqlite:/after-comment.cf", "texthash:/u"}));
  // Postfix would recurse forever on the outer <-> inner cycle; we warn.
  int recursion = 0, whitespace = 0;
  for (const auto& l : log.lines()) {
    if (l.find("recursive reference") != std::string::npos) ++recursion;
    if (l.find("logical line must not start with whitespace") != std::string::npos)
      ++whitespace;
  }
  EXPECT_EQ(recursion, 2);  // inner is read twice (via { } and directly)
  EXPECT_EQ(whitespace, 1);
}

TEST(Allowlist, FixtureFileReferenceFromTestsDirectory) {
  const std::string path = fs::absolute("data/conf/allowlist/maps.list").string();
  NullLogger log;
  const auto list = Allowlist::from_value("proxy:a:1 " + path, log);
  EXPECT_EQ(list.tables(), (Tables{"a:1", "mysql:/etc/postfix/from-file.cf",
                                   "pgsql:/etc/postfix/continued.cf"}));
}

TEST(Allowlist, DefaultConfiguration) {
  NullLogger log;
  const auto cf = MainCf::from_string("compatibility_level = 3.6\n", log);
  const auto read = Allowlist::build(cf, true, log);
  EXPECT_EQ(read.parameter(), "proxy_read_maps");
  // local_recipient_maps = proxy:unix:passwd.byname $alias_maps
  EXPECT_EQ(read.tables(), (Tables{"unix:passwd.byname"}));
  const auto write = Allowlist::build(cf, false, log);
  EXPECT_EQ(write.parameter(), "proxy_write_maps");
  EXPECT_TRUE(write.tables().empty());
  // With compatibility_level 0 the answer is the same.
  const auto legacy = MainCf::from_string("", log);
  EXPECT_EQ(Allowlist::build(legacy, true, log).tables(), (Tables{"unix:passwd.byname"}));
  // Everything the default proxymap process can see, proxied or not.
  EXPECT_EQ(Allowlist::build(cf, true, log, AllowlistScope::AllTables).tables(),
            (Tables{"hash:/etc/aliases", "nis:mail.aliases", "regexp:{{/^[^A-Z]/ Bogus}}",
                    "unix:passwd.byname"}));
  EXPECT_EQ(Allowlist::build(cf, false, log, AllowlistScope::AllTables).tables(),
            (Tables{"btree:/var/lib/postfix/postscreen_cache",
                    "btree:/var/lib/postfix/verify_cache"}));
}

TEST(Allowlist, FixtureMatchesPostconfExpansion) {
  NullLogger log;
  const auto cf = MainCf::load("data/conf/allowlist", log);
  const Tables read_expected = {
      "cidr:/etc/postfix/clients.cidr",  "ldap:/etc/postfix/ldap-users.cf",
      "mysql:/etc/postfix/canon1.cf",    "mysql:/etc/postfix/relay.cf",
      "mysql:/etc/postfix/valias.cf",    "pgsql:/etc/postfix/p1.cf",
      "pgsql:/etc/postfix/transport.cf", "sqlite:/etc/postfix/rcpt.cf",
      "texthash:/etc/postfix/p2",        "unix:passwd.byname"};
  EXPECT_EQ(Allowlist::build(cf, true, log).tables(), read_expected);
  EXPECT_EQ(
      Allowlist::from_value(
          read_file("data/conf/allowlist/proxy_read_maps.postconf", kMaxConfigFileSize),
          log)
          .tables(),
      read_expected);
  const Tables write_expected = {"btree:/var/lib/postfix/sasl_auth_cache",
                                 "btree:/var/lib/postfix/verify"};
  EXPECT_EQ(Allowlist::build(cf, false, log).tables(), write_expected);
  EXPECT_EQ(
      Allowlist::from_value(
          read_file("data/conf/allowlist/proxy_write_maps.postconf", kMaxConfigFileSize),
          log)
          .tables(),
      write_expected);
}

TEST(Allowlist, RestrictionClassesOnlyForReadService) {
  NullLogger log;
  auto cf = MainCf::from_string(
      "compatibility_level = 3.6\n"
      "smtpd_restriction_classes = cls1, cls2 undefined_class,empty_class\n"
      "cls1 = check_sender_access proxy:mysql:/cls1.cf, permit\n"
      "cls2 = ${{1}=={1}?{proxy:pgsql:/cls2.cf}}\n"
      "empty_class =\n"
      "proxy_read_maps = proxy:sqlite:/r.cf\n"
      "proxy_write_maps = proxy:btree:/w\n",
      log);
  EXPECT_EQ(Allowlist::build(cf, true, log).tables(),
            (Tables{"mysql:/cls1.cf", "pgsql:/cls2.cf", "sqlite:/r.cf"}));
  EXPECT_EQ(Allowlist::build(cf, false, log).tables(), (Tables{"btree:/w"}));
  // -o overrides take part in the expansion.
  cf.set_override("proxy_read_maps", "$local_recipient_maps");
  EXPECT_EQ(Allowlist::build(cf, true, log).tables(),
            (Tables{"mysql:/cls1.cf", "pgsql:/cls2.cf", "unix:passwd.byname"}));
}

TEST(Allowlist, Postfix311AdditionsToProxyReadMaps) {
  NullLogger log;
  // Parameters appended to DEF_PROXY_READ_MAPS in 3.11.0 (mail_params.h).
  const auto cf = MainCf::from_string(
      "smtpd_sasl_exceptions_networks = proxy:cidr:/x.cidr\n"
      "authorized_submit_users = proxy:mysql:/submit.cf\n"
      "smtpd_authorized_xforward_hosts = proxy:pgsql:/xf.cf\n"
      // Not referenced by the default, and not a proxymap parameter.
      "authorized_verp_clients = proxy:mysql:/verp.cf\n",
      log);
  EXPECT_EQ(
      Allowlist::build(cf, true, log).tables(),
      (Tables{"cidr:/x.cidr", "mysql:/submit.cf", "pgsql:/xf.cf", "unix:passwd.byname"}));
}

// The default of proxy_read_maps follows the release (postfix_version):
// Debian's 3.7.11 "postconf -dh proxy_read_maps", verbatim.
constexpr std::string_view kDebian3711ProxyReadMaps =
    "$local_recipient_maps $mydestination $virtual_alias_maps "
    "$virtual_alias_domains $virtual_mailbox_maps $virtual_mailbox_domains "
    "$relay_recipient_maps $relay_domains $canonical_maps "
    "$sender_canonical_maps $recipient_canonical_maps $relocated_maps "
    "$transport_maps $mynetworks $smtpd_sender_login_maps $sender_bcc_maps "
    "$recipient_bcc_maps $smtp_generic_maps $lmtp_generic_maps $alias_maps "
    "$smtpd_client_restrictions $smtpd_helo_restrictions "
    "$smtpd_sender_restrictions $smtpd_relay_restrictions "
    "$smtpd_recipient_restrictions "
    "$address_verify_sender_dependent_default_transport_maps "
    "$address_verify_sender_dependent_relayhost_maps "
    "$address_verify_transport_maps $fallback_transport_maps "
    "$lmtp_discard_lhlo_keyword_address_maps $lmtp_pix_workaround_maps "
    "$lmtp_sasl_password_maps $lmtp_tls_policy_maps $mailbox_command_maps "
    "$mailbox_transport_maps $postscreen_discard_ehlo_keyword_address_maps "
    "$rbl_reply_maps $sender_dependent_default_transport_maps "
    "$sender_dependent_relayhost_maps "
    "$smtp_discard_ehlo_keyword_address_maps $smtp_pix_workaround_maps "
    "$smtp_sasl_password_maps $smtp_tls_policy_maps "
    "$smtpd_discard_ehlo_keyword_address_maps $smtpd_milter_maps "
    "$virtual_gid_maps $virtual_uid_maps $local_login_sender_maps "
    "$postscreen_reject_footer_maps $smtpd_reject_footer_maps "
    "$tls_server_sni_maps $tlsproxy_client_policy_maps "
    "$default_delivery_status_filter $lmtp_delivery_status_filter "
    "$lmtp_dns_reply_filter $lmtp_reply_filter "
    "$local_delivery_status_filter $pipe_delivery_status_filter "
    "$postscreen_command_filter $smtp_delivery_status_filter "
    "$smtp_dns_reply_filter $smtp_reply_filter $smtpd_command_filter "
    "$smtpd_dns_reply_filter $virtual_delivery_status_filter $body_checks "
    "$header_checks $lmtp_body_checks $lmtp_header_checks "
    "$lmtp_mime_header_checks $lmtp_nested_header_checks "
    "$milter_header_checks $mime_header_checks $nested_header_checks "
    "$smtp_body_checks $smtp_header_checks $smtp_mime_header_checks "
    "$smtp_nested_header_checks";

TEST(Allowlist, ProxyReadMapsDefaultFollowsTheRelease) {
  EXPECT_EQ(default_proxy_read_maps(PostfixVersion{3, 7, 11}), kDebian3711ProxyReadMaps);
  const auto count = [](PostfixVersion v) {
    const std::string text = default_proxy_read_maps(v);
    return std::count(text.begin(), text.end(), '$');
  };
  // Sizes of DEF_PROXY_READ_MAPS in each release's mail_params.h.
  EXPECT_EQ(count(PostfixVersion{3, 6, 0}), 47);
  EXPECT_EQ(count(PostfixVersion{3, 6, 4}), 51);
  EXPECT_EQ(count(PostfixVersion{3, 6, 20}), 77);
  EXPECT_EQ(count(PostfixVersion{3, 7, 0}), 52);
  EXPECT_EQ(count(PostfixVersion{3, 7, 1}), 78);
  EXPECT_EQ(count(PostfixVersion{3, 10, 13}), 78);
  EXPECT_EQ(count(PostfixVersion{3, 11, 0}), 103);
  EXPECT_EQ(count(PostfixVersion::newest()), 103);
}

TEST(Allowlist, ProxyReadMapsDefaultUnderBothReleases) {
  NullLogger log;
  // A 3.11 addition (authorized_submit_users) and a 3.7 entry (transport_maps).
  auto cf = MainCf::from_string(
      "authorized_submit_users = proxy:mysql:/submit.cf\n"
      "transport_maps = proxy:pgsql:/transport.cf\n",
      log);
  const Tables newest = {"mysql:/submit.cf", "pgsql:/transport.cf", "unix:passwd.byname"};
  EXPECT_EQ(Allowlist::build(cf, true, log).tables(), newest);
  cf.follow_release(PostfixVersion{3, 7, 11});
  EXPECT_EQ(Allowlist::build(cf, true, log).tables(),
            (Tables{"pgsql:/transport.cf", "unix:passwd.byname"}));
  // The release survives later overrides (which recompute the defaults).
  cf.set_override("myhostname", "mx.example.org");
  EXPECT_EQ(Allowlist::build(cf, true, log).tables(),
            (Tables{"pgsql:/transport.cf", "unix:passwd.byname"}));
  cf.follow_release(PostfixVersion{3, 11, 6});
  EXPECT_EQ(Allowlist::build(cf, true, log).tables(), newest);
  // A proxy_read_maps written in main.cf is used as written, in any release.
  auto set = MainCf::from_string(
      "authorized_submit_users = proxy:mysql:/submit.cf\n"
      "proxy_read_maps = $authorized_submit_users\n",
      log);
  set.follow_release(PostfixVersion{3, 7, 11});
  EXPECT_EQ(Allowlist::build(set, true, log).tables(), (Tables{"mysql:/submit.cf"}));
  // proxy_write_maps has one default in every release.
  EXPECT_EQ(Allowlist::build(set, false, log).tables(),
            Allowlist::build(cf, false, log).tables());
}

TEST(Allowlist, ProxyReadMapsDefaultOf36And370UnderBothSettings) {
  // smtpd_reject_footer_maps: in the default from 3.6.4; tlsproxy_client_
  // policy_maps: from 3.7.0 (never 3.6); smtpd_command_filter: 3.6.6 and 3.7.1.
  NullLogger log;
  auto cf = MainCf::from_string(
      "smtpd_reject_footer_maps = proxy:pgsql:/footer.cf\n"
      "tlsproxy_client_policy_maps = proxy:pgsql:/tlsproxy.cf\n"
      "smtpd_command_filter = proxy:pgsql:/filter.cf\n",
      log);
  const auto allowed = [&](PostfixVersion v) {
    cf.follow_release(v);
    Tables tables = Allowlist::build(cf, true, log).tables();
    tables.erase("unix:passwd.byname");
    return tables;
  };
  EXPECT_EQ(allowed({3, 6, 0}), Tables{});
  EXPECT_EQ(allowed({3, 6, 4}), Tables{"pgsql:/footer.cf"});
  EXPECT_EQ(allowed({3, 6, 6}), (Tables{"pgsql:/filter.cf", "pgsql:/footer.cf"}));
  EXPECT_EQ(allowed({3, 7, 0}), (Tables{"pgsql:/footer.cf", "pgsql:/tlsproxy.cf"}));
  EXPECT_EQ(allowed({3, 7, 11}),
            (Tables{"pgsql:/filter.cf", "pgsql:/footer.cf", "pgsql:/tlsproxy.cf"}));
  EXPECT_EQ(allowed(PostfixVersion::newest()), allowed({3, 7, 11}));
}

// Expected sets produced by a real Postfix 3.11.0 proxymap in its
// export-proxy-* / export-all-* modes (see data/conf/oracle/README).
TEST(Allowlist, MatchesPostfix311ExportModes) {
  struct Mode {
    const char* file;
    bool read_only;
    AllowlistScope scope;
  };
  const Mode modes[] = {
      {"export-proxy-proxymap.out", true, AllowlistScope::ProxiedOnly},
      {"export-all-proxymap.out", true, AllowlistScope::AllTables},
      {"export-proxy-proxywrite.out", false, AllowlistScope::ProxiedOnly},
      {"export-all-proxywrite.out", false, AllowlistScope::AllTables},
  };
  for (const char* name : {"defaults", "full", "edge", "degenerate"}) {
    const fs::path dir = fs::absolute(fs::path("data/conf/oracle") / name);
    NullLogger log;
    const auto cf = MainCf::load(dir, log);
    for (const auto& m : modes) {
      const std::string text = read_file((dir / m.file).string(), kMaxConfigFileSize);
      Tables expected;
      std::size_t pos = 0;
      while (pos < text.size()) {
        const std::size_t nl = text.find('\n', pos);
        expected.emplace(text.substr(pos, nl - pos));
        pos = nl == std::string::npos ? text.size() : nl + 1;
      }
      EXPECT_EQ(Allowlist::build(cf, m.read_only, log, m.scope).tables(), expected)
          << name << "/" << m.file;
    }
  }
}

}  // namespace
}  // namespace proxyd::dict
