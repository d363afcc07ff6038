// Parsing and printing of Postfix release numbers (see postfix_version.h).
#include "dictcore/util/postfix_version.h"

#include <fmt/format.h>

#include <charconv>

namespace proxyd::dict {
namespace {

// One decimal component at the front of text; advances text past it.
std::optional<int> take_number(std::string_view& text) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end == text.data() || value < 0 || value > 9999)
    return std::nullopt;
  text.remove_prefix(static_cast<std::size_t>(end - text.data()));
  return value;
}

}  // namespace

std::optional<PostfixVersion> PostfixVersion::parse(std::string_view text) {
  // mail_version: "3.7.11" for a release, "3.12-20250101" for a snapshot.
  if (std::size_t dash = text.find('-'); dash != std::string_view::npos)
    text = text.substr(0, dash);
  PostfixVersion v{0, 0, 0};
  auto major = take_number(text);
  if (!major || text.empty() || text.front() != '.') return std::nullopt;
  text.remove_prefix(1);
  auto minor = take_number(text);
  if (!minor) return std::nullopt;
  v.major = *major;
  v.minor = *minor;
  if (!text.empty()) {
    if (text.front() != '.') return std::nullopt;
    text.remove_prefix(1);
    auto patch = take_number(text);
    if (!patch || !text.empty()) return std::nullopt;
    v.patch = *patch;
  }
  return v;
}

bool PostfixVersion::sql_retries_single_host() const {
  // The first patch release of each line that has it; 3.10.0 and later all do.
  if (major != 3 || minor >= 10) return *this >= PostfixVersion{3, 10, 0};
  switch (minor) {
    case 6:
      return patch >= 17;
    case 7:
      return patch >= 13;
    case 8:
      return patch >= 8;
    case 9:
      return patch >= 2;
    default:
      return false;
  }
}

std::string PostfixVersion::text() const {
  return fmt::format("{}.{}.{}", major, minor, patch);
}

}  // namespace proxyd::dict
