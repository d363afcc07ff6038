// Client connection handling (see connection.h for the data flow).
#include "proxyd/connection.h"

#include <event2/buffer.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <stdexcept>
#include <utility>

#include "proxyd/server.h"

namespace proxyd::daemon {

using protocol::ParseKind;
using protocol::ProxyStatus;

Connection::Connection(Server& server, uint64_t id, int fd, Role role, std::string peer,
                       const ConnectionLimits& limits)
    : server_(server),
      id_(id),
      role_(role),
      peer_(std::move(peer)),
      limits_(limits),
      bev_(bufferevent_socket_new(server.loop().base(), fd,
                                  BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS)),
      request_timer_(server.loop().base(), [this] {
        fail(fmt::format("timeout after {}s reading request", limits_.request_timeout));
      }) {
  if (!bev_) throw std::runtime_error("bufferevent_socket_new failed");
  bufferevent_setcb(bev_.get(), &Connection::on_read, &Connection::on_write,
                    &Connection::on_event, this);
}

Connection::~Connection() = default;

void Connection::start() {
  std::string greeting = protocol::encode_greeting();
  bufferevent_write(bev_.get(), greeting.data(), greeting.size());
  bufferevent_enable(bev_.get(), EV_READ | EV_WRITE);
}

void Connection::on_read(bufferevent*, void* arg) noexcept {
  auto* self = static_cast<Connection*>(arg);
  try {
    self->read_input();
  } catch (const std::exception& e) {
    self->fail(fmt::format("internal error: {}", e.what()));
  } catch (...) {
    self->fail("internal error");
  }
}

void Connection::on_write(bufferevent*, void* arg) noexcept {
  auto* self = static_cast<Connection*>(arg);
  try {
    // Output drained: finish a pending close, or read again.
    if (self->closing_) {
      self->finish_close_if_drained();
      return;
    }
    self->update_read_state();
    self->decode_and_dispatch();
  } catch (...) {
    self->fail("internal error");
  }
}

void Connection::on_event(bufferevent*, short what, void* arg) noexcept {
  auto* self = static_cast<Connection*>(arg);
  if (what & BEV_EVENT_EOF) {
    // Normal end of a client session; pending replies have nobody to go to.
    self->server_.close(self->id_);
  } else if (what & BEV_EVENT_ERROR) {
    self->server_.close(self->id_);
  }
}

void Connection::read_input() {
  evbuffer* input = bufferevent_get_input(bev_.get());
  std::size_t len = evbuffer_get_length(input);
  if (len > 0) {
    const unsigned char* data = evbuffer_pullup(input, static_cast<ev_ssize_t>(len));
    decoder_.feed(std::string_view(reinterpret_cast<const char*>(data), len));
    evbuffer_drain(input, len);
  }
  decode_and_dispatch();
}

void Connection::decode_and_dispatch() {
  protocol::AttrList attrs;
  while (!closing_ && slots_.size() < limits_.max_in_flight) {
    switch (decoder_.next(attrs)) {
      case protocol::DecodeStatus::NeedMore:
        if (decoder_.buffered() > limits_.max_request_bytes) {
          fail(fmt::format("request larger than {} bytes", limits_.max_request_bytes));
          return;
        }
        if (decoder_.buffered() > 0) {
          if (!request_timer_.pending()) request_timer_.arm(limits_.request_timeout);
        } else {
          request_timer_.cancel();
        }
        update_read_state();
        return;
      case protocol::DecodeStatus::Malformed:
        fail(fmt::format("malformed request: {}", decoder_.error()));
        return;
      case protocol::DecodeStatus::Complete:
        request_timer_.cancel();
        dispatch(attrs);
        break;
    }
  }
  update_read_state();
}

void Connection::dispatch(const protocol::AttrList& attrs) {
  protocol::ParseResult parsed = protocol::parse_request(attrs);
  dict::Logger& log = server_.log();
  switch (parsed.kind) {
    case ParseKind::NotARequest:
      // Postfix would not answer at all and the client would hang; answer
      // BAD so no request goes unanswered.
      log.warn("{}: malformed request: {}", peer_, parsed.error);
      reply_now(protocol::encode_status_only(ProxyStatus::Bad));
      return;
    case ParseKind::Unknown:
      log.warn("unrecognized request: \"{}\", ignored ({})", parsed.error, peer_);
      reply_now(protocol::encode_status_only(ProxyStatus::Bad));
      return;
    case ParseKind::Bad: {
      log.warn("{}: bad {} request: {}", peer_, protocol::request_name(parsed.request.type),
               parsed.error);
      protocol::Reply reply;
      reply.status = ProxyStatus::Bad;
      reply_now(protocol::encode_reply(parsed.request.type, parsed.request.dialect, reply));
      return;
    }
    case ParseKind::Ok:
      break;
  }
  if (!parsed.extra.empty() && log.verbose()) {
    log.info("{}: ignoring {} extra attribute(s) after {} request", peer_, parsed.extra.size(),
             protocol::request_name(parsed.request.type));
  }
  uint64_t seq = next_seq_++;
  slots_.push_back(Slot{seq, false, {}});
  const protocol::RequestType type = parsed.request.type;
  const protocol::Dialect dialect = parsed.request.dialect;
  server_.service().handle(
      role_, parsed.request,
      [&server = server_, id = id_, seq, type, dialect](protocol::Reply reply) {
        server.complete(id, seq, protocol::encode_reply(type, dialect, reply));
      });
}

void Connection::reply_now(std::string bytes) {
  uint64_t seq = next_seq_++;
  slots_.push_back(Slot{seq, true, std::move(bytes)});
  flush_ready();
}

void Connection::complete(uint64_t seq, std::string bytes) {
  for (auto& slot : slots_) {
    if (slot.seq == seq) {
      slot.done = true;
      slot.bytes = std::move(bytes);
      break;
    }
  }
  flush_ready();
  if (closing_) {
    finish_close_if_drained();
    return;
  }
  // Completing a slot may free room for pipelined requests already buffered.
  decode_and_dispatch();
}

void Connection::flush_ready() {
  if (slots_.empty() || !slots_.front().done) return;
  // Nothing queued in the output buffer: send the ready replies straight
  // away with one sendmsg. That saves the two epoll_ctl calls per reply of
  // arming and disarming the write event, the largest cost of a busy loop.
  // Whatever the socket does not take goes to the buffer, in order.
  std::size_t skip = 0;  // bytes of the front slot already sent
  evbuffer* output = bufferevent_get_output(bev_.get());
  if (evbuffer_get_length(output) == 0) {
    constexpr std::size_t kMaxIov = 64;
    iovec iov[kMaxIov];
    std::size_t n = 0;
    for (auto it = slots_.begin(); it != slots_.end() && it->done && n < kMaxIov; ++it, ++n) {
      iov[n].iov_base = it->bytes.data();
      iov[n].iov_len = it->bytes.size();
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = n;
    ssize_t sent = sendmsg(bufferevent_getfd(bev_.get()), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    std::size_t left = sent > 0 ? static_cast<std::size_t>(sent) : 0;
    while (!slots_.empty() && slots_.front().done && left >= slots_.front().bytes.size()) {
      left -= slots_.front().bytes.size();
      slots_.erase(slots_.begin());
    }
    skip = left;  // a partial reply: the rest goes through the buffer
  }
  while (!slots_.empty() && slots_.front().done) {
    const std::string& bytes = slots_.front().bytes;
    bufferevent_write(bev_.get(), bytes.data() + skip, bytes.size() - skip);
    skip = 0;
    slots_.erase(slots_.begin());
  }
}

void Connection::update_read_state() {
  if (closing_) return;
  std::size_t queued = evbuffer_get_length(bufferevent_get_output(bev_.get()));
  bool pause = slots_.size() >= limits_.max_in_flight || queued > limits_.max_output_bytes;
  if (pause) {
    bufferevent_disable(bev_.get(), EV_READ);
  } else {
    bufferevent_enable(bev_.get(), EV_READ);
  }
}

void Connection::fail(const std::string& why) {
  if (closing_) return;
  closing_ = true;
  request_timer_.cancel();
  server_.log().warn("{}: {}; closing connection", peer_, why);
  // Stop reading, but deliver every reply owed for earlier requests first.
  bufferevent_disable(bev_.get(), EV_READ);
  decoder_.clear();
  finish_close_if_drained();
}

void Connection::finish_close_if_drained() {
  if (!slots_.empty()) return;
  if (evbuffer_get_length(bufferevent_get_output(bev_.get())) > 0) return;
  server_.close(id_);
}

}  // namespace proxyd::daemon
