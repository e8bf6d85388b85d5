"""Sparse kernel ridge regression (projected process / subset of regressors)
on M active environments (``docs/models.md``, "Sparse kernel ridge
regression")."""

from __future__ import annotations

import numbers
from typing import Any, Optional, Sequence

import numpy as np

from ..selection import METHODS, select_samples
from . import _design, kernels
from ._base import LinearModel
from .ridge import DEFAULT_ALPHAS


class SparseKernelRidge(LinearModel):
    """Kernel ridge regression of a sum of atomic contributions on M active
    environments: T(A) = Σ_{i∈A} Σ_m k(i, m) w_m (subset of regressors, the
    mean of the projected process).

    The kernel between environments of the same central species is
    k(i, m) = Σ_c w_c (x̂_i^c · x̂_m^c)^ζ_c over the calculators c, with
    x̂ the normalised features of calculator c; there is one set of active
    environments per central species, and none between species.

    The weights minimise Σ_s (y_s − T(A_s))² + α n wᵀ K_MM w. They are
    found without inverting K_MM: with K_MM = U Λ Uᵀ (eigenvalues below
    ``jitter`` × λ_max dropped), the model is linear in the RKHS features
    Φ = K_NM U Λ^(-1/2), and the ridge problem on Φ is solved by SVD
    (solver "svd") or by Cholesky of its normal equations (solver
    "cholesky", streaming). K_NM is built chunk by chunk from the per-atom
    kernel rows, summed per structure.

    Vector and tensor targets are fitted per spherical block (λ, parity),
    as by :class:`Ridge`, with λ-kernels for λ > 0: between environments i
    and m the (2λ+1) × (2λ+1) matrix k_μν = Σ_c w_c (X̂_i X̂_mᵀ)_μν
    (x̂⁰_i · x̂⁰_m)^(ζ_c − 1), X̂ the λ-equivariants of calculator c
    normalised by their Frobenius norm and x̂⁰ the invariants of the same
    expansions (``docs/models.md``, "Sparse kernel ridge regression").

    Parameters
    ----------
    features : list of calculators
        One kernel each (``Invariants`` or expansions, as for :class:`Ridge`;
        ``Equivariants`` for the blocks of vector and tensor targets).
        ``zeta`` and fixed ``kernel_weights`` follow this list; each block
        takes the entries of its own calculators.
    zeta : int or list of int
        Exponent ζ of each kernel.
    n_active : int or dict
        Active environments: a total, split over central species in
        proportion to their number of training centres; or
        ``{atomic number: M}``.
    kernel_weights : None, sequence, "cv" or 2-D array
        Weights w_c of the kernels: all 1 (None), fixed, or chosen by
        cross-validation with α: ``"cv"`` is the grid w_c ∈ {0, ¼, ½, ¾, 1}
        with Σ_c w_c = 1 (each kernel alone included); a 2-D array gives
        its own grid (one row per candidate).
    alphas : float or sequence of float
        Regularisers α, chosen by cross-validation (as :class:`Ridge`).
    cv : int or scikit-learn splitter
        As :class:`Ridge`.
    active_selection : "fps", "cur" or "random"
        How the active environments are chosen among the candidates
        (:mod:`mslode.selection`, on the concatenated normalised features).
    n_candidates : int, optional
        Environments per central species to choose from, taken from
        training structures in random order (default: 5 M per species, or
        all): FPS costs M × n_candidates × n_features.
    jitter : float
        Relative cut on the eigenvalues of K_MM.
    normalize : bool or list of bool
        Per calculator: kernels on normalised features ``x̂ = x/|x|`` (default),
        or on the features as they are, divided by one constant (their
        root-mean-square norm over the candidate environments) so that
        kernels of different calculators are on one scale: a linear
        unnormalised kernel keeps how strongly an environment responds (the
        potential of a longer chain is larger), which normalising removes.
    fragments, baseline, fit_intercept, solver, per_atom, center_species, chunk_size, random_state, progress
        As :class:`Ridge` (``random_state`` also seeds the candidates and
        the first FPS pick).

    Attributes
    ----------
    active_ : list of list of ndarray
        For each central species, the normalised (or scaled) features of its
        active environments under each calculator, (M_k, n_features_c).
    feature_scale_ : ndarray
        The constant each calculator's features are divided by (1 for
        normalised ones).
    kernel_weights_ : ndarray
        The chosen kernel weights; ``alpha_`` the chosen regulariser;
        ``cv_rmse_`` (n_weight_candidates, n_alphas) the cross-validation
        RMSE of each pair.
    coef_ : ndarray
        Weights of the kernel columns (per species, per kernel, per active
        environment): w_c times the dual weights (:meth:`dual_weights`).
    """

    _name = "SparseKernelRidge"

    def __init__(
        self,
        features: Sequence[Any],
        *,
        zeta: Any = 2,
        n_active: Any = 500,
        kernel_weights: Any = None,
        alphas: Any = DEFAULT_ALPHAS,
        cv: Any = 5,
        active_selection: str = "fps",
        n_candidates: Optional[int] = None,
        jitter: float = 1e-10,
        normalize: Any = True,
        fragments: Optional[str] = None,
        baseline: Optional[str] = "auto",
        fit_intercept: bool = False,
        solver: str = "auto",
        per_atom: bool = False,
        center_species: Optional[Sequence[int]] = None,
        chunk_size: int = 100,
        random_state: Any = 0,
        progress: bool = False,
    ) -> None:
        self.features = features
        self.zeta = zeta
        self.n_active = n_active
        self.kernel_weights = kernel_weights
        self.alphas = alphas
        self.cv = cv
        self.active_selection = active_selection
        self.n_candidates = n_candidates
        self.jitter = jitter
        self.normalize = normalize
        self.fragments = fragments
        self.baseline = baseline
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.per_atom = per_atom
        self.center_species = center_species
        self.chunk_size = chunk_size
        self.random_state = random_state
        self.progress = progress

    # -- hyper-parameters --------------------------------------------------------
    def _check_own(self, n_kernels: int) -> None:
        self.zeta_ = kernels.check_zeta(self.zeta, n_kernels)
        self._normalized = self._normalize_flags(n_kernels)
        self._grid = kernels.weight_grid(self.kernel_weights, n_kernels)
        if self.active_selection not in METHODS:
            raise ValueError(f"active_selection must be one of {METHODS}, got {self.active_selection!r}")
        jitter = self.jitter
        if isinstance(jitter, bool) or not isinstance(jitter, numbers.Real) or not 0 < jitter < 1:
            raise ValueError(f"jitter is relative to the largest eigenvalue of K_MM: it must be in (0, 1), got {jitter!r}")
        if self.n_candidates is not None and (
            isinstance(self.n_candidates, bool) or not isinstance(self.n_candidates, (int, np.integer)) or self.n_candidates < 1
        ):
            raise ValueError(f"n_candidates must be None or a positive integer, got {self.n_candidates!r}")

    def _normalize_flags(self, n_kernels: int) -> list:
        flags = [self.normalize] * n_kernels if np.ndim(self.normalize) == 0 else list(self.normalize)
        if len(flags) != n_kernels or not all(isinstance(f, (bool, np.bool_)) for f in flags):
            raise ValueError(f"normalize must be True, False or one bool per calculator ({n_kernels}), got {self.normalize!r}")
        return [bool(f) for f in flags]

    def _active_counts(self, available: list) -> list:
        """Active environments per central species (at most those available)."""
        n_active = self.n_active
        if isinstance(n_active, dict):
            n_active = {int(z): m for z, m in n_active.items()}  # keys come back as strings from a saved model
            unknown = sorted(set(int(z) for z in n_active) - set(self.species_))
            if unknown:
                raise ValueError(f"n_active names species {unknown} without centres in training (central species {self.species_})")
            counts = []
            for z in self.species_:
                value = n_active.get(z, 0)
                if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                    raise ValueError(f"n_active[{z}] must be a non-negative integer, got {value!r}")
                counts.append(int(value))
            return [min(c, a) for c, a in zip(counts, available)]
        if isinstance(n_active, bool) or not isinstance(n_active, (int, np.integer)) or n_active < 1:
            raise ValueError(f"n_active must be a positive integer or a dict {{atomic number: M}}, got {n_active!r}")
        return kernels.split_count(int(n_active), available)

    def _needs_cv(self, alphas: np.ndarray) -> bool:
        return len(alphas) > 1 or len(self._grid) > 1

    # -- active set ------------------------------------------------------------
    def _prepare(self, frames: list, calculators: list, folds: np.ndarray, rng: np.random.Generator) -> None:
        numbers = np.concatenate([f.numbers for f in frames])[_design.centre_mask(frames, self._centers)]
        centres = [int(np.count_nonzero(numbers == z)) for z in self.species_]
        counts = self._active_counts(centres)
        wanted = [
            min(c, self.n_candidates if self.n_candidates is not None else 5 * m) if m else 0
            for c, m in zip(centres, counts)
        ]
        calculators, components = self._row_calculators()
        pool: list = [[[] for _ in calculators] for _ in self.species_]
        found = np.zeros(len(self.species_), dtype=np.int64)
        order = rng.permutation(len(frames))
        for start in range(0, len(order), self.chunk_size):
            if np.all(found >= wanted):
                break
            part = [frames[i] for i in order[start : start + self.chunk_size]]
            env = _design.environments(calculators, part, self._centers, None, components)
            for k, z in enumerate(self.species_):
                mask = env.species == z
                if found[k] >= wanted[k] or not mask.any():
                    continue
                take = np.flatnonzero(mask)[: wanted[k] - found[k]]
                for c, values in enumerate(env.features):
                    pool[k][c].append(values[take])
                found[k] += len(take)
        self.feature_scale_ = np.ones(len(calculators))
        for c in range(len(calculators)):
            if not self._is_normalized(c):
                rows = [part.reshape(len(part), -1) for species_pool in pool for part in species_pool[c]]
                norms = np.concatenate([np.einsum("ij,ij->i", r, r) for r in rows]) if rows else np.zeros(0)
                rms = np.sqrt(norms.mean()) if len(norms) else 0.0
                self.feature_scale_[c] = rms if rms > 0 else 1.0
        pool = [[[self._scaled(c, part) for part in species_pool[c]] for c in range(len(calculators))] for species_pool in pool]
        self.active_ = []
        for k, _ in enumerate(self.species_):
            blocks = [np.concatenate(p) if p else np.zeros((0, 0)) for p in pool[k]]
            m = counts[k]
            implicit = [b for c, b in enumerate(blocks) if not self._explicit(c)]
            if m == 0 or not implicit or not len(implicit[0]):
                chosen = np.zeros(0, dtype=np.int64)
            elif m >= len(implicit[0]):
                chosen = np.arange(len(implicit[0]))
            else:
                joined = np.concatenate([b.reshape(len(b), -1) for b in implicit], axis=1)
                # float32 products for FPS: each pick reads every candidate (memory-bound)
                chosen = select_samples(joined, m, method=self.active_selection, random_state=rng.integers(2**31),
                                        single_precision=True)
            # explicit kernels keep only the shape of their features
            self.active_.append([b[:0] if self._explicit(c) else b[chosen] for c, b in enumerate(blocks)])
        self._kmm = [
            [None if self._explicit(c) else self._kernel(c, active, active).reshape(self._width(active, c), -1)
             for c in range(len(self.zeta_))]
            for active in self.active_
        ]

    def _explicit(self, c: int) -> bool:
        """Kernel c is linear on unnormalised features: its feature space is
        the (scaled) features themselves, used as design columns with no
        active set (exact, not a subset-of-regressors approximation)."""
        return c < len(self.zeta_) and self.zeta_[c] == 1 and not self._normalized[c]

    def _width(self, active: list, c: int) -> int:
        """Design columns of kernel c for one central species."""
        if self._explicit(c):
            return int(active[c].shape[-1]) if active[c].ndim > 1 else 0
        return len(active[c]) * self._components

    def _is_normalized(self, c: int) -> bool:
        """Row calculator c: a kernel's own flag; invariant companions always."""
        return c >= len(self._normalized) or self._normalized[c]

    def _scaled(self, c: int, values: np.ndarray) -> np.ndarray:
        return kernels.normalize(values) if self._is_normalized(c) else values / self.feature_scale_[c]

    def _companions(self) -> list:
        """For each kernel of a λ > 0 block with ζ > 1, the index of its
        invariant companion among the row calculators (None otherwise)."""
        if self._components == 1:
            return [None] * len(self.zeta_)
        out, n = [], len(self.zeta_)
        for zeta in self.zeta_:
            out.append(n if zeta > 1 else None)
            n += zeta > 1
        return out

    def _row_calculators(self) -> tuple[list, list]:
        calculators = list(self.calculators_)
        components = [self._components] * len(calculators)
        for c, index in enumerate(self._companions()):
            if index is not None:
                calculators.append(_design.invariant_companion(self.calculators_[c]))
                components.append(1)
        return calculators, components

    def _kernel(self, c: int, rows: list, active: list) -> np.ndarray:
        """Kernel c between normalised rows and active environments (lists
        over the row calculators): (n, M_k), or (n, 2λ+1, M_k (2λ+1)); the
        scaled features themselves for an explicit kernel."""
        if self._explicit(c):
            return rows[c]
        if self._components == 1:
            return kernels.polynomial(rows[c], active[c], self.zeta_[c])
        companion = self._companions()[c]
        scalar = None if companion is None else rows[companion] @ active[companion].T
        return kernels.tensorial(rows[c], active[c], scalar, self.zeta_[c])

    # -- design ----------------------------------------------------------------------
    def _env_rows(self, k: int, features: list) -> np.ndarray:
        rows = [self._scaled(c, values) for c, values in enumerate(features)]
        return np.concatenate([self._kernel(c, rows, self.active_[k]) for c in range(len(self.zeta_))], axis=-1)

    def _row_widths(self) -> list:
        return [sum(self._width(active, c) for c in range(len(self.zeta_))) for active in self.active_]

    def _row_cotangents(self, k: int, features: list, weights: np.ndarray) -> list:
        """∂/∂x of Σ_m w_m k(x, m): for x̂ = x/|x| and κ_m = x̂ · m̂,
        (1 − x̂ x̂ᵀ) Σ_m w_m ζ κ_m^(ζ−1) m̂ / |x|; unnormalised kernels on
        x/s, Σ_m w_m ζ κ_m^(ζ−1) m / s; explicit kernels w / s."""
        out, start = [], 0
        for c, zeta in enumerate(self.zeta_):
            width = self._width(self.active_[k], c)
            w, start = weights[start : start + width], start + width
            x = features[c]
            if self._explicit(c):
                out.append(np.broadcast_to(w / self.feature_scale_[c], x.shape))
                continue
            active = self.active_[k][c]
            if not self._is_normalized(c):
                kappa = (x / self.feature_scale_[c]) @ active.T
                out.append(((w * zeta * kappa ** (zeta - 1)) @ active) / self.feature_scale_[c])
                continue
            norms = np.sqrt(np.einsum("ij,ij->i", x, x))
            safe = np.where(norms > 0, norms, 1.0)[:, None]
            unit = x / safe
            kappa = unit @ active.T
            g = (w * zeta * kappa ** (zeta - 1)) @ active
            g = (g - np.einsum("ij,ij->i", g, unit)[:, None] * unit) / safe
            out.append(np.where(norms[:, None] > 0, g, 0.0))
        return out

    def _block_params(self, indices: list) -> dict:
        params = super()._block_params(indices)
        if np.ndim(self.zeta) == 1:
            params["zeta"] = [self.zeta[i] for i in indices]
        if np.ndim(self.normalize) == 1:
            params["normalize"] = [self.normalize[i] for i in indices]
        weights = self.kernel_weights
        if weights is not None and not isinstance(weights, str):
            grid = np.asarray(weights, dtype=np.float64)
            params["kernel_weights"] = grid[..., indices].tolist()
        return params

    def _candidates(self, problem: Any) -> list:
        """One transform per kernel-weight candidate, block diagonal over
        species: the columns of the implicit kernels c weighted by w_c and
        projected together by R = K_MM(w)^(-1/2) (K_MM(w) = Σ_c w_c K_MM^c),
        the columns of an explicit kernel by √w_c (its feature space is
        itself, so its weight scales the features by √w_c)."""
        out = []
        for weights in self._grid:
            blocks = []
            for active, k_mm in zip(self.active_, self._kmm):
                implicit = [c for c in range(len(weights)) if k_mm[c] is not None]
                sizes = [self._width(active, c) for c in range(len(weights))]
                m = sizes[implicit[0]] if implicit else 0
                combined = sum(weights[c] * k_mm[c] for c in implicit) if m else np.zeros((0, 0))
                R = kernels.inverse_sqrt(combined, float(self.jitter))
                explicit_width = sum(sizes[c] for c in range(len(weights)) if k_mm[c] is None)
                T = np.zeros((sum(sizes), R.shape[1] + explicit_width))
                row, column = 0, R.shape[1]
                for c, size in enumerate(sizes):
                    if k_mm[c] is not None:
                        T[row : row + size, : R.shape[1]] = weights[c] * R
                    else:
                        T[row : row + size, column : column + size] = np.sqrt(weights[c]) * np.eye(size)
                        column += size
                    row += size
                blocks.append(T)
            rows = sum(b.shape[0] for b in blocks)
            T = np.zeros((rows, sum(b.shape[1] for b in blocks)))
            r = c = 0
            for b in blocks:
                T[r : r + b.shape[0], c : c + b.shape[1]] = b
                r, c = r + b.shape[0], c + b.shape[1]
            out.append((weights, T))
        return out

    def _chosen(self, label: Any) -> None:
        self.kernel_weights_ = np.asarray(label, dtype=np.float64)
        del self._kmm

    def dual_weights(self) -> dict:
        """Weights of the active environments of each central species in
        the summed kernel: ``{atomic number: (M_k,)}``, or (M_k (2λ+1),)
        for a block λ > 0 (active environment major); of a vector or tensor
        model, ``{(lambda_, parity): that of the block}``."""
        self._check_fitted()
        if self.blocks_ is not None:
            return {key: block.dual_weights() for key, block in self.blocks_.items()}
        implicit = [c for c in range(len(self.zeta_)) if not self._explicit(c) and self.kernel_weights_[c] > 0]
        if not implicit:
            raise ValueError("no kernel with an active set has a non-zero weight: the model has no dual weights")
        first = implicit[0]
        out = {}
        offset = 0
        for z, active in zip(self.species_, self.active_):
            widths = [self._width(active, c) for c in range(len(self.zeta_))]
            start = offset + sum(widths[:first])
            out[int(z)] = self.coef_[start : start + widths[first]] / self.kernel_weights_[first]
            offset += sum(widths)
        return out

    # -- saving ------------------------------------------------------------------------
    def _extra_state(self) -> tuple[dict, dict]:
        arrays = {"kernel_weights": self.kernel_weights_, "feature_scale": self.feature_scale_}
        for k, active in enumerate(self.active_):
            for c, values in enumerate(active):
                arrays[f"active_{k}_{c}"] = values
        n_arrays = len(self.active_[0]) if self.active_ else len(self.zeta_)
        return {"zeta": list(self.zeta_), "n_kernels": len(self.zeta_), "n_active_arrays": n_arrays}, arrays

    def _restore_extra(self, fitted: dict, arrays: dict) -> None:
        self.zeta_ = [int(z) for z in fitted["zeta"]]
        n_kernels = int(fitted["n_kernels"])
        n_arrays = int(fitted.get("n_active_arrays", n_kernels))  # more with the invariant companions of λ-kernels
        self.kernel_weights_ = arrays["kernel_weights"]
        self._normalized = self._normalize_flags(n_kernels)
        self.feature_scale_ = arrays.get("feature_scale", np.ones(n_arrays))
        self.active_ = [[arrays[f"active_{k}_{c}"] for c in range(n_arrays)] for k in range(len(self.species_))]
        if n_arrays != len(self._row_calculators()[0]):
            raise ValueError(f"the model needs {len(self._row_calculators()[0])} active arrays per species, the file has {n_arrays}")
        expected = sum(self._width(a, c) for a in self.active_ for c in range(n_kernels))
        if self.coef_.shape != (expected,) or self.kernel_weights_.shape != (n_kernels,):
            raise ValueError(f"coef has shape {self.coef_.shape}, the active set needs ({expected},)")
