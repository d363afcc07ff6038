// "Run this on the owner's thread": the seam through which worker threads
// hand completions back to the event loop. proxyd implements it over
// libevent; tests use an inline or queued implementation.
#pragma once

#include <functional>

namespace proxyd::dict {

class Poster {
 public:
  virtual ~Poster() = default;

  // Queue fn to run on the owner's thread. Callable from any thread.
  virtual void post(std::function<void()> fn) = 0;
};

// Runs the function immediately on the calling thread (tests).
class InlinePoster final : public Poster {
 public:
  void post(std::function<void()> fn) override { fn(); }
};

}  // namespace proxyd::dict
