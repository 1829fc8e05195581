"""Certified count of independent conservation laws: two exact bounds that must meet.

Let K* be the generic dimension of the Lie trace and N = D - K* the number of independent
laws near a generic point (design.md §1).

* **Upper bound on N** (``laws_upper = D - lie_rank_lower``): the rank, modulo a prime, of the
  values at an integer point of named bracket words
  (:func:`conslaw_flint.algorithms.lie.lie_closure`).
* **Lower bound on N**, by either
  (a) ``method = "laws"``: m polynomial laws, each verified as an exact identity, whose
      gradients have rank m at the point (a non-zero m x m minor modulo p): N >= m; or
  (b) ``method = "involutive"``: the frame fields Y_1..Y_r of the closure, with an r x r minor
      M (rows = pivot components) non-zero at the point, such that every generator X_i and
      every bracket [Y_a, Y_b] satisfies det(M) Z - Y adj(M) Z_rows = 0 identically over Q,
      i.e. lies in the span of Y over Q(theta).  Then Lie(V)(theta) = span Y(theta) on the
      dense open set det M != 0, so K* = r and N = D - r.

When the bounds meet the count is a theorem ("certified"); otherwise both bounds are reported.
The certificate written by :func:`write_certificate` holds everything
:mod:`conslaw_flint.verify` needs to re-check each claim independently.

The order of the work (cheap side first): polynomial laws of degree <= 2, then the Lie closure
capped at D - (proven laws), then laws of higher degree only while the bounds differ, then the
involutivity certificate, then a fresh point and prime.  Every phase checks the active budget
(:mod:`conslaw_flint.core.budget`): when the time limit passes, or on Ctrl-C / SIGTERM, the
result holds the bounds proven so far, with ``interrupted`` and the ``phase``.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from ..core import budget
from ..core.fields import FieldFamily, bracket
from ..core.polynomials import default_names, to_text, tree_sum
from ..core.runtime import gc_paused
from ..errors import TimeUp
from ..io.files import write_atomic
from ..models.model import CONVENTION, Model
from ..results import CountResult, LieResult, Word, is_gram, word_to_json
from .checks import SparsePoly
from .laws import (
    DEFAULT_MAX_UNKNOWNS,
    count_unknowns_capped,
    estimate_unknowns,
    independent_gradients,
    polynomial_laws,
)
from .lie import lie_closure, random_point

FORMAT = "conslaw-certificate"
VERSION = 1
#: largest frame for which the involutivity certificate (b) is attempted
MAX_INVOLUTIVE_RANK = 8


# ---------------------------------------------------------------------------------------------
# lower bounds


def law_gradient_pivots(laws: Sequence[SparsePoly], point: Sequence[int], p: int,
                        family: FieldFamily | None = None) -> tuple[list[int], list[int]]:
    """(independent law indices, pivot columns): a maximal subfamily whose gradients at the
    point are independent modulo p, and columns where their minor is non-zero mod p."""
    return independent_gradients(laws, len(point), point, p, family)


def _fraction_free_solve(M: list[list[Any]], rhs: list[list[Any]]) -> tuple[Any, list[list[Any]]]:
    """Bareiss elimination over a polynomial ring: returns (det M, U) with M U = det(M) rhs,
    or (0, []) when M is singular.  Entries are FLINT polynomials (exact division)."""
    n = len(M)
    A = [list(M[i]) + list(rhs[i]) for i in range(n)]
    width = len(A[0]) if A else 0
    prev = None
    sign = 1
    for k in range(n):
        piv = next((i for i in range(k, n) if not A[i][k].is_zero()), None)
        if piv is None:
            return M[0][0] * 0 if n else None, []
        if piv != k:
            A[k], A[piv] = A[piv], A[k]
            sign = -sign
        for i in range(k + 1, n):
            budget.tick()
            for j in range(k + 1, width):
                num = A[i][j] * A[k][k] - A[i][k] * A[k][j]
                A[i][j] = num if prev is None else _exact_div(num, prev)
            A[i][k] = A[i][k] * 0
        prev = A[k][k]
    det = A[n - 1][n - 1] if n else None
    # back substitution: det * x = U with U exact (Cramer: det * M^{-1} rhs is polynomial)
    m = width - n
    U = [[None] * m for _ in range(n)]
    for c in range(m):
        for i in range(n - 1, -1, -1):
            acc = A[i][n + c] * det
            for j in range(i + 1, n):
                acc = acc - A[i][j] * U[j][c]
            U[i][c] = _exact_div(acc, A[i][i])
    if sign < 0:
        det = -det
        U = [[-u for u in row] for row in U]
    return det, U


def _exact_div(a: Any, b: Any) -> Any:
    q, r = divmod(a, b)
    if not r.is_zero():
        raise ArithmeticError("inexact division in fraction-free elimination")
    return q


def involutive_certificate(family: FieldFamily, words: Sequence[Word], rows: Sequence[int],
                           skip_frame: bool = True, point: Sequence[int] | None = None) -> bool:
    """Exact check of case (b): every generator and every bracket of the fields ``words``
    lies in their span over Q(theta), through the minor on components ``rows``.

    Generators that are frame fields themselves (``words`` containing their index) are in
    the span trivially and are not re-checked (``skip_frame=False`` checks them too); only
    the generators and brackets needed are built as FLINT fields."""
    R = family.ring
    cache: dict[Word, dict[int, Any]] = {}

    def gram(j: int) -> dict[int, Any]:
        # G_j = sum_i X_i,j(point) X_i with exact integer coefficients
        if point is None:
            raise ValueError("a Gram word needs the point of the closure")
        acc: dict[int, list[Any]] = {}
        for i in range(family.d):
            c = family.field(i)[j]
            if c.is_zero():
                continue
            budget.tick()
            v = c(*point)
            for k, comp in family.field(i).items():
                acc.setdefault(k, []).append(comp * v)
        out = {}
        for k, parts in acc.items():
            total = tree_sum(parts, R)
            if not total.is_zero():
                out[k] = total
        return out

    def sym(w: Word) -> dict[int, Any]:
        if w not in cache:
            budget.tick()
            cache[w] = (dict(family.field(w).items()) if isinstance(w, int)
                        else gram(w[1]) if is_gram(w) else bracket(sym(w[0]), sym(w[1])))
        return cache[w]

    Y = [sym(w) for w in words]
    r = len(Y)
    zero = R.from_dict({})
    M = [[Y[a].get(j, zero) for a in range(r)] for j in rows]
    frame = {w for w in words if isinstance(w, int)} if skip_frame else set()
    targets = [sym(i) for i in range(family.d) if i not in frame]
    targets += [bracket(Y[a], Y[b]) for a in range(r) for b in range(a + 1, r)]
    rhs = [[Z.get(j, zero) for Z in targets] for j in rows]
    det, U = _fraction_free_solve(M, rhs)
    if det is None or det.is_zero():
        return False
    comps = set()
    for y in Y:
        comps |= set(y)
    for Z in targets:
        comps |= set(Z)
    for c, Z in enumerate(targets):
        budget.tick()
        for j in comps:
            lhs = Z.get(j, zero) * det
            for a in range(r):
                yj = Y[a].get(j)
                if yj is not None:
                    lhs = lhs - yj * U[a][c]
            if not lhs.is_zero():
                return False
    return True


# ---------------------------------------------------------------------------------------------
# the count


def count_laws(model: Model, degree: int = 4, seed: int = 0,
               max_unknowns: int = DEFAULT_MAX_UNKNOWNS, attempts: int = 3,
               time_limit: float | None = None, max_memory: int | None = None,
               progress: Callable[[str], None] | None = None) -> CountResult:
    """Certified number of independent conservation laws near a generic point, or honest
    bounds (design.md §4).

    Parameters
    ----------
    model:
        The model.
    degree:
        Largest degree of the polynomial laws searched for the lower bound.
    seed:
        Seed of every random point and prime (reported; the same seed gives the same bits).
    max_unknowns:
        Largest polynomial-law system attempted (larger degrees are skipped with a note).
    attempts:
        Fresh points and primes tried when the bounds do not meet.
    time_limit:
        Seconds; every phase stops within about a second of it and the result holds the
        bounds proven so far (``interrupted`` True, ``phase`` the phase it was in).
    max_memory:
        Bytes; allocations estimated above it are refused (default: half the machine's RAM).
    progress:
        Called with one line per step (for progress displays).

    Returns
    -------
    CountResult
        ``laws_lower <= N <= laws_upper``; ``certified`` when they meet.  Ctrl-C and SIGTERM
        (delivered as KeyboardInterrupt) also return the bounds proven so far.
    """
    b = budget.Budget(time_limit=time_limit,
                      max_memory=max_memory if max_memory is not None
                      else budget.current().max_memory)
    with gc_paused(), b.active():
        return _count_laws(model, degree, seed, max_unknowns, attempts, progress, b)


def _count_laws(model: Model, degree: int, seed: int, max_unknowns: int, attempts: int,
                progress: Callable[[str], None] | None, b: budget.Budget) -> CountResult:
    t0 = time.monotonic()
    say = progress or (lambda s: None)
    st: dict[str, Any] = {"laws": [], "law_result": None, "degree": 0, "lie": None,
                          "chosen": [], "piv": [], "p": 0, "pt": []}
    notes: list[str] = []

    def find_laws(k: int) -> None:
        n = count_unknowns_capped(model.D, k, False, max_unknowns)
        if n > max_unknowns:
            notes.append(f"polynomial laws of degree <= {k} skipped: "
                         f"{estimate_unknowns(model.D, k, False)} unknowns exceed "
                         f"--max-unknowns {max_unknowns}")
            st["blocked"] = True
            return
        say(f"polynomial laws of degree <= {k} ({n} unknowns)")
        budget.tick(f"polynomial laws of degree <= {k}")
        st["law_result"] = polynomial_laws(model, k, homogeneous=False, seed=seed,
                                           max_unknowns=max_unknowns, at=(st["pt"], st["p"]))
        st["laws"] = st["law_result"].sparse
        st["degree"] = k

    def pick_laws() -> None:
        lr = st["law_result"]
        if lr is not None and lr.independence_prime == st["p"] and lr.point == st["pt"]:
            st["chosen"], st["piv"] = lr.independent, lr.independent_pivots
            return
        budget.tick("independence of the laws")
        st["chosen"], st["piv"] = law_gradient_pivots(st["laws"], st["pt"], st["p"],
                                                      model.family)

    def snapshot(attempt: int) -> CountResult:
        lie = st["lie"] or LieResult(model.D, 0, [], [], [], list(st["pt"]), st["p"],
                                      "interrupted")
        lr = st["law_result"]
        indep = [lr.basis[i] for i in st["chosen"]] if lr is not None else []
        return CountResult(model, lie, indep, list(st["piv"]), "laws", len(indep), seed,
                           st["degree"], attempt, 0.0, law_result=lr, notes=notes)

    best: CountResult | None = None
    stopped_by: str | None = None
    phase = None
    rng = random.Random(seed)
    attempt = 0
    try:
        for attempt in range(1, attempts + 1):
            sub_seed = rng.getrandbits(32)
            st["p"] = model.family.random_prime(random.Random(sub_seed))
            st["pt"] = random_point(model.D, random.Random(sub_seed + 1), st["p"])
            st["lie"] = None
            if st["degree"] == 0 and degree >= 1:
                find_laws(min(2, degree))
            pick_laws()
            say(f"Lie closure (attempt {attempt}, cap {model.D - len(st['chosen'])})")
            budget.tick("Lie closure")
            st["lie"] = lie_closure(model.family, seed=sub_seed, cap=model.D - len(st["chosen"]),
                                    prime=st["p"], point=st["pt"], progress=say)
            if st["lie"].stopped == "interrupted":
                raise KeyboardInterrupt
            if st["lie"].stopped == "time":
                raise TimeUp("time limit reached during the Lie closure", "Lie closure")
            while (st["lie"].rank + len(st["chosen"]) < model.D and st["degree"] < degree
                   and not st.get("blocked")):
                before = st["degree"]
                find_laws(st["degree"] + 1)
                if st["degree"] == before:
                    break
                pick_laws()
            result = snapshot(attempt)
            lie = st["lie"]
            if (not result.certified and lie.rank <= MAX_INVOLUTIVE_RANK
                    and lie.stopped == "closed"):
                say("trying the involutivity certificate")
                budget.tick("involutivity certificate")
                if involutive_certificate(model.family, lie.words, lie.pivots,
                                          point=lie.point):
                    result.method = "involutive"
                    result.laws_lower = model.D - lie.rank
                    result.involutive_rows = list(lie.pivots)
            if best is None or (result.laws_upper - result.laws_lower
                                < best.laws_upper - best.laws_lower):
                best = result
            if result.certified:
                break
            if st["degree"] >= degree and st["lie"].rank + len(st["chosen"]) < model.D:
                notes.append(f"attempt {attempt}: bounds {result.laws_lower}.."
                             f"{result.laws_upper} did not meet with polynomial laws of degree "
                             f"<= {degree}; a higher --degree may find more laws"
                             if not st.get("blocked") else
                             f"attempt {attempt}: bounds {result.laws_lower}.."
                             f"{result.laws_upper} did not meet")
            if attempt < attempts:
                notes.append(f"attempt {attempt}: retrying with a fresh point and prime")
    except (KeyboardInterrupt, TimeUp) as e:
        stopped_by = "signal" if isinstance(e, KeyboardInterrupt) else "time"
        phase = e.phase if isinstance(e, TimeUp) and e.phase else (b.phase or None)
        notes.append(("interrupted" if isinstance(e, KeyboardInterrupt) else
                      "time limit reached") + (f" during {phase}" if phase else "")
                     + ": the bounds are those proven so far")
        partial = snapshot(max(attempt, 1))
        if best is None or (partial.laws_upper - partial.laws_lower
                            < best.laws_upper - best.laws_lower):
            best = partial
        best.notes = notes
    assert best is not None
    if not best.certified:
        best.method = None
    best.interrupted = stopped_by is not None
    best.stopped_by = stopped_by
    best.phase = phase
    best.seconds = time.monotonic() - t0
    return best


# ---------------------------------------------------------------------------------------------
# certificates


def certificate(result: CountResult) -> dict[str, Any]:
    """The certificate of a count as a JSON-ready dict (with its SHA-256 digest).

    Polynomials are written in x1..xD (the inline model's names), whatever the model's names.
    """
    lie = result.lie
    names = default_names(result.model.D)
    body: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "convention": CONVENTION,
        "model": result.model.canonical_spec(),
        "D": result.model.D,
        "d": result.model.d,
        "seed": result.seed,
        "prime": lie.prime,
        "point": [str(t) for t in lie.point],
        "lie": {
            "rank": lie.rank,
            "words": [word_to_json(w) for w in lie.words],
            "pivots": list(lie.pivots),
            "level_ranks": list(lie.level_ranks),
        },
        "laws": {
            "rank": len(result.laws),
            "polynomials": [to_text(h, names) for h in result.laws],
            "pivots": list(result.law_pivots),
        },
        "involutive": None if result.method != "involutive" else {
            "rank": lie.rank,
            "rows": list(result.involutive_rows or []),
        },
        "claims": {
            "lie_rank_lower": result.lie_rank_lower,
            "lie_rank_upper": result.lie_rank_upper,
            "laws_lower": result.laws_lower,
            "laws_upper": result.laws_upper,
            "certified": result.certified,
            "method": result.method if result.certified else None,
        },
    }
    body["digest"] = digest(body)
    return body


def digest(body: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a certificate without its ``digest`` key."""
    content = {k: v for k, v in body.items() if k != "digest"}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def write_certificate(result: CountResult, path: str) -> dict[str, Any]:
    """Write the certificate of ``result`` to ``path`` (atomically) and return it."""
    cert = certificate(result)
    write_atomic(path, json.dumps(cert, indent=1) + "\n")
    return cert


__all__ = ["FORMAT", "MAX_INVOLUTIVE_RANK", "VERSION", "certificate", "count_laws", "digest",
           "involutive_certificate", "law_gradient_pivots", "write_certificate"]
