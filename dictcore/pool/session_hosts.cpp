// HostSet: the shared host state of one pool, following Postfix's
// dict_*_find_host / get_active / down_host semantics (see session_hosts.h).
#include "dictcore/pool/session_hosts.h"

#include <algorithm>
#include <utility>

namespace proxyd::dict {

HostSet::HostSet(std::vector<HostSpec> hosts, std::chrono::seconds retry_interval,
                 bool duplicate_single, NowFn now, uint64_t seed)
    : retry_interval_(retry_interval),
      now_(std::move(now)),
      rng_(seed != 0 ? seed : std::random_device{}()) {
  if (duplicate_single && hosts.size() == 1) hosts.push_back(hosts.front());
  for (HostSpec& spec : hosts) hosts_.push_back(Host{std::move(spec)});
}

std::optional<std::size_t> HostSet::pick_locked(const std::vector<bool>& tried,
                                                bool active_only, HostKind kind,
                                                Clock::time_point now) {
  std::vector<std::size_t> eligible;
  for (std::size_t i = 0; i < hosts_.size(); ++i) {
    const Host& h = hosts_[i];
    if (h.spec.kind != kind || (i < tried.size() && tried[i])) continue;
    bool ok = active_only ? h.state == State::Active
                          : (h.state == State::Untried ||
                             (h.state == State::Failed && now >= h.down_until));
    if (ok) eligible.push_back(i);
  }
  if (eligible.empty()) return std::nullopt;
  std::uniform_int_distribution<std::size_t> dist(0, eligible.size() - 1);
  return eligible[dist(rng_)];
}

std::optional<std::size_t> HostSet::pick(const std::vector<bool>& tried) {
  std::lock_guard lock(mu_);
  Clock::time_point now = now_();
  for (bool active_only : {true, false}) {
    for (HostKind kind : {HostKind::Unix, HostKind::Inet, HostKind::Uri}) {
      if (auto i = pick_locked(tried, active_only, kind, now)) return i;
    }
  }
  return std::nullopt;
}

void HostSet::mark_up(std::size_t i) {
  std::lock_guard lock(mu_);
  hosts_[i].state = State::Active;
  ++hosts_[i].connected;
}

void HostSet::mark_down(std::size_t i) {
  std::lock_guard lock(mu_);
  Host& h = hosts_[i];
  h.state = State::Failed;
  h.down_until = now_() + retry_interval_;
  ++h.generation;
}

bool HostSet::revive(std::size_t i) {
  std::lock_guard lock(mu_);
  bool any = false;
  for (Host& h : hosts_) {
    if (h.spec.text != hosts_[i].spec.text || h.state != State::Failed) continue;
    h.state = State::Untried;
    h.down_until = {};
    any = true;
  }
  return any;
}

std::size_t HostSet::probe_index(std::size_t i) const {
  for (std::size_t j = 0; j < i; ++j) {  // spec is immutable: no lock needed
    if (hosts_[j].spec.text == hosts_[i].spec.text) return j;
  }
  return i;
}

void HostSet::release(std::size_t i) {
  std::lock_guard lock(mu_);
  Host& h = hosts_[i];
  if (h.connected > 0) --h.connected;
  if (h.connected == 0 && h.state == State::Active) h.state = State::Untried;
}

uint64_t HostSet::generation(std::size_t i) const {
  std::lock_guard lock(mu_);
  return hosts_[i].generation;
}

bool HostSet::host_down(std::size_t i) const {
  std::lock_guard lock(mu_);
  Clock::time_point now = now_();
  return std::any_of(hosts_.begin(), hosts_.end(), [&](const Host& h) {
    return h.spec.text == hosts_[i].spec.text && h.state == State::Failed &&
           now < h.down_until;
  });
}

bool HostSet::is_down(std::size_t i) const {
  std::lock_guard lock(mu_);
  return hosts_[i].state == State::Failed && now_() < hosts_[i].down_until;
}

}  // namespace proxyd::dict
