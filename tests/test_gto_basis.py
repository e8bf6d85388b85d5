"""The `gto` radial basis (docs/conventions.md, "Radial basis").

Primitives R_n(r) = r^n exp(-r²/(2σ_n²)), σ_n = r_c max(√n, 1)/n_max,
scaled to unit norm (∫ R_n² r² dr = 1 over [0, ∞)), then orthonormalised
symmetrically: R̃ = S^(-1/2) R. Everything is checked against scipy
quadrature and scipy linear algebra.
"""

import mpmath
import numpy as np
import pytest
import scipy.linalg
from scipy.integrate import quad

from mslode import _core

CASES = [(4.0, 6), (5.0, 8), (3.0, 1), (6.0, 12)]


def primitive(r, n, sigma):
    return r**n * np.exp(-0.5 * r**2 / sigma**2)


@pytest.mark.parametrize("cutoff,max_radial", CASES)
def test_sigma(cutoff, max_radial):
    basis = _core.GtoBasis(cutoff, max_radial)
    assert basis.cutoff == cutoff
    assert basis.max_radial == max_radial
    for n in range(max_radial):
        expected = cutoff * max(np.sqrt(n), 1.0) / max_radial
        assert basis.sigma(n) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize("cutoff,max_radial", CASES)
def test_primitive_norms_by_quadrature(cutoff, max_radial):
    basis = _core.GtoBasis(cutoff, max_radial)
    for n in range(max_radial):
        s = basis.sigma(n)
        integral, _ = quad(lambda r: (primitive(r, n, s) * r) ** 2, 0, np.inf, epsabs=0, epsrel=1e-13)
        assert basis.norm(n) == pytest.approx(1.0 / np.sqrt(integral), rel=1e-12)


def overlap_by_quadrature(basis):
    N = basis.max_radial
    S = np.zeros((N, N))
    for n in range(N):
        for k in range(N):
            sn, sk = basis.sigma(n), basis.sigma(k)
            f = lambda r: primitive(r, n, sn) * primitive(r, k, sk) * r**2  # noqa: E731
            S[n, k] = quad(f, 0, np.inf, epsabs=0, epsrel=1e-13)[0]
    norms = 1.0 / np.sqrt(np.diag(S))  # unit-norm primitives, independently
    return norms[:, None] * S * norms[None, :]


@pytest.mark.parametrize("cutoff,max_radial", CASES)
def test_overlap_by_quadrature(cutoff, max_radial):
    basis = _core.GtoBasis(cutoff, max_radial)
    S_ref = overlap_by_quadrature(basis)
    S = np.asarray(basis.overlap)
    assert S.shape == (max_radial, max_radial)
    np.testing.assert_allclose(np.diag(S), 1.0, rtol=0, atol=1e-13)
    np.testing.assert_allclose(S, S_ref, rtol=0, atol=1e-12)


def exact_overlap_and_inverse_sqrt(basis):
    """Unit-norm overlap S (Gamma functions) and S^(-1/2), both at 40 digits.

    S is badly conditioned for large n_max (cond ~ 4e7 at 12), so a double
    eigendecomposition is itself only accurate to ~cond * eps; this is the
    reference that can judge the library at full precision.
    """
    N = basis.max_radial
    with mpmath.workdps(40):
        sig = [mpmath.mpf(basis.cutoff) * max(mpmath.sqrt(n), 1) / N for n in range(N)]

        def moment(k, a):  # ∫_0^∞ r^k exp(-a r²) dr
            return mpmath.gamma(mpmath.mpf(k + 1) / 2) / (2 * a ** (mpmath.mpf(k + 1) / 2))

        S = mpmath.matrix(N, N)
        for n in range(N):
            for k in range(N):
                S[n, k] = moment(n + k + 2, 1 / (2 * sig[n] ** 2) + 1 / (2 * sig[k] ** 2))
        d = [1 / mpmath.sqrt(S[n, n]) for n in range(N)]
        for n in range(N):
            for k in range(N):
                S[n, k] *= d[n] * d[k]
        w, V = mpmath.eigsy(S)
        U = V * mpmath.diag([1 / mpmath.sqrt(x) for x in w]) * V.T
        return np.array(S.tolist(), dtype=float), np.array(U.tolist(), dtype=float), S


