// The one radial function behind every Gaussian-source integral on the GTO
// basis (density of a Gaussian, potentials as superpositions of Gaussians):
//   G(d) = d^l exp(-η d²) M̃(α, β, κ d²),   M̃(a, b, z) = exp(-z) 1F1(a; b; z),
// with its derivative, free of overflow for any d.
#pragma once

#include <cmath>

#include "hyp1f1.hpp"

namespace mslode {

inline void gaussian_gto_radial(int l, double alpha, double beta, double kappa, double eta, double d, double& value,
                                double& derivative) {
    const double z = kappa * d * d;
    const double envelope = std::exp(-eta * d * d);
    const double m0 = hyp1f1_scaled(alpha, beta, z);
    double d_lm1 = (l == 0) ? 0.0 : 1.0;  // d^(l-1), unused for l = 0
    for (int k = 1; k < l; ++k) d_lm1 *= d;
    const double d_l = (l == 0) ? 1.0 : d_lm1 * d;
    value = d_l * envelope * m0;
    // dM̃/dz = ((α - β)/β) M̃(α, β + 1, z) (Kummer), free of the cancellation
    // in (α/β) M̃(α+1, β+1) - M̃(α, β); exactly 0 when α = β (M̃ = 1)
    const double dm0 = (alpha == beta) ? 0.0 : (alpha - beta) / beta * hyp1f1_scaled(alpha, beta + 1.0, z);
    derivative = envelope * ((l * d_lm1 - 2.0 * eta * d * d_l) * m0 + 2.0 * kappa * d * d_l * dm0);
}

}  // namespace mslode
