"""Independent re-check of a certificate written by :mod:`conslaw_flint.algorithms.certify`.

**Independence.**  The verifier shares with the solver only the safe expression reader
(:func:`conslaw_flint.io.parse.parse_polynomial`) and the model builders
(:func:`conslaw_flint.models.build_model`, :data:`~conslaw_flint.models.CONVENTION`), whose
output it reads as data (the builder's table of the potentials, or the fields' terms).  All of
its polynomial arithmetic -- generator fields, gradients, Lie brackets, truncated Taylor jets,
the identities <grad h, X_i> = 0 and the involutivity identities -- is SymPy's sparse
polynomial arithmetic (:mod:`sympy.polys.rings`, rings over GF(p) or QQ); its determinants are
SymPy's :class:`~sympy.polys.matrices.DomainMatrix` over GF(p) and QQ.  With python-flint
installed SymPy's ground types are FLINT's, so ``DomainMatrix`` runs on FLINT's ``nmod_mat``
and ``fmpq_mat`` and SymPy's coefficients are FLINT integers and rationals: the *algorithms*
(sparse polynomial arithmetic, Taylor jets, brackets, determinants) are not the solver's, the
coefficient arithmetic underneath partly is.  Values at the point are computed by the
verifier from the terms of SymPy polynomials, with SymPy domain elements.  The verifier never
imports the solver's algorithms, tables, linear algebra or results.

**What a verified certificate proves** (design.md §4), with K* the generic dimension of the Lie
trace and N = D - K* the number of independent laws near a generic point:

* ``lie``: the r named bracket words are elements of Lie(V) (a word is a generator, a bracket
  of words, or a Gram word ``{"gram": j}`` = sum_i X_i,j(point) X_i, a constant combination of
  the generators); the r x r minor of their values at
  the integer point on the pivot columns is non-zero modulo p, so it is a non-zero rational
  (values are images under the ring map Z_(p) -> F_p), hence dim Lie(V)(point) >= r and
  K* >= r: ``lie_rank_lower = r`` and ``laws_upper = D - r``.
* ``laws`` (method ``"laws"``): each polynomial h satisfies <grad h, X_i> = 0 identically over Q
  for every generator X_i (see :mod:`conslaw_flint.verify._laws` for the exact reduction to
  the distinct restrictions of the generators to the variables of h), and the m x m minor of
  their gradients at the point on the pivot columns is non-zero modulo p: ``laws_lower = m``.
* ``involutive`` (method ``"involutive"``): with Y_a the lie words' fields and M the r x r
  polynomial matrix M[j][a] = (Y_a)_{rows[j]}, det M is non-zero at the point, and every
  generator and every bracket [Y_a, Y_b] satisfies det(M) Z - sum_a Y_a (adj(M) Z_rows)_a = 0
  identically over Q: Lie(V)(theta) = span Y(theta) on the dense open set det M != 0, so
  K* = r exactly and ``laws_lower = D - r``.
* With ``rational=True`` (``conslaw verify --rational``) every rank claim is also re-checked
  exactly: the values of the words and of the law gradients at the integer point are computed
  over Q (not modulo p) and the minors are exact determinants over Q (``DomainMatrix`` over
  ZZ after clearing denominators), as is det M at the point; each must be non-zero.  (The
  modular minors are then taken on the reductions of the exact values, so the values are
  computed once.)

**Hostile input and bounded work.**  The file is opened once without blocking, must be a
regular file (a FIFO or a device is refused without reading), and is read up to
:data:`MAX_FILE_BYTES`; its structure is bounded before parsing (number of JSON values) and
after (depth, string and integer sizes, types, duplicate keys, NaN).  Nothing is ever evaluated
as code; a model specification that names a file is refused; a model larger than the
verifier's limits (D <= :data:`~conslaw_flint.verify._model.MAX_D`, table entries) is refused
from its text before it is built, and the builder runs under a time and memory guard.  Every
step of the mathematics is charged to a work budget *before* it runs
(:mod:`conslaw_flint.verify._base`): costs include the number of variables of each ring and
the size of the coefficients, and a Lie word of nesting depth k, which needs Taylor jets of
order k - 1, is refused at once when the number of monomials of that order in its variables
makes the cost hopeless.  The budget (:data:`~conslaw_flint.verify._base.MAX_WORK` units,
:data:`~conslaw_flint.verify._base.MAX_WORK_RATIONAL` with ``rational=True``) is meant to keep
any verification under about 10 s and 1 GiB on a current machine; a certificate that needs
more is rejected with a one-line reason.  Public entry points never raise on bad input: they
return a :class:`Verdict` with ``ok=False``.

**Limits.**  Files up to 50 MB and 2 000 000 JSON values, nesting depth 80, strings of
1 000 000 characters, point coordinates of 2000 digits; models with D <= 10 000 variables,
at most 1 000 000 potential or field terms and 2 000 000 (term, variable) entries, poly/fields
specifications of at most 2 000 000 (expressions x variables), 3 s for the builder; Lie words
nested at most 64 deep; involutive frames of rank <= 8; laws written as expanded polynomials;
a work budget of 2.5e8 units (3.5e8 with ``rational=True``), about 6-9 s of work, and
400 MiB of caches.  A valid certificate beyond these limits (very deep words in many
variables, huge laws, a very large model) is refused, and the reason says which limit
("needs more work than the verifier's limit", "too large for the verifier"); the verifier
never accepts a false claim to stay within them.  The modular checks are exact: a non-zero
determinant modulo p proves the rank over Q.

>>> from conslaw_flint.algorithms.certify import certificate, count_laws
>>> from conslaw_flint.models import build_model
>>> cert = certificate(count_laws(build_model("product:3"), seed=0))
>>> v = verify_certificate(cert)
>>> (v.ok, v.claims["laws_lower"], v.claims["method"])
(True, 2, 'laws')
>>> verify_certificate(cert, rational=True).checks[-1]
'claims: exactly 2 independent laws near generic points (method laws); Lie rank 1'
>>> cert["claims"]["laws_lower"] = 3
>>> verify_certificate(cert).reason
'digest mismatch: the file was modified after it was written'
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sympy.ntheory import isprime

from ..models import CONVENTION
from . import _algebra as alg
from ._base import (
    MAX_WORK,
    MAX_WORK_RATIONAL,
    CertificateError,
    Work,
    brief,
    charge,
    one_line,
    remaining,
    what,
)
from ._involutive import MAX_INVOLUTIVE_RANK, Frame
from ._laws import check_law, gradient_row, read_law
from ._lie import Values, WordTable, check_jet_costs
from ._model import Generators, prescreen, rebuild

__all__ = [
    "MAX_FILE_BYTES",
    "CertificateError",
    "Verdict",
    "admissible",
    "digest_of",
    "verify_certificate",
    "verify_file",
]

FORMAT = "conslaw-certificate"
VERSION = 1

#: largest certificate file read, in bytes
MAX_FILE_BYTES = 50_000_000
#: deepest nesting of JSON containers anywhere in a certificate
MAX_JSON_DEPTH = 80
#: most JSON values (containers, strings, numbers) in one certificate
MAX_NODES = 2_000_000
#: longest string anywhere in a certificate (the model builder's own limit)
MAX_STRING_CHARS = 1_000_000
#: most decimal digits of an integer (point coordinates); JSON numbers are bounded in bits
MAX_INT_DIGITS = 2000
MAX_INT_BITS = 6700
#: accepted range of the prime
MIN_PRIME_EXCLUSIVE = 2**20
MAX_PRIME_EXCLUSIVE = 2**64

TOP_KEYS = frozenset({"format", "version", "convention", "model", "D", "d", "seed", "prime",
                      "point", "lie", "laws", "involutive", "claims", "digest"})
LIE_KEYS = frozenset({"rank", "words", "pivots", "level_ranks"})
LAWS_KEYS = frozenset({"rank", "polynomials", "pivots"})
INVOLUTIVE_KEYS = frozenset({"rank", "rows"})
CLAIM_KEYS = frozenset({"lie_rank_lower", "lie_rank_upper", "laws_lower", "laws_upper",
                        "certified", "method"})

_INT_RE = re.compile(r"-?[0-9]+")
_HEX_RE = re.compile(r"[0-9a-f]{64}")


@dataclass
class Verdict:
    """Outcome of a verification.

    ``ok``: every check passed.  ``reason``: one line, why it was rejected ("" when ok).
    ``claims``: the proven claims (the six ``claims`` keys) when ok, else ``{}``.
    ``checks``: human-readable lines, one per check that passed (in order).
    ``work``: units of the work budget used (see :mod:`conslaw_flint.verify._base`).
    """

    ok: bool
    reason: str
    claims: dict[str, Any] = field(default_factory=dict)
    checks: list[str] = field(default_factory=list)
    work: int = 0


# ---------------------------------------------------------------------------------------------
# untrusted JSON


def _int(x: Any, name: str, lo: int | None = None, hi: int | None = None) -> int:
    """``x`` as an int (not a bool) in [lo, hi]."""
    if type(x) is not int:
        raise CertificateError(f"{name} must be an integer, not {what(x)}")
    if (lo is not None and x < lo) or (hi is not None and x > hi):
        raise CertificateError(f"{name} = {brief(x)} is out of range [{lo}, {hi}]")
    return x


def _dict(x: Any, name: str, keys: frozenset[str]) -> dict[str, Any]:
    """``x`` as a dict with exactly the given keys."""
    if type(x) is not dict:
        raise CertificateError(f"{name} must be an object, not {what(x)}")
    unknown = sorted(set(x) - keys)
    if unknown:
        raise CertificateError(f"{name}: unknown key {brief(unknown[0])}")
    missing = sorted(keys - set(x))
    if missing:
        raise CertificateError(f"{name}: missing key {missing[0]!r}")
    return x


def _list(x: Any, name: str, length: int | None = None) -> list[Any]:
    if type(x) is not list:
        raise CertificateError(f"{name} must be a list, not {what(x)}")
    if length is not None and len(x) != length:
        raise CertificateError(f"{name} has {len(x)} entries, expected {length}")
    return x


def _columns(x: Any, name: str, count: int, D: int) -> list[int]:
    """A list of ``count`` distinct column indices in [0, D)."""
    cols = _list(x, name, count)
    out = [_int(c, f"{name} entry", 0, D - 1) for c in cols]
    if len(set(out)) != len(out):
        raise CertificateError(f"{name} has a duplicate column index")
    return out


def _check_tree(data: Any) -> None:
    """Iterative sanity walk of untrusted JSON data: types, depth, sizes (no recursion)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    nodes = 1
    while stack:
        x, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise CertificateError(f"JSON data nested deeper than {MAX_JSON_DEPTH} levels")
        t = type(x)
        if t is dict:
            nodes += len(x)
            for k, v in x.items():
                if type(k) is not str:
                    raise CertificateError("JSON object keys must be strings")
                if len(k) > 100:
                    raise CertificateError(f"JSON object key {brief(k)} is too long")
                stack.append((v, depth + 1))
        elif t is list:
            nodes += len(x)
            stack.extend((v, depth + 1) for v in x)
        elif t is str:
            if len(x) > MAX_STRING_CHARS:
                raise CertificateError(f"a string of {len(x)} characters exceeds the limit "
                                       f"{MAX_STRING_CHARS}")
        elif t is int:
            if x.bit_length() > MAX_INT_BITS:
                raise CertificateError(f"an integer of {x.bit_length()} bits exceeds the limit "
                                       f"{MAX_INT_BITS}")
        elif t is float:
            if x != x or x in (float("inf"), float("-inf")):
                raise CertificateError("a number is NaN or infinite")
        elif not (t is bool or x is None):
            raise CertificateError(f"not JSON data: a value of type {t.__name__}")
        if nodes > MAX_NODES:
            raise CertificateError(f"more than {MAX_NODES} JSON values")


