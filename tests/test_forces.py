"""Gradients (docs/forces.md): the calculators' vector–Jacobian products and
the models' forces and stress against central finite differences of the
values themselves; the symmetries forces must have (zero net force and
torque on a finite structure, rotation); energy conservation of ASE's
velocity Verlet with mslode.Calculator."""

from __future__ import annotations

import ase
import numpy as np
import pytest
from ase.calculators.calculator import PropertyNotImplementedError

import mslode
from _rotations import random_rotation, rotated

STEP = 1e-5


def molecule(rng: np.random.Generator, symbols: str = "CH4O", spread: float = 1.3) -> ase.Atoms:
    n = len(ase.Atoms(symbols))
    while True:
        atoms = ase.Atoms(symbols, positions=rng.normal(0.0, spread, (n, 3)))
        if atoms.get_all_distances()[np.triu_indices(len(atoms), 1)].min() > 0.7:
            return atoms


def small_cell(rng: np.random.Generator) -> ase.Atoms:
    """A triclinic cell smaller than the cut-off: neighbours are images too."""
    cell = np.array([[3.2, 0.3, 0.1], [0.2, 3.5, -0.2], [0.1, 0.4, 3.9]])
    while True:
        atoms = ase.Atoms("CH4O", scaled_positions=rng.uniform(0, 1, (6, 3)), cell=cell, pbc=True)
        if atoms.get_all_distances(mic=True)[np.triu_indices(6, 1)].min() > 0.8:
            return atoms


def position_differences(value, atoms: ase.Atoms) -> np.ndarray:
    """Central differences of the scalar value(atoms) in every coordinate."""
    out = np.zeros((len(atoms), 3))
    for j in range(len(atoms)):
        for a in range(3):
            plus, minus = atoms.copy(), atoms.copy()
            plus.positions[j, a] += STEP
            minus.positions[j, a] -= STEP
            out[j, a] = (value(plus) - value(minus)) / (2 * STEP)
    return out


def strain_differences(value, atoms: ase.Atoms) -> np.ndarray:
    """Central differences of value(atoms) under positions and cell scaled by 1 + ε."""
    out = np.zeros((3, 3))
    for a in range(3):
        for b in range(3):
            sides = []
            for h in (STEP, -STEP):
                strain = np.eye(3)
                strain[a, b] += h
                moved = atoms.copy()
                moved.set_cell(atoms.cell.array @ strain.T, scale_atoms=False)
                moved.positions = atoms.positions @ strain.T
                sides.append(value(moved))
            out[a, b] = (sides[0] - sides[1]) / (2 * STEP)
    return out


RHO = mslode.DensityExpansion(cutoff=3.5, gaussian_width=0.4, max_radial=4, max_angular=3, cutoff_width=1.0,
                              species=[1, 6, 8])
V = mslode.PotentialExpansion(cutoff=3.5, gaussian_width=0.4, max_radial=4, max_angular=3, species=[1, 6, 8])
V3 = mslode.PotentialExpansion(cutoff=3.5, gaussian_width=0.4, max_radial=4, max_angular=3, species=[1, 6, 8],
                               potential_exponent=3)


def check_backward(calculator, atoms: ase.Atoms, rng: np.random.Generator, strain: bool = False) -> None:
    values = calculator.compute(atoms).values
    cotangent = rng.normal(size=values.shape)
    grads = calculator.backward(atoms, cotangent)

    def value(frame: ase.Atoms) -> float:
        return float(np.sum(cotangent * calculator.compute(frame).values))

    expected = position_differences(value, atoms)
    scale = np.abs(expected).max()
    np.testing.assert_allclose(grads.structure(0), expected, atol=1e-8 * scale)
    if strain:
        expected = strain_differences(value, atoms)
        np.testing.assert_allclose(grads.strain[0], expected, atol=1e-8 * np.abs(expected).max())


def test_density_backward_finite_and_periodic():
    rng = np.random.default_rng(1)
    atoms = molecule(rng)
    distances = atoms.get_all_distances()[np.triu_indices(len(atoms), 1)]
    assert np.any((distances > 2.5) & (distances < 3.5)), "no pair in the smooth cut-off region"
    check_backward(RHO, atoms, rng)
    check_backward(RHO, small_cell(rng), rng, strain=True)


def test_potential_backward_near_and_far_sources():
    """Two molecules 35 Å apart: pairs on both sides of the table's switch
    from spline to far-field series; p = 1 and p = 3."""
    rng = np.random.default_rng(2)
    atoms = molecule(rng) + molecule(rng, "OH2")
    atoms.positions[6:] += [35.0, 1.0, -2.0]
    far = atoms.get_all_distances()[np.triu_indices(len(atoms), 1)]
    for calculator in (V, V3):
        switch = calculator.radial_table().switch_distance
        assert far.min() < switch < far.max()
        check_backward(calculator, atoms, rng)


