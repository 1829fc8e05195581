"""Fields: Lie bracket identities (antisymmetry, Jacobi) and vectorised evaluation."""

import random
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from reference import to_sympy

from conslaw_flint.fields import (
    FieldFamily,
    ModTable,
    bracket,
    flint_context,
    from_flint,
    interaction_graph,
    to_flint_field,
)
from conslaw_flint.models import build_model, random_fields


def _flint_fields(D: int, seed: int, n: int = 3):
    ctx = flint_context(D)
    return ctx, [to_flint_field(f, ctx) for f in random_fields(D, n, 2, seed)]


def _add(X, Y):
    out = dict(X)
    for k, v in Y.items():
        out[k] = out[k] + v if k in out else v
    return {k: v for k, v in out.items() if not v.is_zero()}


def _neg(X):
    return {k: -v for k, v in X.items()}


@pytest.mark.parametrize("seed", range(4))
def test_bracket_antisymmetry_and_jacobi(seed: int) -> None:
    _, (X, Y, Z) = _flint_fields(3, seed)
    assert _add(bracket(X, Y), bracket(Y, X)) == {}
    jac = _add(_add(bracket(X, bracket(Y, Z)), bracket(Y, bracket(Z, X))),
               bracket(Z, bracket(X, Y)))
    assert jac == {}
    assert bracket(X, X) == {}


def test_bracket_matches_sympy_definition() -> None:
    # [X, Y] = dY.X - dX.Y, computed independently with sympy Jacobians
    flds = random_fields(3, 2, 2, 11)
    ctx = flint_context(3)
    got = bracket(to_flint_field(flds[0], ctx), to_flint_field(flds[1], ctx))
    xs = list(sp.symbols("x1:4"))
    X = sp.Matrix([to_sympy(flds[0].get(k, {}), xs) for k in range(3)])
    Y = sp.Matrix([to_sympy(flds[1].get(k, {}), xs) for k in range(3)])
    ref = Y.jacobian(xs) * X - X.jacobian(xs) * Y
    for k in range(3):
        mine = to_sympy(from_flint(got[k]), xs) if k in got else 0
        assert sp.expand(mine - ref[k]) == 0


def test_gradient_family_is_sparse() -> None:
    m = build_model("relu:3,4,2")
    assert all(len(f) == 2 for f in m.family.fields)  # a path of two weights
    assert m.family.support(0) == frozenset(m.family.fields[0])


@pytest.mark.parametrize("spec", ["relu-bias:2,3,2", "linear:2,2,3", "poly:x1^2*x2 + 3*x3/2;x2*x3",
                                  "fields:x2,-x1,1/3;x3^2,0,-x1*x2"])
def test_mod_table_values_and_jacobians_match_exact_evaluation(spec: str) -> None:
    m = build_model(spec)
    p = 33554393
    rng = random.Random(3)
    pt = [rng.randrange(1, 1000) for _ in range(m.D)]
    x = np.array(pt, dtype=np.int64)
    table = m.family.mod_table(p)
    generic = ModTable.from_fields(m.family.fields, m.D, p)
    idx = np.arange(m.d)
    for t in (table, generic):
        vals = t.values_dense(x)
        jac = t.jacobians(x, idx)
        xs = list(sp.symbols(f"x1:{m.D + 1}"))
        subs = dict(zip(xs, pt, strict=True))
        for i, f in enumerate(m.family.fields):
            for k in range(m.D):
                e = to_sympy(f.get(k, {}), xs)
                v = sp.Rational(e.subs(subs))
                assert vals[i, k] == v.p * pow(v.q, -1, p) % p
                for j in range(m.D):
                    dv = sp.Rational(sp.diff(e, xs[j]).subs(subs))
                    assert jac[i, k, j] == dv.p * pow(dv.q, -1, p) % p


def test_interaction_graph_prunes_disjoint_supports() -> None:
    # X0 = (x1, 0, 0, 0), X1 = (0, 0, x3, 0): [X0, X1] = 0 structurally; X2 = (0, x1, 0, 0)
    sup = [frozenset({0}), frozenset({2}), frozenset({1})]
    dep = [frozenset({0}), frozenset({2}), frozenset({0})]
    g = interaction_graph(sup, dep)
    assert not g.has_edge(0, 1)
    assert g.has_edge(0, 2)


def test_integer_scaled_keeps_directions() -> None:
    fam = FieldFamily(2, [{0: {((1, 1),): Fraction(1, 2)}, 1: {(): Fraction(2, 3)}}])
    scaled = fam.integer_scaled().fields[0]
    assert scaled == {0: {((1, 1),): Fraction(3)}, 1: {(): Fraction(4)}}


@pytest.mark.parametrize("spec", ["relu-bias:2,3,2", "poly:x1^3 + x2;x1*x2*x3^2 - x4", "product:1"])
def test_support_and_depends_from_potentials_match_fields(spec: str) -> None:
    lazy = build_model(spec).family          # computed from phi without building the fields
    eager = FieldFamily(lazy.D, build_model(spec).family.fields)
    for i in range(lazy.d):
        assert lazy.support(i) == eager.support(i)
        assert lazy.depends(i) == eager.depends(i)
