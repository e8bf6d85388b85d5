// Feature calculators: expansions and their couplings over batches of
// structures given as concatenated flat arrays (see python/mslode/_frames.py).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <array>
#include <memory>
#include <optional>

#include "mslode/close_pair.hpp"
#include "mslode/compute.hpp"
#include "mslode/density_expansion.hpp"
#include "mslode/equivariants.hpp"
#include "mslode/invariants.hpp"
#include "mslode/potential_expansion.hpp"

namespace py = pybind11;

namespace {

template <class T>
using CArray = py::array_t<T, py::array::c_style | py::array::forcecast>;

// Views into the caller's arrays; valid while those arrays live.
struct Batch {
    CArray<double> positions;  // (n_total, 3)
    CArray<int> types;         // (n_total)
    CArray<long long> offsets; // (n_structures + 1)
    CArray<double> cells;      // (n_structures, 3, 3)
    CArray<bool> pbc;          // (n_structures, 3)
    CArray<int> centers;       // (n_centers, 2): structure, atom

    std::vector<mslode::Structure> structures() const {
        const auto n_structures = offsets.size() - 1;
        if (n_structures < 0) throw std::invalid_argument("offsets must have n_structures + 1 entries");
        if (cells.size() != 9 * n_structures || pbc.size() != 3 * n_structures) {
            throw std::invalid_argument("cells and pbc must have one entry per structure");
        }
        if (positions.size() != 3 * types.size()) throw std::invalid_argument("positions must be (n_atoms, 3)");
        std::vector<mslode::Structure> out(static_cast<size_t>(n_structures));
        const long long* off = offsets.data();
        for (py::ssize_t s = 0; s < n_structures; ++s) {
            if (off[s] < 0 || off[s + 1] < off[s] || off[s + 1] > types.size()) throw std::invalid_argument("bad structure offsets");
            auto& st = out[static_cast<size_t>(s)];
            st.positions = positions.data() + 3 * off[s];
            st.types = types.data() + off[s];
            st.n_atoms = static_cast<int>(off[s + 1] - off[s]);
            for (int k = 0; k < 9; ++k) st.cell[static_cast<size_t>(k)] = cells.data()[9 * s + k];
            for (int k = 0; k < 3; ++k) st.pbc[static_cast<size_t>(k)] = pbc.data()[3 * s + k];
        }
        return out;
    }

