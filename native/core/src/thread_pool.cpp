#include "thread_pool.h"

#include "affinity/cancel.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace affinity {
namespace {

struct Job {
  int64_t tasks = 0;
  const std::function<void(int64_t, int)>* fn = nullptr;  // valid while done < tasks
  const int32_t* cancel = nullptr;  // the caller's cancellation flag: once set, tasks are skipped
  std::atomic<int64_t> next{0};
  std::atomic<int64_t> done{0};
  std::atomic<int> slot{1};  // slot 0 is the caller's
  std::mutex mu;
  std::condition_variable cv;
  std::exception_ptr error;  // first exception, guarded by mu
};

// Runs tasks of `job` until none are left. A participant that arrives after the last task
// was handed out returns without touching job->fn (which may then be gone).
void run_tasks(Job& job, int slot) {
  for (;;) {
    const int64_t t = job.next.fetch_add(1, std::memory_order_relaxed);
    if (t >= job.tasks) return;
    try {
      if (!cancel_flag_set(job.cancel)) (*job.fn)(t, slot);
    } catch (...) {
      std::lock_guard<std::mutex> lock(job.mu);
      if (!job.error) job.error = std::current_exception();
    }
    if (job.done.fetch_add(1, std::memory_order_acq_rel) + 1 == job.tasks) {
      std::lock_guard<std::mutex> lock(job.mu);
      job.cv.notify_all();
    }
  }
}

class Pool {
 public:
  // Adds workers until there are at least `count` (never shrinks).
  void ensure_workers(int count) {
    std::lock_guard<std::mutex> lock(mu_);
    while (static_cast<int>(workers_.size()) < count) {
      workers_.emplace_back([this] { loop(); });
    }
  }

  // One ticket = one helper joining the job.
  void post(const std::shared_ptr<Job>& job, int tickets) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (int i = 0; i < tickets; i++) queue_.push_back(job);
    }
    if (tickets == 1) cv_.notify_one(); else cv_.notify_all();
  }

  // Drops the job's tickets no worker has picked up yet.
  void withdraw(const std::shared_ptr<Job>& job) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (*it == job) it = queue_.erase(it); else ++it;
    }
  }

 private:
  void loop() {
    for (;;) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return !queue_.empty(); });
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      const int slot = job->slot.fetch_add(1, std::memory_order_relaxed);
      run_tasks(*job, slot);
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::vector<std::thread> workers_;
};

// Never destroyed: the workers block on cv_ forever and the process may exit at any time
// (destroying joinable std::threads at exit would call std::terminate).
Pool& pool() {
  static Pool* p = new Pool();
  return *p;
}

}  // namespace

void parallel_for(int64_t tasks, int threads, const std::function<void(int64_t, int)>& fn) {
  if (tasks <= 0) return;
  if (threads > kMaxThreads) threads = kMaxThreads;
  if (threads < 1) threads = 1;
  if (threads > tasks) threads = static_cast<int>(tasks);
  const int32_t* cancel = current_cancel_flag();
  if (threads == 1) {
    for (int64_t t = 0; t < tasks; t++) {
      if (cancel_flag_set(cancel)) throw Cancelled();
      fn(t, 0);
    }
    return;
  }
  auto job = std::make_shared<Job>();
  job->tasks = tasks;
  job->fn = &fn;
  job->cancel = cancel;
  pool().ensure_workers(threads - 1);
  pool().post(job, threads - 1);
  run_tasks(*job, 0);
  {
    std::unique_lock<std::mutex> lock(job->mu);
    job->cv.wait(lock, [&] { return job->done.load(std::memory_order_acquire) == tasks; });
  }
  pool().withdraw(job);
  if (job->error) std::rethrow_exception(job->error);
  if (cancel_flag_set(cancel)) throw Cancelled();
}

}  // namespace affinity
