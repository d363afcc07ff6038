// Tests for main.cf loading, Postfix defaults and $ expansion (mac_expand).
// Every expansion expectation marked [postconf] was produced by
// `postconf -c DIR -xh smtpd_banner` (Postfix 3.7.11) with the same
// definitions; [source] marks white-space details postconf's output
// normalises away, taken from util/mac_expand.c (v3.11.0).
#include "dictcore/config/main_cf.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <string>
#include <vector>

#include "dictcore/util/config_error.h"
#include "tests/fakes/capture_logger.h"

namespace proxyd::dict {
namespace {

using testing::CaptureLogger;

constexpr const char* kBase =
    "compatibility_level = 3.6\n"
    "a = alpha\n"
    "e =\n"
    "n = 10\n";

struct ExpandCase {
  const char* expr;
  const char* expected;
};

TEST(MainCfExpand, AllFormsAgreeWithPostconf) {
  const ExpandCase cases[] = {
      // [postconf] plain references
      {"$a", "alpha"},
      {"x$a-y", "xalpha-y"},
      {"${a}x$(a)y", "alphaxalphay"},
      {"$undef-x", "-x"},
      {"$a.b$a_c", "alpha.b"},  // $a_c is one (undefined) name
      {"${ a }", "alpha"},
      // [postconf] $$ is a literal dollar
      {"$$a and $$$a", "$a and $alpha"},
      {"cost $$5", "cost $5"},
      // [postconf] ${name?value} and ${name:value}
      {"${a?yes}", "yes"},
      {"${e?yes}", ""},
      {"${undef?yes}", ""},
      {"${a:no}", ""},
      {"${e:no}", "no"},
      {"${undef:no}", "no"},
      {"${a?x:y}", "x:y"},  // without {} the rest is one operand
      {"$(a?x)", "x"},
      {"${a ? {x}}", "x"},
      {"${a?$a}", "alpha"},
      {"${e:$a}", "alpha"},
      // [postconf] ${name?{a}:{b}}
      {"${a?{A set}:{A empty}}", "A set"},
      {"${e?{A set}:{A empty}}", "A empty"},
      {"${a?{$a}:{$n}}", "alpha"},
      {"${e?{$a}:{$n}}", "10"},
      // [postconf] relational expressions
      {"${{$a} == {alpha}?{eq}:{ne}}", "eq"},
      {"${{$a} != {alpha}?{ne}:{eq}}", "eq"},
      {"${{$a}=={alpha}}", "true"},
      {"${{$a}=={beta}}", ""},
      {"${{10} < {9}?{lt}:{ge}}", "ge"},  // numeric when both are all digits
      {"${{abc} < {abd}?{lt}:{ge}}", "lt"},
      {"${{$n} >= {9}}", "true"},
      {"${{1} == {01}}", "true"},
      {"${{ x } == {x}?{y}:{n}}", "n"},  // operands keep their spaces
      {"${{0x1} < {2}}", "true"},        // not all digits: strcmp
      {"${{-1} < {2}}", "true"},
      {"${{a}=={a}?x:y}", "x:y"},
      {"${{a}=={a}?x}", "x"},
      {"${{a}=={b}:{no}}", "no"},
      {"${{$compatibility_level} <level {3.10}?{old}:{new}}", "old"},
      {"${{3.6} <=level {3.6}}", "true"},
      {"${{3.10} >level {3.9}}", "true"},  // compatibility levels, not strings
      {"${{3.10} > {3.9}}", ""},
      // [source] operand text is not trimmed; '?' text without {} keeps its spaces
      {"<${a?{ {b} }}>", "< {b} >"},
      {"<${a? x }>", "< x >"},
      {"<${a?{x}   }>", "<x>"},
      // [source] 3.11 named functions, for arguments that need no IDNA
      {"${domain_to_ascii{ example.$a }}", "example.alpha"},
      {"${domain_to_utf8 {example.com}}", "example.com"},
      {"${domain_to_utf8{b\xC3\xBC"
       "cher.example}}",
       "b\xC3\xBC"
       "cher.example"},
  };
  for (const auto& c : cases) {
    CaptureLogger log;
    const auto cf =
        MainCf::from_string(std::string(kBase) + "smtpd_banner = " + c.expr + "\n", log);
    EXPECT_EQ(cf.get("smtpd_banner", log), c.expected) << c.expr;
    EXPECT_TRUE(log.lines().empty()) << c.expr << ": " << log.lines().front();
    EXPECT_EQ(cf.expand(c.expr), c.expected) << c.expr;
  }
}

TEST(MainCfExpand, SyntaxErrorsAreReported) {
  // [postconf] each of these makes postconf exit with "macro processing error".
  const ExpandCase cases[] = {
      {"a$ b", "empty macro name: \"a$ b\""},
      {"a$", "empty macro name: \"a$\""},
      {"${a", "truncated macro reference: \"${a\""},
      {"x${a", "truncated macro reference: \"x${a\""},
      {"${a?{x}y}", "\":\" expected at: \"...x}>>>y\""},
      {"${a?{x}:{y}z}", "unexpected input at: \"...y}>>>z\""},
      {"${a:{x}:{y}}", "unexpected input at: \"...x}>>>:{y}\""},
      {"${a b}", "attribute name syntax error at: \"...a>>> b\""},
      {"${{a}}", "expected at: \"...a}>>>\""},
      {"${{a} =~ {b}}", "expected at: \"...a}>>>=~ {b}\""},
      {"${{a} == b}", "\"{expression}\" expected at: \"...{a} ==>>> b\""},
      {"${{a} <x {b}}", "bad operator suffix at: \"...<>>>x\""},
      {"${{a} <level {b}}", "malformed compatibility level syntax: \"a\""},
      {"${{a} == {b}x}", "\"?\" or \":\" expected at: \"...}>>>x\""},
      {"${{a} == {b}", "truncated macro reference"},
      {"${a{x}}", "unknown function \"a\""},
      {"${domain_to_ascii{x}y}", "unexpected input at: \"...x}>>>y\""},
      {"${domain_to_ascii{b\xC3\xBC"
       "cher.example}}",
       "bad domain argument"},
      {"${domain_to_utf8{xn--bcher-kva.example}}", "bad domain argument"},
      {"${{99999999999999999999} == {1}}", "bad conversion: 99999999999999999999"},
  };
  for (const auto& c : cases) {
    CaptureLogger log;
    const auto cf =
        MainCf::from_string(std::string(kBase) + "smtpd_banner = " + c.expr + "\n", log);
    (void)cf.get("smtpd_banner", log);
    ASSERT_EQ(log.lines().size(), 1u) << c.expr;
    EXPECT_NE(log.lines()[0].find(c.expected), std::string::npos)
        << c.expr << " gave: " << log.lines()[0];
  }
}

TEST(MainCfExpand, LoopsAndBlowUpTerminate) {
  CaptureLogger log;
  const auto cf = MainCf::from_string(
      "loop1 = $loop2\nloop2 = x$loop1\n"
      "self = ${{$self} == {1}}\n"
      "b0 = $b1$b1$b1$b1\nb1 = $b2$b2$b2$b2\nb2 = $b3$b3$b3$b3\nb3 = $b4$b4$b4$b4\n"
      "b4 = $b5$b5$b5$b5\nb5 = $b6$b6$b6$b6\nb6 = $b7$b7$b7$b7\nb7 = $b8$b8$b8$b8\n"
      "b8 = $b9$b9$b9$b9\nb9 = 0123456789012345678901234567890123456789\n",
      log);
  (void)cf.get("loop1", log);
  ASSERT_EQ(log.lines().size(), 1u);
  // [postconf] 'unreasonable macro call nesting: "loop1"' for the same pair.
  EXPECT_NE(log.lines()[0].find("unreasonable macro call nesting"), std::string::npos);
  log.clear();
  (void)cf.get("self", log);
  ASSERT_EQ(log.lines().size(), 1u);
  log.clear();
  const std::string big = cf.get("b0", log);  // 4^9 * 40 bytes if unbounded
  ASSERT_EQ(log.lines().size(), 1u);
  EXPECT_LE(big.size(), 1u << 20);
}

TEST(MainCf, DuplicatesOverridesAndIsSet) {
  CaptureLogger log;
  auto cf = MainCf::from_string("x = 1\ny = $x\nx = 2\n", log);
  ASSERT_EQ(log.lines().size(), 1u);
  EXPECT_EQ(log.lines()[0], "/etc/postfix/main.cf, line 3: overriding earlier entry: x");
  EXPECT_EQ(cf.get("y"), "2");
  EXPECT_TRUE(cf.is_set("x"));
  EXPECT_FALSE(cf.is_set("queue_directory"));
  EXPECT_EQ(cf.raw("y"), "$x");
  EXPECT_EQ(cf.raw("no_such_parameter"), std::nullopt);
  EXPECT_EQ(cf.get("no_such_parameter"), "");
  cf.set_override("x", "3");
  EXPECT_EQ(cf.get("y"), "3");
  cf.set_override("queue_directory", "/q");
  EXPECT_TRUE(cf.is_set("queue_directory"));
  EXPECT_EQ(cf.get("queue_directory"), "/q");
}

TEST(MainCf, NulBytesAreWarnedAboutOnceTheReleaseIsKnown) {
  // main.cf is read before the release is learnt (postconf is found through
  // it): the 3.9+ warning is kept for log_null_byte_warnings.
  using namespace std::string_literals;
  CaptureLogger log;
  auto cf = MainCf::from_string("x = 1\0junk\n"s, log, "/c");
  EXPECT_TRUE(log.lines().empty());
  EXPECT_EQ(cf.get("x"), "1");
  EXPECT_EQ(cf.null_byte_warnings(),
            std::vector<std::string>{
                "/c/main.cf, line 1: text after null byte may be ignored"});
  cf.follow_release(PostfixVersion{3, 7, 11});
  EXPECT_EQ(cf.release(), (PostfixVersion{3, 7, 11}));
}

TEST(MainCf, SyntaxErrorThrows) {
  NullLogger log;
  try {
    MainCf::from_string("a = 1\nthis line has no equals sign\n", log, "/cfg");
    ADD_FAILURE() << "no exception";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "/cfg/main.cf, line 2: missing '=' after attribute name: "
              "\"this line has no equals sign\"");
  }
}

TEST(MainCf, LoadFromDirectory) {
  NullLogger log;
  const auto cf = MainCf::load("data/conf/maincf", log);
  EXPECT_EQ(cf.get("config_directory"), "data/conf/maincf");
  EXPECT_EQ(cf.get("queue_directory"), "/var/spool/proxyd-test");
  // The continuation keeps its leading white space (newline dropped).
  EXPECT_EQ(cf.get("proxy_read_maps"),
            "proxy:mysql:/etc/postfix/a.cf    proxy:pgsql:data/conf/maincf/b.cf");
  EXPECT_THROW(MainCf::load("data/conf/no-such-dir", log), ConfigUnavailable);
}

struct DefaultCase {
  const char* main_cf;
  const char* name;
  const char* expected;
};

TEST(MainCf, DefaultsAgreeWithPostconf) {
  // [postconf] `postconf -c DIR -xh NAME` (3.7.11) unless marked [source].
  const DefaultCase cases[] = {
      {"", "queue_directory", "/var/spool/postfix"},
      {"", "mail_owner", "postfix"},
      {"", "smtputf8_enable", "no"},  // compatibility_level 0: legacy default
      {"compatibility_level = 1\n", "smtputf8_enable", "yes"},
      {"compatibility_level = 3.6\n", "smtputf8_enable", "yes"},
      {"compatibility_level = 3.6\n", "relay_domains", ""},
      {"myhostname = mail.example.com\n", "relay_domains",
       "mail.example.com, localhost.example.com, localhost"},
      {"myhostname = mail.example.com\n", "mydomain", "example.com"},
      {"myhostname = mail.example.com\n", "mydestination",
       "mail.example.com, localhost.example.com, localhost"},
      {"myhostname = foo\n", "mydomain", "localdomain"},
      {"myhostname = a.$mydomain\n", "myhostname", "a."},
      {"myhostname = a.$mydomain\n", "mydomain", ""},
      {"", "local_recipient_maps",
       "proxy:unix:passwd.byname hash:/etc/aliases, nis:mail.aliases"},
      {"", "alias_maps", "hash:/etc/aliases, nis:mail.aliases"},
      {"", "address_verify_map", "btree:/var/lib/postfix/verify_cache"},
      {"", "postscreen_cache_map", "btree:/var/lib/postfix/postscreen_cache"},
      {"", "proxy_write_maps",
       "  btree:/var/lib/postfix/verify_cache btree:/var/lib/postfix/postscreen_cache"},
      {"virtual_maps = hash:/v\n", "virtual_alias_domains", "hash:/v"},
      {"", "max_idle", "100s"},
      {"", "max_use", "100"},
      {"", "proxymap_service_name", "proxymap"},
      {"", "proxywrite_service_name", "proxywrite"},
      {"", "line_length_limit", "2048"},
      // [source] not a global or proxymap parameter: empty inside proxymap
      {"", "authorized_submit_users", ""},
      {"", "smtp_requiretls_policy", ""},
  };
  for (const auto& c : cases) {
    NullLogger log;
    const auto cf = MainCf::from_string(c.main_cf, log);
    EXPECT_EQ(cf.get(c.name), c.expected) << c.main_cf << " " << c.name;
  }
}

TEST(MainCf, HostnameDefaultsFollowGethostname) {
  char buf[HOST_NAME_MAX + 1] = {};
  ASSERT_EQ(::gethostname(buf, sizeof(buf) - 1), 0);
  const std::string host = buf;
  NullLogger log;
  const auto plain = MainCf::from_string("", log);
  const auto with_domain = MainCf::from_string("mydomain = example.org\n", log);
  const auto circular = MainCf::from_string("mydomain = $myhostname\n", log);
  if (host.find('.') == std::string::npos) {
    // [postconf] on host "vm": vm.localdomain / vm.example.org / "vm." twice
    EXPECT_EQ(plain.get("myhostname"), host + ".localdomain");
    EXPECT_EQ(plain.get("mydomain"), "localdomain");
    EXPECT_EQ(with_domain.get("myhostname"), host + ".example.org");
    EXPECT_EQ(circular.get("myhostname"), host + ".");
    EXPECT_EQ(circular.get("mydomain"), host + ".");
  } else {
    EXPECT_EQ(plain.get("myhostname"), host);
    EXPECT_EQ(plain.get("mydomain"), host.substr(host.find('.') + 1));
  }
}

TEST(MainCf, ProxyReadMapsDefaultIsThe311List) {
  NullLogger log;
  const auto cf = MainCf::from_string("", log);
  const std::string value = *cf.raw("proxy_read_maps");
  std::vector<std::string> refs;
  for (std::size_t i = value.find('$'); i != std::string::npos;
       i = value.find('$', i + 1))
    refs.push_back(value.substr(i + 1, value.find(' ', i) - i - 1));
  EXPECT_EQ(refs.size(), 103u);  // 78 (3.7-3.10) + 25 added in 3.11.0
  EXPECT_EQ(refs.front(), "local_recipient_maps");
  EXPECT_EQ(refs[77], "smtp_nested_header_checks");
  EXPECT_EQ(refs[78], "smtpd_reject_filter_maps");
  EXPECT_EQ(refs.back(), "smtpd_authorized_xforward_hosts");
}

TEST(MainCf, GetBool) {
  NullLogger log;
  const auto cf = MainCf::from_string("t = YeS\nf = no\nbad = maybe\nind = $t\n", log);
  EXPECT_TRUE(cf.get_bool("t"));
  EXPECT_TRUE(cf.get_bool("ind"));
  EXPECT_FALSE(cf.get_bool("f"));
  EXPECT_THROW(cf.get_bool("bad"), ConfigError);
  EXPECT_THROW(cf.get_bool("unset"), ConfigError);
}

TEST(MainCf, ParameterNames) {
  NullLogger log;
  auto cf = MainCf::from_string("mysqlsrc_hosts = h\n", log);
  cf.set_override("zz_top", "1");
  const auto names = cf.parameter_names();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  for (const char* n : {"mysqlsrc_hosts", "zz_top", "proxy_read_maps", "myhostname"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
  }
}

}  // namespace
}  // namespace proxyd::dict
