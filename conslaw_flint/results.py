"""Result types of the algorithms, and how they read: text, Markdown, HTML, JSON.

* :class:`LawResult` -- Algorithm 1: a basis of the polynomial laws of a degree.
* :class:`LieResult` -- Algorithm 2: a lower bound on the generic dimension of the Lie trace.
* :class:`CountResult` -- the two bounds on the number of independent laws (certified when
  they meet).

Laws are FLINT polynomials in the model's ring (its variable names).  ``str(result)`` is the
human report, ``repr(result)`` one line, ``result.to_dict()`` / ``result.to_json()`` the JSON
contract of the command line, and Jupyter shows ``_repr_markdown_`` (laws in LaTeX).  Reports
use the model's variable names; ``index_names=True`` (``--index-names``) prints x1..xD.

This module sits below :mod:`conslaw_flint.io.report` and above the algorithms' inputs: it
imports only the core and the model type.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .core.polynomials import Poly, default_names, to_latex, to_text
from .models.model import Model

Word = int | tuple["Word", "Word"]

#: most laws listed in a Markdown report (the rest are counted)
MARKDOWN_MAX_LAWS = 50


def plural(n: int, word: str, plural_form: str | None = None) -> str:
    """``1 law``, ``2 laws``, ``0 laws``.

    >>> plural(1, "law"), plural(3, "law"), plural(2, "basis", "bases")
    ('1 law', '3 laws', '2 bases')
    """
    return f"{n} {word if n == 1 else (plural_form or word + 's')}"


def gram_word(j: int) -> Word:
    """The word of G_j = sum_i X_i,j(theta0) X_i: the field with constant coefficients (the
    j-th components of the generators at the closure's point) whose value at theta0 is the
    j-th column of J^T J, J the matrix of generator values (an element of V)."""
    return ("gram", j)  # type: ignore[return-value]


def is_gram(w: Word) -> bool:
    """Whether ``w`` is a :func:`gram_word`."""
    return isinstance(w, tuple) and len(w) == 2 and w[0] == "gram"


def word_to_json(w: Word) -> Any:
    """A word as JSON: ``i`` (generator, 0-based), ``[w1, w2]`` (bracket) or ``{"gram": j}``."""
    if isinstance(w, int):
        return w
    if is_gram(w):
        return {"gram": w[1]}
    return [word_to_json(w[0]), word_to_json(w[1])]


def word_from_json(x: Any) -> Word:
    """Inverse of :func:`word_to_json`."""
    if isinstance(x, int):
        return x
    if isinstance(x, dict):
        return gram_word(int(x["gram"]))
    return (word_from_json(x[0]), word_from_json(x[1]))


def word_str(w: Word) -> str:
    """Readable form, generators 1-based: ``X3``, ``[X1, [X2, X3]]`` or ``G5`` (the
    combination sum_i X_i,5(theta0) X_i)."""
    if isinstance(w, int):
        return f"X{w + 1}"
    if is_gram(w):
        return f"G{w[1] + 1}"
    return f"[{word_str(w[0])}, {word_str(w[1])}]"


#: laws with more terms are shortened in the human reports (``text``); JSON, Markdown and
#: LaTeX keep every term, and ``conslaw ... --all-terms`` prints them in the text too
MAX_TERMS_SHOWN = 20


def law_text(h: Poly, names: Sequence[str] | None = None,
             max_terms: int | None = MAX_TERMS_SHOWN) -> str:
    """A law as text, its first ``max_terms`` terms (in the ring's order) followed by how many
    are left out when it has more (None: every term)."""
    n = len(h)
    if max_terms is None or n <= max_terms:
        return to_text(h, names)
    ctx = h.context()
    head = ctx.from_dict(dict(itertools.islice(h.terms(), max_terms)))
    return f"{to_text(head, names)} + ... [{n - max_terms} more of {n} terms]"


def _shortened_note(laws: Sequence[Poly], max_terms: int | None) -> list[str]:
    if max_terms is not None and any(len(h) > max_terms for h in laws):
        return [f"(laws of more than {max_terms} terms are shortened here; every term is in "
                "--json / to_dict(), or printed with --all-terms)"]
    return []


def _names(model: Model, index_names: bool) -> Sequence[str] | None:
    return default_names(model.D) if index_names else None


def _variables_word(model: Model) -> str:
    return "variables" if model.kind in ("ode", "hamiltonian", "fields") else "parameters"


def _model_line(model: Model) -> str:
    what = (f"d = {model.d} generator" + ("" if model.d == 1 else "s"))
    line = f"model {model.spec}: D = {model.D} {_variables_word(model)}, {what}"
    if model.parameters:
        line += f" ({plural(len(model.parameters), 'parameter')} held constant: " + \
            ", ".join(model.names[i] for i in model.parameters) + ")"
    return line


def _md_laws(laws: Sequence[Poly], marks: Sequence[str] | None = None) -> list[str]:
    shown = list(laws)[:MARKDOWN_MAX_LAWS]
    if marks is None:
        lines = ["| # | law |", "|---|---|"]
        lines += [f"| {i + 1} | ${to_latex(h)}$ |" for i, h in enumerate(shown)]
    else:
        lines = ["| # | independent | law |", "|---|---|---|"]
        lines += [f"| {i + 1} | {marks[i]} | ${to_latex(h)}$ |" for i, h in enumerate(shown)]
    if len(laws) > len(shown):
        lines.append("")
        lines.append(f"… and {len(laws) - len(shown)} more (see `.basis` / `.laws`).")
    return lines


def _html(markdown: str) -> str:
    """A minimal HTML rendering of the Markdown reports (tables, bold, code)."""
    import html
    import re

    out: list[str] = []
    rows: list[list[str]] = []

    def flush() -> None:
        if rows:
            head, *body = rows
            out.append("<table><tr>" + "".join(f"<th>{c}</th>" for c in head) + "</tr>"
                       + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>"
                                 for r in body) + "</table>")
            rows.clear()

    for line in markdown.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if all(set(c) <= {"-"} for c in cells):
                continue
            rows.append([html.escape(c) for c in cells])
            continue
        flush()
        if line.strip():
            t = html.escape(line)
            t = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", t)
            t = re.sub(r"`(.+?)`", r"<code>\1</code>", t)
            out.append(f"<p>{t}</p>")
    flush()
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# Algorithm 1


@dataclass(repr=False)
class LawResult:
    """All polynomial laws of one degree (bound) of a model, with their provenance.

    ``basis``: a basis over Q of the laws (FLINT polynomials, primitive integer coefficients,
    deterministic order), each verified exactly; ``independent``: indices of a maximal
    subfamily whose gradients have full rank at ``point`` (a lower bound on the generic rank
    of the basis).
    """

    model: Model
    degree: int
    homogeneous: bool
    basis: list[Poly]
    independent: list[int]
    seed: int
    primes: list[int]
    point: list[int]
    unknowns: int
    blocks: int
    independent_pivots: list[int] = field(default_factory=list)
    independence_prime: int | None = None
    seconds: float = 0.0
    #: the laws in the solver's compiled form (monomial -> Fraction dicts), same order
    sparse: list[dict[Any, Any]] = field(default_factory=list)

    @property
    def independent_laws(self) -> list[Poly]:
        return [self.basis[i] for i in self.independent]

    def _kind(self) -> str:
        return (f"homogeneous of degree {self.degree}" if self.homogeneous
                else f"of degree ≤ {self.degree}")

    def __repr__(self) -> str:
        return (f"<LawResult {self.model.spec}: {plural(len(self.basis), 'law')} "
                f"{self._kind()}, {len(self.independent)} independent>")

    def __str__(self) -> str:
        return self.text()

    def text(self, index_names: bool = False, max_terms: int | None = MAX_TERMS_SHOWN) -> str:
        """The human report (the output of ``conslaw laws``); laws longer than ``max_terms``
        terms are shortened (None: every term)."""
        names = _names(self.model, index_names)
        lines = [
            _model_line(self.model),
            f"polynomial conservation laws {self._kind().replace('≤', '<=')}: a basis of "
            f"{len(self.basis)} (exact over Q, each verified as <grad h, X_i> = 0 for all i)",
            f"functionally independent: {len(self.independent)} (exact rank of the gradients "
            f"at a random rational point, seed {self.seed}: a lower bound on their generic "
            "rank)",
        ]
        for note in self.model.notes:
            lines.append(f"note: {note}")
        if self.basis:
            width = len(str(len(self.basis)))
            lines.append("")
            lines.append(f"{'#':>{width}}  indep  law")
            indep = set(self.independent)
            for i, h in enumerate(self.basis):
                mark = "  *  " if i in indep else "     "
                lines.append(f"{i + 1:>{width}}  {mark}  {law_text(h, names, max_terms)}")
            lines += _shortened_note(self.basis, max_terms)
        lines.append("")
        lines.append(f"({self.unknowns} unknown coefficients in "
                     f"{plural(self.blocks, 'independent block')})")
        return "\n".join(lines)

    def to_dict(self, index_names: bool = False) -> dict[str, Any]:
        """The JSON contract of ``conslaw laws --json``."""
        names = _names(self.model, index_names)
        return {
            "model": self.model.spec,
            "D": self.model.D,
            "d": self.model.d,
            "variables": list(names or self.model.names),
            "degree": self.degree,
            "homogeneous": self.homogeneous,
            "basis": [to_text(h, names) for h in self.basis],
            "independent": [to_text(self.basis[i], names) for i in self.independent],
            "seed": self.seed,
            "unknowns": self.unknowns,
            "blocks": self.blocks,
            "primes": self.primes,
            "point": [str(t) for t in self.point],
            "excluded": list(self.model.excluded),
            "seconds": round(self.seconds, 3),
        }

    def to_json(self, index_names: bool = False) -> str:
        return json.dumps(self.to_dict(index_names), indent=1)

    def _repr_markdown_(self) -> str:
        m = self.model
        lines = [
            f"**Polynomial conservation laws {self._kind()}** of `{m.spec}` (D = {m.D}, "
            f"d = {m.d}): a basis of {len(self.basis)} (exact over Q, each verified as "
            f"⟨∇h, X_i⟩ = 0), {len(self.independent)} functionally independent (exact rank of "
            f"the gradients at a random rational point, seed {self.seed}: a lower bound on "
            "their generic rank).",
        ]
        if self.basis:
            indep = set(self.independent)
            marks = ["✓" if i in indep else "" for i in range(len(self.basis))]
            lines += ["", *_md_laws(self.basis, marks)]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return _html(self._repr_markdown_())


# ---------------------------------------------------------------------------------------------
# Algorithm 2


@dataclass(repr=False)
class LieResult:
    """Lower bound on the generic dimension of the Lie trace, with what proves it: the
    values at ``point`` modulo ``prime`` of the bracket ``words`` have a non-zero minor on
    the ``pivots`` columns."""

    D: int
    rank: int
    level_ranks: list[int]
    words: list[Word]
    pivots: list[int]
    point: list[int]
    prime: int
    stopped: str
    seconds: float = 0.0
    stats: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (f"<LieResult: rank >= {self.rank} of D = {self.D}, per level "
                f"{self.level_ranks}, stopped: {self.stopped}>")


# ---------------------------------------------------------------------------------------------
# the count


@dataclass(repr=False)
class CountResult:
    """The two bounds on the number N of independent laws and how they were obtained."""

    model: Model
    lie: LieResult
    laws: list[Poly]
    law_pivots: list[int]
    method: str | None
    laws_lower: int
    seed: int
    degree_reached: int
    attempts: int
    seconds: float
    involutive_rows: list[int] | None = None
    law_result: LawResult | None = None
    notes: list[str] = field(default_factory=list)
    interrupted: bool = False
    phase: str | None = None
    #: why the computation stopped early: "time" (the time limit), "signal" (Ctrl-C,
    #: SIGTERM) or None (it ran to the end)
    stopped_by: str | None = None

    @property
    def D(self) -> int:
        return self.model.D

    @property
    def lie_rank_lower(self) -> int:
        return self.lie.rank

    @property
    def laws_upper(self) -> int:
        return self.model.D - self.lie.rank

    @property
    def lie_rank_upper(self) -> int:
        return self.model.D - self.laws_lower

    @property
    def certified(self) -> bool:
        return self.laws_lower == self.laws_upper

    # -- reading ------------------------------------------------------------------------------

    def _besides(self) -> str:
        P = len(self.model.parameters)
        return f" besides the {plural(P, 'parameter')}" if P else ""

    def verdict(self) -> str:
        """The one-line verdict."""
        P = len(self.model.parameters)
        if self.certified:
            n = self.laws_lower - P
            how = ("polynomial laws" if self.method == "laws" else "involutive Lie closure")
            if n == 0 and self.method == "laws":
                # nothing to exhibit: the proof is the rank of the Lie trace alone
                return (f"certified: no conservation law{self._besides()} (the Lie trace has "
                        f"rank {self.lie_rank_lower} = D{' - P' if P else ''} at a point)")
            if n == 0:
                return f"certified: no conservation law{self._besides()} (by {how})"
            return (f"exactly {n} independent conservation {'law' if n == 1 else 'laws'}"
                    f"{self._besides()} (certified by {how})")
        return (f"between {self.laws_lower - P} and {self.laws_upper - P} independent "
                f"conservation laws{self._besides()} (bounds did not meet: not certified)")

    def __repr__(self) -> str:
        return f"<CountResult {self.model.spec}: {self.verdict()}>"

    def __str__(self) -> str:
        return self.text()

    def text(self, index_names: bool = False, max_terms: int | None = MAX_TERMS_SHOWN) -> str:
        """The human report (the output of ``conslaw count``); laws longer than ``max_terms``
        terms are shortened (None: every term)."""
        names = _names(self.model, index_names)
        m, lie = self.model, self.lie
        lines = [
            self.verdict(),
            _model_line(m),
            f"Lie trace rank: {self.lie_rank_lower} <= K* <= {self.lie_rank_upper}; per "
            f"bracket level {lie.level_ranks} (mod p = {lie.prime}, seed {self.seed})",
            f"laws: {self.laws_lower} <= N <= {self.laws_upper}"
            + (f" (N counts the {plural(len(m.parameters), 'parameter')} too)"
               if m.parameters else ""),
        ]
        if self.method == "involutive":
            lines.append(f"involutive frame: {', '.join(word_str(w) for w in lie.words)}")
        for note in (*m.notes, *self.notes):
            lines.append(f"note: {note}")
        if self.laws:
            lines.append("")
            lines.append(f"{plural(len(self.laws), 'independent polynomial law')} "
                         f"(degree <= {self.degree_reached}):")
            for i, h in enumerate(self.laws):
                lines.append(f"  {i + 1:>3}. {law_text(h, names, max_terms)}")
            lines += _shortened_note(self.laws, max_terms)
        lines.append(f"({self.seconds:.2f} s)")
        return "\n".join(lines)

    def to_dict(self, index_names: bool = False) -> dict[str, Any]:
        """The JSON contract of ``conslaw count --json``."""
        names = _names(self.model, index_names)
        return {
            "model": self.model.spec,
            "D": self.model.D,
            "d": self.model.d,
            "variables": list(names or self.model.names),
            "parameters": [self.model.names[i] for i in self.model.parameters],
            "lie_rank_lower": self.lie_rank_lower,
            "lie_rank_upper": self.lie_rank_upper,
            "laws_lower": self.laws_lower,
            "laws_upper": self.laws_upper,
            "certified": self.certified,
            "method": self.method if self.certified else None,
            "laws": [to_text(h, names) for h in self.laws],
            "seed": self.seed,
            "prime": self.lie.prime,
            "level_ranks": self.lie.level_ranks,
            "excluded": list(self.model.excluded),
            "notes": [*self.model.notes, *self.notes],
            "interrupted": self.interrupted,
            "stopped_by": self.stopped_by,
            "phase": self.phase,
            "seconds": round(self.seconds, 3),
        }

    def to_json(self, index_names: bool = False) -> str:
        return json.dumps(self.to_dict(index_names), indent=1)

    def _repr_markdown_(self) -> str:
        m, lie = self.model, self.lie
        lines = [
            f"**{self.verdict()}**",
            "",
            "| | |",
            "|---|---|",
            f"| model | `{m.spec}` |",
            f"| D, d | {m.D}, {m.d} |",
            f"| Lie trace rank | {self.lie_rank_lower} ≤ K* ≤ {self.lie_rank_upper} |",
            f"| laws | {self.laws_lower} ≤ N ≤ {self.laws_upper} |",
            f"| rank per bracket level | {', '.join(str(r) for r in lie.level_ranks)} "
            f"(mod p = {lie.prime}, seed {self.seed}) |",
            f"| method | {self.method if self.certified else 'not certified'} |",
        ]
        if self.method == "involutive":
            lines.append(f"| involutive frame | {', '.join(word_str(w) for w in lie.words)} |")
        for note in (*m.notes, *self.notes):
            lines += ["", f"*note: {note}*"]
        if self.laws:
            lines += ["", f"{plural(len(self.laws), 'independent polynomial law')} "
                          f"(degree ≤ {self.degree_reached}):", ""]
            lines += _md_laws(self.laws)
        lines += ["", f"({self.seconds:.2f} s)"]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return _html(self._repr_markdown_())


__all__ = ["MAX_TERMS_SHOWN", "CountResult", "LawResult", "LieResult", "Word", "gram_word",
           "is_gram", "law_text", "plural", "word_from_json", "word_str", "word_to_json"]
