"""Targets, groups and fragment labels of a fit: from arrays or by name
from the structures, checked (lengths, shapes, NaN) with messages that say
what is wrong.

A target is one of three kinds, told apart by its shape: a scalar per
structure (n,), a vector (n, 3) or a rank-2 tensor (n, 3, 3), also given as
(n, 9) row by row (per atom: the same with n the number of atoms). Vectors and tensors are fitted as their
spherical components (:mod:`mslode.tensors`), one block per (λ, parity)
with the same weights for every μ; :meth:`Target.spherical` gives those
blocks: the estimators fit vectors and tensors on equivariant features.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from .. import tensors
from ..io import read_labels, read_property

#: Target kinds, by the shape of one structure's (or atom's) value.
KINDS = {(): "scalar", (3,): "vector", (3, 3): "rank2"}


@dataclass(frozen=True)
class Target:
    """Checked target values.

    Attributes
    ----------
    values : ndarray, (n_rows,), (n_rows, 3) or (n_rows, 3, 3)
        One row per structure, or per atom when ``per_atom``.
    kind : str
        ``"scalar"``, ``"vector"`` or ``"rank2"``.
    per_atom : bool
    """

    values: np.ndarray
    kind: str
    per_atom: bool

    def spherical(self) -> dict:
        """The target as spherical blocks ``{(lambda_, parity): (n_rows, 2λ+1)}``
        (``docs/conventions.md``, "Cartesian tensors"); a scalar is ``{(0, 1): (n_rows, 1)}``."""
        if self.kind == "scalar":
            return {(0, 1): self.values[:, None]}
        if self.kind == "vector":
            return {tensors.VECTOR_KEY: tensors.vector_to_spherical(self.values)}
        return tensors.rank2_to_spherical(self.values)

    def require_scalar(self, estimator: str) -> np.ndarray:
        """The values of a scalar target; a vector or tensor is a ValueError
        (for estimators that fit scalars only)."""
        if self.kind != "scalar":
            shape = "(n, 3)" if self.kind == "vector" else "(n, 3, 3)"
            raise ValueError(
                f"{estimator} fits scalar targets (one number per {'atom' if self.per_atom else 'structure'}); a "
                f"{self.kind} target {shape} is fitted by mslode.Ridge on equivariant features (mslode.Equivariants)"
            )
        return self.values


def read_target(
    frames: list, y: Any, *, per_atom: bool = False, centers: Optional[np.ndarray] = None
) -> Target:
    """The target of a fit.

    Parameters
    ----------
    frames : list of ase.Atoms
    y : array-like or str
        Values, or the name of a property (``atoms.info`` / ``atoms.arrays``
        or the attached calculator's results, see :func:`mslode.io.read_property`).
        Per structure: (n_structures,), (n_structures, 3) or (n_structures, 3, 3).
        Per atom: the atoms of all structures in order, (n_atoms_total, ...),
        or one array per structure.
    per_atom : bool
    centers : ndarray of bool, (n_atoms_total,), optional
        Per atom, which atoms are centres: only their values are kept (and
        checked).
    """
    n_structures = len(frames)
    n_atoms = sum(len(f) for f in frames)
    where = "atoms" if per_atom else "structures"
    if isinstance(y, str):
        values = read_property(frames, y, per_atom=per_atom)
        name = f"target {y!r}"
    else:
        if y is None:
            raise ValueError("y is None: give target values or the name of a property of the structures")
        name = "y"
        if per_atom and isinstance(y, (list, tuple)) and len(y) == n_structures and n_structures != n_atoms:
            parts = [np.asarray(v) for v in y]
            for index, (part, frame) in enumerate(zip(parts, frames)):
                if len(part) != len(frame):
                    raise ValueError(f"y[{index}] has {len(part)} values for the {len(frame)} atoms of structure {index}")
            values = np.concatenate(parts) if parts else np.zeros(0)
        else:
            values = np.asarray(y)
    if values.dtype == object or values.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numbers, got dtype {values.dtype}")
    values = values.astype(np.float64)
    expected = n_atoms if per_atom else n_structures
    if values.ndim == 0 or len(values) != expected:
        got = "a scalar" if values.ndim == 0 else f"{len(values)} rows"
        raise ValueError(f"{name} has {got}, but there are {expected} {where}")
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim == 2 and values.shape[1] == 9:  # a 3×3 tensor row by row, as extxyz stores it in info
        values = values.reshape(len(values), 3, 3)
    kind = KINDS.get(values.shape[1:])
    if kind is None:
        raise ValueError(
            f"{name} has shape {values.shape}: expected ({expected},) scalars, ({expected}, 3) vectors or "
            f"({expected}, 3, 3) rank-2 tensors"
        )
    if centers is not None:
        values = values[centers]
    bad = ~np.isfinite(values.reshape(len(values), -1)).all(axis=1)
    if bad.any():
        first = int(np.argmax(bad))
        if per_atom and centers is not None:
            first = int(np.flatnonzero(centers)[first])
        raise ValueError(f"{name} is not finite (NaN or inf) for {int(bad.sum())} {where}, the first at index {first}")
    return Target(values=np.ascontiguousarray(values), kind=kind, per_atom=per_atom)


def read_groups(frames: list, groups: Any) -> Optional[np.ndarray]:
    """Group labels of the structures (for grouped cross-validation), from
    an array or an ``atoms.info`` key; None stays None."""
    if groups is None:
        return None
    if isinstance(groups, str):
        return read_labels(frames, groups)
    values = np.asarray(groups)
    if values.ndim != 1 or len(values) != len(frames):
        raise ValueError(f"groups must have one label per structure ({len(frames)}), got shape {values.shape}")
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        raise ValueError("groups contains NaN or inf")
    return values


def check_fragment_key(frames: list, key: Any) -> Optional[str]:
    """The name of the per-atom fragment labels, checked to exist in every structure."""
    if key is None:
        return None
    if not isinstance(key, str):
        raise TypeError(f"fragments must be the name of a per-atom array (atoms.arrays[name]), got {type(key).__name__}")
    read_labels(frames, key, per_atom=True)
    return key
