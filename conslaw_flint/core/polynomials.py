"""Polynomials: FLINT's ``fmpq_mpoly`` in a ring named after the model's variables.

Every polynomial the library hands out (a map phi, a field component, a law) is a
:class:`flint.fmpq_mpoly` of the ring :func:`ring` ``(names)``: exact rational coefficients,
the model's own variable names (``x1``, ``W1[1,2]``, ``s``, ``v3`` ...) and the ``deglex``
ordering, so that ``str(p)`` lists terms by total degree (descending), then lexicographically
with the first variable largest: the text form every report uses, which
:func:`conslaw_flint.io.parse.parse_polynomial` reads back.

The algorithms work on compiled forms (:mod:`conslaw_flint.core.tables`) and meet the FLINT
type only at their boundaries, through the converters here.  A *monomial* of a compiled form is
a tuple of ``(variable, exponent)`` pairs with 0-based variables in increasing order (sparse in
the number of variables: network maps have hundreds of variables and monomials of a handful).

FLINT's own exponent tuples are dense (length D), so converting one term costs O(D); above
:data:`DENSE_LIMIT` variables :func:`from_terms` builds terms from the ring's generators
instead (a few microseconds a term at D = 768, against 80 for a dense tuple).

>>> R = ring(["u", "v"])
>>> u, v = R.gens()
>>> h = u**2 - v**2
>>> str(h), terms(h)
('u^2 - v^2', [(((0, 2),), Fraction(1, 1)), (((1, 2),), Fraction(-1, 1))])
>>> str(primitive(flint.fmpq(-3, 2) * h))
'u^2 - v^2'
>>> variables(u * v + 1)
[0, 1]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import Any

import flint

Monomial = tuple[tuple[int, int], ...]
Poly = flint.fmpq_mpoly
Ring = flint.fmpq_mpoly_ctx

#: rings with more variables build polynomials from generators rather than dense tuples
DENSE_LIMIT = 64


def default_names(D: int) -> tuple[str, ...]:
    """``x1, ..., xD``."""
    return tuple(f"x{i + 1}" for i in range(D))


_TRUE_NAMES: dict[tuple[str, ...], tuple[str, ...]] = {}


def _ascii(name: str) -> str:
    return name if name.isascii() else name.encode("ascii", "backslashreplace").decode("ascii")


def ring(names: Sequence[str]) -> Ring:
    """The ring Q[names] (``deglex``), cached by FLINT: equal names give the same object.

    FLINT's variable names are ASCII: a name such as ``é`` is stored escaped (``\\xe9``),
    :func:`ring_names` gives the names back and :func:`to_text` prints them."""
    names = tuple(names)
    safe = tuple(_ascii(n) for n in names)
    if safe != names:
        _TRUE_NAMES[safe] = names
    return flint.fmpq_mpoly_ctx.get(safe, "deglex")


def ring_names(R: Ring) -> tuple[str, ...]:
    """The variable names a ring was created with (unescaped)."""
    safe = tuple(R.names())
    return _TRUE_NAMES.get(safe, safe)


def zero(R: Ring) -> Poly:
    """The zero polynomial of ``R``."""
    return R.from_dict({})


def fmpq(c: Fraction | int) -> flint.fmpq:
    """A Python rational as a FLINT rational."""
    c = Fraction(c)
    return flint.fmpq(c.numerator, c.denominator)


def to_fraction(c: Any) -> Fraction:
    """A FLINT (or Python) rational as a :class:`fractions.Fraction`."""
    if isinstance(c, flint.fmpq):
        return Fraction(int(c.p), int(c.q))
    return Fraction(int(c)) if isinstance(c, flint.fmpz) else Fraction(c)


def monomial(*pairs: tuple[int, int]) -> Monomial:
    """Canonical monomial from (variable, exponent) pairs: repeats merged, zero powers
    dropped, variables increasing."""
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
    return monomial(*a, *b)


def mono_degree(m: Monomial) -> int:
    """Total degree of a monomial."""
    return sum(e for _, e in m)


def terms(p: Poly) -> list[tuple[Monomial, Fraction]]:
    """The terms of ``p`` as (monomial, coefficient), in the ring's order (O(D) a term)."""
    out = []
    for exps, c in p.terms():
        out.append((tuple((v, e) for v, e in enumerate(exps) if e), to_fraction(c)))
    return out


