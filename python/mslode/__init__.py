"""mslode: multi-scale LODE features for machine learning of atomic-scale properties."""

from . import _core

__version__ = "0.1.0"
__all__ = ["_core"]
