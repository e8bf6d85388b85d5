"""Feature calculators: the expansions ⟨a n l m|ρ_i⟩ and ⟨a n l m|V_i⟩ and the
invariants of two expansions (definitions: ``docs/conventions.md``).

Calculators are values, defined by their hyper-parameters alone: those are
read-only attributes, equality and hashing follow them, ``set_params`` (the
scikit-learn protocol, as ``get_params`` and ``sklearn.base.clone``) replaces
them together with every table built from them. Calculators pickle as their
parameters and rebuild their tables on arrival, and one instance may be
shared between threads (the C++ core is re-entrant and releases the GIL).
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from . import _core
from ._calculator import _Calculator, _hyper_parameter, _State
from ._checks import (
    _check_atomic_numbers,
    _check_center_species,
    _check_int,
    _check_max_radial,
    _check_positive,
    _check_real,
    _check_spline_accuracy,
)
from ._frames import (
    Frames,
    FrameBatch,
    as_frame_list,
    check_open_directions,
    check_periodic_images,
    select_centers,
    to_batch,
)
from .values import ExpansionValues, Gradients

__all__ = [
    "DensityExpansion",
    "ExpansionValues",
    "PotentialExpansion",
]


def _basis_params(
    cutoff: float,
    gaussian_width: float,
    max_radial: int,
    max_angular: int,
    center_atom_weight: float,
    spline_accuracy: float,
) -> dict:
    """Checked hyper-parameters every expansion shares."""
    cutoff = _check_positive("cutoff", cutoff)
    center_atom_weight = _check_real("center_atom_weight", center_atom_weight)
    if not np.isfinite(center_atom_weight):
        raise ValueError("center_atom_weight must be finite")
    return dict(
        cutoff=cutoff,
        gaussian_width=_check_positive("gaussian_width", gaussian_width),
        max_radial=_check_max_radial(max_radial, cutoff),
        max_angular=_check_int("max_angular", max_angular, 0, _core.MAX_ANGULAR),
        center_atom_weight=center_atom_weight,
        spline_accuracy=_check_spline_accuracy(spline_accuracy),
    )


_BASIS_PARAMS = ("cutoff", "gaussian_width", "max_radial", "max_angular", "center_atom_weight", "spline_accuracy")


def _species_param(species: Optional[Sequence[int]]) -> Optional[list[int]]:
    return None if species is None else sorted(_check_atomic_numbers("species", species))


class _Expansion(_Calculator):
    """Shared machinery of the expansion calculators: species channels, the
    C++ calculators built per species set, and the compute driver."""

    cutoff = _hyper_parameter("cutoff", "Cut-off radius r_c of the basis (Å).")
    gaussian_width = _hyper_parameter("gaussian_width", "Width σ of the smeared atoms (Å).")
    max_radial = _hyper_parameter("max_radial", "Number of radial functions n_max.")
    max_angular = _hyper_parameter("max_angular", "Largest angular channel l_max.")
    center_atom_weight = _hyper_parameter("center_atom_weight", "Weight of the centre's own smeared atom.")
    species = _hyper_parameter("species", "Atomic numbers of the neighbour channels, or None (those present).")
    spline_accuracy = _hyper_parameter("spline_accuracy", "Relative accuracy of the tabulated radial functions.")

    @classmethod
    def _validated(cls, params: dict) -> dict:
        basis = _basis_params(**{name: params[name] for name in _BASIS_PARAMS})
        checked = {**basis, **cls._own_params(params, basis), "species": _species_param(params["species"])}
        return {name: checked[name] for name in params}  # the constructor's order

    @staticmethod
    def _own_params(params: dict, basis: dict) -> dict:
        """Checked hyper-parameters of this expansion beyond the shared ones."""
        raise NotImplementedError

    # -- core objects ----------------------------------------------------
    @staticmethod
    def _build_core(state: _State, species: list[int], kinds: frozenset) -> Any:
        raise NotImplementedError

    def _channels_for(self, batch: FrameBatch) -> list[int]:
        return _channels_for(self._state.params["species"], batch)

    def _check_batch(self, batch: FrameBatch) -> None:
        """Checks that depend on the hyper-parameters (cell vs cut-off, ...)."""

    def core(self, species: Sequence[int], kinds: Optional[frozenset] = None) -> Any:
        """The C++ calculator for these neighbour-species channels (built once
        per set of hyper-parameters), able to compute the ``kinds`` of
        structures given (see :meth:`_kinds`; default: every kind)."""
        return self._core_of(self._state, list(species), kinds)

    @staticmethod
    def _kinds(batch: FrameBatch) -> frozenset:
        """The kinds of structure in ``batch`` the C++ calculator must handle
        (only the potential distinguishes finite and periodic ones)."""
        return frozenset()

    def _core_of(self, state: _State, species: list[int], kinds: Optional[frozenset] = None) -> Any:
        kinds = self._all_kinds if kinds is None else kinds

        def build() -> Any:
            try:
                return self._build_core(state, species, kinds)
            except RuntimeError as error:  # tabulation failed: the hyper-parameters are out of reach
                raise ValueError(f"{self!r}: cannot tabulate the radial functions: {error}") from None

        return state.get_or_build(("core", tuple(species), kinds), build)

    _all_kinds: frozenset = frozenset()

    def compute(self, frames: Frames, *, center_species: Optional[Sequence[int]] = None) -> ExpansionValues:
        """Expansion coefficients of every centre of ``frames``.

        Parameters
        ----------
        frames : ase.Atoms or list of ase.Atoms
        center_species : list of int, optional
            Only atoms of these atomic numbers are centres (default: all).
        """
        state = self._state
        batch, (species,), centers = _prepare(frames, center_species, [self])
        values = self._core_of(state, species, self._kinds(batch)).compute(batch.core_batch(centers))
        return ExpansionValues(
            values=values,
            structure=centers[:, 0].copy(),
            center=centers[:, 1].copy(),
            center_species=_center_species(batch, centers),
            species=np.asarray(species, dtype=np.int32),
        )


    def backward(
        self, frames: Frames, cotangent: np.ndarray, *, center_species: Optional[Sequence[int]] = None
    ) -> Gradients:
        """Vector–Jacobian product of :meth:`compute` (``docs/forces.md``).

        Parameters
        ----------
        frames : ase.Atoms or list of ase.Atoms
        cotangent : ndarray, shaped like ``compute(frames, center_species=...).values``
            ∂L/∂c of some scalar L for every coefficient of every centre.
        center_species : list of int, optional
            As for :meth:`compute`.

        Returns
        -------
        Gradients
            ∂L/∂r of every atom and ∂L/∂ε of every structure (NaN for a
            potential with the slab dipole correction, whose strain
            derivative is not available).

        Raises
        ------
        ValueError
            The cotangent does not match the coefficients (or holds NaN).
        """
        return self._linearize(frames, center_species)[1](cotangent)

    def _linearize(self, frames: Frames, center_species: Optional[Sequence[int]]) -> tuple:
        """(coefficients, pullback, rows): as :meth:`compute` gives them, the
        function from their cotangent to :class:`Gradients`, and (structure,
        centre species) of each row."""
        batch, (species,), centers = _prepare(frames, center_species, [self])
        prepared = self._core_of(self._state, species, self._kinds(batch)).prepare(batch.core_batch(centers))
        values = prepared.compute()
        return values, lambda cotangent: _backward(prepared, batch, values.shape, cotangent), _row_info(batch, centers)


def _row_info(batch: FrameBatch, centers: np.ndarray) -> tuple:
    """(structure, central species) of each row of a per-centre result."""
    return centers[:, 0].astype(np.int64), _center_species(batch, centers).astype(np.int64)


def _backward(prepared: Any, batch: FrameBatch, shape: tuple, cotangent: np.ndarray) -> Gradients:
    """The backward pass of a prepared batch whose coefficients have ``shape``."""
    cotangent = np.asarray(cotangent, dtype=np.float64)
    if cotangent.shape != tuple(shape):
        raise ValueError(f"the cotangent has shape {cotangent.shape}, the coefficients {tuple(shape)}")
    if not np.isfinite(cotangent).all():
        raise ValueError("the cotangent has NaN or infinite entries")
    positions, strain = prepared.backward(np.ascontiguousarray(cotangent))
    return Gradients(positions=positions, strain=strain, offsets=np.asarray(batch.offsets, dtype=np.int64))


def _channels_for(species: Optional[list[int]], batch: FrameBatch) -> list[int]:
    """The neighbour channels of a batch: the fixed ``species``, or those present."""
    if species is None:
        return [int(z) for z in np.unique(batch.types)]
    unknown = ~np.isin(batch.types, species)
    if unknown.any():
        index = int(np.searchsorted(batch.offsets, int(np.argmax(unknown)), side="right") - 1)
        types = batch.types[batch.offsets[index] : batch.offsets[index + 1]]
        missing = sorted({int(z) for z in types} - set(species))
        raise ValueError(
            f"structure {index} contains species {missing} not in species={species}; "
            "add them to `species` or drop these structures"
        )
    return species


def _prepare(
    frames: Frames, center_species: Optional[Sequence[int]], expansions: Sequence[_Expansion]
) -> tuple[FrameBatch, list[list[int]], np.ndarray]:
    """The compute pipeline up to the C++ call: checked structures (malformed
    ones first, then species, then what depends on each expansion's
    hyper-parameters), the channels of each expansion, the centres."""
    frames = as_frame_list(frames)
    center_species = _check_center_species(center_species)
    batch = to_batch(frames)
    channels = [expansion._channels_for(batch) for expansion in expansions]
    for expansion in expansions:
        expansion._check_batch(batch)
    return batch, channels, select_centers(batch, center_species)


def _center_species(batch: FrameBatch, centers: np.ndarray) -> np.ndarray:
    return batch.types[batch.offsets[centers[:, 0]] + centers[:, 1]].copy()


class DensityExpansion(_Expansion):
    """Expansion of the smeared neighbour density ρ_i^a on the GTO basis
    (``docs/conventions.md``, "Atom-centred density", "Radial basis").

    Hyper-parameters are read-only attributes; :meth:`set_params` changes
    them and rebuilds the tables, as scikit-learn's estimators do.

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
        Largest angular channel l_max, at most ``mslode.MAX_ANGULAR`` (12).
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

    cutoff_width = _hyper_parameter("cutoff_width", "Width w of the cosine switch below r_c (Å).")

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
        self._initialise(
            dict(
                cutoff=cutoff,
                gaussian_width=gaussian_width,
                max_radial=max_radial,
                max_angular=max_angular,
                cutoff_width=cutoff_width,
                center_atom_weight=center_atom_weight,
                species=species,
                spline_accuracy=spline_accuracy,
            )
        )

    @staticmethod
    def _own_params(params: dict, basis: dict) -> dict:
        cutoff_width = _check_real("cutoff_width", params["cutoff_width"])
        if not np.isfinite(cutoff_width) or not 0.0 <= cutoff_width <= basis["cutoff"]:
            raise ValueError(f"cutoff_width must be in [0, cutoff={basis['cutoff']}], got {cutoff_width}")
        return dict(cutoff_width=cutoff_width)

    def _check_batch(self, batch: FrameBatch) -> None:
        check_periodic_images(batch, self._state.params["cutoff"])

    @staticmethod
    def _build_core(state: _State, species: list[int], kinds: frozenset) -> Any:
        p = state.params
        return _core.DensityExpansion(
            cutoff=p["cutoff"],
            gaussian_width=p["gaussian_width"],
            max_radial=p["max_radial"],
            max_angular=p["max_angular"],
            cutoff_width=p["cutoff_width"],
            center_atom_weight=p["center_atom_weight"],
            species=species,
            spline_accuracy=p["spline_accuracy"],
        )


