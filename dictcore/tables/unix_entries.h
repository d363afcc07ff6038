// The entries of a passwd or group file, parsed as glibc's nss "files"
// module parses them, each already in Postfix's dict_unix answer form
// (passwd: name:passwd:uid:gid:gecos:dir:shell; group:
// name:passwd:gid:member,member). For unix: tables read from inside a jail.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>

namespace proxyd::dict {

enum class UnixMap { Passwd, Group };

// Name -> answer; the first line for a name wins, as getpwnam's does.
// Blank lines, '#' comments, lines that do not parse and names starting
// with '+' or '-' (NIS compat entries) are skipped.
std::unordered_map<std::string, std::string> parse_unix_entries(UnixMap map,
                                                                std::string_view text);

}  // namespace proxyd::dict
