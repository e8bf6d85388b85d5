"""Calculators are values: their hyper-parameters cannot change behind the
tables built from them.

For every hyper-parameter of every calculator: assignment is refused with a
message that says what to do; ``set_params`` gives a calculator that computes
exactly what a new one with the same parameters computes (and differs from
what the old parameters gave, so a stale table would be caught); equality
and hashing follow the parameters; ``sklearn.base.clone`` and pickling give
equal calculators that compute the same numbers.
"""

from __future__ import annotations

import pickle

import ase
import numpy as np
import pytest

import mslode

sklearn_base = pytest.importorskip("sklearn.base")

WATER_CO2 = ase.Atoms(
    "OH2CO2",
    positions=[[0.0, 0.0, 0.0], [0.96, 0.0, 0.0], [-0.24, 0.93, 0.0],
               [3.1, 0.2, 0.3], [4.26, 0.2, 0.3], [1.94, 0.2, 0.3]],
)
WATER = ase.Atoms("OH2", positions=[[0.0, 0.0, 0.0], [0.96, 0.0, 0.0], [-0.24, 0.93, 0.0]])
#: a slab-like cell (periodic in x, y, vacuum in z): every periodic
#: hyper-parameter of the potential changes its result
WATER_SLAB = ase.Atoms(WATER.numbers, positions=WATER.positions + [1.0, 1.5, 3.0], cell=[6.0, 6.5, 10.0],
                       pbc=[True, True, False])
FRAMES = [WATER_CO2, WATER, WATER_SLAB]

BASIS = dict(cutoff=4.0, gaussian_width=0.3, max_radial=4, max_angular=2)

#: Every hyper-parameter of each calculator with another value that changes the result.
DENSITY_CHANGES = dict(
    cutoff=2.0,
    gaussian_width=0.5,
    max_radial=3,
    max_angular=3,
    cutoff_width=1.0,
    center_atom_weight=0.25,
    species=[1, 6, 7, 8],
    spline_accuracy=1e-3,
)
POTENTIAL_CHANGES = dict(
    cutoff=3.0,
    gaussian_width=0.5,
    max_radial=3,
    max_angular=3,
    center_atom_weight=0.25,
    potential_exponent=6,
    species=[1, 6, 7, 8],
    spline_accuracy=1e-3,
    accuracy=1e-4,
    smearing=1.5,
    mesh_spacing=0.3,
    interpolation_order=6,
    slab_dipole_correction=True,
)
CASES = [(mslode.DensityExpansion, name, value) for name, value in DENSITY_CHANGES.items()] + [
    (mslode.PotentialExpansion, name, value) for name, value in POTENTIAL_CHANGES.items()
]


def _ids(case):
    cls, name, _ = case
    return f"{cls.__name__}-{name}"


def test_every_hyper_parameter_is_covered():
    import inspect

    for cls, changes in ((mslode.DensityExpansion, DENSITY_CHANGES), (mslode.PotentialExpansion, POTENTIAL_CHANGES)):
        names = [p for p in inspect.signature(cls).parameters]
        assert sorted(names) == sorted(changes), cls.__name__
        assert sorted(cls(**BASIS).get_params()) == sorted(names)


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_assignment_is_refused(case):
    cls, name, value = case
    calculator = cls(**BASIS)
    before = calculator.get_params()
    with pytest.raises(AttributeError, match=rf"{name} cannot be assigned.*set_params\({name}=value\)"):
        setattr(calculator, name, value)
    assert calculator.get_params() == before


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_set_params_rebuilds_everything(case):
    cls, name, value = case
    calculator = cls(**BASIS)
    old = calculator.compute(FRAMES).values  # builds (and caches) the tables of the old parameters
    assert calculator.set_params(**{name: value}) is calculator
    assert getattr(calculator, name) == value
    fresh = cls(**{**BASIS, name: value})
    assert calculator == fresh and hash(calculator) == hash(fresh)
    assert repr(calculator) == repr(fresh)
    new = calculator.compute(FRAMES).values
    np.testing.assert_array_equal(new, fresh.compute(FRAMES).values)
    assert old.shape != new.shape or not np.array_equal(old, new), f"{name} made no difference: the test is blind"


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_equality_and_hash_follow_the_parameters(case):
    cls, name, value = case
    a, b = cls(**BASIS), cls(**BASIS)
    assert a == b and hash(a) == hash(b) and a is not b
    changed = cls(**{**BASIS, name: value})
    assert changed != a
    assert cls(**changed.get_params()) == changed


