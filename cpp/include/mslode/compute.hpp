// Batched drivers: many structures, OpenMP across centres, one scratch buffer
// per thread. Structures are prepared (cell lists, ...) first, in parallel.
#pragma once

#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "atomic_expansion.hpp"
#include "invariants.hpp"
#include "parallel.hpp"

namespace mslode {

// Centres: (structure index, atom index) pairs.
struct Center {
    int structure;
    int atom;
};

namespace detail {
// Errors about one structure's data (std::invalid_argument) get its index;
// anything else (std::bad_alloc, ...) keeps its type.
inline std::vector<std::unique_ptr<const AtomicExpansion::Prepared>> prepare_all(
    const AtomicExpansion& expansion, const std::vector<Structure>& structures, StopFlag& stop) {
    const int S = static_cast<int>(structures.size());
    std::vector<std::unique_ptr<const AtomicExpansion::Prepared>> prepared(static_cast<size_t>(S));
    std::vector<std::exception_ptr> errors(static_cast<size_t>(S));
#pragma omp parallel for schedule(dynamic)
    for (int s = 0; s < S; ++s) {
        if (stop.stopped()) continue;
        try {
            prepared[static_cast<size_t>(s)] = expansion.prepare(structures[static_cast<size_t>(s)]);
        } catch (...) {
            errors[static_cast<size_t>(s)] = std::current_exception();
        }
    }
    stop.finish();
    for (int s = 0; s < S; ++s) {
        if (!errors[static_cast<size_t>(s)]) continue;
        try {
            std::rethrow_exception(errors[static_cast<size_t>(s)]);
        } catch (const std::invalid_argument& e) {
            throw std::invalid_argument("structure " + std::to_string(s) + ": " + e.what());
        }
    }
    return prepared;
}

}  // namespace detail

// Both drivers take an optional stop check (see StopFlag in parallel.hpp):
// asked by the calling thread about every 50 ms; once it says stop, every
// thread skips its remaining centres and the driver throws Cancelled, `out`
// left partly written.

// out: (centers.size(), expansion.block_size())
inline void compute_expansion(const AtomicExpansion& expansion, const std::vector<Structure>& structures,
                              const std::vector<Center>& centers, double* out, const StopCheck& stop_check = {}) {
    StopFlag stop(stop_check);
    const auto prepared = detail::prepare_all(expansion, structures, stop);
    const long long n = static_cast<long long>(centers.size());
    const size_t block = static_cast<size_t>(expansion.block_size());
    FirstError errors;
#pragma omp parallel
    {
        Workspace scratch;
#pragma omp for schedule(dynamic, 16)
        for (long long c = 0; c < n; ++c) {
            if (errors.failed() || stop.stopped()) continue;
            const Center& center = centers[static_cast<size_t>(c)];
            errors.run([&] {
                expansion.expand(structures[static_cast<size_t>(center.structure)],
                                 *prepared[static_cast<size_t>(center.structure)], center.atom,
                                 out + static_cast<size_t>(c) * block, scratch);
            });
        }
    }
    stop.finish();  // an interruption wins over errors of the centres computed
    errors.rethrow();
}

// out: (centers.size(), coupling.n_features()); `same` means F and G are the
// same expansion, computed once per centre.
inline void compute_invariants(const AtomicExpansion& f, const AtomicExpansion& g, bool same,
                               const InvariantCoupling& coupling, const std::vector<Structure>& structures,
                               const std::vector<Center>& centers, double* out, const StopCheck& stop_check = {}) {
    if (f.max_angular() != g.max_angular()) throw std::invalid_argument("the two expansions need the same max_angular");
    StopFlag stop(stop_check);
    const auto prepared_f = detail::prepare_all(f, structures, stop);
    const auto prepared_g = same ? decltype(prepared_f)() : detail::prepare_all(g, structures, stop);
    const long long n = static_cast<long long>(centers.size());
    const size_t width = static_cast<size_t>(coupling.n_features());
    FirstError errors;
#pragma omp parallel
    {
        Workspace scratch;
        std::vector<double> block_f, block_g, coupling_scratch;
        errors.run([&] {  // std::bad_alloc must not escape the parallel region
            block_f.resize(static_cast<size_t>(f.block_size()));
            if (!same) block_g.resize(static_cast<size_t>(g.block_size()));
        });
#pragma omp for schedule(dynamic, 16)
        for (long long c = 0; c < n; ++c) {
            if (errors.failed() || stop.stopped()) continue;
            const Center& center = centers[static_cast<size_t>(c)];
            const Structure& s = structures[static_cast<size_t>(center.structure)];
            errors.run([&] {
                f.expand(s, *prepared_f[static_cast<size_t>(center.structure)], center.atom, block_f.data(), scratch);
                if (!same) g.expand(s, *prepared_g[static_cast<size_t>(center.structure)], center.atom, block_g.data(), scratch);
                coupling.couple(block_f.data(), same ? block_f.data() : block_g.data(), out + static_cast<size_t>(c) * width,
                                coupling_scratch);
            });
        }
    }
    stop.finish();  // an interruption wins over errors of the centres computed
    errors.rethrow();
}

}  // namespace mslode
