"""Robustness: bad input gives a clear ValueError/TypeError naming the
structure and the problem, never a crash or silent garbage; random
structures and hyper-parameters give finite numbers of the documented shape
when they are valid and such an error when they are not (each example is
judged independently of the library, from the documented limits);
calculators are thread-safe, independent of the OpenMP thread count,
interruptible with Ctrl-C, and report memory exhaustion as MemoryError.
docs/robustness.md is the user-facing summary; its table comes from
BAD_INPUTS below (`python tests/test_robustness.py` prints it).

The hypothesis examples are derandomised (same examples on every run, no
example database) so that CI is reproducible; set MSLODE_FUZZ_EXAMPLES=N to
run N random examples per property instead. Each property ends by checking
how many examples were valid (so computed) and invalid (so refused).
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.spatial

import ase
import mslode
from mslode import _frames

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, event, given, note, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

DOCUMENTED_ERRORS = (ValueError, TypeError)
POOL = (1, 6, 8, 16)  # species drawn for random structures
UNDER_ASAN = "asan" in os.environ.get("LD_PRELOAD", "")

_FUZZ = int(os.environ.get("MSLODE_FUZZ_EXAMPLES", "0"))


def fuzz_settings(examples: int):
    """`examples` derandomised examples (or MSLODE_FUZZ_EXAMPLES random ones)."""
    return settings(
        max_examples=_FUZZ or examples,
        deadline=None,
        derandomize=not _FUZZ,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


WATER = ase.Atoms("OH2", positions=[[0.0, 0.0, 0.0], [0.96, 0.0, 0.0], [-0.24, 0.93, 0.0]])
HYPERS = dict(cutoff=3.0, gaussian_width=0.3, max_radial=4, max_angular=3)
POTENTIAL_HYPERS = dict(cutoff=3.0, gaussian_width=0.3, max_radial=4, max_angular=3)


@functools.lru_cache(maxsize=None)
def density(**kw) -> mslode.DensityExpansion:
    return mslode.DensityExpansion(**{**HYPERS, **kw})


@functools.lru_cache(maxsize=None)
def potential(**kw) -> mslode.PotentialExpansion:
    return mslode.PotentialExpansion(**{**POTENTIAL_HYPERS, **kw})


def crystal(n_cell=1, cell=None) -> ase.Atoms:
    """A small periodic H/O crystal."""
    cell = np.eye(3) * 3.5 if cell is None else cell
    atoms = ase.Atoms("OH", positions=[[0.0, 0.0, 0.0], [1.0, 0.1, 0.2]], cell=cell, pbc=True)
    return atoms if n_cell == 1 else atoms.repeat(n_cell)


def with_atoms(frame: ase.Atoms, **changes) -> ase.Atoms:
    frame = frame.copy()
    for name, value in changes.items():
        if name == "positions":
            frame.positions = value
        elif name == "numbers":
            frame.numbers = value
        elif name == "cell":
            frame.set_cell(value)
        elif name == "pbc":
            frame.pbc = value
    return frame


def _nan_position():
    frame = WATER.copy()
    frame.positions[2, 1] = np.nan
    return frame


def _inf_position():
    frame = WATER.copy()
    frame.positions[1, 0] = np.inf
    return frame


# Each bad input, what it raises and a regex of the message. The first column
# is the row of the docs table.
BAD_INPUTS = [
    # -- frames ---------------------------------------------------------
    ("frames is a file name", lambda: density().compute("water.xyz"), TypeError, "ase.Atoms"),
    ("frames is None", lambda: density().compute(None), TypeError, "ase.Atoms"),
    ("a list item is not an ase.Atoms", lambda: density().compute([WATER, {"numbers": [1]}]), TypeError,
     "structure 1 is a dict"),
    ("empty list of frames", lambda: density().compute([]), ValueError, "frames is empty"),
    ("a structure without atoms", lambda: density().compute([WATER, ase.Atoms()]), ValueError,
     "structure 1 has no atoms"),
    ("NaN position", lambda: density().compute([WATER, _nan_position()]), ValueError,
     "structure 1: atom 2 has a non-finite position"),
    ("infinite position", lambda: density().compute(_inf_position()), ValueError,
     "structure 0: atom 1 has a non-finite position"),
    ("coordinate beyond 1e8 Å (units?)", lambda: density().compute(with_atoms(WATER, positions=WATER.positions * 1e9)),
     ValueError, r"structure 0: atom \d is at .* from the origin \(limit 1e\+08"),
    ("two atoms 0.05 Å apart", lambda: density().compute(
        [WATER, ase.Atoms("H2", positions=[[0, 0, 0], [0.05, 0, 0]])]), ValueError,
     r"structure 1: atoms 0 and 1 are 0.05 Å apart \(closer than 0.1 Å\)"),
    ("two atoms overlapping through the periodic boundary", lambda: density().compute(
        ase.Atoms("H2", positions=[[0.01, 1, 1], [3.47, 1, 1]], cell=np.eye(3) * 3.5, pbc=True)), ValueError,
     r"structure 0: atoms \d and \d are 0.04 Å apart"),
    ("atomic number 0 (dummy atom)", lambda: density().compute(
        ase.Atoms(numbers=[8, 0], positions=[[0, 0, 0], [1, 0, 0]])), ValueError,
     "structure 0: atom 1 has atomic number 0"),
    ("NaN in the cell", lambda: density().compute(crystal(cell=[[3.5, 0, 0], [0, 3.5, 0], [0, 0, np.nan]])),
     ValueError, "structure 0: the cell has non-finite entries"),
    ("zero cell vector along a periodic direction", lambda: density().compute(
        with_atoms(crystal(), cell=[[3.5, 0, 0], [0, 3.5, 0], [0, 0, 0]])), ValueError,
     "structure 0: periodic along a direction whose cell vector is zero"),
    ("singular cell (coplanar vectors)", lambda: density().compute(
        with_atoms(crystal(), cell=[[3.5, 0, 0], [0, 3.5, 0], [3.5, 3.5, 0]])), ValueError,
     "structure 0: the cell is singular or too thin"),
    ("nearly singular cell (c 0.01 Å out of the a-b plane)", lambda: density().compute(
        with_atoms(crystal(), cell=[[3.5, 0, 0], [0, 3.5, 0], [1.0, 2.0, 0.01]])), ValueError,
     r"structure 0: the cell is singular or too thin \(height [\d.]+ Å along a periodic direction"),
    ("cell vector of 1e9 Å (units?)", lambda: density().compute(
        with_atoms(crystal(), cell=np.eye(3) * 1e9)), ValueError, r"periodic cell vector is 1e\+09 Å long"),
    ("cell too small for the cut-off (1 atom, 0.6 Å cube, r_c = 30 Å)", lambda: density(cutoff=30.0).compute(
        ase.Atoms("H", cell=np.eye(3) * 0.6, pbc=True)), ValueError,
     r"structure 0: the cell is too small for a cut-off of 30 Å: each centre would see about 5.24e\+05 atoms"),
    ("species absent from a fixed `species=`", lambda: density(species=(1, 6)).compute([crystal(), WATER]),
     ValueError, r"structure 0 contains species \[8\] not in species=\[1, 6\]"),
    ("slab whose atoms fill the non-periodic direction", lambda: potential().compute(
        ase.Atoms("OH", positions=[[0, 0, 0], [1.0, 0.1, 0.9]], cell=[3.5, 3.5, 0.8], pbc=[True, True, False])),
     ValueError, r"structure 0: the atoms span 1.12 times the cell along non-periodic direction 2: give that cell"),
    ("slab with no cell vector across its vacuum", lambda: potential().compute(
        with_atoms(crystal(), cell=[[3.5, 0, 0], [0, 3.5, 0], [0, 0, 0]], pbc=[True, True, False])), ValueError,
     r"structure 0: the cell vector along non-periodic direction 2 is zero; a slab or wire is computed as the 3-D"),
    ("slab with a thin cell across its vacuum", lambda: potential().compute(
        with_atoms(crystal(), cell=[[3.5, 0, 0], [0, 3.5, 0], [0, 0, 0.2]], pbc=[True, True, False])), ValueError,
     r"structure 0: the cell is singular or too thin .*a slab or wire is computed as the 3-D periodic cell"),
    ("slab whose atoms meet across a thin vacuum", lambda: potential().compute(
        ase.Atoms("OH", positions=[[0, 0, 0], [0.05, 0.0, 0.55]], cell=[3.5, 3.5, 0.6], pbc=[True, True, False])),
     ValueError, r"structure 0: atoms 0 and 1 are 0.0[0-9]+ Å apart across the vacuum of the cell"),
    ("periodic mesh beyond memory (accuracy 1e-10, 300 Å cell)", lambda: potential(accuracy=1e-10,
        interpolation_order=4).compute(with_atoms(crystal(), cell=np.eye(3) * 300.0)), ValueError,
     r"structure 0: the mesh of \d+ x \d+ x \d+ points would need [\d.e+]+ GB \(limit 8 GB\)"),
    ("slab dipole correction on a 3-D periodic cell", lambda: potential(slab_dipole_correction=True).compute(
        crystal()), ValueError, r"structure 0: the slab dipole correction needs a structure periodic in exactly two"),
    ("periodic accuracy = 0", lambda: potential(accuracy=0.0), ValueError, r"accuracy must be"),
    ("periodic smearing below gaussian_width", lambda: potential(smearing=0.1), ValueError,
     r"smearing must be larger than gaussian_width"),
    ("interpolation_order = 5", lambda: potential(interpolation_order=5), ValueError,
     r"interpolation_order must be 4, 6, 8 or 10"),
    # -- hyper-parameters -------------------------------------------------
    ("cutoff = 0", lambda: density(cutoff=0.0), ValueError, "cutoff must be a positive finite number"),
    ("cutoff = -1", lambda: density(cutoff=-1.0), ValueError, "cutoff must be a positive finite number"),
    ("cutoff = NaN", lambda: density(cutoff=float("nan")), ValueError, "cutoff must be a positive finite number"),
    ("cutoff = inf", lambda: density(cutoff=float("inf")), ValueError, "cutoff must be a positive finite number"),
    ("cutoff = '4' (a string)", lambda: density(cutoff="4"), TypeError, "cutoff must be a real number, got str"),
    ("cutoff = None", lambda: density(cutoff=None), TypeError, "cutoff must be a real number, got NoneType"),
    ("gaussian_width = 0", lambda: density(gaussian_width=0.0), ValueError, "gaussian_width must be a positive"),
    ("max_radial = 0", lambda: density(max_radial=0), ValueError, r"max_radial must be in \[1, 30\]"),
    ("max_radial = 31", lambda: density(max_radial=31), ValueError, r"max_radial must be in \[1, 30\]"),
    ("max_radial = 25 (GTO basis linearly dependent)", lambda: density(max_radial=25), ValueError,
     r"max_radial=25 is beyond what the GTO basis supports .*use max_radial <= (19|20)"),
    ("max_radial = 2.5", lambda: density(max_radial=2.5), ValueError, "max_radial must be an integer, got float 2.5"),
    ("max_radial = '4'", lambda: density(max_radial="4"), TypeError, "max_radial must be a real number, got str"),
    ("max_radial = NaN", lambda: density(max_radial=float("nan")), ValueError, "max_radial must be an integer"),
    ("max_angular = -1", lambda: density(max_angular=-1), ValueError, r"max_angular must be in \[0, 12\]"),
    ("max_angular = 13", lambda: density(max_angular=13), ValueError, r"max_angular must be in \[0, 12\]"),
    ("cutoff_width > cutoff", lambda: density(cutoff_width=3.5), ValueError,
     r"cutoff_width must be in \[0, cutoff=3.0\]"),
    ("center_atom_weight = NaN", lambda: density(center_atom_weight=float("nan")), ValueError,
     "center_atom_weight must be finite"),
    ("center_atom_weight = '1'", lambda: density(center_atom_weight="1"), TypeError,
     "center_atom_weight must be a real number"),
    ("spline_accuracy = 0", lambda: density(spline_accuracy=0.0), ValueError, "spline_accuracy must be a positive"),
    ("spline_accuracy = 0.5", lambda: density(spline_accuracy=0.5), ValueError, r"must be in \(0, 0.1\]"),
    ("spline_accuracy = 1e-16 (unreachable)", lambda: density(spline_accuracy=1e-16).compute(WATER), ValueError,
     "cannot tabulate the radial functions: radial spline did not reach accuracy 1e-16"),
    ("gaussian_width = 1e-4 Å with r_c = 3 Å (untabulable)", lambda: density(gaussian_width=1e-4).compute(WATER),
     ValueError, "cannot tabulate the radial functions"),
    ("potential_exponent = 0", lambda: potential(potential_exponent=0), ValueError,
     r"potential_exponent must be in \[1, 6\]"),
    ("potential_exponent = 7", lambda: potential(potential_exponent=7), ValueError,
     r"potential_exponent must be in \[1, 6\]"),
    ("potential_exponent = 1.5", lambda: potential(potential_exponent=1.5), ValueError,
     "potential_exponent must be an integer"),
    # -- species ------------------------------------------------------------
    ("species = []", lambda: density(species=()), ValueError, "species must not be empty"),
    ("species = [1, 1]", lambda: density(species=(1, 1)), ValueError, "species has repeated entries"),
    ("species = [0]", lambda: density(species=(0,)), ValueError, r"species must be atomic numbers in 1..118"),
    ("species = 'H'", lambda: density(species="H"), TypeError, "species must be a list of atomic numbers"),
    ("species = 8 (not a list)", lambda: density(species=8), TypeError, "species must be a list of atomic numbers"),
    ("species = ['H', 'O']", lambda: density(species=("H", "O")), TypeError,
     "species must contain atomic numbers \\(int\\), got str"),
    ("species = [1.5]", lambda: density(species=(1.5,)), TypeError,
     "species must contain atomic numbers \\(int\\), got float"),
    ("center_species = 'O'", lambda: density().compute(WATER, center_species="O"), TypeError,
     "center_species must be a list of atomic numbers"),
    ("center_species = 8 (not a list)", lambda: density().compute(WATER, center_species=8), TypeError,
     "center_species must be a list of atomic numbers"),
    ("center_species = [8.0]", lambda: density().compute(WATER, center_species=[8.0]), TypeError,
     "center_species must contain atomic numbers"),
    ("center_species = []", lambda: density().compute(WATER, center_species=[]), ValueError,
     "center_species must not be empty"),
    ("center_species = [200]", lambda: density().compute(WATER, center_species=[200]), ValueError,
     r"center_species must be atomic numbers in 1..118"),
    # -- invariants -----------------------------------------------------------
    ("Invariants(rho, 3)", lambda: mslode.Invariants(density(), 3), TypeError,
     "second must be an expansion calculator"),
    ("Invariants of different max_angular", lambda: mslode.Invariants(density(), density(max_angular=2)),
     ValueError, "both expansions need the same max_angular, got 3 and 2"),
    ("Invariants(rho, V, symmetric=True)", lambda: mslode.Invariants(density(), potential(), symmetric=True),
     ValueError, "symmetric=True needs the same expansion twice"),
    ("Invariants(..., symmetric='yes')", lambda: mslode.Invariants(density(), density(), symmetric="yes"),
     TypeError, "symmetric must be None, True or False"),
]


@pytest.mark.parametrize("what, call, error, match", BAD_INPUTS, ids=[row[0] for row in BAD_INPUTS])
def test_bad_input(what, call, error, match):
    with pytest.raises(error, match=match):
        call()


# Inputs that are fine, with a documented policy rather than an error.
def test_policies():
    rho = density()
    # centre species absent from the frames: no centres, not an error
    empty = rho.compute(WATER, center_species=[6])
    assert empty.values.shape == (0, 2, 4, 16)
    # species=None: channels are the species present in this call
    assert list(rho.compute(WATER).species) == [1, 8]
    assert list(rho.compute(crystal()).species) == [1, 8]
    assert list(rho.compute(ase.Atoms("CH2", positions=np.eye(3) * 1.1)).species) == [1, 6]
    # a fixed species= gives the same channels everywhere, absent ones zero
    fixed = density(species=(1, 6, 8)).compute(WATER).values
    assert fixed.shape[1] == 3 and np.all(fixed[:, 1] == 0.0)
    # NumPy scalars are fine for every numeric argument
    ok = mslode.DensityExpansion(cutoff=np.float32(3.0), gaussian_width=np.float64(0.3), max_radial=np.int64(4),
                                 max_angular=np.int32(3), species=np.array([1, 8]))
    assert ok.compute(WATER, center_species=np.array([8])).values.shape == (1, 2, 4, 16)
    # the largest supported basis works (a looser spline for the high l, n)
    big = density(max_radial=19, max_angular=12, spline_accuracy=1e-6)
    assert np.isfinite(big.compute(WATER).values).all()


# -- property-based: random structures and hyper-parameters ---------------------

finite_floats = functools.partial(st.floats, allow_nan=False, allow_infinity=False)


@st.composite
def cells(draw) -> np.ndarray:
    """Random triclinic cells: mostly sheared boxes, also arbitrary matrices,
    nearly singular ones (third vector almost in the plane of the first two),
    tiny ones and zero."""
    kind = draw(st.sampled_from(["box"] * 5 + ["matrix", "nearly_singular", "small", "zero"]))
    if kind == "zero":
        return np.zeros((3, 3))
    if kind == "box":
        lengths = draw(hnp.arrays(np.float64, 3, elements=finite_floats(2.0, 12.0), fill=st.nothing()))
        shear = draw(hnp.arrays(np.float64, 3, elements=finite_floats(-0.6, 0.6), fill=st.nothing()))
        cell = np.diag(lengths)
        cell[1, 0], cell[2, 0], cell[2, 1] = shear * lengths[[1, 2, 2]]
        return cell
    if kind == "small":
        return np.diag(draw(hnp.arrays(np.float64, 3, elements=finite_floats(0.3, 2.0), fill=st.nothing())))
    cell = draw(hnp.arrays(np.float64, (3, 3), elements=finite_floats(-12.0, 12.0), fill=st.nothing()))
    if kind == "nearly_singular":
        a, b = draw(finite_floats(-1.5, 1.5)), draw(finite_floats(-1.5, 1.5))
        normal = np.cross(cell[0], cell[1])
        norm = np.linalg.norm(normal)
        epsilon = draw(st.sampled_from([0.0, 1e-12, 1e-6, 1e-3, 0.1, 0.6]))
        cell[2] = a * cell[0] + b * cell[1] + (epsilon * normal / norm if norm > 0 else 0.0)
    return cell


@st.composite
def structures(draw, periodic=None, max_atoms=30) -> ase.Atoms:
    n = draw(st.integers(1, max_atoms))
    if periodic is None:
        pbc = draw(st.tuples(st.booleans(), st.booleans(), st.booleans()))
    else:
        pbc = (periodic,) * 3 if isinstance(periodic, bool) else periodic
    cell = draw(cells()) if any(pbc) else draw(st.one_of(st.just(np.zeros((3, 3))), cells()))
    # (fill=nothing: every coordinate drawn, not one repeated value)
    placement = "box"
    if any(pbc) and abs(np.linalg.det(cell)) > 1e-6:
        placement = draw(st.sampled_from(["box", "fractional", "grid"]))
    if placement == "fractional":
        fractional = draw(hnp.arrays(np.float64, (n, 3), elements=finite_floats(-0.5, 1.5), fill=st.nothing()))
        positions = fractional @ cell
    elif placement == "grid":
        # a jittered m x m x m grid of the cell: periodic structures without
        # close pairs (random fractional positions in a small cell overlap)
        m = int(np.ceil(n ** (1 / 3)))
        grid = np.array(np.meshgrid(*[np.arange(m)] * 3, indexing="ij")).reshape(3, -1).T[:n] / m
        jitter = draw(hnp.arrays(np.float64, (n, 3), elements=finite_floats(0.0, 0.2), fill=st.nothing())) / m
        positions = (grid + jitter) @ cell
    else:
        box = draw(finite_floats(0.6, 3.0)) * n ** (1 / 3)  # from crowded to dilute
        positions = draw(hnp.arrays(np.float64, (n, 3), elements=finite_floats(0.0, 1.0), fill=st.nothing())) * box
    numbers = draw(hnp.arrays(np.int32, n, elements=st.sampled_from(POOL)))
    return ase.Atoms(numbers=numbers, positions=positions, cell=cell, pbc=pbc)


def frame_lists(periodic=None, max_atoms=30, max_frames=3):
    return st.lists(structures(periodic=periodic, max_atoms=max_atoms), min_size=1, max_size=max_frames)


center_species_st = st.sampled_from([None] * 8 + [[8], [1, 6], [16, 8, 1], [], [0], [8.0], "O"])


def expected_centers(frames, center_species) -> int:
    numbers = np.concatenate([frame.numbers for frame in frames])
    return len(numbers) if center_species is None else int(np.isin(numbers, center_species).sum())


def expected_species(calculator, frames) -> list:
    if calculator.species is not None:
        return list(calculator.species)
    return sorted({int(z) for frame in frames for z in frame.numbers})


# -- which generated inputs are valid --------------------------------------------
#
# Each example is judged before it is computed, from the documented limits
# (docs/robustness.md, "Thresholds"), written out here rather than imported
# from mslode._frames so that the judge does not follow the code it checks:
# a VALID input must compute, an INVALID one must raise ValueError/TypeError.
# Inputs within MARGIN of a threshold, and periodic cells whose given basis is
# thin (only a lattice reduction can tell whether the crystal is), are UNSURE:
# either outcome is accepted there.

MIN_DISTANCE = 0.1  # Å: closest two atoms, periodic images included
MIN_HEIGHT = 0.5  # Å: lattice-plane spacing along a periodic direction
MAX_NEIGHBOURS = 100_000  # mean atoms within r_c of a centre, images included
MARGIN = 0.1  # relative
VALID, UNSURE, INVALID = "valid", "unsure", "invalid"


@dataclasses.dataclass(frozen=True)
class Verdict:
    kind: str
    reason: str = ""


def worst(*verdicts: Verdict) -> Verdict:
    """INVALID if any is, else UNSURE if any is, else VALID."""
    order = {VALID: 0, UNSURE: 1, INVALID: 2}
    return max(verdicts, key=lambda v: order[v.kind], default=Verdict(VALID))


def _ball(dimension: int, radius: float) -> float:
    """Length, area or volume of the 1-, 2- or 3-ball of `radius`."""
    return {1: 2.0 * radius, 2: np.pi * radius**2, 3: 4.0 * np.pi / 3.0 * radius**3}[dimension]


def _closest_approach(positions, vectors, dual, heights, reach) -> float:
    """Smallest distance between two atoms or an atom and an image of any
    atom (itself included), if below `reach`; brute force over translations.
    Positions are first wrapped along the periodic vectors, so each pair's
    separation has fractional coordinates in (-1, 1) and translations
    n_k = -M..M with M = 1 + ceil(reach / h_k) reach every image closer than
    `reach` (its component along the dual vector k is (f_k + n_k) h_k)."""
    wrapped = positions - np.floor(positions @ dual.T) @ vectors
    ranges = [np.arange(-m, m + 1) for m in 1 + np.ceil(reach / heights).astype(int)]
    shifts = np.stack(np.meshgrid(*ranges, indexing="ij"), axis=-1).reshape(-1, len(vectors))
    separation = wrapped[None, :, :] - wrapped[:, None, :]
    distances = np.linalg.norm(separation[None] + (shifts @ vectors)[:, None, None, :], axis=-1)
    zero = int(np.flatnonzero((shifts == 0).all(axis=1))[0])
    np.fill_diagonal(distances[zero], np.inf)
    return float(distances.min())


def structure_verdict(frame, *, cutoff=None, species=None) -> Verdict:
    """Is this generated structure a valid input? `cutoff` (a density
    expansion's) enables the neighbour-count limit; `species` is the
    calculator's fixed list, if any. The generator only makes finite
    positions well inside 1e8 Å and atomic numbers of POOL."""
    numbers = frame.numbers
    positions = np.asarray(frame.positions, dtype=np.float64)
    if not np.isfinite(positions).all() or np.abs(positions).max() > 1e8:
        return Verdict(INVALID, "non-finite or huge position")
    if species is not None and not set(numbers.tolist()) <= set(species):
        return Verdict(INVALID, f"species {sorted(set(numbers.tolist()) - set(species))} not in species=")
    # without images: two atoms this close are too close whatever the cell
    direct = scipy.spatial.distance.pdist(positions).min(initial=np.inf)
    if direct < MIN_DISTANCE * (1 - MARGIN):
        return Verdict(INVALID, f"two atoms {direct:.3g} Å apart")
    pbc = np.asarray(frame.pbc, dtype=bool)
    if not pbc.any():
        if direct < MIN_DISTANCE * (1 + MARGIN):
            return Verdict(UNSURE, f"two atoms {direct:.3g} Å apart, near the limit")
        return Verdict(VALID)
    vectors = np.asarray(frame.cell[:], dtype=np.float64)[pbc]
    if not np.isfinite(vectors).all() or np.any(np.linalg.norm(vectors, axis=1) == 0.0):
        return Verdict(INVALID, "zero or non-finite periodic cell vector")
    gram = vectors @ vectors.T
    dimension = len(vectors)
    measure = float(np.sqrt(max(np.linalg.det(gram), 0.0)))  # length, area or volume of the periodic lattice
    # the plane spacings (heights) of any basis of a lattice multiply to at
    # most its measure: one of them is at most measure^(1/d), reduced or not
    if measure ** (1 / dimension) < MIN_HEIGHT * (1 - MARGIN):
        return Verdict(INVALID, f"lattice too thin for any basis (measure {measure:.3g})")
    verdicts = []
    if cutoff is not None:
        neighbours = len(frame) * _ball(dimension, cutoff) / measure
        if neighbours > MAX_NEIGHBOURS * (1 + MARGIN):
            return Verdict(INVALID, f"cell too small for the cut-off: {neighbours:.3g} neighbours")
        if neighbours > MAX_NEIGHBOURS * (1 - MARGIN):
            verdicts.append(Verdict(UNSURE, f"{neighbours:.3g} neighbours, near the limit"))
    dual = np.linalg.solve(gram, vectors)  # dual[k] . vectors[j] = delta_kj
    heights = 1.0 / np.linalg.norm(dual, axis=1)  # distance of each periodic vector from the others' span
    if heights.min() < MIN_HEIGHT * (1 + MARGIN):
        return worst(Verdict(UNSURE, f"given cell {heights.min():.3g} Å thin: depends on its reduction"), *verdicts)
    closest = _closest_approach(positions, vectors, dual, heights, 2 * MIN_DISTANCE)
    if closest < MIN_DISTANCE * (1 - MARGIN):
        return Verdict(INVALID, f"two atoms {closest:.3g} Å apart through the periodic boundary")
    if closest < MIN_DISTANCE * (1 + MARGIN):
        verdicts.append(Verdict(UNSURE, f"two atoms {closest:.3g} Å apart, near the limit"))
    return worst(*verdicts)


def center_species_verdict(center_species) -> Verdict:
    if center_species is None:
        return Verdict(VALID)
    if (isinstance(center_species, str) or len(center_species) == 0
            or not all(type(z) is int and 1 <= z <= 118 for z in center_species)):
        return Verdict(INVALID, f"center_species={center_species!r}")
    return Verdict(VALID)


def open_directions_verdict(frame) -> Verdict:
    """A potential computes a slab or wire as the 3-D periodic cell of its
    cell vectors (docs/conventions.md, "Periodic structures"): that cell must
    pass the periodic checks, and the atoms must not span it along an open
    direction."""
    pbc = np.asarray(frame.pbc, dtype=bool)
    if not pbc.any() or pbc.all():
        return Verdict(VALID)
    closed = frame.copy()
    closed.pbc = True
    verdict = structure_verdict(closed)
    if verdict.kind == INVALID:
        return verdict
    cell = np.asarray(frame.cell[:], dtype=np.float64)
    if abs(np.linalg.det(cell)) < 1e-6:  # (structure_verdict judged it UNSURE: thin)
        return verdict
    fractional = np.linalg.solve(cell.T, np.asarray(frame.positions).T).T
    extent = np.ptp(fractional[:, ~pbc], axis=0).max()
    if extent > 1 + MARGIN:
        return Verdict(INVALID, f"atoms span {extent:.3g} cells along an open direction")
    if extent > 1 - MARGIN:
        return worst(verdict, Verdict(UNSURE, f"atoms span {extent:.3g} cells along an open direction"))
    return verdict


def input_verdict(calculators, frames, center_species) -> Verdict:
    """Frames and centre species, for every expansion a calculator uses."""
    verdicts = [center_species_verdict(center_species)]
    for calculator in calculators:
        density_like = isinstance(calculator, mslode.DensityExpansion)
        for index, frame in enumerate(frames):
            verdict = structure_verdict(frame, cutoff=calculator.cutoff if density_like else None,
                                        species=calculator.species)
            if not density_like:
                verdict = worst(verdict, open_directions_verdict(frame))
            verdicts.append(Verdict(verdict.kind, f"structure {index}: {verdict.reason}"))
    return worst(*verdicts)


class Outcomes(collections.Counter):
    """(verdict, outcome) counts of one property's examples; each is also a
    hypothesis event (pytest --hypothesis-show-statistics)."""

    def add(self, verdict: Verdict, error: Exception | None = None) -> None:
        self[verdict.kind, "computed" if error is None else "refused"] += 1
        if error is None:
            event(f"computed ({verdict.kind})")
        else:
            kind = re.sub(r"structure \d+|[-+]?\d[\d.e+-]*|\[.*?\]|\(.*?\)|'.*?'", "#", str(error))
            event(f"{type(error).__name__} ({verdict.kind}): {kind[:70]}")

    def require(self, valid: float, invalid: float) -> None:
        """Every example ran, and at least these fractions were judged valid
        (so computed) and invalid (so refused): the judge is not vacuous and
        the property is not satisfied by refusing everything."""
        total = sum(self.values())
        print(dict(self))
        assert total > 0
        assert self[VALID, "computed"] >= valid * total, dict(self)
        assert self[INVALID, "refused"] >= invalid * total, dict(self)
        assert self[VALID, "refused"] == self[INVALID, "computed"] == 0, dict(self)


def check_expansion(calculator, frames, center_species, verdict: Verdict, outcomes: Outcomes):
    """compute() gives finite values of the documented shape if the input is
    valid, a documented error if it is invalid; returns the result or None."""
    try:
        result = calculator.compute(frames, center_species=center_species)
    except DOCUMENTED_ERRORS as error:
        note(f"{type(error).__name__}: {error}")
        outcomes.add(verdict, error)
        assert str(error)
        assert verdict.kind != VALID, f"a valid input was refused: {type(error).__name__}: {error}"
        return None
    outcomes.add(verdict)
    assert verdict.kind != INVALID, f"an invalid input was accepted: {verdict.reason}"
    species = expected_species(calculator, frames)
    n_centers = expected_centers(frames, center_species)
    assert result.values.shape == (n_centers, len(species), calculator.max_radial, (calculator.max_angular + 1) ** 2)
    assert np.isfinite(result.values).all()
    assert list(result.species) == species
    assert result.structure.shape == result.center.shape == result.center_species.shape == (n_centers,)
    return result


def n_invariant_features(invariants, frames) -> int:
    k1 = len(expected_species(invariants.first, frames)) * invariants.first.max_radial
    k2 = len(expected_species(invariants.second, frames)) * invariants.second.max_radial
    pairs = k1 * (k1 + 1) // 2 if invariants.symmetric else k1 * k2
    return pairs * (invariants.first.max_angular + 1)


def check_invariants(invariants, frames, center_species, verdict: Verdict, outcomes: Outcomes):
    try:
        result = invariants.compute(frames, center_species=center_species)
    except DOCUMENTED_ERRORS as error:
        note(f"{type(error).__name__}: {error}")
        outcomes.add(verdict, error)
        assert str(error)
        assert verdict.kind != VALID, f"a valid input was refused: {type(error).__name__}: {error}"
        return None
    outcomes.add(verdict)
    assert verdict.kind != INVALID, f"an invalid input was accepted: {verdict.reason}"
    n_centers = expected_centers(frames, center_species)
    n_features = n_invariant_features(invariants, frames)
    assert result.values.shape == (n_centers, n_features)
    assert result.labels.shape == (n_features, 5)
    assert np.isfinite(result.values).all()
    return result


# Bad values per hyper-parameter; an example corrupts at most one. All are
# refused when the calculator is created, except those of COMPUTE_TIME_ERRORS:
# tables that cannot reach the accuracy, refused at the first compute.
BAD_HYPERS = {
    "cutoff": [0.0, -1.0, float("nan"), float("inf"), "4", None],
    "gaussian_width": [0.0, -0.3, float("nan"), 1e-5],
    "max_radial": [0, 31, 25, 2.5, "3"],
    "max_angular": [-1, 13, 1.5],
    "cutoff_width": [-0.1, 1e3, float("nan")],
    "center_atom_weight": [float("inf"), "1"],
    "species": [(), (1, 1), (0,), "H", (1.5,)],
    "spline_accuracy": [0.0, 0.5, 1e-17],
}
COMPUTE_TIME_ERRORS = {("gaussian_width", 1e-5), ("spline_accuracy", 1e-17)}


@st.composite
def density_hypers(draw) -> tuple:
    """(hyper-parameters, the corrupted (name, value) or None). Uncorrupted
    ones are all valid: the extremes of these ranges compute."""
    cutoff = draw(finite_floats(0.5, 7.0))
    hypers = dict(
        cutoff=cutoff,
        gaussian_width=draw(finite_floats(0.05, 1.5)),
        max_radial=draw(st.integers(1, 10)),
        max_angular=draw(st.integers(0, 8)),
        cutoff_width=draw(finite_floats(0.0, 1.0)) * cutoff,
        center_atom_weight=draw(finite_floats(-2.0, 2.0)),
        species=draw(st.sampled_from([None, None, (1, 6, 8, 16), (1, 8)])),
        spline_accuracy=draw(st.sampled_from([1e-8, 1e-6, 1e-4])),
    )
    corrupt = draw(st.sampled_from([None] * 12 + sorted(BAD_HYPERS)))
    if corrupt is None:
        return hypers, None
    hypers[corrupt] = draw(st.sampled_from(BAD_HYPERS[corrupt]))
    return hypers, (corrupt, hypers[corrupt])


def test_fuzz_density():
    outcomes = Outcomes()

    @fuzz_settings(100)
    @given(hypers=density_hypers(), frames=frame_lists(), center_species=center_species_st)
    def examples(hypers, frames, center_species):
        hypers, corrupted = hypers
        try:
            rho = mslode.DensityExpansion(**hypers)
        except DOCUMENTED_ERRORS as error:
            note(f"{type(error).__name__}: {error}")
            outcomes.add(Verdict(INVALID if corrupted else VALID), error)
            assert corrupted is not None, f"valid hyper-parameters were refused: {type(error).__name__}: {error}"
            return
        assert corrupted is None or corrupted in COMPUTE_TIME_ERRORS, f"{corrupted} was accepted"
        verdict = input_verdict([rho], frames, center_species)
        if corrupted is not None:
            verdict = Verdict(INVALID, f"{corrupted[0]}={corrupted[1]}: tables out of reach")
        result = check_expansion(rho, frames, center_species, verdict, outcomes)
        if result is not None and len(frames) > 1 and len(result.values):
            # batching does not change any row
            alone = rho.compute(frames[-1:], center_species=center_species).values
            rows = result.structure == len(frames) - 1
            if rho.species is not None:
                np.testing.assert_allclose(result.values[rows], alone, rtol=1e-12, atol=1e-300)

    examples()
    outcomes.require(valid=0.1, invalid=0.2)


# PotentialExpansion tables take up to ~0.5 s: a few fixed hyper-parameter
# sets, calculators built once.
POTENTIAL_SETS = [
    dict(cutoff=3.0, gaussian_width=0.3, max_radial=4, max_angular=3),
    dict(cutoff=4.0, gaussian_width=0.5, max_radial=5, max_angular=2, potential_exponent=6, center_atom_weight=0.0),
    dict(cutoff=2.5, gaussian_width=0.2, max_radial=3, max_angular=0, potential_exponent=2, species=(1, 6, 8, 16)),
    dict(cutoff=3.0, gaussian_width=0.3, max_radial=4, max_angular=3, species=(1, 8)),
]


@functools.lru_cache(maxsize=None)
def potential_set(index: int) -> mslode.PotentialExpansion:
    return mslode.PotentialExpansion(**POTENTIAL_SETS[index])


def test_fuzz_potential():
    outcomes = Outcomes()

    @fuzz_settings(60)
    @given(index=st.integers(0, len(POTENTIAL_SETS) - 1),
           frames=st.one_of(frame_lists(periodic=False), frame_lists(periodic=False), frame_lists()),
           center_species=center_species_st)
    def examples(index, frames, center_species):
        calculator = potential_set(index)
        verdict = input_verdict([calculator], frames, center_species)
        check_expansion(calculator, frames, center_species, verdict, outcomes)

    examples()
    outcomes.require(valid=0.1, invalid=0.1)


INVARIANT_SETS = [
    lambda: (density(), density()),  # SOAP power spectrum
    lambda: (density(), potential_set(0)),  # ρ⊗V, l_max 3
    lambda: (potential_set(1), potential_set(1)),  # V⊗V, p = 6
    lambda: (density(max_angular=2, species=(1, 6, 8, 16)), potential_set(1)),
    lambda: (density(max_angular=0, max_radial=3), potential_set(2)),
]


def test_fuzz_invariants():
    outcomes = Outcomes()

    @fuzz_settings(60)
    @given(index=st.integers(0, len(INVARIANT_SETS) - 1), symmetric=st.sampled_from([None, False, True]),
           frames=st.one_of(frame_lists(periodic=False), frame_lists()), center_species=center_species_st)
    def examples(index, symmetric, frames, center_species):
        first, second = INVARIANT_SETS[index]()
        if symmetric and first is not second:
            # symmetric=True needs the same expansion twice
            with pytest.raises(ValueError, match="symmetric=True needs the same expansion twice"):
                mslode.Invariants(first, second, symmetric=symmetric)
            return
        invariants = mslode.Invariants(first, second, symmetric=symmetric)
        verdict = input_verdict({id(c): c for c in (first, second)}.values(), frames, center_species)
        check_invariants(invariants, frames, center_species, verdict, outcomes)

    examples()
    outcomes.require(valid=0.1, invalid=0.1)


# -- property: a defect in one structure of a batch is reported with its index --

@st.composite
def good_structure(draw) -> ase.Atoms:
    """A structure every calculator accepts: atoms on a jittered 1.2 Å grid,
    finite or in a roomy orthorhombic cell."""
    n = draw(st.integers(1, 12))
    grid = np.array(np.meshgrid(range(3), range(3), range(3))).reshape(3, -1).T[:n] * 1.2
    jitter = draw(hnp.arrays(np.float64, (n, 3), elements=finite_floats(0.0, 0.3)))
    numbers = draw(hnp.arrays(np.int32, n, elements=st.sampled_from((1, 6, 8))))
    if draw(st.booleans()):
        return ase.Atoms(numbers=numbers, positions=grid + jitter, cell=np.eye(3) * 4.5, pbc=True)
    return ase.Atoms(numbers=numbers, positions=grid + jitter)


def _defect(frame: ase.Atoms, kind: str) -> ase.Atoms:
    frame = frame.copy()
    if kind == "nan":
        frame.positions[-1, 0] = np.nan
    elif kind == "overlap":
        frame += ase.Atoms("H", positions=[frame.positions[0] + [0.02, 0.0, 0.0]])
    elif kind == "empty":
        frame = ase.Atoms()
    elif kind == "number":
        frame.numbers[0] = 0
    elif kind == "huge":
        frame.positions[0] = [3e8, 0.0, 0.0]
    elif kind == "thin":
        frame.set_cell([[4.5, 0, 0], [0, 4.5, 0], [2.0, 1.0, 0.05]])
        frame.pbc = True
    elif kind == "nan_cell":
        frame.set_cell([[4.5, 0, 0], [0, np.nan, 0], [0, 0, 4.5]])
        frame.pbc = True
    elif kind == "species":
        frame.numbers[0] = 16
    return frame


DEFECT_MESSAGES = {
    "nan": "non-finite position", "overlap": "apart", "empty": "no atoms", "number": "atomic number 0",
    "huge": "from the origin", "thin": "singular or too thin", "nan_cell": "non-finite", "species": r"\[16\] not in",
}


@fuzz_settings(40)
@given(frames=st.lists(good_structure(), min_size=1, max_size=5), data=st.data(),
       kind=st.sampled_from(sorted(DEFECT_MESSAGES)))
def test_defect_names_structure(frames, data, kind):
    rho = density(species=(1, 6, 8))
    verdict = input_verdict([rho], frames, None)
    assert verdict.kind == VALID, verdict.reason
    assert check_expansion(rho, frames, None, verdict, Outcomes()) is not None
    index = data.draw(st.integers(0, len(frames) - 1))
    frames[index] = _defect(frames[index], kind)
    with pytest.raises(ValueError, match=rf"structure {index}\b.*{DEFECT_MESSAGES[kind]}"):
        rho.compute(frames)


# -- threads ----------------------------------------------------------------------

def _thread_frames():
    rng = np.random.default_rng(7)
    frames = []
    for k in range(12):
        n = 6 + k
        grid = np.array(np.meshgrid(range(3), range(3), range(3))).reshape(3, -1).T[:n] * 1.3
        frames.append(ase.Atoms(numbers=rng.choice([1, 6, 8], n), positions=grid + 0.3 * rng.random((n, 3))))
    return frames


def _calculators():
    rho = mslode.DensityExpansion(cutoff=3.5, gaussian_width=0.3, max_radial=5, max_angular=4, species=[1, 6, 8])
    v = mslode.PotentialExpansion(cutoff=3.5, gaussian_width=0.3, max_radial=5, max_angular=4, species=[1, 6, 8])
    return {"density": rho, "potential": v, "rho x V": mslode.Invariants(rho, v), "rho x rho": mslode.Invariants(rho, rho)}


# Thread count and concurrent use may change nothing but floating-point
# summation order; measured: bit-for-bit identical (0 difference).
THREAD_TOLERANCE = 1e-13


def assert_same(got, expected):
    scale = np.max(np.abs(expected)) if expected.size else 1.0
    assert got.shape == expected.shape
    assert np.max(np.abs(got - expected), initial=0.0) <= THREAD_TOLERANCE * scale


def test_one_calculator_many_python_threads():
    frames = _thread_frames()
    periodic = [crystal(2), crystal(1)]
    for name, calculator in _calculators().items():
        batches = [frames[k::4] for k in range(4)]
        if name == "density":
            batches.append(periodic)
        # first use from all threads at once (the table cache fills under a lock)
        with ThreadPoolExecutor(max_workers=len(batches)) as pool:
            concurrent = list(pool.map(lambda b: calculator.compute(b).values, batches))
        serial = [calculator.compute(b).values for b in batches]
        with ThreadPoolExecutor(max_workers=4) as pool:
            repeated = list(pool.map(lambda b: calculator.compute(b).values, batches * 3))
        for k, expected in enumerate(serial):
            assert_same(concurrent[k], expected)
            for r in range(3):
                assert_same(repeated[r * len(batches) + k], expected)


OMP_SCRIPT = textwrap.dedent("""
    import sys, numpy as np
    sys.path.insert(0, {tests!r})
    import test_robustness as t
    frames = t._thread_frames()
    out = {{name: c.compute(frames).values for name, c in t._calculators().items()}}
    out["periodic"] = t._calculators()["density"].compute([t.crystal(2), t.crystal(3)]).values
    np.savez(sys.argv[1], **out)
""")


def test_openmp_thread_count(tmp_path):
    results = {}
    for threads in (1, 2):
        path = tmp_path / f"omp{threads}.npz"
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        script = OMP_SCRIPT.format(tests=os.path.dirname(os.path.abspath(__file__)))
        subprocess.run([sys.executable, "-c", script, str(path)], env=env, check=True, timeout=300)
        results[threads] = dict(np.load(path))
    for name, expected in results[1].items():
        got = results[2][name]
        print(f"{name}: max |1 thread - 2 threads| / max| | = "
              f"{np.max(np.abs(got - expected)) / np.max(np.abs(expected)):.3g}")
        assert_same(got, expected)


# -- Ctrl-C -------------------------------------------------------------------------

INTERRUPT_SCRIPT = textwrap.dedent("""
    import signal, sys, time
    import numpy as np, ase, mslode
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if the parent ignores SIGINT
    # 8 atoms in a 4 Å cube, r_c = 50 Å: ~65 000 neighbours per centre, a few
    # ms each; 16 000 centres take ~40 s on two cores unless interrupted.
    frame = ase.Atoms(numbers=[1, 6, 8, 1, 6, 8, 1, 8], cell=np.eye(3) * 4.0, pbc=True,
                      positions=np.array(np.meshgrid([0, 2], [0, 2], [0, 2])).reshape(3, -1).T)
    rho = mslode.DensityExpansion(cutoff=50.0, gaussian_width=0.3, max_radial=6, max_angular=4, species=[1, 6, 8])
    calculator = mslode.Invariants(rho, rho) if sys.argv[1] == "invariants" else rho
    small = ase.Atoms("OH2", positions=[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])
    calculator.compute(small)  # tables built before the clock starts
    print("computing", flush=True)
    start = time.perf_counter()
    try:
        calculator.compute([frame] * 2000)
        print("finished", time.perf_counter() - start, flush=True)
    except KeyboardInterrupt:
        print("interrupted", time.perf_counter() - start, flush=True)
        values = calculator.compute(small).values  # still usable
        print("usable", bool(np.isfinite(values).all()), flush=True)
""")


@pytest.mark.parametrize("kind", ["expansion", "invariants"])
def test_ctrl_c_stops_a_long_compute(kind):
    """SIGINT half a second into a compute of tens of seconds raises
    KeyboardInterrupt out of it, before it finishes, and the calculator
    still works. (A compute that ignores the signal prints "finished" or
    runs into the 30 s timeout.) How fast it stops is measured by
    benchmarks/bench_density.py --robustness."""
    process = subprocess.Popen([sys.executable, "-c", INTERRUPT_SCRIPT, kind], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "computing", process.stderr.read()
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    lines = dict(line.split(" ", 1) for line in stdout.split("\n") if " " in line)
    assert "interrupted" in lines and "finished" not in lines, (stdout, stderr)
    assert process.returncode == 0, stderr
    assert lines["usable"] == "True"


# -- memory ---------------------------------------------------------------------------

MEMORY_SCRIPT = textwrap.dedent("""
    import resource, numpy as np, ase, mslode
    molecule = ase.Atoms("OH2", positions=[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])
    # 60 species x 19 radial x 13 l: 8.4 million invariants per centre
    rho = mslode.DensityExpansion(cutoff=4.0, gaussian_width=0.3, max_radial=19, max_angular=12,
                                  species=list(range(1, 61)))
    small = mslode.DensityExpansion(cutoff=4.0, gaussian_width=0.3, max_radial=4, max_angular=12, species=[1, 8])
    rho.compute(molecule)
    mslode.Invariants(small, small).compute(molecule)  # OpenMP threads exist before the limit
    status = open("/proc/self/status").read()
    vm = int(status.split("VmSize:")[1].split()[0]) * 1024
    resource.setrlimit(resource.RLIMIT_AS, (vm + 150 * 2**20, resource.RLIM_INFINITY))
    for symmetric in (True, False):
        try:
            mslode.Invariants(rho, rho, symmetric=symmetric).compute(molecule[:1])
            print("no error")
        except MemoryError as error:
            print("MemoryError", type(error).__name__, error)
    print("usable", bool(np.isfinite(mslode.Invariants(small, small).compute(molecule).values).all()))
""")


@pytest.mark.skipif(UNDER_ASAN, reason="AddressSanitizer reserves terabytes of address space: RLIMIT_AS unusable")
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and RLIMIT_AS")
def test_out_of_memory_is_memory_error():
    """With the address space capped, an allocation that does not fit is a
    MemoryError (C++ std::bad_alloc, or NumPy's), and the process goes on."""
    done = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 3 and all(line.startswith("MemoryError") for line in lines[:2]), done.stdout
    assert "std::bad_alloc" in done.stdout  # one of them comes from C++
    assert lines[2] == "usable True"


if __name__ == "__main__":  # the table of docs/robustness.md
    print("| bad input | exception | message (excerpt) |")
    print("| --- | --- | --- |")
    for what, call, _, _ in BAD_INPUTS:
        try:
            call()
            outcome, message = "nothing (bug)", ""
        except Exception as error:  # noqa: BLE001
            outcome, message = type(error).__name__, str(error)
        message = re.sub(r"(\w+Expansion)\([^)]*\)", r"\1(...)", message)  # the calculator's repr
        if len(message) > 200:
            message = message[:197] + "..."
        message = message.replace("|", "\\|")
        print(f"| {what} | `{outcome}` | {message} |")