    // (the drivers check the indices)
    std::vector<mslode::Center> center_list() const {
        if (centers.ndim() != 2 || centers.shape(1) != 2) throw std::invalid_argument("centers must be (n, 2)");
        std::vector<mslode::Center> out(static_cast<size_t>(centers.shape(0)));
        for (py::ssize_t c = 0; c < centers.shape(0); ++c) out[static_cast<size_t>(c)] = {centers.data()[2 * c], centers.data()[2 * c + 1]};
        return out;
    }
};

Batch make_batch(CArray<double> positions, CArray<int> types, CArray<long long> offsets, CArray<double> cells,
                 CArray<bool> pbc, CArray<int> centers) {
    return Batch{std::move(positions), std::move(types), std::move(offsets), std::move(cells), std::move(pbc),
                 std::move(centers)};
}

// Runs a driver with the GIL released, interruptible from Python: every
// ~50 ms the calling thread (the OpenMP master) re-takes the GIL and runs
// pending signal handlers; when one raises (Ctrl-C: KeyboardInterrupt) all
// threads skip their remaining centres and that exception is raised here,
// after the parallel region, with the GIL held again.
template <class Driver>
void run_interruptible(Driver&& driver) {
    std::shared_ptr<py::error_already_set> raised;  // released with the GIL held
    const mslode::StopCheck check = [&raised] {
        py::gil_scoped_acquire gil;
        if (PyErr_CheckSignals() == 0) return false;
        raised = std::make_shared<py::error_already_set>();  // fetches (clears) the Python error
        return true;
    };
    try {
        py::gil_scoped_release release;
        driver(check);
    } catch (...) {
        if (raised) throw py::error_already_set(*raised);  // the interruption wins over any other error
        throw;
    }
}

py::array_t<double> expansion_values(const mslode::AtomicExpansion& expansion, const Batch& batch) {
    const auto structures = batch.structures();
    const auto centers = batch.center_list();
    py::array_t<double> out({static_cast<py::ssize_t>(centers.size()),
                             static_cast<py::ssize_t>(expansion.channels().size()),
                             static_cast<py::ssize_t>(expansion.max_radial()),
                             static_cast<py::ssize_t>(mslode::lm_size(expansion.max_angular()))});
    double* o = out.mutable_data();
    run_interruptible([&](const mslode::StopCheck& check) {
        mslode::compute_expansion(expansion, structures, centers, o, check);
    });
    return out;
}

// A batch prepared by one expansion, for its values and then its backward
// pass without preparing twice (keeps the batch's arrays and the expansion alive).
struct PreparedBatch {
    std::shared_ptr<const mslode::AtomicExpansion> expansion;
    Batch batch;
    std::vector<mslode::Structure> structures;
    std::vector<mslode::Center> centers;
    mslode::PreparedStructures prepared;
};

std::shared_ptr<PreparedBatch> prepare_batch(std::shared_ptr<mslode::AtomicExpansion> expansion, const Batch& batch) {
    auto out = std::make_shared<PreparedBatch>();
    out->expansion = expansion;
    out->batch = batch;
    out->structures = out->batch.structures();
    out->centers = out->batch.center_list();
    run_interruptible([&](const mslode::StopCheck& check) {
        out->prepared = mslode::prepare_structures(*expansion, out->structures, check);
    });
    return out;
}

py::array_t<double> prepared_values(const PreparedBatch& p) {
    const mslode::AtomicExpansion& e = *p.expansion;
    py::array_t<double> out({static_cast<py::ssize_t>(p.centers.size()), static_cast<py::ssize_t>(e.channels().size()),
                             static_cast<py::ssize_t>(e.max_radial()), static_cast<py::ssize_t>(mslode::lm_size(e.max_angular()))});
    double* o = out.mutable_data();
    run_interruptible([&](const mslode::StopCheck& check) {
        mslode::compute_expansion(e, p.structures, p.centers, p.prepared, o, check);
    });
    return out;
}

// (gradient (n_atoms, 3), strain (n_structures, 3, 3)) of Σ cotangent · coefficients
py::tuple prepared_backward(const PreparedBatch& p, CArray<double> cotangent) {
    const mslode::AtomicExpansion& expansion = *p.expansion;
    const auto& structures = p.structures;
    const auto& centers = p.centers;
    const Batch& batch = p.batch;
    const auto block = static_cast<py::ssize_t>(expansion.block_size());
    if (cotangent.size() != static_cast<py::ssize_t>(centers.size()) * block) {
        throw std::invalid_argument("the cotangent must have one block of " + std::to_string(block) +
                                    " coefficients per centre (" + std::to_string(centers.size()) + " centres)");
    }
    py::array_t<double> gradient({static_cast<py::ssize_t>(batch.types.size()), static_cast<py::ssize_t>(3)});
    py::array_t<double> strain({static_cast<py::ssize_t>(structures.size()), static_cast<py::ssize_t>(3), static_cast<py::ssize_t>(3)});
    double* g = gradient.mutable_data();
    double* e = strain.mutable_data();
    run_interruptible([&](const mslode::StopCheck& check) {
        mslode::compute_expansion_backward(expansion, structures, centers, p.prepared, cotangent.data(), g, e, check);
    });
    return py::make_tuple(gradient, strain);
}

mslode::BlockShape block_shape(const mslode::AtomicExpansion& e) {
    return {e.channels().size(), e.max_radial(), e.max_angular()};
}

std::vector<int> selection(const std::optional<CArray<int>>& selected) {
    if (!selected) return {};
    if (selected->size() == 0) throw std::invalid_argument("the selection of features is empty");
    return std::vector<int>(selected->data(), selected->data() + selected->size());
}

template <size_t Columns>
py::array_t<int> label_array(const std::vector<std::array<int, Columns>>& labels) {
    py::array_t<int> out({static_cast<py::ssize_t>(labels.size()), static_cast<py::ssize_t>(Columns)});
    for (size_t k = 0; k < labels.size(); ++k)
        for (size_t c = 0; c < Columns; ++c) out.mutable_data()[Columns * k + c] = labels[k][c];
    return out;
}

// One row per centre, or per-structure sums when `center_blocks` (the block
// of each centre) is given: (n_structures, n_blocks, output_size).
py::array_t<double> coupled_values(const mslode::AtomicExpansion& f, const mslode::AtomicExpansion& g,
                                   const mslode::Coupling& coupling, const Batch& batch,
                                   const std::optional<CArray<int>>& center_blocks, int n_blocks) {
    const auto structures = batch.structures();
    const auto centers = batch.center_list();
    const auto width = static_cast<py::ssize_t>(coupling.output_size());
    std::optional<mslode::StructureSums> sums;
    py::array_t<double> out;
    if (center_blocks) {
        sums = mslode::StructureSums{std::vector<int>(center_blocks->data(), center_blocks->data() + center_blocks->size()),
                                     n_blocks};
        out = py::array_t<double>({static_cast<py::ssize_t>(structures.size()), static_cast<py::ssize_t>(n_blocks), width});
    } else {
        out = py::array_t<double>({static_cast<py::ssize_t>(centers.size()), width});
    }
    double* o = out.mutable_data();
    run_interruptible([&](const mslode::StopCheck& check) {
        mslode::compute_features(f, g, &f == &g, coupling, structures, centers, o, check, sums ? &*sums : nullptr);
    });
    return out;
}

// Coefficient arrays of n centres ((n, ...), C order) checked against a
// coupling's block size; n.
long long coefficient_rows(const CArray<double>& x, int block, const char* name) {
    if (x.ndim() < 1) throw std::invalid_argument(std::string(name) + " must have one row per centre");
    const long long n = static_cast<long long>(x.shape(0));
    if (static_cast<long long>(x.size()) != n * block) {
        throw std::invalid_argument(std::string(name) + " has " + std::to_string(x.size()) + " numbers, not " +
                                    std::to_string(n) + " centres x " + std::to_string(block));
    }
    return n;
}

py::array_t<double> couple_arrays(const mslode::Coupling& coupling, const CArray<double>& f, const CArray<double>& g) {
    const long long n = coefficient_rows(f, coupling.shape_f().size(), "f");
    if (coefficient_rows(g, coupling.shape_g().size(), "g") != n) throw std::invalid_argument("f and g have different centres");
    py::array_t<double> out({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(coupling.output_size())});
    double* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        mslode::couple_coefficients(coupling, f.data(), g.data(), n, o);
    }
    return out;
}

