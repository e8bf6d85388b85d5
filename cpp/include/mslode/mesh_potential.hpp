// The long-range part of a periodic potential, φ_s with s the auxiliary
// width of the range separation (range_separation.hpp), by smooth particle
// mesh Ewald with the projection on the local basis done analytically in
// k-space (docs/potentials.md, "Periodic structures"):
//
//   c_i[a n l m] = (1/Ω) Σ_k φ̂_s(k) S_a(k) e^{ik·r_i} T_nlm(k),
//   T_nlm(k) = ∫ R_nl(r) Y_lm(r̂) e^{ik·r} d³r = 4π i^l Y_lm(k̂) H_nl(|k|),
//
// H_nl the Hankel transforms of the radial basis (BasisHankelTable). The
// structure factors S_a come from cardinal B-spline charge assignment and
// one r2c FFT per species; e^{ik·r_i} from the same B-splines, so each
// (a, n, l, m) is one c2r FFT of Q̂_a φ̂_s T |b|² and an interpolation at the
// atoms (|b|² the Euler exponential-spline correction of both steps). Only
// the smooth φ_s touches the mesh; the sharp σ part is summed in real space.
//
// Everything here is linear in the charges and smooth in the positions
// (B-spline weights have analytic derivatives), so position gradients are
// the same steps run backwards (spread the model's weights, one transform
// per field, interpolate with derivative weights).
#pragma once

#include <fftw3.h>

#include <Eigen/Dense>
#include <algorithm>
#include <array>
#include <cmath>
#include <complex>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "gto_basis.hpp"
#include "radial_spline.hpp"
#include "range_separation.hpp"
#include "spherical_harmonics.hpp"
#include "parallel.hpp"
#include "structure.hpp"

namespace mslode {

namespace detail {

// j_0(x) .. j_L(x): upward recurrence where it is stable (x > L), Miller's
// downward recurrence normalised by j_0 below, the series at tiny x.
inline void spherical_bessel(int L, double x, double* j) {
    if (x < 1e-3) {
        double term = 1.0;  // x^l/(2l+1)!!
        for (int l = 0; l <= L; ++l) {
            j[l] = term * (1.0 - x * x / (2.0 * (2 * l + 3)));
            term *= x / (2 * l + 3);
        }
        return;
    }
    const double j0 = std::sin(x) / x;
    if (x > L) {
        j[0] = j0;
        if (L >= 1) j[1] = j0 / x - std::cos(x) / x;
        for (int l = 1; l < L; ++l) j[l + 1] = (2 * l + 1) / x * j[l] - j[l - 1];
        return;
    }
    const int start = L + 16 + static_cast<int>(x);
    double next = 0.0, current = 1e-300;
    for (int l = start; l > 0; --l) {
        const double previous = (2 * l + 1) / x * current - next;
        next = current;
        current = previous;
        if (l - 1 <= L) j[l - 1] = current;
        if (std::abs(current) > 1e250) {  // rescale what is stored so far
            for (int k = l - 1; k <= L; ++k) j[k] *= 1e-250;
            current *= 1e-250;
            next *= 1e-250;
        }
    }
    const double scale = j0 / j[0];
    for (int l = 0; l <= L; ++l) j[l] *= scale;
}

}  // namespace detail

// H_nl(k) = ∫_0^∞ R_nl(r) j_l(kr) r² dr of the orthonormal basis, on a
// spline over [0, k_max] (values[l * N + n]). The primitives' integrals are
// done by Gauss–Legendre quadrature in r: the integrands are smooth
// Gaussians times Bessel functions, resolved to round-off by 16 nodes per
// 1.25 widths of the narrowest primitive or per half period of j_l(kr).
class BasisHankelTable {
public:
    BasisHankelTable(const GtoBasis& basis, int max_angular, double k_max, double accuracy)
        : max_radial_(basis.max_radial()), max_angular_(max_angular), k_max_(k_max) {
        const int N = basis.max_radial();
        double sigma_max = 0.0, sigma_min = INFINITY;
        for (int n = 0; n < N; ++n) {
            sigma_max = std::max(sigma_max, basis.sigma(n));
            sigma_min = std::min(sigma_min, basis.sigma(n));
        }
        // the broadest primitive is below 1e-16 of its peak beyond this
        const double r_max = sigma_max * (std::sqrt(static_cast<double>(N + max_angular)) + 8.5);
        const double panel = std::min(1.25 * sigma_min, M_PI / std::max(k_max, 1e-3));
        const int panels = static_cast<int>(std::ceil(r_max / panel));
        std::vector<double> x, w;
        detail::gauss_legendre(16, x, w);
        const double h = r_max / panels;
        for (int p = 0; p < panels; ++p) {
            for (size_t q = 0; q < x.size(); ++q) {
                r_.push_back(h * (p + 0.5 * (x[q] + 1.0)));
                weight_.push_back(0.5 * h * w[q]);
            }
        }
        // primitive_[q * N + k] = w_q r_q² × (unit-norm primitive k at r_q)
        primitive_.resize(r_.size() * static_cast<size_t>(N));
        for (size_t q = 0; q < r_.size(); ++q) {
            const double r = r_[q];
            for (int k = 0; k < N; ++k) {
                const double s = basis.sigma(k);
                primitive_[q * static_cast<size_t>(N) + static_cast<size_t>(k)] =
                    weight_[q] * r * r * basis.norm(k) * std::pow(r, k) * std::exp(-0.5 * r * r / (s * s));
            }
        }
        spline_ = RadialSpline::build([this, &basis](double k, double* v, double* g) { transform(basis, k, v, g); }, N,
                                      max_angular, k_max, accuracy);
    }

