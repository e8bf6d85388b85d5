#!/usr/bin/env python
"""Reference data set: rigid H2O–CO2 dimers at GFN2-xTB (tblite).

What is computed
----------------
* Monomers are rigid and NOT relaxed at GFN2-xTB: fixed experimental-like
  geometries are used,
    - H2O: O–H = 0.9572 Å, H–O–H = 104.52°;
    - CO2: C–O = 1.1600 Å, linear.
  Each monomer is placed with its centre of mass (COM, ASE standard masses)
  at the origin in a reference frame (water in the xz plane with its C2 axis
  along +z, O on the +z side; CO2 along x).
* 33 relative orientations, numbered 0..32:
    - orientation 0 is the planar C2v "T-shaped" arrangement (water O
      pointing at the C atom, CO2 axis perpendicular to the water C2 axis and
      lying in the water plane, H atoms away from CO2), close to the known
      minimum of the complex;
    - orientations 1..32 rotate each monomer about its own COM by a uniformly
      distributed random rotation (Shoemake's unit-quaternion method) drawn
      from Python's ``random.Random(SEED)`` (Mersenne Twister, SEED = 20240,
      reproducible across Python versions); for each orientation the water
      rotation is drawn first, then the CO2 rotation.
  The COM of H2O stays at the origin; the COM of CO2 is at (0, 0, R).
* Distance scan of R, the COM–COM distance, for each orientation:
    - "contact" R0 is defined precisely as the smallest R such that every
      intermolecular atom pair (i in H2O, j in CO2) satisfies
      r_ij >= 0.75 * (r_vdW,i + r_vdW,j), with Bondi van der Waals radii
      H 1.20, C 1.70, O 1.52 Å.  For rigid monomers translated along z it is
      computed exactly: with d = x_j - x_i at R = 0,
      R0 = max over pairs of ( -d_z + sqrt(s_ij^2 - d_x^2 - d_y^2) ),
      s_ij = 0.75 (r_vdW,i + r_vdW,j), over the pairs where the root is real.
      At R0 the closest pair (relative to its s_ij) touches s_ij exactly.
    - the scan is R0, then every point of the fixed grid
      {0.25 Å steps up to 6.0 Å} ∪ {6.5, 7.0, ..., 15.0 Å} that lies more
      than 0.1 Å above R0.  Because the grid is fixed, every orientation
      ends at exactly 15.0 Å (28–34 points per orientation here).
* GFN2-xTB single points through the tblite Python API
  (``tblite.interface.Calculator``), SCC accuracy 0.01 (tighter than the
  default 1.0, so that binding energies of ~1e-4 eV at 15 Å are well
  converged), default electronic temperature, neutral, closed shell, no
  solvation.  tblite works in atomic units: positions are passed in Bohr,
  the energy comes back in Hartree and the dipole in e·Bohr; they are
  converted with ``ase.units`` (Bohr, Hartree).
* E_bind = E_dimer - E_H2O - E_CO2 (eV), with the two rigid monomer energies
  computed once each (they do not depend on the orientation).

Output
------
``h2o_co2_gfn2.xyz`` next to this file (extxyz, ``ase.io.write``); atoms in
the order O H H (water) then C O O (CO2).  Per frame ``info``: ``energy``
(eV, total dimer energy), ``binding_energy`` (eV), ``dipole`` (3 floats,
e·Å, dimer dipole; the dimer is neutral so it does not depend on the
origin), ``orientation`` (0..32), ``com_distance`` (Å), ``closest_contact``
(Å, shortest intermolecular atom–atom distance), ``method``, ``code``,
``units``; per atom ``monomer_index`` (0 water, 1 CO2).  Note that ASE ≥ 3.23
moves ``energy`` and ``dipole`` into a SinglePointCalculator on reading:
use ``atoms.get_potential_energy()`` / ``atoms.calc.results["dipole"]``.

Checkpoints: each finished orientation is written (atomically) to
``<output>.parts/orientation_XX.xyz``; a rerun skips the orientations whose
part file is complete and matches the geometry, and the parts directory is
removed once the final file is written (``--keep-parts`` keeps it).

Usage::

    OMP_NUM_THREADS=1 python examples/data/make_h2o_co2.py           # full set
    OMP_NUM_THREADS=1 python examples/data/make_h2o_co2.py --quick   # 2 orientations,
                                                                      # written to a temp dir
"""

from __future__ import annotations

import argparse
import importlib.metadata
import math
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

# keep the xTB library single-threaded unless asked otherwise
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import ase  # noqa: E402
import ase.io  # noqa: E402
from ase.units import Bohr, Hartree  # noqa: E402
from tblite.interface import Calculator  # noqa: E402

HERE = Path(__file__).resolve().parent
DEFAULT_OUTPUT = HERE / "h2o_co2_gfn2.xyz"

SEED = 20240
N_ORIENTATIONS = 33
N_QUICK = 2

R_OH = 0.9572  # Å
ANGLE_HOH = 104.52  # degrees
R_CO = 1.1600  # Å