class PotentialExpansion(_Expansion):
    """Expansion of the atom-centred potential V_i^a of the smeared density
    of *all* atoms of species a, near and far, on the same GTO basis as
    :class:`DensityExpansion` (``docs/conventions.md``, "Atom-centred
    potential", "Periodic structures", "Potential coefficients").

    Finite structures: every (centre, source) pair, O(N²) per structure.
    Periodic structures (any cell; slabs and wires as 3-D periodic cells
    with the vacuum their cell gives): a range-separated mesh Ewald sum,
    O(N log N), to ``accuracy`` (``docs/potentials.md``, "Periodic
    structures"). Hyper-parameters are read-only attributes;
    :meth:`set_params` changes them and rebuilds the tables.

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
        Finite structures: largest error of the tabulated radial functions
        P_nl(d) below the switch to the far-field series, relative to each
        function's largest magnitude. Beyond the switch the series is exact
        to 1e-10 relative.
    accuracy : float
        Periodic structures: the error aimed at, relative to the largest
        coefficient of each angular channel l of the structure (1e-10 …
        1e-2); it sets the short-range cut-off, its tables and the mesh.
    smearing : float, optional
        Periodic structures: the width s > σ of the range separation (Å).
        Default max(r_c/2, 2σ). The result does not depend on it beyond
        ``accuracy``; the cost does.
    mesh_spacing : float, optional
        Periodic structures: the largest mesh step (Å), instead of the one
        ``accuracy`` and ``smearing`` imply.
    interpolation_order : int
        Periodic structures: order of the B-splines that put charges on the
        mesh and read the fields off it (4, 6, 8 or 10; default 8).
    slab_dipole_correction : bool
        Structures periodic in exactly two directions, p = 1: remove the
        field of the periodic copies of the cell's dipole across the vacuum
        (Yeh–Berkowitz; ``docs/conventions.md``, "Periodic structures").
    """

    potential_exponent = _hyper_parameter("potential_exponent", "Exponent p of the potential (1 Coulomb, 6 dispersion).")
    accuracy = _hyper_parameter("accuracy", "Relative accuracy of periodic structures' coefficients.")
    smearing = _hyper_parameter("smearing", "Width s of the range separation (Å), or None (chosen).")
    mesh_spacing = _hyper_parameter("mesh_spacing", "Largest mesh step (Å), or None (from accuracy).")
    interpolation_order = _hyper_parameter("interpolation_order", "B-spline order of the mesh.")
    slab_dipole_correction = _hyper_parameter("slab_dipole_correction", "Yeh-Berkowitz correction of slabs.")

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
        accuracy: float = 1e-6,
        smearing: Optional[float] = None,
        mesh_spacing: Optional[float] = None,
        interpolation_order: int = 8,
        slab_dipole_correction: bool = False,
    ) -> None:
        self._initialise(
            dict(
                cutoff=cutoff,
                gaussian_width=gaussian_width,
                max_radial=max_radial,
                max_angular=max_angular,
                center_atom_weight=center_atom_weight,
                potential_exponent=potential_exponent,
                species=species,
                spline_accuracy=spline_accuracy,
                accuracy=accuracy,
                smearing=smearing,
                mesh_spacing=mesh_spacing,
                interpolation_order=interpolation_order,
                slab_dipole_correction=slab_dipole_correction,
            )
        )

    @staticmethod
    def _own_params(params: dict, basis: dict) -> dict:
        accuracy = _check_positive("accuracy", params["accuracy"])
        if not 1e-10 <= accuracy <= 1e-2:
            raise ValueError(f"accuracy must be in [1e-10, 1e-2], got {accuracy}")
        smearing = params["smearing"]
        if smearing is not None:
            smearing = _check_positive("smearing", smearing)
            if smearing <= basis["gaussian_width"]:
                raise ValueError(
                    f"smearing must be larger than gaussian_width={basis['gaussian_width']}, got {smearing}"
                )
        mesh_spacing = params["mesh_spacing"]
        if mesh_spacing is not None:
            mesh_spacing = _check_positive("mesh_spacing", mesh_spacing)
        order = _check_int("interpolation_order", params["interpolation_order"], 4, 10)
        if order % 2:
            raise ValueError(f"interpolation_order must be 4, 6, 8 or 10, got {order}")
        dipole = params["slab_dipole_correction"]
        if not isinstance(dipole, (bool, np.bool_)):
            raise TypeError(f"slab_dipole_correction must be True or False, got {dipole!r}")
        return dict(
            potential_exponent=_check_int("potential_exponent", params["potential_exponent"], 1, 6),
            accuracy=accuracy,
            smearing=smearing,
            mesh_spacing=mesh_spacing,
            interpolation_order=order,
            slab_dipole_correction=bool(dipole),
        )

    _all_kinds = frozenset({"finite", "periodic"})

    def _check_batch(self, batch: FrameBatch) -> None:
        check_open_directions(batch)

    @staticmethod
    def _kinds(batch: FrameBatch) -> frozenset:
        periodic = batch.pbc.any(axis=1)
        return frozenset(({"periodic"} if periodic.any() else set()) | ({"finite"} if (~periodic).any() else set()))

    def radial_table(self) -> Any:
        """The tabulated P_nl(d) of finite structures (built on first use,
        then shared by the C++ calculators of every species set)."""
        return self._table_of(self._state)

    def periodic_tables(self) -> Any:
        """The periodic path's tables: short-range P^sr_nl(d), the basis'
        Hankel transforms, FFT plans (``smearing``, ``short_range_cutoff``,
        ``mesh_shape(cell)``)."""
        return self._periodic_tables_of(self._state)

    @staticmethod
    def _table_args(p: dict) -> dict:
        """What every table depends on (not the centre weight)."""
        return dict(
            cutoff=p["cutoff"],
            gaussian_width=p["gaussian_width"],
            max_radial=p["max_radial"],
            max_angular=p["max_angular"],
            potential_exponent=float(p["potential_exponent"]),
            spline_accuracy=p["spline_accuracy"],
        )

    @staticmethod
    def _table_of(state: _State) -> Any:
        args = PotentialExpansion._table_args(state.params)
        return state.get_or_build(("radial table",), lambda: _core.PotentialRadialTable(**args))

    @staticmethod
    def _periodic_args(p: dict) -> dict:
        return dict(
            accuracy=p["accuracy"],
            smearing=0.0 if p["smearing"] is None else p["smearing"],
            mesh_spacing=0.0 if p["mesh_spacing"] is None else p["mesh_spacing"],
            interpolation_order=p["interpolation_order"],
            slab_dipole_correction=p["slab_dipole_correction"],
            mesh_memory_limit=MESH_MEMORY_LIMIT,
        )

    @staticmethod
    def _periodic_tables_of(state: _State) -> Any:
        args = {**PotentialExpansion._table_args(state.params), **PotentialExpansion._periodic_args(state.params)}
        return state.get_or_build(("periodic tables",), lambda: _core.PeriodicPotentialTables(**args))

    @staticmethod
    def _build_core(state: _State, species: list[int], kinds: frozenset) -> Any:
        p = state.params
        return _core.PotentialExpansion(
            cutoff=p["cutoff"],
            gaussian_width=p["gaussian_width"],
            max_radial=p["max_radial"],
            max_angular=p["max_angular"],
            center_atom_weight=p["center_atom_weight"],
            potential_exponent=float(p["potential_exponent"]),
            species=species,
            spline_accuracy=p["spline_accuracy"],
            table=PotentialExpansion._table_of(state) if "finite" in kinds or not kinds else None,
            periodic=PotentialExpansion._periodic_tables_of(state) if "periodic" in kinds else None,
            **PotentialExpansion._periodic_args(p),
        )


#: Largest memory (bytes) the mesh of one periodic structure may take; a
#: finer mesh is a ValueError saying how much it would need.
MESH_MEMORY_LIMIT = 8e9
