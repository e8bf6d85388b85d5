// Batched drivers: many structures, OpenMP across centres, one scratch buffer
// per thread. Structures are prepared (cell lists, ...) first, in parallel.
#pragma once

#include <algorithm>
#include <cmath>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "atomic_expansion.hpp"
#include "coupling.hpp"
#include "invariants.hpp"
#include "parallel.hpp"

namespace mslode {

// Centres: (structure index, atom index) pairs.
struct Center {
    int structure;
    int atom;
};

namespace detail {
inline void check_centers(const std::vector<Structure>& structures, const std::vector<Center>& centers) {
    for (size_t c = 0; c < centers.size(); ++c) {
        const Center& center = centers[c];
        const bool known = center.structure >= 0 && center.structure < static_cast<int>(structures.size());
        if (!known || center.atom < 0 || center.atom >= structures[static_cast<size_t>(center.structure)].n_atoms) {
            throw std::invalid_argument(
                "centre " + std::to_string(c) + " = (structure " + std::to_string(center.structure) + ", atom " +
                std::to_string(center.atom) + ") is out of range: " + std::to_string(structures.size()) + " structures" +
                (known ? ", that one has " + std::to_string(structures[static_cast<size_t>(center.structure)].n_atoms) +
                             " atoms"
                       : std::string()));
        }
    }
}

inline BlockShape block_shape(const AtomicExpansion& expansion) {
    return {expansion.channels().size(), expansion.max_radial(), expansion.max_angular()};
}

// A coupling works on blocks of the shapes it was made for; `same` (one
// expansion computed once per centre) must mean one object passed twice.
inline void check_coupling(const AtomicExpansion& f, const AtomicExpansion& g, bool same, const Coupling& coupling) {
    if (same && &f != &g) throw std::invalid_argument("same = true needs one expansion passed as both f and g");
    if (f.max_angular() != g.max_angular()) throw std::invalid_argument("the two expansions need the same max_angular");
    const BlockShape shape_f = block_shape(f), shape_g = block_shape(g);
    if (coupling.shape_f() != shape_f) {
        throw std::invalid_argument("the coupling was made for F blocks of " + coupling.shape_f().describe() +
                                    ", but f has " + shape_f.describe());
    }
    if (coupling.shape_g() != shape_g) {
        throw std::invalid_argument("the coupling was made for G blocks of " + coupling.shape_g().describe() +
                                    ", but g has " + shape_g.describe());
    }
}

// Errors about one structure's data (std::invalid_argument) get its index;
// anything else (std::bad_alloc, ...) keeps its type.
inline std::vector<std::unique_ptr<const AtomicExpansion::Prepared>> prepare_all(
    const AtomicExpansion& expansion, const std::vector<Structure>& structures, StopFlag& stop) {
    const int S = static_cast<int>(structures.size());
    std::vector<std::unique_ptr<const AtomicExpansion::Prepared>> prepared(static_cast<size_t>(S));
    std::vector<std::exception_ptr> errors(static_cast<size_t>(S));
    // One structure: an inactive region, so that preparing it (a periodic
    // potential's mesh) can use the whole team itself.
#pragma omp parallel for schedule(dynamic) if (S > 1)
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

// Every structure prepared by `expansion` (cell lists, a periodic
// potential's mesh part): made once, for compute_expansion and
// compute_expansion_backward on the same structures.
using PreparedStructures = std::vector<std::unique_ptr<const AtomicExpansion::Prepared>>;

inline PreparedStructures prepare_structures(const AtomicExpansion& expansion, const std::vector<Structure>& structures,
                                             const StopCheck& stop_check = {}) {
    StopFlag stop(stop_check);
    auto prepared = detail::prepare_all(expansion, structures, stop);
    stop.finish();
    return prepared;
}

namespace detail {
inline void check_prepared(const std::vector<Structure>& structures, const PreparedStructures& prepared) {
    if (prepared.size() != structures.size()) throw std::invalid_argument("the prepared data is for another batch of structures");
}
}  // namespace detail

// out: (centers.size(), expansion.block_size())
inline void compute_expansion(const AtomicExpansion& expansion, const std::vector<Structure>& structures,
                              const std::vector<Center>& centers, const PreparedStructures& prepared, double* out,
                              const StopCheck& stop_check = {}) {
    detail::check_centers(structures, centers);
    detail::check_prepared(structures, prepared);
    StopFlag stop(stop_check);
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

inline void compute_expansion(const AtomicExpansion& expansion, const std::vector<Structure>& structures,
                              const std::vector<Center>& centers, double* out, const StopCheck& stop_check = {}) {
    detail::check_centers(structures, centers);
    compute_expansion(expansion, structures, centers, prepare_structures(expansion, structures, stop_check), out, stop_check);
}

// The vector–Jacobian product of compute_expansion: for cotangents t
// (centers.size(), block_size()), Σ_c t_c · ∂c_c/∂r into `gradient`
// (Σ n_atoms, 3: the structures' atoms one after the other) and Σ_c t_c ·
// ∂c_c/∂ε into `strain` (structures.size(), 9; meaningful for periodic
// structures, whose cell strains with the atoms). Centres are split into
// fixed runs over the threads, each thread adding into its own copy of the
// output; the copies are added in thread order, so the result is the same
// bits for a given number of threads (and agrees between thread counts to
// round-off). A strain derivative that is not available (a periodic
// potential with the slab dipole correction) is NaN.
inline void compute_expansion_backward(const AtomicExpansion& expansion, const std::vector<Structure>& structures,
                                       const std::vector<Center>& centers, const PreparedStructures& prepared,
                                       const double* cotangent, double* gradient, double* strain,
                                       const StopCheck& stop_check = {}) {
    detail::check_centers(structures, centers);
    detail::check_prepared(structures, prepared);
    for (size_t s = 0; s < structures.size(); ++s) {
        if (!expansion.has_gradients(structures[s])) {
            throw std::invalid_argument("structure " + std::to_string(s) + ": gradients of this expansion are not available for it");
        }
    }
    StopFlag stop(stop_check);
    const long long n = static_cast<long long>(centers.size());
    const size_t block = static_cast<size_t>(expansion.block_size());
    std::vector<size_t> offsets(structures.size() + 1, 0);
    for (size_t s = 0; s < structures.size(); ++s) offsets[s + 1] = offsets[s] + static_cast<size_t>(structures[s].n_atoms);
    const size_t width = 3 * offsets.back() + 9 * structures.size();  // gradient, then strain
    const int threads = team_size();
    std::vector<std::vector<double>> local(static_cast<size_t>(threads));
    FirstError errors;
#pragma omp parallel num_threads(threads)
    {
        const int thread = thread_index();
        errors.run([&] { local[static_cast<size_t>(thread)].assign(width, 0.0); });
        Workspace scratch;
#pragma omp for schedule(static, 16)
        for (long long c = 0; c < n; ++c) {
            if (errors.failed() || stop.stopped()) continue;
            const Center& center = centers[static_cast<size_t>(c)];
            const size_t s = static_cast<size_t>(center.structure);
            double* mine = local[static_cast<size_t>(thread)].data();
            const GradientSink sink{mine + 3 * offsets[s], mine + 3 * offsets.back() + 9 * s};
            errors.run([&] {
                expansion.backward(structures[s], *prepared[s], center.atom, cotangent + static_cast<size_t>(c) * block, sink,
                                   scratch);
            });
        }
    }
    stop.finish();
    errors.rethrow();
    std::fill(gradient, gradient + 3 * offsets.back(), 0.0);
    std::fill(strain, strain + 9 * structures.size(), 0.0);
    for (const auto& mine : local) {
        for (size_t k = 0; k < 3 * offsets.back(); ++k) gradient[k] += mine[k];
        for (size_t k = 0; k < 9 * structures.size(); ++k) strain[k] += mine[3 * offsets.back() + k];
    }
    std::vector<double> dense;
    for (size_t s = 0; s < structures.size(); ++s) {
        const Structure& structure = structures[s];
        if (!expansion.has_structure_backward(structure)) continue;
        dense.assign(static_cast<size_t>(structure.n_atoms) * block, 0.0);
        bool any = false;
        for (long long c = 0; c < n; ++c) {
            const Center& center = centers[static_cast<size_t>(c)];
            if (static_cast<size_t>(center.structure) != s) continue;
            std::copy_n(cotangent + static_cast<size_t>(c) * block, block, &dense[static_cast<size_t>(center.atom) * block]);
            any = true;
        }
        if (!any) continue;
        if (!expansion.backward_structure(structure, *prepared[s], dense.data(), gradient + 3 * offsets[s], strain + 9 * s)) {
            std::fill(strain + 9 * s, strain + 9 * s + 9, std::nan(""));
        }
    }
}

inline void compute_expansion_backward(const AtomicExpansion& expansion, const std::vector<Structure>& structures,
                                       const std::vector<Center>& centers, const double* cotangent, double* gradient,
                                       double* strain, const StopCheck& stop_check = {}) {
    detail::check_centers(structures, centers);
    compute_expansion_backward(expansion, structures, centers, prepare_structures(expansion, structures, stop_check),
                               cotangent, gradient, strain, stop_check);
}

// Per-structure sums instead of one row per centre: centre c adds its output
// to row (structure, block_of_center[c]) of an (n_structures, blocks,
// output_size) array. Centres must come grouped by structure (as
// select_centers gives them) for the sums to stay in thread-local rows.
struct StructureSums {
    std::vector<int> block_of_center;
    int blocks = 0;
};

namespace detail {
inline void check_sums(const StructureSums& sums, const std::vector<Center>& centers) {
    if (sums.blocks < 1) throw std::invalid_argument("per-structure sums need at least one block");
    if (sums.block_of_center.size() != centers.size()) {
        throw std::invalid_argument("per-structure sums need one block index per centre: got " +
                                    std::to_string(sums.block_of_center.size()) + " for " +
                                    std::to_string(centers.size()) + " centres");
    }
    for (size_t c = 0; c < centers.size(); ++c) {
        const int b = sums.block_of_center[c];
        if (b < 0 || b >= sums.blocks) throw std::invalid_argument("centre " + std::to_string(c) + " has block " +
                                                                   std::to_string(b) + ", not in [0, " +
                                                                   std::to_string(sums.blocks) + ")");
        if (c > 0 && centers[c].structure < centers[c - 1].structure) {
            throw std::invalid_argument("per-structure sums need the centres grouped by structure, in order");
        }
    }
}
}  // namespace detail

// The features of a coupling (invariants, equivariants, selections of them)
// of two expansions. out: (centers.size(), coupling.output_size()), or with
// `sums` (n_structures, sums->blocks, coupling.output_size()). `same` means F
// and G are the same expansion (&f == &g), computed once per centre; a
// coupling that needs one expansion (a symmetric one) refuses two.
inline void compute_features(const AtomicExpansion& f, const AtomicExpansion& g, bool same, const Coupling& coupling,
                             const std::vector<Structure>& structures, const std::vector<Center>& centers, double* out,
                             const StopCheck& stop_check = {}, const StructureSums* sums = nullptr) {
    detail::check_coupling(f, g, same, coupling);
    if (coupling.needs_one_expansion() && &f != &g) {
        throw std::invalid_argument("a symmetric coupling needs the same expansion as f and g");
    }
    detail::check_centers(structures, centers);
    if (sums != nullptr) detail::check_sums(*sums, centers);
    StopFlag stop(stop_check);
    const auto prepared_f = detail::prepare_all(f, structures, stop);
    const auto prepared_g = same ? decltype(prepared_f)() : detail::prepare_all(g, structures, stop);
    const long long n = static_cast<long long>(centers.size());
    const size_t width = static_cast<size_t>(coupling.output_size());
    if (sums != nullptr) std::fill(out, out + structures.size() * static_cast<size_t>(sums->blocks) * width, 0.0);
    // Work items: runs of consecutive centres. With sums a run never crosses a
    // structure, so its rows are summed in thread-local memory and written to
    // the output once. A structure split over several runs (more centres than
    // a run holds) gets one partial sum per run, added up in run order after
    // the parallel loop: the sums are the same bits whatever the thread
    // schedule, and, since runs start at the structure's first centre and
    // every 32 after, whatever else is in the batch.
    struct Run {
        long long begin, end;
        long long partial;  // index of its partial sum when its structure has other runs, else -1
    };
    std::vector<Run> runs;
    long long n_partials = 0;
    const long long run_length = sums != nullptr ? 32 : 16;
    for (long long c = 0; c < n;) {
        long long e = std::min(n, c + run_length);
        if (sums != nullptr) {
            long long structure_end = c;
            while (structure_end < n && centers[static_cast<size_t>(structure_end)].structure ==
                                            centers[static_cast<size_t>(c)].structure) ++structure_end;
            const bool starts_structure = c == 0 || centers[static_cast<size_t>(c - 1)].structure !=
                                                        centers[static_cast<size_t>(c)].structure;
            e = std::min(e, structure_end);
            const bool shared = !(starts_structure && e == structure_end);
            runs.push_back({c, e, shared ? n_partials++ : -1});
        } else {
            runs.push_back({c, e, -1});
        }
        c = e;
    }
    const long long n_runs = static_cast<long long>(runs.size());
    const size_t sum_size = sums != nullptr ? static_cast<size_t>(sums->blocks) * width : 0;
    std::vector<double> partials(static_cast<size_t>(n_partials) * sum_size, 0.0);
    FirstError errors;
#pragma omp parallel
    {
        Workspace scratch;
        std::vector<double> block_f, block_g, coupling_scratch, row, rows;
        std::vector<char> touched;
        errors.run([&] {  // std::bad_alloc must not escape the parallel region
            block_f.resize(static_cast<size_t>(f.block_size()));
            if (!same) block_g.resize(static_cast<size_t>(g.block_size()));
            if (sums != nullptr) {
                row.resize(width);
                rows.assign(static_cast<size_t>(sums->blocks) * width, 0.0);
                touched.assign(static_cast<size_t>(sums->blocks), 0);
            }
        });
#pragma omp for schedule(dynamic)
        for (long long r = 0; r < n_runs; ++r) {
            const Run& run = runs[static_cast<size_t>(r)];
            for (long long c = run.begin; c < run.end; ++c) {
                if (errors.failed() || stop.stopped()) break;
                const Center& center = centers[static_cast<size_t>(c)];
                const Structure& s = structures[static_cast<size_t>(center.structure)];
                errors.run([&] {
                    f.expand(s, *prepared_f[static_cast<size_t>(center.structure)], center.atom, block_f.data(), scratch);
                    if (!same) g.expand(s, *prepared_g[static_cast<size_t>(center.structure)], center.atom, block_g.data(), scratch);
                    const double* block_g_data = same ? block_f.data() : block_g.data();
                    if (sums == nullptr) {
                        coupling.couple(block_f.data(), block_g_data, out + static_cast<size_t>(c) * width, coupling_scratch);
                        return;
                    }
                    coupling.couple(block_f.data(), block_g_data, row.data(), coupling_scratch);
                    const int b = sums->block_of_center[static_cast<size_t>(c)];
                    double* target = rows.data() + static_cast<size_t>(b) * width;
                    for (size_t k = 0; k < width; ++k) target[k] += row[k];
                    touched[static_cast<size_t>(b)] = 1;
                });
            }
            if (sums == nullptr) continue;
            const size_t structure = static_cast<size_t>(centers[static_cast<size_t>(run.begin)].structure);
            double* destination = run.partial >= 0 ? partials.data() + static_cast<size_t>(run.partial) * sum_size
                                                   : out + structure * sum_size;
            for (size_t b = 0; b < touched.size(); ++b) {
                if (!touched[b]) continue;
                double* source = rows.data() + b * width;
                std::copy(source, source + width, destination + b * width);
                std::fill(source, source + width, 0.0);
                touched[b] = 0;
            }
        }
    }
    if (n_partials > 0 && !errors.failed()) {
        // the runs of a structure are consecutive: add their partial sums in order
        for (long long r = 0; r < n_runs;) {
            long long e = r + 1;
            if (runs[static_cast<size_t>(r)].partial >= 0) {
                const int structure = centers[static_cast<size_t>(runs[static_cast<size_t>(r)].begin)].structure;
                while (e < n_runs && centers[static_cast<size_t>(runs[static_cast<size_t>(e)].begin)].structure == structure) ++e;
                double* target = out + static_cast<size_t>(structure) * sum_size;
                for (long long q = r; q < e; ++q) {
                    const double* source = partials.data() + static_cast<size_t>(runs[static_cast<size_t>(q)].partial) * sum_size;
                    for (size_t k = 0; k < sum_size; ++k) target[k] += source[k];
                }
            }
            r = e;
        }
    }
    stop.finish();  // an interruption wins over errors of the centres computed
    errors.rethrow();
}

namespace detail {

// body(centre, scratch) for centres 0..n-1 in parallel, each thread with
// its own scratch; the first exception is rethrown after the loop.
template <class Body>
void for_each_centre(long long n, const Body& body) {
    FirstError errors;
#pragma omp parallel
    {
        std::vector<double> scratch;
#pragma omp for schedule(static)
        for (long long c = 0; c < n; ++c) {
            if (errors.failed()) continue;
            errors.run([&] { body(static_cast<size_t>(c), scratch); });
        }
    }
    errors.rethrow();
}

}  // namespace detail

// A coupling of coefficients already computed, n centres: f (n, shape_f
// size), g (n, shape_g size) → out (n, output_size). What a linearisation
// needs next to the coefficients it keeps for the backward pass.
inline void couple_coefficients(const Coupling& coupling, const double* f, const double* g, long long n, double* out) {
    const size_t size_f = static_cast<size_t>(coupling.shape_f().size()), size_g = static_cast<size_t>(coupling.shape_g().size());
    const size_t width = static_cast<size_t>(coupling.output_size());
    detail::for_each_centre(n, [&](size_t i, std::vector<double>& scratch) {
        coupling.couple(f + i * size_f, g + i * size_g, out + i * width, scratch);
    });
}

// The backward pass of couple_coefficients for invariants: cotangent rows t
// (n_features each) → df, dg (shaped as f and g, overwritten). Centre i takes
// row rows[i] of t, or row i when `rows` is null (a linear model's cotangent
// is one row per central species: no (n, n_features) array is needed).
inline void couple_coefficients_backward(const InvariantCoupling& coupling, const double* f, const double* g,
                                         const double* t, long long n, double* df, double* dg,
                                         const long long* rows = nullptr) {
    const size_t size_f = static_cast<size_t>(coupling.shape_f().size()), size_g = static_cast<size_t>(coupling.shape_g().size());
    const size_t width = static_cast<size_t>(coupling.output_size());
    std::fill(df, df + static_cast<size_t>(n) * size_f, 0.0);
    std::fill(dg, dg + static_cast<size_t>(n) * size_g, 0.0);
    detail::for_each_centre(n, [&](size_t i, std::vector<double>& scratch) {
        const size_t row = rows != nullptr ? static_cast<size_t>(rows[i]) : i;
        coupling.couple_backward(f + i * size_f, g + i * size_g, t + row * width, df + i * size_f, dg + i * size_g, scratch);
    });
}

}  // namespace mslode
