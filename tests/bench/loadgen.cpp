// proxyd-loadgen: a closed-loop load generator for Postfix's proxymap
// protocol. N UNIX-socket connections each behave like a Postfix 3.7 client
// (dict_proxy): send "open" for every table once per connection, then one
// v1 lookup at a time, reconnecting on EOF. Works against real proxymap
// (which sends no greeting) and proxyd (which greets first). Optionally holds
// extra idle connections open. Prints one JSON line of results.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "protocol/attr_codec.h"
#include "protocol/messages.h"
#include "protocol/status.h"
#include "tests/bench/keys.h"
#include "tests/bench/options.h"

namespace proxyd::bench {
namespace {

using Clock = std::chrono::steady_clock;
namespace proto = proxyd::protocol;

// Request flags of a Postfix 3.7 postmap/smtpd lookup through proxy: with
// smtputf8 on (captured from postmap -q on proxy:mysql, see SPEC §3).
constexpr uint32_t kLookupFlags = 524353;
constexpr std::size_t kReadChunk = 65536;

struct Options {
  std::string socket;
  int clients = 1;
  double duration = 10;
  double warmup = 2;
  std::string keys;
  int idle = 0;
  std::size_t hot = 0;
  uint32_t flags = kLookupFlags;
  uint64_t seed = 1;
  double connect_timeout = 120;  // seconds to establish the idle connections
};

[[noreturn]] void usage(const std::string& why) {
  fmt::print(
      stderr,
      "proxyd-loadgen: {}\n"
      "usage: proxyd-loadgen --socket PATH --keys FILE [--clients N] [--duration S]\n"
      "       [--warmup S] [--idle N] [--hot K] [--flags N] [--seed N]\n"
      "       [--connect-timeout S]\n",
      why);
  std::exit(2);
}

Options parse_options(int argc, char** argv) {
  Options o;
  walk_options(
      argc, argv,
      [&](const std::string& a, const std::string& v) {
        if (a == "--socket")
          o.socket = v;
        else if (a == "--keys")
          o.keys = v;
        else if (a == "--clients")
          o.clients = std::stoi(v);
        else if (a == "--duration")
          o.duration = std::stod(v);
        else if (a == "--warmup")
          o.warmup = std::stod(v);
        else if (a == "--idle")
          o.idle = std::stoi(v);
        else if (a == "--hot")
          o.hot = std::stoul(v);
        else if (a == "--flags")
          o.flags = static_cast<uint32_t>(std::stoul(v));
        else if (a == "--seed")
          o.seed = std::stoull(v);
        else if (a == "--connect-timeout")
          o.connect_timeout = std::stod(v);
        else
          return false;
        return true;
      },
      usage);
  if (o.socket.empty() || o.keys.empty()) usage("--socket and --keys are required");
  if (o.clients < 0 || o.clients > 100000 || o.idle < 0 || o.idle > 1000000)
    usage("client counts out of range");
  if (o.duration <= 0 || o.warmup < 0) usage("bad duration");
  sockaddr_un sa{};
  if (o.socket.size() >= sizeof(sa.sun_path)) usage("socket path too long");
  return o;
}

// Raise RLIMIT_NOFILE so that `need` descriptors fit (root may raise the
// hard limit too).
void raise_fd_limit(std::size_t need) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  rlim_t want = static_cast<rlim_t>(need);
  if (rl.rlim_cur >= want) return;
  if (rl.rlim_max < want) rl.rlim_max = want;
  rl.rlim_cur = want;
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

enum class State {
  Down,     // not connected; reconnect at retry_at
  Opening,  // waiting for the reply to open of tables[open_next]
  Waiting,  // waiting for a lookup reply
  Held,     // idle connection: all tables open, nothing outstanding
};

struct Conn {
  int fd = -1;
  bool active = false;
  State state = State::Down;
  bool greeted = false;  // a message was seen (a greeting can only be first)
  std::size_t open_next = 0;
  proto::AttrDecoder decoder;
  std::string out;  // unsent bytes
  Clock::time_point sent{};
  Clock::time_point retry_at{};
  Rng rng{1};
  explicit Conn(uint64_t seed) : rng(seed) {}
};

class LoadGen {
 public:
  LoadGen(Options opts, KeyFile keys) : o_(std::move(opts)), keys_(std::move(keys)) {
    for (const auto& t : keys_.tables) {
      proto::Request r;
      r.type = proto::RequestType::Open;
      r.table = t;
      r.flags = 0;  // Postfix 3.7 proxy clients open with flags=0 (captured)
      open_req_.push_back(proto::encode_request(r));
    }
    for (const auto& e : keys_.entries) {
      proto::Request r;
      r.type = proto::RequestType::Lookup;
      r.table = keys_.tables[e.table];
      r.flags = o_.flags;
      r.key = e.key;
      lookup_req_.push_back(proto::encode_request(r));
    }
    pick_n_ = o_.hot > 0 && o_.hot < lookup_req_.size() ? o_.hot : lookup_req_.size();
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0)
      throw std::runtime_error(fmt::format("epoll_create1: {}", strerror(errno)));
  }
  ~LoadGen() {
    for (auto& c : conns_)
      if (c.fd >= 0) close(c.fd);
    close(ep_);
  }
  LoadGen(const LoadGen&) = delete;
  LoadGen& operator=(const LoadGen&) = delete;

