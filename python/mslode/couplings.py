"""Products of two expansions, symmetrised: rotational invariants ρ⊗ρ, ρ⊗V,
V⊗V (:class:`Invariants`) and equivariants of order λ and parity σ
(:class:`Equivariants`), definitions in ``docs/conventions.md``
("Invariants", "Equivariants").

Both compute one row per centre, or per-structure sums per central species
(``reduce="structure"``, summed in C++ without storing per-centre rows), and
optionally only some of their features (``selected_features=``, at a cost
that falls with their number).
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import numpy as np

from . import _core
from ._calculator import _Calculator, _hyper_parameter
from ._checks import _check_int
from ._frames import FrameBatch, Frames, as_frame_list
from .features import _backward, _center_species, _Expansion, _prepare, _row_info
from .values import EquivariantValues, Gradients, InvariantValues

#: The values ``reduce`` accepts.
REDUCTIONS = (None, "structure")


class _FieldPair(_Calculator):
    """Two expansions F and G (G may be absent for ν = 1 equivariants) and the
    compute pipeline of their coupling."""

    first = _hyper_parameter("first", "The expansion F.")
    second = _hyper_parameter("second", "The expansion G (None: F alone, ν = 1).")

    _second_optional = False

    @classmethod
    def _check_fields(cls, first: Any, second: Any) -> None:
        fields = (("first", first),) if (second is None and cls._second_optional) else (("first", first), ("second", second))
        for name, expansion in fields:
            if not isinstance(expansion, _Expansion):
                raise TypeError(
                    f"{name} must be an expansion calculator (DensityExpansion or PotentialExpansion), "
                    f"got {type(expansion).__name__}"
                )
        if second is not None:
            _check_same_max_angular(first, second)

    def _one_expansion(self) -> bool:
        params = self._state.params
        return params["first"] is params["second"] or params["first"] == params["second"]

    def get_params(self, deep: bool = True) -> dict:
        params = dict(self._state.params)
        if deep:
            for name in ("first", "second"):
                if params[name] is not None:
                    for key, value in params[name].get_params().items():
                        params[f"{name}__{key}"] = value
        return params

    def set_params(self, **params: Any) -> "_FieldPair":
        cls = type(self).__name__
        own = {k: v for k, v in params.items() if "__" not in k}
        nested: dict[str, dict] = {"first": {}, "second": {}}
        for key, value in params.items():
            if "__" not in key:
                continue
            name, _, sub = key.partition("__")
            if name not in nested:
                raise ValueError(f"{cls} has no parameter {key}; nested ones start with first__ or second__")
            nested[name][sub] = value
        current = self._state.params
        unknown = sorted(set(own) - set(current))
        if unknown:
            raise ValueError(f"{cls} has no parameter {', '.join(unknown)}; valid: {', '.join(current)}")
        merged = {**current, **own}
        if current["second"] is not None and self._one_expansion() and "first" not in own and "second" not in own:
            # one expansion: its changes may come under either name, but must agree
            for sub in set(nested["first"]) & set(nested["second"]):
                if nested["first"][sub] != nested["second"][sub]:
                    raise ValueError(
                        f"first__{sub} and second__{sub} differ, but first and second are one expansion; "
                        "pass a new calculator as first= or second= to make them differ"
                    )
            changes = {**nested["first"], **nested["second"]}
            if changes:
                merged["first"] = merged["second"] = _with_params(current["first"], changes)
        else:
            for name in ("first", "second"):
                if nested[name]:
                    if merged[name] is None:
                        raise ValueError(f"{cls} has no {name} expansion to change")
                    merged[name] = _with_params(merged[name], nested[name])
        self._initialise(merged)
        return self

    def __sklearn_clone__(self) -> "_FieldPair":
        params = dict(self._state.params)
        first = params["first"].__sklearn_clone__()
        second = params["second"]
        if second is not None:
            second = first if second is params["first"] else second.__sklearn_clone__()
        params.update(first=first, second=second)
        return type(self)(**params)

    def _compute(
        self,
        frames: Frames,
        center_species: Optional[Sequence[int]],
        reduce: Optional[str],
        selected_features: Optional[np.ndarray],
        make_coupling: Callable[[Any, Any, Optional[np.ndarray]], Any],
        label_species_columns: tuple[int, int],
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(values, labels, structure, center, center_species) of the coupling
        ``make_coupling(core_f, core_g, selected_indices)`` over ``frames``."""
        if reduce not in REDUCTIONS:
            raise ValueError(f"reduce must be one of {REDUCTIONS}, got {reduce!r}")
        first, second = self.first, self.second
        same = self._one_expansion()
        _check_same_max_angular(first, second)  # either may have been re-parameterised since
        first_state = first._state
        batch, channels, centers = _prepare(frames, center_species, [first] if same else [first, second])
        species_f = channels[0]
        species_g = species_f if same else channels[1]
        core_f = first._core_of(first_state, species_f, first._kinds(batch))
        core_g = core_f if same else second.core(species_g, second._kinds(batch))

        def with_species(labels: np.ndarray) -> np.ndarray:
            labels = labels.astype(np.int32)
            a, b = label_species_columns
            labels[:, a] = np.asarray(species_f, dtype=np.int32)[labels[:, a]]
            labels[:, b] = np.asarray(species_g, dtype=np.int32)[labels[:, b]]
            return labels

        indices = None
        if selected_features is not None:
            full = with_species(make_coupling(core_f, core_g, None).labels)
            indices = _selected_indices(selected_features, full)
        coupling = make_coupling(core_f, core_g, indices)
        labels = with_species(coupling.labels)
        core_batch = batch.core_batch(centers)
        if reduce is None:
            values = _core.compute_coupled(core_f, core_g, coupling, core_batch)
            return values, labels, centers[:, 0].copy(), centers[:, 1].copy(), _center_species(batch, centers)
        blocks, block_species = _center_blocks(batch, centers, center_species)
        values = _core.compute_coupled(core_f, core_g, coupling, core_batch, blocks, len(block_species))
        values = values.reshape(batch.n_structures * len(block_species), -1)
        return values, labels, *_reduced_rows(batch, block_species)


