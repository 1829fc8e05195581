"""Independent re-check of a certificate written by :mod:`conslaw_flint.certify`.

The verifier shares nothing with the solver except the safe expression reader
(:func:`conslaw_flint.parse.parse_polynomial`) and the model builders
(:func:`conslaw_flint.models.build_model`, :data:`~conslaw_flint.models.CONVENTION`).  Its
arithmetic is its own: sparse polynomials as plain ``dict`` (monomial -> Python ``int``), its own
Lie bracket, its own evaluation modulo p and its own determinant modulo p (Gaussian
elimination on Python integers).  No FLINT polynomial, no NumPy, no solver module.

What a verified certificate proves (design.md §4), with K* the generic dimension of the Lie
trace and N = D - K* the number of independent laws near a generic point:

* ``lie``: the r named bracket words are elements of Lie(V); an r x r minor of their values at
  the integer point is non-zero modulo p, so it is a non-zero integer (values are reduced
  through the ring map Z_(p) -> F_p), hence dim Lie(V)(point) >= r and K* >= r:
  ``lie_rank_lower = r`` and ``laws_upper = D - r``.
* ``laws`` (method ``"laws"``): each polynomial h satisfies <grad h, X_i> = 0 identically over Q
  for every generator X_i (checked exactly on integer-scaled copies), and an m x m minor of their
  gradients at the point is non-zero modulo p: ``laws_lower = m``.
* ``involutive`` (method ``"involutive"``): with Y_a the lie words' fields and M the r x r
  polynomial matrix M[j][a] = (Y_a)_{rows[j]}, det M is non-zero at the point, and every
  generator and every bracket [Y_a, Y_b] satisfies det(M) Z - sum_a Y_a (adj(M) Z_rows)_a = 0
  identically over Q: Lie(V)(theta) = span Y(theta) on the dense open set det M != 0, so
  K* = r exactly and ``laws_lower = D - r``.

The input is treated as hostile: size, nesting depth, string length, integer size and every type
are checked before use; nothing is ever evaluated as code; a model specification that names a
file is refused.  Public entry points never raise on bad input: they return a :class:`Verdict`
with ``ok=False`` and a one-line ``reason``.

>>> from conslaw_flint.algorithms.certify import certificate, count_laws
>>> from conslaw_flint.models import build_model
>>> cert = certificate(count_laws(build_model("product:3"), seed=0))
>>> v = verify_certificate(cert)
>>> (v.ok, v.claims["laws_lower"], v.claims["method"])
(True, 2, 'laws')
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
from collections.abc import Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import flint

from ..core.polynomials import terms
from ..io.parse import ParseError, parse_polynomial
from ..models import CONVENTION, ModelError, build_model

__all__ = [
    "MAX_FILE_BYTES",
    "CertificateError",
    "Verdict",
    "det_mod",
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
#: deepest nesting of a Lie bracket word
MAX_WORD_DEPTH = 64
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
#: most term-by-term products in one polynomial multiplication, and most terms of one field
#: (bounds the work a hostile certificate can demand, e.g. with a deep bracket word)
MAX_PRODUCT_WORK = 5_000_000
MAX_FIELD_TERMS = 1_000_000
#: most term-by-term products in one whole verification (about a minute of work); the
#: certificate of relu:9,9,9,9,9 (D = 324, d = 59049) needs about 600 000
MAX_TOTAL_WORK = 30_000_000
#: largest frame of an involutivity certificate (the solver's limit)
MAX_INVOLUTIVE_RANK = 8

TOP_KEYS = frozenset({"format", "version", "convention", "model", "D", "d", "seed", "prime",
                      "point", "lie", "laws", "involutive", "claims", "digest"})
LIE_KEYS = frozenset({"rank", "words", "pivots", "level_ranks"})
LAWS_KEYS = frozenset({"rank", "polynomials", "pivots"})
INVOLUTIVE_KEYS = frozenset({"rank", "rows"})
CLAIM_KEYS = frozenset({"lie_rank_lower", "lie_rank_upper", "laws_lower", "laws_upper",
                        "certified", "method"})

_INT_RE = re.compile(r"-?[0-9]+")
_HEX_RE = re.compile(r"[0-9a-f]{64}")
_SPEC_RE = re.compile(r"(linear|relu|relu-bias|product|poly(\[[0-9]{1,6}\])?|fields|random):")

Mono = tuple[tuple[int, int], ...]
IPoly = dict[Mono, int]          # integer coefficients (exact), or residues modulo p
IField = dict[int, IPoly]        # component index -> polynomial
Word = int | tuple["Word", "Word"]


_WORK: ContextVar[list[int]] = ContextVar("conslaw_verify_work")


def _spend(products: int) -> None:
    """Charge ``products`` term products to the current verification's work budget."""
    counter = _WORK.get(None)
    if counter is None:
        return
    counter[0] += products
    if counter[0] > MAX_TOTAL_WORK:
        raise CertificateError(f"verifying this certificate needs more than {MAX_TOTAL_WORK} "
                               "term products (the verifier's work limit)")


