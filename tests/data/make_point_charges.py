"""Write ``point_charges.xyz``: small clusters of point charges (Na +1,
Cl −1) and their exact Coulomb energies, for the learning-curve test of
``tests/test_models_learning.py``.

Each cluster has 4 to 10 ions at random positions in a cube whose side
keeps about one ion per 40 Å³, no two closer than ``MIN_DISTANCE``; the
energy is E = k Σ_{i<j} q_i q_j / r_ij with k = 14.399645 eV Å (Gaussian
units, as ``docs/conventions.md``, "Units and structures"), written as the
extxyz ``energy`` (ASE ≥ 3.23 reads it back into a SinglePointCalculator,
not into ``atoms.info``), with the charges in ``atoms.arrays["charge"]`` and
the cluster index in ``atoms.info["cluster"]``.

Run from anywhere: ``python tests/data/make_point_charges.py`` (seeded: the
file it writes is always the same).
"""

from __future__ import annotations

import os

import ase
import ase.io
import numpy as np
from ase.calculators.singlepoint import SinglePointCalculator

COULOMB = 14.399645  # eV Å
MIN_DISTANCE = 2.5  # Å
N_CLUSTERS = 160
SEED = 20210521
CHARGES = {11: 1.0, 17: -1.0}


def coulomb_energy(numbers: np.ndarray, positions: np.ndarray) -> float:
    """k Σ_{i<j} q_i q_j / r_ij (eV)."""
    q = np.array([CHARGES[int(z)] for z in numbers])
    r = np.linalg.norm(positions[:, None] - positions[None, :], axis=-1)
    i, j = np.triu_indices(len(q), k=1)
    return float(COULOMB * np.sum(q[i] * q[j] / r[i, j]))


def cluster(rng: np.random.Generator, index: int) -> ase.Atoms:
    n = int(rng.integers(4, 11))
    side = (40.0 * n) ** (1.0 / 3.0)
    positions: list = []
    while len(positions) < n:
        trial = rng.uniform(0.0, side, 3)
        if all(np.linalg.norm(trial - p) >= MIN_DISTANCE for p in positions):
            positions.append(trial)
    numbers = rng.choice([11, 17], n)
    atoms = ase.Atoms(numbers=numbers, positions=np.array(positions))
    atoms.arrays["charge"] = np.array([CHARGES[int(z)] for z in numbers])
    atoms.info["cluster"] = index
    atoms.calc = SinglePointCalculator(atoms, energy=coulomb_energy(atoms.numbers, atoms.positions))
    return atoms


def main() -> None:
    rng = np.random.default_rng(SEED)
    frames = [cluster(rng, k) for k in range(N_CLUSTERS)]
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "point_charges.xyz")
    ase.io.write(path, frames, format="extxyz")
    print(f"wrote {len(frames)} clusters to {path}")


if __name__ == "__main__":
    main()
