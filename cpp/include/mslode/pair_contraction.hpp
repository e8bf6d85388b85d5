// The inner loop every expansion shares: the neighbours (or sources) of one
// centre, each a channel, a distance and a direction, contracted into
//   c[a][n][lm] += Σ_{j in channel a} w_j f_ln(d_j) Y_lm(r̂_j).
// Pairs are gathered first (their geometry stays at hand for derivatives),
// grouped by channel, their radial values and harmonics stored transposed
// (pair index fastest), so the contraction is a set of contiguous dot
// products instead of a read-modify-write of the whole block per pair.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "spherical_harmonics.hpp"

namespace mslode {

class PairContraction {
public:
    void clear() {
        channel_.clear();
        geometry_.clear();
    }

    // One pair: channel, distance, unit vector (ignored at d = 0) and weight.
    void add(int channel, double d, double ux, double uy, double uz, double weight) {
        channel_.push_back(channel);
        geometry_.insert(geometry_.end(), {d, ux, uy, uz, weight});
    }

    size_t size() const { return channel_.size(); }

    // radial(d, values) fills values[l * max_radial + n]; `out` is the
    // [channel][n][lm] block, added to.
    template <class Radial>
    void contract(int n_channels, int max_radial, const SphericalHarmonics& harmonics, Radial&& radial, double* out) {
        const int N = max_radial, L = harmonics.max_angular(), LM = lm_size(L);
        const size_t width = static_cast<size_t>((L + 1) * N);
        const size_t pairs = channel_.size();
        if (pairs == 0) return;

        // pair indices grouped by channel (counting sort)
        start_.assign(static_cast<size_t>(n_channels) + 1, 0);
        for (int a : channel_) start_[static_cast<size_t>(a) + 1]++;
        for (int a = 0; a < n_channels; ++a) start_[static_cast<size_t>(a) + 1] += start_[static_cast<size_t>(a)];
        slot_.assign(start_.begin(), start_.end() - 1);
        order_.resize(pairs);
        for (size_t p = 0; p < pairs; ++p) order_[static_cast<size_t>(slot_[static_cast<size_t>(channel_[p])]++)] = static_cast<int>(p);

        // chunks of kChunk pairs keep the transposed buffers in L1/L2
        radial_t_.resize(width * kChunk);
        harmonics_t_.resize(static_cast<size_t>(LM) * kChunk);
        values_.resize(width);
        ylm_.resize(static_cast<size_t>(LM));
        for (int a = 0; a < n_channels; ++a) {
            double* block = out + static_cast<size_t>(a * N * LM);
            for (size_t c0 = static_cast<size_t>(start_[static_cast<size_t>(a)]);
                 c0 < static_cast<size_t>(start_[static_cast<size_t>(a) + 1]); c0 += kChunk) {
                const size_t count = std::min(kChunk, static_cast<size_t>(start_[static_cast<size_t>(a) + 1]) - c0);
                for (size_t j = 0; j < count; ++j) {
                    const double* g = &geometry_[5 * static_cast<size_t>(order_[c0 + j])];
                    radial(g[0], values_.data());
                    if (g[0] > 0.0) {
                        harmonics.compute_unit(g[1], g[2], g[3], ylm_.data());
                    } else {
                        harmonics.compute_unit(0.0, 0.0, 1.0, ylm_.data());  // only l = 0 survives at d = 0
                    }
                    const double w = g[4];
                    for (size_t k = 0; k < width; ++k) radial_t_[k * kChunk + j] = w * values_[k];
                    for (size_t k = 0; k < static_cast<size_t>(LM); ++k) harmonics_t_[k * kChunk + j] = ylm_[k];
                }
                for (int l = 0; l <= L; ++l) {
                    for (int n = 0; n < N; ++n) {
                        const double* r = &radial_t_[static_cast<size_t>(l * N + n) * kChunk];
                        for (int lm = l * l; lm < (l + 1) * (l + 1); ++lm) {
                            const double* y = &harmonics_t_[static_cast<size_t>(lm) * kChunk];
                            double acc = 0.0;
#pragma omp simd reduction(+ : acc)
                            for (size_t j = 0; j < count; ++j) acc += r[j] * y[j];
                            block[n * LM + lm] += acc;
                        }
                    }
                }
            }
        }
    }

private:
    static constexpr size_t kChunk = 64;
    std::vector<int> channel_;
    std::vector<double> geometry_;  // per pair: d, ux, uy, uz, weight
    std::vector<int> start_, slot_, order_;
    std::vector<double> radial_t_, harmonics_t_, values_, ylm_;
};

}  // namespace mslode
