"""Scaled confluent hypergeometric function exp(-z) 1F1(a; b; z)
(docs/conventions.md, "Density coefficients").

The density radial integrals need a = (k + l + 3)/2, b = l + 3/2 for
primitive index k and angular momentum l, and z from 0 up to d²/(2σ²),
i.e. thousands for narrow Gaussians near the cut-off. References: scipy
where exp(z) 1F1 is representable (z <= 300), mpmath at 30 digits beyond.
"""

import mpmath
import numpy as np
import pytest
import scipy.special

from mslode import _core

RTOL = 1e-12

K_VALUES = range(13)
L_VALUES = range(13)
AB_PAIRS = [((k + l + 3) / 2, l + 1.5) for k in K_VALUES for l in L_VALUES]


def mpmath_scaled(a, b, z):
    with mpmath.workdps(30):
        a, b, z = mpmath.mpf(a), mpmath.mpf(b), mpmath.mpf(z)
        return float(mpmath.exp(-z) * mpmath.hyp1f1(a, b, z))


def relative_error(got, ref):
    return np.abs(np.asarray(got) / np.asarray(ref) - 1.0)


def test_against_scipy_moderate_z():
    z = np.concatenate([[0.0, 1e-12, 1e-6, 1e-3], np.linspace(0.01, 300.0, 97)])
    for a, b in AB_PAIRS:
        ref = scipy.special.hyp1f1(a, b, z) * np.exp(-z)
        assert np.all(np.isfinite(ref))
        got = _core.hyp1f1_scaled(a, b, z)
        err = relative_error(got, ref)
        assert err.max() <= RTOL, (a, b, z[np.argmax(err)], err.max())


def test_against_mpmath_large_z():
    rng = np.random.default_rng(2024)
    # scipy overflows here (exp(z) 1F1 > 1e308)
    assert not np.isfinite(scipy.special.hyp1f1(1.5, 1.5, 800.0))
    for a, b in AB_PAIRS[::3] + AB_PAIRS[1::7]:
        z = np.concatenate([[301.0, 599.0, 601.0, 709.0, 750.0, 3000.0], rng.uniform(300.0, 3000.0, 4)])
        ref = np.array([mpmath_scaled(a, b, zi) for zi in z])
        got = _core.hyp1f1_scaled(a, b, z)
        err = relative_error(got, ref)
        assert err.max() <= RTOL, (a, b, z[np.argmax(err)], err.max())


def test_against_mpmath_random_all_pairs():
    # every (a, b) of the table over the whole z range, random z
    rng = np.random.default_rng(99)
    for a, b in AB_PAIRS:
        z = np.concatenate([rng.uniform(0.0, 150.0, 3), rng.uniform(150.0, 3000.0, 2)])
        ref = np.array([mpmath_scaled(a, b, zi) for zi in z])
        err = relative_error(_core.hyp1f1_scaled(a, b, z), ref)
        assert err.max() <= RTOL, (a, b, z[np.argmax(err)], err.max())


@pytest.mark.parametrize("k,l", [(0, 0), (0, 12), (1, 11), (12, 0), (12, 12), (3, 7), (6, 6)])
def test_continuity_around_expansion_switches(k, l):
    """No jump where the implementation changes expansion.

    The header switches from the power series to the asymptotic series at
    z = 40 + 2 (a + b) (when the latter converges) and stops using the power
    series at z = 600; check both neighbourhoods densely against mpmath and
    check that values just either side of each switch agree.
    """
    a, b = (k + l + 3) / 2, l + 1.5
    for z_switch in [40.0 + 2.0 * (a + b), 600.0]:
        eps = z_switch * 1e-13
        below, above = _core.hyp1f1_scaled(a, b, np.array([z_switch - eps, z_switch + eps]))
        ref_below, ref_above = mpmath_scaled(a, b, z_switch - eps), mpmath_scaled(a, b, z_switch + eps)
        # the step across the switch is the true one (no spurious jump)
        assert abs(above / below - ref_above / ref_below) <= 1e-13
        z = z_switch + np.linspace(-3.0, 3.0, 25)
        ref = np.array([mpmath_scaled(a, b, zi) for zi in z])
        err = relative_error(_core.hyp1f1_scaled(a, b, z), ref)
        assert err.max() <= RTOL, (a, b, z[np.argmax(err)], err.max())


def test_special_values():
    # 1F1(a; b; 0) = 1, and 1F1(a; a; z) = exp(z)
    assert _core.hyp1f1_scaled(2.5, 1.5, 0.0) == 1.0
    z = np.array([0.1, 10.0, 100.0, 1000.0])
    np.testing.assert_allclose(_core.hyp1f1_scaled(3.5, 3.5, z), 1.0, rtol=RTOL, atol=0)
    # 1F1(b+1; b; z) = exp(z) (1 + z/b)
    np.testing.assert_allclose(_core.hyp1f1_scaled(2.5, 1.5, z), 1.0 + z / 1.5, rtol=RTOL, atol=0)


def test_vectorised_broadcasting():
    a = np.array([1.5, 2.0, 7.5])[:, None]
    z = np.array([0.0, 5.0, 500.0])[None, :]
    got = _core.hyp1f1_scaled(a, 1.5, z)
    assert got.shape == (3, 3)
    for i in range(3):
        for j in range(3):
            assert got[i, j] == _core.hyp1f1_scaled(float(a[i, 0]), 1.5, float(z[0, j]))


@pytest.mark.parametrize(
    "a,b,z",
    [(0.0, 1.5, 1.0), (-1.0, 1.5, 1.0), (1.5, 0.0, 1.0), (1.5, -2.0, 1.0), (1.5, 1.5, -1.0), (np.nan, 1.5, 1.0), (1.5, 1.5, np.nan)],
)
def test_invalid_arguments_raise(a, b, z):
    with pytest.raises(ValueError):
        _core.hyp1f1_scaled(a, b, z)