@pytest.mark.parametrize("cutoff,max_radial", CASES + [(6.0, 16)])
def test_lowdin_orthonormaliser(cutoff, max_radial):
    basis = _core.GtoBasis(cutoff, max_radial)
    S, U_exact, S_mp = exact_overlap_and_inverse_sqrt(basis)
    np.testing.assert_allclose(np.asarray(basis.overlap), S, rtol=0, atol=1e-13)
    U = np.asarray(basis.orthonormaliser)
    scale = np.abs(U_exact).max()
    # symmetric positive definite
    np.testing.assert_allclose(U, U.T, rtol=0, atol=1e-13 * scale)
    assert np.linalg.eigvalsh(U).min() > 0
    # equals S^(-1/2) to the accuracy double precision allows: a backward-
    # stable method is accurate to ~eps * sqrt(cond(S)) (a plain double
    # eigendecomposition of S only reaches eps * cond(S): 1e-8 at n_max = 12)
    w = np.linalg.eigvalsh(S)
    eps = np.finfo(float).eps
    np.testing.assert_allclose(U, U_exact, rtol=0, atol=2 * eps * np.sqrt(w.max() / w.min()) * scale)
    # and orthonormalises the exact S: U S U = 1, evaluated at 40 digits
    with mpmath.workdps(40):
        Um = mpmath.matrix(U.tolist())
        residual = float(mpmath.mnorm(Um * S_mp * Um - mpmath.eye(max_radial), 1))
    assert residual <= (1e-9 if max_radial > 12 else 1e-11)


@pytest.mark.parametrize("cutoff,max_radial", [c for c in CASES if c[1] <= 8])
def test_lowdin_against_scipy_well_conditioned(cutoff, max_radial):
    """Where S is well enough conditioned for double-precision references."""
    basis = _core.GtoBasis(cutoff, max_radial)
    S = overlap_by_quadrature(basis)
    U = np.asarray(basis.orthonormaliser)
    w, V = scipy.linalg.eigh(S)
    inv_sqrt_eigh = (V / np.sqrt(w)) @ V.T
    inv_sqrt_sqrtm = np.linalg.inv(np.real(scipy.linalg.sqrtm(S)))
    # both references carry errors of order cond(S) * eps
    tol = 10 * np.finfo(float).eps * (w.max() / w.min()) * np.abs(inv_sqrt_eigh).max()
    np.testing.assert_allclose(U, inv_sqrt_eigh, rtol=0, atol=tol)
    np.testing.assert_allclose(U, inv_sqrt_sqrtm, rtol=0, atol=tol)


@pytest.mark.parametrize("cutoff,max_radial", CASES)
def test_evaluate_matches_lowdin_combination(cutoff, max_radial):
    basis = _core.GtoBasis(cutoff, max_radial)
    _, U, _ = exact_overlap_and_inverse_sqrt(basis)
    r = np.linspace(0.0, 2.5 * cutoff, 37)
    prims = []
    for n in range(max_radial):
        s = basis.sigma(n)
        norm2 = quad(lambda x: (primitive(x, n, s) * x) ** 2, 0, np.inf, epsabs=0, epsrel=1e-13)[0]
        prims.append(primitive(r, n, s) / np.sqrt(norm2))
    expected = np.stack(prims, axis=1) @ U.T  # R̃_n = Σ_k U_nk R_k
    got = basis.evaluate(r)
    assert got.shape == (len(r), max_radial)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12 * np.abs(U).max())


@pytest.mark.parametrize("cutoff,max_radial", CASES + [(6.0, 16)])
def test_evaluate_is_orthonormal(cutoff, max_radial):
    basis = _core.GtoBasis(cutoff, max_radial)
    # the functions are smooth and decay like exp(-r²/2σ_max²); beyond
    # 12 σ_max they are below 1e-30. Gauss-Legendre panels on [0, 12 σ_max].
    r_end = 12.0 * max(basis.sigma(n) for n in range(max_radial))
    x, w = np.polynomial.legendre.leggauss(60)
    edges = np.linspace(0.0, r_end, 25)
    r = np.concatenate([0.5 * (b - a) * x + 0.5 * (b + a) for a, b in zip(edges[:-1], edges[1:])])
    weights = np.concatenate([0.5 * (b - a) * w for a, b in zip(edges[:-1], edges[1:])])
    R = basis.evaluate(r)
    gram = R.T @ ((weights * r**2)[:, None] * R)
    np.testing.assert_allclose(gram, np.eye(max_radial), rtol=0, atol=1e-10)


def test_evaluate_orthonormal_with_scipy_quad():
    basis = _core.GtoBasis(4.0, 5)
    for n in range(5):
        for k in range(n, 5):
            f = lambda r: basis.evaluate(np.array([r]))[0, n] * basis.evaluate(np.array([r]))[0, k] * r**2  # noqa: E731
            value = quad(f, 0, np.inf, epsabs=1e-13, epsrel=1e-13, limit=200)[0]
            assert value == pytest.approx(float(n == k), abs=1e-10)


def test_invalid_arguments_raise():
    with pytest.raises(ValueError):
        _core.GtoBasis(0.0, 4)
    with pytest.raises(ValueError):
        _core.GtoBasis(-1.0, 4)
    with pytest.raises(ValueError):
        _core.GtoBasis(np.inf, 4)
    with pytest.raises(ValueError):
        _core.GtoBasis(4.0, 0)
