"""The verifier's values, jets and law identities against SymPy *expressions*.

The verifier computes with SymPy's sparse rings (:mod:`sympy.polys.rings`) and its own
reductions (values from first derivatives, truncated Taylor jets for deep words, restriction
of the identities to the variables of a law).  Here the same quantities are computed the
plain way, with SymPy expressions and matrices: Lie brackets as ``J_Y X - J_X Y`` of full
symbolic fields, values by substitution, identities by expansion.
"""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any

import pytest
import sympy as sp
from reference import sympy_fields, sympy_word

from conslaw_flint.algorithms.certify import certificate, count_laws
from conslaw_flint.models import build_model
from conslaw_flint.verify import _algebra as alg
from conslaw_flint.verify._base import CertificateError
from conslaw_flint.verify._laws import check_law, read_law
from conslaw_flint.verify._lie import Values, WordTable, check_jet_costs
from conslaw_flint.verify._model import Generators

P = 1_000_003


def random_word(rng: random.Random, d: int, depth: int) -> Any:
    if depth <= 1 or rng.random() < 0.2:
        return rng.randrange(d)
    if rng.random() < 0.5:
        return [random_word(rng, d, depth - 1), rng.randrange(d)]
    return [rng.randrange(d), random_word(rng, d, depth - 1)]


MODELS = ["random:3,2,2,1", "random:4,2,2,5", "fields:x2,-x1,x3^2;x3,x1*x2,1",
          "poly:x1*x2^2;x2*x3+x1^2", "relu:2,2,2", "linear:2,2,2", "poly:x1/x2+x3"]


@pytest.mark.parametrize("spec", MODELS)
def test_word_values_match_sympy_expressions(spec: str) -> None:
    model = build_model(spec)
    gens = Generators(model)
    xs, fields = sympy_fields(model)
    rng = random.Random(hash(spec) % 1000)
    point = [rng.randrange(1, 50) * rng.choice([-1, 1]) for _ in range(model.D)]
    F = alg.GF(P)
    table = WordTable(model.d)
    raw = [random_word(rng, model.d, rng.randrange(1, 5)) for _ in range(8)]
    words = [table.parse(w) for w in raw]
    jet_vars = check_jet_costs(table, words, gens)
    modular = Values(gens, table, F, [F(c) for c in point])
    exact = Values(gens, table, alg.QQ, [alg.QQ(c) for c in point], 1)
    modular.jet_vars = exact.jet_vars = jet_vars
    subs = dict(zip(xs, point, strict=True))
    for w, r in zip(words, raw, strict=True):
        ref = sympy_word(r, xs, fields).subs(subs)
        for k in range(model.D):
            expected = sp.Rational(ref[k])
            got = exact.value(w, k)
            assert Fraction(int(got.numerator), int(got.denominator)) == \
                Fraction(int(expected.p), int(expected.q)), (r, k)
            assert modular.value(w, k) == alg.coerce(F, Fraction(int(expected.p),
                                                                   int(expected.q))), (r, k)


def test_taylor_jets_of_deep_words() -> None:
    """Words of depth 3..6 go through the truncated Taylor jets (tier 3)."""
    model = build_model("fields:x2^2,x3,x1;x3,x1*x3,x2^2")
    gens = Generators(model)
    xs, fields = sympy_fields(model)
    point = [3, -2, 5]
    table = WordTable(model.d)
    raw = [[[0, 1], 0], [[[0, 1], 1], 0], [0, [1, [0, [1, 0]]]], [[[[[0, 1], 1], 0], 1], 0]]
    words = [table.parse(w) for w in raw]
    assert [table.depth[w] for w in words] == [3, 4, 5, 6]
    values = Values(gens, table, alg.QQ, [alg.QQ(c) for c in point], 1)
    values.jet_vars = check_jet_costs(table, words, gens)
    for w, r in zip(words, raw, strict=True):
        ref = sympy_word(r, xs, fields).subs(dict(zip(xs, point, strict=True)))
        assert [values.value(w, k) for k in range(3)] == [int(v) for v in ref], r


def sympy_is_law(h: str, model: Any) -> bool:
    xs, fields = sympy_fields(model)
    H = sp.sympify(h.replace("^", "**"), locals={str(x): x for x in xs})
    grad = sp.Matrix([sp.diff(H, x) for x in xs])
    return all(sp.expand((grad.T * sp.Matrix(f))[0]) == 0 for f in fields)


@pytest.mark.parametrize("spec", ["relu:2,3,2", "linear:2,2,3", "relu-bias:2,2,2", "product:4",
                                  "poly:x1*x2;x2*x3", "fields:x2,-x1,0;0,x3,-x2",
                                  "random:3,1,1,2"])
def test_law_identities_match_sympy_expansion(spec: str) -> None:
    """True laws (from the solver) and perturbed ones: the verifier's restricted, renamed,
    deduplicated identities agree with the direct expansion of <grad h, X_i>."""
    model = build_model(spec)
    gens = Generators(model)
    res = count_laws(model, degree=2, seed=0)
    laws = certificate(res)["laws"]["polynomials"]
    rng = random.Random(5)
    candidates = list(laws)
    for h in laws[:3]:
        v = rng.randrange(1, model.D + 1)
        candidates.append(f"{h} + x{v}^2")
        candidates.append(f"{h} - 2*x{v}*x{rng.randrange(1, model.D + 1)}")
    candidates += ["x1^2", "x1*x2", f"x1^2 - x{model.D}^2"]
    for n, h in enumerate(candidates):
        terms = read_law(h, n + 1, model.D)
        expected = sympy_is_law(h, model)
        try:
            check_law(terms, n + 1, h, gens)
            got = True
        except CertificateError as e:
            assert "is not a conservation law" in str(e)
            got = False
        assert got == expected, (spec, h)
    assert all(sympy_is_law(h, model) for h in laws)


def test_reading_laws() -> None:
    """Expanded polynomials only; the reader's own messages for the rest."""
    assert read_law("x1^2 - 1/2*x2*x3 + 3", 1, 3) == [
        (((0, 2),), Fraction(1)), (((1, 1), (2, 1)), Fraction(-1, 2)), ((), Fraction(3))]
    assert read_law("-x3 + x3", 1, 3) == []
    assert read_law("2*x10^3*x2", 1, 12) == [(((1, 1), (9, 3)), Fraction(2))]
    for text, match in [("(x1-x2)*(x1+x2)", "not written as an expanded polynomial"),
                        ("x1^-1", "law 1 is not a polynomial"),
                        ("x01", "law 1 is not a polynomial"),
                        ("x4", "law 1 is not a polynomial"),
                        ("x1 - - x2", "not written as an expanded polynomial"),
                        ("", "law 1 is not a polynomial"),
                        ("sin(x1)", "unknown name 'sin'")]:
        with pytest.raises(CertificateError, match=match):
            read_law(text, 1, 3)
