"""Regularised least squares with an unpenalised block, for every fold of a
cross-validation and every regulariser at once.

Every estimator fits

    min_{μ, β}  Σ_rows (y − C μ − Z T β)²  +  α n_train |β|²

with C the unpenalised columns (composition, intercept), Z the penalised
design (per-structure sums of features, or kernel rows), T a transform of
its columns (the standardisation of :class:`Ridge`, the K_MM^(-1/2) of
:class:`SparseKernelRidge`) and n_train the number of training rows, so α
is a regulariser per row. C is projected out exactly (its pseudo-inverse
through an SVD or eigendecomposition with a rank cut, since identical
compositions make it rank deficient).

Two solvers give the same solution:

- :class:`DesignProblem` keeps the rows and solves by SVD of the (projected)
  design: β = V diag(s/(s² + α n)) Uᵀ y, stable at any conditioning, all α
  from one SVD per fold; memory n × P.
- :class:`GramProblem` streams: it keeps, per fold, the Gram matrix of
  [C | Z | y] (never the rows) and solves the normal equations of the
  penalised block by Cholesky, which needs α n above round-off of ZᵀZ
  (squared condition number); memory n_folds × P².
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
import scipy.linalg

#: Relative cut for the rank of the unpenalised block.
RANK_TOLERANCE = 1e-10


def assign_folds(n: int, cv: Any, groups: Optional[np.ndarray], random_state: Any) -> tuple[np.ndarray, int]:
    """Validation fold of each structure from a scikit-learn splitter.

    Parameters
    ----------
    n : int
        Number of structures.
    cv : int or splitter
        k: ``KFold(k, shuffle=True, random_state)``, or ``GroupKFold(k)``
        with groups. A splitter must give disjoint test sets whose training
        set is the rest (KFold, GroupKFold, LeaveOneGroupOut, ...).
    groups : array, optional

    Returns
    -------
    folds : ndarray of int, (n,)
        Fold of each structure, -1 for structures in no test set.
    n_folds : int
    """
    from sklearn.model_selection import GroupKFold, KFold

    if isinstance(cv, (bool, np.bool_)):
        raise TypeError(f"cv must be an int >= 2 or a scikit-learn splitter, got {cv!r}")
    if isinstance(cv, (int, np.integer)):
        cv = int(cv)
        if cv < 2:
            raise ValueError(f"cv must be at least 2 folds to choose a regulariser, got {cv}")
        if n < cv:
            raise ValueError(f"cannot cross-validate {cv} folds with {n} structures: give more structures or fewer folds")
        if groups is not None:
            n_groups = len(np.unique(groups))
            if n_groups < cv:
                raise ValueError(f"cannot cross-validate {cv} folds with {n_groups} groups: give fewer folds (cv=...)")
            splitter = GroupKFold(n_splits=cv)
        else:
            splitter = KFold(n_splits=cv, shuffle=True, random_state=random_state)
    elif hasattr(cv, "split"):
        splitter = cv
    else:
        raise TypeError(f"cv must be an int >= 2 or a scikit-learn splitter, got {type(cv).__name__}")
    folds = np.full(n, -1, dtype=np.int64)
    n_folds = 0
    for k, (train, test) in enumerate(splitter.split(np.zeros((n, 1)), None, groups)):
        if np.any(folds[test] >= 0):
            raise ValueError(f"cv={cv!r}: the test sets overlap; use a splitter whose test sets are disjoint (KFold, GroupKFold, ...)")
        if len(train) + len(test) != n:
            raise ValueError(f"cv={cv!r}: a training set is not the complement of its test set")
        folds[test] = k
        n_folds = k + 1
    if n_folds < 2:
        raise ValueError(f"cv={cv!r} gives {n_folds} split(s); at least 2 are needed")
    return folds, n_folds


def _apply(T: Optional[np.ndarray], Z: np.ndarray) -> np.ndarray:
    if T is None:
        return Z
    return Z * T if T.ndim == 1 else Z @ T


def check_alphas(alphas: Any) -> np.ndarray:
    values = np.atleast_1d(np.asarray(alphas, dtype=np.float64))
    if values.ndim != 1 or len(values) == 0:
        raise ValueError(f"alphas must be a positive number or a list of them, got {alphas!r}")
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError(f"alphas must be positive and finite (the solvers need a regulariser), got {values.tolist()}")
    return values


class _Problem:
    """Rows added chunk by chunk, each with its fold (-1: training only)."""

    def __init__(self, n_folds: int, n_unpenalised: int) -> None:
        self.n_folds = n_folds
        self.n_unpenalised = n_unpenalised
        self.n_rows = 0
        self.rows_per_fold = np.zeros(n_folds + 1, dtype=np.int64)  # last: training only

    def _count(self, folds: np.ndarray) -> None:
        self.n_rows += len(folds)
        self.rows_per_fold += np.bincount(np.where(folds < 0, self.n_folds, folds), minlength=self.n_folds + 1)

    def n_train(self, fold: Optional[int]) -> int:
        return int(self.n_rows if fold is None else self.n_rows - self.rows_per_fold[fold])


class DesignProblem(_Problem):
    """Keeps the rows; SVD of the projected design per fold."""

    def __init__(self, n_folds: int, n_unpenalised: int) -> None:
        super().__init__(n_folds, n_unpenalised)
        self._parts: list = []
        self._joined: Optional[tuple] = None

    def add(self, C: np.ndarray, Z: np.ndarray, y: np.ndarray, folds: np.ndarray) -> None:
        self._parts.append((C, Z, y, folds))
        self._joined = None
        self._count(folds)

    def _rows(self) -> tuple:
        if self._joined is None:
            C, Z, y, f = (np.concatenate(p) for p in zip(*self._parts))
            self._parts = [(C, Z, y, f)]
            self._joined = (C, Z, y, f)
        return self._joined

    def column_rms(self) -> np.ndarray:
        Z = self._rows()[1]
        return np.sqrt(np.einsum("ij,ij->j", Z, Z) / max(len(Z), 1))

    def cv_sse(self, T: Optional[np.ndarray], alphas: np.ndarray) -> np.ndarray:
        """Validation sum of squared errors, (n_alphas, n_folds)."""
        C, Z, y, folds = self._rows()
        sse = np.zeros((len(alphas), self.n_folds))
        for k in range(self.n_folds):
            train, test = folds != k, folds == k
            if not test.any():
                continue
            mu, beta = _design_path(C[train], _apply(T, Z[train]), y[train], alphas * self.n_train(k))
            residual = C[test] @ mu + _apply(T, Z[test]) @ beta - y[test, None]
            sse[:, k] = np.einsum("ij,ij->j", residual, residual)
        return sse

    def solve(self, T: Optional[np.ndarray], alpha: float) -> tuple[np.ndarray, np.ndarray]:
        C, Z, y, _ = self._rows()
        mu, beta = _design_path(C, _apply(T, Z), y, np.array([alpha * self.n_rows]))
        return mu[:, 0], beta[:, 0]


def _range_basis(C: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Orthonormal basis of the columns of C and its pseudo-inverse factors (rank-cut SVD)."""
    if C.shape[1] == 0 or len(C) == 0:
        return np.zeros((len(C), 0)), np.zeros(0), np.zeros((0, C.shape[1]))
    U, s, Vt = np.linalg.svd(C, full_matrices=False)
    keep = s > RANK_TOLERANCE * s[0] if s[0] > 0 else np.zeros(len(s), dtype=bool)
    return U[:, keep], s[keep], Vt[keep]


