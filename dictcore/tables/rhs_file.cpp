// Reads the files a SRC_RHS_IS_FILE value names and base64-encodes their
// joined contents, with Postfix's dict_file error texts ("open FILE: ERR",
// "empty pathname list", "file too large").
#include "dictcore/tables/rhs_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <system_error>
#include <vector>

#include "dictcore/util/files.h"
#include "dictcore/util/tokens.h"

namespace proxyd::dict {

namespace {

// A pathname list is split on CHARS_COMMA_SP.
std::vector<std::string> split_pathnames(std::string_view list) {
  std::vector<std::string> names;
  for (std::string_view name : split_tokens(list)) names.emplace_back(name);
  return names;
}

std::string errno_text(int err) { return std::system_category().message(err); }

// Append the contents of path to out; an error text on failure.
std::optional<std::string> append_file(const std::string& path, std::string& out) {
  UniqueFd fd = open_read_only(path);
  if (!fd.valid()) return fmt::format("open {}: {}", path, errno_text(errno));
  switch (read_all(fd.get(), out, kMaxRhsFileBytes)) {
    case ReadAll::Ok:
      return std::nullopt;
    case ReadAll::Error:
      return fmt::format("read {}: {}", path, errno_text(errno));
    case ReadAll::TooLarge:
      break;
  }
  return fmt::format("file too large: {}", path);
}

}  // namespace

std::string base64_encode(std::string_view data) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    auto a = static_cast<unsigned char>(data[i]);
    auto b = static_cast<unsigned char>(data[i + 1]);
    auto c = static_cast<unsigned char>(data[i + 2]);
    out += kAlphabet[a >> 2];
    out += kAlphabet[((a & 0x03) << 4) | (b >> 4)];
    out += kAlphabet[((b & 0x0f) << 2) | (c >> 6)];
    out += kAlphabet[c & 0x3f];
  }
  if (i < data.size()) {
    auto a = static_cast<unsigned char>(data[i]);
    bool two = i + 1 < data.size();
    auto b = two ? static_cast<unsigned char>(data[i + 1]) : 0;
    out += kAlphabet[a >> 2];
    out += kAlphabet[((a & 0x03) << 4) | (b >> 4)];
    out += two ? kAlphabet[(b & 0x0f) << 2] : '=';
    out += '=';
  }
  return out;
}

RhsFileResult rhs_files_to_base64(std::string_view pathnames) {
  std::vector<std::string> names = split_pathnames(pathnames);
  if (names.empty()) {
    return RhsFileResult{false, fmt::format("empty pathname list: >>{}<<'", pathnames)};
  }
  std::string contents;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (auto err = append_file(names[i], contents)) return RhsFileResult{false, *err};
    if (i + 1 < names.size()) contents += '\n';
  }
  return RhsFileResult{true, base64_encode(contents)};
}

}  // namespace proxyd::dict
