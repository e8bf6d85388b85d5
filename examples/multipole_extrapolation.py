#!/usr/bin/env python
"""Multipole extrapolation of H2O–CO2 binding energies with multi-scale LODE.

A tutorial that follows Fig. 2 of Grisafi, Nigam & Ceriotti, "Multi-scale
approach for the prediction of atomic scale properties", Chem. Sci. 12, 2078
(2021), on the GFN2-xTB H2O–CO2 dimers shipped with mslode (33 rigid
orientations, centre-of-mass distance R from contact to 15 Å; see
``examples/data/README.md``).

The idea. A linear model on ρ⊗V features centred on atom i couples the
multipoles of the local density around i (the coefficients of ρ_i with
angular momentum l) with the l-th derivatives of the potential V_i of all the
other atoms at i (for a distant source, the l-th coefficient of V_i decays as
R^-(l+1) times its multipoles). Far apart, the binding energy of H2O and CO2
is dominated by the interaction of the water dipole with the CO2 quadrupole
(≈ R^-4). Which l_max a model needs to reproduce that term depends on where
its centres sit:

* centres on all atoms: every atom carries an effective charge and sees the
  potential (l = 0) of the other molecule's charges; the sum over atoms is
  point-charge electrostatics, already right at l_max = 0;
* centres on the water oxygen only: the water density around O has a dipole
  (l = 1, towards the H atoms); coupled with the field of CO2 (l = 1 of V,
  the field of its quadrupole) it gives the dipole–quadrupole energy, so
  l_max = 1 is needed;
* centres on the carbon only: CO2 is centrosymmetric, so its density around
  C has no l = 1 part at all; its quadrupole (l = 2) must meet the field
  gradient of the water dipole (l = 2 of V): l_max = 2 is needed.

The models are trained on R = 6.5–9 Å and tested on every dimer beyond 9 Å
(the same orientations, farther apart: a pure extrapolation in distance).
They are fitted on the interaction alone (``fragments="monomer_index"``:
whole dimer minus each monomer computed alone), so they are exactly zero at
dissociation. With r_c = 4 Å no two atoms of different monomers are ever
within r_c of each other here (the closest contact at R = 6.5 Å is 4.67 Å):
the local density of every centre is that of its own monomer, so a ρ⊗ρ
(SOAP) model sees nothing and predicts exactly zero; everything ρ⊗V learns
comes from the potential.

Centres on the water oxygen. ``center_species`` selects centres by species,
and both molecules contain oxygen: ``center_species=[8]`` takes the water O
*and* the two CO2 oxygens (that choice is in the table too, as "O (all
three)"). To take the water O alone, this script gives that atom a species
label of its own (``WATER_OXYGEN_LABEL``) and centres on that label.
Species are channel labels only (every atom is a unit Gaussian of the same
width, whatever its atomic number), so the only other effect of the
relabelling is that the water O sits in a density channel of its own, where
the unrelabelled model has it in the O channel. Here that channel holds the
water O and nothing else (the CO2 oxygens are beyond r_c, and the fragment
difference removes the water's own potential), so the features are the same
numbers in other columns and the model is the one a per-atom choice of
centres would give.

GFN2-xTB includes D4 dispersion, which decays as R^-6 and is not an
electrostatic multipole: ρ⊗V (p = 1) has no term with that decay and the
fit leaks it into slower-decaying ones. A second set of models adds ρ⊗V₆
(the potential of 1/r^6 "charges", ``potential_exponent=6``) to show what
the missing R^-6 term costs.

One artefact to know about: CO2's density around C has no l = 1 part, so
the l = 1 columns of the carbon-centred features hold round-off only, and
``Ridge``'s standardisation (every column scaled to unit root-mean-square)
scales that round-off up to the size of the other columns; the fit then
picks up noise, and the carbon at l_max = 1 comes out worse than at
l_max = 0 instead of equal (``standardize=False`` makes them equal).

Run (from the repository, or anywhere with mslode installed)::

    python examples/multipole_extrapolation.py              # full: under a minute on 2 idle cores
    python examples/multipole_extrapolation.py --quick      # ρ⊗V on a smaller basis, l_max ≤ 2: seconds
    python examples/multipole_extrapolation.py --output out # where the PNG and CSV go (default: .)

It prints the table of extrapolation errors and writes
``multipole_extrapolation.png`` and ``multipole_extrapolation.csv``.
"""

