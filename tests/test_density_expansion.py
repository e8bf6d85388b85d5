"""⟨a n l m|ρ_i⟩ and ρ⊗ρ (docs/conventions.md, "Atom-centred density",
"Density coefficients" and "Invariants") against independent references.

- brute-force 3-D quadrature of the smeared density on a product grid;
- a Python reference summing f_c(d) Y_lm(r̂) I_nl(d) over brute-force
  neighbour images, with I_nl from adaptive scipy quadrature
  (tests/_density_reference.py, which does not call mslode);
- symmetries (rotation, translation, permutation, supercells, big boxes);
- featomic's SphericalExpansion / SoapPowerSpectrum with matched hypers;
- input errors, pickling, fixed species, thread-count independence.
"""

import json
import os
import pickle
import subprocess
import sys
import textwrap

import ase
import ase.build
import numpy as np
import pytest
import scipy.integrate
import scipy.spatial.transform

import mslode
from _featomic import featomic_density_hypers, featomic_density_ratio
from _density_reference import (
    GtoReference,
    brute_force_neighbours,
    density_coefficients,
    power_spectrum_full,
    radial_integrals,
    real_spherical_harmonics,
    smooth_cutoff,
    spline_error_bound,
    _scaled_spherical_in,
)


def assert_within(got, expected, bound, label=""):
    """|got - expected| <= bound elementwise (a zero bound asks for equality)."""
    excess = np.abs(got - expected) - bound
    worst = np.unravel_index(np.argmax(excess), excess.shape)
    assert excess[worst] <= 0.0, (f"{label}: |error| {np.abs(got - expected)[worst]:.3g} > "
                                  f"{bound[worst]:.3g} allowed at index {worst}")


# -- the references themselves ---------------------------------------------
def test_reference_harmonics_convention():
    """Y_1^(-1), Y_1^0, Y_1^1 = √(3/4π) (y, z, x); Y_2^(-2) = ½√(15/π) xy;
    orthonormal on a product quadrature grid."""
    rng = np.random.default_rng(0)
    v = rng.normal(size=(7, 3))
    u = v / np.linalg.norm(v, axis=1)[:, None]
    y = real_spherical_harmonics(v, 3)
    np.testing.assert_allclose(y[:, 1:4], np.sqrt(3 / (4 * np.pi)) * u[:, [1, 2, 0]], atol=1e-14)
    np.testing.assert_allclose(y[:, 4], 0.5 * np.sqrt(15 / np.pi) * u[:, 0] * u[:, 1], atol=1e-14)
    ct, wt = np.polynomial.legendre.leggauss(12)
    phi = np.arange(24) * 2 * np.pi / 24
    st = np.sqrt(1 - ct**2)
    dirs = np.stack([np.outer(st, np.cos(phi)), np.outer(st, np.sin(phi)), np.outer(ct, np.ones(24))], -1)
    w = np.outer(wt, np.full(24, 2 * np.pi / 24)).ravel()
    Y = real_spherical_harmonics(dirs.reshape(-1, 3), 4)
    np.testing.assert_allclose(Y.T @ (w[:, None] * Y), np.eye(25), atol=1e-13)


def test_reference_basis_is_orthonormal():
    basis = GtoReference(4.0, 6)
    gram = np.array([[scipy.integrate.quad(lambda r: basis(np.array([r]))[0, n] * basis(np.array([r]))[0, k] * r * r,
                                           0, np.inf, epsabs=1e-14)[0] for k in range(6)] for n in range(6)])
    np.testing.assert_allclose(gram, np.eye(6), atol=1e-11)


def test_reference_radial_integrals_against_scalar_quad():
    """quad_vec over all distances = scipy.quad one (n, l, d) at a time."""
    basis = GtoReference(4.0, 5)
    sigma = 0.3
    d = np.array([0.0, 0.4, 2.1, 3.9])
    vec = radial_integrals(d, basis, sigma, 4)
    pref = (2 * np.pi * sigma**2) ** -1.5 * 4 * np.pi
    for k, dk in enumerate(d):
        for l in (0, 1, 4):
            for n in (0, 2, 4):
                def f(r):
                    x = r * dk / sigma**2
                    return (basis(np.array([r]))[0, n] * r * r * pref * np.exp(-((r - dk) ** 2) / (2 * sigma**2))
                            * _scaled_spherical_in(l, np.array([x]))[0])
                value = scipy.integrate.quad(f, 0, dk + 14 * sigma, points=[dk] if dk > 0 else None,
                                             epsabs=1e-15, epsrel=1e-13, limit=200)[0]
                assert vec[k, l, n] == pytest.approx(value, abs=1e-13)
    # at d = 0 only l = 0 survives
    assert np.all(vec[0, 1:] == 0.0)


