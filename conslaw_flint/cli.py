"""Command line: ``conslaw laws | count | verify``.

Exit codes: 0 success (also for honest, uncertified bounds), 1 a certificate was rejected,
2 bad input (one line on stderr, no traceback unless ``--debug``, no file written),
130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from . import __version__
from .argtypes import check_output_path, positive_float, positive_int
from .errors import UserError

EXAMPLE = "relu:2,3,4,3"

#: modules that contribute a subcommand through ``register(subparsers, common)``, where
#: ``common(parser)`` adds the shared options (--json, --seed, --names, --max-unknowns,
#: --quiet, --debug) and the subcommand sets ``func`` (args -> exit code)
SUBCOMMAND_MODULES = ("conslaw_flint.sweep", "conslaw_flint.theory", "conslaw_flint.plot")


def _model(spec: str):  # noqa: ANN202 - returns models.Model
    from .models import build_model

    return build_model(spec)


def _progress(args: argparse.Namespace):  # noqa: ANN202
    if args.json or args.quiet or not sys.stderr.isatty():
        return None
    return lambda msg: print(f"... {msg}", file=sys.stderr, flush=True)


def cmd_laws(args: argparse.Namespace) -> int:
    from .laws import polynomial_laws
    from .report import laws_json, laws_text

    model = _model(args.model)
    res = polynomial_laws(model, args.degree, homogeneous=args.homogeneous, seed=args.seed,
                          max_unknowns=args.max_unknowns)
    if args.json:
        print(json.dumps(laws_json(res), indent=1))
    else:
        print(laws_text(res, model.names if args.names else None))
    return 0


def cmd_count(args: argparse.Namespace) -> int:
    from .certify import count_laws, write_certificate
    from .report import count_text

    if args.certificate:
        check_output_path(args.certificate)
    model = _model(args.model)
    res = count_laws(model, degree=args.degree, seed=args.seed, max_unknowns=args.max_unknowns,
                     time_limit=args.time_limit, progress=_progress(args))
    if args.certificate:
        write_certificate(res, args.certificate)
    if args.json:
        out = res.to_json()
        if args.certificate:
            out["certificate"] = args.certificate
        print(json.dumps(out, indent=1))
    else:
        print(count_text(res, model.names if args.names else None))
        if args.certificate:
            print(f"certificate written to {args.certificate}")
    return 130 if res.interrupted else 0


def cmd_verify(args: argparse.Namespace) -> int:
    from .verify import verify_file

    verdict = verify_file(args.file)
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
        print(f"conslaw: {message} (see conslaw --help)", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    from .laws import DEFAULT_MAX_UNKNOWNS

    p = _Parser(prog="conslaw", description="Exact, certified conservation laws of gradient "
                "flows. MODEL: linear:n0,..,nq | relu:.. | relu-bias:.. | product:D | "
                "poly:E1;E2 | fields:F1;F2 | random:D,d,m[,seed] | FILE.json/.toml")
    p.add_argument("--version", action="version", version=f"conslaw {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--json", action="store_true", help="machine-readable output")
        sp.add_argument("--seed", type=int, default=0, help="seed of points and primes")
        sp.add_argument("--names", action="store_true",
                        help="print network parameters as W1[i,j] / b1[i]")
        sp.add_argument("--max-unknowns", type=positive_int, default=DEFAULT_MAX_UNKNOWNS,
                        help="refuse law systems with more unknown coefficients")
        sp.add_argument("--quiet", action="store_true", help="no progress messages")
        sp.add_argument("--debug", action="store_true", help="tracebacks on errors")

    sl = sub.add_parser("laws", help="all polynomial laws of a degree (Algorithm 1)")
    sl.add_argument("model")
    sl.add_argument("--degree", type=positive_int, required=True)
    sl.add_argument("--homogeneous", action="store_true", help="exactly this degree")
    common(sl)
    sl.set_defaults(func=cmd_laws)

    sc = sub.add_parser("count", help="certified number of independent laws (Algorithm 2)")
    sc.add_argument("model", nargs="?", default=EXAMPLE)
    sc.add_argument("--degree", type=positive_int, default=4,
                    help="largest degree of polynomial laws searched (default 4)")
    sc.add_argument("--certificate", metavar="FILE", help="write a certificate (JSON)")
    sc.add_argument("--time-limit", type=positive_float, metavar="SECONDS",
                    help="stop cleanly with the bounds reached so far")
    common(sc)
    sc.set_defaults(func=cmd_count)

    sv = sub.add_parser("verify", help="re-check a certificate independently")
    sv.add_argument("file")
    sv.add_argument("--json", action="store_true")
    sv.add_argument("--debug", action="store_true")
    sv.set_defaults(func=cmd_verify)

    import importlib

    for name in SUBCOMMAND_MODULES:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name == name:
                continue
            raise
        mod.register(sub, common)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except UserError as e:
        if getattr(args, "debug", False):
            raise
        print(f"conslaw: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into a command that stopped reading (| head)
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("conslaw: interrupted; nothing was proven beyond what is printed above",
              file=sys.stderr)
        return 130
    except MemoryError:
        print("conslaw: out of memory; try a smaller model or degree", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
