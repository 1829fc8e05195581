"""Benchmarks of conslaw_flint against the reference notebooks (design.md §6).

Usage::

    python bench/run.py SUITE [--json OUT] [--seed S] [--cases N] [--timeout SECONDS]

SUITE is one of ``reference``, ``linear50``, ``relu50``, ``linear10_deg2``, ``relu10_deg2``,
``scale`` or ``all``.  Every case runs in a fresh process (``multiprocessing`` with the
``spawn`` start method), so its peak memory (``ru_maxrss`` of that process) is its own; the
time is measured inside that process around the computation only: building the model and
computing, not interpreter start-up nor importing the library.

Every count is computed to the end: there is no early stop at a known answer and no known
formula is used; a row is "certified" only when the exact lower and upper bounds met.

The case files live in ``bench/cases`` (copies of the reference's suites; override with the
environment variable ``CONSLAW_CASES``).  Their widths are listed from the output side, as the
reference lists them; counts do not depend on the orientation, and our specifications use the
reversed list (input side first).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(REPO))

RESULTS = REPO / "bench" / "results"
#: suites of millisecond cases, reported as the fastest of 3 runs by default
SMALL_SUITES = ("reference", "linear50", "relu50", "linear10_deg2", "relu10_deg2")
SUITES = ("reference", "linear50", "relu50", "linear10_deg2", "relu10_deg2", "scale", "scale2",
          "laws")
GIB = 1024.0  # MiB


@dataclass(frozen=True)
class Case:
    """One benchmark case: a model specification and what to compute."""

    spec: str
    task: str  # "count" or "laws"
    degree: int | None = None  # for "laws": the degree
    ref_seconds: float | None = None  # the reference's time (its early-stop time)
    ref_lower_bound: bool = False  # the reference gave up: its time is a lower bound
    homogeneous: bool = True  # for "laws": exactly ``degree`` (else degree <= ``degree``)
    target_seconds: float | None = None  # issue 10's targets (scale2, laws)
    target_mib: float | None = None
    refusal_ok: bool = False  # a one-line refusal within target_seconds also meets the target


# ---------------------------------------------------------------------------------------------
# suites

#: the reference notebooks' times, in our width order (input side first)
REFERENCE: tuple[Case, ...] = (
    Case("linear:3,4,5", "count", None, 2.1),
    Case("linear:4,5,4,3", "count", None, 5.8),
    Case("linear:5,5,5,5", "count", None, 13.7),
    Case("linear:2,5,3,4,2", "count", None, 68.1),
    Case("relu:2,2,5,3", "count", None, 2.0),
    Case("relu-bias:3,4,3", "count", None, 1.4),
    Case("relu:4,6,5,3", "count", None, 13.2),
    Case("relu-bias:3,5,6,4", "count", None, 18.5),
    Case("relu:5,9,9,4", "count", None, 97.8),
    Case("relu:8,5,8,5,5", "count", None, 448.0),
    Case("relu:9,9,9,9,9", "count", None, 600.0, ref_lower_bound=True),
    Case("linear:3,4,2", "laws", 2, 4.9),
    Case("linear:2,3,4,3", "laws", 2, 27.9),
    Case("relu:3,4,2", "laws", 2, 4.6),
    Case("relu:2,3,4,3", "laws", 2, 35.3),
)

#: issue 10's count targets (whole computation in the case's process, exact and certified)
SCALE2: tuple[Case, ...] = (
    Case("relu:16,16,16,16", "count", target_seconds=5),
    Case("relu-bias:16,16,16,16", "count", target_seconds=8),
    Case("relu:24,24,24,24", "count", target_seconds=60, target_mib=4 * GIB),
    Case("relu:32,32,32,32", "count", target_seconds=60, target_mib=4 * GIB),
    Case("relu:8,8,8,8,8,8,8", "count", target_seconds=60, target_mib=4 * GIB),
    Case("linear:16,16,16,16", "count", target_seconds=15, target_mib=2 * GIB),
    Case("linear:6,6,6,6,6,6,6,6", "count", target_seconds=30),
    Case("product:500", "count", target_seconds=2),
    Case("product:1000", "count", target_seconds=5),
    Case("random:30,2,3,0", "count", target_seconds=10),
)

#: issue 10's law targets
LAWS: tuple[Case, ...] = (
    Case("relu:8,8,8", "laws", 3, target_seconds=2),
    Case("relu:5,5,5", "laws", 4, target_seconds=5),
    Case(str(REPO / "bench" / "models" / "ode10.json"), "laws", 5, homogeneous=False,
         target_seconds=3),
    Case("linear:3,4,5", "laws", 6, homogeneous=False, target_seconds=10,
         target_mib=2 * GIB, refusal_ok=True),
)

SCALE: tuple[Case, ...] = (
    Case("relu:9,9,9,9,9", "count"),
    Case("linear:8,8,8,8,8", "count"),
)


def cases_dir() -> Path:
    """The folder of the case files, ``bench/cases`` (``CONSLAW_CASES`` overrides it)."""
    env = os.environ.get("CONSLAW_CASES")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent / "cases"


def spec_of(kind: str, widths: Sequence[int], bias: bool) -> str:
    """Our specification of a case listed from the output side (widths reversed)."""
    if kind == "linear" and bias:
        raise ValueError("a linear case with bias: linear nets have no biases")
    prefix = "relu-bias" if (kind == "relu" and bias) or kind == "relu-bias" else kind
    return prefix + ":" + ",".join(str(int(w)) for w in reversed(widths))


def load_cases_file(name: str) -> list[Case]:
    """The cases of ``cases_dir()/name.json``."""
    path = cases_dir() / f"{name}.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise SystemExit(f"bench: case file {path} not found; set CONSLAW_CASES") from None
    task = data["task"]
    degree = data.get("degree") if task == "laws" else None
    return [Case(spec_of(c.get("kind", data["kind"]), c["widths"], bool(c.get("bias"))),
                 task, degree) for c in data["cases"]]


def suite_cases(suite: str) -> list[Case]:
    """The cases of one suite."""
    if suite == "reference":
        return list(REFERENCE)
    if suite == "scale":
        return list(SCALE)
    if suite == "scale2":
        return list(SCALE2)
    if suite == "laws":
        return list(LAWS)
    return load_cases_file(suite)


# ---------------------------------------------------------------------------------------------
# one case in a fresh process


def _peak_mib() -> float:
    import resource

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024.0 * 1024.0) if sys.platform == "darwin" else rss / 1024.0


def _child(case: Case, seed: int, conn: Connection, repeat: int = 1) -> None:
    """Run one case ``repeat`` times and send its row through ``conn`` (in a spawned
    process); ``seconds`` is the fastest run, ``first_seconds`` the first (cold) one."""
    try:
        from conslaw_flint.errors import UserError
        from conslaw_flint.models import build_model

        try:  # the layout since issue 13
            from conslaw_flint.algorithms.certify import count_laws
            from conslaw_flint.algorithms.laws import DEFAULT_MAX_UNKNOWNS, polynomial_laws
        except ImportError:  # an older checkout (bench/run.py of another worktree)
            from conslaw_flint.certify import count_laws  # type: ignore[no-redef]
            from conslaw_flint.laws import (  # type: ignore[no-redef]
                DEFAULT_MAX_UNKNOWNS,
                polynomial_laws,
            )

        # every module of the library, and the dependencies it imports lazily (networkx for
        # the bracket graph, numpy.ma on NumPy's first np.unique), are imported outside the
        # timing: the times are those of the computation, whatever the import layout
        import importlib
        import pkgutil

        import networkx  # noqa: F401
        import numpy.ma  # noqa: F401

        # the solver's floors only (not the verifier, the apps or the torch bridge)
        import conslaw_flint

        here = Path(conslaw_flint.__file__).parent
        for floor in ("core", "models", "algorithms"):
            if not (here / floor).is_dir():  # an older checkout with a flat layout
                continue
            pkg = importlib.import_module(f"conslaw_flint.{floor}")
            for info in pkgutil.iter_modules(pkg.__path__, f"conslaw_flint.{floor}."):
                if not info.name.endswith("torch_module"):
                    importlib.import_module(info.name)

        row: dict[str, Any] = {}
        times: list[float] = []
        for _ in range(max(1, repeat)):
            t0 = time.perf_counter()
            model = build_model(case.spec)
            if case.task == "count":
                res = count_laws(model, seed=seed)
            else:
                assert case.degree is not None
                try:
                    lres = polynomial_laws(model, case.degree, homogeneous=case.homogeneous,
                                           seed=seed, max_unknowns=DEFAULT_MAX_UNKNOWNS)
                except UserError as e:
                    if not case.refusal_ok:
                        raise
                    conn.send({"refused": str(e).splitlines()[0], "D": model.D, "d": model.d,
                               "seconds": time.perf_counter() - t0, "peak_mib": _peak_mib()})
                    return
            times.append(time.perf_counter() - t0)
        seconds = min(times)
        row["first_seconds"] = times[0]
        if case.task == "count":
            row.update(laws=res.laws_lower if res.certified else None,
                       laws_lower=res.laws_lower, laws_upper=res.laws_upper,
                       certified=res.certified, method=res.method,
                       lie_rank=res.lie_rank_lower, level_ranks=list(res.lie.level_ranks))
        else:
            row.update(laws=len(lres.basis), independent=len(lres.independent),
                       certified=None, unknowns=lres.unknowns)
        row.update(D=model.D, d=model.d, seconds=seconds, peak_mib=_peak_mib())
        conn.send(row)
    except BaseException as e:  # noqa: BLE001 - reported as the row's error
        conn.send({"error": f"{type(e).__name__}: {e}".splitlines()[0],
                   "peak_mib": _peak_mib()})
    finally:
        conn.close()


def run_case(case: Case, seed: int, timeout: float | None, repeat: int = 1) -> dict[str, Any]:
    """Run ``case`` in a fresh spawned process; return its row (with ``error`` on failure)."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(case, seed, child, repeat), daemon=True)
    wall0 = time.perf_counter()
    proc.start()
    child.close()
    row: dict[str, Any]
    try:
        if parent.poll(timeout):
            row = parent.recv()
        else:
            proc.kill()
            row = {"error": f"timeout after {timeout:g} s"}
    except EOFError:
        proc.join()
        row = {"error": f"process died (exit code {proc.exitcode}; out of memory?)"}
    finally:
        proc.join(5)
        if proc.is_alive():
            proc.kill()
            proc.join()
    row["wall"] = time.perf_counter() - wall0
    base: dict[str, Any] = {"case": case.spec, "task": case.task, "degree": case.degree}
    base.update(row)
    if case.ref_seconds is not None:
        base["ref_seconds"] = case.ref_seconds
        base["ref_lower_bound"] = case.ref_lower_bound
        if base.get("seconds"):
            base["speedup"] = case.ref_seconds / max(base["seconds"], 1e-6)
    return base