    double k_max() const { return k_max_; }
    int width() const { return max_radial_ * (max_angular_ + 1); }
    void evaluate(double k, double* values, double* derivatives = nullptr) const { spline_.evaluate(k, values, derivatives); }

private:
    void transform(const GtoBasis& basis, double k, double* values, double* derivatives) const {
        const int N = max_radial_, L = max_angular_;
        std::vector<double> prim(static_cast<size_t>(N * (L + 1)), 0.0), dprim(prim.size(), 0.0);
        std::vector<double> j(static_cast<size_t>(L + 2));
        for (size_t q = 0; q < r_.size(); ++q) {
            const double x = k * r_[q];
            detail::spherical_bessel(L + 1, x, j.data());
            const double* pr = &primitive_[q * static_cast<size_t>(N)];
            for (int l = 0; l <= L; ++l) {
                // d/dk j_l(kr) = r (l j_l(x)/x - j_{l+1}(x)), finite at x = 0
                const double dj = r_[q] * ((x > 0.0 ? l * j[static_cast<size_t>(l)] / x : (l == 1 ? 1.0 / 3.0 : 0.0)) -
                                           j[static_cast<size_t>(l) + 1]);
                for (int n = 0; n < N; ++n) {
                    prim[static_cast<size_t>(l * N + n)] += pr[n] * j[static_cast<size_t>(l)];
                    dprim[static_cast<size_t>(l * N + n)] += pr[n] * dj;
                }
            }
        }
        basis.to_orthonormal(prim.data(), values, L + 1);
        if (derivatives != nullptr) basis.to_orthonormal(dprim.data(), derivatives, L + 1);
    }

    int max_radial_, max_angular_;
    double k_max_;
    std::vector<double> r_, weight_, primitive_;
    RadialSpline spline_;
};

namespace detail {

// Cardinal B-spline weights of order P: w[q] = M_P(t + q), q < P, t in
// [0, 1), for the mesh point floor(u) - q of a point at mesh coordinate u.
inline void bspline_weights(int P, double t, double* w) {
    // M_2 on the two points, then M_n(x) = [x M_{n-1}(x) + (n - x) M_{n-1}(x - 1)]/(n - 1)
    w[0] = t;
    w[1] = 1.0 - t;
    for (int n = 3; n <= P; ++n) {
        w[n - 1] = 0.0;
        for (int q = n - 1; q >= 1; --q) {
            const double x = t + q;
            w[q] = (x * w[q] + (n - x) * w[q - 1]) / (n - 1);
        }
        w[0] = t * w[0] / (n - 1);
    }
}

// |b(m)|² = 1/|Σ_{q=0}^{P-2} M_P(q+1) e^{2πimq/K}|² for m = 0..K-1.
inline std::vector<double> bspline_modulus(int P, int K) {
    std::vector<double> at_integers(static_cast<size_t>(P));
    bspline_weights(P, 0.0, at_integers.data());  // M_P(q), q = 0..P-1; M_P(0) = 0
    std::vector<double> out(static_cast<size_t>(K));
    for (int m = 0; m < K; ++m) {
        std::complex<double> sum = 0.0;
        for (int q = 0; q <= P - 2; ++q) sum += at_integers[static_cast<size_t>(q) + 1] * std::polar(1.0, 2.0 * M_PI * m * q / K);
        out[static_cast<size_t>(m)] = 1.0 / std::norm(sum);
    }
    return out;
}

// Smallest n' >= n whose prime factors are 2, 3, 5, 7 (FFTW's fast sizes).
inline int fast_fft_size(int n) {
    for (int m = std::max(n, 1);; ++m) {
        int r = m;
        for (int f : {2, 3, 5, 7})
            while (r % f == 0) r /= f;
        if (r == 1) return m;
    }
}

struct FftwFree {
    void operator()(void* p) const { fftw_free(p); }
};
struct FftwPlanDestroy {
    void operator()(fftw_plan_s* p) const { fftw_destroy_plan(p); }
};
using FftwReal = std::unique_ptr<double[], FftwFree>;
using FftwComplex = std::unique_ptr<fftw_complex[], FftwFree>;
using FftwPlan = std::unique_ptr<fftw_plan_s, FftwPlanDestroy>;

inline FftwReal fftw_real(size_t n) {
    FftwReal p(fftw_alloc_real(std::max<size_t>(n, 1)));
    if (!p) throw std::bad_alloc();
    return p;
}
inline FftwComplex fftw_complex_array(size_t n) {
    FftwComplex p(fftw_alloc_complex(std::max<size_t>(n, 1)));
    if (!p) throw std::bad_alloc();
    return p;
}

// FFTW's planner is process-wide state and not thread-safe: every plan is
// made under this one lock (execution with fftw_execute_dft_* is safe).
inline std::mutex& fftw_planner_lock() {
    static std::mutex lock;
    return lock;
}

}  // namespace detail

// r2c and c2r plans of one mesh shape, made once and reused by every thread
// (new-array execution on fftw_alloc'd arrays, which share its alignment).
// The c2r is batched: kFieldBatch spectra, one after the other, into one
// interleaved real array field[point * kFieldBatch + b], so that reading the
// fields off at an atom loads kFieldBatch contiguous values per mesh point.
class MeshPlans {
public:
    static constexpr int kFieldBatch = 8;