def digest_of(data: Mapping[str, Any]) -> str:
    """SHA-256 hex digest of the canonical JSON of a certificate without its ``digest`` key
    (sorted keys, separators ``(",", ":")``, ASCII escapes), as the writer computes it."""
    content = {k: v for k, v in data.items() if k != "digest"}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _point(raw: Any, D: int, p: int) -> list[int]:
    pts = _list(raw, "point", D)
    out = []
    for n, s in enumerate(pts):
        if type(s) is not str:
            raise CertificateError(f"point coordinate {n + 1} must be a string of digits, "
                                   f"not {what(s)}")
        if len(s) > MAX_INT_DIGITS + 1:
            raise CertificateError(f"point coordinate {n + 1} has {len(s)} characters, above "
                                   f"the limit {MAX_INT_DIGITS} digits")
        if not _INT_RE.fullmatch(s):
            raise CertificateError(f"point coordinate {n + 1} = {brief(s)} is not an integer")
        v = int(s)
        if v % p == 0:
            raise CertificateError(f"point coordinate {n + 1} is zero modulo p")
        out.append(v)
    return out


def _summary(x: Any) -> str:
    """A short description of an exact rational for the check lines."""
    n, d = int(x.numerator), int(x.denominator)
    digits = len(str(abs(n))) if abs(n) < 10**4000 else n.bit_length() * 30103 // 100000
    text = f"{digits}-digit {'negative ' if n < 0 else ''}integer"
    if d == 1:
        return text
    ddigits = len(str(d)) if d < 10**4000 else d.bit_length() * 30103 // 100000
    return f"{text} over a {ddigits}-digit denominator"


