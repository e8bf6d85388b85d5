// GtoBasis::to_orthonormal, the one place where primitive-basis radial data
// becomes orthonormal-basis data: its [block][n][column] layout, against the
// orthonormal functions of GtoBasis::evaluate (an Eigen product, another code
// path) and against the sum written out.
#include <mslode/gto_basis.hpp>

#include "check.hpp"

#include <cmath>
#include <string>
#include <vector>

namespace {

void test_against_evaluate(int max_radial) {
    const mslode::GtoBasis basis(4.0, max_radial);
    const int N = max_radial, points = 7;
    Eigen::VectorXd r(points);
    for (int i = 0; i < points; ++i) r[i] = 0.3 + 0.9 * i;
    const Eigen::MatrixXd expected = basis.evaluate(r);  // (points, N)
    // one block per point: primitive k of point i at [i * N + k]
    std::vector<double> primitive(static_cast<size_t>(points * N)), out(primitive.size());
    for (int i = 0; i < points; ++i)
        for (int k = 0; k < N; ++k) {
            const double s = basis.sigma(k);
            primitive[static_cast<size_t>(i * N + k)] = basis.norm(k) * std::pow(r[i], k) * std::exp(-0.5 * r[i] * r[i] / (s * s));
        }
    basis.to_orthonormal(primitive.data(), out.data(), points);
    double worst = 0.0, scale = 0.0;
    for (int i = 0; i < points; ++i)
        for (int n = 0; n < N; ++n) {
            worst = std::max(worst, std::abs(out[static_cast<size_t>(i * N + n)] - expected(i, n)));
            scale = std::max(scale, std::abs(expected(i, n)));
        }
    check::close("to_orthonormal = evaluate, max_radial " + std::to_string(N), worst / scale, 0.0, 1e-12);
}

void test_columns(int max_radial, int blocks, int columns) {
    const mslode::GtoBasis basis(3.0, max_radial);
    const int N = max_radial;
    std::vector<double> in(static_cast<size_t>(blocks * N * columns)), out(in.size());
    for (auto& x : in) x = check::uniform(-1.0, 1.0);
    basis.to_orthonormal(in.data(), out.data(), blocks, columns);
    const auto& U = basis.orthonormaliser();
    double worst = 0.0;
    for (int b = 0; b < blocks; ++b)
        for (int n = 0; n < N; ++n)
            for (int j = 0; j < columns; ++j) {
                double want = 0.0;
                for (int k = 0; k < N; ++k) want += U(n, k) * in[static_cast<size_t>((b * N + k) * columns + j)];
                worst = std::max(worst, std::abs(out[static_cast<size_t>((b * N + n) * columns + j)] - want));
            }
    check::close("to_orthonormal layout, " + std::to_string(blocks) + " blocks x " + std::to_string(columns) + " columns",
                 worst, 0.0, 0.0);
}

}  // namespace

int main() {
    for (int N : {1, 4, 9}) test_against_evaluate(N);
    test_columns(5, 3, 1);
    test_columns(4, 2, 6);
    return check::finish("test_gto_basis");
}
