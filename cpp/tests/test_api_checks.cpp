// The C++ API refuses inputs that do not fit together, with
// std::invalid_argument and a message that says what is wrong: a coupling
// made for other block shapes, `same` for two different expansions, prepared
// data of another expansion, centres that are not atoms, values beyond the
// limits of limits.hpp. And valid calls still give what they gave.
#include <mslode/clebsch_gordan.hpp>
#include <mslode/compute.hpp>
#include <mslode/density_expansion.hpp>
#include <mslode/gto_basis.hpp>
#include <mslode/limits.hpp>
#include <mslode/potential_expansion.hpp>
#include <mslode/spherical_harmonics.hpp>

#include "check.hpp"

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// `call` must throw std::invalid_argument whose message contains `expected`.
template <class F>
void refused(const std::string& what, const std::string& expected, F&& call) {
    try {
        call();
        check::truth(what + ": refused", false);
    } catch (const std::invalid_argument& e) {
        const std::string message = e.what();
        if (!check::truth(what + ": message has '" + expected + "'", message.find(expected) != std::string::npos)) {
            std::printf("     the message was: %s\n", message.c_str());
        }
    }
}

// A water molecule and a CO2.
struct Molecules {
    std::vector<double> positions{0.0,  0.0,  0.0, 0.757, 0.586, 0.0, -0.757, 0.586, 0.0,
                                  3.0,  0.0,  0.0, 4.16,  0.0,   0.0, 1.84,   0.0,   0.0};
    std::vector<int> types{8, 1, 1, 6, 8, 8};
    std::vector<mslode::Structure> structures;
    std::vector<mslode::Center> centers;
    Molecules() {
        mslode::Structure water, co2;
        water.positions = positions.data();
        water.types = types.data();
        water.n_atoms = 3;
        co2.positions = positions.data() + 9;
        co2.types = types.data() + 3;
        co2.n_atoms = 3;
        structures = {water, co2};
        for (int s = 0; s < 2; ++s)
            for (int a = 0; a < 3; ++a) centers.push_back({s, a});
    }
};

mslode::DensityHypers density_hypers(int max_radial, int max_angular) {
    mslode::DensityHypers h;
    h.cutoff = 3.0;
    h.max_radial = max_radial;
    h.max_angular = max_angular;
    return h;
}

mslode::PotentialHypers potential_hypers(int max_radial, int max_angular) {
    mslode::PotentialHypers h;
    h.max_radial = max_radial;
    h.max_angular = max_angular;
    return h;
}

mslode::BlockShape shape(const mslode::AtomicExpansion& e) { return {e.channels().size(), e.max_radial(), e.max_angular()}; }