def _design_path(C: np.ndarray, Z: np.ndarray, y: np.ndarray, penalties: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(μ, β) for every penalty α n: columns of (c, n_α) and (p, n_α)."""
    Q, s_c, Vt_c = _range_basis(C)
    Zp = Z - Q @ (Q.T @ Z)
    yp = y - Q @ (Q.T @ y)
    U, s, Vt = np.linalg.svd(Zp, full_matrices=False)
    uy = U.T @ yp
    filters = s[:, None] / (s[:, None] ** 2 + penalties[None, :])
    beta = Vt.T @ (filters * uy[:, None])
    residual = y[:, None] - Z @ beta
    mu = Vt_c.T @ ((Q.T @ residual) / s_c[:, None])
    return mu, beta


#: Rows of [C | Z | y] (times their width) held back before a Gram update:
#: an update of a d × d Gram matrix by k rows costs 2 k d² flops but reads and
#: writes all d² entries, so small chunks (100 structures against d = 4000
#: kernel columns) would leave it memory-bound.
GRAM_BUFFER_ELEMENTS = 2**23
GRAM_BUFFER_ROWS = 4096


class GramProblem(_Problem):
    """Streams: Gram matrices of [C | Z | y] per fold; Cholesky per α."""

    def __init__(self, n_folds: int, n_unpenalised: int) -> None:
        super().__init__(n_folds, n_unpenalised)
        self._grams_: Optional[np.ndarray] = None  # (n_folds + 1, d, d), without the pending rows
        self._pending: list = []  # (rows of [C | Z | y], their buckets)
        self._pending_rows = 0

    def add(self, C: np.ndarray, Z: np.ndarray, y: np.ndarray, folds: np.ndarray) -> None:
        A = np.concatenate([C, Z, y[:, None]], axis=1)
        if self._grams_ is None:
            self._grams_ = np.zeros((self.n_folds + 1, A.shape[1], A.shape[1]))
        self._pending.append((A, np.where(folds < 0, self.n_folds, folds)))
        self._pending_rows += len(A)
        self._count(folds)
        if self._pending_rows >= GRAM_BUFFER_ROWS or self._pending_rows * A.shape[1] >= GRAM_BUFFER_ELEMENTS:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        A = np.concatenate([a for a, _ in self._pending])
        bucket = np.concatenate([b for _, b in self._pending])
        self._pending, self._pending_rows = [], 0
        for b in np.unique(bucket):
            part = np.ascontiguousarray(A[bucket == b])
            self._grams_[b] += part.T @ part

    @property
    def _grams(self) -> np.ndarray:
        self._flush()
        return self._grams_

    def _gram(self, exclude: Optional[int] = None) -> np.ndarray:
        """Sum of the buckets except ``exclude`` (summed, never subtracted: no cancellation)."""
        total = np.zeros_like(self._grams[0])
        for b in range(self.n_folds + 1):
            if b != exclude:
                total += self._grams[b]
        return total

    def column_rms(self) -> np.ndarray:
        c = self.n_unpenalised
        diagonal = np.diagonal(self._gram())[c:-1]
        return np.sqrt(np.maximum(diagonal, 0.0) / max(self.n_rows, 1))

    def _blocks(self, G: np.ndarray, T: Optional[np.ndarray]) -> dict:
        c = self.n_unpenalised
        CC, CZ, Cy = G[:c, :c], G[:c, c:-1], G[:c, -1]
        ZZ, Zy, yy = G[c:-1, c:-1], G[c:-1, -1], G[-1, -1]
        if T is not None and T.ndim == 1:
            CZ, ZZ, Zy = CZ * T, ZZ * np.outer(T, T), Zy * T
        elif T is not None:
            CZ, ZZ, Zy = CZ @ T, T.T @ ZZ @ T, T.T @ Zy
        return dict(CC=CC, CZ=CZ, Cy=Cy, ZZ=ZZ, Zy=Zy, yy=yy)

    def _path(self, blocks: dict, penalties: np.ndarray) -> np.ndarray:
        """θ = [μ; β; -1] for every penalty, (c + p + 1, n_α)."""
        CC, CZ, Cy, ZZ, Zy = (blocks[k] for k in ("CC", "CZ", "Cy", "ZZ", "Zy"))
        c, p = CZ.shape
        if c:
            w, V = np.linalg.eigh(CC)
            keep = w > RANK_TOLERANCE * w.max() if w.max() > 0 else np.zeros(c, dtype=bool)
            pinv = (V[:, keep] / w[keep]) @ V[:, keep].T
        else:
            pinv = np.zeros((0, 0))
        S = ZZ - CZ.T @ pinv @ CZ
        r = Zy - CZ.T @ (pinv @ Cy)
        theta = np.zeros((c + p + 1, len(penalties)))
        theta[-1] = -1.0
        for k, penalty in enumerate(penalties):
            try:
                factor = scipy.linalg.cho_factor(S + penalty * np.eye(p), lower=True, check_finite=False)
            except np.linalg.LinAlgError:
                raise ValueError(
                    f"the regularised normal equations are not positive definite at α n = {penalty:.3g} "
                    "(round-off of the Gram matrix): use larger alphas or solver='svd'"
                ) from None
            beta = scipy.linalg.cho_solve(factor, r, check_finite=False)
            theta[:c, k] = pinv @ (Cy - CZ @ beta)
            theta[c:-1, k] = beta
        return theta

    def cv_sse(self, T: Optional[np.ndarray], alphas: np.ndarray) -> np.ndarray:
        sse = np.zeros((len(alphas), self.n_folds))
        c = self.n_unpenalised
        for k in range(self.n_folds):
            if self.rows_per_fold[k] == 0:
                continue
            theta = self._path(self._blocks(self._gram(exclude=k), T), alphas * self.n_train(k))
            # back to the columns of the Gram matrices, so that the validation
            # Gram needs a product with θ, not a transform of its own
            beta = theta[c:-1]
            columns = beta if T is None else (beta * T[:, None] if T.ndim == 1 else T @ beta)
            full = np.concatenate([theta[:c], columns, theta[-1:]], axis=0)
            sse[:, k] = np.maximum(np.einsum("ij,ij->j", full, self._grams[k] @ full), 0.0)
        return sse

    def solve(self, T: Optional[np.ndarray], alpha: float) -> tuple[np.ndarray, np.ndarray]:
        theta = self._path(self._blocks(self._gram(), T), np.array([alpha * self.n_rows]))[:, 0]
        c = self.n_unpenalised
        return theta[:c], theta[c:-1]


def make_problem(solver: str, n_rows: int, n_columns: int, n_folds: int, n_unpenalised: int) -> _Problem:
    """The solver for ``solver`` ("svd", "cholesky" or "auto": the one that
    holds less memory, rows n × P against (n_folds + 1) Gram matrices P²)."""
    if solver == "auto":
        solver = "svd" if n_rows <= (n_folds + 1) * (n_columns + n_unpenalised + 1) else "cholesky"
    if solver == "svd":
        return DesignProblem(n_folds, n_unpenalised)
    if solver == "cholesky":
        return GramProblem(n_folds, n_unpenalised)
    raise ValueError(f"solver must be 'auto', 'svd' or 'cholesky', got {solver!r}")


def best_index(errors: np.ndarray) -> tuple:
    """Index of the smallest error; among equal errors, the last (largest
    regulariser when the grid is increasing)."""
    flat = errors.ravel()
    best = np.flatnonzero(flat == flat.min())[-1]
    return np.unravel_index(best, errors.shape)


def total_rmse(sse: np.ndarray, n_validation: int) -> np.ndarray:
    """Cross-validation RMSE from per-fold sums of squares (last axis)."""
    return np.sqrt(sse.sum(axis=-1) / max(n_validation, 1))


__all__: Sequence[str] = ["DesignProblem", "GramProblem", "assign_folds", "make_problem"]
