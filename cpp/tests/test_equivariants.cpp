// The λ-coupling of two expansion blocks (equivariants.hpp) against a direct
// sum over the real Clebsch–Gordan coefficients, for the full set of
// features and for selections.
#include <mslode/clebsch_gordan.hpp>
#include <mslode/equivariants.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include "check.hpp"

namespace {

using mslode::BlockShape;
using mslode::EquivariantCoupling;

std::vector<double> random_block(const BlockShape& shape) {
    std::vector<double> out(static_cast<size_t>(shape.size()));
    for (auto& x : out) x = check::uniform(-1.0, 1.0);
    return out;
}

// Σ_{m1 m2} C^{λμ}_{l1 m1, l2 m2} f[p1, l1, m1] g[p2, l2, m2]
double direct(const std::vector<double>& f, const std::vector<double>& g, const BlockShape& sf, int p1, int l1,
              int p2, int l2, int lambda, int mu) {
    const auto cg = mslode::real_clebsch_gordan(l1, l2, lambda);
    const int LM = mslode::lm_size(sf.max_angular), n2 = 2 * l2 + 1, nl = 2 * lambda + 1;
    double sum = 0.0;
    for (int m1 = 0; m1 < 2 * l1 + 1; ++m1)
        for (int m2 = 0; m2 < n2; ++m2)
            sum += cg[static_cast<size_t>((m1 * n2 + m2) * nl + mu)] * f[static_cast<size_t>(p1 * LM + l1 * l1 + m1)] *
                   g[static_cast<size_t>(p2 * LM + l2 * l2 + m2)];
    return sum;
}

void test_against_direct_sums() {
    const BlockShape sf{2, 3, 3}, sg{3, 2, 3};
    const auto f = random_block(sf), g = random_block(sg);
    std::vector<double> scratch;
    for (int lambda = 0; lambda <= 3; ++lambda) {
        for (int parity : {1, -1}) {
            if (lambda == 0 && parity == -1) continue;  // no (l, l) pair is odd
            const EquivariantCoupling coupling(sf, sg, lambda, parity);
            const auto labels = coupling.labels();
            const int n = coupling.n_features(), nl = 2 * lambda + 1;
            check::truth("labels, one per feature", static_cast<int>(labels.size()) == n);
            check::truth("output size", coupling.output_size() == nl * n);
            std::vector<double> out(static_cast<size_t>(coupling.output_size()));
            coupling.couple(f.data(), g.data(), out.data(), scratch);
            int expected_features = 0;
            for (int l1 = 0; l1 <= 3; ++l1)
                for (int l2 = 0; l2 <= 3; ++l2)
                    if (lambda >= std::abs(l1 - l2) && lambda <= l1 + l2 && ((l1 + l2 + lambda) % 2 == 0) == (parity == 1))
                        expected_features += sf.rows() * sg.rows();
            check::truth("every (l1, l2) of this parity, no other", n == expected_features);
            for (int k = 0; k < n; ++k) {
                const auto& x = labels[static_cast<size_t>(k)];
                check::truth("parity of the label", ((x[2] + x[5] + lambda) % 2 == 0) == (parity == 1));
                for (int mu = 0; mu < nl; ++mu) {
                    const double want = direct(f, g, sf, x[0] * sf.max_radial + x[1], x[2], x[3] * sg.max_radial + x[4],
                                               x[5], lambda, mu);
                    check::close("lambda " + std::to_string(lambda) + " feature " + std::to_string(k),
                                 out[static_cast<size_t>(mu * n + k)], want, 1e-13);
                }
            }
        }
    }
}

void test_selection_is_a_slice() {
    const BlockShape sf{2, 2, 2}, sg{2, 3, 2};
    const auto f = random_block(sf), g = random_block(sg);
    std::vector<double> scratch;
    const EquivariantCoupling full(sf, sg, 1, 1);
    std::vector<double> all(static_cast<size_t>(full.output_size()));
    full.couple(f.data(), g.data(), all.data(), scratch);
    const std::vector<int> chosen = {full.n_features() - 1, 0, 7, 3};
    const EquivariantCoupling some(sf, sg, 1, 1, chosen);
    check::truth("selected count", some.n_features() == static_cast<int>(chosen.size()));
    std::vector<double> out(static_cast<size_t>(some.output_size()));
    some.couple(f.data(), g.data(), out.data(), scratch);
    const auto labels_all = full.labels(), labels_some = some.labels();
    for (size_t j = 0; j < chosen.size(); ++j) {
        check::truth("selected label", labels_some[j] == labels_all[static_cast<size_t>(chosen[j])]);
        for (int mu = 0; mu < 3; ++mu) {
            check::close("selected value", out[static_cast<size_t>(mu) * chosen.size() + j],
                         all[static_cast<size_t>(mu * full.n_features() + chosen[j])], 1e-14);
        }
    }
}

template <class F>
void check_refused(const std::string& what, F&& make) {
    try {
        make();
        check::truth(what + ": refused", false);
    } catch (const std::invalid_argument&) {
        check::truth(what + ": refused", true);
    }
}

void test_refusals() {
    const BlockShape s{1, 2, 2};
    check_refused("different max_angular", [&] { EquivariantCoupling(s, BlockShape{1, 2, 3}, 1, 1); });
    check_refused("parity 0", [&] { EquivariantCoupling(s, s, 1, 0); });
    check_refused("negative lambda", [&] { EquivariantCoupling(s, s, -1, 1); });
    check_refused("no pair of this parity", [&] { EquivariantCoupling(s, s, 0, -1); });
    check_refused("lambda beyond 2 l_max", [&] { EquivariantCoupling(s, s, 5, 1); });
    check_refused("selected out of range", [&] { EquivariantCoupling(s, s, 1, 1, {1000}); });
    check_refused("selected twice", [&] { EquivariantCoupling(s, s, 1, 1, {1, 1}); });
}

}  // namespace

int main() {
    test_against_direct_sums();
    test_selection_is_a_slice();
    test_refusals();
    return check::finish("test_equivariants");
}
