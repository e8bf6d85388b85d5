"""Committees of models on random subsets, with a calibrated spread
(Musil et al., JCTC 15, 906 (2019); ``docs/models.md``, "Committees").
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone

from ..io import params_from_json, params_to_json, subset_arrays
from . import _design, _targets
from ._base import LinearModel, as_frames, check_bool, check_positive_int

#: Members that must have left a structure out for it to enter the
#: calibration (the estimator of α² needs M ≥ 4: E[1/s²] diverges below).
MIN_LEFT_OUT = 4
#: Structures whose members' spread is below this fraction of the targets'
#: standard deviation are left out of the calibration (round-off agreement).
SPREAD_ROUND_OFF = 1e-8
#: Below this many calibration structures a warning says that α is noisy.
FEW_CALIBRATION_STRUCTURES = 20


def calibration_factor(y: np.ndarray, predictions: np.ndarray) -> tuple[float, int]:
    """α of the committee spread from the members that left each structure out.

    For each structure i left out by M_i ≥ 4 members with mean ȳ_i and
    variance s²_i (unbiased) of their predictions, s_i above 1e-8 std(y)
    (members that agree to round-off carry no information on the spread),
    α²_i = −1/M_i + (M_i − 3)/(M_i − 1) · (y_i − ȳ_i)²/s²_i; α² is their
    average (for a fixed M this is Musil et al.'s α² = −1/M + (M − 3)/(M − 1)
    ⟨(y − ȳ)²/s²⟩, unbiased when the errors are Gaussian).

    Parameters
    ----------
    y : ndarray, (n,)
    predictions : ndarray, (n_members, n)
        NaN where a member trained on the structure.

    Returns
    -------
    alpha_squared : float
        NaN if no structure qualifies.
    n_structures : int
        Structures used.
    """
    left_out = np.isfinite(predictions)
    m = left_out.sum(axis=0)
    use = m >= MIN_LEFT_OUT
    if not use.any():
        return float("nan"), 0
    p = np.where(left_out, predictions, 0.0)[:, use]
    m = m[use].astype(np.float64)
    mean = p.sum(axis=0) / m
    variance = (np.where(left_out[:, use], p - mean, 0.0) ** 2).sum(axis=0) / (m - 1)
    # members that agree to round-off (e.g. all exactly zero at dissociation) say nothing about the spread
    ok = variance > (SPREAD_ROUND_OFF * np.std(y)) ** 2
    if not ok.any():
        return float("nan"), 0
    z2 = (y[use][ok] - mean[ok]) ** 2 / variance[ok]
    m = m[ok]
    return float(np.mean(-1.0 / m + (m - 3.0) / (m - 1.0) * z2)), int(ok.sum())


class Committee(RegressorMixin, BaseEstimator):
    """n models, each fitted on a random subset of the training structures;
    their mean is the prediction, their spread (scaled by a calibrated α)
    its uncertainty.

    Parameters
    ----------
    model : Ridge or SparseKernelRidge
        Cloned for every member (each chooses its own regulariser). The
        members share the calculators' species and the central species of
        the whole training set.
    n_members : int
    subsample : float
        Fraction of the structures (of the groups, when ``fit`` gets
        ``groups``) each member is trained on.
    calibrate : bool
        Scale the spread by α, estimated on the structures each member left
        out (:func:`calibration_factor`); otherwise α = 1.
    random_state : int

    Attributes
    ----------
    members_ : list
    calibration_factor_ : float
        α.
    n_calibration_ : int
        Structures the calibration used (left out by at least 4 members).
    left_out_predictions_ : ndarray, (n_members, n_structures)
        Each member's predictions of the training structures it left out
        (NaN where it trained on them).
    """

    def __init__(self, model: Any, *, n_members: int = 8, subsample: float = 0.8, calibrate: bool = True, random_state: Any = 0) -> None:
        self.model = model
        self.n_members = n_members
        self.subsample = subsample
        self.calibrate = calibrate
        self.random_state = random_state

    def _check(self) -> tuple[int, float]:
        if not isinstance(self.model, LinearModel):
            raise TypeError(f"model must be an mslode Ridge or SparseKernelRidge, got {type(self.model).__name__}")
        n_members = check_positive_int("n_members", self.n_members)
        if n_members < 2:
            raise ValueError(f"a committee needs at least 2 members, got n_members={n_members}")
        subsample = self.subsample
        if isinstance(subsample, bool) or not isinstance(subsample, numbers.Real) or not 0 < subsample < 1:
            raise ValueError(f"subsample must be a fraction in (0, 1), got {subsample!r}")
        check_bool("calibrate", self.calibrate)
        if self.model.per_atom:
            raise ValueError("Committee fits per-structure targets; per_atom=True members are not supported yet")
        return n_members, float(subsample)

    def fit(self, frames: Any, y: Any, groups: Any = None) -> "Committee":
        """Fit the members and calibrate their spread.

        Parameters
        ----------
        frames : list of ase.Atoms
        y : array-like or str
            As for the members' ``fit``.
        groups : array-like or str, optional
            Members leave out whole groups, and their own cross-validation is grouped.

        Returns
        -------
        self
        """
        n_members, subsample = self._check()
        frames = as_frames(frames)
        values = _targets.read_target(frames, y).values
        labels = _targets.read_groups(frames, groups)
        units = np.arange(len(frames)) if labels is None else np.unique(labels, return_inverse=True)[1]
        n_units = int(units.max()) + 1
        n_train = int(round(subsample * n_units))
        if n_train < 1 or n_train >= n_units:
            raise ValueError(
                f"subsample={subsample} of {n_units} {'groups' if labels is not None else 'structures'} leaves no "
                "structure for training or none for calibration"
            )
        base = self.model
        calculators = _design.check_calculators(base.features, type(base).__name__)
        species = _design.training_species(frames)
        shared = dict(
            features=[_design.with_species(c, species) for c in calculators],
            center_species=_design.central_species(frames, _design.check_center_species(base.center_species)),
        )
        rng = np.random.default_rng(self.random_state)
        self.members_ = []
        self.left_out_predictions_ = np.full((n_members,) + values.shape, np.nan)
        for k in range(n_members):
            chosen = np.zeros(n_units, dtype=bool)
            chosen[rng.choice(n_units, n_train, replace=False)] = True
            train = chosen[units]
            member = clone(base).set_params(**shared)
            member.fit([f for f, t in zip(frames, train) if t], values[train], None if labels is None else labels[train])
            self.members_.append(member)
            left = np.flatnonzero(~train)
            self.left_out_predictions_[k, left] = member.predict([frames[i] for i in left])
        self.calibration_factor_, self.n_calibration_ = 1.0, 0
        if self.calibrate:
            # every component of a vector or tensor is one more calibration sample
            alpha2, used = calibration_factor(values.reshape(-1), self.left_out_predictions_.reshape(n_members, -1))
            used //= max(1, values[0].size)  # structures, not components
            self.n_calibration_ = used
            if not np.isfinite(alpha2) or alpha2 <= 0:
                warnings.warn(
                    f"the committee could not be calibrated (α² = {alpha2:.3g} from {used} structures left out by at "
                    f"least {MIN_LEFT_OUT} members): the spread is not scaled (α = 1); use more members or a smaller "
                    "subsample",
                    stacklevel=2,
                )
            else:
                self.calibration_factor_ = float(np.sqrt(alpha2))
                if used < FEW_CALIBRATION_STRUCTURES:
                    warnings.warn(
                        f"the calibration of the committee rests on {used} structures (those left out by at least "
                        f"{MIN_LEFT_OUT} of {n_members} members): α = {self.calibration_factor_:.3g} is noisy; use more "
                        "members or a smaller subsample",
                        stacklevel=2,
                    )
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "members_"):
            raise ValueError("this Committee is not fitted yet: call fit(frames, y) first")

    def _design_groups(self) -> list:
        """Indices of the members that build the same rows from the same
        frames (equal ``_design_key()``), each group once."""
        groups: dict = {}
        for k, member in enumerate(self.members_):
            key = member._design_key()
            groups.setdefault(("alone", k) if key is None else key, []).append(k)
        return list(groups.values())

    def predict_members(self, frames: Any) -> np.ndarray:
        """Every member's predictions, (n_members, n_structures, ...) as the target."""
        self._check_fitted()
        frames = as_frames(frames)
        results: dict = {}
        for indices in self._design_groups():
            if getattr(self.members_[indices[0]], "blocks_", None) is not None:  # one model per spherical block
                results.update({k: self.members_[k].predict(frames) for k in indices})
                continue
            # members with the same design (Ridge members share calculators and species): rows built once
            parts = [[] for _ in indices]
            for Z, C in self.members_[indices[0]]._prediction_rows(frames):
                for part, k in zip(parts, indices):
                    part.append(Z @ self.members_[k].coef_ + C @ self.members_[k].baseline_)
            for part, k in zip(parts, indices):
                results[k] = np.concatenate(part)
        return np.stack([results[k] for k in range(len(self.members_))])

    def predict(self, frames: Any, return_std: bool = False) -> Any:
        """Mean prediction of the members, and optionally its uncertainty.

        Parameters
        ----------
        frames : list of ase.Atoms
        return_std : bool

        Returns
        -------
        mean : ndarray, (n_structures,), (n_structures, 3) or (n_structures, 3, 3)
        std : ndarray, the shape of ``mean``
            With ``return_std``: α times the standard deviation of the
            members' predictions, component by component (one α for all
            components of a vector or tensor).
        """
        predictions = self.predict_members(frames)
        mean = predictions.mean(axis=0)
        if not return_std:
            return mean
        return mean, self.calibration_factor_ * predictions.std(axis=0, ddof=1)

    def predict_forces(self, frames: Any) -> Any:
        """The members' mean energies, forces and stress, with their
        calibrated spread (``energy_std``, ``forces_std`` per atom and
        component, ``stress_std``): see :meth:`Ridge.predict_forces`."""
        from ._forces import committee_forces

        self._check_fitted()
        return committee_forces(self.members_, self._design_groups(), as_frames(frames), float(self.calibration_factor_))

    # -- saving -------------------------------------------------------------------
    def save(self, path: Any) -> None:
        """Write the fitted committee to ``path`` (read with :func:`mslode.load`)."""
        from ..io import save_model

        self._check_fitted()
        save_model(self, path)

    def _saved_state(self) -> tuple[dict, dict]:
        self._check_fitted()
        members, arrays = [], {"left_out_predictions": self.left_out_predictions_}
        for k, member in enumerate(self.members_):
            fitted, member_arrays = member._saved_state()
            members.append({"params": params_to_json(member.get_params(deep=False), f"members_[{k}]"), "fitted": fitted})
            arrays.update({f"member{k}.{name}": value for name, value in member_arrays.items()})
        fitted = dict(members=members, calibration_factor=self.calibration_factor_, n_calibration=self.n_calibration_)
        return fitted, arrays

    def _restore_state(self, fitted: dict, arrays: dict) -> None:
        cls = type(self.model)
        self.members_ = []
        for k, data in enumerate(fitted["members"]):
            member = cls(**params_from_json(data["params"], f"members_[{k}]"))
            member._restore_state(data["fitted"], subset_arrays(arrays, f"member{k}."))
            self.members_.append(member)
        self.calibration_factor_ = float(fitted["calibration_factor"])
        self.n_calibration_ = int(fitted["n_calibration"])
        self.left_out_predictions_ = arrays["left_out_predictions"]
        if self.left_out_predictions_.shape[0] != len(self.members_):
            raise ValueError("left_out_predictions does not have one row per member")


__all__ = ["Committee", "calibration_factor"]
