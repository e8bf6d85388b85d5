"""Cartesian ↔ spherical components of vectors and rank-2 tensors
(``docs/conventions.md``, "Cartesian tensors"), pinned to the real spherical
harmonics and to the real Clebsch–Gordan coupling of the core."""

from __future__ import annotations

import numpy as np
import pytest

import mslode
from mslode import _core, tensors

from _rotations import random_rotation as _rotation
from _rotations import wigner_d

RNG = np.random.default_rng(20261201)


def test_round_trips_are_exact():
    v = RNG.normal(size=(7, 3))
    np.testing.assert_array_equal(tensors.spherical_to_vector(tensors.vector_to_spherical(v)), v)
    t = RNG.normal(size=(4, 5, 3, 3))
    back = tensors.spherical_to_rank2(tensors.rank2_to_spherical(t))
    np.testing.assert_allclose(back, t, rtol=0, atol=1e-15 * np.abs(t).max() * 4)


def test_the_map_is_orthogonal():
    t = RNG.normal(size=(10, 3, 3))
    blocks = tensors.rank2_to_spherical(t)
    assert [blocks[k].shape[-1] for k in tensors.RANK2_KEYS] == [1, 3, 5]
    squares = sum((blocks[k] ** 2).sum(axis=-1) for k in tensors.RANK2_KEYS)
    np.testing.assert_allclose(squares, (t**2).sum(axis=(1, 2)), rtol=1e-14)


def test_symmetric_tensors_have_no_antisymmetric_block():
    a = RNG.normal(size=(6, 3, 3))
    symmetric = a + a.transpose(0, 2, 1)
    blocks = tensors.rank2_to_spherical(symmetric)
    np.testing.assert_allclose(blocks[(1, -1)], 0.0, atol=1e-15)
    without = tensors.spherical_to_rank2({(0, 1): blocks[(0, 1)], (2, 1): blocks[(2, 1)]})
    np.testing.assert_allclose(without, symmetric, atol=1e-14)
    np.testing.assert_allclose(blocks[(0, 1)][:, 0], np.trace(symmetric, axis1=1, axis2=2) / np.sqrt(3), rtol=1e-14)


def test_components_are_the_real_harmonics():
    """λ = 1 of v is √(4π/3) |v| Y_1μ(v̂); λ = 2 of v⊗v is √(8π/15) |v|² Y_2μ(v̂):
    same order and signs as the features' harmonics."""
    v = RNG.normal(size=(9, 3))
    r = np.linalg.norm(v, axis=1)
    y = _core.spherical_harmonics(v / r[:, None], 2)
    np.testing.assert_allclose(tensors.vector_to_spherical(v), np.sqrt(4 * np.pi / 3) * r[:, None] * y[:, 1:4],
                               rtol=1e-13)
    outer = np.einsum("ia,ib->iab", v, v)
    np.testing.assert_allclose(tensors.rank2_to_spherical(outer)[(2, 1)],
                               np.sqrt(8 * np.pi / 15) * (r**2)[:, None] * y[:, 4:9], rtol=1e-13, atol=1e-14)


def test_outer_products_match_the_clebsch_gordan_coupling():
    """The blocks of a⊗b are the real Clebsch–Gordan couplings of a and b's
    λ = 1 components: λ = 2 and the pseudovector (a×b)/√2 with the same sign,
    λ = 0 with the opposite sign (⟨1 m 1 -m|0 0⟩ = (-1)^(1-m)/√3)."""
    a, b = RNG.normal(size=3), RNG.normal(size=3)
    blocks = tensors.rank2_to_spherical(np.outer(a, b))
    sa, sb = tensors.vector_to_spherical(a), tensors.vector_to_spherical(b)
    couple = {lam: np.einsum("xyz,x,y->z", _core.real_clebsch_gordan(1, 1, lam), sa, sb) for lam in (0, 1, 2)}
    np.testing.assert_allclose(blocks[(2, 1)], couple[2], rtol=1e-13)
    np.testing.assert_allclose(blocks[(1, -1)], couple[1], rtol=1e-13)
    np.testing.assert_allclose(blocks[(1, -1)], tensors.vector_to_spherical(np.cross(a, b)) / np.sqrt(2), rtol=1e-13)
    np.testing.assert_allclose(blocks[(0, 1)], -couple[0], rtol=1e-13)


def test_rotation_and_inversion():
    for _ in range(3):
        rotation = _rotation(RNG)
        v = RNG.normal(size=(5, 3))
        t = RNG.normal(size=(5, 3, 3))
        np.testing.assert_allclose(tensors.vector_to_spherical(v @ rotation.T),
                                   tensors.vector_to_spherical(v) @ wigner_d(1, rotation).T, atol=1e-12)
        rotated = tensors.rank2_to_spherical(np.einsum("ab,ibc,dc->iad", rotation, t, rotation))
        for (lam, _), values in tensors.rank2_to_spherical(t).items():
            np.testing.assert_allclose(rotated[(lam, _)], values @ wigner_d(lam, rotation).T, atol=1e-12)
    # inversion: a vector changes sign ((-1)^λ σ = -1); every block of a
    # rank-2 polar tensor keeps it, the pseudovector included ((-1)^1 (-1) = +1)
    np.testing.assert_array_equal(tensors.vector_to_spherical(-v), -tensors.vector_to_spherical(v))


@pytest.mark.parametrize("call, arg", [
    (tensors.vector_to_spherical, np.zeros((4, 2))),
    (tensors.spherical_to_vector, np.zeros(5)),
    (tensors.rank2_to_spherical, np.zeros((4, 3))),
])
def test_wrong_shapes(call, arg):
    with pytest.raises(ValueError, match="shape"):
        call(arg)


def test_wrong_blocks():
    with pytest.raises(ValueError, match="no block"):
        tensors.spherical_to_rank2({(3, 1): np.zeros(7)})
    with pytest.raises(ValueError, match=r"\(2, 1\) must have shape"):
        tensors.spherical_to_rank2({(2, 1): np.zeros(3)})
    with pytest.raises(ValueError, match="leading shapes"):
        tensors.spherical_to_rank2({(0, 1): np.zeros((2, 1)), (2, 1): np.zeros((3, 5))})
    with pytest.raises(TypeError):
        tensors.spherical_to_rank2(np.zeros((3, 3)))


def test_exported():
    assert mslode.tensors is tensors
