#!/usr/bin/env python
"""Benchmark mslode's potential features V (LODE; docs/conventions.md, "Atom-centred
potential" and "Potential coefficients") and rho x V on finite systems.

Four measurements, all in one run:

1. ``clusters``: spherical water clusters of ~10 ... 20 000 atoms carved out of
   the liquid-like water box of ``bench_density`` (whole molecules, no cell):
   time of ``PotentialExpansion`` (V) and of ``Invariants(rho, V)``, per atom and
   per (centre, source) pair (N^2 pairs per structure), peak memory, and the
   scaling exponent between sizes (should be ~2).
2. ``peak``: single-thread DGEMM rate of this machine (numpy, 2000 x 2000), to
   turn ns/pair into a fraction of the floating-point peak of one core.
3. ``molecules``: the 1000 g2 molecules of ``bench_density`` (no cell): V and
   rho x V with potential_exponent p = 1 and p = 6, and the ratios p6 / p1.
4. ``featomic``: featomic's ``LodeSphericalExpansion`` refuses non-periodic
   systems; what a user would do instead is to put each molecule in a large
   periodic box.  A few molecules, each in a 20 Å cubic cell, give the seconds
   per molecule of that workaround, compared with mslode's per-molecule time.

Every measurement runs in a fresh subprocess with the thread count fixed in the
environment (``bench_density.thread_env``).  Construction of the radial tables
is excluded from the timings and reported separately ("setup").

Usage::

    python benchmarks/bench_potential.py                  # everything, 1 and 2 threads
    python benchmarks/bench_potential.py --quick          # clusters up to 1000 atoms, ~2 minutes
    python benchmarks/bench_potential.py --threads 1 --sizes 1000 5000 --no-featomic
    python benchmarks/bench_potential.py --json results.json

Timings are informative only: nothing here is a pass/fail test.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pickle
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from bench_density import (
    BUSY_THRESHOLD,
    CENTER_ATOM_WEIGHT,
    CUTOFF,
    GAUSSIAN_WIDTH,
    L_MAX,
    N_MAX,
    build_molecules,
    build_water_box,
    current_rss_mb,
    machine_info,
    peak_rss_mb,
    reset_peak_rss,
    thread_env,
    timed_runs,
)

# ---------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------

HYPERS: Dict[str, Any] = {
    "cutoff": CUTOFF,
    "gaussian_width": GAUSSIAN_WIDTH,
    "max_radial": N_MAX,
    "max_angular": L_MAX,
    "center_atom_weight": CENTER_ATOM_WEIGHT,
}

CLUSTER_SIZES = [10, 100, 1000, 5000, 20000]  # target atom counts (whole molecules: multiples of 3)
QUICK_CLUSTER_SIZES = [10, 100, 1000]
N_MOLECULES = 1000
EXPONENTS = (1, 6)
FEATOMIC_MOLECULES = 5
FEATOMIC_BOX = 20.0  # Å, edge of the cubic periodic box around each molecule
WARMUP_FULL_PAIRS = 2.5e7  # above this many pairs, warm up on a smaller piece of the workload
WARMUP_ATOMS = 1000
DGEMM_SIZE = 2000

# Floating-point operations per (centre, source) pair, counted as:
# contraction of P_nl(d) with Y_lm into the n_max x (l_max+1)^2 coefficients (one
# multiply-add each), cubic-spline evaluation of n_max x (l_max+1) radial values
# (4 multiply-adds each), and the real solid harmonics (~6 flops per (l, m)).
FLOPS_CONTRACTION = 2 * N_MAX * (L_MAX + 1) ** 2
FLOPS_SPLINE = 8 * N_MAX * (L_MAX + 1)
FLOPS_HARMONICS = 6 * (L_MAX + 1) ** 2
FLOPS_PER_PAIR = FLOPS_CONTRACTION + FLOPS_SPLINE + FLOPS_HARMONICS

# ---------------------------------------------------------------------------
# Workloads (built from bench_density's builders)
# ---------------------------------------------------------------------------


def box_replicas_for(n_atoms: int) -> int:
    """Replicas of bench_density's 64-molecule box needed so that a sphere of ``n_atoms`` fits inside.

    The sphere holds at most half of the box (radius ≤ 0.49 of the edge), so
    that it fits in the cube of nearest images around the centre.
    """
    n = 1
    while 0.5 * 192 * n**3 < n_atoms:
        n += 1
    return n


def water_clusters(sizes: Sequence[int]) -> Dict[int, Any]:
    """Nested spherical water clusters, one per target size, from one water box.

    The box of ``bench_density.build_water_box`` is built once, large enough for
    the largest cluster; molecules are made whole (hydrogens next to their
    oxygen), sorted by the distance of their oxygen to the box centre, and the
    ``round(size / 3)`` nearest ones form the cluster (no cell, ``pbc=False``).
    """
    from ase import Atoms

    box = build_water_box(box_replicas_for(max(sizes)))
    edge = box.cell[0, 0]
    centre = np.full(3, edge / 2)
    molecules = box.positions.reshape(-1, 3, 3)  # (molecule, O/H/H, xyz), ordered OH2 per molecule
    oxygen = molecules[:, 0] - centre
    oxygen -= edge * np.round(oxygen / edge)
    bonds = molecules - molecules[:, :1]
    bonds -= edge * np.round(bonds / edge)
    whole = (centre + oxygen)[:, None, :] + bonds
    order = np.argsort(np.linalg.norm(oxygen, axis=1), kind="stable")
    clusters = {}
    for size in sizes:
        k = max(1, round(size / 3))
        atoms = Atoms("OH2" * k, positions=whole[order[:k]].reshape(-1, 3) - centre, pbc=False)
        clusters[size] = atoms
    return clusters


def boxed(frames: Sequence, edge: float = FEATOMIC_BOX) -> List[Any]:
    """Copies of ``frames`` centred in a cubic periodic box of edge ``edge`` (featomic's workaround)."""
    out = []
    for atoms in frames:
        atoms = atoms.copy()
        atoms.positions = atoms.positions - atoms.positions.mean(axis=0) + edge / 2
        atoms.cell = np.eye(3) * edge
        atoms.pbc = True
        out.append(atoms)
    return out


def atomic_numbers_of(frames: Sequence) -> List[int]:
    return sorted({int(z) for atoms in frames for z in atoms.numbers})


# ---------------------------------------------------------------------------
# Workers: one measurement each, in a fresh process
# ---------------------------------------------------------------------------


def warmup_frames(frames: List[Any]) -> List[Any]:
    """The workload itself, or for a large structure its first ``WARMUP_ATOMS`` atoms.

    A warm-up on the full 20 000-atom cluster would cost as much as a timed
    run; the first atoms of a cluster are its central sphere, with every species.
    """
    if sum(len(a) ** 2 for a in frames) <= WARMUP_FULL_PAIRS:
        return frames
    return [frames[0][: min(WARMUP_ATOMS, len(frames[0]))]]


def near_fraction(frames: List[Any], switch: float, rows: int = 256) -> float:
    """Fraction of the (centre, source) pairs, self pairs excluded, closer than ``switch``.

    Those go through the spline and the full contraction; the others only
    through the far-field moments. Counted in blocks of rows so that 20 000
    atoms do not need the full distance matrix.
    """
    near = total = 0
    for atoms in frames:
        positions = atoms.positions
        n = len(positions)
        for start in range(0, n, rows):
            block = positions[start:start + rows]
            d2 = ((block[:, None, :] - positions[None, :, :]) ** 2).sum(axis=-1)
            near += int((d2 < switch**2).sum()) - len(block)
        total += n * (n - 1)
    return near / total if total else 0.0


def worker_mslode(kind: str, frames: List[Any], exponent: int, repeats: int, budget: float) -> Dict[str, Any]:
    """``kind`` = "V" (PotentialExpansion) or "rhoV" (Invariants(rho, V))."""
    import mslode

    species = atomic_numbers_of(frames)
    record: Dict[str, Any] = {"version": getattr(mslode, "__version__", "?")}
    exact_peak = reset_peak_rss()
    baseline = current_rss_mb() if exact_peak else peak_rss_mb()

    V = mslode.PotentialExpansion(potential_exponent=exponent, species=species, **HYPERS)
    start = time.perf_counter()
    V.radial_table()
    record["table_s"] = time.perf_counter() - start
    record["instruction_set"] = mslode.instruction_set() if hasattr(mslode, "instruction_set") else "?"
    switch = V.core(species).switch_distance
    record["switch_distance"] = switch
    record["near_fraction"] = near_fraction(frames, switch)
    start = time.perf_counter()
    V.core(species)  # the C++ calculator for these channels, sharing the table
    if kind == "V":
        compute = lambda: V.compute(frames).values  # noqa: E731
    else:
        rho = mslode.DensityExpansion(species=species, **HYPERS)
        rho.core(species)  # density splines
        invariants = mslode.Invariants(rho, V)
        compute = lambda: invariants.compute(frames).values  # noqa: E731
    record["other_setup_s"] = time.perf_counter() - start

    warm = warmup_frames(frames)
    start = time.perf_counter()
    if warm is frames:
        result = compute()
    elif kind == "V":
        result = V.compute(warm).values
    else:
        result = invariants.compute(warm).values
    record["warmup_s"] = time.perf_counter() - start
    record["warmup_atoms"] = sum(len(a) for a in warm)
    record["values_per_atom"] = int(np.prod(result.shape[1:]))
    del result

    record.update(timed_runs(compute, repeats, budget))
    record.update(peak_mb=peak_rss_mb() - baseline, peak_method="VmHWM reset" if exact_peak else "ru_maxrss")
    return record


def worker_featomic(frames: List[Any], exponent: int, repeats: int, budget: float) -> Dict[str, Any]:
    """featomic LODE on molecules boxed in periodic cells (its default k_cutoff = 1.2π/σ)."""
    import featomic

    record: Dict[str, Any] = {"version": featomic.__version__}
    exact_peak = reset_peak_rss()
    baseline = current_rss_mb() if exact_peak else peak_rss_mb()
    calculator = featomic.LodeSphericalExpansion(
        density={
            "type": "SmearedPowerLaw",
            "smearing": GAUSSIAN_WIDTH,
            "exponent": exponent,
            "center_atom_weight": CENTER_ATOM_WEIGHT,
        },
        basis={
            "type": "TensorProduct",
            "max_angular": L_MAX,
            "radial": {"type": "Gto", "max_radial": N_MAX - 1, "radius": CUTOFF},  # inclusive max_radial
        },
    )
    boxes = boxed(frames)
    start = time.perf_counter()
    calculator.compute(boxes[:1])  # warm-up on one molecule (its splines are built on first use)
    record["warmup_s"] = time.perf_counter() - start
    record.update(timed_runs(lambda: calculator.compute(boxes), repeats, budget))
    record.update(peak_mb=peak_rss_mb() - baseline, peak_method="VmHWM reset" if exact_peak else "ru_maxrss")
    return record


def worker_dgemm(repeats: int) -> Dict[str, Any]:
    """Single-thread (per the environment) DGEMM rate, best of several, in GFlop/s."""
    rng = np.random.default_rng(0)
    a = rng.random((DGEMM_SIZE, DGEMM_SIZE))
    b = rng.random((DGEMM_SIZE, DGEMM_SIZE))
    a @ b  # warm-up
    record = timed_runs(lambda: a @ b, max(repeats, 5), 20.0)
    record["gflops"] = 2 * DGEMM_SIZE**3 / record["best_s"] / 1e9
    try:
        config = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        record["blas"] = f"{config.get('name', '?')} {config.get('version', '')}".strip()
    except Exception:  # noqa: BLE001 - old numpy
        pass
    return record


def run_worker(args: argparse.Namespace) -> Dict[str, Any]:
    record: Dict[str, Any] = {"kind": args.worker, "threads": args.threads[0], "exponent": args.exponent}
    if args.worker == "dgemm":
        record.update(worker_dgemm(args.repeats))
        record["status"] = "ok"
        return record
    with open(args.structures, "rb") as fd:
        frames = pickle.load(fd)
    record["n_atoms"] = sum(len(a) for a in frames)
    record["n_structures"] = len(frames)
    record["n_pairs"] = sum(len(a) ** 2 for a in frames)
    try:
        if args.worker == "featomic":
            record.update(worker_featomic(frames, args.exponent, args.repeats, args.budget))
        else:
            import mslode

            mslode.PotentialExpansion  # noqa: B018 - fails if this build has no potential features
            record.update(worker_mslode(args.worker, frames, args.exponent, args.repeats, args.budget))
    except ImportError as error:
        record.update(status="unavailable", reason=f"{type(error).__name__}: {error}")
        return record
    best = record["best_s"]
    record.update(
        status="ok",
        us_per_atom=1e6 * best / record["n_atoms"],
        ns_per_pair=1e9 * best / record["n_pairs"],
        s_per_structure=best / record["n_structures"],
    )
    return record


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------


def measure(kind: str, threads: int, args: argparse.Namespace, structures: Optional[str] = None,
            exponent: int = 1, timeout: Optional[float] = None) -> Dict[str, Any]:
    """Run one worker subprocess with ``threads`` threads; parse the JSON line it prints last."""
    command = [sys.executable, os.path.abspath(__file__), "--worker", kind, "--threads", str(threads),
               "--exponent", str(exponent), "--repeats", str(args.repeats), "--budget", str(args.budget)]
    if structures is not None:
        command += ["--structures", structures]
    try:
        proc = subprocess.run(command, capture_output=True, text=True, env=thread_env(threads), timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"kind": kind, "threads": threads, "exponent": exponent, "status": "skipped",
                "reason": f"took longer than {timeout:.0f} s"}
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = proc.stderr.strip().splitlines()[-1:] or [f"exit code {proc.returncode}"]
        return {"kind": kind, "threads": threads, "exponent": exponent, "status": "failed", "reason": tail[0]}
    return json.loads(lines[-1])


def _busy(d: Dict[str, Any]) -> str:
    return " †" if d.get("background_cpus", 0.0) > BUSY_THRESHOLD else ""


def _ok(d: Optional[Dict[str, Any]]) -> bool:
    return d is not None and d.get("status") == "ok"


def _failure(d: Dict[str, Any]) -> str:
    return f"{d.get('status')}: {d.get('reason', '')}"


def gflops(ns_per_pair: float) -> float:
    return FLOPS_PER_PAIR / ns_per_pair


def format_clusters(rows: List[Dict[str, Any]], peak: Optional[float]) -> str:
    out = [
        "| atoms | features | threads | near pairs | time (s) | µs / atom | ns / pair | GFlop/s | % of peak | peak memory (MB) | setup (s) |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for d in rows:
        label = {"V": "V", "rhoV": "ρ⊗V"}[d["kind"]]
        if not _ok(d):
            out.append(f"| {d.get('n_atoms', '')} | {label} | {d['threads']} | | {_failure(d)} | | | | | | |")
            continue
        rate = gflops(d["ns_per_pair"])
        frac = f"{100 * rate / (peak * d['threads']):.1f}" if peak else ""
        out.append(
            f"| {d['n_atoms']} | {label} | {d['threads']} | {100 * d.get('near_fraction', float('nan')):.0f} % "
            f"| {d['best_s']:.4g}{_busy(d)} | {d['us_per_atom']:.1f} "
            f"| {d['ns_per_pair']:.1f} | {rate:.2f} | {frac} | {d['peak_mb']:.1f} "
            f"| {d['table_s']:.2f} + {d['other_setup_s']:.2f} |"
        )
    return "\n".join(out)


def scaling_exponents(rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """log(t2/t1) / log(N2/N1) between consecutive cluster sizes, per (features, threads)."""
    out = []
    groups: Dict[tuple, List[Dict[str, Any]]] = {}
    for d in rows:
        if _ok(d):
            groups.setdefault((d["kind"], d["threads"]), []).append(d)
    for (kind, threads), items in groups.items():
        items.sort(key=lambda d: d["n_atoms"])
        for a, b in zip(items, items[1:]):
            out.append({
                "kind": kind, "threads": threads, "from_atoms": a["n_atoms"], "to_atoms": b["n_atoms"],
                "exponent": math.log(b["best_s"] / a["best_s"]) / math.log(b["n_atoms"] / a["n_atoms"]),
            })
    return out


def format_scaling(items: List[Dict[str, Any]]) -> str:
    out = ["| features | threads | atoms | time ∝ N^k, k = |", "| --- | ---: | --- | ---: |"]
    for s in items:
        label = {"V": "V", "rhoV": "ρ⊗V"}[s["kind"]]
        out.append(f"| {label} | {s['threads']} | {s['from_atoms']} → {s['to_atoms']} | {s['exponent']:.2f} |")
    return "\n".join(out)


def format_molecules(rows: List[Dict[str, Any]], threads_list: Sequence[int]) -> str:
    out = [
        "| features | threads | p = 1 (s) | p = 6 (s) | p6 / p1 | µs / atom p = 1 | µs / atom p = 6 | setup p = 1 / p = 6 (s) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    table = {(d["kind"], d["threads"], d["exponent"]): d for d in rows}
    for kind in ("V", "rhoV"):
        for threads in threads_list:
            d1, d6 = table.get((kind, threads, 1)), table.get((kind, threads, 6))
            label = {"V": "V", "rhoV": "ρ⊗V"}[kind]
            cells = []
            for d in (d1, d6):
                cells.append(f"{d['best_s']:.4g}{_busy(d)}" if _ok(d) else (_failure(d) if d else ""))
            ratio = f"{d6['best_s'] / d1['best_s']:.2f}" if _ok(d1) and _ok(d6) else ""
            per_atom = [f"{d['us_per_atom']:.2f}" if _ok(d) else "" for d in (d1, d6)]
            setup = " / ".join(f"{d['table_s']:.2f}" if _ok(d) else "" for d in (d1, d6))
            out.append(f"| {label} | {threads} | {cells[0]} | {cells[1]} | {ratio} | {per_atom[0]} | {per_atom[1]} | {setup} |")
    return "\n".join(out)


def format_featomic(rows: List[Dict[str, Any]], molecules: List[Dict[str, Any]]) -> str:
    out = [
        "| threads | featomic s / molecule | featomic µs / atom | mslode V s / molecule | mslode ρ⊗V s / molecule "
        "| featomic / mslode V (per molecule) | featomic / mslode V (per atom) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    mine = {(d["kind"], d["threads"]): d for d in molecules if d.get("exponent") == 1}
    for d in rows:
        if not _ok(d):
            out.append(f"| {d['threads']} | {_failure(d)} | | | | | |")
            continue
        v, rv = mine.get(("V", d["threads"])), mine.get(("rhoV", d["threads"]))
        v_mol = f"{v['s_per_structure']:.2e}" if _ok(v) else ""
        rv_mol = f"{rv['s_per_structure']:.2e}" if _ok(rv) else ""
        r_mol = f"{d['s_per_structure'] / v['s_per_structure']:.0f}" if _ok(v) else ""
        r_atom = f"{d['us_per_atom'] / v['us_per_atom']:.0f}" if _ok(v) else ""
        out.append(f"| {d['threads']} | {d['s_per_structure']:.3f}{_busy(d)} | {d['us_per_atom']:.0f} "
                   f"| {v_mol} | {rv_mol} | {r_mol} | {r_atom} |")
    return "\n".join(out)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts (default: 1 2)")
    parser.add_argument("--quick", action="store_true", help=f"clusters of {QUICK_CLUSTER_SIZES} atoms only")
    parser.add_argument("--sizes", type=int, nargs="+", help=f"cluster sizes in atoms (default {CLUSTER_SIZES})")
    parser.add_argument("--molecules", type=int, default=N_MOLECULES, help="molecules in the p = 1 / p = 6 workload")
    parser.add_argument("--no-featomic", action="store_true", help="skip the featomic reference")
    parser.add_argument("--featomic-molecules", type=int, default=FEATOMIC_MOLECULES)
    parser.add_argument("--featomic-budget", type=float, default=120.0,
                        help="kill a featomic measurement after this many seconds (default 120)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repetitions after the warm-up (best is kept)")
    parser.add_argument("--budget", type=float, default=20.0, help="stop repeating after this many seconds")
    parser.add_argument("--json", metavar="FILE", help="also write all results to FILE as JSON")
    # internal: run a single measurement
    parser.add_argument("--worker", choices=["V", "rhoV", "featomic", "dgemm"], help=argparse.SUPPRESS)
    parser.add_argument("--structures", help=argparse.SUPPRESS)
    parser.add_argument("--exponent", type=int, default=1, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _dump(frames: List[Any], tmp: str, name: str) -> str:
    path = os.path.join(tmp, f"{name}.pkl")
    with open(path, "wb") as fd:
        pickle.dump(frames, fd)
    return path


def _shown(d: Dict[str, Any]) -> str:
    if not _ok(d):
        return _failure(d)
    pairs = "" if d["kind"] == "featomic" else f", {d['ns_per_pair']:.1f} ns/pair"
    return f"{d['best_s']:.4g} s{pairs}, {d['us_per_atom']:.2f} µs/atom{_busy(d)}"


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(run_worker(args)))
        return 0

    sizes = args.sizes or (QUICK_CLUSTER_SIZES if args.quick else CLUSTER_SIZES)
    load = os.getloadavg()[0]
    if load > 0.5:
        log(f"warning: 1-minute load average is {load:.2f}; other processes will distort the timings")
    started = time.perf_counter()
    report: Dict[str, Any] = {"machine": machine_info(), "hypers": HYPERS, "flops_per_pair": FLOPS_PER_PAIR}

    with tempfile.TemporaryDirectory(prefix="bench_potential_") as tmp:
        # 2. peak of one core (first: short, and needed by the cluster table)
        dgemm = measure("dgemm", 1, args)
        peak = dgemm["gflops"] if _ok(dgemm) else None
        report["dgemm"] = dgemm
        log(f"# DGEMM, 1 thread: {peak:.1f} GFlop/s" if peak else f"# DGEMM: {_failure(dgemm)}")

        # 1. clusters
        start = time.perf_counter()
        clusters = water_clusters(sizes)
        log(f"# water clusters {[len(c) for c in clusters.values()]} atoms, built in {time.perf_counter() - start:.1f} s")
        cluster_rows: List[Dict[str, Any]] = []
        for size, atoms in clusters.items():
            path = _dump([atoms], tmp, f"cluster-{size}")
            for kind in ("V", "rhoV"):
                for threads in args.threads:
                    d = measure(kind, threads, args, path)
                    d.setdefault("n_atoms", len(atoms))
                    cluster_rows.append(d)
                    log(f"#   {len(atoms):6d} atoms {kind:4s} {threads} thread(s): {_shown(d)}")

        # 3. molecules, p = 1 and p = 6
        start = time.perf_counter()
        molecules = build_molecules(args.molecules)
        n_mol_atoms = sum(len(a) for a in molecules)
        path = _dump(molecules, tmp, "molecules")
        log(f"# {args.molecules} molecules, {n_mol_atoms} atoms, built in {time.perf_counter() - start:.1f} s")
        molecule_rows: List[Dict[str, Any]] = []
        for kind in ("V", "rhoV"):
            for threads in args.threads:
                for p in EXPONENTS:
                    d = measure(kind, threads, args, path, exponent=p)
                    molecule_rows.append(d)
                    log(f"#   molecules {kind:4s} p={p} {threads} thread(s): {_shown(d)}")

        # 4. featomic on boxed molecules
        featomic_rows: List[Dict[str, Any]] = []
        featomic_frames: List[Any] = []
        if not args.no_featomic:
            probe = subprocess.run([sys.executable, "-c", "import featomic"], capture_output=True, text=True)
            if probe.returncode != 0:
                log("# featomic not importable: reference skipped")
                report["featomic_skipped"] = "featomic not importable"
            else:
                # spread over the set of molecule names (they cycle every ~95)
                step = max(1, len(molecules) // args.featomic_molecules)
                featomic_frames = molecules[::step][: args.featomic_molecules]
                path = _dump(featomic_frames, tmp, "featomic")
                for threads in args.threads:
                    d = measure("featomic", threads, args, path, timeout=args.featomic_budget)
                    featomic_rows.append(d)
                    log(f"#   featomic, {len(featomic_frames)} boxed molecules, {threads} thread(s): {_shown(d)}")

    scaling = scaling_exponents(cluster_rows)
    info = report["machine"]
    print(f"\nMachine: {info['cpu']}, {info['logical_cpus']} logical CPUs; {info['platform']}; "
          f"load average at start {info['load_average_1min']:.2f}")
    print(f"Hyper-parameters: {HYPERS}; total run time {time.perf_counter() - started:.0f} s\n")
    if peak:
        print(f"Peak of one core: DGEMM {DGEMM_SIZE}x{DGEMM_SIZE}, 1 thread ({dgemm.get('blas', '')}): {peak:.1f} GFlop/s")
    print(f"Flops per (centre, source) pair: {FLOPS_CONTRACTION} (contraction) + {FLOPS_SPLINE} (splines) + "
          f"{FLOPS_HARMONICS} (harmonics) = {FLOPS_PER_PAIR}, as if every pair were near; % of peak is per "
          f"core (peak x threads)")
    sets = sorted({d.get("instruction_set", "?") for d in cluster_rows if _ok(d)})
    print(f"Pair loops ran: {', '.join(sets)}\n")
    print("## Water clusters (finite), N² pairs\n")
    print("near pairs: the share of pairs closer than the switch distance (spline and full contraction);\n"
          "the others cost only their far-field moments.\n")
    print(format_clusters(cluster_rows, peak))
    print("\nsetup = V radial table + the rest (C++ calculator, density splines for ρ⊗V), not timed\n")
    print(format_scaling(scaling))
    print(f"\n## {args.molecules} g2 molecules ({n_mol_atoms} atoms, finite), p = 1 and p = 6\n")
    print(format_molecules(molecule_rows, args.threads))
    if featomic_rows:
        n_feat = sum(len(a) for a in featomic_frames)
        print(f"\n## featomic LodeSphericalExpansion, p = 1, {len(featomic_frames)} molecules ({n_feat} atoms) "
              f"each in a {FEATOMIC_BOX:g} Å periodic box (default k_cutoff)\n")
        print(format_featomic(featomic_rows, molecule_rows))
    if any(d.get("background_cpus", 0.0) > BUSY_THRESHOLD for d in cluster_rows + molecule_rows + featomic_rows):
        print(f"\n† other processes kept more than {BUSY_THRESHOLD} CPU busy during the timing: re-run when idle.")

    if args.json:
        report.update(
            clusters=cluster_rows,
            scaling=scaling,
            molecules={"n_molecules": args.molecules, "n_atoms": n_mol_atoms, "measurements": molecule_rows},
            featomic={"n_molecules": len(featomic_frames), "box": FEATOMIC_BOX, "measurements": featomic_rows},
        )
        with open(args.json, "w") as fd:
            json.dump(report, fd, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
