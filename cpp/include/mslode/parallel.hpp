// OpenMP helpers: exceptions must not escape a parallel region (that would
// terminate the process), so the first one is kept and rethrown after it.
#pragma once

#include <exception>
#include <mutex>

namespace mslode {

class FirstError {
public:
    template <class F>
    void run(F&& f) {
        try {
            f();
        } catch (...) {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!error_) error_ = std::current_exception();
        }
    }
    void rethrow() const {
        if (error_) std::rethrow_exception(error_);
    }

private:
    std::mutex mutex_;
    std::exception_ptr error_;
};

}  // namespace mslode