class Invariants(_FieldPair):
    """Rotational invariants ⟨a1 n1; a2 n2; l|F⊗G⟩ of two expansions
    (``docs/conventions.md``, "Invariants").

    ``Invariants(rho, rho)`` is the SOAP power spectrum ρ⊗ρ.

    Parameters
    ----------
    first, second : expansion calculators
        F and G; they must share ``max_angular``. Equal calculators (same
        class and hyper-parameters) are one expansion, computed once per
        centre.
    symmetric : bool, optional
        Keep only (a1, n1) <= (a2, n2), with off-diagonal entries scaled by
        √2 so that dot products between feature vectors equal those of the
        full set. Only allowed when F and G are one expansion (then the
        default).

    Notes
    -----
    ``get_params()`` lists the expansions' parameters as ``first__cutoff``,
    ``second__max_radial``, ...; ``set_params`` takes them and replaces the
    expansion by a new one (the calculator passed in is not changed). When
    F and G are one expansion, ``first__name`` and ``second__name`` both
    change that one expansion.
    """

    def __init__(self, first: _Expansion, second: _Expansion, *, symmetric: Optional[bool] = None) -> None:
        self._initialise(dict(first=first, second=second, symmetric=symmetric))

    @classmethod
    def _validated(cls, params: dict) -> dict:
        first, second, symmetric = params["first"], params["second"], params["symmetric"]
        cls._check_fields(first, second)
        if symmetric is not None and not isinstance(symmetric, (bool, np.bool_)):
            raise TypeError(f"symmetric must be None, True or False, got {type(symmetric).__name__} {symmetric!r}")
        if symmetric and first != second:
            raise ValueError("symmetric=True needs the same expansion twice: Invariants(rho, rho)")
        return dict(first=first, second=second, symmetric=None if symmetric is None else bool(symmetric))

    @property
    def symmetric(self) -> bool:
        """Whether only (a1, n1) <= (a2, n2) is kept (default: when F and G are one expansion)."""
        symmetric = self._state.params["symmetric"]
        return self._one_expansion() if symmetric is None else symmetric

    def _key(self) -> tuple:
        params = self._state.params
        return (params["first"], params["second"], self.symmetric)

    def __repr__(self) -> str:
        return f"Invariants({self.first!r}, {self.second!r}, symmetric={self.symmetric})"

    def compute(
        self,
        frames: Frames,
        *,
        center_species: Optional[Sequence[int]] = None,
        reduce: Optional[str] = None,
        selected_features: Optional[np.ndarray] = None,
    ) -> InvariantValues:
        """Invariant features of every centre of ``frames``.

        Parameters
        ----------
        frames : ase.Atoms or list of ase.Atoms
        center_species : list of int, optional
            Only atoms of these atomic numbers are centres (default: all).
        reduce : None or "structure"
            ``"structure"``: one row per (structure, central species), the
            sum of that structure's centres of that species, summed in the
            core (memory O(structures × features)). Central species are
            ``center_species`` if given, else those present.
        selected_features : array of int, (n, 5), optional
            Compute only these features, rows of ``labels`` (atomic numbers
            for the species), in this order.
        """
        symmetric = self.symmetric
        if symmetric and not self._one_expansion():
            raise ValueError("symmetric=True needs the same expansion twice, but first and second now differ")
        values, labels, structure, center, center_species_ = self._compute(
            frames, center_species, reduce, selected_features,
            lambda f, g, selected: _core.InvariantCoupling(f, g, symmetric, selected), (0, 2),
        )
        return InvariantValues(
            values=values,
            labels=labels,
            structure=structure,
            center=center,
            center_species=center_species_,
            symmetric=symmetric,
            exponents=(_exponent_of(self.first), _exponent_of(self.second)),
            reduced=reduce,
        )


    def backward(
        self, frames: Frames, cotangent: np.ndarray, *, center_species: Optional[Sequence[int]] = None
    ) -> Gradients:
        """Vector–Jacobian product of :meth:`compute` (one row per centre,
        all features; ``docs/forces.md``).

        Feature k = r_k s_l Σ_m F[p1, l m] G[p2, l m] (s_l = (2l+1)^(-1/2),
        r_k = √2 off the diagonal of a symmetric set), so its cotangent t_k
        becomes ∂L/∂F[p1, l m] = Σ_k t_k r_k s_l G[p2, l m] and ∂L/∂G[p2, l m]
        = Σ_k t_k r_k s_l F[p1, l m], passed on to the expansions' own
        backward passes (added when F and G are one expansion).

        Parameters
        ----------
        frames : ase.Atoms or list of ase.Atoms
        cotangent : ndarray, (n_centers, n_features)
            Shaped like ``compute(frames, center_species=...).values``.
        center_species : list of int, optional
        """
        return self._linearize(frames, center_species)[1](cotangent)

    def _linearize(self, frames: Frames, center_species: Optional[Sequence[int]]) -> tuple:
        """(features, pullback, rows): the per-centre features as
        :meth:`compute` gives them (up to round-off: made here from the two
        expansions' coefficients, which the pullback reuses), the function
        from their cotangent to :class:`Gradients`, and (structure, central
        species) of each row."""
        symmetric = self.symmetric
        if symmetric and not self._one_expansion():
            raise ValueError("symmetric=True needs the same expansion twice, but first and second now differ")
        first, second = self.first, self.second
        same = self._one_expansion()
        _check_same_max_angular(first, second)
        batch, channels, centers = _prepare(frames, center_species, [first] if same else [first, second])
        core_f = first.core(channels[0], first._kinds(batch))
        core_g = core_f if same else second.core(channels[1], second._kinds(batch))
        coupling = _core.InvariantCoupling(core_f, core_g, symmetric)
        core_batch = batch.core_batch(centers)
        prepared_f = core_f.prepare(core_batch)
        prepared_g = prepared_f if same else core_g.prepare(core_batch)
        F = prepared_f.compute()
        G = F if same else prepared_g.compute()
        n, n_features = len(centers), coupling.output_size
        features = _core.couple(coupling, F, G)

        def pullback(cotangent: np.ndarray, rows: Optional[np.ndarray] = None) -> Gradients:
            """Gradients of Σ_i t_i · x_i, t_i the row i of ``cotangent``
            (n, n_features), or its row ``rows[i]`` when given."""
            cotangent = np.asarray(cotangent, dtype=np.float64)
            if cotangent.ndim != 2 or cotangent.shape[1] != n_features or (rows is None and len(cotangent) != n):
                raise ValueError(f"the cotangent has shape {cotangent.shape}, the features {(n, n_features)}")
            if rows is not None:
                rows = np.ascontiguousarray(rows, dtype=np.int64)
            dF, dG = _core.couple_backward(coupling, F, G, np.ascontiguousarray(cotangent), rows)
            if same:
                return _backward(prepared_f, batch, F.shape, dF + dG)
            return _backward(prepared_f, batch, F.shape, dF) + _backward(prepared_g, batch, G.shape, dG)

        return features, pullback, _row_info(batch, centers)


