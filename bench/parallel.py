"""relu50 through `conslaw sweep` on one process, on the process pool and on a Dask cluster.

    python bench/parallel.py [--workers N] [--cases N]

Prints one row per mode: wall-clock seconds for the whole sweep (workers started inside the
timing, as a user would see it), the sum of the per-case times, and how many counts were
certified.  The Dask cluster is a ``distributed.LocalCluster`` of N worker processes with one
thread each (FLINT objects are not thread-safe), started before the timing; its start-up time
is printed apart.  Needs ``pip install ".[dask]"``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(REPO))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cases", type=int, default=None)
    args = ap.parse_args()

    from conslaw_flint.apps.sweep import read_specs, run_sweep

    specs = read_specs(REPO / "bench" / "cases" / "relu50.json")[: args.cases]
    rows = []

    def run(mode: str, **kw: object) -> None:
        t = time.perf_counter()
        out = run_sweep(specs, **kw)  # type: ignore[arg-type]
        wall = time.perf_counter() - t
        cert = sum(1 for r in out if r.get("certified"))
        errors = sum(1 for r in out if "error" in r)
        work = sum(float(r.get("seconds") or 0) for r in out)
        rows.append((mode, wall, work, f"{cert}/{len(out)}", errors))

    run("one process (--jobs 1)", jobs=1)
    run(f"process pool (--jobs {args.workers})", jobs=args.workers)
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        print("dask.distributed is not installed: pip install '.[dask]'", file=sys.stderr)
    else:
        t = time.perf_counter()
        with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            started = time.perf_counter() - t
            run(f"Dask LocalCluster ({args.workers} workers x 1 thread)", dask=client)
        print(f"(Dask cluster start-up, not included: {started:.1f} s)")
    print(f"\nrelu50: {len(specs)} certified counts\n")
    print(f"{'mode':<42} {'wall s':>8} {'sum of case s':>14} {'certified':>10} {'errors':>7}")
    print("-" * 85)
    for mode, wall, work, cert, errors in rows:
        print(f"{mode:<42} {wall:>8.2f} {work:>14.2f} {cert:>10} {errors:>7}")
    return 0 if all(r[4] == 0 for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
