"""Polynomial kernels on normalised features, their weighted sums, and the
K_MM^(-1/2) of the active set (``docs/models.md``, "Sparse kernel ridge
regression").

Between two environments i, j of the same central species

    k(i, j) = Σ_c w_c (x̂_i^c · x̂_j^c)^ζ_c ,   x̂ = x/|x|,

one term per calculator c; environments of different central species do
not interact (k = 0). For λ > 0 blocks of vector and tensor targets the
kernel is a (2λ+1) × (2λ+1) matrix per pair (:func:`tensorial`).
"""

from __future__ import annotations

import itertools
from typing import Any, Sequence

import numpy as np

#: Step of the kernel-weight grid of ``kernel_weights="cv"`` (weights on the simplex).
GRID_STEP = 0.25


def normalize(X: np.ndarray) -> np.ndarray:
    """Rows scaled to unit norm (zero rows stay zero); a row of equivariants
    (2λ+1, n_features) by its Frobenius norm, which rotations keep."""
    flat = X.reshape(len(X), int(np.prod(X.shape[1:])))
    norms = np.sqrt(np.einsum("ij,ij->i", flat, flat))
    return X / np.where(norms > 0, norms, 1.0).reshape((len(X),) + (1,) * (X.ndim - 1))


def tensorial(A: np.ndarray, B: np.ndarray, scalar: np.ndarray | None, zeta: int) -> np.ndarray:
    """The λ-kernel k_μν(a, b) = (Â_a B̂_bᵀ)_μν · (â⁰ · b̂⁰)^(ζ−1) of normalised
    equivariant rows A (n_a, 2λ+1, F), B (n_b, 2λ+1, F), flattened to
    (n_a, 2λ+1, n_b (2λ+1)); ``scalar`` is the invariant kernel â⁰ · b̂⁰
    (n_a, n_b) of their invariant companions (needed for ζ > 1).

    Rotating environment a by R turns its block into D^λ(R) times it, so a
    model linear in these columns is covariant; the invariant factor only
    weighs similar environments more (as ζ does for scalar kernels)."""
    K = np.einsum("auf,bvf->aubv", A, B)
    if zeta > 1:
        K = K * (scalar ** (zeta - 1))[:, None, :, None]
    return K.reshape(A.shape[0], A.shape[1], -1)


def polynomial(A: np.ndarray, B: np.ndarray, zeta: int) -> np.ndarray:
    """(Â Bᵀ)^ζ for rows already normalised, (len(A), len(B))."""
    K = A @ B.T
    return K if zeta == 1 else np.power(K, zeta, out=K)


def check_zeta(zeta: Any, n_kernels: int) -> list:
    """One integer exponent ζ ≥ 1 per calculator."""
    values = [zeta] * n_kernels if np.ndim(zeta) == 0 else list(zeta)
    if len(values) != n_kernels:
        raise ValueError(f"zeta must be one integer or one per calculator ({n_kernels}), got {zeta!r}")
    out = []
    for value in values:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"zeta must be positive integers (polynomial kernels), got {zeta!r}")
        out.append(int(value))
    return out


def weight_grid(kernel_weights: Any, n_kernels: int) -> np.ndarray:
    """Candidate kernel weights, (n_candidates, n_kernels).

    None: all ones. A sequence of ``n_kernels`` numbers: those. ``"cv"``:
    the weights w_c ∈ {0, 0.25, …, 1} with Σ w_c = 1 (each kernel alone
    included). A 2-D array: its rows.
    """
    if kernel_weights is None:
        return np.ones((1, n_kernels))
    if isinstance(kernel_weights, str):
        if kernel_weights != "cv":
            raise ValueError(f"kernel_weights must be None, 'cv', weights or a grid of weights, got {kernel_weights!r}")
        steps = int(round(1.0 / GRID_STEP))
        rows = [c for c in itertools.product(range(steps + 1), repeat=n_kernels) if sum(c) == steps]
        return np.asarray(sorted(rows, reverse=True), dtype=np.float64) / steps
    grid = np.asarray(kernel_weights, dtype=np.float64)
    if grid.ndim == 1:
        grid = grid[None, :]
    if grid.ndim != 2 or grid.shape[1] != n_kernels:
        raise ValueError(f"kernel_weights needs {n_kernels} weights (one per calculator), got shape {np.shape(kernel_weights)}")
    if not np.isfinite(grid).all() or (grid < 0).any() or (grid.sum(axis=1) <= 0).any():
        raise ValueError(f"kernel weights must be non-negative, finite and not all zero, got {grid.tolist()}")
    return grid


def inverse_sqrt(K: np.ndarray, jitter: float) -> np.ndarray:
    """U Λ^(-1/2) over the eigenvalues of the symmetric K above jitter × λ_max.

    For a positive semi-definite K_MM, K_NM U Λ^(-1/2) are the coordinates of
    the kernel rows in an orthonormal basis of the span of the active
    environments (the RKHS features Φ): K_MM is never inverted, and the
    directions it cannot resolve (eigenvalues below the relative jitter,
    from duplicate or nearly dependent active environments) are dropped.

    Returns
    -------
    ndarray, (M, rank)
    """
    if K.shape[0] == 0:
        return np.zeros((0, 0))
    values, vectors = np.linalg.eigh(K)
    top = values.max()
    if top <= 0:
        return np.zeros((len(K), 0))
    keep = values > jitter * top
    return vectors[:, keep] / np.sqrt(values[keep])


def split_count(total: int, counts: Sequence[int]) -> list:
    """``total`` split over species in proportion to ``counts`` (largest
    remainders; at least 1 for every species with a count, at most its count)."""
    counts = np.asarray(counts, dtype=np.int64)
    if total >= counts.sum():
        return counts.tolist()
    share = total * counts / counts.sum()
    out = np.minimum(np.maximum(np.floor(share).astype(np.int64), (counts > 0).astype(np.int64)), counts)
    order = np.argsort(-(share - np.floor(share)), kind="stable")
    k = 0
    while out.sum() < total:
        index = order[k % len(order)]
        if out[index] < counts[index]:
            out[index] += 1
        k += 1
    while out.sum() > total:
        index = int(np.argmax(out))
        out[index] -= 1
    return out.tolist()
