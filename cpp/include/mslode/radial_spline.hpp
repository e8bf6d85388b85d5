// A table of radial functions f_ln(d), l = 0..max_angular, n = 0..max_radial-1,
// on a uniform cubic Hermite spline over [0, r_max]. A plain value type: built
// once from any radial kernel (density integrals, potentials, differences of
// two smearings, ...), then shared read-only between threads.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "parallel.hpp"
#include "simd.hpp"

namespace mslode {

// Fills values[l * max_radial + n] and derivatives (d/dd) at distance d.
using RadialKernel = std::function<void(double d, double* values, double* derivatives)>;

class RadialSpline {
public:
    RadialSpline() = default;

    // Tabulate `kernel` on [0, r_max], doubling the number of intervals until
    // the spline error at every interval midpoint is below
    // `accuracy * max_d |f_ln(d)|` for each function f_ln: relative to each
    // function's own size, whatever the units (a floor of 1 would make the
    // criterion absolute for functions smaller than 1 and let the small
    // high-l / high-n functions miss the requested accuracy). Functions that
    // vanish at every sampled point are held to an absolute `accuracy`.
    static RadialSpline build(const RadialKernel& kernel, int max_radial, int max_angular,
                              double r_max, double accuracy, int max_intervals = 1 << 16) {
        if (!(r_max > 0.0) || !std::isfinite(r_max)) throw std::invalid_argument("spline range must be positive and finite");
        if (!(accuracy > 0.0)) throw std::invalid_argument("spline accuracy must be positive");
        const size_t width = static_cast<size_t>(max_radial * (max_angular + 1));
        int intervals = 32;
        RadialSpline table(max_radial, max_angular, r_max, intervals);
        evaluate_kernel(kernel, table.step_, 0.0, intervals + 1, width, table.data_);
        std::vector<double> midpoints;
        double last_worst = 0.0;
        size_t last_worst_k = 0;
        while (true) {
            // each level's midpoints are the next level's odd nodes: no kernel
            // call is ever repeated
            evaluate_kernel(kernel, table.step_, 0.5 * table.step_, intervals, width, midpoints);
            std::vector<double> scale(width, 0.0);
            for (int i = 0; i <= intervals; ++i) {
                const double* node = table.node_values(i);
                for (size_t k = 0; k < width; ++k) scale[k] = std::max(scale[k], std::abs(node[k]));
            }
            for (int i = 0; i < intervals; ++i) {
                const double* mid = &midpoints[2 * width * static_cast<size_t>(i)];
                for (size_t k = 0; k < width; ++k) scale[k] = std::max(scale[k], std::abs(mid[k]));
            }
            for (size_t k = 0; k < width; ++k) {
                if (!(scale[k] > 0.0)) scale[k] = 1.0;
            }
            double worst = 0.0;
            size_t worst_k = 0;
            std::vector<double> spline_values(width);
            for (int i = 0; i < intervals; ++i) {
                table.evaluate((i + 0.5) * table.step_, spline_values.data(), nullptr);
                const double* exact = &midpoints[2 * width * static_cast<size_t>(i)];
                for (size_t k = 0; k < width; ++k) {
                    const double err = std::abs(spline_values[k] - exact[k]) / scale[k];
                    if (!(err <= worst)) {
                        worst = err;
                        worst_k = k;
                    }
                }
            }
            last_worst = worst;
            last_worst_k = worst_k;
            if (worst <= accuracy) {
                table.accuracy_ = accuracy;
                return table;
            }
            if (2 * intervals > max_intervals) break;
            RadialSpline finer(max_radial, max_angular, r_max, 2 * intervals);
            for (int i = 0; i <= intervals; ++i) {
                std::copy_n(&table.data_[2 * width * static_cast<size_t>(i)], 2 * width, &finer.data_[2 * width * static_cast<size_t>(2 * i)]);
                if (i < intervals) {
                    std::copy_n(&midpoints[2 * width * static_cast<size_t>(i)], 2 * width,
                                &finer.data_[2 * width * static_cast<size_t>(2 * i + 1)]);
                }
            }
            table = std::move(finer);
            intervals *= 2;
        }
        throw std::runtime_error(
            "radial spline did not reach accuracy " + format_g(accuracy) + " with " +
            std::to_string(max_intervals) + " intervals: function l = " +
            std::to_string(last_worst_k / static_cast<size_t>(max_radial)) + ", n = " +
            std::to_string(last_worst_k % static_cast<size_t>(max_radial)) + " is off by " + format_g(last_worst) +
            " of its maximum (round-off in the kernel? ask for a coarser accuracy or a smaller max_radial)");
    }

    static std::string format_g(double x) {
        char buffer[32];
        std::snprintf(buffer, sizeof buffer, "%.3g", x);
        return buffer;
    }

