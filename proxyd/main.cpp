// proxyd entry point. Standalone: parse the command line, load main.cf and
// proxyd.cf, open the proxymap/proxywrite sockets, detach unless -f, drop
// root privileges, serve. Under master(8): take the inherited listening
// socket and status channel instead, chroot/drop as the master.cf columns
// say, and exit when master goes away. The only place that turns exceptions
// into a fatal exit; nothing after start-up exits because of one request.
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "protocol/attr_codec.h"
#include "dictcore/config_error.h"
#include "dictcore/main_cf.h"
#include "proxyd/control.h"
#include "proxyd/environment.h"
#include "proxyd/check.h"
#include "proxyd/event_loop.h"
#include "proxyd/forward_layout.h"
#include "proxyd/forward_pool.h"
#include "proxyd/log.h"
#include "proxyd/master_proto.h"
#include "proxyd/options.h"
#include "proxyd/postfix_release.h"
#include "proxyd/preflight.h"
#include "proxyd/privs.h"
#include "proxyd/reload.h"
#include "proxyd/server.h"
#include "proxyd/service.h"
#include "proxyd/settings.h"
#include "proxyd/socket_dir.h"

namespace proxyd::daemon {
namespace {

// One socket to serve.
struct ListenSpec {
  int fd = -1;
  Role role = Role::ReadOnly;
  std::string name;
  std::optional<SocketFile> file;  // created by this process (standalone only)
};

// Everything run() needs, prepared while still privileged.
struct RunPlan {
  ConfigSource source;
  std::optional<dict::MainCf> main_cf;
  Settings settings;
  std::vector<ListenSpec> listeners;
  std::vector<std::string> own_sockets;  // absolute paths of the sockets served
  int control_fd = -1;       // control socket, when there is one
  std::optional<SocketFile> control_file;
  bool detach = false;
  bool drop = false;         // drop to mail_owner before serving
  std::string jail;          // chroot directory ("" = none)
  std::optional<uint32_t> master_generation;  // set under master(8)
};

ConnectionLimits connection_limits(const Settings& s) {
  ConnectionLimits limits;
  limits.max_request_bytes = static_cast<std::size_t>(s.max_request_bytes);
  limits.max_in_flight = static_cast<std::size_t>(s.max_in_flight);
  limits.request_timeout = s.request_timeout;
  return limits;
}

// $queue_directory/private, created and checked as Postfix lays it out.
std::filesystem::path private_dir(const dict::MainCf& cf, dict::Logger& log) {
  std::string warning;
  std::filesystem::path dir =
      prepare_socket_dir(cf.get("queue_directory"), cf.get("mail_owner"), warning);
  if (!warning.empty()) log.warn("{}", warning);
  return dir;
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

// Descriptors kept for everything that is not a client: listeners, the
// control socket, SQL sessions, table files, the loop's own.
constexpr rlim_t kReservedFds = 1024;

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
    rlim_t fit = rl.rlim_cur > 2 * kReservedFds ? rl.rlim_cur - kReservedFds : rl.rlim_cur / 2;
    log.warn("max_clients = {} does not fit the open file limit {}; serving at most {} clients",
             max_clients, static_cast<unsigned long long>(rl.rlim_cur),
             static_cast<unsigned long long>(fit));
    return static_cast<std::size_t>(fit);
  }
  return static_cast<std::size_t>(max_clients);
}

ServerLimits server_limits(const Settings& s, std::size_t fd_clients) {
  ServerLimits limits;
  limits.max_clients = std::min(static_cast<std::size_t>(s.max_clients), fd_clients);
  limits.max_memory_bytes = static_cast<std::size_t>(s.max_memory_bytes);
  return limits;
}

// SIGTERM, SIGINT and SIGHUP are held pending from the moment the sockets
// may accept clients until the loop handles them: a client (or a test) that
// connects and then stops proxyd at once must get a drain, not a default
// signal death. Threads started meanwhile (SQL workers) keep them blocked,
// so they always reach the loop's thread.
void set_stop_signals_held(bool held) {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, sig);
  pthread_sigmask(held ? SIG_BLOCK : SIG_UNBLOCK, &set, nullptr);
}

