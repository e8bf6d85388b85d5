// ⟨a n l m|V_i⟩ (docs/conventions.md, "Atom-centred potential", "Periodic
// structures" and "Potential coefficients"): the potential of the smeared
// density of every atom of species a, near and far (no cut-off on sources),
// on the local GTO basis of centre i.
//
// Finite structures: O(N²) pairs; a source closer than the table's switch
// distance costs one spline lookup and n_max (l_max+1)² products, a farther
// one only its K (l_max+1)² far-field moments
// (PotentialRadialTable::FarFieldPowers), turned into coefficients once per
// centre.
//
// Periodic structures: the range separation of range_separation.hpp, the
// short-range part over the neighbour images within its cut-off, the
// long-range part from the mesh (mesh_potential.hpp), computed for all atoms
// of the structure when it is prepared.
#pragma once

#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "atomic_expansion.hpp"
#include "basis_hypers.hpp"
#include "gto_basis.hpp"
#include "mesh_potential.hpp"
#include "neighbour_list.hpp"
#include "potential_radial.hpp"
#include "range_separation.hpp"
#include "spherical_harmonics.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace mslode {

// (cutoff sets the basis only: every source counts, however far)
struct PotentialHypers : BasisHypers {
    double potential_exponent = 1.0;
    PeriodicHypers periodic;  // the periodic path only
};

class PotentialExpansion final : public AtomicExpansion {
public:
    // The tables depend on the hyper-parameters only: build them once
    // (make_radial_table for finite structures, make_periodic_tables for
    // periodic ones) and share them between expansions of any species.
    static std::shared_ptr<const PotentialRadialTable> make_radial_table(const PotentialHypers& hypers) {
        const PotentialHypers h = validated(hypers);
        return std::make_shared<const PotentialRadialTable>(GtoBasis(h.cutoff, h.max_radial), h.gaussian_width,
                                                            h.max_angular, h.potential_exponent, h.spline_accuracy);
    }
    static std::shared_ptr<const PeriodicPotentialTables> make_periodic_tables(const PotentialHypers& hypers) {
        const PotentialHypers h = validated(hypers);
        return std::make_shared<const PeriodicPotentialTables>(GtoBasis(h.cutoff, h.max_radial), h.gaussian_width,
                                                               h.max_angular, periodic_exponent(h.potential_exponent),
                                                               h.spline_accuracy, h.periodic);
    }

    // Both kinds of structure (the periodic tables only for integer exponents).
    PotentialExpansion(const PotentialHypers& hypers, const std::vector<int>& species)
        : PotentialExpansion(hypers, species, make_radial_table(hypers),
                             hypers.potential_exponent == std::floor(hypers.potential_exponent) ? make_periodic_tables(hypers)
                                                                                                : nullptr) {}

    // Either table may be null: structures of that kind are then refused.
    PotentialExpansion(const PotentialHypers& hypers, const std::vector<int>& species,
                       std::shared_ptr<const PotentialRadialTable> table,
                       std::shared_ptr<const PeriodicPotentialTables> periodic = nullptr)
        : hypers_(validated(hypers)),
          channels_(species),
          harmonics_(hypers.max_angular),
          radial_(std::move(table)),
          periodic_(std::move(periodic)) {
        if (!radial_ && !periodic_) throw std::invalid_argument("a potential expansion needs at least one radial table");
        if (radial_ && (radial_->max_radial() != hypers.max_radial || radial_->max_angular() != hypers.max_angular ||
                        radial_->potential_exponent() != hypers.potential_exponent)) {
            throw std::invalid_argument("the radial table does not match these hyper-parameters");
        }
        if (periodic_ && (periodic_->max_radial() != hypers.max_radial || periodic_->max_angular() != hypers.max_angular ||
                          periodic_->potential_exponent() != hypers.potential_exponent ||
                          periodic_->gaussian_width() != hypers.gaussian_width)) {
            throw std::invalid_argument("the periodic tables do not match these hyper-parameters");
        }
        if (radial_) {
            std::vector<double> values(static_cast<size_t>(radial_->width()));
            radial_->evaluate(0.0, values.data(), nullptr);
            const double y00 = 0.5 / std::sqrt(M_PI);
            center_radial_.resize(static_cast<size_t>(hypers.max_radial));
            for (int n = 0; n < hypers.max_radial; ++n) center_radial_[static_cast<size_t>(n)] = values[static_cast<size_t>(n)] * y00;
        }
        if (periodic_) {
            // the centre's own charge: w P^sr(0) in real space, 1 × the rest on
            // the mesh, and the weight's correction (w - 1) P^lr(0):
            // P^sr(0) + (w - 1) P(0) in all
            periodic_center_.resize(static_cast<size_t>(hypers.max_radial));
            for (int n = 0; n < hypers.max_radial; ++n) {
                periodic_center_[static_cast<size_t>(n)] = periodic_->short_range_center()[static_cast<size_t>(n)] +
                                                          (hypers.center_atom_weight - 1.0) * periodic_->full_center()[static_cast<size_t>(n)];
            }
        }
    }

