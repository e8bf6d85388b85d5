"""What :class:`~mslode.Ridge` and :class:`~mslode.SparseKernelRidge` share:
a model linear in a design built per central species from the calculators'
features, an unpenalised baseline, the regulariser (and any other grid) by
cross-validation, streaming over chunks of structures, prediction, saving.

A fitted model predicts

    y(A) = Σ_k Z_k(A) · coef_k + C(A) · baseline_

with Z_k(A) the design columns of central species k (sums over the centres
of that species of their features, or of their kernel rows) and C(A) the
composition of A (and a 1 for the intercept).
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

from .. import tensors
from ..io import calculator_from_json, calculator_to_json, params_from_json, params_to_json, subset_arrays
from . import _design, _forces, _solve, _targets

BASELINES = ("auto", "composition", None)


def _progress(iterable: Any, enabled: bool, total: int, what: str) -> Any:
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=what, unit="chunk")


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_positive_int(name: str, value: Any) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def as_frames(frames: Any) -> list:
    import ase

    if isinstance(frames, ase.Atoms):
        return [frames]
    if isinstance(frames, (str, bytes)) or not hasattr(frames, "__iter__"):
        raise TypeError(f"frames must be an ase.Atoms or a list of them, got {type(frames).__name__}")
    frames = list(frames)
    if not frames:
        raise ValueError("frames is empty: give at least one structure")
    for index, frame in enumerate(frames):
        if not isinstance(frame, ase.Atoms):
            raise TypeError(f"structure {index} is a {type(frame).__name__}, not an ase.Atoms")
    return frames


class LinearModel(RegressorMixin, BaseEstimator):
    """Fit and predict of a model linear in per-species design columns
    (subclasses define the columns and the candidate transforms)."""

    _name = "model"

    # -- hooks ----------------------------------------------------------------
    def _linear_in_features(self) -> bool:
        """Whether the design of a structure is the sum of its centres' features
        (then per-structure sums come from :func:`_design.structure_sums`)."""
        return False

    def _check_own(self, n_calculators: int) -> None:
        """Checks of the subclass's own hyper-parameters (before any work)."""

    def _prepare(self, frames: list, calculators: list, folds: np.ndarray, rng: np.random.Generator) -> None:
        """Anything to fix before the rows are built (e.g. the active set)."""

    def _env_rows(self, k: int, features: list) -> np.ndarray:
        """Design columns of centres of central species ``species_[k]``,
        (n, width_k), or (n, 2λ+1, width_k) for a block λ > 0."""
        raise NotImplementedError

    def _row_widths(self) -> list:
        """Design columns of each central species (the blocks of ``coef_``)."""
        raise NotImplementedError

    def _species_coef(self, k: int) -> np.ndarray:
        widths = self._row_widths()
        start = int(sum(widths[:k]))
        return self.coef_[start : start + widths[k]]

    def _row_cotangents(self, k: int, features: list, weights: np.ndarray) -> list:
        """∂(rows · weights)/∂x per row calculator for centres of species
        ``species_[k]`` with ``features`` (as :meth:`_env_rows` takes them):
        one (n, F_c) array each."""
        raise NotImplementedError

    def _centre_energies(self, features: list, species: np.ndarray) -> tuple[np.ndarray, list]:
        """Each centre's share of the energy, rows · weights of its species,
        and per row calculator the cotangent ∂E/∂x as (t, rows): centre i's
        is ``t[i]``, or ``t[rows[i]]`` when ``rows`` is not None. Centres of
        a species the model has no weights for add nothing."""
        per_centre = np.zeros(len(species))
        cotangents = [np.zeros_like(x) for x in features]
        for k, z in enumerate(self.species_):
            mask = species == z
            if not mask.any():
                continue
            rows = [x[mask] for x in features]
            weights = self._species_coef(k)
            per_centre[mask] = self._env_rows(k, rows) @ weights
            for c, t in enumerate(self._row_cotangents(k, rows, weights)):
                cotangents[c][mask] = t
        return per_centre, [(t, None) for t in cotangents]

    def _row_calculators(self) -> tuple[list, list]:
        """The calculators whose per-centre features the rows are made of,
        and the components of each (2λ+1 for equivariants, 1 for invariants)."""
        return self.calculators_, [self._components] * len(self.calculators_)

    def _candidates(self, problem: Any) -> list:
        """Column transforms T to choose among by cross-validation (labels, T)."""
        raise NotImplementedError

    def _chosen(self, label: Any) -> None:
        """Record what the chosen candidate means."""

    def _block_params(self, indices: list) -> dict:
        """Hyper-parameters of the model of one spherical block, fitted on
        ``features[indices]`` (per-calculator parameters restricted to those)."""
        return dict(features=[self.features[i] for i in indices])

    def _extra_state(self) -> tuple[dict, dict]:
        return {}, {}

    def _restore_extra(self, fitted: dict, arrays: dict) -> None:
        pass

    # -- checks ---------------------------------------------------------------
    def _check_common(self) -> dict:
        name = self._name
        if self.baseline not in BASELINES:
            raise ValueError(f"{name}: baseline must be 'auto', 'composition' or None, got {self.baseline!r}")
        checked = dict(
            calculators=_design.check_calculators(self.features, name),
            alphas=_solve.check_alphas(self.alphas),
            fit_intercept=check_bool("fit_intercept", self.fit_intercept),
            per_atom=check_bool("per_atom", self.per_atom),
            progress=check_bool("progress", self.progress),
            chunk_size=check_positive_int("chunk_size", self.chunk_size),
            center_species=_design.check_center_species(self.center_species),
        )
        if self.solver not in ("auto", "svd", "cholesky"):
            raise ValueError(f"{name}: solver must be 'auto', 'svd' or 'cholesky', got {self.solver!r}")
        if checked["per_atom"] and self.fragments is not None:
            raise ValueError(f"{name}: fragments describe structures; they cannot be used with per_atom=True")
        return checked

    def _uses_composition(self) -> bool:
        if self.baseline == "auto":
            return self.fragments is None
        return self.baseline == "composition"

    # -- rows -----------------------------------------------------------------
    def _unpenalised(self, frames: list, env_species: Optional[np.ndarray]) -> np.ndarray:
        """Baseline columns: composition (or one-hot species per atom) and the intercept."""
        n = len(frames) if env_species is None else len(env_species)
        columns = []
        if self._composition:
            if env_species is not None:
                columns.append((env_species[:, None] == np.asarray(self.species_)[None, :]).astype(np.float64))
            elif self.fragments is not None:
                columns.append(np.zeros((n, len(self.composition_species_))))  # whole minus fragments: zero
            else:
                columns.append(_design.composition(frames, self.composition_species_))
        if self.fit_intercept:
            columns.append(np.ones((n, 1)) if self.fragments is None else np.zeros((n, 1)))
        return np.concatenate(columns, axis=1) if columns else np.zeros((n, 0))

    def _chunk_rows(self, frames: list) -> tuple[np.ndarray, np.ndarray]:
        """(Z, C) of some structures: one row per structure, or per centre;
        for a block of 2λ+1 components, one row per component μ of each
        (μ fastest), with the same columns for every μ."""
        n = len(frames)
        calculators = self.calculators_
        species = self.species_
        m = self._components
        if self._linear_in_features() and self.fragments is None and not self.per_atom:
            blocks = [_design.structure_sums(c, frames, species, self._centers, components=m) for c in calculators]
            Z = np.concatenate(blocks, axis=-1)  # (n, species, [m,] features)
            Z = Z.reshape(n, -1) if m == 1 else Z.transpose(0, 2, 1, 3).reshape(n * m, -1)
            return Z, np.repeat(self._unpenalised(frames, None), m, axis=0)
        row_calculators, components = self._row_calculators()
        env = _design.environments(row_calculators, frames, self._centers, self.fragments, components)
        parts = []
        for k, z in enumerate(species):
            mask = env.species == z
            rows = self._env_rows(k, [f[mask] for f in env.features])
            if env.reference is not None:
                rows = rows - self._env_rows(k, [f[mask] for f in env.reference])
            parts.append((mask, rows))
        if self.per_atom:
            widths = [rows.shape[-1] for _, rows in parts]
            Z = np.zeros((len(env.species),) + ((m,) if m > 1 else ()) + (sum(widths),))
            offset = 0
            for (mask, rows), width in zip(parts, widths):
                Z[mask, ..., offset : offset + width] = rows
                offset += width
            C = self._unpenalised(frames, env.species)
        else:
            Z = np.concatenate([_design.sum_rows(rows, env.structure[mask], n) for mask, rows in parts], axis=-1)
            C = self._unpenalised(frames, None)
        return Z.reshape(-1, Z.shape[-1]), np.repeat(C, m, axis=0)

    # -- fit --------------------------------------------------------------------
    def fit(self, frames: Any, y: Any, groups: Any = None) -> "LinearModel":
        """Fit to structures and their targets.

        Parameters
        ----------
        frames : list of ase.Atoms
        y : array-like or str
            Targets (n_structures,), (n_structures, 3) or (n_structures, 3,
            3), or per atom with ``per_atom=True``; or the name of a property
            of the structures (``atoms.info``, ``atoms.arrays``, the attached
            calculator's ``energy``, ...).
        groups : array-like or str, optional
            A label per structure (or an ``atoms.info`` key): the
            cross-validation keeps each group in one fold (GroupKFold).

        Returns
        -------
        self
        """
        checked = self._check_common()
        self._check_own(len(checked["calculators"]))
        frames = as_frames(frames)
        self.fragments_ = _targets.check_fragment_key(frames, self.fragments)
        self._centers = checked["center_species"]
        mask = _design.centre_mask(frames, self._centers) if checked["per_atom"] else None
        target = _targets.read_target(frames, y, per_atom=checked["per_atom"], centers=mask)
        group_labels = _targets.read_groups(frames, groups)
        self.target_kind_ = target.kind
        if target.kind == "scalar":
            self.blocks_ = None
            return self._fit_rows(frames, target.values, group_labels, checked, key=(0, 1))
        self.blocks_ = _fit_blocks(self, frames, target, group_labels)
        self.species_ = sorted({z for block in self.blocks_.values() for z in block.species_})
        self.n_structures_fit_ = len(frames)
        return self

    def _fit_rows(
        self, frames: list, values: np.ndarray, group_labels: Optional[np.ndarray], checked: dict, key: tuple
    ) -> "LinearModel":
        """The fit of one spherical block ``key`` = (λ, parity) of the target,
        ``values`` (n_rows,) for λ = 0 or (n_rows, 2λ+1)."""
        self._key = (int(key[0]), int(key[1]))
        self._components = m = 2 * self._key[0] + 1
        values = values.reshape(-1)  # μ fastest, as the rows
        species = _design.central_species(frames, self._centers)
        numbers = np.concatenate([f.numbers for f in frames])
        if not np.isin(numbers, species).any():
            raise ValueError(f"{self._name}: no centre in the training structures (center_species={self._centers})")
        self.species_ = species
        self.composition_species_ = _design.training_species(frames)
        self.calculators_ = [_design.with_species(c, self.composition_species_) for c in checked["calculators"]]
        allowed = [_design.channel_species(c) for c in self.calculators_]
        self.allowed_species_ = sorted(set.intersection(*allowed)) if allowed else []
        self._composition = self._uses_composition()

        alphas = checked["alphas"]
        rng = np.random.default_rng(self.random_state)
        if self._needs_cv(alphas):
            folds, n_folds = _solve.assign_folds(len(frames), self.cv, group_labels, self.random_state)
        else:
            folds, n_folds = np.full(len(frames), -1, dtype=np.int64), 0
        self._prepare(frames, self.calculators_, folds, rng)

        if checked["per_atom"]:
            per_structure = np.array([np.count_nonzero(_design.centre_mask([f], self._centers)) for f in frames])
        else:
            per_structure = np.ones(len(frames), dtype=np.int64)
        per_structure = per_structure * m
        row_offsets = np.concatenate([[0], np.cumsum(per_structure)])
        problem = None
        slices = list(_design.chunks(len(frames), checked["chunk_size"]))
        for part in _progress(slices, checked["progress"], len(slices), f"{self._name}.fit"):
            Z, C = self._chunk_rows(frames[part])
            rows = slice(row_offsets[part.start], row_offsets[part.stop])
            row_folds = np.repeat(folds[part], per_structure[part])
            if problem is None:
                problem = _solve.make_problem(self.solver, int(row_offsets[-1]), Z.shape[1], n_folds, C.shape[1])
            problem.add(C, Z, values[rows], row_folds)
        self.solver_ = "svd" if isinstance(problem, _solve.DesignProblem) else "cholesky"

        candidates = self._candidates(problem)
        if n_folds:
            n_validation = int(np.count_nonzero(np.repeat(folds, per_structure) >= 0))
            errors = np.stack([_solve.total_rmse(problem.cv_sse(T, alphas), n_validation) for _, T in candidates])
            best_candidate, best_alpha = _solve.best_index(errors)
        else:
            errors = np.full((len(candidates), len(alphas)), np.nan)
            best_candidate, best_alpha = 0, 0
        self.cv_rmse_ = errors
        self.alpha_ = float(alphas[best_alpha])
        label, T = candidates[best_candidate]
        mu, beta = problem.solve(T, self.alpha_)
        self.coef_ = beta if T is None else (beta * T if T.ndim == 1 else T @ beta)
        self.baseline_ = mu
        self._chosen(label)
        self.n_structures_fit_ = len(frames)
        return self

    def _needs_cv(self, alphas: np.ndarray) -> bool:
        return len(alphas) > 1

    # -- predict ----------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_") and getattr(self, "blocks_", None) is None:
            raise ValueError(f"this {self._name} is not fitted yet: call fit(frames, y) first")

    def predict(self, frames: Any) -> np.ndarray:
        """Predicted targets.

        Parameters
        ----------
        frames : list of ase.Atoms

        Returns
        -------
        ndarray
            (n_structures,), (n_structures, 3) or (n_structures, 3, 3) as
            the target (Cartesian); per centre with ``per_atom=True``.

        Raises
        ------
        ValueError
            A structure has a central species unseen in training, or an atom
            of a species the calculators have no channel for.
        """
        self._check_fitted()
        if self.blocks_ is not None:
            return _assemble(self.target_kind_, {key: block.predict(frames) for key, block in self.blocks_.items()})
        out = np.concatenate([Z @ self.coef_ + C @ self.baseline_ for Z, C in self._prediction_rows(frames)])
        return out if self._components == 1 else out.reshape(-1, self._components)

    def predict_forces(self, frames: Any) -> "_forces.ForcePredictions":
        """Energies, forces F = −∂E/∂r and stress (1/Ω) ∂E/∂ε of a model of
        one energy per structure (``docs/forces.md``).

        Parameters
        ----------
        frames : list of ase.Atoms

        Returns
        -------
        ForcePredictions
            ``energy`` (n_structures,), ``forces`` (a list of (n_atoms, 3)),
            ``stress`` (n_structures, 3, 3), NaN for finite structures (and
            with the slab dipole correction of a potential).

        Raises
        ------
        ValueError
            The model predicts a vector, a tensor or per-atom values, or a
            structure has a species unseen in training.
        NotImplementedError
            The features include equivariants, or the model was fitted on
            fragment differences.
        """
        return _forces.predict_forces(self, as_frames(frames))

    def _prediction_rows(self, frames: Any) -> Any:
        """The (Z, C) rows of ``frames``, chunk by chunk, after the checks."""
        self._check_fitted()
        frames = as_frames(frames)
        _design.check_species(frames, self.species_, set(self.allowed_species_), self._centers)
        if self.fragments is not None:
            _targets.check_fragment_key(frames, self.fragments)
        chunk_size = check_positive_int("chunk_size", self.chunk_size)
        slices = list(_design.chunks(len(frames), chunk_size))
        for part in _progress(slices, bool(self.progress), len(slices), f"{self._name}.predict"):
            yield self._chunk_rows(frames[part])

    def _design_key(self) -> Optional[tuple]:
        """Models with equal keys build the same rows from the same frames
        (a committee then builds them once); None: not shared."""
        return None

    # -- saving -----------------------------------------------------------------
    def save(self, path: Any) -> None:
        """Write the fitted model to ``path`` (``docs/models.md``, "Saved models");
        read it back with :func:`mslode.load`."""
        from ..io import save_model

        self._check_fitted()
        save_model(self, path)

    def _saved_state(self) -> tuple[dict, dict]:
        self._check_fitted()
        if self.blocks_ is not None:
            fitted = dict(target_kind=self.target_kind_, n_structures_fit=int(self.n_structures_fit_), blocks=[])
            arrays = {}
            for k, (key, block) in enumerate(self.blocks_.items()):
                block_fitted, block_arrays = block._saved_state()
                params = params_to_json(block.get_params(deep=False), f"block {key}")
                fitted["blocks"].append(dict(key=list(key), params=params, fitted=block_fitted))
                arrays.update({f"block{k}.{name}": value for name, value in block_arrays.items()})
            return fitted, arrays
        fitted = dict(
            species=[int(z) for z in self.species_],
            composition_species=[int(z) for z in self.composition_species_],
            allowed_species=[int(z) for z in self.allowed_species_],
            calculators=[calculator_to_json(c) for c in self.calculators_],
            center_species=self._centers,
            composition=bool(self._composition),
            alpha=self.alpha_,
            solver=self.solver_,
            target_kind=self.target_kind_,
            block=list(self._key),
            n_structures_fit=int(self.n_structures_fit_),
        )
        arrays = {"coef": self.coef_, "baseline": self.baseline_, "cv_rmse": self.cv_rmse_}
        extra_fitted, extra_arrays = self._extra_state()
        fitted.update(extra_fitted)
        arrays.update(extra_arrays)
        return fitted, arrays

    def _restore_state(self, fitted: dict, arrays: dict) -> None:
        self.target_kind_ = fitted["target_kind"]
        self.n_structures_fit_ = int(fitted["n_structures_fit"])
        if "blocks" in fitted:
            self.blocks_ = {}
            for k, data in enumerate(fitted["blocks"]):
                key = (int(data["key"][0]), int(data["key"][1]))
                block = type(self)(**params_from_json(data["params"], f"block {key}"))
                block._restore_state(data["fitted"], subset_arrays(arrays, f"block{k}."))
                if block._key != key:
                    raise ValueError(f"block {k} is saved as {key} but fitted as {block._key}")
                self.blocks_[key] = block
            self.species_ = sorted({z for block in self.blocks_.values() for z in block.species_})
            return
        self.blocks_ = None
        self._key = tuple(int(v) for v in fitted.get("block", (0, 1)))  # files without it hold scalar models
        self._components = 2 * self._key[0] + 1
        self.species_ = list(fitted["species"])
        self.composition_species_ = list(fitted["composition_species"])
        self.allowed_species_ = list(fitted["allowed_species"])
        self.calculators_ = [calculator_from_json(c, f"calculators_[{k}]") for k, c in enumerate(fitted["calculators"])]
        self._centers = fitted["center_species"]
        self._composition = bool(fitted["composition"])
        self.alpha_ = float(fitted["alpha"])
        self.solver_ = fitted["solver"]
        self.fragments_ = self.fragments
        self.coef_ = arrays["coef"]
        self.baseline_ = arrays["baseline"]
        self.cv_rmse_ = arrays["cv_rmse"]
        self._restore_extra(fitted, arrays)
        n_baseline = (len(self.species_) if self.per_atom else len(self.composition_species_)) * self._composition + int(
            bool(self.fit_intercept)
        )
        if self.baseline_.shape != (n_baseline,):
            raise ValueError(f"the baseline has shape {self.baseline_.shape}, the model needs ({n_baseline},)")


