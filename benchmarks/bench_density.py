#!/usr/bin/env python
"""Benchmark the SOAP power spectrum (rho x rho) of mslode against featomic and dscribe.

Every (library, workload, threads) measurement runs in a fresh subprocess so that
the thread count (``OMP_NUM_THREADS`` / ``RAYON_NUM_THREADS``) is fixed before
any native library is loaded, and so that peak memory is not polluted by earlier
measurements.  The parent process builds the workloads once, pickles them to a
temporary directory, starts the workers and prints a comparison table.

Usage::

    python benchmarks/bench_density.py                       # everything, 1 and 2 threads
    python benchmarks/bench_density.py --quick               # small workloads, ~1 minute
    python benchmarks/bench_density.py --threads 1 --workloads water-192 molecules-100
    python benchmarks/bench_density.py --json results.json   # also write JSON
    python benchmarks/bench_density.py --robustness          # mslode only: flat molecules, Ctrl-C latency

Timings are informative only: nothing here is a pass/fail test. The tests
check the behaviour behind the ``--robustness`` timings (flat molecules give
the reference coefficients, tests/test_neighbour_list.py; Ctrl-C stops a
long compute, tests/test_robustness.py); this script says how fast.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pickle
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

# ---------------------------------------------------------------------------
# Hyper-parameters, shared by all libraries
# ---------------------------------------------------------------------------

CUTOFF = 4.0  # Å, r_c
CUTOFF_WIDTH = 0.5  # Å, width of the shifted-cosine smoothing (mslode / featomic)
GAUSSIAN_WIDTH = 0.3  # Å, sigma of the atomic Gaussians
N_MAX = 6  # number of radial functions, n = 0 .. N_MAX - 1
L_MAX = 4  # inclusive: l = 0 .. L_MAX
CENTER_ATOM_WEIGHT = 1.0

HYPERS: Dict[str, Any] = {
    "cutoff": CUTOFF,
    "cutoff_width": CUTOFF_WIDTH,
    "gaussian_width": GAUSSIAN_WIDTH,
    "n_max": N_MAX,
    "l_max": L_MAX,
    "center_atom_weight": CENTER_ATOM_WEIGHT,
    "radial_basis": "gto",
}

LIBRARIES = ("mslode", "featomic", "dscribe")
BUSY_THRESHOLD = 0.25  # CPUs used by other processes above which a timing is flagged
MIN_TIMED = 0.5  # s: small workloads are repeated until at least this much time is timed
MAX_REPEATS = 200
SEED = 20240501

# ---------------------------------------------------------------------------
# Workloads
# ---------------------------------------------------------------------------

WATER_DENSITY = 1.0  # g / cm^3
WATER_MOLAR_MASS = 18.015  # g / mol
AVOGADRO = 6.02214076e23
OH_BOND = 0.9572  # Å
HOH_ANGLE = 104.52  # degrees
MIN_NONBONDED = 1.0  # Å, smallest allowed distance between atoms of different molecules
MOLECULE_ELEMENTS = {"H", "C", "N", "O", "F", "S", "Cl"}


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """Uniformly distributed random rotation matrix (from a normalised random quaternion)."""
    w, x, y, z = rng.normal(size=4)
    norm = math.sqrt(w * w + x * x + y * y + z * z)
    w, x, y, z = w / norm, x / norm, y / norm, z / norm
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def _water_template() -> np.ndarray:
    """Positions (O, H, H) of one water molecule, centred on its oxygen."""
    half = math.radians(HOH_ANGLE) / 2
    return np.array(
        [
            [0.0, 0.0, 0.0],
            [OH_BOND * math.sin(half), OH_BOND * math.cos(half), 0.0],
            [-OH_BOND * math.sin(half), OH_BOND * math.cos(half), 0.0],
        ]
    )


def build_water_box(n_replicas: int, seed: int = SEED, max_displacement: float = 0.4):
    """Liquid-like periodic water at 1 g/cm^3: a 64-molecule box replicated ``n_replicas``^3 times.

    Oxygens start on a simple-cubic grid (4 x 4 x 4 per 64-molecule box, spacing
    ~3.1 Å); every molecule, including those of the replicas, then gets its own
    random orientation and a random displacement of at most ``max_displacement``
    per Cartesian component.  Molecules that come closer than ``MIN_NONBONDED``
    to another molecule (periodic images included) are re-drawn until none do.
    """
    from ase import Atoms
    from ase.neighborlist import neighbor_list

    rng = np.random.default_rng(seed)
    base_volume = 64 * WATER_MOLAR_MASS / AVOGADRO / WATER_DENSITY * 1e24  # Å^3
    grid_per_box = 4
    spacing = base_volume ** (1 / 3) / grid_per_box
    n_side = grid_per_box * n_replicas
    length = spacing * n_side
    template = _water_template()

    sites = spacing * np.array(
        [(i, j, k) for i in range(n_side) for j in range(n_side) for k in range(n_side)], dtype=float
    )
    n_molecules = len(sites)
    positions = np.empty((n_molecules, 3, 3))

    def place(molecules: np.ndarray) -> None:
        for m in molecules:
            shift = rng.uniform(-max_displacement, max_displacement, size=3)
            positions[m] = template @ random_rotation(rng).T + sites[m] + shift

    place(np.arange(n_molecules))
    molecule_id = np.repeat(np.arange(n_molecules), 3)
    atoms = Atoms("OH2" * n_molecules, cell=[length] * 3, pbc=True)
    for _ in range(1000):
        atoms.positions = positions.reshape(-1, 3)
        i, j = neighbor_list("ij", atoms, MIN_NONBONDED)
        clash = molecule_id[i] != molecule_id[j]
        if not clash.any():
            break
        place(np.unique(molecule_id[i[clash]]))
    else:  # pragma: no cover - never seen with the default parameters
        raise RuntimeError("could not build a water box without overlapping molecules")
    atoms.wrap()
    return atoms


def organic_molecule_names() -> List[str]:
    """Names of the g2 molecules that contain carbon and only H, C, N, O, F, S, Cl (≤ 20 atoms)."""
    from ase.build import molecule
    from ase.collections import g2

    names = []
    for name in g2.names:
        atoms = molecule(name)
        symbols = set(atoms.get_chemical_symbols())
        if len(atoms) <= 20 and "C" in symbols and symbols <= MOLECULE_ELEMENTS:
            names.append(name)
    return sorted(names)


def build_molecules(n_molecules: int, seed: int = SEED):
    """``n_molecules`` organic g2 molecules (names cycled), each randomly rotated; no cell."""
    from ase.build import molecule

    rng = np.random.default_rng(seed)
    names = organic_molecule_names()
    frames = []
    for k in range(n_molecules):
        atoms = molecule(names[k % len(names)])
        centre = atoms.get_center_of_mass()
        atoms.positions = (atoms.positions - centre) @ random_rotation(rng).T
        atoms.cell = np.zeros((3, 3))
        atoms.pbc = False
        frames.append(atoms)
    return frames


@dataclass(frozen=True)
class Workload:
    """A named set of structures to featurise."""

    name: str
    description: str
    build: Callable[[], list]
    quick: bool = False


WORKLOADS: Dict[str, Workload] = {
    w.name: w
    for w in [
        Workload("water-192", "periodic liquid-like water, 64 molecules", lambda: [build_water_box(1)], True),
        Workload("water-1536", "periodic liquid-like water, 512 molecules", lambda: [build_water_box(2)]),
        Workload("water-12288", "periodic liquid-like water, 4096 molecules", lambda: [build_water_box(4)]),
        Workload("molecules-100", "100 randomly rotated g2 organic molecules", lambda: build_molecules(100), True),
        Workload("molecules-1000", "1000 randomly rotated g2 organic molecules", lambda: build_molecules(1000)),
    ]
}
DEFAULT_WORKLOADS = ["water-192", "water-1536", "water-12288", "molecules-1000"]
QUICK_WORKLOADS = [name for name, w in WORKLOADS.items() if w.quick]

# ---------------------------------------------------------------------------
# Calculators: each returns (compute function, library version)
# ---------------------------------------------------------------------------


def species_of(frames: Sequence) -> List[str]:
    """Sorted chemical symbols present in ``frames``."""
    return sorted({s for atoms in frames for s in atoms.get_chemical_symbols()})


def make_mslode(frames: Sequence, threads: int) -> Tuple[Callable[[], Any], str]:
    """mslode ρ⊗ρ: ``Invariants(rho, rho)`` of a ``DensityExpansion``."""
    import mslode

    rho = mslode.DensityExpansion(
        cutoff=CUTOFF,
        gaussian_width=GAUSSIAN_WIDTH,
        max_radial=N_MAX,
        max_angular=L_MAX,
        cutoff_width=CUTOFF_WIDTH,
        center_atom_weight=CENTER_ATOM_WEIGHT,
    )
    calculator = mslode.Invariants(rho, rho)

    def compute() -> Any:
        ps = calculator.compute(frames)
        return ps.values

    return compute, getattr(mslode, "__version__", "?")


def make_featomic(frames: Sequence, threads: int) -> Tuple[Callable[[], Any], str]:
    """featomic ``SoapPowerSpectrum``; its Gto ``max_radial`` is inclusive, hence N_MAX - 1."""
    import featomic

    calculator = featomic.SoapPowerSpectrum(
        cutoff={"radius": CUTOFF, "smoothing": {"type": "ShiftedCosine", "width": CUTOFF_WIDTH}},
        density={"type": "Gaussian", "width": GAUSSIAN_WIDTH, "center_atom_weight": CENTER_ATOM_WEIGHT},
        basis={
            "type": "TensorProduct",
            "max_angular": L_MAX,
            "radial": {"type": "Gto", "max_radial": N_MAX - 1},
        },
    )

    def compute() -> Any:
        return calculator.compute(frames)

    return compute, featomic.__version__


def make_dscribe(frames: Sequence, threads: int) -> Tuple[Callable[[], Any], str]:
    """dscribe ``SOAP`` (gto basis, hard cut-off); ``n_jobs`` parallelises over structures only."""
    from importlib.metadata import version

    from dscribe.descriptors import SOAP

    soap = SOAP(
        species=species_of(frames),
        r_cut=CUTOFF,
        n_max=N_MAX,
        l_max=L_MAX,
        sigma=GAUSSIAN_WIDTH,
        rbf="gto",
        periodic=bool(any(atoms.pbc.any() for atoms in frames)),
        average="off",
        sparse=False,
    )
    system = frames[0] if len(frames) == 1 else list(frames)

    def compute() -> Any:
        return soap.create(system, n_jobs=threads)

    return compute, version("dscribe")


FACTORIES: Dict[str, Callable[[Sequence, int], Tuple[Callable[[], Any], str]]] = {
    "mslode": make_mslode,
    "featomic": make_featomic,
    "dscribe": make_dscribe,
}


def values_per_atom(result: Any, n_atoms: int) -> float:
    """Number of feature values stored per atom (featomic stores sparse species blocks)."""
    if hasattr(result, "blocks"):  # metatensor TensorMap
        return sum(block.values.size for block in result.blocks()) / n_atoms
    if isinstance(result, (list, tuple)):  # dscribe: one array per structure if sizes differ
        return sum(np.asarray(item).size for item in result) / n_atoms
    return np.asarray(result).size / n_atoms


# ---------------------------------------------------------------------------
# Worker: one measurement, in its own process
# ---------------------------------------------------------------------------


def _proc_status_mb(key: str) -> Optional[float]:
    """A ``kB`` entry of /proc/self/status (Linux) in MB, or None where unavailable."""
    try:
        with open("/proc/self/status") as fd:
            for line in fd:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS counter (VmHWM) to the current RSS; Linux only."""
    try:
        with open("/proc/self/clear_refs", "w") as fd:
            fd.write("5")
    except OSError:
        return False
    return _proc_status_mb("VmHWM") is not None


