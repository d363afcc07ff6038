// Worker-thread session pools. Each worker owns at most one session for its
// whole life and runs jobs from the pool's bounded FIFO; per job it fails
// over across hosts like Postfix's plmysql_query/plpgsql_query (each host at
// most once per lookup, failed hosts skipped for retry_interval) and closes
// its session after idle_interval without work. A session that worked
// before and breaks on a query is replaced and the read retried once on a
// fresh session before its host counts as down. Jobs past their deadline
// are answered RETRY without running.
//
// Batching: on drivers that support it, a worker that finds several jobs
// waiting takes the oldest and up to max_batch - 1 later ones of the same
// group (table: one table's slow query must not delay another table's
// lookups) and sends every statement
// that is safe to combine (SqlSession::can_batch) in one round trip; the
// others, and any statement the batch did not answer, run on their own
// exactly as unbatched jobs do. A statement that may not run on a batching
// session (NeedsSingle) makes the worker reconnect without batching for
// kSingleHold before it batches again. Workers run under SCHED_BATCH
// (worker_priority.h).
//
// Probes: a host marked down gets a probe thread (at most one per distinct
// host, started on its first failure and kept) that tries to connect every
// probe_interval while the host is down; the first success makes it
// eligible again, so lookups stop getting RETRY as soon as the database is
// back instead of after retry_interval. A probe never runs a lookup and
// never holds the pool lock while it connects.
//
// Loop session (loop_queries, drivers with asynchronous queries: pgsql, mysql): a
// lookup submitted on the poster's own thread while that session is free
// and the pool otherwise idle (nothing queued, no worker busy) is sent on a
// session the loop thread holds, and answered when the poster's loop sees
// the socket readable: one lookup then costs the loop no thread hand-off,
// as a single-threaded proxymap does not pay one. The loop never waits for
// the database: while that session is busy, lookups go to the workers as
// before. The session is one a worker connected and gave up when the loop
// asked (that worker exits), so the loop session and the workers together
// stay within max_sessions (a worker whose own session has no asynchronous
// queries, mysql's Connector/C++, first connects one that has in its
// place: SqlDriver::connect_loop); when lookups queue up, the loop gives its idle
// session to a new worker, where it batches. Whatever the loop session
// cannot answer (broken connection, an exception) goes to the workers,
// which run it with the full failover rules.
//
// Workers: the job loop below; probes: probe_main; loop session: loop
// thread; everything else: loop thread (submit may be called from any
// thread).
#include "dictcore/pool/session_pool.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "dictcore/pool/session_hosts.h"
#include "dictcore/pool/worker_priority.h"

namespace proxyd::dict {
namespace {

// After a statement needed a single-statement session, the worker keeps one
// this long before it reconnects for batches: keys that need one (with a
// ';') cost at most two reconnects per worker and period, never one per
// lookup, and an occasional such key does not switch batching off for long.
constexpr std::chrono::seconds kSingleHold{2};

// How far past the oldest job a worker looks for batch companions of the
// same group, in multiples of max_batch: bounds the work under the lock.
constexpr std::size_t kBatchScan = 4;

// After SqlDriver::connect_loop gave no session, workers wait this long
// before they try again: never one connect attempt per lookup.
constexpr std::chrono::seconds kLoopConnectHold{10};

// After the loop gave its session to a worker under load, no worker hands
// a session to the loop for this long: a load that comes and goes would
// otherwise cost a thread per swing (the worker that hands over exits, and
// the give-back starts another), and for mysql two connects (the worker
// reconnects for batches, then another connects for the loop).
constexpr std::chrono::seconds kLoopRejoinHold{2};

class FunctionWork final : public JobWork {
 public:
  explicit FunctionWork(std::function<Attempt(SqlSession&)> fn) : fn_(std::move(fn)) {}
  Attempt attempt(SqlSession& session) override { return fn_(session); }

 private:
  std::function<Attempt(SqlSession&)> fn_;
};

}  // namespace

std::unique_ptr<JobWork> attempt_work(std::function<Attempt(SqlSession&)> attempt) {
  return std::make_unique<FunctionWork>(std::move(attempt));
}

// One worker's session and where it points.
struct WorkerSession {
  std::unique_ptr<SqlSession> session;
  std::size_t host = 0;
  uint64_t generation = 0;                    // host_set generation when connected
  PoolJob::Clock::time_point single_until{};  // batching off until then
};

// A finished job waiting to be posted to the loop thread.
using Answer = std::pair<LookupDone, LookupResult>;

struct SessionPool::State {
  State(std::string label_in, std::unique_ptr<SqlDriver> driver_in,
        std::vector<HostSpec> hosts, bool duplicate, std::chrono::seconds retry,
        std::chrono::seconds idle, PoolSettings settings_in, Poster& poster_in,
        Logger& log_in, std::shared_ptr<PoolClock> clock_in)
      : clock(clock_in ? std::move(clock_in) : std::make_shared<PoolClock>()),
        label(std::move(label_in)),
        driver(std::move(driver_in)),
        host_set(std::move(hosts), retry, duplicate,
                 [c = clock.get()] { return c->now(); }),
        idle_interval(idle),
        settings(settings_in),
        poster(poster_in),
        log(log_in),
        batching_driver(driver->supports_batching()),
        probe_started(host_set.size(), false),
        probe_wanted(host_set.size(), false) {
    settings.max_sessions = std::max(1, settings.max_sessions);
    settings.max_queue = std::max<std::size_t>(1, settings.max_queue);
    settings.max_batch = std::max(1, settings.max_batch);
    settings.probe_interval = std::max(0, settings.probe_interval);
  }

