// ⟨a n l m|V_i⟩ of SPEC §1–2 for finite structures: the potential of the
// smeared density of every atom of species a, near and far (no cut-off on
// sources), on the local GTO basis of centre i. O(N²) pairs, each one table
// lookup (spline or far-field series) and n_max (l_max+1)² products.
#pragma once

#include <cmath>
#include <memory>
#include <stdexcept>
#include <vector>

#include "atomic_expansion.hpp"
#include "gto_basis.hpp"
#include "potential_radial.hpp"
#include "spherical_harmonics.hpp"

namespace mslode {

struct PotentialHypers {
    double cutoff = 4.0;  // sets the basis (σ_n), not which sources count
    double gaussian_width = 0.3;
    int max_radial = 6;
    int max_angular = 4;
    double center_atom_weight = 1.0;
    double potential_exponent = 1.0;
    double spline_accuracy = 1e-8;
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

    std::unique_ptr<const Prepared> prepare(const Structure& structure) const override {
        if (structure.periodic()) {
            throw std::invalid_argument("potential features of periodic structures are not implemented yet; "
                                        "give finite structures (pbc = False)");
        }
        return std::make_unique<Prepared>();
    }

    void expand(const Structure& structure, const Prepared&, int center, double* out,
                PairContraction& work) const override {
        const int N = hypers_.max_radial;
        start_block(structure.types[center], hypers_.center_atom_weight, center_radial_, out);
        work.clear();
        const double* ri = structure.position(center);
        for (int j = 0; j < structure.n_atoms; ++j) {
            if (j == center) continue;
            const int a = channels_(structure.types[j]);
            if (a < 0) continue;
            const double* rj = structure.position(j);
            const double dx = rj[0] - ri[0], dy = rj[1] - ri[1], dz = rj[2] - ri[2];
            const double d = std::sqrt(dx * dx + dy * dy + dz * dz);
            const double inv = d > 0.0 ? 1.0 / d : 0.0;
            work.add(a, d, dx * inv, dy * inv, dz * inv, 1.0);
        }
        work.contract(channels_.size(), N, harmonics_, [this](double d, double* values) { radial_->evaluate(d, values, nullptr); }, out);
    }

private:
    static PotentialHypers validated(const PotentialHypers& h) {
        auto positive = [](double x) { return x > 0.0 && std::isfinite(x); };
        if (!positive(h.cutoff)) throw std::invalid_argument("cutoff must be positive and finite");
        if (!positive(h.gaussian_width)) throw std::invalid_argument("gaussian_width must be positive and finite");
        if (!std::isfinite(h.center_atom_weight)) throw std::invalid_argument("center_atom_weight must be finite");
        if (h.max_radial < 1 || h.max_radial > 30) throw std::invalid_argument("max_radial must be in [1, 30]");
        if (h.max_angular < 0 || h.max_angular > kMaxAngularSupported) throw std::invalid_argument("max_angular must be in [0, 12]");
        if (!(h.potential_exponent >= 1.0 && h.potential_exponent <= 6.0)) {
            throw std::invalid_argument("potential_exponent must be in [1, 6]");
        }
        if (!positive(h.spline_accuracy)) throw std::invalid_argument("spline_accuracy must be positive");
        return h;
    }

    PotentialHypers hypers_;
    SpeciesChannels channels_;
    SphericalHarmonics harmonics_;
    std::shared_ptr<const PotentialRadialTable> radial_;
    std::vector<double> center_radial_;
};

}  // namespace mslode
