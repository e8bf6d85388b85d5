// Real spherical harmonics Y_lm (docs/conventions.md, "Spherical harmonics"):
// orthonormal on the sphere, the sphericart/featomic sign convention (no
// Condon–Shortley phase), m < 0 ∝ sin(|m|φ), m > 0 ∝ cos(mφ). Values for
// (l, m) live at index l*l + l + m.
//
// Evaluated from the Cartesian components of a unit vector with recurrences
// on polynomials, so no trigonometric calls and no pole at z = ±1.
#pragma once

#include <cmath>
#include <stdexcept>
#include <vector>

#include "limits.hpp"
#include "simd.hpp"

namespace mslode {

inline constexpr int lm_index(int l, int m) { return l * l + l + m; }
inline constexpr int lm_size(int max_angular) { return (max_angular + 1) * (max_angular + 1); }

// Normalisation constants and recursion coefficients for one l_max; build
// once and share (immutable, thread-safe).
class SphericalHarmonics {
public:
    explicit SphericalHarmonics(int max_angular) : max_angular_(max_angular) {
        check_max_angular(max_angular);
        const int L = max_angular;
        norm_.assign(static_cast<size_t>(lm_size(L)), 0.0);
        for (int l = 0; l <= L; ++l) {
            for (int m = 0; m <= l; ++m) {
                // sqrt((2l+1)/4π (l-m)!/(l+m)!), times sqrt(2) for m != 0
                double ratio = 1.0;
                for (int k = l - m + 1; k <= l + m; ++k) ratio /= k;
                double n = std::sqrt((2.0 * l + 1.0) / (4.0 * M_PI) * ratio);
                if (m != 0) n *= std::sqrt(2.0);
                norm_[static_cast<size_t>(lm_index(l, m))] = n;
            }
        }
        // (l - m) q_l^m = (2l - 1) z q_{l-1}^m - (l + m - 1) q_{l-2}^m, with
        // q_{m-1}^m = 0 and q_m^m = (2m - 1)!!
        recurrence_a_.assign(static_cast<size_t>(lm_size(L)), 0.0);
        recurrence_b_.assign(static_cast<size_t>(lm_size(L)), 0.0);
        for (int l = 0; l <= L; ++l) {
            for (int m = 0; m < l; ++m) {
                recurrence_a_[static_cast<size_t>(lm_index(l, m))] = (2.0 * l - 1.0) / (l - m);
                recurrence_b_[static_cast<size_t>(lm_index(l, m))] = (l + m - 1.0) / (l - m);
            }
        }
        double_factorial_.assign(static_cast<size_t>(L) + 1, 1.0);
        for (int m = 1; m <= L; ++m) double_factorial_[static_cast<size_t>(m)] = double_factorial_[static_cast<size_t>(m) - 1] * (2.0 * m - 1.0);
    }

    int max_angular() const { return max_angular_; }
    int size() const { return lm_size(max_angular_); }

    // Y_lm of the direction of (x, y, z), which must be a unit vector.
    // `out` receives size() values.
    void compute_unit(double x, double y, double z, double* out) const {
        const int L = max_angular_;
        // q_l^m = P_l^m(z) / (1 - z²)^{m/2}, a polynomial in z, by the
        // recurrence in l at fixed m with precomputed coefficients (no
        // divisions in the hot loop); Re, Im of (x + i y)^m carry the φ part.
        double cos_m = 1.0, sin_m = 0.0;
        for (int m = 0; m <= L; ++m) {
            if (m > 0) {
                const double c = cos_m * x - sin_m * y;
                sin_m = cos_m * y + sin_m * x;
                cos_m = c;
            }
            double q_prev2 = 0.0, q_prev = double_factorial_[static_cast<size_t>(m)];
            for (int l = m; l <= L; ++l) {
                double q;
                if (l == m) {
                    q = q_prev;
                } else {
                    const size_t k = static_cast<size_t>(lm_index(l, m));
                    q = recurrence_a_[k] * z * q_prev - recurrence_b_[k] * q_prev2;
                    q_prev2 = q_prev;
                    q_prev = q;
                }
                const double nq = norm_[static_cast<size_t>(lm_index(l, m))] * q;
                if (m == 0) {
                    out[lm_index(l, 0)] = nq;
                } else {
                    out[lm_index(l, m)] = nq * cos_m;
                    out[lm_index(l, -m)] = nq * sin_m;
                }
            }
        }
    }

    // scale[j] Y_lm(x[j], y[j], z[j]) of `count` unit vectors into
    // out[lm * stride + j], count a multiple of the pack V's lanes: the same
    // recurrences as compute_unit, across points (the pair loops' layout,
    // point index fastest). scale rides on the φ factor, so it costs nothing.
    template <class V = simd::NativePack>
    MSLODE_ALWAYS_INLINE void compute_unit_many(const double* x, const double* y, const double* z, const double* scale,
                                                size_t count, double* out, size_t stride) const {
        using simd::broadcast;
        using simd::load;
        const int L = max_angular_;
        for (size_t j = 0; j < count; j += simd::lanes<V>) {
            const V X = load<V>(x + j), Y = load<V>(y + j), Z = load<V>(z + j);
            V cos_m = load<V>(scale + j), sin_m = broadcast<V>(0.0);
            for (int m = 0; m <= L; ++m) {
                if (m > 0) {
                    const V c = cos_m * X - sin_m * Y;
                    sin_m = cos_m * Y + sin_m * X;
                    cos_m = c;
                }
                V q_prev2 = broadcast<V>(0.0), q_prev = broadcast<V>(double_factorial_[static_cast<size_t>(m)]);
                for (int l = m; l <= L; ++l) {
                    const size_t k = static_cast<size_t>(lm_index(l, m));
                    if (l > m) {
                        const V q = broadcast<V>(recurrence_a_[k]) * Z * q_prev - broadcast<V>(recurrence_b_[k]) * q_prev2;
                        q_prev2 = q_prev;
                        q_prev = q;
                    }
                    const V nq = broadcast<V>(norm_[k]) * q_prev;
                    simd::store(out + k * stride + j, nq * cos_m);
                    if (m > 0) simd::store(out + static_cast<size_t>(lm_index(l, -m)) * stride + j, nq * sin_m);
                }
            }
        }
    }

