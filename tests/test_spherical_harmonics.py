"""Real spherical harmonics (docs/conventions.md, "Spherical harmonics") against
independent references.

Convention pinned here (sphericart / featomic): orthonormal on the unit
sphere, no Condon-Shortley phase, m < 0 ∝ sin(|m|φ), m > 0 ∝ cos(mφ), so
that Y_{1,-1} ∝ +y, Y_{10} ∝ +z, Y_{11} ∝ +x. Column of (l, m) is l*l + l + m.
"""

import numpy as np
import pytest
from scipy.special import sph_harm_y

from mslode import _core

L_MAX = 12  # largest supported max_angular


def lm(l, m):
    return l * l + l + m


def reference_real_sph(points, max_angular):
    """Real Y_lm from scipy's complex harmonics (which carry the CS phase).

    Y_{l,m>0} = sqrt(2) (-1)^m Re Y_l^m,  Y_{l,-m} = sqrt(2) (-1)^m Im Y_l^m,
    Y_{l0} = Y_l^0; the (-1)^m cancels the Condon-Shortley phase.
    """
    points = np.asarray(points, dtype=float)
    # arctan2 keeps full relative accuracy near the poles, arccos(z/r) does not
    theta = np.arctan2(np.hypot(points[:, 0], points[:, 1]), points[:, 2])
    phi = np.mod(np.arctan2(points[:, 1], points[:, 0]), 2 * np.pi)
    out = np.zeros((len(points), (max_angular + 1) ** 2))
    for l in range(max_angular + 1):
        out[:, lm(l, 0)] = sph_harm_y(l, 0, theta, phi).real
        for m in range(1, l + 1):
            y = sph_harm_y(l, m, theta, phi)
            out[:, lm(l, m)] = np.sqrt(2.0) * (-1) ** m * y.real
            out[:, lm(l, -m)] = np.sqrt(2.0) * (-1) ** m * y.imag
    return out


def random_points(rng, n):
    """Random directions with random lengths in [0.1, 10]."""
    v = rng.normal(size=(n, 3))
    v /= np.linalg.norm(v, axis=1)[:, None]
    return v * rng.uniform(0.1, 10.0, size=(n, 1))


def test_against_scipy_random_points():
    rng = np.random.default_rng(1234)
    points = random_points(rng, 200)
    got = _core.spherical_harmonics(points, L_MAX)
    ref = reference_real_sph(points, L_MAX)
    assert got.shape == (200, (L_MAX + 1) ** 2)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("max_angular", [0, 1, 2, 5])
def test_lower_max_angular_is_a_prefix(max_angular):
    rng = np.random.default_rng(max_angular)
    points = random_points(rng, 20)
    full = _core.spherical_harmonics(points, L_MAX)
    part = _core.spherical_harmonics(points, max_angular)
    np.testing.assert_allclose(part, full[:, : (max_angular + 1) ** 2], rtol=0, atol=1e-15)


def test_poles_and_axes():
    # the poles (x = y = 0) are where angle-based formulas are singular
    points = np.array(
        [
            [0.0, 0.0, 1.0],
            [0.0, 0.0, -1.0],
            [0.0, 0.0, 3.5],
            [0.0, 0.0, -0.2],
            [1.0, 0.0, 0.0],
            [0.0, -2.0, 0.0],
            [1e-9, -1e-9, 1.0],
        ]
    )
    got = _core.spherical_harmonics(points, L_MAX)
    ref = reference_real_sph(points, L_MAX)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)
    # at the poles only m = 0 survives: Y_l0(±z) = ±^l sqrt((2l+1)/4π)
    for row, sign in [(0, 1.0), (1, -1.0)]:
        for l in range(L_MAX + 1):
            expected = np.zeros(2 * l + 1)
            expected[l] = sign**l * np.sqrt((2 * l + 1) / (4 * np.pi))
            np.testing.assert_allclose(got[row, l * l : (l + 1) ** 2], expected, rtol=0, atol=1e-13)


