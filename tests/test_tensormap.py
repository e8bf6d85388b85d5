"""``to_tensormap()``: featomic's layout (keys, samples, components,
properties) on the same structures, and featomic's numbers in it after the
documented conversions (density normalisation α per coefficient, featomic's
(-1)^l in the power spectrum); every block is a slice of ``values``.
Skipped without metatensor (and, for the featomic checks, without featomic)."""

from __future__ import annotations

import ase.build
import numpy as np
import pytest

import mslode
from _featomic import featomic_density_hypers, featomic_density_ratio

metatensor = pytest.importorskip("metatensor")

CUTOFF, WIDTH, SIGMA, N, L = 3.5, 0.5, 0.3, 4, 3


def frames():
    ethanol = ase.build.molecule("CH3CH2OH")
    methanol = ase.build.molecule("CH3OH")
    methanol.positions += np.random.default_rng(0).normal(0.0, 0.05, methanol.positions.shape)
    return [ethanol, methanol]


RHO = mslode.DensityExpansion(cutoff=CUTOFF, gaussian_width=SIGMA, max_radial=N, max_angular=L, cutoff_width=WIDTH,
                              spline_accuracy=1e-11)


def keys(tensor):
    return sorted(tuple(int(v) for v in key) for key in tensor.keys.values)


def rows_of(ours, block):
    """Rows of ``block``'s samples in ``ours`` (samples system, atom)."""
    index = {(int(s), int(a)): k for k, (s, a) in enumerate(ours.samples.values)}
    return [index[(int(s), int(a))] for s, a in block.samples.values]


def test_spherical_expansion_in_featomics_layout_and_numbers():
    featomic = pytest.importorskip("featomic")
    theirs = featomic.SphericalExpansion(**featomic_density_hypers(CUTOFF, WIDTH, SIGMA, N, L, 1.0)).compute(frames())
    ours = RHO.compute(frames()).to_tensormap()
    assert ours.keys.names == theirs.keys.names and keys(ours) == keys(theirs)
    alpha = featomic_density_ratio(SIGMA)
    for key, block in theirs.items():
        mine = ours.block(key)
        assert mine.samples.names == block.samples.names and mine.properties == block.properties
        assert [c.names for c in mine.components] == [c.names for c in block.components]
        assert mine.components[0] == block.components[0]
        values = np.asarray(mine.values)[rows_of(mine, block)]
        np.testing.assert_allclose(values, alpha * np.asarray(block.values), rtol=1e-7, atol=1e-9 * np.abs(values).max())


def test_power_spectrum_in_featomics_layout_and_numbers():
    featomic = pytest.importorskip("featomic")
    theirs = featomic.SoapPowerSpectrum(**featomic_density_hypers(CUTOFF, WIDTH, SIGMA, N, L, 1.0)).compute(frames())
    values = mslode.Invariants(RHO, RHO).compute(frames())
    ours = values.to_tensormap()
    assert ours.keys.names == theirs.keys.names and keys(ours) == keys(theirs)
    alpha2 = featomic_density_ratio(SIGMA) ** 2
    for key, block in theirs.items():
        mine = ours.block(key)
        assert mine.samples.names == block.samples.names and mine.properties == block.properties
        rows = rows_of(mine, block)
        sign = (-1.0) ** np.asarray(block.properties["l"])  # featomic's p carries (-1)^l
        np.testing.assert_allclose(np.asarray(mine.values)[rows], alpha2 * sign * np.asarray(block.values),
                                   rtol=1e-7, atol=1e-9 * np.abs(mine.values).max())
        # centres featomic leaves out see neither neighbour type: zeros here
        others = np.setdiff1d(np.arange(len(mine.samples)), rows)
        np.testing.assert_array_equal(np.asarray(mine.values)[others], 0.0)
    # dot products over all blocks are those of the flat rows
    gram = sum(np.asarray(b.values) @ np.asarray(b.values).T for k, b in ours.items() if int(k["center_type"]) == 1)
    hydrogens = values.values[values.center_species == 1]
    np.testing.assert_allclose(gram, hydrogens @ hydrogens.T, rtol=1e-12)


def test_blocks_are_slices_of_the_values_for_every_kind():
    V = mslode.PotentialExpansion(cutoff=CUTOFF, gaussian_width=SIGMA, max_radial=N, max_angular=L)
    f = frames()
    rho_v = mslode.Invariants(RHO, V).compute(f)
    tensor = rho_v.to_tensormap()
    assert len(tensor) == 3 * 3 * 3  # every ordered pair of neighbour types, per central type
    total = sum(np.asarray(b.values).size for b in tensor.blocks())
    assert total == rho_v.values.size
    block = tensor.block(center_type=8, neighbor_1_type=6, neighbor_2_type=1)
    columns = (rho_v.labels[:, 0] == 6) & (rho_v.labels[:, 2] == 1)
    expected = rho_v.values[rho_v.center_species == 8][:, columns]
    order = np.lexsort((rho_v.labels[columns][:, 3], rho_v.labels[columns][:, 1], rho_v.labels[columns][:, 4]))
    np.testing.assert_array_equal(np.asarray(block.values), expected[:, order])

    reduced = mslode.Invariants(RHO, V).compute(f, reduce="structure").to_tensormap()
    assert reduced.sample_names == ["system"]
    summed = reduced.block(center_type=1, neighbor_1_type=8, neighbor_2_type=6)
    per_atom = tensor.block(center_type=1, neighbor_1_type=8, neighbor_2_type=6)
    systems = np.asarray(per_atom.samples["system"])
    expected = np.stack([np.asarray(per_atom.values)[systems == s].sum(axis=0) for s in range(len(f))])
    np.testing.assert_allclose(np.asarray(summed.values), expected, rtol=1e-12, atol=1e-14)

    equivariants = mslode.Equivariants(RHO, V, lambda_=2).compute(f)
    tensor = equivariants.to_tensormap()
    assert tensor.keys.names == ["o3_lambda", "o3_sigma", "center_type", "neighbor_1_type", "neighbor_2_type"]
    block = tensor.block(o3_lambda=2, o3_sigma=1, center_type=6, neighbor_1_type=1, neighbor_2_type=8)
    assert block.properties.names == ["l_1", "l_2", "n_1", "n_2"] and block.values.shape[1] == 5
    assert sum(np.asarray(b.values).size for b in tensor.blocks()) == equivariants.values.size
    nu1 = mslode.Equivariants(RHO, lambda_=1).compute(f).to_tensormap()
    assert nu1.keys.names == ["o3_lambda", "o3_sigma", "center_type", "neighbor_type"]
    coefficients = RHO.compute(f)
    block = nu1.block(o3_lambda=1, center_type=8, neighbor_type=6)
    expected = coefficients.values[coefficients.center_species == 8][:, list(coefficients.species).index(6), :, 1:4]
    np.testing.assert_array_equal(np.asarray(block.values), expected.transpose(0, 2, 1))
