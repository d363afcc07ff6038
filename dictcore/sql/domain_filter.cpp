// Domain list of SQL tables (Postfix db_common_check_domain over
// string_list / match_list_parse / match_string). Patterns and domains are
// folded with casefold(): ICU for non-ASCII text when smtputf8_enable is on
// (EXÄMPLE.ORG matches exämple.org, STRASSE.DE matches straße.de), ASCII
// lowercase otherwise, exactly as match_list folds both sides.
#include "dictcore/sql/domain_filter.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>

#include "dictcore/util/config_error.h"
#include "dictcore/util/config_lines.h"
#include "dictcore/util/files.h"
#include "dictcore/util/fold.h"
#include "dictcore/util/tokens.h"
#include "protocol/status.h"

namespace proxyd::dict {
namespace {

// A pattern naming a table: "type:name" not starting with '['.
bool is_table_pattern(std::string_view item) {
  return !item.empty() && item[0] != '[' && item.find(':') != std::string_view::npos;
}

}  // namespace

std::shared_ptr<DomainFilter> DomainFilter::parse(std::string_view list,
                                                  std::string origin,
                                                  const TableOpener& opener, Logger& log,
                                                  bool utf8, PostfixVersion release) {
  std::shared_ptr<DomainFilter> filter(
      new DomainFilter(std::move(origin), log, utf8, release));
  filter->parse_into(list, true, 0, opener);
  return filter;
}

std::vector<std::string> DomainFilter::file_lines(std::string_view text,
                                                  std::string_view path) const {
  std::vector<std::string> out;
  if (release_.domain_files_logical_lines()) {
    // readlline(): the NUL-byte warning is 3.9's.
    NullByteWarnings nul_warnings;
    for (auto& line : logical_lines(text, path, *log_, NulBytes::Cut, &nul_warnings))
      out.push_back(std::move(line.text));
    log_null_byte_warnings(nul_warnings, release_, *log_);
    return out;
  }
  // vstring_fgets(): physical lines; only "#" in column 1 makes a comment.
  // Each line is a C string.
  for (std::string_view lines = text; !lines.empty();) {
    const std::size_t nl = std::min(lines.find('\n'), lines.size());
    std::string_view line = lines.substr(0, nl);
    lines.remove_prefix(std::min(nl + 1, lines.size()));
    line = line.substr(0, line.find('\0'));
    if (!line.empty() && line[0] == '#') continue;
    out.emplace_back(line);
  }
  return out;
}

void DomainFilter::warn_comment(std::string_view token, std::string_view rest) const {
  if (release_.domain_files_logical_lines()) {
    // mystrtok_cw: at most 20 bytes of what follows.
    log_->warn("{}: #comment after other text is not allowed: {} {}...", origin_, token,
               rest.substr(0, 20));
  } else {
    log_->warn("{}: comment at end of line is not supported: {} {}", origin_, token,
               rest);
  }
}

void DomainFilter::parse_into(std::string_view text, bool init_match, int depth,
                              const TableOpener& opener) {
  std::string_view rest = text;
  while (const auto next = next_grouped_token(rest)) {
    const std::string_view token = *next;
    if (token[0] == '#') {
      warn_comment(token, rest);
      break;
    }
    bool match = init_match;
    std::string_view item = token;
    while (!item.empty() && item[0] == '!') {
      match = !match;
      item.remove_prefix(1);
    }
    if (item.empty()) throw ConfigError(fmt::format("{}: no pattern after '!'", origin_));

    if (item[0] == '/') {
      if (depth >= kMaxFileDepth) {
        throw ConfigError(
            fmt::format("{}: domain list files nested too deeply at {}", origin_, item));
      }
      UniqueFd fd = open_read_only(std::string(item));
      if (!fd.valid()) {
        // Postfix substitutes a table whose every lookup fails (RETRY).
        log_->warn("{}: open file {}: cannot read", origin_, item);
        patterns_.push_back(
            Pattern{!match, {}, fmt::format("nofile:{}", item), nullptr, true});
        continue;
      }
      // A read error (a directory, say) ends the text where it happened.
      // The cap counts a missing final newline as one byte.
      std::string text;
      const bool too_large = read_all(fd.get(), text, kMaxFileBytes) == ReadAll::TooLarge;
      if (too_large ||
          text.size() + (!text.empty() && text.back() != '\n') > kMaxFileBytes) {
        throw ConfigError(
            fmt::format("{}: domain list file {} is too large", origin_, item));
      }
      for (const std::string& line : file_lines(text, item))
        parse_into(line, match, depth + 1, opener);
      continue;
    }
    if (is_table_pattern(item)) {
      if (!opener) {
        throw ConfigError(
            fmt::format("{}: domain list entry {}: table lookups are not supported here",
                        origin_, item));
      }
      TablePtr table = opener(item);
      if (!table) {
        throw ConfigError(
            fmt::format("{}: cannot open domain list table {}", origin_, item));
      }
      patterns_.push_back(
          Pattern{!match, {}, std::string(item), std::move(table), false});
      continue;
    }
    patterns_.push_back(Pattern{!match, casefold(item, utf8_), {}, nullptr, false});
  }
}

void DomainFilter::check(std::string_view key,
                         std::function<void(DomainMatch)> done) const {
  std::size_t at = key.rfind('@');
  if (at == std::string_view::npos || at == 0) {
    done(DomainMatch{DomainMatch::Kind::NoMatch});
    return;
  }
  match_from(0, casefold(key.substr(at + 1), utf8_), std::move(done));
}

void DomainFilter::match_from(std::size_t index, std::string domain,
                              std::function<void(DomainMatch)> done) const {
  using Kind = DomainMatch::Kind;
  for (; index < patterns_.size(); ++index) {
    const Pattern& p = patterns_[index];
    if (p.unavailable) {
      log_->warn_limited(origin_, "{}: {}: table lookup problem", origin_, p.table_name);
      done(DomainMatch{Kind::Error, ProxyStatus::Retry});
      return;
    }
    if (!p.table) {
      if (p.literal == domain) {
        done(DomainMatch{p.negate ? Kind::NoMatch : Kind::Match});
        return;
      }
      continue;
    }
    // Table entry: continue in the callback (which may run synchronously).
    auto self = shared_from_this();
    std::string key = domain;
    p.table->lookup(key, protocol::flags::kLock | protocol::flags::kUtf8Request,
                    [self, index, domain = std::move(domain),
                     done = std::move(done)](LookupResult r) mutable {
                      const Pattern& pat = self->patterns_[index];
                      if (r.status == ProxyStatus::Ok) {
                        done(DomainMatch{pat.negate ? Kind::NoMatch : Kind::Match});
                      } else if (r.status == ProxyStatus::NoKey) {
                        self->match_from(index + 1, std::move(domain), std::move(done));
                      } else {
                        self->log_->warn_limited(self->origin_,
                                                 "{}: {}: table lookup problem",
                                                 self->origin_, pat.table_name);
                        done(DomainMatch{Kind::Error, r.status == ProxyStatus::Retry
                                                          ? ProxyStatus::Retry
                                                          : ProxyStatus::Config});
                      }
                    });
    return;
  }
  done(DomainMatch{Kind::NoMatch});
}

}  // namespace proxyd::dict
