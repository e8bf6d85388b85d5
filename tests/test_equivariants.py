"""Equivariant features (``docs/conventions.md``, "Equivariants") and the
outputs that scale (per-structure sums, selected features, blocks per
central species), for invariants and equivariants alike.

References: real Wigner matrices fitted from how the harmonics rotate
(tests/_rotations.py), inversion, the symmetry of a centrosymmetric
environment, a closed form for the odd-parity coupling of two l = 1 blocks,
and sums and slices of the full per-centre output."""

from __future__ import annotations

import ase
import numpy as np
import pytest

import mslode
from mslode import tensors

from _rotations import random_rotation, rotated as rotate_frames, wigner_d

RNG = np.random.default_rng(7)
SPECIES = [1, 6, 8]
BASIS = dict(cutoff=3.5, gaussian_width=0.4, max_radial=3, max_angular=3, species=SPECIES)


def _cluster(n: int, rng: np.random.Generator) -> ase.Atoms:
    """n atoms, no two closer than 0.9 Å, random species."""
    positions: list[np.ndarray] = []
    while len(positions) < n:
        x = rng.uniform(-2.5, 2.5, size=3) * max(1.0, (n / 9) ** (1 / 3))
        if all(np.linalg.norm(x - y) > 0.9 for y in positions):
            positions.append(x)
    return ase.Atoms(numbers=rng.choice(SPECIES, size=n), positions=np.array(positions))


FRAMES = [_cluster(7, RNG), _cluster(5, RNG), _cluster(9, RNG)]
RHO = mslode.DensityExpansion(**BASIS)
V = mslode.PotentialExpansion(**BASIS)
V6 = mslode.PotentialExpansion(**BASIS, potential_exponent=6)
PAIRS = {"rho-rho": (RHO, RHO), "rho-V": (RHO, V), "V-V": (V, V), "rho-V6": (RHO, V6)}
CASES = [(name, lam, parity) for name in PAIRS for lam in (0, 1, 2) for parity in (1, -1) if (lam, parity) != (0, -1)]


@pytest.mark.parametrize("name, lam, parity", CASES)
def test_rotation_gives_wigner_matrix(name, lam, parity):
    first, second = PAIRS[name]
    calculator = mslode.Equivariants(first, second, lambda_=lam, parity=parity)
    values = calculator.compute(FRAMES).values
    assert values.shape[1] == 2 * lam + 1 and np.abs(values).max() > 1e-3
    for _ in range(2):
        rotation = random_rotation(RNG)
        rotated = calculator.compute(rotate_frames(FRAMES, rotation)).values
        expected = np.einsum("mn,inf->imf", wigner_d(lam, rotation), values)
        np.testing.assert_allclose(rotated, expected, rtol=0, atol=1e-9 * np.abs(values).max())


@pytest.mark.parametrize("name, lam, parity", CASES)
def test_inversion_multiplies_by_parity(name, lam, parity):
    first, second = PAIRS[name]
    calculator = mslode.Equivariants(first, second, lambda_=lam, parity=parity)
    values = calculator.compute(FRAMES).values
    inverted = calculator.compute(rotate_frames(FRAMES, -np.eye(3))).values
    np.testing.assert_allclose(inverted, (-1) ** lam * parity * values, rtol=0, atol=1e-10 * np.abs(values).max())


@pytest.mark.parametrize("lam", [1, 2])
def test_single_expansion_blocks_rotate(lam):
    calculator = mslode.Equivariants(V, lambda_=lam)
    result = calculator.compute(FRAMES)
    assert result.label_names == ("species", "n") and result.labels.shape == (9, 2)
    rotation = random_rotation(RNG)
    rotated = calculator.compute(rotate_frames(FRAMES, rotation)).values
    np.testing.assert_allclose(rotated, np.einsum("mn,inf->imf", wigner_d(lam, rotation), result.values),
                               atol=1e-10 * np.abs(result.values).max())
    expansion = V.compute(FRAMES).values
    np.testing.assert_array_equal(result.values[:, :, 4], expansion[:, 1, 1, lam * lam : (lam + 1) ** 2])


