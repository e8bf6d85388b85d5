"""Cartesian vectors and rank-2 tensors ↔ their irreducible spherical
components, in the real spherical-harmonic basis of the features
(``docs/conventions.md``, "Cartesian tensors").

Components are keyed by ``(lambda_, parity)``, as the equivariant blocks that
model them:

- a vector v (a dipole) is ``(1, +1)``: (v_y, v_z, v_x), the order of the
  real harmonics μ = -1, 0, 1 (Y_1μ ∝ y, z, x);
- a rank-2 tensor T (a polarisability) is ``(0, +1)``: tr T/√3;
  ``(1, -1)``: its antisymmetric part as a pseudovector,
  ((T_zx - T_xz), (T_xy - T_yx), (T_yz - T_zy))/√2 in the order y, z, x; and
  ``(2, +1)``: its symmetric traceless part, ((T_xy + T_yx)/√2,
  (T_yz + T_zy)/√2, (2T_zz - T_xx - T_yy)/√6, (T_xz + T_zx)/√2,
  (T_xx - T_yy)/√2), the order of Y_2μ ∝ xy, yz, 3z² - r², xz, x² - y².

The map is orthogonal (the sum of the squared components is the squared
Frobenius norm), so round trips are exact to rounding and the components of
a rotated tensor are those of the original rotated by the real Wigner
matrices D^λ(R). A symmetric tensor has no ``(1, -1)`` part.
"""

from __future__ import annotations

import numpy as np

#: Key of each spherical block: ``(lambda_, parity)``.
Key = tuple[int, int]

VECTOR_KEY: Key = (1, 1)
RANK2_KEYS: tuple[Key, ...] = ((0, 1), (1, -1), (2, 1))

_YZX = [1, 2, 0]  # Cartesian x, y, z → real-harmonic order μ = -1, 0, 1
_SQRT2, _SQRT3, _SQRT6 = np.sqrt(2.0), np.sqrt(3.0), np.sqrt(6.0)


def _rank2_basis() -> dict[Key, np.ndarray]:
    """Orthonormal (Frobenius) basis tensors E of each block, shape (2λ+1, 3, 3):
    component μ of T is Σ_ab E[μ, a, b] T[a, b]."""
    x, y, z = 0, 1, 2

    def pair(a: int, b: int, sign: float) -> np.ndarray:
        e = np.zeros((3, 3))
        e[a, b] += 1.0 / _SQRT2
        e[b, a] += sign / _SQRT2
        return e

    trace = np.eye(3)[None] / _SQRT3
    # pseudovector w of the antisymmetric part, w_x = (T_yz - T_zy)/√2, ...
    antisymmetric = np.stack([pair(z, x, -1.0), pair(x, y, -1.0), pair(y, z, -1.0)])
    z2 = np.diag([-1.0, -1.0, 2.0]) / _SQRT6
    x2_y2 = np.diag([1.0, -1.0, 0.0]) / _SQRT2
    symmetric = np.stack([pair(x, y, 1.0), pair(y, z, 1.0), z2, pair(x, z, 1.0), x2_y2])
    return {(0, 1): trace, (1, -1): antisymmetric, (2, 1): symmetric}


_RANK2_BASIS = _rank2_basis()


def _as_cartesian(array: np.ndarray, trailing: tuple[int, ...], what: str) -> np.ndarray:
    array = np.asarray(array, dtype=np.float64)
    if array.shape[array.ndim - len(trailing):] != trailing or array.ndim < len(trailing):
        raise ValueError(f"{what} must have shape (..., {', '.join(map(str, trailing))}), got {array.shape}")
    return array


def vector_to_spherical(vectors: np.ndarray) -> np.ndarray:
    """Cartesian vectors (..., 3) → their λ = 1 components (..., 3), μ = -1, 0, 1."""
    return _as_cartesian(vectors, (3,), "vectors")[..., _YZX].copy()


def spherical_to_vector(components: np.ndarray) -> np.ndarray:
    """λ = 1 components (..., 3) → Cartesian vectors (..., 3) (inverse of
    :func:`vector_to_spherical`)."""
    components = _as_cartesian(components, (3,), "vector components")
    out = np.empty_like(components)
    out[..., _YZX] = components
    return out


def rank2_to_spherical(tensors: np.ndarray) -> dict[Key, np.ndarray]:
    """Cartesian rank-2 tensors (..., 3, 3) → ``{(0, 1): (..., 1), (1, -1):
    (..., 3), (2, 1): (..., 5)}``."""
    tensors = _as_cartesian(tensors, (3, 3), "tensors")
    return {key: np.einsum("mab,...ab->...m", basis, tensors) for key, basis in _RANK2_BASIS.items()}


def spherical_to_rank2(components: dict[Key, np.ndarray]) -> np.ndarray:
    """Blocks keyed ``(lambda_, parity)`` → Cartesian rank-2 tensors (..., 3, 3)
    (inverse of :func:`rank2_to_spherical`). Missing blocks count as zero:
    ``{(0, 1): ..., (2, 1): ...}`` gives symmetric tensors."""
    if not isinstance(components, dict) or not components:
        raise TypeError("components must be a non-empty dict {(lambda_, parity): array}")
    unknown = set(components) - set(_RANK2_BASIS)
    if unknown:
        raise ValueError(f"a rank-2 tensor has no block {sorted(unknown)}; its blocks are {list(RANK2_KEYS)}")
    shape = None
    total = None
    for key, values in components.items():
        basis = _RANK2_BASIS[key]
        values = np.asarray(values, dtype=np.float64)
        if values.ndim < 1 or values.shape[-1] != len(basis):
            raise ValueError(f"block {key} must have shape (..., {len(basis)}), got {values.shape}")
        if shape is not None and values.shape[:-1] != shape:
            raise ValueError(f"blocks have different leading shapes: {shape} and {values.shape[:-1]}")
        shape = values.shape[:-1]
        term = np.einsum("mab,...m->...ab", basis, values)
        total = term if total is None else total + term
    return total
