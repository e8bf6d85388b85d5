#!/usr/bin/env python
"""Benchmark mslode's periodic potential features V and rho x V, against featomic's LODE.

Three measurements, all in one run (so that the ratios share the machine's state):

1. ``periodic``: liquid-like water boxes of 192, 1536, 12 288 and 98 304 atoms
   (pbc in x, y, z) and a 328-atom Li(100) slab with one water molecule above
   it (a 3-D periodic cell with >= 15 Å of vacuum along z): time and peak
   memory of ``PotentialExpansion(..., accuracy=1e-6)`` (V) and of
   ``Invariants(DensityExpansion(...), V)`` (rho x V), the ratio rho x V / V,
   and the scaling exponent of the time with the number of atoms.
2. ``featomic``: ``LodeSphericalExpansion`` (same call as ``bench_potential``)
   on the systems small enough for its memory, which grows as atoms x k-vectors
   (k-vectors ∝ cell volume), so as N^2 at fixed density (~4.8 GB for 768
   atoms of water; the slab, mostly vacuum, ~4.3 GB at 328 atoms): by default
   the 192-atom box and the slab (``--featomic-max-atoms 400``); larger ones
   are skipped with a note. Ratios featomic / mslode.
3. ``clusters``: finite water clusters of ~10^3, 10^4, 10^5 atoms (pbc False,
   ``bench_potential.water_clusters``): V by the direct O(N^2) path and by the
   free-space mesh path, when ``PotentialExpansion`` has a keyword selecting it
   (a parameter whose name contains "finite" or "mesh"); otherwise the direct
   path only, and the report says the mesh path is absent.

Every measurement runs in a fresh subprocess (``--worker``) with the same thread
count for every code (``bench_density.thread_env``: OMP / RAYON / MKL /
OPENBLAS_NUM_THREADS), so that the peak memory (VmHWM increase over the
post-import baseline, ``ru_maxrss`` where /proc is missing) is per code and
per system. A worker still running after ``--timeout`` seconds is killed and
reported as "> timeout".

Usage::

    python benchmarks/bench_periodic.py                        # everything, 2 threads
    python benchmarks/bench_periodic.py --quick                # water 192 and 1536 + slab
    python benchmarks/bench_periodic.py --no-mslode --quick    # featomic only (192 water + slab)
    python benchmarks/bench_periodic.py --sizes 192 1536 12288 --no-clusters --json periodic.json

Timings are informative only: nothing here is a pass/fail test.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_density import (  # noqa: E402
    BUSY_THRESHOLD,
    _water_template,
    build_water_box,
    current_rss_mb,
    machine_info,
    peak_rss_mb,
    reset_peak_rss,
    thread_env,
    timed_runs,
)
from bench_potential import (  # noqa: E402
    CENTER_ATOM_WEIGHT,
    CUTOFF,
    GAUSSIAN_WIDTH,
    HYPERS,
    L_MAX,
    N_MAX,
    _busy,
    _dump,
    _failure,
    _ok,
    atomic_numbers_of,
    log,
    warmup_frames,
    water_clusters,
)

# ---------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------

ACCURACY = 1e-6  # PotentialExpansion(accuracy=...): target error of the periodic sum
WATER_SIZES = [192, 1536, 12288, 98304]  # 192 n^3 atoms: bench_density's 64-molecule box, n^3 replicas
QUICK_WATER_SIZES = [192, 1536]
WATER_MAX_DISPLACEMENT = 0.3  # Å per component off the 3.105 Å grid: O–O >= 2.5 Å guaranteed
CLUSTER_SIZES = [1000, 10000, 100000]  # target atoms (whole molecules: 999, 9999, 99 999)
LI_LATTICE = 3.51  # Å, bcc Li
SLAB_SIZE = (5, 5, 13)  # atoms per layer along x, y; layers
SLAB_VACUUM = 15.0  # Å between the highest atom (the water's) and the periodic image of the bottom layer
WATER_HEIGHT = 2.2  # Å, O above the top-layer Li atom it sits on
FEATOMIC_MAX_ATOMS = 400
FEATOMIC_GB_AT_768 = 4.8  # featomic LODE memory for 768 atoms of water; N^2 at fixed density
PERIODIC_WARMUP_ATOMS = 2000  # above this, the periodic warm-up runs on the 192-atom box
MESH_HINTS = ("finite", "mesh")  # PotentialExpansion parameter names that would select the finite method

FEATURES = {"V": "V", "rhoV": "ρ⊗V", "featomic": "LODE"}

# ---------------------------------------------------------------------------
# Workloads
# ---------------------------------------------------------------------------


def water_box(n_atoms: int):
    """Periodic liquid water of ``n_atoms`` (192 n^3): ``bench_density.build_water_box``, O–O >= 2.5 Å."""
    replicas = round((n_atoms / 192) ** (1 / 3))
    if 192 * replicas**3 != n_atoms:
        raise ValueError(f"water boxes have 192 n^3 atoms (192, 1536, 5184, 12288, ...), not {n_atoms}")
    return build_water_box(replicas, max_displacement=WATER_MAX_DISPLACEMENT)


def li_slab_with_water():
    """bcc Li(100), a = 3.51 Å, 13 layers of 5 x 5 atoms, one H2O above it; 3-D periodic with vacuum.

    The water's oxygen sits ``WATER_HEIGHT`` above the top-layer Li nearest the
    middle of the surface, hydrogens pointing away from the surface; the cell
    edge along z leaves ``SLAB_VACUUM`` between the highest hydrogen and the
    periodic image of the bottom layer. ``pbc`` is True in all three directions.
    """
    from ase import Atoms
    from ase.build import bcc100

    slab = bcc100("Li", size=SLAB_SIZE, a=LI_LATTICE, vacuum=None, orthogonal=True)
    positions = slab.positions.copy()
    positions[:, 2] -= positions[:, 2].min()
    top = np.flatnonzero(np.isclose(positions[:, 2], positions[:, 2].max()))
    middle = slab.cell.array[0] / 2 + slab.cell.array[1] / 2
    site = positions[top[np.argmin(np.linalg.norm(positions[top, :2] - middle[:2], axis=1))]]
    # template: O at the origin, both H at +y; turn +y into +z (H away from the surface)
    rotation = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
    water = _water_template() @ rotation.T + site + np.array([0.0, 0.0, WATER_HEIGHT])
    all_positions = np.vstack([positions, water])
    height = all_positions[:, 2].max() + SLAB_VACUUM
    cell = np.array([slab.cell.array[0], slab.cell.array[1], [0.0, 0.0, height]])
    atoms = Atoms("Li" * len(slab) + "OH2", positions=all_positions, cell=cell, pbc=True)
    atoms.positions[:, 2] += SLAB_VACUUM / 2  # centred along z; the content is the same either way
    return atoms


def describe(atoms) -> Dict[str, Any]:
    from ase.neighborlist import neighbor_list

    i, j, d = neighbor_list("ijd", atoms, 3.0)
    oxygen = atoms.numbers == 8
    oo = d[oxygen[i] & oxygen[j]]
    return {
        "n_atoms": len(atoms),
        "formula": atoms.get_chemical_formula(),
        "cell": atoms.cell.array.tolist(),
        "pbc": atoms.pbc.tolist(),
        "min_distance": float(d.min()) if len(d) else None,
        "min_oo": float(oo.min()) if len(oo) else None,
    }


# ---------------------------------------------------------------------------
# Workers: one measurement each, in a fresh process
# ---------------------------------------------------------------------------


def potential_parameters() -> Dict[str, Any]:
    """The keyword parameters of ``mslode.PotentialExpansion`` (name -> default)."""
    import inspect

    import mslode

    out = {}
    for name, parameter in inspect.signature(mslode.PotentialExpansion).parameters.items():
        default = parameter.default
        out[name] = None if default is inspect.Parameter.empty else default
    return out


def worker_mslode(kind: str, frames: List[Any], warm: List[Any], options: Dict[str, Any],
                  repeats: int, budget: float) -> Dict[str, Any]:
    """``kind`` = "V" (PotentialExpansion) or "rhoV" (Invariants(DensityExpansion, V))."""
    import mslode

    species = atomic_numbers_of(list(frames) + list(warm))
    accepted = potential_parameters()
    kwargs: Dict[str, Any] = dict(HYPERS, species=species)
    if "accuracy" in accepted:
        kwargs["accuracy"] = ACCURACY
    kwargs.update(options)
    record: Dict[str, Any] = {"version": getattr(mslode, "__version__", "?"), "accuracy": kwargs.get("accuracy"),
                              "options": options}
    if hasattr(mslode, "instruction_set"):
        record["instruction_set"] = mslode.instruction_set()
    exact_peak = reset_peak_rss()
    baseline = current_rss_mb() if exact_peak else peak_rss_mb()

    start = time.perf_counter()
    V = mslode.PotentialExpansion(**kwargs)
    if hasattr(V, "radial_table"):
        V.radial_table()
    if kind == "V":
        calculator = V
    else:
        rho = mslode.DensityExpansion(species=species, **HYPERS)
        calculator = mslode.Invariants(rho, V)
    record["setup_s"] = time.perf_counter() - start

    start = time.perf_counter()
    result = calculator.compute(warm).values
    record["warmup_s"] = time.perf_counter() - start
    record["warmup_atoms"] = sum(len(a) for a in warm)
    record["values_per_atom"] = int(np.prod(result.shape[1:]))
    del result

    record.update(timed_runs(lambda: calculator.compute(frames).values, repeats, budget))
    record.update(peak_mb=peak_rss_mb() - baseline, peak_method="VmHWM reset" if exact_peak else "ru_maxrss")
    return record


def worker_featomic(frames: List[Any], warm: List[Any], repeats: int, budget: float) -> Dict[str, Any]:
    """featomic ``LodeSphericalExpansion``, p = 1, its default k_cutoff (1.2π/σ); the call of bench_potential."""
    import featomic

    record: Dict[str, Any] = {"version": featomic.__version__}
    exact_peak = reset_peak_rss()
    baseline = current_rss_mb() if exact_peak else peak_rss_mb()
    start = time.perf_counter()
    calculator = featomic.LodeSphericalExpansion(
        density={
            "type": "SmearedPowerLaw",
            "smearing": GAUSSIAN_WIDTH,
            "exponent": 1,
            "center_atom_weight": CENTER_ATOM_WEIGHT,
        },
        basis={
            "type": "TensorProduct",
            "max_angular": L_MAX,
            "radial": {"type": "Gto", "max_radial": N_MAX - 1, "radius": CUTOFF},  # inclusive max_radial
        },
    )
    record["setup_s"] = time.perf_counter() - start
    start = time.perf_counter()
    result = calculator.compute(warm)
    record["warmup_s"] = time.perf_counter() - start
    record["warmup_atoms"] = sum(len(a) for a in warm)
    record["values_per_atom"] = sum(block.values.size for block in result.blocks()) / record["warmup_atoms"]
    del result
    record.update(timed_runs(lambda: calculator.compute(frames), repeats, budget))
    record.update(peak_mb=peak_rss_mb() - baseline, peak_method="VmHWM reset" if exact_peak else "ru_maxrss")
    return record


def run_worker(args: argparse.Namespace) -> Dict[str, Any]:
    import pickle

    with open(args.structures, "rb") as fd:
        workload = pickle.load(fd)
    frames, warm = workload["frames"], workload["warmup"]
    options = json.loads(args.options) if args.options else {}
    record: Dict[str, Any] = {"kind": args.worker, "threads": args.threads, "system": workload["name"],
                              "n_atoms": sum(len(a) for a in frames)}
    try:
        if args.worker == "featomic":
            record.update(worker_featomic(frames, warm, args.repeats, args.budget))
        else:
            record.update(worker_mslode(args.worker, frames, warm, options, args.repeats, args.budget))
    except ImportError as error:
        record.update(status="unavailable", reason=f"{type(error).__name__}: {error}")
        return record
    record.update(status="ok", us_per_atom=1e6 * record["best_s"] / record["n_atoms"])
    return record


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------

PROBE = """
import inspect, json
out = {}
try:
    import mslode
    out["version"] = getattr(mslode, "__version__", "?")
    parameters = inspect.signature(mslode.PotentialExpansion).parameters
    out["parameters"] = {k: (None if p.default is inspect.Parameter.empty else repr(p.default))
                         for k, p in parameters.items()}
    out["defaults"] = {k: p.default for k, p in parameters.items()
                       if isinstance(p.default, (bool, int, float, str))}
    mslode.DensityExpansion, mslode.Invariants
    out["status"] = "ok"
