// proxyd entry point: parse the command line, load main.cf, open the
// proxymap/proxywrite sockets, detach unless -f, and run the event loop.
// The only place that turns exceptions into a fatal exit status; nothing
// after start-up may make the daemon exit because of one request.
#include <signal.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "dictcore/allowlist.h"
#include "dictcore/config_error.h"
#include "dictcore/main_cf.h"
#include "proxyd/event_loop.h"
#include "proxyd/log.h"
#include "proxyd/options.h"
#include "proxyd/server.h"
#include "proxyd/service.h"
#include "proxyd/settings.h"

namespace proxyd::daemon {
namespace {

// Load main.cf from the -c directory with -o overrides applied.
dict::MainCf load_main_cf(const Options& opts, dict::Logger& log) {
  dict::MainCf cf = dict::MainCf::load(opts.config_dir, log);
  for (const auto& [name, value] : opts.overrides) cf.set_override(name, value);
  return cf;
}

dict::PoolSettings pool_settings(const Settings& s) {
  dict::PoolSettings p;
  p.max_sessions = s.max_sessions;
  return p;
}

ConnectionLimits connection_limits(const Settings& s) {
  ConnectionLimits limits;
  limits.max_request_bytes = static_cast<std::size_t>(s.max_request_bytes);
  limits.max_in_flight = static_cast<std::size_t>(s.max_in_flight);
  limits.request_timeout = s.request_timeout;
  return limits;
}

// Make sure $queue_directory/private exists (mode 0700, as Postfix has it).
std::filesystem::path private_dir(const dict::MainCf& cf) {
  std::filesystem::path dir = std::filesystem::path(cf.get("queue_directory")) / "private";
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    throw std::runtime_error(fmt::format("mkdir {}: {}", dir.string(), std::strerror(errno)));
  }
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

int serve(const Options& opts, DaemonLogger& log) {
  dict::MainCf main_cf = load_main_cf(opts, log);
  Settings settings = load_settings(opts.config_dir, log);
  // Validate the allowlists before detaching, so errors reach the terminal.
  (void)dict::Allowlist::build(main_cf, true, log);
  (void)dict::Allowlist::build(main_cf, false, log);

  std::filesystem::path dir = private_dir(main_cf);
  const std::string proxymap_path = (dir / "proxymap").string();
  const std::string proxywrite_path = (dir / "proxywrite").string();
  int read_fd = make_unix_listener(proxymap_path, 1024);
  int write_fd = make_unix_listener(proxywrite_path, 1024);

  if (!opts.foreground) {
    daemonize();
    log.use_syslog(true);
  }
  signal(SIGPIPE, SIG_IGN);

  EventLoop loop;
  Service service(log);
  service.set_generation(
      std::make_shared<Generation>(std::move(main_cf), pool_settings(settings), loop, log));
  Server server(loop, service, log, connection_limits(settings));
  server.add_listener(read_fd, Role::ReadOnly, "proxymap");
  server.add_listener(write_fd, Role::ReadWrite, "proxywrite");

  // SIGTERM/SIGINT: stop accepting, let in-flight lookups finish, exit.
  bool draining = false;
  double drain_left = settings.drain_timeout;
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
    unlink(proxymap_path.c_str());
    unlink(proxywrite_path.c_str());
    drain_timer.arm(0.0);
  };
  loop.on_signal(SIGTERM, begin_drain);
  loop.on_signal(SIGINT, begin_drain);
  loop.on_signal(SIGHUP, [&] {
    log.warn("configuration reload is not supported yet; restart proxyd to apply changes");
  });

  log.info("daemon started -- version {}, configuration {}", PROXYD_VERSION, opts.config_dir);
  loop.run();
  log.info("stopped");
  return 0;
}

}  // namespace
}  // namespace proxyd::daemon

int main(int argc, char** argv) {
  using namespace proxyd::daemon;
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
  DaemonLogger log("proxyd", false, opts->verbose);
  try {
    return serve(*opts, log);
  } catch (const proxyd::dict::ConfigError& e) {
    log.log(proxyd::dict::Severity::Fatal, e.what());
    return EX_CONFIG;
  } catch (const std::exception& e) {
    log.log(proxyd::dict::Severity::Fatal, e.what());
    return EX_OSERR;
  }
}