py::tuple couple_arrays_backward(const mslode::InvariantCoupling& coupling, const CArray<double>& f,
                                 const CArray<double>& g, const CArray<double>& cotangent,
                                 const std::optional<CArray<long long>>& rows) {
    const long long n = coefficient_rows(f, coupling.shape_f().size(), "f");
    if (coefficient_rows(g, coupling.shape_g().size(), "g") != n) throw std::invalid_argument("f and g have different centres");
    const long long m = coefficient_rows(cotangent, coupling.output_size(), "cotangent");
    if (rows) {
        if (static_cast<long long>(rows->size()) != n) throw std::invalid_argument("rows needs one cotangent row per centre");
        for (long long i = 0; i < n; ++i) {
            const long long r = rows->data()[i];
            if (r < 0 || r >= m) {
                throw std::invalid_argument("row " + std::to_string(r) + " of centre " + std::to_string(i) +
                                            " is not in [0, " + std::to_string(m) + ")");
            }
        }
    } else if (m != n) {
        throw std::invalid_argument("the cotangent and the coefficients have different centres");
    }
    py::array_t<double> df(std::vector<py::ssize_t>(f.shape(), f.shape() + f.ndim()));
    py::array_t<double> dg(std::vector<py::ssize_t>(g.shape(), g.shape() + g.ndim()));
    double* a = df.mutable_data();
    double* b = dg.mutable_data();
    {
        py::gil_scoped_release release;
        mslode::couple_coefficients_backward(coupling, f.data(), g.data(), cotangent.data(), n, a, b, rows ? rows->data() : nullptr);
    }
    return py::make_tuple(df, dg);
}

// First pair of atoms closer than `threshold` (including periodic images),
// as (structure, i, j, distance), or None.
py::object find_close_pair(const Batch& batch, double threshold) {
    const auto structures = batch.structures();
    std::optional<mslode::ClosePair> pair;
    run_interruptible([&](const mslode::StopCheck& check) { pair = mslode::first_close_pair(structures, threshold, check); });
    if (!pair) return py::none();
    return py::make_tuple(pair->structure, pair->i, pair->j, pair->distance);
}

mslode::PeriodicHypers periodic_hypers(double accuracy, double smearing, double mesh_spacing, int interpolation_order,
                                       bool slab_dipole_correction, double mesh_memory_limit) {
    mslode::PeriodicHypers h;
    h.accuracy = accuracy;
    h.smearing = smearing;
    h.mesh_spacing = mesh_spacing;
    h.interpolation_order = interpolation_order;
    h.slab_dipole_correction = slab_dipole_correction;
    h.mesh_memory_limit = mesh_memory_limit;
    return h;
}

