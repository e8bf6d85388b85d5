"""The C++ cell list, seen through the density coefficients.

Every neighbour image inside the cut-off contributes f_c(d) Y_lm(r̂) I_nl(d)
to ⟨a n l m|ρ_i⟩, so a missing, doubled or misplaced image changes the
coefficients by far more than the spline error. The reference finds the
images by brute force over lattice translations (tests/_density_reference.py).
Here the radial integrals of the reference use a fixed Gauss-Legendre rule
(fast, so many random structures fit in the time budget); that rule is
checked against the adaptive quad_vec reference first.
"""

import functools
import os
import subprocess
import sys
import textwrap

import ase
import numpy as np
import pytest

import mslode
from _density_reference import (
    GtoReference,
    _scaled_spherical_in,
    brute_force_neighbours,
    density_coefficients,
    radial_integrals,
    real_spherical_harmonics,
    smooth_cutoff,
)

SIGMA = 0.4
MAX_RADIAL = 3
MAX_ANGULAR = 3
# the spline is tabulated to 1e-10 of each radial function's largest
# magnitude, the Gauss-Legendre reference is converged to ~1e-12 of it
# (test_fast_reference_matches_quad_vec); one missing image changes
# coefficients by ≳ f_c(d) I_nl(d) ~ 1e-3 of the largest or more (even at
# the edge of the switch, f_c > 1e-3 away from r_c by 0.01 w). Tolerances
# are TOLERANCE times the largest coefficient of the structure.
TOLERANCE = 1e-8


@functools.lru_cache(maxsize=None)
def _gauss_legendre(n_points):
    return np.polynomial.legendre.leggauss(n_points)


def fast_radial_integrals(distances, basis, sigma, max_angular, n_points=400):
    """Same integral as _density_reference.radial_integrals, on a fixed
    Gauss-Legendre grid over [0, max(d) + 14σ]."""
    distances = np.asarray(distances, dtype=np.float64)
    upper = distances.max(initial=0.0) + 14.0 * sigma
    x, w = _gauss_legendre(n_points)
    r = 0.5 * upper * (x + 1.0)
    w = 0.5 * upper * w
    radial = basis(r)  # (n_r, N)
    prefactor = (2.0 * np.pi * sigma**2) ** -1.5 * 4.0 * np.pi
    arg = r[:, None] * distances[None, :] / sigma**2
    envelope = np.exp(-((r[:, None] - distances[None, :]) ** 2) / (2.0 * sigma**2))
    out = np.empty((len(distances), max_angular + 1, basis.max_radial))
    for l in range(max_angular + 1):
        bessel = _scaled_spherical_in(l, arg.ravel()).reshape(arg.shape)
        out[:, l, :] = np.einsum("r,rd,rn->dn", w * r**2 * prefactor, envelope * bessel, radial)
    return out


def fast_reference(frame, cutoff, cutoff_width, species, center_atom_weight=1.0):
    basis = GtoReference(cutoff, MAX_RADIAL)
    lm_l = np.concatenate([[l] * (2 * l + 1) for l in range(MAX_ANGULAR + 1)])
    out = np.zeros((len(frame), len(species), MAX_RADIAL, (MAX_ANGULAR + 1) ** 2))
    centre = fast_radial_integrals(np.zeros(1), basis, SIGMA, 0)[0, 0]
    for i in range(len(frame)):
        j, vectors = brute_force_neighbours(frame.positions, frame.cell[:], frame.pbc, i, cutoff)
        d = np.linalg.norm(vectors, axis=1)
        if len(d):
            radial = fast_radial_integrals(d, basis, SIGMA, MAX_ANGULAR)[:, lm_l, :]  # (j, lm, n)
            ylm = real_spherical_harmonics(vectors, MAX_ANGULAR)
            fc = smooth_cutoff(d, cutoff, cutoff_width)
            for a, z in enumerate(species):
                mask = frame.numbers[j] == z
                out[i, a] = np.einsum("j,jkn,jk->nk", fc[mask], radial[mask], ylm[mask])
        out[i, species.index(frame.numbers[i]), :, 0] += center_atom_weight * centre / np.sqrt(4 * np.pi)
    return out


def compute(frame, cutoff, cutoff_width, species, **kw):
    rho = mslode.DensityExpansion(
        cutoff=cutoff, gaussian_width=SIGMA, max_radial=MAX_RADIAL, max_angular=MAX_ANGULAR,
        cutoff_width=cutoff_width, species=species, spline_accuracy=1e-10, **kw,
    )
    return rho.compute(frame).values


