"""Feature calculators: the density expansion ⟨a n l m|ρ_i⟩ and the invariants
of two expansions (SPEC §1, §2, §4).

Calculators are defined by their hyper-parameters alone: they pickle as those
and rebuild their tables on arrival, and one instance may be shared between
threads (the C++ core is re-entrant and releases the GIL).
"""

from __future__ import annotations

import numbers
import threading
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from . import _core
from ._frames import Frames, FrameBatch, as_frame_list, check_periodic_images, select_centers, to_batch


@dataclass(frozen=True)
class ExpansionValues:
    """Coefficients ⟨a n l m|F_i⟩ of one expansion, one row per centre.

    Attributes
    ----------
    values : ndarray, shape (n_centers, n_species, max_radial, (max_angular+1)**2)
        Coefficients; the last index is ``l*l + l + m``.
    structure : ndarray of int, (n_centers,)
        Index of each centre's structure in the input.
    center : ndarray of int, (n_centers,)
        Index of each centre within its structure.
    center_species : ndarray of int, (n_centers,)
        Atomic number of each centre.
    species : ndarray of int, (n_species,)
        Atomic numbers of the neighbour-species channels.
    """

    values: np.ndarray
    structure: np.ndarray
    center: np.ndarray
    center_species: np.ndarray
    species: np.ndarray

    def invariants(self) -> tuple[np.ndarray, np.ndarray]:
        """The ν = 1 invariants: the l = 0 coefficients ⟨a n 0 0|F_i⟩.

        Returns
        -------
        values : ndarray, (n_centers, n_species * max_radial)
        labels : ndarray of int, (n_species * max_radial, 2)
            Columns ``species, n``.
        """
        n_species, max_radial = self.values.shape[1:3]
        values = np.ascontiguousarray(self.values[:, :, :, 0].reshape(len(self.values), -1))
        labels = np.stack(
            [np.repeat(self.species, max_radial), np.tile(np.arange(max_radial), n_species)], axis=1
        ).astype(np.int32)
        return values, labels


@dataclass(frozen=True)
class InvariantValues:
    """Invariant features ⟨a1 n1; a2 n2; l|F⊗G⟩, one row per centre.

    Attributes
    ----------
    values : ndarray, shape (n_centers, n_features)
    labels : ndarray of int, (n_features, 5)
        Columns ``species_1, n_1, species_2, n_2, l`` (atomic numbers for the
        species).
    label_names : tuple of str
    structure, center, center_species : ndarray of int, (n_centers,)
        As in :class:`ExpansionValues`.
    symmetric : bool
        True when only (a1, n1) <= (a2, n2) is kept, off-diagonal entries
        scaled by √2 (dot products between rows equal the full set's).
    exponents : tuple of int, or None
        The potential exponent p of F and of G, 0 for the density ρ (as
        featomic's SmearedPowerLaw, whose exponent 0 is the Gaussian density):
        (0, 1) for ρ⊗V, (0, 6) for ρ⊗V_6, (1, 1) for V⊗V. None for a
        :func:`concatenate` of several pairs, whose labels then carry the
        exponents of every column.
    """

    values: np.ndarray
    labels: np.ndarray
    structure: np.ndarray
    center: np.ndarray
    center_species: np.ndarray
    symmetric: bool
    label_names: tuple = ("species_1", "n_1", "species_2", "n_2", "l")
    exponents: Optional[tuple] = (0, 0)


