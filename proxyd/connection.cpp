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

#include "protocol/status.h"
#include "proxyd/server.h"

namespace proxyd::daemon {
namespace {

// Attribute names are not dropped like values: up to 64 of 64 bytes each
// may come on top of max_request_bytes.
constexpr std::size_t kNameSlack = 64 * 65 + 1;

}  // namespace

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
      // A key may be as long as a whole request: Postfix's proxymap has no
      // limit of its own, and a long key must get the direct answer.
      decoder_(protocol::AttrLimits{.max_value_len = limits.max_request_bytes,
                                    .discard_long_values = true,
                                    .max_message_bytes = limits.max_request_bytes}),
      request_timer_(
          server.loop().base(),
          [this] {
            fail(WarnKind::Timeout, fmt::format("timeout after {}s reading request",
                                                limits_.request_timeout));
          },
          &server.log()) {
  if (!read_ev_ || !write_ev_) {
    ::close(fd_);
    throw std::runtime_error("event_new failed");
  }
}

Connection::~Connection() {
  server_.budget().update(charged_, 0);
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
    self->fail(WarnKind::Internal, fmt::format("internal error: {}", e.what()));
  } catch (...) {
    self->fail(WarnKind::Internal, "internal error");
  }
}

void Connection::on_writable(evutil_socket_t, short, void* arg) noexcept {
  auto* self = static_cast<Connection*>(arg);
  try {
    self->write_pending();
  } catch (...) {
    self->fail(WarnKind::Internal, "internal error");
  }
}

void Connection::read_input() {
  if (!server_.budget().may_read(charged_, read_growth())) {
    update_read_state();  // others took the memory since reads were enabled
    return;
  }
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
  server_.touch(*this);
  decoder_.feed(std::string_view(buf.data(), static_cast<std::size_t>(n)));
  recharge();
  decode_and_dispatch();
}

std::size_t Connection::read_growth() const {
  // Appending a read may reallocate the input buffer (old and new copies
  // live together for a moment), and its requests may queue replies.
  return 2 * server_.read_buffer().size() + decoder_.memory();
}

void Connection::recharge() {
  std::size_t now = decoder_.memory() + out_.capacity() + slot_bytes_;
  if (now == charged_) return;
  if (server_.budget().update(charged_, now)) server_.memory_released();
}

void Connection::resume() {
  memory_wait_ = false;
  if (closing_) return;
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
  recharge();
  event_del(write_ev_.get());
  if (closing_) {
    finish_close_if_drained();
    return;
  }
  update_read_state();
  decode_and_dispatch();
}

