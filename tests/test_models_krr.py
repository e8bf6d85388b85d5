"""SparseKernelRidge: the subset-of-regressors solution against a dense
numpy one, M = N equal to full kernel ridge regression, kernel weights by
cross-validation, stability with a singular K_MM, chunking, the active set.

References are built here from ``compute`` and numpy alone: normalised
per-centre features, kernels (x̂·x̂')^ζ between centres of the same species,
summed per structure by a 0/1 matrix, and dense linear solves.
"""

from __future__ import annotations

import ase
import numpy as np
import pytest

import mslode

pytest.importorskip("sklearn")
from mslode.models import kernels  # noqa: E402

GRID = np.stack(np.meshgrid(*[np.arange(3)] * 3, indexing="ij"), -1).reshape(-1, 3) * 1.5


def random_frames(n, seed, species=(1, 8), sizes=(2, 6)):
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(n):
        m = int(rng.integers(*sizes))
        sites = rng.choice(len(GRID), m, replace=False)
        frames.append(ase.Atoms(numbers=rng.choice(species, m), positions=GRID[sites] + rng.normal(0, 0.15, (m, 3))))
    return frames


RHO = mslode.DensityExpansion(cutoff=3.0, gaussian_width=0.4, max_radial=3, max_angular=1, species=[1, 8])
V = mslode.PotentialExpansion(cutoff=3.0, gaussian_width=0.4, max_radial=2, max_angular=1, species=[1, 8])
SOAP = mslode.Invariants(RHO, RHO)
RHO_V = mslode.Invariants(RHO, V)
TRAIN = random_frames(40, seed=1)
TEST = random_frames(10, seed=2)


def target(frames):
    return np.array([np.sum(1.0 / f.get_all_distances()[np.triu_indices(len(f), 1)]) + 0.3 * len(f) for f in frames])


Y_TRAIN, Y_TEST = target(TRAIN), target(TEST)


def environments(calculator, frames):
    values = calculator.compute(frames)
    return kernels.normalize(values.values), values.structure, values.center_species


def structure_kernel(calculators, zetas, weights, frames_a, frames_b):
    """Σ_{i∈A, j∈B, same species} Σ_c w_c (x̂_i·x̂_j)^ζ_c, (len(a), len(b))."""
    total = 0.0
    for calculator, zeta, w in zip(calculators, zetas, weights):
        xa, sa, za = environments(calculator, frames_a)
        xb, sb, zb = environments(calculator, frames_b)
        K = (xa @ xb.T) ** zeta * (za[:, None] == zb[None, :])
        La = np.zeros((len(frames_a), len(xa)))
        La[sa, np.arange(len(xa))] = 1
        Lb = np.zeros((len(frames_b), len(xb)))
        Lb[sb, np.arange(len(xb))] = 1
        total = total + w * La @ K @ Lb.T
    return total


def kernel_to_active(model, calculators, frames):
    """K_NM: structures of ``frames`` against the model's active environments, (n, Σ_k M_k)."""
    blocks = []
    for k, z in enumerate(model.species_):
        total = 0.0
        for c, (calculator, zeta, w) in enumerate(zip(calculators, model.zeta_, model.kernel_weights_)):
            x, s, species = environments(calculator, frames)
            rows = (x[species == z] @ model.active_[k][c].T) ** zeta
            L = np.zeros((len(frames), int(np.count_nonzero(species == z))))
            L[s[species == z], np.arange(L.shape[1])] = 1
            total = total + w * L @ rows
        blocks.append(total)
    return np.concatenate(blocks, axis=1)


def active_kernel(model):
    blocks = []
    for k, _ in enumerate(model.species_):
        blocks.append(sum(w * (a @ a.T) ** zeta for a, zeta, w in zip(model.active_[k], model.zeta_, model.kernel_weights_)))
    M = sum(len(b) for b in blocks)
    out = np.zeros((M, M))
    offset = 0
    for b in blocks:
        out[offset : offset + len(b), offset : offset + len(b)] = b
        offset += len(b)
    return out


