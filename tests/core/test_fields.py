"""Fields: Lie bracket identities (antisymmetry, Jacobi), VectorField, FieldFamily and
vectorised evaluation."""

import random

import numpy as np
import pytest
import sympy as sp
from reference import to_sympy

from conslaw_flint.core.fields import FieldFamily, VectorField, bracket, interaction_graph
from conslaw_flint.core.polynomials import ring
from conslaw_flint.core.tables import ModTable, TermTable
from conslaw_flint.models import build_model
from conslaw_flint.models.maps import random_model


def _flint_fields(D: int, seed: int, n: int = 3):
    m = random_model(D, n, 2, seed)
    return m.ring, [dict(f.items()) for f in m.fields]


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
    flds = random_model(3, 2, 2, 11).fields
    got = bracket(dict(flds[0].items()), dict(flds[1].items()))
    xs = list(sp.symbols("x1:4"))
    X = sp.Matrix([to_sympy(c, xs) for c in flds[0]])
    Y = sp.Matrix([to_sympy(c, xs) for c in flds[1]])
    ref = Y.jacobian(xs) * X - X.jacobian(xs) * Y
    assert any(ref)
    for k in range(3):
        mine = to_sympy(got[k], xs) if k in got else 0
        assert sp.expand(mine - ref[k]) == 0
    # the method on VectorField is the same bracket
    assert dict(flds[0].bracket(flds[1]).items()) == got


def test_vector_field_is_a_sparse_sequence() -> None:
    R = ring(["u", "v", "w"])
    u, v, w = R.gens()
    X = VectorField(R, {0: v, 2: u * 0, 1: -u})          # the zero component is not stored
    assert len(X) == 3 and X.D == 3
    assert list(X) == [v, -u, R.from_dict({})]
    assert X[2].is_zero() and X[-3] == v
    assert dict(X.items()) == {0: v, 1: -u}
    assert X.support() == frozenset({0, 1}) and X.depends() == frozenset({0, 1})
    assert X == VectorField(R, [v, -u, R.from_dict({})])
    assert repr(X) == "VectorField(v, -u, 0)"
    # [X, w*d_w] = 0 (disjoint), [X, X] = 0
    Y = VectorField(R, {2: w})
    assert dict(X.bracket(Y).items()) == {} and dict(X.bracket(X).items()) == {}
    with pytest.raises(IndexError):
        VectorField(R, {3: u})
    with pytest.raises(IndexError):
        X[3]
    with pytest.raises(TypeError):
        X["0"]  # type: ignore[index]


def test_gradient_family_is_sparse() -> None:
    m = build_model("relu:3,4,2")
    assert all(len(dict(f.items())) == 2 for f in m.family.fields)  # a path of two weights
    assert m.family.support(0) == m.family.fields[0].support()


def test_family_needs_exactly_one_form() -> None:
    R = ring(["x1", "x2"])
    x1, x2 = R.gens()
    with pytest.raises(ValueError):
        FieldFamily(R)
    with pytest.raises(ValueError):
        FieldFamily(R, potentials=[x1 * x2], fields=[VectorField(R, {0: x2})])
    fam = FieldFamily(R, potentials=[x1 * x2])
    assert fam.is_gradient and fam.d == 1 and fam.D == 2
    assert fam.fields == (VectorField(R, {0: x2, 1: x1}),)
    gen = FieldFamily(R, fields=[VectorField(R, {0: x2})])
    assert not gen.is_gradient and gen.potentials is None
    with pytest.raises(ValueError):
        gen.potential_table()


def test_potentials_from_compiled_table_match_flint() -> None:
    # network builders give only the compiled table; the FLINT potentials are derived from it
    m = build_model("relu-bias:2,2,2")
    R = m.ring
    rebuilt = FieldFamily(R, potential_table=m.family.potential_table())
    assert rebuilt.potentials == m.phi
    assert rebuilt.fields == FieldFamily(R, potentials=m.phi).fields


@pytest.mark.parametrize("spec", ["relu-bias:2,3,2", "linear:2,2,3", "poly:x1^2*x2 + 3*x3/2;x2*x3",
                                  "fields:x2,-x1,1/3;x3^2,0,-x1*x2"])
def test_mod_table_values_and_jacobians_match_exact_evaluation(spec: str) -> None:
    m = build_model(spec)
    p = 33554393
    rng = random.Random(3)
    pt = [rng.randrange(1, 1000) for _ in range(m.D)]
    x = np.array(pt, dtype=np.int64)
    table = m.family.mod_table(p)
    generic = ModTable(TermTable.from_fields(m.family.fields, m.D), p)
    idx = np.arange(m.d)
    for t in (table, generic):
        vals = t.values_dense(x)
        jac = t.jacobians(x, idx)
        xs = list(sp.symbols(f"x1:{m.D + 1}"))
        subs = dict(zip(xs, pt, strict=True))
        for i, f in enumerate(m.family.fields):
            for k in range(m.D):
                e = to_sympy(f[k], xs)
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


def test_denominator_and_random_prime_avoid_input_denominators() -> None:
    R = ring(["x1", "x2"])
    x1, x2 = R.gens()
    fam = FieldFamily(R, fields=[VectorField(R, {0: x2 / 6, 1: x1 * 10 / 7})])
    assert fam.denominator == 42
    assert FieldFamily(R, potentials=[x1 * x2]).denominator == 1
    p = fam.random_prime(random.Random(0))
    assert 42 % p != 0


@pytest.mark.parametrize("spec", ["relu-bias:2,3,2", "poly:x1^3 + x2;x1*x2*x3^2 - x4", "product:1"])
def test_support_and_depends_from_potentials_match_fields(spec: str) -> None:
    lazy = build_model(spec).family          # computed from phi without building the fields
    eager = FieldFamily(lazy.ring, fields=build_model(spec).family.fields)
    for i in range(lazy.d):
        assert lazy.support(i) == eager.support(i)
        assert lazy.depends(i) == eager.depends(i)
        assert eager.support(i) == eager.fields[i].support()
        assert eager.depends(i) == eager.fields[i].depends()
