// Logical-line reader for Postfix-style configuration text: reproduces the
// rules of Postfix's readllines() (comments and blank lines ignored anywhere,
// white-space continuation, warning for text that starts with white space,
// 3.9+'s NUL-byte warning, which callers may keep until the release is known),
// split_nameval() ("name = value" trimming) and the case-insensitive yes/no
// of boolean parameters. Pure functions; any thread.
#include "dictcore/util/config_lines.h"

#include <fmt/format.h>

#include <map>

#include "dictcore/util/config_error.h"
#include "dictcore/util/text.h"

namespace proxyd::dict {
namespace {

// At most this much of an offending line is quoted in messages.
constexpr std::size_t kQuoteLimit = 100;

std::string quoted_excerpt(std::string_view text, std::size_t limit) {
  if (text.size() <= limit) return std::string(text);
  return fmt::format("{}...", text.substr(0, limit));
}

}  // namespace

void log_null_byte_warnings(const NullByteWarnings& warnings, PostfixVersion release,
                            Logger& log) {
  if (!release.readllines_warns_null()) return;
  for (const std::string& w : warnings) log.warn("{}", w);
}

std::vector<LogicalLine> logical_lines(std::string_view text, std::string_view origin,
                                       Logger& log, NulBytes nul,
                                       NullByteWarnings* nul_warnings) {
  std::vector<LogicalLine> lines;
  std::size_t pos = 0;
  int line_no = 0;  // number of the last physical line read
  const std::size_t end = text.size();

  for (;;) {
    std::string buf;
    int first_line = line_no + 1;
    bool got_null = false;
    bool at_eof = false;
    // Collect physical lines until the next one cannot be a continuation.
    for (;;) {
      const std::size_t start = buf.size();
      const std::size_t nl = text.find('\n', pos);
      const std::size_t stop = nl == std::string_view::npos ? end : nl;
      std::string_view phys = text.substr(pos, stop - pos);
      if (nul != NulBytes::Keep && phys.find('\0') != std::string_view::npos) {
        got_null = true;
      }
      buf.append(phys);
      pos = nl == std::string_view::npos ? end : nl + 1;
      if (nl != std::string_view::npos || !phys.empty()) ++line_no;
      // Comment lines and all-white-space lines contribute nothing.
      std::size_t cp = start;
      while (cp < buf.size() && c_space(buf[cp])) ++cp;
      if (cp == buf.size() || buf[cp] == '#') buf.resize(start);
      if (start == 0) first_line = line_no;
      if (nl == std::string_view::npos) {
        at_eof = true;
        break;
      }
      if (!buf.empty()) {
        // Only white space or '#' at the start of the next line continues.
        if (pos >= end) break;
        const char next = text[pos];
        if (next != '#' && !c_space(next)) break;
      }
    }
    if (got_null) {
      const std::string where = first_line == line_no
                                    ? fmt::format("line {}", line_no)
                                    : fmt::format("line {}-{}", first_line, line_no);
      std::string warning =
          fmt::format("{}, {}: text after null byte may be ignored", origin, where);
      if (nul_warnings != nullptr) {
        nul_warnings->push_back(std::move(warning));
      } else {
        log.warn("{}", warning);
      }
      // Consumers see C strings in Postfix: nothing after the NUL survives
      // (texthash: keeps the bytes and cuts each line itself).
      if (nul == NulBytes::Cut) buf.resize(std::strlen(buf.c_str()));
    }
    if (!buf.empty() && c_space(buf[0])) {
      log.warn("{}: logical line must not start with whitespace: \"{}{}\"", origin,
               std::string_view(buf).substr(0, 30), buf.size() > 30 ? "..." : "");
    } else if (!buf.empty()) {
      lines.push_back(LogicalLine{first_line, std::move(buf)});
    }
    if (at_eof || pos >= end) break;
  }
  return lines;
}

std::vector<NameValue> parse_name_values(std::string_view text, std::string_view origin,
                                         Logger& log, NullByteWarnings* nul_warnings) {
  std::vector<NameValue> out;
  std::map<std::string, std::size_t, std::less<>> seen;  // name -> index in out
  for (auto& line : logical_lines(text, origin, log, NulBytes::Cut, nul_warnings)) {
    std::string_view s = line.text;
    std::size_t np = 0;
    while (np < s.size() && c_space(s[np])) ++np;
    const char* err = nullptr;
    std::size_t ep = np;
    std::size_t cp = np;
    if (np == s.size() || s[np] == '=') {
      err = "missing attribute name";
    } else {
      while (ep < s.size() && !c_space(s[ep]) && s[ep] != '=') ++ep;
      cp = ep;
      while (cp < s.size() && c_space(s[cp])) ++cp;
      if (cp == s.size() || s[cp] != '=') err = "missing '=' after attribute name";
    }
    if (err != nullptr) {
      throw ConfigError(fmt::format("{}, line {}: {}: \"{}\"", origin, line.line_no, err,
                                    quoted_excerpt(s, kQuoteLimit)));
    }
    std::size_t vp = cp + 1;
    while (vp < s.size() && c_space(s[vp])) ++vp;
    std::size_t ve = s.size();
    while (ve > vp && c_space(s[ve - 1])) --ve;
    NameValue nv{line.line_no, std::string(s.substr(np, ep - np)),
                 std::string(s.substr(vp, ve - vp))};
    if (auto it = seen.find(nv.name); it != seen.end()) {
      // The earlier value is not logged: it may be a password.
      if (out[it->second].value != nv.value) {
        log.warn("{}, line {}: overriding earlier entry: {}", origin, line.line_no,
                 nv.name);
      }
      it->second = out.size();
    } else {
      seen.emplace(nv.name, out.size());
    }
    out.push_back(std::move(nv));
  }
  return out;
}

std::optional<bool> parse_yes_no(std::string_view text) {
  if (ascii_iequal(text, "yes")) return true;
  if (ascii_iequal(text, "no")) return false;
  return std::nullopt;
}

}  // namespace proxyd::dict