  // What a worker does after waiting (wait_for_work).
  enum class Next { Work, CloseIdle, Stop, Retire };
  // A worker thread: wait, take jobs, run them, until stopped or retired.
  void worker_main(WorkerSession start = {});
  void worker_start();  // per-thread driver setup and scheduling policy
  // Wait until there is something to do (caller holds mu through lock).
  Next wait_for_work(std::unique_lock<std::mutex>& lock, const WorkerSession& w,
                     bool& was_busy);
  // Take the oldest live job and its batch companions; expired ones go to
  // expired_jobs (caller holds mu).
  void take_jobs(std::vector<PoolJob>& taken, std::vector<LookupDone>& expired_jobs);
  // Run what take_jobs took and post the answers to the loop thread; true
  // when the session went to the loop (hand_over) and the worker must exit.
  bool run_taken(std::vector<PoolJob>& taken, WorkerSession& w,
                 std::vector<Answer>& answers, bool& was_busy);
  // Mark host i down and have its probe try it again (worker threads).
  void host_down(std::size_t i);
  // Reconnect attempts to host index c while it is down (probe threads).
  void probe_main(std::size_t c);
  // A waiting worker has something to do (caller holds mu).
  bool wake() const {
    return stopping || !queue.empty() || live_workers > settings.max_sessions;
  }
  // Jobs to take from the queue at once (caller holds mu).
  std::size_t batch_take() const;
  LookupResult run_job(PoolJob& job, WorkerSession& w);
  void run_batch(std::vector<PoolJob>& jobs, WorkerSession& w,
                 std::vector<Answer>& answers);
  bool want_batching(const WorkerSession& w) const {
    return batching_driver && settings_batch() > 1 && clock->now() >= w.single_until;
  }
  int settings_batch() const {
    std::lock_guard lock(mu);
    return settings.max_batch;
  }
  void close_session(std::unique_ptr<SqlSession>& session, std::size_t host);
  // Queue a job for the workers (submit without the loop session).
  void queue_job(PoolJob job);
  // Loop session (loop thread): send job on it; false = not taken.
  bool try_loop(PoolJob& job);
  // Whether the loop session may take a job now; closes it when it must go.
  bool loop_ready(const PoolJob& job);
  // Its socket is readable: the answer, or a broken idle connection.
  void loop_readable();
  // Read the loop session's answer and give it to the job (posted when
  // in_submit); nothing yet: wait for the next readable event.
  void loop_answer(bool in_submit);
  // Drop the loop session (and its watch, before the socket closes).
  void loop_close();
  // Under load: the loop session goes to a new worker (no reconnect).
  void loop_give_back();
  // With mu held: the threads of finished workers, out of workers, to be
  // joined (destroyed) after unlocking.
  std::vector<std::jthread> reap_finished();
  // Worker: give the session to the loop that asked for one, and exit.
  bool hand_over(WorkerSession& w, bool& was_busy);
  // Whether the loop may take w's session now (caller holds mu).
  bool may_hand_over(const WorkerSession& w, bool was_busy) const;
  // Worker: replace a session without asynchronous queries by a loop
  // session to the same host (SqlDriver::connect_loop); false = not now.
  bool swap_for_loop(WorkerSession& w, bool was_busy);
  void post_retry(LookupDone done) {
    if (!done) return;
    poster.post([done = std::move(done)] { done(LookupResult{ProxyStatus::Retry, {}}); });
  }

  const std::shared_ptr<PoolClock> clock;  // first: host_set reads it
  const std::string label;
  const std::unique_ptr<SqlDriver> driver;
  HostSet host_set;
  const std::chrono::seconds idle_interval;
  PoolSettings settings;
  Poster& poster;
  Logger& log;
  const bool batching_driver;  // driver->supports_batching()