void Connection::decode_and_dispatch() {
  // Re-entered from a completion that ran synchronously inside dispatch():
  // the loop below flushes that answer and goes on, so the stack stays flat.
  if (dispatching_) return;
  dispatching_ = true;
  struct Reset {  // also when dispatch() throws (on_readable closes us then)
    bool& flag;
    ~Reset() { flag = false; }
  } reset{dispatching_};
  protocol::AttrList attrs;
  bool more = true;
  while (more && !closing_) {
    while (!closing_ && slots_.size() < limits_.max_in_flight &&
           out_.size() - out_off_ <= limits_.max_output_bytes &&
           server_.budget().may_dispatch()) {
      protocol::DecodeStatus status = decoder_.next(attrs);
      if (status == protocol::DecodeStatus::NeedMore) {
        // The decoder drops long values itself; this only guards its bound.
        if (decoder_.buffered() > limits_.max_request_bytes + kNameSlack) {
          fail(WarnKind::Oversized,
               fmt::format("request larger than {} bytes", limits_.max_request_bytes));
        } else if (decoder_.buffered() > 0) {
          if (!request_timer_.pending()) request_timer_.arm(limits_.request_timeout);
        } else {
          request_timer_.cancel();
        }
        more = false;
        break;
      }
      if (status == protocol::DecodeStatus::Malformed) {
        fail(WarnKind::Malformed, fmt::format("malformed request: {}", decoder_.error()));
        more = false;
        break;
      }
      request_timer_.cancel();
      if (status == protocol::DecodeStatus::Oversized) {
        answer_oversized(attrs);
      } else {
        dispatch(attrs);
      }
    }
    // Send what is ready; go on only if that made room for more requests.
    std::size_t before = slots_.size();
    flush_ready();
    if (slots_.size() == before) more = false;
  }
  dispatching_ = false;
  recharge();
  if (closing_) {
    finish_close_if_drained();
    return;
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
      server_.warnings().warn(WarnKind::Malformed, "{}: malformed request: {}", peer_,
                              parsed.error);
      reply_now(protocol::encode_status_only(ProxyStatus::Bad));
      return;
    case ParseKind::Unknown:
      server_.warnings().warn(WarnKind::BadRequest,
                              "unrecognized request: \"{}\", ignored ({})", parsed.error,
                              peer_);
      reply_now(protocol::encode_status_only(ProxyStatus::Bad));
      return;
    case ParseKind::Bad: {
      server_.warnings().warn(WarnKind::BadRequest, "{}: bad {} request: {}", peer_,
                              protocol::request_name(parsed.request.type), parsed.error);
      protocol::Reply reply;
      reply.status = ProxyStatus::Bad;
      reply_now(
          protocol::encode_reply(parsed.request.type, parsed.request.dialect, reply));
      return;
    }
    case ParseKind::Ok:
      break;
  }
  if (!parsed.extra.empty() && log.verbose()) {
    log.info("{}: ignoring {} extra attribute(s) after {} request", peer_,
             parsed.extra.size(), protocol::request_name(parsed.request.type));
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

void Connection::answer_oversized(const protocol::AttrList& attrs) {
  // Closing would make the Postfix client retry forever: answer instead.
  // A key this long gets what the table answers any such key (static: its
  // value; inline, texthash, unix: not found; SQL and forwarded tables,
  // whose answer depends on the key: RETRY), a table name this long is not
  // approved, an ignored extra attribute does not matter; anything else is
  // a temporary error.
  protocol::ParseResult parsed = protocol::parse_request(attrs);
  const std::string& dropped = decoder_.dropped();
  if (parsed.kind == ParseKind::Ok && std::find(parsed.extra.begin(), parsed.extra.end(),
                                                dropped) != parsed.extra.end()) {
    dispatch(attrs);  // only an ignored trailing attribute was dropped
    return;
  }
  if (parsed.kind != ParseKind::Ok && parsed.kind != ParseKind::Bad) {
    server_.warnings().warn(WarnKind::Oversized,
                            "{}: oversized message, not a request ({})", peer_,
                            parsed.error);
    reply_now(protocol::encode_status_only(ProxyStatus::Bad));
    return;
  }
  const protocol::RequestType type = parsed.request.type;
  protocol::Reply reply;
  if (dropped == "table") {
    reply.status = ProxyStatus::Deny;
  } else if (dropped == "key" && type == protocol::RequestType::Lookup) {
    // The key took the request over the limit: it is at least this long.
    std::size_t rest = 0;
    for (const protocol::Attr& a : attrs) rest += a.name.size() + a.value.size() + 2;
    std::size_t key_bytes =
        limits_.max_request_bytes > rest ? limits_.max_request_bytes - rest : 0;
    reply = server_.service().answer_any_key(role_, parsed.request, key_bytes);
  } else {
    reply.status = ProxyStatus::Retry;
  }
  server_.warnings().warn(
      WarnKind::Oversized,
      "{}: {} request over {} bytes or with a value over {} bytes, \"{}\" "
      "dropped; answered {}",
      peer_, protocol::request_name(type), limits_.max_request_bytes,
      limits_.max_request_bytes, protocol::printable(dropped, 64),
      protocol::status_name(reply.status));
  reply_now(protocol::encode_reply(type, parsed.request.dialect, reply));
}

void Connection::reply_now(std::string bytes) {
  uint64_t seq = next_seq_++;
  slot_bytes_ += bytes.size();
  slots_.push_back(Slot{seq, true, std::move(bytes)});
  if (!dispatching_) flush_ready();  // else the dispatch loop sends it
}

void Connection::complete(uint64_t seq, std::string bytes) {
  // Newest first: an answer given synchronously is for the last slot.
  for (auto it = slots_.rbegin(); it != slots_.rend(); ++it) {
    if (it->seq == seq) {
      it->done = true;
      slot_bytes_ += bytes.size();
      it->bytes = std::move(bytes);
      break;
    }
  }
  if (dispatching_) return;  // answered inside dispatch(): its loop sends it
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
    for (auto it = slots_.begin(); it != slots_.end() && it->done && n < kMaxIov;
         ++it, ++n) {
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
    slot_bytes_ -= slot.bytes.size();
    ++done;
  }
  slots_.erase(slots_.begin(), slots_.begin() + static_cast<std::ptrdiff_t>(done));
  // A write error (the client went away) shows up as EOF on the next read.
  if (out_off_ < out_.size()) event_add(write_ev_.get(), nullptr);
  if (!dispatching_) recharge();
}

void Connection::update_read_state() {
  if (closing_) return;
  std::size_t queued = out_.size() - out_off_;
  bool pause =
      slots_.size() >= limits_.max_in_flight || queued > limits_.max_output_bytes;
  if (!pause && !server_.budget().may_read(charged_, read_growth())) {
    // Over the memory budget: wait until some is released (Server wakes us).
    pause = true;
    if (!memory_wait_) {
      memory_wait_ = true;
      server_.wait_for_memory(id_);
    }
  }
  set_reading(!pause);
}

void Connection::fail(WarnKind kind, const std::string& why) {
  if (closing_) return;
  closing_ = true;
  request_timer_.cancel();
  server_.warnings().warn(kind, "{}: {}; closing connection", peer_, why);
  // Stop reading, but deliver every reply owed for earlier requests first.
  set_reading(false);
  decoder_.clear();
  if (!dispatching_) finish_close_if_drained();  // else the dispatch loop does
}

void Connection::finish_close_if_drained() {
  if (!slots_.empty()) return;
  if (out_off_ < out_.size()) return;
  server_.close(id_);
}

}  // namespace proxyd::daemon
