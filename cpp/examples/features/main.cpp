// Density and potential features of a water molecule and a CO2 with the C++
// core alone: the expansions ⟨a n l m|ρ_i⟩ and ⟨a n l m|V_i⟩ of every atom,
// and the invariants ρ⊗ρ and ρ⊗V. Then the same for a rotated and
// translated copy of both molecules: the invariants must not change (exit
// status 1 if they do).
#include <mslode/compute.hpp>
#include <mslode/density_expansion.hpp>
#include <mslode/invariants.hpp>
#include <mslode/potential_expansion.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <vector>

namespace {

// Both molecules as one set of flat arrays (Å, atomic numbers), one
// Structure viewing each; `rotation` (row-major) and `shift` move every atom.
struct Molecules {
    std::vector<double> positions;
    std::vector<int> types;
    std::vector<mslode::Structure> structures;

    Molecules(const double (&rotation)[9], const double (&shift)[3]) {
        const double water_co2[] = {
            0.0,  0.0,   0.117,  0.0, 0.757, -0.469, 0.0, -0.757, -0.469,  // O H H
            0.0,  0.0,   0.0,    0.0, 0.0,   1.16,   0.0, 0.0,    -1.16,   // C O O
        };
        for (int a = 0; a < 6; ++a) {
            for (int i = 0; i < 3; ++i) {
                double x = shift[i];
                for (int k = 0; k < 3; ++k) x += rotation[3 * i + k] * water_co2[3 * a + k];
                positions.push_back(x);
            }
        }
        types = {8, 1, 1, 6, 8, 8};
        for (int s = 0; s < 2; ++s) {
            mslode::Structure structure;  // finite: pbc all false
            structure.positions = positions.data() + 9 * s;
            structure.types = types.data() + 3 * s;
            structure.n_atoms = 3;
            structures.push_back(structure);
        }
    }
};

// Every atom of every structure is a centre.
std::vector<mslode::Center> all_atoms(const std::vector<mslode::Structure>& structures) {
    std::vector<mslode::Center> centers;
    for (int s = 0; s < static_cast<int>(structures.size()); ++s)
        for (int a = 0; a < structures[static_cast<size_t>(s)].n_atoms; ++a) centers.push_back({s, a});
    return centers;
}

mslode::BlockShape shape(const mslode::AtomicExpansion& e) { return {e.channels().size(), e.max_radial(), e.max_angular()}; }

struct Features {
    std::vector<double> rho, potential, rho_rho, rho_V;
};

Features compute(const Molecules& molecules, const mslode::DensityExpansion& rho, const mslode::PotentialExpansion& V,
                 const mslode::InvariantCoupling& rho_rho, const mslode::InvariantCoupling& rho_V) {
    const auto centers = all_atoms(molecules.structures);
    Features f;
    f.rho.resize(centers.size() * static_cast<size_t>(rho.block_size()));
    f.potential.resize(centers.size() * static_cast<size_t>(V.block_size()));
    f.rho_rho.resize(centers.size() * static_cast<size_t>(rho_rho.n_features()));
    f.rho_V.resize(centers.size() * static_cast<size_t>(rho_V.n_features()));
    mslode::compute_expansion(rho, molecules.structures, centers, f.rho.data());
    mslode::compute_expansion(V, molecules.structures, centers, f.potential.data());
    mslode::compute_features(rho, rho, true, rho_rho, molecules.structures, centers, f.rho_rho.data());
    mslode::compute_features(rho, V, false, rho_V, molecules.structures, centers, f.rho_V.data());
    return f;
}

// max |a - b| / max |b|
double relative_difference(const std::vector<double>& a, const std::vector<double>& b) {
    double diff = 0.0, scale = 0.0;
    for (size_t k = 0; k < a.size(); ++k) {
        diff = std::max(diff, std::abs(a[k] - b[k]));
        scale = std::max(scale, std::abs(b[k]));
    }
    return diff / scale;
}

}  // namespace

