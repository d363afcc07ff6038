// How pool worker threads ask the kernel to treat them: as batch work that
// never preempts the event loop when the database's answer wakes them.
#pragma once

#include <string>

namespace proxyd::dict {

// Put the calling thread under SCHED_BATCH (same nice level, no special
// privilege needed). Returns an empty string, or why the kernel refused;
// a refusal changes only speed, never answers.
std::string make_batch_thread();

}  // namespace proxyd::dict
