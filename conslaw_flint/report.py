"""Reports: human-readable text and the JSON contracts of the command line.

``laws --json`` keys: model, D, d, degree, homogeneous, basis, independent, seed (plus
informational extras).  ``count --json`` keys: see :meth:`CountResult.to_json`.
Polynomials are strings in x1..xD that :func:`conslaw_flint.parse.parse_polynomial` reads back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from .certify import CountResult
from .laws import LawResult, format_law
from .lie import word_str
from .polys import Poly

_VAR = re.compile(r"\bx(\d+)\b")


def display(h: Poly, names: Sequence[str] | None = None) -> str:
    """A polynomial for humans; with ``names`` (e.g. W1[1,2]) instead of x-indices."""
    text = format_law(h)
    if names is None:
        return text
    return _VAR.sub(lambda m: names[int(m.group(1)) - 1], text)


def laws_json(res: LawResult) -> dict[str, Any]:
    """The JSON contract of ``conslaw laws``."""
    return {
        "model": res.model.spec,
        "D": res.model.D,
        "d": res.model.d,
        "degree": res.degree,
        "homogeneous": res.homogeneous,
        "basis": [format_law(h) for h in res.basis],
        "independent": [format_law(h) for h in res.independent_laws],
        "seed": res.seed,
        "unknowns": res.unknowns,
        "blocks": res.blocks,
        "primes": res.primes,
        "point": [str(t) for t in res.point],
    }


def laws_text(res: LawResult, names: Sequence[str] | None = None) -> str:
    """Readable table of a polynomial-law computation."""
    m = res.model
    kind = f"homogeneous of degree {res.degree}" if res.homogeneous else \
        f"of degree <= {res.degree}"
    lines = [
        f"model {m.spec}: D = {m.D} parameters, d = {m.d} generators",
        f"polynomial conservation laws {kind}: a basis of {len(res.basis)} "
        f"(exact over Q, each verified as <grad h, X_i> = 0 for all i)",
        f"functionally independent: {len(res.independent)} "
        f"(exact rank of the gradients at a random rational point, seed {res.seed}: "
        "a lower bound on their generic rank)",
    ]
    if res.basis:
        width = len(str(len(res.basis)))
        lines.append("")
        lines.append(f"{'#':>{width}}  indep  law")
        indep = set(res.independent)
        for i, h in enumerate(res.basis):
            mark = "  *  " if i in indep else "     "
            lines.append(f"{i + 1:>{width}}  {mark}  {display(h, names)}")
    lines.append("")
    lines.append(f"({res.unknowns} unknown coefficients in {res.blocks} independent blocks)")
    return "\n".join(lines)


def count_verdict(res: CountResult) -> str:
    """The one-line verdict of a count."""
    if res.certified:
        n = res.laws_lower
        how = ("polynomial laws" if res.method == "laws"
               else "involutive Lie closure")
        word = "law" if n == 1 else "laws"
        return f"exactly {n} independent conservation {word} (certified by {how})"
    return (f"between {res.laws_lower} and {res.laws_upper} independent conservation laws "
            "(bounds did not meet: not certified)")


def count_text(res: CountResult, names: Sequence[str] | None = None) -> str:
    """Readable report of a count: verdict, bounds, closure levels, laws."""
    m = res.model
    lie = res.lie
    lines = [
        count_verdict(res),
        f"model {m.spec}: D = {m.D}, d = {m.d}",
        f"Lie trace rank: {res.lie_rank_lower} <= K* <= {res.lie_rank_upper}; "
        f"per bracket level {lie.level_ranks} (mod p = {lie.prime}, seed {res.seed})",
        f"laws: {res.laws_lower} <= N <= {res.laws_upper}",
    ]
    if res.method == "involutive":
        lines.append(f"involutive frame: {', '.join(word_str(w) for w in lie.words)}")
    for note in res.notes:
        lines.append(f"note: {note}")
    if res.laws:
        lines.append("")
        lines.append(f"{len(res.laws)} independent polynomial laws "
                     f"(degree <= {res.degree_reached}):")
        for i, h in enumerate(res.laws):
            lines.append(f"  {i + 1:>3}. {display(h, names)}")
    lines.append(f"({res.seconds:.2f} s)")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Markdown (Jupyter ``_repr_markdown_``)

#: most laws listed in a Markdown report (the rest are counted)
MARKDOWN_MAX_LAWS = 50


def _md_laws(laws: Sequence[Poly], names: Sequence[str], marks: Sequence[str] | None = None
             ) -> list[str]:
    from .export import to_latex

    shown = list(laws)[:MARKDOWN_MAX_LAWS]
    if marks is None:
        lines = ["| # | law |", "|---|---|"]
        lines += [f"| {i + 1} | ${to_latex(h, names)}$ |" for i, h in enumerate(shown)]
    else:
        lines = ["| # | independent | law |", "|---|---|---|"]
        lines += [f"| {i + 1} | {marks[i]} | ${to_latex(h, names)}$ |"
                  for i, h in enumerate(shown)]
    if len(laws) > len(shown):
        lines.append("")
        lines.append(f"… and {len(laws) - len(shown)} more (see `.basis` / `.laws`).")
    return lines


def laws_markdown(res: LawResult) -> str:
    """Markdown report of a polynomial-law computation (laws typeset in LaTeX); the
    ``_repr_markdown_`` of :class:`~conslaw_flint.laws.LawResult`."""
    m = res.model
    kind = f"homogeneous of degree {res.degree}" if res.homogeneous else \
        f"of degree ≤ {res.degree}"
    lines = [
        f"**Polynomial conservation laws {kind}** of `{m.spec}` (D = {m.D}, d = {m.d}): "
        f"a basis of {len(res.basis)} (exact over Q, each verified as ⟨∇h, X_i⟩ = 0), "
        f"{len(res.independent)} functionally independent (exact rank of the gradients at a "
        f"random rational point, seed {res.seed}: a lower bound on their generic rank).",
    ]
    if res.basis:
        indep = set(res.independent)
        marks = ["✓" if i in indep else "" for i in range(len(res.basis))]
        lines += ["", *_md_laws(res.basis, m.names, marks)]
    return "\n".join(lines)


def count_markdown(res: CountResult) -> str:
    """Markdown report of a count (verdict, bounds, closure levels, laws in LaTeX); the
    ``_repr_markdown_`` of :class:`~conslaw_flint.certify.CountResult`."""
    m = res.model
    lie = res.lie
    lines = [
        f"**{count_verdict(res)}**",
        "",
        "| | |",
        "|---|---|",
        f"| model | `{m.spec}` |",
        f"| D, d | {m.D}, {m.d} |",
        f"| Lie trace rank | {res.lie_rank_lower} ≤ K* ≤ {res.lie_rank_upper} |",
        f"| laws | {res.laws_lower} ≤ N ≤ {res.laws_upper} |",
        f"| rank per bracket level | {', '.join(str(r) for r in lie.level_ranks)} "
        f"(mod p = {lie.prime}, seed {res.seed}) |",
        f"| method | {res.method if res.certified else 'not certified'} |",
    ]
    if res.method == "involutive":
        lines.append(f"| involutive frame | {', '.join(word_str(w) for w in lie.words)} |")
    for note in res.notes:
        lines += ["", f"*note: {note}*"]
    if res.laws:
        lines += ["", f"{len(res.laws)} independent polynomial laws "
                      f"(degree ≤ {res.degree_reached}):", ""]
        lines += _md_laws(res.laws, m.names)
    lines += ["", f"({res.seconds:.2f} s)"]
    return "\n".join(lines)