    explicit MeshPlans(const std::array<int, 3>& shape) : shape_(shape) {
        const size_t real = real_size(), half = half_size();
        auto r = detail::fftw_real(real * kFieldBatch);
        auto c = detail::fftw_complex_array(half * kFieldBatch);
        std::lock_guard<std::mutex> guard(detail::fftw_planner_lock());
        forward_.reset(fftw_plan_dft_r2c_3d(shape[0], shape[1], shape[2], r.get(), c.get(), FFTW_ESTIMATE));
        backward_.reset(fftw_plan_many_dft_c2r(3, shape.data(), kFieldBatch, c.get(), nullptr, 1, static_cast<int>(half),
                                               r.get(), nullptr, kFieldBatch, 1, FFTW_ESTIMATE));
        forward_batch_.reset(fftw_plan_many_dft_r2c(3, shape.data(), kFieldBatch, r.get(), nullptr, kFieldBatch, 1, c.get(),
                                                    nullptr, 1, static_cast<int>(half), FFTW_ESTIMATE));
        if (!forward_ || !backward_ || !forward_batch_) throw std::runtime_error("FFTW could not plan a mesh transform");
    }
    size_t real_size() const { return static_cast<size_t>(shape_[0]) * shape_[1] * shape_[2]; }
    size_t half_size() const { return static_cast<size_t>(shape_[0]) * shape_[1] * (shape_[2] / 2 + 1); }
    void forward(double* in, fftw_complex* out) const { fftw_execute_dft_r2c(forward_.get(), in, out); }
    // kFieldBatch spectra of half_size() each → interleaved fields
    void backward(fftw_complex* in, double* out) const { fftw_execute_dft_c2r(backward_.get(), in, out); }
    // interleaved fields → kFieldBatch spectra (the inverse's layouts)
    void forward_batch(double* in, fftw_complex* out) const { fftw_execute_dft_r2c(forward_batch_.get(), in, out); }

private:
    std::array<int, 3> shape_;
    detail::FftwPlan forward_, backward_, forward_batch_;
};

// Everything of the periodic path that depends on the hyper-parameters
// only: the short-range table, the Hankel transforms, the centre's own
// terms, and the FFT plans met so far (a cache: plans are made once per
// mesh shape, under a lock, and shared read-only).
class PeriodicPotentialTables {
public:
    PeriodicPotentialTables(const GtoBasis& basis, double gaussian_width, int max_angular, int potential_exponent,
                            double spline_accuracy, const PeriodicHypers& hypers)
        : basis_(basis),
          max_angular_(max_angular),
          p_(potential_exponent),
          sigma_(gaussian_width),
          hypers_(hypers),
          smearing_(periodic_smearing(hypers, basis.cutoff(), gaussian_width)),
          // the spline must not be what limits the accuracy, nor be finer than it needs
          short_range_(basis, gaussian_width, smearing_, max_angular, potential_exponent,
                       0.1 * hypers.accuracy, hypers.accuracy),
          // beyond k_max, e^{-k²s²/2} < 1e-17: nothing left to transform
          hankel_(basis, max_angular, std::sqrt(2.0 * 39.0) / smearing_, std::min({spline_accuracy, 1e-9, 0.1 * hypers.accuracy})) {
        const int N = basis.max_radial();
        std::vector<double> sr(static_cast<size_t>(short_range_.width())), full(sr.size());
        short_range_.evaluate(0.0, sr.data(), nullptr);
        GtoPotentialKernel(basis, gaussian_width, 0, potential_exponent, 1.0)(0.0, full.data(), nullptr);
        const double y00 = 0.5 / std::sqrt(M_PI);
        short_range_center_.resize(static_cast<size_t>(N));
        full_center_.resize(static_cast<size_t>(N));
        constant_.resize(static_cast<size_t>(N));
        first_moment_.resize(static_cast<size_t>(N));
        std::vector<double> h0(static_cast<size_t>(hankel_.width()));
        hankel_.evaluate(0.0, h0.data());
        std::vector<double> m0(static_cast<size_t>(N)), m1(static_cast<size_t>(N)), o0(m0), o1(m1);
        for (int n = 0; n < N; ++n) {
            short_range_center_[static_cast<size_t>(n)] = sr[static_cast<size_t>(n)] * y00;
            full_center_[static_cast<size_t>(n)] = full[static_cast<size_t>(n)] * y00;
            const double a = 0.5 / (basis.sigma(n) * basis.sigma(n));
            m0[static_cast<size_t>(n)] = basis.norm(n) * GtoBasis::gaussian_moment(n + 2, a);
            m1[static_cast<size_t>(n)] = basis.norm(n) * GtoBasis::gaussian_moment(n + 3, a);
        }
        basis.to_orthonormal(m0.data(), o0.data(), 1);
        basis.to_orthonormal(m1.data(), o1.data(), 1);
        for (int n = 0; n < N; ++n) {
            constant_[static_cast<size_t>(n)] = std::sqrt(4.0 * M_PI) * o0[static_cast<size_t>(n)];        // ⟨n00|1⟩
            first_moment_[static_cast<size_t>(n)] = 4.0 * M_PI / 3.0 * o1[static_cast<size_t>(n)];
        }
    }

    int max_radial() const { return basis_.max_radial(); }
    int max_angular() const { return max_angular_; }
    int potential_exponent() const { return p_; }
    double gaussian_width() const { return sigma_; }
    double smearing() const { return smearing_; }
    const PeriodicHypers& hypers() const { return hypers_; }
    const ShortRangePotentialTable& short_range() const { return short_range_; }
    const BasisHankelTable& hankel() const { return hankel_; }
    // P^sr_n0(0) Y00 and P_n0(0) Y00 (the full kernel) of the centre's own charge
    const std::vector<double>& short_range_center() const { return short_range_center_; }
    const std::vector<double>& full_center() const { return full_center_; }
    // ⟨n00|1⟩, and (4π/3) ∫ R_n1 r³ dr: ⟨n1m|x·û⟩ = first_moment Y_1m(û) for a unit vector û
    const std::vector<double>& constant_projection() const { return constant_; }
    const std::vector<double>& first_moment() const { return first_moment_; }

    std::shared_ptr<const MeshPlans> plans(const std::array<int, 3>& shape) const {
        std::lock_guard<std::mutex> guard(plans_lock_);
        auto& slot = plans_[shape];
        if (!slot) slot = std::make_shared<const MeshPlans>(shape);
        return slot;
    }

private:
    GtoBasis basis_;
    int max_angular_;
    int p_;
    double sigma_;
    PeriodicHypers hypers_;
    double smearing_;
    ShortRangePotentialTable short_range_;
    BasisHankelTable hankel_;
    std::vector<double> short_range_center_, full_center_, constant_, first_moment_;
    mutable std::mutex plans_lock_;
    mutable std::map<std::array<int, 3>, std::shared_ptr<const MeshPlans>> plans_;
};

// A 3-D periodic cell: its lattice (rows a, b, c), the inverse (fractional
// coordinates f = r · inverse; reciprocal vectors 2π × its columns) and the
// volume.
struct CellGeometry {
    Eigen::Matrix3d lattice, inverse;
    double volume = 0.0;

