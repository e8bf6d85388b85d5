"""Dispersion-like features: ρ⊗V_p with p = 6 next to p = 1, for models of
long-range interactions decaying faster than 1/r (docs/conventions.md,
"Atom-centred potential").

- every integer p = 1 … 6 builds, and its radial functions match nested
  quadrature near and far (p = 4, 5 here; 1, 2, 3, 6 in
  test_potential_expansion.py, with 3-D quadrature, invariance, featomic);
- the physics limit: two rigid fragments beyond the density cut-off with a
  damped pairwise -C6/r⁶ interaction; a linear model without intercept on
  the fragment-subtracted per-structure sums of ρ⊗V_6 (l_max = 0, small σ),
  trained at short separations, extrapolates to long ones, while ρ⊗V_1
  (tail 1/r) cannot and ρ⊗ρ sees nothing there;
- several exponents in one model: `mslode.concatenate` keeps, for every
  column, which exponents it comes from.
"""

import ase
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

import mslode
from mslode import _core
from _potential_reference import nested_radial, per_structure_sums

SPECIES = [1, 6, 8]


@pytest.mark.parametrize("p", [4, 5])
def test_other_integer_exponents(p):
    cutoff, sigma, n_max, l_max = 2.5, 0.4, 3, 2
    V = mslode.PotentialExpansion(cutoff=cutoff, gaussian_width=sigma, max_radial=n_max, max_angular=l_max,
                                  potential_exponent=p, spline_accuracy=1e-8)
    core = V.core([1])
    s = core.switch_distance
    d = np.array([0.0, 0.3, 1.1, 2.4, 0.8 * s, s, 1.5 * s, 40.0])
    ref = nested_radial(d, cutoff=cutoff, sigma=sigma, max_radial=n_max, max_angular=l_max, p=p)
    exact, _ = _core.PotentialRadialKernel(cutoff, sigma, n_max, l_max, p).exact(d)
    np.testing.assert_allclose(exact, ref, rtol=1e-10, atol=1e-13 * np.abs(ref).max())
    table, _ = core.radial(d)
    below = d < s
    scale = np.abs(ref).max(axis=0)
    assert (np.abs(table[below] - ref[below]) / scale).max() < 2e-8
    floor = 1e-3 * np.abs(ref[~below]).max(axis=2, keepdims=True)
    assert (np.abs(table[~below] - ref[~below]) / np.maximum(np.abs(ref[~below]), floor)).max() < 1e-10


# -- the physics limit -------------------------------------------------------------------
FRAGMENT_A = (["C", "H", "H", "H"], np.array([[0.0, 0.0, 0.0], [1.09, 0.0, 0.0], [-0.36, 1.03, 0.0],
                                              [-0.36, -0.51, 0.89]]))
FRAGMENT_B = (["O", "H", "H"], np.array([[0.0, 0.0, 0.0], [0.96, 0.0, 0.0], [-0.24, 0.93, 0.0]]))
C6 = {frozenset([1]): 3.0, frozenset([1, 6]): 8.0, frozenset([1, 8]): 6.0, frozenset([6, 8]): 20.0}
R0 = 2.5  # damping: -C6 / (r⁶ + R0⁶)


def _dimer(rng, separation):
    a = ase.Atoms(FRAGMENT_A[0], positions=Rotation.random(random_state=rng).apply(FRAGMENT_A[1] - FRAGMENT_A[1].mean(0)))
    b = ase.Atoms(FRAGMENT_B[0], positions=Rotation.random(random_state=rng).apply(FRAGMENT_B[1] - FRAGMENT_B[1].mean(0)))
    direction = rng.normal(size=3)
    b.positions += separation * direction / np.linalg.norm(direction)
    r = np.linalg.norm(a.positions[:, None] - b.positions[None], axis=-1)
    c6 = np.array([[C6[frozenset([za, zb])] for zb in b.numbers] for za in a.numbers])
    return a, b, a + b, -np.sum(c6 / (r**6 + R0**6))


