"""A fitted energy model as an ASE calculator (``docs/forces.md``):
molecular dynamics and geometry optimisation with ASE's own drivers."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
from ase.calculators.calculator import Calculator as _AseCalculator
from ase.calculators.calculator import PropertyNotImplementedError, all_changes


class Calculator(_AseCalculator):
    """Energy, forces and stress of a fitted :class:`~mslode.Ridge`,
    :class:`~mslode.SparseKernelRidge` or :class:`~mslode.Committee` of
    either, for ASE.

    Parameters
    ----------
    model : fitted model of one energy per structure
        In the units of its training targets (eV for ASE's drivers); forces
        in those units per Å.

    Notes
    -----
    ``atoms.calc = mslode.Calculator(model)`` then ``atoms.get_forces()``,
    ``ase.md.verlet.VelocityVerlet(atoms, ...)``, ``ase.optimize.BFGS(atoms)``.
    A committee adds ``results["energy_std"]`` and ``results["forces_std"]``
    (its calibrated spread, per atom and component). Stress needs a
    periodic structure.
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress"]

    def __init__(self, model: Any, **kwargs: Any) -> None:
        if not hasattr(model, "predict_forces"):
            raise TypeError(f"mslode.Calculator needs a fitted mslode model, got {type(model).__name__}")
        model._check_fitted()
        super().__init__(**kwargs)
        self.model = model

    def calculate(
        self,
        atoms: Optional[Any] = None,
        properties: Sequence[str] = ("energy",),
        system_changes: Sequence[str] = tuple(all_changes),
    ) -> None:
        super().calculate(atoms, properties, system_changes)
        if "stress" in properties and not self.atoms.pbc.any():
            raise PropertyNotImplementedError("stress needs a periodic structure (atoms.pbc all False here)")
        frame = self.atoms.copy()
        frame.calc = None
        out = self.model.predict_forces([frame])
        energy = float(out.energy[0])
        self.results = {"energy": energy, "free_energy": energy, "forces": np.array(out.forces[0])}
        stress = out.stress[0]
        if "stress" in properties and np.isnan(stress).any():
            raise PropertyNotImplementedError("the stress of a potential with the slab dipole correction is not available")
        if np.isfinite(stress).all():
            # Voigt order xx, yy, zz, yz, xz, xy, as ASE stores it
            self.results["stress"] = np.array([stress[0, 0], stress[1, 1], stress[2, 2],
                                               stress[1, 2], stress[0, 2], stress[0, 1]])
        if out.energy_std is not None:
            self.results["energy_std"] = float(out.energy_std[0])
            self.results["forces_std"] = np.array(out.forces_std[0])