@pytest.mark.parametrize("cls", [mslode.DensityExpansion, mslode.PotentialExpansion])
def test_clone_and_pickle_compute_the_same(cls):
    calculator = cls(**BASIS, species=[1, 6, 8])
    expected = calculator.compute(FRAMES).values
    for copy in (sklearn_base.clone(calculator), pickle.loads(pickle.dumps(calculator))):
        assert copy == calculator and copy is not calculator
        np.testing.assert_array_equal(copy.compute(FRAMES).values, expected)


@pytest.mark.parametrize("cls", [mslode.DensityExpansion, mslode.PotentialExpansion])
def test_failed_set_params_changes_nothing(cls):
    calculator = cls(**BASIS)
    expected = calculator.compute(FRAMES).values
    with pytest.raises(ValueError, match="max_radial"):
        calculator.set_params(cutoff=2.0, max_radial=-1)
    with pytest.raises(ValueError, match="no parameter cut_off"):
        calculator.set_params(cut_off=2.0)
    assert calculator == cls(**BASIS)
    np.testing.assert_array_equal(calculator.compute(FRAMES).values, expected)


def test_species_list_cannot_be_changed_through_get_params():
    rho = mslode.DensityExpansion(**BASIS, species=[1, 8])
    rho.get_params()["species"].append(6)
    rho.species.append(6)
    assert rho.species == [1, 8]


def test_limits_come_from_the_core():
    assert (mslode.MAX_RADIAL, mslode.MAX_ANGULAR, mslode.MAX_ATOMIC_NUMBER) == (
        mslode._core.MAX_RADIAL, mslode._core.MAX_ANGULAR, mslode._core.MAX_ATOMIC_NUMBER)
    with pytest.raises(ValueError, match=rf"\[0, {mslode.MAX_ANGULAR}\]"):
        mslode.DensityExpansion(**{**BASIS, "max_angular": mslode.MAX_ANGULAR + 1})
    mslode.DensityExpansion(**{**BASIS, "max_angular": mslode.MAX_ANGULAR})
    with pytest.raises(ValueError, match=rf"1\.\.{mslode.MAX_ATOMIC_NUMBER}"):
        mslode.DensityExpansion(**BASIS, species=[mslode.MAX_ATOMIC_NUMBER + 1])


# -- invariants ------------------------------------------------------------

def _density(**changes):
    return mslode.DensityExpansion(**{**BASIS, **changes})


def _potential(**changes):
    return mslode.PotentialExpansion(**{**BASIS, **changes})


def test_invariants_parameters_are_read_only():
    rho = _density()
    ps = mslode.Invariants(rho, rho)
    for name in ("first", "second", "symmetric"):
        with pytest.raises(AttributeError, match="cannot be assigned"):
            setattr(ps, name, None)


def test_invariants_get_params_lists_the_expansions():
    rho, V = _density(), _potential()
    params = mslode.Invariants(rho, V).get_params()
    assert params["first"] is rho and params["second"] is V and params["symmetric"] is None
    assert params["first__cutoff"] == 4.0 and params["second__potential_exponent"] == 1
    assert set(mslode.Invariants(rho, V).get_params(deep=False)) == {"first", "second", "symmetric"}