  mutable std::mutex mu;
  std::condition_variable cv;
  std::deque<PoolJob> queue;          // guarded by mu
  std::vector<std::jthread> workers;  // guarded by mu (finished ones too)
  // Workers that have returned, joined by the next spawn (reap_finished):
  // an exited thread keeps its stack until joined. Guarded by mu.
  std::vector<std::thread::id> finished;
  int live_workers = 0;     // guarded by mu
  int idle_workers = 0;     // guarded by mu
  int busy_workers = 0;     // guarded by mu
  int wakeups_pending = 0;  // notified idle workers not yet awake; guarded by mu
  bool stopping = false;    // guarded by mu
  bool batch_policy_refused = false;  // said once; guarded by mu
  int open_sessions = 0;              // guarded by mu
  int peak_sessions = 0;              // guarded by mu
  std::size_t queue_peak = 0;         // guarded by mu
  PoolCounters counters;              // guarded by mu
  std::condition_variable probe_cv;   // probes wait on it with mu
  std::vector<std::jthread> probers;  // guarded by mu; one per distinct host at most
  std::vector<bool> probe_started;    // by probe_index; guarded by mu
  std::vector<bool> probe_wanted;     // by probe_index: its host went down; guarded by mu

  // The loop session: loop thread only.
  struct LoopSlot {
    WorkerSession held;              // held.session null: none
    std::unique_ptr<FdWatch> watch;  // its socket, while held
    std::optional<PoolJob> job;      // the lookup in flight on it
    PoolJob::Clock::time_point last_used{};
  } loop;
  WorkerSession handover;    // a session given to the loop; guarded by mu
  bool loop_wanted = false;  // the loop asks for a session; guarded by mu
  bool loop_holds = false;   // handover or loop.held has one; guarded by mu
  // No hand-over to the loop before then: it just gave one back, or (mysql)
  // connect_loop had none or failed. Guarded by mu.
  PoolJob::Clock::time_point loop_hold_until{};
  int given_back =
      0;  // workers started with the loop's session, not yet waiting; guarded by mu
};

void SessionPool::State::host_down(std::size_t i) {
  host_set.mark_down(i);
  std::size_t c = host_set.probe_index(i);
  {
    std::lock_guard lock(mu);
    if (stopping || settings.probe_interval <= 0) return;
    probe_wanted[c] = true;
    if (!probe_started[c]) {
      probe_started[c] = true;
      probers.emplace_back([this, c] { probe_main(c); });
      return;
    }
  }
  probe_cv.notify_all();
}

void SessionPool::State::probe_main(std::size_t c) {
  driver->thread_init();
  (void)make_batch_thread();  // the workers already said it when it fails
  const HostSpec& spec = host_set.spec(c);
  std::unique_lock lock(mu);
  for (;;) {
    probe_cv.wait(lock, [&] { return stopping || probe_wanted[c]; });
    if (stopping) break;
    if (settings.probe_interval <= 0) {  // turned off by a reload
      probe_wanted[c] = false;
      continue;
    }
    std::chrono::seconds interval(settings.probe_interval);
    if (clock->wait_until(probe_cv, lock, clock->now() + interval,
                          [&] { return stopping; })) {
      break;
    }
    bool revived_now = false;
    if (host_set.host_down(c)) {
      ++counters.probes;
      lock.unlock();
      // Blocking, bounded by the driver's connect timeout; the session is
      // only proof that the host answers, workers open their own.
      bool up = driver->connect(spec).session != nullptr;
      revived_now = up && host_set.revive(c);
      if (revived_now) log.info("{}: {} answers again: host usable", label, spec.text);
      lock.lock();
      if (revived_now) ++counters.revived;
    }
    // Down again already (or still): keep probing; up: wait for the next fall.
    probe_wanted[c] = host_set.host_down(c);
  }
  lock.unlock();
  driver->thread_end();
}

void SessionPool::State::close_session(std::unique_ptr<SqlSession>& session,
                                       std::size_t host) {
  if (!session) return;
  session.reset();  // may block briefly (driver close)
  host_set.release(host);
  std::lock_guard lock(mu);
  --open_sessions;
}

LookupResult SessionPool::State::run_job(PoolJob& job, WorkerSession& w) {
  std::vector<bool> tried(host_set.size(), false);
  bool fresh = false;            // session connected during this job
  bool retried_stale = false;    // already replaced one broken session
  bool reopened_single = false;  // already reconnected without batching
  for (;;) {
    // Another worker saw this host fail: drop our connection to it too.
    if (w.session && host_set.generation(w.host) != w.generation) {
      close_session(w.session, w.host);
    }

    while (!w.session) {
      std::optional<std::size_t> pick = host_set.pick(tried);
      if (!pick) {
        log.warn_limited(label, "{}: no usable database host", label);
        return LookupResult{ProxyStatus::Retry, {}};
      }
      tried[*pick] = true;
      const HostSpec& spec = host_set.spec(*pick);
      ConnectResult connected =
          want_batching(w) ? driver->connect_batching(spec) : driver->connect(spec);
      if (!connected.session) {
        log.warn_limited(label, "connect to {} {}: {}", label, spec.text,
                         connected.error);
        host_down(*pick);
        std::lock_guard lock(mu);
        ++counters.connect_failures;
        continue;
      }
      w.host = *pick;
      w.generation = host_set.generation(w.host);
      host_set.mark_up(w.host);
      w.session = std::move(connected.session);
      fresh = true;
      std::lock_guard lock(mu);
      ++open_sessions;
      ++counters.connects;
      peak_sessions = std::max(peak_sessions, open_sessions);
    }
    tried[w.host] = true;

    Attempt attempt;
    try {
      attempt = job.work->attempt(*w.session);
    } catch (const std::exception& e) {
      log.warn_limited(label, "{}: lookup failed: {}", label, e.what());
      close_session(w.session, w.host);  // recycle: its state is unknown
      return LookupResult{ProxyStatus::Retry, {}};
    }
    if (attempt.needs_single) {
      // The statement could be several statements on this batching session:
      // reconnect to the same host without batching and run it there.
      if (reopened_single || !w.session->batching()) {
        log.warn_limited(label, "{}: statement refused on a single-statement session",
                         label);
        return LookupResult{ProxyStatus::Retry, {}};
      }
      reopened_single = true;
      w.single_until = clock->now() + kSingleHold;
      tried[w.host] = false;
      close_session(w.session, w.host);
      continue;
    }
    if (!attempt.host_failed) return std::move(attempt.result);
    if (!fresh && !retried_stale) {
      // A session that served earlier jobs broke (server restart, idle
      // kill): replace it and run the read once more before blaming the host.
      retried_stale = true;
      tried[w.host] = false;
      close_session(w.session, w.host);
      std::lock_guard lock(mu);
      ++counters.retried;
      continue;
    }
    host_down(w.host);
    close_session(w.session, w.host);
  }
}

std::size_t SessionPool::State::batch_take() const {
  if (!batching_driver || settings.max_batch <= 1 || queue.empty() ||
      !queue.front().work->splits()) {
    return 1;
  }
  // Share the waiting jobs with the idle workers, so that a light load still
  // runs in parallel and only a backlog is combined.
  std::size_t share = (queue.size() + static_cast<std::size_t>(idle_workers)) /
                      (static_cast<std::size_t>(idle_workers) + 1);
  return std::clamp<std::size_t>(share, 1, static_cast<std::size_t>(settings.max_batch));
}

void SessionPool::State::run_batch(std::vector<PoolJob>& jobs, WorkerSession& w,
                                   std::vector<Answer>& answers) {
  std::vector<std::optional<LookupResult>> results(jobs.size());
  std::size_t next = 0;
  // Until there is a batching session, run jobs one by one: the first one
  // connects (for batches, unless the worker is holding a single session).
  while (next < jobs.size()) {
    if (w.session && !w.session->batching() && want_batching(w)) {
      close_session(w.session, w.host);  // single-statement hold is over
    }
    bool ready =
        w.session && w.session->batching() && host_set.generation(w.host) == w.generation;
    if (ready && jobs.size() - next > 1) break;
    results[next] = run_job(jobs[next], w);
    ++next;
  }

  // Build every statement on the session, combine those that may be.
  std::vector<std::size_t> members;
  std::vector<std::string> sqls;
  for (std::size_t i = next; i < jobs.size(); ++i) {
    if (!jobs[i].work->splits()) continue;
    try {
      Prepared p = jobs[i].work->prepare(*w.session);
      if (p.answer) {
        if (!p.answer->host_failed && !p.answer->needs_single) {
          results[i] = std::move(p.answer->result);
        }
        continue;  // host trouble: left for run_job below
      }
      if (w.session->can_batch(p.sql)) {
        members.push_back(i);
        sqls.push_back(std::move(p.sql));
      }
    } catch (const std::exception&) {
      // Left for run_job, which reports it.
    }
  }
  if (sqls.size() > 1) {
    BatchResult br = w.session->query_batch(sqls);
    {
      std::lock_guard lock(mu);
      ++counters.batches;
      counters.batched += br.results.size();
    }
    for (std::size_t k = 0; k < br.results.size(); ++k) {
      std::size_t i = members[k];
      try {
        Attempt a = jobs[i].work->finish(std::move(br.results[k]));
        if (!a.host_failed && !a.needs_single) results[i] = std::move(a.result);
      } catch (const std::exception&) {
        // Silent on purpose: results[i] stays empty, so run_job retries the
        // lookup alone and logs its failure there, once.
      }
    }
    if (!br.usable) {
      log.warn("{}: batch of {} lookups stopped after {}: {}", label, sqls.size(),
               br.results.size(), br.message);
      close_session(w.session, w.host);
    }
  }
  // Everything not answered yet runs alone, with failover and retries.
  for (std::size_t i = next; i < jobs.size(); ++i) {
    if (!results[i]) results[i] = run_job(jobs[i], w);
  }
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    if (jobs[i].done)
      answers.emplace_back(std::move(jobs[i].done), std::move(*results[i]));
  }
}

