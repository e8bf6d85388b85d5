#!/usr/bin/env python
"""A water molecule above a periodic Li(100) slab: local (ρ⊗ρ) against
multi-scale (ρ⊗V) models of the binding energy and of the water's induced
dipole.

The data (``examples/data/li_slab_water_gfn2.xyz``, GFN2-xTB through tblite,
see ``examples/data/README.md``) are 36 height scans of a rigid water above a
rigid 36-atom Li slab in a 3-D periodic cell with 45 Å of vacuum on each side.
Both models learn on the features of the whole minus those of the slab and of
the water computed alone (``fragments="monomer_index"``), so they are exactly
zero when the water is far away. With a 4 Å cut-off the local model sees the
slab only within 4 Å of the water's atoms; ρ⊗V sees the potential of every
atom of the periodic slab (the periodic path of ``PotentialExpansion``).

What it prints: the test RMSE and RMSE% of the binding energy (test set: the
scans of every fourth orientation, unseen in training), overall and beyond
the cut-off, and a learning curve of the induced dipole Δμ (the water's
partial-charge dipole minus its value at h = 10 Å in the same scan: zero at
dissociation, as the fragment models are), fitted covariantly on λ = 1
equivariants. It writes ``water_on_lithium.png`` (binding curves of test
scans, and the dipole learning curves) and ``water_on_lithium.csv``.

Run ``python examples/water_on_lithium.py [--quick] [--output DIR]``.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import ase.io
import numpy as np

import mslode

DATA = Path(__file__).resolve().parent / "data" / "li_slab_water_gfn2.xyz"
#: The paper's cut-off and width; a modest basis (full mode).
HYPERS = dict(cutoff=4.0, gaussian_width=0.3, max_radial=4, max_angular=3)
QUICK_HYPERS = dict(cutoff=4.0, gaussian_width=0.3, max_radial=3, max_angular=2)
#: Training sizes of the induced-dipole learning curve (full mode).
SIZES = (40, 120, 360)
QUICK_SIZES = (12, 24, 48)


def read(quick: bool) -> list:
    frames = ase.io.read(str(DATA), index=":")
    if quick:  # five random orientations at one site: 4, 5, 6 to train, 3 and 7 to test
        frames = [f for f in frames if f.info["site"] == "top" and 3 <= f.info["orientation"] <= 7]
    return frames


def induced_dipoles(frames: list) -> np.ndarray:
    """Δμ: the water's dipole minus that of the farthest point of its scan (h = 10 Å)."""
    dipoles = np.array([f.info["water_dipole"] for f in frames])
    scans = [(f.info["orientation"], f.info["site"]) for f in frames]
    heights = np.array([f.info["height"] for f in frames])
    far = {}
    for k, scan in enumerate(scans):
        if scan not in far or heights[k] > heights[far[scan]]:
            far[scan] = k
    return dipoles - dipoles[[far[scan] for scan in scans]]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small subset and basis (a test)")
    parser.add_argument("--output", default=".", help="directory of the PNG and the CSV")
    args = parser.parse_args(argv)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()

    frames = read(args.quick)
    hypers = QUICK_HYPERS if args.quick else HYPERS
    rho = mslode.DensityExpansion(**hypers)
    V = mslode.PotentialExpansion(**hypers)
    test = np.array([f.info["orientation"] % 4 == 3 for f in frames])
    train_frames = [f for f, t in zip(frames, test) if not t]
    test_frames = [f for f, t in zip(frames, test) if t]
    energy = np.array([f.info["binding_energy"] for f in frames])
    height = np.array([f.info["height"] for f in frames])
    contact = np.array([f.info["closest_contact"] for f in frames])
    scan = np.array([f"{f.info['orientation']}-{f.info['site']}" for f in frames])
    held_out = sorted({int(f.info["orientation"]) for f in test_frames})
    print(f"{len(frames)} frames: {len(train_frames)} to train, {len(test_frames)} to test "
          f"(orientations {', '.join(map(str, held_out))}); r_c = {hypers['cutoff']} Å, σ = {hypers['gaussian_width']} Å, "
          f"n = {hypers['max_radial']}, l = {hypers['max_angular']}")

    # -- binding energies ----------------------------------------------------------------------
    rows, predictions = [], {}
    beyond = contact[test] > hypers["cutoff"]
    print(f"\nbinding energy, test set ({int(beyond.sum())} of {int(test.sum())} frames with the water "
          f"beyond r_c of every Li)")
    print(f"{'features':10s} {'RMSE/meV':>9s} {'RMSE%':>7s} {'beyond r_c/meV':>15s}")
    for name, calculator in (("rho-rho", mslode.Invariants(rho, rho)), ("rho-V", mslode.Invariants(rho, V))):
        model = mslode.Ridge([calculator], fragments="monomer_index", cv=3)
        model.fit(train_frames, energy[~test], groups=scan[~test])
        predicted = model.predict(test_frames)
        predictions[name] = predicted
        error = 1000 * mslode.rmse(energy[test], predicted)
        percent = mslode.rmse_percent(energy[test], predicted)
        far = 1000 * mslode.rmse(energy[test][beyond], predicted[beyond]) if beyond.any() else float("nan")
        rows.append(dict(target="binding_energy", features=name, train_size=len(train_frames), rmse=error / 1000,
                         rmse_percent=percent))
        print(f"{name:10s} {error:9.2f} {percent:7.2f} {far:15.2f}")
    ratio = mslode.rmse(energy[test], predictions["rho-rho"]) / mslode.rmse(energy[test], predictions["rho-V"])
    print(f"rho-V / rho-rho error ratio: 1/{ratio:.1f}")

    # -- induced dipole: learning curves ---------------------------------------------------------
    dipole = induced_dipoles(frames)
    sizes = [s for s in (QUICK_SIZES if args.quick else SIZES) if s <= len(train_frames)]
    curves = []
    print(f"\ninduced dipole Δμ of the water (λ = 1 equivariants), test RMSE% against training size")
    for name, first, second in (("rho-rho", rho, rho), ("rho-V", rho, V)):
        model = mslode.Ridge([mslode.Equivariants(first, second, lambda_=1)], fragments="monomer_index", cv=3)
        curve = mslode.learning_curve(model, train_frames, dipole[~test], train_sizes=sizes, test_frames=test_frames,
                                      y_test=dipole[test], label=name)
        curves.append(curve)
        for n, error, percent in zip(curve.train_sizes, curve.mean(), curve.mean(percent=True)):
            rows.append(dict(target="induced_dipole", features=name, train_size=int(n), rmse=error, rmse_percent=percent))
        print(f"{name:10s} " + "  ".join(f"{int(n)}: {p:6.2f} %" for n, p in zip(curve.train_sizes, curve.mean(percent=True))))

    with open(output / "water_on_lithium.csv", "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=["target", "features", "train_size", "rmse", "rmse_percent"])
        writer.writeheader()
        writer.writerows(rows)
    figure = _figure(height[test], energy[test], predictions, scan[test], curves)
    figure.savefig(output / "water_on_lithium.png", dpi=110, bbox_inches="tight")
    winner = "rho-V" if ratio > 1 else "rho-rho"
    print(f"\n{winner} predicts the binding energy better ({ratio:.1f}x lower RMSE for rho-V); wrote "
          f"{output / 'water_on_lithium.png'} and .csv in {time.perf_counter() - start:.0f} s")
    return 0


def _figure(height, reference, predictions, scans, curves):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 4))
    left, right = figure.subplots(1, 2)
    shown = sorted(set(scans))[:3]
    colours = {"rho-rho": "tab:blue", "rho-V": "tab:red"}
    for k, name in enumerate(shown):
        rows = np.flatnonzero(scans == name)
        order = rows[np.argsort(height[rows])]
        left.plot(height[order], 1000 * reference[order], "ko", ms=3, label="GFN2-xTB" if k == 0 else None)
        for model, values in predictions.items():
            left.plot(height[order], 1000 * values[order], "-", color=colours[model], label=model if k == 0 else None)
    left.axhline(0.0, color="0.7", lw=0.8)
    left.set_xlabel("height of O above the top Li layer / Å")
    left.set_ylabel("binding energy / meV")
    left.set_title(f"test scans {', '.join(shown)}")
    left.legend()
    for curve in curves:
        right.loglog(curve.train_sizes, curve.mean(percent=True), "o-", color=colours[curve.label], label=curve.label)
    right.set_xlabel("training structures")
    right.set_ylabel("induced dipole: test RMSE %")
    right.legend()
    return figure


if __name__ == "__main__":
    sys.exit(main())