def peak_rss_mb() -> float:
    """Peak resident set size of this process (since the last reset, where supported), in MB."""
    hwm = _proc_status_mb("VmHWM")
    if hwm is not None:
        return hwm
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB on Linux


def current_rss_mb() -> float:
    """Current resident set size in MB (falls back to the peak where /proc is missing)."""
    rss = _proc_status_mb("VmRSS")
    return rss if rss is not None else peak_rss_mb()


def machine_busy_seconds() -> Optional[float]:
    """CPU seconds spent by all processes on all CPUs since boot (Linux /proc/stat), or None."""
    try:
        with open("/proc/stat") as fd:
            fields = fd.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def timed_runs(
    compute: Callable[[], Any], repeats: int, budget: float, count_background: bool = True
) -> Dict[str, Any]:
    """At least ``repeats`` runs and ``MIN_TIMED`` seconds, stopping once ``budget`` s are spent.

    ``background_cpus`` is the average number of CPUs kept busy by *other*
    processes while timing (left out when ``count_background`` is False: the
    computation itself runs in worker processes).
    """
    times: List[float] = []
    cpu_times: List[float] = []
    busy_start = machine_busy_seconds()
    while (len(times) < repeats or sum(times) < MIN_TIMED) and sum(times) < budget and len(times) < MAX_REPEATS:
        start, cpu_start = time.perf_counter(), time.process_time()
        result = compute()
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
        del result
    record: Dict[str, Any] = {"times_s": times, "cpu_s": cpu_times, "best_s": min(times)}
    busy_end = machine_busy_seconds()
    if count_background and busy_start is not None and busy_end is not None:
        record["background_cpus"] = max((busy_end - busy_start) - sum(cpu_times), 0.0) / sum(times)
    return record


