// What the drivers of compute.hpp need from a coupling of two expansions'
// per-centre blocks into features: the block shapes it was made for, how many
// numbers it writes per centre, and the coupling itself. Invariants
// (invariants.hpp) and equivariants (equivariants.hpp) implement it, each
// also for a selected subset of its features.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "spherical_harmonics.hpp"

namespace mslode {

// One expansion's block of one centre: [channels][max_radial][l*l + l + m].
struct BlockShape {
    int channels = 0;
    int max_radial = 0;
    int max_angular = 0;

    int rows() const { return channels * max_radial; }
    int size() const { return rows() * lm_size(max_angular); }
    bool operator==(const BlockShape& other) const {
        return channels == other.channels && max_radial == other.max_radial && max_angular == other.max_angular;
    }
    bool operator!=(const BlockShape& other) const { return !(*this == other); }
    std::string describe() const {
        return std::to_string(channels) + " channels x " + std::to_string(max_radial) + " radial x l <= " +
               std::to_string(max_angular);
    }
};

class Coupling {
public:
    Coupling(BlockShape f, BlockShape g) : shape_f_(f), shape_g_(g) {}
    virtual ~Coupling() = default;

    const BlockShape& shape_f() const { return shape_f_; }
    const BlockShape& shape_g() const { return shape_g_; }

    // Numbers written per centre.
    virtual int output_size() const = 0;

    // True when F and G must be one expansion (a symmetric compression).
    virtual bool needs_one_expansion() const { return false; }

    // One centre's output into out[output_size()]; `scratch` is caller-owned
    // working memory (one per thread).
    virtual void couple(const double* f, const double* g, double* out, std::vector<double>& scratch) const = 0;

protected:
    // Selected features given by their index in the full set: in range, no repeats.
    static void check_selection(const std::vector<int>& selected, int n_features) {
        std::vector<bool> seen(static_cast<size_t>(n_features), false);
        for (const int k : selected) {
            if (k < 0 || k >= n_features) {
                throw std::invalid_argument("selected feature " + std::to_string(k) + " is not in [0, " +
                                            std::to_string(n_features) + ")");
            }
            if (seen[static_cast<size_t>(k)]) throw std::invalid_argument("feature " + std::to_string(k) + " selected twice");
            seen[static_cast<size_t>(k)] = true;
        }
    }

private:
    BlockShape shape_f_, shape_g_;
};

}  // namespace mslode
