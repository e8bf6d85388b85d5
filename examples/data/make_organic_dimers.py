#!/usr/bin/env python
"""Reference data set: rigid small organic dimers at GFN2-xTB (tblite).

What is computed
----------------
* Six monomers of three kinds, all rigid and NOT relaxed at GFN2-xTB:
    - charged (C): acetate CH3COO- (charge -1) and methylammonium CH3NH3+
      (charge +1), explicit idealised geometries built in this script
      (acetate: C-C 1.52 Å, C-O 1.26 Å, O-C-O 126°; methylammonium: C-N
      1.49 Å, N-H 1.03 Å; C-H 1.09 Å and tetrahedral angles at the sp3 atoms,
      staggered);
    - polar (P): methanol (``CH3OH``) and acetamide (``CH3CONH2``);
    - apolar (A): methane (``CH4``) and benzene (``C6H6``);
  the P and A geometries are ``ase.build.molecule`` (ASE g2 collection).
  Each monomer is placed with its centre of mass (COM, ASE standard masses)
  at the origin.
* 21 dimers ("curves", numbered 0..20): every unordered pair of monomers,
  including the like pairs, in the class order CC, CP, CA, PP, PA, AA (3, 4,
  4, 3, 4, 3 dimers).  Monomer 0 is the one listed first in the monomer order
  acetate, methylammonium, methanol, acetamide, methane, benzene.
* Relative orientation: for every curve, N_CANDIDATES = 8 candidate
  orientations are drawn, each a pair of uniformly distributed random
  rotations of the two monomers about their own COM (Shoemake's method,
  ``_random_rotation`` of make_h2o_co2.py), from one Python
  ``random.Random(SEED)`` (SEED = 20241), in curve order, monomer 0 first.
  The candidates of all 21 curves are always drawn, so ``--quick`` gives the
  same geometries as the full run.  The COM of monomer 0 stays at the origin,
  the COM of monomer 1 is at (0, 0, R).  Every candidate is placed at its
  start distance R0 (below) and the candidate with the lowest GFN2-xTB
  binding energy at R0 is kept (ties: the first).
* Start distance R0: the smallest R such that every intermolecular atom pair
  satisfies r_ij >= 0.85 * (r_vdW,i + r_vdW,j), with Bondi van der Waals radii
  H 1.20, C 1.70, N 1.55, O 1.52 Å (exact for rigid monomers translated along
  z, same construction as in make_h2o_co2.py but with the scale 0.85).
* Start of the curve R_start: the lowest-energy point of an inward pre-scan
  R0 - 0.05 j, j = 0..16 (so R_start is between R0 - 0.8 Å and R0; ties: the
  outermost), which puts the first point at (or, for the deepest wells, just
  outside the bound of the pre-scan near) the minimum along the chosen line.
* Scan: R = R_start + d with d = 0, 0.25, ..., 3.00 Å (the start and 12
  displacements of 0.25 Å, 13 points) plus the "dissociated limit" d = 15 Å:
  14 points per curve, 294 frames in all.
* GFN2-xTB single points through the tblite Python API
  (``tblite.interface.Calculator``, with ``charge=`` the total charge of the
  dimer or monomer), SCC accuracy 0.01, at most 1000 SCC iterations with
  mixer damping 0.1 (the default 250 iterations / damping 0.4 do not converge
  for the separated ion pair), default electronic temperature,
  closed shell, no solvation (gas phase: the Coulomb interaction of charged
  monomers is not screened).  Positions are passed in Bohr, the energy comes
  back in Hartree (converted with ``ase.units``).
* E_bind = E_dimer - E_monomer0 - E_monomer1 (eV), with the six rigid
  monomer energies (at their own charge) computed once each.

Output
------
``organic_dimers_gfn2.xyz`` next to this file (extxyz, ``ase.io.write``);
atoms of monomer 0, then of monomer 1.  Per frame ``info``: ``energy`` (eV,
total dimer energy), ``binding_energy`` (eV), ``dimer`` (e.g.
"acetate-methanol"), ``dimer_class`` ("CC", "CP", "CA", "PP", "PA", "AA"),
``curve`` (0..20), ``displacement`` (Å, d = R - R_start), ``com_distance`` (Å,
R), ``closest_contact`` (Å, shortest intermolecular atom-atom distance),
``charge`` (total charge, e), ``monomer0_charge`` (e, sum of the GFN2-xTB
atomic partial charges of monomer 0), ``method``, ``code``, ``units``; per atom
``monomer_index`` (0/1).  ASE ≥ 3.23 moves ``energy`` into a
SinglePointCalculator on reading: use ``atoms.get_potential_energy()``.

Checkpoints: each finished curve is written (atomically) to
``<output>.parts/curve_XX.xyz``; a rerun skips the curves whose part file is
complete and matches the geometry (the orientation choice is redone, it is
cheap), and the parts directory is removed once the final file is written
(``--keep-parts`` keeps it).

Usage::

    OMP_NUM_THREADS=1 python examples/data/make_organic_dimers.py           # full set
    OMP_NUM_THREADS=1 python examples/data/make_organic_dimers.py --quick   # first curve of each
                                                                             # class, to a temp dir
"""

