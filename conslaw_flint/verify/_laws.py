"""Conservation laws of a certificate: reading them, the exact identities, their gradients.

**Reading.**  A law is written as an expanded polynomial in x1..xD (a sum of terms, each a
rational constant times powers of variables), as the certificate writer prints them.  Its
text is split at the signs and each term is read by the library's safe expression reader
(:func:`conslaw_flint.io.parse.parse_polynomial`, at most one term, in a ring of just the
term's variables), so reading costs time linear in the text; anything else (parentheses,
exotic tokens) is refused, with the reader's own message when it has one.

**The identity <grad h, X_i> = 0 for every generator**, exactly over Q, without forming the
d products in the full ring.  Let S be the variables of h and T the others.  Write a
generator's relevant part as a sum over the distinct T-monomials tau of its terms,
x^tau * q_tau with q_tau a polynomial in the variables S only:

* gradient models: phi_i = sum_tau x^tau q_tau(x_S); since d_k x^tau = 0 for k in S,
  <grad h, grad phi_i> = sum_tau x^tau <grad h, grad q_tau>;
* general fields: for each component k in S, X_i,k = sum_tau x^tau q_tau,k(x_S), and
  <grad h, X_i> = sum_tau x^tau sum_k d_k h q_tau,k.

Distinct T-monomials are linearly independent over Q[x_S], so the identity holds iff it holds
for every q_tau, and it suffices to check each *distinct* q_tau once (a ReLU path lifting has
tens of thousands of generators but a few hundred distinct q_tau per law, most of them single
monomials: the restrictions to S of the paths' monomials).  Each check is done by SymPy in a
ring over just the variables of q_tau and of the terms of h that share a variable with it
(other terms of h have no derivative along those variables); checks whose data coincide
after an order-preserving renaming of their variables are done once (a renaming is a ring
isomorphism), which makes the many restrictions of a path lifting a handful of checks.  The
grouping of the generators' terms by (generator, tau) and the deduplication of the q_tau are
exact (NumPy ``unique`` on integer rows), not hashed.

**Independence**: the gradients of the laws at the point, on the pivot columns (SymPy
derivatives, evaluated), whose determinant the checker computes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from ..io.parse import ParseError, parse_polynomial
from . import _algebra as alg
from ._base import CertificateError, brief, charge, current, hold, what
from ._model import Generators

__all__ = ["check_law", "gradient_row", "read_law"]

_LAW_CHARS = re.compile(r"[0-9x^*/+\- ]*")
_SPLIT = re.compile(r"(?=[+-])")
_VAR = re.compile(r"x([0-9]+)")


def _reader_error(text: str, n: int, D: int) -> CertificateError:
    """Why the law text is refused: the reader's own message, or the expanded-form rule."""
    try:
        parse_polynomial(text, nvars=D)
    except ParseError as e:
        return CertificateError(f"law {n} is not a polynomial in x1..x{D}: {e}")
    except (ValueError, TypeError, OverflowError, ArithmeticError) as e:
        return CertificateError(f"law {n} is not a polynomial in x1..x{D}: {e}")
    return CertificateError(f"law {n} ({brief(text)}) is not written as an expanded "
                            "polynomial (a sum of monomials, as certificates are written)")