def test_dispersion_tail_extrapolates():
    """Fragments 4.5-6.5 Å apart (centres of mass; atoms ≥ 3.3 Å apart, beyond
    r_c = 2 Å) for training, 9-16 Å for testing."""
    rng = np.random.default_rng(1)
    separations = np.concatenate([rng.uniform(4.5, 6.5, 60), rng.uniform(9.0, 16.0, 40)])
    dimers = [_dimer(rng, r) for r in separations]
    energy = np.array([d[3] for d in dimers])
    closest = min(np.linalg.norm(a.positions[:, None] - b.positions[None], axis=-1).min() for a, b, _, _ in dimers)
    cutoff, sigma, n_max = 2.0, 0.3, 4
    assert closest > cutoff + 1.0
    rho = mslode.DensityExpansion(cutoff=cutoff, gaussian_width=sigma, max_radial=n_max, max_angular=0, species=SPECIES)
    train, test = slice(0, 60), slice(60, None)
    errors = {}
    for name, second in [
        ("V6", mslode.PotentialExpansion(cutoff=cutoff, gaussian_width=sigma, max_radial=n_max, max_angular=0,
                                         potential_exponent=6, species=SPECIES, spline_accuracy=1e-8)),
        ("V1", mslode.PotentialExpansion(cutoff=cutoff, gaussian_width=sigma, max_radial=n_max, max_angular=0,
                                         potential_exponent=1, species=SPECIES, spline_accuracy=1e-8)),
        ("rho", rho),
    ]:
        calculator = mslode.Invariants(rho, second)
        a, b, ab = ([d[k] for d in dimers] for k in range(3))
        X = (per_structure_sums(calculator.compute(ab), SPECIES, len(dimers)) - per_structure_sums(calculator.compute(a), SPECIES, len(dimers))
             - per_structure_sums(calculator.compute(b), SPECIES, len(dimers)))
        if name == "rho":  # the density of either fragment never reaches the other
            assert np.abs(X).max() < 1e-12 * np.abs(per_structure_sums(calculator.compute(ab), SPECIES, len(dimers))).max()
            continue
        w, *_ = np.linalg.lstsq(X[train], energy[train], rcond=1e-12)
        errors[name] = np.sqrt(np.mean((X[test] @ w - energy[test]) ** 2))
    spread = energy[test].std()
    assert errors["V6"] < 1e-3 * spread, (errors, spread)
    assert errors["V1"] > spread, (errors, spread)
    assert errors["V6"] < 1e-3 * errors["V1"], errors


# -- several exponents in one model ------------------------------------------------------------
@pytest.fixture(scope="module")
def calculators():
    kw = dict(cutoff=3.0, gaussian_width=0.4, max_radial=3, max_angular=2, species=[1, 8])
    return (mslode.DensityExpansion(**kw),
            mslode.PotentialExpansion(potential_exponent=1, spline_accuracy=1e-6, **kw),
            mslode.PotentialExpansion(potential_exponent=6, spline_accuracy=1e-6, **kw))


def test_concatenated_exponents(calculators):
    rho, V1, V6 = calculators
    water = ase.Atoms("OH2", positions=[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])
    frames = [water, ase.Atoms("OH2OH2", positions=np.vstack([water.positions, water.positions + [3.1, 0.4, -0.5]]))]
    rho_v1 = mslode.Invariants(rho, V1).compute(frames)
    rho_v6 = mslode.Invariants(rho, V6).compute(frames)
    v6_v6 = mslode.Invariants(V6, V6).compute(frames)
    rho_rho = mslode.Invariants(rho, rho).compute(frames)
    assert rho_v1.exponents == (0, 1) and rho_v6.exponents == (0, 6)
    assert v6_v6.exponents == (6, 6) and rho_rho.exponents == (0, 0)

    both = mslode.concatenate(rho_v1, rho_v6)
    assert both.label_names == ("species_1", "n_1", "species_2", "n_2", "l", "exponent_1", "exponent_2")
    assert both.values.shape == (rho_v1.values.shape[0], rho_v1.values.shape[1] + rho_v6.values.shape[1])
    assert both.labels.shape == (both.values.shape[1], 7)
    assert both.exponents is None and not both.symmetric
    for block, p in [(rho_v1, 1), (rho_v6, 6)]:
        columns = both.labels[:, 6] == p
        np.testing.assert_array_equal(both.values[:, columns], block.values)
        np.testing.assert_array_equal(both.labels[columns, :5], block.labels)
        assert np.all(both.labels[columns, 5] == 0)
    np.testing.assert_array_equal(both.structure, rho_v1.structure)
    np.testing.assert_array_equal(both.center, rho_v1.center)

    # concatenations nest; the symmetric flag survives only if every part has it
    everything = mslode.concatenate(both, v6_v6, rho_rho)
    assert everything.values.shape[1] == both.values.shape[1] + v6_v6.values.shape[1] + rho_rho.values.shape[1]
    assert len(np.unique(everything.labels, axis=0)) == len(everything.labels)
    assert not everything.symmetric
    assert mslode.concatenate(v6_v6, rho_rho).symmetric
    same = mslode.concatenate(rho_v6)
    assert same.exponents == (0, 6)

    with pytest.raises(ValueError, match="twice"):
        mslode.concatenate(rho_v1, rho_v1)
    with pytest.raises(ValueError, match="centres"):
        mslode.concatenate(rho_v1, mslode.Invariants(rho, V6).compute(frames, center_species=[8]))
    with pytest.raises(ValueError, match="at least one"):
        mslode.concatenate()
    with pytest.raises(TypeError):
        mslode.concatenate(rho_v1.values)
