// readllines() as texthash: files are read with it: the logical lines of a
// file's text, with their first line numbers, and (Postfix 3.9+) the
// "text after null byte may be ignored" warning. Pure function (warnings go
// to the logger given); any thread.
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
// with white space. NUL bytes are kept in the text; warn_null (Postfix 3.9+)
// warns about each logical line that holds one.
std::vector<TextLine> read_logical_lines(std::string_view content, std::string_view path,
                                         Logger* log, bool warn_null);

}  // namespace proxyd::dict
