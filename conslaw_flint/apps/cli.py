"""Command line: ``conslaw laws | count | verify | sweep | theory | plot``.

Exit codes: 0 success (also for honest, uncertified bounds and for a count stopped by its
time limit, which prints the bounds proven so far), 1 a certificate was rejected / a sweep
case failed / theory pages are stale, 2 bad input (one line on stderr, no traceback unless
``--debug``, no file written), 3 the time limit passed before anything was proven (a law
basis stopped by ``--time-limit``: a partial basis proves nothing; or a model that could not
be built in time), 130 interrupted by Ctrl-C or SIGTERM (a count
prints the bounds proven so far).

Start-up is kept light: this module imports only the standard library; the algorithms
(FLINT, NumPy, networkx, SymPy) are imported by the subcommand that needs them.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import TimeUp, UserError
from .argtypes import byte_size, positive_float, positive_int

EXAMPLE = "relu:2,3,4,3"
VERSION = "0.2.0"

MODEL_HELP = """\
MODEL is one of
  linear:n0,...,nq       deep linear net, phi = entries of W1 W2 ... Wq (widths from the input)
  relu:n0,...,nq         deep ReLU net, path lifting (one product per input-output path)
  relu-bias:n0,...,nq    the same with hidden biases
  product:D              phi = x1*x2*...*xD
  poly:E1;E2;...         phi = (E1, E2, ...) in x1..xD ('poly[D]:...' fixes D); E may be rational
  fields:F1;F2;...       general fields; Fi = D components separated by ',' (rational allowed)
  random:D,d,m[,seed]    d random polynomial fields of degree m in D variables
  attention:d1,dim[,heads=H]  attention layer, phi = (Q_h^T K_h, V_h^T O_h) per head
  softmax:n,m            linear classifier, n classes x m features, under cross-entropy
  conv:c0,c1,c2,nu,nv    two-layer convolutional ReLU net (channels, kernel sizes)
  dag:EDGES[;skip=EDGES][;bias=NODES]  ReLU net on a graph, e.g. 'dag:x>h,h>y;skip=x>y'
  ode:x' = E1; y' = E2   an ODE (first integrals of one field); 'dx/dt = ...' also accepted
  hamiltonian:H          the canonical field of H (pairs q,p / q1,p1 / x,px by name)
  torch:FILE.pt          a saved torch.nn.Module (runs pickle: trusted files only)
  FILE.json | FILE.toml  {"map": [...]}, {"fields": [[...]]}, {"ode": [...]}, {"hamiltonian": H}
                         or {"dag": {"edges": [...]}}, optional "variables", "parameters", "flow"
  FILE.ode               one equation per line, x' = ... ('#' comments)
