"""Committee: the calibration formula against a loop, calibrated z-scores ≈ 1
on data with Gaussian noise (and far from 1 without calibration), members on
subsets (whole groups with groups), the estimator protocol, errors."""

from __future__ import annotations

import ase
import numpy as np
import pytest

import mslode

pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402

from mslode.models.committee import calibration_factor  # noqa: E402

GRID = np.stack(np.meshgrid(*[np.arange(3)] * 3, indexing="ij"), -1).reshape(-1, 3) * 1.5


def random_frames(n, seed):
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(n):
        m = int(rng.integers(3, 8))
        sites = rng.choice(len(GRID), m, replace=False)
        frames.append(ase.Atoms(numbers=rng.choice([1, 8], m), positions=GRID[sites] + rng.normal(0, 0.15, (m, 3))))
    return frames


RHO = mslode.DensityExpansion(cutoff=3.0, gaussian_width=0.4, max_radial=3, max_angular=0, species=[1, 8])
SOAP = mslode.Invariants(RHO, RHO)
NOISE = 0.05


def noisy_target(frames, seed):
    values = SOAP.compute(frames)
    w = np.linspace(-1.0, 1.0, values.values.shape[1])
    y = np.zeros(len(frames))
    np.add.at(y, values.structure, values.values @ w)
    return y + np.random.default_rng(seed).normal(0.0, NOISE, len(frames))


TRAIN, TEST = random_frames(300, seed=1), random_frames(400, seed=2)
Y_TRAIN, Y_TEST = noisy_target(TRAIN, 3), noisy_target(TEST, 4)


def test_calibration_factor_equals_the_formula():
    rng = np.random.default_rng(0)
    n_members, n = 10, 50
    predictions = rng.normal(size=(n_members, n))
    predictions[rng.random((n_members, n)) < 0.5] = np.nan
    y = rng.normal(size=n)
    terms = []
    for i in range(n):
        p = predictions[:, i][np.isfinite(predictions[:, i])]
        M = len(p)
        if M < 4:
            continue
        terms.append(-1.0 / M + (M - 3.0) / (M - 1.0) * (y[i] - p.mean()) ** 2 / p.var(ddof=1))
    alpha2, used = calibration_factor(y, predictions)
    assert used == len(terms) and 0 < used < n
    np.testing.assert_allclose(alpha2, np.mean(terms), rtol=1e-12)


def test_members_that_agree_to_round_off_are_left_out_of_the_calibration():
    """Structures whose members agree to rounding (a fragment model exactly 0
    at dissociation, say) would put s² ≈ 1e-32 in a denominator: left out."""
    rng = np.random.default_rng(1)
    predictions = rng.normal(size=(8, 40))
    y = rng.normal(size=40)
    reference, used = calibration_factor(y, predictions)
    predictions = np.concatenate([predictions, 1e-17 * rng.normal(size=(8, 5))], axis=1)  # round-off spread
    y = np.concatenate([y, np.full(5, 0.3)])
    alpha2, used_now = calibration_factor(y, predictions)
    assert used_now == used == 40
    assert alpha2 == pytest.approx(reference, rel=1e-12)


def test_calibration_is_unbiased_for_gaussian_members():
    """Members ~ N(m, σ²) and truth ~ N(m, α²σ²): the estimator finds α."""
    rng = np.random.default_rng(1)
    n_members, n, alpha = 8, 40000, 2.5
    sigma = rng.uniform(0.5, 2.0, n)
    centre = rng.normal(size=n)
    predictions = centre + sigma * rng.normal(size=(n_members, n))
    y = centre + alpha * sigma * rng.normal(size=n)
    alpha2, used = calibration_factor(y, predictions)
    assert used == n
    np.testing.assert_allclose(np.sqrt(alpha2), alpha, rtol=0.03)


def test_calibrated_spread_gives_unit_z_scores():
    committee = mslode.Committee(mslode.Ridge([SOAP]), n_members=16, subsample=0.5, random_state=0).fit(TRAIN, Y_TRAIN)
    assert committee.n_calibration_ > 250
    mean, std = committee.predict(TEST, return_std=True)
    z2 = np.mean(((Y_TEST - mean) / std) ** 2)
    # 400 test structures: the mean of z² scatters by about sqrt(2/400) = 0.07
    assert 0.75 < z2 < 1.25, z2
    raw = std / committee.calibration_factor_
    assert np.mean(((Y_TEST - mean) / raw) ** 2) > 3.0  # uncalibrated, the spread is far too small
    members = committee.predict_members(TEST)
    np.testing.assert_allclose(mean, members.mean(axis=0))
    np.testing.assert_allclose(std, committee.calibration_factor_ * members.std(axis=0, ddof=1))


def test_members_train_on_subsets_and_leave_out_whole_groups():
    groups = np.arange(len(TRAIN)) // 10  # 30 groups of 10
    committee = mslode.Committee(mslode.Ridge([SOAP], cv=3), n_members=4, subsample=0.7, random_state=1,
                                 calibrate=False).fit(
        TRAIN, Y_TRAIN, groups=groups)
    left_out = np.isfinite(committee.left_out_predictions_)
    for row in left_out:
        assert row.sum() == 9 * 10  # 21 of 30 groups in, 9 out
        for group in np.unique(groups):
            assert len(set(row[groups == group])) == 1  # a group is in or out as a whole
    assert not np.array_equal(left_out[0], left_out[1])
    assert len({m.alpha_ for m in committee.members_}) >= 1
    # the left-out predictions are the members' own predictions
    k = 2
    rows = np.flatnonzero(left_out[k])
    np.testing.assert_array_equal(committee.left_out_predictions_[k, rows],
                                  committee.members_[k].predict([TRAIN[i] for i in rows]))


def test_few_calibration_structures_warn():
    with pytest.warns(UserWarning, match=r"calibration of the committee rests on \d+ structures|could not be calibrated"):
        mslode.Committee(mslode.Ridge([SOAP], cv=3), n_members=8, subsample=0.8).fit(TRAIN[:60], Y_TRAIN[:60])


def test_protocol_and_errors():
    committee = mslode.Committee(mslode.Ridge([SOAP], alphas=[1e-6, 1e-2]), n_members=3, calibrate=False)
    assert committee.get_params()["model__alphas"] == [1e-6, 1e-2]
    copy = clone(committee)
    assert copy.model is not committee.model and copy.model.features[0] == SOAP
    assert committee.fit(TRAIN[:100], Y_TRAIN[:100]) is committee
    assert committee.calibration_factor_ == 1.0
    assert committee.predict(TEST).shape == (len(TEST),)
    for kwargs, match in (({"n_members": 1}, "at least 2 members"), ({"subsample": 1.0}, r"subsample must be a fraction"),
                          ({"subsample": 0.0}, r"subsample must be a fraction")):
        with pytest.raises(ValueError, match=match):
            mslode.Committee(mslode.Ridge([SOAP]), **kwargs).fit(TRAIN, Y_TRAIN)
    with pytest.raises(TypeError, match="model must be an mslode"):
        mslode.Committee(object()).fit(TRAIN, Y_TRAIN)
    with pytest.raises(ValueError, match="not fitted"):
        mslode.Committee(mslode.Ridge([SOAP])).predict(TEST)
    with pytest.raises(ValueError, match="per_atom"):
        mslode.Committee(mslode.Ridge([SOAP], per_atom=True)).fit(TRAIN, Y_TRAIN)
