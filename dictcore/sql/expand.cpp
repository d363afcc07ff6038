// Template parsing, key suppression and result building for SQL tables
// (Postfix db_common_parse / db_common_expand / db_common_sql_build_query
// semantics). Verified against postmap 3.7.11: domain labels are the
// non-empty '.'-separated parts (joe@a..com with %2 expands to "a").
#include "dictcore/sql/expand.h"

#include <fmt/format.h>

#include <vector>

#include "dictcore/util/config_error.h"

namespace proxyd::dict {
namespace {

constexpr unsigned kKeyDomain = 1u << 0;    // lookup key domain needed
constexpr unsigned kKeyUser = 1u << 1;      // lookup key local part needed
constexpr unsigned kValueDomain = 1u << 2;  // result value domain needed
constexpr unsigned kValueUser = 1u << 3;    // result value local part needed

// Parse one template, adding its requirements to flags/nparts.
void parse_template(std::string_view format, bool is_query, std::string_view origin,
                    unsigned& flags, int& nparts) {
  for (std::size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') continue;
    char c = (i + 1 < format.size()) ? format[++i] : '\0';
    switch (c) {
      case '%':
      case 's':
      case 'S':
        break;
      case 'u':
        flags |= is_query ? kKeyUser : kValueUser;
        break;
      case 'd':
        flags |= is_query ? kKeyDomain : kValueDomain;
        break;
      case 'U':
        flags |= kKeyUser;
        break;
      case 'D':
        flags |= kKeyDomain;
        break;
      default:
        if (c >= '1' && c <= '9') {
          nparts = std::max(nparts, c - '0');
          flags |= kKeyDomain;
          break;
        }
        throw ConfigError(fmt::format("{}: invalid {} template: {}", origin,
                                      is_query ? "query" : "result_format", format));
    }
  }
}

// The non-empty labels of a domain, left to right (Postfix argv_split on ".").
std::vector<std::string_view> split_labels(std::string_view domain) {
  std::vector<std::string_view> labels;
  std::size_t start = 0;
  while (start <= domain.size()) {
    std::size_t dot = domain.find('.', start);
    if (dot == std::string_view::npos) dot = domain.size();
    if (dot > start) labels.push_back(domain.substr(start, dot - start));
    start = dot + 1;
  }
  return labels;
}

// Local part and domain of an address split at the last '@'.
struct AddrParts {
  bool has_at = false;
  std::string_view local;   // whole text when there is no '@'
  std::string_view domain;  // empty when there is no '@'
};

AddrParts split_addr(std::string_view text) {
  AddrParts p;
  std::size_t at = text.rfind('@');
  if (at == std::string_view::npos) {
    p.local = text;
    return p;
  }
  p.has_at = true;
  p.local = text.substr(0, at);
  p.domain = text.substr(at + 1);
  return p;
}

// True when an address misses a part the flags demand.
bool lacks_parts(const AddrParts& a, bool need_domain, bool need_user) {
  if (need_domain && (!a.has_at || a.domain.empty())) return true;
  if (need_user && a.has_at && a.local.empty()) return true;
  return false;
}

// How one expansion ended.
enum class Expanded { Ok, QuoteFailed, TooLong };

// Expand format. "value" feeds lower-case tokens, "key" upper-case and
// digit tokens. out never grows past max_bytes by more than one escaped
// piece: each piece is checked before it is copied (and once more after
// quoting, which may lengthen it).
Expanded expand(std::string_view format, const AddrParts& value_parts,
                std::string_view value, const AddrParts& key_parts, std::string_view key,
                const std::vector<std::string_view>& labels, const Quoter* quoter,
                std::size_t max_bytes, std::string& out) {
  auto fits = [&](std::size_t more) {
    return out.size() <= max_bytes && more <= max_bytes - out.size();
  };
  auto put = [&](std::string_view text) {
    if (!fits(text.size())) return Expanded::TooLong;
    if (quoter != nullptr) {
      if (!(*quoter)(text, out)) return Expanded::QuoteFailed;
      return fits(0) ? Expanded::Ok : Expanded::TooLong;
    }
    out.append(text);
    return Expanded::Ok;
  };
  for (std::size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') {
      if (!fits(1)) return Expanded::TooLong;
      out.push_back(format[i]);
      continue;
    }
    char c = format[++i];  // parse() guarantees a valid token follows
    Expanded st = Expanded::Ok;
    switch (c) {
      case '%':  // template text: copied, never quoted
        if (!fits(1)) return Expanded::TooLong;
        out.push_back('%');
        break;
      case 's':
        st = put(value);
        break;
      case 'u':
        st = put(value_parts.local);
        break;
      case 'd':
        st = put(value_parts.domain);
        break;
      case 'S':
        st = put(key);
        break;
      case 'U':
        st = put(key_parts.local);
        break;
      case 'D':
        st = put(key_parts.domain);
        break;
      default:  // '1'..'9': labels counted from the right
        st = put(labels[labels.size() - static_cast<std::size_t>(c - '0')]);
        break;
    }
    if (st != Expanded::Ok) return st;
  }
  return Expanded::Ok;
}

}  // namespace