    // Y_lm of the unit vector (x, y, z) and the gradient of Y_lm(r / |r|) at
    // r = (x, y, z): gradients[α * size() + lm] = ∂Y_lm/∂r_α, tangent to the
    // sphere (divide by |r| for a vector of another length). The recurrences
    // of compute_unit define Y on all of R³ as a polynomial P(u); the
    // gradient is that of P with its radial part removed, (1 - u uᵀ) ∇P.
    void compute_unit_gradient(double x, double y, double z, double* values, double* gradients) const {
        const size_t LM = static_cast<size_t>(size());
        for_each_gradient<double>(x, y, z, [&](int, int k, double v, double gx, double gy, double gz) {
            const double radial = x * gx + y * gy + z * gz;
            values[k] = v;
            gradients[k] = gx - x * radial;
            gradients[LM + static_cast<size_t>(k)] = gy - y * radial;
            gradients[2 * LM + static_cast<size_t>(k)] = gz - z * radial;
        });
    }

    // For a pack of unit vectors (X, Y, Z) (or one, V = double): visit(l,
    // lm, Y_lm, ∂P_lm/∂x, ∂P_lm/∂y, ∂P_lm/∂z) for every (l, m), P_lm the
    // polynomial of compute_unit (its gradient not yet projected on the
    // tangent plane: linear combinations can be projected once,
    // (1 - u uᵀ) Σ c ∇P). The derivatives of the recurrences: ∂/∂z of
    // q_l^m by the same recurrence, and ∂/∂x, ∂/∂y of (x + i y)^m =
    // m (x + i y)^(m-1) times 1 and i.
    template <class V, class Visit>
    MSLODE_ALWAYS_INLINE void for_each_gradient(V X, V Y, V Z, const Visit& visit) const {
        using simd::broadcast;
        const int L = max_angular_;
        V cos_m = broadcast<V>(1.0), sin_m = broadcast<V>(0.0), cos_prev = broadcast<V>(0.0), sin_prev = broadcast<V>(0.0);
        const V zero = broadcast<V>(0.0);
        for (int m = 0; m <= L; ++m) {
            if (m > 0) {
                cos_prev = cos_m;
                sin_prev = sin_m;
                cos_m = cos_prev * X - sin_prev * Y;
                sin_m = cos_prev * Y + sin_prev * X;
            }
            V q_prev2 = zero, q_prev = broadcast<V>(double_factorial_[static_cast<size_t>(m)]);
            V dq_prev2 = zero, dq_prev = zero;
            const V mm = broadcast<V>(static_cast<double>(m));
            for (int l = m; l <= L; ++l) {
                const size_t k = static_cast<size_t>(lm_index(l, m));
                if (l > m) {
                    const V a = broadcast<V>(recurrence_a_[k]), b = broadcast<V>(recurrence_b_[k]);
                    const V q = a * Z * q_prev - b * q_prev2;
                    const V dq = a * (q_prev + Z * dq_prev) - b * dq_prev2;
                    q_prev2 = q_prev;
                    q_prev = q;
                    dq_prev2 = dq_prev;
                    dq_prev = dq;
                }
                const V nq = broadcast<V>(norm_[k]) * q_prev, ndq = broadcast<V>(norm_[k]) * dq_prev;
                if (m == 0) {
                    visit(l, static_cast<int>(k), nq, zero, zero, ndq);
                } else {
                    const V nqm = nq * mm;
                    visit(l, static_cast<int>(k), nq * cos_m, nqm * cos_prev, zero - nqm * sin_prev, ndq * cos_m);
                    visit(l, lm_index(l, -m), nq * sin_m, nqm * sin_prev, nqm * cos_prev, ndq * sin_m);
                }
            }
        }
    }

    // Y_lm of the direction of an arbitrary non-zero vector.
    void compute(double x, double y, double z, double* out) const {
        // r² can overflow (|r| > 1e154) or underflow (|r| < 1e-154): fall back
        // to the slower, scaled hypot only then.
        const double r2 = x * x + y * y + z * z;
        const double r = (r2 > 1e-300 && r2 < 1e300) ? std::sqrt(r2) : std::hypot(x, y, z);
        if (!(r > 0.0) || !std::isfinite(r)) {
            throw std::invalid_argument("spherical harmonics of a zero or non-finite vector");
        }
        compute_unit(x / r, y / r, z / r, out);
    }

    // Many points: xyz is (n, 3) row-major; out is (n, size()) row-major.
    void compute_many(const double* xyz, size_t n, double* out) const {
        const size_t stride = static_cast<size_t>(size());
        for (size_t i = 0; i < n; ++i) {
            compute(xyz[3 * i], xyz[3 * i + 1], xyz[3 * i + 2], out + i * stride);
        }
    }

private:
    int max_angular_;
    std::vector<double> norm_;
    std::vector<double> recurrence_a_, recurrence_b_;  // at lm_index(l, m), m < l
    std::vector<double> double_factorial_;             // (2m - 1)!!
};

}  // namespace mslode