def _check_real(name: str, value: Any) -> float:
    """A real number (Python or NumPy scalar); strings, None, bools, complex
    and arrays are a TypeError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    return float(value)


def _check_positive(name: str, value: float) -> float:
    value = _check_real(name, value)
    if not np.isfinite(value) or value <= 0.0:
        raise ValueError(f"{name} must be a positive finite number, got {value}")
    return value


def _check_int(name: str, value: int, low: int, high: int) -> int:
    value_type = type(value).__name__
    as_real = _check_real(name, value)
    if not np.isfinite(as_real) or int(as_real) != as_real:
        raise ValueError(f"{name} must be an integer, got {value_type} {value!r}")
    value = int(as_real)
    if not low <= value <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {value}")
    return value


def _check_atomic_numbers(name: str, values: Any) -> list[int]:
    """A non-empty list of distinct atomic numbers (Python or NumPy integers)."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a list of atomic numbers (int), got {type(values).__name__} {values!r}")
    values = list(values)
    for z in values:
        if isinstance(z, (bool, np.bool_)) or not isinstance(z, numbers.Integral):
            raise TypeError(f"{name} must contain atomic numbers (int), got {type(z).__name__} {z!r}")
    values = [int(z) for z in values]
    if len(values) == 0:
        raise ValueError(f"{name} must not be empty")
    if len(set(values)) != len(values):
        raise ValueError(f"{name} has repeated entries: {values}")
    if any(z < 1 or z > 118 for z in values):
        raise ValueError(f"{name} must be atomic numbers in 1..118, got {values}")
    return values


def _check_spline_accuracy(value: float) -> float:
    value = _check_positive("spline_accuracy", value)
    if value > 0.1:
        raise ValueError(f"spline_accuracy is a relative error: it must be in (0, 0.1], got {value}")
    return value


def _check_center_species(center_species: Any) -> Optional[list[int]]:
    """None (every atom is a centre) or atomic numbers; species absent from
    the frames simply select no centre."""
    if center_species is None:
        return None
    return _check_atomic_numbers("center_species", center_species)


def _check_max_radial(max_radial: int, cutoff: float) -> int:
    """max_radial in [1, 30], and within what the GTO basis can
    orthonormalise: its primitives become numerically linearly dependent at
    large n_max (about 20; the exact limit moves by one with the cut-off)."""
    max_radial = _check_int("max_radial", max_radial, 1, 30)
    if not _gto_basis_ok(cutoff, max_radial):
        largest = next((n for n in range(max_radial - 1, 0, -1) if _gto_basis_ok(cutoff, n)), 0)
        raise ValueError(
            f"max_radial={max_radial} is beyond what the GTO basis supports at cutoff={cutoff} (its primitives are "
            f"numerically linearly dependent); use max_radial <= {largest}"
        )
    return max_radial


def _gto_basis_ok(cutoff: float, max_radial: int) -> bool:
    try:
        _core.GtoBasis(cutoff, max_radial)
    except ValueError:
        return False
    return True


