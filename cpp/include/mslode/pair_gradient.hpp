// The backward pass of the pair contraction (pair_contraction.hpp): for one
// pair (vector r from the centre, weight w(|r|)) and the cotangent t of its
// channel's [n][lm] block, the gradient with respect to r of
//   Σ_{n l m} t_nlm w(d) f_ln(d) Y_lm(r̂),   d = |r|,
// that is  (w f' + w' f)·t Y r̂ + w f t ∇Y,  with ∇Y tangent to the sphere
// (SphericalHarmonics::compute_unit_gradient divided by d). One scalar
// radial lookup with derivatives per pair: the value pass stays as it is.
#pragma once

#include <cmath>
#include <vector>

#include "spherical_harmonics.hpp"

namespace mslode {

class PairGradient {
public:
    // `radial.evaluate(d, values, derivatives)` fills values[l * max_radial + n]
    // and their d/dd; g receives the three components. r must be non-zero.
    template <class Radial>
    void gradient(const Radial& radial, const SphericalHarmonics& harmonics, int max_radial, const double* cotangent,
                  const double* r, double weight, double weight_derivative, double* g) {
        const int N = max_radial, L = harmonics.max_angular(), LM = lm_size(L);
        f_.resize(static_cast<size_t>(N * (L + 1)));
        df_.resize(f_.size());
        y_.resize(static_cast<size_t>(LM));
        gy_.resize(3 * y_.size());
        const double d = std::sqrt(r[0] * r[0] + r[1] * r[1] + r[2] * r[2]);
        const double u[3] = {r[0] / d, r[1] / d, r[2] / d};
        radial.evaluate(d, f_.data(), df_.data());
        harmonics.compute_unit_gradient(u[0], u[1], u[2], y_.data(), gy_.data());
        // the cotangent contracted with the radial functions and their
        // derivatives first (2 N LM products), then with the harmonics
        a_.assign(static_cast<size_t>(LM), 0.0);
        da_.assign(static_cast<size_t>(LM), 0.0);
        for (int l = 0; l <= L; ++l) {
            for (int n = 0; n < N; ++n) {
                const double fv = f_[static_cast<size_t>(l * N + n)], dv = df_[static_cast<size_t>(l * N + n)];
                const double* t = cotangent + static_cast<size_t>(n) * LM;
                for (int k = l * l; k < (l + 1) * (l + 1); ++k) {
                    a_[static_cast<size_t>(k)] += t[k] * fv;
                    da_[static_cast<size_t>(k)] += t[k] * dv;
                }
            }
        }
        double value = 0.0, slope = 0.0, tangent[3] = {0.0, 0.0, 0.0};
        for (int k = 0; k < LM; ++k) {
            const double a = a_[static_cast<size_t>(k)];
            value += a * y_[static_cast<size_t>(k)];
            slope += da_[static_cast<size_t>(k)] * y_[static_cast<size_t>(k)];
            for (int c = 0; c < 3; ++c) tangent[c] += a * gy_[static_cast<size_t>(c * LM + k)];
        }
        const double along = weight * slope + weight_derivative * value;
        for (int c = 0; c < 3; ++c) g[c] = along * u[c] + weight * tangent[c] / d;
    }

private:
    std::vector<double> f_, df_, y_, gy_;  // radial values, derivatives; harmonics, their gradients [c][lm]
    std::vector<double> a_, da_;           // Σ_n t f, Σ_n t f' per lm
};

}  // namespace mslode