def test_scale_invariance_including_extreme_lengths():
    rng = np.random.default_rng(7)
    directions = random_points(rng, 10)
    ref = _core.spherical_harmonics(directions, L_MAX)
    for scale in [1e-200, 1e-5, 1.0, 1e5, 1e200]:
        got = _core.spherical_harmonics(directions * scale, L_MAX)
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-13, err_msg=f"scale {scale}")


def test_closed_forms_low_l():
    rng = np.random.default_rng(42)
    p = random_points(rng, 50)
    x, y, z = p.T
    r = np.linalg.norm(p, axis=1)
    pi = np.pi
    expected = {
        (0, 0): np.full_like(x, 0.5 / np.sqrt(pi)),
        (1, -1): np.sqrt(3 / (4 * pi)) * y / r,
        (1, 0): np.sqrt(3 / (4 * pi)) * z / r,
        (1, 1): np.sqrt(3 / (4 * pi)) * x / r,
        (2, -2): np.sqrt(15 / (4 * pi)) * x * y / r**2,
        (2, -1): np.sqrt(15 / (4 * pi)) * y * z / r**2,
        (2, 0): np.sqrt(5 / (16 * pi)) * (3 * z**2 - r**2) / r**2,
        (2, 1): np.sqrt(15 / (4 * pi)) * x * z / r**2,
        (2, 2): np.sqrt(15 / (16 * pi)) * (x**2 - y**2) / r**2,
        (3, -3): np.sqrt(35 / (32 * pi)) * y * (3 * x**2 - y**2) / r**3,
        (3, -2): np.sqrt(105 / (4 * pi)) * x * y * z / r**3,
        (3, 0): np.sqrt(7 / (16 * pi)) * z * (5 * z**2 - 3 * r**2) / r**3,
        (3, 2): np.sqrt(105 / (16 * pi)) * z * (x**2 - y**2) / r**3,
        (3, 3): np.sqrt(35 / (32 * pi)) * x * (x**2 - 3 * y**2) / r**3,
    }
    got = _core.spherical_harmonics(p, 3)
    for (l, m), ref in expected.items():
        np.testing.assert_allclose(got[:, lm(l, m)], ref, rtol=0, atol=1e-14, err_msg=f"Y_{l},{m}")


def test_orthonormal_on_the_sphere():
    # Gauss-Legendre in cos(theta) (exact for polynomials of degree < 2*60)
    # times a uniform phi grid (exact for trigonometric degree < 60).
    n_theta, n_phi = 30, 60
    u, w_u = np.polynomial.legendre.leggauss(n_theta)
    phi = 2 * np.pi * np.arange(n_phi) / n_phi
    U, PHI = np.meshgrid(u, phi, indexing="ij")
    s = np.sqrt(1 - U**2)
    points = np.stack([s * np.cos(PHI), s * np.sin(PHI), U], axis=-1).reshape(-1, 3)
    weights = (w_u[:, None] * np.full(n_phi, 2 * np.pi / n_phi)[None, :]).reshape(-1)
    Y = _core.spherical_harmonics(points, L_MAX)
    gram = Y.T @ (weights[:, None] * Y)
    np.testing.assert_allclose(gram, np.eye(Y.shape[1]), rtol=0, atol=1e-13)


def test_invalid_inputs_raise():
    with pytest.raises(ValueError):
        _core.spherical_harmonics(np.array([[0.0, 0.0, 0.0]]), 2)
    with pytest.raises(ValueError):
        _core.spherical_harmonics(np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]), 2)
    with pytest.raises(ValueError):
        _core.spherical_harmonics(np.array([[np.nan, 0.0, 1.0]]), 2)
    with pytest.raises(ValueError):
        _core.spherical_harmonics(np.array([[np.inf, 0.0, 1.0]]), 2)
    with pytest.raises(ValueError):
        _core.spherical_harmonics(np.array([[1.0, 0.0, 0.0]]), L_MAX + 1)
    with pytest.raises(ValueError):
        _core.spherical_harmonics(np.array([[1.0, 0.0, 0.0]]), -1)
    with pytest.raises(ValueError):
        _core.spherical_harmonics(np.ones((4, 2)), 2)