except Exception as error:
    out["status"] = "unavailable"
    out["reason"] = f"{type(error).__name__}: {error}"
print(json.dumps(out))
"""


def probe_mslode() -> Dict[str, Any]:
    """PotentialExpansion's parameters, in a subprocess (the parent never imports mslode)."""
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=thread_env(1))
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = proc.stderr.strip().splitlines()[-1:] or [f"exit code {proc.returncode}"]
        return {"status": "unavailable", "reason": tail[0]}
    return json.loads(lines[-1])


def probe_featomic() -> Optional[str]:
    """None if featomic is importable, otherwise why not."""
    proc = subprocess.run([sys.executable, "-c", "import featomic"], capture_output=True, text=True)
    if proc.returncode == 0:
        return None
    lines = proc.stderr.strip().splitlines()
    return lines[-1] if lines else f"exit code {proc.returncode}"


def _literal(text: str) -> Any:
    """``--mesh-values`` items: JSON literals (true, 3, 0.5, null) as such, anything else as a string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def mesh_options(probe: Dict[str, Any], args: argparse.Namespace) -> Optional[Dict[str, Dict[str, Any]]]:
    """{"direct": kwargs, "mesh": kwargs} selecting the finite path, or None when there is no such keyword.

    The keyword is ``--mesh-keyword`` or the first PotentialExpansion parameter
    whose name contains "finite" (then "mesh") and whose default is a boolean or
    a string (not None: ``mesh_spacing=None`` is a periodic setting); its values are ``--mesh-values`` or, for a boolean default,
    False / True, otherwise "direct" / "mesh".
    """
    parameters = probe.get("parameters", {})
    defaults = probe.get("defaults", {})
    if args.mesh_keyword:
        if args.mesh_keyword not in parameters:
            log(f"# --mesh-keyword {args.mesh_keyword}: PotentialExpansion has no such parameter")
            return None
        name = args.mesh_keyword
    else:
        # a selector has a boolean or string default (a numeric one, e.g. a mesh spacing, is not a selector);
        # names with "finite" first
        candidates = [p for h in MESH_HINTS for p in parameters if h in p.lower()
                      and p in defaults and isinstance(defaults[p], (bool, str))]
        if not candidates:
            return None
        name = candidates[0]
    default = defaults.get(name)
    if args.mesh_values:
        values = [_literal(v) for v in args.mesh_values]
    elif isinstance(default, bool):
        values = [False, True]
    else:
        values = ["direct", "mesh"]
    return {"direct": {name: values[0]}, "mesh": {name: values[1]}}


def measure(kind: str, structures: str, args: argparse.Namespace, options: Optional[Dict[str, Any]] = None,
            **extra: Any) -> Dict[str, Any]:
    """Run one worker subprocess; parse the JSON line it prints last; "timeout" after ``--timeout`` s."""
    command = [sys.executable, os.path.abspath(__file__), "--worker", kind, "--structures", structures,
               "--threads", str(args.threads), "--repeats", str(args.repeats), "--budget", str(args.budget)]
    if options:
        command += ["--options", json.dumps(options)]
    base: Dict[str, Any] = {"kind": kind, "threads": args.threads, "options": options or {}, **extra}
    try:
        proc = subprocess.run(command, capture_output=True, text=True, env=thread_env(args.threads),
                              timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {**base, "status": "timeout", "reason": f"> {args.timeout:.0f} s"}
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = proc.stderr.strip().splitlines()[-1:] or [f"exit code {proc.returncode}"]
        if proc.returncode < 0:
            tail = [f"killed by signal {-proc.returncode} (out of memory?)"]
        return {**base, "status": "failed", "reason": tail[0]}
    return {**base, **json.loads(lines[-1])}


def _shown(d: Dict[str, Any]) -> str:
    if not _ok(d):
        return _failure(d)
    return f"{d['best_s']:.4g} s, {d['us_per_atom']:.2f} µs/atom, {d['peak_mb']:.0f} MB{_busy(d)}"


def _time(d: Optional[Dict[str, Any]]) -> str:
    if d is None:
        return ""
    if d.get("status") == "timeout":
        return d["reason"]
    return f"{d['best_s']:.4g}{_busy(d)}" if _ok(d) else _failure(d)


def _ratio(a: Optional[Dict[str, Any]], b: Optional[Dict[str, Any]], key: str = "best_s") -> Optional[float]:
    if _ok(a) and _ok(b) and b[key] > (0.1 if key == "peak_mb" else 0.0):
        return a[key] / b[key]
    return None


def _fmt(x: Optional[float], digits: int = 2) -> str:
    return "" if x is None else f"{x:.{digits}f}"


def ratios(rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Per periodic system: ρ⊗V / V, featomic / mslode V and ρ⊗V (time), featomic / mslode V (memory)."""
    table = {(d["system"], d["kind"]): d for d in rows}
    out = []
    for system in dict.fromkeys(d["system"] for d in rows):
        v, rv, f = table.get((system, "V")), table.get((system, "rhoV")), table.get((system, "featomic"))
        out.append({
            "system": system,
            "n_atoms": next(d["n_atoms"] for d in rows if d["system"] == system),
            "rhoV_over_V": _ratio(rv, v),
            "featomic_over_V": _ratio(f, v),
            "featomic_over_rhoV": _ratio(f, rv),
            "featomic_over_V_memory": _ratio(f, v, "peak_mb"),
            "featomic_over_rhoV_memory": _ratio(f, rv, "peak_mb"),
        })
    return out