class _Expansion:
    """Shared machinery of the expansion calculators: species channels, the
    per-species-set C++ object cache, and the compute driver."""

    _core_class: Any = None

    def __init__(self, species: Optional[Sequence[int]]) -> None:
        if species is not None:
            species = sorted(_check_atomic_numbers("species", species))
        self.species = species
        self._cache: dict[tuple, Any] = {}
        self._lock = threading.Lock()

    # -- hyper-parameters ------------------------------------------------
    def get_params(self) -> dict:
        raise NotImplementedError

    def __getstate__(self) -> dict:
        return self.get_params()

    def __setstate__(self, state: dict) -> None:
        self.__init__(**state)  # type: ignore[misc]

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.get_params() == other.get_params()  # type: ignore[union-attr]

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(sorted((k, repr(v)) for k, v in self.get_params().items()))))

    def _set_basis(
        self,
        cutoff: float,
        gaussian_width: float,
        max_radial: int,
        max_angular: int,
        center_atom_weight: float,
        spline_accuracy: float,
    ) -> None:
        """Check and keep the hyper-parameters every expansion shares."""
        self.cutoff = _check_positive("cutoff", cutoff)
        self.gaussian_width = _check_positive("gaussian_width", gaussian_width)
        self.max_radial = _check_max_radial(max_radial, self.cutoff)
        self.max_angular = _check_int("max_angular", max_angular, 0, 12)
        self.center_atom_weight = _check_real("center_atom_weight", center_atom_weight)
        if not np.isfinite(self.center_atom_weight):
            raise ValueError("center_atom_weight must be finite")
        self.spline_accuracy = _check_spline_accuracy(spline_accuracy)

    # -- core objects ----------------------------------------------------
    def _build_core(self, species: list[int]) -> Any:
        raise NotImplementedError

    def _channels_for(self, batch: FrameBatch) -> list[int]:
        present = np.unique(batch.types)
        if self.species is None:
            return [int(z) for z in present]
        unknown = ~np.isin(batch.types, self.species)
        if unknown.any():
            index = int(np.searchsorted(batch.offsets, int(np.argmax(unknown)), side="right") - 1)
            types = batch.types[batch.offsets[index] : batch.offsets[index + 1]]
            missing = sorted({int(z) for z in types} - set(self.species))
            raise ValueError(
                f"structure {index} contains species {missing} not in species={self.species}; "
                "add them to `species` or drop these structures"
            )
        return self.species

    def _check_batch(self, batch: FrameBatch) -> None:
        """Checks that depend on the hyper-parameters (cell vs cut-off, ...)."""

    def core(self, species: Sequence[int]) -> Any:
        """The C++ calculator for these neighbour-species channels (cached)."""
        key = tuple(species)
        with self._lock:
            calculator = self._cache.get(key)
            if calculator is None:
                try:
                    calculator = self._build_core(list(key))
                except RuntimeError as error:  # tabulation failed: the hyper-parameters are out of reach
                    raise ValueError(f"{self!r}: cannot tabulate the radial functions: {error}") from None
                self._cache[key] = calculator
        return calculator

    def compute(self, frames: Frames, *, center_species: Optional[Sequence[int]] = None) -> ExpansionValues:
        """Expansion coefficients of every centre of ``frames``.

        Parameters
        ----------
        frames : ase.Atoms or list of ase.Atoms
        center_species : list of int, optional
            Only atoms of these atomic numbers are centres (default: all).
        """
        frames = as_frame_list(frames)
        center_species = _check_center_species(center_species)
        batch = to_batch(frames)  # malformed structures first, then species
        species = self._channels_for(batch)
        self._check_batch(batch)
        centers = select_centers(batch, center_species)
        values = self.core(species).compute(batch.core_batch(centers))
        return ExpansionValues(
            values=values,
            structure=centers[:, 0].copy(),
            center=centers[:, 1].copy(),
            center_species=batch.types[batch.offsets[centers[:, 0]] + centers[:, 1]].copy(),
            species=np.asarray(species, dtype=np.int32),
        )


