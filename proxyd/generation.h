// Generation: one loaded configuration (main.cf, proxyd.cf, both
// allowlists), the tables opened under it with their fronts, and its answer
// cache. A reload installs a new one; requests in flight keep theirs alive.
// Loop thread only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dictcore/config/allowlist.h"
#include "dictcore/config/main_cf.h"
#include "dictcore/front/lookup_cache.h"
#include "dictcore/front/registry.h"
#include "dictcore/front/table_front.h"
#include "dictcore/pool/session_pool.h"
#include "dictcore/util/logger.h"
#include "proxyd/role.h"
#include "proxyd/settings.h"
#include "proxyd/stats_book.h"

namespace proxyd::daemon {

// A table that could not be opened under a configuration, and why.
struct OpenProblem {
  std::string table;
  std::string reason;
};

// One loaded configuration: main.cf, proxyd.cf, both allowlists, the tables
// opened under it with their fronts, and its answer cache. Requests in
// flight keep the generation they started with alive.
class Generation {
 public:
  // Build from a loaded main.cf and settings; throws dict::ConfigError.
  // etc: /etc kept from start-up for unix: tables (null: NSS only).
  Generation(dict::MainCf main_cf, Settings settings, dict::PoolSet& pools,
             dict::Poster& poster, dict::Logger& log, StatsBook& stats,
             std::shared_ptr<const dict::EtcDir> etc = {});
  ~Generation();
  Generation(const Generation&) = delete;
  Generation& operator=(const Generation&) = delete;

  const dict::MainCf& main_cf() const { return main_cf_; }
  const Settings& settings() const { return settings_; }
  const dict::Allowlist& allowlist(Role role) const {
    return role == Role::ReadOnly ? read_allow_ : write_allow_;
  }

  // Open every allowlisted table now (before chroot, and to check a new
  // configuration); returns (and keeps) the ones that could not be opened.
  // Tables of a role whose requests are forwarded (set_forwarding) and
  // whose type proxyd does not serve are not opened.
  const std::vector<OpenProblem>& preopen();

  // Whether requests of role for table types proxyd does not serve go to
  // Postfix's own service (Service sets this from its forwarding pools).
  void set_forwarding(Role role, bool on) {
    forwarding_[role == Role::ReadOnly ? 0 : 1] = on;
  }
  bool forwards(Role role, std::string_view name) const;

  // The front of the instance of an allowlisted table for instance_flags
  // (the flags the client opened it with), opened on first use.
  dict::TableFrontPtr front(std::string_view name, Role role,
                            uint32_t instance_flags = dict::kDaemonInstanceFlags);

  // Answer RETRY to lookups past their deadline.
  void expire(dict::TableFront::Clock::time_point now);

  // Tables that could not be opened by preopen().
  const std::vector<OpenProblem>& problems() const { return problems_; }

  const dict::LookupCache& cache() const { return *cache_; }
  // smtputf8_enable of this configuration.
  bool utf8() const { return utf8_; }
  uint64_t number() const { return number_; }
  void set_number(uint64_t n) { number_ = n; }

 private:
  dict::MainCf main_cf_;
  Settings settings_;
  dict::Allowlist read_allow_;
  dict::Allowlist write_allow_;
  dict::Registry registry_;
  bool utf8_;  // smtputf8_enable
  StatsBook& stats_;
  // Shared with the fronts: a lookup still running when this generation
  // dies keeps the cache it will store its answer in.
  std::shared_ptr<dict::LookupCache> cache_;
  // Per role, table name and instance key flags (dict::instance_key_flags);
  // transparent lookup by string_view, so a request allocates nothing.
  using Instances = std::map<uint32_t, dict::TableFrontPtr>;
  std::map<std::string, Instances, std::less<>> fronts_[2];
  std::vector<OpenProblem> problems_;
  uint64_t number_ = 1;
  bool forwarding_[2] = {false, false};
};

// True when proxyd serves tables of name's type itself ("mysql:...").
bool served_natively(std::string_view name);

}  // namespace proxyd::daemon
