// proxymap(8) request semantics: write refusal on the read-only service,
// table-name canonicalisation, the allowlist check with Postfix's two
// warnings, table opening through the registry, per-dialect flag handling
// and the mapping of table outcomes to reply statuses. Loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "dictcore/allowlist.h"
#include "dictcore/logger.h"
#include "dictcore/main_cf.h"
#include "dictcore/registry.h"
#include "dictcore/session_pool.h"
#include "protocol/messages.h"

namespace proxyd::daemon {

// Which socket a client came in on.
enum class Role {
  ReadOnly,   // private/proxymap: lookups and opens only
  ReadWrite,  // private/proxywrite: also update and delete
};

// One loaded configuration: main.cf, both allowlists, the SQL pools and the
// tables opened under it. Never moved once built (tables point into it).
class Generation {
 public:
  // Build from a loaded main.cf; throws dict::ConfigError.
  Generation(dict::MainCf main_cf, dict::PoolSettings pool_settings, dict::Poster& poster,
             dict::Logger& log);
  ~Generation();
  Generation(const Generation&) = delete;
  Generation& operator=(const Generation&) = delete;

  const dict::MainCf& main_cf() const { return main_cf_; }
  const dict::Allowlist& allowlist(Role role) const {
    return role == Role::ReadOnly ? read_allow_ : write_allow_;
  }
  dict::Registry& registry() { return registry_; }
  dict::PoolSet& pools() { return *pools_; }

 private:
  dict::MainCf main_cf_;
  dict::Allowlist read_allow_;
  dict::Allowlist write_allow_;
  std::unique_ptr<dict::PoolSet> pools_;
  dict::Registry registry_;
};

class Service {
 public:
  explicit Service(dict::Logger& log) : log_(log) {}

  // Install the configuration new requests are served with.
  void set_generation(std::shared_ptr<Generation> gen) { gen_ = std::move(gen); }
  const std::shared_ptr<Generation>& generation() const { return gen_; }

  using ReplyDone = std::function<void(protocol::Reply)>;

  // Serve one well-formed request; done runs exactly once on the loop thread.
  void handle(Role role, const protocol::Request& request, ReplyDone done);

 private:
  dict::Logger& log_;
  std::shared_ptr<Generation> gen_;
};

}  // namespace proxyd::daemon