# -- 1. brute-force 3-D quadrature of the density --------------------------
def _product_grid(n_r, n_theta, n_phi, r_max):
    x, wx = np.polynomial.legendre.leggauss(n_r)
    r, wr = 0.5 * r_max * (x + 1), 0.5 * r_max * wx
    ct, wt = np.polynomial.legendre.leggauss(n_theta)
    phi = (np.arange(n_phi) + 0.5) * 2 * np.pi / n_phi
    st = np.sqrt(1 - ct**2)
    dirs = np.stack([np.outer(st, np.cos(phi)), np.outer(st, np.sin(phi)), np.outer(ct, np.ones(n_phi))], -1)
    w_omega = np.outer(wt, np.full(n_phi, 2 * np.pi / n_phi)).ravel()
    return r, wr, dirs.reshape(-1, 3), w_omega


def _project_density(positions, weights, channels, n_channels, sigma, basis, max_angular, grid):
    """∫ d³x R̃_n(|x|) Y_lm(x̂) Σ_j w_j g_σ(x - r_j), with the density of
    docs/conventions.md, "Atom-centred density" (unit-normalised Gaussians)
    evaluated point by point on the grid."""
    r, wr, dirs, w_omega = grid
    Y = real_spherical_harmonics(dirs, max_angular)
    R = basis(r)
    x = r[:, None, None] * dirs[None]
    out = np.zeros((n_channels, basis.max_radial, (max_angular + 1) ** 2))
    for p, w, a in zip(positions, weights, channels):
        density = w * (2 * np.pi * sigma**2) ** -1.5 * np.exp(-((x - p) ** 2).sum(-1) / (2 * sigma**2))
        out[a] += np.einsum("r,rn,ro,o,ok->nk", wr * r**2, R, density, w_omega, Y, optimize=True)
    return out


@pytest.mark.parametrize("center_atom_weight", [0.6, 0.0])
def test_coefficients_against_3d_quadrature(center_atom_weight):
    """σ = 0.5 Å so that the product grid converges; neighbours at 1.1, 2.0 Å
    (f_c = 1) and 2.8, 3.3 Å, inside the cosine switch [2.5, 3.5] Å."""
    cutoff, sigma, N, L, width = 3.5, 0.5, 6, 4, 1.0
    rng = np.random.default_rng(3)
    dirs = rng.normal(size=(4, 3))
    dirs /= np.linalg.norm(dirs, axis=1)[:, None]
    distances = np.array([1.1, 2.0, 2.8, 3.3])
    positions = np.vstack([[0, 0, 0], dirs * distances[:, None]])
    frame = ase.Atoms("OHHOH", positions=positions)
    fc = smooth_cutoff(distances, cutoff, width)
    assert 0.0 < fc[3] < fc[2] < 1.0
    weights = np.concatenate([[center_atom_weight], fc])
    channels = [1, 0, 0, 1, 0]  # species (1, 8)

    basis = GtoReference(cutoff, N)
    # the density is < 1e-16 of its peak beyond r = 3.3 + 8.6 σ < 8 Å
    coarse = _project_density(positions, weights, channels, 2, sigma, basis, L, _product_grid(56, 30, 60, 8.5))
    fine = _project_density(positions, weights, channels, 2, sigma, basis, L, _product_grid(84, 44, 88, 9.5))
    quadrature_error = np.abs(coarse - fine).max()
    assert quadrature_error < 1e-12  # the reference is converged ...

    rho = mslode.DensityExpansion(cutoff=cutoff, gaussian_width=sigma, max_radial=N, max_angular=L,
                                  cutoff_width=width, center_atom_weight=center_atom_weight,
                                  spline_accuracy=1e-11)
    got = rho.compute(frame, center_species=[8]).values[0]
    # ... and mslode's error is the spline's: each I_nl(d) within 1e-11 of
    # max_[0, r_c] |I_nl| (DensityExpansion.spline_accuracy), summed over atoms
    bound = spline_error_bound(frame, cutoff=cutoff, gaussian_width=sigma, max_radial=N, max_angular=L,
                               cutoff_width=width, center_atom_weight=center_atom_weight, species=[1, 8],
                               accuracy=1e-11, centers=[0], reference_error=0.0)[0]
    assert_within(got, fine, 10 * quadrature_error + bound)
    # all l and n are populated (the comparison is not vacuous)
    for l in range(L + 1):
        assert np.abs(fine[..., l * l:(l + 1) ** 2]).max() > 1e-3


