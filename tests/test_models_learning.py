"""Errors, learning curves and plots; the learning curve of point-charge
clusters (exact Coulomb energies, ``tests/data/make_point_charges.py``),
where ρ⊗V beats ρ⊗ρ by orders of magnitude."""

from __future__ import annotations

import io
import os

import ase.io
import numpy as np
import pytest

import mslode

pytest.importorskip("sklearn")

DATA = os.path.join(os.path.dirname(__file__), "data", "point_charges.xyz")


@pytest.fixture(scope="module")
def clusters():
    frames = ase.io.read(DATA, index=":")
    assert len(frames) == 160
    return frames


def test_the_data_are_exact_coulomb_energies(clusters):
    from ase.calculators.singlepoint import SinglePointCalculator

    frame = clusters[7]
    assert "energy" not in frame.info and isinstance(frame.calc, SinglePointCalculator)  # ASE ≥ 3.23 layout
    q = np.where(frame.numbers == 11, 1.0, -1.0)
    r = frame.get_all_distances()
    i, j = np.triu_indices(len(frame), 1)
    np.testing.assert_allclose(frame.get_potential_energy(), 14.399645 * np.sum(q[i] * q[j] / r[i, j]), rtol=1e-8)  # positions written to 1e-8 Å
    assert r[i, j].min() >= 2.5


def test_rho_v_beats_rho_rho_by_orders_of_magnitude(clusters):
    rho = mslode.DensityExpansion(cutoff=3.0, gaussian_width=0.3, max_radial=4, max_angular=0)
    V = mslode.PotentialExpansion(cutoff=3.0, gaussian_width=0.3, max_radial=4, max_angular=0)
    train, test = clusters[:120], clusters[120:]
    curves = {}
    for name, calculator in (("ρ⊗V", mslode.Invariants(rho, V)), ("ρ⊗ρ", mslode.Invariants(rho, rho))):
        curves[name] = mslode.learning_curve(mslode.Ridge([calculator]), train, "energy", train_sizes=[30, 60, 120],
                                             test_frames=test, y_test="energy", label=name)
    lode, soap = curves["ρ⊗V"].rmse_percent[:, 0], curves["ρ⊗ρ"].rmse_percent[:, 0]
    assert np.all(np.diff(lode) < 0), lode  # more data, smaller error
    assert lode[-1] < 0.1 and soap[-1] > 50.0, (lode, soap)  # ρ⊗ρ sees no further than 3 Å
    assert soap[-1] / lode[-1] > 1e3
    figure = mslode.plots.plot_learning_curve(list(curves.values()), percent=True)
    assert figure.axes[0].get_xscale() == "log" and figure.axes[0].get_yscale() == "log"
    assert [t.get_text() for t in figure.axes[0].get_legend().get_texts()] == ["ρ⊗V", "ρ⊗ρ"]


def test_rmse_and_rmse_percent():
    y = np.array([1.0, 2.0, 3.0, 6.0])
    p = np.array([1.5, 2.0, 2.0, 6.0])
    assert mslode.rmse(y, p) == pytest.approx(np.sqrt((0.25 + 1.0) / 4))
    assert mslode.rmse_percent(y, p) == pytest.approx(100 * np.sqrt(1.25 / 4) / np.std(y))
    assert mslode.rmse_percent(y, np.full(4, y.mean())) == pytest.approx(100.0)
    vectors = np.arange(12.0).reshape(4, 3)
    assert mslode.rmse(vectors, vectors + [1.0, 2.0, 2.0]) == pytest.approx(3.0)  # |Δ| = 3 for every row
    by_group = mslode.errors_by_group(y, p, ["a", "a", "b", "b"])
    assert by_group["a"]["rmse"] == pytest.approx(np.sqrt(0.125)) and by_group["a"]["n"] == 2
    assert by_group["b"]["rmse_percent"] == pytest.approx(100 * np.sqrt(0.5) / 1.5)
    with pytest.raises(ValueError, match="different shapes"):
        mslode.rmse(y, p[:3])
    with pytest.raises(ValueError, match="NaN"):
        mslode.rmse(y, np.full(4, np.nan))
    with pytest.raises(ValueError, match="do not vary"):
        mslode.rmse_percent(np.ones(3), np.zeros(3))


def test_learning_curve_with_groups_and_repeats(clusters):
    rho = mslode.DensityExpansion(cutoff=3.0, gaussian_width=0.3, max_radial=3, max_angular=0)
    groups = np.arange(len(clusters)) // 4
    curve = mslode.learning_curve(mslode.Ridge([mslode.Invariants(rho, rho)], cv=3), clusters, "energy",
                                  train_sizes=[0.25, 60], groups=groups, n_repeats=2, random_state=1)
    assert curve.rmse.shape == (2, 2) and curve.train_sizes.tolist()[1] == 60
    assert np.all(curve.std() >= 0) and np.all(curve.mean(percent=True) > 0)
    with pytest.raises(ValueError, match="train size"):
        mslode.learning_curve(mslode.Ridge([rho]), clusters, "energy", train_sizes=[1000])
    with pytest.raises(ValueError, match="test_frames needs y_test"):
        mslode.learning_curve(mslode.Ridge([rho]), clusters, "energy", train_sizes=[10], test_frames=clusters[:5])


def test_plots_return_agg_figures_without_pyplot():
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rng = np.random.default_rng(0)
    x = np.tile(np.linspace(3, 8, 10), 3)
    y = -1.0 / x**3
    groups = np.repeat(["CC", "CP", "AA"], 10)
    figures = [
        mslode.plots.parity_plot(y, y + rng.normal(0, 1e-3, 30), y_std=np.full(30, 1e-3), groups=groups),
        mslode.plots.plot_curves(x, y, y * 1.01, y_std=np.full(30, 1e-4), groups=groups),
        mslode.plots.plot_learning_curve(mslode.LearningCurve(np.array([10, 20]), np.array([[1.0], [0.5]]),
                                                              np.array([[50.0], [25.0]]), label="x")),
    ]
    for figure in figures:
        assert isinstance(figure, Figure) and isinstance(figure.canvas, FigureCanvasAgg)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        assert buffer.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(figures[1].axes[0].get_lines()) >= 3  # one reference line per group
    if "matplotlib.pyplot" in __import__("sys").modules:
        import matplotlib.pyplot as plt

        assert plt.get_fignums() == []  # nothing registered with pyplot, nothing to display
    assert matplotlib.get_backend() is not None
    with pytest.raises(ValueError, match="same length"):
        mslode.plots.plot_curves(x, y, y[:-1])
