// The Postfix release whose table semantics proxyd reproduces. Postfix
// changed a few table behaviours between 3.6 and 3.11 (the pgsql client
// encoding, the mysql charset, when pgsql needs dbname, which hosts count as URIs,
// whether retry_interval/idle_interval are read, the single-host retry, how
// texthash/inline store keys, file reading warnings); by default proxyd
// answers as the Postfix installed beside it does. proxyd.cf(5) lists every
// difference.
#pragma once

#include <compare>
#include <optional>
#include <string>
#include <string_view>

namespace proxyd::dict {

struct PostfixVersion {
  int major = 3;
  int minor = 11;
  int patch = 6;

  // The newest release whose behaviour proxyd knows: used when no Postfix
  // is installed, and the ceiling for everything newer.
  static constexpr PostfixVersion newest() { return PostfixVersion{3, 11, 6}; }

  // "3.7.11", "3.10", "3.12-20250101" (a snapshot counts as its release
  // line's .0); nullopt for anything else.
  static std::optional<PostfixVersion> parse(std::string_view text);

  std::string text() const;

  // Release predicates, one per behaviour that differs (see proxyd.cf(5)).
  // pgsql: an "encoding" setting, default UTF8 (before: always LATIN1).
  bool pgsql_has_encoding() const { return *this >= PostfixVersion{3, 8, 0}; }
  // mysql: a "charset" setting, default utf8mb4, set after connecting
  // (before: not read; the client library's default, or an option file's
  // default-character-set, decides: utf8mb4 with Debian 12's libmariadb).
  bool mysql_has_charset() const { return *this >= PostfixVersion{3, 9, 0}; }
  // mysql and pgsql: retry_interval and idle_interval are read (before: 60 s).
  bool sql_has_intervals() const { return *this >= PostfixVersion{3, 9, 0}; }
  // pgsql: dbname may be empty when every host is a URI, any "scheme://"
  // host is a URI, and a non-URI host without dbname makes the table fail
  // its lookups (before: dbname is required, and only "postgresql:" hosts
  // are connection strings).
  bool pgsql_uri_hosts_any_scheme() const { return *this >= PostfixVersion{3, 10, 0}; }
  // mysql and pgsql: a "hosts" list of one host is listed twice, so a
  // failed connection is retried once at once instead of leaving the table
  // without a host for 60 s (a patch-level change: 3.6.17, 3.7.13, 3.8.8,
  // 3.9.2, 3.10.0).
  bool sql_retries_single_host() const;
  // texthash and domain-list files: readllines() warns "text after null
  // byte may be ignored", and texthash checks UTF-8 only up to the NUL.
  bool readllines_warns_null() const { return *this >= PostfixVersion{3, 9, 0}; }
  // SQL "domain" lists: a /file is read as logical lines (comments,
  // continuation lines), and a "#" token after other text warns
  // "#comment after other text is not allowed" (before: physical lines,
  // only a "#" in column 1 is a comment, "comment at end of line is not
  // supported").
  bool domain_files_logical_lines() const { return *this >= PostfixVersion{3, 8, 0}; }
  // inline: and texthash: store keys through dict_ht without the UTF-8
  // layer: FOLD_FIX lowercases them as ASCII only, and texthash no longer
  // skips a non-UTF-8 line (before: casefold() with the smtputf8 rules).
  bool hash_tables_store_ascii_folded() const {
    return *this >= PostfixVersion{3, 11, 0};
  }
  // sqlite: a query with %s etc. outside '' quotes is warned about.
  bool sqlite_warns_unquoted() const { return *this >= PostfixVersion{3, 11, 0}; }

  auto operator<=>(const PostfixVersion&) const = default;
};

}  // namespace proxyd::dict
