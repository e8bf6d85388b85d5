// Real spherical harmonics (docs/conventions.md, "Spherical harmonics"): pins
// the sphericart/featomic convention (no Condon–Shortley phase; m < 0 ∝
// sin(|m|φ), m > 0 ∝ cos(mφ); index l*l + l + m) against paths that share no
// code with the header:
//   - closed forms for l <= 3;
//   - an explicit-polynomial / trigonometric evaluation for every l <= kMaxAngular;
//   - std::sph_legendre where the standard library has it;
//   - the addition theorem and orthonormality by quadrature (normalisation);
//   - compute() on non-unit vectors against compute_unit().
#include <mslode/spherical_harmonics.hpp>

#include "check.hpp"

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

using mslode::lm_index;
using mslode::SphericalHarmonics;

namespace {

const double kPi = 3.14159265358979323846;
constexpr int kL = mslode::kMaxAngular;

std::string lm_name(const char* what, int l, int m) {
    return std::string(what) + " l=" + std::to_string(l) + " m=" + std::to_string(m);
}

// ---- closed forms, l <= 3 (real harmonics, sphericart signs) --------------
std::vector<double> closed_form(double x, double y, double z) {
    const double pi = kPi;
    std::vector<double> v(16);
    v[lm_index(0, 0)] = std::sqrt(1.0 / (4 * pi));
    const double c1 = std::sqrt(3.0 / (4 * pi));
    v[lm_index(1, -1)] = c1 * y;
    v[lm_index(1, 0)] = c1 * z;
    v[lm_index(1, 1)] = c1 * x;
    v[lm_index(2, -2)] = std::sqrt(15.0 / (4 * pi)) * x * y;
    v[lm_index(2, -1)] = std::sqrt(15.0 / (4 * pi)) * y * z;
    v[lm_index(2, 0)] = std::sqrt(5.0 / (16 * pi)) * (3 * z * z - 1);
    v[lm_index(2, 1)] = std::sqrt(15.0 / (4 * pi)) * x * z;
    v[lm_index(2, 2)] = std::sqrt(15.0 / (16 * pi)) * (x * x - y * y);
    v[lm_index(3, -3)] = std::sqrt(35.0 / (32 * pi)) * y * (3 * x * x - y * y);
    v[lm_index(3, -2)] = std::sqrt(105.0 / (4 * pi)) * x * y * z;
    v[lm_index(3, -1)] = std::sqrt(21.0 / (32 * pi)) * y * (5 * z * z - 1);
    v[lm_index(3, 0)] = std::sqrt(7.0 / (16 * pi)) * z * (5 * z * z - 3);
    v[lm_index(3, 1)] = std::sqrt(21.0 / (32 * pi)) * x * (5 * z * z - 1);
    v[lm_index(3, 2)] = std::sqrt(105.0 / (16 * pi)) * z * (x * x - y * y);
    v[lm_index(3, 3)] = std::sqrt(35.0 / (32 * pi)) * x * (x * x - 3 * y * y);
    return v;
}

// ---- explicit polynomial path, any l ---------------------------------------
// P_l(t) = 2^-l Σ_k (-1)^k C(l,k) C(2l-2k,l) t^(l-2k); P_l^m (no CS phase) =
// sin^m θ d^m P_l/dt^m (t = cos θ); Y_lm = N_lm P_l^m(cos θ) {√2 cos mφ, 1,
// √2 sin|m|φ}. Long double, angles from atan2: no shared code with the header.
long double binomial(int n, int k) {
    long double r = 1.0L;
    for (int i = 1; i <= k; ++i) r = r * (n - k + i) / i;
    return r;
}

long double factorial(int n) {
    long double r = 1.0L;
    for (int i = 2; i <= n; ++i) r *= i;
    return r;
}

long double legendre_derivative(int l, int m, long double t) {
    long double sum = 0.0L;
    for (int k = 0; 2 * k <= l; ++k) {
        const int power = l - 2 * k;
        if (power < m) continue;
        long double coefficient = binomial(l, k) * binomial(2 * l - 2 * k, l) / std::pow(2.0L, l);
        if (k % 2 == 1) coefficient = -coefficient;
        // d^m/dt^m t^power = power!/(power-m)! t^(power-m)
        coefficient *= factorial(power) / factorial(power - m);
        sum += coefficient * std::pow(t, power - m);
    }
    return sum;
}

double explicit_ylm(int l, int m, double x, double y, double z) {
    const long double r = std::sqrt(static_cast<long double>(x) * x + static_cast<long double>(y) * y +
                                    static_cast<long double>(z) * z);
    const long double theta = std::acos(static_cast<long double>(z) / r);
    const long double phi = std::atan2(static_cast<long double>(y), static_cast<long double>(x));
    const int am = std::abs(m);
    long double norm = std::sqrt((2.0L * l + 1.0L) / (4.0L * 3.14159265358979323846264338327950288L) *
                                 factorial(l - am) / factorial(l + am));
    const long double plm = std::pow(std::sin(theta), am) * legendre_derivative(l, am, std::cos(theta));
    if (m == 0) return static_cast<double>(norm * plm);
    norm *= std::sqrt(2.0L);
    const long double angular = m > 0 ? std::cos(am * phi) : std::sin(am * phi);
    return static_cast<double>(norm * plm * angular);
}

// Legendre polynomial by its own three-term recurrence.
double legendre(int l, double t) {
    double p0 = 1.0, p1 = t;
    if (l == 0) return p0;
    for (int k = 2; k <= l; ++k) {
        const double p2 = ((2.0 * k - 1.0) * t * p1 - (k - 1.0) * p0) / k;
        p0 = p1;
        p1 = p2;
    }
    return p1;
}

// Gauss–Legendre nodes/weights on [-1, 1] by Newton on the recurrence.
void gauss_legendre(int n, std::vector<double>& nodes, std::vector<double>& weights) {
    nodes.assign(static_cast<size_t>(n), 0.0);
    weights.assign(static_cast<size_t>(n), 0.0);
    for (int i = 0; i < n; ++i) {
        double t = std::cos(kPi * (i + 0.75) / (n + 0.5));
        double dp = 0.0;
        for (int it = 0; it < 100; ++it) {
            const double p = legendre(n, t);
            const double pm1 = legendre(n - 1, t);
            dp = n * (t * p - pm1) / (t * t - 1.0);
            const double dt = p / dp;
            t -= dt;
            if (std::abs(dt) < 1e-16) break;
        }
        const double p = legendre(n, t), pm1 = legendre(n - 1, t);
        dp = n * (t * p - pm1) / (t * t - 1.0);
        nodes[static_cast<size_t>(i)] = t;
        weights[static_cast<size_t>(i)] = 2.0 / ((1.0 - t * t) * dp * dp);
    }
}

void test_layout() {
    check::truth("lm_index(0,0) == 0", lm_index(0, 0) == 0);
    check::truth("lm_index(1,-1) == 1", lm_index(1, -1) == 1);
    check::truth("lm_index(1,1) == 3", lm_index(1, 1) == 3);
    check::truth("lm_index(2,-2) == 4", lm_index(2, -2) == 4);
    check::truth("lm_size(12) == 169", mslode::lm_size(12) == 169);
    SphericalHarmonics sh(5);
    check::truth("size() == 36", sh.size() == 36);
    check::truth("max_angular() == 5", sh.max_angular() == 5);
}

void test_closed_forms() {
    SphericalHarmonics sh(3);
    std::vector<double> out(static_cast<size_t>(sh.size()));
    std::vector<std::vector<double>> points = {
        {0, 0, 1}, {0, 0, -1}, {1, 0, 0}, {-1, 0, 0}, {0, 1, 0}, {0, -1, 0},
    };
    for (int i = 0; i < 200; ++i) {
        double x, y, z;
        check::random_unit(x, y, z);
        points.push_back({x, y, z});
    }
    for (const auto& p : points) {
        sh.compute_unit(p[0], p[1], p[2], out.data());
        const auto expected = closed_form(p[0], p[1], p[2]);
        for (int l = 0; l <= 3; ++l) {
            for (int m = -l; m <= l; ++m) {
                check::close(lm_name("closed form", l, m), out[lm_index(l, m)], expected[lm_index(l, m)], 1e-14);
            }
        }
    }
    // The vector convention (docs/conventions.md, "Cartesian tensors"):
    // (μ = -1, 0, 1) ↔ (y, z, x), positive.
    sh.compute_unit(0.0, 1.0, 0.0, out.data());
    check::truth("Y_1,-1(ŷ) > 0", out[lm_index(1, -1)] > 0.0);
    sh.compute_unit(1.0, 0.0, 0.0, out.data());
    check::truth("Y_1,1(x̂) > 0", out[lm_index(1, 1)] > 0.0);
    check::truth("Y_2,2(x̂) > 0", out[lm_index(2, 2)] > 0.0);
    check::truth("Y_3,3(x̂) > 0", out[lm_index(3, 3)] > 0.0);
}

void test_explicit_all_l() {
    SphericalHarmonics sh(kL);
    std::vector<double> out(static_cast<size_t>(sh.size()));
    for (int i = 0; i < 100; ++i) {
        double x, y, z;
        check::random_unit(x, y, z);
        sh.compute_unit(x, y, z, out.data());
        for (int l = 0; l <= kL; ++l) {
            for (int m = -l; m <= l; ++m) {
                check::close(lm_name("explicit polynomial", l, m), out[lm_index(l, m)], explicit_ylm(l, m, x, y, z),
                             1e-11);
            }
        }
    }
}

void test_std_sph_legendre() {
#if defined(__cpp_lib_math_special_functions)
    // std::sph_legendre(l, m, θ) = Y_lm(θ, 0) of the complex harmonics WITH
    // the Condon–Shortley phase; undo it for the real, phase-free convention.
    SphericalHarmonics sh(kL);
    std::vector<double> out(static_cast<size_t>(sh.size()));
    for (int i = 0; i < 50; ++i) {
        double x, y, z;
        check::random_unit(x, y, z);
        sh.compute_unit(x, y, z, out.data());
        const double theta = std::acos(z), phi = std::atan2(y, x);
        for (int l = 0; l <= kL; ++l) {
            check::close(lm_name("std::sph_legendre", l, 0), out[lm_index(l, 0)],
                         std::sph_legendre(static_cast<unsigned>(l), 0u, theta), 1e-12);
            for (int m = 1; m <= l; ++m) {
                const double base = std::sqrt(2.0) * ((m % 2 == 0) ? 1.0 : -1.0) *
                                    std::sph_legendre(static_cast<unsigned>(l), static_cast<unsigned>(m), theta);
                check::close(lm_name("std::sph_legendre", l, m), out[lm_index(l, m)], base * std::cos(m * phi), 1e-12);
                check::close(lm_name("std::sph_legendre", l, -m), out[lm_index(l, -m)], base * std::sin(m * phi),
                             1e-12);
            }
        }
    }
#else
    std::printf("(std::sph_legendre not available; skipped that comparison)\n");
#endif
}

void test_addition_theorem() {
    SphericalHarmonics sh(kL);
    std::vector<double> ya(static_cast<size_t>(sh.size())), yb(static_cast<size_t>(sh.size()));
    for (int i = 0; i < 200; ++i) {
        double ax, ay, az, bx, by, bz;
        check::random_unit(ax, ay, az);
        if (i == 0) {  // coincident points: Σ_m Y_lm² = (2l+1)/4π
            bx = ax, by = ay, bz = az;
        } else if (i == 1) {  // antipodal
            bx = -ax, by = -ay, bz = -az;
        } else {
            check::random_unit(bx, by, bz);
        }
        sh.compute_unit(ax, ay, az, ya.data());
        sh.compute_unit(bx, by, bz, yb.data());
        const double cosine = ax * bx + ay * by + az * bz;
        for (int l = 0; l <= kL; ++l) {
            double sum = 0.0;
            for (int m = -l; m <= l; ++m) sum += ya[lm_index(l, m)] * yb[lm_index(l, m)];
            check::close("addition theorem l=" + std::to_string(l), sum,
                         (2.0 * l + 1.0) / (4.0 * kPi) * legendre(l, cosine), 1e-12);
        }
    }
}

void test_orthonormality() {
    // Gauss–Legendre in cos θ (exact to degree 2*20-1) × trapezoid in φ
    // (exact for |m1 ± m2| < 40): exact for products of harmonics up to l=12.
    SphericalHarmonics sh(kL);
    const int n_theta = 20, n_phi = 40;
    std::vector<double> nodes, weights;
    gauss_legendre(n_theta, nodes, weights);
    const size_t size = static_cast<size_t>(sh.size());
    std::vector<double> gram(size * size, 0.0), y(size);
    for (int i = 0; i < n_theta; ++i) {
        const double t = nodes[static_cast<size_t>(i)], s = std::sqrt(1.0 - t * t);
        for (int j = 0; j < n_phi; ++j) {
            const double phi = 2.0 * kPi * (j + 0.3) / n_phi;
            sh.compute_unit(s * std::cos(phi), s * std::sin(phi), t, y.data());
            const double w = weights[static_cast<size_t>(i)] * 2.0 * kPi / n_phi;
            for (size_t a = 0; a < size; ++a)
                for (size_t b = 0; b < size; ++b) gram[a * size + b] += w * y[a] * y[b];
        }
    }
    double worst = 0.0;
    for (size_t a = 0; a < size; ++a)
        for (size_t b = 0; b < size; ++b)
            worst = std::max(worst, std::abs(gram[a * size + b] - (a == b ? 1.0 : 0.0)));
    check::close("orthonormality on the sphere, max |G - I|", worst, 0.0, 1e-12);
}

void test_non_unit() {
    SphericalHarmonics sh(kL);
    const size_t size = static_cast<size_t>(sh.size());
    std::vector<double> unit(size), scaled(size);
    const double scales[] = {1e-6, 0.01, 0.5, 1.0, 3.7, 1e3, 1e8};
    std::vector<double> many_in, many_expected;
    for (int i = 0; i < 50; ++i) {
        double x, y, z;
        check::random_unit(x, y, z);
        sh.compute_unit(x, y, z, unit.data());
        for (double s : scales) {
            sh.compute(s * x, s * y, s * z, scaled.data());
            for (size_t k = 0; k < size; ++k) {
                check::close("compute(s*r) vs compute_unit(r), s=" + std::to_string(s) + " k=" + std::to_string(k),
                             scaled[k], unit[k], 1e-13);
            }
        }
        many_in.insert(many_in.end(), {2.5 * x, 2.5 * y, 2.5 * z});
        many_expected.insert(many_expected.end(), unit.begin(), unit.end());
    }
    std::vector<double> many_out(many_expected.size());
    sh.compute_many(many_in.data(), many_in.size() / 3, many_out.data());
    for (size_t k = 0; k < many_out.size(); ++k) {
        check::close("compute_many row-major layout", many_out[k], many_expected[k], 1e-13);
    }
}

// The gradient of Y_lm(r/|r|) against central differences of compute() at
// random points of the sphere, up to kL (near the poles too), and its
// tangency (r · ∇Y = 0: Y does not change along r).
void test_gradient() {
    SphericalHarmonics sh(kL);
    const size_t size = static_cast<size_t>(sh.size());
    std::vector<double> values(size), gradients(3 * size), reference(size), plus(size), minus(size);
    const double h = 1e-6;
    for (int i = 0; i < 40; ++i) {
        double x, y, z;
        check::random_unit(x, y, z);
        if (i == 0) x = y = 1e-9, z = 1.0;  // at a pole
        const double n = std::sqrt(x * x + y * y + z * z);
        x /= n, y /= n, z /= n;
        sh.compute_unit_gradient(x, y, z, values.data(), gradients.data());
        sh.compute_unit(x, y, z, reference.data());
        const double u[3] = {x, y, z};
        for (int a = 0; a < 3; ++a) {
            double p[3] = {x, y, z}, q[3] = {x, y, z};
            p[a] += h;
            q[a] -= h;
            sh.compute(p[0], p[1], p[2], plus.data());
            sh.compute(q[0], q[1], q[2], minus.data());
            for (size_t k = 0; k < size; ++k) {
                check::close("∂Y/∂r_" + std::to_string(a) + " vs central differences, lm=" + std::to_string(k),
                             gradients[a * size + k], (plus[k] - minus[k]) / (2 * h), 2e-7);
            }
        }
        for (size_t k = 0; k < size; ++k) {
            check::close("values of compute_unit_gradient, lm=" + std::to_string(k), values[k], reference[k], 1e-14);
            const double radial = u[0] * gradients[k] + u[1] * gradients[size + k] + u[2] * gradients[2 * size + k];
            check::close("r · ∇Y = 0, lm=" + std::to_string(k), radial, 0.0, 1e-11);
        }
    }
}

void test_errors() {
    SphericalHarmonics sh(2);
    std::vector<double> out(static_cast<size_t>(sh.size()));
    bool threw = false;
    try {
        sh.compute(0.0, 0.0, 0.0, out.data());
    } catch (const std::invalid_argument&) {
        threw = true;
    }
    check::truth("compute(0,0,0) throws invalid_argument", threw);
    threw = false;
    try {
        sh.compute(std::nan(""), 0.0, 1.0, out.data());
    } catch (const std::invalid_argument&) {
        threw = true;
    }
    check::truth("compute(NaN,..) throws invalid_argument", threw);
    threw = false;
    try {
        SphericalHarmonics bad(kL + 1);
    } catch (const std::invalid_argument&) {
        threw = true;
    }
    check::truth("max_angular > kMaxAngular throws", threw);
    threw = false;
    try {
        SphericalHarmonics bad(-1);
    } catch (const std::invalid_argument&) {
        threw = true;
    }
    check::truth("negative max_angular throws", threw);
}

}  // namespace

int main() {
    test_layout();
    test_closed_forms();
    test_explicit_all_l();
    test_std_sph_legendre();
    test_addition_theorem();
    test_orthonormality();
    test_non_unit();
    test_gradient();
    test_errors();
    return check::finish("test_spherical_harmonics");
}
