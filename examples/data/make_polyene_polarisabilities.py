#!/usr/bin/env python
"""Reference data set: polarisabilities of all-trans polyenes at GFN2-xTB (tblite).

Purpose
-------
"Train on short chains, test on long ones": the longitudinal polarisability
of a conjugated chain grows faster than linearly with its length (the
response of the delocalised pi system is cooperative), so a purely local
model fitted on short chains under-predicts long ones.  Saturated chains
(alkanes) are nearly additive and would not show this, hence polyenes.
Only one chemical family is included (no polyynes etc.) so that chain length
is the single thing that changes between training and test sets.

What is computed
----------------
* Molecules: all-trans polyenes H-(CH=CH)_n-H, C_2n H_2n+2, n = 1..16
  (ethylene, butadiene, hexatriene, ...; 6 to 66 atoms).
* Ideal geometry (NOT relaxed at GFN2-xTB): a planar zigzag with C=C
  1.34 Å, C-C 1.45 Å, C-H 1.09 Å and every bond angle 120° (C2h for n >= 2,
  D2h for ethylene).  Reference frame: the molecule lies in the xz plane,
  the double bonds point along (+sin 30°, 0, cos 30°) and the single bonds
  along (-sin 30°, 0, cos 30°), both then turned about y so that the repeat
  vector C1 -> C3 (one CH=CH unit) is exactly along +z (a 1.30° turn, because
  the two bond lengths differ).  z is thus the chain axis.  An inner CH has
  its H on the outer bisector of its C-C-C angle; each terminal CH2 has its
  two H at 120° from the C=C bond, in the plane.  The centre of mass (ASE
  standard masses) is at the origin.
  Why not GFN2-xTB-relaxed: GFN2-xTB, like most DFT functionals,
  underestimates the bond-length alternation of long polyenes (relaxed
  mid-chain bonds of n = 12: 1.363 / 1.411 Å, against about 1.35 / 1.45 Å from
  experiment and high-level theory), which would overstate the delocalisation.
  Fixed bond lengths also keep the geometries independent of any optimiser.
* Conformers per length: N_CONF(n) = 50 for n <= 8 and 25 for 9 <= n <= 16
  (600 frames in all).  Conformer 0 is the ideal geometry; conformers
  1..N_CONF-1 add an independent Gaussian displacement to every Cartesian
  coordinate of every atom, with sigma = 0.05 Å (about 0.1 eV per atom of
  strain at GFN2-xTB; sigma = 0.1 Å would give about 0.5 eV per atom).
  The centre of mass is then moved back to the origin.  Every conformer,
  including conformer 0, is then turned by a uniformly distributed random
  rotation about the origin (Shoemake's quaternion method,
  ``_random_rotation`` of make_h2o_co2.py), so models must be covariant.
  Random numbers: one Python ``random.Random(SEED * 100 + n)`` per chain
  length (SEED = 20242), which draws for each conformer in turn: the
  rotation first (3 uniforms), then for conformers >= 1 the displacements,
  atom by atom, x, y, z.  Each normal deviate comes from two
  ``random()`` uniforms u1, u2 by Box-Muller, sqrt(-2 ln(1 - u1)) cos(2 pi u2),
  so the geometries depend only on ``random()``, whose sequence Python
  keeps the same from version to version.  Because each length has its own
  generator, ``--quick`` makes the same geometries as the full run.
* GFN2-xTB through the tblite Python API (``tblite.interface.Calculator``),
  neutral, closed shell, gas phase, default electronic temperature
  (9.5e-4 Hartree, about 300 K; the HOMO-LUMO gap is still 1.3 eV at
  n = 16), SCC accuracy 1e-3 (tighter than the default 1.0, because the
  dipole must be converged far below the change the field makes).
  tblite works in atomic units: positions go in as Bohr, the energy comes out
  in Hartree and the dipole in e·Bohr.
* Polarisability: finite differences of the dipole in a uniform external
  field (tblite's "electric-field" interaction, field in atomic units
  Hartree/(e·Bohr); one fresh calculator per field, all started from the
  default guess).  Five-point central stencil for each field direction j:
      alpha_ij = [8 (mu_i(+h e_j) - mu_i(-h e_j))
                  - (mu_i(+2h e_j) - mu_i(-2h e_j))] / (12 h),
  with h = 2.5e-4 a.u. (so fields of +-2.5e-4 and +-5e-4 a.u.), i.e. 12 field
  calculations plus one at zero field per structure.  Plain central
  differences are not good enough here because long polyenes have large
  hyperpolarisabilities.  Their h^2 error in alpha_zz of the ideal n = 12 chain
  is +1.7 % at h = 1e-3, +0.4 % at 5e-4 and +0.1 % at 2.5e-4 a.u. (+0.26 % for
  n = 16 at 2.5e-4).  With the five-point stencil, h = 2.5e-4 and 1.25e-4
  agree to 7e-6 (n = 12) and 7e-5 (n = 16) relative (largest element), and
  h = 2.5e-4 and 5e-4 to 1.2e-4 and 1.2e-3; ``--check`` prints these numbers.
  The tensor is then symmetrised, (alpha + alpha^T) / 2.  Before that, its
  asymmetry is at most 6e-5 of its largest element (at most 1.2e-5 for
  n <= 12).  Convention: alpha_ij = d mu_i / d F_j, i the dipole component,
  j the field component, Cartesian, in the (rotated) frame of the stored
  positions: the fields are applied to the rotated molecule, and the tensor
  is not rotated afterwards.
  Units: the polarisability volume in Å^3, alpha[Å^3] = alpha[a.u.] * Bohr^3
  (Bohr = 0.529177 Å, ``ase.units.Bohr``; 1 a.u. = 0.148185 Å^3).
* Known limitation of the method: GFN2-xTB has a minimal valence basis, so
  its polarisabilities are qualitative.  The out-of-plane component is much too
  small (ethylene: 4.6 a.u. out of plane, isotropic 13.3 a.u. = 1.97 Å^3,
  against an experimental isotropic value of about 28.7 a.u. = 4.25 Å^3).
  The cooperative growth along the chain is reproduced.

Output
------
``polyene_polarisabilities_gfn2.xyz`` next to this file (extxyz,
``ase.io.write``), frames ordered by n and then by conformer.  In each
frame the 2n C atoms come first in chain order, then the 2n + 2 H atoms in
the order of the C atoms they are bonded to (two on each terminal C).  No
cell, no periodic boundaries.  Per-frame ``info``:
``energy`` (eV, total energy at zero field), ``dipole`` (3 floats, e·Å, at
zero field; the molecule is neutral, so it does not depend on the origin;
zero by symmetry for conformer 0), ``polarizability`` (9 floats, Å^3, the
3x3 tensor flattened row by row: alpha_ij is element 3 i + j), ``n_units``
(n), ``conformer`` (0 = ideal geometry), ``method``, ``code`` and ``units``.

Reading: ASE >= 3.23 moves ``energy`` and ``dipole`` into a
SinglePointCalculator (``atoms.get_potential_energy()``,
``atoms.calc.results["dipole"]``); ``polarizability`` stays in ``atoms.info``
as a numpy array of shape (9,), so use
``atoms.info["polarizability"].reshape(3, 3)``.  (A (3, 3) array in ``info``
would be written as a non-standard "_JSON [[...]]" string, so the tensor
is stored flattened.)  The longitudinal polarisability is the largest
eigenvalue of the tensor (``np.linalg.eigvalsh(alpha)[-1]``).  For ethylene
its eigenvector is the C=C bond.  For the ideal chains it is close to the
chain axis, and closer the longer the chain: 15° off for butadiene, 6° for
n = 5 and 3° for n = 16.

Checkpoints: each finished chain length is written (atomically) to
``<output>.parts/n_XX.xyz``; a rerun skips the lengths whose part file is
complete and matches the geometry, and the parts directory is removed once
the final file is written (``--keep-parts`` keeps it).

Usage::

    # full set
    OMP_NUM_THREADS=1 python examples/data/make_polyene_polarisabilities.py
    # n = 1..3 with 2 conformers each, written to a temp dir
    OMP_NUM_THREADS=1 python examples/data/make_polyene_polarisabilities.py --quick
    # only the step-convergence and rotation checks, nothing written
    OMP_NUM_THREADS=1 python examples/data/make_polyene_polarisabilities.py --check
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
from ase.units import Bohr, Hartree  # noqa: E402
from tblite import library as _tblite_library  # noqa: E402
from tblite.interface import Calculator  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_h2o_co2 import (  # noqa: E402
    METHOD, _part_is_valid, _random_rotation, _write_atomic, finish, output_paths, read_part,
)

DEFAULT_OUTPUT = HERE / "polyene_polarisabilities_gfn2.xyz"

SEED = 20242
N_MAX = 16
N_SPLIT = 8  # N_CONF_SHORT conformers up to this length, N_CONF_LONG beyond
N_CONF_SHORT, N_CONF_LONG = 50, 25
QUICK_UNITS, QUICK_CONFORMERS = (1, 2, 3), 2

R_DOUBLE, R_SINGLE, R_CH = 1.34, 1.45, 1.09  # Å
SIGMA = 0.05  # Å, Gaussian displacement of every coordinate

SCC_ACCURACY = 1e-3
FIELD_STEP = 2.5e-4  # a.u. (Hartree / (e Bohr))

UNITS = "eV, Angstrom, e*Angstrom, Angstrom^3"
INFO_KEYS = ("energy", "dipole", "polarizability", "n_units", "conformer", "method", "code", "units")


# -- geometry --------------------------------------------------------------

def n_conformers(n: int) -> int:
    return N_CONF_SHORT if n <= N_SPLIT else N_CONF_LONG


def polyene(n: int) -> ase.Atoms:
    """Ideal all-trans H-(CH=CH)_n-H in the xz plane, repeat vector along +z, COM at 0."""
    s30, c30 = math.sin(math.radians(30.0)), math.cos(math.radians(30.0))
    tilt = math.atan2((R_DOUBLE - R_SINGLE) * s30, (R_DOUBLE + R_SINGLE) * c30)

    def direction(angle_from_z):  # unit vector in the xz plane, turned by -tilt about y
        a = angle_from_z - tilt
        return np.array([math.sin(a), 0.0, math.cos(a)])

    up, down = direction(math.radians(30.0)), direction(math.radians(-30.0))
    carbons = [np.zeros(3)]
    for k in range(1, 2 * n):  # bond k joins C_k-1 and C_k: odd k double, even k single
        carbons.append(carbons[-1] + (R_DOUBLE * up if k % 2 else R_SINGLE * down))
    carbons = np.array(carbons)

    hydrogens = []
    for k in range(2 * n):
        bonded = [j for j in (k - 1, k + 1) if 0 <= j < 2 * n]
        if len(bonded) == 2:  # inner CH: H on the outer bisector
            u = sum((carbons[k] - carbons[j]) / np.linalg.norm(carbons[k] - carbons[j]) for j in bonded)
            hydrogens.append(carbons[k] + R_CH * u / np.linalg.norm(u))
        else:  # terminal CH2: two H at 120° from the C=C bond, in the plane
            b = carbons[bonded[0]] - carbons[k]
            b /= np.linalg.norm(b)
            perp = np.cross([0.0, 1.0, 0.0], b)
            for sign in (+1.0, -1.0):
                d = math.cos(math.radians(120.0)) * b + sign * math.sin(math.radians(120.0)) * perp
                hydrogens.append(carbons[k] + R_CH * d)
    atoms = ase.Atoms(f"C{2 * n}H{len(hydrogens)}", positions=np.vstack([carbons, hydrogens]))
    atoms.positions -= atoms.get_center_of_mass()
    return atoms


def _normal(rng: random.Random) -> float:
    """Standard normal deviate from two random() uniforms (Box-Muller, cosine branch)."""
    u1, u2 = rng.random(), rng.random()
    return math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)


def conformers(n: int, count: int) -> list:
    """(rotated geometry, rotation matrix) for conformers 0..count-1 of length n."""
    ideal = polyene(n)
    rng = random.Random(SEED * 100 + n)
    result = []
    for c in range(count):
        rot = _random_rotation(rng)
        atoms = ideal.copy()
        if c > 0:
            atoms.positions += SIGMA * np.array([[_normal(rng) for _ in range(3)] for _ in range(len(atoms))])
            atoms.positions -= atoms.get_center_of_mass()
        atoms.positions = atoms.positions @ rot.T
        result.append((atoms, rot))
    return result


# -- GFN2-xTB ---------------------------------------------------------------

def gfn2(atoms: ase.Atoms, field=None):
    """Energy (Hartree) and dipole (e·Bohr) in a uniform field (a.u.), tblite defaults otherwise."""
    calc = Calculator(METHOD, atoms.numbers, atoms.positions / Bohr)
    calc.set("verbosity", 0)
    calc.set("accuracy", SCC_ACCURACY)
    if field is not None:
        # the C API wants a double*; keep the array alive until the calculation is done
        efield = np.ascontiguousarray(field, dtype=np.float64)
        calc.add("electric-field", _tblite_library.ffi.cast("double*", efield.ctypes.data))
    res = calc.singlepoint()
    return float(res.get("energy")), np.asarray(res.get("dipole"), dtype=float)


def polarizability_au(atoms: ase.Atoms, h: float = FIELD_STEP) -> np.ndarray:
    """alpha_ij = d mu_i / d F_j (a.u.), five-point central stencil, not symmetrised."""
    alpha = np.zeros((3, 3))
    for j in range(3):
        e = np.zeros(3)
        e[j] = 1.0
        mu = {s: gfn2(atoms, s * h * e)[1] for s in (+1, -1, +2, -2)}
        alpha[:, j] = (8.0 * (mu[+1] - mu[-1]) - (mu[+2] - mu[-2])) / (12.0 * h)
    return alpha


def response(atoms: ase.Atoms):
    """Energy (eV), dipole (e·Å), symmetrised polarisability (Å^3) and its relative asymmetry."""
    energy, dipole = gfn2(atoms)
    alpha = polarizability_au(atoms)
    asym = float(np.abs(alpha - alpha.T).max() / np.abs(alpha).max())
    alpha = 0.5 * (alpha + alpha.T) * Bohr ** 3
    return energy * Hartree, dipole * Bohr, alpha, asym


def longitudinal(alpha: np.ndarray) -> float:
    return float(np.linalg.eigvalsh(alpha)[-1])


# -- checks -----------------------------------------------------------------

def check(lengths) -> None:
    """Step convergence of the stencil and rotation covariance, on the ideal geometries."""
    for n in lengths:
        atoms = polyene(n)
        t0 = time.perf_counter()
        ref = polarizability_au(atoms)
        dt = time.perf_counter() - t0
        scale = np.abs(ref).max()
        devs = {h: np.abs(polarizability_au(atoms, h) - ref).max() / scale for h in (FIELD_STEP / 2, 2 * FIELD_STEP)}
        central = np.zeros(3)
        for j in range(3):  # plain central differences with the same step, for comparison
            e = np.zeros(3)
            e[j] = FIELD_STEP
            central[j] = (gfn2(atoms, e)[1][j] - gfn2(atoms, -e)[1][j]) / (2 * FIELD_STEP)
        print(f"n = {n:2d}: alpha_xx, alpha_yy, alpha_zz = {ref[0, 0]:.4f}, {ref[1, 1]:.4f}, {ref[2, 2]:.4f} a.u. "
              f"({dt:.2f} s); relative change (largest element) with h/2: {devs[FIELD_STEP / 2]:.1e}, "
              f"with 2h: {devs[2 * FIELD_STEP]:.1e}; plain central differences at h: alpha_zz off by "
              f"{(central[2] - ref[2, 2]) / ref[2, 2]:+.1e}; asymmetry {np.abs(ref - ref.T).max() / scale:.1e}",
              flush=True)
        atoms_rot, rot = conformers(n, 1)[0]
        rotated = polarizability_au(atoms_rot)
        print(f"        rotated copy: |alpha(R x) - R alpha(x) R^T| / max = "
              f"{np.abs(rotated - rot @ ref @ rot.T).max() / scale:.1e}", flush=True)


# -- main -------------------------------------------------------------------

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"only n = {', '.join(map(str, QUICK_UNITS))} with {QUICK_CONFORMERS} conformers "
                             "each, written to a temporary directory by default")
    parser.add_argument("--check", action="store_true",
                        help="only print the finite-difference step and rotation checks (n = 1, 2, 12, 16)")
    parser.add_argument("--output", type=Path, default=None,
                        help=f"output extxyz file (default {DEFAULT_OUTPUT.name} next to this script)")
    parser.add_argument("--keep-parts", action="store_true", help="keep the per-length checkpoint files")
    args = parser.parse_args(argv)

    version = importlib.metadata.version("tblite")
    code = f"tblite {version}"
    if args.check:
        print(f"{code}, {METHOD}: five-point stencil, h = {FIELD_STEP:g} a.u., SCC accuracy {SCC_ACCURACY:g}")
        check((1, 2, 12, N_MAX))
        return 0

    if args.quick:
        plan = [(n, QUICK_CONFORMERS) for n in QUICK_UNITS]
    else:
        plan = [(n, n_conformers(n)) for n in range(1, N_MAX + 1)]
    output, parts = output_paths(args.output, args.quick, DEFAULT_OUTPUT)
    print(f"{code}, {METHOD}: {sum(c for _, c in plan)} structures, n = {plan[0][0]}..{plan[-1][0]}", flush=True)
    start = time.perf_counter()

    all_frames, table = [], []
    for n, count in plan:
        confs = conformers(n, count)
        geometries = [atoms for atoms, _ in confs]
        part = parts / f"n_{n:02d}.xyz"
        if part.exists() and _part_is_valid(part, geometries):
            frames = read_part(part, INFO_KEYS, calculator_keys=("dipole",))
            print(f"n = {n:2d}: {len(frames)} conformers, done before (checkpoint)", flush=True)
        else:
            t0 = time.perf_counter()
            frames, worst = [], 0.0
            for c, atoms in enumerate(geometries):
                energy, dipole, alpha, asym = response(atoms)
                worst = max(worst, asym)
                atoms.info.update({
                    "energy": energy,
                    "dipole": dipole,
                    "polarizability": alpha.reshape(9),
                    "n_units": n,
                    "conformer": c,
                    "method": METHOD,
                    "code": code,
                    "units": UNITS,
                })
                frames.append(atoms)
            _write_atomic(part, frames)
            dt = time.perf_counter() - t0
            print(f"n = {n:2d} ({len(geometries[0])} atoms): {len(frames)} conformers, "
                  f"{dt:.1f} s ({dt / len(frames):.2f} s each), largest asymmetry before symmetrising {worst:.1e}",
                  flush=True)
        alphas = [np.asarray(f.info["polarizability"], dtype=float).reshape(3, 3) for f in frames]
        rot = confs[0][1]
        a0 = rot.T @ alphas[0] @ rot  # conformer 0 back in the reference frame (chain axis z)
        par = [longitudinal(a) for a in alphas]
        table.append((n, a0[2, 2], par[0], np.trace(alphas[0]) / 3, np.mean(par[1:]) if len(par) > 1 else float("nan"),
                      np.std(par[1:]) if len(par) > 1 else float("nan")))
        all_frames.extend(frames)

    print("\nideal geometry (conformer 0) and distorted conformers, Å^3:")
    print("  n   alpha_zz  alpha_par  alpha_par/n  ratio  alpha_iso   distorted alpha_par: mean   std")
    prev = None
    for n, azz, par, iso, mean, std in table:
        ratio = f"{(par / n) / prev:5.2f}" if prev else "    -"
        print(f"{n:3d} {azz:10.3f} {par:10.3f} {par / n:12.3f}  {ratio} {iso:10.3f}"
              f"   {mean:24.3f} {std:6.3f}")
        prev = par / n
    finish(output, parts, all_frames, args.keep_parts, start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
