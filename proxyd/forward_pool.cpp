// Forwarding to Postfix's own proxymap (see forward_pool.h). A connection
// goes Greeting (connected, waiting for protocol=proxymap_protocol) ->
// Busy (request written, waiting for its reply) -> Ready (idle, reusable).
#include "proxyd/forward_pool.h"

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "protocol/attr_codec.h"
#include "proxyd/event_loop.h"

namespace proxyd::daemon {

using protocol::ProxyStatus;
using protocol::Reply;
using protocol::RequestType;

struct ForwardPool::Link {
  enum class State { Greeting, Busy, Ready };
  ForwardPool* pool = nullptr;
  int fd = -1;
  EventPtr read_ev;
  EventPtr write_ev;
  State state = State::Greeting;
  protocol::AttrDecoder decoder{protocol::AttrLimits{64, 64 * 1024 * 1024, 64}};
  std::size_t out_off = 0;   // bytes of job->bytes already sent
  bool to_send = false;      // job->bytes waits for the pool's flush
  bool write_armed = false;  // write_ev is added (the socket took part of it)
  std::optional<Job> job;
  std::string path;  // the service this connection reaches
  Clock::time_point born;
  Clock::time_point last_used;
  uint64_t served = 0;     // replies received on this connection
  bool got_bytes = false;  // part of the current reply arrived
  bool dead = false;
};

namespace {

constexpr std::size_t kReadChunk = 16 * 1024;

// Connect a non-blocking UNIX stream socket to path; -1 with errno set.
int connect_unix(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  // A UNIX socket connects at once or fails (EAGAIN: backlog full).
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 &&
      errno != EINPROGRESS) {
    int saved = errno;
    ::close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

Reply retry_reply() {
  Reply reply;
  reply.status = ProxyStatus::Retry;
  return reply;
}

}  // namespace

ForwardPool::ForwardPool(event_base* base, dict::Logger& log, std::string label,
                         ForwardLimits limits)
    : base_(base),
      log_(log),
      label_(std::move(label)),
      limits_(std::move(limits)),
      flush_ev_(event_new(base, -1, 0, &ForwardPool::on_flush, this)) {
  if (!flush_ev_) throw std::runtime_error("event_new failed");
}

ForwardPool::~ForwardPool() {
  // Answer nothing from here: the server that would send replies is gone.
  for (auto& link : links_) {
    link->read_ev.reset();
    link->write_ev.reset();
    if (link->fd >= 0) ::close(link->fd);
  }
  links_.clear();
  dead_.clear();
}

void ForwardPool::configure(ForwardLimits limits) {
  limits_ = std::move(limits);
  pump();
}

void ForwardPool::submit(const protocol::Request& request, Done done,
                         std::shared_ptr<dict::TableStats> stats) {
  bury_dead();
  ++stats_.jobs;
  const auto now = Clock::now();
  Job job{request.type,
          request.dialect,
          protocol::encode_request(request),
          now + limits_.timeout,
          std::move(done),
          std::move(stats),
          now};
  if (!enabled()) {
    retry(job);
    return;
  }
  if (queue_.size() >= limits_.max_queue) {
    ++stats_.rejected;
    retry(job);
    return;
  }
  queue_.push_back(std::move(job));
  stats_.queue_peak = std::max(stats_.queue_peak, queue_.size());
  pump();
}

void ForwardPool::pump() {
  while (!queue_.empty()) {
    Link* idle = nullptr;
    for (auto& link : links_) {
      if (!link->dead && link->state == Link::State::Ready &&
          link->path == limits_.path) {
        idle = link.get();
        break;
      }
    }
    if (idle != nullptr) {
      Job job = std::move(queue_.front());
      queue_.pop_front();
      start_job(*idle, std::move(job));
      continue;
    }
    std::size_t live = 0;
    for (auto& link : links_) live += link->dead ? 0 : 1;
    if (live >= limits_.max_connections) return;  // the next reply pumps again
    Job job = std::move(queue_.front());
    queue_.pop_front();
    if (!open_link(job)) {
      ++stats_.unreachable;
      const int err = errno;
      auto now = Clock::now();
      if (now - last_warning_ > std::chrono::seconds(10)) {
        last_warning_ = now;
        log_.warn("forwarding ({}): connect to {}: {}; answering RETRY", label_,
                  limits_.path, std::strerror(err));
      }
      retry(job);  // may re-enter submit(): the loop re-reads the queue
    }
  }
}

bool ForwardPool::open_link(Job& job) {
  int fd = connect_unix(limits_.path);
  if (fd < 0) {
    ++stats_.connect_failures;
    return false;
  }
  auto link = std::make_unique<Link>();
  link->pool = this;
  link->fd = fd;
  link->path = limits_.path;
  link->born = link->last_used = Clock::now();
  link->read_ev.reset(
      event_new(base_, fd, EV_READ | EV_PERSIST, &ForwardPool::on_event, link.get()));
  link->write_ev.reset(
      event_new(base_, fd, EV_WRITE | EV_PERSIST, &ForwardPool::on_event, link.get()));
  if (!link->read_ev || !link->write_ev) {
    ::close(fd);
    ++stats_.connect_failures;
    return false;
  }
  ++stats_.connects;
  link->job = std::move(job);
  event_add(link->read_ev.get(), nullptr);
  links_.push_back(std::move(link));
  stats_.connections_peak = std::max(stats_.connections_peak, links_.size());
  return true;
}

void ForwardPool::start_job(Link& link, Job job) {
  link.job = std::move(job);
  link.state = Link::State::Busy;
  link.got_bytes = false;
  link.out_off = 0;
  link.to_send = true;
  schedule_flush();
}

void ForwardPool::schedule_flush() {
  if (flush_pending_) return;
  flush_pending_ = true;
  event_active(flush_ev_.get(), EV_TIMEOUT, 0);
}

void ForwardPool::on_flush(evutil_socket_t, short, void* arg) noexcept {
  auto* pool = static_cast<ForwardPool*>(arg);
  try {
    pool->flush();
  } catch (...) {
    pool->flushing_ = false;
    pool->log_.warn("forwarding ({}): internal error sending requests", pool->label_);
    // Replies already received still go out; requests not sent are
    // answered RETRY by expire() at their deadline.
    try {
      pool->deliver_answered();
    } catch (...) {
      // Already logged once just above; the replies this could not pass on
      // are answered RETRY by expire() at their deadline, like the rest.
    }
  }
}

void ForwardPool::flush() {
  flush_pending_ = false;
  flushing_ = true;
  // A failed write may answer RETRY, and that answer may start other jobs
  // (changing links_, and scheduling the next flush): walk a copy, and
  // destroy no closed link meanwhile.
  std::vector<Link*> pending;
  pending.swap(flush_list_);  // keeps its capacity: no allocation per flush
  pending.clear();
  for (auto& link : links_) {
    if (link->to_send) pending.push_back(link.get());
  }
  for (Link* link : pending) {
    if (link->dead || !link->to_send) continue;
    link->to_send = false;
    write_request(*link);
  }
  pending.swap(flush_list_);
  flushing_ = false;
  deliver_answered();
}

void ForwardPool::deliver_answered() {
  // Answers may submit more (queued for the next flush): take the list first.
  std::vector<Answered> ready;
  ready.swap(answered_);
  for (Answered& a : ready) answer(a.job, std::move(a.reply));
  if (answered_.empty() && answered_.capacity() < ready.capacity()) {
    ready.clear();
    answered_.swap(ready);  // keep the capacity: no allocation per flush
  }
}

void ForwardPool::on_event(evutil_socket_t, short what, void* arg) noexcept {
  auto* link = static_cast<Link*>(arg);
  try {
    link->pool->handle_event(*link, what);
  } catch (...) {
    link->pool->link_failed(*link, "internal error", false);
  }
}

void ForwardPool::handle_event(Link& link, short what) {
  if (link.dead) return;
  if (what & EV_WRITE) write_request(link);
  if (!link.dead && (what & EV_READ)) read_reply(link);
}

void ForwardPool::write_request(Link& link) {
  if (!link.job && link.write_armed) {  // answered before it was all taken
    link.write_armed = false;
    event_del(link.write_ev.get());
  }
  if (!link.job || link.to_send) return;  // nothing to send, or not yet
  const std::string& out = link.job->bytes;
  while (link.out_off < out.size()) {
    ssize_t n = ::send(link.fd, out.data() + link.out_off, out.size() - link.out_off,
                       MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (!link.write_armed) event_add(link.write_ev.get(), nullptr);
        link.write_armed = true;
        return;
      }
      // A reused connection the service closed while idle: resend once.
      link_failed(link, "write failed", link.served > 0);
      return;
    }
    link.out_off += static_cast<std::size_t>(n);
  }
  if (link.write_armed) {
    link.write_armed = false;
    event_del(link.write_ev.get());
  }
}

void ForwardPool::read_reply(Link& link) {
  char buf[kReadChunk];
  for (;;) {
    ssize_t n = ::read(link.fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      link_failed(link, "read failed", link.served > 0 && !link.got_bytes);
      return;
    }
    if (n == 0) {
      if (link.state == Link::State::Ready) {
        close_link(link);  // the service closed an idle connection
      } else {
        link_failed(link, "connection closed", link.served > 0 && !link.got_bytes);
      }
      return;
    }
    if (link.state == Link::State::Busy) link.got_bytes = true;
    link.decoder.feed(std::string_view(buf, static_cast<std::size_t>(n)));
    if (static_cast<std::size_t>(n) < sizeof buf) break;
  }
  protocol::AttrList attrs;
  for (;;) {
    protocol::DecodeStatus st = link.decoder.next(attrs);
    if (st == protocol::DecodeStatus::NeedMore) return;
    if (st != protocol::DecodeStatus::Complete) {
      link_failed(link, "malformed reply", false);
      return;
    }
    if (link.state == Link::State::Greeting) {
      if (attrs.size() != 1 || attrs[0].name != protocol::kAttrProto ||
          attrs[0].value != protocol::kProtoProxymap) {
        link_failed(link, "unexpected greeting", false);
        return;
      }
      Job job = std::move(*link.job);
      link.job.reset();
      start_job(link, std::move(job));
      if (link.dead) return;
      continue;
    }
    if (link.state != Link::State::Busy || !link.job) {
      link_failed(link, "unexpected message", false);
      return;
    }
    Reply reply;
    std::string error;
    if (!protocol::parse_reply(link.job->type, link.job->dialect, attrs, reply, error)) {
      link_failed(link, "bad reply", false);
      return;
    }
    Job job = std::move(*link.job);
    link.job.reset();
    link.state = Link::State::Ready;
    link.last_used = Clock::now();
    ++link.served;
    ++stats_.answered;
    // Hand the connection to the next request; the answer goes to the
    // client from the flush, after the other replies of this iteration.
    answered_.push_back(Answered{std::move(job), std::move(reply)});
    pump();
    schedule_flush();
    return;
  }
}

void ForwardPool::link_failed(Link& link, const char* why, bool may_resend) {
  if (link.dead) return;
  const int err = errno;
  std::optional<Job> job = std::move(link.job);
  link.job.reset();
  close_link(link);
  if (!job) return;
  // A connection that served before may have been closed by the service
  // between requests (idle or table-changed restart) without it seeing
  // this one: a lookup or open is then sent once more on a new one.
  const bool idempotent =
      job->type == RequestType::Lookup || job->type == RequestType::Open;
  if (may_resend && idempotent && !job->resent) {
    job->resent = true;
    ++stats_.resent;
    queue_.push_front(std::move(*job));
    pump();
    return;
  }
  ++stats_.died;
  auto now = Clock::now();
  if (now - last_warning_ > std::chrono::seconds(10)) {
    last_warning_ = now;
    log_.warn("forwarding ({}): {} on {}: {}; answering RETRY", label_, why, limits_.path,
              std::strerror(err));
  }
  retry(*job);
  pump();
}

void ForwardPool::close_link(Link& link) {
  if (link.dead) return;
  link.dead = true;
  link.read_ev.reset();
  link.write_ev.reset();
  if (link.fd >= 0) ::close(link.fd);
  link.fd = -1;
  // Destroyed later: this may run inside the link's own callback.
  for (auto it = links_.begin(); it != links_.end(); ++it) {
    if (it->get() == &link) {
      dead_.splice(dead_.end(), links_, it);
      break;
    }
  }
}

void ForwardPool::bury_dead() {
  if (!flushing_) dead_.clear();
}

void ForwardPool::answer(Job& job, Reply reply) {
  if (job.stats) {
    dict::TableStats& st = *job.stats;
    switch (reply.status) {
      case ProxyStatus::Ok:
        ++st.ok;
        break;
      case ProxyStatus::NoKey:
        ++st.notfound;
        break;
      case ProxyStatus::Retry:
        ++st.retry;
        break;
      default:
        ++st.failed;
        break;
    }
    st.latency.record(
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - job.start));
  }
  Done done = std::move(job.done);
  if (done) done(std::move(reply));
}

