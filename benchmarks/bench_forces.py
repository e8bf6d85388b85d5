#!/usr/bin/env python
"""Cost of forces (``docs/forces.md``): energy + forces (+ stress) of a linear
ρ⊗V model against the energy alone, and featomic's gradients next to its
values, in one run.

Workloads (``bench_periodic.water_box``, ``bench_density.build_molecules``):

- ``water``: periodic water boxes of 192, 1536 and 12 288 atoms (98 304 with
  ``--sizes``): ``Ridge([Invariants(rho, V)])`` with ρ and V of
  ``bench_potential.HYPERS`` (n_max 6, l_max 4, r_c 4 Å), V at the default
  accuracy 1e-6; ``model.predict`` against ``model.predict_forces``
  (energy, forces and stress).
- ``molecules``: the 1000 organic molecules of ``bench_density`` (finite, V by
  the direct O(N²) sum), the same model.
- ``rho-rho``: the same with ρ⊗ρ, next to featomic's ``SoapPowerSpectrum``
  of the same ρ with and without ``gradients=["positions"]`` (its gradients
  are the full dX/dr, sparse in pairs, not a vector–Jacobian product; its
  LODE has no gradients for periodic systems of these sizes in memory), on
  the workloads up to 20 000 atoms.

The model's weights are a fit on four 192-atom boxes and 20 of the molecules
(their values do not matter for the timing). Each measurement is the best of ``--repeats`` after
one warm-up, in this process, with ``--threads`` threads (set before numpy
is imported).

    python benchmarks/bench_forces.py                  # water 192, 1536, 12288 and the molecules
    (with PYTHONPATH=python to time the working tree rather than an installed mslode)
    python benchmarks/bench_forces.py --quick          # water 192 and 1536, 100 molecules
    python benchmarks/bench_forces.py --sizes 192 1536 12288 98304

Timings are informative only: nothing here is a pass/fail test.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def best_of(compute: Callable[[], Any], repeats: int) -> float:
    compute()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        compute()
        times.append(time.perf_counter() - start)
    return min(times)


def linear_model(kind: str, molecules: list) -> Any:
    """A Ridge on ρ⊗V (``kind="rhoV"``) or ρ⊗ρ (``"rhorho"``), weights fitted
    on four water boxes and the first 20 molecules (every central species)."""
    import numpy as np

    import mslode
    from bench_periodic import water_box
    from bench_potential import HYPERS

    train = [water_box(192) for _ in range(4)] + molecules[:20]
    species = sorted({int(z) for frame in train + molecules for z in frame.numbers})
    rho = mslode.DensityExpansion(cutoff_width=0.5, species=species, **HYPERS)
    V = mslode.PotentialExpansion(species=species, **HYPERS)
    features = mslode.Invariants(rho, V) if kind == "rhoV" else mslode.Invariants(rho, rho)
    y = np.random.default_rng(0).normal(size=len(train))
    return mslode.Ridge([features], alphas=1e-3).fit(train, y)


def measure_model(model: Any, name: str, frames: list, repeats: int) -> Dict[str, Any]:
    energy = best_of(lambda: model.predict(frames), repeats)
    forces = best_of(lambda: model.predict_forces(frames), repeats)
    return dict(workload=name, atoms=sum(len(f) for f in frames), structures=len(frames), energy_s=energy,
                energy_forces_s=forces, ratio=forces / energy)


def measure_featomic(name: str, frames: list, repeats: int) -> Optional[Dict[str, Any]]:
    try:
        import featomic
    except ImportError:
        return None
    from bench_potential import HYPERS

    calculator = featomic.SoapPowerSpectrum(
        cutoff={"radius": HYPERS["cutoff"], "smoothing": {"type": "ShiftedCosine", "width": 0.5}},
        density={"type": "Gaussian", "width": HYPERS["gaussian_width"], "center_atom_weight": HYPERS["center_atom_weight"]},
        basis={"type": "TensorProduct", "max_angular": HYPERS["max_angular"],
               "radial": {"type": "Gto", "max_radial": HYPERS["max_radial"] - 1}},
    )
    values = best_of(lambda: calculator.compute(frames), repeats)
    gradients = best_of(lambda: calculator.compute(frames, gradients=["positions"]), repeats)
    return dict(workload=name, atoms=sum(len(f) for f in frames), structures=len(frames), values_s=values,
                values_gradients_s=gradients, ratio=gradients / values)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help="water box sizes (192 n^3 atoms)")
    parser.add_argument("--molecules", type=int, default=None, help="number of molecules (default 1000; 100 quick)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", default=None)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"):
        os.environ[variable] = str(args.threads)
    from bench_density import build_molecules
    from bench_periodic import water_box

    sizes = args.sizes or ([192, 1536] if args.quick else [192, 1536, 12288])
    n_molecules = args.molecules or (100 if args.quick else 1000)
    molecules = build_molecules(n_molecules)
    rho_v, rho_rho = linear_model("rhoV", molecules), linear_model("rhorho", molecules)
    rows: List[Dict[str, Any]] = []
    local_rows: List[Dict[str, Any]] = []
    featomic_rows: List[Dict[str, Any]] = []
    workloads = [(f"water {n}", [water_box(n)]) for n in sizes] + [(f"{n_molecules} molecules", molecules)]
    for name, frames in workloads:
        repeats = args.repeats if sum(len(f) for f in frames) < 10000 else 1
        rows.append(measure_model(rho_v, name, frames, repeats))
        print(json.dumps(rows[-1]), flush=True)
        if sum(len(f) for f in frames) <= 20000:  # ρ⊗ρ next to featomic (its full gradients need memory)
            local_rows.append(measure_model(rho_rho, name, frames, repeats))
            result = measure_featomic(name, frames, repeats)
            if result:
                featomic_rows.append(result)
    print(f"\n{args.threads} threads, load {os.getloadavg()[0]:.1f}. mslode ρ⊗V ridge:")
    print("| workload | atoms | energy (s) | energy + forces + stress (s) | ratio |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['workload']} | {r['atoms']} | {r['energy_s']:.3f} | {r['energy_forces_s']:.3f} | {r['ratio']:.2f} |")
    print("\nρ⊗ρ: an mslode ridge (energy; energy + forces + stress) next to featomic's SoapPowerSpectrum (values; "
          "values + position gradients):")
    print("| workload | atoms | mslode E (s) | mslode E+F+S (s) | ratio | featomic values (s) | featomic + gradients (s) | ratio |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    by_name = {r["workload"]: r for r in featomic_rows}
    for r in local_rows:
        f = by_name.get(r["workload"])
        tail = f"{f['values_s']:.3f} | {f['values_gradients_s']:.3f} | {f['ratio']:.2f}" if f else "— | — | —"
        print(f"| {r['workload']} | {r['atoms']} | {r['energy_s']:.3f} | {r['energy_forces_s']:.3f} | {r['ratio']:.2f} | {tail} |")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"rho_v": rows, "rho_rho": local_rows, "featomic": featomic_rows}, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