Expressions use + - * / ^ and parentheses, exact decimals (0.5 = 1/2) and no functions.
FLOW (--flow): gradient (default) | momentum[:tau=T] | nesterov[:r=R] | mirror:entropy |
  mirror:burg | mirror:diag(E1,...,ED) | decay[:lambda=L]; VARS (--subset): names, groups
  (W1 = every W1[i,j]), x-indices and ranges (x1..x4), comma-separated."""



def _lazy(module: str, name: str) -> Callable[[argparse.Namespace], int]:
    """The handler ``name`` of ``module``, imported when the subcommand runs (so that
    ``conslaw --help`` imports neither FLINT nor NumPy)."""
    def run(args: argparse.Namespace) -> int:
        import importlib

        return int(getattr(importlib.import_module(module), name)(args))

    return run


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30, width=100)


def _progress(args: argparse.Namespace) -> Callable[[str], None] | None:
    if getattr(args, "json", False) or getattr(args, "quiet", False) \
            or not sys.stderr.isatty():
        return None
    return lambda msg: print(f"... {msg}", file=sys.stderr, flush=True)


def _budget(args: argparse.Namespace, time_limit: float | None = None) -> Any:
    from ..core import budget

    mem = getattr(args, "max_memory", None)
    return budget.Budget(time_limit=time_limit,
                         max_memory=mem if mem is not None else budget.default_max_memory())


def _model(args: argparse.Namespace) -> Any:
    from ..algorithms.subsets import build_with_options

    model = build_with_options(args.model, flow=getattr(args, "flow", None),
                               subset=getattr(args, "subset", None))
    params = getattr(args, "parameters", None)
    if params:
        from ..models.ode import with_parameters

        model = with_parameters(model, params.split(","))
    return model


def model_options(sp: argparse.ArgumentParser) -> None:
    """``--flow`` and ``--subset`` (laws, count, sweep)."""
    sp.add_argument("--flow", metavar="FLOW",
                    help="the dynamics (default gradient): momentum[:tau=T], nesterov, "
                    "mirror:entropy|burg|diag(...), decay[:lambda=L] (see above)")
    sp.add_argument("--parameters", metavar="NAMES",
                    help="comma-separated variables held constant (rate constants, masses): "
                    "counted apart, 'N laws besides the P parameters'")
    sp.add_argument("--subset", metavar="VARS",
                    help="only the laws that depend on these variables, e.g. W1,W3 or "
                    "x1..x4 (block laws)")


def cmd_laws(args: argparse.Namespace) -> int:
    from ..algorithms.laws import polynomial_laws
    from ..io.report import render

    with _budget(args, args.time_limit).active():
        model = _model(args)
        try:
            res = polynomial_laws(model, args.degree, homogeneous=args.homogeneous,
                                  seed=args.seed, max_unknowns=args.max_unknowns)
        except TimeUp as e:
            print(f"conslaw: {e}; no basis is printed (a partial one proves nothing): raise "
                  "--time-limit or lower --degree", file=sys.stderr)
            return 3
    print(render(res, "json" if args.json else args.format, args.index_names,
                 args.all_terms))
    return 0


def cmd_count(args: argparse.Namespace) -> int:
    from ..algorithms.certify import count_laws
    from ..io.files import check_output_path
    from ..io.report import render

    if args.certificate is not None:
        check_output_path(args.certificate, inputs=[args.model], what="certificate")
    with _budget(args, args.time_limit).active() as b:
        model = _model(args)
        left = b.remaining()
        res = count_laws(model, degree=args.degree, seed=args.seed,
                         max_unknowns=args.max_unknowns,
                         time_limit=None if left is None else max(left, 0.0),
                         max_memory=b.max_memory, progress=_progress(args))
        written = None
        if args.certificate is not None:
            written = write_verified_certificate(res, args.certificate)
    if args.json:
        out = res.to_dict(args.index_names)
        out["certificate"] = written
        print(json.dumps(out, indent=1))
    else:
        print(render(res, args.format, args.index_names, args.all_terms))
        if written:
            print(f"certificate written to {written}")
    return 130 if res.stopped_by == "signal" else 0


def write_verified_certificate(res: Any, path: str) -> str:
    """Write the certificate of a count after checking that it is within the verifier's own
    limits (a certificate the verifier would reject is refused with one line)."""
    from ..algorithms.certify import certificate
    from ..io.files import write_atomic
    from ..verify import admissible

    cert = certificate(res)
    text = json.dumps(cert, indent=1) + "\n"
    why = admissible(cert, len(text.encode()))
    if why:
        raise UserError(f"no certificate written: {why}")
    write_atomic(path, text)
    return path


def cmd_verify(args: argparse.Namespace) -> int:
    from ..verify import verify_file

    verdict = verify_file(args.file, rational=args.rational)
    if args.json:
        print(json.dumps({"ok": verdict.ok, "reason": verdict.reason,
                          "claims": verdict.claims, "checks": verdict.checks}, indent=1))
    elif verdict.ok:
        for line in verdict.checks:
            print(f"ok: {line}")
        print("certificate verified: " + (verdict.reason or "every claim holds"))
    else:
        print(f"certificate rejected: {verdict.reason}", file=sys.stderr)
    return 0 if verdict.ok else 1


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        print(f"conslaw: {message} (see conslaw {self.prog.partition(' ')[2] or ''} --help)"
              .replace("  --help", " --help"), file=sys.stderr)
        raise SystemExit(2)


def all_terms_option(sp: argparse.ArgumentParser) -> None:
    """``--all-terms``, for the commands that print laws."""
    from ..results import MAX_TERMS_SHOWN

    sp.add_argument("--all-terms", action="store_true",
                    help="print every term of long laws (the text shortens laws of more than "
                    f"{MAX_TERMS_SHOWN} terms; --json and the other formats have every term)")


def common_options(sp: argparse.ArgumentParser, *, limits: bool = True) -> None:
    """The options shared by laws, count, sweep and plot."""
    from .argtypes import DEFAULT_MAX_UNKNOWNS

    sp.add_argument("--json", action="store_true",
                    help="machine-readable output (keys documented in docs/index.md)")
    sp.add_argument("--seed", type=int, default=0,
                    help="seed of the random points and primes (default 0; reported)")
    sp.add_argument("--index-names", action="store_true",
                    help="print variables as x1..xD instead of the model's names")
    sp.add_argument("--names", action="store_true", help=argparse.SUPPRESS)
    if limits:
        sp.add_argument("--max-unknowns", type=positive_int, default=DEFAULT_MAX_UNKNOWNS,
                        metavar="N", help="refuse polynomial-law systems with more unknown "
                        f"coefficients (default {DEFAULT_MAX_UNKNOWNS})")
        sp.add_argument("--max-memory", type=byte_size, default=None, metavar="SIZE",
                        help="memory budget, e.g. 4G (default: half of the RAM); work "
                        "estimated above it is refused before it starts")
    sp.add_argument("--quiet", action="store_true", help="no progress messages")
    sp.add_argument("--debug", action="store_true", help="tracebacks instead of one-line errors")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="conslaw", formatter_class=_Formatter,
                description="Exact, certified conservation laws of gradient flows and first "
                "integrals of polynomial vector fields.\n\n" + MODEL_HELP,
                epilog="examples:\n"
                "  conslaw count relu:2,3,4,3 --certificate c.json && conslaw verify c.json\n"
                "  conslaw laws linear:3,4,2 --degree 2 --homogeneous\n"
                "  conslaw count 'fields:x2,-x1,0;x3,0,-x1'\n\n"
                "Run 'conslaw COMMAND --help' for each command's options.")
    p.add_argument("--version", action="version", version=f"conslaw {VERSION}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser,
                           metavar="COMMAND")

    sl = sub.add_parser(
        "laws", formatter_class=_Formatter,
        help="all polynomial laws of a degree (Algorithm 1), an exact basis over Q",
        description="Every polynomial conservation law of degree <= K (or exactly K with "
        "--homogeneous): an exact basis over Q, each law verified as <grad h, X_i> = 0 for "
        "every generator, and a maximal functionally independent subfamily.\n\n" + MODEL_HELP,
        epilog="examples:\n  conslaw laws linear:3,4,2 --degree 2 --homogeneous\n"
        "  conslaw laws product:4 --degree 2 --json\n"
        "  conslaw laws 'fields:-x1,x1,0' --degree 2")
    sl.add_argument("model", metavar="MODEL", help="the model (see above)")
    sl.add_argument("--degree", type=positive_int, required=True, metavar="K",
                    help="degree bound of the laws (all laws of degree 1..K)")
    sl.add_argument("--homogeneous", action="store_true",
                    help="only laws homogeneous of degree exactly K")
    sl.add_argument("--time-limit", type=positive_float, metavar="SECONDS",
                    help="give up after this long (exit 3, nothing printed)")
    sl.add_argument("--format", choices=("text", "markdown", "latex"), default="text",
                    help="output format (default text; --json for JSON)")
    model_options(sl)
    common_options(sl)
    all_terms_option(sl)
    sl.set_defaults(func=cmd_laws)

    sc = sub.add_parser(
        "count", formatter_class=_Formatter,
        help="certified number of independent laws (Algorithm 2 + certificate)",
        description="The number N of independent conservation laws near a generic point: "
        "'certified' when an exact lower bound (verified laws, or an involutive Lie closure) "
        "meets an exact upper bound (the rank of bracket values at a random point modulo a "
        "prime); otherwise both bounds are printed.\n\n" + MODEL_HELP,
        epilog="examples:\n  conslaw count relu:2,3,4,3 --certificate relu.cert.json\n"
        "  conslaw count linear:3,4,5 --json\n"
        "  conslaw count 'fields:1,x2,0,0;0,0,1,x4'      (non-polynomial laws)\n"
        "  conslaw count random:6,2,2 --time-limit 10")
    sc.add_argument("model", metavar="MODEL", nargs="?", default=EXAMPLE,
                    help=f"the model (see above; default {EXAMPLE})")
    sc.add_argument("--degree", type=positive_int, default=4, metavar="K",
                    help="largest degree of the polynomial laws searched (default 4)")
    sc.add_argument("--certificate", metavar="FILE",
                    help="write the proof as a JSON certificate (re-check: conslaw verify)")
    sc.add_argument("--time-limit", type=positive_float, metavar="SECONDS",
                    help="stop within about a second of this, printing the bounds so far")
    sc.add_argument("--format", choices=("text", "markdown", "latex"), default="text",
                    help="output format (default text; --json for JSON)")
    model_options(sc)
    common_options(sc)
    all_terms_option(sc)
    sc.set_defaults(func=cmd_count)

    sv = sub.add_parser(
        "verify", formatter_class=_Formatter,
        help="re-check a certificate independently",
        description="Re-check every claim of a certificate with code that shares only the "
        "model builders and the expression reader with the solver (SymPy polynomial rings "
        "and DomainMatrix determinants). Exit 0 only if every claim holds.",
        epilog="examples:\n  conslaw verify c.json\n  conslaw verify c.json --rational\n"
        "  conslaw verify c.json --json")
    sv.add_argument("file", metavar="FILE", help="the certificate (JSON)")
    sv.add_argument("--rational", action="store_true",
                    help="also re-check every rank claim as an exact determinant over Z")
    sv.add_argument("--json", action="store_true", help="machine-readable verdict")
    sv.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    sv.set_defaults(func=cmd_verify)

    ss = sub.add_parser(
        "sweep", formatter_class=_Formatter,
        help="certified counts for many models (process pool or Dask), resumable",
        description="Run `conslaw count` on every model of FILE (a cases JSON file, a JSON list "
        "of specs, or one model spec per line), appending one JSON line per case to OUT; a "
        "rerun skips the cases already done with the same options.\n\n" + MODEL_HELP,
        epilog="examples:\n  conslaw sweep bench/cases/relu50.json --jobs 2\n"
        "  conslaw sweep models.txt --out results.jsonl --time-limit 30\n"
        "  conslaw sweep bench/cases/linear50.json --dask tcp://127.0.0.1:8786")
    ss.add_argument("file", metavar="FILE", help="the cases (see above)")
    ss.add_argument("--jobs", type=positive_int, default=1, metavar="N",
                    help="worker processes (default 1)")
    ss.add_argument("--out", metavar="OUT.jsonl",
                    help="results file (default: FILE stem + .results.jsonl)")
    ss.add_argument("--dask", metavar="ADDRESS",
                    help="run on this Dask scheduler (workers with --nthreads 1)")
    ss.add_argument("--degree", type=positive_int, default=4, metavar="K",
                    help="largest degree of polynomial laws searched (default 4)")
    ss.add_argument("--time-limit", type=positive_float, metavar="SECONDS",
                    help="per case: stop cleanly with the bounds reached so far")
    ss.add_argument("--retry", action="store_true",
                    help="rerun the cases whose earlier result was not certified or failed")
    model_options(ss)
    common_options(ss)
    ss.set_defaults(func=_lazy("conslaw_flint.apps.sweep", "cmd_sweep"))

    st = sub.add_parser(
        "theory", formatter_class=_Formatter,
        help="regenerate (or --check) the worked examples of theory/",
        description="Regenerate the worked examples of theory/ from runs of the code (fixed "
        "seeds, no timings: byte-for-byte reproducible). The shared options are not offered: "
        "the pages use fixed seeds and default limits so that --check is meaningful.",
        epilog="examples:\n  conslaw theory --check\n  conslaw theory --out theory")
    st.add_argument("--out", default="theory", metavar="FOLDER",
                    help="folder of the pages (default theory)")
    st.add_argument("--check", action="store_true",
                    help="compare with a fresh run instead of writing (exit 1 if stale)")
    st.add_argument("--json", action="store_true", help="machine-readable output")
    st.add_argument("--quiet", action="store_true", help="no progress messages")
    st.add_argument("--debug", action="store_true", help="tracebacks on errors")
    st.set_defaults(func=_lazy("conslaw_flint.apps.theory", "cmd_theory"))

    sp = sub.add_parser(
        "plot", formatter_class=_Formatter,
        help="picture: Lie ranks per level and law drift along a training run",
        description="A two-panel picture (needs matplotlib): the rank of V_1, V_2, ... per "
        "bracket level against D and D - N, and the drift of each law along a short "
        "gradient-descent run for two step sizes.\n\n" + MODEL_HELP,
        epilog="examples:\n  conslaw plot relu:2,3,4,3 --out relu.png\n"
        "  conslaw plot linear:3,4,5 --out lin.svg --steps 600 --json")
    sp.add_argument("model", metavar="MODEL", help="the model (see above)")
    sp.add_argument("--out", required=True, metavar="FILE.png",
                    help="image file to write (.png, .pdf or .svg)")
    sp.add_argument("--steps", type=positive_int, default=300, metavar="N",
                    help="steps of the run with the larger step size (default 300)")
    sp.add_argument("--eta", type=positive_float, default=None,
                    help="step size (default: automatic from the Jacobian at theta_0)")
    common_options(sp)
    sp.set_defaults(func=_lazy("conslaw_flint.apps.plot", "cmd_plot"))
    return p


def _on_sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``conslaw``; returns the exit code."""
    if os.environ.get("CONSLAW_NO_SIGTERM") is None:
        try:
            signal.signal(signal.SIGTERM, _on_sigterm)  # schedulers send SIGTERM: like Ctrl-C
        except ValueError:  # not the main thread
            pass
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if _progress(args) is not None:  # a terminal, not --quiet/--json: bars for long steps
            from ..core.progress import TqdmReporter, reporting

            with reporting(TqdmReporter()):
                return int(args.func(args))
        return int(args.func(args))
    except UserError as e:
        if getattr(args, "debug", False):
            raise
        print(f"conslaw: {e}", file=sys.stderr)
        return 2
    except TimeUp as e:
        print(f"conslaw: {e}; nothing was proven: raise --time-limit", file=sys.stderr)
        return 3
    except BrokenPipeError:  # output piped into a command that stopped reading (| head)
        try:
            sys.stderr.close()
        except OSError:
            pass
        return 0
    except KeyboardInterrupt:
        print("conslaw: interrupted; nothing was proven beyond what is printed above",
              file=sys.stderr)
        return 130
    except MemoryError:
        print("conslaw: out of memory; lower the model size or degree, or --max-memory",
              file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
