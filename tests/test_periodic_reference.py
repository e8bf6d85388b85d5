"""Checks of the periodic potential reference itself (tests/_periodic_reference.py)
against facts that do not come from it: mpmath, plain quadrature, the
finite-structure references of tests/_potential_reference.py, Madelung
constants, a real-space lattice sum, symmetries, and the large-box limit of
docs/conventions.md, "Periodic structures".

Nothing here imports mslode: these tests say whether the reference can be
trusted as the yardstick for the production periodic code.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import scipy.special

from _periodic_reference import (
    SingleSourceRadial,
    default_k_cutoff,
    exact_radial,
    hankel_radial,
    image_sum_reference,
    periodic_potential_reference,
    self_projection,
    smeared_power_law_fourier,
    smeared_power_law_fourier_zero,
    upper_incomplete_gamma,
)
from _potential_reference import (
    GtoReference,
    composite_gauss_legendre,
    kspace_radial_coulomb,
    nested_radial,
    real_spherical_harmonics,
    smeared_power_law,
)

# A small triclinic cell with three atoms of two species (no symmetry, so
# every (l, m) is non-zero) and a cubic one with two.
TRICLINIC = np.array([[3.3, 0.0, 0.0], [0.8, 3.0, 0.0], [-0.5, 0.6, 3.4]])
TRICLINIC_POSITIONS = np.array([[0.1, 0.2, 0.3], [1.5, 1.1, 1.9], [2.6, 0.4, 1.2]])
TRICLINIC_TYPES = [1, 8, 8]
CUBIC = 3.2 * np.eye(3)
CUBIC_POSITIONS = np.array([[0.0, 0.0, 0.0], [1.1, 1.4, 1.7]])
CUBIC_TYPES = [8, 1]
SMALL = dict(species=[1, 8], cutoff=1.5, max_radial=2, max_angular=3, gaussian_width=0.3)


def _relative(a: np.ndarray, b: np.ndarray) -> float:
    """max |a − b| relative to max |b| of the same l (an l block can be much
    smaller than l = 0, so one global scale would hide its errors)."""
    lmax = int(round(math.sqrt(a.shape[-1]))) - 1
    worst = 0.0
    for l in range(lmax + 1):
        block = slice(l * l, (l + 1) ** 2)
        scale = np.abs(b[..., block]).max()
        worst = max(worst, np.abs(a[..., block] - b[..., block]).max() / scale)
    return worst


# -- building blocks ------------------------------------------------------------------
@pytest.mark.parametrize("p", [1, 2, 3, 4, 5, 6])
def test_upper_incomplete_gamma_against_mpmath(p):
    """The closed forms behind φ̂ for s = (3 − p)/2, over the z the k-sum uses
    (z = k²σ²/2 ≤ 40); the half-integer recurrence is the least accurate."""
    s = 0.5 * (3 - p)
    z = np.logspace(-8, math.log10(40.0), 40)
    ref = np.array([float(mpmath.gammainc(s, float(x))) for x in z])
    assert np.abs(upper_incomplete_gamma(s, z) / ref - 1).max() < 1e-12


@pytest.mark.parametrize("p", [1, 2, 3, 4, 5, 6])
def test_fourier_transform_of_smeared_power_law(p):
    """φ_σ(r) = (1/2π²) ∫ k² φ̂(k) j_0(kr) dk, the inverse transform of a
    radial function, reproduces the real-space φ_σ^(p); for p > 3, φ̂(0) is
    ∫ φ d³x and the k → 0 limit of φ̂(k)."""
    sigma = 0.4
    # geometric panels towards k = 0, where φ̂ ~ k^(p−3) (log k for p = 3)
    edges = np.unique(np.concatenate([[0.0], 1e-8 * 2.0 ** np.arange(0, 28), np.linspace(1.0, default_k_cutoff(sigma), 200)]))
    k, w = composite_gauss_legendre(edges, 16)
    r = np.array([0.05, 0.3, 1.0, 2.5])
    transform = (w * k**2 * smeared_power_law_fourier(k, sigma, p)) @ np.sinc(np.outer(k, r) / np.pi) / (2 * np.pi**2)
    assert np.abs(transform / smeared_power_law(r, sigma, p) - 1).max() < 1e-10
    if p > 3:
        s, ws = composite_gauss_legendre(np.concatenate([np.linspace(0, 10 * sigma, 41), [20.0, 100.0, 1e3, 1e4]]), 24)
        integral = 4 * np.pi * np.sum(ws * s**2 * smeared_power_law(s, sigma, p))
        integral += 4 * np.pi * 1e4 ** (3 - p) / (p - 3)  # φ = s^−p beyond 1e4 Å
        zero = smeared_power_law_fourier_zero(sigma, p)
        assert zero == pytest.approx(integral, rel=1e-10)
        # φ̂(k) − φ̂(0) ∝ k^(p−3) for p < 5 (the |x|^−p tail), so a tiny k
        assert zero == pytest.approx(float(smeared_power_law_fourier(1e-10, sigma, p)), rel=1e-9)


def test_hankel_transform_against_quadrature():
    """I_nl(k) = ∫ R̃_n j_l(kr) r² dr (analytic 1F1) against Gauss-Legendre."""
    basis = GtoReference(3.0, 5)
    lmax = 4
    k = np.array([0.0, 0.4, 2.0, 7.5, 20.0])
    r, w = composite_gauss_legendre(np.linspace(0.0, basis.extent(), 400), 16)
    radial = basis(r) * (w * r**2)[:, None]  # (R, N)
    analytic = hankel_radial(basis, k, lmax)
    for l in range(lmax + 1):
        quadrature = np.stack([scipy.special.spherical_jn(l, kk * r) @ radial for kk in k])
        assert np.abs(analytic[:, l, :] - quadrature).max() < 1e-12 * np.abs(analytic).max()


def test_single_source_kernel_against_nested_quadrature():
    """P_nl(d) of the Gaussian superposition (what the image sum uses) against
    the nested Legendre/radial quadrature (p = 6, also at d = 0) and the
    k-space route (p = 1); the centre's own ⟨n00|φ_σ⟩ is Y_00 P_n0(0)."""
    rc, n_max, lmax, sigma = 2.0, 3, 3, 0.3
    basis = GtoReference(rc, n_max)
    d = np.array([0.0, 1.3, 4.5])
    nested = nested_radial(d, cutoff=rc, sigma=sigma, max_radial=n_max, max_angular=lmax, p=6, basis=basis)
    exact = exact_radial(d, basis, sigma, 6, lmax)
    assert np.abs(exact - nested).max() < 1e-12 * np.abs(nested).max()
    assert np.allclose(self_projection(basis, sigma, 6), exact[0, 0] / math.sqrt(4 * np.pi), rtol=1e-12, atol=0)

    d = np.linspace(0.0, 8.0, 17)
    coulomb = kspace_radial_coulomb(d, cutoff=rc, sigma=sigma, max_radial=n_max, max_angular=lmax, basis=basis)
    assert np.abs(exact_radial(d, basis, sigma, 1, lmax) - coulomb).max() < 1e-12 * np.abs(coulomb).max()

    # beyond its switch the kernel is the far-field series: still the exact P_nl
    kernel = SingleSourceRadial(basis, sigma, 6, lmax)
    d = kernel.switch * np.array([0.9, 1.0, 1.1, 1.7, 3.0])
    exact = exact_radial(d, basis, sigma, 6, lmax)
    error = np.abs(kernel(d) - exact) / np.abs(exact).max(axis=2, keepdims=True)
    assert error.max() < 1e-13