@pytest.mark.parametrize("solver", ["svd", "cholesky"])
@pytest.mark.parametrize("zeta", [1, 2])
def test_sparse_krr_equals_a_dense_subset_of_regressors_solution(solver, zeta):
    alpha = 1e-4
    model = mslode.SparseKernelRidge([SOAP, RHO_V], zeta=[zeta, 1], kernel_weights=[0.7, 0.3], n_active=12,
                                     alphas=alpha, solver=solver, baseline="composition").fit(TRAIN, Y_TRAIN)
    assert [len(a[0]) for a in model.active_] == kernels.split_count(12, [sum(np.count_nonzero(f.numbers == z) for f in TRAIN) for z in (1, 8)])
    K_nm = kernel_to_active(model, [SOAP, RHO_V], TRAIN)
    K_mm = active_kernel(model)
    assert np.linalg.eigvalsh(K_mm).min() > 1e-8 * np.linalg.eigvalsh(K_mm).max()  # well conditioned: a plain solve is a fair reference
    C = np.array([[np.count_nonzero(f.numbers == z) for z in (1, 8)] for f in TRAIN], dtype=float)
    n, m = K_nm.shape
    # normal equations of min |y − Cμ − K_nm w|² + α n wᵀ K_mm w
    A = np.block([[C.T @ C, C.T @ K_nm], [K_nm.T @ C, K_nm.T @ K_nm + alpha * n * K_mm]])
    theta = np.linalg.solve(A, np.concatenate([C.T @ Y_TRAIN, K_nm.T @ Y_TRAIN]))
    C_test = np.array([[np.count_nonzero(f.numbers == z) for z in (1, 8)] for f in TEST], dtype=float)
    expected = C_test @ theta[:2] + kernel_to_active(model, [SOAP, RHO_V], TEST) @ theta[2:]
    np.testing.assert_allclose(model.predict(TEST), expected, rtol=1e-6, atol=1e-6 * np.abs(expected).max())
    np.testing.assert_allclose(model.baseline_, theta[:2], rtol=1e-5)
    dual = model.dual_weights()
    np.testing.assert_allclose(np.concatenate([dual[1], dual[8]]), theta[2:], rtol=1e-5, atol=1e-6 * np.abs(theta[2:]).max())


@pytest.mark.parametrize("solver", ["svd", "cholesky"])
def test_all_environments_active_equals_full_kernel_ridge(solver):
    """With every training environment active the subset of regressors is
    full kernel ridge regression, exactly in the span K_MM resolves. Here K_MM
    has eigenvalues all the way down to 1e-14 of the largest (many isolated,
    identical environments): dropping those below the default jitter (1e-10)
    moves predictions by ~1e-6, a jitter of 1e-14 keeps them."""
    alpha = 1e-3
    n_environments = sum(len(f) for f in TRAIN)
    K = structure_kernel([SOAP], [2], [1.0], TRAIN, TRAIN)
    coefficients = np.linalg.solve(K + alpha * len(TRAIN) * np.eye(len(TRAIN)), Y_TRAIN)
    expected = structure_kernel([SOAP], [2], [1.0], TEST, TRAIN) @ coefficients
    scale = np.abs(expected).max()
    for jitter, tolerance in ((1e-14, 5e-9 if solver == "svd" else 1e-7), (1e-10, 1e-5)):
        model = mslode.SparseKernelRidge([SOAP], zeta=2, n_active=n_environments, alphas=alpha, baseline=None,
                                         solver=solver, jitter=jitter).fit(TRAIN, Y_TRAIN)
        assert sum(len(a[0]) for a in model.active_) == n_environments
        np.testing.assert_allclose(model.predict(TEST), expected, rtol=0, atol=tolerance * scale)


@pytest.mark.parametrize("solver", ["svd", "cholesky"])
def test_duplicate_active_environments_are_harmless(solver):
    """Every structure twice: K_MM is exactly singular (each active environment
    twice). The objective is the original one scaled by 2 (twice the rows,
    α n with twice n), so the model must be the original model."""
    alpha = 1e-3
    n_environments = sum(len(f) for f in TRAIN)
    once = mslode.SparseKernelRidge([SOAP], n_active=n_environments, alphas=alpha, baseline=None, solver=solver).fit(TRAIN, Y_TRAIN)
    twice = mslode.SparseKernelRidge([SOAP], n_active=2 * n_environments, alphas=alpha, baseline=None,
                                     solver=solver).fit(TRAIN + TRAIN, np.concatenate([Y_TRAIN, Y_TRAIN]))
    K_mm = active_kernel(twice)
    assert np.linalg.matrix_rank(K_mm) <= len(K_mm) // 2
    tolerance = 1e-9 if solver == "svd" else 1e-6
    np.testing.assert_allclose(twice.predict(TEST), once.predict(TEST), rtol=tolerance)