def test_center_atom_weight_is_the_l0_gaussian_at_the_centre():
    frame = ase.Atoms("OH2", positions=[[0, 0, 0], [0.95, 0.1, 0.0], [-0.2, 0.9, 0.3]])
    kw = dict(cutoff=4.0, gaussian_width=0.3, max_radial=6, max_angular=3)
    a = mslode.DensityExpansion(center_atom_weight=1.0, **kw).compute(frame)
    b = mslode.DensityExpansion(center_atom_weight=-0.4, **kw).compute(frame)
    delta = a.values - b.values
    basis = GtoReference(4.0, 6)
    own = radial_integrals(np.zeros(1), basis, 0.3, 0)[0, 0] / np.sqrt(4 * np.pi)
    for c, z in enumerate(a.center_species):
        expected = np.zeros_like(delta[c])
        expected[list(a.species).index(z), :, 0] = 1.4 * own
        np.testing.assert_allclose(delta[c], expected, atol=1e-9)


# -- 2. the whole coefficient set against the Python reference -------------
HYPERS = dict(cutoff=4.0, gaussian_width=0.3, max_radial=6, max_angular=4, cutoff_width=0.5,
              center_atom_weight=0.7)


def _structures():
    rng = np.random.default_rng(11)
    molecule = ase.Atoms("CH3OHN", positions=[[0, 0, 0], [1.05, 0.2, -0.1], [-0.4, 1.0, 0.2],
                                              [-0.3, -0.5, 0.9], [-0.8, -0.9, -1.2], [-1.6, -0.4, -1.8],
                                              [2.6, 1.9, 1.2]])
    # triclinic, cut-off 4 Å > half of every face distance (~1.5 Å): many
    # images of each neighbour, and of the centre itself
    cell = np.array([[3.2, 0.0, 0.0], [0.8, 3.0, 0.0], [-0.5, 0.6, 3.4]])
    triclinic = ase.Atoms("SiO2", scaled_positions=[[0.1, 0.2, 0.3], [0.55, 0.4, 0.7], [0.9, 0.85, 0.05]],
                          cell=cell, pbc=True)
    triclinic.positions[2] += cell[0] - 2 * cell[2]  # an atom far outside the cell
    slab = ase.Atoms("Li4H", positions=rng.uniform(0, 3, (5, 3)) * [1, 1, 2.0],
                     cell=[[3.1, 0, 0], [1.0, 2.9, 0], [0, 0, 0]], pbc=[True, True, False])
    single = ase.Atoms("Cu", positions=[[0.3, 0.2, 0.1]], cell=np.eye(3) * 2.5, pbc=True)
    return {"molecule": molecule, "triclinic": triclinic, "slab": slab, "single_atom_cube": single}


STRUCTURES = _structures()
_REFERENCE_CACHE = {}


def reference(name):
    if name not in _REFERENCE_CACHE:
        frame = STRUCTURES[name]
        species = sorted(set(frame.numbers.tolist()))
        _REFERENCE_CACHE[name] = density_coefficients(frame, species=species, **HYPERS)
    return _REFERENCE_CACHE[name]


@pytest.mark.parametrize("name", list(STRUCTURES))
def test_coefficients_against_reference(name):
    frame = STRUCTURES[name]
    expected = reference(name)
    rho = mslode.DensityExpansion(spline_accuracy=1e-10, **HYPERS)
    got = rho.compute(frame)
    assert got.values.shape == expected.shape
    np.testing.assert_array_equal(got.species, sorted(set(frame.numbers.tolist())))
    np.testing.assert_array_equal(got.center, np.arange(len(frame)))
    np.testing.assert_array_equal(got.center_species, frame.numbers)
    # mslode: each I_nl(d) within 1e-10 of max_[0, r_c] |I_nl|, summed over
    # the neighbour images; reference: quad_vec to 1e-14 absolute
    bound = spline_error_bound(frame, species=sorted(set(frame.numbers.tolist())), accuracy=1e-10, **HYPERS)
    assert_within(got.values, expected, bound, name)

    # the cases exercise what they claim to
    cutoff = HYPERS["cutoff"]
    images = [brute_force_neighbours(frame.positions, frame.cell[:], frame.pbc, i, cutoff) for i in range(len(frame))]
    d = np.concatenate([np.linalg.norm(v, axis=1) for _, v in images])
    assert np.any((d > cutoff - HYPERS["cutoff_width"]) & (d < cutoff)), "no neighbour in the switch"
    if name in ("triclinic", "single_atom_cube"):
        assert any(np.any(j == i) for i, (j, _) in enumerate(images)), "no self image"
        assert any(np.bincount(j).max() > 1 for j, _ in images), "no repeated neighbour"


