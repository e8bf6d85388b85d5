"""Tests for potential features of periodic structures (docs/conventions.md,
"Periodic structures"; docs/potentials.md, "Periodic structures").

The production path (range separation: real-space short-range sum + mesh
Ewald with the projection done in k-space) is checked against
- the direct k-space sum of the definition, projected analytically
  (tests/_periodic_reference.py, no mslode code), on cubic, triclinic and
  slab cells, p = 1 … 6, to the requested accuracy;
- itself under symmetry: supercell replication, translation, rotation
  (Wigner matrices), independence of the auxiliary smearing;
- analytic limits: Madelung constants of NaCl and CsCl from the l = 0
  coefficients, a molecule in a growing box against the isolated molecule
  (the background's known terms removed: what remains falls like b⁻⁵), p = 6
  image sums;
- featomic's LodeSphericalExpansion, coefficient by coefficient (skipped
  when featomic is absent);
- the slab dipole correction: a polar slab's field no longer depends on
  the vacuum.
"""

import ase
import ase.build
import numpy as np
import pytest

import mslode
from _featomic import featomic_lode_coefficients
from _periodic_reference import image_sum_reference, periodic_potential_reference
from _potential_reference import GtoReference, molecule_in_box
from _rotations import random_rotation, wigner_d

RC, N, L, SIGMA = 3.0, 4, 3, 0.4
ACCURACY = 1e-6


def _potential(**kw) -> mslode.PotentialExpansion:
    hypers = dict(cutoff=RC, gaussian_width=SIGMA, max_radial=N, max_angular=L, accuracy=ACCURACY)
    return mslode.PotentialExpansion(**{**hypers, **kw})


@pytest.fixture(scope="module")
def potentials():
    """One calculator per exponent, built once (its tables take a second)."""
    return {p: _potential(potential_exponent=p) for p in (1, 2, 3, 4, 5, 6)}