# ---------------------------------------------------------------------------------------------
# the checks


class _Point:
    """The point modulo p and (for ``rational``) exactly, as SymPy domain elements."""

    def __init__(self, coords: list[int], p: int, rational: bool) -> None:
        self.F = alg.GF(p)
        self.p = p
        self.mod = [self.F(c % p) for c in coords]
        self.exact = [alg.QQ(c) for c in coords] if rational else None
        self.xwords = max((abs(c).bit_length() for c in coords), default=1) // 64 + 1


def _reduce(K_value: Any, F: Any) -> Any:
    """The image in GF(p) of an exact rational (its denominator must be prime to p)."""
    if not K_value:
        return F.zero
    return alg.coerce(F, _fraction(K_value))


def _fraction(x: Any) -> Any:
    from fractions import Fraction

    return Fraction(int(x.numerator), int(x.denominator))


def _lie(lie: Any, D: int, d: int) -> tuple[int, list[Any], list[int]]:
    lie = _dict(lie, "lie", LIE_KEYS)
    r = _int(lie["rank"], "lie.rank", 0, D)
    raw = _list(lie["words"], "lie.words")
    if len(raw) != r:
        raise CertificateError(f"lie.words has {len(raw)} words but lie.rank is {r}")
    pivots = _columns(lie["pivots"], "lie.pivots", r, D)
    for v in _list(lie["level_ranks"], "lie.level_ranks"):
        _int(v, "lie.level_ranks entry", 0, D)
    return r, raw, pivots


