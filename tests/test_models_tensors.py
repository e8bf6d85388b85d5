"""Vector and rank-2 tensor targets: fitted covariantly on equivariant
features, one spherical block (λ, parity) at a time with the same weights
for every component μ, returned Cartesian.

References are independent of the code under test: per-centre equivariants
from ``compute`` summed in Python loops, the rows of all components stacked
and solved by ``np.linalg.lstsq``; rotations act on the Cartesian targets
directly (R v, R T Rᵀ), not through the spherical components.
"""

from __future__ import annotations

import ase
import numpy as np
import pytest

import mslode
from mslode import tensors
from sklearn.model_selection import KFold

from _rotations import random_rotation, rotated


GRID = np.stack(np.meshgrid(*[np.arange(3)] * 3, indexing="ij"), -1).reshape(-1, 3) * 1.5
SPECIES = [1, 6, 8]


def random_frames(n, seed, sizes=(3, 8)):
    """Small molecules on a jittered grid (no overlaps), varied composition."""
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(n):
        m = int(rng.integers(*sizes))
        positions = GRID[rng.choice(len(GRID), m, replace=False)] + rng.normal(0.0, 0.15, (m, 3))
        frames.append(ase.Atoms(numbers=rng.choice(SPECIES, m), positions=positions))
    return frames


RHO = mslode.DensityExpansion(cutoff=3.0, gaussian_width=0.4, max_radial=2, max_angular=2)
RHO0 = mslode.DensityExpansion(cutoff=3.0, gaussian_width=0.4, max_radial=2, max_angular=0)
EQ1 = mslode.Equivariants(RHO, RHO, lambda_=1)
EQ2 = mslode.Equivariants(RHO, RHO, lambda_=2)
INV = mslode.Invariants(RHO0, RHO0)  # fewer columns than training structures: a determined fit
TRAIN = random_frames(120, seed=11)
TEST = random_frames(15, seed=12)


def loop_sums(calculator, frames):
    """(n_structures, 2λ+1, n_species * n_features): per-structure sums of
    each central species' equivariants (μ kept), species major."""
    values = calculator.compute(frames)
    rows = values.values if values.values.ndim == 3 else values.values[:, None, :]
    out = np.zeros((len(frames), rows.shape[1], len(SPECIES), rows.shape[2]))
    for row, s, z in zip(rows, values.structure, values.center_species):
        out[s, :, SPECIES.index(z)] += row
    return out.reshape(len(frames), rows.shape[1], -1)


def fixed(calculator):
    """The calculator with the channels the models fix at fit time."""
    params = calculator.get_params(deep=False)
    params = {k: type(v)(**{**v.get_params(), "species": SPECIES}) if hasattr(v, "max_radial") else v for k, v in params.items()}
    return type(calculator)(**params)


def synthetic(calculator, frames, seed):
    """A target linear in the equivariants, the same weights for every μ: (n, 2λ+1)."""
    x = loop_sums(fixed(calculator), frames)
    w = np.random.default_rng(seed).normal(size=x.shape[2])
    return x @ w


def dipoles(frames, seed=5):
    return tensors.spherical_to_vector(synthetic(EQ1, frames, seed))


def polarisabilities(frames, seed=6):
    trace = synthetic(INV, frames, seed)
    anisotropic = synthetic(EQ2, frames, seed + 1)
    return tensors.spherical_to_rank2({(0, 1): trace, (2, 1): anisotropic})


def test_exact_recovery_of_a_vector_target_and_its_rotation():
    model = mslode.Ridge([EQ1], alphas=1e-12).fit(TRAIN, dipoles(TRAIN))
    prediction = model.predict(TEST)
    assert prediction.shape == (len(TEST), 3)
    reference = dipoles(TEST)
    np.testing.assert_allclose(prediction, reference, atol=1e-8 * np.abs(reference).max())
    rotation = random_rotation(np.random.default_rng(7))
    np.testing.assert_allclose(model.predict(rotated(TEST, rotation)), prediction @ rotation.T, atol=1e-10)


def test_exact_recovery_of_a_symmetric_tensor_target_and_its_rotation():
    model = mslode.Ridge([INV, EQ2], alphas=1e-12).fit(TRAIN, polarisabilities(TRAIN))
    assert set(model.blocks_) == {(0, 1), (2, 1)}  # a symmetric tensor has no antisymmetric block
    prediction = model.predict(TEST)
    assert prediction.shape == (len(TEST), 3, 3)
    reference = polarisabilities(TEST)
    np.testing.assert_allclose(prediction, reference, atol=1e-8 * np.abs(reference).max())
    np.testing.assert_allclose(prediction, prediction.transpose(0, 2, 1), atol=1e-12)
    rotation = random_rotation(np.random.default_rng(8))
    turned = model.predict(rotated(TEST, rotation))
    np.testing.assert_allclose(turned, rotation @ prediction @ rotation.T, atol=1e-9 * np.abs(prediction).max())


