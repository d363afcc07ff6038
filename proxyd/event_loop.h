// RAII wrapper over a libevent event_base: signals, timers, and a
// thread-safe post() (eventfd + locked queue) through which SQL worker
// threads hand completions back to the loop. Loop thread only, except
// post().
#pragma once

#include <event2/event.h>

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "dictcore/util/logger.h"
#include "dictcore/util/poster.h"

namespace proxyd::daemon {

struct EventDeleter {
  void operator()(event* ev) const { event_free(ev); }
};
using EventPtr = std::unique_ptr<event, EventDeleter>;

// A one-shot or repeating timer owned by the loop. An exception escaping
// fn is caught (it must not unwind into libevent) and logged through log;
// every timer in proxyd passes one (null only where there is no logger,
// and then the catch stays silent because there is no one to tell).
class Timer {
 public:
  Timer(event_base* base, std::function<void()> fn, dict::Logger* log = nullptr);
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;
  // Arm (or re-arm) to fire once after seconds.
  void arm(double seconds);
  void cancel();
  bool pending() const;

 private:
  static void trampoline(evutil_socket_t, short, void* arg) noexcept;
  std::function<void()> fn_;
  dict::Logger* log_;
  EventPtr ev_;
};

class EventLoop final : public dict::Poster {
 public:
  EventLoop();
  ~EventLoop() override;
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  event_base* base() const { return base_.get(); }

  // Run until stop() is called.
  void run();

  // Make run() return after the current callback.
  void stop();

  // Call fn on the loop thread when signal signo arrives.
  void on_signal(int signo, std::function<void()> fn);

  // Thread-safe: queue fn to run on the loop thread.
  void post(std::function<void()> fn) override;

  // The thread that created the loop, or the one running it.
  bool on_owner_thread() const override;

  // Loop thread: fn runs whenever fd is readable, until the watch is gone.
  std::unique_ptr<dict::FdWatch> watch_readable(int fd,
                                                std::function<void()> fn) override;

  // Where exceptions escaping signal handlers and posted functions are
  // reported (they are caught: none may unwind into libevent). Set before
  // run(); none by default.
  void set_logger(dict::Logger* log) { log_ = log; }

 private:
  struct BaseDeleter {
    void operator()(event_base* b) const { event_base_free(b); }
  };
  struct SignalHandler {
    std::function<void()> fn;
    EventLoop* loop = nullptr;
    EventPtr ev;
  };
  static void on_wakeup(evutil_socket_t fd, short, void* arg) noexcept;
  static void on_signal_event(evutil_socket_t, short, void* arg) noexcept;
  void drain_posted();

  std::unique_ptr<event_base, BaseDeleter> base_;
  dict::Logger* log_ = nullptr;
  int wake_fd_ = -1;
  std::atomic<std::thread::id> owner_{std::this_thread::get_id()};
  EventPtr wake_ev_;
  std::mutex mu_;
  std::deque<std::function<void()>> posted_;
  std::deque<std::unique_ptr<SignalHandler>> signals_;
};

}  // namespace proxyd::daemon
