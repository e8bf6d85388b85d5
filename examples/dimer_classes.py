#!/usr/bin/env python
"""Binding curves of small organic dimers: ρ⊗ρ, ρ⊗V and V⊗V compared by class.

A tutorial that follows Table I and Fig. 3 of Grisafi, Nigam & Ceriotti,
"Multi-scale approach for the prediction of atomic scale properties",
Chem. Sci. 12, 2078 (2021), on the GFN2-xTB dimers in
``examples/data/organic_dimers_gfn2.xyz``: 21 rigid binding curves of 14
points (13 from the curve's start R_start out to R_start + 3 Å, and the
dissociated limit R_start + 15 Å) between six monomers, two charged (C:
acetate, methylammonium), two polar (P: methanol, acetamide) and two apolar
(A: methane, benzene), in the classes CC CP CA PP PA AA (see
``examples/data/README.md``).

Three linear models, on a local basis of r_c = 3 Å:

* ρ⊗ρ, the SOAP power spectrum: local, it sees nothing of the other monomer
  once it is more than r_c away from every atom;
* ρ⊗V, multi-scale LODE: the local density coupled with the potential of all
  atoms, near and far;
* V⊗V, LODE: the potential coupled with itself;

and a fourth, ρ⊗V concatenated with ρ⊗V₆ (``potential_exponent=6``: the
potential of 1/r^6 "charges"), because GFN2-xTB includes D4 dispersion, which
decays as r^-6. All of them are fitted on the interaction energy alone
(``fragments="monomer_index"``: the dimer's features minus those of each
monomer computed alone), so they vanish at dissociation, and each is one
model for all six classes.

Two ways of testing them:

1. **Points held out along every curve** (the main table and the figure):
   the displacements ``TEST_DISPLACEMENTS`` of every curve are the test set,
   the other points (contact, the rest of the scan and the dissociated limit)
   the training set. Every curve, and so every pair of monomers, is seen in
   training: this measures how well each set of features can represent
   the binding curves of all classes at once, and how it interpolates between
   the training distances. The table is that of one ridge model per feature
   set, fitted on all training points; a committee of the same model
   (``mslode.Committee``, members fitted on random subsets of the training
   points) gives the error bars of the figure, its calibrated spread.
2. **Whole curves held out** (the second table): three folds, curve index
   mod 3, each model trained on 14 curves and tested on the other 7. Every
   held-out curve is a pair of monomers never seen together in training. This
   is closer to the paper's test, which holds out dimers of a much larger
   set; here each pair exists once, and the table shows that 14 curves are
   far too few for any of these models to predict a new pair.

Run (from the repository)::

    python examples/dimer_classes.py              # full: about a minute on 2 idle cores
    python examples/dimer_classes.py --quick      # smaller basis, ρ⊗ρ and ρ⊗V, points held out: seconds
    python examples/dimer_classes.py --output out # where the PNG and CSV go (default: .)

It prints the tables and writes ``dimer_classes.png`` and ``dimer_classes.csv``.
"""

from __future__ import annotations

import argparse
import csv
import time
import warnings
from pathlib import Path

import ase.io
import numpy as np
from threadpoolctl import threadpool_limits

import mslode

# -- hyper-parameters ------------------------------------------------------------------------------
CUTOFF = 3.0  # r_c of the local basis (Å)
GAUSSIAN_WIDTH = 0.3  # σ of the smeared atoms (Å)
MAX_RADIAL = 4  # n_max
MAX_ANGULAR = 4  # l_max
#: Displacements d = R − R_start (Å) held out along every curve (4 of its 14 points).
TEST_DISPLACEMENTS = (0.25, 1.0, 1.75, 2.5)
#: Committees: members fitted on random 70 % of the training points. (At least 4 members must have
#: left a point out for it to calibrate the spread: with 8 members and 70 %, about a fifth qualify.)
N_MEMBERS = 8
SUBSAMPLE = 0.7
#: Whole curves held out: curve index mod GROUPED_FOLDS.
GROUPED_FOLDS = 3
CLASSES = ("CC", "CP", "CA", "PP", "PA", "AA")
#: The curves drawn in the figure (one per class).
CURVES_SHOWN = (1, 5, 8, 12, 15, 20)
#: --quick: a smaller basis, ρ⊗ρ and ρ⊗V only, points held out only.
QUICK = dict(max_radial=2, max_angular=2, feature_sets=("ρ⊗ρ", "ρ⊗V"), grouped=False)

FEATURE_SETS = ("ρ⊗ρ", "ρ⊗V", "V⊗V", "ρ⊗V + ρ⊗V₆")
DATA = Path(__file__).resolve().parent / "data" / "organic_dimers_gfn2.xyz"


def features(feature_set: str, max_radial: int, max_angular: int) -> list:
    """The calculators of one feature set (Ridge concatenates their columns)."""
    basis = dict(cutoff=CUTOFF, gaussian_width=GAUSSIAN_WIDTH, max_radial=max_radial, max_angular=max_angular)
    rho = mslode.DensityExpansion(**basis)
    V = mslode.PotentialExpansion(**basis)  # potential_exponent=1: Coulomb
    if feature_set == "ρ⊗ρ":
        return [mslode.Invariants(rho, rho)]
    if feature_set == "ρ⊗V":
        return [mslode.Invariants(rho, V)]
    if feature_set == "V⊗V":
        return [mslode.Invariants(V, V)]
    V6 = mslode.PotentialExpansion(**basis, potential_exponent=6)
    return [mslode.Invariants(rho, V), mslode.Invariants(rho, V6)]