@pytest.mark.parametrize(
    "calculator",
    [mslode.Invariants(RHO, RHO), mslode.Invariants(RHO, RHO, symmetric=False), mslode.Invariants(RHO, V),
     mslode.Invariants(V, V), mslode.Invariants(V3, RHO)],
    ids=["rho-rho", "rho-rho-full", "rho-V", "V-V", "V3-rho"],
)
def test_invariants_backward(calculator):
    rng = np.random.default_rng(3)
    check_backward(calculator, molecule(rng), rng)


def test_invariants_backward_periodic_density():
    rng = np.random.default_rng(4)
    check_backward(mslode.Invariants(RHO, RHO), small_cell(rng), rng, strain=True)


def periodic_cell(rng: np.random.Generator, pbc=True) -> ase.Atoms:
    cell = np.array([[5.2, 0.3, 0.1], [0.2, 5.5, -0.2], [0.1, 0.4, 5.9]])
    while True:
        atoms = ase.Atoms("CH4O", scaled_positions=rng.uniform(0, 1, (6, 3)), cell=cell, pbc=True)
        if atoms.get_all_distances(mic=True)[np.triu_indices(6, 1)].min() > 0.8:
            return atoms


@pytest.mark.parametrize("exponent", [1, 2, 6])
def test_periodic_potential_backward(exponent):
    """Short-range pairs, the mesh (read-off and charges), the background
    (p ≤ 3) or the k = 0 term (p > 3): positions and strain."""
    rng = np.random.default_rng(20 + exponent)
    V = mslode.PotentialExpansion(cutoff=3.5, gaussian_width=0.4, max_radial=4, max_angular=3, species=[1, 6, 8],
                                  potential_exponent=exponent)
    check_backward(V, periodic_cell(rng), rng, strain=True)


def test_slab_dipole_correction_backward():
    """The correction's field depends on every atom's height; its strain
    derivative is not available (NaN)."""
    rng = np.random.default_rng(24)
    cell = np.array([[5.2, 0.3, 0.0], [0.2, 5.5, 0.0], [0.0, 0.0, 16.0]])
    atoms = ase.Atoms("CH4O", positions=rng.uniform(0, 1, (6, 3)) * [5, 5, 3] + [0, 0, 6], cell=cell,
                      pbc=[True, True, False])
    V = mslode.PotentialExpansion(cutoff=3.5, gaussian_width=0.4, max_radial=4, max_angular=3, species=[1, 6, 8],
                                  slab_dipole_correction=True)
    check_backward(V, atoms, rng)
    assert np.isnan(V.backward(atoms, np.ones_like(V.compute(atoms).values)).strain).all()


def test_backward_checks_its_input():
    rng = np.random.default_rng(5)
    atoms = molecule(rng)
    values = RHO.compute(atoms).values
    with pytest.raises(ValueError, match="cotangent has shape"):
        RHO.backward(atoms, values[:, :, :1])
    with pytest.raises(ValueError, match="NaN"):
        RHO.backward(atoms, np.full_like(values, np.nan))
    with pytest.raises(ValueError, match="cotangent has shape"):
        mslode.Invariants(RHO, RHO).backward(atoms, np.zeros((len(atoms), 3)))


def test_invariants_pullback_of_cotangent_rows():
    """A cotangent given as rows picked per centre (a linear model's: one
    per species) gives the gradients of the full array it stands for."""
    rng = np.random.default_rng(7)
    atoms = molecule(rng)
    features, pullback, _ = mslode.Invariants(RHO, V)._linearize(atoms, None)
    table = rng.normal(size=(3, features.shape[1]))
    rows = rng.integers(0, 3, len(features))
    picked, full = pullback(table, rows), pullback(table[rows])
    np.testing.assert_allclose(picked.positions, full.positions, rtol=1e-13, atol=1e-13)
    assert np.abs(full.positions).max() > 1e-3
    with pytest.raises(ValueError, match="not in"):
        pullback(table, np.full(len(features), 3))
    with pytest.raises(ValueError, match="one cotangent row per centre"):
        pullback(table, rows[:-1])


# -- models ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def training():
    rng = np.random.default_rng(6)
    frames = [molecule(rng) for _ in range(30)]
    return frames, rng.normal(size=len(frames))


