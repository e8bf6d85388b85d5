// The overlap check of a batch of structures: the first pair of atoms closer
// than a threshold, periodic images included. Structures are searched in
// parallel, and the answer is the one a search in structure order gives,
// whatever the threads.
#pragma once

#include <atomic>
#include <cmath>
#include <exception>
#include <optional>
#include <stdexcept>
#include <vector>

#include "neighbour_list.hpp"
#include "parallel.hpp"
#include "structure.hpp"

namespace mslode {

struct ClosePair {
    int structure;
    int i, j;  // j is the first neighbour of i closer than the threshold (an image of j, in a periodic structure)
    double distance;
};

namespace detail {
// The first i (in atom order) with a neighbour closer than `threshold`.
inline std::optional<ClosePair> close_pair_in(const Structure& structure, int index, double threshold) {
    if (structure.n_atoms == 0) return std::nullopt;
    const CellList cells(structure, threshold);
    for (int i = 0; i < structure.n_atoms; ++i) {
        int found = -1;
        double distance = 0.0;
        cells.for_each_neighbour(i, [&](int j, double, double, double, double d2) {
            if (found < 0) {
                found = j;
                distance = std::sqrt(d2);
            }
        });
        if (found >= 0) return ClosePair{index, i, found, distance};
    }
    return std::nullopt;
}
}  // namespace detail

// The close pair of the lowest-index structure that has one, or nothing. An
// error (a singular cell, ...) counts where it happens: it is thrown if its
// structure comes before the first one with a close pair. The stop check
// works as for the drivers of compute.hpp (Cancelled).
inline std::optional<ClosePair> first_close_pair(const std::vector<Structure>& structures, double threshold,
                                                 const StopCheck& stop_check = {}) {
    if (!(threshold > 0.0) || !std::isfinite(threshold)) throw std::invalid_argument("threshold must be positive and finite");
    for (const Structure& structure : structures) check_structure(structure);
    const int S = static_cast<int>(structures.size());
    std::vector<std::optional<ClosePair>> found(static_cast<size_t>(S));
    std::vector<std::exception_ptr> errors(static_cast<size_t>(S));
    // lowest structure decided so far (a pair or an error): later ones can be skipped
    std::atomic<int> decided{S};
    StopFlag stop(stop_check);
#pragma omp parallel for schedule(dynamic)
    for (int s = 0; s < S; ++s) {
        if (stop.stopped() || s > decided.load(std::memory_order_relaxed)) continue;
        const size_t k = static_cast<size_t>(s);
        try {
            found[k] = detail::close_pair_in(structures[k], s, threshold);
        } catch (...) {
            errors[k] = std::current_exception();
        }
        if (found[k] || errors[k]) {
            int current = decided.load(std::memory_order_relaxed);
            while (s < current && !decided.compare_exchange_weak(current, s, std::memory_order_relaxed)) {
            }
        }
    }
    stop.finish();
    const int first = decided.load();
    if (first == S) return std::nullopt;
    if (errors[static_cast<size_t>(first)]) std::rethrow_exception(errors[static_cast<size_t>(first)]);
    return found[static_cast<size_t>(first)];
}

}  // namespace mslode