def _nonzero_det(rows: list[list[Any]], K: Any, what_: str, message: str) -> Any:
    d = alg.det(rows, K, what_)
    if not d:
        raise CertificateError(message)
    return d


def _check_claims(claims: Any) -> dict[str, Any]:
    claims = _dict(claims, "claims", CLAIM_KEYS)
    for key in ("lie_rank_lower", "lie_rank_upper", "laws_lower", "laws_upper"):
        v = claims[key]
        if type(v) is not int:
            raise CertificateError(f"claims.{key} must be an integer, not {what(v)}")
    if type(claims["certified"]) is not bool:
        raise CertificateError(f"claims.certified must be true or false, not "
                               f"{brief(claims['certified'])}")
    if not (claims["method"] is None or type(claims["method"]) is str):
        raise CertificateError(f"claims.method must be a string or null, not "
                               f"{brief(claims['method'])}")
    return claims


def _compare_claims(claims: dict[str, Any], proven: dict[str, Any]) -> None:
    for key in ("lie_rank_lower", "laws_upper", "laws_lower", "lie_rank_upper", "certified",
                "method"):
        if claims[key] != proven[key] or type(claims[key]) is not type(proven[key]):
            raise CertificateError(f"claims.{key} = {brief(claims[key])} is not what the "
                                   f"certificate proves ({brief(proven[key])})")


