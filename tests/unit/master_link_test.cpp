// Tests for proxyd/master_proto.h's MasterLink: when master(8) closes the
// status channel, on_gone runs once; an exception from it (the drain did not
// start) is logged, not swallowed. The channel is a pipe put on the status
// descriptor for the test.
#include <gtest/gtest.h>
#include <unistd.h>

#include <stdexcept>

#include "proxyd/event_loop.h"
#include "proxyd/master_proto.h"
#include "tests/fakes/capture_logger.h"

namespace proxyd::daemon {
namespace {

// A pipe whose read end is the master status descriptor while it lives.
class StatusChannel {
 public:
  StatusChannel() {
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe");
    saved_ = dup(kMasterStatusFd);  // -1 when the descriptor was free
    dup2(fds[0], kMasterStatusFd);
    close(fds[0]);
    write_end_ = fds[1];
  }
  ~StatusChannel() {
    close_write_end();
    if (saved_ >= 0) {
      dup2(saved_, kMasterStatusFd);
      close(saved_);
    } else {
      close(kMasterStatusFd);
    }
  }
  void close_write_end() {
    if (write_end_ >= 0) close(write_end_);
    write_end_ = -1;
  }

 private:
  int saved_ = -1;
  int write_end_ = -1;
};

TEST(MasterLink, AFailedDrainIsLoggedOnce) {
  StatusChannel channel;
  dict::testing::CaptureLogger log;
  EventLoop loop;
  int calls = 0;
  MasterLink link(loop, log, [&](bool master_alive) {
    ++calls;
    EXPECT_TRUE(master_alive);  // our parent is the test runner, still there
    loop.stop();
    throw std::runtime_error("drain failed");
  });
  channel.close_write_end();
  loop.run();
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(
      log.contains("master(8) closed the status channel, but the drain did not start"));
}

}  // namespace
}  // namespace proxyd::daemon
