// proxyd entry point: argv -> serve | control command | check. Standalone:
// parse the command line, load main.cf and proxyd.cf, open the
// proxymap/proxywrite sockets, then hand over to run() (lifecycle.h), which
// detaches unless -f, drops root privileges and serves. Under master(8):
// take the inherited listening socket and status channel instead,
// chroot/drop as the master.cf columns say, and exit when master goes away. The only
// place that turns exceptions into a fatal exit; nothing after start-up exits because of
// one request.
#include <fmt/format.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "dictcore/config/main_cf.h"
#include "dictcore/util/config_error.h"
#include "protocol/attr_codec.h"
#include "proxyd/check.h"
#include "proxyd/control.h"
#include "proxyd/environment.h"
#include "proxyd/lifecycle.h"
#include "proxyd/log.h"
#include "proxyd/master_proto.h"
#include "proxyd/metrics_address.h"
#include "proxyd/metrics_server.h"
#include "proxyd/options.h"
#include "proxyd/reload.h"
#include "proxyd/server.h"
#include "proxyd/settings.h"
#include "proxyd/socket_dir.h"
#include "proxyd/stats_render.h"

namespace proxyd::daemon {
namespace {

// $queue_directory/private, created and checked as Postfix lays it out.
std::filesystem::path private_dir(const dict::MainCf& cf, dict::Logger& log) {
  std::string warning;
  std::filesystem::path dir =
      prepare_socket_dir(cf.get("queue_directory"), cf.get("mail_owner"), warning);
  if (!warning.empty()) log.warn("{}", warning);
  return dir;
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

// Bind the metrics endpoint metrics_listen gives service ("" standalone),
// while still privileged and outside any chroot.
void open_metrics_socket(RunPlan& plan, std::string_view service) {
  std::string text = metrics_address_for(plan.settings.metrics_listen, service);
  if (text.empty()) return;
  std::string error;
  std::optional<MetricsAddress> address = parse_metrics_address(text, error);
  if (!address)
    throw std::runtime_error(fmt::format("metrics_listen {}: {}", text, error));
  plan.metrics_fd = bind_metrics_socket(*address);
  plan.metrics_address = address->text();
  if (address->is_unix) plan.metrics_file = remember_socket_file(address->path);
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
  open_metrics_socket(plan, "");
  plan.detach = !opts.foreground;
  plan.drop = geteuid() == 0;
  if (plan.settings.chroot) {
    if (!plan.drop)
      throw std::runtime_error("chroot = yes needs proxyd to be started as root");
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
  std::vector<std::string> outputs;      // --json / --prometheus: printed together
  const std::string command = opts.stats_format.empty()
                                  ? opts.command
                                  : fmt::format("stats {}", opts.stats_format);
  for (const ControlTarget& t : targets) {
    std::string answer;
    try {
      answer = control_request(t.path, command);
    } catch (const std::exception& e) {
      unreachable.emplace_back(e.what());
      continue;
    }
    answered = true;
    if (!opts.stats_format.empty() && !answer.starts_with("error")) {
      outputs.push_back(std::move(answer));
      continue;
    }
    if (!t.service.empty()) std::printf("service name=%s\n", t.service.c_str());
    std::fputs(answer.c_str(), stdout);
    if (answer.starts_with("error")) refused = true;
  }
  for (const std::string& why : unreachable) {
    log.log(answered ? dict::Severity::Warning : dict::Severity::Fatal, why);
  }
  if (!answered) return EX_UNAVAILABLE;
  if (opts.stats_format == "json") {
    // One object per daemon, always in an array (trailing newlines dropped).
    std::string all = "[";
    for (std::string& o : outputs) {
      while (!o.empty() && o.back() == '\n') o.pop_back();
      all += fmt::format("{}{}", all.size() > 1 ? "," : "", o);
    }
    std::printf("%s]\n", all.c_str());
  } else if (opts.stats_format == "prometheus") {
    std::fputs(merge_prometheus(outputs).c_str(), stdout);
  }
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
      throw std::runtime_error(
          fmt::format("chdir {}: {}", queue_dir, std::strerror(errno)));
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
    plan.service = args->service;
    // Like the control socket, serving does not depend on the metrics.
    try {
      open_metrics_socket(plan, args->service);
    } catch (const std::exception& e) {
      log.warn("no metrics endpoint for this process: {}", e.what());
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
  if (opts->command == "check") {
    return run_check(opts->config_dir, opts->overrides, opts->verbose, stdout);
  }
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