from __future__ import annotations

import argparse
import csv
import time
from importlib import resources
from pathlib import Path

import ase.io
import numpy as np
from threadpoolctl import threadpool_limits

import mslode

# -- hyper-parameters ------------------------------------------------------------------------------
CUTOFF = 4.0  # r_c of the local basis (Å)
GAUSSIAN_WIDTH = 0.3  # σ of the smeared atoms (Å)
MAX_RADIAL = 4  # n_max
L_MAX_VALUES = (0, 1, 2, 3)  # the l_max of each model
TRAIN_WINDOW = (6.5, 9.0)  # COM distances to train on (Å, both ends included)
TEST_BEYOND = 9.0  # test on every dimer with a COM distance above this (Å)
WATER_OXYGEN_LABEL = 100  # species label given to the water oxygen (atom 0 of every frame)
#: The centre choices: name -> center_species (None: all atoms).
CENTRES = {
    "O (water)": [WATER_OXYGEN_LABEL],
    "O (all three)": [8],
    "C": [6],
    "all atoms": None,
}
#: Orientations drawn as binding curves in the figure.
CURVES_SHOWN = (0, 16)
#: The feature sets: ρ⊗V (p = 1), and ρ⊗V concatenated with ρ⊗V₆ (p = 6).
FEATURE_SETS = ("ρ⊗V", "ρ⊗V + ρ⊗V₆")
#: --quick: ρ⊗V alone, on a smaller basis, up to l_max = 2.
QUICK = dict(max_radial=2, l_max_values=(0, 1, 2), feature_sets=("ρ⊗V",))


def read_dimers(path: str | None) -> list:
    """The H2O–CO2 dimers (the copy shipped with the package unless ``path`` is given)."""
    if path is not None:
        return ase.io.read(path, index=":")
    with resources.as_file(resources.files("mslode") / "data" / "h2o_co2_gfn2.xyz") as file:
        return ase.io.read(str(file), index=":")


def label_water_oxygen(frame):
    """A copy of a dimer whose water oxygen (atom 0) has the species label WATER_OXYGEN_LABEL."""
    frame = frame.copy()
    numbers = frame.numbers.copy()
    if numbers[0] != 8 or frame.arrays["monomer_index"][0] != 0:
        raise ValueError("atom 0 of every dimer must be the water oxygen (examples/data/README.md)")
    numbers[0] = WATER_OXYGEN_LABEL
    frame.numbers = numbers
    return frame


def features(feature_set: str, max_radial: int, l_max: int) -> list:
    """The calculators of one feature set (Ridge concatenates their columns)."""
    basis = dict(cutoff=CUTOFF, gaussian_width=GAUSSIAN_WIDTH, max_radial=max_radial, max_angular=l_max)
    rho = mslode.DensityExpansion(**basis)
    if feature_set == "ρ⊗ρ":
        return [mslode.Invariants(rho, rho)]
    V = mslode.PotentialExpansion(**basis)  # potential_exponent=1: Coulomb
    if feature_set == "ρ⊗V":
        return [mslode.Invariants(rho, V)]
    V6 = mslode.PotentialExpansion(**basis, potential_exponent=6)
    return [mslode.Invariants(rho, V), mslode.Invariants(rho, V6)]


