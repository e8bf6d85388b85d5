"""Choosing environments (rows) or features (columns): farthest-point
sampling (FPS) and CUR, deterministic given a seed (``docs/models.md``,
"Selection").

Both follow scikit-matter's definitions (``skmatter.sample_selection`` /
``skmatter.feature_selection``: FPS with the squared Euclidean distance,
CUR with k = 1 singular vector recomputed after each pick and the remaining
rows orthogonalised to the picked one) and select the same indices; they are
written here because they run inside every sparse-kernel fit and must be
fast: FPS costs one matrix-vector product per pick, CUR one leading singular
vector (eigenvector of the smaller Gram matrix) per pick, where scikit-matter
revalidates the input each step and calls an iterative SVD. The tests check
the indices against scikit-matter.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

METHODS = ("fps", "cur", "random")


def _matrix(X: Any, what: str) -> np.ndarray:
    values = getattr(X, "values", X)
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"{what} must be a 2-D array (n_samples, n_features), got shape {values.shape}")
    if not np.isfinite(values).all():
        raise ValueError(f"{what} contains NaN or inf")
    return values


def _count(n_to_select: Any, available: int) -> int:
    if isinstance(n_to_select, (bool, np.bool_)) or not isinstance(n_to_select, (int, np.integer)):
        raise TypeError(f"n_to_select must be an int, got {n_to_select!r}")
    if not 1 <= n_to_select <= available:
        raise ValueError(f"n_to_select must be in [1, {available}], got {n_to_select}")
    return int(n_to_select)


def farthest_point_sampling(
    X: Any, n_to_select: int, *, initial: Optional[int] = None, random_state: Any = 0, single_precision: bool = False
) -> np.ndarray:
    """Rows of X by farthest-point sampling.

    Each pick is the row farthest (squared Euclidean distance) from all
    rows picked so far.

    Parameters
    ----------
    X : array (n_samples, n_features)
    n_to_select : int
    initial : int, optional
        First row; default: drawn from ``random_state``.
    random_state : int or numpy Generator
    single_precision : bool
        Take the products x_i · x_p of each pick in float32 (norms and
        distances stay float64). Each pick reads all of X, so this halves
        the time of a memory-bound selection; the distances change by
        ~1e-7 ``|x|²``, which can reorder only near-ties.

    Returns
    -------
    ndarray of int, (n_to_select,)
        In the order of selection (the same as
        ``skmatter.sample_selection.FPS(initialize=initial)``).
    """
    X = _matrix(X, "X")
    n = _count(n_to_select, len(X))
    if initial is None:
        initial = int(np.random.default_rng(random_state).integers(len(X)))
    if not 0 <= int(initial) < len(X):
        raise ValueError(f"initial must be a row of X (0 … {len(X) - 1}), got {initial}")
    norms = np.einsum("ij,ij->i", X, X)
    rows = X.astype(np.float32) if single_precision else X
    distance = np.full(len(X), np.inf)
    selected = np.empty(n, dtype=np.int64)
    taken = np.zeros(len(X), dtype=bool)
    index = int(initial)
    for step in range(n):
        selected[step] = index
        taken[index] = True
        np.minimum(distance, norms + norms[index] - 2.0 * (rows @ rows[index]), out=distance)
        if step + 1 < n:
            index = int(np.argmax(np.where(taken, -np.inf, distance)))
    return selected


def _top_eigenvector(G: np.ndarray) -> np.ndarray:
    import scipy.linalg

    n = len(G)
    return scipy.linalg.eigh(G, subset_by_index=[n - 1, n - 1], check_finite=False)[1][:, 0]


def cur_selection(X: Any, n_to_select: int, *, tolerance: float = 1e-12) -> np.ndarray:
    """Rows of X by CUR (leverage on the leading singular vector, recomputed
    after each pick, the rows orthogonalised to each picked row).

    Deterministic (no random start). Rows that become zero once orthogonalised
    score zero; among equal scores the first row is taken. The leading left
    singular vector comes from the smaller Gram matrix (X Xᵀ or XᵀX), which
    is updated, not recomputed, when the rows are orthogonalised to the
    picked row r̂: X ← X − (X r̂) r̂ᵀ gives X Xᵀ ← X Xᵀ − (X r̂)(X r̂)ᵀ and
    XᵀX ← P XᵀX P with P = 1 − r̂ r̂ᵀ.

    Returns
    -------
    ndarray of int, (n_to_select,)
        In the order of selection (the same as
        ``skmatter.sample_selection.CUR(recompute_every=1, k=1)``).
    """
    X = _matrix(X, "X").copy()
    n = _count(n_to_select, len(X))
    samples_gram = X.shape[0] <= X.shape[1]
    G = X @ X.T if samples_gram else X.T @ X
    selected = np.empty(n, dtype=np.int64)
    taken = np.zeros(len(X), dtype=bool)
    for step in range(n):
        vector = _top_eigenvector(G)
        if not samples_gram:
            vector = X @ vector
        index = int(np.argmax(np.where(taken, -np.inf, vector**2)))
        selected[step] = index
        taken[index] = True
        norm = np.linalg.norm(X[index])
        if norm >= tolerance and step + 1 < n:
            row = X[index] / norm
            projection = X @ row
            X -= np.outer(projection, row)
            if samples_gram:
                G -= np.outer(projection, projection)
            else:
                Gr = G @ row
                G += np.outer(row, row) * (row @ Gr) - np.outer(Gr, row) - np.outer(row, Gr)
    return selected


def select_samples(
    X: Any, n_to_select: int, *, method: str = "fps", random_state: Any = 0, single_precision: bool = False
) -> np.ndarray:
    """Rows (environments) of X: ``method`` "fps", "cur" or "random".

    Parameters
    ----------
    X : array (n_samples, n_features), or features with ``.values``
    n_to_select : int
    method : str
    random_state : int
        Seed of the first FPS pick and of "random" (CUR needs none).
    single_precision : bool
        FPS only: see :func:`farthest_point_sampling`.
    """
    if method == "fps":
        return farthest_point_sampling(X, n_to_select, random_state=random_state, single_precision=single_precision)
    if method == "cur":
        return cur_selection(X, n_to_select)
    if method == "random":
        n = len(_matrix(X, "X"))
        return np.sort(np.random.default_rng(random_state).choice(n, _count(n_to_select, n), replace=False))
    raise ValueError(f"method must be one of {METHODS}, got {method!r}")


def select_features(X: Any, n_to_select: int, *, method: str = "fps", random_state: Any = 0) -> np.ndarray:
    """Columns (features) of X, as :func:`select_samples` on Xᵀ (the same as
    ``skmatter.feature_selection.FPS`` / ``CUR``).

    With an ``InvariantValues`` X, ``X.labels[indices]`` are the labels of
    the selected features.
    """
    return select_samples(_matrix(X, "X").T, n_to_select, method=method, random_state=random_state)


__all__ = ["cur_selection", "farthest_point_sampling", "select_features", "select_samples"]