class CertificateError(ValueError):
    """A certificate was rejected (one-line reason)."""


@dataclass
class Verdict:
    """Outcome of a verification.

    ``ok``: every check passed.  ``reason``: one line, why it was rejected ("" when ok).
    ``claims``: the proven claims (the six ``claims`` keys) when ok, else ``{}``.
    ``checks``: human-readable lines, one per check that passed (in order).
    """

    ok: bool
    reason: str
    claims: dict[str, Any] = field(default_factory=dict)
    checks: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# small helpers


def _brief(x: Any, limit: int = 60) -> str:
    """A short one-line representation of untrusted data for messages."""
    if isinstance(x, str):
        s = x if len(x) <= limit else x[: limit - 3] + "..."
        return repr(s)
    if type(x) is int:
        return str(x) if abs(x) < 10**18 else f"~2^{abs(x).bit_length()}"
    return type(x).__name__


_JSON_NAMES = {dict: "object", list: "list", str: "string", int: "integer", float: "number",
               bool: "boolean", type(None): "null"}


def _what(x: Any) -> str:
    """The JSON type name of a value (for type errors)."""
    return _JSON_NAMES.get(type(x), type(x).__name__)


def _one_line(msg: str, limit: int = 400) -> str:
    msg = " ".join(str(msg).split())
    return msg if len(msg) <= limit else msg[: limit - 3] + "..."


def _is_int(x: Any) -> bool:
    return type(x) is int


def _int(x: Any, what: str, lo: int | None = None, hi: int | None = None) -> int:
    """``x`` as an int (not a bool) in [lo, hi]."""
    if not _is_int(x):
        raise CertificateError(f"{what} must be an integer, not {_what(x)}")
    if (lo is not None and x < lo) or (hi is not None and x > hi):
        raise CertificateError(f"{what} = {_brief(x)} is out of range [{lo}, {hi}]")
    return x


def _dict(x: Any, what: str, keys: frozenset[str]) -> dict[str, Any]:
    """``x`` as a dict with exactly the given keys."""
    if type(x) is not dict:
        raise CertificateError(f"{what} must be an object, not {_what(x)}")
    unknown = sorted(set(x) - keys)
    if unknown:
        raise CertificateError(f"{what}: unknown key {_brief(unknown[0])}")
    missing = sorted(keys - set(x))
    if missing:
        raise CertificateError(f"{what}: missing key {missing[0]!r}")
    return x


def _list(x: Any, what: str, length: int | None = None) -> list[Any]:
    if type(x) is not list:
        raise CertificateError(f"{what} must be a list, not {_what(x)}")
    if length is not None and len(x) != length:
        raise CertificateError(f"{what} has {len(x)} entries, expected {length}")
    return x


def _columns(x: Any, what: str, count: int, D: int) -> list[int]:
    """A list of ``count`` distinct column indices in [0, D)."""
    cols = _list(x, what, count)
    out = [_int(c, f"{what} entry", 0, D - 1) for c in cols]
    if len(set(out)) != len(out):
        raise CertificateError(f"{what} has a duplicate column index")
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
                    raise CertificateError(f"JSON object key {_brief(k)} is too long")
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


# ---------------------------------------------------------------------------------------------
# sparse polynomial arithmetic (integers, optionally modulo p)


def _mono_mul(a: Mono, b: Mono) -> Mono:
    if not a:
        return b
    if not b:
        return a
    out: list[tuple[int, int]] = []
    i = j = 0
    na, nb = len(a), len(b)
    while i < na and j < nb:
        va, ea = a[i]
        vb, eb = b[j]
        if va == vb:
            out.append((va, ea + eb))
            i += 1
            j += 1
        elif va < vb:
            out.append(a[i])
            i += 1
        else:
            out.append(b[j])
            j += 1
    out.extend(a[i:])
    out.extend(b[j:])
    return tuple(out)


def _clean(acc: dict[Mono, int], mod: int | None) -> IPoly:
    if mod is None:
        return {m: c for m, c in acc.items() if c}
    out = {}
    for m, c in acc.items():
        c %= mod
        if c:
            out[m] = c
    return out


def _mul(a: IPoly, b: IPoly, mod: int | None) -> IPoly:
    if not a or not b:
        return {}
    if len(a) * len(b) > MAX_PRODUCT_WORK:
        raise CertificateError(f"a polynomial product of {len(a)} by {len(b)} terms exceeds the "
                               f"verifier's work limit {MAX_PRODUCT_WORK}")
    _spend(len(a) * len(b))
    acc: dict[Mono, int] = {}
    for ma, ca in a.items():
        for mb, cb in b.items():
            m = _mono_mul(ma, mb)
            acc[m] = acc.get(m, 0) + ca * cb
    return _clean(acc, mod)