def main(argv=None) -> int:
    """Parse the command line, then :func:`run`."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller basis and l_max ≤ 2 (for tests)")
    parser.add_argument("--output", default=".", help="directory for the PNG and the CSV (default: .)")
    parser.add_argument("--data", help="the dimers (extxyz; default: the copy shipped with mslode)")
    args = parser.parse_args(argv)
    # the linear algebra here is small: one BLAS thread is faster than several competing for the cores
    with threadpool_limits(limits=1, user_api="blas"):
        return run(args)


def run(args: argparse.Namespace) -> int:
    max_radial = QUICK["max_radial"] if args.quick else MAX_RADIAL
    l_max_values = QUICK["l_max_values"] if args.quick else L_MAX_VALUES
    feature_sets = QUICK["feature_sets"] if args.quick else FEATURE_SETS
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()

    frames = read_dimers(args.data)
    R = np.array([f.info["com_distance"] for f in frames])
    y = np.array([f.info["binding_energy"] for f in frames])  # eV
    orientation = np.array([f.info["orientation"] for f in frames])
    train = np.flatnonzero((R >= TRAIN_WINDOW[0] - 1e-6) & (R <= TRAIN_WINDOW[1] + 1e-6))
    test = np.flatnonzero(R > TEST_BEYOND + 1e-6)
    drawn = np.flatnonzero(np.isin(orientation, CURVES_SHOWN) & (R >= TRAIN_WINDOW[0] - 1e-6))  # for the figure
    drawn = drawn[np.lexsort((R[drawn], orientation[drawn]))]
    labelled = [label_water_oxygen(f) for f in frames]
    print(f"{len(frames)} H2O–CO2 dimers (GFN2-xTB), {len(np.unique(orientation))} orientations; "
          f"training on {len(train)} with R = {TRAIN_WINDOW[0]}–{TRAIN_WINDOW[1]} Å, "
          f"testing on {len(test)} with R > {TEST_BEYOND} Å")
    print(f"basis: r_c = {CUTOFF} Å, σ = {GAUSSIAN_WIDTH} Å, n_max = {max_radial}, l_max = "
          f"{', '.join(map(str, l_max_values))}")
    y_test = y[test]

    def fit_and_test(feature_set: str, centres, l_max: int):
        data = labelled if centres == [WATER_OXYGEN_LABEL] else frames
        model = mslode.Ridge(features=features(feature_set, max_radial, l_max), fragments="monomer_index",
                             center_species=centres)
        # the regulariser is chosen by cross-validation over whole orientations
        model.fit([data[i] for i in train], y[train], groups=orientation[train])
        return model, model.predict([data[i] for i in test]), model.predict([data[i] for i in drawn])

    rows = []  # one per model, for the table and the CSV
    predictions = {}  # (feature set, centres, l_max) -> predictions of the dimers drawn
    # the local reference: ρ⊗ρ sees no atom of the other monomer here, so it predicts exactly zero
    _, zero, _ = fit_and_test("ρ⊗ρ", None, max(l_max_values))
    rows.append(dict(features="ρ⊗ρ", centres="all atoms", l_max=max(l_max_values), alpha=float("nan"),
                     rmse_meV=1e3 * mslode.rmse(y_test, zero), rmse_percent=mslode.rmse_percent(y_test, zero),
                     max_abs_prediction_meV=1e3 * float(np.max(np.abs(zero)))))
    for feature_set in feature_sets:
        for l_max in l_max_values:
            for name, centres in CENTRES.items():
                model, predicted, on_curves = fit_and_test(feature_set, centres, l_max)
                predictions[feature_set, name, l_max] = on_curves
                rows.append(dict(features=feature_set, centres=name, l_max=l_max, alpha=model.alpha_,
                                 rmse_meV=1e3 * mslode.rmse(y_test, predicted),
                                 rmse_percent=mslode.rmse_percent(y_test, predicted),
                                 max_abs_prediction_meV=1e3 * float(np.max(np.abs(predicted)))))
        print(f"  {feature_set}: {len(l_max_values) * len(CENTRES)} models fitted "
              f"({time.perf_counter() - start:.0f} s so far)")

    # -- the table ---------------------------------------------------------------------------------
    print()
    print(f"Extrapolation error beyond R = {TEST_BEYOND} Å: RMSE in meV (RMSE% = 100 RMSE / std of the "
          f"test energies, {1e3 * mslode.metrics.target_std(y_test):.3f} meV)")
    first = rows[0]
    said = ("predicts exactly 0" if first["max_abs_prediction_meV"] == 0.0
            else f"|prediction| ≤ {first['max_abs_prediction_meV']:.3g} meV")
    print(f"ρ⊗ρ (SOAP), all atoms, l_max = {first['l_max']}: no atom of the other monomer within r_c, so it "
          f"{said}; RMSE {first['rmse_meV']:.3f} meV ({first['rmse_percent']:.0f} %)")
    width = 17
    for feature_set in feature_sets:
        print()
        print(f"{feature_set:<10}" + "".join(f"{name:>{width}}" for name in CENTRES))
        for l_max in l_max_values:
            cells = []
            for name in CENTRES:
                row = next(r for r in rows if (r["features"], r["centres"], r["l_max"]) == (feature_set, name, l_max))
                cells.append(f"{row['rmse_meV']:.3f} ({row['rmse_percent']:4.0f} %)")
            print(f"l_max = {l_max:<3}" + "".join(f"{cell:>{width}}" for cell in cells))

    csv_path = output / "multipole_extrapolation.csv"
    with open(csv_path, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})

    # -- the figure --------------------------------------------------------------------------------
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(12.0, 3.8), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, 1 + len(CURVES_SHOWN))
    colours = dict(zip(CENTRES, ("tab:blue", "tab:cyan", "tab:red", "tab:green")))
    ax = axes[0]
    for feature_set, style in zip(feature_sets, ("-", "--")):
        for name in CENTRES:
            values = [next(r["rmse_percent"] for r in rows if (r["features"], r["centres"], r["l_max"])
                           == (feature_set, name, l)) for l in l_max_values]
            ax.plot(l_max_values, values, style, marker="o", color=colours[name],
                    label=name if feature_set == feature_sets[0] else None)
    ax.axhline(first["rmse_percent"], color="0.5", lw=0.8, ls=":", label="ρ⊗ρ (predicts 0)")
    ax.set_yscale("log")
    ax.set_xticks(l_max_values)
    ax.set_xlabel("l_max")
    ax.set_ylabel(f"test RMSE beyond {TEST_BEYOND:g} Å (%)")
    ax.set_title(", ".join(f"{style}: {name}" for name, style in zip(feature_sets, ("solid", "dashed"))), fontsize=9)
    ax.legend(fontsize=8, title="centres", title_fontsize=8)

    shown = [("C", 0), ("C", 2), ("O (water)", 1), ("all atoms", 0)]
    for ax, which in zip(axes[1:], CURVES_SHOWN):
        on = orientation[drawn] == which  # drawn is sorted by orientation, then R
        r = R[drawn][on]
        ax.axvspan(*TRAIN_WINDOW, color="0.92", label="training window")
        ax.plot(r, 1e3 * y[drawn][on], "k.", ms=6, label="GFN2-xTB")
        for (name, l), style in zip(shown, (":", "--", "-.", "-")):
            ax.plot(r, 1e3 * predictions["ρ⊗V", name, l][on], style, color=colours[name],
                    label=f"ρ⊗V, {name}, l_max = {l}")
        ax.axhline(0.0, color="0.6", lw=0.6)
        ax.set_xlabel("COM distance R (Å)")
        ax.set_ylabel("binding energy (meV)")
        ax.set_title(f"orientation {which}", fontsize=9)
        ax.legend(fontsize=7)
    png_path = output / "multipole_extrapolation.png"
    figure.savefig(png_path, dpi=100)
    print()
    print(f"wrote {png_path} and {csv_path} ({time.perf_counter() - start:.0f} s in all)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
