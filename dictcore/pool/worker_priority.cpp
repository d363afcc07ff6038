// SCHED_BATCH for pool workers. Under load every worker wakes once or more
// per round trip; a normal thread woken that way may preempt whatever runs
// on its CPU, which is often the event loop that every request and answer
// must pass. Batch threads keep their full share of CPU time but wait for
// the running thread's turn to end, so the loop stays on the CPU.
#include "dictcore/pool/worker_priority.h"

#include <pthread.h>
#include <sched.h>

#include <system_error>

namespace proxyd::dict {

std::string make_batch_thread() {
  sched_param param{};
  param.sched_priority = 0;  // the only priority SCHED_BATCH allows
  int err = pthread_setschedparam(pthread_self(), SCHED_BATCH, &param);
  // error_code's message is safe on any thread, unlike strerror.
  return err == 0 ? std::string()
                  : std::error_code(err, std::system_category()).message();
}

}  // namespace proxyd::dict