def _add_scaled(acc: dict[Mono, int], a: IPoly, scale: int) -> None:
    """acc += scale * a (no reduction; call :func:`_clean` at the end)."""
    for m, c in a.items():
        acc[m] = acc.get(m, 0) + scale * c


def _deriv(a: IPoly, var: int, mod: int | None) -> IPoly:
    acc: dict[Mono, int] = {}
    for m, c in a.items():
        for t, (v, e) in enumerate(m):
            if v == var:
                nm = m[:t] + (((v, e - 1),) if e > 1 else ()) + m[t + 1:]
                acc[nm] = acc.get(nm, 0) + c * e
                break
            if v > var:
                break
    return _clean(acc, mod)


def _vars(a: IPoly) -> set[int]:
    return {v for m in a for v, _ in m}


def _bracket(X: IField, Y: IField, mod: int | None) -> IField:
    """[X, Y] = dY . X - dX . Y, i.e. [X, Y]_k = sum_j X_j d_j Y_k - Y_j d_j X_k."""
    out: IField = {}
    terms = 0
    xvars = {k: _vars(c) for k, c in X.items()}
    yvars = {k: _vars(c) for k, c in Y.items()}
    for k in set(X) | set(Y):
        acc: dict[Mono, int] = {}
        if k in Y:
            for j, xj in X.items():
                if j in yvars[k]:
                    _add_scaled(acc, _mul(xj, _deriv(Y[k], j, mod), mod), 1)
        if k in X:
            for j, yj in Y.items():
                if j in xvars[k]:
                    _add_scaled(acc, _mul(yj, _deriv(X[k], j, mod), mod), -1)
        comp = _clean(acc, mod)
        if comp:
            out[k] = comp
            terms += len(comp)
            if terms > MAX_FIELD_TERMS:
                raise CertificateError(f"a bracket has more than {MAX_FIELD_TERMS} terms "
                                       "(the verifier's limit)")
    return out


def _eval_mod(a: IPoly, x: Sequence[int], p: int) -> int:
    """Value modulo p of an integer polynomial at a point given by residues ``x``."""
    total = 0
    for m, c in a.items():
        t = c
        for v, e in m:
            t = t * pow(x[v], e, p) % p
        total += t
    return total % p


def _frac_mod(c: Fraction, p: int) -> int:
    """Image of a rational in F_p (its denominator must be prime to p)."""
    den = c.denominator % p
    if den == 0:
        raise CertificateError(f"a coefficient has a denominator divisible by the prime {p}")
    return c.numerator * pow(den, -1, p) % p


def _to_mod(a: Mapping[Mono, Fraction], p: int) -> IPoly:
    return _clean({m: _frac_mod(Fraction(c), p) for m, c in a.items()}, p)


def _scale_to_int(polys: Iterable[Mapping[Mono, Fraction]]) -> int:
    """The lcm of the denominators of all coefficients."""
    den = 1
    for a in polys:
        for c in a.values():
            d = Fraction(c).denominator
            den = den * d // _gcd(den, d)
    return den


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a


def _to_int(a: Mapping[Mono, Fraction], scale: int) -> IPoly:
    out = {}
    for m, c in a.items():
        v = Fraction(c) * scale
        assert v.denominator == 1
        if v:
            out[m] = v.numerator
    return out


def det_mod(rows: Sequence[Sequence[int]], p: int) -> int:
    """Determinant modulo the prime p of a square integer matrix (Gaussian elimination)."""
    n = len(rows)
    A = [[v % p for v in r] for r in rows]
    if any(len(r) != n for r in A):
        raise ValueError("det_mod needs a square matrix")
    det = 1
    for k in range(n):
        piv = next((i for i in range(k, n) if A[i][k]), None)
        if piv is None:
            return 0
        if piv != k:
            A[k], A[piv] = A[piv], A[k]
            det = -det
        rowk = A[k]
        akk = rowk[k]
        det = det * akk % p
        inv = pow(akk, -1, p)
        tail = rowk[k + 1:]
        for i in range(k + 1, n):
            ri = A[i]
            f = ri[k] * inv % p
            if f:
                ri[k + 1:] = [(a - f * b) % p for a, b in zip(ri[k + 1:], tail, strict=True)]
    return det % p


def _is_prime(n: int) -> bool:
    return bool(flint.fmpz(n).is_prime())


# ---------------------------------------------------------------------------------------------
# the generators of the model, in the verifier's own representation


