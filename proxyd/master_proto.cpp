// master(8) hand-over and status channel (see master_proto.h). proxyd only
// watches the status channel for master going away; it sends no status
// records (master(8) does not need them from a multi-client service).
#include "proxyd/master_proto.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "proxyd/getopt_scan.h"

namespace proxyd::daemon {
namespace {

bool is_socket(int fd) {
  struct stat st {};
  return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

}  // namespace

bool started_by_master() {
  return std::getenv("GENERATION") != nullptr && is_socket(kMasterStatusFd) &&
         is_socket(kMasterListenFd);
}

std::optional<Role> role_for_service(std::string_view service, const dict::MainCf& cf,
                                     std::string& error) {
  const std::string writer = cf.get("proxywrite_service_name");
  const std::string reader = cf.get("proxymap_service_name");
  if (service == writer) return Role::ReadWrite;
  if (service == reader) return Role::ReadOnly;
  error = fmt::format(
      "service name \"{}\" is neither proxymap_service_name ({}) nor "
      "proxywrite_service_name "
      "({}) in main.cf (name the master.cf service after one of them, or use -n)",
      service, reader, writer);
  return std::nullopt;
}

std::optional<MasterArgs> parse_master_args(int argc, char** argv, std::string& error) {
  MasterArgs args;
  const char* mail_config = std::getenv("MAIL_CONFIG");
  args.config_dir = mail_config && *mail_config ? mail_config : "/etc/postfix";
  if (const char* gen = std::getenv("GENERATION")) {
    args.generation = static_cast<uint32_t>(std::strtoul(gen, nullptr, 8));
  }
  std::string_view argv0 = argc > 0 ? argv[0] : "proxymap";
  auto slash = argv0.rfind('/');
  args.service =
      std::string(slash == std::string_view::npos ? argv0 : argv0.substr(slash + 1));

  // multi_server's options (flags cdDlSuvVz, with an argument imnost);
  // those without a use here are accepted and ignored.
  GetoptScan scan(argc, argv, "+:cdDlSuvVzi:m:n:o:s:t:");
  for (int c; (c = scan.next(error)) != -1;) {
    if (c == '?') return std::nullopt;
    if (c == 'c') args.chroot = true;
    if (c == 'u') args.unprivileged = true;
    if (c == 'v') args.verbose = true;
    if (c == 'n') args.service = optarg;
    if (c == 'o' && !add_override(optarg, args.overrides)) {
      error = fmt::format("bad -o argument \"{}\"", optarg);
      return std::nullopt;
    }
  }
  if (scan.index() < argc) {
    error = fmt::format("unexpected command-line argument: {}", argv[scan.index()]);
    return std::nullopt;
  }
  if (args.service.empty()) {
    error = "empty service name";
    return std::nullopt;
  }
  return args;
}

MasterLink::MasterLink(EventLoop& loop, dict::Logger& log,
                       std::function<void(bool master_alive)> on_gone)
    : master_pid_(getppid()), on_gone_(std::move(on_gone)), log_(log) {
  ev_.reset(event_new(loop.base(), kMasterStatusFd, EV_READ | EV_PERSIST,
                      &MasterLink::on_readable, this));
  event_add(ev_.get(), nullptr);
}

void MasterLink::on_readable(evutil_socket_t fd, short, void* arg) noexcept {
  auto* self = static_cast<MasterLink*>(arg);
  char buf[64];
  ssize_t n = read(fd, buf, sizeof buf);
  if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR))) return;
  // EOF or error: master exited, or closed our generation on reload. A
  // master that reloaded is still our parent; a dead one left us to init
  // (or a subreaper).
  if (self->gone_) return;
  self->gone_ = true;
  event_del(self->ev_.get());
  try {
    self->on_gone_(getppid() == self->master_pid_);
  } catch (...) {
    // The drain did not start, so this process outlives master(8) until it
    // is stopped: say so once.
    try {
      self->log_.warn("master(8) closed the status channel, but the drain did not start");
    } catch (...) {
      // Logging itself failed (out of memory): there is no one left to tell.
    }
  }
}

}  // namespace proxyd::daemon
