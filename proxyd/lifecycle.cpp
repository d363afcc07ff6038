// The daemon skeleton (see lifecycle.h): run() reads as Postfix's
// multi_server_main does, one named step per phase; Lifecycle holds what
// lives while serving (server, control socket, sweep and drain timers,
// signal handlers, the master(8) link).
#include "proxyd/lifecycle.h"

#include <fmt/format.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "protocol/attr_codec.h"
#include "proxyd/control.h"
#include "proxyd/event_loop.h"
#include "proxyd/forwarding.h"
#include "proxyd/master_proto.h"
#include "proxyd/metrics_server.h"
#include "proxyd/postfix_release.h"
#include "proxyd/preflight.h"
#include "proxyd/privs.h"
#include "proxyd/service.h"
#include "proxyd/socket_dir.h"
#include "proxyd/stats_render.h"

namespace proxyd::daemon {
namespace {

// Descriptors kept for everything that is not a client: listeners, the
// control socket, SQL sessions, table files, the loop's own.
constexpr rlim_t kReservedFds = 1024;
// How often expired lookups are answered and rate-limited warnings flushed.
constexpr double kSweepSeconds = 0.1;
// How often a drain looks whether the last request is done.
constexpr double kDrainTickSeconds = 0.05;

ConnectionLimits connection_limits(const Settings& s) {
  ConnectionLimits limits;
  limits.max_request_bytes = static_cast<std::size_t>(s.max_request_bytes);
  limits.max_in_flight = static_cast<std::size_t>(s.max_in_flight);
  limits.request_timeout = s.request_timeout;
  return limits;
}

ServerLimits server_limits(const Settings& s, std::size_t fd_clients) {
  ServerLimits limits;
  limits.max_clients = std::min(static_cast<std::size_t>(s.max_clients), fd_clients);
  limits.max_memory_bytes = static_cast<std::size_t>(s.max_memory_bytes);
  return limits;
}

// Detach from the terminal: fork, new session, stdio to /dev/null.
void daemonize() {
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(fmt::format("fork: {}", std::strerror(errno)));
  if (pid > 0) _exit(0);
  setsid();
  FILE* null_in = std::freopen("/dev/null", "r", stdin);
  FILE* null_out = std::freopen("/dev/null", "w", stdout);
  FILE* null_err = std::freopen("/dev/null", "w", stderr);
  (void)null_in;
  (void)null_out;
  (void)null_err;
}

// The name of the postlog(8) service socket in public/.
std::string postlog_name(const dict::MainCf& cf) {
  std::string name = cf.get("postlog_service_name");
  return name.empty() ? std::string("postlog") : name;
}

// Detach unless -f, and log where Postfix's daemons log: syslog, or
// postlogd when maillog_file is set (Postfix 3.4+).
void start_logging(const RunPlan& plan, DaemonLogger& log) {
  if (plan.detach) {
    daemonize();
    log.use_syslog(true);
  }
  const dict::MainCf& cf = *plan.main_cf;
  if (!cf.get("maillog_file").empty() && (plan.detach || plan.master_generation)) {
    log.use_postlog(
        fmt::format("{}/public/{}", cf.get("queue_directory"), postlog_name(cf)),
        cf.get("myhostname"));
  }
}

// Every client is a descriptor: make room for max_clients (as root, the
// hard limit is raised too; this must run before the privilege drop).
// Returns the number of clients the limit lets proxyd serve.
std::size_t raise_fd_limit(int max_clients, dict::Logger& log) {
  const rlim_t want = static_cast<rlim_t>(max_clients) + kReservedFds;
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return static_cast<std::size_t>(max_clients);
  if (rl.rlim_cur < want || rl.rlim_cur < rl.rlim_max) {
    rlimit raised = rl;
    raised.rlim_cur = std::max(rl.rlim_max, want);
    if (rl.rlim_max != RLIM_INFINITY && raised.rlim_cur > rl.rlim_max) {
      raised.rlim_max = raised.rlim_cur;  // needs root
    }
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      rl = raised;
    } else if (raised.rlim_max != rl.rlim_max) {
      raised.rlim_cur = raised.rlim_max = rl.rlim_max;  // not root: the hard limit
      if (setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
    }
  }
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
    rlim_t fit =
        rl.rlim_cur > 2 * kReservedFds ? rl.rlim_cur - kReservedFds : rl.rlim_cur / 2;
    log.warn(
        "max_clients = {} does not fit the open file limit {}; serving at most {} "
        "clients",
        max_clients, static_cast<unsigned long long>(rl.rlim_cur),
        static_cast<unsigned long long>(fit));
    return static_cast<std::size_t>(fit);
  }
  return static_cast<std::size_t>(max_clients);
}

// What the tables need at lookup time must be inside the jail: say now
// what is not (sqlite databases, database sockets, TLS/option files).
void warn_outside_jail(const RunPlan& plan, const Generation& gen, dict::Logger& log) {
  dict::TableEnv env;
  env.main_cf = &gen.main_cf();
  env.log = &log;
  const JailOwner owner =
      plan.master_generation ? JailOwner::Master : JailOwner::Standalone;
  for (Role role : {Role::ReadOnly, Role::ReadWrite}) {
    for (const std::string& table : gen.allowlist(role).tables()) {
      for (const Finding& f : preflight_table(table, env, plan.jail, nullptr, owner)) {
        if (f.kind == FindingKind::OutsideJail) log.warn("{}", f.message);
      }
    }
  }
}

// multi_server's pre-init: read and open everything while the files are
// still reachable; after chroot and the privilege drop they may not be.
void pre_init(RunPlan& plan, Service& service, DaemonLogger& log) {
  plan.settings.postfix_semantics = follow_postfix_release(
      plan.settings.postfix_version, *plan.main_cf, plan.source.config_dir, log);
  std::shared_ptr<Generation> gen =
      service.make_generation(std::move(*plan.main_cf), plan.settings);
  gen->preopen();  // failures are logged; those tables answer RETRY/CONFIG
  service.set_generation(std::move(gen));
  if (plan.jail.empty()) return;
  warn_outside_jail(plan, *service.generation(), log);
  // Load the name-service modules while /lib is still reachable.
  addrinfo* ai = nullptr;
  if (getaddrinfo("localhost", nullptr, nullptr, &ai) == 0) freeaddrinfo(ai);
}

// chroot (when asked) and become mail_owner; never serve as root.
void drop_privileges_step(const RunPlan& plan, const Service& service,
                          DaemonLogger& log) {
  if (plan.drop) {
    drop_privileges(service.generation()->main_cf().get("mail_owner"), plan.jail);
    if (!plan.jail.empty()) {
      log.set_postlog_path(
          fmt::format("/public/{}", postlog_name(service.generation()->main_cf())));
    }
  } else if (geteuid() == 0) {
    throw std::runtime_error("refusing to serve as root");
  }
}

std::vector<Role> served_roles(const RunPlan& plan) {
  std::vector<Role> roles;
  for (const ListenSpec& l : plan.listeners) roles.push_back(l.role);
  return roles;
}

// What lives while serving. Built after the privilege drop (post-init);
// members are destroyed in reverse order, the server after the timers.
class Lifecycle {
 public:
  Lifecycle(RunPlan plan, EventLoop& loop, Service& service, Forwarding& forwarding,
            DaemonLogger& log, std::size_t fd_clients)
      : plan_(std::move(plan)),
        loop_(loop),
        service_(service),
        forwarding_(forwarding),
        log_(log),
        fd_clients_(fd_clients),
        server_(loop, service, log, connection_limits(plan_.settings)),
        sweep_(
            loop.base(), [this] { sweep(); }, &log),
        drain_timer_(
            loop.base(), [this] { drain_tick(); }, &log),
        drain_left_(plan_.settings.drain_timeout) {}
  Lifecycle(const Lifecycle&) = delete;
  Lifecycle& operator=(const Lifecycle&) = delete;

