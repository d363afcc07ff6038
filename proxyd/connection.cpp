// Client connection handling (see connection.h for the data flow).
#include "proxyd/connection.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <span>

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
      fd_(fd),
      read_ev_(event_new(server.loop().base(), fd, EV_READ | EV_PERSIST,
                         &Connection::on_readable, this)),
      write_ev_(event_new(server.loop().base(), fd, EV_WRITE | EV_PERSIST,
                          &Connection::on_writable, this)),
      request_timer_(server.loop().base(), [this] {
        fail(fmt::format("timeout after {}s reading request", limits_.request_timeout));
      }) {
  if (!read_ev_ || !write_ev_) {
    ::close(fd_);
    throw std::runtime_error("event_new failed");
  }
}

Connection::~Connection() {
  read_ev_.reset();
  write_ev_.reset();
  ::close(fd_);
}

void Connection::start() {
  // Sent like a reply: straight to the socket.
  reply_now(protocol::encode_greeting());
  set_reading(true);
}

void Connection::set_reading(bool on) {
  if (on == reading_) return;
  reading_ = on;
  if (on) {
    event_add(read_ev_.get(), nullptr);
  } else {
    event_del(read_ev_.get());
  }
}

void Connection::on_readable(evutil_socket_t, short, void* arg) noexcept {
  auto* self = static_cast<Connection*>(arg);
  try {
    self->read_input();
  } catch (const std::exception& e) {
    self->fail(fmt::format("internal error: {}", e.what()));
  } catch (...) {
    self->fail("internal error");
  }
}

void Connection::on_writable(evutil_socket_t, short, void* arg) noexcept {
  auto* self = static_cast<Connection*>(arg);
  try {
    self->write_pending();
  } catch (...) {
    self->fail("internal error");
  }
}

void Connection::read_input() {
  std::span<char> buf = server_.read_buffer();
  ssize_t n = ::read(fd_, buf.data(), buf.size());
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    set_reading(false);
    server_.close(id_);  // reset by the client: nobody to answer
    return;
  }
  if (n == 0) {
    // Normal end of a client session; pending replies have nobody to go to.
    set_reading(false);
    server_.close(id_);
    return;
  }
  decoder_.feed(std::string_view(buf.data(), static_cast<std::size_t>(n)));
  decode_and_dispatch();
}

void Connection::write_pending() {
  while (out_off_ < out_.size()) {
    ssize_t n = ::send(fd_, out_.data() + out_off_, out_.size() - out_off_,
                       MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;  // wait for writability
      if (errno == EINTR) continue;
      set_reading(false);
      event_del(write_ev_.get());
      server_.close(id_);
      return;
    }
    out_off_ += static_cast<std::size_t>(n);
  }
  // Output drained: release the buffer, finish a pending close, read again.
  out_.clear();
  out_.shrink_to_fit();
  out_off_ = 0;
  event_del(write_ev_.get());
  if (closing_) {
    finish_close_if_drained();
    return;
  }
  update_read_state();
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
  const protocol::RequestType type = parsed.request.type;
  const protocol::Dialect dialect = parsed.request.dialect;
  // Cache hits are answered here, without the completion callbacks.
  if (auto reply = server_.service().answer_now(role_, parsed.request)) {
    reply_now(protocol::encode_reply(type, dialect, *reply));
    return;
  }
  uint64_t seq = next_seq_++;
  slots_.push_back(Slot{seq, false, {}});
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
  std::size_t sent_total = 0;
  if (out_off_ == out_.size()) {
    // Nothing waiting for the socket: send the ready replies straight away
    // with one sendmsg; only what it does not take is kept.
    constexpr std::size_t kMaxIov = 64;
    iovec iov[kMaxIov];
    std::size_t n = 0;
    for (auto it = slots_.begin(); it != slots_.end() && it->done && n < kMaxIov; ++it, ++n) {
      iov[n].iov_base = it->bytes.data();
      iov[n].iov_len = it->bytes.size();
    }
    ssize_t sent = 0;
    if (n == 1) {  // the usual case: one reply, no message header to copy in
      sent = ::send(fd_, iov[0].iov_base, iov[0].iov_len, MSG_DONTWAIT | MSG_NOSIGNAL);
    } else {
      msghdr msg{};
      msg.msg_iov = iov;
      msg.msg_iovlen = n;
      sent = sendmsg(fd_, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    }
    sent_total = sent > 0 ? static_cast<std::size_t>(sent) : 0;
  }
  std::size_t done = 0;
  for (auto& slot : slots_) {
    if (!slot.done) break;
    std::size_t skip = std::min(sent_total, slot.bytes.size());
    sent_total -= skip;
    if (skip < slot.bytes.size()) out_.append(slot.bytes, skip, std::string::npos);
    ++done;
  }
  slots_.erase(slots_.begin(), slots_.begin() + static_cast<std::ptrdiff_t>(done));
  // A write error (the client went away) shows up as EOF on the next read.
  if (out_off_ < out_.size()) event_add(write_ev_.get(), nullptr);
}

void Connection::update_read_state() {
  if (closing_) return;
  std::size_t queued = out_.size() - out_off_;
  bool pause = slots_.size() >= limits_.max_in_flight || queued > limits_.max_output_bytes;
  set_reading(!pause);
}

void Connection::fail(const std::string& why) {
  if (closing_) return;
  closing_ = true;
  request_timer_.cancel();
  server_.log().warn("{}: {}; closing connection", peer_, why);
  // Stop reading, but deliver every reply owed for earlier requests first.
  set_reading(false);
  decoder_.clear();
  finish_close_if_drained();
}

void Connection::finish_close_if_drained() {
  if (!slots_.empty()) return;
  if (out_off_ < out_.size()) return;
  server_.close(id_);
}

}  // namespace proxyd::daemon
