#!/usr/bin/env python
"""Reference data set: a rigid water molecule above a periodic bcc Li(100) slab at GFN2-xTB (tblite).

What is computed
----------------
* Slab: bcc Li, a = 3.51 Å, (100) surface, ``ase.build.bcc100("Li",
  size=(3, 3, 4), a=3.51, vacuum=45.0, orthogonal=True)``: 4 layers of 3x3
  surface cells (9 atoms per layer, 36 Li atoms), layer spacing a/2 =
  1.755 Å, slab thickness 5.265 Å.  The cell is orthorhombic, 10.53 x 10.53 x
  95.265 Å (45 Å of vacuum on each side of the slab, i.e. 90 Å between the
  slab and its periodic image along z), periodic in all three directions
  (``pbc=True``; the vacuum separates the slabs).  The lateral periodic
  images of the water are 10.53 Å apart.  The slab is rigid (ideal bulk
  positions, not relaxed).  z_top is the z coordinate of the top Li layer.
* Water: the rigid molecule of make_h2o_co2.py (``water()``: O–H 0.9572 Å,
  H–O–H 104.52°, not relaxed), rotated about its centre of mass (COM), then
  translated so that its O atom sits at (x_site, y_site, z_top + h).
* 12 orientations, numbered 0..11, the same at every site:
    - 0: "O down": C2 axis along z, O towards the slab, H atoms pointing up
      (``water()`` rotated by 180° about x);
    - 1: "H down": C2 axis along z, both H atoms towards the slab
      (``water()`` as it is);
    - 2: "flat": molecular plane parallel to the surface (``water()``
      rotated by 90° about x);
    - 3..11: uniformly distributed random rotations (Shoemake's method,
      ``_random_rotation`` of make_h2o_co2.py) drawn from Python's
      ``random.Random(SEED)``, SEED = 20242.
* 3 lateral sites of the O atom, relative to the top-layer Li atom closest
  (in x, y) to the centre of the cell, (x0, y0): "top" (x0, y0), "bridge"
  (x0 + a/2, y0, midway between two top-layer neighbours) and "hollow"
  (x0 + a/2, y0 + a/2, centre of four top-layer atoms, above a
  second-layer atom).
* Height scan, h = z(O) - z_top:
    - "contact" h0 is the smallest h such that every water–Li pair
      (minimum image in x, y) satisfies r_ij >= 0.6 (r_vdW,i + r_vdW,j), with
      Bondi radii H 1.20, O 1.52, Li 1.82 Å (so O–Li >= 2.00 Å and H–Li >=
      1.81 Å).  It is exact for the rigid water moved along z (same
      construction as ``contact_distance`` in make_h2o_co2.py, applied to the
      top two Li layers and their lateral images);
    - the scan starts at h_start = max(h0, 1.8 Å): at the bridge and hollow
      sites an O-down water fits between the top-layer atoms, and h0 alone
      would put the O atom level with or below the top layer;
    - the scan is h_start, then every point of the fixed grid
      {2.00, 2.25, ..., 4.00} ∪ {4.5, 5.0, 5.5, 6.0, 7.0, 8.0, 10.0} Å that
      lies more than 0.1 Å above h_start, so every scan ends at h = 10 Å (O 10 Å
      above the top layer; the closest water–Li contact is then >= 9.4 Å,
      well beyond a 4 Å cut-off).
  36 scans (12 orientations x 3 sites) of 13–17 points each, 583 frames.
* GFN2-xTB single points through the tblite Python API
  (``tblite.interface.Calculator`` with ``lattice=`` the cell in Bohr and
  ``periodic=`` [True, True, True]), SCC accuracy 0.01, electronic
  temperature kT = 0.0095 Ha (3000 K; Fermi smearing), neutral, no
  solvation, default mixer (Broyden, damping 0.4, at most 250 iterations).
  If a single point does not converge with these, it is repeated once with
  mixer damping 0.1 and at most 1000 iterations.  If that fails too at
  one of the first two heights of a scan (and no lower point of that scan
  has converged), the point is dropped and the scan starts at the next
  height (this happens for a few near-contact geometries with short H–Li
  or O–Li distances, e.g. orientation 7 at the bridge site, h = 1.8 Å);
  anywhere else the script stops with an error.  No unconverged frame is
  ever written.  The finite electronic temperature is needed for the metallic
  slab: at the default 300 K the SCC with water did not converge in 250
  iterations for 3x3x5 and 4x4x5 slabs (tested while choosing the
  settings), and tblite samples the Brillouin zone at the Gamma point only,
  where the bare 3x3x4 slab has a four-fold degenerate level at the Fermi
  level holding 6 of its 8 electrons (the next levels lie 0.7 eV below and
  1.3 eV above); kT = 0.26 eV smears the occupations of that level.  The
  3x3 lateral supercell is what stands in for k-point sampling (there is no
  k-point sampling at all), so the slab is a small-cluster-like model of a
  metal surface rather than a converged one.  ``energy`` is the (Mermin
  free) energy tblite reports at that temperature.  Positions are passed in
  Bohr; the energy comes back in Hartree (converted with ``ase.units``).
* E_bind = E(slab + water) - E(slab) - E(water) (eV), with E(slab) the bare
  slab in the same cell (computed once) and E(water) the rigid water alone
  in the SAME periodic cell, at the same orientation (computed once per
  orientation; it includes the interaction of the water with its own
  lateral images, so that this interaction cancels to first order).  The
  slab and the water alone are computed with the same settings as the
  frames.  E(slab) = -266.191988 eV; E(water, same cell) = -137.9613 to
  -137.9779 eV depending on the orientation (the isolated, non-periodic
  water is -137.971780 eV).

Caveat: the far tail does not go to zero.  E_bind crosses zero near h = 5–7
Å and rises to +0.015 ... +0.024 eV at h = 10 Å (the same at all three
sites to 1e-4 eV, but different for each orientation), although the water
charge there is < 1e-6 e.  This is a property of tblite's 3D-periodic
GFN2-xTB for this cell, not of a real water–metal interaction: the bare
slab energy itself drifts with the vacuum (-264.63 eV at c = 25 Å, -266.19
eV at c = 95 Å, -266.52 eV at c = 165 Å) and so does E_bind at fixed h
(H-down water at h = 8 Å: +0.10, +0.004, -0.018 eV in those three cells).  The 45 Å
vacuum is a compromise: E_bind(h = 8 Å) is close to zero, and the tail
stays within +0.025 eV.  Subtract the h = 10 Å value of each scan if a
tail that vanishes is needed.

Output
------
``li_slab_water_gfn2.xyz`` next to this file (extxyz, ``ase.io.write``);
atoms in the order: the 36 Li atoms of the slab (ase.build order, bottom
layer first), then the water O H H (last three atoms).  The cell and
``pbc`` = T T T are written with every frame.  Per frame ``info``:
``energy`` (eV, total energy of slab + water), ``binding_energy`` (eV),
``water_dipole`` (3 floats, e·Å: sum over the three water atoms of q_i (r_i
- r_COM,water) with the GFN2-xTB atomic partial charges q_i returned by
tblite (``charges``) and the water COM; only the partial-charge part, the
GFN2 atomic dipole moments are not included; it depends on the origin only
through the net water charge, hence the COM as origin), ``water_charge``
(e, sum of the partial charges on the water), ``height`` (Å, h), ``site``
("top", "bridge", "hollow"), ``orientation`` (0..11), ``closest_contact`` (Å,
shortest water–Li distance, minimum image), ``method``, ``code``, ``units``;
per atom ``monomer_index`` (0 for the Li atoms, 1 for the water atoms)
and ``tags`` (kept from ``ase.build``: the Li layer, 1 = top ... 4 =
bottom; 0 for the water atoms).
ASE ≥ 3.23 moves ``energy`` into a SinglePointCalculator on reading: use
``atoms.get_potential_energy()``.

Checkpoints: each finished scan is written (atomically) to
``<output>.parts/scan_OO_SITE.xyz`` (OO the orientation); a rerun skips the
scans whose part file is complete and matches the geometry, and the parts
directory is removed once the final file is written (``--keep-parts`` keeps
it).

Usage::

    OMP_NUM_THREADS=1 python examples/data/make_li_slab_water.py           # full set
    OMP_NUM_THREADS=1 python examples/data/make_li_slab_water.py --quick   # orientation 0 at the
                                                                            # top site, to a temp dir
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
from ase.build import bcc100  # noqa: E402
from ase.units import Bohr, Hartree  # noqa: E402
from tblite.exceptions import TBLiteRuntimeError  # noqa: E402
from tblite.interface import Calculator  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_h2o_co2 import (  # noqa: E402
    METHOD, SCC_ACCURACY, VDW_RADII as _VDW_H2O_CO2, _part_is_valid, _random_rotation, _write_atomic, finish,
    output_paths, read_part, water,
)

DEFAULT_OUTPUT = HERE / "li_slab_water_gfn2.xyz"

SEED = 20242
N_ORIENTATIONS = 12
SITES = ("top", "bridge", "hollow")
QUICK = ((0, "top"),)

A_LI = 3.51  # Å
SLAB_SIZE = (3, 3, 4)
VACUUM = 45.0  # Å on each side of the slab

#: Bondi van der Waals radii (Å): those of make_h2o_co2.py plus Li
VDW_RADII = {**_VDW_H2O_CO2, "Li": 1.82}
CONTACT_SCALE = 0.6
H_MIN = 1.8  # Å, lowest start height

H_FINE = [2.0 + 0.25 * k for k in range(9)]  # 2.00 .. 4.00 Å
H_COARSE = [4.5, 5.0, 5.5, 6.0, 7.0, 8.0, 10.0]
MIN_GAP = 0.1  # grid points closer than this to the start are skipped

TEMPERATURE = 0.0095  # Hartree, kT (3000 K)
RETRY_DAMPING, RETRY_MAX_ITER = 0.1, 1000
MAX_DROPPED = 2  # unconverged points that may be dropped at the start of a scan

UNITS = "eV, Angstrom, e, e*Angstrom"
INFO_KEYS = ("energy", "binding_energy", "water_dipole", "water_charge", "height", "site", "orientation",
             "closest_contact", "method", "code", "units")


# -- geometry --------------------------------------------------------------

def slab() -> ase.Atoms:
    atoms = bcc100("Li", size=SLAB_SIZE, a=A_LI, vacuum=VACUUM, orthogonal=True)
    atoms.pbc = True
    atoms.info.clear()  # ase.build's adsorbate_info is not needed (and not extxyz-writable)
    return atoms


def _rotation_x(degrees: float) -> np.ndarray:
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def orientations(n: int = N_ORIENTATIONS) -> list:
    """Rotation matrices of the water for orientations 0..n-1."""
    result = [_rotation_x(180.0), np.eye(3), _rotation_x(90.0)]  # O down, H down, flat
    rng = random.Random(SEED)
    while len(result) < n:
        result.append(_random_rotation(rng))
    return result[:n]


def site_positions(s: ase.Atoms) -> dict:
    """(x, y) of the O atom for each site."""
    z = s.positions[:, 2]
    top = s.positions[np.isclose(z, z.max())]
    centre = 0.5 * (s.cell[0, :2] + s.cell[1, :2])
    x0, y0 = top[np.argmin(np.linalg.norm(top[:, :2] - centre, axis=1)), :2]
    return {"top": (x0, y0), "bridge": (x0 + A_LI / 2, y0), "hollow": (x0 + A_LI / 2, y0 + A_LI / 2)}


def placed_water(rotation: np.ndarray, xy, z: float) -> ase.Atoms:
    """The rotated rigid water with its O atom at (x, y, z)."""
    w = water()
    w.positions = w.positions @ rotation.T
    w.positions += np.array([xy[0], xy[1], z]) - w.positions[0]
    return w


def _lateral_images(s: ase.Atoms, layers: int = 2) -> np.ndarray:
    """Positions of the top `layers` Li layers and their 8 lateral neighbour images."""
    z = np.round(s.positions[:, 2], 6)
    keep = np.isin(z, np.unique(z)[-layers:])
    shifts = [i * s.cell[0] + j * s.cell[1] for i in (-1, 0, 1) for j in (-1, 0, 1)]
    return np.concatenate([s.positions[keep] + t for t in shifts])


def contact_height(s: ase.Atoms, w: ase.Atoms) -> float:
    """Smallest h (water moved along z, O at z_top + h) with r_ij >= 0.6 (r_vdW,i + r_vdW,j)
    for every water–Li pair."""
    z_top = s.positions[:, 2].max()
    li = _lateral_images(s)
    w0 = w.copy()
    w0.positions[:, 2] -= w0.positions[0, 2]  # O at z = 0
    sij = np.array([CONTACT_SCALE * (VDW_RADII["Li"] + VDW_RADII[a]) for a in w0.get_chemical_symbols()])
    d = w0.positions[:, None, :] - li[None, :, :]  # (water atom, Li, xyz) with O at z = 0
    disc = sij[:, None] ** 2 - d[..., 0] ** 2 - d[..., 1] ** 2
    ok = disc > 0
    # water atom j above Li i needs z_O + d_z >= sqrt(disc)
    return float(np.max(-d[..., 2][ok] + np.sqrt(disc[ok]))) - z_top


def heights(h0: float) -> list:
    """The scan: max(h0, H_MIN), then the fixed grid points above it."""
    start = max(h0, H_MIN)
    return [start] + [h for h in H_FINE + H_COARSE if h > start + MIN_GAP]


def system(s: ase.Atoms, w: ase.Atoms) -> ase.Atoms:
    """Slab + water (water last), with the per-atom array monomer_index."""
    atoms = s + w
    atoms.new_array("monomer_index", np.array([0] * len(s) + [1] * len(w), dtype=int))
    return atoms


def closest_contact(atoms: ase.Atoms) -> float:
    idx = atoms.arrays["monomer_index"]
    li, wat = np.flatnonzero(idx == 0), np.flatnonzero(idx == 1)
    return float(min(atoms.get_distances(i, li, mic=True).min() for i in wat))


# -- GFN2-xTB ---------------------------------------------------------------

def _singlepoint(atoms: ase.Atoms, damping=None, max_iter=None):
    calc = Calculator(METHOD, atoms.numbers, atoms.positions / Bohr,
                      lattice=np.asarray(atoms.cell) / Bohr, periodic=np.array([True, True, True]))
    calc.set("verbosity", 0)
    calc.set("accuracy", SCC_ACCURACY)
    calc.set("temperature", TEMPERATURE)
    if damping is not None:
        calc.set("mixer-damping", damping)
        calc.set("max-iter", max_iter)
    return calc.singlepoint()


def gfn2(atoms: ase.Atoms, label: str = ""):
    """Total energy (eV) and atomic partial charges (e) of a neutral periodic cell.
    Retries once with a damped mixer; raises RuntimeError if the SCC still does not converge."""
    try:
        res = _singlepoint(atoms)
    except TBLiteRuntimeError as err:
        print(f"  {label}: {err}; retrying with mixer damping {RETRY_DAMPING}, "
              f"{RETRY_MAX_ITER} iterations", flush=True)
        try:
            res = _singlepoint(atoms, RETRY_DAMPING, RETRY_MAX_ITER)
        except TBLiteRuntimeError as err2:
            raise RuntimeError(f"GFN2-xTB SCC did not converge for {label}: {err2}") from err2
    return float(res.get("energy")) * Hartree, np.asarray(res.get("charges"), dtype=float)


def water_dipole(atoms: ase.Atoms, charges: np.ndarray):
    """Partial-charge dipole of the water about its COM (e·Å) and its net charge (e)."""
    idx = atoms.arrays["monomer_index"] == 1
    w = atoms[idx]
    q = charges[idx]
    return (q[:, None] * (w.positions - w.get_center_of_mass())).sum(axis=0), float(q.sum())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="only orientation 0 at the top site, written to a temporary directory by default")
    parser.add_argument("--output", type=Path, default=None,
                        help=f"output extxyz file (default {DEFAULT_OUTPUT.name} next to this script)")
    parser.add_argument("--keep-parts", action="store_true", help="keep the per-scan checkpoint files")
    args = parser.parse_args(argv)

    scans = list(QUICK) if args.quick else [(k, site) for k in range(N_ORIENTATIONS) for site in SITES]
    output, parts = output_paths(args.output, args.quick, DEFAULT_OUTPUT)

    version = importlib.metadata.version("tblite")
    code = f"tblite {version}"
    start = time.perf_counter()

    s = slab()
    z_top = s.positions[:, 2].max()
    sites = site_positions(s)
    rotations = orientations()
    e_slab = gfn2(s, "slab")[0]
    print(f"{code}, {METHOD}, kT = {TEMPERATURE} Ha: E(slab, {len(s)} Li) = {e_slab:.6f} eV", flush=True)
    e_water = {}

    all_frames = []
    for k, site in scans:
        if k not in e_water:
            w = placed_water(rotations[k], sites["top"], z_top + 0.5 * (s.cell[2, 2] - z_top))
            w.cell, w.pbc = s.cell, True
            e_water[k] = gfn2(w, f"water {k}")[0]
            print(f"orientation {k:2d}: E(water, same cell) = {e_water[k]:.6f} eV", flush=True)
        h0 = contact_height(s, placed_water(rotations[k], sites[site], 0.0))
        hs = heights(h0)
        geometries = [system(s, placed_water(rotations[k], sites[site], z_top + h)) for h in hs]
        part = parts / f"scan_{k:02d}_{site}.xyz"
        if part.exists() and any(_part_is_valid(part, geometries[j:]) for j in range(MAX_DROPPED + 1)):
            frames = read_part(part, INFO_KEYS)
            print(f"orientation {k:2d} {site:6s}: {len(frames)} points, done before (checkpoint)", flush=True)
        else:
            t0 = time.perf_counter()
            frames = []
            for j, (atoms, h) in enumerate(zip(geometries, hs)):
                try:
                    energy, charges = gfn2(atoms, f"orientation {k} {site} h = {h:.3f}")
                except RuntimeError as err:
                    if frames or j >= MAX_DROPPED:
                        raise
                    print(f"  dropped (start of the scan): {err}", flush=True)
                    continue
                dipole, q_water = water_dipole(atoms, charges)
                atoms.info.update({
                    "energy": energy,
                    "binding_energy": energy - e_slab - e_water[k],
                    "water_dipole": dipole,
                    "water_charge": q_water,
                    "height": float(h),
                    "site": site,
                    "orientation": k,
                    "closest_contact": closest_contact(atoms),
                    "method": METHOD,
                    "code": code,
                    "units": UNITS,
                })
                frames.append(atoms)
            _write_atomic(part, frames)
            eb = [f.info["binding_energy"] for f in frames]
            i = int(np.argmin(eb))
            print(f"orientation {k:2d} {site:6s}: {len(frames)} points, h0 = {h0:.3f} Å, "
                  f"E_bind(h = {frames[0].info['height']:.3f} Å) = {eb[0]:+.4f} eV, "
                  f"min {eb[i]:+.4f} eV at h = {frames[i].info['height']:.2f} Å, "
                  f"E_bind(10 Å) = {eb[-1]:+.2e} eV, {time.perf_counter() - t0:.1f} s", flush=True)
        all_frames.extend(frames)

    finish(output, parts, all_frames, args.keep_parts, start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
