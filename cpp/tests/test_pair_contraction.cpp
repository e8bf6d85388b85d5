// The vectorised pair loops against plain one-pair-at-a-time sums:
// - SphericalHarmonics::compute_unit_many against compute_unit;
// - RadialSpline::evaluate_many (4 × 4 transposes, remainders) against evaluate;
// - PairContraction::contract (chunks, register blocks, padding, d = 0)
//   against Σ_j w_j f_ln(d_j) Y_lm(r̂_j) summed pair by pair;
// - PotentialExpansion::expand, whose far sources go through far-field
//   moments, against the same sum over PotentialRadialTable::evaluate.
// Built twice by CMake: as is (AVX2 + FMA chosen at run time where the CPU
// has it) and with MSLODE_NO_DISPATCH (the baseline code), so both versions
// of the loops are checked on any machine that has AVX2.
#include <mslode/pair_contraction.hpp>
#include <mslode/potential_expansion.hpp>
#include <mslode/radial_spline.hpp>
#include <mslode/simd.hpp>
#include <mslode/spherical_harmonics.hpp>

#include "check.hpp"

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

using namespace mslode;

namespace {

// f_ln(d) = (1 + l + 0.3 n) exp(-(n+1) d² / 4) d^l: distinct per (l, n)
void kernel(int max_radial, int max_angular, double d, double* values, double* derivatives) {
    for (int l = 0; l <= max_angular; ++l) {
        for (int n = 0; n < max_radial; ++n) {
            const double a = 1.0 + l + 0.3 * n, alpha = 0.25 * (n + 1.0);
            const double e = std::exp(-alpha * d * d), dl = std::pow(d, l);
            values[l * max_radial + n] = a * e * dl;
            derivatives[l * max_radial + n] = a * e * ((l == 0 ? 0.0 : l * std::pow(d, l - 1)) - 2.0 * alpha * d * dl);
        }
    }
}

template <class V>
void test_harmonics_many(int max_angular) {
    const SphericalHarmonics harmonics(max_angular);
    std::mt19937 rng(7);
    std::normal_distribution<double> normal;
    const size_t count = 12, stride = 16, LM = static_cast<size_t>(harmonics.size());
    std::vector<double> x(count), y(count), z(count), scale(count);
    for (size_t j = 0; j < count; ++j) {
        const double a = normal(rng), b = normal(rng), c = normal(rng), r = std::sqrt(a * a + b * b + c * c);
        x[j] = a / r, y[j] = b / r, z[j] = c / r, scale[j] = 0.5 + j;
    }
    x[3] = y[3] = 0.0, z[3] = 1.0;  // a pole
    std::vector<double> many(LM * stride, -1.0), one(LM);
    harmonics.template compute_unit_many<V>(x.data(), y.data(), z.data(), scale.data(), count, many.data(), stride);
    for (size_t j = 0; j < count; ++j) {
        harmonics.compute_unit(x[j], y[j], z[j], one.data());
        for (size_t lm = 0; lm < LM; ++lm) {
            check::close("Y_many lanes " + std::to_string(simd::lanes<V>) + " l_max " + std::to_string(max_angular) + " point " + std::to_string(j) + " lm " +
                             std::to_string(lm),
                         many[lm * stride + j], scale[j] * one[lm], 1e-14);
        }
    }
}

template <class V>
void test_spline_many(int max_radial, int max_angular) {
    const auto spline = RadialSpline::build(
        [=](double d, double* v, double* g) { kernel(max_radial, max_angular, d, v, g); }, max_radial, max_angular, 5.0,
        1e-8);
    const int width = spline.width();
    for (size_t count : {1, 3, 4, 7, 8, 13}) {
        std::vector<double> d(count);
        for (size_t j = 0; j < count; ++j) d[j] = 5.0 * (j + 0.37) / count;  // includes the first interval
        const size_t stride = count + 3;
        std::vector<double> many(static_cast<size_t>(width) * stride, -1.0), one(static_cast<size_t>(width));
        spline.template evaluate_many<V>(d.data(), count, many.data(), stride);
        for (size_t j = 0; j < count; ++j) {
            spline.evaluate(d[j], one.data(), nullptr);
            for (int k = 0; k < width; ++k) {
                check::close("spline_many lanes " + std::to_string(simd::lanes<V>) + " width " + std::to_string(width) + " count " + std::to_string(count) +
                                 " point " + std::to_string(j) + " k " + std::to_string(k),
                             many[static_cast<size_t>(k) * stride + j], one[static_cast<size_t>(k)], 1e-14);
            }
        }
    }
}

struct Pair {
    int channel;
    double x, y, z, w;
};

// Σ_j w_j f_ln(d_j) Y_lm(r̂_j), pair by pair, with `radial(d, values)`.
template <class Radial>
std::vector<double> reference_sum(const std::vector<Pair>& pairs, int channels, int max_radial,
                                  const SphericalHarmonics& harmonics, const Radial& radial) {
    const int LM = harmonics.size(), L = harmonics.max_angular(), N = max_radial;
    std::vector<double> out(static_cast<size_t>(channels * N * LM), 0.0);
    std::vector<double> values(static_cast<size_t>((L + 1) * N)), ylm(static_cast<size_t>(LM));
    for (const Pair& p : pairs) {
        const double d = std::sqrt(p.x * p.x + p.y * p.y + p.z * p.z);
        radial(d, values.data());
        if (d > 0.0) {
            harmonics.compute(p.x, p.y, p.z, ylm.data());
        } else {
            harmonics.compute_unit(0.0, 0.0, 1.0, ylm.data());
        }
        for (int n = 0; n < N; ++n)
            for (int l = 0; l <= L; ++l)
                for (int m = -l; m <= l; ++m)
                    out[static_cast<size_t>((p.channel * N + n) * LM + lm_index(l, m))] +=
                        p.w * values[static_cast<size_t>(l * N + n)] * ylm[static_cast<size_t>(lm_index(l, m))];
    }
    return out;
}

void compare(const std::string& what, const std::vector<double>& got, const std::vector<double>& expected, double tol) {
    double scale = 0.0;
    for (double v : expected) scale = std::max(scale, std::abs(v));
    for (size_t k = 0; k < got.size(); ++k) {
        check::close(what + " [" + std::to_string(k) + "]", got[k] / scale, expected[k] / scale, tol);
    }
}

void test_contraction(int max_radial, int max_angular, size_t n_pairs) {
    const auto spline = RadialSpline::build(
        [=](double d, double* v, double* g) { kernel(max_radial, max_angular, d, v, g); }, max_radial, max_angular, 6.0,
        1e-10);
    const SphericalHarmonics harmonics(max_angular);
    const int channels = 3;
    std::mt19937 rng(11);
    std::uniform_real_distribution<double> coordinate(-3.0, 3.0), weight(0.1, 1.0);
    std::uniform_int_distribution<int> channel(0, channels - 1);
    std::vector<Pair> pairs;
    for (size_t j = 0; j < n_pairs; ++j) {
        pairs.push_back({channel(rng), coordinate(rng), coordinate(rng), coordinate(rng), weight(rng)});
    }
    pairs.push_back({1, 0.0, 0.0, 0.0, 0.7});  // a source on the centre
    pairs.push_back({2, 0.0, 0.0, -1.5, 0.3});   // the south pole
    const std::string what = "contract n_max " + std::to_string(max_radial) + " l_max " + std::to_string(max_angular) +
                             " pairs " + std::to_string(pairs.size());

    PairContraction contraction;
    const size_t block = static_cast<size_t>(channels * max_radial * harmonics.size());
    std::vector<double> got(block, 0.0);
    for (int repeat = 0; repeat < 2; ++repeat) {  // a reused contraction starts clean after reset
        std::fill(got.begin(), got.end(), 0.0);
        contraction.reset(channels);
        for (const Pair& p : pairs) contraction.add(p.channel, p.x, p.y, p.z, p.w);
        check::truth(what + " size", contraction.size() == pairs.size());
        contraction.contract(max_radial, harmonics, spline, got.data());
    }
    const auto expected = reference_sum(pairs, channels, max_radial, harmonics,
                                        [&](double d, double* v) { spline.evaluate(d, v, nullptr); });
    compare(what, got, expected, 1e-13);
}

// A finite structure with sources inside the basis, around the switch and
// far beyond it, of three species; p = 1 (one series term) and p = 3 (several).
void test_potential_expansion(double p) {
    PotentialHypers hypers;
    hypers.cutoff = 3.0;
    hypers.gaussian_width = 0.4;
    hypers.max_radial = 5;
    hypers.max_angular = 3;
    hypers.potential_exponent = p;
    const std::vector<int> species = {1, 6, 8};
    const PotentialExpansion expansion(hypers, species);
    const double s = expansion.radial().switch_distance();
    std::mt19937 rng(5);
    std::uniform_real_distribution<double> unit(-1.0, 1.0);
    std::vector<double> positions;
    std::vector<int> types;
    for (int i = 0; i < 60; ++i) {
        const double r = (i < 20) ? 0.5 * s : (i < 40 ? 1.1 * s : 4.0 * s);  // near, just beyond, far
        positions.insert(positions.end(), {r * unit(rng), r * unit(rng), r * unit(rng)});
        types.push_back(species[static_cast<size_t>(i % 3)]);
    }
    Structure structure;
    structure.positions = positions.data();
    structure.types = types.data();
    structure.n_atoms = static_cast<int>(types.size());
    const auto prepared = expansion.prepare(structure);
    Workspace work;
    std::vector<double> got(static_cast<size_t>(expansion.block_size()));
    const SphericalHarmonics harmonics(hypers.max_angular);
    int far_pairs = 0;
    for (int center : {0, 25, 59}) {
        expansion.expand(structure, *prepared, center, got.data(), work);
        far_pairs += static_cast<int>(work.far_pairs.size());
        std::vector<Pair> pairs;
        for (int j = 0; j < structure.n_atoms; ++j) {
            if (j == center) continue;
            pairs.push_back({j % 3, positions[3 * static_cast<size_t>(j)] - positions[3 * static_cast<size_t>(center)],
                             positions[3 * static_cast<size_t>(j) + 1] - positions[3 * static_cast<size_t>(center) + 1],
                             positions[3 * static_cast<size_t>(j) + 2] - positions[3 * static_cast<size_t>(center) + 2], 1.0});
        }
        auto expected = reference_sum(pairs, 3, hypers.max_radial, harmonics,
                                      [&](double d, double* v) { expansion.radial().evaluate(d, v, nullptr); });
        std::vector<double> own(static_cast<size_t>(expansion.radial().width()));
        expansion.radial().evaluate(0.0, own.data(), nullptr);
        for (int n = 0; n < hypers.max_radial; ++n) {  // the centre's own source: l = 0 only
            expected[static_cast<size_t>(((center % 3) * hypers.max_radial + n) * harmonics.size())] +=
                own[static_cast<size_t>(n)] * 0.5 / std::sqrt(M_PI);
        }
        compare("potential p " + std::to_string(p) + " centre " + std::to_string(center), got, expected, 1e-12);
    }
    check::truth("potential p " + std::to_string(p) + ": far-field moments were used", far_pairs > 0);
}

}  // namespace

int main() {
    std::printf("pair loops run: %s\n", simd::instruction_set());
    for (int L : {0, 1, 4, 7}) test_harmonics_many<simd::Pack2>(L), test_harmonics_many<simd::Pack4>(L);
    for (int N : {1, 5, 6}) test_spline_many<simd::Pack2>(N, 4), test_spline_many<simd::Pack4>(N, 4);
    test_spline_many<simd::Pack2>(3, 0), test_spline_many<simd::Pack4>(3, 0);
    test_contraction(6, 4, 200);  // several chunks per channel
    test_contraction(5, 6, 70);   // odd sizes: register-block remainders, padding
    test_contraction(1, 0, 3);
    test_contraction(4, 2, 0);    // only the two fixed pairs
    test_potential_expansion(1.0);
    test_potential_expansion(3.0);
    return check::finish("test_pair_contraction");
}
