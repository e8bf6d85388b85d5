"""Models on mslode features (``docs/models.md``): linear ridge regression,
sparse kernel ridge regression, committees with calibrated uncertainty.

They follow scikit-learn's estimator protocol (``get_params``,
``set_params``, ``clone``; ``fit`` returns the estimator), take lists of
``ase.Atoms`` where scikit-learn takes X, and save to a documented,
pickle-free file (``model.save(path)``, :func:`mslode.load`).
"""

from ._forces import ForcePredictions
from .committee import Committee, calibration_factor
from .ridge import Ridge
from .sparse_krr import SparseKernelRidge

__all__ = ["Committee", "ForcePredictions", "Ridge", "SparseKernelRidge", "calibration_factor"]
