// proxymap(8) request semantics: write refusal on the read-only service,
// table-name canonicalisation, the allowlist check with Postfix's two
// warnings, table opening through the registry, per-dialect flag handling
// and the mapping of table outcomes to reply statuses. Also what outlives a
// configuration reload: the SQL session pools, the per-table counters, and
// the deadline sweep over lookups in flight. Loop thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "dictcore/config/allowlist.h"
#include "dictcore/config/main_cf.h"
#include "dictcore/front/lookup_cache.h"
#include "dictcore/front/registry.h"
#include "dictcore/front/table_front.h"
#include "dictcore/front/table_stats.h"
#include "dictcore/pool/session_pool.h"
#include "dictcore/util/logger.h"
#include "protocol/messages.h"
#include "proxyd/forward_pool.h"
#include "proxyd/log_throttle.h"
#include "proxyd/settings.h"
#include "proxyd/stats_render.h"

namespace proxyd::daemon {

// Which socket a client came in on.
enum class Role {
  ReadOnly,   // private/proxymap: lookups and opens only
  ReadWrite,  // private/proxywrite: also update and delete
};

// Per-table counters that survive reloads, by table name.
class StatsBook {
 public:
  // The counters of table (created on first use).
  std::shared_ptr<dict::TableStats> table(const std::string& name);
  const std::map<std::string, std::shared_ptr<dict::TableStats>>& tables() const {
    return tables_;
  }

 private:
  std::map<std::string, std::shared_ptr<dict::TableStats>> tables_;
};

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

  // Tables that could not be opened by preopen() (reload compares them).
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
  // True when tls_server_sni_maps names proxy:name.
  bool in_sni_maps(std::string_view name) const;

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

class Service {
 public:
  // Pool limits come from each installed generation's settings.
  Service(dict::Logger& log, dict::Poster& poster);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Install the configuration new requests are served with; the previous
  // one lives on until its last request is answered.
  void set_generation(std::shared_ptr<Generation> gen);
  const std::shared_ptr<Generation>& generation() const { return gen_; }

  // Build a generation from main.cf and settings with the persistent pools
  // and counters (pool limits are updated from settings).
  std::shared_ptr<Generation> make_generation(dict::MainCf main_cf, Settings settings);

  using ReplyDone = std::function<void(protocol::Reply)>;

  // Serve one well-formed request; done runs exactly once on the loop thread.
  void handle(Role role, const protocol::Request& request, ReplyDone done);

  // The reply to a lookup the answer cache can give right away, counted as
  // handle() would count it; nullopt (nothing done) otherwise: then call
  // handle(). Lets cache hits skip the completion callbacks.
  std::optional<protocol::Reply> answer_now(Role role, const protocol::Request& request);

  // Answer RETRY to every lookup past lookup_timeout (called by a timer).
  void expire(dict::TableFront::Clock::time_point now);

  // The daemon, table, pool and cache figures for the stats command and the
  // metrics (the server figures and the service name are the caller's).
  // Copies what the loop owns; each pool's lock is held for a copy only.
  void snapshot(StatsSnapshot& out) const;

  dict::PoolSet& pools() { return *pools_; }

  // The pools that take requests for table types proxyd does not serve,
  // per role (null or disabled = not forwarded: such tables answer RETRY).
  // Set before make_generation(); they outlive every generation.
  void set_forwarders(ForwardPool* read, ForwardPool* write);
  ForwardPool* forwarder(Role role) const {
    return forwarders_[role == Role::ReadOnly ? 0 : 1];
  }
  uint64_t reloads() const { return reloads_; }
  // A reload was refused (the metrics report it until one succeeds).
  void note_reload_failed() {
    ++reload_failures_;
    last_reload_ok_ = false;
  }

  // Log the summaries of rate-limited refusal warnings (a timer calls it).
  void flush_warnings() { warnings_.flush(); }

 private:
  dict::Logger& log_;
  LogThrottle warnings_{log_};  // refusals a client can trigger at will
  dict::Poster& poster_;
  std::unique_ptr<dict::PoolSet> pools_;
  // /etc opened at construction (before chroot), for every generation.
  std::shared_ptr<const dict::EtcDir> etc_;
  StatsBook stats_;
  std::shared_ptr<Generation> gen_;
  std::vector<std::weak_ptr<Generation>> retired_;  // still answering old requests
  ForwardPool* forwarders_[2] = {nullptr, nullptr};
  std::set<std::string, std::less<>> forwarded_[2];  // table names forwarded, for stats
  // Send req for table name to the stock service of role.
  void forward(Role role, std::string_view name, const protocol::Request& req,
               ReplyDone done);
  uint64_t reloads_ = 0;
  uint64_t reload_failures_ = 0;
  bool last_reload_ok_ = true;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::chrono::system_clock::time_point started_wall_ = std::chrono::system_clock::now();
  std::chrono::system_clock::time_point loaded_wall_ =
      started_wall_;  // last set_generation
};

}  // namespace proxyd::daemon