def _header(data: Any, check_digest: bool, checks: list[str]) -> None:
    if type(data) is not dict:
        raise CertificateError(f"a certificate must be a JSON object, not {what(data)}")
    _check_tree(data)
    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        raise CertificateError(f"unknown top-level key {brief(unknown[0])}")
    if check_digest:
        dg = data.get("digest")
        if type(dg) is not str or not _HEX_RE.fullmatch(dg):
            raise CertificateError("digest: missing or not a SHA-256 hex string")
        if not hmac.compare_digest(dg, digest_of(data)):
            raise CertificateError("digest mismatch: the file was modified after it was written")
        checks.append("digest: SHA-256 of the canonical content matches")
    missing = sorted(TOP_KEYS - {"digest"} - set(data))
    if missing:
        raise CertificateError(f"missing top-level key {missing[0]!r}")
    if data["format"] != FORMAT or type(data["format"]) is not str:
        raise CertificateError(f"format must be {FORMAT!r}, not {brief(data['format'])}")
    if type(data["version"]) is not int or data["version"] != VERSION:
        raise CertificateError(f"version {brief(data['version'])} is not supported "
                               f"(this verifier reads version {VERSION})")
    if type(data["convention"]) is not str or data["convention"] != CONVENTION:
        raise CertificateError(f"convention {brief(data['convention'])} differs from this "
                               f"library's {CONVENTION!r}")
    checks.append(f"format {FORMAT} version {VERSION}, convention {CONVENTION}")