    explicit CellGeometry(const std::array<double, 9>& cell) {
        for (int r = 0; r < 3; ++r)
            for (int c = 0; c < 3; ++c) lattice(r, c) = cell[static_cast<size_t>(3 * r + c)];
        volume = std::abs(lattice.determinant());
        inverse = lattice.inverse();
    }
};

// The mesh of one structure: shape from the cell, the accuracy and the
// smearing, or from an explicit mesh_spacing.
struct MeshShape {
    std::array<int, 3> points{};
    double spacing = 0.0;  // the step asked for (Å)
};

// Mesh step. The error of the mesh part, relative to the largest
// coefficient of each l, was measured against much finer meshes (random
// triclinic cells, s = 2 Å, orders 4–10) to follow (0.3 h/s)^P closely; the
// step aims at a third of `accuracy` with c = 0.35 for a margin:
// h = (s/c) (ε/3)^{1/P}. tests/test_periodic_potential.py checks the
// result against the direct k-space sum.
inline double mesh_step(const PeriodicHypers& hypers, double smearing) {
    if (hypers.mesh_spacing != 0.0) return hypers.mesh_spacing;
    return smearing / 0.35 * std::pow(hypers.accuracy / 3.0, 1.0 / hypers.interpolation_order);
}

inline MeshShape mesh_shape(const std::array<double, 9>& cell, const PeriodicHypers& hypers, double smearing) {
    MeshShape shape;
    shape.spacing = mesh_step(hypers, smearing);
    for (int a = 0; a < 3; ++a) {
        const double length = std::sqrt(cell[3 * a] * cell[3 * a] + cell[3 * a + 1] * cell[3 * a + 1] + cell[3 * a + 2] * cell[3 * a + 2]);
        const double n = std::ceil(length / shape.spacing);
        if (!(n < 1e5)) throw std::invalid_argument("the mesh would need more than 1e5 points along a cell vector");
        shape.points[static_cast<size_t>(a)] =
            detail::fast_fft_size(std::max(static_cast<int>(n), 2 * hypers.interpolation_order));
    }
    return shape;
}

// Bytes the mesh of `shape` needs for C channels, an (l, n) by mesh point
// table, and `threads` working meshes.
inline double mesh_bytes(const MeshShape& shape, int channels, int max_radial, int max_angular, int threads) {
    const double real = static_cast<double>(shape.points[0]) * shape.points[1] * shape.points[2];
    const double half = static_cast<double>(shape.points[0]) * shape.points[1] * (shape.points[2] / 2 + 1);
    const double per_point = 16.0 * channels + 8.0 * (max_radial * (max_angular + 1) + lm_size(max_angular));
    return half * per_point + threads * (8.0 * real + 16.0 * half);
}

namespace detail {

// Cardinal B-spline weights and their derivatives with respect to the mesh
// coordinate: M_P'(x) = M_{P-1}(x) - M_{P-1}(x - 1).
inline void bspline_derivatives(int P, double t, double* dw) {
    double lower[32];
    bspline_weights(P - 1, t, lower);  // M_{P-1}(t + q), q < P - 1
    for (int q = 0; q < P; ++q) dw[q] = (q < P - 1 ? lower[q] : 0.0) - (q > 0 ? lower[q - 1] : 0.0);
}

// The B-spline stencils of every atom: per direction the P mesh indices
// (wrapped once here, not in the loops) and their weights (and, when
// `derivatives` is non-null, the weights' derivatives along the mesh
// coordinate u_α = K_α f_α).
struct MeshStencils {
    int order = 0;
    std::vector<size_t> index;                // [atom][α][q]
    std::vector<double> weights, derivatives;  // [atom][α][q]

    MeshStencils(const Structure& structure, const Eigen::Matrix3d& inverse, const std::array<int, 3>& K, int P,
                 bool with_derivatives)
        : order(P) {
        const size_t stencil = 3 * static_cast<size_t>(P), n = static_cast<size_t>(structure.n_atoms);
        index.resize(n * stencil);
        weights.resize(n * stencil);
        if (with_derivatives) derivatives.resize(n * stencil);
        for (int i = 0; i < structure.n_atoms; ++i) {
            const Eigen::RowVector3d r(structure.position(i)[0], structure.position(i)[1], structure.position(i)[2]);
            const Eigen::RowVector3d f = r * inverse;
            for (int a = 0; a < 3; ++a) {
                const int k = K[static_cast<size_t>(a)];
                double u = (f[a] - std::floor(f[a])) * k;
                if (u >= k) u = 0.0;
                const double g = std::floor(u);
                const size_t at = static_cast<size_t>(i) * stencil + static_cast<size_t>(a * P);
                bspline_weights(P, u - g, &weights[at]);
                if (with_derivatives) bspline_derivatives(P, u - g, &derivatives[at]);
                for (int q = 0; q < P; ++q) index[at + static_cast<size_t>(q)] = static_cast<size_t>(((static_cast<int>(g) - q) % k + k) % k);
            }
        }
    }
    const size_t* indices(int atom) const { return &index[static_cast<size_t>(atom) * 3 * static_cast<size_t>(order)]; }
    const double* weights_of(int atom) const { return &weights[static_cast<size_t>(atom) * 3 * static_cast<size_t>(order)]; }
    const double* derivatives_of(int atom) const { return &derivatives[static_cast<size_t>(atom) * 3 * static_cast<size_t>(order)]; }
};

// Σ_x W(x) F_b(x) for B interleaved fields F (field[point * B + b]) and a
// stencil's product weights W = w0 w1 w2, into sum[B]; `w` the weights of
// the three directions, each P long (derivative weights in one direction
// give the derivative along it).
template <int B>
inline void read_off(const double* F, const std::array<int, 3>& K, int P, const size_t* g, const double* w0,
                     const double* w1, const double* w2, double* sum) {
    for (int b = 0; b < B; ++b) sum[b] = 0.0;
    for (int q0 = 0; q0 < P; ++q0) {
        double plane[B] = {};
        for (int q1 = 0; q1 < P; ++q1) {
            const double* row = F + (g[q0] * static_cast<size_t>(K[1]) + g[P + q1]) * static_cast<size_t>(K[2]) * B;
            double partial[B] = {};
            for (int q2 = 0; q2 < P; ++q2) {
                const double* v = row + g[2 * P + q2] * B;
                const double weight = w2[q2];
                for (int b = 0; b < B; ++b) partial[b] += weight * v[b];
            }
            for (int b = 0; b < B; ++b) plane[b] += w1[q1] * partial[b];
        }
        for (int b = 0; b < B; ++b) sum[b] += w0[q0] * plane[b];
    }
}

// The derivatives of read_off along the three mesh coordinates, in one pass
// over the stencil: du[α][b] = Σ_x ∂W/∂u_α F_b(x), `w` and `dw` the weights
// and their derivatives (3 × P each).
template <int B>
inline void read_off_gradient(const double* F, const std::array<int, 3>& K, int P, const size_t* g, const double* w,
                              const double* dw, double (*du)[B]) {
    for (int a = 0; a < 3; ++a)
        for (int b = 0; b < B; ++b) du[a][b] = 0.0;
    for (int q0 = 0; q0 < P; ++q0) {
        double plane[B] = {}, plane_d1[B] = {}, plane_d2[B] = {};
        for (int q1 = 0; q1 < P; ++q1) {
            const double* row = F + (g[q0] * static_cast<size_t>(K[1]) + g[P + q1]) * static_cast<size_t>(K[2]) * B;
            double partial[B] = {}, partial_d2[B] = {};
            for (int q2 = 0; q2 < P; ++q2) {
                const double* v = row + g[2 * P + q2] * B;
                const double w2 = w[2 * P + q2], d2 = dw[2 * P + q2];
                for (int b = 0; b < B; ++b) {
                    partial[b] += w2 * v[b];
                    partial_d2[b] += d2 * v[b];
                }
            }
            const double w1 = w[P + q1], d1 = dw[P + q1];
            for (int b = 0; b < B; ++b) {
                plane[b] += w1 * partial[b];
                plane_d1[b] += d1 * partial[b];
                plane_d2[b] += w1 * partial_d2[b];
            }
        }
        const double w0 = w[q0], d0 = dw[q0];
        for (int b = 0; b < B; ++b) {
            du[0][b] += d0 * plane[b];
            du[1][b] += w0 * plane_d1[b];
            du[2][b] += w0 * plane_d2[b];
        }
    }
}

// values[b] × W(x) added to B interleaved fields q[point * B + b] at a stencil.
template <int B>
inline void spread_batch(double* q, const std::array<int, 3>& K, int P, const size_t* g, const double* w,
                         const double* values) {
    for (int q0 = 0; q0 < P; ++q0) {
        for (int q1 = 0; q1 < P; ++q1) {
            double* row = q + (g[q0] * static_cast<size_t>(K[1]) + g[P + q1]) * static_cast<size_t>(K[2]) * B;
            const double w01 = w[q0] * w[P + q1];
            for (int q2 = 0; q2 < P; ++q2) {
                double* v = row + g[2 * P + q2] * B;
                const double weight = w01 * w[2 * P + q2];
                for (int b = 0; b < B; ++b) v[b] += weight * values[b];
            }
        }
    }
}

// value × W(x) added to the mesh q (one real field) at a stencil.
inline void spread(double* q, const std::array<int, 3>& K, int P, const size_t* g, const double* w, double value) {
    for (int q0 = 0; q0 < P; ++q0) {
        for (int q1 = 0; q1 < P; ++q1) {
            double* row = q + (g[q0] * static_cast<size_t>(K[1]) + g[P + q1]) * static_cast<size_t>(K[2]);
            const double w01 = value * w[q0] * w[P + q1];
            for (int q2 = 0; q2 < P; ++q2) row[g[2 * P + q2]] += w01 * w[2 * P + q2];
        }
    }
}

// The k-space factor of field (a, n, l, m) at every frequency of the half
// spectrum: G(k) = (4π/Ω) φ̂_s(k) |b(k)|² H_nl(|k|) Y_lm(k̂) i^l, stored as
// radial[(l N + n) half + m] = (4π/Ω) φ̂_s |b|² H_nl and angular[lm half + m] = Y_lm.
struct MeshKernel {
    std::vector<double> radial, angular;
    std::vector<int> l_of;  // by lm

