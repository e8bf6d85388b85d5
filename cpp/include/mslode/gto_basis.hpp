// The `gto` radial basis (docs/conventions.md, "Radial basis"): primitives
// R_n(r) = r^n exp(-r²/2σ_n²), σ_n = r_c max(√n, 1) / n_max, each scaled to
// unit norm, then orthonormalised symmetrically (Löwdin) over r ∈ [0, ∞).
#pragma once

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "limits.hpp"

namespace mslode {

class GtoBasis {
public:
    GtoBasis(double cutoff, int max_radial) : cutoff_(cutoff), max_radial_(max_radial) {
        if (!(cutoff > 0.0) || !std::isfinite(cutoff)) throw std::invalid_argument("cutoff must be positive and finite");
        check_max_radial(max_radial);
        const int N = max_radial;
        sigma_.resize(static_cast<size_t>(N));
        norm_.resize(static_cast<size_t>(N));
        for (int n = 0; n < N; ++n) {
            sigma_[static_cast<size_t>(n)] = cutoff * std::max(std::sqrt(static_cast<double>(n)), 1.0) / N;
            const double s = sigma_[static_cast<size_t>(n)];
            // ∫ r^(2n+2) exp(-r²/σ²) dr = Γ(n + 3/2) σ^(2n+3) / 2
            norm_[static_cast<size_t>(n)] =
                std::sqrt(2.0 / std::exp(std::lgamma(n + 1.5) + (2.0 * n + 3.0) * std::log(s)));
        }
        overlap_.resize(N, N);
        for (int n = 0; n < N; ++n) {
            for (int k = 0; k < N; ++k) {
                overlap_(n, k) = norm_[static_cast<size_t>(n)] * norm_[static_cast<size_t>(k)] *
                                 gaussian_moment(n + k + 2, 0.5 / (sigma(n) * sigma(n)) + 0.5 / (sigma(k) * sigma(k)));
            }
        }
        Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(overlap_);
        const Eigen::VectorXd ev = eig.eigenvalues();
        if (ev.minCoeff() <= 1e-14 * ev.maxCoeff()) {
            throw std::invalid_argument("GTO primitives are linearly dependent at this max_radial");
        }
        orthonormaliser_ = inverse_sqrt_overlap(N);
    }

    // S^(-1/2) for the unit-norm primitives. S is badly conditioned (cond ~ 4e7
    // at n_max = 12, ~6e10 at 16) and an eigendecomposition of the analytic S
    // loses cond(S)·eps: the resulting basis was orthonormal only to ~1e-8 at
    // n_max = 12 and ~1e-5 at 16. Instead take the SVD of a quadrature factor
    // B (S = BᵀB, B_ik = √w_i r_i R_k(r_i)): its small singular values are
    // accurate to eps·cond(B) = eps·√cond(S), and S^(-1/2) = V Σ⁻¹ Vᵀ.
    // The quadrature is the trapezoid rule in t = ln r, which converges
    // exponentially for these integrands; its error (and the truncation of
    // the t range) is far below eps·λ_min(S). S depends only on the ratios
    // σ_n/σ_k, hence only on n_max: work in units where σ_n = max(√n, 1).
    static Eigen::MatrixXd inverse_sqrt_overlap(int N) {
        std::vector<double> s(static_cast<size_t>(N));
        double s_max = 0.0;
        for (int n = 0; n < N; ++n) {
            s[static_cast<size_t>(n)] = std::max(std::sqrt(static_cast<double>(n)), 1.0);
            s_max = std::max(s_max, s[static_cast<size_t>(n)]);
        }
        const double h = 0.05;
        const double t_min = -20.0;  // r³ ~ 1e-26 at the lower end
        const double t_max = std::log(s_max * (std::sqrt(2.0 * N) + 10.0));
        const int points = static_cast<int>(std::ceil((t_max - t_min) / h)) + 1;
        Eigen::MatrixXd B(points, N);
        for (int i = 0; i < points; ++i) {
            const double r = std::exp(t_min + i * h);
            const double sqrt_w_r = std::sqrt(h * r) * r;  // √(dr) · r, with dr = r dt
            double r_n = 1.0;
            for (int n = 0; n < N; ++n) {
                const double sn = s[static_cast<size_t>(n)];
                B(i, n) = sqrt_w_r * r_n * std::exp(-0.5 * r * r / (sn * sn));
                r_n *= r;
            }
        }
        // unit norm under the same quadrature (agrees with the analytic norm
        // to rounding; keeps BᵀB an exact unit-diagonal Gram matrix)
        for (int n = 0; n < N; ++n) B.col(n) /= B.col(n).norm();
        Eigen::JacobiSVD<Eigen::MatrixXd> svd(B, Eigen::ComputeThinV);
        const Eigen::MatrixXd& V = svd.matrixV();
        const Eigen::VectorXd inv_sigma = svd.singularValues().cwiseInverse();
        return V * inv_sigma.asDiagonal() * V.transpose();
    }