def scaling(series: Dict[str, List[Dict[str, Any]]]) -> List[Dict[str, Any]]:
    """log-log slopes of time vs atoms: between consecutive sizes and a least-squares fit over all."""
    out = []
    for label, items in series.items():
        items = sorted((d for d in items if _ok(d)), key=lambda d: d["n_atoms"])
        for a, b in zip(items, items[1:]):
            out.append({"series": label, "from_atoms": a["n_atoms"], "to_atoms": b["n_atoms"],
                        "exponent": math.log(b["best_s"] / a["best_s"]) / math.log(b["n_atoms"] / a["n_atoms"])})
        if len(items) > 2:
            x = np.log([d["n_atoms"] for d in items])
            y = np.log([d["best_s"] for d in items])
            out.append({"series": label, "from_atoms": items[0]["n_atoms"], "to_atoms": items[-1]["n_atoms"],
                        "exponent": float(np.polyfit(x, y, 1)[0]), "fit": "least squares, all sizes"})
    return out


def format_periodic(rows: List[Dict[str, Any]]) -> str:
    out = [
        "| system | atoms | code | features | time (s) | µs / atom | peak memory (MB) | setup (s) | warm-up (s) |",
        "| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for d in rows:
        code = "featomic" if d["kind"] == "featomic" else "mslode"
        code += f" {d['version']}" if d.get("version") else ""
        head = f"| {d['system']} | {d['n_atoms']} | {code} | {FEATURES[d['kind']]}"
        if not _ok(d):
            out.append(f"{head} | {_time(d)} | | | | |")
            continue
        out.append(f"{head} | {_time(d)} | {d['us_per_atom']:.1f} | {d['peak_mb']:.1f} "
                   f"| {d['setup_s']:.2f} | {d['warmup_s']:.3g} |")
    return "\n".join(out)


def format_ratios(items: List[Dict[str, Any]]) -> str:
    out = [
        "| system | atoms | ρ⊗V / V | featomic / mslode V | featomic / mslode ρ⊗V | memory featomic / V | memory featomic / ρ⊗V |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in items:
        out.append(f"| {r['system']} | {r['n_atoms']} | {_fmt(r['rhoV_over_V'])} | {_fmt(r['featomic_over_V'], 1)} "
                   f"| {_fmt(r['featomic_over_rhoV'], 1)} | {_fmt(r['featomic_over_V_memory'], 1)} "
                   f"| {_fmt(r['featomic_over_rhoV_memory'], 1)} |")
    return "\n".join(out)


def format_scaling(items: List[Dict[str, Any]]) -> str:
    out = ["| series | atoms | time ∝ N^k, k = |", "| --- | --- | ---: |"]
    for s in items:
        span = f"{s['from_atoms']} → {s['to_atoms']}" + (" (fit, all sizes)" if "fit" in s else "")
        out.append(f"| {s['series']} | {span} | {s['exponent']:.2f} |")
    return "\n".join(out)


def format_clusters(rows: List[Dict[str, Any]]) -> str:
    out = [
        "| atoms | path | time (s) | µs / atom | ns / pair | peak memory (MB) | setup (s) | mesh / direct |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    table = {(d["n_atoms"], d["path"]): d for d in rows}
    for d in rows:
        head = f"| {d['n_atoms']} | {d['path']}"
        if not _ok(d):
            out.append(f"{head} | {_time(d)} | | | | | |")
            continue
        ratio = _ratio(d, table.get((d["n_atoms"], "direct"))) if d["path"] == "mesh" else None
        out.append(f"{head} | {_time(d)} | {d['us_per_atom']:.1f} | {1e9 * d['best_s'] / d['n_atoms'] ** 2:.2f} "
                   f"| {d['peak_mb']:.1f} | {d['setup_s']:.2f} | {_fmt(ratio)} |")
    return "\n".join(out)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", help=f"water box sizes in atoms, 192 n^3 (default {WATER_SIZES})")
    parser.add_argument("--cluster-sizes", type=int, nargs="+", default=CLUSTER_SIZES,
                        help=f"finite cluster sizes in atoms (default {CLUSTER_SIZES})")
    parser.add_argument("--quick", action="store_true",
                        help=f"water {QUICK_WATER_SIZES} and the slab only (no clusters)")
    parser.add_argument("--threads", type=int, default=2, help="threads for every code (default 2)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repetitions after the warm-up (best is kept)")
    parser.add_argument("--budget", type=float, default=20.0, help="stop repeating after this many seconds")
    parser.add_argument("--timeout", type=float, default=900.0,
                        help="kill a worker after this many seconds, reported as '> timeout' (default 900)")
    parser.add_argument("--no-mslode", action="store_true", help="skip mslode (e.g. to test the featomic side)")
    parser.add_argument("--no-featomic", action="store_true", help="skip the featomic reference")
    parser.add_argument("--featomic-max-atoms", type=int, default=FEATOMIC_MAX_ATOMS,
                        help=f"skip featomic above this many atoms, its memory is O(N^2) (default {FEATOMIC_MAX_ATOMS})")
    parser.add_argument("--no-slab", action="store_true", help="skip the Li slab")
    parser.add_argument("--no-clusters", action="store_true", help="skip the finite clusters")
    parser.add_argument("--mesh-keyword", help="PotentialExpansion keyword selecting the finite path (default: detected)")
    parser.add_argument("--mesh-values", nargs=2, metavar=("DIRECT", "MESH"),
                        help="its values for the direct and the mesh path (default: False/True or direct/mesh)")
    parser.add_argument("--json", metavar="FILE", help="also write all results to FILE as JSON")
    # internal: run a single measurement
    parser.add_argument("--worker", choices=["V", "rhoV", "featomic"], help=argparse.SUPPRESS)
    parser.add_argument("--structures", help=argparse.SUPPRESS)
    parser.add_argument("--options", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(run_worker(args)))
        return 0

    sizes = args.sizes or (QUICK_WATER_SIZES if args.quick else WATER_SIZES)
    wrong = [n for n in sizes if 192 * round((n / 192) ** (1 / 3)) ** 3 != n]
    if wrong:
        log(f"error: water boxes have 192 n^3 atoms (192, 1536, 5184, 12288, ...), not {wrong}")
        return 2
    cluster_sizes = [] if (args.quick or args.no_clusters) else args.cluster_sizes
    load = os.getloadavg()[0]
    if load > 0.5:
        log(f"warning: 1-minute load average is {load:.2f}; other processes will distort the timings")
    started = time.perf_counter()
    report: Dict[str, Any] = {"machine": machine_info(), "hypers": HYPERS, "accuracy": ACCURACY,
                              "threads": args.threads}

    probe: Dict[str, Any] = {"status": "skipped", "reason": "--no-mslode"}
    if not args.no_mslode:
        probe = probe_mslode()
        if probe["status"] != "ok":
            log(f"# mslode unavailable ({probe.get('reason')}): measuring featomic only")
        else:
            absent = "accuracy" not in probe.get("parameters", {})
            log(f"# mslode {probe.get('version')}: PotentialExpansion{tuple(probe['parameters'])}"
                + ("; no `accuracy` parameter yet, periodic systems will probably fail" if absent else ""))
    use_mslode = probe["status"] == "ok"
    featomic_missing = None if args.no_featomic else probe_featomic()
    use_featomic = not args.no_featomic and featomic_missing is None
    if featomic_missing:
        log(f"# featomic not importable ({featomic_missing}): reference skipped")
    report["mslode_probe"] = probe
    report["featomic_skipped"] = "--no-featomic" if args.no_featomic else featomic_missing

    periodic_rows: List[Dict[str, Any]] = []
    cluster_rows: List[Dict[str, Any]] = []
    systems: Dict[str, Any] = {}
    featomic_notes: List[str] = []
    mesh = mesh_options(probe, args) if use_mslode else None
    with tempfile.TemporaryDirectory(prefix="bench_periodic_") as tmp:
        # 1. and 2. periodic systems
        small = None
        builds = [(f"water-{n}", (lambda n=n: water_box(n))) for n in sizes]
        if not args.no_slab:
            builds.append(("li-slab-328", li_slab_with_water))
        for name, build in builds:
            start = time.perf_counter()
            atoms = build()
            info = describe(atoms)
            systems[name] = info
            log(f"# {name}: {info['formula']}, {len(atoms)} atoms, built in {time.perf_counter() - start:.1f} s; "
                f"closest pair {info['min_distance']:.2f} Å" + (f", O–O {info['min_oo']:.2f} Å" if info["min_oo"] else ""))
            if len(atoms) > PERIODIC_WARMUP_ATOMS:
                small = small or water_box(192)
                warm = [small]
            else:
                warm = [atoms]
            path = _dump({"name": name, "frames": [atoms], "warmup": warm}, tmp, name)  # type: ignore[arg-type]
            kinds = (["V", "rhoV"] if use_mslode else []) + (["featomic"] if use_featomic else [])
            for kind in kinds:
                if kind == "featomic" and len(atoms) > args.featomic_max_atoms:
                    estimate = FEATOMIC_GB_AT_768 * (len(atoms) / 768) ** 2
                    reason = (f"{len(atoms)} atoms > --featomic-max-atoms {args.featomic_max_atoms} "
                              f"(O(N²) memory, ~{estimate:.3g} GB expected at water density)")
                    d = {"kind": kind, "threads": args.threads, "system": name, "status": "skipped", "reason": reason}
                    featomic_notes.append(f"{name}: {reason}")
                else:
                    d = measure(kind, path, args, system=name)
                d.setdefault("n_atoms", len(atoms))
                d.setdefault("system", name)
                periodic_rows.append(d)
                log(f"#   {name} {FEATURES[kind]:4s} {args.threads} thread(s): {_shown(d)}")

        # 3. finite clusters, direct vs mesh
        if use_mslode and cluster_sizes:
            start = time.perf_counter()
            clusters = water_clusters(cluster_sizes)
            log(f"# water clusters {[len(c) for c in clusters.values()]} atoms, built in "
                f"{time.perf_counter() - start:.1f} s; "
                + (f"mesh path: {mesh['mesh']}" if mesh else "PotentialExpansion has no keyword selecting a mesh "
                   "path: direct path only"))
            paths = mesh if mesh else {"direct": {}}
            for size, atoms in clusters.items():
                name = f"cluster-{len(atoms)}"
                systems[name] = {"n_atoms": len(atoms), "formula": atoms.get_chemical_formula(), "pbc": [False] * 3}
                path = _dump({"name": name, "frames": [atoms], "warmup": warmup_frames([atoms])}, tmp, name)  # type: ignore[arg-type]
                for label, options in paths.items():
                    d = measure("V", path, args, options, system=name, path=label)
                    d.setdefault("n_atoms", len(atoms))
                    cluster_rows.append(d)
                    log(f"#   {name} V {label:6s} {args.threads} thread(s): {_shown(d)}")

    ratio_rows = ratios(periodic_rows)
    water = [d for d in periodic_rows if d["system"].startswith("water-")]
    series = {f"water, {FEATURES[k]} ({'featomic' if k == 'featomic' else 'mslode'})": [d for d in water if d["kind"] == k]
              for k in ("V", "rhoV", "featomic")}
    series.update({f"clusters, V {p}": [d for d in cluster_rows if d["path"] == p]
                   for p in dict.fromkeys(d["path"] for d in cluster_rows)})
    scaling_rows = scaling(series)

    info = report["machine"]
    print(f"\nMachine: {info['cpu']}, {info['logical_cpus']} logical CPUs; {info['platform']}; "
          f"load average at start {info['load_average_1min']:.2f}")
    print(f"Hyper-parameters: {HYPERS}, V accuracy {ACCURACY:g}; {args.threads} thread(s) for every code; "
          f"total run time {time.perf_counter() - started:.0f} s\n")
    print("## Periodic systems\n")
    for name, s in systems.items():
        if not name.startswith("cluster-"):
            lengths = " × ".join(f"{np.linalg.norm(v):.2f}" for v in s["cell"])
            print(f"- {name}: {s['formula']}, {s['n_atoms']} atoms, cell {lengths} Å, pbc {s['pbc']}")
    print()
    print(format_periodic(periodic_rows))
    print("\nsetup = calculator construction (and V's radial table), not timed; warm-up = first compute "
          f"(on the 192-atom box above {PERIODIC_WARMUP_ATOMS} atoms)\n")
    print(format_ratios(ratio_rows))
    if featomic_notes:
        print("\nfeatomic skipped: " + "; ".join(featomic_notes))
    if cluster_rows:
        print("\n## Finite water clusters (pbc False), V\n")
        if not mesh:
            print("The mesh path is absent: PotentialExpansion has no keyword selecting it "
                  f"(looked for a parameter named like {' / '.join(MESH_HINTS)}); direct path only.\n")
        print(format_clusters(cluster_rows))
    if scaling_rows:
        print()
        print(format_scaling(scaling_rows))
    if any(d.get("background_cpus", 0.0) > BUSY_THRESHOLD for d in periodic_rows + cluster_rows):
        print(f"\n† other processes kept more than {BUSY_THRESHOLD} CPU busy during the timing: re-run when idle.")

    if args.json:
        report.update(systems=systems, periodic=periodic_rows, ratios=ratio_rows, clusters=cluster_rows,
                      mesh_options=mesh, scaling=scaling_rows, featomic_notes=featomic_notes)
        with open(args.json, "w") as fd:
            json.dump(report, fd, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