    // With `with_derivatives`, also what the strain derivative needs:
    // slope[(l N + n) half + m] = (4π/Ω) |b|² d(φ̂_s H_nl)/d|k|,
    // gradient[(c LM + lm) half + m] = ∂Y_lm(k̂)/∂k_c (tangent, over |k|) and k[c half + m].
    std::vector<double> slope, gradient, k_vectors;

    MeshKernel(const PeriodicPotentialTables& tables, const CellGeometry& cell, const std::array<int, 3>& K,
               bool with_derivatives = false) {
        const int N = tables.max_radial(), L = tables.max_angular(), LM = lm_size(L);
        const int P = tables.hypers().interpolation_order, p = tables.potential_exponent();
        const double volume = cell.volume, smearing = tables.smearing();
        const Eigen::Matrix3d& inverse = cell.inverse;
        const int K2h = K[2] / 2 + 1;
        const size_t half_size = static_cast<size_t>(K[0]) * static_cast<size_t>(K[1]) * static_cast<size_t>(K2h);
        const std::vector<double> b0 = bspline_modulus(P, K[0]), b1 = bspline_modulus(P, K[1]), b2 = bspline_modulus(P, K[2]);
        const int NL = N * (L + 1);
        radial.resize(half_size * static_cast<size_t>(NL));
        angular.resize(half_size * static_cast<size_t>(LM));
        if (with_derivatives) {
            slope.assign(half_size * static_cast<size_t>(NL), 0.0);
            gradient.assign(3 * half_size * static_cast<size_t>(LM), 0.0);
            k_vectors.assign(3 * half_size, 0.0);
        }
        l_of.resize(static_cast<size_t>(LM));
        for (int l = 0; l <= L; ++l)
            for (int m = -l; m <= l; ++m) l_of[static_cast<size_t>(lm_index(l, m))] = l;
        const SphericalHarmonics harmonics(L);
        const BasisHankelTable& hankel = tables.hankel();
#pragma omp parallel
        {
            std::vector<double> h(static_cast<size_t>(NL)), y(static_cast<size_t>(LM));
            std::vector<double> dh(static_cast<size_t>(NL)), dy(3 * static_cast<size_t>(LM));
#pragma omp for schedule(static)
            for (int i0 = 0; i0 < K[0]; ++i0) {
                const int m0 = i0 <= K[0] / 2 ? i0 : i0 - K[0];
                for (int i1 = 0; i1 < K[1]; ++i1) {
                    const int m1 = i1 <= K[1] / 2 ? i1 : i1 - K[1];
                    for (int i2 = 0; i2 < K2h; ++i2) {
                        const size_t m = (static_cast<size_t>(i0) * static_cast<size_t>(K[1]) + static_cast<size_t>(i1)) * static_cast<size_t>(K2h) + static_cast<size_t>(i2);
                        // k = 2π (m0 b0 + m1 b1 + m2 b2), b_α the columns of the inverse lattice
                        const Eigen::Vector3d k = 2.0 * M_PI * (m0 * inverse.col(0) + m1 * inverse.col(1) + i2 * inverse.col(2));
                        const double kn = k.norm();
                        double base = 0.0;
                        if (kn == 0.0) {
                            if (p > 3) base = 4.0 * M_PI / volume * potential_fourier(p, smearing, 0.0);
                        } else if (kn < hankel.k_max()) {
                            base = 4.0 * M_PI / volume * potential_fourier(p, smearing, kn) * b0[static_cast<size_t>(i0)] *
                                   b1[static_cast<size_t>(i1)] * b2[static_cast<size_t>(i2)];
                        }
                        if (base != 0.0) {
                            hankel.evaluate(kn, h.data());
                            if (kn > 0.0) harmonics.compute_unit(k[0] / kn, k[1] / kn, k[2] / kn, y.data());
                            else harmonics.compute_unit(0.0, 0.0, 1.0, y.data());
                        } else {
                            std::fill(h.begin(), h.end(), 0.0);
                            std::fill(y.begin(), y.end(), 0.0);
                        }
                        for (int ln = 0; ln < NL; ++ln) radial[static_cast<size_t>(ln) * half_size + m] = base * h[static_cast<size_t>(ln)];
                        for (int lm = 0; lm < LM; ++lm) angular[static_cast<size_t>(lm) * half_size + m] = y[static_cast<size_t>(lm)];
                        if (!with_derivatives || base == 0.0 || kn == 0.0) continue;  // k = 0: no direction, no slope term
                        for (int c = 0; c < 3; ++c) k_vectors[static_cast<size_t>(c) * half_size + m] = k[c];
                        hankel.evaluate(kn, h.data(), dh.data());
                        harmonics.compute_unit_gradient(k[0] / kn, k[1] / kn, k[2] / kn, y.data(), dy.data());
                        // base = (4π/Ω) φ̂ |b|²: its slope is base × φ̂'/φ̂
                        const double relative = potential_fourier_derivative(p, smearing, kn) / potential_fourier(p, smearing, kn);
                        for (int ln = 0; ln < NL; ++ln) {
                            slope[static_cast<size_t>(ln) * half_size + m] =
                                base * (relative * h[static_cast<size_t>(ln)] + dh[static_cast<size_t>(ln)]);
                        }
                        for (size_t c = 0; c < 3 * static_cast<size_t>(LM); ++c) gradient[c * half_size + m] = dy[c] / kn;
                    }
                }
            }
        }
    }