def read_law(text: Any, n: int, D: int) -> list[tuple[alg.Mono, Fraction]]:
    """The terms of law number ``n`` (1-based) as (monomial, coefficient)."""
    if type(text) is not str:
        raise CertificateError(f"law {n} must be a string, not {what(text)}")
    if len(text) > 1_000_000:
        raise CertificateError(f"law {n} has {len(text)} characters, above the limit 1000000")
    if not _LAW_CHARS.fullmatch(text):
        raise _reader_error(text, n, D)
    pieces = _SPLIT.split(text)
    if pieces and not pieces[0].strip():
        pieces = pieces[1:]
    charge(len(text) * 60 + len(pieces) * 1500 + 100, f"reading law {n}")
    acc: dict[alg.Mono, Fraction] = {}
    for piece in pieces:
        # each term is read in a ring of just its own variables (renumbered 1..k in the text;
        # a term's value does not depend on the names): O(length), not O(D), per term
        found = _VAR.findall(piece)
        if any(s[0] == "0" or len(s) > 7 for s in found):
            raise _reader_error(text, n, D)
        used = sorted({int(s) for s in found})
        if used and used[-1] > D:
            raise _reader_error(text, n, D)
        renumber = {v: k + 1 for k, v in enumerate(used)}
        local = _VAR.sub(lambda mt, ren=renumber: f"x{ren[int(mt.group(1))]}", piece)
        try:
            p = parse_polynomial(local, nvars=max(len(used), 1), max_terms=1)
        except (ParseError, ValueError, TypeError, OverflowError, ArithmeticError):
            raise _reader_error(text, n, D) from None
        for exps, c in p.to_dict().items():
            mono = tuple((used[v] - 1, e) for v, e in enumerate(exps) if e)
            acc[mono] = acc.get(mono, Fraction(0)) + Fraction(int(c.p), int(c.q))
    if not pieces:
        raise _reader_error(text, n, D)
    return [(m, c) for m, c in acc.items() if c]


# ---------------------------------------------------------------------------------------------
# the identities


