// Real spherical harmonics Y_lm (l <= 3) of the direction of a vector, with
// mslode's convention: orthonormal, no Condon–Shortley phase, m < 0 ∝ sin,
// m > 0 ∝ cos, so (Y_1-1, Y_10, Y_11) ∝ (y, z, x).
//
//   usage: spherical_harmonics [x y z]      (default: 1 2 3)
#include <mslode/spherical_harmonics.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <vector>

int main(int argc, char** argv) {
    double r[3] = {1.0, 2.0, 3.0};
    if (argc != 1 && argc != 4) {
        std::fprintf(stderr, "usage: %s [x y z]\n", argv[0]);
        return 2;
    }
    if (argc == 4) {
        for (int i = 0; i < 3; ++i) {
            char* end = nullptr;
            r[i] = std::strtod(argv[i + 1], &end);
            if (end == argv[i + 1] || *end != '\0') {
                std::fprintf(stderr, "not a number: '%s'\nusage: %s [x y z]\n", argv[i + 1], argv[0]);
                return 2;
            }
        }
    }

    const int max_angular = 3;
    const mslode::SphericalHarmonics harmonics(max_angular);
    std::vector<double> values(static_cast<size_t>(harmonics.size()));
    try {
        harmonics.compute(r[0], r[1], r[2], values.data());
    } catch (const std::exception& error) {
        std::fprintf(stderr, "error: %s\n", error.what());
        return 1;
    }

    std::printf("real spherical harmonics of the direction of (%g, %g, %g)\n", r[0], r[1], r[2]);
    std::printf("%3s %3s %22s\n", "l", "m", "Y_lm");
    for (int l = 0; l <= max_angular; ++l) {
        for (int m = -l; m <= l; ++m) {
            std::printf("%3d %3d %22.15f\n", l, m, values[static_cast<size_t>(mslode::lm_index(l, m))]);
        }
    }
    return 0;
}