    // ∫_0^∞ r^k exp(-a r²) dr = Γ((k+1)/2) / (2 a^((k+1)/2))
    static double gaussian_moment(int k, double a) {
        const double h = 0.5 * (k + 1.0);
        return 0.5 * std::exp(std::lgamma(h) - h * std::log(a));
    }

    double cutoff() const { return cutoff_; }
    int max_radial() const { return max_radial_; }
    double sigma(int n) const { return sigma_[static_cast<size_t>(n)]; }
    // unit-norm scale of primitive n
    double norm(int n) const { return norm_[static_cast<size_t>(n)]; }
    // overlap of the unit-norm primitives
    const Eigen::MatrixXd& overlap() const { return overlap_; }
    // S^{-1/2}: orthonormal R̃_n = Σ_k orthonormaliser(n, k) norm(k) r^k e^{-r²/2σ_k²}
    const Eigen::MatrixXd& orthonormaliser() const { return orthonormaliser_; }

    // From the unit-norm primitives to the orthonormal functions, for data
    // laid out as `blocks` blocks (one per l) of max_radial rows of `columns`
    // values each (a value and its derivative go in separate calls):
    //   out[(b N + n) columns + j] = Σ_k orthonormaliser(n, k) primitive[(b N + k) columns + j].
    // A plain loop in k (not an Eigen product), so the sums are always
    // accumulated in the same order.
    void to_orthonormal(const double* primitive, double* out, int blocks, int columns = 1) const {
        const int N = max_radial_;
        const auto& U = orthonormaliser_;
        for (int b = 0; b < blocks; ++b) {
            const double* in = primitive + static_cast<size_t>(b) * N * columns;
            double* o = out + static_cast<size_t>(b) * N * columns;
            for (int n = 0; n < N; ++n) {
                for (int j = 0; j < columns; ++j) {
                    double acc = 0.0;
                    for (int k = 0; k < N; ++k) acc += U(n, k) * in[static_cast<size_t>(k) * columns + j];
                    o[static_cast<size_t>(n) * columns + j] = acc;
                }
            }
        }
    }

    // Orthonormal basis functions on a grid: out is (n_points, max_radial).
    Eigen::MatrixXd evaluate(const Eigen::VectorXd& r) const {
        Eigen::MatrixXd primitives(r.size(), max_radial_);
        for (Eigen::Index i = 0; i < r.size(); ++i) {
            for (int n = 0; n < max_radial_; ++n) {
                const double s = sigma(n);
                primitives(i, n) = norm(n) * std::pow(r[i], n) * std::exp(-0.5 * r[i] * r[i] / (s * s));
            }
        }
        return primitives * orthonormaliser_.transpose();
    }

private:
    double cutoff_;
    int max_radial_;
    std::vector<double> sigma_;
    std::vector<double> norm_;
    Eigen::MatrixXd overlap_;
    Eigen::MatrixXd orthonormaliser_;
};

}  // namespace mslode
