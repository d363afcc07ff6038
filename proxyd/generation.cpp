// Generation (see generation.h): opening allowlisted tables through the
// registry, one front per table name and instance flags, the preopen pass
// with Postfix's instance variants, and the deadline sweep.
#include "proxyd/generation.h"

#include <chrono>
#include <utility>

#include "dictcore/tables/etc_dir.h"
#include "dictcore/tables/surrogate.h"
#include "protocol/status.h"

namespace proxyd::daemon {

namespace pf = protocol::flags;

namespace {

dict::TableEnv table_env(const dict::MainCf* main_cf, dict::Logger& log,
                         dict::Poster& poster, dict::PoolSet& pools,
                         const Settings& settings,
                         std::shared_ptr<const dict::EtcDir> etc) {
  dict::TableEnv env{main_cf, &log, &poster, &pools};
  env.etc = std::move(etc);
  env.lookup_timeout = std::chrono::seconds(settings.lookup_timeout);
  env.postfix_version = settings.postfix_semantics;
  return env;
}

}  // namespace

Generation::Generation(dict::MainCf main_cf, Settings settings, dict::PoolSet& pools,
                       dict::Poster& poster, dict::Logger& log, StatsBook& stats,
                       std::shared_ptr<const dict::EtcDir> etc)
    : main_cf_(std::move(main_cf)),
      settings_(std::move(settings)),
      read_allow_(dict::Allowlist::build(main_cf_, true, log)),
      write_allow_(dict::Allowlist::build(main_cf_, false, log)),
      registry_(table_env(&main_cf_, log, poster, pools, settings_, std::move(etc))),
      utf8_(main_cf_.get_bool("smtputf8_enable")),
      stats_(stats),
      cache_(std::make_shared<dict::LookupCache>(
          static_cast<std::size_t>(settings_.cache_max_bytes))) {}

Generation::~Generation() = default;

dict::TableFrontPtr Generation::front(std::string_view name_in, Role role,
                                      uint32_t instance_flags) {
  auto& fronts = fronts_[role == Role::ReadOnly ? 0 : 1];
  const uint32_t key = dict::instance_key_flags(name_in, instance_flags, utf8_);
  auto it = fronts.find(name_in);
  if (it != fronts.end()) {
    if (auto inst = it->second.find(key); inst != it->second.end()) return inst->second;
  }
  std::string name(name_in);
  dict::TablePtr table = registry_.open(
      name, role == Role::ReadOnly ? dict::OpenMode::ReadOnly : dict::OpenMode::ReadWrite,
      instance_flags);
  dict::CachePolicy policy{settings_.cache_ttl.for_table(name),
                           settings_.cache_negative_ttl.for_table(name)};
  // The answer cache knows tables by name and request flags, so only the
  // daemons' instance uses it; the other instances (in-memory tables only)
  // answer without it.
  const bool daemon_instance =
      key == dict::instance_key_flags(name, dict::kDaemonInstanceFlags, utf8_);
  auto front = std::make_shared<dict::TableFront>(
      std::move(table), stats_.table(name), daemon_instance ? cache_ : nullptr, policy,
      std::chrono::seconds(settings_.lookup_timeout));
  if (it == fronts.end()) it = fronts.emplace(std::move(name), Instances{}).first;
  it->second.emplace(key, front);
  return front;
}

bool served_natively(std::string_view name) {
  return dict::is_supported_type(name.substr(0, name.find(':')));
}

bool Generation::forwards(Role role, std::string_view name) const {
  return forwarding_[role == Role::ReadOnly ? 0 : 1] && !served_natively(name);
}

const std::vector<OpenProblem>& Generation::preopen() {
  // The instance flags Postfix's own programs open tables with: daemons
  // (mail_addr_find, maps), match lists (mynetworks, *_domains: no folding),
  // postmap -f with smtputf8 off (nothing), and tls_server_sni_maps (values
  // name files). Variants that build the same table are one instance.
  constexpr uint32_t kVariants[] = {pf::kUtf8Request | pf::kLock, 0};
  constexpr uint32_t kSniFlags = pf::kLock | pf::kFoldFix | pf::kSrcRhsIsFile;
  // The proxy: tables tls_server_sni_maps names, found by the allowlist's
  // walk ({ } groups, unionmap:/pipemap:, /file/name); its warnings were
  // given when proxy_read_maps was scanned.
  dict::NullLogger quiet;
  const dict::Allowlist sni =
      dict::Allowlist::from_value(main_cf_.get("tls_server_sni_maps"), quiet);
  std::vector<OpenProblem> problems;
  for (Role role : {Role::ReadOnly, Role::ReadWrite}) {
    for (const std::string& name : allowlist(role).tables()) {
      if (forwards(role, name)) continue;  // Postfix's proxymap opens it
      dict::TableFrontPtr f = front(name, role, dict::kDaemonInstanceFlags);
      if (auto* s = dynamic_cast<dict::SurrogateTable*>(&f->table())) {
        problems.push_back(OpenProblem{name, s->reason()});
        continue;
      }
      for (uint32_t flags : kVariants) (void)front(name, role, flags);
      if (sni.contains(name)) (void)front(name, role, kSniFlags);
    }
  }
  problems_ = std::move(problems);
  return problems_;
}

void Generation::expire(dict::TableFront::Clock::time_point now) {
  for (auto& fronts : fronts_) {
    for (auto& [name, instances] : fronts) {
      for (auto& [flags, front] : instances) {
        if (front->waiting() > 0) front->expire(now);
      }
    }
  }
}

}  // namespace proxyd::daemon
