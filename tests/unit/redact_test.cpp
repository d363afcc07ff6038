// Unit tests for dictcore/redact.h: every form in which a database password
// can reach a log line, `proxyd stats` or `proxyd check`, and texts that
// must come back unchanged.
#include "dictcore/util/redact.h"

#include <gtest/gtest.h>

#include "dictcore/pool/session.h"

namespace proxyd::dict {
namespace {

struct Case {
  const char* name;
  const char* in;
  const char* out;
};

const Case kCases[] = {
    {"uri_userinfo", "postgresql://user:secret@db.example/mail",
     "postgresql://user:*****@db.example/mail"},
    {"uri_in_label", "pgsql:@postgresql://u:s3cr3t@127.0.0.1:5432/db user=",
     "pgsql:@postgresql://u:*****@127.0.0.1:5432/db user="},
    {"two_uris", "a postgres://u:one@h1/d,postgresql://v:two@h2/d b",
     "a postgres://u:*****@h1/d,postgresql://v:*****@h2/d b"},
    {"uri_user_only", "postgresql://user@host/db", "postgresql://user@host/db"},
    {"uri_no_userinfo", "postgresql://host:5432/db", "postgresql://host:5432/db"},
    {"uri_at_in_path_only", "postgresql://host/db?x=a@b", "postgresql://host/db?x=a@b"},
    {"uri_query_password", "postgresql://h/db?sslmode=require&password=secret&user=u",
     "postgresql://h/db?sslmode=require&password=*****&user=u"},
    {"conninfo", "host=h password=secret dbname=d", "host=h password=***** dbname=d"},
    {"conninfo_spaces", "host=h password = secret dbname=d",
     "host=h password = ***** dbname=d"},
    {"conninfo_quoted", "password='sec ret\\' x' dbname=d", "password=***** dbname=d"},
    {"conninfo_upper", "PASSWORD=Secret", "PASSWORD=*****"},
    {"cf_line", "password = secret", "password = *****"},
    // libpq reads the next word as the value, so it is hidden too.
    {"space_after_equals", "password= dbname=d", "password= *****"},
    {"empty_value", "password=", "password="},
    {"not_a_parameter", "password authentication failed for user \"u\"",
     "password authentication failed for user \"u\""},
    {"longer_word", "old_password=x mypassword=y", "old_password=x mypassword=y"},
    {"plain", "mysql:mail@inet:127.0.0.1:3306 user=postfix",
     "mysql:mail@inet:127.0.0.1:3306 user=postfix"},
    {"empty", "", ""},
};

class RedactSecrets : public testing::TestWithParam<Case> {};

TEST_P(RedactSecrets, RemovesEveryPassword) {
  EXPECT_EQ(redact_secrets(GetParam().in), GetParam().out);
}

INSTANTIATE_TEST_SUITE_P(Forms, RedactSecrets, testing::ValuesIn(kCases),
                         [](const testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.name);
                         });

TEST(RedactValue, RemovesEveryOccurrenceOfTheSecret) {
  EXPECT_EQ(redact_value("Access denied (using pw x9!) x9!", "x9!"),
            "Access denied (using pw *****) *****");
}

TEST(RedactValue, EmptySecretStillRedactsForms) {
  EXPECT_EQ(redact_value("postgresql://u:p@h/d", ""), "postgresql://u:*****@h/d");
}

TEST(RedactValue, SecretInsideTheReplacementDoesNotLoop) {
  EXPECT_EQ(redact_value("a*b", "*"), "a*****b");
}

TEST(RedactHosts, UriTextIsRedactedNameIsWhatLibpqGets) {
  std::vector<HostSpec> hosts = parse_pgsql_hosts("postgresql://u:pw-123@h/db");
  ASSERT_EQ(hosts.size(), 1u);
  EXPECT_EQ(hosts[0].text, "postgresql://u:*****@h/db");
  EXPECT_EQ(hosts[0].name, "postgresql://u:pw-123@h/db");
}

TEST(RedactHosts, LabelAndIdentity) {
  ConnectParams a;
  a.kind = SqlKind::Pgsql;
  a.hosts = parse_pgsql_hosts("postgresql://u:pw-123@h/db");
  a.dbname = "dbname=mail password=pw-456";
  // A bare value runs to the next white space: more is hidden, never less.
  EXPECT_EQ(a.label(), "pgsql:dbname=mail password=***** user=");
  a.dbname = "mail";
  EXPECT_EQ(a.label(), "pgsql:mail@postgresql://u:*****@h/db user=");
  // URIs that differ only in their password are different databases.
  ConnectParams b = a;
  b.hosts = parse_pgsql_hosts("postgresql://u:other@h/db");
  EXPECT_NE(a.identity_key(), b.identity_key());
}

}  // namespace
}  // namespace proxyd::dict