@pytest.mark.parametrize("hypers", [
    # a single radial function, l = 0 only, switch over the whole cut-off
    dict(cutoff=3.0, gaussian_width=0.3, max_radial=1, max_angular=0, cutoff_width=3.0, center_atom_weight=1.0),
    # hard cut-off, wide Gaussians, no centre
    dict(cutoff=2.0, gaussian_width=1.2, max_radial=4, max_angular=6, cutoff_width=0.0, center_atom_weight=0.0),
    # narrow Gaussians, many radial functions, heavier centre
    dict(cutoff=5.0, gaussian_width=0.1, max_radial=10, max_angular=8, cutoff_width=1.0, center_atom_weight=2.0),
    # the largest l supported
    dict(cutoff=3.5, gaussian_width=0.25, max_radial=4, max_angular=12, cutoff_width=0.5, center_atom_weight=1.0),
], ids=["n1-l0-w=rc", "hard-wide", "narrow-n10-l8", "l12"])
def test_coefficients_against_reference_other_hypers(hypers):
    frame = STRUCTURES["molecule"]
    expected = density_coefficients(frame, species=[1, 6, 7, 8], **hypers)
    got = mslode.DensityExpansion(spline_accuracy=1e-10, **hypers).compute(frame).values
    assert_within(got, expected, spline_error_bound(frame, species=[1, 6, 7, 8], accuracy=1e-10, **hypers))


def test_default_spline_accuracy_is_close():
    """The default table is the documented 1e-8 of each radial integral."""
    frame = STRUCTURES["triclinic"]
    got = mslode.DensityExpansion(**HYPERS).compute(frame).values
    assert_within(got, reference("triclinic"), spline_error_bound(frame, species=[8, 14], accuracy=1e-8, **HYPERS))


def test_center_species_selects_rows():
    frame = STRUCTURES["molecule"]
    rho = mslode.DensityExpansion(**HYPERS)
    full = rho.compute(frame)
    some = rho.compute([frame, frame], center_species=[8, 7])
    keep = np.flatnonzero(np.isin(frame.numbers, [8, 7]))
    np.testing.assert_array_equal(some.structure, [0] * len(keep) + [1] * len(keep))
    np.testing.assert_array_equal(some.center, np.concatenate([keep, keep]))
    np.testing.assert_array_equal(some.values, np.concatenate([full.values[keep]] * 2))


# -- ρ⊗ρ against the reference power spectrum ------------------------------
@pytest.mark.parametrize("name", ["molecule", "triclinic"])
def test_invariants_against_reference(name):
    frame = STRUCTURES[name]
    rho = mslode.DensityExpansion(spline_accuracy=1e-10, **HYPERS)
    ps = mslode.Invariants(rho, rho).compute(frame)
    assert ps.symmetric
    full = power_spectrum_full(reference(name))  # (i, a1, n1, a2, n2, l)
    species = sorted(set(frame.numbers.tolist()))
    S, N, L = len(species), HYPERS["max_radial"], HYPERS["max_angular"]
    # exactly the pairs (a1, n1) <= (a2, n2), each with every l
    expected_labels = [(species[a1], n1, species[a2], n2, l)
                       for a1 in range(S) for n1 in range(N) for a2 in range(S) for n2 in range(N)
                       if (a1, n1) <= (a2, n2) for l in range(L + 1)]
    assert [tuple(x) for x in ps.labels.tolist()] == expected_labels
    index = {z: a for a, z in enumerate(species)}
    a1 = np.array([index[z] for z in ps.labels[:, 0]])
    a2 = np.array([index[z] for z in ps.labels[:, 2]])
    n1, n2, l = ps.labels[:, 1], ps.labels[:, 3], ps.labels[:, 4]
    scale = np.where((a1 == a2) & (n1 == n2), 1.0, np.sqrt(2.0))
    expected = full[:, a1, n1, a2, n2, l] * scale
    np.testing.assert_allclose(ps.values, expected, rtol=0, atol=1e-8 * np.abs(expected).max())
    # linear kernel = the full set's
    flat = full.reshape(len(frame), -1)
    np.testing.assert_allclose(ps.values @ ps.values.T, flat @ flat.T, rtol=1e-8)


