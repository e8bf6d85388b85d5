"""Ridge: per-structure sums per central species, exact recovery of linear
targets, agreement with dense numpy solutions (both solvers) and with a
cross-validation written out by hand, targets by name (info, calculator,
arrays), fragments that vanish at dissociation, fixed species, the
scikit-learn protocol, and clear errors for bad input.

References are independent of the code under test: per-centre features from
``compute`` summed in Python loops, and least squares by ``np.linalg.lstsq``
on the stacked system [C Z; 0 √(αn) I].
"""

from __future__ import annotations

import pickle

import ase
import numpy as np
import pytest
from ase.calculators.singlepoint import SinglePointCalculator

import mslode

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import GridSearchCV, GroupKFold, KFold  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402

GRID = np.stack(np.meshgrid(*[np.arange(3)] * 3, indexing="ij"), -1).reshape(-1, 3) * 1.5


def random_frames(n, seed, species=(1, 6, 8), sizes=(3, 8)):
    """Small molecules on a jittered grid (no overlaps), varied composition."""
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(n):
        m = int(rng.integers(*sizes))
        sites = rng.choice(len(GRID), m, replace=False)
        positions = GRID[sites] + rng.normal(0.0, 0.15, (m, 3))
        frames.append(ase.Atoms(numbers=rng.choice(species, m), positions=positions))
    return frames


RHO = mslode.DensityExpansion(cutoff=3.0, gaussian_width=0.4, max_radial=2, max_angular=1)
SOAP = mslode.Invariants(RHO, RHO)
SPECIES = [1, 6, 8]


def per_centre(calculator, frames, species=SPECIES):
    """Per-centre features with the channels fixed, as the model fixes them."""
    fixed = mslode.Invariants(
        mslode.DensityExpansion(**{**RHO.get_params(), "species": species}),
        mslode.DensityExpansion(**{**RHO.get_params(), "species": species}),
    ) if calculator is SOAP else calculator
    return fixed.compute(frames)


def loop_sums(values, frames, species=SPECIES):
    """Per-structure sums per central species, in a plain loop."""
    out = np.zeros((len(frames), len(species), values.values.shape[1]))
    for row, s, z in zip(values.values, values.structure, values.center_species):
        out[s, species.index(z)] += row
    return out.reshape(len(frames), -1)


def counts(frames, species=SPECIES):
    return np.array([[np.count_nonzero(f.numbers == z) for z in species] for f in frames], dtype=float)


def reference_fit(C, Z, y, alpha, scale=None):
    """min |y − Cμ − Z diag(1/scale) β|² + α n |β|² by lstsq on the stacked system."""
    n, p = Z.shape
    Zs = Z if scale is None else Z / scale
    A = np.block([[C, Zs], [np.zeros((p, C.shape[1])), np.sqrt(alpha * n) * np.eye(p)]])
    b = np.concatenate([y, np.zeros(p)])
    theta = np.linalg.lstsq(A, b, rcond=None)[0]
    mu, beta = theta[: C.shape[1]], theta[C.shape[1]:]
    return mu, beta if scale is None else beta / scale


TRAIN = random_frames(200, seed=1)
TEST = random_frames(20, seed=2)
X_TRAIN = loop_sums(per_centre(SOAP, TRAIN), TRAIN)
X_TEST = loop_sums(per_centre(SOAP, TEST), TEST)
W_TRUE = np.random.default_rng(3).normal(size=X_TRAIN.shape[1])
MU_TRUE = np.array([-13.6, -1029.0, -2041.0])
Y_TRAIN = X_TRAIN @ W_TRUE + counts(TRAIN) @ MU_TRUE
Y_TEST = X_TEST @ W_TRUE + counts(TEST) @ MU_TRUE


# -- the seam: per-structure sums -------------------------------------------

