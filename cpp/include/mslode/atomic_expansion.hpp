// The interface every local expansion ⟨a n l m|F_i⟩ implements (the density
// and the potential): one virtual level, no hierarchy beneath it.
//
// Coefficients of one centre are a flat block [channel][n][l*l + l + m].
#pragma once

#include <algorithm>
#include <array>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "pair_contraction.hpp"
#include "pair_gradient.hpp"
#include "spherical_harmonics.hpp"
#include "structure.hpp"

namespace mslode {

// Caller-owned working memory of expand(), one per thread: reused from
// centre to centre, so the pair loops allocate nothing once warm.
struct Workspace {
    PairContraction pairs;      // the pairs a centre contracts through radial tables
    PairContraction far_pairs;  // sources beyond a potential's switch (far-field moments)
    std::vector<double> far_moments;
    PairGradient pair_gradient;  // backward passes
};

// Where a backward pass puts Σ_k t_k ∂c_k/∂(...) of one centre's block c for
// a cotangent t: the gradient with respect to the positions of the
// structure's atoms, added to `gradient` (n_atoms × 3, caller-owned: one
// per thread, added up by the caller), and the derivative with respect to
// a homogeneous strain ε of positions and cell, strain[3 α + β] += ∂/∂ε_αβ
// = Σ_pairs g_α r_β (g the gradient with respect to the pair vector r).
struct GradientSink {
    double* gradient = nullptr;
    double* strain = nullptr;

    // The gradient g with respect to the pair vector r = r_j - r_i (+ image
    // shift): +g on atom j, -g on the centre i.
    void add_pair(int center, int j, const double* r, const double* g) const {
        for (int a = 0; a < 3; ++a) {
            gradient[3 * j + a] += g[a];
            gradient[3 * center + a] -= g[a];
            for (int b = 0; b < 3; ++b) strain[3 * a + b] += g[a] * r[b];
        }
    }
};

class AtomicExpansion {
public:
    // Whatever a calculator precomputes once per structure (a cell list, ...),
    // marked with the expansion that made it: another expansion's data has
    // another layout (and species, cut-off, ...), so expand() refuses it.
    class Prepared {
    public:
        virtual ~Prepared() = default;
        const AtomicExpansion* owner() const { return owner_; }

    private:
        friend class AtomicExpansion;
        const AtomicExpansion* owner_ = nullptr;
    };

    virtual ~AtomicExpansion() = default;

    virtual int max_radial() const = 0;
    virtual int max_angular() const = 0;
    virtual const SpeciesChannels& channels() const = 0;

    int block_size() const { return channels().size() * max_radial() * lm_size(max_angular()); }

    std::unique_ptr<const Prepared> prepare(const Structure& structure) const {
        check_structure(structure);
        std::unique_ptr<Prepared> prepared = prepare_structure(structure);
        prepared->owner_ = this;
        return prepared;
    }

    // Writes the block_size() coefficients of centre `center` into `out`;
    // `prepared` must come from this expansion's prepare() of `structure`,
    // `work` is caller-owned working memory (one per thread).
    void expand(const Structure& structure, const Prepared& prepared, int center, double* out, Workspace& work) const {
        if (prepared.owner() != this) {
            throw std::invalid_argument("expand: the prepared data was made by another expansion's prepare()");
        }
        if (center < 0 || center >= structure.n_atoms) {
            throw std::invalid_argument("expand: centre " + std::to_string(center) + " is not an atom of the structure (" +
                                        std::to_string(structure.n_atoms) + " atoms)");
        }
        expand_center(structure, prepared, center, out, work);
    }

    // Whether backward() is implemented (for structures like `structure`).
    virtual bool has_gradients(const Structure& /*structure*/) const { return false; }

    // The vector–Jacobian product of centre `center`'s block: Σ_k
    // cotangent[k] ∂c_k/∂(positions, strain) added to `sink`; cotangent has
    // block_size() entries.
    void backward(const Structure& structure, const Prepared& prepared, int center, const double* cotangent,
                  const GradientSink& sink, Workspace& work) const {
        if (prepared.owner() != this) {
            throw std::invalid_argument("backward: the prepared data was made by another expansion's prepare()");
        }
        if (center < 0 || center >= structure.n_atoms) {
            throw std::invalid_argument("backward: centre " + std::to_string(center) + " is not an atom of the structure (" +
                                        std::to_string(structure.n_atoms) + " atoms)");
        }
        if (!has_gradients(structure)) throw std::invalid_argument("gradients of this expansion are not available for this structure");
        backward_center(structure, prepared, center, cotangent, sink, work);
    }

    // Terms of the backward pass that couple every centre to every atom at
    // once (a periodic potential's mesh), run once per structure after the
    // centres' own: `cotangents` dense (n_atoms × block_size(), zero rows
    // for atoms that are not centres), added to `gradient` (n_atoms × 3) and
    // `strain` (9). Returns false when the strain derivative is not
    // available for this structure.
    virtual bool has_structure_backward(const Structure& /*structure*/) const { return false; }
    virtual bool backward_structure(const Structure& /*structure*/, const Prepared& /*prepared*/,
                                    const double* /*cotangents*/, double* /*gradient*/, double* /*strain*/) const {
        return true;
    }

protected:
    virtual void backward_center(const Structure& /*structure*/, const Prepared& /*prepared*/, int /*center*/,
                                 const double* /*cotangent*/, const GradientSink& /*sink*/, Workspace& /*work*/) const {
        throw std::logic_error("backward_center: not implemented for this expansion");
    }

    // What the implementations provide; prepare() and expand() check around them.
    virtual std::unique_ptr<Prepared> prepare_structure(const Structure& structure) const = 0;
    // `prepared` is known to be this expansion's own (a static_cast is safe).
    virtual void expand_center(const Structure& structure, const Prepared& prepared, int center, double* out,
                               Workspace& work) const = 0;

    // Zeroes a centre's block and adds the centre's own source, which sits at
    // d = 0 where only l = 0 survives: center_radial[n] = f_n0(0) Y_00.
    void start_block(int center_type, double weight, const std::vector<double>& center_radial, double* out) const {
        std::fill(out, out + block_size(), 0.0);
        const int own = channels()(center_type);
        if (own < 0) return;
        const int N = max_radial(), LM = lm_size(max_angular());
        for (int n = 0; n < N; ++n) out[(own * N + n) * LM] += weight * center_radial[static_cast<size_t>(n)];
    }
};

}  // namespace mslode