def test_invariants_of_two_expansions():
    """Non-symmetric products of two different expansions: all (a1 n1; a2 n2; l),
    (2l+1)^(-1/2) Σ_m c^F c^G, no √2."""
    frame = STRUCTURES["triclinic"]
    f = mslode.DensityExpansion(**HYPERS)
    g = mslode.DensityExpansion(**{**HYPERS, "gaussian_width": 0.6, "max_radial": 3, "species": [1, 8, 14]})
    inv = mslode.Invariants(f, g).compute(frame)
    assert not inv.symmetric
    cf, cg = f.compute(frame), g.compute(frame)
    L = HYPERS["max_angular"]
    assert len(inv.labels) == len(cf.species) * 6 * len(cg.species) * 3 * (L + 1)
    for k, (z1, n1, z2, n2, l) in enumerate(inv.labels):
        a1 = list(cf.species).index(z1)
        a2 = list(cg.species).index(z2)
        expected = (cf.values[:, a1, n1, l * l:(l + 1) ** 2] * cg.values[:, a2, n2, l * l:(l + 1) ** 2]).sum(-1)
        np.testing.assert_allclose(inv.values[:, k], expected / np.sqrt(2 * l + 1), rtol=1e-13, atol=1e-15)
    with pytest.raises(ValueError, match="symmetric"):
        mslode.Invariants(f, g, symmetric=True)
    # the same expansion, unsymmetrised: the full set
    full = mslode.Invariants(f, f, symmetric=False).compute(frame)
    sym = mslode.Invariants(f, f).compute(frame)
    assert full.values.shape[1] == (2 * 6) ** 2 * (L + 1)
    np.testing.assert_allclose(full.values @ full.values.T, sym.values @ sym.values.T, rtol=1e-12)


# -- 3. symmetries -------------------------------------------------------
def _random_rotation(seed):
    return scipy.spatial.transform.Rotation.random(random_state=seed).as_matrix()


def _wigner_from_harmonics(R, max_angular):
    """Real Wigner matrices D^l with Y(R r) = D^l Y(r), fitted on random points."""
    pts = np.random.default_rng(5).normal(size=(200, 3))
    Y = real_spherical_harmonics(pts, max_angular)
    YR = real_spherical_harmonics(pts @ R.T, max_angular)
    D = []
    for l in range(max_angular + 1):
        s = slice(l * l, (l + 1) ** 2)
        D.append(np.linalg.lstsq(Y[:, s], YR[:, s], rcond=None)[0].T)
    return D


@pytest.mark.parametrize("name", ["molecule", "triclinic", "slab"])
def test_invariance_and_equivariance(name):
    frame = STRUCTURES[name]
    rho = mslode.DensityExpansion(**HYPERS)
    ps = mslode.Invariants(rho, rho)
    X = ps.compute(frame).values
    c = rho.compute(frame).values
    tol = 1e-12 * np.abs(X).max()

    R = _random_rotation(1)
    rotated = frame.copy()
    rotated.positions = frame.positions @ R.T
    rotated.cell = frame.cell[:] @ R.T
    np.testing.assert_allclose(ps.compute(rotated).values, X, rtol=0, atol=tol)
    # coefficients: c_l(R·) = D^l c_l
    c_rot = rho.compute(rotated).values
    for l, D in enumerate(_wigner_from_harmonics(R, HYPERS["max_angular"])):
        s = slice(l * l, (l + 1) ** 2)
        np.testing.assert_allclose(c_rot[..., s], c[..., s] @ D.T, rtol=0, atol=1e-11)

    moved = frame.copy()
    moved.positions += np.array([3.7, -12.2, 0.45])
    np.testing.assert_allclose(ps.compute(moved).values, X, rtol=0, atol=tol)

    perm = np.random.default_rng(2).permutation(len(frame))
    permuted = frame[perm]
    np.testing.assert_allclose(ps.compute(permuted).values, X[perm], rtol=0, atol=tol)


def test_inversion_flips_odd_l():
    frame = STRUCTURES["molecule"]
    rho = mslode.DensityExpansion(**HYPERS)
    c = rho.compute(frame).values
    inverted = frame.copy()
    inverted.positions *= -1
    ci = rho.compute(inverted).values
    sign = np.concatenate([[(-1) ** l] * (2 * l + 1) for l in range(HYPERS["max_angular"] + 1)])
    np.testing.assert_allclose(ci, c * sign, rtol=0, atol=1e-13)


# -- 4. supercells -------------------------------------------------------
def _random_crystal():
    cell = np.array([[3.4, 0.1, -0.2], [0.9, 3.1, 0.3], [-0.6, 0.8, 3.6]])
    return ase.Atoms("Si2OH", scaled_positions=[[0.1, 0.1, 0.1], [0.4, 0.6, 0.2], [0.8, 0.3, 0.7], [0.3, 0.9, 0.55]],
                     cell=cell, pbc=True)


@pytest.mark.parametrize("crystal", ["NaCl", "triclinic"])
def test_supercell_gives_the_same_features(crystal):
    if crystal == "NaCl":
        primitive = ase.build.bulk("NaCl", "rocksalt", a=5.64)
        repeats = (2, 2, 2)
    else:
        primitive = _random_crystal()
        repeats = (2, 1, 3)
    supercell = primitive.repeat(repeats)
    rho = mslode.DensityExpansion(**{**HYPERS, "cutoff": 5.5})
    ps = mslode.Invariants(rho, rho)
    a = ps.compute(primitive).values
    b = ps.compute(supercell).values
    n = len(primitive)
    np.testing.assert_allclose(b, a[np.arange(len(supercell)) % n], rtol=0, atol=1e-12 * np.abs(a).max())
    ca = rho.compute(primitive).values
    cb = rho.compute(supercell).values
    np.testing.assert_allclose(cb, ca[np.arange(len(supercell)) % n], rtol=0, atol=1e-12 * np.abs(ca).max())


