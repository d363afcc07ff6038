// Command-line walking shared by the benchmark tools: every option is
// "--name value"; the tool maps names to its own fields.
#pragma once

#include <functional>
#include <string>

namespace proxyd::bench {

// Calls set(name, value) for each "--name value" pair in argv. set returns
// false for a name it does not know and may throw std::logic_error (as
// std::stoi does) for a bad value; either, or a missing value, ends in
// usage(why), which must not return.
void walk_options(int argc, char** argv,
                  const std::function<bool(const std::string&, const std::string&)>& set,
                  const std::function<void(const std::string&)>& usage);

}  // namespace proxyd::bench
