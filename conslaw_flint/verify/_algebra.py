"""The verifier's algebra: SymPy sparse polynomial rings and SymPy domain matrices.

Every polynomial of the verifier is a :class:`sympy.polys.rings.PolyElement` of a ring
``K[y1..yN]`` built by :func:`ring_of` over the domain ``K`` = ``GF(p)`` (values modulo the
certificate's prime) or ``QQ`` (exact identities, exact values).  A polynomial of the model in
the variables ``V = (v_1 < ... < v_n)`` (indices of x1..xD) lives in a ring with N >= n
generators, generator i standing for x_{V[i]}; rings are cached by (N, K) with N rounded up to
a few sizes, because building a SymPy ring compiles its monomial operations (milliseconds).

All arithmetic on polynomials (products, sums, derivatives) is SymPy's.  Values at the
point are computed here, from the terms of a SymPy polynomial, with SymPy domain elements
(:func:`evaluate`): ``PolyElement.evaluate`` substitutes one variable at a time and costs
O(N) a term a substitution.  Determinants are SymPy's
:class:`~sympy.polys.matrices.DomainMatrix` (:func:`det`); with python-flint installed SymPy
runs them on FLINT's ``nmod_mat`` / ``fmpq_mat`` underneath.

Every function charges its cost to the work budget (:mod:`._base`) before doing the work.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from itertools import compress
from typing import Any

from sympy.polys.domains import GF, QQ, ZZ
from sympy.polys.matrices import DomainMatrix
from sympy.polys.orderings import lex
from sympy.polys.rings import PolyElement, PolyRing

from ._base import CertificateError, charge, current, words

#: a sparse monomial: ((variable, exponent), ...) with increasing variables (0-based)
Mono = tuple[tuple[int, int], ...]
#: a polynomial as data: (monomial, coefficient) pairs, coefficients int or Fraction
Terms = Sequence[tuple[Mono, Any]]

__all__ = ["GF", "QQ", "Mono", "PolyElement", "Terms", "build", "coerce", "det", "det_cost",
           "diff", "domain_words", "evaluate", "gradient_at", "mul", "psum", "ring_of",
           "ring_size", "to_domain", "used_vars"]

_SIZES = (1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 40, 48, 64, 80, 96, 128, 160, 192, 256,
          320, 384, 512, 640, 768, 1024)


def ring_size(n: int) -> int:
    """Number of generators of the cached ring that holds ``n`` variables."""
    for s in _SIZES:
        if s >= n:
            return s
    return -(-n // 256) * 256


def ring_of(n: int, K: Any) -> PolyRing:
    """The ring K[y1..yN], N = :func:`ring_size` (n), built once per verification."""
    N = ring_size(max(n, 1))
    cache = current().cache
    key = ("ring", N, K)
    R = cache.get(key)
    if R is None:
        charge(150_000 + 8 * N * N, f"a polynomial ring in {N} variables")
        R = PolyRing([f"y{i + 1}" for i in range(N)], K, lex)
        cache[key] = R
    return R


def coerce(K: Any, c: Any) -> Any:
    """The image in K of an int, a Fraction or a FLINT rational (a denominator divisible by
    the prime is refused)."""
    if K.of_type(c):
        return c
    if isinstance(c, int):
        return K(c)
    if not isinstance(c, Fraction):
        c = Fraction(int(c.p), int(c.q)) if hasattr(c, "q") else Fraction(c)
    if K.is_FiniteField:
        if c.denominator % K.mod == 0:
            raise CertificateError(f"a coefficient has a denominator divisible by the prime "
                                   f"{K.mod}")
        return K(c.numerator) / K(c.denominator)
    return K(c.numerator, c.denominator)


def domain_words(K: Any, c: Any) -> int:
    """Machine words of a domain element (1 for GF(p))."""
    if K.is_FiniteField:
        return 1
    return words(int(c.numerator).bit_length() + int(c.denominator).bit_length())


def _poly_words(f: PolyElement) -> int:
    K = f.ring.domain
    if K.is_FiniteField or not f:
        return 1
    return max(domain_words(K, c) for c in f.values())


def build(terms: Terms, V: Sequence[int], K: Any, what: str) -> PolyElement:
    """The polynomial sum c * x^m over ``terms`` in the ring of the variables ``V`` (every
    variable of the terms must be in ``V``); repeated monomials are added."""
    R = ring_of(len(V), K)
    N = R.ngens
    charge(len(terms) * (N + 24) + 150, what)
    pos = {v: i for i, v in enumerate(V)}
    acc: dict[tuple[int, ...], Any] = {}
    zero = K.zero
    for mono, c in terms:
        e = [0] * N
        for v, k in mono:
            e[pos[v]] += k
        key = tuple(e)
        acc[key] = acc.get(key, zero) + coerce(K, c)
    return R.from_dict(acc)


def used_vars(f: PolyElement) -> list[int]:
    """Ring indices of the variables that occur in ``f``."""
    charge(len(f) * (f.ring.ngens + 8) + 200, "scanning a polynomial")
    return [i for i, e in enumerate(f.degrees()) if e > 0] if f else []


def diff(f: PolyElement, i: int, what: str = "a derivative") -> PolyElement:
    """d f / d y_i (SymPy's ``PolyElement.diff``)."""
    N = f.ring.ngens
    hits = sum(1 for m in f.itermonoms() if m[i])
    charge(len(f) * 2 + hits * (N + 16) * _poly_words(f) + 250, what)
    return f.diff(i)


def mul(a: PolyElement, b: PolyElement, what: str = "a polynomial product") -> PolyElement:
    """a * b (SymPy), charged t1*t2*(N + 16 + coefficient cost) before."""
    if not a or not b:
        return a.ring.zero
    N = a.ring.ngens
    if a.ring.domain.is_FiniteField:
        coef = 1
    else:  # a product of rationals: the product of the sizes, and the gcds
        coef = 40 + 4 * _poly_words(a) * _poly_words(b)
    charge(len(a) * len(b) * (N + 16 + coef) + 150, what)
    return a * b


def psum(polys: Iterable[PolyElement], R: PolyRing, what: str = "a sum") -> PolyElement:
    """Sum of polynomials by pairwise halving (a running ``+=`` copies the sum each time)."""
    parts = [p for p in polys if p]
    N = R.ngens
    while len(parts) > 1:
        charge(sum(len(p) for p in parts) * (N // 4 + 8), what)
        nxt = [parts[i] + parts[i + 1] for i in range(0, len(parts) - 1, 2)]
        if len(parts) % 2:
            nxt.append(parts[-1])
        parts = nxt
    return parts[0] if parts else R.zero


def evaluate(f: PolyElement, V: Sequence[int], point: Mapping[int, Any] | Sequence[Any],
             xwords: int = 1) -> Any:
    """The value of ``f`` (a polynomial in the variables ``V``) at ``point`` (indexed by
    variable), in the ring's domain, from the terms of ``f``.  ``xwords``: machine words of
    the coordinates (for the cost of exact values)."""
    R = f.ring
    K = R.domain
    n = len(V)
    exact = not K.is_FiniteField
    charge(len(f) * (min(n, R.ngens) // 4 + 30) + 150, "an evaluation at the point")
    xs = [point[v] for v in V]
    idx = range(len(xs))
    total = K.zero
    for monom, c in f.iterterms():
        t = c
        if exact:
            deg = sum(monom)
            charge(deg * (deg * xwords + domain_words(K, c)) + 300, "an exact evaluation")
        for i in compress(idx, monom):
            e = monom[i]
            t = t * xs[i] if e == 1 else t * xs[i] ** e
        total += t
    return total


def gradient_at(f: PolyElement, V: Sequence[int], point: Mapping[int, Any] | Sequence[Any],
                xwords: int = 1) -> dict[int, Any]:
    """{variable v: (d f / d x_v)(point)} for the variables of ``f`` (SymPy derivatives,
    evaluated at the point); zero values omitted."""
    out: dict[int, Any] = {}
    for i in used_vars(f):
        g = diff(f, i, "a first derivative at the point")
        if g:
            val = evaluate(g, V, point, xwords)
            if val:
                out[V[i]] = val
    return out


def to_domain(f: PolyElement, K: Any, what: str) -> PolyElement:
    """``f`` (over QQ) with its coefficients mapped to K (same number of variables)."""
    R = ring_of(f.ring.ngens, K)
    charge(len(f) * (R.ngens + 24), what)
    out = {}
    for m, c in f.iterterms():
        out[m + (0,) * (R.ngens - len(m))] = coerce(K, Fraction(int(c.numerator),
                                                              int(c.denominator)))
    return R.from_dict(out)


def det_cost(n: int, K: Any, w: int = 1) -> int:
    """Units charged for an n x n determinant over K with w-word entries: n^3 word operations
    modulo p (FLINT's nmod_mat, a fraction of a unit each); over Q, measured on FLINT's
    fmpz_mat determinant for n <= 300 and entries up to 4000 bits (dense random matrices and
    the sparse minors of path liftings, which are the slow ones), at most about
    26 ns * n^3 * w^2."""
    if K.is_FiniteField:
        return n * n * 12 + n**3 // 40
    return n * n * (12 + 2 * w) + n**3 * w * w


def det(rows: Sequence[Sequence[Any]], K: Any, what: str) -> Any:
    """The determinant of a square matrix over K (SymPy ``DomainMatrix``); 1 for 0 x 0."""
    n = len(rows)
    if n == 0:
        return K.one
    if K.is_FiniteField:
        charge(det_cost(n, K), what)
    else:
        w = max((domain_words(K, v) for r in rows for v in r), default=1)
        charge(det_cost(n, K, w), what)
    if not K.is_FiniteField:
        # over Q: clear each row's denominators (a non-zero scaling) and use an integer
        # matrix (FLINT's fmpz_mat underneath), then undo the scaling
        scale = K.one
        int_rows = []
        for r in rows:
            den = 1
            for v in r:
                den = math.lcm(den, int(v.denominator))
            scale = scale * den
            int_rows.append([ZZ(int(v.numerator) * (den // int(v.denominator))) for v in r])
        return K(DomainMatrix(int_rows, (n, n), ZZ).det()) / scale
    M = DomainMatrix([list(r) for r in rows], (n, n), K)
    return M.det()
