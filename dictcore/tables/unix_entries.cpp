// parse_unix_entries (see unix_entries.h): glibc nss_files' line parser
// for passwd and group (fields split at ':', the last takes the rest,
// numeric ids in decimal, group members split at ',' with leading blanks
// skipped and empty members dropped), formatted as dict_unix formats them.
#include "dictcore/tables/unix_entries.h"

#include <fmt/format.h>

#include <cstdlib>
#include <optional>
#include <vector>

#include "dictcore/util/text.h"

namespace proxyd::dict {

namespace {

// Cut the next ':'-terminated field off line (all of it when none).
std::string_view take_field(std::string_view& line) {
  std::size_t colon = line.find(':');
  std::string_view field = line.substr(0, colon);
  line = colon == std::string_view::npos ? std::string_view{} : line.substr(colon + 1);
  return field;
}

// A decimal id as glibc's INT_FIELD reads it: digits, then ':' or the end.
std::optional<unsigned long> take_id(std::string_view& line) {
  std::string field(take_field(line));
  if (field.empty()) return std::nullopt;
  char* end = nullptr;
  unsigned long value = std::strtoul(field.c_str(), &end, 10);
  if (end == field.c_str() || *end != '\0') return std::nullopt;
  return value;
}

std::optional<std::pair<std::string, std::string>> parse_passwd(std::string_view line) {
  std::string_view name = take_field(line);
  std::string_view passwd = take_field(line);
  auto uid = take_id(line);
  auto gid = take_id(line);
  if (!uid || !gid) return std::nullopt;
  std::string_view gecos = take_field(line);
  std::string_view dir = take_field(line);
  std::string_view shell = line;  // the rest of the line
  return std::pair{
      std::string(name),
      fmt::format("{}:{}:{}:{}:{}:{}:{}", name, passwd, static_cast<long>(*uid),
                  static_cast<long>(*gid), gecos, dir, shell)};
}

std::optional<std::pair<std::string, std::string>> parse_group(std::string_view line) {
  std::string_view name = take_field(line);
  std::string_view passwd = take_field(line);
  auto gid = take_id(line);
  if (!gid) return std::nullopt;
  std::string value = fmt::format("{}:{}:{}:", name, passwd, static_cast<long>(*gid));
  bool first = true;
  while (!line.empty()) {
    while (!line.empty() && c_space(line.front())) {
      line.remove_prefix(1);
    }
    std::size_t comma = line.find(',');
    std::string_view member = line.substr(0, comma);
    line = comma == std::string_view::npos ? std::string_view{} : line.substr(comma + 1);
    if (member.empty()) continue;
    if (!first) value += ',';
    value += member;
    first = false;
  }
  return std::pair{std::string(name), std::move(value)};
}

}  // namespace

std::unordered_map<std::string, std::string> parse_unix_entries(UnixMap map,
                                                                std::string_view text) {
  std::unordered_map<std::string, std::string> out;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    while (!line.empty() && c_space(line.front())) {
      line.remove_prefix(1);
    }
    if (line.empty() || line.front() == '#' || line.front() == '+' ||
        line.front() == '-') {
      continue;
    }
    auto entry = map == UnixMap::Passwd ? parse_passwd(line) : parse_group(line);
    if (entry) out.emplace(std::move(entry->first), std::move(entry->second));
  }
  return out;
}

}  // namespace proxyd::dict
