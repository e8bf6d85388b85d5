// The hyper-parameters every expansion on the GTO basis has (DensityHypers and
// PotentialHypers extend them), and their checks.
#pragma once

#include <cmath>
#include <stdexcept>

#include "limits.hpp"

namespace mslode {

struct BasisHypers {
    double cutoff = 4.0;  // r_c of the basis (σ_n); the density's neighbour cut-off too
    double gaussian_width = 0.3;
    int max_radial = 6;
    int max_angular = 4;
    double center_atom_weight = 1.0;
    double spline_accuracy = 1e-8;
};

// Throws std::invalid_argument naming the first parameter out of range.
inline void check_basis_hypers(const BasisHypers& h) {
    auto positive = [](double x) { return x > 0.0 && std::isfinite(x); };
    if (!positive(h.cutoff)) throw std::invalid_argument("cutoff must be positive and finite");
    if (!positive(h.gaussian_width)) throw std::invalid_argument("gaussian_width must be positive and finite");
    if (!std::isfinite(h.center_atom_weight)) throw std::invalid_argument("center_atom_weight must be finite");
    check_max_radial(h.max_radial);
    check_max_angular(h.max_angular);
    if (!positive(h.spline_accuracy)) throw std::invalid_argument("spline_accuracy must be positive");
}

}  // namespace mslode
