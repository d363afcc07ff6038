// Pre-flight inspection of one allowlisted table: which files it reads
// and which UNIX database sockets it connects to (as its table type and, for
// SQL tables, its driver report them: dictcore/front/registry.h,
// dictcore/pool/drivers/driver_paths.h), and whether each is readable
// (by this process, and by mail_owner's uid/gids through the mode bits) and
// reachable from inside a chroot jail, as proxymap(8) must see them after
// master(8) chroots it. Used by `proxyd check` and at start-up before
// chroot. Control path only; no database is contacted here.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dictcore/sql/sql_table.h"
#include "dictcore/tables/table.h"

namespace proxyd::daemon {

// What kind of problem a finding reports.
enum class FindingKind {
  Unsupported,        // table type proxyd does not serve (lookups answer RETRY)
  MissingFile,        // a file or socket the table needs does not exist
  Unreadable,         // exists, but this process cannot read it
  UnreadableByOwner,  // readable here, but not by mail_owner after the privilege drop
  BadConfig,          // the .cf (or main.cf prefix) configuration is invalid
  OutsideJail,        // needed after chroot but not present inside the jail
  Unreachable,        // a database host refused or did not answer (check only)
  NotListed           // a proxy: table in main.cf missing from proxy_*_maps (check only)
};

// One problem, with a complete message naming the table and what to change.
struct Finding {
  FindingKind kind = FindingKind::MissingFile;
  std::string table;    // "type:name" (or "main.cf" for NotListed)
  std::string message;  // one line, never contains a password
};

// A user's identity for access checks (mail_owner), as the kernel sees it
// after setgid/initgroups/setuid.
struct Credentials {
  std::string user;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups, including gid
};

// Look up user's uid, primary gid and supplementary groups; nullopt when
// the user does not exist.
std::optional<Credentials> credentials_for_user(const std::string& user);

// True when creds may search every directory on the way to path and open
// it with want (R_OK, W_OK, X_OK bits; a socket needs W_OK to connect),
// judged from the owner/group/other mode bits of each component after
// resolving symlinks (ACLs are not consulted). uid 0 may do anything.
bool can_access(const std::string& path, const Credentials& creds, int want);

// The path at which a process chrooted to jail finds path ("" jail = path).
std::string path_in_jail(const std::string& jail, const std::string& path);

// The sources an nsswitch.conf text lists for database db ("passwd",
// "group") other than "files" and "systemd", in order; [action] items are
// skipped. Inside a jail proxyd answers unix: tables from the /etc files it
// kept from start-up, so entries of these sources would be missing there.
std::vector<std::string> nss_sources_beyond_files(std::string_view nsswitch,
                                                  std::string_view db);

// Who chroots the serving process, which decides the fix a jail finding
// names.
enum class JailOwner {
  Master,     // master(8), by the chroot column of master.cf
  Standalone  // proxyd itself, by "chroot = yes" in proxyd.cf
};

// What inspect_table() learned about one table.
struct TableInspection {
  std::vector<Finding> findings;
  std::optional<dict::SqlTableConfig> sql;  // set for parsed sqlite/mysql/pgsql tables
};

// Inspect "type:name" (proxy: already stripped). env.main_cf and env.log
// must be set. jail: the chroot directory the serving process will use (""
// = none). reader: mail_owner's credentials when the caller runs as root
// and will drop to them (nullptr = skip that check).
// owner: who chroots (the fix named for files outside the jail).
TableInspection inspect_table(std::string_view table, const dict::TableEnv& env,
                              const std::string& jail,
                              const Credentials* reader = nullptr,
                              JailOwner owner = JailOwner::Master);

// inspect_table().findings: the start-up hook (log each as a warning).
std::vector<Finding> preflight_table(const std::string& table, const dict::TableEnv& env,
                                     const std::string& jail,
                                     const Credentials* reader = nullptr,
                                     JailOwner owner = JailOwner::Master);

}  // namespace proxyd::daemon