# -- 5. a molecule in a big periodic box -----------------------------------
@pytest.mark.parametrize("offset", [[10.0, 10.0, 10.0], [0.0, 0.0, 0.0], [19.5, 0.3, 10.0]])
def test_molecule_in_big_box_equals_finite(offset):
    """Box 20 Å > 2 r_c + molecule size: no image is within r_c. The offset
    puts the molecule in the middle, across the corner, or across a face
    (atoms at negative coordinates and beyond the box are wrapped)."""
    molecule = STRUCTURES["molecule"]
    boxed = molecule.copy()
    boxed.positions += offset
    boxed.cell = np.eye(3) * 20.0
    boxed.pbc = True
    rho = mslode.DensityExpansion(**HYPERS)
    np.testing.assert_allclose(rho.compute(boxed).values, rho.compute(molecule).values, rtol=0, atol=1e-13)


# -- 6. featomic ---------------------------------------------------------
def _featomic_frames():
    return [STRUCTURES["molecule"], STRUCTURES["triclinic"]]


@pytest.mark.parametrize("center_atom_weight", [1.0, 0.5])
def test_featomic_spherical_expansion(center_atom_weight):
    featomic = pytest.importorskip("featomic")
    frames = _featomic_frames()
    cutoff, width, sigma, N, L = 4.0, 0.5, 0.3, 6, 4
    hypers = featomic_density_hypers(cutoff, width, sigma, N, L, center_atom_weight)
    spx = featomic.SphericalExpansion(**hypers).compute(frames)
    spx = spx.keys_to_properties("neighbor_type").keys_to_samples("center_type")
    rho = mslode.DensityExpansion(cutoff=cutoff, gaussian_width=sigma, max_radial=N, max_angular=L,
                                  cutoff_width=width, center_atom_weight=center_atom_weight,
                                  spline_accuracy=1e-11)
    ours = rho.compute(frames)
    row = {(s, a): k for k, (s, a) in enumerate(zip(ours.structure, ours.center))}
    species = list(ours.species)
    alpha = featomic_density_ratio(sigma)
    # ours: each I_nl(d) within 1e-11 of max_[0, r_c] |I_nl|, summed over images;
    # featomic: analytic, allowed 1e-14 per image
    bound = np.concatenate([spline_error_bound(frame, cutoff=cutoff, gaussian_width=sigma, max_radial=N,
                                               max_angular=L, cutoff_width=width,
                                               center_atom_weight=center_atom_weight, species=species,
                                               accuracy=1e-11) for frame in frames])
    for key, block in spx.items():
        l = int(key["o3_lambda"])
        rows = [row[(int(s), int(a))] for s, a in zip(block.samples["system"], block.samples["atom"])]
        assert sorted(rows) == list(range(len(ours.values)))
        a = [species.index(int(z)) for z in block.properties["neighbor_type"]]
        n = [int(x) for x in block.properties["n"]]
        mine = ours.values[rows][:, a, n, l * l:(l + 1) ** 2].transpose(0, 2, 1)  # (sample, m, property)
        allowed = bound[rows][:, a, n, l * l:(l + 1) ** 2].transpose(0, 2, 1)
        assert_within(mine, alpha * np.asarray(block.values), allowed, f"l = {l}")


