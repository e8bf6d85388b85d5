// Radial functions P_nl(d) of the potential of one smeared source
// (docs/conventions.md, "Smeared atoms" and "Potential coefficients"): the
// coefficients of φ_σ^(p)(x - r) on the orthonormal GTO basis are
// Y_lm(r̂) P_nl(|r|).
//
// Any exponent p > 0 goes through one path: φ_σ^(p) is a superposition of
// Gaussians,
//   φ_σ^(p)(x) = P(p/2, x²/2σ²)/x^p = 1/Γ(p/2) ∫_0^{1/2σ²} a^{p/2-1} exp(-a x²) da,
// so P_nl is an integral over a of the analytic Gaussian integrals of
// gaussian_gto_integral.hpp (all positive per primitive: no cancellation, full
// relative accuracy even where P_nl is tiny). The integral over a runs in
// t = log(A/a) on fixed Gauss–Legendre panels.
//
// Far away, P_nl(d) = Σ_k T_nlk d^-(l+p+2k) up to terms of order
// exp(-d²/2σ_n²): the Gegenbauer series of |x - r|^-p, one term for p = 1.
#pragma once

#include <Eigen/Dense>
#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "gaussian_gto_integral.hpp"
#include "gto_basis.hpp"
#include "radial_spline.hpp"

namespace mslode {

namespace detail {

// Gauss–Legendre nodes and weights on [-1, 1] (Newton on P_n).
inline void gauss_legendre(int n, std::vector<double>& nodes, std::vector<double>& weights) {
    nodes.resize(static_cast<size_t>(n));
    weights.resize(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
        double x = std::cos(M_PI * (i + 0.75) / (n + 0.5));
        double dp = 0.0;
        for (int iter = 0; iter < 100; ++iter) {
            double p0 = 1.0, p1 = x;
            for (int k = 2; k <= n; ++k) {
                const double p2 = ((2.0 * k - 1.0) * x * p1 - (k - 1.0) * p0) / k;
                p0 = p1;
                p1 = p2;
            }
            const double pn = (n == 1) ? x : p1;
            const double pnm1 = (n == 1) ? 1.0 : p0;
            dp = n * (x * pn - pnm1) / (x * x - 1.0);
            const double dx = pn / dp;
            x -= dx;
            if (std::abs(dx) < 1e-16) break;
        }
        nodes[static_cast<size_t>(i)] = x;
        weights[static_cast<size_t>(i)] = 2.0 / ((1.0 - x * x) * dp * dp);
    }
}

// Gegenbauer C_j^(λ)(u), j = 0..j_max.
inline std::vector<double> gegenbauer(int j_max, double lambda, double u) {
    std::vector<double> c(static_cast<size_t>(j_max) + 1, 0.0);
    c[0] = 1.0;
    if (j_max >= 1) c[1] = 2.0 * lambda * u;
    for (int j = 2; j <= j_max; ++j) {
        c[static_cast<size_t>(j)] = (2.0 * u * (j + lambda - 1.0) * c[static_cast<size_t>(j) - 1] -
                                     (j + 2.0 * lambda - 2.0) * c[static_cast<size_t>(j) - 2]) / j;
    }
    return c;
}

}  // namespace detail

class GtoPotentialKernel {
public:
    static constexpr int kMaxTailTerms = 24;

    // `max_distance`: the largest d the exact integral will be asked for (the
    // quadrature resolves every d up to it; beyond, use tail()).
    //
    // With `long_range_width` s > σ the kernel is the short-range part
    // φ_σ − φ_s of a range separation (docs/potentials.md, "Periodic
    // structures"): the same superposition over a, restricted to
    // [1/2s², 1/2σ²]. It decays like a Gaussian of width ~s, so it has no
    // far-field series (tail() is not available).
    GtoPotentialKernel(const GtoBasis& basis, double gaussian_width, int max_angular, double potential_exponent,
                       double max_distance, double long_range_width = 0.0)
        : basis_(basis), sigma_(gaussian_width), max_angular_(max_angular), p_(potential_exponent) {
        if (!(gaussian_width > 0.0) || !std::isfinite(gaussian_width)) throw std::invalid_argument("gaussian_width must be positive and finite");
        if (!(potential_exponent > 0.0) || !std::isfinite(potential_exponent)) throw std::invalid_argument("potential_exponent must be positive");
        if (!(max_distance > 0.0)) throw std::invalid_argument("max_distance must be positive");
        if (long_range_width != 0.0) {
            if (!(long_range_width > gaussian_width) || !std::isfinite(long_range_width)) {
                throw std::invalid_argument("the long-range width must be finite and larger than gaussian_width");
            }
            setup_short_range_quadrature(max_distance, long_range_width);
        } else {
            setup_quadrature(max_distance);
            setup_tail();
        }
    }