def test_fast_reference_matches_quad_vec():
    basis = GtoReference(3.0, MAX_RADIAL)
    d = np.array([0.0, 0.15, 0.7, 1.9, 2.95, 4.4])
    slow = radial_integrals(d, basis, SIGMA, MAX_ANGULAR)
    fast = fast_radial_integrals(d, basis, SIGMA, MAX_ANGULAR)
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-12 * np.abs(slow).max())


def random_structure(rng, pbc):
    """A random (possibly very oblique) cell with atoms anywhere, also far
    outside the cell along periodic directions; rejects overlapping atoms."""
    while True:
        cell = rng.uniform(-1.0, 1.0, (3, 3)) * 1.5 + np.diag(rng.uniform(1.6, 4.0, 3))
        # unimodular shear: same lattice, very oblique vectors
        if rng.uniform() < 0.5:
            cell[1] += rng.integers(-2, 3) * cell[0]
            cell[2] += rng.integers(-2, 3) * cell[1]
        heights = np.abs(np.linalg.det(cell)) / np.linalg.norm(np.cross(cell[[1, 2, 0]], cell[[2, 0, 1]]), axis=1)
        if heights.min() < 1.0:
            continue
        n_atoms = rng.integers(1, 6)
        fractional = rng.uniform(-1.5, 2.5, (n_atoms, 3))
        fractional[:, ~np.asarray(pbc)] = rng.uniform(0.0, 1.0, (n_atoms, int((~np.asarray(pbc)).sum())))
        positions = fractional @ cell
        numbers = rng.choice([1, 6, 8], n_atoms)
        frame = ase.Atoms(numbers=numbers, positions=positions, cell=cell, pbc=pbc)
        distances = []
        for i in range(n_atoms):
            _, vectors = brute_force_neighbours(positions, cell, pbc, i, 0.3)
            distances.extend(np.linalg.norm(vectors, axis=1))
        if not distances:
            return frame


PBC = [(True, True, True), (True, True, False), (False, True, True), (True, False, False),
       (False, False, True), (False, False, False)]


@pytest.mark.parametrize("seed", range(36))
def test_random_cells_against_brute_force(seed):
    rng = np.random.default_rng(1000 + seed)
    pbc = PBC[seed % len(PBC)]
    frame = random_structure(rng, pbc)
    cutoff = float(rng.uniform(1.5, 6.0))  # often larger than the cell
    cutoff_width = float(rng.uniform(0.0, 1.5))
    species = [1, 6, 8]
    expected = fast_reference(frame, cutoff, cutoff_width, species)
    got = compute(frame, cutoff, cutoff_width, species)
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE * np.abs(expected).max())


def test_reference_counts_images():
    """The brute-force reference itself: one atom in a cube of side a sees
    its 6 face images at distance a when a < r_c < √2 a."""
    frame = ase.Atoms("H", positions=[[0.3, 0.1, 0.2]], cell=np.eye(3) * 2.0, pbc=True)
    j, vectors = brute_force_neighbours(frame.positions, frame.cell[:], frame.pbc, 0, 2.5)
    assert len(j) == 6
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 2.0)


@pytest.mark.parametrize("shear", [
    [[1, 0, 0], [-1, 1, 0], [1, 1, 1]],
    # face distance 0.40 Å: this description of a good crystal used to be
    # rejected as 'too thin'; the check now uses the reduced lattice
    [[1, 0, 0], [2, 1, 0], [-1, 3, 1]],
    [[1, 5, 0], [0, 1, 0], [7, 0, 1]],
])
def test_equivalent_cells_and_shifted_atoms(shear):
    """The same crystal in a sheared (unimodular) cell, atoms moved by
    lattice vectors: the same features."""
    rng = np.random.default_rng(7)
    cell = np.array([[3.1, 0.0, 0.0], [0.9, 2.8, 0.0], [-0.4, 0.7, 3.3]])
    fractional = rng.uniform(0, 1, (4, 3))
    frame = ase.Atoms("CO2H", scaled_positions=fractional, cell=cell, pbc=True)
    shear = np.array(shear)
    assert round(np.linalg.det(shear)) == 1
    shifts = rng.integers(-3, 4, (4, 3)) @ cell
    other = ase.Atoms("CO2H", positions=frame.positions + shifts, cell=shear @ cell, pbc=True)
    kw = dict(cutoff=5.0, cutoff_width=0.7, species=[1, 6, 8])
    a = compute(frame, **kw)
    b = compute(other, **kw)
    np.testing.assert_allclose(b, a, rtol=0, atol=1e-12 * np.abs(a).max())