#: A block of a rank-2 target whose largest component is below this fraction
#: of the tensor's largest is absent (the antisymmetric part of a symmetric
#: tensor is zero up to rounding): it needs no features and predicts zero.
NEGLIGIBLE_BLOCK = 1e-12


def _fit_blocks(model: LinearModel, frames: list, target: "_targets.Target", group_labels: Optional[np.ndarray]) -> dict:
    """One fitted copy of ``model`` per spherical block of a vector or rank-2
    target, each on the calculators whose features have that block's (λ,
    parity); λ > 0 blocks have no baseline (a constant is not covariant)."""
    from sklearn.base import clone

    blocks = target.spherical()
    scale = np.abs(target.values).max()
    antisymmetric = (1, -1)
    needed = [k for k, v in blocks.items() if k != antisymmetric or np.abs(v).max() > NEGLIGIBLE_BLOCK * scale]
    by_key: dict = {}
    for index, calculator in enumerate(model.features):
        by_key.setdefault(_design.feature_key(calculator), []).append(index)
    name = model._name
    for lambda_, parity in needed:
        if (lambda_, parity) not in by_key:
            what = "Invariants(rho, V)" if lambda_ == 0 else f"Equivariants(rho, V, lambda_={lambda_}, parity={parity})"
            raise ValueError(
                f"{name}: the {target.kind} target has a block λ={lambda_}, parity={parity:+d} and no features for "
                f"it: add e.g. mslode.{what} to features"
            )
    unused = sorted(set(by_key) - set(needed))
    if unused:
        raise ValueError(
            f"{name}: features of (lambda_, parity) {unused} match no block of the {target.kind} target, whose "
            f"blocks are {needed}"
        )
    fitted = {}
    for key in needed:
        params = model._block_params(by_key[key])
        if key[0] > 0:
            params.update(baseline=None, fit_intercept=False)
        block = clone(model).set_params(**params)
        checked = block._check_common()
        block._check_own(len(checked["calculators"]))
        block.fragments_ = model.fragments_
        block._centers = checked["center_species"]
        block.target_kind_ = target.kind
        block.blocks_ = None
        fitted[key] = block._fit_rows(frames, blocks[key], group_labels, checked, key=key)
    return fitted


def _assemble(kind: str, predictions: dict) -> np.ndarray:
    """Cartesian predictions from the blocks' (absent rank-2 blocks are zero)."""
    if kind == "vector":
        return tensors.spherical_to_vector(predictions[tensors.VECTOR_KEY])
    return tensors.spherical_to_rank2({key: np.asarray(values).reshape(len(values), -1) for key, values in predictions.items()})
