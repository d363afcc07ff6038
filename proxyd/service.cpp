// proxymap request semantics (see service.h). Flag rules: v1 requests may
// change only the per-request bits of a table instance (3.7 RQST mask);
// v2 requests install their flags wholesale and get them echoed back. Open
// replies never carry UTF8_ACTIVE: the client then keeps its own UTF-8
// layer, which folds keys exactly as a direct table would. Each request is
// served by the instance of its table for its instance flags (see
// instance_flags()), as proxymap keeps one per name and flags. Lookups go
// through the instance's front (cache, coalescing, deadline, counters).
#include "proxyd/service.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "dictcore/tables/etc_dir.h"
#include "dictcore/tables/surrogate.h"
#include "dictcore/util/fold.h"
#include "dictcore/util/redact.h"
#include "dictcore/util/tokens.h"

namespace proxyd::daemon {

namespace pf = protocol::flags;
using protocol::Dialect;
using protocol::ProxyStatus;
using protocol::Reply;
using protocol::RequestType;

Service::Service(dict::Logger& log, dict::Poster& poster)
    : log_(log),
      poster_(poster),
      pools_(std::make_unique<dict::PoolSet>(dict::PoolSettings{}, poster, log)),
      etc_(std::make_shared<dict::EtcDir>()) {}

Service::~Service() {
  gen_.reset();
  pools_->shutdown();
}

std::shared_ptr<Generation> Service::make_generation(dict::MainCf main_cf,
                                                     Settings settings) {
  auto gen = std::make_shared<Generation>(std::move(main_cf), std::move(settings),
                                          *pools_, poster_, log_, stats_, etc_);
  for (Role role : {Role::ReadOnly, Role::ReadWrite}) {
    ForwardPool* f = forwarder(role);
    gen->set_forwarding(role, f != nullptr && f->enabled());
  }
  return gen;
}

void Service::set_forwarders(ForwardPool* read, ForwardPool* write) {
  forwarders_[0] = read;
  forwarders_[1] = write;
}

void Service::forward(Role role, std::string_view name, const protocol::Request& req,
                      ReplyDone done) {
  const int r = role == Role::ReadOnly ? 0 : 1;
  // The table's counters, looked up once per table (no allocation per request).
  auto it = forwarded_[r].find(name);
  if (it == forwarded_[r].end()) {
    it = forwarded_[r].emplace(std::string(name), stats_.table(std::string(name))).first;
  }
  if (req.type != RequestType::Lookup) {
    forwarders_[r]->submit(req, std::move(done));
    return;
  }
  // Lookups are counted per table like native ones (by the pool, on answer).
  ++it->second->requests;
  ++it->second->queries;
  forwarders_[r]->submit(req, std::move(done), it->second);
}

void Service::set_generation(std::shared_ptr<Generation> gen) {
  dict::PoolSettings p;
  p.max_sessions = gen->settings().max_sessions;
  p.max_queue = static_cast<std::size_t>(gen->settings().max_queue);
  p.max_batch = gen->settings().max_batch;
  p.probe_interval = gen->settings().probe_interval;
  p.loop_queries = gen->settings().loop_queries;
  pools_->update_settings(p);
  if (gen_) {
    gen->set_number(gen_->number() + 1);
    retired_.push_back(gen_);
    ++reloads_;
  }
  last_reload_ok_ = true;
  loaded_wall_ = std::chrono::system_clock::now();
  gen_ = std::move(gen);
  std::erase_if(retired_, [](const std::weak_ptr<Generation>& w) { return w.expired(); });
}

void Service::expire(dict::TableFront::Clock::time_point now) {
  if (gen_) gen_->expire(now);
  for (const auto& weak : retired_) {
    if (auto old = weak.lock()) old->expire(now);
  }
  std::erase_if(retired_, [](const std::weak_ptr<Generation>& w) { return w.expired(); });
}

namespace {

// The instance flags of a request: the flags the client opened the table
// with. 3.11+ clients send them. 3.6-3.10 clients send only their instance
// bits (SRC_RHS_IS_FILE, ...) and the request bits, so the folding the
// client opened with is read from those: FOLD_FIX in a request means a
// client without a UTF-8 layer that opened with FOLD_FIX. Without FOLD_FIX,
// a client without a UTF-8 layer (smtputf8 off, or no UTF8_REQUEST) opened
// without folding (postmap -f). A client with one (smtputf8 on and
// UTF8_REQUEST) removes FOLD_FIX when it folds the key: a key that folding
// would change was not folded, so that client opened without FOLD_FIX
// (postmap -f); any other key is served as folded. An open request carries no request
// bits and gets the daemons' instance. utf8 is smtputf8_enable; fold_matters
// says whether FOLD_FIX changes the table's instance at all.
uint32_t instance_flags(const protocol::Request& req, bool utf8, bool fold_matters) {
  if (req.dialect == Dialect::V2) return req.instance_flags;
  uint32_t inst = req.flags & pf::kInstMask;
  if (req.type == RequestType::Open) return inst | dict::kDaemonInstanceFlags;
  inst |= req.flags & pf::kUtf8Request;
  if (req.flags & pf::kFoldFix) return inst | pf::kFoldFix;
  // Without a UTF-8 layer in the client nothing removes FOLD_FIX.
  if (!utf8 || (req.flags & pf::kUtf8Request) == 0) return inst;
  if (fold_matters && req.type == RequestType::Lookup &&
      dict::casefold(req.key, utf8) != req.key) {
    return inst;
  }
  return inst | pf::kFoldFix;
}

// instance_flags() for a request to table name under gen.
uint32_t request_instance(const Generation& gen, std::string_view name,
                          const protocol::Request& req) {
  const bool utf8 = gen.utf8();
  const bool fold_matters = (dict::instance_key_flags(name, pf::kFoldFix, utf8) != 0);
  return instance_flags(req, utf8, fold_matters);
}

// Flags a table sees for one request.
uint32_t effective_flags(const protocol::Request& req, uint32_t impl_flags) {
  if (req.dialect == Dialect::V1) return impl_flags | (req.flags & pf::kRqstMask);
  return req.flags;
}

// Status of an operation that has no value on the wire.
Reply status_reply(ProxyStatus status, uint32_t flags) {
  Reply reply;
  reply.status = status;
  reply.flags = flags;
  return reply;
}

// The reply to a lookup answer.
Reply lookup_reply(const dict::LookupResult& r, uint32_t flags) {
  Reply reply;
  reply.status = r.status;
  reply.flags = flags;
  // Postfix never answers OK with an empty value: that is "not found".
  if (r.status == ProxyStatus::Ok && r.value.empty()) reply.status = ProxyStatus::NoKey;
  if (reply.status == ProxyStatus::Ok) reply.value = r.value;
  return reply;
}

}  // namespace

std::optional<Reply> Service::answer_now(Role role, const protocol::Request& req) {
  if (req.type != RequestType::Lookup) return std::nullopt;
  std::string_view name = dict::strip_proxy_prefixes(req.table);
  if (name.find(':') == std::string_view::npos) return std::nullopt;
  Generation& gen = *gen_;
  if (!gen.allowlist(role).contains(name))
    return std::nullopt;  // handle() logs and denies
  if (gen.forwards(role, name)) return std::nullopt;
  dict::TableFrontPtr front = gen.front(name, role, request_instance(gen, name, req));
  uint32_t flags = effective_flags(req, front->table().impl_flags());
  const dict::LookupResult* hit = front->lookup_cached(req.key, flags);
  if (hit == nullptr) return std::nullopt;
  return lookup_reply(*hit, flags);
}

Reply Service::answer_any_key(Role role, const protocol::Request& req,
                              std::size_t key_bytes) {
  std::string_view name = dict::strip_proxy_prefixes(req.table);
  Generation& gen = *gen_;
  if (name.find(':') == std::string_view::npos || !gen.allowlist(role).contains(name)) {
    std::optional<Reply> out;  // handle() refuses at once, as for any key
    handle(role, req, [&out](Reply r) { out = std::move(r); });
    return out.value_or(status_reply(ProxyStatus::Retry, 0));
  }
  // A forwarded table's answer depends on the key, which is gone.
  if (gen.forwards(role, name)) return status_reply(ProxyStatus::Retry, 0);
  dict::TableFrontPtr front = gen.front(name, role, request_instance(gen, name, req));
  dict::Table& table = front->table();
  uint32_t flags = effective_flags(req, table.impl_flags());
  return lookup_reply(table.answer_any_key(key_bytes, flags), flags);
}

void Service::handle(Role role, const protocol::Request& req, ReplyDone done) {
  const bool is_write =
      req.type == RequestType::Update || req.type == RequestType::Delete;
  if (is_write && role == Role::ReadOnly) {
    warnings_.warn(WarnKind::Refused,
                   "refusing {} update request on non-proxywrite service", req.table);
    done(status_reply(ProxyStatus::Deny, 0));
    return;
  }
  std::string_view name = dict::strip_proxy_prefixes(req.table);
  if (name.find(':') == std::string_view::npos) {
    done(status_reply(ProxyStatus::Bad, 0));
    return;
  }
  // The request keeps its generation alive until it is answered.
  std::shared_ptr<Generation> gen = gen_;
  const dict::Allowlist& allow = gen->allowlist(role);
  if (!allow.contains(name)) {
    if (warnings_.admit(WarnKind::Refused)) {
      log_.warn("request for unapproved table: \"{}\"", name);
      log_.warn("to approve this table for {} access, list proxy:{} in main.cf:{}",
                role == Role::ReadOnly ? "read-only" : "read-write", name,
                allow.parameter());
    }
    done(status_reply(ProxyStatus::Deny, 0));
    return;
  }
  if (gen->forwards(role, name)) {
    forward(role, name, req, std::move(done));
    return;
  }
  dict::TableFrontPtr front = gen->front(name, role, request_instance(*gen, name, req));
  dict::Table& table = front->table();
  const uint32_t impl = table.impl_flags();
  uint32_t flags = effective_flags(req, impl);

  switch (req.type) {
    case RequestType::Open: {
      uint32_t reply_flags = req.dialect == Dialect::V1
                                 ? impl | (req.flags & pf::kInstMask)
                                 : req.instance_flags | impl;
      done(status_reply(ProxyStatus::Ok, reply_flags));
      return;
    }
    case RequestType::Lookup:
      front->lookup(req.key, flags,
                    [gen, done = std::move(done), flags](dict::LookupResult r) {
                      done(lookup_reply(r, flags));
                    });
      return;
    case RequestType::Update:
      flags |= pf::kSyncUpdate | pf::kDupReplace;
      table.update(req.key, req.value, flags,
                   [gen, done = std::move(done), flags](dict::LookupResult r) {
                     done(status_reply(r.status, flags));
                   });
      return;
    case RequestType::Delete:
      flags |= pf::kSyncUpdate;
      table.remove(req.key, flags,
                   [gen, done = std::move(done), flags](dict::LookupResult r) {
                     done(status_reply(r.status, flags));
                   });
      return;
    case RequestType::Sequence:
      table.sequence(req.function, flags,
                     [gen, done = std::move(done), flags](dict::SeqResult r) {
                       Reply reply;
                       reply.status = r.status;
                       reply.flags = flags;
                       if (r.status == ProxyStatus::Ok) {
                         reply.key = std::move(r.key);
                         reply.value = std::move(r.value);
                       }
                       done(std::move(reply));
                     });
      return;
  }
}

void Service::snapshot(StatsSnapshot& out) const {
  using std::chrono::duration_cast;
  using std::chrono::seconds;
  auto epoch_s = [](std::chrono::system_clock::time_point t) {
    return static_cast<int64_t>(duration_cast<seconds>(t.time_since_epoch()).count());
  };
  DaemonFigures& d = out.daemon;
  d.uptime_s =
      duration_cast<seconds>(std::chrono::steady_clock::now() - started_).count();
  d.start_time_s = epoch_s(started_wall_);
  d.generation = gen_ ? gen_->number() : 0;
  d.reloads = reloads_;
  d.reload_failures = reload_failures_;
  d.last_reload_ok = last_reload_ok_;
  d.last_reload_s = epoch_s(loaded_wall_);
  out.tables.clear();
  for (const auto& [name, st] : stats_.tables()) out.tables.emplace_back(name, *st);
  out.pools = pools_->stats();
  out.forwards.clear();
  out.cache.reset();
  for (Role role : {Role::ReadOnly, Role::ReadWrite}) {
    const int r = role == Role::ReadOnly ? 0 : 1;
    if (forwarders_[r] == nullptr) continue;
    ForwardFigures f = forwarders_[r]->figures();
    for (const auto& [name, st] : forwarded_[r]) f.tables.push_back(name);
    out.forwards.push_back(std::move(f));
  }
  if (gen_) {
    const dict::LookupCache& c = gen_->cache();
    out.cache = CacheFigures{c.entries(), c.bytes(), c.max_bytes(), c.evictions()};
  }
}

}  // namespace proxyd::daemon
