"""Rotations and real Wigner matrices built independently of the code under
test: D^λ(R) is fitted from how the real harmonics Y_λμ turn on sample
points, Y_λ(R r) = D^λ(R) Y_λ(r)."""

from __future__ import annotations

import numpy as np

from mslode import _core


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A proper rotation, uniformly distributed."""
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def wigner_d(lam: int, rotation: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """Real D^λ(R), (2λ+1, 2λ+1), from 64 random points."""
    rng = rng or np.random.default_rng(0)
    points = rng.normal(size=(64, 3))
    start = lam * lam
    before = _core.spherical_harmonics(points, lam)[:, start : start + 2 * lam + 1]
    after = _core.spherical_harmonics(points @ rotation.T, lam)[:, start : start + 2 * lam + 1]
    d, *_ = np.linalg.lstsq(before, after, rcond=None)
    return d.T


def rotated(frames: list, rotation: np.ndarray) -> list:
    """Copies of the structures with positions turned by ``rotation`` (any
    orthogonal matrix: -1 is the inversion); cells are left as they are."""
    out = []
    for frame in frames:
        frame = frame.copy()
        frame.positions = frame.positions @ rotation.T
        out.append(frame)
    return out