# ---------------------------------------------------------------------------------------------
# targets (bench/README.md)


def _scale_ok(rows: list[dict[str, Any]], spec: str, limit: float) -> str | None:
    row = next((r for r in rows if r["case"] == spec), None)
    if row is None:
        return None
    ok = (row.get("certified") is True and row.get("seconds", 1e9) <= limit
          and row.get("peak_mib", 1e9) <= 2 * GIB)
    return f"{spec} certified <= {limit:g} s, peak <= 2 GiB: {'met' if ok else 'NOT met'}"


def targets(suite: str, rows: list[dict[str, Any]], totals: dict[str, Any]) -> list[str]:
    """Lines stating whether the suite's targets are met."""
    clean = totals["errors"] == 0 and totals["certified"] == totals["count_cases"]
    verdict: Callable[[bool], str] = lambda ok: "met" if ok else "NOT met"  # noqa: E731
    if suite == "reference":
        ok = clean and all(r.get("speedup", 0) >= 100 for r in rows)
        return [f"every row >= 100x faster than the reference: {verdict(ok)}"]
    if suite in ("linear50", "relu50"):
        limit = 20.0 if suite == "linear50" else 30.0
        ok = clean and totals["seconds"] <= limit
        return [f"all certified, total <= {limit:g} s: {verdict(ok)}"]
    if suite.endswith("_deg2"):
        ok = totals["errors"] == 0 and totals["seconds"] <= 5.0
        return [f"total <= 5 s: {verdict(ok)}"]
    if suite == "scale":
        lines = [_scale_ok(rows, "relu:9,9,9,9,9", 20.0),
                 _scale_ok(rows, "linear:8,8,8,8,8", 60.0)]
        return [s for s in lines if s]
    if suite in ("scale2", "laws"):
        out = []
        cases = {c.spec: c for c in suite_cases(suite)}
        for r in rows:
            c = cases[r["case"]]
            assert c.target_seconds is not None
            ok = "error" not in r and r.get("seconds", 1e9) <= c.target_seconds
            if c.target_mib is not None:
                ok = ok and r.get("peak_mib", 1e9) <= c.target_mib
            if r["task"] == "count":
                ok = ok and r.get("certified") is True
            if "refused" in r:
                ok = ok and c.refusal_ok
            mem = f", peak <= {c.target_mib / GIB:g} GiB" if c.target_mib is not None else ""
            how = "refused at once or finishes" if c.refusal_ok else (
                "certified" if r["task"] == "count" else "finishes")
            out.append(f"{_short(r['case'])} {how} <= {c.target_seconds:g} s{mem}: "
                       f"{verdict(ok)}")
        return out
    return []