@pytest.mark.parametrize("solver", ["svd", "cholesky"])
def test_vector_ridge_equals_one_lstsq_on_the_stacked_components(solver):
    alpha = 1e-3
    y = dipoles(TRAIN) + np.random.default_rng(9).normal(0.0, 0.05, (len(TRAIN), 3))  # not exactly linear
    model = mslode.Ridge([EQ1], alphas=alpha, solver=solver).fit(TRAIN, y)
    x = loop_sums(fixed(EQ1), TRAIN)  # (n, 3, P)
    Z = x.reshape(-1, x.shape[2])  # rows: structure major, μ fastest
    target = tensors.vector_to_spherical(y).reshape(-1)
    scale = np.sqrt((Z**2).mean(axis=0))
    scale = np.where(scale > 0, scale, 1.0)
    n, p = len(TRAIN), Z.shape[1]
    A = np.vstack([Z / scale, np.sqrt(alpha * n * 3) * np.eye(p)])
    beta = np.linalg.lstsq(A, np.concatenate([target, np.zeros(p)]), rcond=None)[0] / scale
    np.testing.assert_allclose(model.blocks_[(1, 1)].coef_, beta, rtol=1e-7, atol=1e-9 * np.abs(beta).max())


@pytest.mark.parametrize("solver", ["svd", "cholesky"])
def test_cross_validation_keeps_the_components_of_a_structure_together(solver):
    y = dipoles(TRAIN) + np.random.default_rng(10).normal(0.0, 0.3, (len(TRAIN), 3))
    alphas = [1e-8, 1e-4, 1e-2, 1.0]
    model = mslode.Ridge([EQ1], alphas=alphas, cv=4, random_state=7, solver=solver).fit(TRAIN, y)
    x = loop_sums(fixed(EQ1), TRAIN)
    scale = np.sqrt((x**2).mean(axis=(0, 1)))
    scale = np.where(scale > 0, scale, 1.0)
    target = tensors.vector_to_spherical(y)
    sse = np.zeros(len(alphas))
    for train, test in KFold(4, shuffle=True, random_state=7).split(x):
        Z = (x[train] / scale).reshape(-1, x.shape[2])
        n, p = Z.shape
        for k, alpha in enumerate(alphas):
            A = np.vstack([Z, np.sqrt(alpha * n) * np.eye(p)])
            beta = np.linalg.lstsq(A, np.concatenate([target[train].reshape(-1), np.zeros(p)]), rcond=None)[0]
            residual = (x[test] / scale) @ beta - target[test]
            sse[k] += (residual**2).sum()
    expected = np.sqrt(sse / (3 * len(TRAIN)))
    block = model.blocks_[(1, 1)]
    np.testing.assert_allclose(block.cv_rmse_[0], expected, rtol=1e-6)
    assert block.alpha_ == alphas[int(np.argmin(expected))]
    assert len(set(np.round(expected / expected.min(), 3))) == len(alphas)  # the grid matters: the test can fail


def test_antisymmetric_tensors_need_pseudovector_features():
    t = polarisabilities(TRAIN)
    rng = np.random.default_rng(13)
    skew = rng.normal(size=(len(TRAIN), 3, 3))
    t = t + (skew - skew.transpose(0, 2, 1))
    with pytest.raises(ValueError, match=r"λ=1, parity=-1 .*Equivariants\(rho, V, lambda_=1, parity=-1\)"):
        mslode.Ridge([INV, EQ2], alphas=1e-8).fit(TRAIN, t)


def test_per_atom_vector_targets():
    values = fixed(EQ1).compute(TRAIN)
    species = values.center_species
    rng = np.random.default_rng(14)
    w = {z: rng.normal(size=values.values.shape[2]) for z in SPECIES}
    per_atom = np.stack([values.values[i] @ w[int(z)] for i, z in enumerate(species)])  # (n_atoms, 3) spherical
    y = [tensors.spherical_to_vector(per_atom[values.structure == s]) for s in range(len(TRAIN))]
    model = mslode.Ridge([EQ1], alphas=1e-12, per_atom=True).fit(TRAIN, y)
    prediction = model.predict(TRAIN[:5])
    reference = np.concatenate(y[:5])
    assert prediction.shape == reference.shape
    np.testing.assert_allclose(prediction, reference, atol=1e-8 * np.abs(reference).max())


