// proxymap's table allowlist: proxy_read_maps / proxy_write_maps turned into
// the exact set of approved "type:name" strings (Postfix 3.11+ rules:
// { } groups, /file/name contents, unionmap:/pipemap: nesting, restriction
// classes, repeated proxy: prefixes). Immutable after building.
#pragma once

#include <set>
#include <string>
#include <string_view>

#include "dictcore/config/main_cf.h"
#include "dictcore/util/logger.h"

namespace proxyd::dict {

// Remove every leading "proxy:" prefix.
std::string_view strip_proxy_prefixes(std::string_view name);

// Which tokens count: only "proxy:type:name" (the service, and 3.11's
// export-proxy-* mode) or every "type:name" (3.11's export-all-* mode).
enum class AllowlistScope { ProxiedOnly, AllTables };

class Allowlist {
 public:
  // Build from proxy_read_maps (read_only_service; then the values of the
  // smtpd_restriction_classes names are scanned too) or proxy_write_maps.
  // Problems (bad { } syntax, unreadable /file/name) are logged, not thrown.
  static Allowlist build(const MainCf& main_cf, bool read_only_service, Logger& log,
                         AllowlistScope scope = AllowlistScope::ProxiedOnly);

  // Build from an already expanded parameter value (tests).
  static Allowlist from_value(std::string_view value, Logger& log,
                              AllowlistScope scope = AllowlistScope::ProxiedOnly);

  // Exact-string membership of a "type:name" (without proxy:).
  bool contains(std::string_view table) const;

  // Approved tables, sorted.
  const std::set<std::string, std::less<>>& tables() const { return tables_; }

  // Name of the parameter an admin should edit ("proxy_read_maps"/"proxy_write_maps").
  const std::string& parameter() const { return parameter_; }

 private:
  std::set<std::string, std::less<>> tables_;
  std::string parameter_ = "proxy_read_maps";
};

}  // namespace proxyd::dict
