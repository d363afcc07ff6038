// The paths each driver opens (see driver_paths.h).
#include "dictcore/pool/drivers/driver_paths.h"

#include <fmt/format.h>

#include "dictcore/util/text.h"

namespace proxyd::dict {
namespace {

bool is_tls_file_param(std::string_view name) {
  return name == "sslrootcert" || name == "sslcert" || name == "sslkey" ||
         name == "sslcrl" || name == "sslcrldir";
}

int hex_value(char c) {
  if (ascii_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
        hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

void sqlite_paths(const ConnectParams& c, std::vector<NeededPath>& out) {
  // The dbpath is opened before chroot and kept open.
  for (const HostSpec& h : c.hosts) out.push_back({"dbpath", h.name, PathPhase::Open});
}

void mysql_paths(const ConnectParams& c, std::vector<NeededPath>& out) {
  auto file = [&](std::string_view what, const std::optional<std::string>& path) {
    if (path && !path->empty()) out.push_back({std::string(what), *path});
  };
  file("option_file", c.option_file);
  file("tls_key_file", c.tls_key_file);
  file("tls_cert_file", c.tls_cert_file);
  file("tls_CAfile", c.tls_CAfile);
  if (c.tls_CApath && !c.tls_CApath->empty()) {
    out.push_back({"tls_CApath", *c.tls_CApath, PathPhase::Lookup, PathAccess::Search});
  }
  for (const HostSpec& h : c.hosts) {
    if (h.kind != HostKind::Unix) continue;
    if (h.name.empty()) {
      out.push_back({fmt::format("database socket for host \"{}\" (the client library's "
                                 "default)",
                                 h.text),
                     std::string(kMysqlDefaultSocket), PathPhase::Lookup,
                     PathAccess::Connect, true});
    } else {
      out.push_back(
          {"database socket", h.name, PathPhase::Lookup, PathAccess::Connect, true});
    }
  }
}

void pgsql_paths(const ConnectParams& c, std::vector<NeededPath>& out) {
  auto tls_files = [&](std::string_view conninfo) {
    for (auto& [param, path] : pgsql_tls_files(conninfo)) {
      const PathAccess access =
          param == "sslcrldir" ? PathAccess::Search : PathAccess::Read;
      out.push_back({std::move(param), std::move(path), PathPhase::Lookup, access});
    }
  };
  // libpq opens these at every connect: a URI's query, or a dbname that is
  // itself a conninfo string (PQsetdbLogin expands it).
  for (const HostSpec& h : c.hosts) {
    if (h.kind == HostKind::Uri) tls_files(h.name);
  }
  if (c.dbname.find('=') != std::string::npos) tls_files(c.dbname);
  for (const HostSpec& h : c.hosts) {
    if (h.kind != HostKind::Unix) continue;
    std::string dir = h.name.empty() ? std::string(kPgsqlDefaultSocketDir) : h.name;
    out.push_back({"database socket directory", std::move(dir), PathPhase::Lookup,
                   PathAccess::Search, true});
  }
}

}  // namespace

bool driver_uses_servers(SqlKind kind) { return kind != SqlKind::Sqlite; }

std::vector<NeededPath> driver_paths(const ConnectParams& params) {
  std::vector<NeededPath> out;
  switch (params.kind) {
    case SqlKind::Sqlite:
      sqlite_paths(params, out);
      break;
    case SqlKind::Mysql:
      mysql_paths(params, out);
      break;
    case SqlKind::Pgsql:
      pgsql_paths(params, out);
      break;
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> pgsql_tls_files(
    std::string_view conninfo) {
  std::vector<std::pair<std::string, std::string>> params;
  if (conninfo.find("://") != std::string_view::npos) {
    std::size_t q = conninfo.find('?');
    std::string_view rest = q == std::string_view::npos ? "" : conninfo.substr(q + 1);
    while (!rest.empty()) {
      std::size_t amp = rest.find('&');
      std::string_view part = rest.substr(0, amp);
      std::size_t eq = part.find('=');
      if (eq != std::string_view::npos) {
        params.emplace_back(percent_decode(part.substr(0, eq)),
                            percent_decode(part.substr(eq + 1)));
      }
      if (amp == std::string_view::npos) break;
      rest.remove_prefix(amp + 1);
    }
  } else {
    // keyword = value pairs; a value may be single-quoted with \ escapes.
    std::size_t i = 0;
    while (i < conninfo.size()) {
      while (i < conninfo.size() && c_space(conninfo[i])) ++i;
      std::size_t start = i;
      while (i < conninfo.size() && conninfo[i] != '=' && !c_space(conninfo[i])) ++i;
      std::string key(conninfo.substr(start, i - start));
      while (i < conninfo.size() && c_space(conninfo[i])) ++i;
      if (i >= conninfo.size() || conninfo[i] != '=') break;  // not a conninfo
      ++i;
      while (i < conninfo.size() && c_space(conninfo[i])) ++i;
      std::string value;
      if (i < conninfo.size() && conninfo[i] == '\'') {
        for (++i; i < conninfo.size() && conninfo[i] != '\''; ++i) {
          if (conninfo[i] == '\\' && i + 1 < conninfo.size()) ++i;
          value.push_back(conninfo[i]);
        }
        ++i;
      } else {
        while (i < conninfo.size() && !c_space(conninfo[i])) {
          if (conninfo[i] == '\\' && i + 1 < conninfo.size()) ++i;
          value.push_back(conninfo[i++]);
        }
      }
      params.emplace_back(std::move(key), std::move(value));
    }
  }
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& [key, value] : params) {
    if (!is_tls_file_param(key) || value.empty()) continue;
    if (key == "sslrootcert" && value == "system") continue;
    out.emplace_back(std::move(key), std::move(value));
  }
  return out;
}

}  // namespace proxyd::dict
