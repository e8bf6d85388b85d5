// Packs of doubles and the run-time choice of the instruction set for the
// pair loops.
//
// The hot loops are templates on the pack type and are compiled twice: for
// the baseline of the build with Pack2 (x86-64: SSE2, no FMA; ARM: NEON) and,
// on x86-64 with GCC or Clang, for AVX2 + FMA with Pack4, chosen when the CPU
// has it. So one portable build (a wheel, a module installed for a whole
// cluster) runs the wide code wherever it can and still runs everywhere;
// MSLODE_NATIVE builds (-march=native) need no choice and compile once.
// (GCC's -Wpsabi note that a 32-byte vector passed by value "changes the
// ABI" without AVX does not apply: those functions are always inlined; the
// CMake target mslode::mslode turns it off.)
//
// How a loop uses it: simd::dispatch(body) with body a generic lambda marked
// MSLODE_INLINE_LAMBDA that takes the pack (a value, used for its type) and
// captures by value what it can (a reference capture cost ~8 % in the pair
// loop: the compiler reloads through it);
// everything the body calls in its hot path is MSLODE_ALWAYS_INLINE, so that
// it is compiled inside each version with that version's instruction set.
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

// Pairs are padded to whole packs of the widest kind.
constexpr int kMaxWidth = 4;
constexpr size_t padded(size_t count) { return (count + kMaxWidth - 1) / kMaxWidth * kMaxWidth; }

// Pack2 fills an SSE2 / NEON register, Pack4 an AVX one: each version of a
// loop runs on the packs its instruction set holds in one register (Pack4
// emulated on SSE2 spills to the stack and runs slower than scalar code).
#if defined(__GNUC__) || defined(__clang__)
typedef double Pack2 __attribute__((vector_size(2 * sizeof(double))));
typedef double Pack4 __attribute__((vector_size(4 * sizeof(double))));
#else
template <int W>
struct Lanes {
    double v[W];
    double& operator[](int i) { return v[i]; }
    double operator[](int i) const { return v[i]; }
    Lanes& operator+=(const Lanes& o) {
        for (int i = 0; i < W; ++i) v[i] += o.v[i];
        return *this;
    }
    friend Lanes operator+(Lanes a, const Lanes& b) { return a += b; }
    friend Lanes operator-(Lanes a, const Lanes& b) {
        for (int i = 0; i < W; ++i) a.v[i] -= b.v[i];
        return a;
    }
    friend Lanes operator*(Lanes a, const Lanes& b) {
        for (int i = 0; i < W; ++i) a.v[i] *= b.v[i];
        return a;
    }
    friend Lanes operator/(Lanes a, const Lanes& b) {
        for (int i = 0; i < W; ++i) a.v[i] /= b.v[i];
        return a;
    }
};
using Pack2 = Lanes<2>;
using Pack4 = Lanes<4>;
#endif

// The pack of the build's own instruction set.
#if defined(__AVX__)
using NativePack = Pack4;
#else
using NativePack = Pack2;
#endif

template <class V>
constexpr int lanes = static_cast<int>(sizeof(V) / sizeof(double));

template <class V>
MSLODE_ALWAYS_INLINE V load(const double* p) {
    V v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
template <class V>
MSLODE_ALWAYS_INLINE void store(double* p, const V& v) {
    std::memcpy(p, &v, sizeof v);
}
template <class V>
MSLODE_ALWAYS_INLINE V broadcast(double x) {
#if defined(__GNUC__) || defined(__clang__)
    return V{} + x;  // a scalar operand is broadcast (lane by lane writes went through memory)
#else
    V v;
    for (int i = 0; i < lanes<V>; ++i) v[i] = x;
    return v;
#endif
}
template <class V>
MSLODE_ALWAYS_INLINE double sum(const V& v) {
    double total = v[0];
    for (int i = 1; i < lanes<V>; ++i) total += v[i];
    return total;
}

// rows[0 .. W-1] of a W × W block become its columns.
template <class V>
MSLODE_ALWAYS_INLINE void transpose(V* rows) {
#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 12)
    if constexpr (lanes<V> == 4) {
        const V ab_even = __builtin_shufflevector(rows[0], rows[1], 0, 4, 2, 6);
        const V ab_odd = __builtin_shufflevector(rows[0], rows[1], 1, 5, 3, 7);
        const V cd_even = __builtin_shufflevector(rows[2], rows[3], 0, 4, 2, 6);
        const V cd_odd = __builtin_shufflevector(rows[2], rows[3], 1, 5, 3, 7);
        rows[0] = __builtin_shufflevector(ab_even, cd_even, 0, 1, 4, 5);
        rows[1] = __builtin_shufflevector(ab_odd, cd_odd, 0, 1, 4, 5);
        rows[2] = __builtin_shufflevector(ab_even, cd_even, 2, 3, 6, 7);
        rows[3] = __builtin_shufflevector(ab_odd, cd_odd, 2, 3, 6, 7);
        return;
    } else if constexpr (lanes<V> == 2) {
        const V low = __builtin_shufflevector(rows[0], rows[1], 0, 2);
        rows[1] = __builtin_shufflevector(rows[0], rows[1], 1, 3);
        rows[0] = low;
        return;
    }
#endif
    constexpr int W = lanes<V>;
    double block[W][W];
    for (int i = 0; i < W; ++i)
        for (int j = 0; j < W; ++j) block[j][i] = rows[i][j];
    for (int i = 0; i < W; ++i) rows[i] = load<V>(block[i]);
}

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

#if MSLODE_DISPATCH_AVX2
template <class Body>
MSLODE_TARGET_AVX2 void run_avx2(const Body& body) {
    body(Pack4{});
}
#endif

// body(pack) with the pack of the version this CPU runs (see the top).
template <class Body>
void dispatch(const Body& body) {
#if MSLODE_DISPATCH_AVX2
    if (has_avx2_fma()) {
        run_avx2(body);
        return;
    }
#endif
    body(NativePack{});
}

}  // namespace simd
}  // namespace mslode

