// native/core/thread_pool.h: a persistent pool of worker threads.
// parallel_for splits [0, n) into contiguous ranges, one per thread; the
// calling thread takes the first range. When the work makes one piece (n <=
// grain, or a 1-thread pool) it runs inline and no worker is woken; otherwise
// only the workers that own a piece take part in the join.
// Calls are serialised by a mutex: one parallel region at a time per pool.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace hl {

class ThreadPool {
 public:
  // fn(begin, end, thread_index) over a slice of [0, n).
  using RangeFn = std::function<void(int64_t, int64_t, int)>;

  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Runs fn over [0, n) split into at most size() pieces of at least `grain`
  // items. Rethrows the first exception any piece threw.
  void parallel_for(int64_t n, const RangeFn& fn, int64_t grain = 1);

  // The pool used by the standalone kernel API (threads = hardware cores).
  static ThreadPool& shared();

  // Parallel regions that woke workers so far (inline runs not counted): the
  // fork/join count per token that docs/ARCHITECTURE.md (Threads) budgets.
  uint64_t regions() const { return regions_.load(std::memory_order_relaxed); }

 private:
  void worker_loop(int index);

  int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex call_mutex_;  // one parallel_for at a time
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const RangeFn* job_ = nullptr;
  int64_t job_n_ = 0;
  int job_pieces_ = 0;
  uint64_t generation_ = 0;
  int pending_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
  std::atomic<uint64_t> regions_{0};
};

// Default thread count: hardware concurrency, at least 1.
int default_thread_count();

}  // namespace hl
