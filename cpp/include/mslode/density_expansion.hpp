// ⟨a n l m|ρ_i⟩ (docs/conventions.md, "Atom-centred density" and "Density
// coefficients"): Gaussians of width σ on every neighbour inside the cut-off,
// a smooth cosine cut-off, one channel per neighbour species.
#pragma once

#include <cmath>
#include <memory>
#include <stdexcept>
#include <vector>

#include "atomic_expansion.hpp"
#include "basis_hypers.hpp"
#include "density_radial.hpp"
#include "gto_basis.hpp"
#include "neighbour_list.hpp"
#include "radial_spline.hpp"
#include "spherical_harmonics.hpp"

namespace mslode {

struct DensityHypers : BasisHypers {
    double cutoff_width = 0.5;
};

// f_c (docs/conventions.md, "Atom-centred density") and its derivative.
inline void smooth_cutoff(double d, double cutoff, double width, double& value, double& derivative) {
    if (d >= cutoff) {
        value = 0.0;
        derivative = 0.0;
    } else if (width <= 0.0 || d <= cutoff - width) {
        value = 1.0;
        derivative = 0.0;
    } else {
        const double t = M_PI * (d - cutoff + width) / width;
        value = 0.5 * (1.0 + std::cos(t));
        derivative = -0.5 * M_PI / width * std::sin(t);
    }
}

class DensityExpansion final : public AtomicExpansion {
public:
    DensityExpansion(const DensityHypers& hypers, const std::vector<int>& species)
        : hypers_(validated(hypers)),
          channels_(species),
          harmonics_(hypers.max_angular),
          radial_(RadialSpline::build(GtoDensityKernel(GtoBasis(hypers.cutoff, hypers.max_radial),
                                                       hypers.gaussian_width, hypers.max_angular),
                                      hypers.max_radial, hypers.max_angular, hypers.cutoff,
                                      hypers.spline_accuracy)) {
        // the centre's own Gaussian sits at d = 0, where only l = 0 survives
        center_radial_.resize(static_cast<size_t>(hypers.max_radial));
        std::vector<double> values(static_cast<size_t>(radial_.width())), derivs(values.size());
        GtoDensityKernel(GtoBasis(hypers.cutoff, hypers.max_radial), hypers.gaussian_width, 0)(0.0, values.data(), derivs.data());
        const double y00 = 0.5 / std::sqrt(M_PI);
        for (int n = 0; n < hypers.max_radial; ++n) center_radial_[static_cast<size_t>(n)] = values[static_cast<size_t>(n)] * y00;
    }

    const DensityHypers& hypers() const { return hypers_; }
    int max_radial() const override { return hypers_.max_radial; }
    int max_angular() const override { return hypers_.max_angular; }
    const SpeciesChannels& channels() const override { return channels_; }
    const RadialSpline& radial() const { return radial_; }

    struct PreparedCells final : Prepared {
        explicit PreparedCells(CellList c) : cells(std::move(c)) {}
        CellList cells;
    };

private:
    std::unique_ptr<Prepared> prepare_structure(const Structure& structure) const override {
        return std::make_unique<PreparedCells>(CellList(structure, hypers_.cutoff));
    }

    void expand_center(const Structure& structure, const Prepared& prepared, int center, double* out,
                       Workspace& work) const override {
        const auto& cells = static_cast<const PreparedCells&>(prepared).cells;
        start_block(structure.types[center], hypers_.center_atom_weight, center_radial_, out);
        PairContraction& pairs = work.pairs;
        add_neighbours(structure, cells, center, pairs);
        pairs.contract(hypers_.max_radial, harmonics_, radial_, out);
    }

    bool has_gradients(const Structure& /*structure*/) const override { return true; }

    // The neighbours of `center` in a species channel, weighted by the
    // cut-off function (its derivative and the atom kept for backward passes).
    void add_neighbours(const Structure& structure, const CellList& cells, int center, PairContraction& pairs) const {
        pairs.reset(channels_.size());
        cells.for_each_neighbour(center, [&](int j, double dx, double dy, double dz, double d2) {
            const int a = channels_(structure.types[j]);
            if (a < 0) return;
            double fc = 0.0, dfc = 0.0;
            smooth_cutoff(std::sqrt(d2), hypers_.cutoff, hypers_.cutoff_width, fc, dfc);
            if (fc == 0.0) return;
            pairs.add(a, dx, dy, dz, fc, dfc, j);
        });
    }

    // The same neighbours as expand_center (the centre's own Gaussian does not move).
    void backward_center(const Structure& structure, const Prepared& prepared, int center, const double* cotangent,
                         const GradientSink& sink, Workspace& work) const override {
        const auto& cells = static_cast<const PreparedCells&>(prepared).cells;
        PairContraction& pairs = work.pairs;
        add_neighbours(structure, cells, center, pairs);
        pairs.contract_backward(hypers_.max_radial, harmonics_, radial_, cotangent,
                                [&](int j, const double* r, const double* g) { sink.add_pair(center, j, r, g); });
    }

    static DensityHypers validated(const DensityHypers& h) {
        check_basis_hypers(h);
        if (!(h.cutoff_width >= 0.0 && h.cutoff_width <= h.cutoff)) throw std::invalid_argument("cutoff_width must be in [0, cutoff]");
        return h;
    }

    DensityHypers hypers_;
    SpeciesChannels channels_;
    SphericalHarmonics harmonics_;
    RadialSpline radial_;
    std::vector<double> center_radial_;
};

}  // namespace mslode
