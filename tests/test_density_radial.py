"""Radial integrals of one Gaussian density on the GTO basis (docs/conventions.md,
"Density coefficients").

For a normalised Gaussian g_σ(x - r_j), |r_j| = d, the expansion coefficient
on the orthonormal basis is Y_lm(r̂_j) I_nl(d) with

    I_nl(d) = ∫ R̃_n(r) r² dr ∫ dΩ_x Y_lm(x̂) g_σ(x - r_j) / Y_lm(r̂_j)
            = 4π (2πσ²)^(-3/2) ∫ R̃_n(r) r² exp(-(r² + d²)/2σ²) i_l(r d/σ²) dr

(plane-wave / addition theorem: exp(t cos γ) = 4π Σ_lm i_l(t) Y_lm Y_lm).
References here: (1) that 1-D integral by adaptive quadrature, with the
basis R̃_n rebuilt independently in Python (analytic norms, 40-digit
Löwdin S^(-1/2)); (2) a direct 3-D quadrature of R̃_n Y_lm g_σ, which
tests the addition theorem and the Y_lm(r̂_j) factorisation as well.
"""

import mpmath
import numpy as np
import pytest
from scipy.integrate import quad_vec
from scipy.special import gamma, ive, sph_harm_y, spherical_in

from mslode import _core

# (cutoff, gaussian_width, max_radial, max_angular)
CONFIGS = [(4.0, 0.5, 6, 6), (5.0, 0.3, 8, 8)]


class ReferenceBasis:
    """The `gto` basis of docs/conventions.md, "Radial basis", built from scratch."""

    def __init__(self, cutoff, max_radial):
        N = max_radial
        self.sigma = np.array([cutoff * max(np.sqrt(n), 1.0) / N for n in range(N)])
        n = np.arange(N)
        # ∫ (r^n e^{-r²/2σ²})² r² dr = Γ(n + 3/2) σ^(2n+3) / 2
        self.norm = np.sqrt(2.0 / (gamma(n + 1.5) * self.sigma ** (2 * n + 3)))
        with mpmath.workdps(40):
            sig = [mpmath.mpf(cutoff) * max(mpmath.sqrt(k), 1) / N for k in range(N)]
            S = mpmath.matrix(N, N)
            for i in range(N):
                for k in range(N):
                    h = mpmath.mpf(i + k + 3) / 2
                    a = 1 / (2 * sig[i] ** 2) + 1 / (2 * sig[k] ** 2)
                    S[i, k] = mpmath.gamma(h) / (2 * a**h)
            dn = [1 / mpmath.sqrt(S[i, i]) for i in range(N)]
            for i in range(N):
                for k in range(N):
                    S[i, k] *= dn[i] * dn[k]
            w, V = mpmath.eigsy(S)
            U = V * mpmath.diag([1 / mpmath.sqrt(x) for x in w]) * V.T
            self.U = np.array(U.tolist(), dtype=float)

    def primitives(self, r):
        r = np.asarray(r, dtype=float)[..., None]
        n = np.arange(len(self.sigma))
        return self.norm * r**n * np.exp(-0.5 * r**2 / self.sigma**2)

    def orthonormal(self, r):
        return self.primitives(r) @ self.U.T


def radial_reference(basis, sigma, max_angular, d):
    """I_nl(d), shape (l_max + 1, n_max), by adaptive 1-D quadrature."""
    ls = np.arange(max_angular + 1)
    prefactor = 4 * np.pi * (2 * np.pi * sigma**2) ** -1.5

    def integrand(r):
        t = r * d / sigma**2
        if t < 1.0:
            # exp(-(r² + d²)/2σ²) i_l(t), both factors harmless here
            radial = spherical_in(ls, t) * np.exp(-(r**2 + d**2) / (2 * sigma**2))
        else:
            # i_l(t) = sqrt(π/2t) I_{l+1/2}(t), ive = I e^{-t}: no overflow
            radial = np.sqrt(np.pi / (2 * t)) * ive(ls + 0.5, t) * np.exp(-((r - d) ** 2) / (2 * sigma**2))
        return prefactor * r**2 * np.outer(radial, basis.primitives(r))

    # the integrand is below 1e-40 of its peak beyond 14 σ from r = d
    a, b = max(0.0, d - 14 * sigma), d + 14 * sigma
    points = [d] if a < d < b else None
    J, _ = quad_vec(integrand, a, b, epsabs=1e-15, epsrel=1e-13, points=points, limit=500)
    return J @ basis.U.T  # (l, k) -> (l, n)