WATER = ase.Atoms("OH2", positions=[[0.0, 0.0, 0.0], [0.96, 0.0, 0.0], [-0.24, 0.93, 0.0]])


def test_fragments_give_a_zero_induced_dipole_at_dissociation():
    rng = np.random.default_rng(15)
    frames = []
    for distance in np.linspace(2.8, 6.0, 30):
        other = WATER.copy()
        other.rotate(rng.uniform(0, 360), rng.normal(size=3))
        other.positions += [0.0, 0.0, distance]
        pair = WATER + other
        pair.arrays["monomer"] = np.array([0, 0, 0, 1, 1, 1])
        frames.append(pair)
    y = np.stack([rng.normal(size=3) * np.exp(-f.get_distance(0, 3)) for f in frames])
    model = mslode.Ridge([EQ1], alphas=1e-6, fragments="monomer").fit(frames, y)
    near = model.predict(frames[:1])
    far = frames[0].copy()
    far.positions[3:] += [0.0, 0.0, 50.0]
    assert np.abs(near).max() > 1e-6
    np.testing.assert_array_equal(model.predict([far]), 0.0)


def test_a_saved_tensor_model_predicts_bit_identically(tmp_path):
    model = mslode.Ridge([INV, EQ2], alphas=1e-6).fit(TRAIN, polarisabilities(TRAIN))
    model.save(tmp_path / "alpha.mslode")
    loaded = mslode.load(tmp_path / "alpha.mslode")
    np.testing.assert_array_equal(loaded.predict(TEST), model.predict(TEST))
    assert loaded.target_kind_ == "rank2" and set(loaded.blocks_) == {(0, 1), (2, 1)}


def test_nine_numbers_per_structure_are_a_tensor_row_by_row():
    """extxyz keeps a 3×3 info entry as 9 numbers: read by name, they are the tensor."""
    frames = [f.copy() for f in TRAIN]
    t = polarisabilities(frames)
    for frame, value in zip(frames, t):
        frame.info["polarizability"] = value.reshape(-1)
    by_name = mslode.Ridge([INV, EQ2], alphas=1e-6).fit(frames, "polarizability")
    by_array = mslode.Ridge([INV, EQ2], alphas=1e-6).fit(frames, t)
    assert by_name.target_kind_ == "rank2"
    np.testing.assert_array_equal(by_name.predict(TEST), by_array.predict(TEST))


def test_features_must_match_the_blocks_of_the_target():
    with pytest.raises(ValueError, match=r"vector target has a block λ=1, parity=\+1 and no features"):
        mslode.Ridge([INV], alphas=1e-8).fit(TRAIN, dipoles(TRAIN))
    with pytest.raises(ValueError, match=r"\(0, 1\)\] match no block of the vector target"):
        mslode.Ridge([INV, EQ1], alphas=1e-8).fit(TRAIN, dipoles(TRAIN))
    with pytest.raises(TypeError, match="scalar targets need invariant features"):
        mslode.Ridge([EQ1], alphas=1e-8).fit(TRAIN, np.zeros(len(TRAIN)))
    with pytest.raises(ValueError, match=r"block λ=1, parity=\+1 and no features"):
        mslode.SparseKernelRidge([INV], n_active=10, alphas=1e-8).fit(TRAIN, dipoles(TRAIN))


