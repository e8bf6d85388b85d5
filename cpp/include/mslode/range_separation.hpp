// The range separation of periodic potentials (docs/potentials.md,
// "Periodic structures"): φ_σ = (φ_σ − φ_s) + φ_s with an auxiliary width
// s > σ. The short-range part is summed over neighbour images in real space
// through a radial table (ShortRangePotentialTable); the long-range part φ_s
// is smooth and goes through the mesh (mesh_potential.hpp). This header has
// what both need of φ^(p): its Fourier transform, the integral of the
// short-range part, and the choices that follow from one `accuracy`.
#pragma once

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "gto_basis.hpp"
#include "potential_radial.hpp"
#include "radial_spline.hpp"

namespace mslode {

// Settings of the periodic path; zeros mean "chosen from accuracy".
struct PeriodicHypers {
    double accuracy = 1e-6;         // relative to the structure's coefficients
    double smearing = 0.0;          // s (Å); 0: max(r_c/2, 2σ)
    double mesh_spacing = 0.0;      // largest mesh step (Å); 0: from accuracy and s
    int interpolation_order = 8;    // B-spline order P (even, 4..10)
    bool slab_dipole_correction = false;
    double mesh_memory_limit = 8e9;  // bytes; a finer mesh is refused, saying what it needs
};

inline void check_periodic_hypers(const PeriodicHypers& h, double gaussian_width) {
    if (!(h.accuracy >= 1e-10 && h.accuracy <= 1e-2)) throw std::invalid_argument("accuracy must be in [1e-10, 1e-2]");
    if (h.smearing != 0.0 && !(h.smearing > gaussian_width && std::isfinite(h.smearing))) {
        throw std::invalid_argument("smearing must be larger than gaussian_width (" + RadialSpline::format_g(gaussian_width) +
                                    " Å), or 0 to choose it");
    }
    if (h.mesh_spacing != 0.0 && !(h.mesh_spacing > 0.0 && std::isfinite(h.mesh_spacing))) {
        throw std::invalid_argument("mesh_spacing must be positive, or 0 to choose it");
    }
    if (!(h.mesh_memory_limit > 0.0)) throw std::invalid_argument("mesh_memory_limit must be positive");
    if (h.interpolation_order < 4 || h.interpolation_order > 10 || h.interpolation_order % 2 != 0) {
        throw std::invalid_argument("interpolation_order must be 4, 6, 8 or 10");
    }
}

inline double periodic_smearing(const PeriodicHypers& h, double cutoff, double gaussian_width) {
    // The real-space reach is set by the broadest basis function (width r_c)
    // and s together, √(r_c² + s²): s up to r_c/2 lengthens it by 12 %, while
    // the mesh step grows with s. So s ≈ r_c/2, whatever σ.
    return h.smearing != 0.0 ? h.smearing : std::max(0.5 * cutoff, 2.0 * gaussian_width);
}

// Only integer exponents: the lattice sums' conventions (docs/conventions.md,
// "Periodic structures") and the closed forms below are stated for them.
inline int periodic_exponent(double p) {
    if (!(p >= 1.0 && p <= 6.0) || p != std::floor(p)) {
        throw std::invalid_argument("periodic structures need an integer potential_exponent in 1..6, got " +
                                    RadialSpline::format_g(p));
    }
    return static_cast<int>(p);
}

// The upper incomplete gamma Γ(a, x) for a = (3 - p)/2, p = 1..6, x > 0:
// Γ(1), Γ(1/2), Γ(0) = E1 in closed form, then Γ(a) = (Γ(a+1) - x^a e^-x)/a.
inline double upper_gamma_half_integer(int p, double x) {
    switch (p) {
        case 1: return std::exp(-x);
        case 2: return std::sqrt(M_PI) * std::erfc(std::sqrt(x));
        case 3: return -std::expint(-x);  // E1(x) = -Ei(-x)
        case 4: return (upper_gamma_half_integer(2, x) - std::exp(-x) / std::sqrt(x)) / -0.5;
        case 5: return (upper_gamma_half_integer(3, x) - std::exp(-x) / x) / -1.0;
        case 6: return (upper_gamma_half_integer(4, x) - std::exp(-x) / (x * std::sqrt(x))) / -1.5;
        default: throw std::invalid_argument("exponent out of range");
    }
}

// φ̂_s(k) = ∫ φ_s^(p)(x) e^{-ik·x} d³x
//        = π^{3/2}/Γ(p/2) (k/2)^{p-3} Γ((3-p)/2, k²s²/2)   (4π e^{-k²s²/2}/k² for p = 1).
// At k = 0 it is finite only for p > 3.
inline double potential_fourier(int p, double s, double k) {
    const double prefactor = std::pow(M_PI, 1.5) / std::tgamma(0.5 * p);
    if (k == 0.0) {
        if (p <= 3) throw std::invalid_argument("the k = 0 term of φ^(p) diverges for p <= 3");
        const double a = 0.5 / (s * s);
        return prefactor * std::pow(a, 0.5 * (p - 3)) / (0.5 * (p - 3));
    }
    if (p == 1) return 4.0 * M_PI / (k * k) * std::exp(-0.5 * k * k * s * s);
    return prefactor * std::pow(0.5 * k, p - 3) * upper_gamma_half_integer(p, 0.5 * k * k * s * s);
}

// dφ̂_s/dk (k > 0): the power's (p - 3)/k, and d/dk Γ(α, x) = -x^(α-1) e^{-x} k s²
// with α = (3 - p)/2, x = k²s²/2.
inline double potential_fourier_derivative(int p, double s, double k) {
    const double x = 0.5 * k * k * s * s;
    const double prefactor = std::pow(M_PI, 1.5) / std::tgamma(0.5 * p);
    return potential_fourier(p, s, k) * (p - 3) / k -
           prefactor * std::pow(0.5 * k, p - 3) * std::pow(x, 0.5 * (1 - p)) * std::exp(-x) * k * s * s;
}

// ∫ (φ_σ - φ_s) d³x = π^{3/2}/Γ(p/2) ∫_{1/2s²}^{1/2σ²} a^{(p-5)/2} da: the
// short-range part's k = 0 term, which the real-space sum contains and the
// background convention of p <= 3 removes.
inline double short_range_integral(int p, double sigma, double s) {
    const double prefactor = std::pow(M_PI, 1.5) / std::tgamma(0.5 * p);
    const double a_hi = 0.5 / (sigma * sigma), a_lo = 0.5 / (s * s);
    if (p == 3) return prefactor * std::log(a_hi / a_lo);
    const double e = 0.5 * (p - 3);
    return prefactor * (std::pow(a_hi, e) - std::pow(a_lo, e)) / e;
}

// P^sr_nl(d): the coefficients of (φ_σ - φ_s)(x - r) on the basis, tabulated
// on [0, r_sr]. r_sr is the first distance (steps of r_c/8) beyond which
// every P^sr_nl stays below accuracy/(4π d² κ) of its own largest value, at
// 1, 1.25, 1.5 and 2 times that distance: the sources of a shell at d,
// 4π d² κ of them, κ = ρ_0 λ = 0.01 Å⁻², together stay below the accuracy.
// (A worst case of equal signs would be ρ_0 = 0.1 Å⁻³ of dense matter and
// λ ~ 1 Å of Gaussian tail; the tails' signs mix, and against the direct
// k-sum the errors stay 7–30 times below the accuracy with κ = 0.01.)
// Beyond r_sr sources are left out of the real-space sum.
class ShortRangePotentialTable {
public:
    ShortRangePotentialTable(const GtoBasis& basis, double gaussian_width, double smearing, int max_angular,
                             int potential_exponent, double spline_accuracy, double accuracy)
        : max_radial_(basis.max_radial()), max_angular_(max_angular), smearing_(smearing) {
        const double cutoff = basis.cutoff();
        const double reach = 8.0 * std::hypot(cutoff, smearing);
        cutoff_ = find_cutoff(GtoPotentialKernel(basis, gaussian_width, max_angular, potential_exponent, 2.0 * reach, smearing),
                              cutoff, reach, accuracy);
        auto kernel_up_to = [&](double stop) -> RadialKernel {
            const auto kernel = std::make_shared<const GtoPotentialKernel>(basis, gaussian_width, max_angular,
                                                                           potential_exponent, stop, smearing);
            return [kernel](double d, double* v, double* g) { (*kernel)(d, v, g); };
        };
        spline_ = SegmentedSpline(kernel_up_to, max_radial_, max_angular_, cutoff, cutoff_, spline_accuracy);
    }

