"""Conversion of ASE structures into the flat arrays the C++ core reads, with
the input checks that turn bad data into clear exceptions."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable, Sequence, Union

import numpy as np

from . import _core

try:  # ASE is a dependency, but keep the import error readable
    import ase
    import ase.geometry
except ImportError as error:  # pragma: no cover
    raise ImportError("mslode needs ASE: pip install ase") from error

Frames = Union["ase.Atoms", Sequence["ase.Atoms"]]

#: Two atoms closer than this (Å) are treated as a broken structure.
MIN_INTERATOMIC_DISTANCE = 0.1
#: Smallest accepted cell height along a periodic direction (Å).
MIN_CELL_HEIGHT = 0.5
#: Largest accepted |coordinate| and periodic cell-vector length (Å): beyond
#: it, wrapping into the cell loses more than ~1e-8 Å (and it is usually a
#: unit error).
MAX_COORDINATE = 1e8
#: Largest accepted mean number of atoms within the cut-off of a centre,
#: periodic images included, estimated as n_atoms × (ball of radius r_c) /
#: (cell volume) in the periodic directions. More means a cell far smaller
#: than the cut-off (often wrong units) and minutes per structure.
MAX_NEIGHBOURS_PER_CENTER = 100_000


@dataclass(frozen=True)
class FrameBatch:
    """Concatenated structures, ready for the C++ core."""

    positions: np.ndarray  # (n_atoms, 3)
    types: np.ndarray  # (n_atoms,)
    offsets: np.ndarray  # (n_structures + 1,)
    cells: np.ndarray  # (n_structures, 3, 3)
    pbc: np.ndarray  # (n_structures, 3)

    @property
    def n_structures(self) -> int:
        return len(self.offsets) - 1

    def core_batch(self, centers: np.ndarray) -> "_core.Batch":
        return _core.Batch(self.positions, self.types, self.offsets, self.cells, self.pbc, centers)


def as_frame_list(frames: Frames) -> list:
    """Accept one ``ase.Atoms`` or an iterable of them; return a list."""
    if isinstance(frames, ase.Atoms):
        return [frames]
    if isinstance(frames, (str, bytes)) or not isinstance(frames, Iterable):
        raise TypeError(f"frames must be an ase.Atoms or a list of them, got {type(frames).__name__}")
    frames = list(frames)
    if len(frames) == 0:
        raise ValueError("frames is empty: give at least one structure")
    for index, frame in enumerate(frames):
        if not isinstance(frame, ase.Atoms):
            raise TypeError(f"structure {index} is a {type(frame).__name__}, not an ase.Atoms")
    return frames


_NO_CELL = np.zeros((3, 3))


def _check_cell(index: int, cell: np.ndarray, pbc: np.ndarray) -> np.ndarray:
    """Checks of one structure's cell; returns the cell the core should use."""
    if not np.all(np.isfinite(cell)):
        raise ValueError(f"structure {index}: the cell has non-finite entries")
    if not pbc.any():
        return cell
    vectors = cell[pbc]
    if np.any(np.linalg.norm(vectors, axis=1) == 0.0):
        raise ValueError(f"structure {index}: periodic along a direction whose cell vector is zero")
    if np.linalg.norm(vectors, axis=1).max() > MAX_COORDINATE:
        raise ValueError(
            f"structure {index}: a periodic cell vector is {np.linalg.norm(vectors, axis=1).max():.3g} Å long "
            f"(limit {MAX_COORDINATE:.0e} Å); wrong units?"
        )
    heights = _periodic_heights(cell, pbc)
    if np.any(heights < MIN_CELL_HEIGHT):
        # perhaps only an oblique description of a good lattice: reduce it
        # (only then: the reduction costs more than the whole check)
        cell = _reduced_cell(cell, pbc)
        heights = _periodic_heights(cell, pbc)
    if np.any(heights < MIN_CELL_HEIGHT):
        raise ValueError(
            f"structure {index}: the cell is singular or too thin (height {heights.min():.3g} Å "
            f"along a periodic direction, minimum {MIN_CELL_HEIGHT} Å)"
        )
    return cell


