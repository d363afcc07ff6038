// One Postfix client connection on a proxymap/proxywrite socket.
//
//   client bytes -> bufferevent -> AttrDecoder -> parse_request -> Service
//                                                                   |
//   client <- bufferevent <- in-order reply slots <- completion <---+
//
// The greeting is written on accept. Each complete message becomes one slot
// in a FIFO; replies are written strictly in request order even when SQL
// lookups complete out of order. Malformed framing, oversized or stalled
// requests close only this connection. Loop thread only.
#pragma once

#include <event2/bufferevent.h>

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
  struct BevDeleter {
    void operator()(bufferevent* b) const { bufferevent_free(b); }
  };

  static void on_read(bufferevent* bev, void* arg) noexcept;
  static void on_write(bufferevent* bev, void* arg) noexcept;
  static void on_event(bufferevent* bev, short what, void* arg) noexcept;

  void read_input();
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
  std::unique_ptr<bufferevent, BevDeleter> bev_;
  protocol::AttrDecoder decoder_;
  std::vector<Slot> slots_;  // a vector: an idle client costs no allocation
  uint64_t next_seq_ = 0;
  Timer request_timer_;
  bool closing_ = false;
};

}  // namespace proxyd::daemon
