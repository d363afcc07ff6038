// main.cf loading: reproduces mail_conf_read (logical lines, name =
// value), layers main.cf and "-o" overrides over Postfix's defaults
// (parameter_defaults.h), computes the dynamic defaults (check_myhostname /
// check_mydomainname) and hands $name expansion to macro_expand.h.
// Const methods: any thread.
#include "dictcore/config/main_cf.h"

#include <fmt/format.h>
#include <unistd.h>

#include <climits>
#include <string_view>
#include <utility>

#include "dictcore/config/macro_expand.h"
#include "dictcore/config/parameter_defaults.h"
#include "dictcore/config/release_defaults.h"
#include "dictcore/util/config_error.h"
#include "dictcore/util/config_lines.h"
#include "dictcore/util/files.h"
#include "dictcore/util/text.h"

namespace proxyd::dict {
namespace {

// Postfix's DEF_MYDOMAIN.
constexpr std::string_view kDefaultDomain = "localdomain";

// Postfix's valid_hostname, reduced to what matters for a default.
bool plausible_hostname(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  for (char c : name) {
    if (!ascii_alnum(c) && c != '-' && c != '.' && c != '_') return false;
  }
  return name.front() != '.' && name.back() != '.';
}

std::string local_hostname() {
  char buf[HOST_NAME_MAX + 1] = {};
  if (::gethostname(buf, sizeof(buf) - 1) == 0 && plausible_hostname(buf)) return buf;
  return "localhost";
}

// Stored defaults are re-expanded, so literal '$' must be doubled.
std::string literal_value(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '$') out += '$';
    out += c;
  }
  return out;
}

}  // namespace

MainCf MainCf::load(const std::filesystem::path& config_dir, Logger& log) {
  const std::string path = (config_dir / "main.cf").string();
  return from_string(read_file(path, kMaxConfigFileSize), log, config_dir);
}

MainCf MainCf::from_string(std::string_view text, Logger& log,
                           std::filesystem::path config_dir) {
  MainCf cf;
  cf.config_dir_ = std::move(config_dir);
  cf.hostname_ = local_hostname();
  const std::string origin = (cf.config_dir_ / "main.cf").string();
  for (auto& nv : parse_name_values(text, origin, log, &cf.null_byte_warnings_)) {
    cf.values_.insert_or_assign(std::move(nv.name), std::move(nv.value));
  }
  cf.compute_dynamic_defaults();
  return cf;
}

void MainCf::compute_dynamic_defaults() {
  defaults_.clear();
  for (const auto& d : parameter_defaults()) defaults_.emplace(d.name, d.value);
  defaults_.insert_or_assign("proxy_read_maps", default_proxy_read_maps(release_));
  defaults_.insert_or_assign("config_directory", literal_value(config_dir_.string()));

  // check_myhostname: a name without a dot gets $mydomain (if set) or the
  // default domain; evaluated before mydomain has a default.
  std::string host = hostname_;
  if (host.find('.') == std::string::npos) {
    std::string domain(kDefaultDomain);
    if (is_set("mydomain")) domain = get("mydomain");
    host += '.';
    host += domain;
  }
  defaults_.insert_or_assign("myhostname", literal_value(host));

  // check_mydomainname: everything after the first dot of $myhostname.
  const std::string my_host = get("myhostname");
  const std::size_t dot = my_host.find('.');
  defaults_.insert_or_assign("mydomain", dot == std::string::npos
                                             ? std::string(kDefaultDomain)
                                             : literal_value(my_host.substr(dot + 1)));
}

void MainCf::follow_release(PostfixVersion release) {
  release_ = release;
  compute_dynamic_defaults();
}

void MainCf::set_override(std::string name, std::string value) {
  overrides_.insert_or_assign(std::move(name), std::move(value));
  compute_dynamic_defaults();
}

std::optional<std::string> MainCf::raw(std::string_view name) const {
  if (auto it = overrides_.find(name); it != overrides_.end()) return it->second;
  if (auto it = values_.find(name); it != values_.end()) return it->second;
  if (auto it = defaults_.find(name); it != defaults_.end()) return it->second;
  return std::nullopt;
}

std::string MainCf::get(std::string_view name) const {
  NullLogger quiet;
  return get(name, quiet);
}

std::string MainCf::get(std::string_view name, Logger& log) const {
  const auto value = raw(name);
  if (!value) return {};
  return expand(*value, log);
}

std::string MainCf::expand(std::string_view text) const {
  NullLogger quiet;
  return expand(text, quiet);
}

std::string MainCf::expand(std::string_view text, Logger& log) const {
  return expand_macros(*this, text, log);
}

bool MainCf::is_set(std::string_view name) const {
  return overrides_.find(name) != overrides_.end() || values_.find(name) != values_.end();
}

bool MainCf::get_bool(std::string_view name) const {
  const std::string value = get(name);
  if (const auto flag = parse_yes_no(value)) return *flag;
  throw ConfigError(fmt::format("bad boolean configuration: {} = {}", name, value));
}

std::vector<std::string> MainCf::parameter_names() const {
  std::map<std::string, int, std::less<>> all;
  for (const auto& [k, v] : defaults_) all.emplace(k, 0);
  for (const auto& [k, v] : values_) all.emplace(k, 0);
  for (const auto& [k, v] : overrides_) all.emplace(k, 0);
  std::vector<std::string> names;
  names.reserve(all.size());
  for (auto& [k, v] : all) names.push_back(k);
  return names;
}

}  // namespace proxyd::dict
