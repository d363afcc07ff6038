// Postfix's mac_expand with the recursive flag, over main.cf parameters:
// $name, ${name}, $(name), the ?/: conditionals, {text} operands,
// relational operators and the "level" (compatibility_level) suffix.
// The first error is logged and stops further output. Any thread.
#pragma once

#include <string>
#include <string_view>

#include "dictcore/util/logger.h"

namespace proxyd::dict {

class MainCf;

// Expand every $reference in text against cf's raw values, recursively.
// Problems (syntax errors, loops, size or work limits) go to log once; the
// partial expansion is returned.
std::string expand_macros(const MainCf& cf, std::string_view text, Logger& log);

}  // namespace proxyd::dict
