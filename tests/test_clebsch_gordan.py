"""Wigner 3j symbols and (real) Clebsch-Gordan coefficients (docs/conventions.md,
"Equivariants").

References: sympy's exact 3j / CG values; for the real-basis coefficients,
properties that pin both the basis convention and the overall phase:
orthogonality, the Gaunt-type product rule, and rotational equivariance
checked against Wigner matrices fitted independently from rotated harmonics.
"""

import itertools

import numpy as np
import pytest
from scipy.spatial.transform import Rotation
from sympy.physics.wigner import clebsch_gordan as sympy_cg
from sympy.physics.wigner import wigner_3j as sympy_3j

from mslode import _core

L_COUPLING = _core.MAX_ANGULAR  # largest l supported by real_clebsch_gordan
L_SMALL = 4


def all_3j_arguments(j_max):
    for j1, j2, j3 in itertools.product(range(j_max + 1), repeat=3):
        for m1 in range(-j1, j1 + 1):
            for m2 in range(-j2, j2 + 1):
                yield j1, j2, j3, m1, m2, -m1 - m2


def test_wigner_3j_all_small_against_sympy():
    checked = 0
    for args in all_3j_arguments(L_SMALL):
        ref = float(sympy_3j(*args))
        got = _core.wigner_3j(*args)
        assert abs(got - ref) <= 1e-12, (args, got, ref)
        checked += abs(ref) > 0
    assert checked > 1000  # the loop really covered the non-zero symbols


def test_wigner_3j_random_up_to_10_against_sympy():
    rng = np.random.default_rng(3)
    for _ in range(300):
        j1, j2 = (int(j) for j in rng.integers(0, L_COUPLING + 1, size=2))
        j3 = int(rng.integers(abs(j1 - j2), min(j1 + j2, L_COUPLING) + 1))
        m1 = int(rng.integers(-j1, j1 + 1))
        m2 = int(rng.integers(-j2, j2 + 1))
        m3 = -m1 - m2
        if abs(m3) > j3:
            continue
        ref = float(sympy_3j(j1, j2, j3, m1, m2, m3))
        got = _core.wigner_3j(j1, j2, j3, m1, m2, m3)
        assert abs(got - ref) <= 1e-12, ((j1, j2, j3, m1, m2, m3), got, ref)


def test_wigner_3j_selection_rules():
    assert _core.wigner_3j(1, 1, 1, 1, 0, 0) == 0.0  # m sum != 0
    assert _core.wigner_3j(1, 1, 3, 1, -1, 0) == 0.0  # triangle violated
    assert _core.wigner_3j(1, 1, 1, 2, -2, 0) == 0.0  # |m| > j
    # odd j1+j2+j3 with all m = 0 vanishes
    assert abs(_core.wigner_3j(2, 2, 1, 0, 0, 0)) < 1e-15


def test_complex_clebsch_gordan_against_sympy():
    for l1, l2, L, m1, m2, mneg in all_3j_arguments(L_SMALL):
        M = -mneg
        ref = float(sympy_cg(l1, l2, L, m1, m2, M))
        got = _core.clebsch_gordan_complex(l1, m1, l2, m2, L, M)
        assert abs(got - ref) <= 1e-12, ((l1, m1, l2, m2, L, M), got, ref)
    # a few explicit values: <1 1; 1 -1 | 0 0> = 1/sqrt(3), <1 1; 1 0 | 2 1> = 1/sqrt(2)
    assert _core.clebsch_gordan_complex(1, 1, 1, -1, 0, 0) == pytest.approx(1 / np.sqrt(3), abs=1e-15)
    assert _core.clebsch_gordan_complex(1, 1, 1, 0, 2, 1) == pytest.approx(1 / np.sqrt(2), abs=1e-15)


def coupling_triples(l_max):
    for l1 in range(l_max + 1):
        for l2 in range(l_max + 1):
            for lam in range(abs(l1 - l2), l1 + l2 + 1):
                yield l1, l2, lam


def test_real_cg_shape():
    C = _core.real_clebsch_gordan(2, 3, 4)
    assert C.shape == (5, 7, 9)


@pytest.mark.parametrize("l1,l2", [(0, 0), (1, 1), (2, 1), (3, 3), (4, 2), (7, 3), (5, 5), (10, 10), (10, 3), (12, 12), (12, 5)])
def test_real_cg_orthogonality_and_completeness(l1, l2):
    lams = range(abs(l1 - l2), min(l1 + l2, L_COUPLING) + 1)
    # stack all (λ, μ) columns: they must be orthonormal, and complete when
    # every λ allowed by the triangle rule is supported
    blocks = [_core.real_clebsch_gordan(l1, l2, lam).reshape((2 * l1 + 1) * (2 * l2 + 1), -1) for lam in lams]
    full = np.concatenate(blocks, axis=1)
    np.testing.assert_allclose(full.T @ full, np.eye(full.shape[1]), rtol=0, atol=1e-12)
    if l1 + l2 <= L_COUPLING:
        assert full.shape == ((2 * l1 + 1) * (2 * l2 + 1),) * 2
        np.testing.assert_allclose(full @ full.T, np.eye(full.shape[0]), rtol=0, atol=1e-12)


