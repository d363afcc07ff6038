// Service: proxymap(8) request semantics: write refusal on the read-only
// service, table-name canonicalisation, the allowlist check with Postfix's
// two warnings, per-dialect flag handling and the mapping of table outcomes
// to reply statuses. Also what outlives a configuration reload: the SQL
// session pools, the per-table counters (stats_book.h), the generations
// (generation.h) and the deadline sweep over lookups in flight. Loop
// thread only.
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
#include "proxyd/generation.h"
#include "proxyd/log_throttle.h"
#include "proxyd/role.h"
#include "proxyd/settings.h"
#include "proxyd/stats_book.h"
#include "proxyd/stats_render.h"

namespace proxyd::daemon {

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

  // The reply to a lookup whose key, at least key_bytes long, was read and
  // dropped: the table's answer for any such key (Table::answer_any_key);
  // RETRY for a forwarded table, whose answer depends on the key; refusals
  // as handle() gives them.
  protocol::Reply answer_any_key(Role role, const protocol::Request& request,
                                 std::size_t key_bytes);

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
  // Tables forwarded, for stats, with their counters (looked up once).
  std::map<std::string, std::shared_ptr<dict::TableStats>, std::less<>> forwarded_[2];
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
