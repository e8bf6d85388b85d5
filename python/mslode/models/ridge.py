"""Linear models T(A) = Σ_i w_{a_i} · x_i on invariant features
(``docs/models.md``, "Ridge")."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from ._base import LinearModel, check_bool

#: Columns whose root-mean-square is below this fraction of the largest are
#: round-off (zero by symmetry): not standardised.
ROUND_OFF_COLUMN = 1e-10

#: Default grid of regularisers α (per training structure, on standardised columns).
DEFAULT_ALPHAS = tuple(float(a) for a in np.logspace(-10, 2, 13))


class Ridge(LinearModel):
    """Ridge regression of a property that is a sum of atomic contributions,
    T(A) = Σ_i w_{a_i} · x_i: one weight vector per central species, fitted
    on the per-structure sums of the features of each central species.

    Vector and rank-2 tensor targets are fitted covariantly, one model per
    spherical block (λ, parity) on the ``Equivariants`` of that order, the
    same weights for every component μ (``docs/models.md``, "Vector and
    tensor targets"); ``blocks_`` holds them and ``predict`` returns
    Cartesian values.

    Parameters
    ----------
    features : list of calculators
        Their invariant features are concatenated (``Invariants``, or an
        expansion's ν = 1 invariants); for a vector or tensor target, those
        of each block's (λ, parity) (``Equivariants``). Calculators whose ``species`` is None
        are fixed at fit time to the species of the training set, so that
        every later structure gets the same columns.
    alphas : float or sequence of float
        Regularisers α to choose from by cross-validation (one value: no
        cross-validation). The objective is ``Σ_s (y_s − ŷ_s)² + α n |w̃|²`` with
        n the number of training structures and w̃ the weights on
        standardised columns.
    cv : int or scikit-learn splitter
        Folds: ``KFold(cv, shuffle=True, random_state)``, or
        ``GroupKFold(cv)`` when ``fit`` gets ``groups``; or any splitter
        with disjoint test sets (``LeaveOneGroupOut()``, ...).
    fragments : str, optional
        Name of a per-atom label (``atoms.arrays[name]``, e.g. a monomer
        index). The model then learns on X(whole) − Σ_f X(fragment f alone),
        with the fragments computed at the same positions, so that it is
        exactly zero at dissociation: for interaction energies. See
        ``docs/models.md``, "Fragments".
    baseline : "auto", "composition" or None
        "composition": an unpenalised energy per atom of each species (for
        extensive targets); "auto": composition without fragments, none with
        them (the composition of the whole minus its fragments is zero).
    fit_intercept : bool
        An unpenalised constant per structure (off by default: an
        interaction energy must vanish with its features).
    standardize : bool
        Scale every column to unit root-mean-square over the training
        structures (not centred: zero features still predict zero), so one
        α regularises all features alike; columns below 1e-10 of the largest
        root-mean-square (zero by symmetry, up to round-off) are left as
        they are.
    solver : "auto", "svd" or "cholesky"
        "svd" keeps the per-structure design (n × P) and solves by SVD;
        "cholesky" streams Gram matrices ((n_folds + 1) × P² memory, never
        the rows) and solves by Cholesky; "auto" takes the one that holds
        less memory.
    per_atom : bool
        Fit per-atom targets (one value per centre) on each centre's own
        features instead of per-structure sums.
    center_species : list of int, optional
        Only atoms of these species are centres (default: all atoms).
    chunk_size : int
        Structures per chunk: features are computed, summed and added to the
        solver chunk by chunk, never held per atom for all structures.
    random_state : int
        Seed of the folds (``KFold(shuffle=True)``).
    progress : bool
        Show a progress bar (tqdm) over chunks.

    Attributes
    ----------
    species_ : list of int
        Central species, one weight block each.
    coef_ : ndarray, (n_species * n_features,)
        Weights in the units of the features, central species major
        (:meth:`weights` splits them).
    baseline_ : ndarray
        Energy per atom of each of ``composition_species_`` (with the
        composition baseline), then the intercept (with ``fit_intercept``).
    alpha_ : float
        The chosen regulariser; ``cv_rmse_`` (1, n_alphas) its
        cross-validation RMSE for every α.
    calculators_ : list
        The calculators with their species fixed.
    scale_ : ndarray
        Root-mean-square of each column over the training structures.
    blocks_ : dict or None
        For a vector or tensor target, ``{(lambda_, parity): fitted Ridge}``
        of its spherical blocks (the attributes above live there); None for
        a scalar target.
    target_kind_ : str
        ``"scalar"``, ``"vector"`` or ``"rank2"``.
    """

    _name = "Ridge"

    def __init__(
        self,
        features: Sequence[Any],
        *,
        alphas: Any = DEFAULT_ALPHAS,
        cv: Any = 5,
        fragments: Optional[str] = None,
        baseline: Optional[str] = "auto",
        fit_intercept: bool = False,
        standardize: bool = True,
        solver: str = "auto",
        per_atom: bool = False,
        center_species: Optional[Sequence[int]] = None,
        chunk_size: int = 200,
        random_state: Any = 0,
        progress: bool = False,
    ) -> None:
        self.features = features
        self.alphas = alphas
        self.cv = cv
        self.fragments = fragments
        self.baseline = baseline
        self.fit_intercept = fit_intercept
        self.standardize = standardize
        self.solver = solver
        self.per_atom = per_atom
        self.center_species = center_species
        self.chunk_size = chunk_size
        self.random_state = random_state
        self.progress = progress

    def _linear_in_features(self) -> bool:
        return True

    def _env_rows(self, k: int, features: list) -> np.ndarray:
        return np.concatenate(features, axis=-1)

    def _row_widths(self) -> list:
        return [len(self.coef_) // len(self.species_)] * len(self.species_)

    def _centre_energies(self, features: list, species: np.ndarray) -> tuple[np.ndarray, list]:
        # A centre's cotangent is its species' weights: one row per species
        # (and a zero row for species without weights) picked per centre, and
        # the energies from one product over all centres, with no copy of
        # the feature rows (hundreds of MB for a large cell).
        index = np.full(len(species), len(self.species_), dtype=np.int64)
        for k, z in enumerate(self.species_):
            index[species == z] = k
        coefs = [self._species_coef(k) for k in range(len(self.species_))]
        weights = np.stack(coefs + [np.zeros_like(coefs[0])])
        ends = np.cumsum([x.shape[-1] for x in features])
        tables = [np.ascontiguousarray(weights[:, end - x.shape[-1] : end]) for x, end in zip(features, ends)]
        per_centre = np.zeros(len(species))
        for x, table in zip(features, tables):
            per_centre += np.take_along_axis(x @ table.T, index[:, None], axis=1)[:, 0]
        return per_centre, [(table, index) for table in tables]

    def _candidates(self, problem: Any) -> list:
        rms = problem.column_rms()
        # columns that are zero up to round-off (by symmetry, e.g. l = 1 around a centrosymmetric centre)
        # keep scale 1: standardising them would blow their noise up to the size of real features
        significant = rms > ROUND_OFF_COLUMN * (rms.max() if rms.size else 0.0)
        self.scale_ = np.where(significant, rms, 1.0)
        if check_bool("standardize", self.standardize):
            return [(None, 1.0 / self.scale_)]
        return [(None, None)]

    def _design_key(self) -> Optional[tuple]:
        self._check_fitted()
        if self.blocks_ is not None:
            return None
        return (
            "Ridge", tuple(self.calculators_), tuple(self.species_), tuple(self.composition_species_),
            tuple(self.allowed_species_), self.fragments, bool(self.per_atom),
            None if self._centers is None else tuple(self._centers), bool(self._composition),
            bool(self.fit_intercept), self.chunk_size, self._key,
        )

    def weights(self) -> dict:
        """The weights of each central species: ``{atomic number: (n_features,)}``
        (of a vector or tensor model: ``{(lambda_, parity): that of the block}``)."""
        self._check_fitted()
        if self.blocks_ is not None:
            return {key: block.weights() for key, block in self.blocks_.items()}
        blocks = self.coef_.reshape(len(self.species_), -1)
        return {int(z): blocks[k] for k, z in enumerate(self.species_)}

    def _extra_state(self) -> tuple[dict, dict]:
        return {}, {"scale": self.scale_}

    def _restore_extra(self, fitted: dict, arrays: dict) -> None:
        self.scale_ = arrays["scale"]
        if self.coef_.shape != self.scale_.shape:
            raise ValueError(f"coef has shape {self.coef_.shape} but scale {self.scale_.shape}")