void SessionPool::State::worker_start() {
  driver->thread_init();
  if (std::string why = make_batch_thread(); !why.empty()) {
    bool first = false;
    {
      std::lock_guard lock(mu);
      first = !batch_policy_refused;
      batch_policy_refused = true;
    }
    if (first)
      log.warn("{}: worker threads keep the normal scheduling policy: {}", label, why);
  }
}

SessionPool::State::Next SessionPool::State::wait_for_work(
    std::unique_lock<std::mutex>& lock, const WorkerSession& w, bool& was_busy) {
  // The previous job's end is recorded here, in the same critical section
  // that takes the next one: one lock per job, not two.
  if (was_busy) --busy_workers;
  was_busy = false;
  ++idle_workers;
  bool idle_expired = false;
  while (!wake() && !idle_expired) {
    if (w.session && idle_interval.count() > 0) {
      idle_expired = !clock->wait_until(cv, lock, clock->now() + idle_interval,
                                        [&] { return wake(); });
    } else {
      cv.wait(lock, [&] { return wake(); });
    }
  }
  --idle_workers;
  if (wakeups_pending > 0) --wakeups_pending;
  if (stopping) return Next::Stop;
  if (live_workers > settings.max_sessions) {  // limit lowered by reload
    --live_workers;
    return Next::Retire;
  }
  if (queue.empty()) return Next::CloseIdle;  // the idle timer fired
  return Next::Work;
}