    const PotentialHypers& hypers() const { return hypers_; }
    int max_radial() const override { return hypers_.max_radial; }
    int max_angular() const override { return hypers_.max_angular; }
    const SpeciesChannels& channels() const override { return channels_; }
    const PotentialRadialTable& radial() const {
        if (!radial_) throw std::logic_error("this expansion was built without the finite-structure table");
        return *radial_;
    }
    const PeriodicPotentialTables& periodic() const {
        if (!periodic_) throw std::logic_error("this expansion was built without the periodic tables");
        return *periodic_;
    }

    // The sources of a structure grouped by channel, as flat coordinate
    // arrays: the pair loop then streams through them.
    struct PreparedSources final : Prepared {
        std::vector<int> start;  // channel a: [start[a], start[a + 1])
        std::vector<int> atom;
        std::vector<double> x, y, z;
    };

    // A periodic structure: its neighbour images within the short-range
    // cut-off, the long-range coefficients of all its atoms, and what every
    // centre adds (the background's constant, the slab dipole correction).
    struct PreparedPeriodic final : Prepared {
        PreparedPeriodic(CellList c) : cells(std::move(c)) {}
        CellList cells;
        MeshShape mesh;
        std::vector<double> long_range;      // [atom][a][n][lm]
        std::vector<double> channel_offset;  // [a][n][lm], added to every centre
        std::vector<double> dipole_slope;    // [a][n]: × (r_i·n̂ - z0), l = 0 (slab dipole correction)
        std::vector<double> dipole_field;    // [a]: (4π/Ω) M_a, the correction's field per channel
        std::array<double, 3> normal{};
        double origin = 0.0;
    };

private:
    std::unique_ptr<Prepared> prepare_structure(const Structure& structure) const override {
        if (structure.periodic()) return prepare_periodic(structure);
        if (!radial_) throw std::invalid_argument("this potential expansion was built for periodic structures only");
        auto sources = std::make_unique<PreparedSources>();
        const int C = channels_.size();
        sources->start.assign(static_cast<size_t>(C) + 1, 0);
        for (int j = 0; j < structure.n_atoms; ++j) {
            const int a = channels_(structure.types[j]);
            if (a >= 0) sources->start[static_cast<size_t>(a) + 1]++;
        }
        for (int a = 0; a < C; ++a) sources->start[static_cast<size_t>(a) + 1] += sources->start[static_cast<size_t>(a)];
        const size_t total = static_cast<size_t>(sources->start[static_cast<size_t>(C)]);
        sources->atom.resize(total);
        sources->x.resize(total);
        sources->y.resize(total);
        sources->z.resize(total);
        std::vector<int> slot(sources->start.begin(), sources->start.end() - 1);
        for (int j = 0; j < structure.n_atoms; ++j) {
            const int a = channels_(structure.types[j]);
            if (a < 0) continue;
            const size_t k = static_cast<size_t>(slot[static_cast<size_t>(a)]++);
            sources->atom[k] = j;
            sources->x[k] = structure.position(j)[0];
            sources->y[k] = structure.position(j)[1];
            sources->z[k] = structure.position(j)[2];
        }
        return sources;
    }

