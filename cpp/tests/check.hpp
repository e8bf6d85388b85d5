// A tiny test helper: no framework, just counted checks that print what went
// wrong. Each test program returns check::finish(), non-zero on any failure.
#pragma once

#include <cmath>
#include <cstdio>
#include <random>
#include <string>

namespace check {

inline int& failures() {
    static int count = 0;
    return count;
}
inline int& checks() {
    static int count = 0;
    return count;
}

// |actual - expected| <= tol * max(1, |expected|)  (relative above 1, absolute below)
inline bool close(const std::string& what, double actual, double expected, double tol) {
    ++checks();
    const double err = std::abs(actual - expected);
    const double bound = tol * std::max(1.0, std::abs(expected));
    if (!(err <= bound)) {  // also catches NaN
        ++failures();
        if (failures() <= 30) {
            std::printf("FAIL %s: got %.17g, expected %.17g (|diff| %.3g > %.3g)\n", what.c_str(), actual,
                        expected, err, bound);
        }
        return false;
    }
    return true;
}

inline bool truth(const std::string& what, bool ok) {
    ++checks();
    if (!ok) {
        ++failures();
        if (failures() <= 30) std::printf("FAIL %s\n", what.c_str());
    }
    return ok;
}

inline int finish(const char* name) {
    if (failures() > 0) {
        std::printf("%s: %d of %d checks FAILED\n", name, failures(), checks());
        return 1;
    }
    std::printf("%s: all %d checks passed\n", name, checks());
    return 0;
}

// Fixed seed: failures are reproducible.
inline std::mt19937_64& rng() {
    static std::mt19937_64 engine(20240611);
    return engine;
}
inline double uniform(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng()); }

// A random point on the unit sphere, uniform.
inline void random_unit(double& x, double& y, double& z) {
    std::normal_distribution<double> normal(0.0, 1.0);
    double r = 0.0;
    do {
        x = normal(rng());
        y = normal(rng());
        z = normal(rng());
        r = std::sqrt(x * x + y * y + z * z);
    } while (r < 1e-3);
    x /= r;
    y /= r;
    z /= r;
}

}  // namespace check