def test_centrosymmetric_environment():
    """At a centre of inversion (a carbon with O at ±a and H at ±b) every
    block with (-1)^λ σ = -1 vanishes (inversion maps the environment onto
    itself), the others do not."""
    co2 = ase.Atoms("COOHH", positions=[[0, 0, 0], [0.4, 0.7, 1.0], [-0.4, -0.7, -1.0], [1.1, -0.2, 0.3],
                                        [-1.1, 0.2, -0.3]])
    for lam, parity, vanishes in ((1, 1, True), (2, -1, True), (2, 1, False), (1, -1, False)):
        for first, second in ((RHO, V), (V, V)):
            values = mslode.Equivariants(first, second, lambda_=lam, parity=parity).compute(co2, center_species=[6]).values
            if vanishes:
                assert np.abs(values).max() < 1e-12
            else:
                assert np.abs(values).max() > 1e-4
    assert np.abs(mslode.Equivariants(RHO, lambda_=1).compute(co2, center_species=[6]).values).max() < 1e-14


@pytest.mark.parametrize("name", list(PAIRS))
def test_lambda_zero_is_the_invariants_up_to_a_sign(name):
    """λ = 0, σ = +1 of (l, l) equals (-1)^l times the invariant of l
    (⟨l m l m'|0 0⟩ = (-1)^l δ/√(2l+1) in the real basis)."""
    first, second = PAIRS[name]
    equivariant = mslode.Equivariants(first, second, lambda_=0).compute(FRAMES)
    invariant = mslode.Invariants(first, second, symmetric=False).compute(FRAMES)
    column = {tuple(row): k for k, row in enumerate(invariant.labels)}
    for k, (a1, n1, l1, a2, n2, l2) in enumerate(equivariant.labels):
        assert l1 == l2
        j = column[(a1, n1, a2, n2, l1)]
        np.testing.assert_allclose(equivariant.values[:, 0, k], (-1) ** l1 * invariant.values[:, j],
                                   rtol=1e-12, atol=1e-14)
    assert equivariant.values.shape[2] == invariant.values.shape[1]


def test_odd_parity_closed_form():
    """λ = 1 of two l = 1 blocks is +(u × w)/√2, u and w the Cartesian
    vectors of the blocks (y, z, x order of the real harmonics)."""
    result = mslode.Equivariants(RHO, V, lambda_=1, parity=-1).compute(FRAMES)
    c_rho, c_v = RHO.compute(FRAMES).values, V.compute(FRAMES).values
    picked = 0
    for k, (a1, n1, l1, a2, n2, l2) in enumerate(result.labels):
        if (l1, l2) != (1, 1):
            continue
        u = tensors.spherical_to_vector(c_rho[:, SPECIES.index(a1), n1, 1:4])
        w = tensors.spherical_to_vector(c_v[:, SPECIES.index(a2), n2, 1:4])
        np.testing.assert_allclose(result.values[:, :, k], tensors.vector_to_spherical(np.cross(u, w)) / np.sqrt(2),
                                   rtol=1e-12, atol=1e-14)
        picked += 1
    assert picked == (len(SPECIES) * 3) ** 2


def test_recovers_a_linear_vector_target():
    """A synthetic dipole Σ_i W·x_i(λ = 1) is recovered by least squares with
    the same weights for every μ, and the prediction rotates with the frames."""
    calculator = mslode.Equivariants(RHO, V, lambda_=1)
    frames = [_cluster(6, RNG) for _ in range(40)]
    x = calculator.compute(frames, reduce="structure")
    n_blocks = len(np.unique(x.center_species))
    design = x.values.reshape(len(frames), n_blocks, 3, -1).transpose(0, 2, 1, 3).reshape(len(frames) * 3, -1)
    weights = RNG.normal(size=design.shape[1]) * (RNG.uniform(size=design.shape[1]) < 0.05)
    target = tensors.spherical_to_vector((design @ weights).reshape(len(frames), 3))
    fitted, *_ = np.linalg.lstsq(design, tensors.vector_to_spherical(target).reshape(-1), rcond=None)
    np.testing.assert_allclose(design @ fitted, design @ weights, atol=1e-8 * np.abs(target).max())
    rotation = random_rotation(RNG)
    xr = calculator.compute(rotate_frames(frames, rotation), reduce="structure")
    dr = xr.values.reshape(len(frames), n_blocks, 3, -1).transpose(0, 2, 1, 3).reshape(len(frames) * 3, -1)
    predicted = tensors.spherical_to_vector((dr @ fitted).reshape(len(frames), 3))
    np.testing.assert_allclose(predicted, target @ rotation.T, atol=1e-8 * np.abs(target).max())