class DensityExpansion(_Expansion):
    """Expansion of the smeared neighbour density ρ_i^a on the GTO basis.

    Parameters
    ----------
    cutoff : float
        Cut-off radius r_c (Å).
    gaussian_width : float
        Standard deviation σ of the Gaussian on each atom (Å).
    max_radial : int
        Number of radial functions n_max (n = 0 … n_max-1): at most 19 or 20
        (beyond, the GTO primitives are numerically linearly dependent; the
        error names the largest that works for this cut-off).
    max_angular : int
        Largest angular channel l_max, at most 12.
    cutoff_width : float
        Width w of the cosine switch below r_c (Å); 0 gives a hard cut-off.
    center_atom_weight : float
        Weight of the central atom's own Gaussian.
    species : list of int, optional
        Atomic numbers of the neighbour channels; fix it so that features of
        different data sets line up (a structure with another species is
        then a ValueError). Default: the species present in each call to
        :meth:`compute`.
    spline_accuracy : float
        Largest error of the tabulated radial integrals (checked at every
        interval midpoint), relative to each radial function's largest
        magnitude on [0, r_c].
        In (0, 0.1]; an accuracy the tabulation cannot reach (round-off,
        extreme σ/r_c) is a ValueError at the first :meth:`compute`.
    """

    def __init__(
        self,
        *,
        cutoff: float,
        gaussian_width: float,
        max_radial: int,
        max_angular: int,
        cutoff_width: float = 0.5,
        center_atom_weight: float = 1.0,
        species: Optional[Sequence[int]] = None,
        spline_accuracy: float = 1e-8,
    ) -> None:
        self._set_basis(cutoff, gaussian_width, max_radial, max_angular, center_atom_weight, spline_accuracy)
        self.cutoff_width = _check_real("cutoff_width", cutoff_width)
        if not np.isfinite(self.cutoff_width) or not 0.0 <= self.cutoff_width <= self.cutoff:
            raise ValueError(f"cutoff_width must be in [0, cutoff={self.cutoff}], got {cutoff_width}")
        super().__init__(species)

    def _check_batch(self, batch: FrameBatch) -> None:
        check_periodic_images(batch, self.cutoff)

    def get_params(self) -> dict:
        return dict(
            cutoff=self.cutoff,
            gaussian_width=self.gaussian_width,
            max_radial=self.max_radial,
            max_angular=self.max_angular,
            cutoff_width=self.cutoff_width,
            center_atom_weight=self.center_atom_weight,
            species=self.species,
            spline_accuracy=self.spline_accuracy,
        )

    def _build_core(self, species: list[int]) -> Any:
        return _core.DensityExpansion(
            cutoff=self.cutoff,
            gaussian_width=self.gaussian_width,
            max_radial=self.max_radial,
            max_angular=self.max_angular,
            cutoff_width=self.cutoff_width,
            center_atom_weight=self.center_atom_weight,
            species=species,
            spline_accuracy=self.spline_accuracy,
        )


class PotentialExpansion(_Expansion):
    """Expansion of the atom-centred potential V_i^a (SPEC §1, Eq. 4) of the
    smeared density of *all* atoms of species a, near and far, on the same
    GTO basis as :class:`DensityExpansion`.

    Finite structures only for now (no periodic direction): the sum over
    sources has no cut-off, O(N²) pairs per structure.

    Parameters
    ----------
    cutoff : float
        r_c of the GTO basis (Å): it sets the basis widths σ_n, not which
        atoms count — every atom is a source.
    gaussian_width : float
        σ of the smeared charges (Å).
    max_radial, max_angular : int
        Basis size, as for :class:`DensityExpansion`.
    center_atom_weight : float
        Weight of the centre's own smeared charge.
    potential_exponent : int
        p of φ_σ^(p)(x) = P(p/2, x²/2σ²)/x^p: 1 is Coulomb, 6 dispersion-like.
        Integers 1 … 6.
    species : list of int, optional
        Atomic numbers of the source channels (see :class:`DensityExpansion`).
    spline_accuracy : float
        Largest error of the tabulated radial functions P_nl(d) below the
        switch to the far-field series, relative to each function's largest
        magnitude. Beyond the switch the series is exact to 1e-10 relative.
    """

    def __init__(
        self,
        *,
        cutoff: float,
        gaussian_width: float,
        max_radial: int,
        max_angular: int,
        center_atom_weight: float = 1.0,
        potential_exponent: int = 1,
        species: Optional[Sequence[int]] = None,
        spline_accuracy: float = 1e-8,
    ) -> None:
        self._set_basis(cutoff, gaussian_width, max_radial, max_angular, center_atom_weight, spline_accuracy)
        self.potential_exponent = _check_int("potential_exponent", potential_exponent, 1, 6)
        self._table: Any = None
        self._table_lock = threading.Lock()
        super().__init__(species)

    #: Periodic structures are refused before any table is built.
    _periodic_supported = False

    def _check_batch(self, batch: FrameBatch) -> None:
        if not self._periodic_supported and batch.pbc.any():
            s = int(np.argmax(batch.pbc.any(axis=1)))
            raise ValueError(
                f"structure {s} is periodic (pbc={batch.pbc[s].tolist()}): PotentialExpansion supports finite "
                "structures only for now; set pbc=False to treat it as an isolated cluster"
            )

    def get_params(self) -> dict:
        return dict(
            cutoff=self.cutoff,
            gaussian_width=self.gaussian_width,
            max_radial=self.max_radial,
            max_angular=self.max_angular,
            center_atom_weight=self.center_atom_weight,
            potential_exponent=self.potential_exponent,
            species=self.species,
            spline_accuracy=self.spline_accuracy,
        )

    def radial_table(self) -> Any:
        """The tabulated P_nl(d) (built on first use, then shared by the
        C++ calculators of every species set)."""
        with self._table_lock:
            if self._table is None:
                self._table = _core.PotentialRadialTable(
                    cutoff=self.cutoff,
                    gaussian_width=self.gaussian_width,
                    max_radial=self.max_radial,
                    max_angular=self.max_angular,
                    potential_exponent=float(self.potential_exponent),
                    spline_accuracy=self.spline_accuracy,
                )
            return self._table

    def _build_core(self, species: list[int]) -> Any:
        return _core.PotentialExpansion(
            cutoff=self.cutoff,
            gaussian_width=self.gaussian_width,
            max_radial=self.max_radial,
            max_angular=self.max_angular,
            center_atom_weight=self.center_atom_weight,
            potential_exponent=float(self.potential_exponent),
            species=species,
            spline_accuracy=self.spline_accuracy,
            table=self.radial_table(),
        )