  // Post-init and the loop; returns when the drain is over.
  int serve() {
    start_server();
    start_control();
    start_metrics();
    sweep_.arm(kSweepSeconds);
    watch_signals();
    watch_master();
    log_.info("daemon started -- version {}", PROXYD_VERSION);
    loop_.run();
    log_.info("stopped");
    return 0;
  }

 private:
  void start_server() {
    server_.set_server_limits(server_limits(plan_.settings, fd_clients_));
    for (ListenSpec& l : plan_.listeners) server_.add_listener(l.fd, l.role, l.name);
  }

  void start_control() {
    if (plan_.control_fd < 0) return;
    control_ = std::make_unique<ControlServer>(
        loop_, plan_.control_fd,
        [this](std::string_view command) { return control_command(command); }, log_);
  }

  // Every figure of the daemon at this moment, read on the loop thread.
  StatsSnapshot snapshot() {
    StatsSnapshot snap;
    service_.snapshot(snap);
    snap.server = server_.figures();
    snap.daemon.service = plan_.service;
    return snap;
  }

  void start_metrics() {
    if (plan_.metrics_fd < 0) return;
    metrics_ = std::make_unique<MetricsServer>(
        loop_, plan_.metrics_fd, [this] { return render_prometheus(snapshot()); }, log_);
    log_.info("serving metrics on {} (GET /metrics)", plan_.metrics_address);
  }

  std::string control_command(std::string_view command) {
    if (command == "stats") return render_text(snapshot());
    if (command == "stats json") return render_json(snapshot()) + "\n";
    if (command == "stats prometheus") return render_prometheus(snapshot());
    if (command == "reload") return reload_config();
    return fmt::format("error: unknown command \"{}\"\n", protocol::printable(command));
  }

