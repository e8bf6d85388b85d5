// OpenMP helpers: exceptions must not escape a parallel region (that would
// terminate the process), so the first one is kept and rethrown after it;
// long loops can be stopped from outside (Ctrl-C in Python) through StopFlag.
#pragma once

#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace mslode {

// Threads a parallel region started here will have (1 inside an active one),
// and the calling thread's index in its team: for per-thread partial sums
// added in thread order afterwards.
inline int team_size() {
#ifdef _OPENMP
    return omp_in_parallel() ? 1 : omp_get_max_threads();
#else
    return 1;
#endif
}
inline int thread_index() {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

class FirstError {
public:
    template <class F>
    void run(F&& f) {
        try {
            f();
        } catch (...) {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!error_) error_ = std::current_exception();
            failed_.store(true, std::memory_order_relaxed);
        }
    }
    // True once any item failed: loops skip their remaining items, so an
    // error (std::bad_alloc on the first centre, ...) surfaces at once.
    bool failed() const { return failed_.load(std::memory_order_relaxed); }
    void rethrow() const {
        if (error_) std::rethrow_exception(error_);
    }

private:
    std::mutex mutex_;
    std::exception_ptr error_;
    std::atomic<bool> failed_{false};
};

// Thrown by a driver whose stop check asked it to stop (see StopFlag).
class Cancelled : public std::runtime_error {
public:
    Cancelled() : std::runtime_error("computation cancelled") {}
};

// "Should this computation stop now?", asked by a driver every now and then
// (the Python bindings run pending signal handlers: Ctrl-C). Empty: never.
using StopCheck = std::function<bool()>;

// Cooperative cancellation of a parallel loop. Each thread calls stopped()
// before a work item and skips the item when it returns true. Only the
// thread that created the flag -- the caller's thread, which is the master
// of the OpenMP team it starts and the one owning e.g. a Python thread
// state -- runs the check, and at most once per `interval`, so a check that
// takes a lock (the GIL) costs nothing measurable. Once any check says stop,
// every thread skips its remaining items. After the loop, finish() throws
// Cancelled (or rethrows what the check itself threw).
class StopFlag {
public:
    explicit StopFlag(StopCheck check, std::chrono::milliseconds interval = std::chrono::milliseconds(50))
        : check_(std::move(check)), owner_(std::this_thread::get_id()), interval_(interval), last_(Clock::now()) {}

    bool stopped() {
        if (stop_.load(std::memory_order_relaxed)) return true;
        if (!check_ || std::this_thread::get_id() != owner_) return false;
        const auto now = Clock::now();
        if (now - last_ < interval_) return false;
        last_ = now;
        bool stop = true;
        try {
            stop = check_();
        } catch (...) {
            error_ = std::current_exception();  // owner thread only: no race
        }
        if (stop) stop_.store(true, std::memory_order_relaxed);
        return stop;
    }

    // Call after the parallel region (on the owner thread).
    void finish() const {
        if (error_) std::rethrow_exception(error_);
        if (stop_.load()) throw Cancelled();
    }

private:
    using Clock = std::chrono::steady_clock;
    StopCheck check_;
    std::thread::id owner_;
    std::chrono::milliseconds interval_;
    Clock::time_point last_;
    std::atomic<bool> stop_{false};
    std::exception_ptr error_;
};

}  // namespace mslode