ExpandRules ExpandRules::parse(std::string query, std::string result_format,
                               std::string_view origin) {
  ExpandRules r;
  parse_template(query, true, origin, r.flags_, r.nparts_);
  parse_template(result_format, false, origin, r.flags_, r.nparts_);
  r.query_ = std::move(query);
  r.result_format_ = std::move(result_format);
  return r;
}

bool ExpandRules::key_usable(std::string_view key) const {
  if (key.empty()) return false;
  AddrParts k = split_addr(key);
  if (lacks_parts(k, flags_ & kKeyDomain, flags_ & kKeyUser)) return false;
  if (nparts_ > 0 && split_labels(k.domain).size() < static_cast<std::size_t>(nparts_)) {
    return false;
  }
  return true;
}

ExpandStatus ExpandRules::expand_query(std::string_view key, const Quoter* quoter,
                                       std::string& out, std::size_t max_bytes) const {
  out.clear();
  if (!key_usable(key)) return ExpandStatus::Suppressed;
  AddrParts k = split_addr(key);
  std::vector<std::string_view> labels;
  if (nparts_ > 0) labels = split_labels(k.domain);
  switch (expand(query_, k, key, k, key, labels, quoter, max_bytes, out)) {
    case Expanded::Ok:
      return ExpandStatus::Ok;
    case Expanded::QuoteFailed:
      return ExpandStatus::QuoteFailed;
    case Expanded::TooLong:
      break;
  }
  out.clear();
  out.shrink_to_fit();
  return ExpandStatus::TooLong;
}

AppendStatus ExpandRules::append_result(std::string_view value, std::string_view key,
                                        std::string& out, std::size_t max_bytes) const {
  AddrParts v = split_addr(value);
  if (lacks_parts(v, flags_ & kValueDomain, flags_ & kValueUser))
    return AppendStatus::Skipped;
  // The key was checked before the query; this only guards direct callers.
  if (!key_usable(key)) return AppendStatus::Skipped;
  AddrParts k = split_addr(key);
  std::vector<std::string_view> labels;
  if (nparts_ > 0) labels = split_labels(k.domain);
  std::size_t mark = out.size();
  if (!out.empty()) out.push_back(',');
  if (expand(result_format_, v, value, k, key, labels, nullptr, max_bytes, out) !=
      Expanded::Ok) {
    out.resize(mark);
    return AppendStatus::TooLong;
  }
  return AppendStatus::Added;
}

std::string build_legacy_query(const LegacyQueryParts& parts, std::string_view origin) {
  auto need = [&](const std::optional<std::string>& v, std::string_view name) {
    if (!v || v->empty()) {
      throw ConfigError(fmt::format("{}: '{}' parameter not defined", origin, name));
    }
    return *v;
  };
  std::string table = need(parts.table, "table");
  std::string select_field = need(parts.select_field, "select_field");
  std::string where_field = need(parts.where_field, "where_field");
  return fmt::format("SELECT {} FROM {} WHERE {}='%s' {}", select_field, table,
                     where_field, parts.additional_conditions);
}

ResultBuilder::ResultBuilder(const ExpandRules& rules, std::string_view key,
                             int expansion_limit, const ResultContext& ctx)
    : rules_(rules), key_(key), limit_(expansion_limit), ctx_(ctx) {}

bool ResultBuilder::add(const std::optional<std::string>& field) {
  if (failed_) return false;
  if (!field) return true;  // SQL NULL: skipped silently
  if (field->empty()) {
    if (ctx_.log != nullptr) {
      ctx_.log->warn("table \"{}\": empty lookup result for: \"{}\" -- ignored",
                     ctx_.table_label, key_);
    }
    return true;
  }
  switch (rules_.append_result(*field, key_, out_, kMaxResultBytes)) {
    case AppendStatus::Added:
      break;
    case AppendStatus::Skipped:
      return true;
    case AppendStatus::TooLong:
      if (ctx_.log != nullptr) {
        ctx_.log->warn("{}: {}: result for key '{}' exceeds {} bytes", ctx_.lookup_fn,
                       ctx_.cf_name, key_, kMaxResultBytes);
      }
      failed_ = true;
      return false;
  }
  if (limit_ > 0 && ++count_ > limit_) {
    if (ctx_.log != nullptr) {
      ctx_.log->warn("{}: {}: Expansion limit exceeded for key '{}'", ctx_.lookup_fn,
                     ctx_.cf_name, key_);
    }
    failed_ = true;
    return false;
  }
  return true;
}

LookupResult ResultBuilder::finish() {
  if (failed_) return LookupResult{ProxyStatus::Retry, {}};
  if (out_.empty()) return LookupResult{ProxyStatus::NoKey, {}};
  return LookupResult{ProxyStatus::Ok, std::move(out_)};
}

}  // namespace proxyd::dict
