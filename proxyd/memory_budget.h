// The global memory budget of client buffers: partial requests held by the
// decoders plus replies not yet taken by the sockets, over all connections.
// Each connection reports its own charge; the budget decides whether a
// connection may read more. Under pressure (half the budget used) the big
// consumers stop reading first; near the limit everyone does, keeping a
// reserve for the replies already owed. Paused connections are woken when
// memory is released (see Server). Loop thread only.
#pragma once

#include <cstddef>

namespace proxyd::daemon {

class MemoryBudget {
 public:
  explicit MemoryBudget(std::size_t limit) { set_limit(limit); }

  void set_limit(std::size_t limit);

  // Move one consumer's charge from charged to now (charged is updated).
  // Returns true when memory was released.
  bool update(std::size_t& charged, std::size_t now) {
    used_ = used_ - charged + now;
    bool released = now < charged;
    charged = now;
    if (used_ > peak_) peak_ = used_;
    return released;
  }

  // May a consumer that holds `charged` bytes read a chunk that can grow
  // its buffers by up to `growth` bytes?
  bool may_read(std::size_t charged, std::size_t growth) const {
    if (used_ + growth > read_limit_) return false;
    return used_ < pressure_ || charged < big_;
  }

  // May more buffered requests be answered (replies still fit)?
  bool may_dispatch() const { return used_ < read_limit_; }

  std::size_t used() const { return used_; }
  std::size_t peak() const { return peak_; }
  std::size_t limit() const { return limit_; }

 private:
  std::size_t limit_ = 0;
  std::size_t read_limit_ = 0;  // limit minus the reserve for owed replies
  std::size_t pressure_ = 0;    // above this, big consumers pause
  std::size_t big_ = 0;         // a consumer holding this much is big
  std::size_t used_ = 0;
  std::size_t peak_ = 0;
};

}  // namespace proxyd::daemon