// The forwarding pools of the roles this process serves (see
// forward_pool.h), built from proxyd.cf and kept across reloads.
class Forwarding {
 public:
  Forwarding(EventLoop& loop, dict::Logger& log, const RunPlan& plan)
      : log_(log),
        plan_(plan),
        queue_dir_(plan.main_cf->get("queue_directory")),
        read_(loop.base(), log, "read", limits(plan.settings, Role::ReadOnly)),
        write_(loop.base(), log, "write", limits(plan.settings, Role::ReadWrite)) {}

  ForwardPool* pool(Role role) { return role == Role::ReadOnly ? &read_ : &write_; }

  // proxyd.cf changed (reload): new sockets and limits.
  void reconfigure(const std::filesystem::path& config_dir) {
    try {
      Settings s = load_settings(config_dir, log_);
      read_.configure(limits(s, Role::ReadOnly));
      write_.configure(limits(s, Role::ReadWrite));
    } catch (const std::exception&) {
      // reload() reports the broken proxyd.cf and keeps the old configuration.
    }
  }

  void expire(ForwardPool::Clock::time_point now) {
    read_.expire(now);
    write_.expire(now);
  }

  // Say where forwarded requests go or, without forwarding (the drop-in
  // layout), which allowlisted tables proxyd cannot serve and the lines of
  // the forwarding layout.
  void log_layout(const Generation& gen) {
    std::vector<std::string> unserved;
    for (Role role : {Role::ReadOnly, Role::ReadWrite}) {
      if (!serves(role)) continue;
      ForwardPool* p = pool(role);
      if (p->enabled()) {
        log_.info("forwarding {} requests for table types proxyd does not serve to {}",
                  role == Role::ReadOnly ? "read-only" : "read-write", p->limits().path);
        continue;
      }
      for (const std::string& t : gen.allowlist(role).tables()) {
        if (!served_natively(t) && std::find(unserved.begin(), unserved.end(), t) ==
                                       unserved.end()) {
          unserved.push_back(t);
        }
      }
    }
    if (unserved.empty()) return;
    for (const std::string& t : unserved) {
      log_.warn("table {} is allowlisted but proxyd cannot serve its type; it answers RETRY "
                "until Postfix's proxymap serves it behind proxyd", t);
    }
    std::string lines = forwarding_layout_lines(!plan_.jail.empty());
    log_.warn("to serve every table type, use the forwarding layout (then \"postfix reload\"):");
    std::size_t pos = 0;
    while (pos < lines.size()) {
      std::size_t end = lines.find('\n', pos);
      log_.warn("{}", lines.substr(pos, end - pos));
      pos = end + 1;
    }
  }

 private:
  bool serves(Role role) const {
    return std::any_of(plan_.listeners.begin(), plan_.listeners.end(),
                       [role](const ListenSpec& l) { return l.role == role; });
  }
  ForwardLimits limits(const Settings& s, Role role) const {
    if (!serves(role)) return forward_limits(s, "");
    const std::string& setting =
        role == Role::ReadOnly ? s.forward_read_socket : s.forward_write_socket;
    return forward_limits(
        s, forward_socket_path(setting, queue_dir_, plan_.jail, plan_.own_sockets));
  }

  dict::Logger& log_;
  const RunPlan& plan_;
  std::string queue_dir_;
  ForwardPool read_;
  ForwardPool write_;
};

