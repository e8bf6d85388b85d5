"""The mslode command: features, fits, predictions and learning curves
from extxyz files, and the demo on the data shipped with the package.

Every sub-command has ``--help``; bad input ends with exit status 2 and a
one-line message (``mslode: error: ...``), never a traceback.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from importlib import resources
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

#: Hyper-parameters of the features, with defaults that work for molecules.
HYPERS = dict(cutoff=4.0, gaussian_width=0.3, max_radial=6, max_angular=4)
FIELDS_HELP = "rho (density), V (Coulomb potential, p = 1), V6 (p = 6; any Vp, p = 1..6)"


class CommandError(Exception):
    """A problem with what the user asked for: printed as one line, exit 2."""


# -- features ---------------------------------------------------------------------------------------
def _field(name: str, hypers: dict) -> Any:
    import mslode

    if name == "rho":
        return mslode.DensityExpansion(**hypers)
    if name.startswith("V") and (name == "V" or name[1:].isdigit()):
        p = 1 if name == "V" else int(name[1:])
        if not 1 <= p <= 6:
            raise CommandError(f"potential exponent of {name!r} must be 1..6")
        return mslode.PotentialExpansion(**hypers, potential_exponent=p)
    raise CommandError(f"unknown field {name!r}: use {FIELDS_HELP}")


def make_features(specs: Sequence[str], hypers: dict, kind: str = "scalar") -> list:
    """Calculators for specs like ``rho-V`` (ρ⊗V), ``rho-rho``, ``V-V``,
    ``rho-V6``: invariants for a scalar target, λ = 1 equivariants for a
    vector, invariants and λ = 2 equivariants for a (symmetric) rank-2 tensor."""
    import mslode

    calculators = []
    for spec in specs:
        parts = spec.split("-")
        if len(parts) != 2:
            raise CommandError(f"features {spec!r}: give two fields joined by '-' (e.g. rho-V); fields: {FIELDS_HELP}")
        first, second = _field(parts[0], hypers), _field(parts[1], hypers)
        if kind != "vector":
            calculators.append(mslode.Invariants(first, second))
        if kind != "scalar":
            calculators.append(mslode.Equivariants(first, second, lambda_=1 if kind == "vector" else 2))
    return calculators


def _target(frames: list, name: str) -> tuple[np.ndarray, str]:
    """The target, checked and shaped by the models' own reader ((n,), (n, 3) or (n, 3, 3);
    9 numbers per structure are a 3×3 tensor), and its kind."""
    from mslode.models._targets import read_target

    target = read_target(frames, name)
    return target.values, target.kind


def _read(path: str) -> list:
    import ase.io

    if not Path(path).is_file():
        raise CommandError(f"{path}: no such file")
    try:
        frames = ase.io.read(path, index=":")
    except Exception as error:  # noqa: BLE001 - any reader failure is the file's problem
        raise CommandError(f"{path}: cannot read structures ({type(error).__name__}: {error})") from None
    if not frames:
        raise CommandError(f"{path}: no structures in the file")
    return frames


def _hypers(args: argparse.Namespace) -> dict:
    hypers = dict(HYPERS)
    if getattr(args, "config", None):
        try:
            import tomllib
        except ImportError:  # Python < 3.11
            raise CommandError("--config needs Python 3.11 or newer (tomllib)") from None

        try:
            with open(args.config, "rb") as file:
                config = tomllib.load(file)
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise CommandError(f"{args.config}: {error}") from None
        unknown = set(config) - set(HYPERS)
        if unknown:
            raise CommandError(f"{args.config}: unknown settings {sorted(unknown)}; known: {sorted(HYPERS)}")
        hypers.update(config)
    for name in HYPERS:
        value = getattr(args, name, None)
        if value is not None:
            hypers[name] = value
    return hypers


def _metatensor_outputs(output: str, specs: Sequence[str]) -> list:
    """The metatensor file of each feature set: ``output`` itself for one,
    ``STEM.rho_V.mts``, ... for several."""
    try:
        import metatensor  # noqa: F401
    except ImportError:
        raise CommandError(f"{output}: writing .mts files needs metatensor (pip install metatensor-core)") from None
    if len(specs) == 1:
        return [output]
    stem = output[: -len(".mts")]
    return [f"{stem}.{spec.replace('-', '_')}.mts" for spec in specs]


def cmd_features(args: argparse.Namespace) -> int:
    frames = _read(args.data)
    calculators = make_features(args.features, _hypers(args))
    if args.output.endswith(".mts"):
        import metatensor

        for spec, calculator, path in zip(args.features, calculators, _metatensor_outputs(args.output, args.features)):
            tensor = calculator.compute(frames).to_tensormap()
            metatensor.save(path, tensor)
            print(f"{spec}: {len(tensor)} blocks; wrote {path}")
        return 0
    arrays = {}
    for spec, calculator in zip(args.features, calculators):
        result = calculator.compute(frames)
        key = spec.replace("-", "_")
        arrays[f"{key}/values"] = result.values
        arrays[f"{key}/labels"] = result.labels
        arrays[f"{key}/label_names"] = np.asarray(result.label_names)
        arrays["structure"], arrays["center"] = result.structure, result.center
        arrays["center_species"] = result.center_species
        print(f"{spec}: {result.values.shape[0]} centres x {result.values.shape[1]} features")
    np.savez_compressed(args.output, **arrays)
    print(f"wrote {args.output}")
    return 0


# -- fit / predict -----------------------------------------------------------------------------------
def _estimator(args: argparse.Namespace, calculators: list) -> Any:
    import mslode

    if args.model == "ridge":
        model = mslode.Ridge(features=calculators, fragments=args.fragments, cv=args.cv)
    else:
        model = mslode.SparseKernelRidge(features=calculators, fragments=args.fragments, cv=args.cv,
                                         n_active=args.n_active)
    if args.committee:
        model = mslode.Committee(model, n_members=args.committee, subsample=0.8)
    return model


def _validation_rmse(model: Any) -> Optional[float]:
    """Cross-validation RMSE of the chosen hyper-parameters; for a vector or
    tensor, of all components together (the spherical blocks' squared errors add up)."""
    member = model.members_[0] if hasattr(model, "members_") else model
    blocks = getattr(member, "blocks_", None)
    parts = [(b, 2 * key[0] + 1) for key, b in blocks.items()] if blocks else [(member, 1)]
    total = 0.0
    for part, components in parts:
        errors = getattr(part, "cv_rmse_", None)
        if errors is None or not np.isfinite(errors).any():
            return None
        total += components * float(np.nanmin(errors)) ** 2
    return float(np.sqrt(total))


def cmd_fit(args: argparse.Namespace) -> int:
    import mslode

    frames = _read(args.data)
    y, kind = _target(frames, args.target)  # read once: the fit and the spread below
    model = _estimator(args, make_features(args.features, _hypers(args), kind))
    start = time.perf_counter()
    model.fit(frames, y, groups=args.groups)
    elapsed = time.perf_counter() - start
    rmse = _validation_rmse(model)
    spread = mslode.metrics.target_std(y)
    print(f"fitted {args.model} on {len(frames)} structures ({', '.join(args.features)}) in {elapsed:.1f} s")
    if rmse is not None:
        print(f"validation RMSE {rmse:.6g} ({100 * rmse / spread:.2f} % of the target's spread {spread:.4g})")
    model.save(args.output)
    print(f"wrote {args.output}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    import ase.io

    import mslode

    if not Path(args.model).is_file():
        raise CommandError(f"{args.model}: no such file")
    model = mslode.load(args.model)
    frames = _read(args.data)
    if hasattr(model, "members_"):
        mean, std = model.predict(frames, return_std=True)
    else:
        mean, std = model.predict(frames), None
    for k, frame in enumerate(frames):
        frame.info[args.key] = float(mean[k]) if mean.ndim == 1 else mean[k].reshape(-1)
        if std is not None:
            frame.info[f"{args.key}_std"] = float(std[k]) if std.ndim == 1 else std[k].reshape(-1)
    ase.io.write(args.output, frames, format="extxyz")
    print(f"predicted {len(frames)} structures; wrote {args.output} (info key {args.key!r})")
    return 0


def cmd_learning_curve(args: argparse.Namespace) -> int:
    import mslode

    frames = _read(args.data)
    y, kind = _target(frames, args.target)
    model = _estimator(args, make_features(args.features, _hypers(args), kind))
    # default: fractions of the training pool (what is left after the test structures or groups are held out)
    sizes = [int(s) for s in args.sizes] if args.sizes else [1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0]
    curve = mslode.learning_curve(model, frames, y, train_sizes=sizes, groups=args.groups,
                                  label=",".join(args.features))
    with open(f"{args.output}.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["train_size", "rmse", "rmse_percent"])
        for n, rmse, pct in zip(curve.train_sizes, curve.mean(), curve.mean(percent=True)):
            writer.writerow([int(n), f"{rmse:.6g}", f"{pct:.4g}"])
            print(f"{int(n):8d}  RMSE {rmse:.6g}  ({pct:.2f} %)")
    figure = mslode.plots.plot_learning_curve([curve])
    figure.savefig(f"{args.output}.png", dpi=120, bbox_inches="tight")
    print(f"wrote {args.output}.csv and {args.output}.png")
    return 0


# -- demo ------------------------------------------------------------------------------------------
def cmd_demo(args: argparse.Namespace) -> int:
    """ρ⊗ρ and ρ⊗V models of H2O–CO2 binding energies (GFN2-xTB), trained
    where the monomers are close and tested where they are far apart."""
    from matplotlib.figure import Figure  # no pyplot: nothing global, no display needed

    import mslode

    path = resources.files("mslode") / "data" / "h2o_co2_gfn2.xyz"
    with resources.as_file(path) as file:
        frames = _read(str(file))
    if args.quick:
        frames = frames[::3]  # every third point of every binding curve
    hypers = _hypers(args)
    contact = np.array([f.info["closest_contact"] for f in frames])
    y = np.array([f.info["binding_energy"] for f in frames])
    orientation = np.array([f.info["orientation"] for f in frames])
    # whole binding curves held out: the models meet orientations they never saw
    test_mask = orientation % 4 == 3
    train = [f for f, t in zip(frames, test_mask) if not t]
    test = [f for f, t in zip(frames, test_mask) if t]
    print(f"{len(frames)} H2O–CO2 dimers, {len(set(orientation))} orientations from contact to 15 Å "
          f"(GFN2-xTB binding energies); {len(train)} dimers to train on, the binding curves of "
          f"{len(set(orientation[test_mask]))} other orientations ({len(test)} dimers) to test on")
    bins = [(0.0, hypers["cutoff"]), (hypers["cutoff"], 6.0), (6.0, 9.0), (9.0, np.inf)]
    results = {}
    for spec in ("rho-rho", "rho-V"):
        model = mslode.Ridge(features=make_features([spec], hypers), fragments="monomer_index",
                             cv=5, random_state=0)
        start = time.perf_counter()
        model.fit(train, "binding_energy", groups=orientation[~test_mask])
        predicted = model.predict(test)
        results[spec] = (predicted, time.perf_counter() - start)
    print()
    print(f"{'closest contact (Å)':>22} {'dimers':>7} {'|E_bind| (meV)':>15} {'ρ⊗ρ RMSE (meV)':>15} {'ρ⊗V RMSE (meV)':>15}")
    y_test, c_test = y[test_mask], contact[test_mask]
    for lo, hi in bins:
        sel = (c_test >= lo) & (c_test < hi)
        if not sel.any():
            continue
        label = f"< {hi:.1f}" if lo == 0.0 else (f"{lo:.1f} – {hi:.1f}" if np.isfinite(hi) else f"≥ {lo:.1f}")
        row = [label, f"{sel.sum():d}",
               f"{1e3 * np.sqrt(np.mean(y_test[sel] ** 2)):.2f}"]
        for spec in ("rho-rho", "rho-V"):
            err = results[spec][0][sel] - y_test[sel]
            row.append(f"{1e3 * np.sqrt(np.mean(err**2)):.2f}")
        print(f"{row[0]:>22} {row[1]:>7} {row[2]:>15} {row[3]:>15} {row[4]:>15}")
    print()
    print(f"beyond r_c = {hypers['cutoff']} Å ρ⊗ρ predicts no binding at all (its features of the dimer equal the "
          "monomers'); ρ⊗V sees the partner's potential and extrapolates the tail.")
    fig = Figure(figsize=(5.5, 3.8))
    ax = fig.add_subplot()
    order = np.argsort(c_test)
    ax.plot(c_test[order], 1e3 * np.abs(y_test[order]), ".", color="0.6", ms=3, label="|E_bind| (GFN2-xTB)")
    for spec, colour in (("rho-rho", "tab:red"), ("rho-V", "tab:blue")):
        err = np.abs(results[spec][0] - y_test)
        ax.plot(c_test[order], 1e3 * err[order], ".", ms=3, color=colour,
                label=f"|error| {spec.replace('rho', 'ρ').replace('-', '⊗')}")
    ax.axvline(hypers["cutoff"], color="k", lw=0.8, ls="--")
    ax.set_yscale("log")
    ax.set_xlabel("closest intermolecular contact (Å)")
    ax.set_ylabel("meV")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.output, dpi=120)
    print(f"wrote {args.output}")
    return 0


# -- parser ----------------------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    """Usage errors as one line too (argparse prints the whole usage first)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"mslode: error: {message} (see {self.prog} --help)\n")


def _add_hypers(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("feature hyper-parameters (defaults for molecules)")
    group.add_argument("--cutoff", type=float, help=f"basis cut-off r_c in Å (default {HYPERS['cutoff']})")
    group.add_argument("--gaussian-width", dest="gaussian_width", type=float,
                       help=f"smearing σ in Å (default {HYPERS['gaussian_width']})")
    group.add_argument("--max-radial", dest="max_radial", type=int, help=f"n_max (default {HYPERS['max_radial']})")
    group.add_argument("--max-angular", dest="max_angular", type=int, help=f"l_max (default {HYPERS['max_angular']})")
    group.add_argument("--config", help="TOML file with any of: " + ", ".join(HYPERS))


def _add_model(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", help="extxyz file of structures with the target")
    parser.add_argument("--target", required=True, help="property name (atoms.info or the file's calculator results)")
    parser.add_argument("--features", nargs="+", default=["rho-V"], help=f"e.g. rho-V rho-rho V-V rho-V6; fields: {FIELDS_HELP}")
    parser.add_argument("--model", choices=["ridge", "sparse-krr"], default="ridge")
    parser.add_argument("--fragments", help="per-atom array naming fragments: fit whole minus fragments")
    parser.add_argument("--groups", help="info key grouping structures for cross-validation (e.g. curve_id)")
    parser.add_argument("--committee", type=int, default=0, help="fit a committee of this many members")
    parser.add_argument("--cv", type=int, default=5, help="cross-validation folds (default 5)")
    parser.add_argument("--n-active", dest="n_active", type=int, default=500, help="sparse-krr: active environments")
    _add_hypers(parser)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mslode", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="ρ⊗ρ vs ρ⊗V on H2O–CO2 dimers shipped with the package",
                       description=cmd_demo.__doc__)
    p.add_argument("-o", "--output", default="mslode-demo.png", help="the extrapolation plot (PNG)")
    p.add_argument("--quick", action="store_true", help="a third of the data (every third point of each curve)")
    _add_hypers(p)
    p.set_defaults(run=cmd_demo)

    p = sub.add_parser("features", help="compute features of an extxyz file into an .npz",
                       description="Compute features of every atom of DATA.")
    p.add_argument("data", help="extxyz file of structures")
    p.add_argument("--features", nargs="+", default=["rho-V"], help=f"e.g. rho-V rho-rho V-V rho-V6; fields: {FIELDS_HELP}")
    p.add_argument("-o", "--output", required=True,
                   help="output .npz (values, labels, centres per feature set), or .mts: metatensor TensorMaps "
                        "(one file per feature set; needs metatensor)")
    _add_hypers(p)
    p.set_defaults(run=cmd_features)

    p = sub.add_parser("fit", help="fit a model and save it", description="Fit a model to DATA and save it.")
    _add_model(p)
    p.add_argument("-o", "--output", required=True, help="the saved model (.mslode)")
    p.set_defaults(run=cmd_fit)

    p = sub.add_parser("predict", help="predict with a saved model into an extxyz file",
                       description="Predict DATA with MODEL; writes the predictions into the extxyz info.")
    p.add_argument("model", help="a model saved by `mslode fit`")
    p.add_argument("data", help="extxyz file of structures")
    p.add_argument("-o", "--output", required=True, help="output extxyz")
    p.add_argument("--key", default="predicted", help="info key of the predictions (default 'predicted')")
    p.set_defaults(run=cmd_predict)

    p = sub.add_parser("learning-curve", help="test error against training-set size (PNG and CSV)",
                       description="Learning curve of a model on DATA.")
    _add_model(p)
    p.add_argument("--sizes", nargs="+", help="training-set sizes (default: 1/16, 1/8, 1/4, 1/2 and all of the training pool left after the test set)")
    p.add_argument("-o", "--output", required=True, help="output prefix: PREFIX.png and PREFIX.csv")
    p.set_defaults(run=cmd_learning_curve)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except CommandError as error:
        parser.exit(2, f"mslode: error: {error}\n")
    except (ValueError, TypeError, KeyError, OSError) as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        parser.exit(2, f"mslode: error: {message}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