def test_a_committee_of_vector_models_and_its_calibration(tmp_path):
    rng = np.random.default_rng(16)
    noise = 0.2
    y = dipoles(TRAIN) + rng.normal(0.0, noise, (len(TRAIN), 3))
    committee = mslode.Committee(mslode.Ridge([EQ1], alphas=1e-3), n_members=8, subsample=0.6,
                                 random_state=1).fit(TRAIN, y)
    mean, std = committee.predict(TEST, return_std=True)
    members = committee.predict_members(TEST)
    assert members.shape == (8, len(TEST), 3) and mean.shape == std.shape == (len(TEST), 3)
    np.testing.assert_allclose(mean, members.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(std, committee.calibration_factor_ * members.std(axis=0, ddof=1), rtol=1e-12)
    # one α for every component, from the pooled components of the left-out structures
    left = committee.left_out_predictions_
    expected, used = mslode.models.committee.calibration_factor(y.reshape(-1), left.reshape(8, -1))
    assert used // 3 == committee.n_calibration_ > 20 and committee.calibration_factor_ == pytest.approx(np.sqrt(expected))
    rotation = random_rotation(np.random.default_rng(17))
    turned, turned_std = committee.predict(rotated(TEST, rotation), return_std=True)
    np.testing.assert_allclose(turned, mean @ rotation.T, atol=1e-10)
    committee.save(tmp_path / "c.mslode")
    np.testing.assert_array_equal(mslode.load(tmp_path / "c.mslode").predict(TEST), mean)


def test_a_learning_curve_of_a_vector_target():
    y = dipoles(TRAIN)
    curve = mslode.learning_curve(mslode.Ridge([EQ1], alphas=1e-12), TRAIN, y, train_sizes=[10, 40, 100],
                                  test_frames=TEST, y_test=dipoles(TEST))
    errors = curve.mean(percent=True)
    assert errors[0] > errors[1] > errors[2] and errors[2] < 1e-4  # exact once the fit is determined


# -- sparse kernel ridge regression: λ-kernels --------------------------------

def normalised(values):
    norms = np.linalg.norm(values.reshape(len(values), -1), axis=1)
    return values / np.where(norms > 0, norms, 1.0).reshape((-1,) + (1,) * (values.ndim - 1))  # zero rows stay zero


def full_covariant_kernel(frames_a, frames_b, zeta):
    """Σ_{i∈A, j∈B, same species} (X̂_i X̂_jᵀ)_μν (x̂⁰_i·x̂⁰_j)^(ζ−1), rows (structure, μ), columns (structure, ν);
    X the λ = 1 equivariants, x⁰ the invariants of the same expansions."""
    def parts(frames):
        eq = fixed(EQ1).compute(frames)
        inv = fixed(mslode.Invariants(RHO, RHO)).compute(frames)
        return normalised(eq.values), normalised(inv.values), eq.structure, eq.center_species

    xa, ia, sa, za = parts(frames_a)
    xb, ib, sb, zb = parts(frames_b)
    K = np.einsum("auf,bvf->aubv", xa, xb) * (((ia @ ib.T) ** (zeta - 1)) * (za[:, None] == zb[None, :]))[:, None, :, None]
    La = np.zeros((len(frames_a), len(xa)))
    La[sa, np.arange(len(xa))] = 1
    Lb = np.zeros((len(frames_b), len(xb)))
    Lb[sb, np.arange(len(xb))] = 1
    out = np.einsum("sa,aubv,tb->sutv", La, K, Lb)
    return out.reshape(3 * len(frames_a), 3 * len(frames_b))


@pytest.mark.parametrize("zeta", [1, 2])
def test_every_environment_active_is_full_covariant_kernel_ridge(zeta):
    train, test = TRAIN[:30], TEST[:6]
    y = dipoles(train)
    alpha = 1e-3
    K = full_covariant_kernel(train, train, zeta)
    coefficients = np.linalg.solve(K + alpha * 3 * len(train) * np.eye(len(K)), tensors.vector_to_spherical(y).reshape(-1))
    expected = tensors.spherical_to_vector((full_covariant_kernel(test, train, zeta) @ coefficients).reshape(-1, 3))
    n_environments = sum(len(f) for f in train)
    model = mslode.SparseKernelRidge([EQ1], zeta=zeta, n_active=n_environments, alphas=alpha, jitter=1e-14).fit(train, y)
    assert sum(len(a[0]) for a in model.blocks_[(1, 1)].active_) == n_environments
    np.testing.assert_allclose(model.predict(test), expected, rtol=0, atol=1e-7 * np.abs(expected).max())


def test_a_weighted_sum_of_lambda_kernels_is_covariant(tmp_path):
    V0 = mslode.PotentialExpansion(cutoff=3.0, gaussian_width=0.4, max_radial=2, max_angular=0)
    V = mslode.PotentialExpansion(cutoff=3.0, gaussian_width=0.4, max_radial=2, max_angular=2)
    features = [INV, mslode.Invariants(RHO0, V0), EQ2, mslode.Equivariants(RHO, V, lambda_=2)]
    model = mslode.SparseKernelRidge(features, zeta=[2, 1, 2, 1], kernel_weights="cv", n_active=40,
                                     alphas=[1e-6, 1e-3], cv=3).fit(TRAIN, polarisabilities(TRAIN))
    assert set(model.blocks_) == {(0, 1), (2, 1)}
    assert model.blocks_[(2, 1)].zeta_ == [2, 1] and model.blocks_[(2, 1)].kernel_weights_.shape == (2,)
    prediction = model.predict(TEST)
    rotation = random_rotation(np.random.default_rng(18))
    turned = model.predict(rotated(TEST, rotation))
    np.testing.assert_allclose(turned, rotation @ prediction @ rotation.T, atol=1e-9 * np.abs(prediction).max())
    model.save(tmp_path / "krr.mslode")
    np.testing.assert_array_equal(mslode.load(tmp_path / "krr.mslode").predict(TEST), prediction)
