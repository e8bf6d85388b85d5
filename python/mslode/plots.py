"""Figures of models: learning curves (log-log), parity plots, curves with
error bars (binding curves against a coordinate).

Every function returns a ``matplotlib.figure.Figure`` drawn on the Agg
canvas: no window is opened and pyplot's global state is not touched, so
they work on headless machines; save with ``fig.savefig("name.png")``.
Pass ``ax=`` to draw into an existing axes instead (its figure is returned).
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np


def _axes(ax: Any, figsize: tuple) -> tuple:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if ax is not None:
        return ax.figure, ax
    figure = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def plot_learning_curve(curves: Any, *, percent: bool = False, ax: Any = None, units: str = "eV") -> Any:
    """Test error against training-set size on log-log axes, the spread over
    repeats as error bars.

    Parameters
    ----------
    curves : LearningCurve or list of LearningCurve
        From :func:`mslode.learning_curve`; each is labelled by its ``label``.
    percent : bool
        Plot RMSE% instead of RMSE.
    ax : matplotlib Axes, optional
    units : str
        Units of the RMSE in the axis label.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from .metrics import LearningCurve

    if isinstance(curves, LearningCurve):
        curves = [curves]
    curves = list(curves)
    if not curves:
        raise ValueError("no learning curve to plot")
    figure, ax = _axes(ax, (4.5, 3.5))
    for curve in curves:
        if not isinstance(curve, LearningCurve):
            raise TypeError(f"expected LearningCurve, got {type(curve).__name__}")
        ax.errorbar(curve.train_sizes, curve.mean(percent), yerr=curve.std(percent), marker="o", capsize=3,
                    label=curve.label or None)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training structures")
    ax.set_ylabel("test RMSE (%)" if percent else f"test RMSE ({units})")
    if any(curve.label for curve in curves):
        ax.legend()
    return figure


def parity_plot(
    y_true: Any, y_pred: Any, *, y_std: Any = None, groups: Any = None, ax: Any = None, units: str = "eV"
) -> Any:
    """Predicted against reference values, with the diagonal and, given
    ``y_std``, error bars; points coloured by ``groups``."""
    from .metrics import rmse

    y_true = np.ravel(np.asarray(y_true, dtype=np.float64))
    y_pred = np.ravel(np.asarray(y_pred, dtype=np.float64))
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred have different shapes: {y_true.shape} and {y_pred.shape}")
    figure, ax = _axes(ax, (4.0, 4.0))
    labels = np.zeros(len(y_true), dtype=int) if groups is None else np.ravel(np.asarray(groups))
    if labels.shape != y_true.shape:
        raise ValueError(f"groups must have one label per value ({len(y_true)}), got shape {labels.shape}")
    std = None if y_std is None else np.ravel(np.asarray(y_std, dtype=np.float64))
    for group in np.unique(labels):
        rows = labels == group
        ax.errorbar(y_true[rows], y_pred[rows], yerr=None if std is None else std[rows], fmt="o", markersize=3,
                    capsize=2, label=None if groups is None else str(group))
    low, high = float(min(y_true.min(), y_pred.min())), float(max(y_true.max(), y_pred.max()))
    ax.plot([low, high], [low, high], color="black", linewidth=0.8)
    ax.set_xlabel(f"reference ({units})")
    ax.set_ylabel(f"predicted ({units})")
    ax.set_title(f"RMSE {rmse(y_true, y_pred):.3g} {units}")
    if groups is not None:
        ax.legend(fontsize="small")
    return figure


def plot_curves(
    x: Any,
    y_true: Any,
    y_pred: Any,
    *,
    y_std: Any = None,
    groups: Any = None,
    ax: Any = None,
    xlabel: str = "distance (Å)",
    ylabel: str = "energy (eV)",
    group_names: Optional[Sequence[str]] = None,
) -> Any:
    """Reference (lines) and predictions (markers, ± ``y_std`` as error bars)
    against a coordinate, one curve per group (e.g. a dimer binding curve)."""
    x = np.ravel(np.asarray(x, dtype=np.float64))
    y_true = np.ravel(np.asarray(y_true, dtype=np.float64))
    y_pred = np.ravel(np.asarray(y_pred, dtype=np.float64))
    if not (x.shape == y_true.shape == y_pred.shape):
        raise ValueError(f"x, y_true and y_pred must have the same length, got {x.shape}, {y_true.shape}, {y_pred.shape}")
    labels = np.zeros(len(x), dtype=int) if groups is None else np.ravel(np.asarray(groups))
    if labels.shape != x.shape:
        raise ValueError(f"groups must have one label per point ({len(x)}), got shape {labels.shape}")
    std = None if y_std is None else np.ravel(np.asarray(y_std, dtype=np.float64))
    figure, ax = _axes(ax, (5.0, 3.5))
    for k, group in enumerate(np.unique(labels)):
        rows = np.flatnonzero(labels == group)
        rows = rows[np.argsort(x[rows])]
        name = str(group) if group_names is None else group_names[k]
        line = ax.plot(x[rows], y_true[rows], linewidth=1.0, label=None if groups is None else name)[0]
        ax.errorbar(x[rows], y_pred[rows], yerr=None if std is None else std[rows], fmt="o", markersize=3,
                    capsize=2, color=line.get_color())
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if groups is not None:
        ax.legend(fontsize="small")
    return figure


__all__ = ["parity_plot", "plot_curves", "plot_learning_curve"]
