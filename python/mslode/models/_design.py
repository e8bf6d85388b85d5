"""From structures to the rows a model fits: per-atom features of the
calculators, fragments, per-structure sums per central species, and the
species a fitted model is fixed to.

:func:`structure_sums` is the one place where per-structure sums are made
from a calculator's features (one chunk of structures at a time). Calculators
that can sum in the core (``compute(frames, reduce="structure")``) do so
(:data:`USE_CORE_REDUCTION`): per-centre rows are never stored, and the
core adds them in a fixed order (runs of 32 centres, then the runs of a
structure in order), so a structure's sums are the same bits on every call,
with any number of threads and whatever else is in the batch, as a model's
predictions must be (and after a save and load).
Fragments need per-atom rows (the difference is taken atom by atom, so that
it is exactly zero when an atom's environment is the same in the whole and
in its fragment) and go through :func:`environments`.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Iterator, Optional, Sequence

import numpy as np
import scipy.sparse

from ..io import read_labels


# -- calculators ------------------------------------------------------------

def _is_expansion(calculator: Any) -> bool:
    return hasattr(calculator, "get_params") and "species" in calculator.get_params(deep=False) and hasattr(
        calculator, "max_radial"
    )


def _nested(calculator: Any) -> list:
    """The calculators inside ``calculator`` (Invariants' first and second), itself for an expansion."""
    if _is_expansion(calculator):
        return [calculator]
    found = []
    for value in calculator.get_params(deep=False).values():
        if hasattr(value, "get_params") and hasattr(value, "compute"):
            found.extend(_nested(value))
    return found


def check_calculators(features: Any, estimator: str) -> list:
    """``features`` as a non-empty list of calculators."""
    if hasattr(features, "compute"):
        raise TypeError(f"{estimator}: features must be a list of calculators, e.g. features=[mslode.Invariants(rho, V)]")
    if isinstance(features, (str, bytes)) or not hasattr(features, "__iter__"):
        raise TypeError(f"{estimator}: features must be a list of calculators, got {type(features).__name__}")
    features = list(features)
    if not features:
        raise ValueError(f"{estimator}: features is empty: give at least one calculator")
    for index, calculator in enumerate(features):
        if not (hasattr(calculator, "compute") and hasattr(calculator, "get_params")):
            raise TypeError(f"{estimator}: features[{index}] is a {type(calculator).__name__}, not an mslode calculator")
    return features


def with_species(calculator: Any, species: Sequence[int]) -> Any:
    """A copy of ``calculator`` whose expansions with ``species=None`` have
    their channels fixed to ``species`` (expansions given fixed channels keep
    them). Shared expansions stay shared (``Invariants(rho, rho)``)."""
    memo: dict[int, Any] = {}

    def fixed(calc: Any) -> Any:
        if id(calc) in memo:
            return memo[id(calc)]
        params = calc.get_params(deep=False)
        if _is_expansion(calc):
            if params["species"] is None:
                params["species"] = sorted(int(z) for z in species)
        else:
            params = {k: fixed(v) if hasattr(v, "get_params") and hasattr(v, "compute") else v for k, v in params.items()}
        memo[id(calc)] = out = type(calc)(**params)
        return out

    return fixed(calculator)


def invariant_companion(calculator: Any) -> Any:
    """The invariants of the expansions an equivariant couples (its ν = 1
    expansion alone for ``Equivariants(rho)``): the scalar factor of a
    λ-kernel with ζ > 1."""
    second = calculator.second
    if second is None:
        return calculator.first
    from ..couplings import Invariants

    return Invariants(calculator.first, second)


def channel_species(calculator: Any) -> set:
    """Atomic numbers every expansion of a (species-fixed) calculator accepts."""
    allowed: Optional[set] = None
    for expansion in _nested(calculator):
        species = expansion.species
        if species is None:
            continue
        allowed = set(species) if allowed is None else allowed & set(species)
    return allowed if allowed is not None else set()


def training_species(frames: list) -> list:
    return sorted({int(z) for frame in frames for z in np.unique(frame.numbers)})


def central_species(frames: list, center_species: Optional[Sequence[int]]) -> list:
    """The central species of the training set (restricted to ``center_species``)."""
    present = training_species(frames)
    if center_species is None:
        return present
    return sorted(int(z) for z in center_species)


def check_species(frames: list, species: Sequence[int], allowed: set, center_species: Optional[Sequence[int]]) -> None:
    """Before predicting: every centre has a species the model has weights for
    and every atom one that the fitted calculators have channels for."""
    known = set(int(z) for z in species)
    for index, frame in enumerate(frames):
        present = {int(z) for z in np.unique(frame.numbers)}
        outside = sorted(present - allowed)
        if outside:
            raise ValueError(
                f"structure {index} contains species {outside} that the model was not trained with: its features "
                f"have channels for {sorted(allowed)}"
            )
        centres = present if center_species is None else present & set(int(z) for z in center_species)
        unseen = sorted(centres - known)
        if unseen:
            raise ValueError(
                f"structure {index} has central atoms of species {unseen}, unseen in training: the model has "
                f"weights for central species {sorted(known)}"
            )


def check_center_species(center_species: Any) -> Optional[list]:
    if center_species is None:
        return None
    if isinstance(center_species, (str, bytes)) or not hasattr(center_species, "__iter__"):
        raise TypeError(f"center_species must be None or a list of atomic numbers, got {center_species!r}")
    values = [int(z) for z in center_species]
    if not values or len(set(values)) != len(values) or min(values) < 1:
        raise ValueError(f"center_species must be distinct atomic numbers, got {list(center_species)}")
    return sorted(values)


# -- per-atom rows ----------------------------------------------------------

@dataclass(frozen=True)
class AtomicRows:
    """One calculator's features, one row per centre."""

    values: np.ndarray  # (n_centers, n_features), or (n_centers, 2λ+1, n_features)
    structure: np.ndarray  # (n_centers,)
    center: np.ndarray  # (n_centers,)
    center_species: np.ndarray  # (n_centers,)


def feature_key(calculator: Any) -> tuple[int, int]:
    """The ``(lambda_, parity)`` of the spherical target block a calculator's
    features can model: ``(0, 1)`` for invariants and expansions (their ν = 1
    invariants), the equivariant's own order and parity otherwise."""
    if hasattr(calculator, "lambda_") and hasattr(calculator, "parity"):
        return int(calculator.lambda_), int(calculator.parity)
    return 0, 1


def _as_matrix(result: Any, calculator: Any, components: int = 1) -> np.ndarray:
    """The features of a calculator's result as (n_rows, n_features) for
    invariant rows (``components=1``): invariants as they are, expansions by
    their ν = 1 invariants (l = 0), λ = 0 equivariants without their μ axis;
    or as (n_rows, components, n_features) for equivariants of order λ with
    2λ + 1 = ``components``."""
    if components > 1:
        values = np.asarray(result.values)
        if values.ndim != 3 or values.shape[1] != components:
            raise TypeError(
                f"{calculator!r} gives features of shape {values.shape[1:]} per centre: a block of "
                f"{components} components needs equivariants of order λ = {(components - 1) // 2}"
            )
        return values
    if hasattr(result, "invariants") and np.ndim(result.values) == 4:
        return result.invariants()[0]
    values = np.asarray(result.values)
    if values.ndim == 2:
        return values
    if values.ndim == 3 and values.shape[1] == 1:
        return values[:, 0, :]
    raise TypeError(
        f"{calculator!r} gives features of shape {values.shape[1:]} per centre: scalar targets need invariant "
        "features (Invariants, an expansion's l = 0 part, or λ = 0 equivariants)"
    )


def atomic_features(
    calculator: Any, frames: list, center_species: Optional[Sequence[int]] = None, components: int = 1
) -> AtomicRows:
    """Per-centre features of ``frames`` (float64, C order): invariant rows
    (n_centers, n_features), or (n_centers, components, n_features) (see :func:`_as_matrix`)."""
    result = calculator.compute(frames, center_species=center_species)
    return AtomicRows(
        values=np.ascontiguousarray(_as_matrix(result, calculator, components), dtype=np.float64),
        structure=np.asarray(result.structure, dtype=np.int64),
        center=np.asarray(result.center, dtype=np.int64),
        center_species=np.asarray(result.center_species, dtype=np.int64),
    )


def sum_rows(values: np.ndarray, rows: np.ndarray, n_rows: int, weights: Optional[np.ndarray] = None) -> np.ndarray:
    """``out[r] = Σ_{k: rows[k] = r} weights[k] values[k]`` (the same numbers
    as ``np.add.at``, added in the same order, through a sparse product);
    ``values`` may have any trailing shape."""
    weights = np.ones(len(rows)) if weights is None else weights
    matrix = scipy.sparse.csr_matrix((weights, (rows, np.arange(len(rows)))), shape=(n_rows, len(rows)))
    flat = values.reshape(len(values), int(np.prod(values.shape[1:])))
    return np.asarray(matrix @ flat).reshape((n_rows,) + values.shape[1:])


def _supports_reduce(calculator: Any) -> bool:
    try:
        return "reduce" in inspect.signature(calculator.compute).parameters
    except (TypeError, ValueError):  # pragma: no cover
        return False


#: Whether :func:`structure_sums` lets calculators that can sum per structure
#: in the core do so (their sums are reproducible bit for bit);
#: ``tests/test_models.py`` checks that both paths agree to round-off.
USE_CORE_REDUCTION = True


def structure_sums(
    calculator: Any,
    frames: list,
    species: Sequence[int],
    center_species: Optional[Sequence[int]] = None,
    *,
    components: int = 1,
    use_core: Optional[bool] = None,
) -> np.ndarray:
    """Per-structure sums of a calculator's features, one block per central species.

    The seam between calculators and linear models: ``out[s, k]`` is the sum
    of the features of the centres of species ``species[k]`` in structure s
    (zeros if it has none).

    Parameters
    ----------
    calculator : calculator with invariant features
    frames : list of ase.Atoms
    species : list of int
        Central species of the blocks, in this order; every centre must have
        one of them.
    center_species : list of int, optional
        Only atoms of these species are centres (default: all atoms).
    components : int
        1 for invariant features; 2λ + 1 for equivariants of order λ.
    use_core : bool, optional
        Sum in the core when the calculator can (default:
        :data:`USE_CORE_REDUCTION`); otherwise per-centre rows are summed
        here, in a fixed order.

    Returns
    -------
    ndarray, (n_structures, len(species), n_features), or
    (n_structures, len(species), components, n_features)
    """
    species = np.asarray(list(species), dtype=np.int64)
    n = len(frames)
    core = USE_CORE_REDUCTION if use_core is None else use_core
    if core and _supports_reduce(calculator):
        # summed in the core: per-centre rows are never stored
        requested = species.tolist() if center_species is None else sorted(set(species.tolist()) & set(center_species))
        result = calculator.compute(frames, center_species=requested, reduce="structure")
        values = _as_matrix(result, calculator, components)
        out = np.zeros((n, len(species)) + values.shape[1:])
        block = np.searchsorted(species, np.asarray(result.center_species))
        out[np.asarray(result.structure), block] = values
        return out
    rows = atomic_features(calculator, frames, center_species, components)
    block = np.searchsorted(species, rows.center_species)
    if np.any(block >= len(species)) or np.any(species[np.minimum(block, len(species) - 1)] != rows.center_species):
        raise ValueError(f"a centre has a species outside {species.tolist()}")
    summed = sum_rows(rows.values, rows.structure * len(species) + block, n * len(species))
    return summed.reshape((n, len(species)) + rows.values.shape[1:])


@dataclass(frozen=True)
class Environments:
    """The centres of some structures and their features under every
    calculator; with fragments, also the features of the same atoms in their
    fragment computed alone (same positions)."""

    features: list  # per calculator, (n_env, F_c), or (n_env, 2λ+1, F_c)
    reference: Optional[list]  # the same shapes, or None without fragments
    structure: np.ndarray  # (n_env,)
    center: np.ndarray  # (n_env,)
    species: np.ndarray  # (n_env,) central species


def split_fragments(frames: list, key: str) -> tuple[list, np.ndarray, list]:
    """Each structure cut into its fragments (atoms sharing ``atoms.arrays[key]``).

    Returns
    -------
    fragments : list of ase.Atoms
        Same positions, cell and pbc as their parent.
    parent : ndarray of int, (n_fragments,)
        The structure each fragment comes from.
    atoms : list of ndarray of int
        For each fragment, the indices of its atoms in the parent.
    """
    pieces, parent, atoms = [], [], []
    for index, frame in enumerate(frames):
        labels = read_labels([frame], key, per_atom=True)
        for label in np.unique(labels):
            members = np.flatnonzero(labels == label)
            piece = frame[members]
            piece.calc = None
            pieces.append(piece)
            parent.append(index)
            atoms.append(members)
    return pieces, np.asarray(parent, dtype=np.int64), atoms


def environments(
    calculators: list,
    frames: list,
    center_species: Optional[Sequence[int]],
    fragments: Optional[str],
    components: Any = 1,
) -> Environments:
    """Per-centre features of ``frames`` for every calculator (and of the
    fragments alone, aligned atom by atom, when ``fragments`` names the labels);
    ``components`` is one count for all calculators or one per calculator."""
    components = [components] * len(calculators) if np.ndim(components) == 0 else list(components)
    rows = [atomic_features(c, frames, center_species, m) for c, m in zip(calculators, components)]
    first = rows[0]
    for other in rows[1:]:
        if not np.array_equal(other.structure, first.structure) or not np.array_equal(other.center, first.center):
            raise ValueError("the calculators do not give the same centres")  # pragma: no cover
    reference = None
    if fragments is not None:
        pieces, parent, members = split_fragments(frames, fragments)
        offsets = np.concatenate([[0], np.cumsum([len(f) for f in frames])])
        piece_rows = [atomic_features(c, pieces, center_species, m) for c, m in zip(calculators, components)]
        p = piece_rows[0]
        piece_atom = np.array([members[f][c] for f, c in zip(p.structure, p.center)], dtype=np.int64)
        piece_id = offsets[parent[p.structure]] + piece_atom
        whole_id = offsets[first.structure] + first.center
        order = np.argsort(piece_id, kind="stable")
        if not np.array_equal(piece_id[order], whole_id):
            raise ValueError("the fragments do not have the same centres as their structures")  # pragma: no cover
        reference = [r.values[order] for r in piece_rows]
    return Environments(
        features=[r.values for r in rows],
        reference=reference,
        structure=first.structure,
        center=first.center,
        species=first.center_species,
    )


def composition(frames: list, species: Sequence[int]) -> np.ndarray:
    """Number of atoms of each species in each structure, (n_structures, len(species))."""
    species = list(species)
    out = np.zeros((len(frames), len(species)))
    for index, frame in enumerate(frames):
        values, counts = np.unique(frame.numbers, return_counts=True)
        for z, count in zip(values, counts):
            if int(z) in species:
                out[index, species.index(int(z))] = count
    return out


def chunks(n: int, size: int) -> Iterator[slice]:
    """Consecutive slices of at most ``size`` of range(n)."""
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))


def centre_mask(frames: list, center_species: Optional[Sequence[int]]) -> np.ndarray:
    """Which atoms (of all structures, in order) are centres."""
    numbers = np.concatenate([frame.numbers for frame in frames])
    if center_species is None:
        return np.ones(len(numbers), dtype=bool)
    return np.isin(numbers, list(center_species))
