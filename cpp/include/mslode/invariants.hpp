// Rotational invariants of two expansions (docs/conventions.md, "Invariants"):
//   ⟨a1 n1; a2 n2; l|F⊗G⟩ = (2l+1)^(-1/2) Σ_m c^F_{a1 n1 l m} c^G_{a2 n2 l m}
// When F and G are the same expansion the product is symmetric under
// (a1 n1) ↔ (a2 n2): `symmetric` keeps (a1 n1) <= (a2 n2) only and scales the
// off-diagonal entries by √2, so dot products (linear kernels) between
// feature vectors are those of the full set.
// A selection of features (their indices in the full set) is computed one
// feature at a time, at a cost proportional to their number.
#pragma once

#include <array>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "coupling.hpp"
#include "limits.hpp"
#include "simd.hpp"
#include "spherical_harmonics.hpp"

namespace mslode {

class InvariantCoupling final : public Coupling {
public:
    // Blocks of F are [channels_f][radial_f][lm], of G [channels_g][radial_g][lm].
    InvariantCoupling(BlockShape f, BlockShape g, bool symmetric, const std::vector<int>& selected = {})
        : Coupling(f, g), symmetric_(symmetric) {
        if (f.channels < 0 || g.channels < 0) throw std::invalid_argument("InvariantCoupling: negative channel count");
        check_max_radial(f.max_radial);
        check_max_radial(g.max_radial);
        check_max_angular(f.max_angular);
        if (f.max_angular != g.max_angular) throw std::invalid_argument("the two expansions need the same max_angular");
        if (symmetric && f != g) {
            throw std::invalid_argument("InvariantCoupling: a symmetric coupling needs F and G of one shape, got " +
                                        f.describe() + " and " + g.describe());
        }
        for (int p1 = 0; p1 < f.rows(); ++p1) {
            for (int p2 = symmetric ? p1 : 0; p2 < g.rows(); ++p2) {
                pairs_.push_back({p1, p2});
            }
        }
        for (int l = 0; l <= f.max_angular; ++l) l_scale_.push_back(1.0 / std::sqrt(2.0 * l + 1.0));
        if (!selected.empty()) {
            check_selection(selected, static_cast<int>(pairs_.size()) * (f.max_angular + 1));
            for (const int k : selected) {
                const auto& p = pairs_[static_cast<size_t>(k / (f.max_angular + 1))];
                const int l = k % (f.max_angular + 1);
                const double root2 = (symmetric && p[0] != p[1]) ? std::sqrt(2.0) : 1.0;
                selected_.push_back({p[0], p[1], l, root2 * l_scale_[static_cast<size_t>(l)]});
            }
        }
    }
    InvariantCoupling(int channels_f, int radial_f, int channels_g, int radial_g, int max_angular, bool symmetric)
        : InvariantCoupling(BlockShape{channels_f, radial_f, max_angular}, BlockShape{channels_g, radial_g, max_angular},
                            symmetric) {}

    // Features computed: all, or the selected ones.
    int n_features() const {
        return selected_.empty() ? static_cast<int>(pairs_.size()) * (max_angular() + 1) : static_cast<int>(selected_.size());
    }
    int output_size() const override { return n_features(); }
    bool symmetric() const { return symmetric_; }
    bool needs_one_expansion() const override { return symmetric_; }
    int max_angular() const { return shape_f().max_angular; }

    // Feature k = pair_index * (max_angular + 1) + l; labels (a1, n1, a2, n2, l)
    // as channel and radial indices, of the features computed.
    std::vector<std::array<int, 5>> labels() const {
        const int Nf = shape_f().max_radial, Ng = shape_g().max_radial;
        std::vector<std::array<int, 5>> out;
        out.reserve(static_cast<size_t>(n_features()));
        for (const auto& x : selected_) out.push_back({x.p1 / Nf, x.p1 % Nf, x.p2 / Ng, x.p2 % Ng, x.l});
        if (!selected_.empty()) return out;
        for (const auto& p : pairs_) {
            for (int l = 0; l <= max_angular(); ++l) {
                out.push_back({p[0] / Nf, p[0] % Nf, p[1] / Ng, p[1] % Ng, l});
            }
        }
        return out;
    }

    // Features of one centre into out[n_features()]; `scratch` is caller-owned
    // working memory (one per thread).
    void couple(const double* f, const double* g, double* out, std::vector<double>& scratch) const override {
        if (!selected_.empty()) {
            couple_selected(f, g, out);
            return;
        }
        simd::dispatch([this, f, g, out, &scratch](auto pack) MSLODE_INLINE_LAMBDA {
            couple_body<decltype(pack)>(f, g, out, scratch);
        });
    }

