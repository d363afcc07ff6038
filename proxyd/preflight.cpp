// Per-table pre-flight inspection (see preflight.h): the files and UNIX
// sockets a table needs, their readability for this process and for
// mail_owner, and their presence inside the chroot jail that master(8)
// gives proxymap(8) when its master.cf chroot column says y.
#include "proxyd/preflight.h"

#include <fmt/format.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "dictcore/config_error.h"
#include "dictcore/registry.h"
#include "dictcore/table_cf.h"

namespace proxyd::daemon {
namespace fs = std::filesystem;
namespace {



// When a table touches a resource.
enum class Phase {
  Open,   // read while the table is opened (before chroot)
  Lookup  // opened by a session at lookup time (after chroot and privilege drop)
};

// Collects findings for one table.
class Inspector {
 public:
  Inspector(std::string table, const std::string& jail, const Credentials* reader,
            std::vector<Finding>& out)
      : table_(std::move(table)), jail_(jail), reader_(reader), out_(out) {}

  void add(FindingKind kind, std::string message) {
    out_.push_back(Finding{kind, table_, fmt::format("{}: {}", table_, message)});
  }

  // A regular file (or directory, for want = X_OK) the table reads.
  // Returns false when it is missing or unreadable.
  bool need_path(std::string_view what, const std::string& path, Phase phase, int want) {
    std::string target = path;
    if (phase == Phase::Lookup && !jail_.empty()) {
      target = path_in_jail(jail_, path);
      std::error_code ec;
      if (!fs::exists(target, ec)) {
        add(FindingKind::OutsideJail,
            fmt::format(
                "{} {} is outside the chroot jail {}: after chroot it is {}, which "
                "does not exist (copy or bind-mount it there, or set the chroot "
                "column of the proxymap/proxywrite service in master.cf to n)",
                what, path, jail_, target));
        return false;
      }
    }
    struct stat st {};
    if (stat(target.c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) {
        add(FindingKind::MissingFile, fmt::format("{} {} does not exist", what, target));
      } else {
        add(FindingKind::Unreadable,
            fmt::format("cannot access {} {}: {}", what, target, std::strerror(errno)));
      }
      return false;
    }
    if (access(target.c_str(), want) != 0) {
      add(FindingKind::Unreadable, fmt::format("cannot {} {} {}: {}", verb(want), what,
                                               target, std::strerror(errno)));
      return false;
    }
    if (reader_ != nullptr && !can_access(target, *reader_, want)) {
      add(FindingKind::UnreadableByOwner,
          fmt::format("mail_owner {} cannot {} {} {} (check the owner, group and mode of "
                      "the file and of every directory above it)",
                      reader_->user, verb(want), what, target));
      return false;
    }
    return true;
  }

  // A UNIX socket (or socket directory) a session connects to. Without a
  // jail a missing socket is left to the connection test: the server may
  // simply not be running yet.
  void need_socket(std::string_view what, const std::string& path, int want) {
    if (jail_.empty()) {
      std::error_code ec;
      if (!fs::exists(path, ec)) return;
    }
    need_path(what, path, Phase::Lookup, want);
  }

 private:
  static std::string_view verb(int want) {
    if (want & W_OK) return "connect to";
    if (want == X_OK) return "search";
    return "read";
  }