    bool short_range() const { return tail_coefficients_.empty(); }

    int max_radial() const { return basis_.max_radial(); }
    int max_angular() const { return max_angular_; }
    double potential_exponent() const { return p_; }

    // Orthonormal P_nl(d) and d/dd at values[l*N + n], by quadrature over a.
    void operator()(double d, double* values, double* derivatives) const {
        const int N = basis_.max_radial(), L = max_angular_;
        const size_t width = static_cast<size_t>(N * (L + 1));
        std::vector<double> prim(width, 0.0), dprim(width, 0.0);
        for (const auto& node : nodes_) {
            for (int l = 0; l <= L; ++l) {
                for (int k = 0; k < N; ++k) {
                    const auto& c = node.constants[static_cast<size_t>(l * N + k)];
                    double g = 0.0, dg = 0.0;
                    gaussian_gto_radial(l, c.alpha, l + 1.5, c.kappa, c.eta, d, g, dg);
                    prim[static_cast<size_t>(l * N + k)] += c.weight * g;
                    dprim[static_cast<size_t>(l * N + k)] += c.weight * dg;
                }
            }
        }
        basis_.to_orthonormal(prim.data(), values, L + 1);
        if (derivatives != nullptr) basis_.to_orthonormal(dprim.data(), derivatives, L + 1);
    }

    // The far-field series with `terms` terms (p = 1 needs one).
    void tail(double d, int terms, double* values, double* derivatives) const {
        if (short_range()) throw std::logic_error("a short-range kernel has no far-field series");
        const int N = basis_.max_radial(), L = max_angular_;
        const size_t width = static_cast<size_t>(N * (L + 1));
        std::vector<double> prim(width, 0.0), dprim(width, 0.0);
        const double inv_d = 1.0 / d;
        for (int l = 0; l <= L; ++l) {
            for (int k = 0; k < N; ++k) {
                double v = 0.0, dv = 0.0;
                for (int j = 0; j < terms && j < kMaxTailTerms; ++j) {
                    const double power = l + p_ + 2.0 * j;
                    const double term = tail_coefficients_[(static_cast<size_t>(l * N + k)) * kMaxTailTerms + static_cast<size_t>(j)] *
                                        std::pow(inv_d, power);
                    v += term;
                    dv -= power * term * inv_d;
                }
                prim[static_cast<size_t>(l * N + k)] = v;
                dprim[static_cast<size_t>(l * N + k)] = dv;
            }
        }
        basis_.to_orthonormal(prim.data(), values, L + 1);
        if (derivatives != nullptr) basis_.to_orthonormal(dprim.data(), derivatives, L + 1);
    }

    // Tail coefficients of the orthonormal functions: (L+1, N, terms).
    std::vector<double> orthonormal_tail_coefficients(int terms) const {
        if (terms < 1 || terms > kMaxTailTerms) {
            throw std::invalid_argument("tail terms must be in [1, " + std::to_string(kMaxTailTerms) + "]");
        }
        const int N = basis_.max_radial(), L = max_angular_;
        const size_t rows = static_cast<size_t>((L + 1) * N), J = static_cast<size_t>(terms);
        std::vector<double> prim(rows * J), out(rows * J);
        for (size_t row = 0; row < rows; ++row)
            std::copy_n(&tail_coefficients_[row * kMaxTailTerms], J, &prim[row * J]);
        basis_.to_orthonormal(prim.data(), out.data(), L + 1, terms);
        return out;
    }

private:
    struct Constants {
        double alpha, kappa, eta, weight;
    };
    struct Node {
        std::vector<Constants> constants;  // [l * N + k]
    };

