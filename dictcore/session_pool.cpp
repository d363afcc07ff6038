// Worker-thread session pools. Each worker owns at most one session for its
// whole life and runs jobs from the pool's bounded FIFO; per job it fails
// over across hosts like Postfix's plmysql_query/plpgsql_query (each host at
// most once per lookup, failed hosts skipped for retry_interval) and closes
// its session after idle_interval without work. A session that worked
// before and breaks on a query is replaced and the read retried once on a
// fresh session before its host counts as down. Jobs past their deadline
// are answered RETRY without running. Workers: the job loop below;
// everything else: loop thread (submit may be called from any thread).
#include "dictcore/session_pool.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "dictcore/session_hosts.h"

namespace proxyd::dict {

struct SessionPool::State {
  State(std::string label_in, std::unique_ptr<SqlDriver> driver_in, std::vector<HostSpec> hosts,
        bool duplicate, std::chrono::seconds retry, std::chrono::seconds idle,
        PoolSettings settings_in, Poster& poster_in, Logger& log_in)
      : label(std::move(label_in)),
        driver(std::move(driver_in)),
        host_set(std::move(hosts), retry, duplicate),
        idle_interval(idle),
        settings(settings_in),
        poster(poster_in),
        log(log_in) {
    settings.max_sessions = std::max(1, settings.max_sessions);
    settings.max_queue = std::max<std::size_t>(1, settings.max_queue);
  }

  void worker_main(std::stop_token stop);
  // A waiting worker has something to do (caller holds mu).
  bool wake() const {
    return stopping || !queue.empty() || live_workers > settings.max_sessions;
  }
  LookupResult run_job(PoolJob& job, std::unique_ptr<SqlSession>& session, std::size_t& host,
                       uint64_t& generation);
  void close_session(std::unique_ptr<SqlSession>& session, std::size_t host);
  void post_retry(LookupDone done) {
    if (!done) return;
    poster.post([done = std::move(done)] { done(LookupResult{ProxyStatus::Retry, {}}); });
  }

  const std::string label;
  const std::unique_ptr<SqlDriver> driver;
  HostSet host_set;
  const std::chrono::seconds idle_interval;
  PoolSettings settings;
  Poster& poster;
  Logger& log;