    void expand_center(const Structure& structure, const Prepared& prepared, int center, double* out,
                       Workspace& work) const override {
        if (const auto* periodic = dynamic_cast<const PreparedPeriodic*>(&prepared)) {
            expand_periodic(structure, *periodic, center, out, work);
            return;
        }
        const auto& sources = static_cast<const PreparedSources&>(prepared);
        const int C = channels_.size();
        start_block(structure.types[center], hypers_.center_atom_weight, center_radial_, out);
        PairContraction& near = work.pairs;
        PairContraction& far = work.far_pairs;
        near.reset(C);
        far.reset(C);
        const double* ri = structure.position(center);
        const double switch2 = radial_->switch_distance() * radial_->switch_distance();
        for (int a = 0; a < C; ++a) {
            const size_t begin = static_cast<size_t>(sources.start[static_cast<size_t>(a)]);
            const size_t count = static_cast<size_t>(sources.start[static_cast<size_t>(a) + 1]) - begin;
            // branch-free split: every source is written to both lists, and
            // only the list it belongs to advances
            const auto n = near.reserve(a, count), f = far.reserve(a, count);
            size_t n_near = 0, n_far = 0;
            for (size_t k = begin; k < begin + count; ++k) {
                if (sources.atom[k] == center) continue;
                const double dx = sources.x[k] - ri[0], dy = sources.y[k] - ri[1], dz = sources.z[k] - ri[2];
                const bool is_far = dx * dx + dy * dy + dz * dz >= switch2;
                n.x[n_near] = dx, n.y[n_near] = dy, n.z[n_near] = dz, n.w[n_near] = 1.0;
                f.x[n_far] = dx, f.y[n_far] = dy, f.z[n_far] = dz, f.w[n_far] = 1.0;
                n_near += !is_far;
                n_far += is_far;
            }
            near.commit(a, n_near);
            far.commit(a, n_far);
        }
        near.contract(hypers_.max_radial, harmonics_, *radial_, out);
        if (far.size() > 0) {
            const PotentialRadialTable::FarFieldPowers powers(*radial_);
            work.far_moments.assign(static_cast<size_t>(C * powers.count() * harmonics_.size()), 0.0);
            far.contract(powers.count(), harmonics_, powers, work.far_moments.data());
            radial_->add_far_field(work.far_moments.data(), C, out);
        }
    }

    bool has_gradients(const Structure& /*structure*/) const override { return true; }
    bool has_structure_backward(const Structure& structure) const override { return structure.periodic(); }

    // Finite structures: every other source of every channel, each pair
    // through the table's scalar lookup (spline or far-field series), O(N)
    // per centre. Periodic ones: the short-range pairs here, the mesh and
    // the slab dipole in backward_structure.
    void backward_center(const Structure& structure, const Prepared& prepared, int center, const double* cotangent,
                         const GradientSink& sink, Workspace& work) const override {
        const size_t channel_block = static_cast<size_t>(hypers_.max_radial * lm_size(hypers_.max_angular));
        if (const auto* periodic = dynamic_cast<const PreparedPeriodic*>(&prepared)) {
            PairContraction& pairs = work.pairs;
            pairs.reset(channels_.size());
            periodic->cells.for_each_neighbour(center, [&](int j, double dx, double dy, double dz, double) {
                const int a = channels_(structure.types[j]);
                if (a >= 0) pairs.add(a, dx, dy, dz, 1.0, 0.0, j);
            });
            pairs.contract_backward(hypers_.max_radial, harmonics_, periodic_->short_range(), cotangent,
                                    [&](int j, const double* r, const double* g) { sink.add_pair(center, j, r, g); });
            return;
        }
        const auto& sources = static_cast<const PreparedSources&>(prepared);
        const double* ri = structure.position(center);
        for (int a = 0; a < channels_.size(); ++a) {
            for (int k = sources.start[static_cast<size_t>(a)]; k < sources.start[static_cast<size_t>(a) + 1]; ++k) {
                const size_t s = static_cast<size_t>(k);
                if (sources.atom[s] == center) continue;
                const double r[3] = {sources.x[s] - ri[0], sources.y[s] - ri[1], sources.z[s] - ri[2]};
                double g[3];
                work.pair_gradient.gradient(*radial_, harmonics_, hypers_.max_radial, cotangent + a * channel_block, r, 1.0,
                                            0.0, g);
                sink.add_pair(center, sources.atom[s], r, g);
            }
        }
    }