class _Generators:
    """The fields X_i (grad phi_i, or the given fields), built lazily one at a time."""

    def __init__(self, model: Any, p: int) -> None:
        phi = model.phi
        self.phi: tuple[Mapping[Mono, Fraction], ...] | None = (
            None if phi is None else tuple(dict(terms(q)) for q in phi))
        self.fields: tuple[Mapping[int, Mapping[Mono, Fraction]], ...] | None = (
            None if self.phi is not None else
            tuple({k: dict(terms(c)) for k, c in f.items()} for f in model.fields))
        self.d: int = len(self.phi) if self.phi is not None else len(self.fields or ())
        self.D: int = model.D
        self.p = p
        self._mod: dict[int, IField] = {}
        self._exact: dict[int, IField] = {}
        self._index: dict[int, list[int]] | None = None

    def modp(self, i: int) -> IField:
        """X_i with coefficients reduced modulo p."""
        if i not in self._mod:
            p = self.p
            if self.phi is not None:
                ph = _to_mod(self.phi[i], p)
                f = {k: _deriv(ph, k, p) for k in sorted(_vars(ph))}
            else:
                assert self.fields is not None
                f = {k: _to_mod(c, p) for k, c in self.fields[i].items()}
            self._mod[i] = {k: c for k, c in f.items() if c}
        return self._mod[i]

    def exact(self, i: int) -> IField:
        """lambda_i X_i with integer coefficients (lambda_i > 0 clears all denominators)."""
        if i not in self._exact:
            if self.phi is not None:
                ph = _to_int(self.phi[i], _scale_to_int([self.phi[i]]))
                f = {k: _deriv(ph, k, None) for k in sorted(_vars(ph))}
            else:
                assert self.fields is not None
                comps = self.fields[i]
                s = _scale_to_int(comps.values())
                f = {k: _to_int(c, s) for k, c in comps.items()}
            self._exact[i] = {k: c for k, c in f.items() if c}
        return self._exact[i]

    def touching(self, var: int) -> list[int]:
        """Generators with a non-zero component ``var``."""
        if self._index is None:
            index: dict[int, list[int]] = {}
            if self.phi is not None:
                for i, ph in enumerate(self.phi):
                    for v in {v for m in ph for v, _ in m}:
                        index.setdefault(v, []).append(i)
            else:
                assert self.fields is not None
                for i, f in enumerate(self.fields):
                    for k, c in f.items():
                        if c:
                            index.setdefault(k, []).append(i)
            self._index = index
        return self._index.get(var, [])


def _word(x: Any, d: int, depth: int = 1) -> Word:
    """A bracket word from JSON (``i`` or ``[w1, w2]``), depth at most MAX_WORD_DEPTH."""
    if depth > MAX_WORD_DEPTH:
        raise CertificateError(f"a Lie word is nested deeper than {MAX_WORD_DEPTH} levels")
    if _is_int(x):
        if not 0 <= x < d:
            raise CertificateError(f"generator index {_brief(x)} in a Lie word is out of "
                                   f"range [0, {d})")
        return x
    if type(x) is list and len(x) == 2:
        return (_word(x[0], d, depth + 1), _word(x[1], d, depth + 1))
    raise CertificateError(f"a Lie word must be a generator index or a pair [w1, w2], "
                           f"not {_what(x)}")


def _word_field(w: Word, gens: _Generators, cache: dict[Word, IField]) -> IField:
    """The exact field of a word, from the integer-scaled generators (a bracket word of
    lambda_i X_i is a non-zero constant multiple of the same word of the X_i)."""
    if w not in cache:
        if isinstance(w, int):
            cache[w] = gens.exact(w)
        else:
            a = _word_field(w[0], gens, cache)
            b = _word_field(w[1], gens, cache)
            cache[w] = _bracket(a, b, None)
    return cache[w]


# ---------------------------------------------------------------------------------------------
# values of words at the point: truncated Taylor expansions (jets) modulo p
#
# The value of [A, B] at x0 needs A, B and their first derivatives at x0; in general the
# Taylor expansion of [A, B] at x0 up to order s needs those of A and B up to order s + 1.  So a
# word is evaluated from jets of its generators of order (depth below the word), never from
# its full expansion.  A jet is a list of homogeneous parts (index = degree) in y = x - x0.

JPoly = list[dict[Mono, int]]
JField = dict[int, JPoly]


def _shift(a: IPoly, x: Sequence[int], s: int, p: int) -> JPoly:
    """Taylor expansion of a(x0 + y) up to order s, modulo p (x = residues of x0)."""
    out: JPoly = [{} for _ in range(s + 1)]
    for m, c in a.items():
        partial: list[tuple[Mono, int, int]] = [((), 0, c)]
        for v, e in m:
            xv = x[v]
            nxt = []
            for mono, deg, cc in partial:
                for j in range(min(e, s - deg) + 1):
                    coef = cc * _binom(e, j) * pow(xv, e - j, p) % p
                    if coef:
                        nxt.append((mono + ((v, j),) if j else mono, deg + j, coef))
            partial = nxt
            _spend(len(partial))
        for mono, deg, cc in partial:
            part = out[deg]
            part[mono] = (part.get(mono, 0) + cc) % p
    return [{mm: c for mm, c in part.items() if c} for part in out]


def _binom(n: int, k: int) -> int:
    num = den = 1
    for t in range(k):
        num *= n - t
        den *= t + 1
    return num // den