    // a = A exp(-t): the integrand over t is a bump near a ≈ (p/2+l)/d² of
    // width ~ (p/2+l)^-1/2, then a pure exponential exp(-(p/2+l) t). Unit
    // panels cover the bumps of every d up to `max_distance`; wide panels the
    // exponential, until it is below 1e-17 of its start.
    void setup_quadrature(double max_distance) {
        const double A = 0.5 / (sigma_ * sigma_);
        const double t_fine = std::max(0.0, std::log(A * max_distance * max_distance)) + 8.0;
        const double t_max = t_fine + 80.0 / p_;
        std::vector<double> x, w;
        detail::gauss_legendre(12, x, w);
        std::vector<std::array<double, 2>> panels;
        for (double t = 0.0; t < t_fine; t += 1.0) panels.push_back({t, t + 1.0});
        const double wide = std::min(16.0 / p_, 16.0);
        for (double t = panels.back()[1]; t < t_max; t += wide) panels.push_back({t, t + wide});
        for (const auto& panel : panels) {
            const double half = 0.5 * (panel[1] - panel[0]), mid = 0.5 * (panel[1] + panel[0]);
            for (size_t q = 0; q < x.size(); ++q) {
                const double a = A * std::exp(-(mid + half * x[q]));
                add_node(a, half * w[q] * a);  // da = a dt
            }
        }
    }

    // a in [a_min, A], a_min = 1/2s². For large d the integrand is a
    // boundary layer exp(-(a - a_min) d²) at a_min, so the panels in
    // u = a - a_min grow geometrically from a width that resolves it for
    // every d up to `max_distance`.
    void setup_short_range_quadrature(double max_distance, double long_range_width) {
        const double A = 0.5 / (sigma_ * sigma_), a_min = 0.5 / (long_range_width * long_range_width);
        std::vector<double> x, w;
        detail::gauss_legendre(12, x, w);
        const double first = 0.5 / (max_distance * max_distance);
        std::vector<double> edges{0.0};
        for (double u = first; u < A - a_min; u *= 2.0) edges.push_back(u);
        edges.push_back(A - a_min);
        for (size_t e = 0; e + 1 < edges.size(); ++e) {
            const double half = 0.5 * (edges[e + 1] - edges[e]), mid = 0.5 * (edges[e + 1] + edges[e]);
            for (size_t q = 0; q < x.size(); ++q) add_node(a_min + mid + half * x[q], half * w[q]);
        }
    }

    // One quadrature node: the Gaussian of exponent a with weight
    // a^(p/2-1) da / Γ(p/2), `da` the quadrature weight in a.
    void add_node(double a, double da) {
        const int N = basis_.max_radial(), L = max_angular_;
        const double log_gamma_p = std::lgamma(0.5 * p_);
        Node node;
        node.constants.resize(static_cast<size_t>(N * (L + 1)));
        for (int l = 0; l <= L; ++l) {
            for (int k = 0; k < N; ++k) {
                const double c = 0.5 / (basis_.sigma(k) * basis_.sigma(k));
                const double alpha = 0.5 * (k + l + 3);
                // (π/a)^{3/2} × density integral of a Gaussian of exponent a:
                // 4π√π Γ(α)/(2^{l+2} Γ(l+3/2)) (a+c)^-α (2a)^l × G(d)
                const double log_pre = std::log(4.0 * M_PI * std::sqrt(M_PI)) + std::lgamma(alpha) -
                                       (l + 2) * std::log(2.0) - std::lgamma(l + 1.5) - alpha * std::log(a + c) +
                                       l * std::log(2.0 * a) + (0.5 * p_ - 1.0) * std::log(a) - log_gamma_p;
                Constants& k_const = node.constants[static_cast<size_t>(l * N + k)];
                k_const.alpha = alpha;
                k_const.kappa = a * a / (a + c);
                k_const.eta = a * c / (a + c);
                k_const.weight = da * std::exp(log_pre) * basis_.norm(k);
            }
        }
        nodes_.push_back(std::move(node));
    }