def test_kernel_weights_by_cross_validation():
    grid = kernels.weight_grid("cv", 2)
    assert [1.0, 0.0] in grid.tolist() and [0.0, 1.0] in grid.tolist() and np.allclose(grid.sum(axis=1), 1)
    assert len(kernels.weight_grid("cv", 3)) == 15
    alphas = [1e-5, 1e-3, 1e-1]
    model = mslode.SparseKernelRidge([SOAP, RHO_V], zeta=[2, 1], n_active=15, kernel_weights="cv", alphas=alphas,
                                     cv=4).fit(TRAIN, Y_TRAIN)
    assert model.cv_rmse_.shape == (len(grid), len(alphas))
    best = np.unravel_index(np.argmin(model.cv_rmse_), model.cv_rmse_.shape)
    np.testing.assert_array_equal(model.kernel_weights_, grid[best[0]])
    assert model.alpha_ == alphas[best[1]]
    # each row is what a model with those weights fixed finds
    for row in (0, len(grid) - 1):
        fixed = mslode.SparseKernelRidge([SOAP, RHO_V], zeta=[2, 1], n_active=15, kernel_weights=grid[row],
                                         alphas=alphas, cv=4).fit(TRAIN, Y_TRAIN)
        np.testing.assert_allclose(fixed.cv_rmse_[0], model.cv_rmse_[row], rtol=1e-10)
    assert np.ptp(model.cv_rmse_[:, 1]) > 0.01 * model.cv_rmse_.min()  # the weights matter here


def test_chunks_and_the_active_set():
    a = mslode.SparseKernelRidge([SOAP], n_active=10, chunk_size=3, random_state=5).fit(TRAIN, Y_TRAIN)
    b = mslode.SparseKernelRidge([SOAP], n_active=10, chunk_size=1000, random_state=5).fit(TRAIN, Y_TRAIN)
    for x, y in zip(a.active_, b.active_):
        np.testing.assert_array_equal(x[0], y[0])
    np.testing.assert_allclose(a.predict(TEST), b.predict(TEST), rtol=1e-12)
    c = mslode.SparseKernelRidge([SOAP], n_active=10, random_state=6).fit(TRAIN, Y_TRAIN)
    assert any(not np.array_equal(x[0], y[0]) for x, y in zip(a.active_, c.active_))
    # active environments are normalised training environments of their species
    x, _, species = environments(SOAP, TRAIN)
    for k, z in enumerate(a.species_):
        active = a.active_[k][0]
        np.testing.assert_allclose(np.linalg.norm(active, axis=1), 1.0, rtol=1e-14)
        distance = np.linalg.norm(active[:, None] - x[species == z][None], axis=-1).min(axis=1)
        np.testing.assert_allclose(distance, 0.0, atol=1e-14)
    for method in ("cur", "random"):
        model = mslode.SparseKernelRidge([SOAP], n_active=10, active_selection=method).fit(TRAIN, Y_TRAIN)
        assert sum(len(x[0]) for x in model.active_) == 10


def test_fps_active_set_spreads_out():
    """FPS picks environments farther apart than a random choice of the same size."""
    def spread(model):
        active = model.active_[1][0]
        d = np.linalg.norm(active[:, None] - active[None], axis=-1)
        return d[np.triu_indices(len(d), 1)].min()

    fps = mslode.SparseKernelRidge([SOAP], n_active={1: 2, 8: 8}, alphas=1e-3).fit(TRAIN, Y_TRAIN)
    random = mslode.SparseKernelRidge([SOAP], n_active={1: 2, 8: 8}, alphas=1e-3, active_selection="random").fit(TRAIN, Y_TRAIN)
    assert [len(a[0]) for a in fps.active_] == [2, 8]
    assert spread(fps) > spread(random)