def _check_atoms(positions: np.ndarray, numbers: np.ndarray, offsets: np.ndarray) -> None:
    """Checks of all atoms of a batch at once (one pass, not one per frame);
    errors name the structure and its atom."""

    def locate(flat_index: int) -> tuple[int, int]:
        structure = int(np.searchsorted(offsets, flat_index, side="right") - 1)
        return structure, flat_index - int(offsets[structure])

    finite = np.isfinite(positions).all(axis=1)
    if not finite.all():
        s, a = locate(int(np.argmin(finite)))
        raise ValueError(f"structure {s}: atom {a} has a non-finite position")
    distance = np.abs(positions).max(axis=1)
    if distance.max() > MAX_COORDINATE:
        s, a = locate(int(np.argmax(distance)))
        raise ValueError(
            f"structure {s}: atom {a} is at {distance.max():.3g} Å from the origin "
            f"(limit {MAX_COORDINATE:.0e} Å); wrong units?"
        )
    bad_number = (numbers < 1) | (numbers > _core.MAX_ATOMIC_NUMBER)
    if bad_number.any():
        flat = int(np.argmax(bad_number))
        s, a = locate(flat)
        raise ValueError(
            f"structure {s}: atom {a} has atomic number {numbers[flat]}; atomic numbers must be in 1..{_core.MAX_ATOMIC_NUMBER}"
        )


def _reduced_cell(cell: np.ndarray, pbc: np.ndarray) -> np.ndarray:
    """The Minkowski-reduced basis of the same periodic lattice (non-periodic
    vectors untouched). The thickness check then depends on the lattice, not
    on how oblique the given basis is (a sheared description of a good crystal
    used to be rejected as 'too thin'), and the cell list gets its most compact
    cell; the features are the same for any basis of the lattice."""
    heights = _periodic_heights(cell, pbc)
    scale = np.linalg.norm(cell[pbc], axis=1).max()
    if not np.all(heights > 1e-9 * scale):
        return cell  # singular: rejected by the caller, do not try to reduce it
    try:
        reduced = np.asarray(ase.geometry.minkowski_reduce(cell, pbc=pbc)[0], dtype=np.float64)
    except Exception:  # pragma: no cover - keep the given basis if ASE cannot reduce it
        return cell
    return np.ascontiguousarray(reduced.reshape(3, 3))


def _periodic_heights(cell: np.ndarray, pbc: np.ndarray) -> np.ndarray:
    """Spacing of the lattice planes along each periodic direction, within the
    lattice of the periodic vectors alone (3-D, slab or wire): the distance of
    each periodic vector from the span of the other periodic ones. Vectors of
    non-periodic directions play no part (they may be zero, tilted, or even
    lie in the plane of the periodic ones)."""
    if pbc.all():
        # fully periodic: volume over face area, no factorisation needed
        faces = np.linalg.norm(np.cross(np.roll(cell, -1, axis=0), np.roll(cell, -2, axis=0)), axis=1)
        volume = abs(np.linalg.det(cell))
        return np.where(faces > 0, volume / np.where(faces > 0, faces, 1.0), 0.0)
    periodic = [k for k in range(3) if pbc[k]]
    heights = []
    for k in periodic:
        others = np.array([cell[j] for j in periodic if j != k]).reshape(-1, 3)
        vector = cell[k]
        if len(others):
            # (if the others are parallel, the height of one of them is 0 and
            # the structure is rejected anyway)
            basis, _ = np.linalg.qr(others.T)
            vector = vector - basis @ (basis.T @ vector)
        heights.append(float(np.linalg.norm(vector)))
    return np.asarray(heights)


def to_batch(frames: list) -> FrameBatch:
    """Stack checked structures into one :class:`FrameBatch`."""
    positions, numbers, cells, pbcs = [], [], [], []
    offsets = [0]
    for index, frame in enumerate(frames):
        if len(frame) == 0:
            raise ValueError(f"structure {index} has no atoms")
        positions.append(frame.arrays["positions"])
        numbers.append(frame.arrays["numbers"])
        pbc = np.asarray(frame.pbc, dtype=bool)
        if pbc.any():
            cells.append(_check_cell(index, np.asarray(frame.cell[:], dtype=np.float64), pbc))
        else:
            cells.append(_NO_CELL)  # a finite structure's cell plays no part
        pbcs.append(pbc)
        offsets.append(offsets[-1] + len(frame))
    batch = FrameBatch(
        positions=np.ascontiguousarray(np.concatenate(positions), dtype=np.float64),
        types=np.ascontiguousarray(np.concatenate(numbers), dtype=np.int32),
        offsets=np.asarray(offsets, dtype=np.int64),
        cells=np.ascontiguousarray(np.stack(cells)),
        pbc=np.ascontiguousarray(np.stack(pbcs)),
    )
    _check_atoms(batch.positions, np.concatenate(numbers), batch.offsets)
    close = _core.find_close_pair(batch.core_batch(np.zeros((0, 2), dtype=np.int32)), MIN_INTERATOMIC_DISTANCE)
    if close is not None:
        s, i, j, d = close
        raise ValueError(
            f"structure {s}: atoms {i} and {j} are {d:.3g} Å apart (closer than {MIN_INTERATOMIC_DISTANCE} Å); "
            "overlapping atoms usually mean a broken structure"
        )
    return batch