@pytest.mark.parametrize("center_species", [None, [6, 8]])
def test_structure_sums_equal_a_loop_over_centres(center_species):
    from mslode.models._design import structure_sums, with_species

    calculator = with_species(SOAP, SPECIES)
    species = SPECIES if center_species is None else center_species
    sums = structure_sums(calculator, TRAIN, species, center_species)
    values = calculator.compute(TRAIN, center_species=center_species)
    expected = loop_sums(values, TRAIN, species)
    np.testing.assert_allclose(sums.reshape(len(TRAIN), -1), expected, rtol=1e-13, atol=1e-13)
    assert np.abs(expected).max() > 0


def test_structure_sums_without_the_core_reduction_equal_a_loop():
    """The Python path of the seam (per-centre rows summed here), taken by
    calculators whose ``compute`` has no ``reduce``."""
    from mslode.models._design import structure_sums, with_species

    class PerCentreOnly:
        def __init__(self, calculator):
            self.calculator = calculator

        def compute(self, frames, *, center_species=None):
            return self.calculator.compute(frames, center_species=center_species)

    calculator = with_species(SOAP, SPECIES)
    sums = structure_sums(PerCentreOnly(calculator), TRAIN, SPECIES)
    expected = loop_sums(calculator.compute(TRAIN), TRAIN)
    np.testing.assert_allclose(sums.reshape(len(TRAIN), -1), expected, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("center_species", [None, [6, 8]])
def test_the_core_reduction_agrees_with_the_python_path(center_species):
    """The switch of the seam to ``compute(reduce="structure")``: both paths
    give the same sums to round-off (skipped while calculators cannot sum)."""
    import inspect

    from mslode.models._design import structure_sums, with_species

    calculator = with_species(SOAP, SPECIES)
    if "reduce" not in inspect.signature(calculator.compute).parameters:
        pytest.skip("the calculators do not sum per structure in the core yet")
    species = SPECIES if center_species is None else center_species
    core = structure_sums(calculator, TRAIN, species, center_species, use_core=True)
    python = structure_sums(calculator, TRAIN, species, center_species, use_core=False)
    np.testing.assert_allclose(core, python, rtol=1e-13, atol=1e-13 * np.abs(python).max())


def test_structure_sums_do_not_depend_on_the_batch():
    """The seam's sums of a structure are the same bits whichever structures
    share its batch (a model must predict the same numbers every time)."""
    from mslode.models._design import structure_sums, with_species

    calculator = with_species(SOAP, SPECIES)
    whole = structure_sums(calculator, TRAIN, SPECIES)
    for _ in range(3):
        np.testing.assert_array_equal(structure_sums(calculator, TRAIN, SPECIES), whole)
    np.testing.assert_array_equal(structure_sums(calculator, TRAIN[:50], SPECIES), whole[:50])
    np.testing.assert_array_equal(structure_sums(calculator, TRAIN[:60], SPECIES), whole[:60])


def test_predictions_are_reproducible_bit_for_bit():
    model = mslode.Ridge([SOAP], alphas=1e-6).fit(TRAIN, Y_TRAIN)
    first = model.predict(TRAIN)
    for _ in range(10):
        np.testing.assert_array_equal(model.predict(TRAIN), first)
    # other structures in the batch change nothing
    np.testing.assert_array_equal(model.predict(TRAIN[:50]), first[:50])
    np.testing.assert_array_equal(model.predict(TRAIN[30:170]), first[30:170])


def test_columns_zero_by_symmetry_are_not_blown_up_by_standardising():
    """Around the C of a linear, centrosymmetric CO2 the l = 1 density and
    potential vanish: their ρ⊗V columns are round-off, which unit scaling
    would turn into noise of the size of the real features."""
    rng = np.random.default_rng(12)
    frames = []
    for _ in range(30):
        axis = rng.normal(size=3)
        axis /= np.linalg.norm(axis)
        bond = rng.uniform(1.1, 1.25)
        shift = rng.uniform(-7.0, 7.0, 3)  # off the origin: the C–O vectors are opposite only to rounding
        frames.append(ase.Atoms("CO2", positions=shift + np.array([[0, 0, 0], bond * axis, -bond * axis])))
    y = np.array([f.get_distance(0, 1) ** -2 for f in frames])
    rho = mslode.DensityExpansion(cutoff=3.0, gaussian_width=0.4, max_radial=2, max_angular=1)
    V = mslode.PotentialExpansion(cutoff=3.0, gaussian_width=0.4, max_radial=2, max_angular=1)
    model = mslode.Ridge([mslode.Invariants(rho, V)], center_species=[6], alphas=1e-8).fit(frames, y)
    labels = mslode.Invariants(mslode.DensityExpansion(**{**rho.get_params(), "species": [6, 8]}),
                               mslode.PotentialExpansion(**{**V.get_params(), "species": [6, 8]})).compute(frames).labels
    odd = labels[:, 4] == 1
    assert odd.any() and np.all(model.scale_[odd] == 1.0) and np.all(model.scale_[~odd] != 1.0)
    assert np.abs(model.coef_[odd]).max() < 1e3 * np.abs(model.coef_[~odd]).max()


def test_expansions_enter_by_their_nu1_invariants():
    from mslode.models._design import structure_sums, with_species

    rho = with_species(RHO, SPECIES)
    sums = structure_sums(rho, TRAIN, SPECIES)
    values, _ = rho.compute(TRAIN).invariants()
    expected = np.zeros_like(sums)
    for row, s, z in zip(values, rho.compute(TRAIN).structure, rho.compute(TRAIN).center_species):
        expected[s, SPECIES.index(z)] += row
    np.testing.assert_allclose(sums, expected, rtol=1e-13, atol=1e-14)


# -- fits -------------------------------------------------------------------

def test_exact_recovery_of_a_linear_target():
    model = mslode.Ridge([SOAP]).fit(TRAIN, Y_TRAIN)
    assert model.alpha_ == min(model.alphas)
    assert model.species_ == SPECIES
    scale = np.abs(Y_TEST - counts(TEST) @ MU_TRUE).max()
    np.testing.assert_allclose(model.predict(TEST), Y_TEST, rtol=0, atol=1e-6 * scale)
    np.testing.assert_allclose(model.baseline_, MU_TRUE, rtol=0, atol=1e-5)
    # the weights themselves are recovered (the design has full column rank)
    assert np.linalg.matrix_rank(X_TRAIN) == X_TRAIN.shape[1]
    np.testing.assert_allclose(model.coef_, W_TRUE, rtol=0, atol=1e-4)
    weights = model.weights()
    assert sorted(weights) == SPECIES and all(len(w) == X_TRAIN.shape[1] // 3 for w in weights.values())


@pytest.mark.parametrize("solver", ["svd", "cholesky"])
@pytest.mark.parametrize("standardize", [True, False])
@pytest.mark.parametrize("baseline,intercept", [("composition", False), (None, True), (None, False)])
def test_ridge_equals_a_dense_numpy_solution(solver, standardize, baseline, intercept):
    rng = np.random.default_rng(4)
    y = Y_TRAIN + rng.normal(0.0, 0.3, len(TRAIN))  # noisy: the regulariser matters
    alpha = 1e-3
    model = mslode.Ridge([SOAP], alphas=alpha, solver=solver, standardize=standardize, baseline=baseline,
                         fit_intercept=intercept).fit(TRAIN, y)
    assert model.solver_ == solver
    columns = ([counts(TRAIN)] if baseline else []) + ([np.ones((len(TRAIN), 1))] if intercept else [])
    C = np.concatenate(columns, axis=1) if columns else np.zeros((len(TRAIN), 0))
    scale = np.sqrt(np.mean(X_TRAIN**2, axis=0)) if standardize else None
    mu, coef = reference_fit(C, X_TRAIN, y, alpha, scale)
    np.testing.assert_allclose(model.coef_, coef, rtol=1e-7, atol=1e-9 * np.abs(coef).max())
    np.testing.assert_allclose(model.baseline_, mu, rtol=1e-7, atol=1e-7)
    expected = X_TEST @ coef + (np.concatenate(
        ([counts(TEST)] if baseline else []) + ([np.ones((len(TEST), 1))] if intercept else []), axis=1
    ) @ mu if columns else 0.0)
    np.testing.assert_allclose(model.predict(TEST), expected, rtol=1e-8, atol=1e-8 * np.abs(expected).max())


@pytest.mark.parametrize("solver", ["svd", "cholesky"])
def test_cross_validation_equals_one_written_out(solver):
    rng = np.random.default_rng(5)
    y = Y_TRAIN + rng.normal(0.0, 2.0, len(TRAIN))
    alphas = [1e-6, 1e-4, 1e-2, 1.0]
    model = mslode.Ridge([SOAP], alphas=alphas, cv=4, random_state=7, solver=solver).fit(TRAIN, y)
    C = counts(TRAIN)
    scale = np.sqrt(np.mean(X_TRAIN**2, axis=0))  # over the whole training set, as documented
    sse = np.zeros(len(alphas))
    for train, test in KFold(4, shuffle=True, random_state=7).split(X_TRAIN):
        for k, alpha in enumerate(alphas):
            Z = X_TRAIN[train] / scale
            n, p = Z.shape
            A = np.block([[C[train], Z], [np.zeros((p, 3)), np.sqrt(alpha * n) * np.eye(p)]])
            theta = np.linalg.lstsq(A, np.concatenate([y[train], np.zeros(p)]), rcond=None)[0]
            residual = C[test] @ theta[:3] + X_TRAIN[test] / scale @ theta[3:] - y[test]
            sse[k] += residual @ residual
    expected = np.sqrt(sse / len(TRAIN))
    np.testing.assert_allclose(model.cv_rmse_[0], expected, rtol=1e-6)
    assert model.alpha_ == alphas[int(np.argmin(expected))]
    assert len(set(np.round(expected / expected.min(), 3))) == len(alphas)  # the grid matters: the test can fail


def test_grouped_cross_validation_uses_group_k_fold_from_an_info_key():
    rng = np.random.default_rng(6)
    frames = [f.copy() for f in TRAIN]
    groups = rng.integers(0, 9, len(frames))
    for frame, group in zip(frames, groups):
        frame.info["curve"] = int(group)
    y = Y_TRAIN + rng.normal(0.0, 2.0, len(TRAIN))
    alphas = [1e-6, 1e-3, 1.0]
    by_key = mslode.Ridge([SOAP], alphas=alphas, cv=3).fit(frames, y, groups="curve")
    by_array = mslode.Ridge([SOAP], alphas=alphas, cv=GroupKFold(3)).fit(TRAIN, y, groups=groups)
    np.testing.assert_allclose(by_key.cv_rmse_, by_array.cv_rmse_, rtol=1e-12)
    shuffled = mslode.Ridge([SOAP], alphas=alphas, cv=3).fit(TRAIN, y)
    assert not np.allclose(shuffled.cv_rmse_, by_key.cv_rmse_)


def test_solvers_agree_and_chunks_change_nothing():
    rng = np.random.default_rng(8)
    y = Y_TRAIN + rng.normal(0.0, 0.5, len(TRAIN))
    svd = mslode.Ridge([SOAP], solver="svd", chunk_size=1000).fit(TRAIN, y)
    svd_chunked = mslode.Ridge([SOAP], solver="svd", chunk_size=7).fit(TRAIN, y)
    cholesky = mslode.Ridge([SOAP], solver="cholesky", chunk_size=7).fit(TRAIN, y)
    np.testing.assert_array_equal(svd.predict(TEST), svd_chunked.predict(TEST))
    assert svd.alpha_ == cholesky.alpha_
    np.testing.assert_allclose(cholesky.predict(TEST), svd.predict(TEST), rtol=1e-8)


def test_gram_buffer_changes_nothing(monkeypatch):
    """Rows held back before a Gram update, flushed every few chunks or only
    at the end, give the same cross-validation errors and weights."""
    from mslode.models import _solve

    rng = np.random.default_rng(9)
    y = Y_TRAIN + rng.normal(0.0, 0.5, len(TRAIN))
    fits = []
    for rows in (1, 10, 10**9):
        monkeypatch.setattr(_solve, "GRAM_BUFFER_ROWS", rows)
        monkeypatch.setattr(_solve, "GRAM_BUFFER_ELEMENTS", 10**12)
        fits.append(mslode.Ridge([SOAP], alphas=[1e-6, 1e-3, 1.0], cv=3, solver="cholesky", chunk_size=3).fit(TRAIN, y))
    for fit in fits[1:]:  # the order of the sums changes: round-off of normal equations at α = 1e-6
        np.testing.assert_allclose(fit.cv_rmse_, fits[0].cv_rmse_, rtol=1e-6)
        np.testing.assert_allclose(fit.predict(TEST), fits[0].predict(TEST), rtol=1e-6)


def test_per_atom_targets():
    values = per_centre(SOAP, TRAIN)
    w = {z: np.random.default_rng(z).normal(size=values.values.shape[1]) for z in SPECIES}
    y_atoms = np.array([row @ w[z] + 0.1 * z for row, z in zip(values.values, values.center_species)])
    model = mslode.Ridge([SOAP], per_atom=True).fit(TRAIN, y_atoms)
    test = per_centre(SOAP, TEST)
    expected = np.array([row @ w[z] + 0.1 * z for row, z in zip(test.values, test.center_species)])
    predicted = model.predict(TEST)
    assert predicted.shape == (sum(len(f) for f in TEST),)
    np.testing.assert_allclose(predicted, expected, atol=1e-6 * np.abs(expected).max())
    # one array per structure is the same target; centres only with center_species
    parts = np.split(y_atoms, np.cumsum([len(f) for f in TRAIN])[:-1])
    np.testing.assert_allclose(mslode.Ridge([SOAP], per_atom=True).fit(TRAIN, list(parts)).predict(TEST), predicted)
    only_o = mslode.Ridge([SOAP], per_atom=True, center_species=[8]).fit(TRAIN, y_atoms)
    assert only_o.predict(TEST).shape == (sum(np.count_nonzero(f.numbers == 8) for f in TEST),)
    np.testing.assert_allclose(only_o.predict(TEST), expected[test.center_species == 8],
                               atol=1e-6 * np.abs(expected).max())


def test_targets_by_name_from_info_from_the_calculator_and_from_arrays():
    values = per_centre(SOAP, TRAIN)
    frames = []
    for k, frame in enumerate(TRAIN):
        frame = frame.copy()
        frame.info["binding"] = float(Y_TRAIN[k])
        frame.calc = SinglePointCalculator(frame, energy=float(Y_TRAIN[k]))  # ASE ≥ 3.23 extxyz: energy lives here
        frame.arrays["local"] = values.values[values.structure == k, 0].copy()
        frames.append(frame)
    assert "energy" not in frames[0].info
    from_info = mslode.Ridge([SOAP]).fit(frames, "binding")
    from_calc = mslode.Ridge([SOAP]).fit(frames, "energy")
    from_array = mslode.Ridge([SOAP]).fit(TRAIN, Y_TRAIN)
    np.testing.assert_array_equal(from_info.predict(TEST), from_array.predict(TEST))
    np.testing.assert_array_equal(from_calc.predict(TEST), from_array.predict(TEST))
    per_atom = mslode.Ridge([SOAP], per_atom=True).fit(frames, "local")
    np.testing.assert_allclose(per_atom.predict(frames[:3]), np.concatenate([f.arrays["local"] for f in frames[:3]]),
                               atol=1e-6)
    with pytest.raises(ValueError, match=r"structure 0 has no property 'enregy'.*binding"):
        mslode.Ridge([SOAP]).fit(frames, "enregy")


def test_fixed_species_give_the_same_columns_on_other_frames():
    model = mslode.Ridge([SOAP], alphas=1e-8).fit(TRAIN, Y_TRAIN)
    assert all(e.species == SPECIES for c in model.calculators_ for e in (c.first, c.second))
    assert SOAP.first.species is None  # the calculators passed in are not changed
    water = [ase.Atoms("OH2", positions=[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])]  # no carbon
    expected = loop_sums(per_centre(SOAP, water), water) @ model.coef_ + counts(water) @ model.baseline_
    np.testing.assert_allclose(model.predict(water), expected, rtol=1e-12)


def test_unseen_species_are_clear_errors():
    model = mslode.Ridge([SOAP], alphas=1e-6, center_species=[6, 8]).fit(TRAIN, Y_TRAIN)
    nitrogen = [ase.Atoms("NH3", positions=[[0, 0, 0], [1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]])]
    with pytest.raises(ValueError, match=r"structure 0 contains species \[7\].*not trained with"):
        model.predict(nitrogen)
    only_ho = mslode.Ridge([SOAP], alphas=1e-6).fit(random_frames(30, seed=9, species=(1, 8)), np.arange(30.0))
    with pytest.raises(ValueError, match=r"structure 0 contains species \[6\].*channels for \[1, 8\]"):
        only_ho.predict(TEST)
    # user-fixed channels accept carbon as a neighbour, but a carbon centre has no weights
    fixed = mslode.Invariants(*(2 * [mslode.DensityExpansion(**{**RHO.get_params(), "species": [1, 6, 8]})]))
    model = mslode.Ridge([fixed], alphas=1e-6).fit(random_frames(30, seed=9, species=(1, 8)), np.arange(30.0))
    assert model.allowed_species_ == [1, 6, 8] and model.species_ == [1, 8]
    with pytest.raises(ValueError, match=r"central atoms of species \[6\]"):
        model.predict(TEST)


# -- fragments --------------------------------------------------------------

WATER = ase.Atoms("OH2", positions=[[0.0, 0.0, 0.0], [0.96, 0.0, 0.0], [-0.24, 0.93, 0.0]])
CO2 = ase.Atoms("CO2", positions=[[0.0, 0.0, 0.0], [1.16, 0.0, 0.0], [-1.16, 0.0, 0.0]])


def dimer(distance, angles):
    partner = CO2.copy()
    partner.rotate(angles[0], "z")
    partner.rotate(angles[1], "x")
    partner.positions += [distance, 0.3, -0.2]
    both = WATER + partner
    both.arrays["monomer"] = np.array([0, 0, 0, 1, 1, 1])
    return both


DIMERS = [dimer(d, a) for d, a in zip(np.linspace(2.8, 7.0, 40), np.random.default_rng(10).uniform(0, 180, (40, 2)))]
Y_DIMERS = np.array([-2.0 / d.get_distance(0, 3) ** 3 for d in DIMERS])


@pytest.mark.parametrize("solver", ["svd", "cholesky"])
def test_a_rank_deficient_baseline_is_projected_out(solver):
    """One composition for every structure: composition and intercept columns
    are proportional (rank 1); the fit must still be the least-squares one."""
    y = Y_DIMERS - 7.5
    model = mslode.Ridge([SOAP], alphas=1e-4, baseline="composition", fit_intercept=True, solver=solver).fit(DIMERS, y)
    X = loop_sums(per_centre(SOAP, DIMERS), DIMERS)
    C = np.concatenate([counts(DIMERS), np.ones((len(DIMERS), 1))], axis=1)
    assert np.linalg.matrix_rank(C) == 1
    rms = np.sqrt(np.mean(X**2, axis=0))
    mu, coef = reference_fit(C, X, y, 1e-4, np.where(rms > 0, rms, 1.0))
    test = [dimer(d, (10, 70)) for d in (3.0, 4.0, 5.5)]
    expected = loop_sums(per_centre(SOAP, test), test) @ coef + np.concatenate(
        [counts(test), np.ones((3, 1))], axis=1) @ mu
    np.testing.assert_allclose(model.predict(test), expected, rtol=1e-7, atol=1e-8)
    assert np.abs(model.baseline_).max() < 1e3  # no division by a zero singular value


def test_fragments_learn_on_the_whole_minus_its_fragments():
    model = mslode.Ridge([SOAP], alphas=1e-4, fragments="monomer").fit(DIMERS, Y_DIMERS)
    assert model.baseline_.size == 0  # "auto": no composition with fragments
    whole = loop_sums(per_centre(SOAP, DIMERS), DIMERS)
    alone = loop_sums(per_centre(SOAP, [WATER] * len(DIMERS)), [WATER] * len(DIMERS)) + loop_sums(
        per_centre(SOAP, [d[3:] for d in DIMERS]), [d[3:] for d in DIMERS])
    difference = whole - alone
    rms = np.sqrt(np.mean(difference**2, axis=0))
    mu, coef = reference_fit(np.zeros((len(DIMERS), 0)), difference, Y_DIMERS, 1e-4, np.where(rms > 0, rms, 1.0))
    np.testing.assert_allclose(model.coef_, coef, rtol=1e-7, atol=1e-9 * np.abs(coef).max())


@pytest.mark.parametrize("estimator", ["ridge", "krr"])
def test_fragments_do_not_depend_on_the_order_of_the_atoms(estimator):
    """Atoms of the two fragments interleaved (and the fragments labelled in
    another order): the same interaction energies."""
    order = np.array([3, 0, 4, 1, 5, 2])
    shuffled = []
    for frame in DIMERS:
        frame = frame[order]
        frame.arrays["monomer"] = 1 - frame.arrays["monomer"]
        shuffled.append(frame)
    if estimator == "ridge":
        model = mslode.Ridge([SOAP], alphas=1e-4, fragments="monomer").fit(DIMERS, Y_DIMERS)
    else:
        model = mslode.SparseKernelRidge([SOAP], n_active=20, alphas=1e-4, fragments="monomer").fit(DIMERS, Y_DIMERS)
    expected = model.predict(DIMERS)
    assert np.abs(expected).max() > 1e-3
    np.testing.assert_allclose(model.predict(shuffled), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("estimator", ["ridge", "krr"])
def test_fragments_give_exactly_zero_at_dissociation(estimator):
    rho_v = mslode.Invariants(RHO, mslode.PotentialExpansion(cutoff=3.0, gaussian_width=0.4, max_radial=2, max_angular=1))
    for calculator in (SOAP, rho_v):
        if estimator == "ridge":
            model = mslode.Ridge([calculator], alphas=1e-4, fragments="monomer").fit(DIMERS, Y_DIMERS)
        else:
            model = mslode.SparseKernelRidge([calculator], n_active=20, alphas=1e-4, fragments="monomer").fit(
                DIMERS, Y_DIMERS)
        near = model.predict([dimer(3.5, (20, 30))])
        assert abs(near[0]) > 1e-4  # the model is not trivially zero
        far = model.predict([dimer(d, (20, 30)) for d in (10.0, 100.0, 1000.0)])
        if calculator is SOAP:
            # beyond the cut-off every atom sees what it sees alone: exactly zero
            np.testing.assert_array_equal(far, 0.0)
        else:
            # the potential of the partner is still felt, and decays
            assert np.all(np.abs(far[1:]) < np.abs(far[:-1])) and abs(far[-1]) < 1e-2 * abs(near[0])


# -- scikit-learn protocol ----------------------------------------------------

def test_scikit_learn_protocol():
    model = mslode.Ridge(features=[SOAP], alphas=[1e-6, 1e-3], cv=3)
    params = model.get_params()
    assert params["features"][0] is SOAP and params["alphas"] == [1e-6, 1e-3]
    copy = clone(model)
    assert copy.features[0] == SOAP and copy.features[0] is not SOAP
    assert copy.set_params(cv=4) is copy and copy.cv == 4 and model.cv == 3
    assert model.fit(TRAIN, Y_TRAIN) is model
    search = GridSearchCV(mslode.Ridge([SOAP], cv=3), {"alphas": [1e-8, 1.0]}, cv=3).fit(TRAIN, Y_TRAIN)
    assert search.best_params_ == {"alphas": 1e-8}
    assert search.best_estimator_.score(TEST, Y_TEST) > 0.999
    pipeline = Pipeline([("ridge", mslode.Ridge([SOAP]))]).fit(TRAIN, Y_TRAIN)
    np.testing.assert_allclose(pipeline.predict(TEST), Y_TEST, atol=1e-5 * np.abs(Y_TEST).max())
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(TEST), model.predict(TEST))


# -- errors -------------------------------------------------------------------

@pytest.mark.parametrize("kwargs,y,error,match", [
    ({}, Y_TRAIN[:-1], ValueError, r"y has 199 rows, but there are 200 structures"),
    ({}, np.where(np.arange(200) == 17, np.nan, Y_TRAIN), ValueError, r"not finite.*index 17"),
    ({}, np.zeros((200, 2)), ValueError, r"shape \(200, 2\)"),
    ({}, np.zeros((200, 3)), ValueError, r"vector target.*Equivariants"),
    ({}, np.zeros((200, 3, 3)), ValueError, r"rank2 target.*Equivariants"),
    ({}, ["a"] * 200, TypeError, r"must be numbers"),
    ({}, None, ValueError, r"y is None"),
    ({"cv": 300}, Y_TRAIN, ValueError, r"cannot cross-validate 300 folds with 200 structures"),
    ({"cv": 1}, Y_TRAIN, ValueError, r"at least 2 folds"),
    ({"alphas": [1e-3, 0.0]}, Y_TRAIN, ValueError, r"alphas must be positive"),
    ({"solver": "lstsq"}, Y_TRAIN, ValueError, r"solver must be"),
    ({"baseline": "mean"}, Y_TRAIN, ValueError, r"baseline must be"),
    ({"fragments": "monomer"}, Y_TRAIN, ValueError, r"structure 0 has no per-atom label 'monomer'"),
    ({"fragments": "monomer", "per_atom": True}, Y_TRAIN, ValueError, r"fragments.*per_atom"),
    ({"chunk_size": 0}, Y_TRAIN, ValueError, r"chunk_size must be a positive integer"),
    ({"features": SOAP}, Y_TRAIN, TypeError, r"features must be a list of calculators"),
    ({"features": []}, Y_TRAIN, ValueError, r"features is empty"),
    ({"features": ["soap"]}, Y_TRAIN, TypeError, r"features\[0\] is a str"),
])
def test_bad_input_is_a_clear_error(kwargs, y, error, match):
    kwargs = {"features": [SOAP], **kwargs}
    with pytest.raises(error, match=match):
        mslode.Ridge(**kwargs).fit(TRAIN, y)


def test_more_errors():
    groups = np.arange(200) % 2
    with pytest.raises(ValueError, match=r"cannot cross-validate 5 folds with 2 groups"):
        mslode.Ridge([SOAP]).fit(TRAIN, Y_TRAIN, groups=groups)
    with pytest.raises(ValueError, match=r"groups must have one label per structure"):
        mslode.Ridge([SOAP]).fit(TRAIN, Y_TRAIN, groups=groups[:-1])
    with pytest.raises(ValueError, match=r"structure 0 has no label 'curve'"):
        mslode.Ridge([SOAP]).fit(TRAIN, Y_TRAIN, groups="curve")
    with pytest.raises(ValueError, match=r"not fitted yet"):
        mslode.Ridge([SOAP]).predict(TEST)
    from sklearn.model_selection import ShuffleSplit

    with pytest.raises(ValueError, match=r"test sets overlap"):
        mslode.Ridge([SOAP], cv=ShuffleSplit(5, test_size=0.5, random_state=0)).fit(TRAIN, Y_TRAIN)
    with pytest.raises(ValueError, match=r"y has 3 rows, but there are 1 structures|but there are"):
        mslode.Ridge([SOAP], alphas=1e-3).fit(TRAIN[0], [1.0, 2.0, 3.0])