def from_terms(R: Ring, items: Iterable[tuple[Monomial, Fraction | int]]) -> Poly:
    """The polynomial sum c * x^m over ``items`` (repeated monomials are added)."""
    items = list(items)
    n = R.nvars()
    if n <= DENSE_LIMIT:
        acc: dict[tuple[int, ...], Fraction] = {}
        for m, c in items:
            e = [0] * n
            for v, k in m:
                e[v] = k
            key = tuple(e)
            acc[key] = acc.get(key, Fraction(0)) + Fraction(c)
        return R.from_dict({k: fmpq(c) for k, c in acc.items() if c})
    gens: dict[int, Poly] = {}  # one generator per variable used (R.gens() costs O(D^2))
    parts = []
    for m, c in items:
        t = R.constant(fmpq(c))
        for v, k in m:
            g = gens.get(v)
            if g is None:
                g = gens[v] = R.gen(v)
            t = t * g ** k if k > 1 else t * g
        parts.append(t)
    return tree_sum(parts, R)


def tree_sum(parts: Sequence[Poly], R: Ring) -> Poly:
    """Sum of many polynomials by pairwise halving (a running ``+=`` is quadratic in the
    number of terms; see shared/flint-facts.md)."""
    parts = list(parts)
    if not parts:
        return zero(R)
    while len(parts) > 1:
        nxt = [parts[i] + parts[i + 1] for i in range(0, len(parts) - 1, 2)]
        if len(parts) % 2:
            nxt.append(parts[-1])
        parts = nxt
    return parts[0]


def variables(p: Poly) -> list[int]:
    """Indices (0-based, increasing) of the variables that occur in ``p`` (none for 0)."""
    return [i for i, e in enumerate(p.degrees()) if e > 0]


def denominator(p: Poly) -> int:
    """The lcm of the denominators of the coefficients of ``p``."""
    den = 1
    for c in p.coeffs():
        q = int(c.q)
        if q != 1:
            den = den * q // math.gcd(den, q)
    return den


def primitive(p: Poly) -> Poly:
    """The positive rational multiple of ``p`` with coprime integer coefficients and a
    positive leading coefficient (``deglex``: highest degree, then first variable); zero
    stays zero.  Laws are reported in this form."""
    if p.is_zero():
        return p
    num = 0
    for c in p.coeffs():
        num = math.gcd(num, int(c.p))
    scale = Fraction(denominator(p), num)
    if to_fraction(p.leading_coefficient()) < 0:
        scale = -scale
    return p * fmpq(scale)


def integer_terms(p: Poly) -> list[tuple[Monomial, int]]:
    """The terms of ``p`` scaled by the lcm of its denominators (integer coefficients)."""
    den = denominator(p)
    return [(m, int(c * den)) for m, c in terms(p)]


def sort_key(p: Poly) -> tuple[Any, ...]:
    """A deterministic order of polynomials: total degree, then term by term in printing
    order (exponents compared numerically, variables in ring order), then coefficients."""
    out = []
    for exps, c in p.terms():
        out.append((-sum(exps), tuple(-e for e in exps), -to_fraction(c)))
    return (p.total_degree(), tuple(out))


def rename(p: Poly, R: Ring) -> Poly:
    """``p`` read in the ring ``R`` (same number of variables, other names)."""
    if p.context() is R:
        return p
    if R.nvars() != p.context().nvars():
        raise ValueError(f"cannot move a polynomial in {p.context().nvars()} variables to a "
                         f"ring of {R.nvars()}")
    return R.from_dict(p.to_dict())


def to_text(p: Poly, names: Sequence[str] | None = None) -> str:
    """``p`` as text (``str(p)``'s form) with the ring's variable names, or with ``names``
    instead; :func:`conslaw_flint.io.parse.parse_polynomial` reads it back."""
    names = tuple(names) if names is not None else ring_names(p.context())
    if names == tuple(p.context().names()):
        return str(p)
    if all(n.isascii() for n in names):
        return str(rename(p, ring(names)))
    parts: list[tuple[bool, str]] = []
    for exps, c in p.terms():
        q = to_fraction(c)
        factors = [names[v] if e == 1 else f"{names[v]}^{e}" for v, e in enumerate(exps) if e]
        a = abs(q)
        if a != 1 or not factors:
            factors.insert(0, str(a.numerator) if a.denominator == 1
                           else f"{a.numerator}/{a.denominator}")
        parts.append((q < 0, "*".join(factors)))
    return join_signed(parts) if parts else "0"


