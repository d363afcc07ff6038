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
// no buffer at all; only what the socket does not take is kept, and only
// then is a write event armed. Malformed framing, oversized or stalled
// requests close only this connection. Loop thread only.
#pragma once

#include <event2/event.h>

#include <cstdint>
#include <vector>
#include <memory>
#include <string>

#include "protocol/attr_codec.h"
#include "proxyd/event_loop.h"
#include "proxyd/service.h"

namespace proxyd::daemon {

class Server;

// Per-connection limits.
struct ConnectionLimits {
  std::size_t max_request_bytes = 4 * 1024 * 1024;  // one message, all attributes
  std::size_t max_in_flight = 32;                    // pipelined requests before reads pause
  std::size_t max_output_bytes = 8 * 1024 * 1024;    // unread replies before reads pause
  double request_timeout = 10.0;                     // seconds to finish a started request
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
  void reply_now(std::string bytes);
  void flush_ready();
  void update_read_state();
  void fail(const std::string& why);
  void finish_close_if_drained();

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
  Timer request_timer_;
  bool closing_ = false;
};

}  // namespace proxyd::daemon
