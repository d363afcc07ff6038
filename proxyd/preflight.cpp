// Per-table pre-flight inspection (see preflight.h): the files and UNIX
// sockets a table needs, their readability for this process and for
// mail_owner, and their presence inside the chroot jail that master(8)
// gives proxymap(8) when its master.cf chroot column says y.
#include "proxyd/preflight.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "dictcore/config/table_cf.h"
#include "dictcore/front/registry.h"
#include "dictcore/pool/drivers/driver_paths.h"
#include "dictcore/util/config_error.h"
#include "dictcore/util/config_lines.h"
#include "dictcore/util/files.h"
#include "dictcore/util/text.h"

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
            JailOwner owner, std::vector<Finding>& out)
      : table_(std::move(table)),
        jail_(jail),
        reader_(reader),
        owner_(owner),
        out_(out) {}

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
                "does not exist (copy or bind-mount it there, or {})",
                what, path, jail_, target,
                owner_ == JailOwner::Master
                    ? "set the chroot column of the proxymap/proxywrite service in "
                      "master.cf to n"
                    : "set chroot = no in proxyd.cf"));
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
  JailOwner owner_;
  std::vector<Finding>& out_;
};

// The files and sockets the table's driver opens (dictcore/pool/drivers
// knows which they are).
void inspect_connect_params(const dict::ConnectParams& c, Inspector& in) {
  for (const dict::NeededPath& p : dict::driver_paths(c)) {
    const int want = p.access == dict::PathAccess::Read     ? R_OK
                     : p.access == dict::PathAccess::Search ? X_OK
                                                            : R_OK | W_OK;
    if (p.socket) {
      in.need_socket(p.what, p.path, want);
    } else {
      in.need_path(p.what, p.path,
                   p.phase == dict::PathPhase::Open ? Phase::Open : Phase::Lookup, want);
    }
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

std::vector<std::string> nss_sources_beyond_files(std::string_view nsswitch,
                                                  std::string_view db) {
  std::vector<std::string> out;
  std::istringstream in{std::string(nsswitch)};
  std::string line;
  while (std::getline(in, line)) {
    line = line.substr(0, line.find('#'));
    std::istringstream words(line);
    std::string first;
    if (!(words >> first) || first != fmt::format("{}:", db)) continue;
    out.clear();  // the last line for db counts
    std::string word;
    bool in_action = false;
    while (words >> word) {
      if (word.front() == '[') in_action = true;
      if (!in_action && word != "files" && word != "systemd") out.push_back(word);
      if (word.back() == ']') in_action = false;
    }
  }
  return out;
}

namespace {

// unix: tables in a jail: proxyd reads the kept /etc files; name what NSS
// would add beyond them.
void inspect_unix_table(std::string_view name, const std::string& jail, Inspector& in) {
  if (jail.empty()) return;
  std::string_view db = name == "group.byname" ? "group" : "passwd";
  std::string text;
  try {
    text = dict::read_file("/etc/nsswitch.conf", dict::kMaxConfigFileSize);
  } catch (const dict::ConfigUnavailable&) {
    // No readable nsswitch.conf: glibc then uses its built-in defaults,
    // which read the files only; nothing to report.
  } catch (const dict::ConfigError&) {
    // Larger than any configuration file we read: not inspected (this is a
    // hint, and the daemon itself never reads it).
  }
  std::vector<std::string> extra = nss_sources_beyond_files(text, db);
  if (extra.empty()) return;
  in.add(
      FindingKind::OutsideJail,
      fmt::format("in the chroot jail {} proxyd answers from /etc/{} as opened at "
                  "start-up, but /etc/nsswitch.conf also lists {} for {}: their entries "
                  "would be missing (run proxymap with chroot column n in master.cf, or "
                  "chroot = no in proxyd.cf)",
                  jail, db, fmt::join(extra, " "), db));
}

}  // namespace

std::string path_in_jail(const std::string& jail, const std::string& path) {
  if (jail.empty()) return path;
  return (fs::path(jail) / fs::path(path).relative_path()).lexically_normal().string();
}

TableInspection inspect_table(std::string_view table, const dict::TableEnv& env,
                              const std::string& jail, const Credentials* reader,
                              JailOwner owner) {
  TableInspection result;
  Inspector in{std::string(table), jail, reader, owner, result.findings};
  std::size_t colon = table.find(':');
  std::string_view type = table.substr(0, colon);
  std::string_view name = colon == std::string_view::npos ? "" : table.substr(colon + 1);
  const std::optional<dict::TableSources> sources = dict::table_sources(type);
  if (!sources) {
    in.add(
        FindingKind::Unsupported,
        fmt::format("table type \"{}\" is not supported by proxyd; every lookup answers "
                    "with a temporary error",
                    type));
    return result;
  }
  switch (*sources) {
    case dict::TableSources::None:
      return result;
    case dict::TableSources::NamedFile:
      in.need_path("file", std::string(name), Phase::Open, R_OK);
      return result;
    case dict::TableSources::UserDatabase:
      inspect_unix_table(name, jail, in);
      return result;
    case dict::TableSources::SqlConfig:
      break;
  }
  std::optional<dict::SqlKind> kind = dict::sql_kind_from_type(type);
  if (!kind) return result;  // every SqlConfig type has a SqlKind
  bool is_file = !name.empty() && (name[0] == '/' || name[0] == '.');
  if (is_file &&
      !in.need_path("configuration file", std::string(name), Phase::Open, R_OK)) {
    return result;
  }
  try {
    dict::TableConfigParams params(
        dict::TableConfig::load(type, name, *env.main_cf, *env.log));
    result.sql = dict::parse_sql_table_config(*kind, name, params, env.postfix_version);
  } catch (const dict::ConfigError& e) {
    in.add(FindingKind::BadConfig, e.what());
    return result;
  }
  inspect_connect_params(result.sql->connect, in);
  return result;
}

std::vector<Finding> preflight_table(const std::string& table, const dict::TableEnv& env,
                                     const std::string& jail, const Credentials* reader,
                                     JailOwner owner) {
  return inspect_table(table, env, jail, reader, owner).findings;
}

}  // namespace proxyd::daemon
