"""mslode: multi-scale LODE features for machine learning of atomic-scale properties.

The local density expansion ⟨a n l m|ρ_i⟩, its invariants (the SOAP power
spectrum ρ⊗ρ), and the math primitives underneath (``mslode.math``).
See SPEC.md of the project for the definitions.
"""

from . import _core
from .features import (
    DensityExpansion,
    ExpansionValues,
    Invariants,
    InvariantValues,
    PotentialExpansion,
    concatenate,
)

__version__ = "0.1.0"


def instruction_set() -> str:
    """Which version of the vectorised pair loops this machine runs.

    Returns
    -------
    str
        ``"avx2+fma"`` (chosen at run time on CPUs that have it),
        ``"native"`` (the module was built with ``MSLODE_NATIVE`` for this
        CPU) or ``"baseline"`` (SSE2 on x86-64, NEON on ARM).
    """
    return _core.instruction_set()


__all__ = [
    "DensityExpansion",
    "ExpansionValues",
    "Invariants",
    "InvariantValues",
    "PotentialExpansion",
    "concatenate",
    "instruction_set",
]