    int max_radial() const { return max_radial_; }
    int max_angular() const { return max_angular_; }
    int width() const { return max_radial_ * (max_angular_ + 1); }
    double smearing() const { return smearing_; }
    double cutoff() const { return cutoff_; }
    int spline_intervals() const { return spline_.intervals(); }

    void evaluate(double d, double* values, double* derivatives) const { spline_.evaluate(d, values, derivatives); }

    template <class V = simd::NativePack>
    MSLODE_ALWAYS_INLINE void evaluate_slopes_many(const double* d, size_t count, double* out, size_t stride) const {
        spline_.evaluate_slopes_many<V>(d, count, out, stride);
    }
    template <class V = simd::NativePack>
    MSLODE_ALWAYS_INLINE void evaluate_many(const double* d, size_t count, double* out, size_t stride) const {
        spline_.evaluate_many<V>(d, count, out, stride);
    }

private:
    double find_cutoff(const GtoPotentialKernel& kernel, double cutoff, double reach, double accuracy) const {
        const size_t width = static_cast<size_t>(max_radial_ * (max_angular_ + 1));
        std::vector<double> values(width), scale(width, 0.0);
        const double step = cutoff / 8.0;
        // each function's largest value: it peaks within a few widths of the centre
        for (double d = 0.0; d <= 3.0 * std::hypot(cutoff, smearing_); d += 0.25 * step) {
            kernel(d, values.data(), nullptr);
            for (size_t k = 0; k < width; ++k) scale[k] = std::max(scale[k], std::abs(values[k]));
        }
        auto small_at = [&](double d) {
            kernel(d, values.data(), nullptr);
            const double shell = 4.0 * M_PI * d * d * 0.01;  // κ
            for (size_t k = 0; k < width; ++k) {
                if (scale[k] > 0.0 && shell * std::abs(values[k]) > accuracy * scale[k]) return false;
            }
            return true;
        };
        for (double d = cutoff; d <= reach; d += step) {
            if (small_at(d) && small_at(1.25 * d) && small_at(1.5 * d) && small_at(2.0 * d)) return d;
        }
        throw std::runtime_error("the short-range potential does not decay to the accuracy " + RadialSpline::format_g(accuracy) +
                                 " within " + RadialSpline::format_g(reach) + " Å");
    }

    int max_radial_;
    int max_angular_;
    double smearing_;
    double cutoff_ = 0.0;
    SegmentedSpline spline_;
};

}  // namespace mslode
