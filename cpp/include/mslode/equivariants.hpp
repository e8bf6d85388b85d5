// Equivariants of order λ and parity σ of two expansions
// (docs/conventions.md, "Equivariants"):
//   ⟨a1 n1 l1; a2 n2 l2; λ μ|F⊗G⟩ = Σ_{m1 m2} C^{λμ}_{l1 m1, l2 m2} c^F_{a1 n1 l1 m1} c^G_{a2 n2 l2 m2}
// with the real-basis Clebsch–Gordan coefficients of clebsch_gordan.hpp, for
// every (l1, l2) with |l1 - l2| <= λ <= l1 + l2 and (-1)^(l1 + l2 + λ) = σ.
//
// One centre's output is [μ][feature], features ordered by (l1, l2) block,
// then (a1 n1), then (a2 n2). Per block and μ the sum is two small matrix
// products: H_μ = F_l1 C_μ (rows of F against the coefficients), then
// H_μ G_l2ᵀ, written straight into the output. A selection of features
// (their indices in that order) is computed feature by feature instead, at a
// cost proportional to their number.
#pragma once

#include <Eigen/Dense>
#include <array>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "clebsch_gordan.hpp"
#include "coupling.hpp"
#include "limits.hpp"
#include "spherical_harmonics.hpp"

namespace mslode {

class EquivariantCoupling final : public Coupling {
public:
    // Blocks of F are [channels_f][radial_f][lm], of G [channels_g][radial_g][lm];
    // parity is +1 or -1.
    EquivariantCoupling(BlockShape f, BlockShape g, int lambda, int parity, const std::vector<int>& selected = {})
        : Coupling(f, g), lambda_(lambda), parity_(parity) {
        if (f.max_angular != g.max_angular) throw std::invalid_argument("the two expansions need the same max_angular");
        if (lambda < 0 || lambda > kMaxAngular) {
            throw std::invalid_argument("lambda must be in [0, " + std::to_string(kMaxAngular) + "]");
        }
        if (parity != 1 && parity != -1) throw std::invalid_argument("parity must be +1 or -1");
        check_max_angular(f.max_angular);
        const int L = f.max_angular;
        const int rows_f = f.rows(), rows_g = g.rows();
        for (int l1 = 0; l1 <= L; ++l1) {
            for (int l2 = 0; l2 <= L; ++l2) {
                if (lambda < std::abs(l1 - l2) || lambda > l1 + l2) continue;
                if (((l1 + l2 + lambda) % 2 == 0 ? 1 : -1) != parity) continue;
                Block block;
                block.l1 = l1;
                block.l2 = l2;
                block.offset = n_features_;
                // [μ][m1][m2] from clebsch_gordan.hpp's [m1][m2][μ]
                const std::vector<double> cg = real_clebsch_gordan(l1, l2, lambda);
                const int n1 = 2 * l1 + 1, n2 = 2 * l2 + 1, nl = 2 * lambda + 1;
                block.coefficients.resize(static_cast<size_t>(n1 * n2 * nl));
                for (int mu = 0; mu < nl; ++mu)
                    for (int m1 = 0; m1 < n1; ++m1)
                        for (int m2 = 0; m2 < n2; ++m2)
                            block.coefficients[static_cast<size_t>((mu * n1 + m1) * n2 + m2)] =
                                cg[static_cast<size_t>((m1 * n2 + m2) * nl + mu)];
                n_features_ += rows_f * rows_g;
                blocks_.push_back(std::move(block));
            }
        }
        if (blocks_.empty()) {
            throw std::invalid_argument("no (l1, l2) with l1, l2 <= " + std::to_string(L) + " couples to lambda = " +
                                        std::to_string(lambda) + " with parity " + std::to_string(parity));
        }
        if (!selected.empty()) {
            check_selection(selected, n_features_);
            for (const int k : selected) selected_.push_back(locate(k));
        }
    }

    int lambda() const { return lambda_; }
    int parity() const { return parity_; }
    int components() const { return 2 * lambda_ + 1; }
    // Features computed: all, or the selected ones.
    int n_features() const { return selected_.empty() ? n_features_ : static_cast<int>(selected_.size()); }
    int output_size() const override { return components() * n_features(); }