@pytest.mark.parametrize("p", [1, 2, 3, 6])
def test_kspace_single_source_against_real_space(p):
    """(2/π) ∫ k² φ̂(k) I_nl(k) j_l(kd) dk, the k-space form of one source's
    coefficients (the integral the lattice sum samples), against P_nl(d) in
    real space: ties φ̂^(p) and I_nl together with the conventions of
    ⟨n l m|φ_σ(· − r)⟩."""
    rc, n_max, lmax, sigma = 2.0, 3, 3, 0.4
    basis = GtoReference(rc, n_max)
    edges = np.unique(np.concatenate([[0.0], 1e-8 * 2.0 ** np.arange(0, 28), np.linspace(1.0, default_k_cutoff(sigma), 300)]))
    k, w = composite_gauss_legendre(edges, 16)
    weight = w * k**2 * smeared_power_law_fourier(k, sigma, p) * 2 / np.pi
    radial = hankel_radial(basis, k, lmax)  # (K, L+1, N)
    d = np.array([0.7, 2.0, 5.0])
    real = exact_radial(d, basis, sigma, p, lmax)
    for l in range(lmax + 1):
        kspace = np.stack([(weight * scipy.special.spherical_jn(l, k * x)) @ radial[:, l, :] for x in d])
        assert np.abs(kspace - real[:, l, :]).max() < 1e-10 * np.abs(real).max()