from __future__ import annotations

import argparse
import importlib.metadata
import math
import os
import random
import sys
import time
from pathlib import Path

# keep the xTB library single-threaded unless asked otherwise
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import ase  # noqa: E402
import ase.io  # noqa: E402
from ase.build import molecule  # noqa: E402
from ase.units import Bohr, Hartree  # noqa: E402
from tblite.interface import Calculator  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_h2o_co2 import (  # noqa: E402
    METHOD, SCC_ACCURACY, VDW_RADII as _VDW_H2O_CO2, _centered, _part_is_valid,
    _random_rotation, _write_atomic, closest_contact, contact_distance as _contact_distance, dimer, finish,
    output_paths, read_part,
)

DEFAULT_OUTPUT = HERE / "organic_dimers_gfn2.xyz"

SEED = 20241
N_CANDIDATES = 8

#: Bondi van der Waals radii (Å): those of make_h2o_co2.py plus N
VDW_RADII = {**_VDW_H2O_CO2, "N": 1.55}
CONTACT_SCALE = 0.85
MAX_ITER = 1000
MIXER_DAMPING = 0.1

STEP = 0.25  # Å
PRESCAN_STEP, PRESCAN_POINTS = 0.05, 16  # inward pre-scan R0 - 0.05 j, j = 0..16
N_STEPS = 12
DISSOCIATED = 15.0  # Å beyond the start

R_CC, R_CH, R_CO_CARBOXYLATE, R_CN, R_NH = 1.52, 1.09, 1.26, 1.49, 1.03  # Å
ANGLE_OCO = 126.0  # degrees
TETRAHEDRAL = math.degrees(math.acos(-1.0 / 3.0))

UNITS = "eV, Angstrom, e"
INFO_KEYS = ("energy", "binding_energy", "dimer", "dimer_class", "curve", "displacement",
             "com_distance", "closest_contact", "charge", "monomer0_charge", "method", "code", "units")
CLASSES = ("CC", "CP", "CA", "PP", "PA", "AA")


# -- monomers --------------------------------------------------------------

def _sp3_hydrogens(center, bond: float, sign: float, phis) -> list:
    """H atoms on an sp3 centre whose other bond points along sign * (+z)."""
    theta = math.radians(180.0 - TETRAHEDRAL)
    return [[center[0] + bond * math.sin(theta) * math.cos(math.radians(p)),
             center[1] + bond * math.sin(theta) * math.sin(math.radians(p)),
             center[2] - sign * bond * math.cos(theta)] for p in phis]


def acetate() -> ase.Atoms:
    """CH3COO-: carboxylate in the xz plane, C-C along z, one methyl H along +y."""
    half = math.radians(ANGLE_OCO) / 2
    c1, c2 = [0.0, 0.0, 0.0], [0.0, 0.0, -R_CC]
    pos = [c1, c2,
           [+R_CO_CARBOXYLATE * math.sin(half), 0.0, R_CO_CARBOXYLATE * math.cos(half)],
           [-R_CO_CARBOXYLATE * math.sin(half), 0.0, R_CO_CARBOXYLATE * math.cos(half)]]
    pos += _sp3_hydrogens(c2, R_CH, +1.0, (90.0, 210.0, 330.0))
    return _centered(ase.Atoms("CCOOHHH", positions=pos))


def methylammonium() -> ase.Atoms:
    """CH3NH3+: C-N along z, staggered."""
    c, n = [0.0, 0.0, 0.0], [0.0, 0.0, R_CN]
    pos = [c, n]
    pos += _sp3_hydrogens(n, R_NH, -1.0, (0.0, 120.0, 240.0))
    pos += _sp3_hydrogens(c, R_CH, +1.0, (60.0, 180.0, 300.0))
    return _centered(ase.Atoms("CNHHHHHH", positions=pos))


def _g2(name: str):
    return lambda: _centered(molecule(name))


#: name -> (kind, charge, builder), in monomer order
MONOMERS = {
    "acetate": ("C", -1, acetate),
    "methylammonium": ("C", +1, methylammonium),
    "methanol": ("P", 0, _g2("CH3OH")),
    "acetamide": ("P", 0, _g2("CH3CONH2")),
    "methane": ("A", 0, _g2("CH4")),
    "benzene": ("A", 0, _g2("C6H6")),
}


def dimer_list() -> list:
    """(class, name 0, name 1) for curves 0..20, in class order."""
    names = list(MONOMERS)
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i:]]
    result = []
    for cls in CLASSES:
        result += [(cls, a, b) for a, b in pairs if MONOMERS[a][0] + MONOMERS[b][0] == cls]
    return result


# -- geometry --------------------------------------------------------------

def contact_distance(m0: ase.Atoms, m1: ase.Atoms) -> float:
    """Smallest R with r_ij >= 0.85 (r_vdW,i + r_vdW,j) for every intermolecular pair."""
    return _contact_distance(m0, m1, scale=CONTACT_SCALE, radii=VDW_RADII)


def displacements() -> list:
    return [STEP * k for k in range(N_STEPS + 1)] + [DISSOCIATED]


