// native/core/thread_pool.cpp: see thread_pool.h.
#include "thread_pool.h"

#include <algorithm>

namespace hl {

int default_thread_count() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : (int)n;
}

ThreadPool::ThreadPool(int n_threads) : n_threads_(std::max(1, n_threads)) {
  for (int i = 1; i < n_threads_; i++) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

ThreadPool& ThreadPool::shared() {
  static ThreadPool pool(default_thread_count());
  return pool;
}

static inline void piece_range(int64_t n, int pieces, int i, int64_t* b, int64_t* e) {
  *b = n * i / pieces;
  *e = n * (i + 1) / pieces;
}

void ThreadPool::worker_loop(int index) {
  uint64_t seen = 0;
  for (;;) {
    const RangeFn* job;
    int64_t n;
    int pieces;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      job = job_;
      n = job_n_;
      pieces = job_pieces_;
    }
    // Only the workers that own a piece join (pending_ counts them); the
    // others go back to sleep. A participant of this generation cannot miss
    // it: the caller waits for every participant before the next one starts.
    if (index >= pieces) continue;
    int64_t b, e;
    piece_range(n, pieces, index, &b, &e);
    try {
      if (b < e) (*job)(b, e, index);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    if (--pending_ == 0) done_.notify_one();
  }
}

void ThreadPool::parallel_for(int64_t n, const RangeFn& fn, int64_t grain) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  int pieces = (int)std::min<int64_t>(n_threads_, (n + grain - 1) / grain);
  if (pieces <= 1) {
    fn(0, n, 0);
    return;
  }
  std::lock_guard<std::mutex> call_lock(call_mutex_);
  regions_.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &fn;
    job_n_ = n;
    job_pieces_ = pieces;
    pending_ = pieces - 1;
    error_ = nullptr;
    generation_++;
  }
  wake_.notify_all();
  std::exception_ptr mine;
  try {
    int64_t b, e;
    piece_range(n, pieces, 0, &b, &e);
    fn(b, e, 0);
  } catch (...) {
    mine = std::current_exception();
  }
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [&] { return pending_ == 0; });
  job_ = nullptr;
  std::exception_ptr err = mine ? mine : error_;
  error_ = nullptr;
  lock.unlock();
  if (err) std::rethrow_exception(err);
}

}  // namespace hl
