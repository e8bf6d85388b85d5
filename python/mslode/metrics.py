"""Errors of predictions and learning curves (``docs/models.md``, "Errors and
learning curves").

``RMSE = sqrt(⟨|y − ŷ|²⟩)`` over structures (``|·|²`` sums the components
of a vector or tensor target), and ``RMSE% = 100 · RMSE / std(y)`` with
``std(y) = sqrt(⟨|y − ⟨y⟩|²⟩)`` over the same (test) structures: 100 % is
the error of predicting the mean.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np


def _pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(y_true, dtype=np.float64)
    b = np.asarray(y_pred, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"y_true and y_pred have different shapes: {a.shape} and {b.shape}")
    if a.ndim == 0 or len(a) == 0:
        raise ValueError("y_true is empty")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("y_true or y_pred contains NaN or inf")
    return a.reshape(len(a), -1), b.reshape(len(b), -1)


def rmse(y_true: Any, y_pred: Any) -> float:
    """Root-mean-square error over structures (rows)."""
    a, b = _pair(y_true, y_pred)
    return float(np.sqrt(np.mean(np.sum((a - b) ** 2, axis=1))))


def target_std(y_true: Any) -> float:
    """``sqrt(⟨|y − ⟨y⟩|²⟩)``: the RMSE of predicting the mean."""
    a = np.asarray(y_true, dtype=np.float64)
    a = a.reshape(len(a), -1)
    return float(np.sqrt(np.mean(np.sum((a - a.mean(axis=0)) ** 2, axis=1))))


def rmse_percent(y_true: Any, y_pred: Any) -> float:
    """100 · RMSE / std(y_true); a ValueError when the targets do not vary."""
    error = rmse(y_true, y_pred)
    std = target_std(y_true)
    if std == 0:
        raise ValueError("RMSE% is undefined: the targets do not vary (std = 0)")
    return 100.0 * error / std


def errors_by_group(y_true: Any, y_pred: Any, groups: Any) -> dict:
    """RMSE and RMSE% of each group (e.g. each binding curve or dimer class).

    Returns
    -------
    dict
        ``{group: {"rmse": ..., "rmse_percent": ... (NaN if the group's
        targets do not vary), "n": ...}}``, groups in sorted order.
    """
    a, b = _pair(y_true, y_pred)
    groups = np.asarray(groups)
    if groups.shape != (len(a),):
        raise ValueError(f"groups must have one label per structure ({len(a)}), got shape {groups.shape}")
    out = {}
    for group in np.unique(groups):
        rows = groups == group
        error = rmse(a[rows], b[rows])
        std = target_std(a[rows])
        key = group.item() if hasattr(group, "item") else group
        out[key] = {"rmse": error, "rmse_percent": 100.0 * error / std if std > 0 else float("nan"), "n": int(rows.sum())}
    return out


@dataclass
class LearningCurve:
    """Test errors against the number of training structures.

    Attributes
    ----------
    train_sizes : ndarray of int, (n_sizes,)
    rmse, rmse_percent : ndarray, (n_sizes, n_repeats)
        One column per random training subset.
    label : str
    """

    train_sizes: np.ndarray
    rmse: np.ndarray
    rmse_percent: np.ndarray
    label: str = ""
    alphas: Optional[np.ndarray] = field(default=None)

    def mean(self, percent: bool = False) -> np.ndarray:
        """Mean over repeats, (n_sizes,)."""
        return (self.rmse_percent if percent else self.rmse).mean(axis=1)

    def std(self, percent: bool = False) -> np.ndarray:
        """Standard deviation over repeats (0 for one repeat), (n_sizes,)."""
        values = self.rmse_percent if percent else self.rmse
        return values.std(axis=1, ddof=1) if values.shape[1] > 1 else np.zeros(len(values))


def _sizes(train_sizes: Any, available: int) -> np.ndarray:
    sizes = []
    for size in np.atleast_1d(np.asarray(train_sizes)):
        if isinstance(size, (float, np.floating)) and 0 < size <= 1:
            size = max(1, int(round(size * available)))
        if int(size) != size or not 1 <= int(size) <= available:
            raise ValueError(f"train size {size} must be in [1, {available}] (or a fraction in (0, 1])")
        sizes.append(int(size))
    return np.asarray(sizes, dtype=np.int64)


def learning_curve(
    estimator: Any,
    frames: Sequence[Any],
    y: Any,
    *,
    train_sizes: Any,
    test_frames: Optional[Sequence[Any]] = None,
    y_test: Any = None,
    test_size: float = 0.25,
    groups: Any = None,
    n_repeats: int = 1,
    random_state: Any = 0,
    label: str = "",
) -> LearningCurve:
    """Test RMSE of ``estimator`` fitted on growing random subsets.

    Parameters
    ----------
    estimator : Ridge, SparseKernelRidge or Committee
        Cloned for every fit.
    frames, y
        The structures to train on, and their targets (array or property name).
    train_sizes : sequence of int (or fractions of the training pool)
    test_frames, y_test : optional
        A separate test set; otherwise ``test_size`` of ``frames`` (whole
        groups when ``groups`` is given) is held out.
    groups : array-like or str, optional
        Passed (subset) to each fit for grouped cross-validation, and used to
        hold out whole groups.
    n_repeats : int
        Random training subsets per size.
    random_state : int
    label : str
        Name of the curve in plots.

    Returns
    -------
    LearningCurve
    """
    from sklearn.base import clone
    from sklearn.model_selection import GroupShuffleSplit, ShuffleSplit

    from .models._targets import read_groups, read_target

    frames = list(frames)
    values = read_target(frames, y).values  # any kind: the estimator says which it fits
    labels = read_groups(frames, groups)
    if test_frames is None:
        if y_test is not None:
            raise ValueError("y_test without test_frames")
        splitter = (GroupShuffleSplit if labels is not None else ShuffleSplit)(n_splits=1, test_size=test_size, random_state=random_state)
        train, test = next(splitter.split(np.zeros((len(frames), 1)), None, labels))
        train, test = np.sort(train), np.sort(test)
        test_frames = [frames[i] for i in test]
        test_values = values[test]
    else:
        test_frames = list(test_frames)
        if y_test is None:
            raise ValueError("test_frames needs y_test (an array or a property name)")
        test_values = read_target(test_frames, y_test).values
        train = np.arange(len(frames))
    sizes = _sizes(train_sizes, len(train))
    if isinstance(n_repeats, bool) or not isinstance(n_repeats, (int, np.integer)) or n_repeats < 1:
        raise ValueError(f"n_repeats must be a positive integer, got {n_repeats!r}")
    rng = np.random.default_rng(random_state)
    errors = np.zeros((len(sizes), n_repeats))
    percent = np.zeros_like(errors)
    alphas = np.full_like(errors, np.nan)
    for i, size in enumerate(sizes):
        for r in range(n_repeats):
            chosen = np.sort(rng.choice(train, size, replace=False))
            model = clone(estimator).fit(
                [frames[k] for k in chosen], values[chosen], None if labels is None else labels[chosen]
            )
            predicted = model.predict(test_frames)
            errors[i, r] = rmse(test_values, predicted)
            percent[i, r] = rmse_percent(test_values, predicted)
            alphas[i, r] = getattr(model, "alpha_", np.nan)
    return LearningCurve(train_sizes=sizes, rmse=errors, rmse_percent=percent, label=label, alphas=alphas)


__all__ = ["LearningCurve", "errors_by_group", "learning_curve", "rmse", "rmse_percent", "target_std"]
