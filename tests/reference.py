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
from hypothesis import strategies as st


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


def sympy_word(w: Any, xs: list[sp.Symbol], fields: list[list[sp.Expr]],
               point: list[int] | None = None) -> sp.Matrix:
    """The field of a bracket word, the plain way: a generator index, a pair [A, B] with
    [A, B] = dB·A - dA·B, or a Gram word ``{"gram": j}`` as the explicit combination
    sum_i X_i,j(point) X_i (it needs ``point``)."""
    if isinstance(w, int):
        return sp.Matrix(fields[w])
    if isinstance(w, dict):
        assert point is not None, "a Gram word needs the point"
        subs = dict(zip(xs, point, strict=True))
        total = sp.zeros(len(xs), 1)
        for f in fields:
            total += f[w["gram"]].subs(subs) * sp.Matrix(f)
        return total.applyfunc(sp.expand)
    X = sympy_word(w[0], xs, fields, point)
    Y = sympy_word(w[1], xs, fields, point)
    return (Y.jacobian(xs) * X - X.jacobian(xs) * Y).applyfunc(sp.expand)


def flint_word_field(model, w: Any, p: int) -> dict[int, Any]:  # noqa: ANN001
    """The exact field of a bracket word modulo p as FLINT polynomials in x1..xD, components
    by index ([A, B] = dB·A - dA·B, by core.fields.bracket on the generators reduced mod p)."""
    import flint

    from conslaw_flint.core.fields import bracket

    ctx = flint.nmod_mpoly_ctx.get([f"x{i + 1}" for i in range(model.D)], p,
                                   ordering="deglex")
    gens = [{k: ctx.from_dict({e: int(c.p) * pow(int(c.q), -1, p) % p
                               for e, c in comp.to_dict().items()})
             for k, comp in f.items()} for f in model.family.fields]

    def sym(v: Any) -> Any:
        return gens[v] if isinstance(v, int) else bracket(sym(v[0]), sym(v[1]))

    return sym(w)


def sympy_is_law(h: Any, model) -> bool:  # noqa: ANN001
    """<grad h, X_i> == 0 for all i, checked by sympy expansion (independent of FLINT)."""
    xs, fields = sympy_fields(model)
    H = to_sympy(h, xs)
    grad = [sp.diff(H, x) for x in xs]
    return all(sp.expand(sum(g * c for g, c in zip(grad, f, strict=True))) == 0 for f in fields)


# -- random specifications ---------------------------------------------------------------------

COEFS = ["1", "-1", "2", "-3", "1/2", "-2/3"]


@st.composite
def polynomial_texts(draw: st.DrawFn, D: int, max_degree: int) -> str:
    """A random polynomial in x1..xD with small rational coefficients, as text."""
    terms = []
    for _ in range(draw(st.integers(0, 3))):
        c = draw(st.sampled_from(COEFS))
        vs = draw(st.lists(st.integers(1, D), max_size=max_degree))
        terms.append("*".join([f"({c})", *(f"x{v}" for v in vs)]))
    return " + ".join(terms) if terms else "0"


@st.composite
def model_specs(draw: st.DrawFn) -> str:
    """A ``fields:`` or ``poly[D]:`` specification with D <= 4 and up to 3 generators."""
    D = draw(st.integers(1, 4))
    d = draw(st.integers(1, 3))
    if draw(st.booleans()):
        return "fields:" + ";".join(",".join(draw(polynomial_texts(D, 2)) for _ in range(D))
                                    for _ in range(d))
    return f"poly[{D}]:" + ";".join(draw(polynomial_texts(D, 3)) for _ in range(d))


def renumber(spec: str, perm: list[int]) -> str:
    """The same model with variable x{i+1} written x{perm[i]+1} (fields: components moved)."""
    import re

    kind, _, body = spec.partition(":")

    def sub(text: str) -> str:
        return re.sub(r"x(\d+)", lambda m: f"y{perm[int(m.group(1)) - 1] + 1}", text
                      ).replace("y", "x")

    if kind != "fields":
        return f"{kind}:{sub(body)}"
    out = []
    for field in body.split(";"):
        comps = field.split(",")
        moved = [""] * len(comps)
        for i, c in enumerate(comps):
            moved[perm[i]] = sub(c)
        out.append(",".join(moved))
    return "fields:" + ";".join(out)


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


__all__ = ["COEFS", "Fraction", "flint_full_system", "flint_law_space_dim", "flint_word_field",
           "model_specs",
           "polynomial_texts", "random_poly_spec", "renumber", "sympy_fields", "sympy_is_law",
           "sympy_law_space_dim", "sympy_lie_rank", "sympy_word", "to_sympy"]


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


def flint_full_system(model, degree: int, homogeneous: bool  # noqa: ANN001
                      ) -> tuple[list[tuple[int, ...]], list[dict[int, object]]]:
    """The *full* coefficient system of the polynomial laws of degree <= ``degree`` (or
    exactly ``degree``), without blocks, sampling or primes: one column per unknown monomial
    alpha (returned as the sorted tuple of its variables, with repetition), one row per
    (generator i, monomial beta) holding the coefficients of theta^beta in
    <grad theta^alpha, X_i>.  Built with FLINT polynomial arithmetic in a ring of its own,
    independently of the solver's code."""
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
    combos = [combo for k in degs for combo in itertools.combinations_with_replacement(range(D), k)]
    index: dict[tuple[int, tuple[int, ...]], int] = {}
    rows: list[dict[int, object]] = []
    for j, combo in enumerate(combos):
        mono = ctx.constant(1)
        for v in combo:
            mono = mono * xs[v]
        for i, f in enumerate(fields):
            s = ctx.from_dict({})
            for v, Xv in f.items():
                s = s + mono.derivative(v) * Xv
            for e, c in s.to_dict().items():
                r = index.setdefault((i, tuple(e)), len(rows))
                if r == len(rows):
                    rows.append({})
                rows[r][j] = c
    return combos, rows


def flint_law_space_dim(model, degree: int, homogeneous: bool) -> int:  # noqa: ANN001
    """Dimension of the space of non-constant polynomial laws of degree <= ``degree`` (or
    exactly ``degree``) from the *full* coefficient system (:func:`flint_full_system`),
    ranked exactly over Q with FLINT's fmpq_mat."""
    import flint

    columns, rows = flint_full_system(model, degree, homogeneous)
    if not rows:
        return len(columns)
    M = flint.fmpq_mat(len(rows), len(columns))
    for r, row in enumerate(rows):
        for j, c in row.items():
            M[r, j] = c
    return len(columns) - M.rank()
