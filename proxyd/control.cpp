// Control socket server and client (see control.h). A command line is at
// most kMaxCommand bytes; a client that sends more, or nothing within the
// loop's lifetime of the connection, is simply disconnected.
#include "proxyd/control.h"

#include <event2/buffer.h>
#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "dictcore/util/files.h"
#include "protocol/unix_address.h"

namespace proxyd::daemon {
namespace {

constexpr std::size_t kMaxCommand = 256;

struct BufferEventDeleter {
  void operator()(bufferevent* b) const { bufferevent_free(b); }
};

}  // namespace

struct ControlServer::Client {
  ControlServer* server = nullptr;
  std::unique_ptr<bufferevent, BufferEventDeleter> bev;
  bool answered = false;
};

ControlServer::ControlServer(EventLoop& loop, int fd, ControlHandler handler,
                             dict::Logger& log)
    : loop_(loop), handler_(std::move(handler)), log_(log) {
  evutil_make_socket_nonblocking(fd);
  listener_.reset(evconnlistener_new(loop_.base(), &ControlServer::on_accept, this,
                                     LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1,
                                     fd));
  if (!listener_) {
    ::close(fd);
    throw std::runtime_error("control socket: cannot listen");
  }
}

ControlServer::~ControlServer() = default;

void ControlServer::on_accept(evconnlistener*, evutil_socket_t fd, sockaddr*, int,
                              void* arg) noexcept {
  auto* self = static_cast<ControlServer*>(arg);
  auto client = std::make_unique<Client>();
  client->server = self;
  client->bev.reset(
      bufferevent_socket_new(self->loop_.base(), fd, BEV_OPT_CLOSE_ON_FREE));
  if (!client->bev) {
    ::close(fd);
    return;
  }
  bufferevent_setcb(client->bev.get(), &ControlServer::on_read, &ControlServer::on_write,
                    &ControlServer::on_event, client.get());
  timeval timeout{10, 0};
  bufferevent_set_timeouts(client->bev.get(), &timeout, &timeout);
  bufferevent_enable(client->bev.get(), EV_READ);
  self->clients_.push_back(std::move(client));
}

void ControlServer::on_read(bufferevent* bev, void* arg) noexcept {
  auto* client = static_cast<Client*>(arg);
  ControlServer* self = client->server;
  if (client->answered) return;
  evbuffer* in = bufferevent_get_input(bev);
  std::size_t len = 0;
  char* line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
  if (line == nullptr) {
    if (evbuffer_get_length(in) > kMaxCommand) self->drop(client);
    return;
  }
  std::string command(line, std::min(len, kMaxCommand));
  std::free(line);
  std::string answer;
  try {
    answer = self->handler_(command);
  } catch (const std::exception& e) {
    answer = fmt::format("error: {}\n", e.what());
  }
  client->answered = true;
  bufferevent_disable(bev, EV_READ);
  bufferevent_write(bev, answer.data(), answer.size());
}

void ControlServer::on_write(bufferevent*, void* arg) noexcept {
  auto* client = static_cast<Client*>(arg);
  if (client->answered) client->server->drop(client);
}

void ControlServer::on_event(bufferevent*, short, void* arg) noexcept {
  auto* client = static_cast<Client*>(arg);
  client->server->drop(client);
}

void ControlServer::drop(Client* client) {
  // Free on a later loop turn: we may be inside this client's callback.
  auto it = std::find_if(clients_.begin(), clients_.end(),
                         [client](const auto& c) { return c.get() == client; });
  if (it == clients_.end()) return;
  std::shared_ptr<Client> doomed(std::move(*it));
  clients_.erase(it);
  bufferevent_disable(doomed->bev.get(), EV_READ | EV_WRITE);
  loop_.post([doomed] {});
}

std::string control_socket_name(std::string_view service) {
  if (service.empty()) return std::string(kControlSocketName);
  return fmt::format("{}.{}", kControlSocketName, service);
}

std::vector<ControlTarget> find_control_targets(const std::string& private_dir) {
  std::vector<ControlTarget> standalone;
  std::vector<ControlTarget> services;
  const std::string prefix = fmt::format("{}.", kControlSocketName);
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(private_dir, ec)) {
    std::error_code type_ec;
    if (!entry.is_socket(type_ec)) continue;
    std::string name = entry.path().filename().string();
    if (name == kControlSocketName) {
      standalone.push_back(ControlTarget{"", entry.path().string()});
    } else if (name.starts_with(prefix) && name.size() > prefix.size()) {
      services.push_back(
          ControlTarget{name.substr(prefix.size()), entry.path().string()});
    }
  }
  std::sort(services.begin(), services.end(),
            [](const ControlTarget& a, const ControlTarget& b) {
              return a.service < b.service;
            });
  standalone.insert(standalone.end(), services.begin(), services.end());
  return standalone;
}

std::string control_request(const std::string& path, std::string_view command) {
  std::optional<sockaddr_un> where = protocol::unix_address(path);
  if (!where) throw std::runtime_error(fmt::format("bad socket path: {}", path));
  const sockaddr_un addr = *where;
  const dict::UniqueFd sock(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock.valid()) {
    throw std::runtime_error(fmt::format("socket: {}", std::strerror(errno)));
  }
  const int fd = sock.get();
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    throw std::runtime_error(fmt::format("cannot reach proxyd at {}: {} (is it running?)",
                                         path, std::strerror(errno)));
  }
  std::string line = fmt::format("{}\n", command);
  if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    throw std::runtime_error(fmt::format("write {}: {}", path, std::strerror(errno)));
  }
  std::string answer;
  switch (dict::read_all(fd, answer, std::size_t{64} << 20)) {
    case dict::ReadAll::Ok:
      return answer;
    case dict::ReadAll::Error:
      throw std::runtime_error(fmt::format("read {}: {}", path, std::strerror(errno)));
    case dict::ReadAll::TooLarge:
      break;
  }
  throw std::runtime_error("answer too long");
}

}  // namespace proxyd::daemon