void test_coupling_checks() {
    const Molecules m;
    const mslode::DensityExpansion rho(density_hypers(3, 2), {1, 6, 8});
    const mslode::DensityExpansion rho_twin(density_hypers(3, 2), {1, 6, 8});
    const mslode::DensityExpansion rho_l3(density_hypers(3, 3), {1, 6, 8});
    const mslode::PotentialExpansion V(potential_hypers(4, 2), {1, 8});
    std::vector<double> out(m.centers.size() * 1000);

    const mslode::InvariantCoupling rho_rho(shape(rho), shape(rho), true);
    const mslode::InvariantCoupling rho_V(shape(rho), shape(V), false);
    refused("coupling for other F channels", "made for F blocks of 2 channels", [&] {
        const mslode::InvariantCoupling c({2, 3, 2}, shape(V), false);
        mslode::compute_features(rho, V, false, c, m.structures, m.centers, out.data());
    });
    refused("coupling for another G max_radial", "made for G blocks of 2 channels x 5 radial", [&] {
        const mslode::InvariantCoupling c(shape(rho), {2, 5, 2}, false);
        mslode::compute_features(rho, V, false, c, m.structures, m.centers, out.data());
    });
    refused("coupling for another max_angular", "l <= 3", [&] {
        const mslode::InvariantCoupling c(shape(rho_l3), shape(rho_l3), false);
        mslode::compute_features(rho, rho, false, c, m.structures, m.centers, out.data());
    });
    refused("F and G swapped", "made for F blocks of 3 channels", [&] {
        mslode::compute_features(V, rho, false, rho_V, m.structures, m.centers, out.data());
    });
    refused("expansions of different max_angular", "same max_angular", [&] {
        mslode::compute_features(rho, rho_l3, false, rho_V, m.structures, m.centers, out.data());
    });
    refused("same = true for two objects (even equal ones)", "same = true", [&] {
        mslode::compute_features(rho, rho_twin, true, rho_rho, m.structures, m.centers, out.data());
    });
    refused("symmetric coupling of two objects", "symmetric coupling", [&] {
        mslode::compute_features(rho, rho_twin, false, rho_rho, m.structures, m.centers, out.data());
    });
    refused("symmetric coupling of two shapes", "one shape", [&] { mslode::InvariantCoupling(shape(rho), {3, 4, 2}, true); });
    refused("coupling of two max_angular", "same max_angular", [&] { mslode::InvariantCoupling(shape(rho), shape(rho_l3), false); });
    refused("coupling beyond kMaxAngular", "max_angular must be in [0, 12]",
            [&] { mslode::InvariantCoupling({1, 2, mslode::kMaxAngular + 1}, {1, 2, mslode::kMaxAngular + 1}, false); });

    // the valid calls, against expand() + couple() by hand
    std::vector<double> got(m.centers.size() * static_cast<size_t>(rho_V.n_features()));
    mslode::compute_features(rho, V, false, rho_V, m.structures, m.centers, got.data());
    std::vector<double> symmetric(m.centers.size() * static_cast<size_t>(rho_rho.n_features()));
    mslode::compute_features(rho, rho, true, rho_rho, m.structures, m.centers, symmetric.data());
    const mslode::InvariantCoupling full(shape(rho), shape(rho), false);
    std::vector<double> twice(m.centers.size() * static_cast<size_t>(full.n_features()));
    mslode::compute_features(rho, rho, false, full, m.structures, m.centers, twice.data());  // same object, computed twice

    mslode::Workspace work;
    std::vector<double> block_rho(static_cast<size_t>(rho.block_size())), block_V(static_cast<size_t>(V.block_size()));
    std::vector<double> want_V(static_cast<size_t>(rho_V.n_features())), want_sym(static_cast<size_t>(rho_rho.n_features())),
        want_full(static_cast<size_t>(full.n_features())), scratch;
    double worst = 0.0;
    for (size_t c = 0; c < m.centers.size(); ++c) {
        const auto& s = m.structures[static_cast<size_t>(m.centers[c].structure)];
        rho.expand(s, *rho.prepare(s), m.centers[c].atom, block_rho.data(), work);
        V.expand(s, *V.prepare(s), m.centers[c].atom, block_V.data(), work);
        rho_V.couple(block_rho.data(), block_V.data(), want_V.data(), scratch);
        rho_rho.couple(block_rho.data(), block_rho.data(), want_sym.data(), scratch);
        full.couple(block_rho.data(), block_rho.data(), want_full.data(), scratch);
        for (size_t k = 0; k < want_V.size(); ++k) worst = std::max(worst, std::abs(got[c * want_V.size() + k] - want_V[k]));
        for (size_t k = 0; k < want_sym.size(); ++k)
            worst = std::max(worst, std::abs(symmetric[c * want_sym.size() + k] - want_sym[k]));
        for (size_t k = 0; k < want_full.size(); ++k)
            worst = std::max(worst, std::abs(twice[c * want_full.size() + k] - want_full[k]));
    }
    check::close("valid compute_features = expand + couple", worst, 0.0, 0.0);
    const auto labels = rho_V.labels();
    check::truth("labels: one per feature", static_cast<int>(labels.size()) == rho_V.n_features());
    check::truth("labels: last is (channel 2, n 2; channel 1, n 3; l 2)",
                 labels.back() == std::array<int, 5>{2, 2, 1, 3, 2});
}

void test_prepared_owner() {
    const Molecules m;
    const auto& water = m.structures[0];
    const mslode::DensityExpansion rho(density_hypers(3, 2), {1, 8});
    const mslode::DensityExpansion rho_twin(density_hypers(3, 2), {1, 8});
    const mslode::PotentialExpansion V(potential_hypers(3, 2), {1, 8});
    mslode::Workspace work;
    std::vector<double> out(static_cast<size_t>(rho.block_size()));
    const auto prepared = rho.prepare(water);
    check::truth("prepared data knows its expansion", prepared->owner() == &rho);
    rho.expand(water, *prepared, 0, out.data(), work);
    check::truth("expand with its own prepared data", std::isfinite(out[0]) && out[0] != 0.0);
    refused("prepared data of an equal expansion", "another expansion", [&] { rho_twin.expand(water, *prepared, 0, out.data(), work); });
    refused("prepared data of a density given to a potential", "another expansion",
            [&] { V.expand(water, *prepared, 0, out.data(), work); });
    refused("expand: centre beyond the atoms", "centre 3 is not an atom", [&] { rho.expand(water, *prepared, 3, out.data(), work); });
    refused("expand: negative centre", "centre -1 is not an atom", [&] { rho.expand(water, *prepared, -1, out.data(), work); });
}