# -- outputs that scale ------------------------------------------------------

CALCULATORS = {
    "invariants rho-V": mslode.Invariants(RHO, V),
    "invariants rho-rho": mslode.Invariants(RHO, RHO),
    "equivariants rho-V": mslode.Equivariants(RHO, V, lambda_=2),
    "equivariants V-V odd": mslode.Equivariants(V, V, lambda_=1, parity=-1),
    "nu=1": mslode.Equivariants(RHO, lambda_=1),
}


@pytest.mark.parametrize("name", list(CALCULATORS))
@pytest.mark.parametrize("center_species", [None, [1, 8], [8, 9]])
def test_structure_sums_equal_sums_of_rows(name, center_species):
    calculator = CALCULATORS[name]
    full = calculator.compute(FRAMES, center_species=center_species)
    reduced = calculator.compute(FRAMES, center_species=center_species, reduce="structure")
    blocks = sorted(center_species) if center_species is not None else sorted(set(full.center_species.tolist()))
    assert reduced.reduced == "structure" and full.reduced is None
    assert len(reduced.values) == len(FRAMES) * len(blocks)
    np.testing.assert_array_equal(reduced.labels, full.labels)
    for row, (s, z) in enumerate(zip(reduced.structure, reduced.center_species)):
        assert reduced.center[row] == -1
        mine = (full.structure == s) & (full.center_species == z)
        np.testing.assert_allclose(reduced.values[row], full.values[mine].sum(axis=0), rtol=1e-12, atol=1e-12)
    for z in blocks:
        assert reduced.block(center_species=z).shape == (len(FRAMES),) + full.values.shape[1:]


