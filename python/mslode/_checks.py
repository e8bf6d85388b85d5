"""Checks of hyper-parameters: clear TypeError/ValueError messages naming the
parameter, limits read from the core."""

from __future__ import annotations

import numbers
from typing import Any, Optional

import numpy as np

from . import _core


def _check_real(name: str, value: Any) -> float:
    """A real number (Python or NumPy scalar); strings, None, bools, complex
    and arrays are a TypeError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    return float(value)


def _check_positive(name: str, value: float) -> float:
    value = _check_real(name, value)
    if not np.isfinite(value) or value <= 0.0:
        raise ValueError(f"{name} must be a positive finite number, got {value}")
    return value


def _check_int(name: str, value: int, low: int, high: int) -> int:
    value_type = type(value).__name__
    as_real = _check_real(name, value)
    if not np.isfinite(as_real) or int(as_real) != as_real:
        raise ValueError(f"{name} must be an integer, got {value_type} {value!r}")
    value = int(as_real)
    if not low <= value <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {value}")
    return value


def _check_atomic_numbers(name: str, values: Any) -> list[int]:
    """A non-empty list of distinct atomic numbers (Python or NumPy integers)."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a list of atomic numbers (int), got {type(values).__name__} {values!r}")
    values = list(values)
    for z in values:
        if isinstance(z, (bool, np.bool_)) or not isinstance(z, numbers.Integral):
            raise TypeError(f"{name} must contain atomic numbers (int), got {type(z).__name__} {z!r}")
    values = [int(z) for z in values]
    if len(values) == 0:
        raise ValueError(f"{name} must not be empty")
    if len(set(values)) != len(values):
        raise ValueError(f"{name} has repeated entries: {values}")
    if any(z < 1 or z > _core.MAX_ATOMIC_NUMBER for z in values):
        raise ValueError(f"{name} must be atomic numbers in 1..{_core.MAX_ATOMIC_NUMBER}, got {values}")
    return values


def _check_spline_accuracy(value: float) -> float:
    value = _check_positive("spline_accuracy", value)
    if value > 0.1:
        raise ValueError(f"spline_accuracy is a relative error: it must be in (0, 0.1], got {value}")
    return value


def _check_center_species(center_species: Any) -> Optional[list[int]]:
    """None (every atom is a centre) or atomic numbers; species absent from
    the frames simply select no centre."""
    if center_species is None:
        return None
    return _check_atomic_numbers("center_species", center_species)


def _check_max_radial(max_radial: int, cutoff: float) -> int:
    """max_radial in [1, MAX_RADIAL], and within what the GTO basis can
    orthonormalise: its primitives become numerically linearly dependent at
    large n_max (about 20; the exact limit moves by one with the cut-off)."""
    max_radial = _check_int("max_radial", max_radial, 1, _core.MAX_RADIAL)
    if not _gto_basis_ok(cutoff, max_radial):
        largest = next((n for n in range(max_radial - 1, 0, -1) if _gto_basis_ok(cutoff, n)), 0)
        raise ValueError(
            f"max_radial={max_radial} is beyond what the GTO basis supports at cutoff={cutoff} (its primitives are "
            f"numerically linearly dependent); use max_radial <= {largest}"
        )
    return max_radial


def _gto_basis_ok(cutoff: float, max_radial: int) -> bool:
    try:
        _core.GtoBasis(cutoff, max_radial)
    except ValueError:
        return False
    return True