#: Bondi van der Waals radii (Å)
VDW_RADII = {"H": 1.20, "C": 1.70, "O": 1.52}
CONTACT_SCALE = 0.75

R_MAX = 15.0
R_SWITCH = 6.0
FINE_STEP = 0.25
COARSE_STEP = 0.5
MIN_GAP = 0.1  # grid points closer than this to R0 are skipped

SCC_ACCURACY = 0.01
METHOD = "GFN2-xTB"
UNITS = "eV, Angstrom, e*Angstrom"
INFO_KEYS = ("energy", "binding_energy", "dipole", "orientation", "com_distance",
             "closest_contact", "method", "code", "units")


# -- geometry --------------------------------------------------------------

def _centered(atoms: ase.Atoms) -> ase.Atoms:
    atoms.positions -= atoms.get_center_of_mass()
    return atoms


def water() -> ase.Atoms:
    """Rigid water in the xz plane, C2 axis along +z, O on the +z side, COM at 0."""
    half = math.radians(ANGLE_HOH) / 2
    pos = [[0.0, 0.0, 0.0],
           [+R_OH * math.sin(half), 0.0, -R_OH * math.cos(half)],
           [-R_OH * math.sin(half), 0.0, -R_OH * math.cos(half)]]
    return _centered(ase.Atoms("OHH", positions=pos))


def co2() -> ase.Atoms:
    """Rigid linear CO2 along x, C at the COM (origin)."""
    pos = [[0.0, 0.0, 0.0], [+R_CO, 0.0, 0.0], [-R_CO, 0.0, 0.0]]
    return _centered(ase.Atoms("COO", positions=pos))


def _random_rotation(rng: random.Random) -> np.ndarray:
    """Uniform random rotation matrix (Shoemake 1992, unit quaternion)."""
    u1, u2, u3 = rng.random(), rng.random(), rng.random()
    a, b = math.sqrt(1 - u1), math.sqrt(u1)
    x, y = a * math.sin(2 * math.pi * u2), a * math.cos(2 * math.pi * u2)
    z, w = b * math.sin(2 * math.pi * u3), b * math.cos(2 * math.pi * u3)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def orientations(n: int = N_ORIENTATIONS) -> list:
    """(rotation of H2O, rotation of CO2) for orientations 0..n-1."""
    result = [(np.eye(3), np.eye(3))]  # 0: planar C2v T-shape
    rng = random.Random(SEED)
    while len(result) < n:
        r_water = _random_rotation(rng)
        r_co2 = _random_rotation(rng)
        result.append((r_water, r_co2))
    return result[:n]


def contact_distance(m0: ase.Atoms, m1: ase.Atoms, scale: float = CONTACT_SCALE, radii: dict = VDW_RADII) -> float:
    """Smallest R (m1 moved by R along z) with r_ij >= scale (r_vdW,i + r_vdW,j)
    for every intermolecular pair."""
    s = scale * np.array([[radii[a] + radii[b] for b in m1.get_chemical_symbols()]
                          for a in m0.get_chemical_symbols()])
    d = m1.positions[None, :, :] - m0.positions[:, None, :]  # (i of m0, j of m1, xyz) at R = 0
    disc = s ** 2 - d[..., 0] ** 2 - d[..., 1] ** 2
    ok = disc > 0
    if not ok.any():  # cannot happen for these molecules (a heavy atom sits near each COM)
        raise RuntimeError("no intermolecular pair can reach contact along z")
    return float(np.max(-d[..., 2][ok] + np.sqrt(disc[ok])))


def scan_distances(r0: float) -> list:
    fine = [FINE_STEP * k for k in range(1, int(round(R_SWITCH / FINE_STEP)) + 1)]
    coarse = [R_SWITCH + COARSE_STEP * k for k in range(1, int(round((R_MAX - R_SWITCH) / COARSE_STEP)) + 1)]
    return [r0] + [r for r in fine + coarse if r > r0 + MIN_GAP]


def dimer(m0: ase.Atoms, m1: ase.Atoms, r: float) -> ase.Atoms:
    """m0 and m1 moved by r along z, with the per-atom array monomer_index."""
    moved = m1.copy()
    moved.positions += [0.0, 0.0, r]
    atoms = m0 + moved
    atoms.new_array("monomer_index", np.array([0] * len(m0) + [1] * len(m1), dtype=int))
    return atoms


def closest_contact(atoms: ase.Atoms) -> float:
    idx = atoms.arrays["monomer_index"]
    a, b = atoms.positions[idx == 0], atoms.positions[idx == 1]
    return float(np.min(np.linalg.norm(a[:, None, :] - b[None, :, :], axis=-1)))


# -- GFN2-xTB ---------------------------------------------------------------