mslode::BasisHypers basis_hypers(double cutoff, double gaussian_width, int max_radial, int max_angular,
                                 double center_atom_weight, double spline_accuracy) {
    mslode::BasisHypers h;
    h.cutoff = cutoff;
    h.gaussian_width = gaussian_width;
    h.max_radial = max_radial;
    h.max_angular = max_angular;
    h.center_atom_weight = center_atom_weight;
    h.spline_accuracy = spline_accuracy;
    return h;
}

}  // namespace

void bind_features(py::module_& m) {
    py::class_<Batch>(m, "Batch", "Concatenated structures and the centres to compute.")
        .def(py::init(&make_batch), py::arg("positions"), py::arg("types"), py::arg("offsets"), py::arg("cells"),
             py::arg("pbc"), py::arg("centers"));

    py::class_<mslode::AtomicExpansion, std::shared_ptr<mslode::AtomicExpansion>>(m, "AtomicExpansion")
        .def_property_readonly("max_radial", &mslode::AtomicExpansion::max_radial)
        .def_property_readonly("max_angular", &mslode::AtomicExpansion::max_angular)
        .def_property_readonly("species", [](const mslode::AtomicExpansion& e) { return e.channels().atomic_numbers(); })
        .def("compute", &expansion_values, py::arg("batch"),
             "Coefficients (n_centers, n_species, max_radial, (max_angular+1)**2).")
        .def("prepare", &prepare_batch, py::arg("batch"),
             "The structures of a batch prepared once (cell lists, a periodic potential's mesh part), for compute() "
             "and backward() of the same centres.");

    py::class_<PreparedBatch, std::shared_ptr<PreparedBatch>>(m, "PreparedBatch",
                                                              "A batch prepared by one expansion.")
        .def("compute", &prepared_values, "Coefficients (n_centers, n_species, max_radial, (max_angular+1)**2).")
        .def("backward", &prepared_backward, py::arg("cotangent"),
             "Vector-Jacobian product of compute: for cotangents shaped like its output, (gradient with respect to "
             "the positions (n_atoms, 3), with respect to a strain of positions and cell (n_structures, 3, 3)).");

    py::class_<mslode::DensityExpansion, mslode::AtomicExpansion, std::shared_ptr<mslode::DensityExpansion>>(
        m, "DensityExpansion")
        .def(py::init([](double cutoff, double gaussian_width, int max_radial, int max_angular, double cutoff_width,
                         double center_atom_weight, std::vector<int> species, double spline_accuracy) {
                 const mslode::DensityHypers h{
                     basis_hypers(cutoff, gaussian_width, max_radial, max_angular, center_atom_weight, spline_accuracy),
                     cutoff_width};
                 py::gil_scoped_release release;
                 return std::make_shared<mslode::DensityExpansion>(h, species);
             }),
             py::arg("cutoff"), py::arg("gaussian_width"), py::arg("max_radial"), py::arg("max_angular"),
             py::arg("cutoff_width"), py::arg("center_atom_weight"), py::arg("species"), py::arg("spline_accuracy"))
        .def_property_readonly("spline_intervals", [](const mslode::DensityExpansion& e) { return e.radial().intervals(); });

    py::class_<mslode::PotentialRadialTable, std::shared_ptr<mslode::PotentialRadialTable>>(
        m, "PotentialRadialTable", "P_nl(d) of one smeared source: spline below the switch, far-field series above.")
        .def(py::init([](double cutoff, double gaussian_width, int max_radial, int max_angular, double potential_exponent,
                         double spline_accuracy) {
                 // the table does not depend on the centre weight
                 const mslode::PotentialHypers h{
                     basis_hypers(cutoff, gaussian_width, max_radial, max_angular, 1.0, spline_accuracy),
                     potential_exponent, mslode::PeriodicHypers{}};
                 py::gil_scoped_release release;
                 return std::const_pointer_cast<mslode::PotentialRadialTable>(mslode::PotentialExpansion::make_radial_table(h));
             }),
             py::arg("cutoff"), py::arg("gaussian_width"), py::arg("max_radial"), py::arg("max_angular"),
             py::arg("potential_exponent"), py::arg("spline_accuracy"))
        .def_property_readonly("switch_distance", &mslode::PotentialRadialTable::switch_distance)
        .def_property_readonly("tail_terms", &mslode::PotentialRadialTable::tail_terms)
        .def_property_readonly("spline_intervals", &mslode::PotentialRadialTable::spline_intervals);

    py::class_<mslode::PeriodicPotentialTables, std::shared_ptr<mslode::PeriodicPotentialTables>>(
        m, "PeriodicPotentialTables",
        "The periodic path's tables: short-range P^sr_nl(d), Hankel transforms of the basis, FFT plans.")
        .def(py::init([](double cutoff, double gaussian_width, int max_radial, int max_angular, double potential_exponent,
                         double spline_accuracy, double accuracy, double smearing, double mesh_spacing,
                         int interpolation_order, bool slab_dipole_correction, double mesh_memory_limit) {
                 const mslode::PotentialHypers h{
                     basis_hypers(cutoff, gaussian_width, max_radial, max_angular, 1.0, spline_accuracy), potential_exponent,
                     periodic_hypers(accuracy, smearing, mesh_spacing, interpolation_order, slab_dipole_correction,
                                     mesh_memory_limit)};
                 py::gil_scoped_release release;
                 return std::const_pointer_cast<mslode::PeriodicPotentialTables>(
                     mslode::PotentialExpansion::make_periodic_tables(h));
             }),
             py::arg("cutoff"), py::arg("gaussian_width"), py::arg("max_radial"), py::arg("max_angular"),
             py::arg("potential_exponent"), py::arg("spline_accuracy"), py::arg("accuracy"), py::arg("smearing"),
             py::arg("mesh_spacing"), py::arg("interpolation_order"), py::arg("slab_dipole_correction"),
             py::arg("mesh_memory_limit"))
        .def_property_readonly("smearing", &mslode::PeriodicPotentialTables::smearing)
        .def_property_readonly("short_range_cutoff", [](const mslode::PeriodicPotentialTables& t) { return t.short_range().cutoff(); })
        .def_property_readonly("spline_intervals", [](const mslode::PeriodicPotentialTables& t) { return t.short_range().spline_intervals(); })
        .def("mesh_shape", [](const mslode::PeriodicPotentialTables& t, CArray<double> cell) {
                 if (cell.size() != 9) throw std::invalid_argument("cell must be 3 x 3");
                 std::array<double, 9> c{};
                 std::copy_n(cell.data(), 9, c.begin());
                 const auto shape = mslode::mesh_shape(c, t.hypers(), t.smearing());
                 return py::make_tuple(shape.points[0], shape.points[1], shape.points[2]);
             }, py::arg("cell"), "Mesh points along the three cell vectors for this cell.");

    py::class_<mslode::PotentialExpansion, mslode::AtomicExpansion, std::shared_ptr<mslode::PotentialExpansion>>(
        m, "PotentialExpansion")
        .def(py::init([](double cutoff, double gaussian_width, int max_radial, int max_angular, double center_atom_weight,
                         double potential_exponent, std::vector<int> species, double spline_accuracy,
                         std::shared_ptr<mslode::PotentialRadialTable> table,
                         std::shared_ptr<mslode::PeriodicPotentialTables> periodic, double accuracy, double smearing,
                         double mesh_spacing, int interpolation_order, bool slab_dipole_correction,
                         double mesh_memory_limit) {
                 const mslode::PotentialHypers h{
                     basis_hypers(cutoff, gaussian_width, max_radial, max_angular, center_atom_weight, spline_accuracy),
                     potential_exponent,
                     periodic_hypers(accuracy, smearing, mesh_spacing, interpolation_order, slab_dipole_correction,
                                     mesh_memory_limit)};
                 py::gil_scoped_release release;
                 if (table || periodic) return std::make_shared<mslode::PotentialExpansion>(h, species, table, periodic);
                 return std::make_shared<mslode::PotentialExpansion>(h, species);
             }),
             py::arg("cutoff"), py::arg("gaussian_width"), py::arg("max_radial"), py::arg("max_angular"),
             py::arg("center_atom_weight"), py::arg("potential_exponent"), py::arg("species"), py::arg("spline_accuracy"),
             py::arg("table") = nullptr, py::arg("periodic") = nullptr, py::arg("accuracy") = 1e-6,
             py::arg("smearing") = 0.0, py::arg("mesh_spacing") = 0.0, py::arg("interpolation_order") = 8,
             py::arg("slab_dipole_correction") = false, py::arg("mesh_memory_limit") = 8e9)
        .def_property_readonly("switch_distance", [](const mslode::PotentialExpansion& e) { return e.radial().switch_distance(); })
        .def_property_readonly("tail_terms", [](const mslode::PotentialExpansion& e) { return e.radial().tail_terms(); })
        .def_property_readonly("spline_intervals", [](const mslode::PotentialExpansion& e) { return e.radial().spline_intervals(); })
        .def("radial", [](const mslode::PotentialExpansion& e, CArray<double> d) {
                 const auto n = static_cast<py::ssize_t>(d.size());
                 const int L = e.max_angular(), N = e.max_radial();
                 py::array_t<double> values({n, static_cast<py::ssize_t>(L + 1), static_cast<py::ssize_t>(N)});
                 py::array_t<double> derivs({n, static_cast<py::ssize_t>(L + 1), static_cast<py::ssize_t>(N)});
                 const size_t w = static_cast<size_t>((L + 1) * N);
                 for (py::ssize_t i = 0; i < n; ++i) {
                     e.radial().evaluate(d.data()[i], values.mutable_data() + static_cast<size_t>(i) * w,
                                         derivs.mutable_data() + static_cast<size_t>(i) * w);
                 }
                 return py::make_tuple(values, derivs);
             }, py::arg("d"), "Tabulated P_nl(d) and derivatives (spline, then far-field series).");

    m.def("find_close_pair", &find_close_pair, py::arg("batch"), py::arg("threshold"));
    py::class_<mslode::Coupling, std::shared_ptr<mslode::Coupling>>(m, "Coupling")
        .def_property_readonly("output_size", &mslode::Coupling::output_size);

    py::class_<mslode::InvariantCoupling, mslode::Coupling, std::shared_ptr<mslode::InvariantCoupling>>(
        m, "InvariantCoupling", "Invariants of two expansions' blocks, all or selected (indices in the full set).")
        .def(py::init([](const mslode::AtomicExpansion& f, const mslode::AtomicExpansion& g, bool symmetric,
                         std::optional<CArray<int>> selected) {
                 return std::make_shared<mslode::InvariantCoupling>(block_shape(f), block_shape(g), symmetric,
                                                                    selection(selected));
             }),
             py::arg("f"), py::arg("g"), py::arg("symmetric"), py::arg("selected") = py::none())
        .def_property_readonly("labels", [](const mslode::InvariantCoupling& c) { return label_array(c.labels()); },
                               "(n_features, 5): channel1, n1, channel2, n2, l.");

    py::class_<mslode::EquivariantCoupling, mslode::Coupling, std::shared_ptr<mslode::EquivariantCoupling>>(
        m, "EquivariantCoupling", "Order-lambda equivariants of two expansions' blocks, all or selected.")
        .def(py::init([](const mslode::AtomicExpansion& f, const mslode::AtomicExpansion& g, int lambda, int parity,
                         std::optional<CArray<int>> selected) {
                 return std::make_shared<mslode::EquivariantCoupling>(block_shape(f), block_shape(g), lambda, parity,
                                                                      selection(selected));
             }),
             py::arg("f"), py::arg("g"), py::arg("lambda_"), py::arg("parity"), py::arg("selected") = py::none())
        .def_property_readonly("n_features", &mslode::EquivariantCoupling::n_features)
        .def_property_readonly("labels", [](const mslode::EquivariantCoupling& c) { return label_array(c.labels()); },
                               "(n_features, 6): channel1, n1, l1, channel2, n2, l2.");

    m.def("couple", &couple_arrays, py::arg("coupling"), py::arg("f"), py::arg("g"),
          "The coupling of coefficients already computed: f (n, ...), g (n, ...) -> (n, output_size).");
    m.def("couple_backward", &couple_arrays_backward, py::arg("coupling"), py::arg("f"), py::arg("g"),
          py::arg("cotangent"), py::arg("rows") = py::none(),
          "Backward pass of couple for invariants: the cotangent (n, n_features), or rows of it picked by "
          "rows[i] for centre i, -> (df, dg), shaped as f and g.");
    m.def("compute_coupled", &coupled_values, py::arg("f"), py::arg("g"), py::arg("coupling"), py::arg("batch"),
          py::arg("center_blocks") = py::none(), py::arg("n_blocks") = 0,
          "Features of a coupling: (n_centers, output_size), or per-structure sums (n_structures, n_blocks, "
          "output_size) when center_blocks gives each centre's block; per centre the output is [mu][feature].");
}