class Equivariants(_FieldPair):
    """Equivariant features ⟨a1 n1 l1; a2 n2 l2; λ μ|F⊗G⟩ of order λ and
    parity σ (``docs/conventions.md``, "Equivariants"), or, without
    ``second``, the ν = 1 coefficients ⟨a n λ μ|F⟩ of one expansion.

    They rotate like the real spherical harmonics Y_λμ: fitted with the same
    weights for every μ they give covariant models of vectors (λ = 1) and
    tensors (λ = 0 and 2 for a polarisability, see :mod:`mslode.tensors`).

    Parameters
    ----------
    first : expansion calculator
        F.
    second : expansion calculator, optional
        G, with the same ``max_angular`` as F.
        None: F alone at l = λ (then only ``parity=+1``).
    lambda_ : int
        λ, 0 … ``max_angular`` of the expansions.
    parity : int
        σ = (-1)^(l1 + l2 + λ) of the (l1, l2) pairs kept: +1 for polar
        tensors (dipoles, polarisabilities), -1 for pseudotensors.
    """

    _second_optional = True
    lambda_ = _hyper_parameter("lambda_", "Order λ of the equivariant.")
    parity = _hyper_parameter("parity", "Parity σ: +1 polar, -1 pseudotensor.")

    def __init__(
        self, first: _Expansion, second: Optional[_Expansion] = None, *, lambda_: int, parity: int = 1
    ) -> None:
        self._initialise(dict(first=first, second=second, lambda_=lambda_, parity=parity))

    @classmethod
    def _validated(cls, params: dict) -> dict:
        first, second = params["first"], params["second"]
        cls._check_fields(first, second)
        lambda_ = _check_int("lambda_", params["lambda_"], 0, _core.MAX_ANGULAR)
        parity = _check_int("parity", params["parity"], -1, 1)
        if parity == 0:
            raise ValueError("parity must be +1 or -1, got 0")
        if lambda_ > first.max_angular:
            raise ValueError(f"lambda_={lambda_} is beyond the expansions' max_angular={first.max_angular}")
        if second is None and parity != 1:
            raise ValueError("the coefficients of one expansion (second=None) have parity +1 only")
        return dict(first=first, second=second, lambda_=lambda_, parity=parity)

    def _one_expansion(self) -> bool:
        return self._state.params["second"] is not None and super()._one_expansion()

    def compute(
        self,
        frames: Frames,
        *,
        center_species: Optional[Sequence[int]] = None,
        reduce: Optional[str] = None,
        selected_features: Optional[np.ndarray] = None,
    ) -> EquivariantValues:
        """Equivariant features of every centre of ``frames``.

        Parameters
        ----------
        frames : ase.Atoms or list of ase.Atoms
        center_species : list of int, optional
            Only atoms of these atomic numbers are centres (default: all).
        reduce : None or "structure"
            As for :meth:`Invariants.compute`.
        selected_features : array of int, (n, 6) or (n, 2) for ν = 1, optional
            Compute only these features, rows of ``labels``, in this order.
        """
        lambda_, parity, first, second = self.lambda_, self.parity, self.first, self.second
        if second is None:
            return self._single(frames, center_species, reduce, selected_features)
        values, labels, structure, center, center_species_ = self._compute(
            frames, center_species, reduce, selected_features,
            lambda f, g, selected: _core.EquivariantCoupling(f, g, lambda_, parity, selected), (0, 3),
        )
        return EquivariantValues(
            values=values.reshape(len(values), 2 * lambda_ + 1, -1),
            labels=labels,
            structure=structure,
            center=center,
            center_species=center_species_,
            lambda_=lambda_,
            parity=parity,
            exponents=(_exponent_of(first), _exponent_of(second)),
            reduced=reduce,
        )

    def _single(
        self,
        frames: Frames,
        center_species: Optional[Sequence[int]],
        reduce: Optional[str],
        selected_features: Optional[np.ndarray],
    ) -> EquivariantValues:
        """ν = 1: the l = λ coefficients of F, as (rows, 2λ+1, species × n)."""
        if reduce not in REDUCTIONS:
            raise ValueError(f"reduce must be one of {REDUCTIONS}, got {reduce!r}")
        lam = self.lambda_
        frames = as_frame_list(frames)
        expansion = self.first.compute(frames, center_species=center_species)
        n_species, max_radial = expansion.values.shape[1:3]
        values = expansion.values[:, :, :, lam * lam : (lam + 1) * (lam + 1)]
        values = values.reshape(len(values), n_species * max_radial, 2 * lam + 1).transpose(0, 2, 1)
        labels = np.stack(
            [np.repeat(expansion.species, max_radial), np.tile(np.arange(max_radial), n_species)], axis=1
        ).astype(np.int32)
        if selected_features is not None:
            indices = _selected_indices(selected_features, labels)
            values, labels = values[:, :, indices], labels[indices]
        structure, center, centre_species = expansion.structure, expansion.center, expansion.center_species
        if reduce == "structure":
            n_structures = len(frames)
            block_species = _block_species(centre_species, center_species)
            rows = structure * len(block_species) + np.searchsorted(block_species, centre_species)
            summed = np.zeros((n_structures * len(block_species),) + values.shape[1:])
            np.add.at(summed, rows, values)
            values = summed
            structure = np.repeat(np.arange(n_structures), len(block_species)).astype(np.int32)
            center = np.full(len(structure), -1, dtype=np.int32)
            centre_species = np.tile(block_species, n_structures).astype(np.int32)
        return EquivariantValues(
            values=np.ascontiguousarray(values),
            labels=labels,
            structure=structure,
            center=center,
            center_species=centre_species,
            lambda_=lam,
            parity=1,
            label_names=("species", "n"),
            exponents=(_exponent_of(self.first),),
            reduced=reduce,
        )

    def _key(self) -> tuple:
        params = self._state.params
        return (params["first"], params["second"], params["lambda_"], params["parity"])


