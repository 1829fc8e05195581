"""Certified counts for many models at once: ``conslaw sweep FILE --jobs N``.

FILE is either

* a cases JSON file ``{"kind": "linear" | "relu", "cases": [{"widths": [...], "bias": b}]}``
  (the format of the shared benchmark suites).  Its widths are listed from the output side, as
  the reference notebooks list them; counts do not depend on the orientation, and the model
  built is ours with the list reversed: ``{"widths": [3, 2, 2]}`` of kind ``relu`` is
  ``relu:2,2,3``, with ``"bias": true`` it is ``relu-bias:2,2,3``.  A case may also carry its
  own ``"kind"``, or be ``{"spec": "product:3"}``; a plain JSON list of spec strings works too;
* or a text file with one model specification per line (blank lines and lines starting with
  ``#`` are ignored).

A specification may end with ``|flow=FLOW`` and ``|subset=VARS``; ``--flow`` and ``--subset``
append them to every case (so resumed rows match the options they were computed with).

Each case runs :func:`conslaw_flint.certify.count_laws` in a worker process (a process pool
with the ``spawn`` start method: FLINT objects are not thread-safe, so never threads), or on a
Dask cluster with ``--dask ADDRESS`` (workers must run one thread each).  One JSON line per
finished case is appended to OUT (default: FILE's stem + ``.results.jsonl``) and flushed at
once: the fields of ``conslaw count --json`` plus ``"spec"`` and ``"seconds"`` (model build
and count, measured in the worker), or ``{"spec": ..., "error": "one line"}`` for a case that
failed (an invalid model, say).  A failed case never stops the others.

The sweep is resumable: on a rerun, specs that already have a successful line in OUT are
skipped (failed ones are retried).  Exit code 0 when every case has a result, 1 when some case
failed (its error line is in OUT), 2 when the input is bad.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, TextIO

from ..errors import UserError
from ..io.files import check_output_path

DIED = "worker process died (killed, or out of memory?)"
#: largest cases file read
MAX_CASES_BYTES = 10_000_000
#: the version of the results: a row computed by another version is not resumed
RESULTS_VERSION = "conslaw-sweep-2"


# ---------------------------------------------------------------------------------------------
# input


def _case_spec(case: Any, kind: Any, where: str) -> str:
    if isinstance(case, str):
        return case.strip()
    if not isinstance(case, dict):
        raise UserError(f"{where}: expected an object with 'widths' or 'spec'")
    if "spec" in case:
        if not isinstance(case["spec"], str):
            raise UserError(f"{where}: 'spec' must be a string")
        return case["spec"].strip()
    kind = case.get("kind", kind)
    widths = case.get("widths")
    if kind not in ("linear", "relu", "relu-bias"):
        raise UserError(f"{where}: kind {kind!r} must be linear, relu or relu-bias")
    if (not isinstance(widths, list) or not widths
            or not all(isinstance(w, int) and not isinstance(w, bool) for w in widths)):
        raise UserError(f"{where}: 'widths' must be a non-empty list of integers")
    bias = case.get("bias", False)
    if not isinstance(bias, bool):
        raise UserError(f"{where}: 'bias' must be true or false")
    if kind == "linear" and bias:
        raise UserError(f"{where}: linear nets have no biases; drop \"bias\": true")
    prefix = "relu-bias" if kind == "relu-bias" or (kind == "relu" and bias) else kind
    # the file lists widths from the output side; ours start at the input side
    return prefix + ":" + ",".join(str(w) for w in reversed(widths))


def specs_from_json(data: Any, name: str = "cases file") -> list[str]:
    """Model specifications of a cases JSON document (see the module docstring)."""
    if isinstance(data, list):
        cases, kind = data, None
    elif isinstance(data, dict) and isinstance(data.get("cases"), list):
        cases, kind = data["cases"], data.get("kind")
    else:
        raise UserError(f"{name}: expected a 'cases' list (or a list of model specs)")
    return [_case_spec(c, kind, f"{name}, case {i + 1}") for i, c in enumerate(cases)]


def read_specs(path: str | os.PathLike[str]) -> list[str]:
    """The model specifications listed in FILE (a cases JSON file or one spec per line)."""
    p = Path(path)
    from ..models.files import read_limited

    raw = read_limited(str(p), MAX_CASES_BYTES, "cases file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UserError(f"cannot read {str(p)!r}: it is not UTF-8 text") from None
    stripped = text.lstrip()
    if p.suffix.lower() == ".json" or stripped.startswith(("{", "[")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise UserError(f"{p.name}: invalid JSON ({e.msg}, line {e.lineno})") from None
        specs = specs_from_json(data, p.name)
    else:
        specs = [s.strip() for s in text.splitlines()]
        specs = [s for s in specs if s and not s.startswith("#")]
    if not specs:
        raise UserError(f"{p.name}: no model specifications found")
    return specs


def default_out(path: str | os.PathLike[str]) -> str:
    """FILE's stem + ``.results.jsonl``, next to FILE."""
    p = Path(path)
    return str(p.with_name(p.stem + ".results.jsonl"))


