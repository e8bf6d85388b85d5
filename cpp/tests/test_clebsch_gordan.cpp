// Wigner 3j symbols and Clebsch–Gordan coefficients (clebsch_gordan.hpp):
// exact known values, the closed form of stretched 3j symbols, symmetries,
// orthogonality; then the real-basis blocks against the real harmonics of
// spherical_harmonics.hpp: orthonormality, the product rule
// Σ C Y_l1(r) Y_l2(r) ∝ Y_λ(r), the cross product for (1,1,1), and
// equivariance under random rotations (real Wigner D fitted from the Y_lm).
#include <mslode/clebsch_gordan.hpp>
#include <mslode/spherical_harmonics.hpp>

#include "check.hpp"

#include <Eigen/Dense>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

using mslode::lm_index;
using mslode::real_clebsch_gordan;
using mslode::SphericalHarmonics;
using mslode::wigner_3j;

namespace {

const double kPi = 3.14159265358979323846;

std::string args(int a, int b, int c, int d, int e, int f) {
    return "(" + std::to_string(a) + " " + std::to_string(b) + " " + std::to_string(c) + "; " + std::to_string(d) +
           " " + std::to_string(e) + " " + std::to_string(f) + ")";
}

double factorial(int n) {
    double r = 1.0;
    for (int i = 2; i <= n; ++i) r *= i;
    return r;
}

int sign(int power) { return (power % 2 == 0) ? 1 : -1; }

void test_3j_known_values() {
    struct Known {
        int j1, j2, j3, m1, m2, m3;
        double value;
    };
    const Known known[] = {
        {0, 0, 0, 0, 0, 0, 1.0},
        {1, 1, 0, 0, 0, 0, -1.0 / std::sqrt(3.0)},
        {1, 1, 0, 1, -1, 0, 1.0 / std::sqrt(3.0)},
        {1, 1, 2, 1, -1, 0, 1.0 / std::sqrt(30.0)},
        {1, 1, 1, 1, -1, 0, 1.0 / std::sqrt(6.0)},
        {1, 1, 2, 0, 0, 0, std::sqrt(2.0 / 15.0)},
        {2, 1, 1, 0, 0, 0, std::sqrt(2.0 / 15.0)},
        {1, 1, 2, 1, 1, -2, 1.0 / std::sqrt(5.0)},
        {2, 2, 2, 0, 0, 0, -std::sqrt(2.0 / 35.0)},
        {2, 2, 0, 2, -2, 0, 1.0 / std::sqrt(5.0)},
        {2, 2, 0, 1, -1, 0, -1.0 / std::sqrt(5.0)},
        {2, 1, 1, 1, -1, 0, -1.0 / std::sqrt(10.0)},
        {3, 2, 1, 0, 0, 0, -std::sqrt(3.0 / 35.0)},
        {2, 2, 4, 0, 0, 0, std::sqrt(18.0 / 315.0)},
        // selection rules
        {1, 1, 1, 0, 0, 0, 0.0},
        {2, 2, 3, 0, 0, 0, 0.0},
        {1, 1, 3, 1, -1, 0, 0.0},
        {1, 1, 1, 1, 1, 1, 0.0},
        {1, 2, 2, 2, 0, -2, 0.0},
    };
    for (const auto& k : known) {
        check::close("3j " + args(k.j1, k.j2, k.j3, k.m1, k.m2, k.m3),
                     wigner_3j(k.j1, k.j2, k.j3, k.m1, k.m2, k.m3), k.value, 1e-14);
    }
}

void test_3j_stretched_closed_form() {
    // (j1 j2 J; m1 m2 -M), J = j1 + j2, M = m1 + m2:
    // (-1)^(j1-j2+M) sqrt[(2j1)!(2j2)!(J+M)!(J-M)! / ((2J+1)!(j1+m1)!(j1-m1)!(j2+m2)!(j2-m2)!)]
    for (int j1 = 0; j1 <= 5; ++j1) {
        for (int j2 = 0; j2 <= 5; ++j2) {
            const int J = j1 + j2;
            for (int m1 = -j1; m1 <= j1; ++m1) {
                for (int m2 = -j2; m2 <= j2; ++m2) {
                    const int M = m1 + m2;
                    const double expected =
                        sign(j1 - j2 + M) *
                        std::sqrt(factorial(2 * j1) * factorial(2 * j2) * factorial(J + M) * factorial(J - M) /
                                  (factorial(2 * J + 1) * factorial(j1 + m1) * factorial(j1 - m1) *
                                   factorial(j2 + m2) * factorial(j2 - m2)));
                    check::close("stretched 3j " + args(j1, j2, J, m1, m2, -M), wigner_3j(j1, j2, J, m1, m2, -M),
                                 expected, 1e-13);
                }
            }
        }
    }
}

void test_3j_symmetries_and_orthogonality() {
    const int L = mslode::kMaxAngular;
    for (int j1 = 0; j1 <= 6; ++j1) {
        for (int j2 = 0; j2 <= 6; ++j2) {
            for (int j3 = std::abs(j1 - j2); j3 <= j1 + j2; ++j3) {
                const int J = j1 + j2 + j3;
                for (int m1 = -j1; m1 <= j1; ++m1) {
                    for (int m2 = -j2; m2 <= j2; ++m2) {
                        const int m3 = -m1 - m2;
                        if (std::abs(m3) > j3) continue;
                        const double w = wigner_3j(j1, j2, j3, m1, m2, m3);
                        const std::string a = args(j1, j2, j3, m1, m2, m3);
                        check::close("3j cyclic " + a, wigner_3j(j2, j3, j1, m2, m3, m1), w, 1e-13);
                        check::close("3j odd permutation " + a, wigner_3j(j2, j1, j3, m2, m1, m3), sign(J) * w, 1e-13);
                        check::close("3j m -> -m " + a, wigner_3j(j1, j2, j3, -m1, -m2, -m3), sign(J) * w, 1e-13);
                    }
                }
            }
        }
    }
    // Σ_{m1 m2} (2j3+1) (j1 j2 j3; m1 m2 m3)(j1 j2 j3'; m1 m2 m3') = δ δ, up
    // to the largest l the coupling code supports.
    for (int j1 = 0; j1 <= L; j1 += (j1 < 4 ? 1 : 3)) {
        for (int j2 = 0; j2 <= L; j2 += (j2 < 4 ? 1 : 3)) {
            for (int j3 = std::abs(j1 - j2); j3 <= std::min(j1 + j2, L); ++j3) {
                for (int j3p = std::abs(j1 - j2); j3p <= std::min(j1 + j2, L); ++j3p) {
                    for (int m3 = -std::min(j3, j3p); m3 <= std::min(j3, j3p); ++m3) {
                        double sum = 0.0;
                        for (int m1 = -j1; m1 <= j1; ++m1) {
                            const int m2 = -m1 - m3;
                            if (std::abs(m2) > j2) continue;
                            sum += wigner_3j(j1, j2, j3, m1, m2, m3) * wigner_3j(j1, j2, j3p, m1, m2, m3);
                        }
                        sum *= 2.0 * j3 + 1.0;
                        check::close("3j orthogonality j1=" + std::to_string(j1) + " j2=" + std::to_string(j2) +
                                         " j3=" + std::to_string(j3) + " j3'=" + std::to_string(j3p),
                                     sum, j3 == j3p ? 1.0 : 0.0, 1e-11);
                    }
                }
            }
        }
    }
}

void test_complex_cg() {
    using mslode::clebsch_gordan_complex;
    check::close("<1 1; 1 -1 | 0 0>", clebsch_gordan_complex(1, 1, 1, -1, 0, 0), 1.0 / std::sqrt(3.0), 1e-14);
    check::close("<1 0; 1 0 | 0 0>", clebsch_gordan_complex(1, 0, 1, 0, 0, 0), -1.0 / std::sqrt(3.0), 1e-14);
    check::close("<1 1; 1 -1 | 2 0>", clebsch_gordan_complex(1, 1, 1, -1, 2, 0), 1.0 / std::sqrt(6.0), 1e-14);
    check::close("<1 0; 1 0 | 2 0>", clebsch_gordan_complex(1, 0, 1, 0, 2, 0), std::sqrt(2.0 / 3.0), 1e-14);
    check::close("<1 1; 1 -1 | 1 0>", clebsch_gordan_complex(1, 1, 1, -1, 1, 0), 1.0 / std::sqrt(2.0), 1e-14);
    check::close("<1 0; 1 1 | 1 1>", clebsch_gordan_complex(1, 0, 1, 1, 1, 1), -1.0 / std::sqrt(2.0), 1e-14);
    check::close("<2 1; 1 0 | 2 1>", clebsch_gordan_complex(2, 1, 1, 0, 2, 1), 1.0 / std::sqrt(6.0), 1e-14);
    check::close("<1 1; 1 1 | 2 2>", clebsch_gordan_complex(1, 1, 1, 1, 2, 2), 1.0, 1e-14);
}

// ---- real basis -------------------------------------------------------------

double cg_at(const std::vector<double>& c, int l1, int l2, int lambda, int m1, int m2, int mu) {
    const int n2 = 2 * l2 + 1, nl = 2 * lambda + 1;
    return c[static_cast<size_t>(((m1 + l1) * n2 + (m2 + l2)) * nl + (mu + lambda))];
}

void test_real_orthonormality() {
    for (int l1 = 0; l1 <= 5; ++l1) {
        for (int l2 = 0; l2 <= 5; ++l2) {
            const int n1 = 2 * l1 + 1, n2 = 2 * l2 + 1;
            // stack all λ blocks into the (n1 n2) × (n1 n2) matrix of the
            // real coupling transform; it must be orthogonal.
            Eigen::MatrixXd U = Eigen::MatrixXd::Zero(n1 * n2, n1 * n2);
            int column = 0;
            for (int lambda = std::abs(l1 - l2); lambda <= l1 + l2; ++lambda) {
                const auto c = real_clebsch_gordan(l1, l2, lambda);
                check::truth("real CG block size", c.size() == static_cast<size_t>(n1 * n2 * (2 * lambda + 1)));
                for (int mu = -lambda; mu <= lambda; ++mu, ++column) {
                    for (int m1 = -l1; m1 <= l1; ++m1)
                        for (int m2 = -l2; m2 <= l2; ++m2)
                            U((m1 + l1) * n2 + (m2 + l2), column) = cg_at(c, l1, l2, lambda, m1, m2, mu);
                }
            }
            const double ortho = (U.transpose() * U - Eigen::MatrixXd::Identity(n1 * n2, n1 * n2)).cwiseAbs().maxCoeff();
            const double complete = (U * U.transpose() - Eigen::MatrixXd::Identity(n1 * n2, n1 * n2)).cwiseAbs().maxCoeff();
            const std::string name = " l1=" + std::to_string(l1) + " l2=" + std::to_string(l2);
            check::close("real CG orthonormality" + name, ortho, 0.0, 1e-12);
            check::close("real CG completeness" + name, complete, 0.0, 1e-12);
        }
    }
}

void test_real_product_rule() {
    // For even l1 + l2 + λ the coupled product of harmonics of one direction
    // is a harmonic again:
    //   Σ C^{λμ}_{l1 m1, l2 m2} Y_l1m1(r) Y_l2m2(r)
    //     = sqrt((2l1+1)(2l2+1) / (4π(2λ+1))) <l1 0; l2 0 | λ 0> Y_λμ(r).
    // This ties the real CG blocks to the sign convention of the real Y_lm.
    const int L = 5;
    SphericalHarmonics sh(2 * L);
    std::vector<double> y(static_cast<size_t>(sh.size()));
    for (int l1 = 0; l1 <= L; ++l1) {
        for (int l2 = 0; l2 <= L; ++l2) {
            for (int lambda = std::abs(l1 - l2); lambda <= l1 + l2; lambda += 2) {
                const auto c = real_clebsch_gordan(l1, l2, lambda);
                const double cg00 = sign(l1 - l2) * std::sqrt(2.0 * lambda + 1.0) * wigner_3j(l1, l2, lambda, 0, 0, 0);
                const double factor =
                    std::sqrt((2.0 * l1 + 1.0) * (2.0 * l2 + 1.0) / (4.0 * kPi * (2.0 * lambda + 1.0))) * cg00;
                for (int trial = 0; trial < 5; ++trial) {
                    double x, yy, z;
                    check::random_unit(x, yy, z);
                    sh.compute_unit(x, yy, z, y.data());
                    for (int mu = -lambda; mu <= lambda; ++mu) {
                        double sum = 0.0;
                        for (int m1 = -l1; m1 <= l1; ++m1)
                            for (int m2 = -l2; m2 <= l2; ++m2)
                                sum += cg_at(c, l1, l2, lambda, m1, m2, mu) * y[lm_index(l1, m1)] * y[lm_index(l2, m2)];
                        check::close("product rule l1=" + std::to_string(l1) + " l2=" + std::to_string(l2) +
                                         " λ=" + std::to_string(lambda) + " μ=" + std::to_string(mu),
                                     sum, factor * y[lm_index(lambda, mu)], 1e-12);
                    }
                }
            }
        }
    }
}

void test_real_vectors() {
    // l1 = l2 = 1 in the real basis (μ = -1, 0, 1 ↔ y, z, x):
    //   λ = 0: -(a·b)/√3;  λ = 1: k (a × b) with |k| = 1/√2, one k for all μ.
    const double a[3] = {0.3, -1.2, 0.7}, b[3] = {-0.8, 0.4, 1.1};  // x, y, z
    const auto to_real = [](const double* v, int m) { return m == -1 ? v[1] : (m == 0 ? v[2] : v[0]); };
    const auto c0 = real_clebsch_gordan(1, 1, 0);
    double s0 = 0.0;
    for (int m1 = -1; m1 <= 1; ++m1)
        for (int m2 = -1; m2 <= 1; ++m2) s0 += cg_at(c0, 1, 1, 0, m1, m2, 0) * to_real(a, m1) * to_real(b, m2);
    check::close("(1 1 → 0) = -a·b/√3", s0, -(a[0] * b[0] + a[1] * b[1] + a[2] * b[2]) / std::sqrt(3.0), 1e-14);

    const auto c1 = real_clebsch_gordan(1, 1, 1);
    const double cross[3] = {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
    double k = 0.0;
    for (int mu = -1; mu <= 1; ++mu) {
        double s = 0.0;
        for (int m1 = -1; m1 <= 1; ++m1)
            for (int m2 = -1; m2 <= 1; ++m2) s += cg_at(c1, 1, 1, 1, m1, m2, mu) * to_real(a, m1) * to_real(b, m2);
        const double expected = to_real(cross, mu);
        if (mu == -1) k = s / expected;
        check::close("(1 1 → 1) ∝ a × b, μ=" + std::to_string(mu), s, k * expected, 1e-14);
    }
    check::close("(1 1 → 1) cross-product factor |k| = 1/√2", std::abs(k), 1.0 / std::sqrt(2.0), 1e-14);
    std::printf("(1 1 -> 1) real CG couples two vectors to %+.6f (a x b)\n", k);
}

// Real Wigner matrix D^l(R) with Y_l(R r) = D^l(R) Y_l(r), fitted by least
// squares from harmonics at random points.
Eigen::MatrixXd real_wigner(const SphericalHarmonics& sh, int l, const Eigen::Matrix3d& R) {
    const int n = 2 * l + 1, points = 4 * n + 4;
    Eigen::MatrixXd A(points, n), B(points, n);
    std::vector<double> y(static_cast<size_t>(sh.size()));
    for (int p = 0; p < points; ++p) {
        Eigen::Vector3d r;
        check::random_unit(r.x(), r.y(), r.z());
        sh.compute_unit(r.x(), r.y(), r.z(), y.data());
        for (int m = -l; m <= l; ++m) A(p, m + l) = y[lm_index(l, m)];
        const Eigen::Vector3d rr = R * r;
        sh.compute_unit(rr.x(), rr.y(), rr.z(), y.data());
        for (int m = -l; m <= l; ++m) B(p, m + l) = y[lm_index(l, m)];
    }
    // B = A D^T
    const Eigen::MatrixXd Dt = A.colPivHouseholderQr().solve(B);
    return Dt.transpose();
}

Eigen::Matrix3d random_rotation() {
    Eigen::Quaterniond q(check::uniform(-1, 1), check::uniform(-1, 1), check::uniform(-1, 1), check::uniform(-1, 1));
    q.normalize();
    return q.toRotationMatrix();
}

void test_real_equivariance() {
    const int L = 4;
    SphericalHarmonics sh(2 * L);
    std::vector<double> ya(static_cast<size_t>(sh.size())), yb(static_cast<size_t>(sh.size()));
    std::vector<double> ra(static_cast<size_t>(sh.size())), rb(static_cast<size_t>(sh.size()));
    for (int trial = 0; trial < 3; ++trial) {
        const Eigen::Matrix3d R = random_rotation();
        std::vector<Eigen::MatrixXd> D;
        for (int l = 0; l <= 2 * L; ++l) {
            D.push_back(real_wigner(sh, l, R));
            check::close("fitted D^" + std::to_string(l) + " is orthogonal",
                         (D[static_cast<size_t>(l)].transpose() * D[static_cast<size_t>(l)] -
                          Eigen::MatrixXd::Identity(2 * l + 1, 2 * l + 1)).cwiseAbs().maxCoeff(),
                         0.0, 1e-10);
        }
        Eigen::Vector3d a, b;
        check::random_unit(a.x(), a.y(), a.z());
        check::random_unit(b.x(), b.y(), b.z());
        const Eigen::Vector3d Ra = R * a, Rb = R * b;
        sh.compute_unit(a.x(), a.y(), a.z(), ya.data());
        sh.compute_unit(b.x(), b.y(), b.z(), yb.data());
        sh.compute_unit(Ra.x(), Ra.y(), Ra.z(), ra.data());
        sh.compute_unit(Rb.x(), Rb.y(), Rb.z(), rb.data());
        for (int l1 = 0; l1 <= L; ++l1) {
            for (int l2 = 0; l2 <= L; ++l2) {
                for (int lambda = std::abs(l1 - l2); lambda <= l1 + l2; ++lambda) {
                    const auto c = real_clebsch_gordan(l1, l2, lambda);
                    Eigen::VectorXd t(2 * lambda + 1), tr(2 * lambda + 1);
                    for (int mu = -lambda; mu <= lambda; ++mu) {
                        double s = 0.0, sr = 0.0;
                        for (int m1 = -l1; m1 <= l1; ++m1) {
                            for (int m2 = -l2; m2 <= l2; ++m2) {
                                const double w = cg_at(c, l1, l2, lambda, m1, m2, mu);
                                s += w * ya[lm_index(l1, m1)] * yb[lm_index(l2, m2)];
                                sr += w * ra[lm_index(l1, m1)] * rb[lm_index(l2, m2)];
                            }
                        }
                        t(mu + lambda) = s;
                        tr(mu + lambda) = sr;
                    }
                    const double err = (tr - D[static_cast<size_t>(lambda)] * t).cwiseAbs().maxCoeff();
                    check::close("equivariance l1=" + std::to_string(l1) + " l2=" + std::to_string(l2) +
                                     " λ=" + std::to_string(lambda),
                                 err, 0.0, 1e-10);
                    // and the block is not trivially zero
                    check::truth("coupled block non-zero l1=" + std::to_string(l1) + " l2=" + std::to_string(l2) +
                                     " λ=" + std::to_string(lambda),
                                 t.norm() > 1e-6);
                }
            }
        }
    }
}

void test_cache_and_errors() {
    mslode::ClebschGordanCache cache;
    const auto first = cache.get(2, 3, 4);
    const auto second = cache.get(2, 3, 4);
    check::truth("cache returns the same block", first.get() == second.get());
    const auto direct = real_clebsch_gordan(2, 3, 4);
    check::truth("cached block equals direct computation", *first == direct);
    bool threw = false;
    try {
        cache.get(mslode::kMaxAngular + 1, 1, mslode::kMaxAngular);
    } catch (const std::invalid_argument&) {
        threw = true;
    }
    check::truth("cache rejects l above kMaxAngular", threw);
    threw = false;
    try {
        real_clebsch_gordan(1, 1, 3);
    } catch (const std::invalid_argument&) {
        threw = true;
    }
    check::truth("real_clebsch_gordan rejects a broken triangle", threw);
}

}  // namespace

int main() {
    test_3j_known_values();
    test_3j_stretched_closed_form();
    test_3j_symmetries_and_orthogonality();
    test_complex_cg();
    test_real_orthonormality();
    test_real_product_rule();
    test_real_vectors();
    test_real_equivariance();
    test_cache_and_errors();
    return check::finish("test_clebsch_gordan");
}