    // ∂/∂ε of Σ_k G_f(k) q(k) conj(d(k)) over the full spectrum (from the
    // half: weight 2 except the planes k_2 = 0 and K_2/2), added to
    // strain[9]: under a strain, k → (1+ε)^(-T) k and Ω → (1 + tr ε) Ω while
    // the mesh (fractional) coordinates stay, so ∂G/∂ε_αβ = -δ_αβ G -
    // k_α ∂G/∂k_β.
    void add_strain(int N, int n, int lm, const fftw_complex* q, const fftw_complex* d, const std::array<int, 3>& K,
                    double* strain) const {
        const int l = l_of[static_cast<size_t>(lm)], LM = static_cast<int>(l_of.size());
        const int K2h = K[2] / 2 + 1;
        const size_t half_size = static_cast<size_t>(K[0]) * static_cast<size_t>(K[1]) * static_cast<size_t>(K2h);
        const double* hr = &radial[static_cast<size_t>(l * N + n) * half_size];
        const double* hs = &slope[static_cast<size_t>(l * N + n) * half_size];
        const double* ya = &angular[static_cast<size_t>(lm) * half_size];
        const double* gy[3];
        const double* kv[3];
        for (int c = 0; c < 3; ++c) {
            gy[c] = &gradient[(static_cast<size_t>(c * LM + lm)) * half_size];
            kv[c] = &k_vectors[static_cast<size_t>(c) * half_size];
        }
        double value = 0.0, s[9] = {};
        for (size_t m = 0; m < half_size; ++m) {
            const int i2 = static_cast<int>(m % static_cast<size_t>(K2h));
            const double weight = (i2 == 0 || (K[2] % 2 == 0 && i2 == K[2] / 2)) ? 1.0 : 2.0;
            // Re[i^l q conj(d)]
            const double re = q[m][0] * d[m][0] + q[m][1] * d[m][1], im = q[m][1] * d[m][0] - q[m][0] * d[m][1];
            const double z = weight * ((l % 4 == 0) ? re : (l % 4 == 1) ? -im : (l % 4 == 2) ? -re : im);
            if (z == 0.0 || hr[m] == 0.0) continue;
            value += z * hr[m] * ya[m];
            const double kn = std::sqrt(kv[0][m] * kv[0][m] + kv[1][m] * kv[1][m] + kv[2][m] * kv[2][m]);
            if (kn == 0.0) continue;
            double dg[3];
            for (int c = 0; c < 3; ++c) dg[c] = hs[m] * ya[m] * kv[c][m] / kn + hr[m] * gy[c][m];
            for (int a = 0; a < 3; ++a)
                for (int b = 0; b < 3; ++b) s[3 * a + b] -= z * kv[a][m] * dg[b];
        }
        for (int a = 0; a < 3; ++a) s[4 * a] -= value;
        for (int k = 0; k < 9; ++k) strain[k] += s[k];
    }