void SessionPool::State::take_jobs(std::vector<PoolJob>& taken,
                                   std::vector<LookupDone>& expired_jobs) {
  std::size_t take = batch_take();
  auto now = clock->now();
  auto take_job = [&](PoolJob& job) {
    if (now >= job.deadline) {
      ++counters.expired;
      expired_jobs.push_back(std::move(job.done));
    } else {
      taken.push_back(std::move(job));
    }
  };
  while (taken.empty() && !queue.empty()) {  // the oldest live job
    take_job(queue.front());
    queue.pop_front();
  }
  // Its batch companions: later jobs of the same group, in queue order; the
  // jobs passed over keep their places.
  const void* group = taken.empty() ? nullptr : taken.front().work->batch_group();
  if (group && taken.front().work->splits()) {
    std::size_t scan = kBatchScan * static_cast<std::size_t>(settings.max_batch);
    for (auto it = queue.begin(); it != queue.end() && taken.size() < take && scan > 0;
         --scan) {
      if (it->work->splits() && it->work->batch_group() == group) {
        take_job(*it);
        it = queue.erase(it);
      } else {
        ++it;
      }
    }
  }
}

bool SessionPool::State::run_taken(std::vector<PoolJob>& taken, WorkerSession& w,
                                   std::vector<Answer>& answers, bool& was_busy) {
  // A session the loop asked for is handed over before the answers go
  // out, so that the client's next lookup finds it there.
  if (taken.size() == 1) {
    LookupResult result = run_job(taken.front(), w);
    bool handed = hand_over(w, was_busy);
    if (taken.front().done) {
      poster.post([done = std::move(taken.front().done),
                   result = std::move(result)]() mutable { done(std::move(result)); });
    }
    return handed;
  }
  answers.clear();
  run_batch(taken, w, answers);
  bool handed = hand_over(w, was_busy);
  if (!answers.empty()) {
    poster.post([answers = std::move(answers)]() mutable {
      for (auto& [done, result] : answers) done(std::move(result));
    });
    answers = {};
  }
  return handed;
}

void SessionPool::State::worker_main(WorkerSession start) {
  worker_start();
  bool from_loop = start.session != nullptr;  // counted in given_back
  WorkerSession w = std::move(start);
  bool retired = false;
  bool was_busy = false;
  std::vector<PoolJob> taken;
  std::vector<LookupDone> expired_jobs;
  std::vector<Answer> answers;
  for (;;) {
    taken.clear();
    expired_jobs.clear();
    {
      std::unique_lock lock(mu);
      if (from_loop) --given_back;  // idle from here on (wait_for_work)
      from_loop = false;
      Next next = wait_for_work(lock, w, was_busy);
      if (next == Next::Stop) break;
      if (next == Next::Retire) {
        retired = true;
        break;
      }
      if (next == Next::CloseIdle) {  // close the session, keep waiting
        lock.unlock();
        close_session(w.session, w.host);
        continue;
      }
      take_jobs(taken, expired_jobs);
      if (!taken.empty()) {
        ++busy_workers;
        was_busy = true;
        counters.jobs += taken.size();
      }
    }
    for (LookupDone& done : expired_jobs) post_retry(std::move(done));
    // After handing its session to the loop, this worker exits.
    if (!taken.empty() && run_taken(taken, w, answers, was_busy)) {
      retired = true;
      break;
    }
  }
  close_session(w.session, w.host);
  driver->thread_end();
  std::lock_guard lock(mu);
  if (!retired) --live_workers;
  finished.push_back(std::this_thread::get_id());  // the last use of this State
}

std::vector<std::jthread> SessionPool::State::reap_finished() {
  std::vector<std::jthread> done;
  if (finished.empty()) return done;
  std::erase_if(workers, [&](std::jthread& t) {
    if (std::find(finished.begin(), finished.end(), t.get_id()) == finished.end())
      return false;
    done.push_back(std::move(t));
    return true;
  });
  finished.clear();
  return done;
}