int run(RunPlan plan, DaemonLogger& log) {
  if (plan.detach) {
    daemonize();
    log.use_syslog(true);
  }
  // Postfix 3.4+ with maillog_file: every daemon logs through postlogd.
  const std::string maillog = plan.main_cf->get("maillog_file");
  std::string postlog_name = plan.main_cf->get("postlog_service_name");
  if (postlog_name.empty()) postlog_name = "postlog";
  if (!maillog.empty() && (plan.detach || plan.master_generation)) {
    log.use_postlog(
        fmt::format("{}/public/{}", plan.main_cf->get("queue_directory"), postlog_name),
        plan.main_cf->get("myhostname"));
  }
  signal(SIGPIPE, SIG_IGN);
  // Never more than the limit set here allows, also after a reload.
  const std::size_t fd_clients = raise_fd_limit(plan.settings.max_clients, log);

  // Read and open everything while the files are still reachable: after
  // chroot and the privilege drop they may not be.
  EventLoop loop;
  Service service(log, loop);
  Forwarding forwarding(loop, log, plan);
  service.set_forwarders(forwarding.pool(Role::ReadOnly), forwarding.pool(Role::ReadWrite));
  {
    plan.settings.postfix_semantics = resolve_postfix_version(
        plan.settings.postfix_version, *plan.main_cf, plan.source.config_dir, log);
    std::shared_ptr<Generation> gen =
        service.make_generation(std::move(*plan.main_cf), plan.settings);
    gen->preopen();  // failures are logged; those tables answer RETRY/CONFIG
    service.set_generation(std::move(gen));
  }
  forwarding.log_layout(*service.generation());
  if (!plan.jail.empty()) {
    // What the tables need at lookup time must be inside the jail: say now
    // what is not (sqlite databases, database sockets, TLS/option files).
    const Generation& gen = *service.generation();
    dict::TableEnv env;
    env.main_cf = &gen.main_cf();
    env.log = &log;
    for (Role role : {Role::ReadOnly, Role::ReadWrite}) {
      for (const std::string& table : gen.allowlist(role).tables()) {
        for (const Finding& f : preflight_table(
                 table, env, plan.jail, nullptr,
                 plan.master_generation ? JailOwner::Master : JailOwner::Standalone)) {
          if (f.kind == FindingKind::OutsideJail) log.warn("{}", f.message);
        }
      }
    }
    // Load the name-service modules while /lib is still reachable.
    addrinfo* ai = nullptr;
    if (getaddrinfo("localhost", nullptr, nullptr, &ai) == 0) freeaddrinfo(ai);
  }
  std::unique_ptr<ControlServer> control;
  const bool can_reload = plan.jail.empty() && !plan.master_generation;

  if (plan.drop) {
    drop_privileges(service.generation()->main_cf().get("mail_owner"), plan.jail);
    if (!plan.jail.empty()) log.set_postlog_path(fmt::format("/public/{}", postlog_name));
  } else if (geteuid() == 0) {
    throw std::runtime_error("refusing to serve as root");
  }

  Server server(loop, service, log, connection_limits(plan.settings));
  server.set_server_limits(server_limits(plan.settings, fd_clients));
  for (ListenSpec& l : plan.listeners) server.add_listener(l.fd, l.role, l.name);

  auto do_reload = [&]() -> std::string {
    if (!can_reload) {
      std::string why = plan.master_generation
                            ? "under master(8), use \"postfix reload\""
                            : "configuration files are outside the chroot jail; restart proxyd";
      log.warn("reload refused: {}", why);
      return fmt::format("error: reload refused: {}\n", why);
    }
    forwarding.reconfigure(plan.source.config_dir);
    std::string answer = reload(service, plan.source, log);
    server.set_limits(connection_limits(service.generation()->settings()));
    server.set_server_limits(server_limits(service.generation()->settings(), fd_clients));
    return answer;
  };
  if (plan.control_fd >= 0) {
    control = std::make_unique<ControlServer>(
        loop, plan.control_fd,
        [&](std::string_view command) -> std::string {
          if (command == "stats") return service.stats_text() + server.stats_text();
          if (command == "reload") return do_reload();
          return fmt::format("error: unknown command \"{}\"\n", protocol::printable(command));
        },
        log);
  }

  // Lookups past lookup_timeout are answered RETRY by this sweep, which
  // also logs the summaries of rate-limited warnings.
  Timer sweep(loop.base(), [&] {
    service.expire(std::chrono::steady_clock::now());
    forwarding.expire(std::chrono::steady_clock::now());
    service.flush_warnings();
    server.flush_warnings();
    log.flush_limited();
    sweep.arm(0.1);
  });
  sweep.arm(0.1);

  // Stop: no new connections, let in-flight lookups finish, exit.
  bool draining = false;
  double drain_left = plan.settings.drain_timeout;
  Timer drain_timer(loop.base(), [&] {
    drain_left -= 0.05;
    if (server.in_flight() == 0 || drain_left <= 0) {
      loop.stop();
    } else {
      drain_timer.arm(0.05);
    }
  });
  auto begin_drain = [&] {
    if (draining) return;
    draining = true;
    log.info("stopping: draining {} in-flight request(s)", server.in_flight());
    server.stop_listening();
    control.reset();
    for (const ListenSpec& l : plan.listeners) {
      if (l.file) remove_socket_file(*l.file, plan.jail);
    }
    if (plan.control_file) remove_socket_file(*plan.control_file, plan.jail);
    drain_timer.arm(0.0);
  };
  loop.on_signal(SIGTERM, begin_drain);
  loop.on_signal(SIGINT, begin_drain);
  loop.on_signal(SIGHUP, [&] { (void)do_reload(); });
  // A stop or reload that arrived while starting up was held back (see
  // hold_stop_signals) and is handled now, by the loop.
  set_stop_signals_held(false);
  std::unique_ptr<MasterLink> master;
  if (plan.master_generation) {
    master = std::make_unique<MasterLink>(loop, *plan.master_generation, [&](bool master_alive) {
      if (master_alive) {
        log.info("master(8) reloaded (postfix reload) -- this generation exits after "
                 "{} in-flight request(s)", server.in_flight());
      } else {
        log.info("master(8) went away; exiting");
      }
      begin_drain();
    });
  }

  log.info("daemon started -- version {}", PROXYD_VERSION);
  loop.run();
  log.info("stopped");
  return 0;
}