def _selected_indices(selected: Any, labels: np.ndarray) -> np.ndarray:
    """Indices in ``labels`` of the rows of ``selected`` (a ValueError names
    the first row that is not a feature)."""
    selected = np.asarray(selected)
    if selected.ndim != 2 or selected.shape[1] != labels.shape[1] or not np.issubdtype(selected.dtype, np.integer):
        raise ValueError(
            f"selected_features must be an integer array (n, {labels.shape[1]}) of feature labels, got "
            f"{selected.dtype} {selected.shape}"
        )
    if len(selected) == 0:
        raise ValueError("selected_features is empty")
    position = {tuple(int(v) for v in row): k for k, row in enumerate(labels)}
    indices = []
    for row in selected:
        key = tuple(int(v) for v in row)
        if key not in position:
            raise ValueError(f"selected feature {list(key)} is not among these features")
        indices.append(position[key])
    if len(set(indices)) != len(indices):
        raise ValueError("selected_features has repeated rows")
    return np.asarray(indices, dtype=np.int32)


def _block_species(present: np.ndarray, requested: Optional[Sequence[int]]) -> np.ndarray:
    """Central species of per-structure sums: the requested ones, else those present."""
    if requested is not None:
        return np.asarray(sorted(int(z) for z in requested), dtype=np.int32)
    return np.unique(present).astype(np.int32)