def gfn2(atoms: ase.Atoms):
    """Total energy (eV) and dipole (e·Å) of a neutral closed-shell molecule."""
    calc = Calculator(METHOD, atoms.numbers, atoms.positions / Bohr)
    calc.set("verbosity", 0)
    calc.set("accuracy", SCC_ACCURACY)
    res = calc.singlepoint()
    return float(res.get("energy")) * Hartree, np.asarray(res.get("dipole"), dtype=float) * Bohr


# -- checkpoints ----------------------------------------------------------

def _part_is_valid(path: Path, expected: list) -> bool:
    try:
        frames = ase.io.read(path, index=":", format="extxyz")
    except Exception:
        return False
    if len(frames) != len(expected):
        return False
    for f, e in zip(frames, expected):
        if f.get_chemical_symbols() != e.get_chemical_symbols():
            return False
        if not np.allclose(f.positions, e.positions, atol=1e-6):
            return False
    return True


def _write_atomic(path: Path, frames: list) -> None:
    tmp = path.with_name(path.name + ".tmp")
    ase.io.write(tmp, frames, format="extxyz")
    os.replace(tmp, path)


def output_paths(output, quick: bool, default: Path) -> tuple:
    """The output file (a temporary one for --quick by default) and its checkpoint folder."""
    if output is None:
        output = Path(tempfile.gettempdir()) / (default.stem + "_quick.xyz") if quick else default
    parts = output.with_name(output.name + ".parts")
    parts.mkdir(parents=True, exist_ok=True)
    return output, parts


def read_part(part: Path, info_keys: tuple, calculator_keys: tuple = ()) -> list:
    """A checkpoint's frames with their info as a fresh run writes it: ASE
    moves energy (and dipole) into a calculator on reading, so put them back,
    in the fresh run's key order (the output stays byte-identical)."""
    frames = ase.io.read(part, index=":", format="extxyz")
    for f in frames:
        info = dict(f.info)
        info["energy"] = f.get_potential_energy()
        for key in calculator_keys:
            info[key] = np.asarray(f.calc.results[key], dtype=float)
        f.calc = None
        f.info = {key: info[key] for key in info_keys}
    return frames


def finish(output: Path, parts: Path, frames: list, keep_parts: bool, start: float) -> None:
    _write_atomic(output, frames)
    if not keep_parts:
        shutil.rmtree(parts)
    print(f"wrote {len(frames)} frames to {output} "
          f"({output.stat().st_size / 1024:.0f} KiB) in {time.perf_counter() - start:.1f} s", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"only {N_QUICK} orientations, written to a temporary directory by default")
    parser.add_argument("--output", type=Path, default=None,
                        help=f"output extxyz file (default {DEFAULT_OUTPUT.name} next to this script)")
    parser.add_argument("--keep-parts", action="store_true", help="keep the per-orientation checkpoint files")
    args = parser.parse_args(argv)

    n = N_QUICK if args.quick else N_ORIENTATIONS
    output, parts = output_paths(args.output, args.quick, DEFAULT_OUTPUT)

    version = importlib.metadata.version("tblite")
    code = f"tblite {version}"
    start = time.perf_counter()

    w0, c0 = water(), co2()
    e_water, _ = gfn2(w0)
    e_co2, _ = gfn2(c0)
    print(f"{code}, {METHOD}: E(H2O) = {e_water:.6f} eV, E(CO2) = {e_co2:.6f} eV", flush=True)

    all_frames = []
    for k, (rot_w, rot_c) in enumerate(orientations(n)):
        w, c = w0.copy(), c0.copy()
        w.positions = w.positions @ rot_w.T
        c.positions = c.positions @ rot_c.T
        r0 = contact_distance(w, c)
        geometries = [dimer(w, c, r) for r in scan_distances(r0)]
        part = parts / f"orientation_{k:02d}.xyz"
        if part.exists() and _part_is_valid(part, geometries):
            frames = read_part(part, INFO_KEYS, calculator_keys=("dipole",))
            print(f"orientation {k:2d}: {len(frames)} points, done before (checkpoint)", flush=True)
        else:
            t0 = time.perf_counter()
            frames = []
            for atoms, r in zip(geometries, scan_distances(r0)):
                energy, dipole = gfn2(atoms)
                atoms.info.update({
                    "energy": energy,
                    "binding_energy": energy - e_water - e_co2,
                    "dipole": dipole,
                    "orientation": k,
                    "com_distance": float(r),
                    "closest_contact": closest_contact(atoms),
                    "method": METHOD,
                    "code": code,
                    "units": UNITS,
                })
                frames.append(atoms)
            _write_atomic(part, frames)
            eb = [f.info["binding_energy"] for f in frames]
            i = int(np.argmin(eb))
            print(f"orientation {k:2d}: {len(frames)} points, R0 = {r0:.3f} Å, "
                  f"min E_bind = {eb[i]:+.4f} eV at R = {frames[i].info['com_distance']:.2f} Å, "
                  f"E_bind(15 Å) = {eb[-1]:+.2e} eV, {time.perf_counter() - t0:.1f} s", flush=True)
        all_frames.extend(frames)

    finish(output, parts, all_frames, args.keep_parts, start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
