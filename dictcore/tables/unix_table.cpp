// unix: tables, reproducing Postfix's dict_unix: FIXED, the key ASCII-folded
// on FOLD_FIX, passwd entries as name:passwd:uid:gid:gecos:dir:shell and
// group entries as name:passwd:gid:member,member. A database error (not a
// missing entry) answers RETRY. Loop thread only. When /etc as this process
// sees it is not the /etc kept from start-up (proxyd is chrooted), the
// entries come from passwd/group read through the kept directory, re-read
// when they change: never from whatever a jail holds.
#include "dictcore/tables/unix_table.h"

#include <fmt/format.h>
#include <grp.h>
#include <pwd.h>

#include <cerrno>
#include <cstddef>
#include <memory>
#include <string>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "dictcore/tables/etc_dir.h"
#include "dictcore/tables/unix_entries.h"
#include "dictcore/util/config_error.h"
#include "dictcore/util/fold.h"
#include "dictcore/util/logger.h"
#include "protocol/status.h"

namespace proxyd::dict {

namespace {

namespace pflags = protocol::flags;

// getpw*_r/getgr*_r scratch buffer: first and largest size.
constexpr std::size_t kFirstBufferSize = 4096;
constexpr std::size_t kMaxBufferSize = std::size_t{1} << 20;

// True for the error codes POSIX allows to mean "no such entry".
bool means_not_found(int err) {
  return err == 0 || err == ENOENT || err == ESRCH || err == EBADF || err == EPERM;
}

class UnixTable final : public Table {
 public:
  UnixTable(UnixMap map, Logger* log, std::shared_ptr<const EtcDir> etc)
      : map_(map), log_(log), etc_(std::move(etc)) {}

  uint32_t impl_flags() const override { return pflags::kFixed; }

  // No user or group has a name megabytes long: not found, as getpwnam says.
  LookupResult answer_any_key(std::size_t, uint32_t) override {
    return LookupResult{ProxyStatus::NoKey, {}};
  }

  void lookup(const std::string& key, uint32_t flags, LookupDone done) override {
    std::string name = (flags & pflags::kFoldFix) ? ascii_lowercased(key) : key;
    const char* file = map_ == UnixMap::Passwd ? "passwd" : "group";
    if (etc_ && etc_->valid() && !etc_->visible(file)) {
      done(lookup_kept(file, name));
      return;
    }
    done(map_ == UnixMap::Passwd ? lookup_passwd(name) : lookup_group(name));
  }

 private:
  // From the file read through the kept /etc, re-read when it changed.
  LookupResult lookup_kept(const char* file, const std::string& name) {
    std::string error;
    std::shared_ptr<const EtcSnapshot> snap = etc_->read(file, snap_, error);
    if (!snap) {
      if (log_ != nullptr) {
        log_->warn("cannot access UNIX {} database: {}",
                   map_ == UnixMap::Passwd ? "password" : "group", error);
      }
      return LookupResult{ProxyStatus::Retry, {}};
    }
    if (snap != snap_) {
      entries_ = parse_unix_entries(map_, snap->text);
      snap_ = std::move(snap);
    }
    auto it = entries_.find(name);
    if (it == entries_.end()) return LookupResult{ProxyStatus::NoKey, {}};
    return LookupResult{ProxyStatus::Ok, it->second};
  }

  LookupResult lookup_passwd(const std::string& name) const {
    std::vector<char> buf(kFirstBufferSize);
    for (;;) {
      struct passwd pwd {};
      struct passwd* result = nullptr;
      int err = ::getpwnam_r(name.c_str(), &pwd, buf.data(), buf.size(), &result);
      if (err == ERANGE && buf.size() < kMaxBufferSize) {
        buf.resize(buf.size() * 2);
        continue;
      }
      if (result != nullptr) {
        return LookupResult{
            ProxyStatus::Ok,
            fmt::format("{}:{}:{}:{}:{}:{}:{}", pwd.pw_name, pwd.pw_passwd,
                        static_cast<long>(pwd.pw_uid), static_cast<long>(pwd.pw_gid),
                        pwd.pw_gecos, pwd.pw_dir, pwd.pw_shell)};
      }
      if (means_not_found(err)) return LookupResult{ProxyStatus::NoKey, {}};
      if (log_ != nullptr) {
        log_->warn("cannot access UNIX password database: {}",
                   std::system_category().message(err));
      }
      return LookupResult{ProxyStatus::Retry, {}};
    }
  }

  LookupResult lookup_group(const std::string& name) const {
    std::vector<char> buf(kFirstBufferSize);
    for (;;) {
      struct group grp {};
      struct group* result = nullptr;
      int err = ::getgrnam_r(name.c_str(), &grp, buf.data(), buf.size(), &result);
      if (err == ERANGE && buf.size() < kMaxBufferSize) {
        buf.resize(buf.size() * 2);
        continue;
      }
      if (result != nullptr) {
        std::string value = fmt::format("{}:{}:{}:", grp.gr_name, grp.gr_passwd,
                                        static_cast<long>(grp.gr_gid));
        for (char** member = grp.gr_mem; *member != nullptr; ++member) {
          if (member != grp.gr_mem) value += ',';
          value += *member;
        }
        return LookupResult{ProxyStatus::Ok, std::move(value)};
      }
      if (means_not_found(err)) return LookupResult{ProxyStatus::NoKey, {}};
      if (log_ != nullptr) {
        log_->warn("cannot access UNIX group database: {}",
                   std::system_category().message(err));
      }
      return LookupResult{ProxyStatus::Retry, {}};
    }
  }

  UnixMap map_;
  Logger* log_;
  std::shared_ptr<const EtcDir> etc_;                     // null: the system's NSS only
  std::shared_ptr<const EtcSnapshot> snap_;               // last file read through etc_
  std::unordered_map<std::string, std::string> entries_;  // parsed snap_
};

}  // namespace

TablePtr make_unix_table(std::string_view name, const TableEnv& env) {
  if (name == "passwd.byname")
    return std::make_shared<UnixTable>(UnixMap::Passwd, env.log, env.etc);
  if (name == "group.byname") {
    return std::make_shared<UnixTable>(UnixMap::Group, env.log, env.etc);
  }
  throw ConfigError(fmt::format("unknown table: unix:{}", name));
}

}  // namespace proxyd::dict