def sph(points, l):
    """Y_l(points), (n, 2l+1), from the library (checked against scipy elsewhere)."""
    return _core.spherical_harmonics(np.atleast_2d(points), l)[:, l * l : (l + 1) ** 2]


def couple(C, y1, y2):
    """Σ_{m1 m2} C[m1, m2, μ] y1[..., m1] y2[..., m2]."""
    return np.einsum("abm,...a,...b->...m", C, y1, y2)


def test_real_cg_gaunt_identity():
    rng = np.random.default_rng(11)
    r = rng.normal(size=(25, 3))
    checked = 0
    for l1, l2, lam in coupling_triples(L_SMALL + 1):
        C = _core.real_clebsch_gordan(l1, l2, lam)
        lhs = couple(C, sph(r, l1), sph(r, l2))
        cg0 = float(sympy_cg(l1, l2, lam, 0, 0, 0))
        rhs = np.sqrt((2 * l1 + 1) * (2 * l2 + 1) / (4 * np.pi * (2 * lam + 1))) * cg0 * sph(r, lam)
        np.testing.assert_allclose(lhs, rhs, rtol=0, atol=1e-13, err_msg=f"{(l1, l2, lam)}")
        checked += (l1 + l2 + lam) % 2 == 0
    assert checked > 20


def fitted_wigner_matrix(rotation, lam, rng):
    """Real D^λ(R) with Y_λ(R x) = D Y_λ(x), by least squares over many x."""
    x = rng.normal(size=(8 * (2 * lam + 1) + 20, 3))
    A = sph(x, lam)
    B = sph(rotation.apply(x), lam)
    # B^T = D A^T  ->  A D^T = B
    Dt, *_ = np.linalg.lstsq(A, B, rcond=None)
    D = Dt.T
    # sanity of the fit itself: a real orthogonal matrix reproducing the data
    np.testing.assert_allclose(A @ D.T, B, rtol=0, atol=1e-12)
    np.testing.assert_allclose(D @ D.T, np.eye(2 * lam + 1), rtol=0, atol=1e-12)
    return D


@pytest.mark.parametrize("seed", [0, 1])
def test_real_cg_equivariance_all_parities(seed):
    rng = np.random.default_rng(100 + seed)
    rotation = Rotation.random(rng=rng)
    D = {lam: fitted_wigner_matrix(rotation, lam, rng) for lam in range(2 * 4 + 1)}
    r1, r2 = rng.normal(size=(2, 3))
    odd_checked = 0
    for l1, l2, lam in coupling_triples(4):
        C = _core.real_clebsch_gordan(l1, l2, lam)
        before = couple(C, sph(r1, l1)[0], sph(r2, l2)[0])
        after = couple(C, sph(rotation.apply(r1), l1)[0], sph(rotation.apply(r2), l2)[0])
        assert np.linalg.norm(before) > 1e-3  # the check is not vacuous
        np.testing.assert_allclose(after, D[lam] @ before, rtol=0, atol=1e-12, err_msg=f"{(l1, l2, lam)}")
        # inversion: Y_l(-r) = (-1)^l Y_l(r)
        inverted = couple(C, sph(-r1, l1)[0], sph(-r2, l2)[0])
        np.testing.assert_allclose(inverted, (-1) ** (l1 + l2) * before, rtol=0, atol=1e-13)
        odd_checked += (l1 + l2 + lam) % 2
    assert odd_checked > 20


def test_real_cg_equivariance_high_l():
    rng = np.random.default_rng(5)
    rotation = Rotation.random(rng=rng)
    r1, r2 = rng.normal(size=(2, 3))
    for l1, l2, lam in [(10, 10, 10), (10, 9, 10), (7, 6, 2), (5, 10, 6), (12, 12, 12), (12, 11, 2)]:
        D = fitted_wigner_matrix(rotation, lam, rng)
        C = _core.real_clebsch_gordan(l1, l2, lam)
        before = couple(C, sph(r1, l1)[0], sph(r2, l2)[0])
        after = couple(C, sph(rotation.apply(r1), l1)[0], sph(rotation.apply(r2), l2)[0])
        np.testing.assert_allclose(after, D @ before, rtol=0, atol=1e-12, err_msg=f"{(l1, l2, lam)}")


def test_real_cg_invalid_arguments_raise():
    with pytest.raises(ValueError):
        _core.real_clebsch_gordan(L_COUPLING + 1, 0, L_COUPLING + 1)
    with pytest.raises(ValueError):
        _core.real_clebsch_gordan(1, 1, 3)  # triangle violated
    with pytest.raises(ValueError):
        _core.real_clebsch_gordan(-1, 1, 1)
