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
inline std::vector<std::unique_ptr<const AtomicExpansion::Prepared>> prepare_all(
    const AtomicExpansion& expansion, const std::vector<Structure>& structures) {
    const int S = static_cast<int>(structures.size());
    std::vector<std::unique_ptr<const AtomicExpansion::Prepared>> prepared(static_cast<size_t>(S));
    std::vector<std::string> errors(static_cast<size_t>(S));
#pragma omp parallel for schedule(dynamic)
    for (int s = 0; s < S; ++s) {
        try {
            prepared[static_cast<size_t>(s)] = expansion.prepare(structures[static_cast<size_t>(s)]);
        } catch (const std::exception& e) {
            errors[static_cast<size_t>(s)] = e.what();
        }
    }
    for (int s = 0; s < S; ++s) {
        if (!errors[static_cast<size_t>(s)].empty()) {
            throw std::invalid_argument("structure " + std::to_string(s) + ": " + errors[static_cast<size_t>(s)]);
        }
    }
    return prepared;
}

}  // namespace detail

// out: (centers.size(), expansion.block_size())
inline void compute_expansion(const AtomicExpansion& expansion, const std::vector<Structure>& structures,
                              const std::vector<Center>& centers, double* out) {
    const auto prepared = detail::prepare_all(expansion, structures);
    const long long n = static_cast<long long>(centers.size());
    const size_t block = static_cast<size_t>(expansion.block_size());
    FirstError errors;
#pragma omp parallel
    {
        PairContraction scratch;
#pragma omp for schedule(dynamic, 16)
        for (long long c = 0; c < n; ++c) {
            const Center& center = centers[static_cast<size_t>(c)];
            errors.run([&] {
                expansion.expand(structures[static_cast<size_t>(center.structure)],
                                 *prepared[static_cast<size_t>(center.structure)], center.atom,
                                 out + static_cast<size_t>(c) * block, scratch);
            });
        }
    }
    errors.rethrow();
}

// out: (centers.size(), coupling.n_features()); `same` means F and G are the
// same expansion, computed once per centre.
inline void compute_invariants(const AtomicExpansion& f, const AtomicExpansion& g, bool same,
                               const InvariantCoupling& coupling, const std::vector<Structure>& structures,
                               const std::vector<Center>& centers, double* out) {
    if (f.max_angular() != g.max_angular()) throw std::invalid_argument("the two expansions need the same max_angular");
    const auto prepared_f = detail::prepare_all(f, structures);
    const auto prepared_g = same ? decltype(prepared_f)() : detail::prepare_all(g, structures);
    const long long n = static_cast<long long>(centers.size());
    const size_t width = static_cast<size_t>(coupling.n_features());
    FirstError errors;
#pragma omp parallel
    {
        PairContraction scratch;
        std::vector<double> block_f(static_cast<size_t>(f.block_size())), block_g;
        if (!same) block_g.resize(static_cast<size_t>(g.block_size()));
#pragma omp for schedule(dynamic, 16)
        for (long long c = 0; c < n; ++c) {
            const Center& center = centers[static_cast<size_t>(c)];
            const Structure& s = structures[static_cast<size_t>(center.structure)];
            errors.run([&] {
                f.expand(s, *prepared_f[static_cast<size_t>(center.structure)], center.atom, block_f.data(), scratch);
                if (!same) g.expand(s, *prepared_g[static_cast<size_t>(center.structure)], center.atom, block_g.data(), scratch);
                coupling.couple(block_f.data(), same ? block_f.data() : block_g.data(), out + static_cast<size_t>(c) * width);
            });
        }
    }
    errors.rethrow();
}

}  // namespace mslode