# ---------------------------------------------------------------------------------------------
# LaTeX


def latex_name(name: str) -> str:
    r"""LaTeX of one variable name: ``W1[1,2]`` -> ``W^{(1)}_{1,2}``, ``b1[3]`` ->
    ``b^{(1)}_{3}``, ``x5`` -> ``x_{5}``, ``Q[1,2]`` -> ``Q_{1,2}``; other names are kept
    (underscores escaped).

    >>> latex_name("W2[3,1]"), latex_name("b1[3]"), latex_name("x12"), latex_name("u")
    ('W^{(2)}_{3,1}', 'b^{(1)}_{3}', 'x_{12}', 'u')
    """
    import re

    m = re.match(r"^([A-Za-z]+)(\d+)\[(\d+(?:,\d+)*)\]$", name)
    if m:
        return f"{m.group(1)}^{{({m.group(2)})}}_{{{m.group(3)}}}"
    m = re.match(r"^([A-Za-z]+)\[(\d+(?:,\d+)*)\]$", name)
    if m:
        return f"{m.group(1)}_{{{m.group(2)}}}"
    m = re.match(r"^([A-Za-z]+)(\d+)$", name)
    if m:
        return f"{m.group(1)}_{{{m.group(2)}}}"
    return name.replace("\\", r"\backslash ").replace("_", r"\_")


def join_signed(parts: Sequence[tuple[bool, str]]) -> str:
    """Join (negative, |term| text) pairs as ``a - b + c`` (a leading ``-`` without space).

    >>> join_signed([(True, "x1"), (False, "2*x2"), (True, "3")])
    '-x1 + 2*x2 - 3'
    """
    out: list[str] = []
    for neg, body in parts:
        if not out:
            out.append("-" + body if neg else body)
        else:
            out.append(("- " if neg else "+ ") + body)
    return " ".join(out)


def to_latex(p: Poly, names: Sequence[str] | None = None) -> str:
    r"""``p`` in LaTeX: exact coefficients (``\frac`` for fractions), terms in printing
    order, network names typeset as ``W^{(l)}_{i,j}``; a power of a name with a superscript
    is braced (``{W^{(1)}_{1,1}}^{2}``).

    >>> R = ring(["W1[1,1]", "x2"])
    >>> w, x = R.gens()
    >>> to_latex(w**2 - flint.fmpq(1, 2) * x)
    '{W^{(1)}_{1,1}}^{2} - \\frac{1}{2} x_{2}'
    """
    names = list(names) if names is not None else list(ring_names(p.context()))
    if p.is_zero():
        return "0"
    parts: list[tuple[bool, str]] = []
    for exps, c in p.terms():
        c = to_fraction(c)
        factors = []
        for v, e in enumerate(exps):
            if not e:
                continue
            base = latex_name(names[v])
            if e == 1:
                factors.append(base)
            elif "^" in base:
                factors.append(f"{{{base}}}^{{{e}}}")
            else:
                factors.append(f"{base}^{{{e}}}")
        a = abs(c)
        if a != 1 or not factors:
            factors.insert(0, str(a.numerator) if a.denominator == 1
                           else rf"\frac{{{a.numerator}}}{{{a.denominator}}}")
        parts.append((c < 0, " ".join(factors)))
    return join_signed(parts)


__all__ = [
    "DENSE_LIMIT",
    "Monomial",
    "Poly",
    "Ring",
    "default_names",
    "denominator",
    "fmpq",
    "from_terms",
    "integer_terms",
    "join_signed",
    "latex_name",
    "mono_degree",
    "mono_mul",
    "monomial",
    "primitive",
    "rename",
    "ring",
    "ring_names",
    "sort_key",
    "terms",
    "to_fraction",
    "to_latex",
    "to_text",
    "tree_sum",
    "variables",
    "zero",
]