def test_featomic_power_spectrum_kernel():
    """Linear kernels K = X Xᵀ over all atoms of two structures, per l and in
    total (unchanged by any orthogonal change of radial basis).

    featomic: p = (-1)^l (2l+1)^(-1/2) Σ_m c1 c2 (the sign squares away in K);
    for neighbor_1_type < neighbor_2_type only, times √2, all (n1, n2) kept
    within each block; samples only for centres that see both types
    (keys_to_properties fills the others with zeros, which is what they are).
    ours: (2l+1)^(-1/2) Σ_m c1 c2 over (a1 n1) <= (a2 n2), off-diagonal × √2.
    Both Grams equal the full set's, so K_ours = α⁴ K_featomic with α the
    density normalisation ratio. A missing (2l+1) factor, another density
    normalisation or cut-off function would break the per-l equality."""
    featomic = pytest.importorskip("featomic")
    frames = _featomic_frames()
    cutoff, width, sigma, N, L = 4.0, 0.5, 0.3, 6, 4
    hypers = featomic_density_hypers(cutoff, width, sigma, N, L, 1.0)
    ps = featomic.SoapPowerSpectrum(**hypers).compute(frames)
    keys = set(tuple(int(v) for v in k) for k in ps.keys.values)
    assert all(k[1] <= k[2] for k in keys)  # only neighbor_1_type <= neighbor_2_type stored
    ps = ps.keys_to_properties(["neighbor_1_type", "neighbor_2_type"]).keys_to_samples("center_type")
    block = ps.block()
    order = np.lexsort((np.asarray(block.samples["atom"]), np.asarray(block.samples["system"])))
    Xf = np.asarray(block.values)[order]
    lf = np.asarray(block.properties["l"])

    rho = mslode.DensityExpansion(cutoff=cutoff, gaussian_width=sigma, max_radial=N, max_angular=L,
                                  cutoff_width=width, spline_accuracy=1e-11)
    ours = mslode.Invariants(rho, rho).compute(frames)
    X = ours.values
    assert len(X) == len(Xf) == sum(len(f) for f in frames)
    alpha4 = featomic_density_ratio(sigma) ** 4
    for l in range(L + 1):
        K = X[:, ours.labels[:, 4] == l] @ X[:, ours.labels[:, 4] == l].T
        Kf = alpha4 * Xf[:, lf == l] @ Xf[:, lf == l].T
        np.testing.assert_allclose(K, Kf, rtol=1e-9, atol=1e-10 * np.abs(K).max())
    np.testing.assert_allclose(X @ X.T, alpha4 * Xf @ Xf.T, rtol=1e-9)
    # the structures exercise the cut-off switch
    d = np.concatenate([np.linalg.norm(brute_force_neighbours(f.positions, f.cell[:], f.pbc, i, cutoff)[1], axis=1)
                        for f in frames for i in range(len(f))])
    assert np.sum((d > cutoff - width) & (d < cutoff)) >= 3


# -- 7. errors, pickling, fixed species -----------------------------------
def test_unknown_species_names_the_structure():
    rho = mslode.DensityExpansion(**HYPERS, species=[1, 8])
    water = ase.Atoms("OH2", positions=[[0, 0, 0], [0.95, 0, 0], [0, 0.95, 0]])
    co = ase.Atoms("CO", positions=[[0, 0, 0], [1.13, 0, 0]])
    with pytest.raises(ValueError, match=r"structure 1 contains species \[6\]"):
        rho.compute([water, co])
    with pytest.raises(ValueError, match=r"structure 1 contains species \[6\]"):
        mslode.Invariants(rho, rho).compute([water, co])


def test_bad_structures_raise():
    rho = mslode.DensityExpansion(**HYPERS)
    water = ase.Atoms("OH2", positions=[[0, 0, 0], [0.95, 0, 0], [0, 0.95, 0]])
    nan = water.copy()
    nan.positions[2, 1] = np.nan
    with pytest.raises(ValueError, match="structure 1: atom 2 has a non-finite position"):
        rho.compute([water, nan])
    overlap = water.copy()
    overlap.positions[2] = [0.02, 0.03, 0.0]
    with pytest.raises(ValueError, match="structure 0: atoms 0 and 2 are .* apart"):
        rho.compute(overlap)
    with pytest.raises(ValueError, match="no atoms"):
        rho.compute(ase.Atoms())
    with pytest.raises(ValueError, match="empty"):
        rho.compute([])
    with pytest.raises(TypeError):
        rho.compute(water.positions)
    thin = ase.Atoms("H", positions=[[0, 0, 0]], cell=[0.3, 3, 3], pbc=True)
    with pytest.raises(ValueError, match="too thin"):
        rho.compute(thin)
    zero = ase.Atoms("H", positions=[[0, 0, 0]], cell=[0, 3, 3], pbc=True)
    with pytest.raises(ValueError, match="zero"):
        rho.compute(zero)


@pytest.mark.parametrize("bad", [
    dict(cutoff=0.0), dict(cutoff=-1.0), dict(cutoff=np.inf), dict(cutoff=np.nan),
    dict(gaussian_width=0.0), dict(gaussian_width=-0.1),
    dict(max_radial=0), dict(max_radial=31), dict(max_radial=2.5),
    dict(max_angular=-1), dict(max_angular=13),
    dict(cutoff_width=-0.1), dict(cutoff_width=4.5), dict(cutoff_width=np.nan),
    dict(center_atom_weight=np.inf), dict(species=[]), dict(species=[1, 1]), dict(species=[0]),
    dict(spline_accuracy=0.0),
])
def test_hypers_out_of_range(bad):
    with pytest.raises(ValueError):
        mslode.DensityExpansion(**{**HYPERS, **bad})