def candidate_rotations(n_curves: int) -> list:
    """N_CANDIDATES (rotation 0, rotation 1) pairs for each curve, from one seeded RNG."""
    rng = random.Random(SEED)
    result = []
    for _ in range(n_curves):
        cands = []
        for _ in range(N_CANDIDATES):
            r0 = _random_rotation(rng)
            r1 = _random_rotation(rng)
            cands.append((r0, r1))
        result.append(cands)
    return result


# -- GFN2-xTB ---------------------------------------------------------------

def gfn2(atoms: ase.Atoms, charge: int):
    """Total energy (eV) and atomic partial charges (e) of a closed-shell molecule."""
    calc = Calculator(METHOD, atoms.numbers, atoms.positions / Bohr, charge=float(charge))
    calc.set("verbosity", 0)
    calc.set("accuracy", SCC_ACCURACY)
    calc.set("max-iter", MAX_ITER)
    calc.set("mixer-damping", MIXER_DAMPING)
    res = calc.singlepoint()
    return float(res.get("energy")) * Hartree, np.asarray(res.get("charges"), dtype=float)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="only the first curve of each class, written to a temporary directory by default")
    parser.add_argument("--output", type=Path, default=None,
                        help=f"output extxyz file (default {DEFAULT_OUTPUT.name} next to this script)")
    parser.add_argument("--keep-parts", action="store_true", help="keep the per-curve checkpoint files")
    args = parser.parse_args(argv)

    dimers = dimer_list()
    if args.quick:
        curves = [[k for k, d in enumerate(dimers) if d[0] == cls][0] for cls in CLASSES]
    else:
        curves = list(range(len(dimers)))
    output, parts = output_paths(args.output, args.quick, DEFAULT_OUTPUT)

    version = importlib.metadata.version("tblite")
    code = f"tblite {version}"
    start = time.perf_counter()

    monomers, e_mono = {}, {}
    for name, (kind, charge, build) in MONOMERS.items():
        monomers[name] = build()
        e_mono[name] = gfn2(monomers[name], charge)[0]
        print(f"{code}, {METHOD}: E({name}, {kind}, charge {charge:+d}) = {e_mono[name]:.6f} eV", flush=True)

    rotations = candidate_rotations(len(dimers))
    all_frames = []
    for k in curves:
        cls, n0, n1 = dimers[k]
        q = MONOMERS[n0][1] + MONOMERS[n1][1]
        e_ref = e_mono[n0] + e_mono[n1]
        t0 = time.perf_counter()
        # orientation: lowest binding energy at the start distance among the candidates
        best = None
        for rot0, rot1 in rotations[k]:
            m0, m1 = monomers[n0].copy(), monomers[n1].copy()
            m0.positions = m0.positions @ rot0.T
            m1.positions = m1.positions @ rot1.T
            r0 = contact_distance(m0, m1)
            eb = gfn2(dimer(m0, m1, r0), q)[0] - e_ref
            if best is None or eb < best[0]:
                best = (eb, m0, m1, r0)
        _, m0, m1, r0 = best
        # start: lowest point of an inward pre-scan R0 - 0.05 j (j = 0..16, ties: the outermost)
        pre = [gfn2(dimer(m0, m1, r0 - PRESCAN_STEP * j), q)[0] for j in range(PRESCAN_POINTS + 1)]
        r_start = r0 - PRESCAN_STEP * int(np.argmin(pre))
        geometries = [dimer(m0, m1, r_start + d) for d in displacements()]
        part = parts / f"curve_{k:02d}.xyz"
        if part.exists() and _part_is_valid(part, geometries):
            frames = read_part(part, INFO_KEYS)
            print(f"curve {k:2d} {cls} {n0}-{n1}: {len(frames)} points, done before (checkpoint)", flush=True)
        else:
            frames = []
            for atoms, d in zip(geometries, displacements()):
                energy, charges = gfn2(atoms, q)
                atoms.info.update({
                    "energy": energy,
                    "binding_energy": energy - e_ref,
                    "dimer": f"{n0}-{n1}",
                    "dimer_class": cls,
                    "curve": k,
                    "displacement": float(d),
                    "com_distance": float(r_start + d),
                    "closest_contact": closest_contact(atoms),
                    "charge": int(q),
                    "monomer0_charge": float(charges[atoms.arrays["monomer_index"] == 0].sum()),
                    "method": METHOD,
                    "code": code,
                    "units": UNITS,
                })
                frames.append(atoms)
            _write_atomic(part, frames)
            eb = [f.info["binding_energy"] for f in frames]
            i = int(np.argmin(eb))
            print(f"curve {k:2d} {cls} {n0}-{n1} (charge {q:+d}): R0 = {r0:.3f} Å, R_start = {r_start:.3f} Å, "
                  f"min E_bind = {eb[i]:+.4f} eV at d = {frames[i].info['displacement']:.2f} Å, "
                  f"E_bind(d = 15 Å) = {eb[-1]:+.2e} eV, {time.perf_counter() - t0:.1f} s", flush=True)
        all_frames.extend(frames)

    finish(output, parts, all_frames, args.keep_parts, start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
