// Radial integrals of one normalised Gaussian (width σ) at distance d, on the
// orthonormal GTO basis (docs/conventions.md, "Density coefficients"):
//   c_nlm = Y_lm(r̂) ∫ R̃_n(r) r² dr ∫ dΩ Y_lm(x̂) g_σ(x - r)  =  Y_lm(r̂) I_nl(d)
// with, for primitive k (a = 1/2σ² + 1/2σ_k², b = d/σ², z = b²/4a),
//   I_kl(d) = (2πσ²)^(-3/2) 4π √π / 2^(l+2) Γ((k+l+3)/2)/Γ(l+3/2) a^(-(k+l+3)/2)
//             b^l exp(-d²/2σ²) 1F1((k+l+3)/2; l+3/2; z),
// evaluated through exp(-z) 1F1 (hyp1f1_scaled) so nothing overflows:
// exp(-d²/2σ²) 1F1(z) = exp(-γ_k d²) M̃(z) with γ_k = 1/(2(σ² + σ_k²)), the
// width of the Gaussian convolved with the primitive. (Forming the envelope
// as exp(z - d²/2σ²) cancels two large exponents and cost ~1e-13 relative.)
// d/dz M̃(α, β, z) = ((α - β)/β) M̃(α, β + 1, z) (Kummer's transformation),
// which keeps the derivative free of the same cancellation.
#pragma once

#include <cmath>
#include <stdexcept>
#include <vector>

#include "gaussian_gto_integral.hpp"
#include "gto_basis.hpp"
#include "radial_spline.hpp"

namespace mslode {

class GtoDensityKernel {
public:
    GtoDensityKernel(const GtoBasis& basis, double gaussian_width, int max_angular)
        : basis_(basis), sigma_(gaussian_width), max_angular_(max_angular) {
        if (!(gaussian_width > 0.0) || !std::isfinite(gaussian_width)) {
            throw std::invalid_argument("gaussian_width must be positive and finite");
        }
        const int N = basis.max_radial();
        const double s2 = sigma_ * sigma_;
        prefactor_.resize(static_cast<size_t>(N * (max_angular + 1)));
        a_.resize(static_cast<size_t>(N));
        gamma_.resize(static_cast<size_t>(N));
        for (int k = 0; k < N; ++k) {
            const double sk2 = basis.sigma(k) * basis.sigma(k);
            a_[static_cast<size_t>(k)] = 0.5 / s2 + 0.5 / sk2;
            gamma_[static_cast<size_t>(k)] = 0.5 / (s2 + sk2);
        }
        const double global = std::pow(2.0 * M_PI * s2, -1.5) * 4.0 * M_PI * std::sqrt(M_PI);
        for (int l = 0; l <= max_angular; ++l) {
            for (int k = 0; k < N; ++k) {
                const double alpha = 0.5 * (k + l + 3);
                const double log_p = std::lgamma(alpha) - std::lgamma(l + 1.5) - alpha * std::log(a_[static_cast<size_t>(k)]);
                // σ^-2l turns b^l = (d/σ²)^l into the d^l of gaussian_gto_radial
                prefactor_[static_cast<size_t>(l * N + k)] =
                    global / std::pow(2.0, l + 2) * std::exp(log_p) * basis.norm(k) * std::pow(s2, -l);
            }
        }
    }

    int max_radial() const { return basis_.max_radial(); }
    int max_angular() const { return max_angular_; }

    // Orthonormal-basis values[l*N + n] and d/dd derivatives at distance d.
    void operator()(double d, double* values, double* derivatives) const {
        const int N = basis_.max_radial();
        const double s2 = sigma_ * sigma_;
        const size_t width = static_cast<size_t>(N * (max_angular_ + 1));
        std::vector<double> prim(width), dprim(width);  // [l*N + k]
        for (int l = 0; l <= max_angular_; ++l) {
            for (int k = 0; k < N; ++k) {
                // b^l exp(-γ_k d²) M̃(α, β, κ d²) = σ^-2l G(d) of gaussian_gto_integral.hpp
                const double a = a_[static_cast<size_t>(k)];
                const double kappa = 1.0 / (4.0 * a * s2 * s2);
                double g = 0.0, dg = 0.0;
                gaussian_gto_radial(l, 0.5 * (k + l + 3), l + 1.5, kappa, gamma_[static_cast<size_t>(k)], d, g, dg);
                const double p = prefactor_[static_cast<size_t>(l * N + k)];
                prim[static_cast<size_t>(l * N + k)] = p * g;
                dprim[static_cast<size_t>(l * N + k)] = p * dg;
            }
        }
        basis_.to_orthonormal(prim.data(), values, max_angular_ + 1);
        if (derivatives != nullptr) basis_.to_orthonormal(dprim.data(), derivatives, max_angular_ + 1);
    }

private:
    GtoBasis basis_;
    double sigma_;
    int max_angular_;
    std::vector<double> a_;
    std::vector<double> gamma_;  // 1 / (2 (σ² + σ_k²))
    std::vector<double> prefactor_;
};

}  // namespace mslode
