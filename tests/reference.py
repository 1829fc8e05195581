"""Independent (slow, sympy-based) reference computations for small cases, used by tests.

Polynomials are FLINT ``fmpq_mpoly`` (the library's public type); they are read here through
FLINT's own ``terms()`` and rebuilt in SymPy or in a separate FLINT ring, so that no code of
the solver is involved.
"""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any

import sympy as sp


def to_sympy(p: Any, xs: list[sp.Symbol]) -> sp.Expr:
    """A FLINT polynomial as a sympy expression in the symbols ``xs`` (one per variable of its
    ring, in ring order; reference computations only)."""
    out = sp.Integer(0)
    for exps, c in p.terms():
        term = sp.Rational(int(c.p), int(c.q))
        for v, e in enumerate(exps):
            if e:
                term *= xs[v] ** e
        out += term
    return out


def sympy_fields(model) -> tuple[list[sp.Symbol], list[list[sp.Expr]]]:  # noqa: ANN001
    """The generators of a model as sympy vectors."""
    xs = list(sp.symbols(f"x1:{model.D + 1}"))
    fields = []
    for f in model.family.fields:
        fields.append([to_sympy(c, xs) for c in f])
    return xs, fields


def sympy_is_law(h: Any, model) -> bool:  # noqa: ANN001
    """<grad h, X_i> == 0 for all i, checked by sympy expansion (independent of FLINT)."""
    xs, fields = sympy_fields(model)
    H = to_sympy(h, xs)
    grad = [sp.diff(H, x) for x in xs]
    return all(sp.expand(sum(g * c for g, c in zip(grad, f, strict=True))) == 0 for f in fields)


def random_poly_spec(rng: random.Random, D: int, d: int, deg: int) -> str:
    """A random ``poly:`` specification with small integer coefficients."""
    comps = []
    for _ in range(d):
        terms = []
        for _ in range(rng.randint(1, 3)):
            c = rng.choice([-2, -1, 1, 2, 3])
            mono = "*".join(f"x{rng.randint(1, D)}" for _ in range(rng.randint(1, deg)))
            terms.append(f"{c}*{mono}")
        comps.append(" + ".join(terms))
    # make sure every variable occurs (no index gap)
    comps[0] += " + " + " + ".join(f"x{i}" for i in range(1, D + 1))
    return "poly:" + ";".join(comps)


__all__ = ["Fraction", "random_poly_spec", "sympy_fields", "sympy_is_law", "to_sympy"]


def sympy_law_space_dim(model, degree: int, homogeneous: bool) -> int:  # noqa: ANN001
    """Dimension of the space of non-constant polynomial laws, from the full coefficient
    system built and ranked by sympy (exact; only for tiny models)."""
    import itertools

    xs, fields = sympy_fields(model)
    degs = [degree] if homogeneous else range(1, degree + 1)
    monos = [sp.Mul(*c) for k in degs for c in itertools.combinations_with_replacement(xs, k)]
    a = sp.symbols(f"a0:{len(monos)}")
    h = sum(ai * m for ai, m in zip(a, monos, strict=True))
    grad = [sp.diff(h, x) for x in xs]
    eqs = []
    for f in fields:
        expr = sp.expand(sum(g * c for g, c in zip(grad, f, strict=True)))
        if expr != 0:
            eqs.extend(sp.Poly(expr, *xs).coeffs())
    if not eqs:
        return len(monos)
    A, _ = sp.linear_eq_to_matrix(eqs, a)
    return len(monos) - A.rank()


def sympy_lie_rank(model, point: list[int], levels: int) -> int:  # noqa: ANN001
    """Rank over Q at ``point`` of all right-normed brackets up to ``levels`` (sympy)."""
    xs, fields = sympy_fields(model)
    gens = [sp.Matrix(f) for f in fields]
    subs = dict(zip(xs, point, strict=True))

    def br(X: sp.Matrix, Y: sp.Matrix) -> sp.Matrix:
        return Y.jacobian(xs) * X - X.jacobian(xs) * Y

    level = list(gens)
    allv = [list(g.subs(subs)) for g in gens]
    for _ in range(levels - 1):
        level = [sp.expand(br(X, Y)) for X in gens for Y in level]
        allv += [list(Z.subs(subs)) for Z in level]
    return sp.Matrix(allv).rank()


def flint_law_space_dim(model, degree: int, homogeneous: bool) -> int:  # noqa: ANN001
    """Dimension of the space of non-constant polynomial laws of degree <= ``degree`` (or
    exactly ``degree``) from the *full* coefficient system, without blocks, sampling or
    primes: one column per unknown monomial alpha holding the coefficients of
    <grad x^alpha, X_i> for every generator i, ranked exactly over Q with FLINT's fmpq_mat.
    Built with FLINT polynomial arithmetic, independently of the solver's code."""
    import itertools

    import flint

    D = model.D
    ctx = flint.fmpq_mpoly_ctx.get([f"x{i + 1}" for i in range(D)], "lex")
    xs = ctx.gens()
    fields = []
    for f in model.family.fields:
        comp = {}
        for k, p in f.items():
            acc = ctx.from_dict({})
            for exps, c in p.terms():
                t = ctx.constant(c)
                for v, e in enumerate(exps):
                    if e:
                        t = t * xs[v] ** e
                acc = acc + t
            comp[k] = acc
        fields.append(comp)
    degs = [degree] if homogeneous else range(1, degree + 1)
    columns = []
    for k in degs:
        for combo in itertools.combinations_with_replacement(range(D), k):
            mono = ctx.constant(1)
            for v in combo:
                mono = mono * xs[v]
            col = {}
            for i, f in enumerate(fields):
                s = ctx.from_dict({})
                for v, Xv in f.items():
                    s = s + mono.derivative(v) * Xv
                for e, c in s.to_dict().items():
                    col[(i, e)] = c
            columns.append(col)
    rows = sorted({key for col in columns for key in col})
    if not rows:
        return len(columns)
    index = {key: r for r, key in enumerate(rows)}
    M = flint.fmpq_mat(len(rows), len(columns))
    for j, col in enumerate(columns):
        for key, c in col.items():
            M[index[key], j] = c
    return len(columns) - M.rank()