def test_nested_set_params_of_one_expansion_changes_both():
    rho = _density()
    ps = mslode.Invariants(rho, rho)
    ps.compute(FRAMES)
    ps.set_params(first__cutoff=3.0)
    assert ps.first.cutoff == ps.second.cutoff == 3.0 and ps.symmetric
    assert rho.cutoff == 4.0, "the calculator passed in must not change"
    expected = mslode.Invariants(_density(cutoff=3.0), _density(cutoff=3.0))
    assert ps == expected and hash(ps) == hash(expected)
    np.testing.assert_array_equal(ps.compute(FRAMES).values, expected.compute(FRAMES).values)
    with pytest.raises(ValueError, match="one expansion"):
        ps.set_params(first__cutoff=2.0, second__cutoff=2.5)


def test_nested_set_params_of_two_expansions():
    rho, V = _density(), _potential()
    rho_V = mslode.Invariants(rho, V)
    old = rho_V.compute(FRAMES).values
    rho_V.set_params(second__potential_exponent=6, first__gaussian_width=0.4)
    expected = mslode.Invariants(_density(gaussian_width=0.4), _potential(potential_exponent=6))
    assert rho_V == expected and V.potential_exponent == 1
    new = rho_V.compute(FRAMES).values
    np.testing.assert_array_equal(new, expected.compute(FRAMES).values)
    assert not np.array_equal(new, old)
    assert rho_V.compute(FRAMES).exponents == (0, 6)


def test_invariants_symmetric_follows_equality():
    # two equal calculators are one expansion: symmetric by default, computed once
    a, b = _density(), _density()
    ps = mslode.Invariants(a, b)
    assert ps.symmetric and ps == mslode.Invariants(a, a)
    np.testing.assert_array_equal(ps.compute(FRAMES).values, mslode.Invariants(a, a).compute(FRAMES).values)
    full = mslode.Invariants(a, b, symmetric=False)
    assert full != ps
    with pytest.raises(ValueError, match="same expansion"):
        mslode.Invariants(a, _density(cutoff=3.0), symmetric=True)
    # replacing one side re-decides the default
    ps.set_params(second=_density(cutoff=3.0))
    assert not ps.symmetric


def test_invariants_follow_a_changed_expansion():
    """An expansion changed after the invariants were made is what they use
    (no stale copy), and a change that breaks the pair is an error."""
    rho, V = _density(), _potential()
    rho_V = mslode.Invariants(rho, V)
    rho_V.compute(FRAMES)
    rho.set_params(cutoff=3.0)
    np.testing.assert_array_equal(
        rho_V.compute(FRAMES).values, mslode.Invariants(_density(cutoff=3.0), _potential()).compute(FRAMES).values
    )
    V.set_params(max_angular=3)
    with pytest.raises(ValueError, match="same max_angular"):
        rho_V.compute(FRAMES)


def test_invariants_clone_and_pickle():
    rho = _density(species=[1, 6, 8])
    for invariants in (mslode.Invariants(rho, rho), mslode.Invariants(rho, _potential(species=[1, 6, 8]))):
        expected = invariants.compute(FRAMES).values
        for copy in (sklearn_base.clone(invariants), pickle.loads(pickle.dumps(invariants))):
            assert copy == invariants and copy is not invariants and copy.first is not rho
            np.testing.assert_array_equal(copy.compute(FRAMES).values, expected)
    ps = sklearn_base.clone(mslode.Invariants(rho, rho))
    assert ps.first is ps.second


def test_set_params_after_clone_leaves_the_original():
    """The grid-search pattern: clone, then set_params on the clone."""
    rho = _density()
    rho_V = mslode.Invariants(rho, _potential())
    trial = sklearn_base.clone(rho_V).set_params(second__cutoff=3.0, first__max_radial=3)
    assert rho_V == mslode.Invariants(_density(), _potential())
    assert trial == mslode.Invariants(_density(max_radial=3), _potential(cutoff=3.0))