def _jmul_into(acc: list[dict[Mono, int]], a: JPoly, b: JPoly, sign: int) -> None:
    """acc += sign * a * b, truncated at order len(acc) - 1 (no reduction)."""
    s = len(acc) - 1
    for d1, pa in enumerate(a[: s + 1]):
        if not pa:
            continue
        for d2 in range(min(len(b) - 1, s - d1) + 1):
            pb = b[d2]
            if not pb:
                continue
            if len(pa) * len(pb) > MAX_PRODUCT_WORK:
                raise CertificateError(f"a jet product of {len(pa)} by {len(pb)} terms exceeds "
                                       f"the verifier's work limit {MAX_PRODUCT_WORK}")
            _spend(len(pa) * len(pb))
            out = acc[d1 + d2]
            for ma, ca in pa.items():
                cs = sign * ca
                for mb, cb in pb.items():
                    m = _mono_mul(ma, mb)
                    out[m] = out.get(m, 0) + cs * cb


def _jderiv(a: JPoly, var: int, p: int) -> JPoly:
    """d/dy_var of a jet (its order drops by one)."""
    _spend(sum(len(part) for part in a))
    return [_deriv(part, var, p) for part in a[1:]]


def _jvars(a: JPoly) -> set[int]:
    return {v for part in a for m in part for v, _ in m}


def _jbracket(A: JField, B: JField, s: int, p: int) -> JField:
    """[A, B] up to order s, from jets of A and B of order at least s + 1."""
    out: JField = {}
    terms = 0
    avars = {k: _jvars(c) for k, c in A.items()}
    bvars = {k: _jvars(c) for k, c in B.items()}
    for k in set(A) | set(B):
        acc: list[dict[Mono, int]] = [{} for _ in range(s + 1)]
        if k in B:
            for j, aj in A.items():
                if j in bvars[k]:
                    _jmul_into(acc, aj, _jderiv(B[k], j, p), 1)
        if k in A:
            for j, bj in B.items():
                if j in avars[k]:
                    _jmul_into(acc, bj, _jderiv(A[k], j, p), -1)
        comp = [_clean(part, p) for part in acc]
        if any(comp):
            out[k] = comp
            terms += sum(len(part) for part in comp)
            if terms > MAX_FIELD_TERMS:
                raise CertificateError(f"a bracket jet has more than {MAX_FIELD_TERMS} terms "
                                       "(the verifier's limit)")
    return out


class _Jets:
    """Jets at the point of the words' fields, memoised by (word, order)."""

    def __init__(self, gens: _Generators, x: Sequence[int]) -> None:
        self.gens, self.x, self.p = gens, x, gens.p
        self.memo: dict[tuple[Word, int], JField] = {}

    def jet(self, w: Word, s: int) -> JField:
        key = (w, s)
        if key not in self.memo:
            if isinstance(w, int):
                f = {k: _shift(c, self.x, s, self.p) for k, c in self.gens.modp(w).items()}
                self.memo[key] = {k: c for k, c in f.items() if any(c)}
            else:
                a = self.jet(w[0], s + 1)
                b = self.jet(w[1], s + 1)
                self.memo[key] = _jbracket(a, b, s, self.p)
        return self.memo[key]

    def value(self, w: Word, comps: Sequence[int]) -> list[int]:
        """The value of the word's field at the point, on the components ``comps``."""
        f = self.jet(w, 0)
        return [f[k][0].get((), 0) if k in f else 0 for k in comps]


def _check_lie(lie: Any, gens: _Generators, x: list[int], p: int, D: int
               ) -> tuple[int, list[Word], str]:
    lie = _dict(lie, "lie", LIE_KEYS)
    r = _int(lie["rank"], "lie.rank", 0, D)
    raw = _list(lie["words"], "lie.words")
    if len(raw) != r:
        raise CertificateError(f"lie.words has {len(raw)} words but lie.rank is {r}")
    pivots = _columns(lie["pivots"], "lie.pivots", r, D)
    levels = _list(lie["level_ranks"], "lie.level_ranks")
    for v in levels:
        _int(v, "lie.level_ranks entry", 0, D)
    words = [_word(w, gens.d) for w in raw]
    if len(set(words)) != len(words):
        raise CertificateError("lie.words lists the same word twice")
    jets = _Jets(gens, x)
    rows = [jets.value(w, pivots) for w in words]
    if det_mod(rows, p) == 0:
        raise CertificateError(f"lie: the {r}x{r} minor of the word values on the pivot "
                               "columns is zero modulo p (rank not proven)")
    return r, words, (f"lie: {r} bracket words, {r}x{r} minor on columns {pivots} non-zero "
                      f"mod p => dim Lie(V)(point) >= {r}")