  // SIGHUP or `proxyd reload`: a new generation, new limits. Refused where
  // the configuration cannot be re-read (jail) or master(8) owns reloads.
  std::string reload_config() {
    if (!plan_.jail.empty() || plan_.master_generation) {
      std::string why =
          plan_.master_generation
              ? "under master(8), use \"postfix reload\""
              : "configuration files are outside the chroot jail; restart proxyd";
      log_.warn("reload refused: {}", why);
      return fmt::format("error: reload refused: {}\n", why);
    }
    forwarding_.reconfigure(plan_.source.config_dir);
    std::string answer = reload(service_, plan_.source, log_);
    server_.set_limits(connection_limits(service_.generation()->settings()));
    server_.set_server_limits(
        server_limits(service_.generation()->settings(), fd_clients_));
    return answer;
  }

  // Lookups past lookup_timeout are answered RETRY by this sweep, which
  // also logs the summaries of rate-limited warnings.
  void sweep() {
    service_.expire(std::chrono::steady_clock::now());
    forwarding_.expire(std::chrono::steady_clock::now());
    service_.flush_warnings();
    server_.flush_warnings();
    log_.flush_limited();
    sweep_.arm(kSweepSeconds);
  }

  void watch_signals() {
    loop_.on_signal(SIGTERM, [this] { begin_drain(); });
    loop_.on_signal(SIGINT, [this] { begin_drain(); });
    loop_.on_signal(SIGHUP, [this] { (void)reload_config(); });
    // A stop or reload that arrived while starting up was held back (see
    // set_stop_signals_held) and is handled now, by the loop.
    set_stop_signals_held(false);
  }

  void watch_master() {
    if (!plan_.master_generation) return;
    master_ = std::make_unique<MasterLink>(loop_, log_, [this](bool master_alive) {
      if (master_alive) {
        log_.info(
            "master(8) reloaded (postfix reload) -- this generation exits after "
            "{} in-flight request(s)",
            server_.in_flight());
      } else {
        log_.info("master(8) went away; exiting");
      }
      begin_drain();
    });
  }

  // Stop: no new connections, let in-flight lookups finish, exit.
  void begin_drain() {
    if (draining_) return;
    draining_ = true;
    log_.info("stopping: draining {} in-flight request(s)", server_.in_flight());
    server_.stop_listening();
    control_.reset();
    metrics_.reset();  // a successor (postfix reload) may bind the address now
    if (plan_.metrics_file) remove_socket_file(*plan_.metrics_file, plan_.jail);
    for (const ListenSpec& l : plan_.listeners) {
      if (l.file) remove_socket_file(*l.file, plan_.jail);
    }
    if (plan_.control_file) remove_socket_file(*plan_.control_file, plan_.jail);
    drain_timer_.arm(0.0);
  }

  void drain_tick() {
    drain_left_ -= kDrainTickSeconds;
    if (server_.in_flight() == 0 || drain_left_ <= 0) {
      loop_.stop();
    } else {
      drain_timer_.arm(kDrainTickSeconds);
    }
  }

  RunPlan plan_;
  EventLoop& loop_;
  Service& service_;
  Forwarding& forwarding_;
  DaemonLogger& log_;
  const std::size_t fd_clients_;  // never more clients than this, also after a reload
  Server server_;
  std::unique_ptr<ControlServer> control_;
  std::unique_ptr<MetricsServer> metrics_;
  Timer sweep_;
  Timer drain_timer_;
  double drain_left_;
  bool draining_ = false;
  std::unique_ptr<MasterLink> master_;
};

}  // namespace

void set_stop_signals_held(bool held) {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, sig);
  pthread_sigmask(held ? SIG_BLOCK : SIG_UNBLOCK, &set, nullptr);
}

int run(RunPlan plan, DaemonLogger& log) {
  start_logging(plan, log);
  signal(SIGPIPE, SIG_IGN);
  const std::size_t fd_clients = raise_fd_limit(plan.settings.max_clients, log);
  EventLoop loop;
  loop.set_logger(&log);
  Service service(log, loop);
  Forwarding forwarding(loop, log, plan.settings, plan.main_cf->get("queue_directory"),
                        plan.jail, served_roles(plan), plan.own_sockets);
  service.set_forwarders(forwarding.pool(Role::ReadOnly),
                         forwarding.pool(Role::ReadWrite));
  pre_init(plan, service, log);
  forwarding.log_layout(*service.generation());
  drop_privileges_step(plan, service, log);
  Lifecycle lifecycle(std::move(plan), loop, service, forwarding, log, fd_clients);
  return lifecycle.serve();
}

}  // namespace proxyd::daemon