    // T_klj = 4π/(2l+1) g_lj ∫ R_k r^{l+2j+2} dr, g_lj the P_l component of
    // the Gegenbauer polynomial C^{(p/2)}_{l+2j}.
    void setup_tail() {
        const int N = basis_.max_radial(), L = max_angular_;
        const int J = kMaxTailTerms;
        tail_coefficients_.assign(static_cast<size_t>((L + 1) * N * J), 0.0);
        std::vector<double> u, w;
        const int degree = L + 2 * J + 2;
        detail::gauss_legendre(degree, u, w);
        for (int l = 0; l <= L; ++l) {
            for (int j = 0; j < J; ++j) {
                // (2l+1)/2 ∫ C_{l+2j}(u) P_l(u) du, exact for these polynomials
                double g = 0.0;
                for (size_t q = 0; q < u.size(); ++q) {
                    const auto c = detail::gegenbauer(l + 2 * j, 0.5 * p_, u[q]);
                    // Legendre P_l(u)
                    double p0 = 1.0, p1 = u[q];
                    double pl = (l == 0) ? 1.0 : u[q];
                    for (int m = 2; m <= l; ++m) {
                        pl = ((2.0 * m - 1.0) * u[q] * p1 - (m - 1.0) * p0) / m;
                        p0 = p1;
                        p1 = pl;
                    }
                    g += w[q] * c[static_cast<size_t>(l + 2 * j)] * pl;
                }
                g *= 0.5 * (2 * l + 1);
                for (int k = 0; k < N; ++k) {
                    const double s = basis_.sigma(k);
                    const double moment = GtoBasis::gaussian_moment(k + l + 2 * j + 2, 0.5 / (s * s));
                    tail_coefficients_[(static_cast<size_t>(l * N + k)) * J + static_cast<size_t>(j)] =
                        4.0 * M_PI / (2 * l + 1) * g * basis_.norm(k) * moment;
                }
            }
        }
    }

    GtoBasis basis_;
    double sigma_;
    int max_angular_;
    double p_;
    std::vector<Node> nodes_;
    std::vector<double> tail_coefficients_;  // [(l*N + k) * kMaxTailTerms + j], primitives
};

}  // namespace mslode

namespace mslode {

// P_nl(d) for all d: a spline of the exact kernel below a switch distance,
// the far-field series above it. The switch is the first distance (on a grid
// of steps max(r_c, σ)/4 from r_c) from which the series, with the number of
// terms that does best there, stays within `tail_accuracy` (relative) of the
// exact kernel at 1, 1.25, 1.5 and 2 times that distance. The series is exact
// up to terms exp(-d²/2(σ² + σ_n²)), σ_n ≤ r_c, so the search runs up to
// 8 √(r_c² + σ²): a wide smearing (σ ≳ r_c) moves the switch out with it.
//
// Beyond the switch a source costs K (l_max+1)² products (K series terms,
// see FarFieldPowers), below it a spline lookup and n_max (l_max+1)². So the
// search first allows at most 2 n_max terms, where a far source is no
// dearer than a near one: for p = 1 (K = 1) this changes nothing; for
// p = 6, whose series converges slowly, it moves the switch out (17 → 27 Å
// at r_c = 4 Å, σ = 0.3 Å: K = 24 → 12, half the cost per far source) at
// the price of a longer spline. Only if no distance within reach allows
// that does it take up to kMaxTailTerms terms.
class PotentialRadialTable {
public:
    PotentialRadialTable(const GtoBasis& basis, double gaussian_width, int max_angular, double potential_exponent,
                         double spline_accuracy, double tail_accuracy = 1e-10)
        : max_radial_(basis.max_radial()), max_angular_(max_angular), p_(potential_exponent) {
        const double cutoff = basis.cutoff();
        const double reach = 8.0 * std::hypot(cutoff, gaussian_width);  // the switch search's end
        const GtoPotentialKernel kernel(basis, gaussian_width, max_angular, potential_exponent, 2.5 * reach);
        const double step = 0.25 * std::max(cutoff, gaussian_width);
        if (!find_switch(kernel, cutoff, step, reach, tail_accuracy, 2 * max_radial_) &&
            !find_switch(kernel, cutoff, step, reach, tail_accuracy, GtoPotentialKernel::kMaxTailTerms)) {
            throw std::runtime_error("no distance below " + RadialSpline::format_g(reach) +
                                     " where the far-field series of the potential reaches " +
                                     RadialSpline::format_g(tail_accuracy) + " relative accuracy");
        }
        near_ = SegmentedSpline([&kernel](double) -> RadialKernel {
                                    return [&kernel](double d, double* v, double* g) { kernel(d, v, g); };
                                },
                                max_radial_, max_angular_, cutoff, switch_distance_, spline_accuracy);
        tail_ = kernel.orthonormal_tail_coefficients(tail_terms_);
    }