  void run();

 private:
  void start_connect(std::size_t i);
  void send_bytes(std::size_t i, const std::string& bytes);
  void send_lookup(std::size_t i);
  void on_readable(std::size_t i);
  void on_writable(std::size_t i);
  void on_message(std::size_t i, const proto::AttrList& msg);
  void drop(std::size_t i, const char* why, bool error);
  void count_error(const std::string& what);
  void poll_once(int timeout_ms);
  bool measuring() const { return now_ >= measure_start_ && now_ < measure_end_; }

  Options o_;
  KeyFile keys_;
  std::vector<std::string> open_req_;
  std::vector<std::string> lookup_req_;
  std::size_t pick_n_ = 0;
  int ep_ = -1;
  std::deque<Conn> conns_;
  std::vector<std::size_t> down_;  // connections waiting to (re)connect
  Clock::time_point now_{};
  Clock::time_point measure_start_ = Clock::time_point::max();
  Clock::time_point measure_end_ = Clock::time_point::max();
  bool stopping_ = false;
  std::vector<uint32_t> lat_us_;
  uint64_t ok_ = 0, notfound_ = 0, errors_total_ = 0, reconnects_ = 0;
  std::map<std::string, uint64_t> errors_;
  std::vector<epoll_event> events_ = std::vector<epoll_event>(1024);
};

void LoadGen::count_error(const std::string& what) {
  if (!measuring()) return;
  ++errors_[what];
  ++errors_total_;
}

void LoadGen::start_connect(std::size_t i) {
  Conn& c = conns_[i];
  c.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) {
    count_error(fmt::format("socket:{}", strerror(errno)));
    c.retry_at = now_ + std::chrono::milliseconds(100);
    down_.push_back(i);
    return;
  }
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, o_.socket.data(), o_.socket.size());
  if (connect(c.fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    int err = errno;
    close(c.fd);
    c.fd = -1;
    // EAGAIN: the listen backlog is full; the server is just behind.
    if (err != EAGAIN) count_error(fmt::format("connect:{}", strerror(err)));
    c.retry_at = now_ + std::chrono::milliseconds(err == EAGAIN ? 2 : 100);
    down_.push_back(i);
    return;
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.u64 = i;
  epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
  c.greeted = false;
  c.decoder.clear();
  c.out.clear();
  c.open_next = 0;
  c.state = State::Opening;
  c.sent = now_;
  send_bytes(i, open_req_[0]);
}

void LoadGen::send_bytes(std::size_t i, const std::string& bytes) {
  Conn& c = conns_[i];
  if (!c.out.empty()) {
    c.out += bytes;
    return;
  }
  ssize_t n = send(c.fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  if (n < 0) {
    if (errno != EAGAIN) {
      drop(i, "send", true);
      return;
    }
    n = 0;
  }
  if (static_cast<std::size_t>(n) < bytes.size()) {
    c.out.assign(bytes, static_cast<std::size_t>(n));
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | EPOLLOUT;
    ev.data.u64 = i;
    epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
  }
}

void LoadGen::on_writable(std::size_t i) {
  Conn& c = conns_[i];
  if (c.fd < 0 || c.out.empty()) return;
  ssize_t n = send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
  if (n < 0) {
    if (errno != EAGAIN) drop(i, "send", true);
    return;
  }
  c.out.erase(0, static_cast<std::size_t>(n));
  if (c.out.empty()) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = i;
    epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
  }
}

void LoadGen::send_lookup(std::size_t i) {
  Conn& c = conns_[i];
  c.state = State::Waiting;
  // The clock now, not the wake-up's: a request sent late in a busy wake-up
  // would otherwise be charged the time spent on the replies before it.
  c.sent = Clock::now();
  send_bytes(i, lookup_req_[c.rng.below(pick_n_)]);
}

void LoadGen::drop(std::size_t i, const char* why, bool error) {
  Conn& c = conns_[i];
  if (c.fd < 0) return;
  // Losing a connection with a request outstanding fails that request.
  if (error || c.state == State::Opening || c.state == State::Waiting) count_error(why);
  epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
  close(c.fd);
  c.fd = -1;
  c.state = State::Down;
  c.retry_at = now_;
  if (!stopping_) {
    ++reconnects_;
    down_.push_back(i);
  }
}

void LoadGen::on_readable(std::size_t i) {
  char buf[kReadChunk];
  Conn& c = conns_[i];
  for (;;) {
    ssize_t n = recv(c.fd, buf, sizeof(buf), 0);
    if (n > 0) {
      c.decoder.feed(std::string_view(buf, static_cast<std::size_t>(n)));
      proto::AttrList msg;
      for (;;) {
        auto st = c.decoder.next(msg);
        if (st == proto::DecodeStatus::NeedMore) break;
        if (st == proto::DecodeStatus::Malformed) {
          drop(i, "malformed", true);
          return;
        }
        on_message(i, msg);
        if (c.fd < 0) return;
      }
      if (static_cast<std::size_t>(n) < sizeof(buf)) return;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    drop(i, "eof", false);
    return;
  }
}

void LoadGen::on_message(std::size_t i, const proto::AttrList& msg) {
  Conn& c = conns_[i];
  bool first = !c.greeted;
  c.greeted = true;
  // proxyd (and Postfix >= 3.8) greets first; 3.7 proxymap does not.
  if (first && msg.size() == 1 && msg[0].name == proto::kAttrProto &&
      msg[0].value == proto::kProtoProxymap)
    return;
  proto::Reply reply;
  std::string err;
  if (c.state == State::Opening) {
    if (!proto::parse_reply(proto::RequestType::Open, proto::Dialect::V1, msg, reply,
                            err)) {
      drop(i, "bad-open-reply", true);
      return;
    }
    if (reply.status != proto::ProxyStatus::Ok)
      count_error(fmt::format("open:{}", proto::status_name(reply.status)));
    if (++c.open_next < open_req_.size()) {
      send_bytes(i, open_req_[c.open_next]);
    } else if (c.active && !stopping_) {
      send_lookup(i);
    } else {
      c.state = State::Held;
    }
    return;
  }
  if (c.state != State::Waiting) {
    drop(i, "unexpected-message", true);
    return;
  }
  if (!proto::parse_reply(proto::RequestType::Lookup, proto::Dialect::V1, msg, reply,
                          err)) {
    drop(i, "bad-lookup-reply", true);
    return;
  }
  if (measuring()) {
    auto us =
        std::chrono::duration_cast<std::chrono::microseconds>(now_ - c.sent).count();
    lat_us_.push_back(static_cast<uint32_t>(std::min<int64_t>(us, UINT32_MAX)));
    if (reply.status == proto::ProxyStatus::Ok)
      ++ok_;
    else if (reply.status == proto::ProxyStatus::NoKey)
      ++notfound_;
    else
      count_error(std::string(proto::status_name(reply.status)));
  }
  if (stopping_) {
    c.state = State::Held;
    return;
  }
  send_lookup(i);
}

void LoadGen::poll_once(int timeout_ms) {
  int n = epoll_wait(ep_, events_.data(), static_cast<int>(events_.size()), timeout_ms);
  now_ = Clock::now();
  for (int k = 0; k < n; ++k) {
    auto i = static_cast<std::size_t>(events_[static_cast<std::size_t>(k)].data.u64);
    uint32_t ev = events_[static_cast<std::size_t>(k)].events;
    if (conns_[i].fd < 0) continue;
    if (ev & EPOLLOUT) on_writable(i);
    if (conns_[i].fd >= 0 && (ev & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)))
      on_readable(i);
  }
  if (!down_.empty() && !stopping_) {
    std::vector<std::size_t> pending;
    pending.swap(down_);
    for (std::size_t i : pending) {
      if (conns_[i].retry_at <= now_)
        start_connect(i);
      else
        down_.push_back(i);
    }
  }
}

void LoadGen::run() {
  auto t0 = Clock::now();
  now_ = t0;
  // Idle connections first: establish them and their opens, then hold.
  std::size_t total =
      static_cast<std::size_t>(o_.idle) + static_cast<std::size_t>(o_.clients);
  for (std::size_t i = 0; i < total; ++i)
    conns_.emplace_back(o_.seed * 1000003ULL + i + 1);
  for (std::size_t i = 0; i < static_cast<std::size_t>(o_.idle); ++i) start_connect(i);
  auto idle_deadline = now_ + std::chrono::duration_cast<Clock::duration>(
                                  std::chrono::duration<double>(o_.connect_timeout));
  std::size_t held = 0;
  while (o_.idle > 0) {
    poll_once(down_.empty() ? 50 : 1);
    held = 0;
    for (std::size_t i = 0; i < static_cast<std::size_t>(o_.idle); ++i)
      if (conns_[i].state == State::Held) ++held;
    if (held == static_cast<std::size_t>(o_.idle) || now_ >= idle_deadline) break;
  }
  double idle_setup_s = std::chrono::duration<double>(now_ - t0).count();
  std::size_t idle_ready = held;

  for (std::size_t i = static_cast<std::size_t>(o_.idle); i < total; ++i) {
    conns_[i].active = true;
    start_connect(i);
  }
  measure_start_ = now_ + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(o_.warmup));
  measure_end_ = measure_start_ + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(o_.duration));
  rusage ru0{};
  bool ru0_taken = false;
  while (now_ < measure_end_) {
    if (!ru0_taken && now_ >= measure_start_) {
      getrusage(RUSAGE_SELF, &ru0);
      ru0_taken = true;
    }
    poll_once(down_.empty() ? 10 : 1);
  }
  rusage ru1{};
  getrusage(RUSAGE_SELF, &ru1);
  stopping_ = true;
  std::size_t idle_open = 0;
  for (std::size_t i = 0; i < static_cast<std::size_t>(o_.idle); ++i)
    if (conns_[i].state == State::Held && conns_[i].fd >= 0) ++idle_open;

  auto cpu = [](const rusage& r) {
    return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
           static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
  };
  double cpu_pct = ru0_taken ? 100.0 * (cpu(ru1) - cpu(ru0)) / o_.duration : 0;
  uint64_t lookups = lat_us_.size();
  uint32_t p50 = percentile(lat_us_, 0.50);
  uint32_t p90 = percentile(lat_us_, 0.90);
  uint32_t p99 = percentile(lat_us_, 0.99);
  uint32_t p999 = percentile(lat_us_, 0.999);
  uint32_t pmax = lat_us_.empty() ? 0 : *std::max_element(lat_us_.begin(), lat_us_.end());
  std::string errs;
  for (const auto& [k, v] : errors_)
    errs += fmt::format("{}\"{}\": {}", errs.empty() ? "" : ", ", json_escape(k), v);
  fmt::print(
      "{{\"clients\": {}, \"idle\": {}, \"idle_ready\": {}, \"idle_open\": {}, "
      "\"idle_setup_s\": {:.2f}, \"duration_s\": {}, \"lookups\": {}, "
      "\"lookups_per_s\": {:.1f}, \"p50_us\": {}, \"p90_us\": {}, \"p99_us\": {}, "
      "\"p999_us\": {}, \"max_us\": {}, "
      "\"ok\": {}, \"notfound\": {}, \"errors_total\": {}, \"errors\": {{{}}}, "
      "\"reconnects\": {}, \"keys\": {}, \"loadgen_cpu_pct\": {:.1f}}}\n",
      o_.clients, o_.idle, idle_ready, idle_open, idle_setup_s, o_.duration, lookups,
      static_cast<double>(lookups) / o_.duration, p50, p90, p99, p999, pmax, ok_,
      notfound_, errors_total_, errs, reconnects_, pick_n_, cpu_pct);
}

}  // namespace
}  // namespace proxyd::bench

int main(int argc, char** argv) {
  using namespace proxyd::bench;
  Options o = parse_options(argc, argv);
  try {
    raise_fd_limit(static_cast<std::size_t>(o.clients) +
                   static_cast<std::size_t>(o.idle) + 64);
    KeyFile keys = read_key_file(o.keys);
    LoadGen gen(std::move(o), std::move(keys));
    gen.run();
  } catch (const std::exception& e) {
    fmt::print(stderr, "proxyd-loadgen: {}\n", e.what());
    return 1;
  }
  return 0;
}