def _check_laws(laws: Any, gens: _Generators, x: list[int], p: int, D: int
                ) -> tuple[int, list[str]]:
    laws = _dict(laws, "laws", LAWS_KEYS)
    m = _int(laws["rank"], "laws.rank", 0, D)
    texts = _list(laws["polynomials"], "laws.polynomials", m)
    pivots = _columns(laws["pivots"], "laws.pivots", m, D)
    checks = []
    rows = []
    pairs = 0
    for n, text in enumerate(texts):
        if type(text) is not str:
            raise CertificateError(f"law {n + 1} must be a string, not {_what(text)}")
        try:
            h = dict(terms(parse_polynomial(text, nvars=D)))
        except ParseError as e:
            raise CertificateError(f"law {n + 1} is not a polynomial in x1..x{D}: {e}") from None
        # exact identity <grad h, X_i> = 0 for every generator, on integer-scaled copies
        hi = _to_int(h, _scale_to_int([h]))
        grad = {k: _deriv(hi, k, None) for k in sorted(_vars(hi))}
        grad = {k: g for k, g in grad.items() if g}
        touched = sorted({i for k in grad for i in gens.touching(k)})
        for i in touched:
            X = gens.exact(i)
            acc: dict[Mono, int] = {}
            small, big = (X, grad) if len(X) <= len(grad) else (grad, X)
            for k in small:
                if k in big:
                    _add_scaled(acc, _mul(grad[k], X[k], None), 1)
            if _clean(acc, None):
                raise CertificateError(f"law {n + 1} ({_brief(text)}) is not a conservation law: "
                                       f"<grad h, X_{i + 1}> is not identically zero")
        pairs += len(touched)
        hm = _to_mod(h, p)
        rows.append([_eval_mod(_deriv(hm, c, p), x, p) for c in pivots])
    if m == 0:
        return 0, ["laws: none exhibited"]
    checks.append(f"laws: {m} polynomials, <grad h, X_i> == 0 identically over Q for every "
                  f"generator ({pairs} non-trivial pairs checked, {gens.d} generators)")
    if det_mod(rows, p) == 0:
        raise CertificateError(f"laws: the {m}x{m} minor of the law gradients on the pivot "
                               "columns is zero modulo p (independence not proven)")
    checks.append(f"laws: {m}x{m} minor of the gradients on columns {pivots} non-zero mod p "
                  f"=> {m} independent laws near generic points")
    return m, checks


def _cofactors(M: list[list[IPoly]]) -> list[list[IPoly]]:
    """C[j][a] = (-1)^(j+a) det(M without row j and column a), for a small polynomial
    matrix, by Laplace expansion over column subsets (exact integer arithmetic)."""
    r = len(M)
    full = (1 << r) - 1
    C: list[list[IPoly]] = [[{} for _ in range(r)] for _ in range(r)]
    if r == 1:
        C[0][0] = {(): 1}
        return C
    for j in range(r):
        R = [i for i in range(r) if i != j]
        # f[mask]: det of the first popcount(mask) rows of R on the columns of mask (sorted)
        f: dict[int, IPoly] = {0: {(): 1}}
        for k in range(1, r):
            row = M[R[k - 1]]
            nxt: dict[int, IPoly] = {}
            for mask, sub in f.items():
                if not sub:
                    continue
                for c in range(r):
                    if mask >> c & 1 or not row[c]:
                        continue
                    new = mask | 1 << c
                    pos = bin(new & ((1 << c) - 1)).count("1")
                    sign = -1 if (k - 1 + pos) % 2 else 1
                    acc = dict(nxt.get(new, {}))
                    _add_scaled(acc, _mul(row[c], sub, None), sign)
                    nxt[new] = _clean(acc, None)
            f = nxt
        for a in range(r):
            minor = f.get(full & ~(1 << a), {})
            sign = -1 if (j + a) % 2 else 1
            C[j][a] = {mm: sign * c for mm, c in minor.items()}
    return C


