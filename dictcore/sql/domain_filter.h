// The "domain" parameter of SQL tables: a Postfix string_list (match_list
// with match_string) restricting lookups to addresses in listed domains.
// Exact names compared after Postfix's casefold() (Unicode with smtputf8 on,
// ASCII otherwise; no subdomains), "!" negation, /file/name
// expanded in place (read as the followed release reads it), type:table
// entries looked up with the domain as key; first match wins. Loop thread only (table
// entries call Table::lookup).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dictcore/tables/table.h"
#include "dictcore/util/logger.h"
#include "dictcore/util/postfix_version.h"

namespace proxyd::dict {

// Opens a "type:name" table for a domain list entry.
using TableOpener = std::function<TablePtr(std::string_view type_name)>;

// Outcome of a domain check.
struct DomainMatch {
  enum class Kind { Match, NoMatch, Error };
  Kind kind = Kind::NoMatch;
  ProxyStatus error = ProxyStatus::Retry;  // when kind == Error: Retry or Config
};

class DomainFilter : public std::enable_shared_from_this<DomainFilter> {
 public:
  // Limits on what a list may pull in through /file/name entries.
  static constexpr int kMaxFileDepth = 8;
  static constexpr std::size_t kMaxFileBytes = 4u << 20;

  // Parse the list. origin names the table for messages (the .cf path).
  // type:table entries are opened through opener; with an empty opener they
  // are a ConfigError. utf8 is smtputf8_enable: fold non-ASCII patterns and
  // domains with ICU, as Postfix's match_list does. Throws ConfigError ("no
  // pattern after '!'", ...). release decides how /file/name is read: from
  // 3.8 as logical lines (comments, continuations) with the "#comment after
  // other text" warning, before as physical lines with "#" in column 1 a
  // comment.
  static std::shared_ptr<DomainFilter> parse(
      std::string_view list, std::string origin, const TableOpener& opener, Logger& log,
      bool utf8 = false, PostfixVersion release = PostfixVersion::newest());

  // Check a lookup key: NoMatch unless it has an '@' after a non-empty local
  // part and its domain matches the list. done may run before this returns.
  void check(std::string_view key, std::function<void(DomainMatch)> done) const;

  // Number of parsed patterns (tests).
  std::size_t size() const { return patterns_.size(); }

 private:
  struct Pattern {
    bool negate = false;
    std::string literal;       // casefolded domain name (literal entries)
    std::string table_name;    // "type:name" (table entries)
    TablePtr table;            // null for literals and unreadable files
    bool unavailable = false;  // /file/name that could not be read
  };

  DomainFilter(std::string origin, Logger& log, bool utf8, PostfixVersion release)
      : origin_(std::move(origin)), log_(&log), utf8_(utf8), release_(release) {}
  void parse_into(std::string_view text, bool match, int depth,
                  const TableOpener& opener);
  // The lines of a /file/name entry, as the release reads them.
  std::vector<std::string> file_lines(std::string_view text, std::string_view path) const;
  // Warn about a "#" token (the rest of the text is ignored).
  void warn_comment(std::string_view token, std::string_view rest) const;
  void match_from(std::size_t index, std::string domain,
                  std::function<void(DomainMatch)> done) const;

  std::string origin_;
  Logger* log_;
  bool utf8_;
  PostfixVersion release_;
  std::vector<Pattern> patterns_;
};

}  // namespace proxyd::dict
