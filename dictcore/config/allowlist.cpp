// Builds proxymap's approved-table set the way Postfix 3.11.0's
// authorize_proxied_maps() does: mystrtokq-style tokens with { } groups,
// extpar-style brace stripping, /file/name references read as logical lines,
// unionmap:{…} / pipemap:{…} recursion, proxy: prefix stripping, and the
// smtpd_restriction_classes scan for the read-only service. Built once at
// start-up (any thread); the result is immutable.
#include "dictcore/config/allowlist.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "dictcore/util/braces.h"
#include "dictcore/util/config_error.h"
#include "dictcore/util/config_lines.h"
#include "dictcore/util/files.h"
#include "dictcore/util/text.h"
#include "dictcore/util/tokens.h"

namespace proxyd::dict {
namespace {

constexpr std::string_view kProxyPrefix = "proxy:";
// Postfix recurses without limit (a file that names itself never ends);
// these bounds keep a bad configuration from exhausting the stack.
constexpr int kMaxDepth = 32;

std::optional<std::string_view> nested_map_content(std::string_view token) {
  for (std::string_view prefix :
       {std::string_view("unionmap:"), std::string_view("pipemap:")}) {
    if (token.substr(0, prefix.size()) == prefix) return token.substr(prefix.size());
  }
  return std::nullopt;
}

class Builder {
 public:
  Builder(std::set<std::string, std::less<>>& tables, AllowlistScope scope, Logger& log,
          PostfixVersion release)
      : tables_(tables), scope_(scope), log_(log), release_(release) {}

  void scan(std::string_view text, std::string_view origin, int depth) {
    if (depth > kMaxDepth) {
      log_.warn("{}: table references nested more than {} levels deep; ignoring \"{}\"",
                origin, kMaxDepth, text.substr(0, 60));
      return;
    }
    std::string_view rest = text;
    while (auto token = next_grouped_token(rest)) {
      std::string_view name = *token;
      // { type:name attr=value … } : only the first word names the table.
      if (name.front() == '{') {
        std::string_view inner;
        if (auto err = extpar(name, inner, Extpar::Plain)) {
          log_.warn("bad syntax in {} content: {}", origin, *err);
          continue;
        }
        auto first = next_grouped_token(inner);
        if (!first) continue;
        name = *first;
      }
      if (name.front() == '/') {
        scan_file(std::string(name), depth);
        continue;
      }
      // Skip [ipv6::addr], permit_mynetworks and other non-table words.
      if (!ascii_alnum(name.front()) || name.find(':') == std::string_view::npos)
        continue;
      if (auto nested = nested_map_content(name)) {
        if (nested->empty() || nested->front() != '{') continue;
        std::string_view inner;
        if (auto err = extpar(*nested, inner, Extpar::Plain)) {
          log_.warn("bad syntax in {} content: {}", origin, *err);
          continue;
        }
        scan(inner, origin, depth + 1);
        continue;
      }
      if (scope_ == AllowlistScope::ProxiedOnly &&
          name.substr(0, kProxyPrefix.size()) != kProxyPrefix)
        continue;
      // As in 3.11.0 (verified with its export-* modes), "proxy:foo" stores
      // "foo": harmless, because a request without ':' is refused as BAD
      // before the allowlist is consulted.
      name = strip_proxy_prefixes(name);
      if (tables_.emplace(name).second && log_.verbose()) {
        log_.info("allowlisting {} from {}", name, origin);
      }
    }
  }

 private:
  void scan_file(const std::string& path, int depth) {
    for (const auto& open : open_files_) {
      if (open == path) {
        log_.warn("{}: recursive reference to itself ignored", path);
        return;
      }
    }
    std::string text;
    try {
      text = read_file(path, kMaxConfigFileSize);
    } catch (const ConfigError& e) {
      log_.warn("{}", e.what());
      return;
    }
    open_files_.push_back(path);
    NullByteWarnings nul_warnings;
    for (const auto& line : logical_lines(text, path, log_, NulBytes::Cut, &nul_warnings))
      scan(line.text, path, depth + 1);
    log_null_byte_warnings(nul_warnings, release_, log_);
    open_files_.pop_back();
  }

  std::set<std::string, std::less<>>& tables_;
  AllowlistScope scope_;
  Logger& log_;
  PostfixVersion release_;  // NUL-byte warnings only from 3.9
  std::vector<std::string> open_files_;
};

}  // namespace

std::string_view strip_proxy_prefixes(std::string_view name) {
  while (name.substr(0, kProxyPrefix.size()) == kProxyPrefix)
    name.remove_prefix(kProxyPrefix.size());
  return name;
}

Allowlist Allowlist::build(const MainCf& main_cf, bool read_only_service, Logger& log,
                           AllowlistScope scope) {
  Allowlist list;
  list.parameter_ = read_only_service ? "proxy_read_maps" : "proxy_write_maps";
  Builder builder(list.tables_, scope, log, main_cf.release());
  builder.scan(main_cf.get(list.parameter_, log), list.parameter_, 0);
  if (read_only_service) {
    // Each restriction class is itself a parameter listing restrictions.
    const std::string classes = main_cf.get("smtpd_restriction_classes", log);
    for (std::string_view class_name : split_tokens(classes)) {
      if (main_cf.raw(class_name)) {
        builder.scan(main_cf.get(class_name, log), "smtpd_restriction_classes", 0);
      }
    }
  }
  return list;
}

Allowlist Allowlist::from_value(std::string_view value, Logger& log,
                                AllowlistScope scope) {
  Allowlist list;
  Builder builder(list.tables_, scope, log, PostfixVersion::newest());
  builder.scan(value, list.parameter_, 0);
  return list;
}

bool Allowlist::contains(std::string_view table) const {
  return tables_.find(table) != tables_.end();
}

}  // namespace proxyd::dict
