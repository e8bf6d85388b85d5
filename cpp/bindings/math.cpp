// Math primitives exposed for tests and for users who want them directly.
#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "mslode/clebsch_gordan.hpp"
#include "mslode/density_radial.hpp"
#include "mslode/gto_basis.hpp"
#include "mslode/hyp1f1.hpp"
#include "mslode/radial_spline.hpp"
#include "mslode/spherical_harmonics.hpp"

namespace py = pybind11;
using CArray = py::array_t<double, py::array::c_style | py::array::forcecast>;

namespace {

py::array_t<double> spherical_harmonics(CArray xyz, int max_angular) {
    if (xyz.ndim() != 2 || xyz.shape(1) != 3) throw std::invalid_argument("points must have shape (n, 3)");
    const mslode::SphericalHarmonics sph(max_angular);
    const auto n = static_cast<size_t>(xyz.shape(0));
    py::array_t<double> out({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(sph.size())});
    const double* in = xyz.data();
    double* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        sph.compute_many(in, n, o);
    }
    return out;
}

py::array_t<double> real_cg(int l1, int l2, int lambda) {
    auto block = mslode::real_clebsch_gordan(l1, l2, lambda);
    py::array_t<double> out({2 * l1 + 1, 2 * l2 + 1, 2 * lambda + 1});
    std::copy(block.begin(), block.end(), out.mutable_data());
    return out;
}

// A spline of the density radial integrals, exposed so tests can compare it
// with the analytic kernel and with quadrature.
class DensityRadialTable {
public:
    DensityRadialTable(double cutoff, double gaussian_width, int max_radial, int max_angular, double accuracy)
        : kernel_(mslode::GtoBasis(cutoff, max_radial), gaussian_width, max_angular),
          spline_(mslode::RadialSpline::build(kernel_, max_radial, max_angular, cutoff, accuracy)) {}

    py::tuple exact(CArray d) const { return run(d, true); }
    py::tuple spline(CArray d) const { return run(d, false); }
    int intervals() const { return spline_.intervals(); }

private:
    py::tuple run(CArray d, bool exact) const {
        const auto n = static_cast<py::ssize_t>(d.size());
        const int L = kernel_.max_angular(), N = kernel_.max_radial();
        py::array_t<double> values({n, static_cast<py::ssize_t>(L + 1), static_cast<py::ssize_t>(N)});
        py::array_t<double> derivs({n, static_cast<py::ssize_t>(L + 1), static_cast<py::ssize_t>(N)});
        const size_t w = static_cast<size_t>((L + 1) * N);
        for (py::ssize_t i = 0; i < n; ++i) {
            double* v = values.mutable_data() + static_cast<size_t>(i) * w;
            double* g = derivs.mutable_data() + static_cast<size_t>(i) * w;
            const double x = d.data()[i];
            if (exact) {
                kernel_(x, v, g);
            } else {
                if (x < 0.0 || x > spline_.r_max()) throw std::invalid_argument("distance outside the spline range");
                spline_.evaluate(x, v, g);
            }
        }
        return py::make_tuple(values, derivs);
    }
    mslode::GtoDensityKernel kernel_;
    mslode::RadialSpline spline_;
};

}  // namespace

void bind_math(py::module_& m) {
    m.def("spherical_harmonics", &spherical_harmonics, py::arg("points"), py::arg("max_angular"),
          "Real spherical harmonics of the directions of `points` (n, 3); columns l*l+l+m.");
    m.def("wigner_3j", &mslode::wigner_3j, py::arg("j1"), py::arg("j2"), py::arg("j3"), py::arg("m1"),
          py::arg("m2"), py::arg("m3"));
    m.def("clebsch_gordan_complex", &mslode::clebsch_gordan_complex, py::arg("l1"), py::arg("m1"),
          py::arg("l2"), py::arg("m2"), py::arg("L"), py::arg("M"));
    m.def("real_clebsch_gordan", &real_cg, py::arg("l1"), py::arg("l2"), py::arg("lam"),
          "Real-basis CG block C[m1 + l1, m2 + l2, mu + lam].");
    m.def("hyp1f1_scaled", py::vectorize(&mslode::hyp1f1_scaled), py::arg("a"), py::arg("b"), py::arg("z"),
          "exp(-z) 1F1(a; b; z) for a, b > 0, z >= 0.");

    py::class_<mslode::GtoBasis>(m, "GtoBasis")
        .def(py::init<double, int>(), py::arg("cutoff"), py::arg("max_radial"))
        .def_property_readonly("cutoff", &mslode::GtoBasis::cutoff)
        .def_property_readonly("max_radial", &mslode::GtoBasis::max_radial)
        .def("sigma", &mslode::GtoBasis::sigma, py::arg("n"))
        .def("norm", &mslode::GtoBasis::norm, py::arg("n"))
        .def_property_readonly("overlap", &mslode::GtoBasis::overlap)
        .def_property_readonly("orthonormaliser", &mslode::GtoBasis::orthonormaliser)
        .def("evaluate", &mslode::GtoBasis::evaluate, py::arg("r"),
             "Orthonormal radial functions on the grid r: (len(r), max_radial).");

    py::class_<DensityRadialTable>(m, "DensityRadialTable")
        .def(py::init<double, double, int, int, double>(), py::arg("cutoff"), py::arg("gaussian_width"),
             py::arg("max_radial"), py::arg("max_angular"), py::arg("accuracy") = 1e-8)
        .def("exact", &DensityRadialTable::exact, py::arg("d"),
             "Analytic radial integrals and derivatives, shape (len(d), l_max+1, n_max).")
        .def("spline", &DensityRadialTable::spline, py::arg("d"))
        .def_property_readonly("intervals", &DensityRadialTable::intervals);
}