int main() {
    try {
        const std::vector<int> species = {1, 6, 8};
        mslode::DensityHypers density;
        density.cutoff = 4.0;
        density.gaussian_width = 0.3;
        density.max_radial = 6;
        density.max_angular = 4;
        mslode::PotentialHypers potential;
        potential.cutoff = 4.0;  // the basis; every atom of the structure is a source
        potential.gaussian_width = 0.3;
        potential.max_radial = 6;
        potential.max_angular = 4;
        potential.potential_exponent = 1.0;
        const mslode::DensityExpansion rho(density, species);
        const mslode::PotentialExpansion V(potential, species);
        const mslode::InvariantCoupling rho_rho(shape(rho), shape(rho), true);
        const mslode::InvariantCoupling rho_V(shape(rho), shape(V), false);

        const double identity[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
        const double no_shift[3] = {0, 0, 0};
        const Molecules molecules(identity, no_shift);
        const Features features = compute(molecules, rho, V, rho_rho, rho_V);
        const size_t centers = all_atoms(molecules.structures).size();

        std::printf("%zu structures, %zu centres, species H C O\n", molecules.structures.size(), centers);
        std::printf("rho:     (%zu, %d, %d, %d)  <a n l m|rho_i>\n", centers, rho.channels().size(), rho.max_radial(),
                    mslode::lm_size(rho.max_angular()));
        std::printf("V:       (%zu, %d, %d, %d)  <a n l m|V_i>\n", centers, V.channels().size(), V.max_radial(),
                    mslode::lm_size(V.max_angular()));
        std::printf("rho x rho: (%zu, %d)  invariants, (a1 n1) <= (a2 n2)\n", centers, rho_rho.n_features());
        std::printf("rho x V:   (%zu, %d)  invariants\n", centers, rho_V.n_features());
        const auto labels = rho_V.labels();
        std::printf("first rho x V features of the water's O (a1 n1 a2 n2 l: value):\n");
        for (int k = 0; k < 5; ++k) {
            const auto& x = labels[static_cast<size_t>(k)];
            std::printf("  %d %d %d %d %d: %.12e\n", x[0], x[1], x[2], x[3], x[4], features.rho_V[static_cast<size_t>(k)]);
        }
        std::printf("<O 0 0 0|rho> of the CO2's C: %.12e, <O 0 0 0|V>: %.12e\n",
                    features.rho[3 * static_cast<size_t>(rho.block_size()) + 2 * 6 * 25],
                    features.potential[3 * static_cast<size_t>(V.block_size()) + 2 * 6 * 25]);

        // rotated by 0.7 rad about (1, 2, 2)/3 and moved: the same invariants
        const double u[3] = {1.0 / 3, 2.0 / 3, 2.0 / 3}, c = std::cos(0.7), s = std::sin(0.7);
        double rotation[9];
        for (int i = 0; i < 3; ++i)
            for (int j = 0; j < 3; ++j) {
                const double cross = (i == j) ? 0.0 : ((j == (i + 1) % 3) ? -u[3 - i - j] : u[3 - i - j]);
                rotation[3 * i + j] = (i == j ? c : 0.0) + (1 - c) * u[i] * u[j] + s * cross;
            }
        const double shift[3] = {10.0, -3.5, 2.25};
        const Features moved = compute(Molecules(rotation, shift), rho, V, rho_rho, rho_V);
        const double d_rho_rho = relative_difference(moved.rho_rho, features.rho_rho);
        const double d_rho_V = relative_difference(moved.rho_V, features.rho_V);
        std::printf("rotated and translated: rho x rho changes by %.2e, rho x V by %.2e (relative)\n", d_rho_rho, d_rho_V);
        if (!(d_rho_rho < 1e-10 && d_rho_V < 1e-10)) {
            std::fprintf(stderr, "FAIL: the invariants are not invariant\n");
            return 1;
        }
        // ... while the expansions themselves do change
        if (!(relative_difference(moved.rho, features.rho) > 1e-3)) {
            std::fprintf(stderr, "FAIL: the rotation left the density coefficients unchanged\n");
            return 1;
        }

        // A periodic cell goes through the same calls (range-separated mesh
        // Ewald, to potential.periodic.accuracy): rock salt, its 8-atom cubic
        // cell and a 2 x 1 x 1 supercell give every atom the same <a n l m|V_i>.
        const mslode::PotentialExpansion V_ionic(potential, {11, 17});
        std::vector<double> cell_positions, super_positions;
        std::vector<int> cell_types, super_types;
        const double a = 5.64;
        for (int copy = 0; copy < 2; ++copy)
            for (int k = 0; k < 8; ++k) {
                const int x = k & 1, y = (k >> 1) & 1, z = (k >> 2) & 1;
                const double r[3] = {0.5 * a * x + copy * a, 0.5 * a * y, 0.5 * a * z};
                const int type = ((x + y + z) % 2 == 0) ? 11 : 17;
                for (double v : r) super_positions.push_back(v);
                super_types.push_back(type);
                if (copy == 0) {
                    for (double v : r) cell_positions.push_back(v);
                    cell_types.push_back(type);
                }
            }
        mslode::Structure crystal, supercell;
        crystal.positions = cell_positions.data();
        crystal.types = cell_types.data();
        crystal.n_atoms = 8;
        crystal.cell = {a, 0, 0, 0, a, 0, 0, 0, a};
        crystal.pbc = {true, true, true};
        supercell = crystal;
        supercell.positions = super_positions.data();
        supercell.types = super_types.data();
        supercell.n_atoms = 16;
        supercell.cell[0] = 2 * a;
        std::vector<double> small(8 * static_cast<size_t>(V_ionic.block_size())), big(16 * static_cast<size_t>(V_ionic.block_size()));
        mslode::compute_expansion(V_ionic, {crystal}, all_atoms({crystal}), small.data());
        mslode::compute_expansion(V_ionic, {supercell}, all_atoms({supercell}), big.data());
        big.resize(small.size());  // the first copy's atoms
        const double d_super = relative_difference(big, small);
        std::printf("rock salt: <Cl 0 0 0|V> at Na %.8f; supercell changes V by %.2e (relative)\n",
                    small[static_cast<size_t>(V_ionic.max_radial() * mslode::lm_size(V_ionic.max_angular()))], d_super);
        if (!(d_super < 1e-5)) {
            std::fprintf(stderr, "FAIL: a supercell changed the periodic potential\n");
            return 1;
        }
    } catch (const std::exception& error) {
        std::fprintf(stderr, "error: %s\n", error.what());
        return 1;
    }
    std::printf("OK\n");
    return 0;
}