    int max_radial() const { return max_radial_; }
    int max_angular() const { return max_angular_; }
    int width() const { return max_radial_ * (max_angular_ + 1); }
    double r_max() const { return r_max_; }
    int intervals() const { return intervals_; }
    double accuracy() const { return accuracy_; }

    // values (and derivatives, when non-null) of all f_ln at d in [0, r_max].
    void evaluate(double d, double* values, double* derivatives) const {
        const int w = width();
        const Hermite h = locate(d);
        const double* p0 = h.node;
        const double* m0 = p0 + w;
        const double* p1 = m0 + w;
        const double* m1 = p1 + w;
        for (int k = 0; k < w; ++k) values[k] = h.value(k, w);
        if (derivatives != nullptr) {
            const double t = h.t, t2 = t * t;
            const double d00 = (6 * t2 - 6 * t) * inv_step_, d10 = 3 * t2 - 4 * t + 1;
            const double d01 = (-6 * t2 + 6 * t) * inv_step_, d11 = 3 * t2 - 2 * t;
            for (int k = 0; k < w; ++k) derivatives[k] = d00 * p0[k] + d10 * m0[k] + d01 * p1[k] + d11 * m1[k];
        }
    }

    // values of all f_ln at d[j], j < count, into out[(l * max_radial + n) *
    // stride + j]: the transposed layout of the pair loops.
    template <class V = simd::NativePack>
    MSLODE_ALWAYS_INLINE void evaluate_many(const double* d, size_t count, double* out, size_t stride) const {
        write_transposed<V>([&](size_t j) MSLODE_INLINE_LAMBDA { return locate(d[j]); }, count, width(), out, stride);
    }

    // d/dd of all f_ln at d[j], in the layout of evaluate_many.
    template <class V = simd::NativePack>
    MSLODE_ALWAYS_INLINE void evaluate_slopes_many(const double* d, size_t count, double* out, size_t stride) const {
        write_transposed<V>([&](size_t j) MSLODE_INLINE_LAMBDA { return locate_slope(d[j]); }, count, width(), out, stride);
    }

    // The interval of d (the last one beyond r_max) and its cubic Hermite
    // weights: value = h00 p0 + h10 m0 + h01 p1 + h11 m1 (p: values, m:
    // derivatives at the interval's two nodes).
    struct Hermite {
        const double* node;
        double t, h00, h10, h01, h11;

        // function k of `width`, and functions k, k + 1, ... as a pack
        MSLODE_ALWAYS_INLINE double value(int k, int width) const {
            return h00 * node[k] + h10 * node[width + k] + h01 * node[2 * width + k] + h11 * node[3 * width + k];
        }
        template <class V>
        MSLODE_ALWAYS_INLINE V combine(int k, int width) const {
            using simd::broadcast;
            using simd::load;
            return broadcast<V>(h00) * load<V>(node + k) + broadcast<V>(h10) * load<V>(node + width + k) +
                   broadcast<V>(h01) * load<V>(node + 2 * width + k) + broadcast<V>(h11) * load<V>(node + 3 * width + k);
        }
    };
    MSLODE_ALWAYS_INLINE Hermite locate(double d) const {
        const double x = d * inv_step_;
        int i = static_cast<int>(x);
        if (i >= intervals_) i = intervals_ - 1;
        if (i < 0) i = 0;
        const double t = x - i;
        const double t2 = t * t, t3 = t2 * t;
        return {&data_[static_cast<size_t>(2 * i) * static_cast<size_t>(width())], t, 2 * t3 - 3 * t2 + 1,
                (t3 - 2 * t2 + t) * step_, -2 * t3 + 3 * t2, (t3 - t2) * step_};
    }

    // The same interval with the weights of the interpolant's derivative.
    MSLODE_ALWAYS_INLINE Hermite locate_slope(double d) const {
        Hermite h = locate(d);
        const double t = h.t, t2 = t * t;
        h.h00 = (6 * t2 - 6 * t) * inv_step_;
        h.h10 = 3 * t2 - 4 * t + 1;
        h.h01 = (-6 * t2 + 6 * t) * inv_step_;
        h.h11 = 3 * t2 - 2 * t;
        return h;
    }