// Bind the control socket for service ("" standalone) in private_dir. A
// master(8) service takes the name over from a live predecessor (the
// previous generation, still draining): the newest process is the one to
// ask, and the predecessor leaves the replaced file alone on exit.
void open_control_socket(RunPlan& plan, const std::filesystem::path& private_dir,
                         std::string_view service) {
  std::string path = (private_dir / control_socket_name(service)).string();
  struct stat st {};
  if (!service.empty() && lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
    unlink(path.c_str());
  }
  plan.control_fd = make_unix_listener(path, 16, 0600);
  plan.control_file = remember_socket_file(path);
}

int serve_standalone(const Options& opts, DaemonLogger& log) {
  set_stop_signals_held(true);
  RunPlan plan;
  plan.source = ConfigSource{opts.config_dir, opts.overrides};
  plan.main_cf = load_main_cf(plan.source, log);
  clean_environment(plan.main_cf->get("import_environment"));
  plan.settings = load_settings(opts.config_dir, log);
  std::filesystem::path dir = private_dir(*plan.main_cf, log);
  // The sockets Postfix clients use: private/proxymap and private/proxywrite
  // unless main.cf names other services (the forwarding layout).
  for (auto [param, role] : {std::pair{"proxymap_service_name", Role::ReadOnly},
                             std::pair{"proxywrite_service_name", Role::ReadWrite}}) {
    std::string name = plan.main_cf->get(param);
    if (name.empty() || name.find('/') != std::string::npos) {
      throw dict::ConfigError(fmt::format("main.cf: bad {} \"{}\"", param, name));
    }
    std::string path = (dir / name).string();
    int fd = make_unix_listener(path, 1024);
    plan.listeners.push_back(ListenSpec{fd, role, name, remember_socket_file(path)});
    plan.own_sockets.push_back(path);
  }
  open_control_socket(plan, dir, "");
  plan.detach = !opts.foreground;
  plan.drop = geteuid() == 0;
  if (plan.settings.chroot) {
    if (!plan.drop) throw std::runtime_error("chroot = yes needs proxyd to be started as root");
    plan.jail = plan.main_cf->get("queue_directory");
  }
  return run(std::move(plan), log);
}