SessionPool::SessionPool(std::string label, std::unique_ptr<SqlDriver> driver,
                         std::vector<HostSpec> hosts, bool duplicate_single_host,
                         std::chrono::seconds retry_interval,
                         std::chrono::seconds idle_interval, PoolSettings settings,
                         Poster& poster, Logger& log, std::shared_ptr<PoolClock> clock)
    : state_(std::make_unique<State>(
          std::move(label), std::move(driver), std::move(hosts), duplicate_single_host,
          retry_interval, idle_interval, settings, poster, log, std::move(clock))) {}

SessionPool::~SessionPool() { shutdown(); }

ConnectResult SessionPool::connect_once(const HostSpec& host) {
  return state_->driver->connect(host);
}

void SessionPool::submit(PoolJob job) {
  if (state_->try_loop(job)) return;
  state_->queue_job(std::move(job));
}

void SessionPool::State::queue_job(PoolJob job) {
  State& s = *this;
  bool queued = false;
  bool notify = false;
  std::vector<std::jthread> reaped;  // joined on leaving, after the lock
  {
    std::lock_guard lock(s.mu);
    if (!s.stopping && s.queue.size() < s.settings.max_queue) {
      s.queue.push_back(std::move(job));
      queued = true;
      s.queue_peak = std::max(s.queue_peak, s.queue.size());
      // The loop session counts against max_sessions, but never leaves
      // the queue without a worker.
      int limit = std::max(1, s.settings.max_sessions - (s.loop_holds ? 1 : 0));
      if (s.live_workers < limit &&
          s.queue.size() > static_cast<std::size_t>(s.idle_workers + s.given_back)) {
        ++s.live_workers;
        reaped = s.reap_finished();
        s.workers.emplace_back([&s] { s.worker_main(); });
      }
      // Wake an idle worker unless enough are already on their way: under
      // load, busy workers come back to the queue by themselves.
      if (s.idle_workers > s.wakeups_pending) {
        ++s.wakeups_pending;
        notify = true;
      }
    } else if (!s.stopping) {
      // Say it once per burst, not once per rejected lookup.
      if (s.counters.rejected++ % 1000 == 0) {
        s.log.warn("{}: request queue full ({} jobs): answering RETRY", s.label,
                   s.queue.size());
      }
    }
  }
  if (notify) s.cv.notify_one();  // after unlocking: the worker needs the lock
  if (!queued) s.post_retry(std::move(job.done));
}

bool SessionPool::State::loop_ready(const PoolJob& job) {
  bool enabled = false;
  bool pool_idle = false;  // nothing queued, no worker busy
  {
    std::lock_guard lock(mu);
    enabled = settings.loop_queries && settings.max_sessions >= 2 && !stopping;
    pool_idle = queue.empty() && busy_workers == 0;
    if (!loop.held.session && handover.session) loop.held = std::move(handover);
    if (enabled && !loop_holds && pool_idle) loop_wanted = true;
  }
  if (!loop.held.session || loop.job) return false;
  auto now = clock->now();
  bool idle_over = idle_interval.count() > 0 && now - loop.last_used >= idle_interval &&
                   loop.last_used != PoolJob::Clock::time_point{};
  if (!enabled || idle_over ||
      host_set.generation(loop.held.host) != loop.held.generation) {
    loop_close();
    return false;
  }
  if (!pool_idle) {
    // Lookups are queuing or workers are busy: batches do better there.
    loop_give_back();
    return false;
  }
  if (!loop.watch) {
    int fd = loop.held.session->async_socket();
    if (fd >= 0) loop.watch = poster.watch_readable(fd, [this] { loop_readable(); });
    if (!loop.watch) {
      loop_close();
      return false;
    }
  }
  loop.last_used = now;
  return now < job.deadline;
}

bool SessionPool::State::try_loop(PoolJob& job) {
  if (!poster.on_owner_thread() || !job.work->splits() || !loop_ready(job)) return false;
  SqlSession& session = *loop.held.session;
  Prepared p;
  try {
    p = job.work->prepare(session);
  } catch (const std::exception&) {
    return false;  // the workers run it and report
  }
  if (p.answer) {
    // Host trouble is for the workers' failover; anything else is the answer.
    if (p.answer->host_failed || p.answer->needs_single) return false;
    {
      std::lock_guard lock(mu);
      ++counters.jobs;
      ++counters.loop_answered;
    }
    poster.post(
        [done = std::move(job.done), result = std::move(p.answer->result)]() mutable {
          if (done) done(std::move(result));
        });
    return true;
  }
  if (!session.send_query(p.sql)) {
    if (!session.usable()) loop_close();
    return false;
  }
  {
    std::lock_guard lock(mu);
    ++counters.jobs;
  }
  loop.job = std::move(job);
  // Answered before send_query returned: no readable event will say so.
  if (session.result_ready()) loop_answer(true);
  return true;
}

