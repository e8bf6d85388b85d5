"""mslode: multi-scale LODE features for machine learning of atomic-scale properties.

Expansions of the local density ⟨a n l m|ρ_i⟩ and of the potential of all
atoms ⟨a n l m|V_i⟩ on one local basis, and their invariants (ρ⊗ρ, the SOAP
power spectrum; ρ⊗V, multi-scale LODE; V⊗V) and equivariants, and the
Cartesian ↔ spherical tensors of their targets (``mslode.tensors``). The definitions and
conventions are in ``docs/conventions.md``.
"""

from . import _core, tensors
from .couplings import Equivariants, Invariants
from .features import DensityExpansion, PotentialExpansion
from .values import EquivariantValues, ExpansionValues, InvariantValues, concatenate
from . import io, metrics, models, plots, selection
from .io import load
from .metrics import LearningCurve, errors_by_group, learning_curve, rmse, rmse_percent
from .models import Committee, Ridge, SparseKernelRidge
from ._ase_calculator import Calculator
from .values import Gradients

__version__ = "0.1.0"

#: Largest ``max_radial`` the GTO basis accepts (the basis may refuse fewer,
#: see :class:`DensityExpansion`).
MAX_RADIAL: int = _core.MAX_RADIAL
#: Largest ``max_angular`` (l_max) of the expansions.
MAX_ANGULAR: int = _core.MAX_ANGULAR
#: Atomic numbers run from 1 to this.
MAX_ATOMIC_NUMBER: int = _core.MAX_ATOMIC_NUMBER


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
    "Calculator",
    "DensityExpansion",
    "Gradients",
    "Equivariants",
    "EquivariantValues",
    "ExpansionValues",
    "Invariants",
    "InvariantValues",
    "MAX_ANGULAR",
    "MAX_ATOMIC_NUMBER",
    "MAX_RADIAL",
    "PotentialExpansion",
    "concatenate",
    "instruction_set",
    "tensors",
    "Committee",
    "LearningCurve",
    "Ridge",
    "SparseKernelRidge",
    "errors_by_group",
    "io",
    "learning_curve",
    "load",
    "metrics",
    "models",
    "plots",
    "rmse",
    "rmse_percent",
    "selection",
]
