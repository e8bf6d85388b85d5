// Wigner 3j symbols and Clebsch–Gordan coefficients, the latter transformed
// to the real spherical-harmonic basis of spherical_harmonics.hpp
// (docs/conventions.md, "Equivariants").
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "limits.hpp"

namespace mslode {

namespace detail {
// log(n!) table; exact enough for the Racah sum up to kMaxAngular in double.
inline double log_factorial(int n) { return std::lgamma(static_cast<double>(n) + 1.0); }
}  // namespace detail

// Wigner 3j symbol (j1 j2 j3; m1 m2 m3) for integer arguments (Racah formula).
inline double wigner_3j(int j1, int j2, int j3, int m1, int m2, int m3) {
    if (m1 + m2 + m3 != 0) return 0.0;
    if (j3 < std::abs(j1 - j2) || j3 > j1 + j2) return 0.0;
    if (std::abs(m1) > j1 || std::abs(m2) > j2 || std::abs(m3) > j3) return 0.0;
    using detail::log_factorial;
    const double log_delta = log_factorial(j1 + j2 - j3) + log_factorial(j1 - j2 + j3) +
                             log_factorial(-j1 + j2 + j3) - log_factorial(j1 + j2 + j3 + 1);
    const double log_pre = 0.5 * (log_delta + log_factorial(j1 + m1) + log_factorial(j1 - m1) +
                                  log_factorial(j2 + m2) + log_factorial(j2 - m2) +
                                  log_factorial(j3 + m3) + log_factorial(j3 - m3));
    const int k_min = std::max({0, j2 - j3 - m1, j1 - j3 + m2});
    const int k_max = std::min({j1 + j2 - j3, j1 - m1, j2 + m2});
    double sum = 0.0;
    for (int k = k_min; k <= k_max; ++k) {
        const double log_den = log_factorial(k) + log_factorial(j1 + j2 - j3 - k) +
                               log_factorial(j1 - m1 - k) + log_factorial(j2 + m2 - k) +
                               log_factorial(j3 - j2 + m1 + k) + log_factorial(j3 - j1 - m2 + k);
        const double term = std::exp(log_pre - log_den);
        sum += (k % 2 == 0) ? term : -term;
    }
    const int phase = j1 - j2 - m3;
    return ((phase % 2 + 2) % 2 == 0) ? sum : -sum;
}

// Complex-basis Clebsch–Gordan <l1 m1; l2 m2 | L M>.
inline double clebsch_gordan_complex(int l1, int m1, int l2, int m2, int L, int M) {
    const double w = wigner_3j(l1, l2, L, m1, m2, -M);
    const int phase = l1 - l2 + M;
    const double sign = ((phase % 2 + 2) % 2 == 0) ? 1.0 : -1.0;
    return sign * std::sqrt(2.0 * L + 1.0) * w;
}

// Row m of the unitary U with Y^real_{l m} = Σ_m' U_{m m'} Y^complex_{l m'}
// (complex Y with the Condon–Shortley phase).
inline std::complex<double> real_from_complex(int m, int mp) {
    const double s = 1.0 / std::sqrt(2.0);
    const std::complex<double> i(0.0, 1.0);
    if (m == 0) return mp == 0 ? 1.0 : 0.0;
    const double sign_m = (std::abs(m) % 2 == 0) ? 1.0 : -1.0;
    if (m > 0) {
        if (mp == m) return sign_m * s;
        if (mp == -m) return s;
    } else {
        if (mp == -m) return -i * sign_m * s;   // mp = |m|
        if (mp == m) return i * s;              // mp = -|m|
    }
    return 0.0;
}

// Real-basis coefficients C^{λμ}_{l1 m1, l2 m2}, dense (2l1+1, 2l2+1, 2λ+1),
// row-major, index m + l. Real for even l1+l2+λ; for odd l1+l2+λ the complex
// transform is purely imaginary and we keep its imaginary part (a constant
// phase that leaves equivariance intact).
inline std::vector<double> real_clebsch_gordan(int l1, int l2, int lambda) {
    if (std::max({l1, l2, lambda}) > kMaxAngular) {
        throw std::invalid_argument("Clebsch-Gordan coefficients are supported up to l = " +
                                    std::to_string(kMaxAngular));
    }
    if (l1 < 0 || l2 < 0 || lambda < std::abs(l1 - l2) || lambda > l1 + l2) {
        throw std::invalid_argument("real_clebsch_gordan: need |l1-l2| <= lambda <= l1+l2");
    }
    const int n1 = 2 * l1 + 1, n2 = 2 * l2 + 1, nl = 2 * lambda + 1;
    const bool odd = (l1 + l2 + lambda) % 2 == 1;
    std::vector<double> out(static_cast<size_t>(n1 * n2 * nl), 0.0);
    for (int m1 = -l1; m1 <= l1; ++m1) {
        for (int m2 = -l2; m2 <= l2; ++m2) {
            for (int mu = -lambda; mu <= lambda; ++mu) {
                std::complex<double> acc = 0.0;
                // complex m1', m2' with M = m1' + m2'; U is non-zero only at ±m
                for (int s1 : {-1, 1}) {
                    const int c1 = s1 * std::abs(m1);
                    if (s1 == -1 && m1 == 0) continue;
                    for (int s2 : {-1, 1}) {
                        const int c2 = s2 * std::abs(m2);
                        if (s2 == -1 && m2 == 0) continue;
                        const int cm = c1 + c2;
                        if (std::abs(cm) != std::abs(mu)) continue;
                        const double cg = clebsch_gordan_complex(l1, c1, l2, c2, lambda, cm);
                        if (cg == 0.0) continue;
                        // Real product Y1 Y2 = Σ conj... : couple real vectors
                        // through complex ones: C_real = U1* ⊗ U2* · C · U_λ^T
                        acc += std::conj(real_from_complex(m1, c1)) *
                               std::conj(real_from_complex(m2, c2)) * cg *
                               real_from_complex(mu, cm);
                    }
                }
                const size_t idx = static_cast<size_t>(((m1 + l1) * n2 + (m2 + l2)) * nl + (mu + lambda));
                out[idx] = odd ? acc.imag() : acc.real();
            }
        }
    }
    return out;
}

// Thread-safe cache of real CG blocks keyed by (l1, l2, λ). Instances are
// values owned by whoever couples features; nothing global.
class ClebschGordanCache {
public:
    // Throws what real_clebsch_gordan throws (nothing invalid is cached).
    std::shared_ptr<const std::vector<double>> get(int l1, int l2, int lambda) const {
        std::lock_guard<std::mutex> lock(mutex_);
        auto key = std::make_tuple(l1, l2, lambda);
        auto it = blocks_.find(key);
        if (it != blocks_.end()) return it->second;
        auto block = std::make_shared<const std::vector<double>>(real_clebsch_gordan(l1, l2, lambda));
        blocks_.emplace(key, block);
        return block;
    }

private:
    mutable std::mutex mutex_;
    mutable std::map<std::tuple<int, int, int>, std::shared_ptr<const std::vector<double>>> blocks_;
};

}  // namespace mslode