# -- Madelung constants ---------------------------------------------------------------
ROCK_SALT = 5.64  # Å, NaCl conventional cubic cell
CAESIUM_CHLORIDE = 4.12  # Å
MADELUNG = {"NaCl": 1.747564594633182, "CsCl": 1.762674773070991}  # per nearest-neighbour distance


def _crystal(name: str):
    """(positions, types, cell, charges by type, nearest-neighbour distance)."""
    if name == "NaCl":
        fcc = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])
        positions = np.concatenate([fcc, fcc + [0.5, 0, 0]]) * ROCK_SALT
        return positions, [11] * 4 + [17] * 4, ROCK_SALT * np.eye(3), {11: 1.0, 17: -1.0}, ROCK_SALT / 2
    positions = np.array([[0.0, 0.0, 0.0], [0.5, 0.5, 0.5]]) * CAESIUM_CHLORIDE
    return positions, [55, 17], CAESIUM_CHLORIDE * np.eye(3), {55: 1.0, 17: -1.0}, CAESIUM_CHLORIDE * math.sqrt(3) / 2


@pytest.mark.parametrize("center_atom_weight", [1.0, 0.0])
@pytest.mark.parametrize("name", ["NaCl", "CsCl"])
def test_madelung_constant(name, center_atom_weight):
    """The potential of the other ions at an ion site, −q_i M/r0, from the l = 0
    coefficients with charges q = ±1 (p = 1).

    Why it is exact up to exponentially small terms (so the tolerance can be
    1e−12 instead of the ~1e−4 of a small-width expansion):

    - V_i = Σ_a q_a V_i^a. Each channel's neutralising background is −n_a, and
      Σ_a q_a n_a = 0 for a neutral cell, so the backgrounds cancel and
      V_i(x) = Σ_j q_j (g_σ * ψ)(x − r_ji), ψ the zero-mean periodic Coulomb
      Green's function (tin-foil Ewald, the standard Madelung sum).
    - g_σ * ψ = Σ_L φ_σ(· + L) + [background part + 2πσ²/Ω]: the Gaussian acts
      on the background's r² term as exp(σ²∇²/2), adding only the constant
      2πσ²/Ω (the ξ of the docs), and Σ_j q_j 2πσ²/Ω = 0. Every neighbour's
      φ_σ differs from 1/r by erfc(r/√2σ)/r ≈ erfc(7) here.
    - So V_i(x) = w q_i φ_σ(x) + U_i(x) with U_i the potential of the point
      charges other than i, harmonic for |x| < r0, U_i(0) = −q_i M/r0 (the w
      comes from the k-sum's q_i φ_σ and the (w − 1) centre term).
    - Mean-value property: the spherical average of U_i over any sphere
      inside r0 is U_i(0), hence ⟨n00|U_i⟩ = U_i(0) ⟨n00|1⟩ with
      ⟨n00|1⟩ = √(4π) ∫ R̃_n r² dr, for every n. What breaks it is the basis
      reaching the neighbours' Gaussians, ~exp(−r0²/2(σ² + σ_n²)) times a
      prefactor of ~5: with σ = 0.2 Å and σ_n = 0.25 Å (r_c = 0.5, n_max = 2)
      e^−39 for NaCl, below round-off (measured 1e−14). Observed: σ_n = 0.3 Å
      gives 4e−13 (e^−31), σ = 0.3 Å and σ_n = 0.3 Å 1.3e−9 (e^−22).

    The cubic site symmetry (O_h) also makes every l = 1 and l = 2 coefficient
    vanish, channel by channel.
    """
    positions, types, cell, charge, r0 = _crystal(name)
    species = sorted(charge)
    sigma, rc, n_max = 0.2, 0.5, 2
    coefficients = periodic_potential_reference(positions, types, cell, species=species, cutoff=rc, max_radial=n_max,
                                                max_angular=2, gaussian_width=sigma,
                                                center_atom_weight=center_atom_weight)
    basis = GtoReference(rc, n_max)
    q = np.array([charge[z] for z in species])
    q_i = np.array([charge[z] for z in types])
    total = np.einsum("a,ianm->inm", q, coefficients)  # (centre, n, lm)
    own = center_atom_weight * q_i[:, None] * self_projection(basis, sigma, 1)[None, :]
    site = (total[:, :, 0] - own) / (math.sqrt(4 * np.pi) * basis.moments(2))[None, :]
    expected = -q_i[:, None] * MADELUNG[name] / r0
    assert np.abs(site / expected - 1).max() < 1e-12
    # energy per ion pair, ½ Σ_i q_i V_i / (N/2) = −M/r0 (× 14.399645 eV·Å in eV)
    energy = np.sum(q_i * site[:, 0]) / len(types)
    assert energy == pytest.approx(-MADELUNG[name] / r0, rel=1e-12)
    assert np.abs(coefficients[..., 1:9]).max() < 1e-14 * np.abs(coefficients[..., 0]).max()


