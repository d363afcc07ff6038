// readllines() for texthash: (see texthash_lines.h).
#include "dictcore/tables/texthash_lines.h"

#include <utility>

#include "dictcore/util/text.h"

namespace proxyd::dict {

namespace {

// readllines' 3.9+ warning, with the logical line's physical line range.
void warn_null_byte(Logger* log, std::string_view path, int first, int last) {
  if (log == nullptr) return;
  if (first == last) {
    log->warn("{}, line {}: text after null byte may be ignored", path, last);
  } else {
    log->warn("{}, line {}-{}: text after null byte may be ignored", path, first, last);
  }
}

}  // namespace

std::vector<TextLine> read_logical_lines(std::string_view content, std::string_view path,
                                         Logger* log, bool warn_null) {
  std::vector<TextLine> lines;
  std::size_t pos = 0;
  int line_no = 0;
  while (pos < content.size()) {
    std::string buf;
    int first_line = 0;
    bool got_null = false;
    for (;;) {
      std::size_t start = buf.size();
      std::size_t nl = content.find('\n', pos);
      bool have_newline = nl != std::string_view::npos;
      std::size_t end = have_newline ? nl : content.size();
      if (content.substr(pos, end - pos).find('\0') != std::string_view::npos)
        got_null = true;
      buf.append(content.substr(pos, end - pos));
      pos = have_newline ? nl + 1 : content.size();
      if (have_newline || buf.size() > start) ++line_no;
      std::size_t cp = start;
      while (cp < buf.size() && c_space(buf[cp])) ++cp;
      if (cp == buf.size() || buf[cp] == '#') {
        buf.resize(start);
      } else if (start == 0) {
        first_line = line_no;
      }
      if (pos >= content.size()) break;
      if (!buf.empty() && content[pos] != '#' && !c_space(content[pos])) break;
    }
    // 3.9+ warns also when the NUL was in a comment or blank line.
    if (got_null && warn_null)
      warn_null_byte(log, path, first_line ? first_line : line_no, line_no);
    if (buf.empty()) continue;
    if (c_space(buf[0])) {
      if (log != nullptr) {
        log->warn("{}: logical line must not start with whitespace: \"{}{}\"", path,
                  std::string_view(buf).substr(0, 30), buf.size() > 30 ? "..." : "");
      }
      continue;
    }
    lines.push_back(TextLine{first_line, std::move(buf)});
  }
  return lines;
}

}  // namespace proxyd::dict
