// RadialSpline (radial_spline.hpp): tabulate analytic kernels and check that
// the promised accuracy holds at random points (not only at the midpoints the
// builder samples), that derivatives follow the analytic ones, and that the
// (l, n) layout is values[l * max_radial + n].
#include <mslode/radial_spline.hpp>

#include "check.hpp"

#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

using mslode::RadialSpline;

namespace {

// f_ln(d) = A_ln exp(-(n+1) d²) d^l, with a different amplitude per (l, n)
// so that a transposed layout cannot pass.
double amplitude(int l, int n) { return 1.0 + 0.5 * l - 0.25 * n + 10.0 * (l == 2 && n == 1); }

void gaussian_kernel(int max_radial, int max_angular, double d, double* values, double* derivatives) {
    for (int l = 0; l <= max_angular; ++l) {
        for (int n = 0; n < max_radial; ++n) {
            const double a = amplitude(l, n), alpha = n + 1.0;
            const double e = std::exp(-alpha * d * d);
            const double dl = std::pow(d, l);
            const int k = l * max_radial + n;
            values[k] = a * e * dl;
            // d/dd [d^l e^{-α d²}] = e^{-α d²} (l d^(l-1) - 2α d^(l+1))
            const double dlm1 = (l == 0) ? 0.0 : l * std::pow(d, l - 1);
            derivatives[k] = a * e * (dlm1 - 2.0 * alpha * d * dl);
        }
    }
}

struct Stats {
    double worst_value = 0.0;  // in units of accuracy * scale
    double worst_derivative = 0.0;
};

Stats check_against_analytic(const RadialSpline& spline, int max_radial, int max_angular, double r_max,
                             double accuracy, const std::string& label) {
    const int width = max_radial * (max_angular + 1);
    std::vector<double> sv(static_cast<size_t>(width)), sd(static_cast<size_t>(width));
    std::vector<double> av(static_cast<size_t>(width)), ad(static_cast<size_t>(width));
    // scale of each function as the builder defines it: max(1, max |f|)
    std::vector<double> scale(static_cast<size_t>(width), 1.0), dscale(static_cast<size_t>(width), 1.0);
    for (int i = 0; i <= 20000; ++i) {
        gaussian_kernel(max_radial, max_angular, r_max * i / 20000.0, av.data(), ad.data());
        for (int k = 0; k < width; ++k) {
            scale[static_cast<size_t>(k)] = std::max(scale[static_cast<size_t>(k)], std::abs(av[static_cast<size_t>(k)]));
            dscale[static_cast<size_t>(k)] = std::max(dscale[static_cast<size_t>(k)], std::abs(ad[static_cast<size_t>(k)]));
        }
    }
    const double h = r_max / spline.intervals();
    Stats stats;
    for (int i = 0; i < 20000; ++i) {
        const double d = (i < 3) ? std::vector<double>{0.0, r_max, 0.5 * h}[static_cast<size_t>(i)]
                                 : check::uniform(0.0, r_max);
        spline.evaluate(d, sv.data(), sd.data());
        gaussian_kernel(max_radial, max_angular, d, av.data(), ad.data());
        for (int k = 0; k < width; ++k) {
            const size_t s = static_cast<size_t>(k);
            stats.worst_value = std::max(stats.worst_value, std::abs(sv[s] - av[s]) / (accuracy * scale[s]));
            // Cubic Hermite: derivative error ≲ 3.1/h × the value error bound
            // (f'''' h³ max|2t(1-t)(1-2t)|/24 vs f'''' h⁴/384).
            stats.worst_derivative =
                std::max(stats.worst_derivative, std::abs(sd[s] - ad[s]) * h / (accuracy * scale[s]));
        }
    }
    std::printf("%s: %d intervals, worst value error %.3f x accuracy, worst derivative error %.3f x accuracy/h\n",
                label.c_str(), spline.intervals(), stats.worst_value, stats.worst_derivative);
    return stats;
}

void test_accuracy(double accuracy, int max_radial, int max_angular, double r_max) {
    const auto kernel = [=](double d, double* v, double* dv) { gaussian_kernel(max_radial, max_angular, d, v, dv); };
    const RadialSpline spline = RadialSpline::build(kernel, max_radial, max_angular, r_max, accuracy);
    char buffer[128];
    std::snprintf(buffer, sizeof buffer, "accuracy %g n_max %d l_max %d r_max %g", accuracy, max_radial, max_angular,
                  r_max);
    const std::string label = buffer;
    check::truth(label + ": metadata", spline.max_radial() == max_radial && spline.max_angular() == max_angular &&
                                           spline.r_max() == r_max && spline.accuracy() == accuracy &&
                                           spline.width() == max_radial * (max_angular + 1));
    const Stats stats = check_against_analytic(spline, max_radial, max_angular, r_max, accuracy, label);
    // The builder checks midpoints, where the Hermite error kernel peaks; allow
    // a little for f'''' varying inside an interval.
    check::truth(label + ": value error <= 1.5 x accuracy at random points", stats.worst_value <= 1.5);
    check::truth(label + ": derivative error <= 6 x accuracy / h", stats.worst_derivative <= 6.0);
}

void test_nodes_exact() {
    // At the nodes the spline reproduces the kernel values and derivatives.
    const int nr = 3, la = 2;
    const double r_max = 4.0;
    const auto kernel = [=](double d, double* v, double* dv) { gaussian_kernel(nr, la, d, v, dv); };
    const RadialSpline spline = RadialSpline::build(kernel, nr, la, r_max, 1e-6);
    const int w = nr * (la + 1);
    std::vector<double> sv(static_cast<size_t>(w)), sd(static_cast<size_t>(w)), av(static_cast<size_t>(w)),
        ad(static_cast<size_t>(w));
    for (int i = 0; i <= spline.intervals(); i += 7) {
        const double d = i * (r_max / spline.intervals());
        spline.evaluate(d, sv.data(), sd.data());
        kernel(d, av.data(), ad.data());
        for (int k = 0; k < w; ++k) {
            check::close("node value", sv[static_cast<size_t>(k)], av[static_cast<size_t>(k)], 1e-13);
            check::close("node derivative", sd[static_cast<size_t>(k)], ad[static_cast<size_t>(k)], 1e-12);
        }
    }
    // values only (derivatives == nullptr) is the same as with derivatives
    std::vector<double> only(static_cast<size_t>(w));
    spline.evaluate(1.2345, only.data(), nullptr);
    spline.evaluate(1.2345, sv.data(), sd.data());
    for (int k = 0; k < w; ++k) check::close("evaluate without derivatives", only[static_cast<size_t>(k)], sv[static_cast<size_t>(k)], 0.0);
}

void test_polynomial_exact() {
    // A cubic is reproduced exactly by a cubic Hermite spline: 32 intervals
    // must suffice and the result is exact to round-off everywhere.
    const auto kernel = [](double d, double* v, double* dv) {
        v[0] = 2.0 - 3.0 * d + 0.5 * d * d * d;
        dv[0] = -3.0 + 1.5 * d * d;
        v[1] = d * d;
        dv[1] = 2.0 * d;
    };
    const RadialSpline spline = RadialSpline::build(kernel, 2, 0, 3.0, 1e-12);
    check::truth("cubic kernel: 32 intervals", spline.intervals() == 32);
    double v[2], dv[2], av[2], adv[2];
    for (int i = 0; i < 1000; ++i) {
        const double d = check::uniform(0.0, 3.0);
        spline.evaluate(d, v, dv);
        kernel(d, av, adv);
        check::close("cubic value n=0", v[0], av[0], 1e-12);
        check::close("cubic value n=1", v[1], av[1], 1e-12);
        check::close("cubic derivative n=0", dv[0], adv[0], 1e-11);
        check::close("cubic derivative n=1", dv[1], adv[1], 1e-11);
    }
}

void test_errors() {
    const auto kernel = [](double d, double* v, double* dv) {
        v[0] = std::sin(40.0 * d);
        dv[0] = 40.0 * std::cos(40.0 * d);
    };
    bool threw = false;
    try {
        RadialSpline::build(kernel, 1, 0, 10.0, 1e-12, 64);
    } catch (const std::runtime_error&) {
        threw = true;
    }
    check::truth("unreachable accuracy throws runtime_error", threw);
    threw = false;
    try {
        RadialSpline::build(kernel, 1, 0, -1.0, 1e-6);
    } catch (const std::invalid_argument&) {
        threw = true;
    }
    check::truth("negative r_max throws invalid_argument", threw);
    threw = false;
    try {
        RadialSpline::build(kernel, 1, 0, 1.0, 0.0);
    } catch (const std::invalid_argument&) {
        threw = true;
    }
    check::truth("zero accuracy throws invalid_argument", threw);
}

}  // namespace

int main() {
    test_accuracy(1e-6, 4, 3, 5.0);
    test_accuracy(1e-9, 3, 6, 6.0);
    test_accuracy(1e-4, 6, 0, 3.0);
    test_nodes_exact();
    test_polynomial_exact();
    test_errors();
    return check::finish("test_radial_spline");
}