# -- p > 3: reciprocal-space sum = real-space lattice sum --------------------------------
@pytest.mark.parametrize("case", ["cubic p=6", "triclinic p=6", "triclinic p=4"])
def test_kspace_sum_equals_image_sum(case):
    """For p > 3 the k-sum with its k = 0 term is the absolutely convergent
    lattice sum of φ_σ^(p): compare with the real-space image sum (smooth
    window + continuum tail), every (a, n, l, m), odd l included (the i^l of
    T_nlm against Y_lm(r̂) directly)."""
    shape, p = case.split()
    p = int(p[2:])
    if shape == "cubic":
        positions, types, cell, radius = CUBIC_POSITIONS, CUBIC_TYPES, CUBIC, 36.0
    else:
        positions, types, cell, radius = TRICLINIC_POSITIONS, TRICLINIC_TYPES, TRICLINIC, 40.0
    kspace = periodic_potential_reference(positions, types, cell, potential_exponent=p, **SMALL)
    images = image_sum_reference(positions, types, cell, potential_exponent=p, radius=radius, **SMALL)
    assert _relative(kspace, images) < 1e-11


def test_image_sum_radius_too_small():
    with pytest.raises(ValueError, match="radius"):
        image_sum_reference(CUBIC_POSITIONS, CUBIC_TYPES, CUBIC, potential_exponent=6, radius=10.0, **SMALL)


# -- invariances -------------------------------------------------------------------
@pytest.mark.parametrize("p", [1, 6])
def test_invariances(p):
    """Translating every atom, moving one atom by a lattice vector, describing
    the same lattice by other basis vectors, permuting the atoms, selecting
    centres, and doubling the cell (2×1×1, each atom's copy is the same
    environment) leave every coefficient unchanged."""
    kw = dict(potential_exponent=p, center_atom_weight=0.7, **SMALL)
    positions, types, cell = TRICLINIC_POSITIONS, TRICLINIC_TYPES, TRICLINIC
    reference = periodic_potential_reference(positions, types, cell, **kw)
    scale = np.abs(reference).max()

    shifted = positions + np.array([0.37, -1.21, 2.05])
    shifted[1] += 2 * cell[0] - cell[2]
    assert np.abs(periodic_potential_reference(shifted, types, cell, **kw) - reference).max() < 1e-12 * scale

    sheared = np.array([cell[0], cell[1] + cell[0], cell[2] - 2 * cell[1]])  # unimodular change of basis
    assert np.abs(periodic_potential_reference(positions, types, sheared, **kw) - reference).max() < 1e-12 * scale

    order = [2, 0, 1]
    permuted = periodic_potential_reference(positions[order], [types[i] for i in order], cell, **kw)
    assert np.abs(permuted - reference[order]).max() < 1e-12 * scale
    some = periodic_potential_reference(positions, types, cell, centers=[2, 0], **kw)
    assert np.abs(some - reference[[2, 0]]).max() < 1e-12 * scale

    double = np.array([2 * cell[0], cell[1], cell[2]])
    supercell = periodic_potential_reference(np.concatenate([positions, positions + cell[0]]), types * 2, double, **kw)
    assert np.abs(supercell - np.concatenate([reference, reference])).max() < 1e-12 * scale


def test_k_cutoff_is_converged():
    """The default k cut-off sqrt(80)/σ leaves nothing out: 1.3 times more
    changes no coefficient beyond round-off."""
    for p in (1, 6):
        kw = dict(potential_exponent=p, **SMALL)
        default = periodic_potential_reference(TRICLINIC_POSITIONS, TRICLINIC_TYPES, TRICLINIC, **kw)
        larger = periodic_potential_reference(TRICLINIC_POSITIONS, TRICLINIC_TYPES, TRICLINIC,
                                              k_cutoff=1.3 * default_k_cutoff(SMALL["gaussian_width"]), **kw)
        assert _relative(default, larger) < 1e-13