def test_mismatched_max_angular():
    a = mslode.DensityExpansion(**HYPERS)
    b = mslode.DensityExpansion(**{**HYPERS, "max_angular": 3})
    with pytest.raises(ValueError, match="max_angular"):
        mslode.Invariants(a, b)


def test_pickle_round_trip():
    rho = mslode.DensityExpansion(**HYPERS, species=[1, 6, 7, 8])
    frames = [STRUCTURES["molecule"]]
    rho.compute(frames)  # populate the cache: it must not travel
    clone = pickle.loads(pickle.dumps(rho))
    assert clone == rho and clone.get_params() == rho.get_params()
    np.testing.assert_array_equal(clone.compute(frames).values, rho.compute(frames).values)
    ps = mslode.Invariants(rho, rho)
    ps_clone = pickle.loads(pickle.dumps(ps))
    assert ps_clone.first is ps_clone.second and ps_clone.symmetric
    a, b = ps.compute(frames), ps_clone.compute(frames)
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.labels, b.labels)


def test_fixed_species_aligns_columns():
    water = ase.Atoms("OH2", positions=[[0, 0, 0], [0.95, 0, 0], [0, 0.95, 0]])
    methane = ase.Atoms("CH4", positions=[[0, 0, 0], [0.63, 0.63, 0.63], [-0.63, -0.63, 0.63],
                                          [-0.63, 0.63, -0.63], [0.63, -0.63, -0.63]])
    fixed = mslode.DensityExpansion(**HYPERS, species=[1, 6, 8])
    free = mslode.DensityExpansion(**HYPERS)
    for frame, present in [(water, [1, 8]), (methane, [1, 6])]:
        c = fixed.compute(frame)
        np.testing.assert_array_equal(c.species, [1, 6, 8])
        absent = [1, 6, 8].index(({1, 6, 8} - set(present)).pop())
        assert np.all(c.values[:, absent] == 0.0)
        f = free.compute(frame)
        np.testing.assert_array_equal(f.species, present)
        cols = [[1, 6, 8].index(z) for z in present]
        np.testing.assert_array_equal(c.values[:, cols], f.values)
        ps = mslode.Invariants(fixed, fixed).compute(frame)
        assert ps.values.shape[1] == len(mslode.Invariants(fixed, fixed).compute(water).labels)
    lw = mslode.Invariants(fixed, fixed).compute(water).labels
    lm = mslode.Invariants(fixed, fixed).compute(methane).labels
    np.testing.assert_array_equal(lw, lm)


# -- 8. thread-count independence -----------------------------------------
def test_results_do_not_depend_on_thread_count(tmp_path):
    script = textwrap.dedent(
        """
        import sys, numpy as np, ase.build, mslode
        frames = [ase.build.bulk("NaCl", "rocksalt", a=5.64).repeat((3, 3, 2)),
                  ase.build.molecule("CH3CH2OH"), ase.build.bulk("Si", "diamond", a=5.43).repeat((2, 2, 2))]
        frames[2].rattle(0.05, seed=1)
        rho = mslode.DensityExpansion(cutoff=4.5, gaussian_width=0.3, max_radial=6, max_angular=4)
        np.save(sys.argv[1], rho.compute(frames).values)
        np.save(sys.argv[2], mslode.Invariants(rho, rho).compute(frames).values)
        """
    )
    results = {}
    for threads in ("1", "2"):
        env = dict(os.environ, OMP_NUM_THREADS=threads)
        paths = [str(tmp_path / f"c{threads}.npy"), str(tmp_path / f"p{threads}.npy")]
        subprocess.run([sys.executable, "-c", script, *paths], check=True, env=env, timeout=60)
        results[threads] = [np.load(p) for p in paths]
    for one, two in zip(results["1"], results["2"]):
        assert one.shape == two.shape and one.shape[0] == 61
        np.testing.assert_allclose(two, one, rtol=0, atol=1e-12 * np.abs(one).max())


def test_one_calculator_shared_between_python_threads():
    """The core releases the GIL and is re-entrant: concurrent calls on one
    instance (including the first one, which builds the tables) agree with
    sequential ones."""
    from concurrent.futures import ThreadPoolExecutor

    frames = [STRUCTURES[name] for name in ("molecule", "triclinic", "slab", "single_atom_cube")] * 3
    rho = mslode.DensityExpansion(**HYPERS, species=[1, 3, 6, 7, 8, 14, 29])
    ps = mslode.Invariants(rho, rho)
    with ThreadPoolExecutor(4) as pool:
        concurrent = list(pool.map(lambda f: ps.compute(f).values, frames))
    for frame, values in zip(frames, concurrent):
        np.testing.assert_array_equal(values, ps.compute(frame).values)
