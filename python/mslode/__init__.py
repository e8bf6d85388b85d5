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
__all__ = [
    "DensityExpansion",
    "ExpansionValues",
    "Invariants",
    "InvariantValues",
    "PotentialExpansion",
    "concatenate",
]