    int max_radial() const { return max_radial_; }
    int max_angular() const { return max_angular_; }
    double potential_exponent() const { return p_; }
    double switch_distance() const { return switch_distance_; }
    int tail_terms() const { return tail_terms_; }
    int width() const { return max_radial_ * (max_angular_ + 1); }
    int spline_intervals() const { return near_.intervals(); }

    void evaluate(double d, double* values, double* derivatives) const {
        if (d < switch_distance_) {
            near_.evaluate(d, values, derivatives);
        } else {
            series(d, values, 1, derivatives);
        }
    }

    // Values at d[j], j < count, into out[(l * max_radial + n) * stride + j]
    // (the pair loops' layout). The pair loops send only d < switch_distance()
    // here; sources beyond go through FarFieldPowers and add_far_field().
    template <class V = simd::NativePack>
    MSLODE_ALWAYS_INLINE void evaluate_many(const double* d, size_t count, double* out, size_t stride) const {
        // (beyond the switch the spline's extrapolation is overwritten by the series)
        near_.evaluate_many<V>(d, count, out, stride);
        bool beyond = false;
        for (size_t j = 0; j < count; ++j) beyond |= d[j] >= switch_distance_;
        if (!beyond) return;
        for (size_t j = 0; j < count; ++j) {
            if (d[j] >= switch_distance_) series(d[j], out + j, stride, nullptr);
        }
    }

    // Beyond the switch P_nl(d) = Σ_k T_lnk d^-(l+p+2k), so the sum over far
    // sources factorises: Σ_j P_nl(d_j) Y_lm(r̂_j) = Σ_k T_lnk M_klm with the
    // moments M_klm = Σ_j d_j^-(l+p+2k) Y_lm(r̂_j) (irregular solid harmonics
    // for p = 1). A far source then costs K (l_max+1)² products instead of
    // n_max (l_max+1)² and no table lookup. FarFieldPowers gives the powers
    // d^-(l+p+2k) in the pair loops' radial layout (K in place of n_max).
    class FarFieldPowers {
    public:
        explicit FarFieldPowers(const PotentialRadialTable& table) : table_(table) {}
        int count() const { return table_.tail_terms_; }

        // out[(l * K + k) * stride + j] = d[j]^-(l+p+2k); count a multiple of
        // V's lanes, every d[j] > 0.
        template <class V = simd::NativePack>
        MSLODE_ALWAYS_INLINE void evaluate_many(const double* d, size_t count, double* out, size_t stride) const {
            using simd::broadcast;
            constexpr int W = simd::lanes<V>;
            const int K = table_.tail_terms_, L = table_.max_angular_;
            const double p = table_.p_;
            const bool integer = p == std::floor(p);
            for (size_t j = 0; j < count; j += W) {
                const V inv = broadcast<V>(1.0) / simd::load<V>(d + j);
                const V inv2 = inv * inv;
                V base = broadcast<V>(1.0);  // d^-(l+p)
                if (integer) {
                    for (int e = 0; e < static_cast<int>(p); ++e) base = base * inv;
                } else {
                    for (int i = 0; i < W; ++i) base[i] = std::pow(inv[i], p);
                }
                for (int l = 0; l <= L; ++l, base = base * inv) {
                    V power = base;
                    for (int k = 0; k < K; ++k, power = power * inv2) {
                        simd::store(out + static_cast<size_t>(l * K + k) * stride + j, power);
                    }
                }
            }
        }

    private:
        const PotentialRadialTable& table_;
    };

