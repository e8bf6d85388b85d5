// The interface every local expansion ⟨a n l m|F_i⟩ implements (density now,
// potentials next): one virtual level, no hierarchy beneath it.
//
// Coefficients of one centre are a flat block [channel][n][l*l + l + m].
#pragma once

#include <memory>
#include <vector>

#include "pair_contraction.hpp"
#include "spherical_harmonics.hpp"
#include "structure.hpp"

namespace mslode {

class AtomicExpansion {
public:
    // Whatever a calculator precomputes once per structure (a cell list, ...).
    struct Prepared {
        virtual ~Prepared() = default;
    };

    virtual ~AtomicExpansion() = default;

    virtual int max_radial() const = 0;
    virtual int max_angular() const = 0;
    virtual const SpeciesChannels& channels() const = 0;

    int block_size() const { return channels().size() * max_radial() * lm_size(max_angular()); }

    virtual std::unique_ptr<const Prepared> prepare(const Structure& structure) const = 0;

    // Writes the block_size() coefficients of centre `center` into `out`;
    // `work` is caller-owned working memory (one per thread).
    virtual void expand(const Structure& structure, const Prepared& prepared, int center, double* out,
                        PairContraction& work) const = 0;
};

}  // namespace mslode