class Invariants:
    """Rotational invariants ⟨a1 n1; a2 n2; l|F⊗G⟩ of two expansions (SPEC §4).

    ``Invariants(rho, rho)`` is the SOAP power spectrum ρ⊗ρ.

    Parameters
    ----------
    first, second : expansion calculators
        F and G; they must share ``max_angular``.
    symmetric : bool, optional
        Keep only (a1, n1) <= (a2, n2), with off-diagonal entries scaled by
        √2 so that dot products between feature vectors equal those of the
        full set. Only allowed when ``first is second`` (then the default).
    """

    def __init__(self, first: _Expansion, second: _Expansion, *, symmetric: Optional[bool] = None) -> None:
        for name, expansion in (("first", first), ("second", second)):
            if not isinstance(expansion, _Expansion):
                raise TypeError(
                    f"{name} must be an expansion calculator (DensityExpansion or PotentialExpansion), "
                    f"got {type(expansion).__name__}"
                )
        if symmetric is not None and not isinstance(symmetric, (bool, np.bool_)):
            raise TypeError(f"symmetric must be None, True or False, got {type(symmetric).__name__} {symmetric!r}")
        if first.max_angular != second.max_angular:
            raise ValueError(
                f"both expansions need the same max_angular, got {first.max_angular} and {second.max_angular}"
            )
        same = first is second
        if symmetric is None:
            symmetric = same
        if symmetric and not same:
            raise ValueError("symmetric=True needs the same expansion twice: Invariants(rho, rho)")
        self.first = first
        self.second = second
        self.symmetric = bool(symmetric)

    def __repr__(self) -> str:
        return f"Invariants({self.first!r}, {self.second!r}, symmetric={self.symmetric})"

    def compute(self, frames: Frames, *, center_species: Optional[Sequence[int]] = None) -> InvariantValues:
        """Invariant features of every centre of ``frames``.

        Parameters
        ----------
        frames : ase.Atoms or list of ase.Atoms
        center_species : list of int, optional
            Only atoms of these atomic numbers are centres (default: all).
        """
        frames = as_frame_list(frames)
        center_species = _check_center_species(center_species)
        batch: FrameBatch = to_batch(frames)
        species_f = self.first._channels_for(batch)
        species_g = species_f if self.second is self.first else self.second._channels_for(batch)
        self.first._check_batch(batch)
        if self.second is not self.first:
            self.second._check_batch(batch)
        centers = select_centers(batch, center_species)
        core_f = self.first.core(species_f)
        core_g = core_f if self.first is self.second else self.second.core(species_g)
        values, labels = _core.compute_invariants(core_f, core_g, self.symmetric, batch.core_batch(centers))
        labels = labels.astype(np.int32)
        labels[:, 0] = np.asarray(species_f, dtype=np.int32)[labels[:, 0]]
        labels[:, 2] = np.asarray(species_g, dtype=np.int32)[labels[:, 2]]
        return InvariantValues(
            values=values,
            labels=labels,
            structure=centers[:, 0].copy(),
            center=centers[:, 1].copy(),
            center_species=batch.types[batch.offsets[centers[:, 0]] + centers[:, 1]].copy(),
            symmetric=self.symmetric,
            exponents=(_exponent_of(self.first), _exponent_of(self.second)),
        )