    // Values of `width` functions at `count` points, point j located by
    // locate(j) (in any table of that width), into out[k * stride + j]. W
    // points at a time (W the lanes of V): each reads its interval's rows in
    // packs, and a W × W transpose turns W points' values of W functions
    // into W whole stores.
    template <class V, class Locate>
    MSLODE_ALWAYS_INLINE static void write_transposed(const Locate& locate, size_t count, int width, double* out,
                                                      size_t stride) {
        constexpr int W = simd::lanes<V>;
        size_t j = 0;
        for (; j + W <= count; j += W) {
            Hermite h[W];
            for (int i = 0; i < W; ++i) h[i] = locate(j + static_cast<size_t>(i));
            int k = 0;
            for (; k + W <= width; k += W) {
                V v[W];
                for (int i = 0; i < W; ++i) v[i] = h[i].template combine<V>(k, width);
                simd::transpose(v);
                for (int i = 0; i < W; ++i) simd::store(out + static_cast<size_t>(k + i) * stride + j, v[i]);
            }
            for (; k < width; ++k) {
                for (int i = 0; i < W; ++i) {
                    out[static_cast<size_t>(k) * stride + j + static_cast<size_t>(i)] = h[i].value(k, width);
                }
            }
        }
        for (; j < count; ++j) {
            const Hermite h = locate(j);
            for (int k = 0; k < width; ++k) out[static_cast<size_t>(k) * stride + j] = h.value(k, width);
        }
    }

private:
    RadialSpline(int max_radial, int max_angular, double r_max, int intervals)
        : max_radial_(max_radial), max_angular_(max_angular), intervals_(intervals), r_max_(r_max),
          step_(r_max / intervals), inv_step_(intervals / r_max) {
        data_.assign(2 * static_cast<size_t>(width()) * static_cast<size_t>(intervals + 1), 0.0);
    }

    // kernel at offset + i * step, i < count, into out[i][values | derivatives];
    // points are independent, so threads share them (kernels are const).
    static void evaluate_kernel(const RadialKernel& kernel, double step, double offset, int count, size_t width,
                                std::vector<double>& out) {
        out.assign(2 * width * static_cast<size_t>(count), 0.0);
        FirstError errors;
#pragma omp parallel for schedule(dynamic)
        for (int i = 0; i < count; ++i) {
            double* node = &out[2 * width * static_cast<size_t>(i)];
            errors.run([&] { kernel(offset + i * step, node, node + width); });
        }
        errors.rethrow();
    }
    const double* node_values(int i) const { return &data_[2 * static_cast<size_t>(width()) * static_cast<size_t>(i)]; }

    int max_radial_ = 0;
    int max_angular_ = 0;
    int intervals_ = 0;
    double r_max_ = 0.0;
    double step_ = 0.0;
    double inv_step_ = 0.0;
    double accuracy_ = 0.0;
    // node-major: [node][values | derivatives][l * max_radial + n]
    std::vector<double> data_;
};

// Uniform spline segments [0, r_c], [r_c, 2 r_c], [2 r_c, 4 r_c], ... up to
// `end`: radial functions vary on the scale of σ near the centre, of the
// basis beyond r_c and ever more slowly further out, so one grid for all
// would be as fine as the first everywhere.
class SegmentedSpline {
public:
    SegmentedSpline() = default;
    // kernel_up_to(stop): a kernel good for distances up to `stop` (a
    // quadrature may be cheaper when it need not reach far).
    template <class KernelFactory>
    SegmentedSpline(const KernelFactory& kernel_up_to, int max_radial, int max_angular, double cutoff, double end,
                    double accuracy) {
        for (double start = 0.0, stop = std::min(cutoff, end); start < end; start = stop, stop = std::min(2.0 * stop, end)) {
            const RadialKernel kernel = kernel_up_to(stop);
            start_.push_back(start);
            segments_.push_back(RadialSpline::build([&kernel, start](double u, double* v, double* g) { kernel(start + u, v, g); },
                                                    max_radial, max_angular, stop - start, accuracy));
        }
    }

    int intervals() const {
        int total = 0;
        for (const auto& segment : segments_) total += segment.intervals();
        return total;
    }

    void evaluate(double d, double* values, double* derivatives) const {
        const size_t k = segment_of(d);
        segments_[k].evaluate(d - start_[k], values, derivatives);
    }

    // The pair loops' layout (see RadialSpline::evaluate_many); d beyond the
    // last segment gets that segment's extrapolation: callers keep such
    // points out or overwrite them.
    template <class V = simd::NativePack>
    MSLODE_ALWAYS_INLINE void evaluate_many(const double* d, size_t count, double* out, size_t stride) const {
        write_many<V, false>(d, count, out, stride);
    }
    template <class V = simd::NativePack>
    MSLODE_ALWAYS_INLINE void evaluate_slopes_many(const double* d, size_t count, double* out, size_t stride) const {
        write_many<V, true>(d, count, out, stride);
    }

private:
    template <class V, bool Slopes>
    MSLODE_ALWAYS_INLINE void write_many(const double* d, size_t count, double* out, size_t stride) const {
        RadialSpline::write_transposed<V>(
            [&](size_t j) MSLODE_INLINE_LAMBDA {
                const size_t k = segment_of(d[j]);
                return Slopes ? segments_[k].locate_slope(d[j] - start_[k]) : segments_[k].locate(d[j] - start_[k]);
            },
            count, segments_.front().width(), out, stride);
    }

    MSLODE_ALWAYS_INLINE size_t segment_of(double d) const {
        size_t k = 0;
        while (k + 1 < start_.size() && d >= start_[k + 1]) ++k;
        return k;
    }

    std::vector<RadialSpline> segments_;  // in d - start_[k]
    std::vector<double> start_;
};

}  // namespace mslode