void SessionPool::State::loop_readable() { loop_answer(false); }

void SessionPool::State::loop_answer(bool in_submit) {
  if (!loop.held.session) return;
  std::optional<QueryResult> r;
  try {
    r = loop.held.session->read_query();
  } catch (const std::exception& e) {
    r = QueryResult{QueryStatus::HostError, {}, e.what(), {}};
  }
  if (!r) return;
  if (!loop.job) {  // nothing asked: the idle connection broke
    loop_close();
    return;
  }
  PoolJob job = std::move(*loop.job);
  loop.job.reset();
  loop.last_used = clock->now();
  std::optional<Attempt> a;
  try {
    a = job.work->finish(std::move(*r));
  } catch (const std::exception&) {
    a.reset();
  }
  if (!a || a->host_failed || a->needs_single) {
    // Like a worker's stale session: drop it, and let the workers run the
    // lookup again with every failover rule.
    loop_close();
    {
      std::lock_guard lock(mu);
      --counters.jobs;  // counted again when a worker takes it
    }
    queue_job(std::move(job));
    return;
  }
  {
    std::lock_guard lock(mu);
    ++counters.loop_answered;
  }
  if (!job.done) return;
  if (in_submit) {  // done never runs inside submit
    poster.post([done = std::move(job.done), result = std::move(a->result)]() mutable {
      done(std::move(result));
    });
    return;
  }
  job.done(std::move(a->result));
}

void SessionPool::State::loop_close() {
  loop.watch.reset();  // before the socket closes
  if (loop.held.session) close_session(loop.held.session, loop.held.host);
  loop.last_used = {};
  std::lock_guard lock(mu);
  if (!handover.session) loop_holds = false;
}

void SessionPool::State::loop_give_back() {
  loop.watch.reset();                // the worker owns the socket from here
  std::vector<std::jthread> reaped;  // joined on leaving, after the lock
  std::lock_guard lock(mu);
  if (stopping || live_workers >= settings.max_sessions) return;
  ++live_workers;
  reaped = reap_finished();
  ++given_back;  // it takes the next queued job: no other worker for it
  loop_holds = false;
  loop_hold_until = std::max(loop_hold_until, clock->now() + kLoopRejoinHold);
  workers.emplace_back(
      [this, ws = std::move(loop.held)]() mutable { worker_main(std::move(ws)); });
  loop.held = WorkerSession{};
  loop.last_used = {};
}

bool SessionPool::State::may_hand_over(const WorkerSession& w, bool was_busy) const {
  // Only with nothing queued: an exiting worker must not strand a job.
  // Only when the pool is otherwise idle: under load the session batches.
  // Not during the hold after a give-back or a failed loop connect.
  return loop_wanted && !loop_holds && !stopping && queue.empty() &&
         clock->now() >= loop_hold_until && busy_workers <= (was_busy ? 1 : 0) &&
         host_set.generation(w.host) == w.generation;
}

bool SessionPool::State::swap_for_loop(WorkerSession& w, bool was_busy) {
  {
    std::lock_guard lock(mu);
    if (!may_hand_over(w, was_busy)) return false;
  }
  ConnectResult c = driver->connect_loop(host_set.spec(w.host));
  bool ok = c.session && c.session->async_socket() >= 0;
  if (!ok && !c.error.empty())
    log.warn_limited(label, "{}: loop session: {}", label, c.error);
  std::unique_ptr<SqlSession> old;  // closed after unlocking
  std::lock_guard lock(mu);
  if (!ok) {
    // None (the driver has no loop sessions, or not for these settings) or
    // a failed connect: the worker keeps its session; ask again later.
    loop_hold_until = clock->now() + kLoopConnectHold;
    return false;
  }
  ++counters.connects;
  // Same host, one session for another: open_sessions is unchanged.
  old = std::move(w.session);
  w.session = std::move(c.session);
  return true;
}

bool SessionPool::State::hand_over(WorkerSession& w, bool& was_busy) {
  if (!w.session) return false;
  // The worker's session cannot serve the loop (mysql): connect one that can.
  if (w.session->async_socket() < 0 && !swap_for_loop(w, was_busy)) return false;
  std::lock_guard lock(mu);
  if (!may_hand_over(w, was_busy)) return false;
  loop_wanted = false;
  loop_holds = true;
  handover = std::move(w);
  w = WorkerSession{};
  if (was_busy) --busy_workers;
  was_busy = false;
  --live_workers;
  return true;
}