    // The mesh (mesh_potential_backward), the background's constant (∝ 1/Ω:
    // its strain derivative is -δ_αβ times it) and the slab dipole
    // correction, whose field depends on every atom's height (its strain
    // derivative is not available: NaN).
    bool backward_structure(const Structure& structure, const Prepared& prepared, const double* cotangents,
                            double* gradient, double* strain) const override {
        const auto& periodic = static_cast<const PreparedPeriodic&>(prepared);
        Structure cell3d = structure;
        cell3d.pbc = {true, true, true};
        const CellGeometry cell(structure.cell);
        mesh_potential_backward(*periodic_, cell3d, cell, channels_, periodic.mesh, cotangents, gradient, strain);
        if (!periodic.dipole_field.empty()) {
            add_slab_dipole_backward(structure, periodic, cell, cotangents, gradient);
            return false;
        }
        const size_t block = static_cast<size_t>(block_size());
        double background = 0.0;
        for (int i = 0; i < structure.n_atoms; ++i)
            for (size_t k = 0; k < block; ++k) background += cotangents[static_cast<size_t>(i) * block + k] * periodic.channel_offset[k];
        for (int a = 0; a < 3; ++a) strain[4 * a] -= background;
        return true;
    }

    // out[i][(a n 0)] += h_i (4π/Ω) M_a ⟨n00|1⟩ and out[i][(a n 1m)] +=
    // (4π/Ω) M_a first_moment_n Y_1m(n̂), with h_i = r_i·n̂ - z0 and M_a =
    // Σ_{j∈a} h_j: both linear in the heights, whose gradient is n̂.
    void add_slab_dipole_backward(const Structure& structure, const PreparedPeriodic& prepared, const CellGeometry& cell,
                                  const double* cotangents, double* gradient) const {
        const int C = channels_.size(), N = hypers_.max_radial, LM = lm_size(hypers_.max_angular);
        const size_t block = static_cast<size_t>(C * N * LM);
        std::vector<double> y(static_cast<size_t>(lm_size(1)));
        SphericalHarmonics(1).compute_unit(prepared.normal[0], prepared.normal[1], prepared.normal[2], y.data());
        std::vector<double> per_moment(static_cast<size_t>(C), 0.0);  // ∂L/∂M_a
        for (int i = 0; i < structure.n_atoms; ++i) {
            const double* r = structure.position(i);
            const double height = r[0] * prepared.normal[0] + r[1] * prepared.normal[1] + r[2] * prepared.normal[2] - prepared.origin;
            const double* t = cotangents + static_cast<size_t>(i) * block;
            double along = 0.0;  // ∂L/∂h_i
            for (int a = 0; a < C; ++a) {
                for (int n = 0; n < N; ++n) {
                    const double t0 = t[(a * N + n) * LM];
                    along += t0 * prepared.dipole_slope[static_cast<size_t>(a * N + n)];
                    double moment = height * t0 * periodic_->constant_projection()[static_cast<size_t>(n)];
                    if (hypers_.max_angular >= 1) {
                        for (int m = -1; m <= 1; ++m) {
                            moment += t[(a * N + n) * LM + lm_index(1, m)] * periodic_->first_moment()[static_cast<size_t>(n)] *
                                      y[static_cast<size_t>(lm_index(1, m))];
                        }
                    }
                    per_moment[static_cast<size_t>(a)] += 4.0 * M_PI / cell.volume * moment;
                }
            }
            for (int c = 0; c < 3; ++c) gradient[3 * i + c] += along * prepared.normal[static_cast<size_t>(c)];
        }
        for (int j = 0; j < structure.n_atoms; ++j) {
            const int a = channels_(structure.types[j]);
            if (a < 0) continue;
            for (int c = 0; c < 3; ++c) gradient[3 * j + c] += per_moment[static_cast<size_t>(a)] * prepared.normal[static_cast<size_t>(c)];
        }
    }

    static PotentialHypers validated(const PotentialHypers& h) {
        check_basis_hypers(h);
        if (!(h.potential_exponent >= 1.0 && h.potential_exponent <= 6.0)) {
            throw std::invalid_argument("potential_exponent must be in [1, 6]");
        }
        check_periodic_hypers(h.periodic, h.gaussian_width);
        return h;
    }

