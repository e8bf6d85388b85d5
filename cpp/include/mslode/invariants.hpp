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

#include "simd.hpp"
#include "spherical_harmonics.hpp"

namespace mslode {

class InvariantCoupling {
public:
    // Blocks of F are [channels_f][radial_f][lm], of G [channels_g][radial_g][lm].
    InvariantCoupling(int channels_f, int radial_f, int channels_g, int radial_g, int max_angular, bool symmetric)
        : max_angular_(max_angular), radial_g_(radial_g), symmetric_(symmetric), rows_f_(channels_f * radial_f),
          rows_g_(channels_g * radial_g) {
        for (int p1 = 0; p1 < rows_f_; ++p1) {
            for (int p2 = symmetric ? p1 : 0; p2 < rows_g_; ++p2) {
                pairs_.push_back({p1, p2});
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

    // Features of one centre into out[n_features()]; `scratch` is caller-owned
    // working memory (one per thread).
    void couple(const double* f, const double* g, double* out, std::vector<double>& scratch) const {
        simd::dispatch([this, f, g, out, &scratch](auto pack) MSLODE_INLINE_LAMBDA {
            couple_body<decltype(pack)>(f, g, out, scratch);
        });
    }

private:
    // Row p1 of F against W rows p2 of G at a time: G transposed ([lm][p2],
    // p2 fastest) so that the sums over m are packs of W features, one per l.
    template <class V>
    MSLODE_ALWAYS_INLINE void couple_body(const double* f, const double* g, double* out,
                                          std::vector<double>& scratch) const {
        constexpr int W = simd::lanes<V>;
        const int LM = lm_size(max_angular_), L = max_angular_, P = rows_g_;
        // room for a last pack that starts anywhere (symmetric rows start at p1)
        const size_t stride = simd::padded(static_cast<size_t>(P)) + simd::kMaxWidth;
        scratch.assign(static_cast<size_t>(LM) * stride, 0.0);
        for (int p2 = 0; p2 < P; ++p2)
            for (int lm = 0; lm < LM; ++lm) scratch[static_cast<size_t>(lm) * stride + static_cast<size_t>(p2)] = g[p2 * LM + lm];
        const double root2 = std::sqrt(2.0);
        V sums[kMaxAngularSupported + 1];
        double* o = out;
        for (int p1 = 0; p1 < rows_f_; ++p1) {
            const double* a = f + static_cast<size_t>(p1) * static_cast<size_t>(LM);
            const int first = symmetric_ ? p1 : 0;
            for (int p2 = first; p2 < P; p2 += W) {
                for (int l = 0; l <= L; ++l) {
                    V acc = simd::broadcast<V>(0.0);
                    for (int lm = l * l; lm < (l + 1) * (l + 1); ++lm) {
                        acc += simd::broadcast<V>(a[lm]) *
                               simd::load<V>(&scratch[static_cast<size_t>(lm) * stride + static_cast<size_t>(p2)]);
                    }
                    sums[l] = acc * simd::broadcast<V>(l_scale_[static_cast<size_t>(l)]);
                }
                const int lanes = std::min(W, P - p2);
                for (int i = 0; i < lanes; ++i) {
                    const double s = (symmetric_ && p2 + i != p1) ? root2 : 1.0;
                    for (int l = 0; l <= L; ++l) *o++ = s * sums[l][i];
                }
            }
        }
    }

    int max_angular_;
    int radial_g_;
    bool symmetric_;
    int rows_f_, rows_g_;  // (channel, n) rows of F and G
    std::vector<std::array<int, 2>> pairs_;
    std::vector<double> l_scale_;
};

}  // namespace mslode