void test_centers_and_structures() {
    const Molecules m;
    const mslode::DensityExpansion rho(density_hypers(3, 2), {1, 6, 8});
    const mslode::InvariantCoupling rho_rho(shape(rho), shape(rho), true);
    std::vector<double> out(1000);
    refused("centre in a structure that does not exist", "centre 0 = (structure 2, atom 0) is out of range", [&] {
        mslode::compute_expansion(rho, m.structures, {{2, 0}}, out.data());
    });
    refused("centre beyond a structure's atoms", "that one has 3 atoms", [&] {
        mslode::compute_expansion(rho, m.structures, {{0, 0}, {1, 3}}, out.data());
    });
    refused("invariants: negative atom", "centre 0 = (structure 0, atom -1)", [&] {
        mslode::compute_features(rho, rho, true, rho_rho, m.structures, {{0, -1}}, out.data());
    });
    mslode::Structure broken;
    broken.n_atoms = 2;  // no arrays
    refused("a structure with atoms but no arrays", "structure 0: a structure with atoms needs positions",
            [&] { mslode::compute_expansion(rho, {broken}, {}, out.data()); });
    broken.n_atoms = -1;
    refused("negative n_atoms", "n_atoms is negative", [&] { rho.prepare(broken); });
}

void test_limits() {
    using mslode::SpeciesChannels;
    refused("atomic number 0", "atomic number out of range: 0 (must be in 1..118)", [] { SpeciesChannels({1, 0}); });
    refused("atomic number 119", "out of range: 119", [] { SpeciesChannels({mslode::kMaxAtomicNumber + 1}); });
    refused("negative atomic number", "out of range: -3", [] { SpeciesChannels({-3}); });
    const SpeciesChannels channels({1, mslode::kMaxAtomicNumber});
    check::truth("atomic numbers 1 and 118 are channels 0 and 1", channels(1) == 0 && channels(mslode::kMaxAtomicNumber) == 1);
    check::truth("out-of-range types are no channel", channels(0) == -1 && channels(119) == -1 && channels(-1) == -1);
    check::truth("an empty SpeciesChannels has no channel", SpeciesChannels()(1) == -1);

    refused("density max_radial 31", "max_radial must be in [1, 30]",
            [] { mslode::DensityExpansion(density_hypers(mslode::kMaxRadial + 1, 2), {1}); });
    refused("density max_angular 13", "max_angular must be in [0, 12]",
            [] { mslode::DensityExpansion(density_hypers(3, mslode::kMaxAngular + 1), {1}); });
    refused("potential max_radial 0", "max_radial must be in [1, 30]", [] { mslode::PotentialExpansion(potential_hypers(0, 2), {1}); });
    refused("potential max_angular -1", "max_angular must be in [0, 12]",
            [] { mslode::PotentialExpansion(potential_hypers(3, -1), {1}); });
    refused("GtoBasis max_radial 31", "max_radial must be in [1, 30]", [] { mslode::GtoBasis(4.0, mslode::kMaxRadial + 1); });
    refused("SphericalHarmonics l 13", "max_angular must be in [0, 12]", [] { mslode::SphericalHarmonics(mslode::kMaxAngular + 1); });
    refused("Clebsch-Gordan l 13", "supported up to l = 12",
            [] { mslode::real_clebsch_gordan(mslode::kMaxAngular + 1, 0, mslode::kMaxAngular + 1); });
    mslode::DensityHypers bad_width = density_hypers(3, 2);
    bad_width.cutoff_width = 5.0;
    refused("density cutoff_width beyond the cutoff", "cutoff_width", [&] { mslode::DensityExpansion(bad_width, {1}); });
    mslode::PotentialHypers bad_exponent = potential_hypers(3, 2);
    bad_exponent.potential_exponent = 7.0;
    refused("potential exponent 7", "potential_exponent", [&] { mslode::PotentialExpansion(bad_exponent, {1}); });
    mslode::PotentialHypers bad_accuracy = potential_hypers(3, 2);
    bad_accuracy.spline_accuracy = 0.0;
    refused("potential spline_accuracy 0", "spline_accuracy", [&] { mslode::PotentialExpansion(bad_accuracy, {1}); });
    // the largest values are accepted
    check::truth("SphericalHarmonics(kMaxAngular)", mslode::SphericalHarmonics(mslode::kMaxAngular).max_angular() == 12);
    check::truth("real_clebsch_gordan at kMaxAngular",
                 !mslode::real_clebsch_gordan(mslode::kMaxAngular, mslode::kMaxAngular, 0).empty());
}

}  // namespace

int main() {
    test_coupling_checks();
    test_prepared_owner();
    test_centers_and_structures();
    test_limits();
    return check::finish("test_api_checks");
}