def run_worker(library: str, structures_file: str, threads: int, repeats: int, budget: float) -> Dict[str, Any]:
    """Time one library on one workload: one warm-up, then the best of several runs.

    Runs at least ``repeats`` times and for at least ``MIN_TIMED`` seconds (so
    that small workloads get enough samples), but stops once ``budget`` seconds
    have been spent in timed runs.  Peak
    memory is the increase of the peak RSS over the RSS after the imports and the
    loading of the structures (so it includes calculator set-up and output).  On
    Linux the kernel's peak counter is reset at that point, so transient
    allocations made while importing do not hide the computation's; elsewhere
    ``ru_maxrss`` is used, which can under-estimate small increases.
    """
    record: Dict[str, Any] = {"library": library, "threads": threads}
    with open(structures_file, "rb") as fd:
        frames = pickle.load(fd)
    n_atoms = sum(len(atoms) for atoms in frames)
    record["n_atoms"] = n_atoms
    try:
        # import before the memory baseline (import cost is not part of the peak)
        __import__({"dscribe": "dscribe.descriptors"}.get(library, library))
        if library == "mslode":
            import mslode

            mslode.DensityExpansion  # noqa: B018 - fails while not implemented
            mslode.Invariants  # noqa: B018
    except Exception as error:  # noqa: BLE001 - any failure means "not available"
        record.update(status="unavailable", reason=f"{type(error).__name__}: {error}")
        return record

    exact_peak = reset_peak_rss()
    baseline = current_rss_mb() if exact_peak else peak_rss_mb()
    start = time.perf_counter()
    compute, lib_version = FACTORIES[library](frames, threads)
    record["setup_s"] = time.perf_counter() - start
    record["version"] = lib_version

    start = time.perf_counter()
    result = compute()
    record["warmup_s"] = time.perf_counter() - start
    record["values_per_atom"] = values_per_atom(result, n_atoms)
    del result

    uses_worker_processes = library == "dscribe" and threads > 1 and len(frames) > 1
    record.update(timed_runs(compute, repeats, budget, count_background=not uses_worker_processes))
    times = record["times_s"]

    best = min(times)
    record.update(
        status="ok",
        us_per_atom=1e6 * best / n_atoms,
        peak_mb=peak_rss_mb() - baseline,
        baseline_mb=baseline,
        peak_method="VmHWM reset" if exact_peak else "ru_maxrss",
    )
    if uses_worker_processes:
        record["note"] = "joblib worker processes not included in peak memory"
    return record


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------