    std::unique_ptr<Prepared> prepare_periodic(const Structure& structure) const {
        if (!periodic_) {
            throw std::invalid_argument("this potential expansion was built without the periodic tables (they need an "
                                        "integer potential_exponent)");
        }
        const PeriodicPotentialTables& tables = *periodic_;
        const PeriodicHypers& ph = hypers_.periodic;
        // A slab or a wire is a 3-D periodic cell with the vacuum its cell gives
        // (docs/conventions.md, "Periodic structures"): every cell vector counts.
        Structure cell3d = structure;
        cell3d.pbc = {true, true, true};
        const CellGeometry cell(structure.cell);
        const double volume = cell.volume;
        if (!(volume > 1e-6) || !std::isfinite(volume)) {
            throw std::invalid_argument("the cell is singular (volume " + RadialSpline::format_g(volume) +
                                        " Å³): a slab or wire needs a cell vector across its vacuum too");
        }
        const Eigen::Matrix3d& inverse = cell.inverse;
        int n_periodic = 0, open = -1;
        for (int k = 0; k < 3; ++k) {
            if (structure.pbc[static_cast<size_t>(k)]) {
                ++n_periodic;
                continue;
            }
            open = k;
            double lo = INFINITY, hi = -INFINITY;
            for (int i = 0; i < structure.n_atoms; ++i) {
                const Eigen::RowVector3d r(structure.position(i)[0], structure.position(i)[1], structure.position(i)[2]);
                const double f = (r * inverse)[k];
                lo = std::min(lo, f);
                hi = std::max(hi, f);
            }
            if (structure.n_atoms > 0 && !(hi - lo < 1.0)) {
                throw std::invalid_argument("the atoms span the whole cell along non-periodic direction " + std::to_string(k) +
                                            ": give that cell vector room for vacuum (ase: atoms.center(vacuum=..., axis=" +
                                            std::to_string(k) + "))");
            }
        }
        if (ph.slab_dipole_correction && (n_periodic != 2 || hypers_.potential_exponent != 1.0)) {
            throw std::invalid_argument("the slab dipole correction needs a structure periodic in exactly two directions "
                                        "and potential_exponent = 1");
        }
        auto prepared = std::make_unique<PreparedPeriodic>(CellList(cell3d, tables.short_range().cutoff(), 3));
        prepared->mesh = mesh_shape(structure.cell, ph, tables.smearing());
        const int C = channels_.size(), N = hypers_.max_radial, LM = lm_size(hypers_.max_angular);
        int threads = 1;
#ifdef _OPENMP
        threads = omp_get_max_threads();
#endif
        const double bytes = mesh_bytes(prepared->mesh, C, N, hypers_.max_angular, threads);
        if (bytes > ph.mesh_memory_limit) {
            const auto& K = prepared->mesh.points;
            throw std::invalid_argument("the mesh of " + std::to_string(K[0]) + " x " + std::to_string(K[1]) + " x " +
                                        std::to_string(K[2]) + " points would need " + RadialSpline::format_g(bytes / 1e9) +
                                        " GB (limit " + RadialSpline::format_g(ph.mesh_memory_limit / 1e9) +
                                        " GB): ask for a coarser accuracy, a larger smearing or mesh_spacing, or raise "
                                        "the limit (PeriodicHypers::mesh_memory_limit; in Python "
                                        "mslode.features.MESH_MEMORY_LIMIT, before the first compute)");
        }
        mesh_potential(tables, cell3d, cell, channels_, prepared->mesh, prepared->long_range);

        std::vector<int> count(static_cast<size_t>(C), 0);
        for (int i = 0; i < structure.n_atoms; ++i) {
            const int a = channels_(structure.types[i]);
            if (a >= 0) count[static_cast<size_t>(a)]++;
        }
        prepared->channel_offset.assign(static_cast<size_t>(C * N * LM), 0.0);
        const int p = tables.potential_exponent();
        if (p <= 3) {
            // the real-space sum holds the short-range part's k = 0 term, which
            // the neutralising background removes
            const double integral = short_range_integral(p, hypers_.gaussian_width, tables.smearing());
            for (int a = 0; a < C; ++a)
                for (int n = 0; n < N; ++n) {
                    prepared->channel_offset[static_cast<size_t>((a * N + n) * LM)] -=
                        count[static_cast<size_t>(a)] / volume * integral * tables.constant_projection()[static_cast<size_t>(n)];
                }
        }
        if (ph.slab_dipole_correction) add_slab_dipole(structure, cell, open, *prepared);
        return prepared;
    }

