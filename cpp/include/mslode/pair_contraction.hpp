// The inner loop every expansion shares: the neighbours (or sources) of one
// centre, each a channel, a vector r_j from the centre and a weight w_j,
// contracted into
//   c[a][n][lm] += Σ_{j in channel a} w_j f_ln(|r_j|) Y_lm(r̂_j).
//
// Pairs are kept per channel as flat arrays (x, y, z, w), so their geometry
// stays at hand for derivatives. They are processed in chunks that fit in L1:
// distances and unit vectors, then the harmonics and the radial values of the
// whole chunk, stored transposed (pair index fastest); the contraction is
// then, for each l, a small matrix product C_l[n][m] += Σ_j R[l n][j] Y[l m][j]
// done in register blocks of 3 × 3 accumulators, each loaded value used
// three times. The whole loop is compiled for the build's baseline (packs of
// two doubles on SSE2 / NEON) and for AVX2 + FMA (packs of four), chosen at
// run time (simd.hpp).
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "simd.hpp"
#include "spherical_harmonics.hpp"

namespace mslode {

class PairContraction {
public:
    // Starts a centre: `n_channels` empty channels.
    void reset(int n_channels) {
        if (channels_.size() < static_cast<size_t>(n_channels)) channels_.resize(static_cast<size_t>(n_channels));
        n_channels_ = n_channels;
        for (int a = 0; a < n_channels; ++a) channels_[static_cast<size_t>(a)].size = 0;
    }

    // One pair: channel, vector from the centre (zero allowed: there only
    // l = 0 survives, as f_ln(0) = 0 for l > 0) and weight.
    void add(int channel, double dx, double dy, double dz, double weight) {
        Pairs& c = channels_[static_cast<size_t>(channel)];
        if (c.size == c.x.size()) c.grow(std::max<size_t>(64, 2 * c.size));
        c.x[c.size] = dx;
        c.y[c.size] = dy;
        c.z[c.size] = dz;
        c.w[c.size] = weight;
        ++c.size;
    }

    // Bulk filling: room for `extra` more pairs in `channel`, written through
    // the returned arrays at [size(channel), size(channel) + extra) and then
    // committed with commit(channel, count).
    struct Arrays {
        double *x, *y, *z, *w;
    };
    Arrays reserve(int channel, size_t extra) {
        Pairs& c = channels_[static_cast<size_t>(channel)];
        if (c.size + extra > c.x.size()) c.grow(std::max(c.size + extra, 2 * c.x.size()));
        return {c.x.data() + c.size, c.y.data() + c.size, c.z.data() + c.size, c.w.data() + c.size};
    }
    void commit(int channel, size_t count) { channels_[static_cast<size_t>(channel)].size += count; }

    size_t size() const {
        size_t total = 0;
        for (int a = 0; a < n_channels_; ++a) total += channels_[static_cast<size_t>(a)].size;
        return total;
    }

    // radial.evaluate_many(d, count, values, stride) fills
    // values[(l * max_radial + n) * stride + j] for the count distances d[j]
    // (count a multiple of simd::kMaxWidth; padding points have d = 1 and
    // w = 0), evaluate_many<V> for the pack V that the loop runs on.
    // `out` is the [channel][n][lm] block, added to.
    template <class Radial>
    void contract(int max_radial, const SphericalHarmonics& harmonics, const Radial& radial, double* out) {
        if (size() == 0) return;
        simd::dispatch([this, max_radial, &harmonics, &radial, out](auto pack) MSLODE_INLINE_LAMBDA {
            contract_body<decltype(pack)>(max_radial, harmonics, radial, out);
        });
    }

private:
    static constexpr size_t kChunk = 64;  // pairs per chunk: radial and harmonic buffers ~30 KB at n_max 6, l_max 4

    struct Pairs {
        std::vector<double> x, y, z, w;
        size_t size = 0;
        void grow(size_t capacity) {
            x.resize(capacity);
            y.resize(capacity);
            z.resize(capacity);
            w.resize(capacity);
        }
    };

    template <class V, class Radial>
    MSLODE_ALWAYS_INLINE void contract_body(int N, const SphericalHarmonics& harmonics, const Radial& radial,
                                            double* out) {
        const int L = harmonics.max_angular(), LM = lm_size(L);
        radial_t_.resize(static_cast<size_t>((L + 1) * N) * kChunk);
        harmonics_t_.resize(static_cast<size_t>(LM) * kChunk);
        for (int a = 0; a < n_channels_; ++a) {
            const Pairs& pairs = channels_[static_cast<size_t>(a)];
            double* block = out + static_cast<size_t>(a * N * LM);
            for (size_t c0 = 0; c0 < pairs.size; c0 += kChunk) {
                const size_t count = std::min(kChunk, pairs.size - c0);
                const size_t padded = simd::padded(count);
                unit_vectors(pairs, c0, count, padded);
                harmonics.template compute_unit_many<V>(ux_, uy_, uz_, w_, padded, harmonics_t_.data(), kChunk);
                radial.template evaluate_many<V>(d_, padded, radial_t_.data(), kChunk);
                contract_chunk<V>(L, N, LM, padded, block);
            }
        }
    }