@dataclass
class Measurement:
    """Result of one (workload, library, threads) worker run."""

    workload: str
    library: str
    threads: int
    data: Dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.data.get("status") == "ok"


def thread_env(threads: int) -> Dict[str, str]:
    """Environment that pins every threading runtime we know of to ``threads``."""
    env = dict(os.environ)
    for variable in ("OMP_NUM_THREADS", "RAYON_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[variable] = str(threads)
    return env


def probe_mslode() -> Optional[str]:
    """Return None if mslode's density features are importable, otherwise why not."""
    code = "import mslode; mslode.DensityExpansion; mslode.Invariants"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if proc.returncode == 0:
        return None
    lines = proc.stderr.strip().splitlines()
    return lines[-1] if lines else f"exit code {proc.returncode}"


def measure(
    workload: str, library: str, threads: int, structures_file: str, args: argparse.Namespace
) -> Measurement:
    """Run one worker subprocess and parse the JSON line it prints last."""
    command = [
        sys.executable,
        os.path.abspath(__file__),
        "--worker",
        library,
        "--structures",
        structures_file,
        "--threads",
        str(threads),
        "--repeats",
        str(args.repeats),
        "--budget",
        str(args.budget),
    ]
    proc = subprocess.run(command, capture_output=True, text=True, env=thread_env(threads))
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = proc.stderr.strip().splitlines()[-1:] or [f"exit code {proc.returncode}"]
        data: Dict[str, Any] = {"status": "failed", "reason": tail[0]}
    else:
        data = json.loads(lines[-1])
    return Measurement(workload, library, threads, data)


def ratios(measurements: List[Measurement]) -> List[Dict[str, Any]]:
    """mslode vs each peer at equal workload and threads, and mslode's own thread scaling."""
    table = {(m.workload, m.library, m.threads): m for m in measurements if m.ok}
    rows: List[Dict[str, Any]] = []
    for (workload, library, threads), mine in table.items():
        if library != "mslode":
            continue
        for peer in LIBRARIES[1:]:
            other = table.get((workload, peer, threads))
            if other is None:
                continue
            rows.append(
                {
                    "workload": workload,
                    "threads": threads,
                    "peer": peer,
                    "speedup": other.data["best_s"] / mine.data["best_s"],
                    "memory_ratio": other.data["peak_mb"] / mine.data["peak_mb"]
                    if mine.data["peak_mb"] >= 0.1
                    else None,
                }
            )
        serial = table.get((workload, "mslode", 1))
        if threads > 1 and serial is not None:
            rows.append(
                {
                    "workload": workload,
                    "threads": threads,
                    "peer": "mslode, 1 thread",
                    "speedup": serial.data["best_s"] / mine.data["best_s"],
                    "memory_ratio": None,
                }
            )
    return rows


def format_tables(measurements: List[Measurement], ratio_rows: List[Dict[str, Any]]) -> str:
    """Markdown tables of the raw measurements and of the ratios."""
    out = [
        "| workload | atoms | library | threads | µs / atom | peak memory (MB) | values / atom |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for m in measurements:
        d = m.data
        if m.ok:
            note = " *" if "note" in d else ""
            busy = " †" if d.get("background_cpus", 0.0) > BUSY_THRESHOLD else ""
            out.append(
                f"| {m.workload} | {d['n_atoms']} | {m.library} {d.get('version', '')} | {m.threads} "
                f"| {d['us_per_atom']:.1f}{busy} | {d['peak_mb']:.1f}{note} | {d['values_per_atom']:.0f} |"
            )
        else:
            reason = d.get("reason", "")
            out.append(f"| {m.workload} | {d.get('n_atoms', '')} | {m.library} | {m.threads} | {d['status']}: {reason} | | |")
    if any("note" in m.data for m in measurements):
        out.append("")
        out.append("\\* dscribe with n_jobs > 1 runs in joblib worker processes, whose memory is not counted.")
    if any(m.data.get("background_cpus", 0.0) > BUSY_THRESHOLD for m in measurements):
        out.append("")
        out.append(f"† other processes kept more than {BUSY_THRESHOLD} CPU busy during the timing: re-run when idle.")

    out.append("")
    if ratio_rows:
        out.append("| workload | threads | mslode vs | speed-up (their time / mslode time) | memory ratio (their MB / mslode MB) |")
        out.append("| --- | ---: | --- | ---: | ---: |")
        for r in ratio_rows:
            memory = "" if r["memory_ratio"] is None else f"{r['memory_ratio']:.2f}"
            out.append(f"| {r['workload']} | {r['threads']} | {r['peer']} | {r['speedup']:.2f} | {memory} |")
    else:
        out.append("(no ratios: mslode was not measured)")
    return "\n".join(out)


def machine_info() -> Dict[str, Any]:
    """Where the numbers were measured."""
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as fd:
            cpu = next(line.split(":", 1)[1].strip() for line in fd if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {
        "cpu": cpu,
        "load_average_1min": os.getloadavg()[0],
        "logical_cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


# ---------------------------------------------------------------------------
# Robustness timings (mslode only)
# ---------------------------------------------------------------------------


def flat_molecules() -> list:
    """The molecules of tests/test_neighbour_list.py::test_flat_molecules: four
    atoms in a plane, one lifted off it by eps = 0 … 1e-6 Å, along each axis.
    A molecule flat to 1e-10 Å once asked the cell list for ~1e10 search bins
    (27 s for 3 atoms)."""
    from ase import Atoms

    frames = []
    for eps in [0.0, 1e-14, 1e-12, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6]:
        for axis in range(3):
            positions = np.array([[0, 0, 0], [0.9, 0.3, 0.4], [-0.3, 0.8, 0.6], [1.2, -0.7, 0.2]])
            positions[:, axis] = 0.0
            positions[1, axis] = eps
            frames.append(Atoms("H2OC", positions=positions))
    return frames


def time_flat_molecules(repeats: int = 5) -> Dict[str, Any]:
    """Best time to expand the 24 flat molecules one at a time (tables built first)."""
    import mslode

    rho = mslode.DensityExpansion(cutoff=4.0, gaussian_width=0.3, max_radial=4, max_angular=2)
    frames = flat_molecules()
    rho.compute(frames[0])
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for frame in frames:
            rho.compute(frame)
        times.append(time.perf_counter() - start)
    return {"structures": len(frames), "best_s": min(times), "per_structure_ms": 1e3 * min(times) / len(frames)}


# The workload of tests/test_robustness.py::test_ctrl_c_stops_a_long_compute:
# 8 atoms in a 4 Å cube, r_c = 50 Å (~65 000 neighbours per centre).
INTERRUPT_SCRIPT = """
import signal, sys, time
import numpy as np, ase, mslode
signal.signal(signal.SIGINT, signal.default_int_handler)
frame = ase.Atoms(numbers=[1, 6, 8, 1, 6, 8, 1, 8], cell=np.eye(3) * 4.0, pbc=True,
                  positions=np.array(np.meshgrid([0, 2], [0, 2], [0, 2])).reshape(3, -1).T)
rho = mslode.DensityExpansion(cutoff=50.0, gaussian_width=0.3, max_radial=6, max_angular=4, species=[1, 6, 8])
calculator = mslode.Invariants(rho, rho) if sys.argv[1] == "invariants" else rho
calculator.compute(ase.Atoms("OH2", positions=[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]]))
print("computing", flush=True)
try:
    calculator.compute([frame] * 2000)
    print("finished", flush=True)
except KeyboardInterrupt:
    print("interrupted", time.perf_counter(), flush=True)
"""


def time_ctrl_c(kind: str, repeats: int = 3) -> Dict[str, Any]:
    """Seconds from SIGINT (0.5 s into the compute) to KeyboardInterrupt in the
    child (perf_counter is system-wide on Linux), best and worst of `repeats`."""
    import signal

    latencies = []
    for _ in range(repeats):
        process = subprocess.Popen([sys.executable, "-c", INTERRUPT_SCRIPT, kind], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        try:
            if process.stdout.readline().strip() != "computing":
                return {"status": "failed", "reason": process.stderr.read().strip().splitlines()[-1:]}
            time.sleep(0.5)
            sent = time.perf_counter()
            process.send_signal(signal.SIGINT)
            stdout, _ = process.communicate(timeout=120)
            received = time.perf_counter()
        finally:
            process.kill()
        fields = stdout.split()
        if "interrupted" not in fields:
            return {"status": "not interrupted", "stdout": stdout}
        child = float(fields[fields.index("interrupted") + 1])
        latencies.append(child - sent if sys.platform.startswith("linux") else received - sent)
    return {"status": "ok", "best_s": min(latencies), "worst_s": max(latencies)}


def run_robustness() -> int:
    """Print the robustness timings; mslode only."""
    missing = probe_mslode()
    if missing:
        print(f"mslode unavailable ({missing})", file=sys.stderr)
        return 1
    flat = time_flat_molecules()
    print(f"flat molecules: {flat['structures']} structures in {flat['best_s']:.3f} s "
          f"({flat['per_structure_ms']:.2f} ms each)")
    for kind in ("expansion", "invariants"):
        result = time_ctrl_c(kind)
        if result["status"] == "ok":
            print(f"Ctrl-C, {kind}: KeyboardInterrupt {result['best_s']:.3f}-{result['worst_s']:.3f} s after SIGINT")
        else:
            print(f"Ctrl-C, {kind}: {result}")
    return 0


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts (default: 1 2)")
    parser.add_argument("--quick", action="store_true", help=f"only the small workloads {QUICK_WORKLOADS}")
    parser.add_argument("--workloads", nargs="+", choices=list(WORKLOADS), help="workloads to run")
    parser.add_argument("--libraries", nargs="+", choices=LIBRARIES, default=list(LIBRARIES))
    parser.add_argument("--repeats", type=int, default=3, help="timed repetitions after the warm-up (best is kept)")
    parser.add_argument("--budget", type=float, default=20.0, help="stop repeating after this many seconds")
    parser.add_argument("--json", metavar="FILE", help="also write all results to FILE as JSON")
    parser.add_argument("--robustness", action="store_true",
                        help="only mslode's flat-molecule time and Ctrl-C latency")
    # internal: run a single measurement
    parser.add_argument("--worker", choices=LIBRARIES, help=argparse.SUPPRESS)
    parser.add_argument("--structures", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    if args.worker:
        record = run_worker(args.worker, args.structures, args.threads[0], args.repeats, args.budget)
        print(json.dumps(record))
        return 0
    if args.robustness:
        return run_robustness()

    workloads = args.workloads or (QUICK_WORKLOADS if args.quick else DEFAULT_WORKLOADS)
    load = os.getloadavg()[0]
    if load > 0.5:
        print(f"warning: 1-minute load average is {load:.2f}; other processes will distort the timings",
              file=sys.stderr)
    libraries = list(args.libraries)
    mslode_missing = probe_mslode() if "mslode" in libraries else None
    if mslode_missing:
        print(f"mslode unavailable ({mslode_missing}); measuring the peers only", file=sys.stderr)

    measurements: List[Measurement] = []
    with tempfile.TemporaryDirectory(prefix="bench_density_") as tmp:
        for name in workloads:
            start = time.perf_counter()
            frames = WORKLOADS[name].build()
            path = os.path.join(tmp, f"{name}.pkl")
            with open(path, "wb") as fd:
                pickle.dump(frames, fd)
            n_atoms = sum(len(atoms) for atoms in frames)
            print(f"# {name}: {n_atoms} atoms in {len(frames)} structure(s), built in "
                  f"{time.perf_counter() - start:.1f} s", file=sys.stderr)
            for library in libraries:
                for threads in args.threads:
                    if library == "mslode" and mslode_missing:
                        data = {"status": "unavailable", "reason": mslode_missing, "n_atoms": n_atoms}
                        measurements.append(Measurement(name, library, threads, data))
                        continue
                    m = measure(name, library, threads, path, args)
                    measurements.append(m)
                    shown = f"{m.data['us_per_atom']:.1f} µs/atom" if m.ok else m.data.get("status")
                    print(f"#   {library:8s} {threads} thread(s): {shown}", file=sys.stderr)

    ratio_rows = ratios(measurements)
    info = machine_info()
    print(f"\nMachine: {info['cpu']}, {info['logical_cpus']} logical CPUs; {info['platform']}")
    print(f"Hyper-parameters: {HYPERS}\n")
    print(format_tables(measurements, ratio_rows))

    if args.json:
        report = {
            "machine": info,
            "hypers": HYPERS,
            "workloads": {name: WORKLOADS[name].description for name in workloads},
            "measurements": [{"workload": m.workload, **m.data} for m in measurements],
            "ratios": ratio_rows,
        }
        with open(args.json, "w") as fd:
            json.dump(report, fd, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
