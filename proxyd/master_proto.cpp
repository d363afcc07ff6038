// master(8) hand-over and status channel (see master_proto.h). The status
// record is master's native struct: int pid, unsigned generation, int avail.
#include "proxyd/master_proto.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include <fmt/format.h>

namespace proxyd::daemon {
namespace {

struct StatusRecord {
  int32_t pid;
  uint32_t generation;
  int32_t avail;
};
static_assert(sizeof(StatusRecord) == 12, "master(8) status record is 12 bytes");

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
      "service name \"{}\" is neither proxymap_service_name ({}) nor proxywrite_service_name "
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
  args.service = std::string(slash == std::string_view::npos ? argv0 : argv0.substr(slash + 1));

  // multi_server's options; arguments without a use here are accepted and ignored.
  constexpr std::string_view kWithArg = "imnost";
  constexpr std::string_view kFlags = "cdDlSuvVz";
  int i = 1;
  for (; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a.size() < 2 || a[0] != '-') break;
    for (std::size_t j = 1; j < a.size(); ++j) {
      char c = a[j];
      if (kFlags.find(c) != std::string_view::npos) {
        if (c == 'c') args.chroot = true;
        if (c == 'u') args.unprivileged = true;
        if (c == 'v') args.verbose = true;
        continue;
      }
      if (kWithArg.find(c) == std::string_view::npos) {
        error = fmt::format("invalid option -- '{}'", c);
        return std::nullopt;
      }
      std::string value;
      if (j + 1 < a.size()) {
        value = std::string(a.substr(j + 1));
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        error = fmt::format("option -{} requires an argument", c);
        return std::nullopt;
      }
      if (c == 'n') args.service = value;
      if (c == 'o') {
        auto eq = value.find('=');
        if (eq == std::string::npos || eq == 0) {
          error = fmt::format("bad -o argument \"{}\"", value);
          return std::nullopt;
        }
        args.overrides.emplace_back(value.substr(0, eq), value.substr(eq + 1));
      }
      break;
    }
  }
  if (i < argc) {
    error = fmt::format("unexpected command-line argument: {}", argv[i]);
    return std::nullopt;
  }
  if (args.service.empty()) {
    error = "empty service name";
    return std::nullopt;
  }
  return args;
}

MasterLink::MasterLink(EventLoop& loop, uint32_t generation,
                       std::function<void(bool master_alive)> on_gone)
    : generation_(generation), master_pid_(getppid()), on_gone_(std::move(on_gone)) {
  ev_.reset(event_new(loop.base(), kMasterStatusFd, EV_READ | EV_PERSIST,
                      &MasterLink::on_readable, this));
  event_add(ev_.get(), nullptr);
}

bool MasterLink::send_status(bool available) {
  StatusRecord rec{static_cast<int32_t>(getpid()), generation_, available ? 1 : 0};
  return write(kMasterStatusFd, &rec, sizeof rec) == static_cast<ssize_t>(sizeof rec);
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
    // on_gone only logs and starts the drain; nothing to report it to.
  }
}

}  // namespace proxyd::daemon
