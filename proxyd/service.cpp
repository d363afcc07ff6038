// proxymap request semantics (see service.h). Flag rules: v1 requests may
// change only the per-request bits of a table instance (3.7 RQST mask);
// v2 requests install their flags wholesale and get them echoed back. Open
// replies never carry UTF8_ACTIVE: the client then keeps its own UTF-8
// layer, which folds keys exactly as a direct table would.
#include "proxyd/service.h"

#include <utility>

#include "dictcore/fold.h"

namespace proxyd::daemon {

namespace pf = protocol::flags;
using protocol::Dialect;
using protocol::ProxyStatus;
using protocol::Reply;
using protocol::RequestType;

Generation::Generation(dict::MainCf main_cf, dict::PoolSettings pool_settings,
                       dict::Poster& poster, dict::Logger& log)
    : main_cf_(std::move(main_cf)),
      read_allow_(dict::Allowlist::build(main_cf_, true, log)),
      write_allow_(dict::Allowlist::build(main_cf_, false, log)),
      pools_(std::make_unique<dict::PoolSet>(pool_settings, poster, log)),
      registry_(dict::TableEnv{&main_cf_, &log, &poster, pools_.get()}) {}

Generation::~Generation() { pools_->shutdown(); }

namespace {

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

}  // namespace

void Service::handle(Role role, const protocol::Request& req, ReplyDone done) {
  const bool is_write = req.type == RequestType::Update || req.type == RequestType::Delete;
  if (is_write && role == Role::ReadOnly) {
    log_.warn("refusing {} update request on non-proxywrite service", req.table);
    done(status_reply(ProxyStatus::Deny, 0));
    return;
  }
  std::string name(dict::strip_proxy_prefixes(req.table));
  if (name.find(':') == std::string::npos) {
    done(status_reply(ProxyStatus::Bad, 0));
    return;
  }
  std::shared_ptr<Generation> gen = gen_;
  const dict::Allowlist& allow = gen->allowlist(role);
  if (!allow.contains(name)) {
    log_.warn("request for unapproved table: \"{}\"", name);
    log_.warn("to approve this table for {} access, list proxy:{} in main.cf:{}",
              role == Role::ReadOnly ? "read-only" : "read-write", name, allow.parameter());
    done(status_reply(ProxyStatus::Deny, 0));
    return;
  }
  dict::TablePtr table = gen->registry().open(
      name, role == Role::ReadOnly ? dict::OpenMode::ReadOnly : dict::OpenMode::ReadWrite);
  const uint32_t impl = table->impl_flags();
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
      table->lookup(req.key, flags, [done = std::move(done), flags](dict::LookupResult r) {
        Reply reply;
        reply.status = r.status;
        reply.flags = flags;
        // Postfix never answers OK with an empty value: that is "not found".
        if (r.status == ProxyStatus::Ok && r.value.empty()) reply.status = ProxyStatus::NoKey;
        if (reply.status == ProxyStatus::Ok) reply.value = std::move(r.value);
        done(std::move(reply));
      });
      return;
    case RequestType::Update:
      flags |= pf::kSyncUpdate | pf::kDupReplace;
      table->update(req.key, req.value, flags,
                    [done = std::move(done), flags](dict::LookupResult r) {
                      done(status_reply(r.status, flags));
                    });
      return;
    case RequestType::Delete:
      flags |= pf::kSyncUpdate;
      table->remove(req.key, flags, [done = std::move(done), flags](dict::LookupResult r) {
        done(status_reply(r.status, flags));
      });
      return;
    case RequestType::Sequence:
      table->sequence(req.function, flags,
                      [done = std::move(done), flags](dict::SeqResult r) {
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

}  // namespace proxyd::daemon
