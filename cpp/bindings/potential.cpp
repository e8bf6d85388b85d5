// Potential radial functions, exposed so tests can reach the exact kernel,
// its far-field series and the tabulated version.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "mslode/gto_basis.hpp"
#include "mslode/potential_radial.hpp"

namespace py = pybind11;

namespace {

using CArray = py::array_t<double, py::array::c_style | py::array::forcecast>;

class PotentialRadialKernel {
public:
    PotentialRadialKernel(double cutoff, double gaussian_width, int max_radial, int max_angular, double potential_exponent)
        : kernel_(mslode::GtoBasis(cutoff, max_radial), gaussian_width, max_angular, potential_exponent, 10.0 * cutoff) {}

    py::tuple exact(CArray d) const {
        return run(d, [this](double x, double* v, double* g) { kernel_(x, v, g); });
    }
    py::tuple tail(CArray d, int terms) const {
        return run(d, [this, terms](double x, double* v, double* g) { kernel_.tail(x, terms, v, g); });
    }
    py::array_t<double> tail_coefficients(int terms) const {
        const int L = kernel_.max_angular(), N = kernel_.max_radial();
        py::array_t<double> out({L + 1, N, terms});
        const auto c = kernel_.orthonormal_tail_coefficients(terms);
        std::copy(c.begin(), c.end(), out.mutable_data());
        return out;
    }

private:
    template <class F>
    py::tuple run(CArray d, F&& f) const {
        const auto n = static_cast<py::ssize_t>(d.size());
        const int L = kernel_.max_angular(), N = kernel_.max_radial();
        py::array_t<double> values({n, static_cast<py::ssize_t>(L + 1), static_cast<py::ssize_t>(N)});
        py::array_t<double> derivs({n, static_cast<py::ssize_t>(L + 1), static_cast<py::ssize_t>(N)});
        const size_t w = static_cast<size_t>((L + 1) * N);
        const double* x = d.data();
        double* v = values.mutable_data();
        double* g = derivs.mutable_data();
        {
            py::gil_scoped_release release;
            for (py::ssize_t i = 0; i < n; ++i) f(x[i], v + static_cast<size_t>(i) * w, g + static_cast<size_t>(i) * w);
        }
        return py::make_tuple(values, derivs);
    }
    mslode::GtoPotentialKernel kernel_;
};

}  // namespace

void bind_potential(py::module_& m) {
    py::class_<PotentialRadialKernel>(m, "PotentialRadialKernel")
        .def(py::init<double, double, int, int, double>(), py::arg("cutoff"), py::arg("gaussian_width"),
             py::arg("max_radial"), py::arg("max_angular"), py::arg("potential_exponent") = 1.0)
        .def("exact", &PotentialRadialKernel::exact, py::arg("d"),
             "P_nl(d) and derivatives by quadrature, shape (len(d), l_max+1, n_max).")
        .def("tail", &PotentialRadialKernel::tail, py::arg("d"), py::arg("terms"),
             "The far-field series with `terms` terms.")
        .def("tail_coefficients", &PotentialRadialKernel::tail_coefficients, py::arg("terms"));
}
