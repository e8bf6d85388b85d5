// The single extension module mslode._core, split by topic into bind_* files.
#include <pybind11/pybind11.h>

#include <mslode/limits.hpp>
#include <mslode/simd.hpp>

namespace py = pybind11;

void bind_math(py::module_& m);
void bind_features(py::module_& m);
void bind_potential(py::module_& m);

PYBIND11_MODULE(_core, m) {
    m.doc() = "mslode C++ core: math primitives and feature calculators";
    bind_math(m);
    bind_features(m);
    bind_potential(m);
    // the core's limits, so that Python checks (and messages) use the same numbers
    m.attr("MAX_RADIAL") = mslode::kMaxRadial;
    m.attr("MAX_ANGULAR") = mslode::kMaxAngular;
    m.attr("MAX_ATOMIC_NUMBER") = mslode::kMaxAtomicNumber;
    m.def("instruction_set", &mslode::simd::instruction_set,
          "Which version of the pair loops runs: 'avx2+fma' (chosen at run time), 'native' (built with "
          "-march for this CPU) or 'baseline'.");
}
