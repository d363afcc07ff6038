// libevent loop wrapper and cross-thread poster (see event_loop.h).
#include "proxyd/event_loop.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <exception>
#include <stdexcept>
#include <string_view>
#include <system_error>

namespace proxyd::daemon {

namespace {

// Log an exception that a callback let escape; never throws itself.
void log_escaped(dict::Logger* log, std::string_view what,
                 const std::exception* e) noexcept {
  if (log == nullptr) return;
  try {
    log->warn("{}: {}", what, e != nullptr ? e->what() : "unknown exception");
  } catch (...) {
    // Logging itself failed (out of memory): there is no one left to tell.
  }
}

}  // namespace

Timer::Timer(event_base* base, std::function<void()> fn, dict::Logger* log)
    : fn_(std::move(fn)), log_(log), ev_(evtimer_new(base, &Timer::trampoline, this)) {
  if (!ev_) throw std::runtime_error("evtimer_new failed");
}

void Timer::arm(double seconds) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(seconds);
  tv.tv_usec = static_cast<suseconds_t>((seconds - std::floor(seconds)) * 1e6);
  evtimer_add(ev_.get(), &tv);
}

void Timer::cancel() { evtimer_del(ev_.get()); }

bool Timer::pending() const { return evtimer_pending(ev_.get(), nullptr) != 0; }

void Timer::trampoline(evutil_socket_t, short, void* arg) noexcept {
  auto* self = static_cast<Timer*>(arg);
  // A timer callback must never unwind into libevent.
  try {
    self->fn_();
  } catch (const std::exception& e) {
    log_escaped(self->log_, "timer callback failed", &e);
  } catch (...) {
    log_escaped(self->log_, "timer callback failed", nullptr);
  }
}

EventLoop::EventLoop() : base_(event_base_new()) {
  if (!base_) throw std::runtime_error("event_base_new failed");
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  wake_ev_.reset(event_new(base_.get(), wake_fd_, EV_READ | EV_PERSIST,
                           &EventLoop::on_wakeup, this));
  event_add(wake_ev_.get(), nullptr);
}

EventLoop::~EventLoop() {
  signals_.clear();
  wake_ev_.reset();
  if (wake_fd_ >= 0) close(wake_fd_);
}

void EventLoop::run() {
  owner_.store(std::this_thread::get_id());
  event_base_dispatch(base_.get());
}

bool EventLoop::on_owner_thread() const {
  return owner_.load() == std::this_thread::get_id();
}

namespace {

// One watched descriptor: a persistent read event calling fn.
class ReadWatch final : public dict::FdWatch {
 public:
  ReadWatch(event_base* base, int fd, std::function<void()> fn, dict::Logger* log)
      : fn_(std::move(fn)), log_(log) {
    ev_.reset(event_new(base, fd, EV_READ | EV_PERSIST, &ReadWatch::trampoline, this));
    if (!ev_ || event_add(ev_.get(), nullptr) != 0)
      throw std::runtime_error("cannot watch a descriptor");
  }

 private:
  static void trampoline(evutil_socket_t, short, void* arg) noexcept {
    auto* self = static_cast<ReadWatch*>(arg);
    // fn may destroy this watch: run a copy, touch nothing of self after.
    std::function<void()> fn = self->fn_;
    dict::Logger* log = self->log_;
    try {
      fn();
    } catch (const std::exception& e) {
      log_escaped(log, "descriptor callback failed", &e);
    } catch (...) {
      log_escaped(log, "descriptor callback failed", nullptr);
    }
  }
  std::function<void()> fn_;
  dict::Logger* log_;
  EventPtr ev_;
};

}  // namespace

std::unique_ptr<dict::FdWatch> EventLoop::watch_readable(int fd,
                                                         std::function<void()> fn) {
  return std::make_unique<ReadWatch>(base_.get(), fd, std::move(fn), log_);
}

void EventLoop::stop() { event_base_loopbreak(base_.get()); }

void EventLoop::on_signal(int signo, std::function<void()> fn) {
  auto handler = std::make_unique<SignalHandler>();
  handler->fn = std::move(fn);
  handler->loop = this;
  handler->ev.reset(
      evsignal_new(base_.get(), signo, &EventLoop::on_signal_event, handler.get()));
  evsignal_add(handler->ev.get(), nullptr);
  signals_.push_back(std::move(handler));
}

void EventLoop::on_signal_event(evutil_socket_t, short, void* arg) noexcept {
  auto* handler = static_cast<SignalHandler*>(arg);
  try {
    handler->fn();
  } catch (const std::exception& e) {
    log_escaped(handler->loop->log_, "signal handler failed", &e);
  } catch (...) {
    log_escaped(handler->loop->log_, "signal handler failed", nullptr);
  }
}

void EventLoop::post(std::function<void()> fn) {
  bool first = false;
  {
    std::lock_guard lock(mu_);
    first = posted_.empty();
    posted_.push_back(std::move(fn));
  }
  // Only the first completion of a batch needs to wake the loop: it drains
  // the whole queue, so under load most posts cost no system call.
  if (!first) return;
  uint64_t one = 1;
  // EAGAIN means the counter is already non-zero: the loop will wake anyway.
  [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof one);
}

void EventLoop::on_wakeup(evutil_socket_t fd, short, void* arg) noexcept {
  uint64_t count = 0;
  [[maybe_unused]] ssize_t n = read(fd, &count, sizeof count);
  static_cast<EventLoop*>(arg)->drain_posted();
}

void EventLoop::drain_posted() {
  std::deque<std::function<void()>> batch;
  {
    std::lock_guard lock(mu_);
    batch.swap(posted_);
  }
  for (auto& fn : batch) {
    // Completions are noexcept by contract; never let one unwind into C.
    try {
      fn();
    } catch (const std::exception& e) {
      log_escaped(log_, "completion failed", &e);
    } catch (...) {
      log_escaped(log_, "completion failed", nullptr);
    }
  }
}

}  // namespace proxyd::daemon