def _verify(data: Any, check_digest: bool, rational: bool, checks: list[str]) -> dict[str, Any]:
    _header(data, check_digest, checks)
    text = prescreen(data["model"])
    D = _int(data["D"], "D", 1)
    d = _int(data["d"], "d", 1)
    model = rebuild(text)
    if D != model.D or d != model.d:
        raise CertificateError(f"D/d = {D}/{d} differ from the rebuilt model's "
                               f"{model.D}/{model.d}")
    _int(data["seed"], "seed")
    checks.append(f"model {brief(data['model'])} rebuilt: D = {D}, d = {d}")

    p = _int(data["prime"], "prime")
    if not MIN_PRIME_EXCLUSIVE < p < MAX_PRIME_EXCLUSIVE:
        raise CertificateError(f"prime {brief(p)} is outside (2^20, 2^64)")
    if not isprime(p):
        raise CertificateError(f"prime {p} is not prime")
    coords = _point(data["point"], D, p)
    checks.append(f"prime {p} is prime; point has {D} integer coordinates, all non-zero mod p")
    pt = _Point(coords, p, rational)
    F = pt.F

    # -- the structure of every block, before any mathematics ------------------------------
    r, raw_words, lie_pivots = _lie(data["lie"], D, d)
    table = WordTable(d, D)
    words = [table.parse(w) for w in raw_words]
    if len(set(words)) != len(words):
        raise CertificateError("lie.words lists the same word twice")
    laws = _dict(data["laws"], "laws", LAWS_KEYS)
    m = _int(laws["rank"], "laws.rank", 0, D)
    texts = _list(laws["polynomials"], "laws.polynomials", m)
    law_pivots = _columns(laws["pivots"], "laws.pivots", m, D)
    inv = data["involutive"]
    inv_rows: list[int] | None = None
    if inv is not None:
        inv = _dict(inv, "involutive", INVOLUTIVE_KEYS)
        ir = _int(inv["rank"], "involutive.rank", 0, D)
        if ir != r:
            raise CertificateError(f"involutive.rank = {ir} differs from lie.rank = {r}")
        if ir > MAX_INVOLUTIVE_RANK:
            raise CertificateError(f"involutive.rank = {ir} is above the verifier's limit "
                                   f"{MAX_INVOLUTIVE_RANK}")
        inv_rows = _columns(inv["rows"], "involutive.rows", ir, D)
    claims = _check_claims(data["claims"])
    # the determinants' cost with the smallest possible entries: hopeless sizes are refused
    # before any value is computed (the exact cost is charged when the entries are known)
    for K in (F, alg.QQ) if rational else (F,):
        cost = sum(alg.det_cost(n, K, pt.xwords) for n in (r, m))
        if cost > remaining():
            raise CertificateError(f"the {max(r, m)}x{max(r, m)} minors need more work than "
                                   "the verifier's limit")

    # the laws are read first: reading is cheap and refuses malformed text early
    polys = [read_law(t, n + 1, D) for n, t in enumerate(texts)]

    # -- lie: the minor of the words' values ------------------------------------------------
    # values modulo p; with ``rational``, exact values over Q, reduced modulo p for the
    # modular minor (one computation, two determinants)
    gens = Generators(model)
    table.column = gens.column
    jet_vars = check_jet_costs(table, words, gens, exact=rational)
    if rational:
        assert pt.exact is not None
        values = Values(gens, table, alg.QQ, pt.exact, pt.xwords)
    else:
        values = Values(gens, table, F, pt.mod)
    values.jet_vars = jet_vars
    charge(r * r * 20 + 100, "the lie minor's entries")
    rows = [[values.value(w, c) for c in lie_pivots] for w in words]
    if rational:
        charge(r * r * 100 + 100, "reducing the exact values modulo p")
    rows_p = [[_reduce(v, F) for v in row] for row in rows] if rational else rows
    _nonzero_det(rows_p, F, "the lie minor",
                 f"lie: the {r}x{r} minor of the word values on the pivot columns is "
                 "zero modulo p (rank not proven)")
    checks.append(f"lie: {r} bracket words, {r}x{r} minor on columns {lie_pivots} non-zero "
                  f"mod p => dim Lie(V)(point) >= {r}")
    if rational:
        det_q = _nonzero_det(rows, alg.QQ, "the exact lie minor",
                             f"lie: the {r}x{r} minor of the exact word values is zero over Q")
        checks.append(f"rational: lie minor over Q = {_summary(det_q)} != 0")

    # -- laws --------------------------------------------------------------------------------
    pairs = 0
    for n, (h, t) in enumerate(zip(polys, texts, strict=True)):
        pairs += check_law(h, n + 1, t, gens)
    if m:
        checks.append(f"laws: {m} polynomials, <grad h, X_i> == 0 identically over Q for every "
                      f"generator ({pairs} distinct restricted identities checked, "
                      f"{gens.d} generators)")
        if rational:
            assert pt.exact is not None
            grads_q = [gradient_row(h, law_pivots, alg.QQ, pt.exact, pt.xwords) for h in polys]
            charge(m * m * 100 + 100, "reducing the exact values modulo p")
            grads = [[_reduce(v, F) for v in row] for row in grads_q]
        else:
            grads = [gradient_row(h, law_pivots, F, pt.mod) for h in polys]
        _nonzero_det(grads, F, "the laws minor",
                     f"laws: the {m}x{m} minor of the law gradients on the pivot columns is "
                     "zero modulo p (independence not proven)")
        checks.append(f"laws: {m}x{m} minor of the gradients on columns {law_pivots} non-zero "
                      f"mod p => {m} independent laws near generic points")
        if rational:
            det_q = _nonzero_det(grads_q, alg.QQ, "the exact laws minor",
                                 f"laws: the {m}x{m} minor of the exact law gradients is "
                                 "zero over Q")
            checks.append(f"rational: laws minor over Q = {_summary(det_q)} != 0")
    else:
        checks.append("laws: none exhibited")

    # -- involutive --------------------------------------------------------------------------
    laws_upper = D - r
    if inv_rows is None:
        laws_lower, method = m, "laws"
    else:
        frame = Frame(gens, table, words, [alg.QQ(c) for c in coords])
        det, C = frame.determinant(inv_rows)
        if rational:
            assert pt.exact is not None
            at_q = alg.evaluate(det, frame.V, pt.exact, pt.xwords) if det else alg.QQ.zero
            at_p = _reduce(at_q, F)
        else:
            at_p = (alg.evaluate(alg.to_domain(det, F, "det M modulo p"), frame.V, pt.mod)
                    if det else F.zero)
        if not at_p:
            raise CertificateError(f"involutive: det M on rows {inv_rows} is zero at the point "
                                   "modulo p")
        if rational and not at_q:
            raise CertificateError(f"involutive: det M on rows {inv_rows} is zero at the point "
                                   "over Q")
        count = frame.check(inv_rows, det, C)
        checks.append(f"involutive: det M on rows {inv_rows} non-zero at the point mod p; all "
                      f"{gens.d} generators and {r * (r - 1) // 2} brackets [Y_a, Y_b] lie in "
                      f"span(Y) over Q(theta) ({count} exact identities) => dim Lie(V) = {r} "
                      "generically")
        if rational:
            checks.append(f"rational: det M at the point = {_summary(at_q)} != 0 over Q")
        laws_lower, method = D - r, "involutive"
    if max(m, laws_lower) > laws_upper:
        raise CertificateError(f"inconsistent bounds: {max(m, laws_lower)} laws proven but at "
                               f"most {laws_upper} possible")
    certified = laws_lower == laws_upper
    proven = {
        "lie_rank_lower": r,
        "lie_rank_upper": D - laws_lower,
        "laws_lower": laws_lower,
        "laws_upper": laws_upper,
        "certified": certified,
        "method": method if certified else None,
    }
    _compare_claims(claims, proven)
    if certified:
        checks.append(f"claims: exactly {laws_lower} independent laws near generic points "
                      f"(method {method}); Lie rank {r}")
    else:
        checks.append(f"claims: {laws_lower} <= number of laws <= {laws_upper} (not certified)")
    return proven