def class_errors(y, predicted, classes) -> dict:
    """RMSE (meV) and RMSE% of every class, and of all structures together ("all")."""
    errors = {c: (1e3 * e["rmse"], e["rmse_percent"]) for c, e in mslode.errors_by_group(y, predicted, classes).items()}
    errors["all"] = (1e3 * mslode.rmse(y, predicted), mslode.rmse_percent(y, predicted))
    return errors


def print_table(title: str, results: dict, feature_sets) -> None:
    print()
    print(title)
    columns = [*CLASSES, "all"]
    width = 17
    print(f"{'':<12}" + "".join(f"{c:>{width}}" for c in columns))
    for name in feature_sets:
        cells = [f"{results[name][c][0]:.{0 if results[name][c][0] >= 9.95 else 1}f} ({results[name][c][1]:.1f} %)"
                 for c in columns]
        print(f"{name:<12}" + "".join(f"{cell:>{width}}" for cell in cells))


def main(argv=None) -> int:
    """Parse the command line, then :func:`run`."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smaller basis, ρ⊗ρ and ρ⊗V, points held out only (for tests)")
    parser.add_argument("--output", default=".", help="directory for the PNG and the CSV (default: .)")
    parser.add_argument("--data", default=str(DATA), help="the dimers (extxyz; default: %(default)s)")
    args = parser.parse_args(argv)
    # the linear algebra here is small: one BLAS thread is faster than several competing for the cores
    with threadpool_limits(limits=1, user_api="blas"):
        return run(args)


def run(args: argparse.Namespace) -> int:
    max_radial = QUICK["max_radial"] if args.quick else MAX_RADIAL
    max_angular = QUICK["max_angular"] if args.quick else MAX_ANGULAR
    feature_sets = QUICK["feature_sets"] if args.quick else FEATURE_SETS
    grouped = QUICK["grouped"] if args.quick else True
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()

    frames = ase.io.read(args.data, index=":")
    y = np.array([f.info["binding_energy"] for f in frames])  # eV
    curve = np.array([f.info["curve"] for f in frames])
    classes = np.array([f.info["dimer_class"] for f in frames])
    displacement = np.array([f.info["displacement"] for f in frames])
    names = {c: f.info["dimer"] for c, f in zip(curve, frames)}
    test = np.isclose(displacement[:, None], np.asarray(TEST_DISPLACEMENTS)[None, :], atol=1e-6).any(axis=1)
    train = ~test
    train_frames = [f for f, t in zip(frames, train) if t]
    test_frames = [f for f, t in zip(frames, test) if t]
    print(f"{len(frames)} dimers (GFN2-xTB), {len(names)} binding curves in the classes {' '.join(CLASSES)}")
    print(f"basis: r_c = {CUTOFF} Å, σ = {GAUSSIAN_WIDTH} Å, n_max = {max_radial}, l_max = {max_angular}")
    print(f"points held out along every curve: d = {', '.join(f'{d:g}' for d in TEST_DISPLACEMENTS)} Å "
          f"({test.sum()} test, {train.sum()} training points); committees of {N_MEMBERS} members on "
          f"{SUBSAMPLE:.0%} of the training points")

    rows = []  # for the CSV

    def add_rows(protocol: str, model: str, name: str, errors: dict, **extra) -> None:
        for c in [*CLASSES, "all"]:
            rows.append(dict(test=protocol, model=model, features=name, dimer_class=c, rmse_meV=errors[c][0],
                             rmse_percent=errors[c][1], **extra))

    single, along, mean, spread, z = {}, {}, {}, {}, {}
    for name in feature_sets:
        # one ridge model on all the training points: the numbers of the table
        model = mslode.Ridge(features=features(name, max_radial, max_angular), fragments="monomer_index")
        model.fit(train_frames, y[train])
        single[name] = class_errors(y[test], model.predict(test_frames), classes[test])
        # a committee of the same model: its calibrated spread gives the error bars of the figure
        committee = mslode.Committee(mslode.Ridge(features=features(name, max_radial, max_angular),
                                                  fragments="monomer_index"),
                                     n_members=N_MEMBERS, subsample=SUBSAMPLE, random_state=0)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            committee.fit(train_frames, y[train])
        for warning in caught:
            print(f"  {name}: warning: {warning.message}")
        mean[name], spread[name] = committee.predict(frames, return_std=True)
        along[name] = class_errors(y[test], mean[name][test], classes[test])
        # how well the spread matches the errors on the test points (rms of z = 1 when it does); points where
        # every member predicts the same (ρ⊗ρ far from contact: all members say exactly 0) are left out
        has_spread = spread[name][test] > 0
        errors = (y[test] - mean[name][test])[has_spread] / spread[name][test][has_spread]
        z[name] = (float(np.sqrt(np.mean(errors**2))) if has_spread.any() else float("nan"),
                   int(np.count_nonzero(~has_spread)))
        add_rows("points held out", "ridge", name, single[name], alpha=model.alpha_, calibration_factor=float("nan"),
                 rms_z=float("nan"))
        add_rows("points held out", "committee mean", name, along[name], alpha=float("nan"),
                 calibration_factor=committee.calibration_factor_, rms_z=z[name][0])
        print(f"  {name}: ridge (α = {model.alpha_:.0e}) and committee (spread × "
              f"{committee.calibration_factor_:.3g}, calibrated on {committee.n_calibration_} points) fitted "
              f"({time.perf_counter() - start:.0f} s so far)")
    print_table("Points held out along every curve, one ridge model on all training points: test RMSE in meV "
                "(RMSE% = 100 RMSE / std of the class's test energies)", single, feature_sets)
    print_table(f"The same, mean of the committee ({N_MEMBERS} members, each on {SUBSAMPLE:.0%} of the training "
                "points)", along, feature_sets)
    print("committee: rms of (reference − mean)/spread over the test points (1 when the spread is calibrated): "
          + ", ".join(f"{name} {z[name][0]:.3g}" + (f" (without the {z[name][1]} points where its members agree "
                                                      "exactly)" if z[name][1] else "") for name in feature_sets))

    if grouped:
        fold = curve % GROUPED_FOLDS
        held_out = {}
        for name in feature_sets:
            predicted = np.zeros_like(y)
            for k in range(GROUPED_FOLDS):
                inside = fold != k
                # standardize=False: with standardised columns, a column that is all but zero on the training
                # curves (an atom pair met only in the tail of the cut-off function) is scaled up by its tiny
                # rms, and a new curve with a normal value in it gets an absurd prediction (~1e13 eV)
                model = mslode.Ridge(features=features(name, max_radial, max_angular), fragments="monomer_index",
                                     standardize=False)
                model.fit([f for f, t in zip(frames, inside) if t], y[inside], groups=curve[inside])
                predicted[~inside] = model.predict([f for f, t in zip(frames, inside) if not t])
            held_out[name] = class_errors(y, predicted, classes)
            add_rows("curves held out", "ridge", name, held_out[name], alpha=float("nan"),
                     calibration_factor=float("nan"), rms_z=float("nan"))
            print(f"  {name}: {GROUPED_FOLDS} folds fitted ({time.perf_counter() - start:.0f} s so far)")
        print_table(f"Whole curves held out ({GROUPED_FOLDS} folds, curve index mod {GROUPED_FOLDS}: each curve "
                    f"predicted by a model trained on {len(names) - len(names) // GROUPED_FOLDS} others): RMSE in meV "
                    "(RMSE%)", held_out, feature_sets)

    csv_path = output / "dimer_classes.csv"
    with open(csv_path, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})

    # -- the figure: a few curves, reference and the committees' predictions -----------------------
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    shown = [c for c in CURVES_SHOWN if c in names]
    figure = Figure(figsize=(12.0, 6.4), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(2, (len(shown) + 1) // 2).ravel()
    colours = dict(zip(FEATURE_SETS, ("tab:red", "tab:blue", "tab:green", "tab:purple")))
    offsets = dict(zip(FEATURE_SETS, (-0.045, -0.015, 0.015, 0.045)))  # Å, to keep the error bars apart
    for ax, which in zip(axes, shown):
        rows_of = np.flatnonzero((curve == which) & (displacement < 10.0))  # the scan (not the d = 15 Å point)
        rows_of = rows_of[np.argsort(displacement[rows_of])]
        d = displacement[rows_of]
        ax.plot(d, y[rows_of], "k-", lw=1.0, label="GFN2-xTB")
        ax.plot(d[test[rows_of]], y[rows_of][test[rows_of]], "ko", mfc="white", ms=6, label="test points")
        for name in feature_sets:
            # ρ⊗ρ without error bars: its members all predict 0 wherever the monomers are more than r_c apart, so
            # its spread cannot be calibrated (see the α it prints)
            error = None if name == "ρ⊗ρ" else spread[name][rows_of]
            ax.errorbar(d + offsets[name], mean[name][rows_of], yerr=error, fmt=".", ms=4, capsize=2, lw=0.8,
                        color=colours[name], label=name + (" (no error bars)" if error is None else " ± spread"))
        ax.set_title(f"{classes[rows_of[0]]}: {names[which]}", fontsize=9)
        ax.set_xlabel("d = R − R_start (Å)")
        ax.set_ylabel("binding energy (eV)")
    axes[0].legend(fontsize=7)
    figure.suptitle(f"committee means ± calibrated spread ({N_MEMBERS} members, {SUBSAMPLE:.0%} of the training "
                    "points each); open circles: the test points", fontsize=10)
    for ax in axes[len(shown):]:
        ax.set_visible(False)
    png_path = output / "dimer_classes.png"
    figure.savefig(png_path, dpi=90)
    print()
    print(f"wrote {png_path} and {csv_path} ({time.perf_counter() - start:.0f} s in all)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
