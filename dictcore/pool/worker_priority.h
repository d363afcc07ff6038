// How pool worker threads ask the kernel to treat them: as batch work that
// does not preempt the event loop when a database answer wakes them.
#pragma once

#include <string>

namespace proxyd::dict {

// Put the calling thread under SCHED_BATCH (same nice level, no special
// privilege needed). Returns an empty string, or why the kernel refused;
// a refusal changes only speed, never answers.
std::string make_batch_thread();

}  // namespace proxyd::dict
