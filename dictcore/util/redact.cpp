// Password redaction (see redact.h). One left-to-right pass: at a "://"
// the user information up to '@' (within the authority) loses its
// password; at a "password" word followed by '=' (white space allowed, as
// libpq's conninfo parser allows it) the value loses its text, quoted or
// not.
#include "dictcore/util/redact.h"

#include "dictcore/util/text.h"

namespace proxyd::dict {
namespace {

bool word_char(char c) { return ascii_alnum(c) || c == '_'; }

// Case-insensitive "password" at text[at], as a whole word.
bool password_word_at(std::string_view text, std::size_t at) {
  constexpr std::string_view kWord = "password";
  if (!ascii_istarts_with(text.substr(at), kWord)) return false;
  return at == 0 || !word_char(text[at - 1]);
}

// End of a URI authority's user information starting at from: the index of
// its '@', or npos when the authority has none.
std::size_t userinfo_end(std::string_view text, std::size_t from) {
  for (std::size_t i = from; i < text.size(); ++i) {
    char c = text[i];
    if (c == '@') return i;
    if (c == '/' || c == '?' || c == '#' || c_space(c) || c == '"' || c == '\'') break;
  }
  return std::string_view::npos;
}

// End of a password value starting at from (the first character after '='
// and any white space): a quoted value ends after its closing quote
// (backslash escapes honoured), a bare one at white space, '&', ';', ',' or
// a closing bracket or quote.
std::size_t value_end(std::string_view text, std::size_t from) {
  if (from < text.size() && (text[from] == '\'' || text[from] == '"')) {
    char quote = text[from];
    std::size_t i = from + 1;
    while (i < text.size() && text[i] != quote) i += text[i] == '\\' ? 2 : 1;
    return i < text.size() ? i + 1 : text.size();
  }
  std::size_t i = from;
  while (i < text.size() && !c_space(text[i]) && text[i] != '&' && text[i] != ';' &&
         text[i] != ',' && text[i] != ')' && text[i] != '}' && text[i] != ']' &&
         text[i] != '"')
    ++i;
  return i;
}

}  // namespace

std::string redact_secrets(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 3, "://") == 0) {
      out.append("://");
      i += 3;
      std::size_t at = userinfo_end(text, i);
      if (at == std::string_view::npos) continue;
      std::string_view info = text.substr(i, at - i);
      std::size_t colon = info.find(':');
      if (colon == std::string_view::npos) continue;
      out.append(info.substr(0, colon + 1));
      out.append(kRedacted);
      i = at;  // the '@' and the host follow as they are
      continue;
    }
    if (password_word_at(text, i)) {
      std::size_t j = i + 8;
      while (j < text.size() && c_space(text[j])) ++j;
      if (j < text.size() && text[j] == '=') {
        ++j;
        while (j < text.size() && c_space(text[j])) ++j;
        std::size_t end = value_end(text, j);
        out.append(text.substr(i, j - i));
        if (end > j) out.append(kRedacted);
        i = end;
        continue;
      }
    }
    out.push_back(text[i]);
    ++i;
  }
  return out;
}

std::string redact_value(std::string_view text, std::string_view secret) {
  std::string out(text);
  if (!secret.empty()) {
    for (std::size_t at = out.find(secret); at != std::string::npos;
         at = out.find(secret, at + kRedacted.size())) {
      out.replace(at, secret.size(), kRedacted);
    }
  }
  return redact_secrets(out);
}

}  // namespace proxyd::dict