def check_periodic_images(batch: FrameBatch, cutoff: float) -> None:
    """Refuse structures whose cell is so small for ``cutoff`` that a centre
    would see more than :data:`MAX_NEIGHBOURS_PER_CENTER` atoms (periodic
    images included)."""
    ball = {1: lambda r: 2.0 * r, 2: lambda r: np.pi * r**2, 3: lambda r: 4.0 * np.pi / 3.0 * r**3}
    for s in range(batch.n_structures):
        pbc = batch.pbc[s]
        if not pbc.any():
            continue
        vectors = batch.cells[s][pbc]
        measure = float(np.sqrt(abs(np.linalg.det(vectors @ vectors.T))))  # length, area or volume
        n_atoms = int(batch.offsets[s + 1] - batch.offsets[s])
        expected = n_atoms * ball[int(pbc.sum())](cutoff) / measure
        if expected > MAX_NEIGHBOURS_PER_CENTER:
            raise ValueError(
                f"structure {s}: the cell is too small for a cut-off of {cutoff:g} Å: each centre would see about "
                f"{expected:.3g} atoms, periodic images included (limit {MAX_NEIGHBOURS_PER_CENTER}); "
                "check the units of the cell and the cut-off"
            )


def check_open_directions(batch: FrameBatch) -> None:
    """Structures periodic along only some directions (slabs, wires) whose
    potential is computed as the 3-D periodic cell their cell vectors give
    (docs/conventions.md, "Periodic structures"): that cell must be a valid
    periodic cell (heights, no atom overlapping an image across the
    vacuum), and the atoms must leave room along the open directions."""
    mixed = batch.pbc.any(axis=1) & ~batch.pbc.all(axis=1)
    if not mixed.any():
        return
    closed = batch.pbc.copy()
    for s in np.flatnonzero(mixed):
        cell = batch.cells[s]
        for k in np.flatnonzero(~batch.pbc[s]):
            if not np.linalg.norm(cell[k]) > 0.0:
                raise ValueError(
                    f"structure {s}: the cell vector along non-periodic direction {k} is zero; a slab or wire is "
                    "computed as the 3-D periodic cell of its cell vectors: give it one that holds the vacuum "
                    f"(ase: atoms.center(vacuum=..., axis={k}))"
                )
        try:
            _check_cell(int(s), cell, np.ones(3, dtype=bool))
        except ValueError as error:
            raise ValueError(
                f"{error} (a slab or wire is computed as the 3-D periodic cell of its cell vectors: give the "
                "open directions cell vectors that hold the vacuum, e.g. ase's atoms.center(vacuum=..., axis=...))"
            ) from None
        positions = batch.positions[batch.offsets[s] : batch.offsets[s + 1]]
        fractional = np.linalg.solve(cell.T, positions.T).T
        for k in np.flatnonzero(~batch.pbc[s]):
            extent = np.ptp(fractional[:, k])
            if extent >= 1.0:
                raise ValueError(
                    f"structure {s}: the atoms span {extent:.3g} times the cell along non-periodic direction {k}: "
                    f"give that cell vector room for vacuum (ase: atoms.center(vacuum=..., axis={k}))"
                )
        closed[s] = True
    closed_batch = replace(batch, pbc=np.ascontiguousarray(closed))
    close = _core.find_close_pair(closed_batch.core_batch(np.zeros((0, 2), dtype=np.int32)), MIN_INTERATOMIC_DISTANCE)
    if close is not None:
        s, i, j, d = close
        raise ValueError(
            f"structure {s}: atoms {i} and {j} are {d:.3g} Å apart across the vacuum of the cell (closer than "
            f"{MIN_INTERATOMIC_DISTANCE} Å): a slab or wire is computed as the 3-D periodic cell of its cell vectors"
        )


def select_centers(batch: FrameBatch, center_species: Sequence[int] | None) -> np.ndarray:
    """(structure, atom) pairs of the centres, in structure then atom order."""
    structure = np.repeat(np.arange(batch.n_structures, dtype=np.int32), np.diff(batch.offsets))
    atom = np.arange(len(batch.types), dtype=np.int64) - np.repeat(batch.offsets[:-1], np.diff(batch.offsets))
    keep = np.ones(len(batch.types), dtype=bool)
    if center_species is not None:
        keep = np.isin(batch.types, np.asarray(list(center_species), dtype=np.int32))
    return np.ascontiguousarray(np.stack([structure[keep], atom[keep].astype(np.int32)], axis=1), dtype=np.int32)