def assert_within(got, expected, tolerance, label=""):
    """|got - expected| <= tolerance elementwise (tolerance broadcasts)."""
    excess = np.abs(got - expected) / tolerance
    worst = np.unravel_index(np.argmax(excess), excess.shape)
    assert excess.max() <= 1.0, f"{label}: error {excess.max():.3g} x tolerance at index {worst}"


def real_sph_scipy(l, m, points):
    """Real Y_lm (sphericart convention, no Condon-Shortley) from scipy."""
    theta = np.arctan2(np.hypot(points[:, 0], points[:, 1]), points[:, 2])
    phi = np.mod(np.arctan2(points[:, 1], points[:, 0]), 2 * np.pi)
    y = sph_harm_y(l, abs(m), theta, phi)
    if m == 0:
        return y.real
    return np.sqrt(2.0) * (-1) ** m * (y.real if m > 0 else y.imag)


@pytest.fixture(scope="module", params=CONFIGS, ids=lambda c: "rc{}-s{}-n{}-l{}".format(*c))
def setup(request):
    cutoff, sigma, max_radial, max_angular = request.param
    table = _core.DensityRadialTable(cutoff, sigma, max_radial, max_angular, 1e-10)
    basis = ReferenceBasis(cutoff, max_radial)
    # size of each function f_ln over [0, r_c], for relative tolerances
    values, _ = table.exact(np.linspace(0.0, cutoff, 2001))
    scale = np.abs(values).max(axis=0)
    return dict(cutoff=cutoff, sigma=sigma, N=max_radial, L=max_angular, table=table, basis=basis, scale=scale)


def test_exact_against_radial_quadrature(setup):
    s = setup
    rc = s["cutoff"]
    for d in [0.0, 1e-3, 0.37, 1.0, 2.2, 0.5 * rc + 0.123, rc - 0.01, rc]:
        got, _ = s["table"].exact(np.array([d]))
        ref = radial_reference(s["basis"], s["sigma"], s["L"], d)
        assert_within(got[0], ref, 1e-11 * s["scale"], f"d = {d}")


def test_only_l0_at_origin(setup):
    values, _ = setup["table"].exact(np.array([0.0]))
    assert np.all(np.abs(values[0, 0]) > 0)
    np.testing.assert_array_equal(values[0, 1:], 0.0)


@pytest.mark.parametrize("n,l,m", [(0, 0, 0), (1, 1, -1), (2, 2, 1), (3, 3, -2), (1, 4, 3)])
def test_exact_against_3d_quadrature(n, l, m):
    cutoff, sigma, N, L = 4.0, 0.5, 6, 6
    table = _core.DensityRadialTable(cutoff, sigma, N, L, 1e-6)
    basis = ReferenceBasis(cutoff, N)
    direction = np.array([0.48, -0.36, 0.8])  # unit, generic: no Y_lm vanishes
    for d in [0.8, 2.3]:
        rj = d * direction
        # frame with z' along r_j: the Gaussian depends only on (r, θ')
        ez = direction
        ex = np.cross([0.0, 0.0, 1.0], ez)
        ex /= np.linalg.norm(ex)
        ey = np.cross(ez, ex)
        # radial Gauss-Legendre where |x - r_j| < 12 σ is possible
        a, b = max(0.0, d - 12 * sigma), d + 12 * sigma
        xr, wr = np.polynomial.legendre.leggauss(80)
        r = 0.5 * (b - a) * xr + 0.5 * (b + a)
        wr = 0.5 * (b - a) * wr
        # cos θ' by Gauss-Legendre (the blob is a smooth exp(r d u/σ²) in u)
        u, wu = np.polynomial.legendre.leggauss(200)
        # φ': the integrand is a trigonometric polynomial of degree l
        n_phi = 2 * l + 4
        phi = 2 * np.pi * np.arange(n_phi) / n_phi
        R, Uc, PHI = np.meshgrid(r, u, phi, indexing="ij")
        st = np.sqrt(1 - Uc**2)
        xp = R[..., None] * (st * np.cos(PHI))[..., None] * ex + (st * np.sin(PHI))[..., None] * R[..., None] * ey
        xp = xp + (R * Uc)[..., None] * ez
        points = xp.reshape(-1, 3)
        weights = (wr[:, None, None] * R**2 * wu[None, :, None] * (2 * np.pi / n_phi)).reshape(-1)
        g = (2 * np.pi * sigma**2) ** -1.5 * np.exp(-np.sum((points - rj) ** 2, axis=1) / (2 * sigma**2))
        radial = basis.orthonormal(np.linalg.norm(points, axis=1))[:, n]
        coefficient = np.sum(weights * radial * real_sph_scipy(l, m, points) * g)
        values, _ = table.exact(np.array([d]))
        expected = real_sph_scipy(l, m, direction[None, :])[0] * values[0, l, n]
        assert abs(expected) > 1e-4
        assert coefficient == pytest.approx(expected, rel=1e-10, abs=0), (n, l, m, d)