  std::string table_;
  const std::string& jail_;
  const Credentials* reader_;
  std::vector<Finding>& out_;
};

void inspect_connect_params(const dict::ConnectParams& c, Inspector& in) {
  auto optional_file = [&](std::string_view what,
                           const std::optional<std::string>& path) {
    if (path && !path->empty()) in.need_path(what, *path, Phase::Lookup, R_OK);
  };
  switch (c.kind) {
    case dict::SqlKind::Sqlite:
      for (const dict::HostSpec& h : c.hosts) {
        in.need_path("dbpath", h.name, Phase::Lookup, R_OK);
      }
      break;
    case dict::SqlKind::Mysql:
      optional_file("option_file", c.option_file);
      optional_file("tls_key_file", c.tls_key_file);
      optional_file("tls_cert_file", c.tls_cert_file);
      optional_file("tls_CAfile", c.tls_CAfile);
      if (c.tls_CApath && !c.tls_CApath->empty()) {
        in.need_path("tls_CApath", *c.tls_CApath, Phase::Lookup, X_OK);
      }
      for (const dict::HostSpec& h : c.hosts) {
        if (h.kind != dict::HostKind::Unix) continue;
        if (h.name.empty()) {
          in.need_socket(
              fmt::format("database socket for host \"{}\" (the client library's "
                          "default)",
                          h.text),
              std::string(kMysqlDefaultSocket), R_OK | W_OK);
        } else {
          in.need_socket("database socket", h.name, R_OK | W_OK);
        }
      }
      break;
    case dict::SqlKind::Pgsql:
      for (const dict::HostSpec& h : c.hosts) {
        if (h.kind != dict::HostKind::Unix) continue;
        std::string dir = h.name.empty() ? std::string("/var/run/postgresql") : h.name;
        in.need_socket("database socket directory", dir, X_OK);
      }
      break;
  }
}

}  // namespace

std::optional<Credentials> credentials_for_user(const std::string& user) {
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  if (getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found) != 0 ||
      found == nullptr) {
    return std::nullopt;
  }
  Credentials c;
  c.user = user;
  c.uid = pw.pw_uid;
  c.gid = pw.pw_gid;
  int count = 32;
  for (int attempt = 0; attempt < 4; ++attempt) {
    c.groups.assign(static_cast<std::size_t>(count), 0);
    int n = count;
    if (getgrouplist(user.c_str(), pw.pw_gid, c.groups.data(), &n) >= 0) {
      c.groups.resize(static_cast<std::size_t>(n));
      return c;
    }
    count = std::max(n, count * 2);
  }
  c.groups = {pw.pw_gid};
  return c;
}

bool can_access(const std::string& path, const Credentials& creds, int want) {
  if (creds.uid == 0) return true;
  std::error_code ec;
  fs::path full = fs::weakly_canonical(fs::absolute(path, ec), ec);
  if (ec) return false;
  auto allowed = [&](const struct stat& st, int bits) {
    mode_t mode = st.st_mode;
    int shift = 0;  // other
    if (st.st_uid == creds.uid) {
      shift = 6;
    } else if (std::find(creds.groups.begin(), creds.groups.end(), st.st_gid) !=
                   creds.groups.end() ||
               st.st_gid == creds.gid) {
      shift = 3;
    }
    int have = static_cast<int>((mode >> shift) & 7);
    int need =
        ((bits & R_OK) ? 4 : 0) | ((bits & W_OK) ? 2 : 0) | ((bits & X_OK) ? 1 : 0);
    return (have & need) == need;
  };
  fs::path prefix;
  for (auto it = full.begin(); it != full.end(); ++it) {
    prefix /= *it;
    struct stat st {};
    if (stat(prefix.c_str(), &st) != 0) return false;
    bool last = std::next(it) == full.end();
    if (!allowed(st, last ? want : X_OK)) return false;
  }
  return true;
}

std::string path_in_jail(const std::string& jail, const std::string& path) {
  if (jail.empty()) return path;
  return (fs::path(jail) / fs::path(path).relative_path()).lexically_normal().string();
}

TableInspection inspect_table(std::string_view table, const dict::TableEnv& env,
                              const std::string& jail, const Credentials* reader) {
  TableInspection result;
  Inspector in{std::string(table), jail, reader, result.findings};
  std::size_t colon = table.find(':');
  std::string_view type = table.substr(0, colon);
  std::string_view name = colon == std::string_view::npos ? "" : table.substr(colon + 1);
  if (!dict::is_supported_type(type)) {
    in.add(
        FindingKind::Unsupported,
        fmt::format("table type \"{}\" is not supported by proxyd; every lookup answers "
                    "with a temporary error",
                    type));
    return result;
  }
  if (type == "texthash") {
    in.need_path("file", std::string(name), Phase::Open, R_OK);
    return result;
  }
  std::optional<dict::SqlKind> kind = dict::sql_kind_from_type(type);
  if (!kind) return result;  // static:, inline:, unix: need nothing
  bool is_file = !name.empty() && (name[0] == '/' || name[0] == '.');
  if (is_file &&
      !in.need_path("configuration file", std::string(name), Phase::Open, R_OK)) {
    return result;
  }
  try {
    dict::TableConfigParams params(dict::TableConfig::load(type, name, *env.main_cf, *env.log));
    result.sql = dict::parse_sql_table_config(*kind, name, params, env.postfix_version);
  } catch (const dict::ConfigError& e) {
    in.add(FindingKind::BadConfig, e.what());
    return result;
  }
  inspect_connect_params(result.sql->connect, in);
  return result;
}

std::vector<Finding> preflight_table(const std::string& table, const dict::TableEnv& env,
                                     const std::string& jail, const Credentials* reader) {
  return inspect_table(table, env, jail, reader).findings;
}

}  // namespace proxyd::daemon