    // (a1, n1, l1, a2, n2, l2) of each feature computed, as channel and radial indices.
    std::vector<std::array<int, 6>> labels() const {
        std::vector<std::array<int, 6>> out;
        out.reserve(static_cast<size_t>(n_features()));
        const int Nf = shape_f().max_radial, Ng = shape_g().max_radial;
        auto label = [&](const Feature& x) {
            const Block& b = blocks_[static_cast<size_t>(x.block)];
            return std::array<int, 6>{x.p1 / Nf, x.p1 % Nf, b.l1, x.p2 / Ng, x.p2 % Ng, b.l2};
        };
        if (!selected_.empty()) {
            for (const auto& x : selected_) out.push_back(label(x));
            return out;
        }
        for (int b = 0; b < static_cast<int>(blocks_.size()); ++b)
            for (int p1 = 0; p1 < shape_f().rows(); ++p1)
                for (int p2 = 0; p2 < shape_g().rows(); ++p2) out.push_back(label({b, p1, p2}));
        return out;
    }

    void couple(const double* f, const double* g, double* out, std::vector<double>& scratch) const override {
        if (!selected_.empty()) {
            couple_selected(f, g, out);
            return;
        }
        using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
        using Stride = Eigen::OuterStride<>;
        const int LM = lm_size(shape_f().max_angular);
        const int P1 = shape_f().rows(), P2 = shape_g().rows(), nl = components();
        for (const auto& b : blocks_) {
            const int n1 = 2 * b.l1 + 1, n2 = 2 * b.l2 + 1;
            // F_l1 (P1 × n1) and G_l2ᵀ (n2 × P2) read in place from the blocks
            const Eigen::Map<const RowMajor, 0, Stride> F(f + b.l1 * b.l1, P1, n1, Stride(LM));
            const Eigen::Map<const Eigen::MatrixXd, 0, Stride> G(g + b.l2 * b.l2, n2, P2, Stride(LM));
            scratch.resize(static_cast<size_t>(P1 * n2));
            Eigen::Map<RowMajor> H(scratch.data(), P1, n2);
            for (int mu = 0; mu < nl; ++mu) {
                const Eigen::Map<const RowMajor> C(b.coefficients.data() + static_cast<size_t>(mu * n1 * n2), n1, n2);
                H.noalias() = F * C;
                Eigen::Map<RowMajor> O(out + static_cast<size_t>(mu) * static_cast<size_t>(n_features_) +
                                           static_cast<size_t>(b.offset),
                                       P1, P2);
                O.noalias() = H * G;
            }
        }
    }

private:
    struct Block {
        int l1 = 0, l2 = 0;
        int offset = 0;                   // first feature of the block
        std::vector<double> coefficients;  // [μ][m1][m2]
    };
    struct Feature {
        int block, p1, p2;
    };

    Feature locate(int k) const {
        int b = static_cast<int>(blocks_.size()) - 1;
        while (blocks_[static_cast<size_t>(b)].offset > k) --b;
        const int within = k - blocks_[static_cast<size_t>(b)].offset, P2 = shape_g().rows();
        return {b, within / P2, within % P2};
    }

    void couple_selected(const double* f, const double* g, double* out) const {
        const int LM = lm_size(shape_f().max_angular), nl = components();
        const size_t n = selected_.size();
        for (size_t j = 0; j < n; ++j) {
            const Feature& x = selected_[j];
            const Block& b = blocks_[static_cast<size_t>(x.block)];
            const int n1 = 2 * b.l1 + 1, n2 = 2 * b.l2 + 1;
            const double* a = f + x.p1 * LM + b.l1 * b.l1;
            const double* c = g + x.p2 * LM + b.l2 * b.l2;
            for (int mu = 0; mu < nl; ++mu) {
                const double* C = b.coefficients.data() + static_cast<size_t>(mu * n1 * n2);
                double sum = 0.0;
                for (int m1 = 0; m1 < n1; ++m1) {
                    double inner = 0.0;
                    for (int m2 = 0; m2 < n2; ++m2) inner += C[m1 * n2 + m2] * c[m2];
                    sum += a[m1] * inner;
                }
                out[static_cast<size_t>(mu) * n + j] = sum;
            }
        }
    }

    int lambda_;
    int parity_;
    int n_features_ = 0;  // of the full set
    std::vector<Block> blocks_;
    std::vector<Feature> selected_;
};

}  // namespace mslode
