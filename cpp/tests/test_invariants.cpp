// The backward pass of the invariant coupling (invariants.hpp) against the
// forward coupling itself: the invariants are linear in each block, so for
// a cotangent t and any direction δ, df · δ = t · couple(δ, g) and
// dg · δ = t · couple(f, δ) hold exactly (to round-off), for symmetric and
// plain sets, odd and even block sizes (partial packs), several drivers.
#include <mslode/compute.hpp>
#include <mslode/invariants.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include "check.hpp"

namespace {

using mslode::BlockShape;
using mslode::InvariantCoupling;

std::vector<double> random_vector(size_t n) {
    std::vector<double> out(n);
    for (auto& x : out) x = check::uniform(-1.0, 1.0);
    return out;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
    double s = 0.0;
    for (size_t k = 0; k < a.size(); ++k) s += a[k] * b[k];
    return s;
}

void test_backward_is_the_transpose(const BlockShape& sf, const BlockShape& sg, bool symmetric) {
    const InvariantCoupling coupling(sf, sg, symmetric);
    const std::string name = std::string(symmetric ? "symmetric " : "") + sf.describe() + " / " + sg.describe();
    const long long n = 3;  // centres, through the parallel drivers
    const size_t size_f = static_cast<size_t>(sf.size()), size_g = static_cast<size_t>(sg.size());
    const size_t width = static_cast<size_t>(coupling.output_size());
    const auto f = random_vector(n * size_f), g = random_vector(n * size_g), t = random_vector(n * width);
    std::vector<double> df(f.size()), dg(g.size());
    mslode::couple_coefficients_backward(coupling, f.data(), g.data(), t.data(), n, df.data(), dg.data());
    for (int trial = 0; trial < 3; ++trial) {
        const auto delta_f = random_vector(f.size()), delta_g = random_vector(g.size());
        std::vector<double> out(n * width);
        mslode::couple_coefficients(coupling, delta_f.data(), g.data(), n, out.data());
        check::close(name + ": df . delta", dot(df, delta_f), dot(t, out), 1e-12);
        mslode::couple_coefficients(coupling, f.data(), delta_g.data(), n, out.data());
        check::close(name + ": dg . delta", dot(dg, delta_g), dot(t, out), 1e-12);
    }
    // one feature's cotangent reaches only its own two rows and its l
    std::vector<double> one(width, 0.0), df1(size_f), dg1(size_g);
    const int k = static_cast<int>(width) / 2;
    one[static_cast<size_t>(k)] = 1.0;
    mslode::couple_coefficients_backward(coupling, f.data(), g.data(), one.data(), 1, df1.data(), dg1.data());
    const auto label = coupling.labels()[static_cast<size_t>(k)];
    const int LM = mslode::lm_size(sf.max_angular), l = label[4];
    const int p1 = label[0] * sf.max_radial + label[1], p2 = label[2] * sg.max_radial + label[3];
    const double scale = (symmetric && p1 != p2 ? std::sqrt(2.0) : 1.0) / std::sqrt(2.0 * l + 1.0);
    for (int p = 0; p < sf.rows(); ++p)
        for (int lm = 0; lm < LM; ++lm) {
            const bool inside = p == p1 && lm >= l * l && lm < (l + 1) * (l + 1);
            check::close(name + ": one feature's df", df1[static_cast<size_t>(p * LM + lm)],
                         inside ? scale * g[static_cast<size_t>(p2 * LM + lm)] : 0.0, 1e-14);
        }
}

void test_selection_refused() {
    const BlockShape s{1, 2, 2};
    const InvariantCoupling selected(s, s, false, {0, 3});
    std::vector<double> f(static_cast<size_t>(s.size()), 1.0), t(2, 1.0), df(f.size()), dg(f.size()), scratch;
    try {
        selected.couple_backward(f.data(), f.data(), t.data(), df.data(), dg.data(), scratch);
        check::truth("a selection has no backward pass: refused", false);
    } catch (const std::invalid_argument&) {
        check::truth("a selection has no backward pass: refused", true);
    }
}

}  // namespace

int main() {
    test_backward_is_the_transpose({2, 3, 2}, {3, 2, 2}, false);
    test_backward_is_the_transpose({1, 5, 3}, {2, 7, 3}, false);
    test_backward_is_the_transpose({2, 3, 4}, {2, 3, 4}, true);
    test_backward_is_the_transpose({3, 5, 1}, {3, 5, 1}, true);
    test_selection_refused();
    return check::finish("test_invariants");
}