# ---------------------------------------------------------------------------------------------
# public API


def verify_certificate(data: Any, check_digest: bool = True, rational: bool = False) -> Verdict:
    """Re-check a parsed certificate (untrusted JSON data); never raises on bad input.

    ``check_digest=False`` skips the SHA-256 comparison (the digest key may then be absent),
    so that every mathematical check can be exercised on a file whose digest was recomputed.
    ``rational=True`` also re-checks every rank claim by exact determinants over Q.
    """
    checks: list[str] = []
    work = Work(limit=MAX_WORK_RATIONAL if rational else MAX_WORK)
    try:
        with work.active():
            proven = _verify(data, check_digest, bool(rational), checks)
    except CertificateError as e:
        return Verdict(False, one_line(str(e)), {}, checks, work.used)
    except RecursionError:
        return Verdict(False, "certificate nested too deeply", {}, checks, work.used)
    except MemoryError:
        return Verdict(False, "certificate too large to verify (out of memory)", {}, checks,
                       work.used)
    except Exception as e:  # noqa: BLE001 - a verifier must reject, never crash, on bad input
        return Verdict(False, one_line(f"certificate could not be processed: "
                                       f"{type(e).__name__}: {e}"), {}, checks, work.used)
    return Verdict(True, "", proven, checks, work.used)


