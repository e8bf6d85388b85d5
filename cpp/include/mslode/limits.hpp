// The limits of the core, each defined here only: every check and every
// message about one of them is built from these constants (the Python module
// exposes them as _core.MAX_RADIAL, _core.MAX_ANGULAR, _core.MAX_ATOMIC_NUMBER).
#pragma once

#include <stdexcept>
#include <string>

namespace mslode {

// An outer bound: GtoBasis refuses primitives that are numerically linearly
// dependent, which happens first (near max_radial = 20, depending on r_c).
constexpr int kMaxRadial = 30;

// Spherical harmonics, every expansion and the Clebsch–Gordan coefficients
// that couple them: l = 0..kMaxAngular (the Racah sum of clebsch_gordan.hpp
// keeps ~1e-14 absolute accuracy up to l = 12, tested against exact values).
constexpr int kMaxAngular = 12;

// Species are atomic numbers 1..kMaxAtomicNumber.
constexpr int kMaxAtomicNumber = 118;

// The checks that go with the limits, for every class that takes these
// parameters (one message each).
inline void check_max_radial(int max_radial) {
    if (max_radial < 1 || max_radial > kMaxRadial) {
        throw std::invalid_argument("max_radial must be in [1, " + std::to_string(kMaxRadial) + "]");
    }
}

inline void check_max_angular(int max_angular) {
    if (max_angular < 0 || max_angular > kMaxAngular) {
        throw std::invalid_argument("max_angular must be in [0, " + std::to_string(kMaxAngular) + "]");
    }
}

}  // namespace mslode