  mutable std::mutex mu;
  std::condition_variable_any cv;
  std::deque<PoolJob> queue;         // guarded by mu
  std::vector<std::jthread> workers;  // guarded by mu (finished ones too)
  int live_workers = 0;               // guarded by mu
  int idle_workers = 0;               // guarded by mu
  int busy_workers = 0;               // guarded by mu
  bool stopping = false;              // guarded by mu
  int open_sessions = 0;              // guarded by mu
  int peak_sessions = 0;              // guarded by mu
  std::size_t queue_peak = 0;         // guarded by mu
  uint64_t jobs = 0;                  // guarded by mu
  uint64_t rejected = 0;              // guarded by mu
  uint64_t expired = 0;               // guarded by mu
  uint64_t connects = 0;              // guarded by mu
  uint64_t connect_failures = 0;      // guarded by mu
  uint64_t retried = 0;               // guarded by mu
};

void SessionPool::State::close_session(std::unique_ptr<SqlSession>& session, std::size_t host) {
  if (!session) return;
  session.reset();  // may block briefly (driver close)
  host_set.release(host);
  std::lock_guard lock(mu);
  --open_sessions;
}

LookupResult SessionPool::State::run_job(PoolJob& job, std::unique_ptr<SqlSession>& session,
                                         std::size_t& host, uint64_t& generation) {
  std::vector<bool> tried(host_set.size(), false);
  bool fresh = false;           // session connected during this job
  bool retried_stale = false;  // already replaced one broken session
  for (;;) {
    // Another worker saw this host fail: drop our connection to it too.
    if (session && host_set.generation(host) != generation) close_session(session, host);

    while (!session) {
      std::optional<std::size_t> pick = host_set.pick(tried);
      if (!pick) {
        log.warn("{}: no usable database host", label);
        return LookupResult{ProxyStatus::Retry, {}};
      }
      tried[*pick] = true;
      ConnectResult connected = driver->connect(host_set.spec(*pick));
      if (!connected.session) {
        log.warn("connect to {} {}: {}", label, host_set.spec(*pick).text, connected.error);
        host_set.mark_down(*pick);
        std::lock_guard lock(mu);
        ++connect_failures;
        continue;
      }
      host = *pick;
      generation = host_set.generation(host);
      host_set.mark_up(host);
      session = std::move(connected.session);
      fresh = true;
      std::lock_guard lock(mu);
      ++open_sessions;
      ++connects;
      peak_sessions = std::max(peak_sessions, open_sessions);
    }
    tried[host] = true;

    Attempt attempt;
    try {
      attempt = job.attempt(*session);
    } catch (const std::exception& e) {
      log.warn("{}: lookup failed: {}", label, e.what());
      close_session(session, host);  // recycle: its state is unknown
      return LookupResult{ProxyStatus::Retry, {}};
    }
    if (!attempt.host_failed) return std::move(attempt.result);
    if (!fresh && !retried_stale) {
      // A session that served earlier jobs broke (server restart, idle
      // kill): replace it and run the read once more before blaming the host.
      retried_stale = true;
      tried[host] = false;
      close_session(session, host);
      std::lock_guard lock(mu);
      ++retried;
      continue;
    }
    host_set.mark_down(host);
    close_session(session, host);
  }
}

void SessionPool::State::worker_main(std::stop_token stop) {
  driver->thread_init();
  std::unique_ptr<SqlSession> session;
  std::size_t host = 0;
  uint64_t generation = 0;
  bool retired = false;
  bool was_busy = false;
  for (;;) {
    PoolJob job;
    bool idle_expired = false;
    {
      std::unique_lock lock(mu);
      // The previous job's end is recorded here, in the same critical
      // section that takes the next one: one lock per job, not two.
      if (was_busy) --busy_workers;
      was_busy = false;
      ++idle_workers;
      while (!wake() && !stop.stop_requested() && !idle_expired) {
        if (session && idle_interval.count() > 0) {
          idle_expired = !cv.wait_for(lock, stop, idle_interval,
                                      [&] { return wake(); });
        } else {
          cv.wait(lock, stop, [&] { return wake(); });
        }
      }
      --idle_workers;
      if (stopping || stop.stop_requested()) break;
      if (live_workers > settings.max_sessions) {  // limit lowered by reload
        --live_workers;
        retired = true;
        break;
      }
      if (queue.empty()) {  // idle timer fired: close the session, keep waiting
        lock.unlock();
        close_session(session, host);
        continue;
      }
      job = std::move(queue.front());
      queue.pop_front();
      if (PoolJob::Clock::now() >= job.deadline) {
        ++expired;
        lock.unlock();
        post_retry(std::move(job.done));
        continue;
      }
      ++busy_workers;
      was_busy = true;
      ++jobs;
    }
    LookupResult result = run_job(job, session, host, generation);
    if (job.done) {
      poster.post([done = std::move(job.done), result = std::move(result)]() mutable {
        done(std::move(result));
      });
    }
  }
  close_session(session, host);
  driver->thread_end();
  if (!retired) {
    std::lock_guard lock(mu);
    --live_workers;
  }
}

SessionPool::SessionPool(std::string label, std::unique_ptr<SqlDriver> driver,
                         std::vector<HostSpec> hosts, bool duplicate_single_host,
                         std::chrono::seconds retry_interval,
                         std::chrono::seconds idle_interval, PoolSettings settings,
                         Poster& poster, Logger& log)
    : state_(std::make_unique<State>(std::move(label), std::move(driver), std::move(hosts),
                                     duplicate_single_host, retry_interval, idle_interval,
                                     settings, poster, log)) {}

SessionPool::~SessionPool() { shutdown(); }

void SessionPool::submit(PoolJob job) {
  State& s = *state_;
  {
    std::lock_guard lock(s.mu);
    if (!s.stopping && s.queue.size() < s.settings.max_queue) {
      s.queue.push_back(std::move(job));
      s.queue_peak = std::max(s.queue_peak, s.queue.size());
      if (s.live_workers < s.settings.max_sessions &&
          s.queue.size() > static_cast<std::size_t>(s.idle_workers)) {
        ++s.live_workers;
        s.workers.emplace_back([&s](std::stop_token stop) { s.worker_main(stop); });
      }
      s.cv.notify_one();
      return;
    }
    if (!s.stopping) {
      // Say it once per burst, not once per rejected lookup.
      if (s.rejected++ % 1000 == 0) {
        s.log.warn("{}: request queue full ({} jobs): answering RETRY", s.label,
                   s.queue.size());
      }
    }
  }
  s.post_retry(std::move(job.done));
}

void SessionPool::shutdown() {
  State& s = *state_;
  std::deque<PoolJob> pending;
  std::vector<std::jthread> workers;
  {
    std::lock_guard lock(s.mu);
    s.stopping = true;
    pending.swap(s.queue);
    workers.swap(s.workers);
  }
  s.cv.notify_all();
  for (PoolJob& job : pending) s.post_retry(std::move(job.done));
  for (std::jthread& t : workers) {
    t.request_stop();
    t.join();
  }
}

void SessionPool::update_settings(PoolSettings settings) {
  State& s = *state_;
  {
    std::lock_guard lock(s.mu);
    s.settings.max_sessions = std::max(1, settings.max_sessions);
    s.settings.max_queue = std::max<std::size_t>(1, settings.max_queue);
  }
  s.cv.notify_all();  // surplus idle workers notice the lower limit
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
  out.jobs = s.jobs;
  out.rejected = s.rejected;
  out.expired = s.expired;
  out.connects = s.connects;
  out.connect_failures = s.connect_failures;
  out.retried = s.retried;
  return out;
}

bool SessionPool::all_columns() const { return state_->driver->all_columns(); }

const std::string& SessionPool::label() const { return state_->label; }

int SessionPool::worker_count() const {
  std::lock_guard lock(state_->mu);
  return state_->live_workers;
}

int SessionPool::open_sessions() const {
  std::lock_guard lock(state_->mu);
  return state_->open_sessions;
}

int SessionPool::peak_open_sessions() const {
  std::lock_guard lock(state_->mu);
  return state_->peak_sessions;
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

SessionPoolPtr PoolSet::pool_for(const ConnectParams& params, const DriverFactory& factory) {
  std::string key = params.identity_key();
  std::lock_guard lock(impl_->mu);
  if (auto it = impl_->pools.find(key); it != impl_->pools.end()) return it->second;
  std::unique_ptr<SqlDriver> driver = factory ? factory(params) : make_driver(params);
  if (!driver) return nullptr;
  bool duplicate = params.kind != SqlKind::Sqlite;
  auto pool = std::make_shared<SessionPool>(params.label(), std::move(driver), params.hosts,
                                            duplicate, params.retry_interval,
                                            params.idle_interval, impl_->settings,
                                            impl_->poster, impl_->log);
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