@pytest.mark.parametrize("c_vector", [[0, 0, 0], [0, 0, 15.0], [2.0, -1.0, 6.0], [1.0, 1.0, 0.0]])
def test_slab_ignores_the_non_periodic_vector(c_vector):
    """pbc = (T, T, F): the third cell vector plays no part, whether zero,
    tilted, or lying in the periodic plane (the last one used to be rejected
    as a 'singular cell')."""
    positions = np.array([[0.2, 0.3, 0.0], [1.5, 1.1, 1.2], [0.7, 2.2, -0.9]])
    ab = [[2.9, 0.0, 0.0], [0.8, 2.7, 0.0]]
    frames = [ase.Atoms("LiHO", positions=positions, cell=ab + [c_vector], pbc=[True, True, False])]
    expected = fast_reference(frames[0], 4.0, 0.5, [1, 3, 8])
    got = compute(frames[0], 4.0, 0.5, [1, 3, 8])
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE * np.abs(expected).max())


def test_tilted_slab_is_not_rejected_as_thin():
    """The thickness check uses the spacing within the periodic lattice, not
    the height over a tilted non-periodic vector."""
    frame = ase.Atoms("H", positions=[[0, 0, 0]], cell=[[0.6, 0, 0], [0, 3, 0], [30.0, 0, 1.0]],
                      pbc=[True, True, False])
    compute(frame, 2.0, 0.5, [1])  # in-plane spacing 0.6 Å > 0.5 Å: fine
    with pytest.raises(ValueError, match="too thin"):
        frame.cell[0] = [0.4, 0, 0]
        compute(frame, 2.0, 0.5, [1])


def flat_molecules():
    """Four atoms in a plane, one of them lifted off it by eps = 0 … 1e-6 Å,
    along each axis."""
    frames = []
    for eps in [0.0, 1e-14, 1e-12, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6]:
        for axis in range(3):
            positions = np.array([[0, 0, 0], [0.9, 0.3, 0.4], [-0.3, 0.8, 0.6], [1.2, -0.7, 0.2]])
            positions[:, axis] = 0.0
            positions[1, axis] = eps
            frames.append(ase.Atoms("H2OC", positions=positions))
    return frames


FLAT_SCRIPT = textwrap.dedent("""
    import sys, numpy as np
    sys.path.insert(0, {tests!r})
    import test_neighbour_list as t
    np.save(sys.argv[1], np.stack([t.compute(frame, 4.0, 0.5, [1, 6, 8]) for frame in t.flat_molecules()]))
""")


def test_flat_molecules(tmp_path):
    """A molecule flat to 1e-10 Å along z used to ask the cell list for ~1e10
    search bins along that direction (27 s for 3 atoms, or an int overflow):
    flat molecules give the reference coefficients. In a subprocess so that
    a crash fails the test; its timeout only stops a hang (the time these
    take is measured by benchmarks/bench_density.py --robustness)."""
    path = tmp_path / "flat.npy"
    script = FLAT_SCRIPT.format(tests=os.path.dirname(os.path.abspath(__file__)))
    subprocess.run([sys.executable, "-c", script, str(path)], check=True, timeout=600)
    got = np.load(path)
    frames = flat_molecules()
    assert len(got) == len(frames)
    for frame, values in zip(frames, got):
        expected = fast_reference(frame, 4.0, 0.5, [1, 6, 8])
        np.testing.assert_allclose(values, expected, rtol=0, atol=TOLERANCE * np.abs(expected).max())


def test_flat_molecule_against_reference():
    positions = np.array([[0, 0, 0], [0.9, 0.3, 1e-10], [-0.3, 0.8, 0], [1.2, -0.7, 0.0]])
    frame = ase.Atoms("H2OC", positions=positions)
    expected = fast_reference(frame, 3.0, 0.5, [1, 6, 8])
    got = compute(frame, 3.0, 0.5, [1, 6, 8])
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE * np.abs(expected).max())


def test_overlap_detected_through_periodic_boundary():
    """Two atoms 0.05 Å apart only through the boundary of the cell."""
    frame = ase.Atoms("H2", positions=[[0.02, 1, 1], [2.97, 1, 1]], cell=np.eye(3) * 3.0, pbc=True)
    with pytest.raises(ValueError, match="structure 0: atoms 0 and 1 are 0.05 Å apart"):
        compute(frame, 3.0, 0.5, [1])
    frame.pbc = False  # 2.95 Å apart without the images: fine
    compute(frame, 3.0, 0.5, [1])
