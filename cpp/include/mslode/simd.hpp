// Packs of four doubles and run-time choice of the instruction set for the
// pair loops.
//
// The hot loops are written once on Pack and compiled twice: for the
// baseline of the build (x86-64: SSE2, two doubles per instruction, no FMA)
// and, on x86-64 with GCC or Clang, for AVX2 + FMA, chosen when the CPU has
// it. So one portable build (a wheel, a module installed for a whole
// cluster) runs the wide code wherever it can and still runs everywhere;
// MSLODE_NATIVE builds (-march=native) need no choice and compile once.
// (GCC's -Wpsabi note that a 32-byte vector passed by value "changes the
// ABI" without AVX does not apply: those functions are always inlined; the
// CMake target mslode::mslode turns it off.)
//
// How a loop uses it: its body is an MSLODE_ALWAYS_INLINE function, called
// from a thin MSLODE_TARGET_AVX2 wrapper and from a plain one; everything the
// body calls in its hot path is MSLODE_ALWAYS_INLINE too, so that it is
// compiled inside each wrapper with that wrapper's instruction set.
#pragma once

#include <cstring>

#if defined(__GNUC__) || defined(__clang__)
#define MSLODE_ALWAYS_INLINE inline __attribute__((always_inline))
#define MSLODE_INLINE_LAMBDA __attribute__((always_inline))  // after a lambda's parameter list
#else
#define MSLODE_ALWAYS_INLINE inline
#define MSLODE_INLINE_LAMBDA
#endif

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__) && !defined(__AVX2__) && \
    !defined(MSLODE_NO_DISPATCH)
#define MSLODE_DISPATCH_AVX2 1
#define MSLODE_TARGET_AVX2 __attribute__((target("avx2,fma")))
#else
#define MSLODE_DISPATCH_AVX2 0
#define MSLODE_TARGET_AVX2
#endif

namespace mslode {
namespace simd {

constexpr int kWidth = 4;

// Rounds a count of lanes up to whole packs.
constexpr size_t padded(size_t count) { return (count + kWidth - 1) / kWidth * kWidth; }

#if defined(__GNUC__) || defined(__clang__)
typedef double Pack __attribute__((vector_size(4 * sizeof(double))));

MSLODE_ALWAYS_INLINE Pack load(const double* p) {
    Pack v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
MSLODE_ALWAYS_INLINE void store(double* p, Pack v) { std::memcpy(p, &v, sizeof v); }
MSLODE_ALWAYS_INLINE Pack broadcast(double x) { return Pack{x, x, x, x}; }
MSLODE_ALWAYS_INLINE double lane(Pack v, int i) { return v[i]; }
#else
struct Pack {
    double v[4];
    Pack& operator+=(const Pack& o) {
        for (int i = 0; i < 4; ++i) v[i] += o.v[i];
        return *this;
    }
    friend Pack operator+(Pack a, const Pack& b) { return a += b; }
    friend Pack operator-(Pack a, const Pack& b) {
        for (int i = 0; i < 4; ++i) a.v[i] -= b.v[i];
        return a;
    }
    friend Pack operator*(Pack a, const Pack& b) {
        for (int i = 0; i < 4; ++i) a.v[i] *= b.v[i];
        return a;
    }
    friend Pack operator/(Pack a, const Pack& b) {
        for (int i = 0; i < 4; ++i) a.v[i] /= b.v[i];
        return a;
    }
};
inline Pack load(const double* p) {
    Pack v;
    std::memcpy(v.v, p, sizeof v.v);
    return v;
}
inline void store(double* p, Pack v) { std::memcpy(p, v.v, sizeof v.v); }
inline Pack broadcast(double x) { return Pack{{x, x, x, x}}; }
inline double lane(Pack v, int i) { return v.v[i]; }
#endif

// Rows a, b, c, d of a 4 × 4 block become its columns.
MSLODE_ALWAYS_INLINE void transpose(Pack& a, Pack& b, Pack& c, Pack& d) {
#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 12)
    const Pack ab_even = __builtin_shufflevector(a, b, 0, 4, 2, 6), ab_odd = __builtin_shufflevector(a, b, 1, 5, 3, 7);
    const Pack cd_even = __builtin_shufflevector(c, d, 0, 4, 2, 6), cd_odd = __builtin_shufflevector(c, d, 1, 5, 3, 7);
    a = __builtin_shufflevector(ab_even, cd_even, 0, 1, 4, 5);
    b = __builtin_shufflevector(ab_odd, cd_odd, 0, 1, 4, 5);
    c = __builtin_shufflevector(ab_even, cd_even, 2, 3, 6, 7);
    d = __builtin_shufflevector(ab_odd, cd_odd, 2, 3, 6, 7);
#else
    double m[4][4];
    store(m[0], a), store(m[1], b), store(m[2], c), store(m[3], d);
    double t[4][4];
    for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j) t[i][j] = m[j][i];
    a = load(t[0]), b = load(t[1]), c = load(t[2]), d = load(t[3]);
#endif
}

MSLODE_ALWAYS_INLINE double sum(Pack v) { return (lane(v, 0) + lane(v, 1)) + (lane(v, 2) + lane(v, 3)); }

// Whether this CPU runs the MSLODE_TARGET_AVX2 versions.
inline bool has_avx2_fma() {
#if MSLODE_DISPATCH_AVX2
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return false;
#endif
}

// What the pair loops run: "avx2+fma" (chosen at run time), "native" (the
// build's own -march), or "baseline".
inline const char* instruction_set() {
#if MSLODE_DISPATCH_AVX2
    return has_avx2_fma() ? "avx2+fma" : "baseline";
#elif defined(__AVX2__)
    return "native";
#else
    return "baseline";
#endif
}

}  // namespace simd
}  // namespace mslode