def _unique_rows(M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first index, inverse) of the distinct rows of a matrix of integers >= -1 (exact:
    rows are packed into one int64 when they fit, else compared whole)."""
    n, w = M.shape
    charge(n * (w + 2) // 2 + 1000, "grouping the generators' terms")
    top = int(M.max()) + 2 if M.size else 1
    bits = max(top.bit_length(), 1)
    if bits * w <= 62:
        key = np.zeros(n, dtype=np.int64)
        for col in range(w):
            key = (key << bits) | (M[:, col] + 1)
        _, first, inv = np.unique(key, return_index=True, return_inverse=True)
    else:
        _, first, inv = np.unique(M, axis=0, return_index=True, return_inverse=True)
    return first, np.asarray(inv).reshape(-1)


def _gradient_classes(gens: Generators, S: Sequence[int]
                      ) -> Iterator[tuple[list[tuple[alg.Mono, Any]], int]]:
    """The distinct q_tau of a gradient model for the variables S (see the module
    docstring): (terms of q_tau in the variables S, smallest generator having it)."""
    inS = np.zeros(gens.D, dtype=bool)
    inS[list(S)] = True
    e_term = gens.e_term
    charge((len(e_term) + len(gens.t_field)) // 4 + 1000, "grouping the generators' terms")
    ein = inS[gens.e_var]
    touched = np.zeros(len(gens.t_field), dtype=bool)
    touched[e_term[ein]] = True
    touch = np.flatnonzero(touched)
    if not len(touch):
        return
    # entries of the touched terms, in (term, variable) order (the table's sorted order)
    emask = touched[e_term]
    et = e_term[emask]
    part = ein[emask]
    code = gens.code[emask]
    m = len(et)
    charge(m + 1000, "grouping the generators' terms")
    row = np.searchsorted(touch, et)
    brk = np.ones(m, dtype=bool)
    brk[1:] = et[1:] != et[:-1]
    starts = np.flatnonzero(brk)
    seg = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, m)))
    cS = np.cumsum(part)
    cT = np.cumsum(~part)
    posS = cS - 1 - (cS - part)[starts][seg]
    posT = cT - 1 - (cT - ~part)[starts][seg]
    nt = len(touch)
    T = ~part
    wT = int(posT[T].max()) + 1 if T.any() else 0
    wS = int(posS[part].max()) + 1
    fields = gens.t_field[touch]
    MT = np.full((nt, wT + 1), -1, dtype=np.int64)
    MT[:, 0] = fields
    MT[row[T], 1 + posT[T]] = code[T]
    _, gid = _unique_rows(MT)
    MS = np.full((nt, wS + 1), -1, dtype=np.int64)
    MS[:, 0] = gens.coef_id[touch]
    MS[row[part], 1 + posS[part]] = code[part]
    _, sid = _unique_rows(MS)
    o = np.lexsort((sid, gid))
    ss = sid[o]
    ng = int(gid.max()) + 1
    sizes = np.bincount(gid, minlength=ng)
    gstart = np.zeros(ng, dtype=np.int64)
    gstart[1:] = np.cumsum(sizes)[:-1]
    gfield = np.empty(ng, dtype=np.int64)
    gfield[gid] = fields
    Sset = set(S)
    es, ev, ee, coefs = gens._es, gens._ev, gens._ee, gens.coefs
    for L in np.unique(sizes).tolist():
        g_of = np.flatnonzero(sizes == L)
        content = ss[gstart[g_of][:, None] + np.arange(L)[None, :]]
        first, inv = _unique_rows(content)
        minf = np.full(len(first), np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(minf, inv, gfield[g_of])
        charge(len(first) * L * 300 + 100, "collecting the distinct restrictions")
        for c, f0 in enumerate(first.tolist()):
            g = int(g_of[f0])
            q = []
            for r in o[gstart[g]: gstart[g] + L].tolist():
                t = int(touch[r])
                a, b = es[t], es[t + 1]
                q.append((tuple((v, e) for v, e in zip(ev[a:b], ee[a:b], strict=True)
                                if v in Sset), coefs[t]))
            yield q, int(minf[c])


def _field_classes(gens: Generators, S: Sequence[int]
                   ) -> list[tuple[dict[int, list[tuple[alg.Mono, Any]]], int]]:
    """The distinct (q_tau,k)_k of a general-fields model for the variables S:
    ({component k: terms in the variables S}, smallest generator having it)."""
    Sset = set(S)
    groups: dict[tuple[int, alg.Mono], dict[int, list[tuple[alg.Mono, Any]]]] = {}
    charge(gens.d * 40 + 100, "grouping the generators' terms")
    for i in range(gens.d):
        for k, terms in gens.field_terms(i).items():
            if k not in Sset:
                continue
            charge(len(terms) * 120 + 16, "grouping the generators' terms")
            for mono, c in terms:
                s_part = tuple(p for p in mono if p[0] in Sset)
                t_part = tuple(p for p in mono if p[0] not in Sset)
                groups.setdefault((i, t_part), {}).setdefault(k, []).append((s_part, c))
    classes: dict[Any, tuple[dict[int, list[tuple[alg.Mono, Any]]], int]] = {}
    for (i, _), comps in groups.items():
        key = tuple(sorted((k, tuple(sorted(ts))) for k, ts in comps.items()))
        got = classes.get(key)
        if got is None or i < got[1]:
            classes[key] = (comps, i)
    return list(classes.values())


def _h_part(h: Sequence[tuple[alg.Mono, Any]], by_var: dict[int, list[int]],
            variables: set[int]) -> list[tuple[alg.Mono, Any]]:
    """The terms of h that contain one of ``variables``."""
    idx: set[int] = set()
    for v in variables:
        idx.update(by_var.get(v, ()))
    return [h[t] for t in sorted(idx)]


def _mono_vars(terms: Sequence[tuple[alg.Mono, Any]]) -> set[int]:
    return {v for m, _ in terms for v, _ in m}


def _renamed(terms: Sequence[tuple[alg.Mono, Any]], pos: dict[int, int]) -> tuple[Any, ...]:
    """The terms with the variables renamed by ``pos``, in a canonical order (a key)."""
    return tuple(sorted((tuple((pos[v], e) for v, e in m), c) for m, c in terms))


def _key_bytes(key: Any) -> int:
    """About the memory held by a cache key of nested tuples of ints and rationals."""
    total, stack = 64, [key]
    while stack:
        x = stack.pop()
        if isinstance(x, tuple):
            total += 56 + 8 * len(x)
            stack.extend(x)
        elif isinstance(x, Fraction):
            total += 100 + (x.numerator.bit_length() + x.denominator.bit_length()) // 8
        elif isinstance(x, int):
            total += 28 + x.bit_length() // 8
        else:
            total += 64
    return total


def _identity(key: Any, compute: Any) -> bool:
    """Whether an identity holds, computed once per key and verification: two checks whose
    data coincide after an order-preserving renaming of their variables are the same check
    (a renaming of variables is a ring isomorphism)."""
    cache = current().cache.setdefault("law identities", {})
    got = cache.get(key)
    if got is None:
        got = bool(compute())
        hold(_key_bytes(key), "the law identities")
        cache[key] = got
    return got


def check_law(h: Sequence[tuple[alg.Mono, Any]], n: int, text: str, gens: Generators) -> int:
    """Refuse law number ``n`` unless <grad h, X_i> = 0 identically over Q for every
    generator; returns the number of distinct restricted checks."""
    K = alg.QQ
    S = sorted(_mono_vars(h))
    if not S:
        return 0
    by_var: dict[int, list[int]] = {}
    for t, (m, _) in enumerate(h):
        for v, _ in m:
            by_var.setdefault(v, []).append(t)
    failed: int | None = None
    count = 0
    if gens.gradient:
        for q, gmin in _gradient_classes(gens, S):
            count += 1
            qv = _mono_vars(q)
            hq = _h_part(h, by_var, qv)
            charge(300 + 60 * (len(q) + len(hq)), "a law identity")
            V = sorted(qv | _mono_vars(hq))
            pos = {v: i for i, v in enumerate(V)}

            def holds(hq: Any = hq, q: Any = q, V: Any = V, pos: Any = pos,
                      qv: Any = qv) -> bool:
                charge(1000, "a law identity")
                H = alg.build(hq, V, K, "a law identity")
                Q = alg.build(q, V, K, "a law identity")
                prods = [alg.mul(alg.diff(H, pos[k]), alg.diff(Q, pos[k]), "a law identity")
                         for k in sorted(qv)]
                return not alg.psum(prods, H.ring, "a law identity")

            if not _identity(("grad", _renamed(hq, pos), _renamed(q, pos)), holds):
                failed = gmin if failed is None else min(failed, gmin)
    else:
        fclasses = _field_classes(gens, S)
        count = len(fclasses)
        for comps, gmin in fclasses:
            ks = set(comps)
            hq = _h_part(h, by_var, ks)
            charge(300 + 60 * (sum(len(t) for t in comps.values()) + len(hq)),
                   "a law identity")
            V = sorted(ks | _mono_vars(hq) | set().union(*(_mono_vars(t)
                                                           for t in comps.values())))
            pos = {v: i for i, v in enumerate(V)}

            def holds_f(hq: Any = hq, comps: Any = comps, V: Any = V, pos: Any = pos,
                        ks: Any = ks) -> bool:
                charge(1000, "a law identity")
                H = alg.build(hq, V, K, "a law identity")
                prods = [alg.mul(alg.diff(H, pos[k]),
                                 alg.build(comps[k], V, K, "a law identity"),
                                 "a law identity") for k in sorted(ks)]
                return not alg.psum(prods, H.ring, "a law identity")

            key = ("fields", _renamed(hq, pos),
                   tuple(sorted((pos[k], _renamed(t, pos)) for k, t in comps.items())))
            if not _identity(key, holds_f):
                failed = gmin if failed is None else min(failed, gmin)
    if failed is not None:
        raise CertificateError(f"law {n} ({brief(text)}) is not a conservation law: "
                               f"<grad h, X_{failed + 1}> is not identically zero")
    return count


def gradient_row(h: Sequence[tuple[alg.Mono, Any]], pivots: Sequence[int], K: Any,
                 point: Sequence[Any], xwords: int = 1) -> list[Any]:
    """(d h / d x_c)(point) for the pivot columns c, over K."""
    V = sorted(_mono_vars(h))
    if not V:
        return [K.zero] * len(pivots)
    H = alg.build(h, V, K, "a law gradient")
    pos = {v: i for i, v in enumerate(V)}
    row = []
    for c in pivots:
        i = pos.get(c)
        if i is None:
            row.append(K.zero)
            continue
        g = alg.diff(H, i, "a law gradient")
        row.append(alg.evaluate(g, V, point, xwords) if g else K.zero)
    return row
