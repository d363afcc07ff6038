// One Postfix client connection on a proxymap/proxywrite socket.
//
//   client bytes -> read() -> AttrDecoder -> parse_request -> Service
//                                                              |
//   client <- sendmsg() <- in-order reply slots <- completion <-+
//
// The greeting is written on accept. Each complete message becomes one slot
// in a FIFO; replies are written strictly in request order even when SQL
// lookups complete out of order. Reads go through one buffer shared by all
// connections and replies straight to the socket, so an idle client holds
// no reply buffer; its decoder keeps a bounded input buffer (at most 64 KiB
// of spare capacity, see AttrDecoder::compact). Only reply bytes the socket
// does not take are kept, and only then is a write event armed. Malformed framing,
// oversized or stalled requests close only this connection. Loop thread only.
//
// Answers that are ready at once (DENY, BAD, static:, inline:, cache hits)
// are queued in their slots and sent by the dispatch loop, never by calling
// back into it, so the stack stays flat however deep the pipelining. The
// buffers a connection holds are charged to the server's MemoryBudget,
// which may pause its reads.
#pragma once

#include <event2/event.h>

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "protocol/attr_codec.h"
#include "proxyd/event_loop.h"
#include "proxyd/log_throttle.h"
#include "proxyd/service.h"

namespace proxyd::daemon {

class Server;

// Per-connection limits.
struct ConnectionLimits {
  // One message, all attributes: a longer one is read, dropped and answered.
  std::size_t max_request_bytes = 4 * 1024 * 1024;
  std::size_t max_in_flight = 32;  // pipelined requests before reads pause
  std::size_t max_output_bytes = 8 * 1024 * 1024;  // unread replies before reads pause
  double request_timeout = 10.0;                   // seconds to finish a started request
};

class Connection {
 public:
  // Takes ownership of fd (non-blocking).
  Connection(Server& server, uint64_t id, int fd, Role role, std::string peer,
             const ConnectionLimits& limits);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Write the greeting and start reading.
  void start();

  // A reply for request seq is ready (encoded bytes).
  void complete(uint64_t seq, std::string bytes);

  uint64_t id() const { return id_; }
  Role role() const { return role_; }
  const std::string& peer() const { return peer_; }
  // Requests read but not yet answered.
  std::size_t in_flight() const { return slots_.size(); }
  // Nothing owed, nothing buffered: closing it loses no request.
  bool idle() const {
    return slots_.empty() && out_off_ == out_.size() && decoder_.buffered() == 0;
  }

  // Memory was released: read and dispatch again if the budget allows.
  void resume();

  // Position in the server's least-recently-active list.
  std::list<Connection*>::iterator& lru() { return lru_; }

 private:
  struct Slot {
    uint64_t seq = 0;
    bool done = false;
    std::string bytes;
  };
  static void on_readable(evutil_socket_t fd, short what, void* arg) noexcept;
  static void on_writable(evutil_socket_t fd, short what, void* arg) noexcept;

  void read_input();
  void write_pending();
  void set_reading(bool on);
  void decode_and_dispatch();
  void dispatch(const protocol::AttrList& attrs);
  // A well-formed request whose long value the decoder dropped.
  void answer_oversized(const protocol::AttrList& attrs);
  void reply_now(std::string bytes);
  void flush_ready();
  void update_read_state();
  void fail(WarnKind kind, const std::string& why);
  void finish_close_if_drained();
  // Report this connection's buffers to the memory budget.
  void recharge();
  // How much one more read may grow this connection's buffers.
  std::size_t read_growth() const;

  Server& server_;
  uint64_t id_;
  Role role_;
  std::string peer_;
  ConnectionLimits limits_;
  int fd_;
  EventPtr read_ev_;
  EventPtr write_ev_;
  bool reading_ = false;
  std::string out_;          // reply bytes the socket has not taken yet
  std::size_t out_off_ = 0;  // bytes of out_ already sent
  protocol::AttrDecoder decoder_;
  std::vector<Slot> slots_;  // a vector: an idle client costs no allocation
  uint64_t next_seq_ = 0;
  std::size_t slot_bytes_ = 0;  // bytes of replies waiting in slots_
  std::size_t charged_ = 0;     // what the memory budget counts for this connection
  Timer request_timer_;
  bool closing_ = false;
  bool dispatching_ = false;  // inside decode_and_dispatch: answers wait for its flush
  bool memory_wait_ = false;  // reads paused by the memory budget
  std::list<Connection*>::iterator lru_;
};

}  // namespace proxyd::daemon