def _check_involutive(inv: Any, words: list[Word], gens: _Generators, x: list[int], p: int,
                      D: int) -> list[str]:
    inv = _dict(inv, "involutive", INVOLUTIVE_KEYS)
    r = _int(inv["rank"], "involutive.rank", 0, D)
    if r != len(words):
        raise CertificateError(f"involutive.rank = {r} differs from lie.rank = {len(words)}")
    if r > MAX_INVOLUTIVE_RANK:
        raise CertificateError(f"involutive.rank = {r} is above the verifier's limit "
                               f"{MAX_INVOLUTIVE_RANK}")
    rows = _columns(inv["rows"], "involutive.rows", r, D)
    cache: dict[Word, IField] = {}
    Y = [_word_field(w, gens, cache) for w in words]
    M = [[Y[a].get(rows[j], {}) for a in range(r)] for j in range(r)]
    C = _cofactors(M)
    det: IPoly = {}
    if r:
        acc: dict[Mono, int] = {}
        for j in range(r):
            _add_scaled(acc, _mul(M[j][0], C[j][0], None), 1)
        det = _clean(acc, None)
    else:
        det = {(): 1}
    if _eval_mod(det, x, p) == 0:
        raise CertificateError(f"involutive: det M on rows {rows} is zero at the point "
                               "modulo p")
    targets: list[tuple[str, IField]] = [(f"X_{i + 1}", gens.exact(i)) for i in range(gens.d)]
    targets += [(f"[Y_{a + 1}, Y_{b + 1}]", _bracket(Y[a], Y[b], None))
                for a in range(r) for b in range(a + 1, r)]
    ycomps = set().union(*(set(y) for y in Y)) if Y else set()
    for name, Z in targets:
        z = [Z.get(rows[j], {}) for j in range(r)]
        w = []
        for a in range(r):
            acc = {}
            for j in range(r):
                if z[j] and C[j][a]:
                    _add_scaled(acc, _mul(C[j][a], z[j], None), 1)
            w.append(_clean(acc, None))
        for k in set(Z) | ycomps:
            acc = {}
            _add_scaled(acc, _mul(det, Z.get(k, {}), None), 1)
            for a in range(r):
                ya = Y[a].get(k)
                if ya and w[a]:
                    _add_scaled(acc, _mul(ya, w[a], None), -1)
            if _clean(acc, None):
                raise CertificateError(f"involutive: {name} is not in the span of the lie "
                                       f"words over Q(theta) (component {k + 1} of "
                                       "det(M) Z - Y adj(M) Z_rows is not zero)")
    return [f"involutive: det M on rows {rows} non-zero at the point mod p; all {gens.d} "
            f"generators and {r * (r - 1) // 2} brackets [Y_a, Y_b] lie in span(Y) over "
            f"Q(theta) (exact identities) => dim Lie(V) = {r} generically"]


def _check_claims(claims: Any, proven: dict[str, Any]) -> None:
    claims = _dict(claims, "claims", CLAIM_KEYS)
    for key in ("lie_rank_lower", "lie_rank_upper", "laws_lower", "laws_upper"):
        v = claims[key]
        if not _is_int(v):
            raise CertificateError(f"claims.{key} must be an integer, not {_what(v)}")
    if type(claims["certified"]) is not bool:
        raise CertificateError(f"claims.certified must be true or false, not "
                               f"{_brief(claims['certified'])}")
    if not (claims["method"] is None or type(claims["method"]) is str):
        raise CertificateError(f"claims.method must be a string or null, not "
                               f"{_brief(claims['method'])}")
    for key in ("lie_rank_lower", "laws_upper", "laws_lower", "lie_rank_upper", "certified",
                "method"):
        if claims[key] != proven[key] or type(claims[key]) is not type(proven[key]):
            raise CertificateError(f"claims.{key} = {_brief(claims[key])} is not what the "
                                   f"certificate proves ({_brief(proven[key])})")


def _point(raw: Any, D: int, p: int) -> list[int]:
    pts = _list(raw, "point", D)
    out = []
    for n, s in enumerate(pts):
        if type(s) is not str:
            raise CertificateError(f"point coordinate {n + 1} must be a string of digits, "
                                   f"not {_what(s)}")
        if len(s) > MAX_INT_DIGITS + 1:
            raise CertificateError(f"point coordinate {n + 1} has {len(s)} characters, above "
                                   f"the limit {MAX_INT_DIGITS} digits")
        if not _INT_RE.fullmatch(s):
            raise CertificateError(f"point coordinate {n + 1} = {_brief(s)} is not an integer")
        v = int(s)
        if v % p == 0:
            raise CertificateError(f"point coordinate {n + 1} is zero modulo p")
        out.append(v % p)
    return out


def _model(spec: Any) -> Any:
    if type(spec) is not str:
        raise CertificateError(f"model must be a specification string, not {_what(spec)}")
    text = spec.strip()
    if not _SPEC_RE.match(text) or text.endswith((".json", ".toml")):
        raise CertificateError(f"model {_brief(spec)} is not an inline model specification "
                               "(kind:...); certificates never name files")
    try:
        return build_model(text)
    except (ModelError, ParseError, ValueError, TypeError, OverflowError) as e:
        raise CertificateError(f"model cannot be rebuilt: {_one_line(str(e), 200)}") from None