def _exponent_of(expansion: Any) -> int:
    """p of a potential expansion, 0 for the density (featomic's convention)."""
    return int(getattr(expansion, "potential_exponent", 0))


#: Label columns of :func:`concatenate`.
CONCATENATED_LABEL_NAMES = ("species_1", "n_1", "species_2", "n_2", "l", "exponent_1", "exponent_2")


def concatenate(*blocks: InvariantValues) -> InvariantValues:
    """Invariants of several field pairs side by side, e.g. ρ⊗V with p = 1
    and p = 6 in one model (issue: dispersion-like features)::

        rho_V1 = mslode.Invariants(rho, V1).compute(frames)
        rho_V6 = mslode.Invariants(rho, V6).compute(frames)
        both = mslode.concatenate(rho_V1, rho_V6)

    The values are stacked column-wise and every column keeps its label with
    two more entries, ``exponent_1`` and ``exponent_2``: the potential
    exponent p of each field, 0 for the density ρ. So ``both.labels`` has the
    columns ``species_1, n_1, species_2, n_2, l, exponent_1, exponent_2``
    (``both.label_names``), and the ρ⊗V_6 block is
    ``both.values[:, both.labels[:, 6] == 6]``. Concatenations can be
    concatenated again.

    Parameters
    ----------
    *blocks : InvariantValues
        Computed on the same frames with the same centres (same
        ``center_species``); each pair of fields at most once.

    Returns
    -------
    InvariantValues
        ``symmetric`` is True only if every block is; ``exponents`` is the
        common pair of exponents if all blocks share it, else None.
    """
    if len(blocks) == 0:
        raise ValueError("concatenate needs at least one InvariantValues")
    for index, block in enumerate(blocks):
        if not isinstance(block, InvariantValues):
            raise TypeError(f"block {index} is a {type(block).__name__}, not InvariantValues")
    first = blocks[0]
    labels = []
    for index, block in enumerate(blocks):
        for name in ("structure", "center", "center_species"):
            if not np.array_equal(getattr(block, name), getattr(first, name)):
                raise ValueError(
                    f"block {index} has other centres than block 0 ({name} differs): compute every block "
                    "on the same frames with the same center_species"
                )
        if tuple(block.label_names) == CONCATENATED_LABEL_NAMES:
            labels.append(np.asarray(block.labels, dtype=np.int32))
        else:
            if block.exponents is None:
                raise ValueError(f"block {index} does not say which exponents its columns come from")
            extra = np.broadcast_to(np.asarray(block.exponents, dtype=np.int32), (len(block.labels), 2))
            labels.append(np.concatenate([np.asarray(block.labels, dtype=np.int32), extra], axis=1))
    labels = np.concatenate(labels, axis=0)
    if len(np.unique(labels, axis=0)) != len(labels):
        raise ValueError("the same features appear twice: concatenate each pair of fields once")
    exponents = {block.exponents for block in blocks}
    return InvariantValues(
        values=np.concatenate([block.values for block in blocks], axis=1),
        labels=labels,
        structure=first.structure,
        center=first.center,
        center_species=first.center_species,
        symmetric=all(block.symmetric for block in blocks),
        label_names=CONCATENATED_LABEL_NAMES,
        exponents=exponents.pop() if len(exponents) == 1 else None,
    )