void SessionPool::shutdown() {
  State& s = *state_;
  std::deque<PoolJob> pending;
  std::vector<std::jthread> workers;
  std::vector<std::jthread> probes;
  WorkerSession handed;
  {
    std::lock_guard lock(s.mu);
    handed = std::move(s.handover);
    s.handover = WorkerSession{};
    s.stopping = true;
    pending.swap(s.queue);
    workers.swap(s.workers);
    probes.swap(s.probers);
  }
  s.cv.notify_all();
  s.probe_cv.notify_all();
  for (PoolJob& job : pending) s.post_retry(std::move(job.done));
  if (s.loop.job) s.post_retry(std::move(s.loop.job->done));
  s.loop.job.reset();
  s.loop_close();
  s.close_session(handed.session, handed.host);
  for (std::jthread& t : workers) t.join();
  for (std::jthread& t : probes) t.join();
}

void SessionPool::update_settings(PoolSettings settings) {
  State& s = *state_;
  {
    std::lock_guard lock(s.mu);
    s.settings.max_sessions = std::max(1, settings.max_sessions);
    s.settings.max_queue = std::max<std::size_t>(1, settings.max_queue);
    s.settings.max_batch = std::max(1, settings.max_batch);
    s.settings.probe_interval = std::max(0, settings.probe_interval);
    s.settings.loop_queries = settings.loop_queries;
  }
  s.cv.notify_all();  // surplus idle workers notice the lower limit
  s.probe_cv.notify_all();
}

PoolStats SessionPool::stats() const {
  const State& s = *state_;
  std::lock_guard lock(s.mu);
  PoolStats out;
  out.label = s.label;
  out.sessions_open = s.open_sessions;
  out.sessions_busy = s.busy_workers;
  out.sessions_peak = s.peak_sessions;
  out.max_sessions = s.settings.max_sessions;
  out.queued = s.queue.size();
  out.queue_peak = s.queue_peak;
#define PROXYD_COPY(type, field, kind, family, label, help) out.field = s.counters.field;
  PROXYD_POOL_COUNTERS(PROXYD_COPY)
#undef PROXYD_COPY
  return out;
}

bool SessionPool::all_columns() const { return state_->driver->all_columns(); }

const std::string& SessionPool::label() const { return state_->label; }

int SessionPool::worker_count() const {
  std::lock_guard lock(state_->mu);
  return state_->live_workers;
}

std::size_t SessionPool::thread_count() const {
  std::lock_guard lock(state_->mu);
  return state_->workers.size();
}

int SessionPool::open_sessions() const {
  std::lock_guard lock(state_->mu);
  return state_->open_sessions;
}

uint64_t SessionPool::loop_answered() const {
  std::lock_guard lock(state_->mu);
  return state_->counters.loop_answered;
}

std::size_t SessionPool::queued() const {
  std::lock_guard lock(state_->mu);
  return state_->queue.size();
}

struct PoolSet::Impl {
  Impl(PoolSettings s, Poster& p, Logger& l) : settings(s), poster(p), log(l) {}
  PoolSettings settings;
  Poster& poster;
  Logger& log;
  mutable std::mutex mu;
  std::map<std::string, SessionPoolPtr> pools;  // by identity key; guarded by mu
  bool stopped = false;                         // guarded by mu
};

PoolSet::PoolSet(PoolSettings settings, Poster& poster, Logger& log)
    : impl_(std::make_unique<Impl>(settings, poster, log)) {}

PoolSet::~PoolSet() { shutdown(); }

void PoolSet::shutdown() {
  std::map<std::string, SessionPoolPtr> pools;
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopped = true;
    pools = impl_->pools;
  }
  for (auto& [key, pool] : pools) pool->shutdown();
}

SessionPoolPtr PoolSet::pool_for(const ConnectParams& params,
                                 const DriverFactory& factory) {
  std::string key = params.identity_key();
  std::lock_guard lock(impl_->mu);
  if (auto it = impl_->pools.find(key); it != impl_->pools.end()) return it->second;
  std::unique_ptr<SqlDriver> driver = factory ? factory(params) : nullptr;
  if (!driver) return nullptr;
  bool duplicate = params.kind != SqlKind::Sqlite && params.duplicate_single_host;
  auto pool = std::make_shared<SessionPool>(
      params.label(), std::move(driver), params.hosts, duplicate, params.retry_interval,
      params.idle_interval, impl_->settings, impl_->poster, impl_->log);
  if (impl_->stopped) pool->shutdown();
  impl_->pools.emplace(std::move(key), pool);
  return pool;
}

void PoolSet::update_settings(PoolSettings settings) {
  std::map<std::string, SessionPoolPtr> pools;
  {
    std::lock_guard lock(impl_->mu);
    impl_->settings = settings;
    pools = impl_->pools;
  }
  for (auto& [key, pool] : pools) pool->update_settings(settings);
}

std::vector<PoolStats> PoolSet::stats() const {
  std::map<std::string, SessionPoolPtr> pools;
  {
    std::lock_guard lock(impl_->mu);
    pools = impl_->pools;
  }
  std::vector<PoolStats> out;
  for (auto& [key, pool] : pools) out.push_back(pool->stats());
  return out;
}

std::size_t PoolSet::size() const {
  std::lock_guard lock(impl_->mu);
  return impl_->pools.size();
}

}  // namespace proxyd::dict
