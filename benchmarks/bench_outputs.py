"""Benchmark the equivariant coupling and the outputs that scale.

Two measurements, in one run (one process, so the ratios share the machine's
state):

1. ``coupling``: the cost per atom of ρ⊗ρ invariants and of λ = 0, 1, 2
   equivariants (both parities) on the water box of ``bench_density``.
2. ``outputs``: ρ⊗V of the 1000 molecules of ``bench_density`` (no cell),
   dense per-atom rows, per-structure sums (``reduce="structure"``) and 10 %
   of the columns (``selected_features``): time and the rise of the peak
   resident memory over the state before the call.

Usage::

    python benchmarks/bench_outputs.py [--threads 1] [--molecules 1000]
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Callable, Dict

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))

from bench_density import (  # noqa: E402
    CENTER_ATOM_WEIGHT,
    CUTOFF,
    GAUSSIAN_WIDTH,
    L_MAX,
    N_MAX,
    build_molecules,
    build_water_box,
    current_rss_mb,
    peak_rss_mb,
    reset_peak_rss,
    timed_runs,
)


def measured(compute: Callable[[], Any], repeats: int = 3, budget: float = 20.0) -> Dict[str, float]:
    compute()  # tables built, first-touch costs paid
    before = current_rss_mb()
    reset_peak_rss()
    record = timed_runs(compute, repeats, budget)
    return {"best_s": record["best_s"], "peak_mb": peak_rss_mb() - before,
            "background_cpus": record.get("background_cpus", float("nan"))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=None, help="OMP_NUM_THREADS (set before import)")
    parser.add_argument("--molecules", type=int, default=1000)
    parser.add_argument("--box-replicas", type=int, default=4)
    args = parser.parse_args()
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import mslode

    hypers = dict(cutoff=CUTOFF, gaussian_width=GAUSSIAN_WIDTH, max_radial=N_MAX, max_angular=L_MAX,
                  center_atom_weight=CENTER_ATOM_WEIGHT)
    print(f"threads: {os.environ.get('OMP_NUM_THREADS', 'all')}, instruction set {mslode.instruction_set()}")

    box = build_water_box(args.box_replicas)
    n_atoms = len(box)
    rho = mslode.DensityExpansion(**hypers, species=[1, 8])
    print(f"\n1. coupling on the water box ({n_atoms} atoms, n {N_MAX}, l {L_MAX}): µs per atom")
    base = measured(lambda: rho.compute(box))["best_s"]
    print(f"   expansion ρ alone                    {base / n_atoms * 1e6:8.1f}")
    rows = [("invariants ρ⊗ρ", mslode.Invariants(rho, rho))]
    for lam in (0, 1, 2):
        for parity in (1, -1):
            if (lam, parity) != (0, -1):
                rows.append((f"equivariants λ={lam} σ={parity:+d}", mslode.Equivariants(rho, rho, lambda_=lam, parity=parity)))
    for name, calculator in rows:
        t = measured(lambda: calculator.compute(box))["best_s"]
        width = calculator.compute(box[:3]).values[0].size
        print(f"   {name:<36} {t / n_atoms * 1e6:8.1f}  (coupling alone {(t - base) / n_atoms * 1e6:7.1f}; {width} numbers per atom)")

    molecules = build_molecules(args.molecules)
    species = sorted({int(z) for frame in molecules for z in frame.numbers})
    rho = mslode.DensityExpansion(**hypers, species=species)
    V = mslode.PotentialExpansion(**hypers, species=species)
    rho_V = mslode.Invariants(rho, V)
    labels = rho_V.compute(molecules[:1]).labels
    selected = labels[np.random.default_rng(0).choice(len(labels), size=len(labels) // 10, replace=False)]
    print(f"\n2. ρ⊗V of {len(molecules)} molecules ({sum(len(f) for f in molecules)} atoms, {len(species)} species, "
          f"{len(labels)} features)")
    dense = measured(lambda: rho_V.compute(molecules))
    print(f"   {'':<28} {'time (s)':>9} {'peak rise (MB)':>15} {'time / dense':>13} {'memory / dense':>15}")
    for name, call in (("dense", lambda: rho_V.compute(molecules)),
                       ("reduce='structure'", lambda: rho_V.compute(molecules, reduce="structure")),
                       ("10 % selected", lambda: rho_V.compute(molecules, selected_features=selected)),
                       ("10 % selected, reduced", lambda: rho_V.compute(molecules, selected_features=selected,
                                                                           reduce="structure"))):
        m = dense if name == "dense" else measured(call)
        print(f"   {name:<28} {m['best_s']:9.3f} {m['peak_mb']:15.1f} {m['best_s'] / dense['best_s']:13.2f} "
              f"{m['peak_mb'] / dense['peak_mb']:15.3f}   (other processes: {m['background_cpus']:.2f} CPUs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
