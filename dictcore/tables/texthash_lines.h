// Postfix 3.7's readllines() as texthash: files are read with it: the
// logical lines of a file's text, with their first line numbers. Pure
// function (warnings go to the logger given); any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "dictcore/util/logger.h"

namespace proxyd::dict {

// One logical line of a texthash file and the line number where it starts.
struct TextLine {
  int line_no = 0;
  std::string text;
};

// readllines(): joins continuation lines (starting with white space), drops
// comment and blank lines, warns about and skips a logical line that starts
// with white space.
// Not logical_lines(), which is 3.11's: 3.7.11's readllines keeps NUL bytes unwarned.
std::vector<TextLine> read_logical_lines(std::string_view content, std::string_view path,
                                         Logger* log);

}  // namespace proxyd::dict
