"""Sparse polynomials over Q: the plain data type every module exchanges.

A monomial is a tuple of ``(variable, exponent)`` pairs with 0-based variable indices in
increasing order and positive exponents; ``()`` is the constant monomial.  A polynomial is a
``dict`` mapping monomials to non-zero :class:`fractions.Fraction` coefficients.  The type stays
sparse in the number of variables, which matters for network maps (D in the hundreds, every
monomial touching a handful of variables).

FLINT objects are built from this type where heavy arithmetic is needed (see :mod:`fields`);
this module only holds the small exact helpers the model builders and the parser need.

>>> p = {((0, 2),): Fraction(1), ((1, 1),): Fraction(-3)}
>>> sorted(derivative(p, 0).items())
[(((0, 1),), Fraction(2, 1))]
>>> total_degree(p)
2
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fractions import Fraction

Monomial = tuple[tuple[int, int], ...]
Poly = dict[Monomial, Fraction]

ONE: Monomial = ()


def monomial(*pairs: tuple[int, int]) -> Monomial:
    """Canonical monomial from (variable, exponent) pairs (merges repeats, drops zero powers)."""
    acc: dict[int, int] = {}
    for v, e in pairs:
        acc[v] = acc.get(v, 0) + e
    return tuple(sorted((v, e) for v, e in acc.items() if e))


def mono_mul(a: Monomial, b: Monomial) -> Monomial:
    """Product of two monomials."""
    if not a:
        return b
    if not b:
        return a
    acc = dict(a)
    for v, e in b:
        acc[v] = acc.get(v, 0) + e
    return tuple(sorted(acc.items()))


def mono_degree(m: Monomial) -> int:
    """Total degree of a monomial."""
    return sum(e for _, e in m)


def add_into(acc: Poly, other: Mapping[Monomial, Fraction], scale: Fraction = Fraction(1)) -> None:
    """acc += scale * other, in place, dropping cancelled terms."""
    for m, c in other.items():
        v = acc.get(m, 0) + scale * c
        if v:
            acc[m] = v
        else:
            acc.pop(m, None)


def mul(a: Mapping[Monomial, Fraction], b: Mapping[Monomial, Fraction]) -> Poly:
    """Product of two polynomials."""
    out: Poly = {}
    for ma, ca in a.items():
        for mb, cb in b.items():
            m = mono_mul(ma, mb)
            v = out.get(m, 0) + ca * cb
            if v:
                out[m] = v
            else:
                out.pop(m, None)
    return out


def power(a: Mapping[Monomial, Fraction], k: int) -> Poly:
    """a**k for k >= 0 (binary powering)."""
    result: Poly = {ONE: Fraction(1)}
    base = dict(a)
    while k:
        if k & 1:
            result = mul(result, base)
        k >>= 1
        if k:
            base = mul(base, base)
    return result


def derivative(a: Mapping[Monomial, Fraction], var: int) -> Poly:
    """Partial derivative with respect to variable ``var`` (0-based)."""
    out: Poly = {}
    for m, c in a.items():
        for i, (v, e) in enumerate(m):
            if v == var:
                nm = m[:i] + (((v, e - 1),) if e > 1 else ()) + m[i + 1 :]
                out[nm] = out.get(nm, 0) + c * e
                break
    return {m: c for m, c in out.items() if c}


def variables(a: Mapping[Monomial, Fraction]) -> set[int]:
    """Indices of the variables that occur in ``a``."""
    return {v for m in a for v, _ in m}


def total_degree(a: Mapping[Monomial, Fraction]) -> int:
    """Total degree (-1 for the zero polynomial)."""
    return max((mono_degree(m) for m in a), default=-1)


def constant(c: Fraction | int) -> Poly:
    """The constant polynomial c."""
    return {ONE: Fraction(c)} if c else {}


def var(i: int) -> Poly:
    """The coordinate polynomial x_i (0-based)."""
    return {((i, 1),): Fraction(1)}


def product_of_vars(indices: Iterable[int]) -> Poly:
    """The monomial prod x_i (repeats allowed) as a polynomial."""
    return {monomial(*((i, 1) for i in indices)): Fraction(1)}