MODELS = {
    "ridge-rho-rho+rho-V": lambda: mslode.Ridge([mslode.Invariants(RHO, RHO), mslode.Invariants(RHO, V)], alphas=1e-3),
    "ridge-rho": lambda: mslode.Ridge([RHO], alphas=1e-3),
    "krr-normalised+unnormalised": lambda: mslode.SparseKernelRidge(
        [mslode.Invariants(RHO, RHO), mslode.Invariants(RHO, V)], zeta=[2, 3], normalize=[True, False], n_active=20,
        alphas=1e-3),
    "krr-explicit+normalised": lambda: mslode.SparseKernelRidge(
        [mslode.Invariants(RHO, V), mslode.Invariants(RHO, RHO)], zeta=[1, 2], normalize=[False, True], n_active=20,
        alphas=1e-3),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_model_forces_are_minus_the_gradient(training, name):
    frames, y = training
    model = MODELS[name]().fit(frames, y)
    rng = np.random.default_rng(7)
    test = [molecule(rng), molecule(rng)]
    out = model.predict_forces(test)
    np.testing.assert_allclose(out.energy, model.predict(test), rtol=1e-10, atol=1e-12)
    assert np.isnan(out.stress).all()
    for frame, forces in zip(test, out.forces):
        expected = -position_differences(lambda f: model.predict([f])[0], frame)
        np.testing.assert_allclose(forces, expected, atol=1e-7 * np.abs(expected).max())
        # a finite structure: no net force, no net torque
        scale = np.abs(forces).max()
        np.testing.assert_allclose(forces.sum(axis=0), 0.0, atol=1e-12 * len(frame) * scale)
        np.testing.assert_allclose(np.cross(frame.positions, forces).sum(axis=0), 0.0, atol=1e-11 * len(frame) * scale)


def test_forces_rotate_with_the_structure(training):
    frames, y = training
    model = MODELS["ridge-rho-rho+rho-V"]().fit(frames, y)
    rng = np.random.default_rng(8)
    test = [molecule(rng)]
    R = random_rotation(rng)
    before = model.predict_forces(test).forces[0]
    after = model.predict_forces(rotated(test, R)).forces[0]
    np.testing.assert_allclose(after, before @ R.T, atol=1e-10 * np.abs(before).max())


def periodic_training(rng: np.random.Generator, n: int) -> tuple[list, np.ndarray]:
    """Distorted simple-cubic boxes of one species and a smooth pair energy."""
    frames, y = [], []
    lattice = np.stack(np.meshgrid(*[np.arange(2)] * 3, indexing="ij"), -1).reshape(-1, 3) * 2.6
    for _ in range(n):
        atoms = ase.Atoms("Ar8", positions=lattice + rng.normal(0, 0.15, (8, 3)), cell=np.diag([5.2, 5.2, 5.2]),
                          pbc=True)
        d = atoms.get_all_distances(mic=True)[np.triu_indices(8, 1)]
        frames.append(atoms)
        y.append(np.sum(np.exp(-((d - 2.6) ** 2))))
    return frames, np.asarray(y)


def test_stress_is_the_strain_derivative():
    rng = np.random.default_rng(9)
    frames, y = periodic_training(rng, 40)
    rho = mslode.DensityExpansion(cutoff=4.0, gaussian_width=0.5, max_radial=4, max_angular=3, cutoff_width=1.0)
    model = mslode.Ridge([mslode.Invariants(rho, rho)], alphas=1e-4).fit(frames, y)
    atoms = frames[0].copy()
    atoms.set_cell(atoms.cell.array @ np.array([[1.0, 0.05, 0.0], [0.0, 1.0, 0.03], [0.02, 0.0, 1.0]]),
                   scale_atoms=True)
    out = model.predict_forces([atoms])
    expected = strain_differences(lambda f: model.predict([f])[0], atoms) / atoms.get_volume()
    np.testing.assert_allclose(out.stress[0], expected, atol=1e-8 * np.abs(expected).max())
    forces = -position_differences(lambda f: model.predict([f])[0], atoms)
    np.testing.assert_allclose(out.forces[0], forces, atol=1e-7 * np.abs(forces).max())
    atoms.calc = mslode.Calculator(model)
    voigt = atoms.get_stress()
    np.testing.assert_allclose(voigt, out.stress[0].ravel()[[0, 4, 8, 5, 2, 1]])


def test_periodic_potential_model_forces_and_stress(training):
    """ρ⊗V on a periodic cell: mesh and short-range parts through the model;
    with the slab dipole correction the stress is not available."""
    frames, y = training
    rng = np.random.default_rng(25)
    model = mslode.Ridge([mslode.Invariants(RHO, V)], alphas=1e-3).fit(frames, y)
    atoms = periodic_cell(rng)
    out = model.predict_forces([atoms])
    expected = -position_differences(lambda f: model.predict([f])[0], atoms)
    np.testing.assert_allclose(out.forces[0], expected, atol=1e-7 * np.abs(expected).max())
    expected = strain_differences(lambda f: model.predict([f])[0], atoms) / atoms.get_volume()
    np.testing.assert_allclose(out.stress[0], expected, atol=1e-7 * np.abs(expected).max())
    slab = atoms.copy()
    slab.set_cell(np.array([[5.2, 0.3, 0.0], [0.2, 5.5, 0.0], [0.0, 0.0, 16.0]]), scale_atoms=False)
    slab.pbc = [True, True, False]
    slab.positions[:, 2] = rng.uniform(6, 9, len(slab))
    corrected_v = mslode.PotentialExpansion(**{**V.get_params(), "slab_dipole_correction": True})
    corrected = mslode.Ridge([mslode.Invariants(RHO, corrected_v)], alphas=1e-3).fit(frames, y)
    slab.calc = mslode.Calculator(corrected)
    slab.get_forces()
    with pytest.raises(PropertyNotImplementedError, match="slab dipole"):
        slab.get_stress()


def test_committee_forces():
    rng = np.random.default_rng(10)
    frames = [molecule(rng) for _ in range(40)]
    y = rng.normal(size=40)
    committee = mslode.Committee(MODELS["ridge-rho"](), n_members=4).fit(frames, y)
    test = [molecule(rng)]
    out = committee.predict_forces(test)
    each = [member.predict_forces(test).forces[0] for member in committee.members_]
    np.testing.assert_allclose(out.forces[0], np.mean(each, axis=0), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(out.forces_std[0], committee.calibration_factor_ * np.std(each, axis=0, ddof=1),
                               rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(out.energy, committee.predict(test), rtol=1e-12)
    atoms = test[0].copy()
    atoms.calc = mslode.Calculator(committee)
    atoms.get_forces()
    assert atoms.calc.results["forces_std"].shape == (len(atoms), 3)


def test_models_refuse_forces_they_cannot_give(training):
    frames, y = training
    rng = np.random.default_rng(11)
    vectors = rng.normal(size=(len(frames), 3))
    dipole = mslode.Ridge([mslode.Equivariants(RHO, RHO, lambda_=1)]).fit(frames, vectors)
    with pytest.raises(ValueError, match="forces need a model of a scalar"):
        dipole.predict_forces(frames[:1])
    per_atom = mslode.Ridge([RHO], per_atom=True).fit(frames, [rng.normal(size=len(f)) for f in frames])
    with pytest.raises(ValueError, match="per_atom"):
        per_atom.predict_forces(frames[:1])
    lam0 = mslode.Ridge([mslode.Equivariants(RHO, RHO, lambda_=0)]).fit(frames, y)
    with pytest.raises(NotImplementedError, match="forces through"):
        lam0.predict_forces(frames[:1])
    with_v = mslode.Ridge([mslode.Invariants(RHO, V)]).fit(frames, y)
    atoms = frames[0].copy()
    atoms.calc = mslode.Calculator(with_v)
    with pytest.raises(PropertyNotImplementedError):
        atoms.get_stress()
    with pytest.raises(TypeError):
        mslode.Calculator(object())


def test_nve_conserves_energy():
    """Velocity Verlet on a periodic box with a fitted ρ⊗ρ model: the total
    energy stays within a small fraction of the kinetic energy's swings,
    which a wrong force (a sign, a factor) would not allow. A short run,
    while the atoms stay where the model was trained (the model is not
    physical beyond: the test is of its gradient, not of its fit)."""
    from ase import units
    from ase.md.verlet import VelocityVerlet

    rng = np.random.default_rng(12)
    frames, y = periodic_training(rng, 60)
    rho = mslode.DensityExpansion(cutoff=4.0, gaussian_width=0.5, max_radial=4, max_angular=3, cutoff_width=1.0)
    model = mslode.Ridge([mslode.Invariants(rho, rho)], alphas=1e-4).fit(frames, y)
    atoms = frames[0].copy()
    atoms.calc = mslode.Calculator(model)
    atoms.set_velocities(rng.normal(0.0, 0.01, (len(atoms), 3)))
    dynamics = VelocityVerlet(atoms, timestep=1.0 * units.fs)
    total, kinetic = [], []
    for _ in range(40):
        dynamics.run(1)
        total.append(atoms.get_total_energy())
        kinetic.append(atoms.get_kinetic_energy())
    swing = np.ptp(kinetic)
    assert swing > 0.1
    assert np.ptp(total) < 1e-3 * swing
