"""Forces and stress of a fitted energy model by the chain rule
(``docs/forces.md``).

A model predicts E(A) = Σ_k Σ_{i∈A, species k} r_k(x_i) · coef_k + baseline,
with r_k the design row of a centre (its features for :class:`Ridge`, its
kernel row for :class:`SparseKernelRidge`) and x_i its features under every
row calculator. The model gives t_i = ∂E/∂x_i per centre and calculator
(``_centre_energies``: for ``Ridge`` one row of weights per species, picked
per centre; otherwise from ``_row_cotangents``), the calculators turn
them into ∂E/∂r and ∂E/∂ε (their ``backward``), with the model's weights
contracted first: no derivative of a feature with respect to a position
is ever stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from ..values import Gradients
from . import _design


@dataclass(frozen=True)
class ForcePredictions:
    """Energies and their derivatives for some structures.

    Attributes
    ----------
    energy : ndarray, (n_structures,)
        As :meth:`predict` gives them, to round-off (made from the same
        expansions' coefficients as the forces).
    forces : list of ndarray, (n_atoms, 3) each
        F = −∂E/∂r.
    stress : ndarray, (n_structures, 3, 3)
        σ = (1/Ω) ∂E/∂ε for a strain ε of positions and cell (ASE's
        convention); NaN for a structure with no periodic direction, and
        where a potential's slab dipole correction leaves it unavailable.
    energy_std, forces_std, stress_std : optional
        From a :class:`Committee`: its calibrated spread of each (α times
        the members' standard deviation, component by component); None
        otherwise.
    """

    energy: np.ndarray
    forces: list
    stress: np.ndarray
    energy_std: Optional[np.ndarray] = None
    forces_std: Optional[list] = None
    stress_std: Optional[np.ndarray] = None


def committee_forces(members: list, groups: list, frames: list, alpha: float) -> ForcePredictions:
    """Mean of the members' predictions and α times their spread; ``groups``
    lists the indices of members with one design (see ``Committee``)."""
    by_index: dict = {}
    for indices in groups:  # members with one design share their expansions
        by_index.update(zip(indices, predict_forces_of([members[k] for k in indices], frames)))
    each = [by_index[k] for k in range(len(members))]
    energy = np.stack([e.energy for e in each])
    stress = np.stack([e.stress for e in each])
    forces = [np.stack([e.forces[s] for e in each]) for s in range(len(frames))]
    return ForcePredictions(
        energy=energy.mean(axis=0),
        forces=[f.mean(axis=0) for f in forces],
        stress=stress.mean(axis=0),
        energy_std=alpha * energy.std(axis=0, ddof=1),
        forces_std=[alpha * f.std(axis=0, ddof=1) for f in forces],
        stress_std=alpha * stress.std(axis=0, ddof=1),
    )


def linearize(calculator: Any, frames: list, center_species: Any) -> tuple:
    """(x, pullback, (structure, central species)) of a calculator: the
    per-centre rows a model reads (:func:`_design.atomic_features`:
    invariants, or an expansion's l = 0 coefficients) and the function from
    their cotangent to :class:`~mslode.Gradients`."""
    if _design._is_expansion(calculator):
        values, pullback, rows = calculator._linearize(frames, center_species)

        def embedded(cotangent: np.ndarray, rows: Optional[np.ndarray] = None) -> Gradients:
            cotangent = cotangent if rows is None else cotangent[rows]
            full = np.zeros_like(values)
            full[:, :, :, 0] = cotangent.reshape(values.shape[:3])
            return pullback(full)

        return np.ascontiguousarray(values[:, :, :, 0].reshape(len(values), -1)), embedded, rows
    if not hasattr(calculator, "_linearize") or hasattr(calculator, "lambda_"):
        raise NotImplementedError(f"forces through {calculator!r} are not available: use Invariants or expansions")
    return calculator._linearize(frames, center_species)


def check_energy_model(model: Any) -> None:
    """Forces need a fitted model of a scalar per structure."""
    model._check_fitted()
    name = type(model).__name__
    if model.blocks_ is not None or model._components != 1:
        raise ValueError(f"{name}: forces need a model of a scalar (an energy), this one predicts a {model.target_kind_}")
    if model.per_atom:
        raise ValueError(f"{name}: forces need a model of one energy per structure, not per_atom=True")
    if model.fragments is not None:
        raise NotImplementedError(f"{name}: forces of a model fitted on fragment differences are not available")


def predict_forces(model: Any, frames: list) -> ForcePredictions:
    """Energies, forces and stress of ``frames`` (see :class:`ForcePredictions`)."""
    return predict_forces_of([model], frames)[0]


def predict_forces_of(models: list, frames: list) -> list:
    """:func:`predict_forces` of several models that share their calculators
    and species (a committee's members: equal ``_design_key()``).

    Each calculator's expansions are computed once per chunk, for all the
    models: the features are made from their coefficients, the energies
    from the features, and each model's backward pass reuses the
    coefficients."""
    first = models[0]
    for model in models:
        check_energy_model(model)
    _design.check_species(frames, first.species_, set(first.allowed_species_), first._centers)
    calculators, _ = first._row_calculators()
    out = [(np.zeros(len(frames)), [], np.full((len(frames), 3, 3), np.nan)) for _ in models]
    for part in _design.chunks(len(frames), first.chunk_size):
        chunk = frames[part]
        linear = [linearize(c, chunk, first._centers) for c in calculators]
        features = [x for x, _, _ in linear]
        structure, species = linear[0][2]
        for model, (energy, forces, stress) in zip(models, out):
            per_centre, cotangents = model._centre_energies(features, species)
            energy[part] = np.bincount(structure, weights=per_centre, minlength=len(chunk)) + (
                model._unpenalised(chunk, None) @ model.baseline_
            )
            total = None
            for (_, pullback, _), (t, rows) in zip(linear, cotangents):
                g = pullback(t, rows)
                total = g if total is None else total + g
            for s, frame in enumerate(chunk):
                forces.append(-total.structure(s))
                if frame.pbc.any():
                    stress[part.start + s] = total.strain[s] / abs(frame.get_volume())
    return [ForcePredictions(energy=e, forces=f, stress=st) for e, f, st in out]
