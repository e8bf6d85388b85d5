"""Farthest-point sampling and CUR: the same indices as scikit-matter (when
installed), deterministic given a seed, FPS's defining property, and errors."""

from __future__ import annotations

import numpy as np
import pytest

from mslode import selection

RNG = np.random.default_rng(0)
X = RNG.normal(size=(120, 15)) * np.linspace(0.2, 3.0, 15)  # anisotropic: a clear leading direction


@pytest.mark.parametrize("initial", [0, 17, 119])
@pytest.mark.parametrize("single_precision", [False, True])
def test_fps_samples_equal_skmatter(initial, single_precision):
    skmatter = pytest.importorskip("skmatter.sample_selection")
    expected = skmatter.FPS(n_to_select=40, initialize=initial).fit(X).selected_idx_
    chosen = selection.farthest_point_sampling(X, 40, initial=initial, single_precision=single_precision)
    np.testing.assert_array_equal(chosen, expected)


def test_single_precision_fps_differs_only_at_near_ties():
    """float32 products move distances by ~1e-7 |x|²: on points whose
    distances are far from tied the picks are the float64 ones; on points a
    few 1e-8 apart they may not be (the price of the faster pass)."""
    rng = np.random.default_rng(4)
    spread = rng.normal(size=(300, 40))
    np.testing.assert_array_equal(selection.farthest_point_sampling(spread, 60, initial=0, single_precision=True),
                                  selection.farthest_point_sampling(spread, 60, initial=0))
    close = np.ones((50, 40)) + 1e-8 * rng.normal(size=(50, 40))
    single = selection.farthest_point_sampling(close, 20, initial=0, single_precision=True)
    double = selection.farthest_point_sampling(close, 20, initial=0)
    assert len(set(single.tolist())) == 20 and not np.array_equal(single, double)


def test_fps_features_equal_skmatter():
    skmatter = pytest.importorskip("skmatter.feature_selection")
    first = int(np.random.default_rng(3).integers(X.shape[1]))
    expected = skmatter.FPS(n_to_select=10, initialize=first).fit(X).selected_idx_
    np.testing.assert_array_equal(selection.select_features(X, 10, method="fps", random_state=3), expected)


def test_cur_equals_skmatter():
    samples = pytest.importorskip("skmatter.sample_selection")
    features = pytest.importorskip("skmatter.feature_selection")
    small = X[:60]
    np.testing.assert_array_equal(selection.cur_selection(small, 12), samples.CUR(n_to_select=12).fit(small).selected_idx_)
    np.testing.assert_array_equal(selection.select_features(small, 8, method="cur"),
                                  features.CUR(n_to_select=8).fit(small).selected_idx_)


def test_fps_picks_the_farthest_point_each_time():
    chosen = selection.farthest_point_sampling(X, 25, initial=5)
    assert len(set(chosen.tolist())) == 25 and chosen[0] == 5
    gaps = []
    for k in range(1, 25):
        d = np.min(np.linalg.norm(X[:, None] - X[chosen[:k]][None], axis=-1), axis=1)
        assert chosen[k] == np.argmax(d)
        gaps.append(d.max())
    assert np.all(np.diff(gaps) <= 1e-12)  # the distance at selection never grows


def test_cur_first_pick_has_the_largest_leverage():
    u = np.linalg.svd(X, full_matrices=False)[0][:, 0]
    assert selection.cur_selection(X, 1)[0] == np.argmax(u**2)


def test_deterministic_given_a_seed():
    for method in selection.METHODS:
        a = selection.select_samples(X, 20, method=method, random_state=11)
        b = selection.select_samples(X, 20, method=method, random_state=11)
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(selection.select_samples(X, 20, method="fps", random_state=1),
                              selection.select_samples(X, 20, method="fps", random_state=2))


def test_duplicates_and_features_with_values():
    doubled = np.concatenate([X[:10], X[:10]])
    chosen = selection.farthest_point_sampling(doubled, 10, initial=0)
    assert sorted(chosen.tolist()) == list(range(10))  # a duplicate is at distance 0: picked last
    cur = selection.cur_selection(doubled, 10)
    assert len(set((cur % 10).tolist())) == 10  # once a row is taken, its copy is orthogonalised to zero

    class Values:
        values = X

    np.testing.assert_array_equal(selection.select_samples(Values(), 5, random_state=0),
                                  selection.select_samples(X, 5, random_state=0))


@pytest.mark.parametrize("call,match", [
    (lambda: selection.farthest_point_sampling(X, 0), r"n_to_select must be in \[1, 120\]"),
    (lambda: selection.farthest_point_sampling(X, 121), r"n_to_select must be in \[1, 120\]"),
    (lambda: selection.farthest_point_sampling(X, 3, initial=500), "initial must be a row"),
    (lambda: selection.cur_selection(X[0], 1), "2-D array"),
    (lambda: selection.cur_selection(np.full((3, 3), np.nan), 1), "NaN"),
    (lambda: selection.select_samples(X, 3, method="kmeans"), "method must be one of"),
])
def test_errors(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