def _center_blocks(
    batch: FrameBatch, centers: np.ndarray, requested: Optional[Sequence[int]]
) -> tuple[np.ndarray, np.ndarray]:
    """For each centre, the index of its species among the blocks; the blocks' species."""
    species = _center_species(batch, centers)
    block_species = _block_species(species, requested)
    return np.searchsorted(block_species, species).astype(np.int32), block_species


def _reduced_rows(batch: FrameBatch, block_species: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """structure, center (-1) and center_species of per-structure sums."""
    n = batch.n_structures
    structure = np.repeat(np.arange(n, dtype=np.int32), len(block_species))
    return structure, np.full(len(structure), -1, dtype=np.int32), np.tile(block_species, n).astype(np.int32)


def _check_same_max_angular(first: _Expansion, second: Optional[_Expansion]) -> None:
    if second is not None and first.max_angular != second.max_angular:
        raise ValueError(
            f"both expansions need the same max_angular, got {first.max_angular} and {second.max_angular}"
        )


def _with_params(calculator: _Calculator, changes: dict) -> _Calculator:
    """A new calculator of the same class with some parameters changed."""
    return type(calculator)(**{**calculator.get_params(deep=False), **changes})


def _exponent_of(expansion: Any) -> int:
    """p of a potential expansion, 0 for the density (featomic's convention)."""
    return int(getattr(expansion, "potential_exponent", 0))
