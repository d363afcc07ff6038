// "Run this on the owner's thread": the seam through which worker threads
// hand completions back to the event loop. proxyd implements it over
// libevent; tests use an inline or queued implementation.
#pragma once

#include <functional>
#include <memory>

namespace proxyd::dict {

// A descriptor watched by the owner's loop (Poster::watch_readable); the
// watch ends when this is destroyed (on the owner's thread).
class FdWatch {
 public:
  virtual ~FdWatch() = default;
};

class Poster {
 public:
  virtual ~Poster() = default;

  // Queue fn to run on the owner's thread. Callable from any thread.
  virtual void post(std::function<void()> fn) = 0;

  // True when the caller runs on the owner's thread. Default: never (the
  // poster has no loop of its own).
  virtual bool on_owner_thread() const { return false; }

  // Owner's thread only: call fn on the owner's thread whenever fd is
  // readable, until the returned watch is destroyed. Null when this poster
  // cannot watch descriptors (callers then keep their work on threads).
  virtual std::unique_ptr<FdWatch> watch_readable(int /*fd*/,
                                                  std::function<void()> /*fn*/) {
    return nullptr;
  }
};

// Runs the function immediately on the calling thread (tests).
class InlinePoster final : public Poster {
 public:
  void post(std::function<void()> fn) override { fn(); }
};

}  // namespace proxyd::dict