@pytest.mark.parametrize("kwargs,match", [
    ({"zeta": 0}, r"zeta must be positive integers"),
    ({"zeta": [1, 2]}, r"zeta must be one integer or one per calculator \(1\)"),
    ({"zeta": 1.5}, r"zeta must be positive integers"),
    ({"n_active": 0}, r"n_active must be a positive integer"),
    ({"n_active": {6: 3}}, r"n_active names species \[6\]"),
    ({"kernel_weights": [1.0, 1.0]}, r"needs 1 weights"),
    ({"kernel_weights": [-1.0]}, r"non-negative"),
    ({"kernel_weights": "best"}, r"kernel_weights must be"),
    ({"jitter": 0.0}, r"jitter"),
    ({"active_selection": "kmeans"}, r"active_selection must be one of"),
    ({"n_candidates": 0}, r"n_candidates must be"),
])
def test_bad_parameters(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        mslode.SparseKernelRidge([SOAP], **kwargs).fit(TRAIN, Y_TRAIN)


def test_split_count():
    assert kernels.split_count(10, [30, 10, 0]) == [8, 2, 0]  # shares 7.5 and 2.5: ties to the first
    assert kernels.split_count(5, [1, 100]) == [1, 4]
    assert kernels.split_count(500, [3, 4]) == [3, 4]
    assert sum(kernels.split_count(7, [5, 5, 5])) == 7


def test_unnormalised_kernels_are_linear_in_the_features_up_to_one_scale():
    """normalize=False with ζ = 1 and every environment active: the linear
    kernel on x/s (s the RMS norm of the candidates) is ridge regression on
    the features with penalty α n s² |w|², exactly; a normalised one is not."""
    alpha = 1e-3
    n_environments = sum(len(f) for f in TRAIN)
    model = mslode.SparseKernelRidge([RHO_V], zeta=1, normalize=False, n_active=n_environments, alphas=alpha,
                                     baseline=None, jitter=1e-14).fit(TRAIN, Y_TRAIN)
    values = RHO_V.compute(TRAIN)
    s = np.sqrt(np.mean(np.einsum("ij,ij->i", values.values, values.values)))
    assert model.feature_scale_[0] == pytest.approx(s, rel=1e-12)
    X = np.zeros((len(TRAIN), 2, values.values.shape[1]))
    for row, k, z in zip(values.values, values.structure, values.center_species):
        X[k, [1, 8].index(z)] += row / s
    X = X.reshape(len(TRAIN), -1)
    w = np.linalg.solve(X.T @ X + alpha * len(TRAIN) * np.eye(X.shape[1]), X.T @ Y_TRAIN)
    test = RHO_V.compute(TEST)
    Xt = np.zeros((len(TEST), 2, test.values.shape[1]))
    for row, k, z in zip(test.values, test.structure, test.center_species):
        Xt[k, [1, 8].index(z)] += row / s
    expected = Xt.reshape(len(TEST), -1) @ w
    np.testing.assert_allclose(model.predict(TEST), expected, rtol=0, atol=1e-7 * np.abs(expected).max())
    normalised = mslode.SparseKernelRidge([RHO_V], zeta=1, n_active=n_environments, alphas=alpha, baseline=None,
                                          jitter=1e-14).fit(TRAIN, Y_TRAIN)
    assert np.abs(normalised.predict(TEST) - expected).max() > 1e-3 * np.abs(expected).max()


@pytest.mark.parametrize("solver", ["svd", "cholesky"])
def test_a_kernel_plus_an_explicit_linear_kernel_equals_a_dense_solution(solver):
    """w₁ (x̂·x̂')² on an active set plus w₂ x·x'/s² on the features
    themselves: f = K_NM a + X β with penalty α n (aᵀ K_MM a + |β|²), where
    K carries w₁ and X carries √w₂ (the feature space of a weighted linear kernel)."""
    alpha, w1, w2 = 1e-4, 0.6, 0.4
    model = mslode.SparseKernelRidge([SOAP, RHO_V], zeta=[2, 1], normalize=[True, False], kernel_weights=[w1, w2],
                                     n_active=12, alphas=alpha, baseline=None, solver=solver).fit(TRAIN, Y_TRAIN)
    assert [a[1].shape[0] for a in model.active_] == [0, 0]  # no active set for the explicit kernel
    scale = model.feature_scale_[1]

    def design(frames):
        soap = SOAP.compute(frames)
        x = kernels.normalize(soap.values)
        blocks = []
        for k, z in enumerate(model.species_):
            rows = (x[soap.center_species == z] @ model.active_[k][0].T) ** 2
            L = np.zeros((len(frames), len(rows)))
            L[soap.structure[soap.center_species == z], np.arange(len(rows))] = 1
            blocks.append(w1 * L @ rows)
        rho_v = RHO_V.compute(frames)
        X = np.zeros((len(frames), 2, rho_v.values.shape[1]))
        for row, s, z in zip(rho_v.values, rho_v.structure, rho_v.center_species):
            X[s, [1, 8].index(z)] += np.sqrt(w2) * row / scale
        return np.concatenate(blocks, axis=1), X.reshape(len(frames), -1)

    K, X = design(TRAIN)
    K_mm = np.zeros((K.shape[1], K.shape[1]))
    offset = 0
    for k in range(2):
        A = model.active_[k][0]
        K_mm[offset : offset + len(A), offset : offset + len(A)] = w1 * (A @ A.T) ** 2
        offset += len(A)
    n = len(TRAIN)
    A = np.block([[K.T @ K + alpha * n * K_mm, K.T @ X], [X.T @ K, X.T @ X + alpha * n * np.eye(X.shape[1])]])
    theta = np.linalg.lstsq(A, np.concatenate([K.T @ Y_TRAIN, X.T @ Y_TRAIN]), rcond=1e-14)[0]
    K_test, X_test = design(TEST)
    expected = np.concatenate([K_test, X_test], axis=1) @ theta
    np.testing.assert_allclose(model.predict(TEST), expected, rtol=1e-6, atol=1e-6 * np.abs(expected).max())
