// ⟨a n l m|V_i⟩ (docs/conventions.md, "Atom-centred potential" and "Potential
// coefficients") for finite structures: the potential of the smeared density
// of every atom of species a, near and far (no cut-off on sources), on the
// local GTO basis of centre i. O(N²) pairs: a source closer
// than the table's switch distance costs one spline lookup and
// n_max (l_max+1)² products; a farther one only its K (l_max+1)² far-field
// moments (PotentialRadialTable::FarFieldPowers), turned into coefficients
// once per centre.
#pragma once

#include <cmath>
#include <memory>
#include <stdexcept>
#include <vector>

#include "atomic_expansion.hpp"
#include "basis_hypers.hpp"
#include "gto_basis.hpp"
#include "potential_radial.hpp"
#include "spherical_harmonics.hpp"

namespace mslode {

// (cutoff sets the basis only: every source counts, however far)
struct PotentialHypers : BasisHypers {
    double potential_exponent = 1.0;
};

class PotentialExpansion final : public AtomicExpansion {
public:
    // The radial table depends on the hyper-parameters only: build it once
    // (make_radial_table) and share it between expansions of any species.
    static std::shared_ptr<const PotentialRadialTable> make_radial_table(const PotentialHypers& hypers) {
        const PotentialHypers h = validated(hypers);
        return std::make_shared<const PotentialRadialTable>(GtoBasis(h.cutoff, h.max_radial), h.gaussian_width,
                                                            h.max_angular, h.potential_exponent, h.spline_accuracy);
    }

    PotentialExpansion(const PotentialHypers& hypers, const std::vector<int>& species)
        : PotentialExpansion(hypers, species, make_radial_table(hypers)) {}

    PotentialExpansion(const PotentialHypers& hypers, const std::vector<int>& species,
                       std::shared_ptr<const PotentialRadialTable> table)
        : hypers_(validated(hypers)), channels_(species), harmonics_(hypers.max_angular), radial_(std::move(table)) {
        if (!radial_ || radial_->max_radial() != hypers.max_radial || radial_->max_angular() != hypers.max_angular ||
            radial_->potential_exponent() != hypers.potential_exponent) {
            throw std::invalid_argument("the radial table does not match these hyper-parameters");
        }
        std::vector<double> values(static_cast<size_t>(radial_->width()));
        radial_->evaluate(0.0, values.data(), nullptr);
        const double y00 = 0.5 / std::sqrt(M_PI);
        center_radial_.resize(static_cast<size_t>(hypers.max_radial));
        for (int n = 0; n < hypers.max_radial; ++n) center_radial_[static_cast<size_t>(n)] = values[static_cast<size_t>(n)] * y00;
    }

    const PotentialHypers& hypers() const { return hypers_; }
    int max_radial() const override { return hypers_.max_radial; }
    int max_angular() const override { return hypers_.max_angular; }
    const SpeciesChannels& channels() const override { return channels_; }
    const PotentialRadialTable& radial() const { return *radial_; }

    // The sources of a structure grouped by channel, as flat coordinate
    // arrays: the pair loop then streams through them.
    struct PreparedSources final : Prepared {
        std::vector<int> start;  // channel a: [start[a], start[a + 1])
        std::vector<int> atom;
        std::vector<double> x, y, z;
    };

private:
    std::unique_ptr<Prepared> prepare_structure(const Structure& structure) const override {
        if (structure.periodic()) {
            throw std::invalid_argument("potential features of periodic structures are not implemented yet; "
                                        "give finite structures (pbc = False)");
        }
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

    static PotentialHypers validated(const PotentialHypers& h) {
        check_basis_hypers(h);
        if (!(h.potential_exponent >= 1.0 && h.potential_exponent <= 6.0)) {
            throw std::invalid_argument("potential_exponent must be in [1, 6]");
        }
        return h;
    }

    PotentialHypers hypers_;
    SpeciesChannels channels_;
    SphericalHarmonics harmonics_;
    std::shared_ptr<const PotentialRadialTable> radial_;
    std::vector<double> center_radial_;
};

}  // namespace mslode