// `proxyd stats` / `proxyd reload`: ask every running daemon, the
// standalone one or one per master(8) service (each answer then follows a
// "service name=SERVICE" line). Fails only when none can be reached.
int run_control_command(const Options& opts, DaemonLogger& log) {
  dict::MainCf cf = load_main_cf(ConfigSource{opts.config_dir, opts.overrides}, log);
  const std::string dir =
      (std::filesystem::path(cf.get("queue_directory")) / "private").string();
  std::vector<ControlTarget> targets = find_control_targets(dir);
  if (targets.empty()) {
    log.log(dict::Severity::Fatal,
            fmt::format("no proxyd control socket in {} (is proxyd running?)", dir));
    return EX_UNAVAILABLE;
  }
  bool answered = false;
  bool refused = false;
  std::vector<std::string> unreachable;  // sockets left behind by killed daemons
  for (const ControlTarget& t : targets) {
    std::string answer;
    try {
      answer = control_request(t.path, opts.command);
    } catch (const std::exception& e) {
      unreachable.emplace_back(e.what());
      continue;
    }
    answered = true;
    if (!t.service.empty()) std::printf("service name=%s\n", t.service.c_str());
    std::fputs(answer.c_str(), stdout);
    if (answer.starts_with("error")) refused = true;
  }
  for (const std::string& why : unreachable) {
    log.log(answered ? dict::Severity::Warning : dict::Severity::Fatal, why);
  }
  if (!answered) return EX_UNAVAILABLE;
  return refused ? 1 : 0;
}

int serve_under_master(int argc, char** argv) {
  set_stop_signals_held(true);
  std::string error;
  auto args = parse_master_args(argc, argv, error);
  const char* tag_env = std::getenv("MAIL_LOGTAG");
  std::string tag = fmt::format("{}/{}", tag_env && *tag_env ? tag_env : "postfix",
                                args ? args->service : std::string("proxyd"));
  DaemonLogger log(tag, true, args && args->verbose);
  if (!args) {
    log.log(dict::Severity::Fatal, error);
    return EX_USAGE;
  }
  try {
    RunPlan plan;
    plan.source = ConfigSource{args->config_dir, args->overrides};
    plan.main_cf = load_main_cf(plan.source, log);
    clean_environment(plan.main_cf->get("import_environment"));
    plan.settings = load_settings(args->config_dir, log);
    std::string queue_dir = plan.main_cf->get("queue_directory");
    if (chdir(queue_dir.c_str()) != 0) {
      throw std::runtime_error(fmt::format("chdir {}: {}", queue_dir, std::strerror(errno)));
    }
    std::string role_error;
    std::optional<Role> role = role_for_service(args->service, *plan.main_cf, role_error);
    if (!role) {
      log.log(dict::Severity::Fatal, role_error);
      return EX_USAGE;
    }
    plan.listeners.push_back(ListenSpec{kMasterListenFd, *role, args->service, {}});
    plan.own_sockets.push_back(
        (std::filesystem::path(queue_dir) / "private" / args->service).string());
    // stats for this service; serving does not depend on it.
    try {
      open_control_socket(plan, private_dir(*plan.main_cf, log), args->service);
    } catch (const std::exception& e) {
      log.warn("no control socket, \"proxyd stats\" will not reach this process: {}",
               e.what());
    }
    plan.drop = args->unprivileged && geteuid() == 0;
    plan.jail = args->chroot ? queue_dir : std::string();
    plan.master_generation = args->generation;
    return run(std::move(plan), log);
  } catch (const std::exception& e) {
    log.log(dict::Severity::Fatal, e.what());
    return EX_CONFIG;
  }
}

}  // namespace
}  // namespace proxyd::daemon

int main(int argc, char** argv) {
  using namespace proxyd::daemon;
  if (started_by_master()) return serve_under_master(argc, argv);
  std::string error;
  auto opts = parse_options(argc, argv, error);
  if (!opts) {
    std::fprintf(stderr, "proxyd: fatal: %s\n%s", error.c_str(), usage_text().c_str());
    return EX_USAGE;
  }
  if (opts->help) {
    std::fputs(usage_text().c_str(), stdout);
    return 0;
  }
  // BEGIN check command (issue #5 point 4)
  if (opts->command == "check") {
    return run_check(opts->config_dir, opts->overrides, opts->verbose, stdout);
  }
  // END check command
  DaemonLogger log("proxyd", false, opts->verbose);
  try {
    if (opts->command == "stats" || opts->command == "reload") {
      return run_control_command(*opts, log);
    }
    return serve_standalone(*opts, log);
  } catch (const proxyd::dict::ConfigError& e) {
    log.log(proxyd::dict::Severity::Fatal, e.what());
    return EX_CONFIG;
  } catch (const std::exception& e) {
    log.log(proxyd::dict::Severity::Fatal, e.what());
    return EX_OSERR;
  }
}
