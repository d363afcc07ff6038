// Postfix's built-in parameter defaults as a proxymap(8) process sees them
// (Postfix 3.11): the global parameters it reads and proxymap's own table.
// Data only; MainCf layers main.cf and -o overrides on top.
#pragma once

#include <span>
#include <string_view>
#include <vector>

namespace proxyd::dict {

struct ParameterDefault {
  std::string_view name;
  std::string_view value;  // unexpanded, as Postfix stores it
};

// The static defaults, in table order (dynamic ones such as myhostname,
// mydomain and config_directory are computed by MainCf).
std::span<const ParameterDefault> parameter_defaults();

// The parameters named in Postfix's default proxy_write_maps
// (DEF_PROXY_WRITE_MAPS), "$" removed, read from the one defaults table.
std::vector<std::string_view> default_proxy_write_map_parameters();

}  // namespace proxyd::dict