def _per_l_error(got: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Largest error of each l, relative to the largest |coefficient| of that l
    (the accuracy's definition)."""
    return np.array([np.abs(got[..., l * l:(l + 1) ** 2] - ref[..., l * l:(l + 1) ** 2]).max()
                     / np.abs(ref[..., l * l:(l + 1) ** 2]).max() for l in range(L + 1)])


def _reference(frame: ase.Atoms, species, p: int, center_atom_weight: float = 1.0) -> np.ndarray:
    return periodic_potential_reference(
        frame.positions, frame.numbers, np.asarray(frame.cell[:]), species=species, cutoff=RC, max_radial=N,
        max_angular=L, gaussian_width=SIGMA, potential_exponent=p, center_atom_weight=center_atom_weight)


def _cubic() -> ase.Atoms:
    rng = np.random.default_rng(1)
    frame = ase.Atoms("Na4Cl4", scaled_positions=rng.uniform(size=(8, 3)), cell=np.eye(3) * 6.5, pbc=True)
    return _spread(frame, rng)


def _triclinic() -> ase.Atoms:
    rng = np.random.default_rng(2)
    cell = np.array([[6.0, 0.0, 0.0], [1.6, 5.4, 0.0], [-1.1, 0.9, 6.1]])
    frame = ase.Atoms("OH2OH2", scaled_positions=rng.uniform(size=(6, 3)), cell=cell, pbc=True)
    return _spread(frame, rng)


def _slab() -> ase.Atoms:
    """Two layers of a rock-salt (100) surface, periodic in x and y, 14 Å of
    vacuum in z (pbc [T, T, F]: computed as the 3-D periodic cell given)."""
    a = 2.9
    positions = [[x * a, y * a, z * a] for x in range(2) for y in range(2) for z in range(2)]
    numbers = [11 if (x + y + z) % 2 == 0 else 17 for x in range(2) for y in range(2) for z in range(2)]
    frame = ase.Atoms(numbers=numbers, positions=positions, cell=[2 * a, 2 * a, a + 14.0], pbc=[True, True, False])
    frame.positions += [0.1, -0.2, 5.0]
    frame.rattle(0.1, seed=3)
    return frame


def _spread(frame: ase.Atoms, rng) -> ase.Atoms:
    """Random atoms moved apart until no two are closer than 1.2 Å."""
    for _ in range(200):
        d = frame.get_all_distances(mic=True)
        np.fill_diagonal(d, np.inf)
        if d.min() > 1.2:
            return frame
        i = int(np.argmin(d.min(axis=1)))
        frame.positions[i] = rng.uniform(size=3) @ frame.cell[:]
    raise RuntimeError("could not spread the atoms")


CELLS = {"cubic": _cubic, "triclinic": _triclinic, "slab": _slab}


# -- 1. against the direct k-space sum ------------------------------------------------------------
@pytest.mark.parametrize("p", [1, 2, 3, 4, 5, 6])
@pytest.mark.parametrize("kind", sorted(CELLS))
def test_against_kspace_sum(potentials, kind, p):
    """Every coefficient within the accuracy of the direct k-sum (k = 0 left
    out for p ≤ 3, kept for p ≥ 4), relative to the largest coefficient of
    each l."""
    frame = CELLS[kind]()
    species = sorted(set(frame.numbers.tolist()))
    ours = potentials[p].compute(frame).values
    err = _per_l_error(ours, _reference(frame, species, p))
    assert err.max() < ACCURACY, err


def test_center_atom_weight_against_kspace_sum():
    frame = _triclinic()
    species = [1, 8]
    ours = _potential(center_atom_weight=0.3).compute(frame).values
    err = _per_l_error(ours, _reference(frame, species, 1, center_atom_weight=0.3))
    assert err.max() < ACCURACY, err


def test_small_cell_and_tight_accuracy():
    """A cell smaller than the basis (3 Å, r_c 3 Å): many images; and 1e-9."""
    frame = ase.Atoms("NaCl", positions=[[0.2, 0.1, 0.0], [1.6, 1.4, 1.5]], cell=np.eye(3) * 3.0, pbc=True)
    ours = _potential(accuracy=1e-9).compute(frame).values
    err = _per_l_error(ours, _reference(frame, [11, 17], 1))
    assert err.max() < 1e-9, err


# -- 2. symmetry ------------------------------------------------------------------------------------
def test_supercell_replication(potentials):
    """A 2 × 1 × 3 supercell gives every copy of an atom the features of the
    original (different mesh, different images: agreement is the accuracy)."""
    frame = _triclinic()
    for p in (1, 6):
        small = potentials[p].compute(frame).values
        big = potentials[p].compute(frame.repeat((2, 1, 3))).values
        copies = big.reshape(6, len(frame), *small.shape[1:])
        for copy in copies:
            assert _per_l_error(copy, small).max() < ACCURACY


def test_translation_and_rotation(potentials):
    frame = _triclinic()
    V = potentials[1]
    ref = V.compute(frame).values
    moved = frame.copy()
    moved.positions += [3.3, -7.1, 0.4]
    assert _per_l_error(V.compute(moved).values, ref).max() < ACCURACY
    rng = np.random.default_rng(5)
    R = random_rotation(rng)
    turned = frame.copy()
    turned.set_cell(frame.cell[:] @ R.T, scale_atoms=False)
    turned.positions = frame.positions @ R.T
    got = V.compute(turned).values
    expected = ref.copy()
    for l in range(L + 1):
        expected[..., l * l:(l + 1) ** 2] = ref[..., l * l:(l + 1) ** 2] @ wigner_d(l, R).T
    assert _per_l_error(got, expected).max() < ACCURACY


def test_invariants_on_periodic_structures():
    """ρ⊗V of a periodic cell: computed through the same API, rotation invariant."""
    frame = _triclinic()
    rho = mslode.DensityExpansion(cutoff=RC, gaussian_width=SIGMA, max_radial=N, max_angular=L)
    features = mslode.Invariants(rho, _potential()).compute(frame).values
    R = random_rotation(np.random.default_rng(6))
    turned = frame.copy()
    turned.set_cell(frame.cell[:] @ R.T, scale_atoms=False)
    turned.positions = frame.positions @ R.T
    again = mslode.Invariants(rho, _potential()).compute(turned).values
    assert np.abs(again - features).max() < 10 * ACCURACY * np.abs(features).max()


@pytest.mark.parametrize("p", [1, 3, 6])
def test_independent_of_the_smearing(p):
    frame = _cubic()
    results = [_potential(potential_exponent=p, smearing=s, accuracy=1e-7).compute(frame).values
               for s in (1.0, 1.5, 2.5)]
    for other in results[1:]:
        assert _per_l_error(other, results[0]).max() < 1e-6


def test_mesh_settings_do_not_change_the_result():
    """Expert overrides: a finer mesh and another interpolation order agree
    with the default to the accuracy."""
    frame = _triclinic()
    default = _potential().compute(frame).values
    for kw in (dict(mesh_spacing=0.2), dict(interpolation_order=4, accuracy=1e-8), dict(interpolation_order=10)):
        assert _per_l_error(_potential(**kw).compute(frame).values, default).max() < ACCURACY, kw


# -- 3. analytic limits ---------------------------------------------------------------------------
@pytest.mark.parametrize("structure, madelung", [("rocksalt", 1.747564594633), ("cesiumchloride", 1.762674773070)])
def test_madelung_constants(structure, madelung):
    """The potential at an ion from all other ions, -q M/r0, from the l = 0
    coefficients. For the neutral combination Σ_a q_a V^a the backgrounds
    cancel, and with the centre's own charge removed (center_atom_weight 0)
    the potential near the ion is harmonic: its spherical average over any
    sphere is its value at the centre (mean-value property), so
    Σ_a q_a c_a[n, l=0] = V(0) ⟨n00|1⟩ exactly, as long as the basis does not
    reach the neighbours' Gaussians (σ = 0.1 Å, basis widths 0.4 Å, ions
    2.8 Å or more apart: their overlap is ~1e-11)."""
    a = {"rocksalt": 5.64, "cesiumchloride": 4.12}[structure]
    frame = ase.build.bulk("NaCl" if structure == "rocksalt" else "CsCl", structure, a=a, cubic=True)
    r0 = a / 2 if structure == "rocksalt" else a * np.sqrt(3) / 2
    V = mslode.PotentialExpansion(cutoff=0.8, gaussian_width=0.1, max_radial=2, max_angular=0,
                                  center_atom_weight=0.0, accuracy=1e-9)
    values = V.compute(frame)
    species = [int(z) for z in values.species]
    q = np.array([+1.0 if z in (11, 55) else -1.0 for z in species])
    constant = np.sqrt(4 * np.pi) * GtoReference(0.8, 2).moments(2)  # ⟨n00|1⟩
    potential = np.einsum("a,ian->in", q, values.values[..., 0]) / constant
    q_center = np.array([+1.0 if z in (11, 55) else -1.0 for z in frame.numbers])
    expected = -q_center * madelung / r0
    np.testing.assert_allclose(potential, np.repeat(expected[:, None], 2, axis=1), rtol=1e-7)


def test_molecule_in_a_growing_box():
    """A non-polar molecule (CO2) alone in a cubic box of side b, p = 1,
    against the isolated molecule: per species channel the images and the
    background add N_a ξ + (2π/3Ω) Σ_j |x - r_ji|² (ξ = -2.837297/b + 2πσ²/Ω)
    and -(4π/3Ω) x·D_a (docs/conventions.md, "Periodic structures"). Once
    these are removed the rest falls like b⁻⁵; without removing them l = 0
    and l = 1 stay off by orders of magnitude more."""
    sigma = 0.4
    molecule = ase.Atoms("OCO", positions=[[0.0, 0.0, 0.0], [1.16, 0.05, 0.02], [2.3, 0.12, -0.1]])
    species = [6, 8]
    V = _potential(accuracy=1e-9)
    isolated = V.compute(molecule).values
    basis = GtoReference(RC, N)
    residuals = []
    for side in (20.0, 28.0):
        box = molecule.copy()
        box.cell = np.eye(3) * side
        box.pbc = True
        box.positions += side / 2 - molecule.positions.mean(axis=0)
        periodic = V.compute(box).values
        predicted = molecule_in_box(isolated, molecule, species, side, sigma, basis)
        scale = np.abs(isolated).max()
        residual = np.array([np.abs(periodic - predicted)[..., l * l:(l + 1) ** 2].max() / scale for l in range(L + 1)])
        plain = np.array([np.abs(periodic - isolated)[..., l * l:(l + 1) ** 2].max() / scale for l in range(L + 1)])
        assert residual[0] < 0.01 * plain[0] and residual[1] < 0.05 * plain[1]
        residuals.append(residual)
    ratio = residuals[1] / residuals[0]
    np.testing.assert_allclose(ratio, (20.0 / 28.0) ** 5, rtol=0.1)


def test_dispersion_in_a_growing_box(potentials):
    """p = 6 needs no background: a molecule in a box approaches the isolated
    molecule, the images' contribution falling like b⁻³ (their number in a
    shell grows like b², their potential falls like b⁻⁶ ... summed: ~ b⁻³)."""
    molecule = ase.Atoms("OCO", positions=[[0.0, 0.0, 0.0], [1.16, 0.05, 0.02], [2.3, 0.12, -0.1]])
    V = potentials[6]
    isolated = V.compute(molecule).values
    diffs = []
    for side in (12.0, 24.0):
        box = molecule.copy()
        box.cell = np.eye(3) * side
        box.pbc = True
        diffs.append(np.abs(V.compute(box).values - isolated).max() / np.abs(isolated).max())
    assert diffs[1] < diffs[0] / 6  # ≈ 2³ = 8 for b⁻³


def test_p6_against_image_sums(potentials):
    """p = 6 lattice sums converge absolutely: against explicit image sums."""
    frame = _triclinic()
    species = [1, 8]
    ref = image_sum_reference(frame.positions, frame.numbers, np.asarray(frame.cell[:]), species=species,
                              cutoff=RC, max_radial=N, max_angular=L, gaussian_width=SIGMA, potential_exponent=6,
                              radius=70.0)
    err = _per_l_error(potentials[6].compute(frame).values, ref)
    assert err.max() < 10 * ACCURACY, err


# -- 4. featomic ------------------------------------------------------------------------------------
@pytest.mark.parametrize("p", [1, 6])
@pytest.mark.parametrize("kind", ["triclinic", "slab"])
def test_featomic_lode(potentials, kind, p):
    """featomic's LodeSphericalExpansion computes the same definition
    (docs/conventions.md, "Relation to featomic"): coefficient by coefficient."""
    featomic = pytest.importorskip("featomic")
    frame = CELLS[kind]()
    boxed = frame.copy()
    boxed.pbc = True
    species = sorted(set(frame.numbers.tolist()))
    theirs = featomic_lode_coefficients(featomic, boxed, species, SIGMA, p, 1.0, N, L, RC)
    err = _per_l_error(potentials[p].compute(frame).values, theirs)
    assert err.max() < ACCURACY, err


# -- 5. slabs -----------------------------------------------------------------------------------------
def test_slab_dipole_correction():
    """A polar slab (a Na layer above a Cl layer, neutral in all): with the
    correction the field at every ion (the l = 1 coefficients of the neutral
    combination Σ_a q_a V^a) no longer depends on the vacuum; without it the
    periodic copies' dipole field changes it by O(4πM/Ω). (l = 0 carries the
    potential's zero, the cell average, which moves with the vacuum either
    way: docs/conventions.md, "Periodic structures".)"""
    def slab(vacuum):
        a = 3.0
        positions = [[x * a, y * a, 0.0] for x in range(2) for y in range(2)] + \
                    [[x * a + 0.4, y * a + 0.3, 2.6] for x in range(2) for y in range(2)]
        frame = ase.Atoms("Cl4Na4", positions=positions, cell=[2 * a, 2 * a, 2.6 + vacuum], pbc=[True, True, False])
        frame.positions += [0.0, 0.0, 2.0]
        return frame

    def field(frame, correction):
        values = _potential(slab_dipole_correction=correction).compute(frame)
        q = np.where(values.species == 11, 1.0, -1.0)
        return np.einsum("a,ianm->inm", q, values.values)[..., 1:4]

    change = {}
    for correction in (False, True):
        thin, thick = field(slab(16.0), correction), field(slab(32.0), correction)
        change[correction] = np.abs(thick - thin).max() / np.abs(thick).max()
    assert change[False] > 0.05 and change[True] < 1e-6, change


# -- 6. bad input ------------------------------------------------------------------------------------
def test_p_above_3_needs_no_neutral_cell(potentials):
    """A cell holding one species (a net charge for p = 1, handled by each
    channel's own background) computes for every p."""
    frame = ase.Atoms("Na2", positions=[[0, 0, 0], [1.5, 1.7, 1.9]], cell=np.eye(3) * 4.0, pbc=True)
    for p in (1, 6):
        assert np.isfinite(potentials[p].compute(frame).values).all()
