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
    // l = 0 survives, as f_ln(0) = 0 for l > 0) and weight; for a backward
    // pass also the weight's derivative d w/d|r| and the atom the vector
    // points to (whose gradient it gives).
    void add(int channel, double dx, double dy, double dz, double weight, double weight_derivative = 0.0, int atom = -1) {
        Pairs& c = channels_[static_cast<size_t>(channel)];
        if (c.size == c.x.size()) c.grow(std::max<size_t>(64, 2 * c.size));
        c.x[c.size] = dx;
        c.y[c.size] = dy;
        c.z[c.size] = dz;
        c.w[c.size] = weight;
        c.dw[c.size] = weight_derivative;
        c.atom[c.size] = atom;
        ++c.size;
    }

    // The backward pass of contract() for pairs added with their atoms: for
    // the cotangent T of the block, the gradient g with respect to each
    // pair's vector r of Σ_{n l m} T[a][n][lm] w f_ln(d) Y_lm(r̂),
    //   g = (w Σ T f' Y + w' Σ T f Y) r̂ + (w/d) Σ T f ∇Y
    // (pair_gradient.hpp's formula), handed to add(atom, r, g), pair by pair.
    // The same chunks and packs as contract(): per chunk the radial
    // functions with their slopes (radial.evaluate_slopes_many), then per
    // pack of pairs the harmonics and their gradients made in registers
    // (SphericalHarmonics::for_each_gradient), each (l, m) contracted with
    // T and the radial rows as it comes (2 N products per lm).
    template <class Radial, class Add>
    void contract_backward(int max_radial, const SphericalHarmonics& harmonics, const Radial& radial,
                           const double* cotangent, const Add& add) {
        if (size() == 0) return;
        simd::dispatch([this, max_radial, &harmonics, &radial, cotangent, &add](auto pack) MSLODE_INLINE_LAMBDA {
            backward_body<decltype(pack)>(max_radial, harmonics, radial, cotangent, add);
        });
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
        std::vector<double> x, y, z, w, dw;
        std::vector<int> atom;
        size_t size = 0;
        void grow(size_t capacity) {
            x.resize(capacity);
            y.resize(capacity);
            z.resize(capacity);
            w.resize(capacity);
            dw.resize(capacity);
            atom.resize(capacity);
        }
    };

    template <class V, class Radial, class Add>
    MSLODE_ALWAYS_INLINE void backward_body(int N, const SphericalHarmonics& harmonics, const Radial& radial,
                                            const double* cotangent, const Add& add) {
        using simd::broadcast;
        using simd::load;
        const int L = harmonics.max_angular(), LM = lm_size(L);
        radial_t_.resize(static_cast<size_t>((L + 1) * N) * kChunk);
        slopes_t_.resize(radial_t_.size());
        for (int a = 0; a < n_channels_; ++a) {
            const Pairs& pairs = channels_[static_cast<size_t>(a)];
            const double* T = cotangent + static_cast<size_t>(a * N * LM);
            for (size_t c0 = 0; c0 < pairs.size; c0 += kChunk) {
                const size_t count = std::min(kChunk, pairs.size - c0);
                const size_t padded = simd::padded(count);
                unit_vectors(pairs, c0, count, padded);
                for (size_t j = 0; j < padded; ++j) {
                    dwc_[j] = j < count ? pairs.dw[c0 + j] : 0.0;
                    wd_[j] = w_[j] / d_[j];
                }
                radial.template evaluate_many<V>(d_, padded, radial_t_.data(), kChunk);
                radial.template evaluate_slopes_many<V>(d_, padded, slopes_t_.data(), kChunk);
                for (size_t j = 0; j < padded; j += simd::lanes<V>) {
                    const V X = load<V>(ux_ + j), Y = load<V>(uy_ + j), Z = load<V>(uz_ + j);
                    // Σ T f Y, Σ T f' Y and Σ T f ∇P (∇P: the gradient of the
                    // harmonics' polynomial, projected on the tangent plane
                    // once, after the sum): the harmonics' recurrences run here,
                    // in registers, each Y_lm used as it is made
                    V value = broadcast<V>(0.0), slope = value, tx = value, ty = value, tz = value;
                    harmonics.template for_each_gradient<V>(X, Y, Z, [&](int l, int k, V y, V gx, V gy, V gz)
                                                                        MSLODE_INLINE_LAMBDA {
                        const double* R = &radial_t_[static_cast<size_t>(l * N) * kChunk + j];
                        const double* S = &slopes_t_[static_cast<size_t>(l * N) * kChunk + j];
                        V A = broadcast<V>(0.0), dA = A;
                        for (int n = 0; n < N; ++n) {
                            const V t = broadcast<V>(T[n * LM + k]);
                            A += t * load<V>(R + static_cast<size_t>(n) * kChunk);
                            dA += t * load<V>(S + static_cast<size_t>(n) * kChunk);
                        }
                        value += A * y;
                        slope += dA * y;
                        tx += A * gx;
                        ty += A * gy;
                        tz += A * gz;
                    });
                    const V radial_part = X * tx + Y * ty + Z * tz;
                    tx = tx - X * radial_part;
                    ty = ty - Y * radial_part;
                    tz = tz - Z * radial_part;
                    const V along = load<V>(w_ + j) * slope + load<V>(dwc_ + j) * value, wd = load<V>(wd_ + j);
                    simd::store(gx_ + j, along * X + wd * tx);
                    simd::store(gy_ + j, along * Y + wd * ty);
                    simd::store(gz_ + j, along * Z + wd * tz);
                }
                for (size_t j = 0; j < count; ++j) {
                    const double r[3] = {pairs.x[c0 + j], pairs.y[c0 + j], pairs.z[c0 + j]};
                    const double g[3] = {gx_[j], gy_[j], gz_[j]};
                    add(pairs.atom[c0 + j], r, g);
                }
            }
        }
    }

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
    std::vector<double> slopes_t_;                // backward: d/dd of the radial rows
    double d_[kChunk], ux_[kChunk], uy_[kChunk], uz_[kChunk], w_[kChunk];
    double dwc_[kChunk], wd_[kChunk], gx_[kChunk], gy_[kChunk], gz_[kChunk];  // backward only
};

}  // namespace mslode
