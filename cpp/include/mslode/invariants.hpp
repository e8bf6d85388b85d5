// Rotational invariants of two expansions (SPEC §4, Eq. 10):
//   ⟨a1 n1; a2 n2; l|F⊗G⟩ = (2l+1)^(-1/2) Σ_m c^F_{a1 n1 l m} c^G_{a2 n2 l m}
// When F and G are the same expansion the product is symmetric under
// (a1 n1) ↔ (a2 n2): `symmetric` keeps (a1 n1) <= (a2 n2) only and scales the
// off-diagonal entries by √2, so dot products (linear kernels) between
// feature vectors are those of the full set.
#pragma once

#include <array>
#include <cmath>
#include <vector>

#include "spherical_harmonics.hpp"

namespace mslode {

class InvariantCoupling {
public:
    // Blocks of F are [channels_f][radial_f][lm], of G [channels_g][radial_g][lm].
    InvariantCoupling(int channels_f, int radial_f, int channels_g, int radial_g, int max_angular, bool symmetric)
        : max_angular_(max_angular), radial_g_(radial_g), symmetric_(symmetric) {
        const int pf = channels_f * radial_f, pg = channels_g * radial_g;
        for (int p1 = 0; p1 < pf; ++p1) {
            for (int p2 = symmetric ? p1 : 0; p2 < pg; ++p2) {
                pairs_.push_back({p1, p2});
                pair_scale_.push_back(symmetric && p1 != p2 ? std::sqrt(2.0) : 1.0);
            }
        }
        for (int l = 0; l <= max_angular; ++l) l_scale_.push_back(1.0 / std::sqrt(2.0 * l + 1.0));
    }

    int n_features() const { return static_cast<int>(pairs_.size()) * (max_angular_ + 1); }
    bool symmetric() const { return symmetric_; }

    // Feature k = pair_index * (max_angular + 1) + l; labels (a1, n1, a2, n2, l)
    // as channel and radial indices, given the radial sizes.
    std::vector<std::array<int, 5>> labels(int radial_f) const {
        std::vector<std::array<int, 5>> out;
        out.reserve(static_cast<size_t>(n_features()));
        for (const auto& p : pairs_) {
            for (int l = 0; l <= max_angular_; ++l) {
                out.push_back({p[0] / radial_f, p[0] % radial_f, p[1] / radial_g_, p[1] % radial_g_, l});
            }
        }
        return out;
    }

    void couple(const double* f, const double* g, double* out) const {
        const int LM = lm_size(max_angular_), L = max_angular_;
        double* o = out;
        for (size_t k = 0; k < pairs_.size(); ++k) {
            const double* a = f + static_cast<size_t>(pairs_[k][0]) * static_cast<size_t>(LM);
            const double* b = g + static_cast<size_t>(pairs_[k][1]) * static_cast<size_t>(LM);
            const double s = pair_scale_[k];
            for (int l = 0; l <= L; ++l) {
                double acc = 0.0;
                for (int lm = l * l; lm < (l + 1) * (l + 1); ++lm) acc += a[lm] * b[lm];
                *o++ = s * l_scale_[static_cast<size_t>(l)] * acc;
            }
        }
    }

private:
    int max_angular_;
    int radial_g_;
    bool symmetric_;
    std::vector<std::array<int, 2>> pairs_;
    std::vector<double> pair_scale_;
    std::vector<double> l_scale_;
};

}  // namespace mslode