def test_derivatives_against_finite_differences(setup):
    s = setup
    table, rc = s["table"], s["cutoff"]
    h = 1e-3
    offsets = np.array([-2, -1, 1, 2]) * h
    for d in [0.05, 0.4, 1.3, 2.5, rc - 0.05]:
        _, deriv = table.exact(np.array([d]))
        v, _ = table.exact(d + offsets)
        # 4th-order central difference: error ~ h⁴ f⁽⁵⁾/30
        fd = (v[0] - 8 * v[1] + 8 * v[2] - v[3]) / (12 * h)
        assert_within(deriv[0], fd, 1e-8 * s["scale"] / s["sigma"], f"d = {d}")
    # at d = 0, one-sided 4th order: f'(0) is non-zero only for l = 1
    v, _ = table.exact(np.arange(5) * h)
    fd0 = (-25 * v[0] + 48 * v[1] - 36 * v[2] + 16 * v[3] - 3 * v[4]) / (12 * h)
    _, deriv0 = table.exact(np.array([0.0]))
    assert_within(deriv0[0], fd0, 1e-8 * s["scale"] / s["sigma"], "d = 0")
    assert np.all(np.abs(deriv0[0, 1]) > 0)
    np.testing.assert_array_equal(deriv0[0, [0] + list(range(2, s["L"] + 1))], 0.0)


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "rc{}-s{}-n{}-l{}".format(*c))
def test_spline_against_exact(config):
    cutoff = config[0]
    rng = np.random.default_rng(17)
    d = np.concatenate([[0.0, cutoff], rng.uniform(0.0, cutoff, 20000)])
    intervals = {}
    for accuracy in [1e-6, 1e-10]:
        table = _core.DensityRadialTable(*config, accuracy)
        intervals[accuracy] = table.intervals
        exact, exact_deriv = table.exact(d)
        spline, spline_deriv = table.spline(d)
        scale = np.abs(exact).max(axis=0)  # each function's own maximum
        error = np.abs(spline - exact) / scale
        assert error.max() <= accuracy, (accuracy, error.max(), np.unravel_index(error.argmax(), error.shape))
        # derivative of a cubic Hermite spline: error ≲ 6 accuracy / h
        h = cutoff / table.intervals
        assert_within(spline_deriv, exact_deriv, 6 * accuracy * scale / h, f"derivative, accuracy {accuracy}")
    assert intervals[1e-10] > intervals[1e-6]


def test_spline_range_and_arguments():
    table = _core.DensityRadialTable(4.0, 0.5, 4, 3, 1e-8)
    with pytest.raises(ValueError):
        table.spline(np.array([4.0 + 1e-9]))
    with pytest.raises(ValueError):
        table.spline(np.array([-1e-9]))
    with pytest.raises(ValueError):
        _core.DensityRadialTable(4.0, 0.0, 4, 3, 1e-8)
    with pytest.raises(ValueError):
        _core.DensityRadialTable(4.0, 0.5, 4, 3, 0.0)