void ForwardPool::retry(Job& job) { answer(job, retry_reply()); }

void ForwardPool::expire(Clock::time_point now) {
  bury_dead();
  std::vector<Job> late;
  while (!queue_.empty() && queue_.front().deadline <= now) {
    late.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  // Requests after a resent one may be older: check the whole queue.
  for (auto it = queue_.begin(); it != queue_.end();) {
    if (it->deadline <= now) {
      late.push_back(std::move(*it));
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
  std::vector<Link*> stale;
  for (auto& link : links_) {
    if (link->job && link->job->deadline <= now) {
      late.push_back(std::move(*link->job));
      link->job.reset();
      stale.push_back(link.get());  // its reply would come too late: never reuse it
    } else if (!link->job && link->state == Link::State::Ready &&
               (now - link->last_used >= limits_.idle ||
                now - link->born >= limits_.ttl || link->path != limits_.path)) {
      stale.push_back(link.get());
    }
  }
  for (Link* link : stale) close_link(*link);
  stats_.expired += late.size();
  if (!late.empty()) {
    auto t = Clock::now();
    if (t - last_warning_ > std::chrono::seconds(10)) {
      last_warning_ = t;
      log_.warn(
          "forwarding ({}): {} request(s) to {} past the {} ms deadline; answering RETRY",
          label_, late.size(), limits_.path, limits_.timeout.count());
    }
  }
  for (Job& job : late) retry(job);
  pump();
}

ForwardFigures ForwardPool::figures() const {
  ForwardFigures f;
  f.label = label_;
  f.path = limits_.path;
  f.connections_open = links_.size();
  for (const auto& link : links_) f.connections_busy += link->job ? 1 : 0;
  f.connections_peak = stats_.connections_peak;
  f.max_connections = limits_.max_connections;
  f.queued = queue_.size();
  f.queue_peak = stats_.queue_peak;
  f.max_queue = limits_.max_queue;
  f.jobs = stats_.jobs;
  f.answered = stats_.answered;
  f.rejected = stats_.rejected;
  f.expired = stats_.expired;
  f.unreachable = stats_.unreachable;
  f.died = stats_.died;
  f.resent = stats_.resent;
  f.connects = stats_.connects;
  f.connect_failures = stats_.connect_failures;
  return f;
}

}  // namespace proxyd::daemon