    // The backward pass of couple() for one centre: with t[n_features()] the
    // cotangent of its features, adds Σ_k t_k ∂feature_k/∂f to df and
    // Σ_k t_k ∂feature_k/∂g to dg (laid out as f and g). For a symmetric set
    // F and G are one expansion: its cotangent is df + dg. (All features:
    // a selection has no backward pass.)
    void couple_backward(const double* f, const double* g, const double* t, double* df, double* dg,
                         std::vector<double>& scratch) const {
        if (!selected_.empty()) throw std::invalid_argument("the backward pass of invariants needs the full set of features");
        simd::dispatch([this, f, g, t, df, dg, &scratch](auto pack) MSLODE_INLINE_LAMBDA {
            backward_body<decltype(pack)>(f, g, t, df, dg, scratch);
        });
    }

private:
    // As couple_body: G and ∂L/∂G transposed ([lm][p2]); per row p1 the
    // cotangents of its pairs, scaled, transposed to [l][p2] (zero past the
    // last p2, so that a last partial pack adds nothing).
    template <class V>
    MSLODE_ALWAYS_INLINE void backward_body(const double* f, const double* g, const double* t, double* df, double* dg,
                                            std::vector<double>& scratch) const {
        constexpr int W = simd::lanes<V>;
        const int L = max_angular(), LM = lm_size(L), P = shape_g().rows(), rows_f = shape_f().rows();
        const size_t stride = simd::padded(static_cast<size_t>(P)) + simd::kMaxWidth;
        scratch.assign(static_cast<size_t>(2 * LM + L + 1) * stride, 0.0);
        double* gt = scratch.data();
        double* dgt = gt + static_cast<size_t>(LM) * stride;
        double* tl = dgt + static_cast<size_t>(LM) * stride;
        for (int p2 = 0; p2 < P; ++p2)
            for (int lm = 0; lm < LM; ++lm) gt[static_cast<size_t>(lm) * stride + static_cast<size_t>(p2)] = g[p2 * LM + lm];
        const double root2 = std::sqrt(2.0);
        const double* row_t = t;
        for (int p1 = 0; p1 < rows_f; ++p1) {
            const int first = symmetric_ ? p1 : 0;
            for (int p2 = first; p2 < P; ++p2) {
                const double s = (symmetric_ && p2 != p1) ? root2 : 1.0;
                for (int l = 0; l <= L; ++l) {
                    tl[static_cast<size_t>(l) * stride + static_cast<size_t>(p2)] = s * l_scale_[static_cast<size_t>(l)] * row_t[l];
                }
                row_t += L + 1;
            }
            const double* a = f + static_cast<size_t>(p1) * static_cast<size_t>(LM);
            double* da = df + static_cast<size_t>(p1) * static_cast<size_t>(LM);
            for (int l = 0; l <= L; ++l) {
                const double* tv = tl + static_cast<size_t>(l) * stride;
                for (int lm = l * l; lm < (l + 1) * (l + 1); ++lm) {
                    const double* gv = gt + static_cast<size_t>(lm) * stride;
                    double* dgv = dgt + static_cast<size_t>(lm) * stride;
                    const V x = simd::broadcast<V>(a[lm]);
                    V acc = simd::broadcast<V>(0.0);
                    for (int p2 = first; p2 < P; p2 += W) {
                        const V w = simd::load<V>(tv + p2);
                        acc += w * simd::load<V>(gv + p2);
                        simd::store(dgv + p2, simd::load<V>(dgv + p2) + w * x);
                    }
                    da[lm] += simd::sum(acc);
                }
            }
        }
        for (int p2 = 0; p2 < P; ++p2)
            for (int lm = 0; lm < LM; ++lm) dg[p2 * LM + lm] += dgt[static_cast<size_t>(lm) * stride + static_cast<size_t>(p2)];
    }

    // Row p1 of F against W rows p2 of G at a time: G transposed ([lm][p2],
    // p2 fastest) so that the sums over m are packs of W features, one per l.
    template <class V>
    MSLODE_ALWAYS_INLINE void couple_body(const double* f, const double* g, double* out,
                                          std::vector<double>& scratch) const {
        constexpr int W = simd::lanes<V>;
        const int L = max_angular(), LM = lm_size(L), P = shape_g().rows(), rows_f = shape_f().rows();
        // room for a last pack that starts anywhere (symmetric rows start at p1)
        const size_t stride = simd::padded(static_cast<size_t>(P)) + simd::kMaxWidth;
        scratch.assign(static_cast<size_t>(LM) * stride, 0.0);
        for (int p2 = 0; p2 < P; ++p2)
            for (int lm = 0; lm < LM; ++lm) scratch[static_cast<size_t>(lm) * stride + static_cast<size_t>(p2)] = g[p2 * LM + lm];
        const double root2 = std::sqrt(2.0);
        V sums[kMaxAngular + 1];
        double* o = out;
        for (int p1 = 0; p1 < rows_f; ++p1) {
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

    void couple_selected(const double* f, const double* g, double* out) const {
        const int LM = lm_size(max_angular());
        for (size_t j = 0; j < selected_.size(); ++j) {
            const Selected& x = selected_[j];
            const double* a = f + x.p1 * LM + x.l * x.l;
            const double* b = g + x.p2 * LM + x.l * x.l;
            double sum = 0.0;
            for (int m = 0; m <= 2 * x.l; ++m) sum += a[m] * b[m];
            out[j] = x.scale * sum;
        }
    }

    struct Selected {
        int p1, p2, l;
        double scale;  // (2l+1)^-1/2, times √2 off the diagonal of a symmetric set
    };

    bool symmetric_;
    std::vector<std::array<int, 2>> pairs_;
    std::vector<double> l_scale_;
    std::vector<Selected> selected_;
};

}  // namespace mslode