    // out[a][n][lm] += Σ_k T_lnk moments[a][k][lm] for `channels` channels.
    void add_far_field(const double* moments, int channels, double* out) const {
        const int N = max_radial_, K = tail_terms_, L = max_angular_, LM = (L + 1) * (L + 1);
        for (int a = 0; a < channels; ++a) {
            const double* m = moments + static_cast<size_t>(a * K * LM);
            double* block = out + static_cast<size_t>(a * N * LM);
            for (int l = 0; l <= L; ++l) {
                for (int n = 0; n < N; ++n) {
                    const double* T = &tail_[static_cast<size_t>((l * N + n) * K)];
                    double* c = block + n * LM + l * l;
                    // k outside, m inside: 2l+1 independent sums, no chain of dependent adds
                    for (int k = 0; k < K; ++k) {
                        const double* moment = m + k * LM + l * l;
                        for (int mm = 0; mm <= 2 * l; ++mm) c[mm] += T[k] * moment[mm];
                    }
                }
            }
        }
    }

private:
    // The far-field series at d into values[(l * N + n) * stride].
    void series(double d, double* values, size_t stride, double* derivatives) const {
        const int N = max_radial_, K = tail_terms_;
        const double inv = 1.0 / d, inv2 = inv * inv;
        // d^-(l+p); integer exponents (all the Python API allows) avoid pow
        double base = 1.0;
        if (p_ == std::floor(p_)) {
            for (int k = 0; k < static_cast<int>(p_); ++k) base *= inv;
        } else {
            base = std::pow(inv, p_);
        }
        for (int l = 0; l <= max_angular_; ++l, base *= inv) {
            for (int n = 0; n < N; ++n) {
                const double* c = &tail_[static_cast<size_t>((l * N + n) * K)];
                double v = 0.0, dv = 0.0, power = 1.0;
                for (int j = 0; j < K; ++j) {
                    const double term = c[j] * power;
                    v += term;
                    dv -= (l + p_ + 2.0 * j) * term;
                    power *= inv2;
                }
                values[static_cast<size_t>(l * N + n) * stride] = v * base;
                if (derivatives != nullptr) derivatives[l * N + n] = dv * base * inv;
            }
        }
    }

    // Sets switch_distance_ and tail_terms_ (at most max_terms); false if no
    // distance within reach qualifies.
    bool find_switch(const GtoPotentialKernel& kernel, double start, double step, double reach, double tolerance,
                     int max_terms) {
        const size_t width = static_cast<size_t>(max_radial_ * (max_angular_ + 1));
        std::vector<double> exact(width), tail(width);
        double exact_at = -1.0;  // the exact kernel costs ~100 series: once per distance
        auto error = [&](double d, int terms) {
            if (d != exact_at) kernel(d, exact.data(), nullptr);
            exact_at = d;
            kernel.tail(d, terms, tail.data(), nullptr);
            double worst = 0.0;
            for (int l = 0; l <= max_angular_; ++l) {
                double largest = 0.0;
                for (int n = 0; n < max_radial_; ++n) largest = std::max(largest, std::abs(exact[static_cast<size_t>(l * max_radial_ + n)]));
                for (int n = 0; n < max_radial_; ++n) {
                    const size_t k = static_cast<size_t>(l * max_radial_ + n);
                    const double scale = std::max(std::abs(exact[k]), 1e-3 * largest);
                    if (scale > 0.0) worst = std::max(worst, std::abs(tail[k] - exact[k]) / scale);
                }
            }
            return worst;
        };
        for (double d = start; d <= reach * (1.0 + 1e-12); d += step) {
            int best_terms = 1;
            double best = error(d, 1);
            for (int terms = 2; terms <= std::min(max_terms, GtoPotentialKernel::kMaxTailTerms) && best > 0.1 * tolerance;
                 ++terms) {
                const double e = error(d, terms);
                if (e < best) {
                    best = e;
                    best_terms = terms;
                }
            }
            if (best > tolerance) continue;
            if (error(1.25 * d, best_terms) <= tolerance && error(1.5 * d, best_terms) <= tolerance &&
                error(2.0 * d, best_terms) <= tolerance) {
                switch_distance_ = d;
                tail_terms_ = best_terms;
                return true;
            }
        }
        return false;
    }

    int max_radial_;
    int max_angular_;
    double p_;
    double switch_distance_ = 0.0;
    int tail_terms_ = 1;
    SegmentedSpline near_;  // below the switch
    std::vector<double> tail_;  // [(l * N + n) * tail_terms + j], orthonormal
};

}  // namespace mslode