# -- a molecule in a growing box (p = 1) ------------------------------------------------
WATER = np.array([[0.0, 0.0, 0.0], [0.7572, 0.5858, 0.0], [-0.7572, 0.5858, 0.0]])
WATER_TYPES = [8, 1, 1]


def _isolated_water(basis: GtoReference, rc: float, n_max: int, lmax: int, sigma: float) -> np.ndarray:
    """Σ_j Y_lm(r̂_ji) P_nl(d_ij) (+ Y_00 P_n0(0) for j = i), P_nl by the k-space
    integral of tests/_potential_reference.py: the finite molecule."""
    species = [1, 8]
    ls = np.repeat(np.arange(lmax + 1), 2 * np.arange(lmax + 1) + 1)
    out = np.zeros((3, 2, n_max, (lmax + 1) ** 2))
    for i in range(3):
        for j in range(3):
            r = WATER[j] - WATER[i]
            d = float(np.linalg.norm(r))
            a = species.index(WATER_TYPES[j])
            radial = kspace_radial_coulomb([d], cutoff=rc, sigma=sigma, max_radial=n_max, max_angular=lmax, basis=basis)[0]
            if d == 0.0:
                out[i, a, :, 0] += radial[0] / math.sqrt(4 * np.pi)
            else:
                out[i, a] += radial[ls, :].T * real_spherical_harmonics(r, lmax)[0][None, :]
    return out


def _box_correction(basis: GtoReference, box: float, sigma: float, n_max: int, lmax: int) -> np.ndarray:
    """docs/conventions.md, "Relation to featomic": images and background of each
    atom j add ξ + (2π/3Ω)|x − r_ji|² (ξ = −2.837297/b + 2πσ²/Ω) to V_i^a; its
    coefficients: l = 0 from ⟨n00|1⟩, ⟨n00||x|²⟩, l = 1 from
    ⟨n1m|x·r⟩ = |r| (4π/3) Y_1m(r̂) ∫ R̃_n s³ ds."""
    omega = box**3
    xi = -2.837297 / box + 2 * np.pi * sigma**2 / omega
    one, square, cube = math.sqrt(4 * np.pi) * basis.moments(2), math.sqrt(4 * np.pi) * basis.moments(4), basis.moments(3)
    out = np.zeros((3, 2, n_max, (lmax + 1) ** 2))
    for i in range(3):
        for j in range(3):
            a = [1, 8].index(WATER_TYPES[j])
            r = WATER[j] - WATER[i]
            d = float(np.linalg.norm(r))
            out[i, a, :, 0] += xi * one + 2 * np.pi / (3 * omega) * (square + d**2 * one)
            if d > 0:
                y1 = real_spherical_harmonics(r, 1)[0, 1:4]
                out[i, a, :, 1:4] += -4 * np.pi / (3 * omega) * d * (4 * np.pi / 3) * cube[:, None] * y1[None, :]
    return out


def test_molecule_in_growing_box():
    """Water in cubic boxes of side 12 and 18 Å (p = 1): the l ≥ 2
    coefficients approach the isolated molecule's like b^−5 (the images'
    quadrupole and beyond; a cubic box has no 1/Ω term at l = 2), and so do
    l = 0, 1 once the docs' constant + |x − r_ji|² term of the images and
    background is taken off. The measured ratio of the differences is
    7.6 = 1.5^5."""
    rc, n_max, lmax, sigma = 2.0, 3, 3, 0.4
    basis = GtoReference(rc, n_max)
    isolated = _isolated_water(basis, rc, n_max, lmax, sigma)
    high, low = [], []
    for box in (12.0, 18.0):
        # an arbitrary placement in the box: the result cannot depend on it
        periodic = periodic_potential_reference(WATER + np.array([0.3, 0.45, 0.6]) * box, WATER_TYPES, box * np.eye(3),
                                                species=[1, 8], cutoff=rc, max_radial=n_max, max_angular=lmax,
                                                gaussian_width=sigma)
        difference = periodic - isolated
        high.append(np.abs(difference[..., 4:]).max())
        low.append(np.abs((difference - _box_correction(basis, box, sigma, n_max, lmax))[..., :4]).max())
    expected = 1.5**5
    assert high[1] < 1e-3 * np.abs(isolated[..., 4:]).max()
    assert 0.8 * expected < high[0] / high[1] < 1.2 * expected
    assert 0.8 * expected < low[0] / low[1] < 1.2 * expected