def _verify(data: Any, check_digest: bool, checks: list[str]) -> dict[str, Any]:
    if type(data) is not dict:
        raise CertificateError(f"a certificate must be a JSON object, not {_what(data)}")
    _check_tree(data)
    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        raise CertificateError(f"unknown top-level key {_brief(unknown[0])}")
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
        raise CertificateError(f"format must be {FORMAT!r}, not {_brief(data['format'])}")
    if not _is_int(data["version"]) or data["version"] != VERSION:
        raise CertificateError(f"version {_brief(data['version'])} is not supported "
                               f"(this verifier reads version {VERSION})")
    if type(data["convention"]) is not str or data["convention"] != CONVENTION:
        raise CertificateError(f"convention {_brief(data['convention'])} differs from this "
                               f"library's {CONVENTION!r}")
    checks.append(f"format {FORMAT} version {VERSION}, convention {CONVENTION}")

    model = _model(data["model"])
    D = _int(data["D"], "D", 1)
    d = _int(data["d"], "d", 1)
    if D != model.D or d != model.d:
        raise CertificateError(f"D/d = {D}/{d} differ from the rebuilt model's "
                               f"{model.D}/{model.d}")
    _int(data["seed"], "seed")
    checks.append(f"model {_brief(data['model'])} rebuilt: D = {D}, d = {d}")

    p = _int(data["prime"], "prime")
    if not MIN_PRIME_EXCLUSIVE < p < MAX_PRIME_EXCLUSIVE:
        raise CertificateError(f"prime {_brief(p)} is outside (2^20, 2^64)")
    if not _is_prime(p):
        raise CertificateError(f"prime {p} is not prime")
    x = _point(data["point"], D, p)
    checks.append(f"prime {p} is prime; point has {D} integer coordinates, all non-zero mod p")

    gens = _Generators(model, p)
    r, words, line = _check_lie(data["lie"], gens, x, p, D)
    checks.append(line)
    m, law_checks = _check_laws(data["laws"], gens, x, p, D)
    checks.extend(law_checks)
    laws_upper = D - r
    if data["involutive"] is None:
        laws_lower, method = m, "laws"
    else:
        checks.extend(_check_involutive(data["involutive"], words, gens, x, p, D))
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
    _check_claims(data["claims"], proven)
    if certified:
        checks.append(f"claims: exactly {laws_lower} independent laws near generic points "
                      f"(method {method}); Lie rank {r}")
    else:
        checks.append(f"claims: {laws_lower} <= number of laws <= {laws_upper} (not certified)")
    return proven


# ---------------------------------------------------------------------------------------------
# public API


def verify_certificate(data: Any, check_digest: bool = True) -> Verdict:
    """Re-check a parsed certificate (untrusted JSON data); never raises on bad input.

    ``check_digest=False`` skips the SHA-256 comparison (the digest key may then be absent),
    so that every mathematical check can be exercised on a file whose digest was recomputed.
    """
    checks: list[str] = []
    token = _WORK.set([0])
    try:
        proven = _verify(data, check_digest, checks)
    except CertificateError as e:
        return Verdict(False, _one_line(str(e)), {}, checks)
    except RecursionError:
        return Verdict(False, "certificate nested too deeply", {}, checks)
    except MemoryError:
        return Verdict(False, "certificate too large to verify (out of memory)", {}, checks)
    except Exception as e:  # noqa: BLE001 - a verifier must reject, never crash, on bad input
        return Verdict(False, _one_line(f"certificate could not be processed: "
                                        f"{type(e).__name__}: {e}"), {}, checks)
    finally:
        _WORK.reset(token)
    return Verdict(True, "", proven, checks)


def _reject_constant(name: str) -> Any:
    raise CertificateError(f"the JSON constant {name} is not allowed")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise CertificateError(f"duplicate JSON key {_brief(k)}")
        out[k] = v
    return out


def _load(path: str) -> Any:
    if type(path) is not str and not isinstance(path, os.PathLike):
        raise CertificateError(f"path must be a string, not {_what(path)}")
    if not os.path.exists(path):
        raise CertificateError(f"certificate file {_brief(str(path))} not found")
    if not os.path.isfile(path):
        raise CertificateError(f"certificate {_brief(str(path))} is not a regular file")
    limit = MAX_FILE_BYTES
    try:
        with open(path, "rb") as fh:
            raw = fh.read(limit + 1)
    except OSError as e:
        raise CertificateError(f"cannot read the certificate: {e.strerror or e}") from None
    if not raw:
        raise CertificateError("certificate file is empty")
    if len(raw) > limit:
        raise CertificateError(f"certificate file is larger than the limit {limit} bytes")
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
        raise CertificateError(f"certificate file is not valid JSON: {_one_line(msg, 200)}"
                               ) from None


def admissible(cert: dict[str, Any], nbytes: int) -> str:
    """"" if the verifier accepts the certificate ``cert`` (``nbytes`` long as a file), else
    the one-line reason it would reject it: what ``conslaw count`` checks before writing."""
    if nbytes > MAX_FILE_BYTES:
        return f"the certificate would be {nbytes} bytes, above the verifier's limit"
    v = verify_certificate(json.loads(json.dumps(cert)))
    return "" if v.ok else f"the verifier would reject it: {v.reason}"


def verify_file(path: str, check_digest: bool = True, rational: bool = False) -> Verdict:
    """Read a certificate file (at most :data:`MAX_FILE_BYTES`) and verify it."""
    try:
        data = _load(path)
    except CertificateError as e:
        return Verdict(False, _one_line(str(e)), {}, [])
    except MemoryError:
        return Verdict(False, "certificate too large to read (out of memory)", {}, [])
    except Exception as e:  # noqa: BLE001 - never crash on a hostile file
        return Verdict(False, _one_line(f"certificate could not be read: "
                                        f"{type(e).__name__}: {e}"), {}, [])
    return verify_certificate(data, check_digest=check_digest)