    // d, r̂ and w of pairs [c0, c0 + count), padded to `padded` with points
    // that contribute nothing (w = 0) at a harmless distance.
    MSLODE_ALWAYS_INLINE void unit_vectors(const Pairs& pairs, size_t c0, size_t count, size_t padded) {
        const double *x = pairs.x.data() + c0, *y = pairs.y.data() + c0, *z = pairs.z.data() + c0;
        const double* w = pairs.w.data() + c0;
        for (size_t j = 0; j < count; ++j) {
            const double d = std::sqrt(x[j] * x[j] + y[j] * y[j] + z[j] * z[j]);
            const double inv = d > 0.0 ? 1.0 / d : 0.0;
            d_[j] = d;
            ux_[j] = x[j] * inv;
            uy_[j] = y[j] * inv;
            uz_[j] = d > 0.0 ? z[j] * inv : 1.0;  // any direction at d = 0: only l = 0 survives
            w_[j] = w[j];
        }
        for (size_t j = count; j < padded; ++j) {
            d_[j] = 1.0;
            ux_[j] = uy_[j] = 0.0;
            uz_[j] = 1.0;
            w_[j] = 0.0;
        }
    }

    template <class V>
    MSLODE_ALWAYS_INLINE void contract_chunk(int L, int N, int LM, size_t count, double* block) const {
        for (int l = 0; l <= L; ++l) {
            const int M = 2 * l + 1;
            for (int n0 = 0; n0 < N; n0 += 3) {
                const int nb = std::min(3, N - n0);
                const double* r = &radial_t_[static_cast<size_t>(l * N + n0) * kChunk];
                for (int m0 = 0; m0 < M; m0 += 3) {
                    const int mb = std::min(3, M - m0);
                    const double* y = &harmonics_t_[static_cast<size_t>(l * l + m0) * kChunk];
                    double* c = block + n0 * LM + l * l + m0;
                    switch (3 * nb + mb) {
                        case 3 * 1 + 1: accumulate<V, 1, 1>(r, y, count, c, LM); break;
                        case 3 * 1 + 2: accumulate<V, 1, 2>(r, y, count, c, LM); break;
                        case 3 * 1 + 3: accumulate<V, 1, 3>(r, y, count, c, LM); break;
                        case 3 * 2 + 1: accumulate<V, 2, 1>(r, y, count, c, LM); break;
                        case 3 * 2 + 2: accumulate<V, 2, 2>(r, y, count, c, LM); break;
                        case 3 * 2 + 3: accumulate<V, 2, 3>(r, y, count, c, LM); break;
                        case 3 * 3 + 1: accumulate<V, 3, 1>(r, y, count, c, LM); break;
                        case 3 * 3 + 2: accumulate<V, 3, 2>(r, y, count, c, LM); break;
                        default: accumulate<V, 3, 3>(r, y, count, c, LM); break;
                    }
                }
            }
        }
    }

    // c[a * LM + b] += Σ_j r[a][j] y[b][j], rows kChunk apart.
    template <class V, int NB, int MB>
    MSLODE_ALWAYS_INLINE static void accumulate(const double* r, const double* y, size_t count, double* c, int LM) {
        V acc[NB][MB];
        for (int a = 0; a < NB; ++a)
            for (int b = 0; b < MB; ++b) acc[a][b] = simd::broadcast<V>(0.0);
        for (size_t j = 0; j < count; j += simd::lanes<V>) {
            V rv[NB], yv[MB];
            for (int a = 0; a < NB; ++a) rv[a] = simd::load<V>(r + static_cast<size_t>(a) * kChunk + j);
            for (int b = 0; b < MB; ++b) yv[b] = simd::load<V>(y + static_cast<size_t>(b) * kChunk + j);
            for (int a = 0; a < NB; ++a)
                for (int b = 0; b < MB; ++b) acc[a][b] += rv[a] * yv[b];
        }
        for (int a = 0; a < NB; ++a)
            for (int b = 0; b < MB; ++b) c[a * LM + b] += simd::sum(acc[a][b]);
    }

    int n_channels_ = 0;
    std::vector<Pairs> channels_;
    std::vector<double> radial_t_, harmonics_t_;  // [(l * N + n) * kChunk + j], [lm * kChunk + j]
    double d_[kChunk], ux_[kChunk], uy_[kChunk], uz_[kChunk], w_[kChunk];
};

}  // namespace mslode