@pytest.mark.parametrize("name", list(CALCULATORS))
def test_selected_features_are_slices(name):
    calculator = CALCULATORS[name]
    full = calculator.compute(FRAMES)
    n = full.labels.shape[0]
    chosen = RNG.choice(n, size=max(1, n // 10), replace=False)
    some = calculator.compute(FRAMES, selected_features=full.labels[chosen])
    np.testing.assert_array_equal(some.labels, full.labels[chosen])
    # another order of summation: equal to rounding of the largest terms
    scale = np.abs(full.values).max()
    np.testing.assert_allclose(some.values, full.values[..., chosen], rtol=1e-13, atol=1e-14 * scale)
    both = calculator.compute(FRAMES, selected_features=full.labels[chosen], reduce="structure")
    np.testing.assert_allclose(both.values, calculator.compute(FRAMES, reduce="structure").values[..., chosen],
                               rtol=1e-12, atol=1e-13 * scale)


def test_bad_selections_and_reductions():
    calculator = mslode.Invariants(RHO, V)
    labels = calculator.compute(FRAMES[:1]).labels
    with pytest.raises(ValueError, match="not among these features"):
        calculator.compute(FRAMES, selected_features=[[1, 0, 1, 0, 99]])
    with pytest.raises(ValueError, match=r"\(n, 5\)"):
        calculator.compute(FRAMES, selected_features=labels[:, :4])
    with pytest.raises(ValueError, match="repeated"):
        calculator.compute(FRAMES, selected_features=labels[[0, 0]])
    with pytest.raises(ValueError, match="reduce must be"):
        calculator.compute(FRAMES, reduce="atom")
    with pytest.raises(ValueError, match="no centre of species 9"):
        calculator.compute(FRAMES).block(center_species=9)


def test_blocks_per_central_species():
    result = mslode.Invariants(RHO, V).compute(FRAMES)
    np.testing.assert_array_equal(result.block(center_species=8), result.values[result.center_species == 8])


def test_mixed_finite_and_periodic_batch():
    """Density equivariants of a periodic cell and a molecule in one call
    equal those computed one structure at a time."""
    cell = ase.Atoms("OH2", positions=[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]], cell=[3.1, 3.3, 3.5], pbc=True)
    frames = [cell, FRAMES[0]]
    calculator = mslode.Equivariants(RHO, RHO, lambda_=1)
    together = calculator.compute(frames)
    for s, frame in enumerate(frames):
        alone = calculator.compute(frame).values
        np.testing.assert_allclose(together.values[together.structure == s], alone, rtol=1e-13, atol=1e-14)
    summed = calculator.compute(frames, reduce="structure")
    np.testing.assert_allclose(summed.values[summed.structure == 0].sum(axis=0), together.values[together.structure == 0].sum(axis=0), atol=1e-12)


@pytest.mark.parametrize("bad, error", [
    (dict(lambda_=-1), ValueError), (dict(lambda_=4), ValueError), (dict(parity=0), ValueError),
    (dict(parity=2), ValueError), (dict(lambda_=1.5), ValueError), (dict(lambda_="1"), TypeError),
])
def test_bad_hyper_parameters(bad, error):
    with pytest.raises(error):
        mslode.Equivariants(RHO, V, **{**dict(lambda_=1, parity=1), **bad})


def test_single_expansion_needs_even_parity():
    with pytest.raises(ValueError, match="parity"):
        mslode.Equivariants(RHO, lambda_=1, parity=-1)


def test_equivariants_are_values():
    import pickle
    from sklearn.base import clone

    calculator = mslode.Equivariants(RHO, V, lambda_=2)
    assert calculator == mslode.Equivariants(RHO, V, lambda_=2) != mslode.Equivariants(RHO, V, lambda_=1)
    with pytest.raises(AttributeError, match="cannot be assigned"):
        calculator.lambda_ = 1
    expected = calculator.compute(FRAMES).values
    for copy in (clone(calculator), pickle.loads(pickle.dumps(calculator))):
        assert copy == calculator
        np.testing.assert_array_equal(copy.compute(FRAMES).values, expected)
    calculator.set_params(lambda_=1, second__potential_exponent=6)
    assert calculator == mslode.Equivariants(RHO, V6, lambda_=1)
    np.testing.assert_array_equal(calculator.compute(FRAMES).values,
                                  mslode.Equivariants(RHO, V6, lambda_=1).compute(FRAMES).values)


def test_structure_sums_of_large_structures():
    """A structure with more centres than one work run (32) is summed by
    several threads: the same sums as the rows."""
    rng = np.random.default_rng(3)
    big = [_cluster(5, rng), _cluster(90, np.random.default_rng(4)), _cluster(40, rng), _cluster(3, rng)]
    for calculator in (mslode.Invariants(RHO, V), mslode.Equivariants(RHO, RHO, lambda_=1)):
        full = calculator.compute(big)
        reduced = calculator.compute(big, reduce="structure")
        for row, (s, z) in enumerate(zip(reduced.structure, reduced.center_species)):
            mine = (full.structure == s) & (full.center_species == z)
            np.testing.assert_allclose(reduced.values[row], full.values[mine].sum(axis=0), rtol=1e-12,
                                       atol=1e-12 * np.abs(full.values).max())


def test_structure_sums_of_large_structures_are_the_same_bits_every_time():
    """The core sums each run of 32 consecutive centres in order and then the
    runs of a structure in order: exactly that association, emulated here
    with numpy adds, whatever the thread schedule or the rest of the batch."""
    rng = np.random.default_rng(5)
    big = _cluster(90, np.random.default_rng(6))
    batch = [_cluster(4, rng), big, _cluster(40, rng)]
    for calculator in (mslode.Invariants(RHO, V), mslode.Equivariants(RHO, RHO, lambda_=1)):
        full = calculator.compute([big])
        species = sorted(set(full.center_species.tolist()))
        expected = np.zeros((len(species),) + full.values.shape[1:])
        for start in range(0, len(full.values), 32):
            run = np.zeros_like(expected)
            for row in range(start, min(start + 32, len(full.values))):
                run[species.index(full.center_species[row])] += full.values[row]
            expected += run
        for frames, index in (([big], 0), (batch, 1), (batch[::-1], 1)):
            for _ in range(3):
                reduced = calculator.compute(frames, reduce="structure")
                rows = reduced.structure == index
                np.testing.assert_array_equal(reduced.values[rows], expected)