def _reject_constant(name: str) -> Any:
    raise CertificateError(f"the JSON constant {name} is not allowed")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise CertificateError(f"duplicate JSON key {brief(k)}")
        out[k] = v
    return out


def _read(path: Any) -> bytes:
    """The bytes of a regular file, opened once without blocking, at most the limit + 1."""
    if type(path) is not str and not isinstance(path, os.PathLike):
        raise CertificateError(f"path must be a string, not {what(path)}")
    name = os.fspath(path)
    if isinstance(name, bytes):
        name = os.fsdecode(name)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    flags |= getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(name, flags)
    except FileNotFoundError:
        raise CertificateError(f"certificate file {brief(name)} not found") from None
    except IsADirectoryError:
        raise CertificateError(f"certificate {brief(name)} is not a regular file") from None
    except OSError as e:
        raise CertificateError(f"cannot read the certificate: {e.strerror or e}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise CertificateError(f"certificate {brief(name)} is not a regular file")
        limit = MAX_FILE_BYTES
        if st.st_size > limit:
            raise CertificateError(f"certificate file is larger than the limit {limit} bytes")
        chunks = []
        size = 0
        while size <= limit:
            try:
                chunk = os.read(fd, min(limit + 1 - size, 1 << 20))
            except BlockingIOError:
                raise CertificateError("certificate file could not be read without "
                                       "blocking") from None
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise CertificateError(f"certificate file is larger than the limit {limit} bytes")
        return b"".join(chunks)
    except OSError as e:
        raise CertificateError(f"cannot read the certificate: {e.strerror or e}") from None
    finally:
        os.close(fd)


def _load(path: Any) -> Any:
    raw = _read(path)
    if not raw:
        raise CertificateError("certificate file is empty")
    # a bound on the number of JSON values before the parser allocates them
    values = raw.count(b",") + raw.count(b"[") + raw.count(b"{") + raw.count(b":")
    if values > 2 * MAX_NODES:
        raise CertificateError(f"certificate file holds more than {MAX_NODES} JSON values")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CertificateError("certificate file is not UTF-8 text") from None
    try:
        return json.loads(text, parse_constant=_reject_constant,
                          object_pairs_hook=_no_duplicates)
    except RecursionError:
        raise CertificateError("certificate JSON is nested too deeply") from None
    except CertificateError:
        raise
    except ValueError as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CertificateError(f"certificate file is not valid JSON: {one_line(msg, 200)}"
                               ) from None


def verify_file(path: Any, check_digest: bool = True, rational: bool = False) -> Verdict:
    """Read a certificate file (a regular file of at most :data:`MAX_FILE_BYTES`) and verify
    it; never raises on bad input."""
    try:
        data = _load(path)
    except CertificateError as e:
        return Verdict(False, one_line(str(e)), {}, [])
    except MemoryError:
        return Verdict(False, "certificate too large to read (out of memory)", {}, [])
    except Exception as e:  # noqa: BLE001 - never crash on a hostile file
        return Verdict(False, one_line(f"certificate could not be read: "
                                       f"{type(e).__name__}: {e}"), {}, [])
    return verify_certificate(data, check_digest=check_digest, rational=rational)


def admissible(cert: Any, nbytes: int) -> str:
    """"" if the verifier accepts the certificate ``cert`` (``nbytes`` long as a file), else
    the one-line reason it would reject it: what ``conslaw count`` checks before writing."""
    if type(nbytes) is int and nbytes > MAX_FILE_BYTES:
        return f"the certificate would be {nbytes} bytes, above the verifier's limit"
    try:
        data = json.loads(json.dumps(cert, allow_nan=False))
    except (TypeError, ValueError, RecursionError) as e:
        return one_line(f"the verifier would reject it: not JSON data ({e})")
    v = verify_certificate(data)
    return "" if v.ok else f"the verifier would reject it: {v.reason}"


