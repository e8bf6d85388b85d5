"""Time and memory of model fits (``docs/models.md``; results in
``benchmarks/README.md``, "Models").

Two workloads, each in a fresh subprocess with the thread count set before
numpy is imported:

- ``krr``: ``SparseKernelRidge`` on N synthetic structures of ~20 atoms
  (H, C, O on a jittered grid), ρ⊗ρ features (3 species, n_max 9,
  l_max 7: 3024 features), ζ = 2, M active environments, fixed α and
  kernel weights (the solve, not a grid search), solver "auto".
- ``ridge``: ``Ridge`` on N structures (ρ⊗V, n_max 4, l_max 2, 1296
  columns), streaming with the Cholesky solver and 5-fold cross-validation
  of 13 regularisers; run at two sizes to show that the memory does not
  grow with N (per-structure sums are never held for all structures,
  per-atom rows only for one chunk).

Reported: wall time of ``fit`` (and of computing the features alone, and
of the kernel/Gram work that remains), and the increase of the peak RSS
over the RSS before ``fit`` (Linux VmHWM, reset at that point).

    python benchmarks/bench_models.py krr --structures 30000 --active 4000      # the full run
    python benchmarks/bench_models.py krr --quick                               # 3000 structures, M = 1000
    python benchmarks/bench_models.py ridge --structures 20000 100000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def make_frames(n: int, seed: int, atoms: int = 20) -> list:
    """n structures of ``atoms`` atoms (H, C, O) on a jittered 3×3×3 grid, spacing 1.5 Å."""
    import ase
    import numpy as np

    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(*[np.arange(3)] * 3, indexing="ij"), -1).reshape(-1, 3) * 1.5
    frames = []
    for _ in range(n):
        sites = rng.choice(len(grid), atoms, replace=False)
        frames.append(ase.Atoms(numbers=rng.choice([1, 6, 8], atoms), positions=grid[sites] + rng.normal(0, 0.15, (atoms, 3))))
    return frames


def target(frames: list) -> Any:
    """A smooth many-body property: Σ_{i<j} exp(−r_ij) q_i q_j with q = Z/8."""
    import numpy as np

    out = np.empty(len(frames))
    for k, frame in enumerate(frames):
        q = frame.numbers / 8.0
        r = frame.get_all_distances()
        i, j = np.triu_indices(len(frame), 1)
        out[k] = np.sum(np.exp(-r[i, j]) * q[i] * q[j])
    return out


def run_krr(structures: int, active: int, chunk: int, candidates: Optional[int]) -> Dict[str, Any]:
    import numpy as np

    import mslode
    from bench_density import peak_rss_mb, reset_peak_rss

    rho = mslode.DensityExpansion(cutoff=4.0, gaussian_width=0.3, max_radial=9, max_angular=7, species=[1, 6, 8])
    soap = mslode.Invariants(rho, rho)
    frames = make_frames(structures, seed=1)
    y = target(frames)
    n_features = soap.compute(frames[:1]).values.shape[1]
    start = time.perf_counter()
    for k in range(0, len(frames), chunk):
        soap.compute(frames[k : k + chunk])
    features_seconds = time.perf_counter() - start
    model = mslode.SparseKernelRidge([soap], zeta=2, n_active=active, alphas=1e-6, kernel_weights=None,
                                     chunk_size=chunk, n_candidates=candidates)
    selection = {}
    prepare = model._prepare

    def timed_prepare(*args: Any) -> None:  # the candidates' features and the FPS of the active set
        begin = time.perf_counter()
        prepare(*args)
        selection["seconds"] = time.perf_counter() - begin

    model._prepare = timed_prepare
    exact = reset_peak_rss()
    start = time.perf_counter()
    model.fit(frames, y)
    fit_seconds = time.perf_counter() - start
    del model._prepare
    peak = peak_rss_mb()
    test = make_frames(500, seed=2)
    error = mslode.rmse_percent(target(test), model.predict(test))
    return dict(workload="krr", structures=structures, atoms=sum(len(f) for f in frames), active=active,
                features=n_features, chunk=chunk, candidates=candidates, solver=model.solver_,
                features_seconds=features_seconds, fit_seconds=fit_seconds, selection_seconds=selection["seconds"], peak_rss_increase_mb=peak, exact_peak=exact, test_rmse_percent=error)


def run_ridge(structures: int, chunk: int) -> Dict[str, Any]:
    import mslode
    from bench_density import peak_rss_mb, reset_peak_rss

    rho = mslode.DensityExpansion(cutoff=4.0, gaussian_width=0.3, max_radial=4, max_angular=2, species=[1, 6, 8])
    V = mslode.PotentialExpansion(cutoff=4.0, gaussian_width=0.3, max_radial=4, max_angular=2, species=[1, 6, 8])
    rho_v = mslode.Invariants(rho, V)
    frames = make_frames(structures, seed=3)
    y = target(frames)
    n_features = rho_v.compute(frames[:1]).values.shape[1]
    model = mslode.Ridge([rho_v], solver="cholesky", chunk_size=chunk)
    exact = reset_peak_rss()
    start = time.perf_counter()
    model.fit(frames, y)
    fit_seconds = time.perf_counter() - start
    peak = peak_rss_mb()
    test = make_frames(500, seed=4)
    error = mslode.rmse_percent(target(test), model.predict(test))
    return dict(workload="ridge", structures=structures, atoms=sum(len(f) for f in frames), columns=3 * n_features,
                chunk=chunk, solver=model.solver_, alpha=model.alpha_, fit_seconds=fit_seconds,
                peak_rss_increase_mb=peak, exact_peak=exact, test_rmse_percent=error)


def in_subprocess(args: List[str], threads: int) -> Dict[str, Any]:
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", *args], env=env, check=True,
                         capture_output=True, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["threads"] = threads
    result["load_average"] = os.getloadavg()[0]
    return result


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workload", choices=["krr", "ridge"])
    parser.add_argument("--structures", type=int, nargs="+", default=None)
    parser.add_argument("--active", type=int, default=4000)
    parser.add_argument("--chunk", type=int, default=100)
    parser.add_argument("--candidates", type=int, default=None, help="krr: n_candidates (default: the model's, 5 M per species)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="krr: 3000 structures, M = 1000; ridge: 2000 and 10000")
    parser.add_argument("--json", default=None, help="write the results to this file")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.worker:
        n = args.structures[0]
        result = run_krr(n, args.active, args.chunk, args.candidates) if args.workload == "krr" else run_ridge(n, args.chunk)
        print(json.dumps(result))
        return 0
    if args.workload == "krr":
        sizes = args.structures or ([3000] if args.quick else [30000])
        active = 1000 if args.quick and args.structures is None else args.active
        extra = [] if args.candidates is None else ["--candidates", str(args.candidates)]
        results = [in_subprocess(["krr", "--structures", str(n), "--active", str(active), "--chunk", str(args.chunk), *extra],
                                 args.threads) for n in sizes]
    else:
        sizes = args.structures or ([2000, 10000] if args.quick else [20000, 100000])
        results = [in_subprocess(["ridge", "--structures", str(n), "--chunk", str(args.chunk)], args.threads) for n in sizes]
    for result in results:
        print(json.dumps(result))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