    // Yeh–Berkowitz: the field of the periodic copies of the cell's dipole
    // along the normal n̂ is removed, ΔV^a(x) = (4π/Ω) M_a (x·n̂ - z0) with
    // M_a = Σ_{j∈a} (r_j·n̂ - z0), z0 the cell's middle along n̂ (for a
    // neutral combination of channels z0 drops out).
    void add_slab_dipole(const Structure& structure, const CellGeometry& cell, int open, PreparedPeriodic& prepared) const {
        const Eigen::Matrix3d& lattice = cell.lattice;
        const double volume = cell.volume;
        const int C = channels_.size(), N = hypers_.max_radial, LM = lm_size(hypers_.max_angular);
        const Eigen::Vector3d normal =
            lattice.row((open + 1) % 3).transpose().cross(lattice.row((open + 2) % 3).transpose()).normalized();
        const double z0 = 0.5 * (lattice.row(0) + lattice.row(1) + lattice.row(2)).dot(normal);
        std::vector<double> moment(static_cast<size_t>(C), 0.0);
        for (int i = 0; i < structure.n_atoms; ++i) {
            const int a = channels_(structure.types[i]);
            if (a < 0) continue;
            const Eigen::Vector3d r(structure.position(i)[0], structure.position(i)[1], structure.position(i)[2]);
            moment[static_cast<size_t>(a)] += r.dot(normal) - z0;
        }
        std::vector<double> y(static_cast<size_t>(lm_size(1)));
        SphericalHarmonics(1).compute_unit(normal[0], normal[1], normal[2], y.data());
        prepared.dipole_slope.assign(static_cast<size_t>(C * N), 0.0);
        prepared.dipole_field.assign(static_cast<size_t>(C), 0.0);
        for (int a = 0; a < C; ++a) {
            const double field = 4.0 * M_PI / volume * moment[static_cast<size_t>(a)];
            prepared.dipole_field[static_cast<size_t>(a)] = field;
            for (int n = 0; n < N; ++n) {
                prepared.dipole_slope[static_cast<size_t>(a * N + n)] = field * periodic_->constant_projection()[static_cast<size_t>(n)];
                if (hypers_.max_angular >= 1) {
                    for (int m = -1; m <= 1; ++m) {
                        prepared.channel_offset[static_cast<size_t>((a * N + n) * LM + lm_index(1, m))] +=
                            field * periodic_->first_moment()[static_cast<size_t>(n)] * y[static_cast<size_t>(lm_index(1, m))];
                    }
                }
            }
        }
        prepared.normal = {normal[0], normal[1], normal[2]};
        prepared.origin = z0;
    }

    void expand_periodic(const Structure& structure, const PreparedPeriodic& prepared, int center, double* out,
                         Workspace& work) const {
        const int C = channels_.size(), N = hypers_.max_radial, LM = lm_size(hypers_.max_angular);
        start_block(structure.types[center], 1.0, periodic_center_, out);
        PairContraction& pairs = work.pairs;
        pairs.reset(C);
        prepared.cells.for_each_neighbour(center, [&](int j, double dx, double dy, double dz, double) {
            const int a = channels_(structure.types[j]);
            if (a >= 0) pairs.add(a, dx, dy, dz, 1.0);
        });
        pairs.contract(N, harmonics_, periodic_->short_range(), out);
        const size_t block = static_cast<size_t>(C * N * LM);
        const double* lr = &prepared.long_range[static_cast<size_t>(center) * block];
        for (size_t k = 0; k < block; ++k) out[k] += lr[k] + prepared.channel_offset[k];
        if (!prepared.dipole_slope.empty()) {
            const double* r = structure.position(center);
            const double height = r[0] * prepared.normal[0] + r[1] * prepared.normal[1] + r[2] * prepared.normal[2] - prepared.origin;
            for (int a = 0; a < C; ++a)
                for (int n = 0; n < N; ++n) out[(a * N + n) * LM] += height * prepared.dipole_slope[static_cast<size_t>(a * N + n)];
        }
    }

    PotentialHypers hypers_;
    SpeciesChannels channels_;
    SphericalHarmonics harmonics_;
    std::shared_ptr<const PotentialRadialTable> radial_;
    std::shared_ptr<const PeriodicPotentialTables> periodic_;
    std::vector<double> center_radial_, periodic_center_;
};

}  // namespace mslode