def case_key(spec: str, options: dict[str, Any]) -> str:
    """What a result depends on: the spec, every option that changes it (degree, seed,
    limits) and the results' version, hashed; a row is resumed only under the same key."""
    import hashlib

    text = json.dumps({"spec": spec, "options": options, "version": RESULTS_VERSION},
                      sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def read_done(out: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """Rows already in OUT, by key (lines that are not JSON objects with a key -- cut by a
    crash, corrupted, not UTF-8, written by an older version -- are ignored)."""
    done: dict[str, dict[str, Any]] = {}
    try:
        with open(out, "rb") as fh:
            for raw in fh:
                try:
                    row = json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
                    continue
                if isinstance(row, dict) and isinstance(row.get("key"), str) \
                        and isinstance(row.get("spec"), str):
                    done[row["key"]] = row
    except FileNotFoundError:
        pass
    except OSError as e:
        raise UserError(f"cannot read {str(out)!r}: {e.strerror or e}") from None
    return done


def _worker_init() -> None:
    """In each worker: die with the parent (Linux: PR_SET_PDEATHSIG), so that a killed sweep
    leaves no worker computing for minutes."""
    import signal

    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C


# ---------------------------------------------------------------------------------------------
# one case (runs in a worker process)


def run_case(spec: str, degree: int = 4, seed: int = 0, max_unknowns: int | None = None,
             time_limit: float | None = None) -> dict[str, Any]:
    """Count the laws of one model: the ``conslaw count --json`` fields plus ``spec`` and
    ``seconds``, or ``{"spec", "error"}``; never raises for a bad case."""
    try:
        from ..algorithms.certify import count_laws
        from ..algorithms.laws import DEFAULT_MAX_UNKNOWNS
        from ..algorithms.subsets import build_with_options

        t0 = time.perf_counter()
        model = build_with_options(spec)
        res = count_laws(model, degree=degree, seed=seed,
                         max_unknowns=max_unknowns or DEFAULT_MAX_UNKNOWNS,
                         time_limit=time_limit)
        seconds = time.perf_counter() - t0
        row: dict[str, Any] = {"spec": spec}
        row.update(res.to_dict())
        row["seconds"] = round(seconds, 3)
        return row
    except Exception as e:  # noqa: BLE001 - one bad case must not stop the sweep
        msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
        if not isinstance(e, UserError):
            msg = f"{type(e).__name__}: {msg}" if msg else type(e).__name__
        return {"spec": spec, "error": msg}


# ---------------------------------------------------------------------------------------------
# progress


class _Progress:
    """tqdm on stderr when installed, else a one-line counter."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.n, self.bar = total, 0, None
        self.enabled = enabled and total > 0
        if self.enabled:
            try:
                from tqdm import tqdm

                self.bar = tqdm(total=total, file=sys.stderr, unit="case", leave=False)
            except ImportError:
                self.bar = None

    def update(self, row: dict[str, Any]) -> None:
        self.n += 1
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.set_postfix_str(row["spec"][:40], refresh=False)
            self.bar.update(1)
        else:
            print(f"\r[{self.n}/{self.total}] {row['spec'][:60]:<60}", end="",
                  file=sys.stderr, flush=True)

    def close(self) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.close()
        else:
            print("\r" + " " * 80 + "\r", end="", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# the sweep


def _open_out(out: str, inputs: Iterable[str] = ()) -> TextIO:
    """OUT opened for appending and locked (a second sweep on the same OUT is refused),
    starting on a fresh line (a crash may have cut the last)."""
    check_output_path(out, inputs=list(inputs), what="results")
    try:
        fh = open(out, "a+", encoding="utf-8")  # noqa: SIM115 - closed by the caller
    except OSError as e:
        raise UserError(f"cannot write {out!r}: {e.strerror or e}") from None
    try:
        import fcntl

        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        raise UserError(f"another sweep is writing {out!r}; wait for it or give another "
                        "--out") from None
    except (ImportError, OSError):
        pass
    if fh.tell() > 0:
        fh.seek(fh.tell() - 1)
        if fh.read(1) != "\n":
            fh.write("\n")
    return fh


def _pool_run(todo: list[str], jobs: int, task: Callable[[str], dict[str, Any]],
              emit: Callable[[dict[str, Any]], None]) -> list[str]:
    """Run ``todo`` on a spawn process pool; return the specs whose worker died."""
    from functools import partial

    broken: list[str] = []
    ex = ProcessPoolExecutor(max_workers=min(jobs, len(todo)),
                             mp_context=mp.get_context("spawn"), initializer=_worker_init)
    finished = False
    try:
        futures: dict[Future[dict[str, Any]], str] = {
            ex.submit(partial(task, s)): s for s in todo}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in done:
                try:
                    emit(f.result())
                except BrokenProcessPool:
                    broken.append(futures[f])
        finished = True
    finally:
        if not finished:  # interrupted (Ctrl-C, SIGTERM) or failed: stop the workers now
            for proc in list(getattr(ex, "_processes", {}).values()):
                proc.terminate()
        ex.shutdown(wait=finished, cancel_futures=True)
    return broken


def _dask_client(dask: Any) -> tuple[Any, bool]:
    try:
        from distributed import Client
    except ImportError:
        raise UserError("--dask needs dask.distributed: pip install 'conslaw_flint[dask]'") \
            from None
    if not isinstance(dask, str):
        return dask, False  # a Client given by the caller (its workers are its business)
    try:
        client = Client(dask, timeout="20s")
    except (OSError, TimeoutError, ValueError) as e:
        raise UserError(f"cannot connect to the Dask scheduler at {dask!r}: "
                        f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    many = {w: n for w, n in client.nthreads().items() if n > 1}
    if many:
        client.close()
        raise UserError(f"Dask workers run {max(many.values())} threads each; FLINT is not "
                        "thread-safe: start them with --nthreads 1")
    return client, True


def _dask_run(todo: list[str], client: Any, task: Callable[[str], dict[str, Any]],
              emit: Callable[[dict[str, Any]], None]) -> None:
    """Run ``todo`` on a Dask cluster (workers with one thread each)."""
    from distributed import as_completed

    tag = uuid.uuid4().hex[:12]
    futures = {client.submit(task, s, key=f"conslaw-sweep-{tag}-{i}"): s
               for i, s in enumerate(todo)}
    for f in as_completed(futures):
        try:
            row = f.result()
        except Exception as e:  # noqa: BLE001 - e.g. a killed worker
            text = str(e).strip()
            row = {"spec": futures[f],
                   "error": f"{type(e).__name__}: {text.splitlines()[0] if text else ''}"}
        emit(row)


def run_sweep(specs: Iterable[str], jobs: int = 1, out: str | os.PathLike[str] | None = None,
              degree: int = 4, seed: int = 0, max_unknowns: int | None = None,
              time_limit: float | None = None, dask: Any = None,
              progress: bool = False, retry: bool = False,
              inputs: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Count the laws of every model in ``specs``, ``jobs`` at a time in worker processes (or
    on the Dask scheduler ``dask``: an address or a ``distributed.Client``).

    With ``out``, one JSON line per finished case is appended and flushed at once; a case
    that already has a row there with the same key (:func:`case_key`: spec, degree, seed,
    limits, version) is not recomputed, unless ``retry`` and its row was not certified
    (failed cases are always recomputed).  Returns one row per distinct spec, in input
    order; rows read back from ``out`` carry ``"resumed": True`` (never written).
    """
    from functools import partial

    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise UserError(f"--jobs {jobs} must be an integer of at least 1")
    order = list(dict.fromkeys(s.strip() for s in specs))
    if not order:
        raise UserError("no model specifications to sweep")
    options = {"degree": degree, "seed": seed, "max_unknowns": max_unknowns,
               "time_limit": time_limit}
    keys = {s: case_key(s, options) for s in order}
    done = read_done(out) if out is not None else {}

    def reusable(row: dict[str, Any] | None) -> bool:
        # failed cases are always recomputed; uncertified ones (time limits, unlucky
        # points) only on request
        if row is None or "error" in row:
            return False
        return not retry or bool(row.get("certified"))

    rows: dict[str, dict[str, Any]] = {s: {**done[keys[s]], "resumed": True}
                                       for s in order if reusable(done.get(keys[s]))}
    todo = [s for s in order if s not in rows]
    task = partial(run_case, degree=degree, seed=seed, max_unknowns=max_unknowns,
                   time_limit=time_limit)
    client, own = _dask_client(dask) if todo and dask is not None else (None, False)
    try:
        fh = _open_out(str(out), inputs) if out is not None and todo else None
    except BaseException:
        if own:
            client.close()
        raise
    bar = _Progress(len(todo), progress)

    def emit(row: dict[str, Any]) -> None:
        row = {**row, "key": keys.get(row["spec"], "")}
        rows[row["spec"]] = row
        if fh is not None:
            fh.write(json.dumps(row, separators=(",", ":")) + "\n")
            fh.flush()
        bar.update(row)

    try:
        if client is not None:
            _dask_run(todo, client, task, emit)
        elif todo:
            broken = _pool_run(todo, jobs, task, emit)
            # a dead worker breaks the whole pool: rerun those cases one at a time to find
            # the culprit(s), which get an error line
            for s in broken:
                if _pool_run([s], 1, task, emit):
                    emit({"spec": s, "error": DIED})
    finally:
        bar.close()
        if fh is not None:
            fh.close()
        if own:
            client.close()
    return [rows[s] for s in order if s in rows]


# ---------------------------------------------------------------------------------------------
# command line


def _line(row: dict[str, Any]) -> str:
    if "error" in row:
        return f"{row['spec']}: error: {row['error']}"
    if row["certified"]:
        what = f"exactly {row['laws_lower']} laws (certified, {row['method']})"
    else:
        what = f"between {row['laws_lower']} and {row['laws_upper']} laws (not certified)"
    tail = " [resumed]" if row.get("resumed") else ""
    return f"{row['spec']}: {what}, {row['seconds']:.3f} s{tail}"


def cmd_sweep(args: argparse.Namespace) -> int:
    """``conslaw sweep``: run, print a summary (or the rows as JSON), exit 1 if a case failed."""
    specs = read_specs(args.file)
    if args.flow is not None:
        specs = [f"{s}|flow={args.flow}" for s in specs]
    if args.subset is not None:
        specs = [f"{s}|subset={args.subset}" for s in specs]
    if getattr(args, "parameters", None):
        specs = [f"{s}|parameters={args.parameters}" for s in specs]
    out = args.out if args.out is not None else default_out(args.file)
    check_output_path(out, inputs=[args.file], what="results")
    show = not args.json and not args.quiet and sys.stderr.isatty()
    rows = run_sweep(specs, jobs=args.jobs, out=out, degree=args.degree, seed=args.seed,
                     max_unknowns=args.max_unknowns, time_limit=args.time_limit,
                     dask=args.dask, progress=show, retry=args.retry, inputs=[args.file])
    failed = [r for r in rows if "error" in r]
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        for r in rows:
            print(_line(r))
        cert = sum(1 for r in rows if r.get("certified"))
        resumed = sum(1 for r in rows if r.get("resumed"))
        total = sum(r.get("seconds", 0.0) for r in rows if not r.get("resumed"))
        print(f"{len(rows)} cases: {cert} certified, {len(failed)} failed, {resumed} resumed "
              f"from {out}; {total:.3f} s of computation in this run")
    if failed:
        print(f"conslaw: {len(failed)} of {len(rows)} cases failed (error lines in {out})",
              file=sys.stderr)
        return 1
    return 0


__all__ = ["read_specs", "run_case", "run_sweep", "specs_from_json"]