    // out = conj^parity(G_f) × q over the half spectrum (parity: the adjoint,
    // conj(G) = (-1)^l G), added to out when `add`.
    void apply(int N, int n, int lm, const fftw_complex* q, size_t half_size, fftw_complex* out, bool adjoint,
               bool add) const {
        const int l = l_of[static_cast<size_t>(lm)];
        const double* hr = &radial[static_cast<size_t>(l * N + n) * half_size];
        const double* ya = &angular[static_cast<size_t>(lm) * half_size];
        // × i^l: 1, i, -1, -i; the adjoint × (-i)^l
        const int phase = adjoint ? (4 - l % 4) % 4 : l % 4;
        const double re_sign = (phase == 0) ? 1.0 : (phase == 2 ? -1.0 : 0.0);
        const double im_sign = (phase == 1) ? 1.0 : (phase == 3 ? -1.0 : 0.0);
        for (size_t m = 0; m < half_size; ++m) {
            const double g = hr[m] * ya[m];
            const double re = g * q[m][0], im = g * q[m][1];
            const double x = re_sign * re - im_sign * im, y = re_sign * im + im_sign * re;
            if (add) {
                out[m][0] += x;
                out[m][1] += y;
            } else {
                out[m][0] = x;
                out[m][1] = y;
            }
        }
    }
};

// Structure factors of every channel: the B-spline charges on the mesh, one r2c each.
inline std::vector<FftwComplex> structure_factors(const Structure& structure, const SpeciesChannels& channels,
                                                  const MeshStencils& stencils, const std::array<int, 3>& K,
                                                  const MeshPlans& plans) {
    const int C = channels.size(), P = stencils.order;
    const size_t real_size = plans.real_size(), half_size = plans.half_size();
    std::vector<FftwComplex> charge(static_cast<size_t>(C));
    for (int a = 0; a < C; ++a) charge[static_cast<size_t>(a)] = fftw_complex_array(half_size);
    std::vector<FftwReal> meshes(static_cast<size_t>(C));
    for (int a = 0; a < C; ++a) {
        meshes[static_cast<size_t>(a)] = fftw_real(real_size);
        std::fill_n(meshes[static_cast<size_t>(a)].get(), real_size, 0.0);
    }
    for (int i = 0; i < structure.n_atoms; ++i) {
        const int a = channels(structure.types[i]);
        if (a >= 0) spread(meshes[static_cast<size_t>(a)].get(), K, P, stencils.indices(i), stencils.weights_of(i), 1.0);
    }
#pragma omp parallel for schedule(dynamic)
    for (int a = 0; a < C; ++a) plans.forward(meshes[static_cast<size_t>(a)].get(), charge[static_cast<size_t>(a)].get());
    return charge;
}

}  // namespace detail

// Long-range coefficients of every atom of `structure` (its 3-D `cell`): out[i * block +
// (a * N + n) * LM + lm], block = C N LM. Uses the calling thread's OpenMP
// team (when not already inside an active parallel region).
inline void mesh_potential(const PeriodicPotentialTables& tables, const Structure& structure, const CellGeometry& cell,
                           const SpeciesChannels& channels, const MeshShape& shape, std::vector<double>& out) {
    const int C = channels.size(), N = tables.max_radial(), L = tables.max_angular(), LM = lm_size(L);
    const int P = tables.hypers().interpolation_order;
    const size_t block = static_cast<size_t>(C * N * LM);
    const int n_atoms = structure.n_atoms;
    out.assign(static_cast<size_t>(n_atoms) * block, 0.0);
    const std::array<int, 3> K = shape.points;
    const auto plans = tables.plans(K);
    const size_t real_size = plans->real_size(), half_size = plans->half_size();

    const detail::MeshStencils stencils(structure, cell.inverse, K, P, false);
    const auto charge = detail::structure_factors(structure, channels, stencils, K, *plans);
    const detail::MeshKernel kernel(tables, cell, K);

    // one c2r per (a, n, l, m), in batches of B fields, read off at every atom
    constexpr int B = MeshPlans::kFieldBatch;
    const int fields = C * N * LM, batches = (fields + B - 1) / B;
    FirstError errors;
#pragma omp parallel
    {
        detail::FftwComplex spectra;
        detail::FftwReal field;
        errors.run([&] {
            spectra = detail::fftw_complex_array(half_size * B);
            field = detail::fftw_real(real_size * B);
        });
#pragma omp for schedule(dynamic)
        for (int batch = 0; batch < batches; ++batch) {
            if (errors.failed()) continue;
            for (int b = 0; b < B; ++b) {
                fftw_complex* x = spectra.get() + static_cast<size_t>(b) * half_size;
                const int f = batch * B + b;
                if (f >= fields) {  // padding of the last batch
                    std::fill_n(&x[0][0], 2 * half_size, 0.0);
                    continue;
                }
                const int a = f / (N * LM), n = (f / LM) % N, lm = f % LM;
                kernel.apply(N, n, lm, charge[static_cast<size_t>(a)].get(), half_size, x, false, false);
            }
            plans->backward(spectra.get(), field.get());
            for (int i = 0; i < n_atoms; ++i) {
                const size_t* g = stencils.indices(i);
                const double* w = stencils.weights_of(i);
                double sum[B];
                detail::read_off<B>(field.get(), K, P, g, w, w + P, w + 2 * P, sum);
                double* o = &out[static_cast<size_t>(i) * block];
                for (int b = 0; b < B && batch * B + b < fields; ++b) o[batch * B + b] = sum[b];
            }
        }
    }
    errors.rethrow();
}

// The backward pass of mesh_potential for positions: for cotangents t
// (n_atoms × block, the layout of `out` there), adds ∂(Σ t · out)/∂r_i to
// gradient[3 i + β]. Two dependencies: the read-off at atom i (derivative
// weights on the same fields) and the charges of every atom j (their
// adjoint: the cotangents spread on the mesh, one r2c per field, ×
// conj(G_f) summed per channel, one c2r per channel, read off with
// derivative weights). The channel sums are made per thread and added in
// thread order, so this part depends on the number of threads at round-off.
// The strain derivative of the same sum (the mesh coordinates fixed,
// MeshKernel::add_strain) is added to strain[9].
inline void mesh_potential_backward(const PeriodicPotentialTables& tables, const Structure& structure,
                                    const CellGeometry& cell, const SpeciesChannels& channels, const MeshShape& shape,
                                    const double* cotangent, double* gradient, double* strain) {
    const int C = channels.size(), N = tables.max_radial(), L = tables.max_angular(), LM = lm_size(L);
    const int P = tables.hypers().interpolation_order;
    const size_t block = static_cast<size_t>(C * N * LM);
    const int n_atoms = structure.n_atoms;
    const std::array<int, 3> K = shape.points;
    const auto plans = tables.plans(K);
    const size_t real_size = plans->real_size(), half_size = plans->half_size();

    const detail::MeshStencils stencils(structure, cell.inverse, K, P, true);
    const auto charge = detail::structure_factors(structure, channels, stencils, K, *plans);
    const detail::MeshKernel kernel(tables, cell, K, true);
    // ∂u_α/∂r_β = K_α inverse(β, α)
    Eigen::Matrix3d to_positions;
    for (int a = 0; a < 3; ++a) to_positions.col(a) = K[static_cast<size_t>(a)] * cell.inverse.col(a);

    constexpr int B = MeshPlans::kFieldBatch;
    const int fields = C * N * LM, batches = (fields + B - 1) / B;
    // read-off part, per batch (added in batch order below)
    std::vector<double> read_gradient(static_cast<size_t>(batches) * static_cast<size_t>(n_atoms) * 3, 0.0);
    const int threads = team_size();
    std::vector<detail::FftwComplex> adjoint(static_cast<size_t>(threads) * static_cast<size_t>(C));
    std::vector<double> thread_strain(static_cast<size_t>(threads) * 9, 0.0);
    for (auto& x : adjoint) {
        x = detail::fftw_complex_array(half_size);
        std::fill_n(&x[0][0], 2 * half_size, 0.0);
    }
    FirstError errors;
#pragma omp parallel num_threads(threads)
    {
        const int thread = thread_index();
        detail::FftwComplex spectra, spread_spectra;
        detail::FftwReal field, spread_mesh;
        errors.run([&] {
            spectra = detail::fftw_complex_array(half_size * B);
            field = detail::fftw_real(real_size * B);
            spread_spectra = detail::fftw_complex_array(half_size * B);
            spread_mesh = detail::fftw_real(real_size * B);
        });
#pragma omp for schedule(static)
        for (int batch = 0; batch < batches; ++batch) {
            if (errors.failed()) continue;
            // the adjoint of the charges: the batch's cotangents t_i[f] spread
            // (interleaved, as the fields), one batched r2c, then per field
            // × conj(G_f) into its channel's sum, and the strain term
            std::fill_n(spread_mesh.get(), real_size * B, 0.0);
            for (int i = 0; i < n_atoms; ++i) {
                double t[B] = {};
                bool any = false;
                for (int b = 0; b < B && batch * B + b < fields; ++b) {
                    t[b] = cotangent[static_cast<size_t>(i) * block + static_cast<size_t>(batch * B + b)];
                    any = any || t[b] != 0.0;
                }
                if (any) detail::spread_batch<B>(spread_mesh.get(), K, P, stencils.indices(i), stencils.weights_of(i), t);
            }
            plans->forward_batch(spread_mesh.get(), spread_spectra.get());
            for (int b = 0; b < B; ++b) {
                fftw_complex* x = spectra.get() + static_cast<size_t>(b) * half_size;
                const int f = batch * B + b;
                if (f >= fields) {
                    std::fill_n(&x[0][0], 2 * half_size, 0.0);
                    continue;
                }
                const int a = f / (N * LM), n = (f / LM) % N, lm = f % LM;
                kernel.apply(N, n, lm, charge[static_cast<size_t>(a)].get(), half_size, x, false, false);
                const fftw_complex* d = spread_spectra.get() + static_cast<size_t>(b) * half_size;
                kernel.apply(N, n, lm, d, half_size, adjoint[static_cast<size_t>(thread * C + a)].get(), true, true);
                kernel.add_strain(N, n, lm, charge[static_cast<size_t>(a)].get(), d, K,
                                  &thread_strain[static_cast<size_t>(thread) * 9]);
            }
            plans->backward(spectra.get(), field.get());
            for (int i = 0; i < n_atoms; ++i) {
                const double* t = &cotangent[static_cast<size_t>(i) * block + static_cast<size_t>(batch * B)];
                const size_t* g = stencils.indices(i);
                const double* w = stencils.weights_of(i);
                const double* dw = stencils.derivatives_of(i);
                double du[3] = {0.0, 0.0, 0.0}, sums[3][B];
                detail::read_off_gradient<B>(field.get(), K, P, g, w, dw, sums);
                for (int a = 0; a < 3; ++a)
                    for (int b = 0; b < B && batch * B + b < fields; ++b) du[a] += t[b] * sums[a][b];
                double* out = &read_gradient[(static_cast<size_t>(batch) * static_cast<size_t>(n_atoms) + static_cast<size_t>(i)) * 3];
                for (int beta = 0; beta < 3; ++beta)
                    out[beta] = to_positions(beta, 0) * du[0] + to_positions(beta, 1) * du[1] + to_positions(beta, 2) * du[2];
            }
        }
    }
    errors.rethrow();
    for (int thread = 0; thread < threads; ++thread)
        for (int k = 0; k < 9; ++k) strain[k] += thread_strain[static_cast<size_t>(thread) * 9 + static_cast<size_t>(k)];
    for (int batch = 0; batch < batches; ++batch)
        for (size_t k = 0; k < static_cast<size_t>(n_atoms) * 3; ++k)
            gradient[k] += read_gradient[static_cast<size_t>(batch) * static_cast<size_t>(n_atoms) * 3 + k];

    // the charges' part: Ψ_a = c2r(Σ_f∈a conj(G_f) FFT(spread t_f)), read off with derivative weights
    auto spectra = detail::fftw_complex_array(half_size * B);
    auto field = detail::fftw_real(real_size * B);
    for (int a0 = 0; a0 < C; a0 += B) {
        for (int b = 0; b < B; ++b) {
            fftw_complex* x = spectra.get() + static_cast<size_t>(b) * half_size;
            std::fill_n(&x[0][0], 2 * half_size, 0.0);
            if (a0 + b >= C) continue;
            for (int thread = 0; thread < threads; ++thread) {
                const fftw_complex* y = adjoint[static_cast<size_t>(thread * C + a0 + b)].get();
                for (size_t m = 0; m < half_size; ++m) {
                    x[m][0] += y[m][0];
                    x[m][1] += y[m][1];
                }
            }
        }
        plans->backward(spectra.get(), field.get());
        for (int j = 0; j < n_atoms; ++j) {
            const int a = channels(structure.types[j]);
            if (a < a0 || a >= a0 + B) continue;
            const size_t* g = stencils.indices(j);
            const double* w = stencils.weights_of(j);
            const double* dw = stencils.derivatives_of(j);
            double du[3], sums[3][B];
            detail::read_off_gradient<B>(field.get(), K, P, g, w, dw, sums);
            for (int d = 0; d < 3; ++d) du[d] = sums[d][a - a0];
            for (int beta = 0; beta < 3; ++beta)
                gradient[3 * static_cast<size_t>(j) + static_cast<size_t>(beta)] +=
                    to_positions(beta, 0) * du[0] + to_positions(beta, 1) * du[1] + to_positions(beta, 2) * du[2];
        }
    }
}

}  // namespace mslode