def _short(spec: str) -> str:
    return spec if len(spec) <= 40 else "..." + spec[-37:]


# ---------------------------------------------------------------------------------------------
# tables


def _fmt_laws(row: dict[str, Any]) -> str:
    if "error" in row:
        return "error"
    if "refused" in row:
        return "refused"
    if row["task"] == "count" and not row.get("certified"):
        return f"{row['laws_lower']}..{row['laws_upper']}"
    return str(row["laws"])


def _fmt_cert(row: dict[str, Any]) -> str:
    if "error" in row:
        return "ERROR"
    if "refused" in row:
        return "n/a"
    if row["task"] != "count":
        return "n/a"
    return "yes" if row.get("certified") else "NO"


def format_table(suite: str, rows: list[dict[str, Any]], totals: dict[str, Any]) -> str:
    """The printed table of a suite, with totals and target verdicts."""
    ref = suite == "reference"
    head = ["case", "task", "D", "d", "laws", "certified", "seconds", "peak MiB"]
    if ref:
        head += ["ref s", "speed-up"]
    table = [head]
    for r in rows:
        task = r["task"] if r["task"] == "count" else f"laws deg {r['degree']}"
        line = [_short(r["case"]), task, str(r.get("D", "-")), str(r.get("d", "-")), _fmt_laws(r),
                _fmt_cert(r),
                f"{r['seconds']:.3f}" if "seconds" in r else "-",
                f"{r['peak_mib']:.0f}" if "peak_mib" in r else "-"]
        if ref:
            mark = ">=" if r.get("ref_lower_bound") else ""
            line += [f"{mark}{r['ref_seconds']:g}",
                     f"{mark}{r['speedup']:.0f}x" if "speedup" in r else "-"]
        table.append(line)
    widths = [max(len(t[i]) for t in table) for i in range(len(head))]
    out = [f"== {suite} =="]
    for i, t in enumerate(table):
        out.append("  ".join(c.ljust(w) if j == 0 else c.rjust(w)
                             for j, (c, w) in enumerate(zip(t, widths, strict=True))).rstrip())
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    cert = (f"{totals['certified']}/{totals['count_cases']} certified"
            if totals["count_cases"] else "no count cases")
    out.append(f"total: {totals['seconds']:.3f} s over {totals['cases']} cases, "
               f"max peak {totals['max_peak_mib']:.0f} MiB, {cert}, {totals['errors']} errors "
               f"(wall clock with process start-up {totals['wall']:.1f} s)")
    if ref and totals.get("min_speedup") is not None:
        out.append(f"speed-up over the reference: min {totals['min_speedup']:.0f}x, "
                   f"total time {totals['ref_seconds']:g} s vs {totals['seconds']:.3f} s")
    for line in targets(suite, rows, totals):
        out.append(f"target: {line}")
    return "\n".join(out)


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals of a suite: time, memory, certified / count cases, errors."""
    count_rows = [r for r in rows if r["task"] == "count"]
    speedups = [r["speedup"] for r in rows if "speedup" in r]
    return {
        "cases": len(rows),
        "seconds": sum(r.get("seconds", 0.0) for r in rows),
        "max_peak_mib": max((r.get("peak_mib", 0.0) for r in rows), default=0.0),
        "certified": sum(1 for r in count_rows if r.get("certified") is True),
        "count_cases": len(count_rows),
        "errors": sum(1 for r in rows if "error" in r),
        "wall": sum(r.get("wall", 0.0) for r in rows),
        "min_speedup": min(speedups) if speedups else None,
        "ref_seconds": sum(r.get("ref_seconds", 0.0) for r in rows) if speedups else None,
    }


def run_suite(suite: str, seed: int, limit: int | None, timeout: float | None,
              verbose: bool, repeat: int | None = None) -> dict[str, Any]:
    """Run every case of ``suite`` (the first ``limit`` ones) sequentially.

    ``repeat`` runs per case (fastest reported; the first, cold run is kept as
    ``first_seconds``); by default 3 for the reference suite, whose times are the reference's
    fastest of 2-3 in-process runs, and 1 elsewhere."""
    if repeat is None:
        # millisecond cases: the fastest of 3 in the case's process (a cold first run pays
        # first-call costs of NumPy and FLINT that vary by a few ms); large cases run once
        repeat = 3 if suite in SMALL_SUITES else 1
    cases = suite_cases(suite)[:limit]
    rows = []
    for i, case in enumerate(cases, 1):
        if verbose:
            print(f"[{suite} {i}/{len(cases)}] {case.spec} ...", file=sys.stderr, flush=True)
        rows.append(run_case(case, seed, timeout, repeat))
    totals = summarize(rows)
    return {"suite": suite, "seed": seed, "rows": rows, "totals": totals,
            "targets": targets(suite, rows, totals)}


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Command line of the benchmark runner; returns 1 when a case errored or was not
    certified."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("suite", choices=(*SUITES, "all"))
    ap.add_argument("--json", metavar="OUT",
                    help="where to write the results (default bench/results/SUITE.json)")
    ap.add_argument("--seed", type=int, default=0, help="seed of points and primes")
    ap.add_argument("--cases", type=int, metavar="N", help="only the first N cases")
    ap.add_argument("--timeout", type=float, default=1800.0, metavar="SECONDS",
                    help="kill a case after this long (default 1800)")
    ap.add_argument("--quiet", action="store_true", help="no per-case progress on stderr")
    ap.add_argument("--repeat", type=int, metavar="N",
                    help="runs per case in its process, fastest reported (default: 3 for the "
                         "suites of millisecond cases, as the reference's fastest of 2-3 "
                         "runs; 1 for scale, scale2 and laws)")
    args = ap.parse_args(argv)
    suites = SUITES if args.suite == "all" else (args.suite,)
    results = {}
    bad = False
    for suite in suites:
        res = run_suite(suite, args.seed, args.cases, args.timeout, not args.quiet,
                        args.repeat)
        results[suite] = res
        print(format_table(suite, res["rows"], res["totals"]), flush=True)
        print()
        t = res["totals"]
        bad |= t["errors"] > 0 or t["certified"] < t["count_cases"]
        if args.suite == "all" or not args.json:
            _write_json(RESULTS / f"{suite}.json", res)
    if args.json:
        _write_json(Path(args.json), results if args.suite == "all" else results[args.suite])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
