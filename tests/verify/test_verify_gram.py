"""Gram words in certificates: ``{"gram": j}`` = G_j = sum_i X_i,j(x0) X_i.

The solver's closure starts from the Gram matrix J^T J when there are many more generators
than variables (:mod:`conslaw_flint.algorithms.lie`); its certificates then name the pivot
columns as Gram words.  The verifier's values, derivatives and jets of Gram words (and of
brackets containing them) are checked here against plain SymPy expressions: G_j built as the
explicit combination of the generators, brackets as ``J_Y X - J_X Y``.
"""

from __future__ import annotations

import copy
import random
from fractions import Fraction
from typing import Any

import pytest
import sympy as sp
from reference import sympy_fields, sympy_word

from conslaw_flint.algorithms.certify import certificate, count_laws
from conslaw_flint.algorithms.certify import digest as writer_digest
from conslaw_flint.models import build_model
from conslaw_flint.verify import _algebra as alg
from conslaw_flint.verify import verify_certificate
from conslaw_flint.verify._involutive import Frame
from conslaw_flint.verify._lie import Values, WordTable, check_jet_costs
from conslaw_flint.verify._model import Generators

P = 1_000_003


def random_word(rng: random.Random, d: int, D: int, depth: int) -> Any:
    if depth <= 1 or rng.random() < 0.2:
        return {"gram": rng.randrange(D)} if rng.random() < 0.5 else rng.randrange(d)
    sub = random_word(rng, d, D, depth - 1)
    other = {"gram": rng.randrange(D)} if rng.random() < 0.5 else rng.randrange(d)
    return [sub, other] if rng.random() < 0.5 else [other, sub]


@pytest.mark.parametrize("spec", ["relu:2,2,2", "linear:2,2,2", "poly:x1*x2^2;x2*x3+x1^2",
                                  "fields:x2,-x1,x3^2;x3,x1*x2,1", "random:3,3,2,4",
                                  "poly:x1/2*x2+x3;x1^2"])
def test_gram_word_values_match_sympy(spec: str) -> None:
    """Values over Q and modulo p of random words with Gram letters, depths 1 to 4 (tiers 1-3:
    plain values, first derivatives, Taylor jets)."""
    model = build_model(spec)
    gens = Generators(model)
    xs, fields = sympy_fields(model)
    rng = random.Random(sum(map(ord, spec)))
    point = [rng.randrange(1, 30) * rng.choice([-1, 1]) for _ in range(model.D)]
    table = WordTable(model.d, model.D)
    table.column = gens.column
    raw = [random_word(rng, model.d, model.D, rng.randrange(1, 5)) for _ in range(8)]
    raw.append({"gram": 0})
    words = list(dict.fromkeys(table.parse(w) for w in raw))
    raw = [raw[[table.parse(w) for w in raw].index(x)] for x in words]
    jet_vars = check_jet_costs(table, words, gens)
    F = alg.GF(P)
    exact = Values(gens, table, alg.QQ, [alg.QQ(c) for c in point], 1)
    modular = Values(gens, table, F, [F(c) for c in point])
    exact.jet_vars = modular.jet_vars = jet_vars
    subs = dict(zip(xs, point, strict=True))
    for w, r in zip(words, raw, strict=True):
        ref = sympy_word(r, xs, fields, point).subs(subs)
        for k in range(model.D):
            expected = Fraction(int(sp.Rational(ref[k]).p), int(sp.Rational(ref[k]).q))
            got = exact.value(w, k)
            assert Fraction(int(got.numerator), int(got.denominator)) == expected, (r, k)
            assert modular.value(w, k) == alg.coerce(F, expected), (r, k)


def test_gram_value_is_a_column_of_the_gram_matrix() -> None:
    """Hand check: for phi = (x1 x2, x2 x3) at (1, 2, 3), J = [[2, 1, 0], [0, 3, 2]] and
    J^T J = [[4, 2, 0], [2, 10, 6], [0, 6, 4]]."""
    model = build_model("poly:x1*x2;x2*x3")
    gens = Generators(model)
    table = WordTable(model.d, model.D)
    table.column = gens.column
    words = [table.parse({"gram": j}) for j in range(3)]
    values = Values(gens, table, alg.QQ, [alg.QQ(c) for c in (1, 2, 3)], 1)
    assert [[values.value(w, k) for k in range(3)] for w in words] == [
        [4, 2, 0], [2, 10, 6], [0, 6, 4]]


@pytest.fixture(scope="module")
def gram_cert() -> dict[str, Any]:
    """relu:4,6,5,3 has d = 360 > 4D + 64 = 340 generators: the closure uses the Gram frame."""
    res = count_laws(build_model("relu:4,6,5,3"), seed=0)
    assert res.certified
    cert = certificate(res)
    assert any(isinstance(w, dict) for w in cert["lie"]["words"])
    return cert


@pytest.mark.parametrize("rational", [False, True])
def test_gram_certificate_verifies(gram_cert: dict[str, Any], rational: bool) -> None:
    v = verify_certificate(gram_cert, rational=rational)
    assert v.ok, v.reason
    assert v.claims["laws_lower"] == v.claims["laws_upper"] == 11   # 11 hidden neurons


def _tampered(cert: dict[str, Any], n: int, word: Any) -> dict[str, Any]:
    bad = copy.deepcopy(cert)
    bad["lie"]["words"][n] = word
    bad["digest"] = writer_digest(bad)
    return bad


@pytest.mark.parametrize("word, match", [
    ({"gram": -1}, r"Gram column -1 .* out of range"),
    ({"gram": 69}, r"Gram column 69 .* out of range \[0, 69\)"),
    ({"gram": "1"}, r'must be \{"gram": j\}'),
    ({"gram": 1, "x": 2}, r'must be \{"gram": j\}'),
    ({"gram": True}, r'must be \{"gram": j\}'),
    ({}, r'must be \{"gram": j\}'),
])
def test_malformed_gram_words(gram_cert: dict[str, Any], word: Any, match: str) -> None:
    import re

    v = verify_certificate(_tampered(gram_cert, 0, word))
    assert not v.ok and re.search(match, v.reason), v.reason


def test_dependent_gram_words_are_rejected(gram_cert: dict[str, Any]) -> None:
    """A zero word (the bracket of two generators with disjoint variables: [X, Y] = 0)
    replacing a Gram word makes the minor zero; a repeated Gram word is refused."""
    words = gram_cert["lie"]["words"]
    gens = Generators(build_model(gram_cert["model"]))
    a = 0
    b = next(i for i in range(gens.d) if not gens.variables(i) & gens.variables(a))
    v = verify_certificate(_tampered(gram_cert, 0, [a, b]))
    assert not v.ok and "zero" in v.reason, v.reason
    v = verify_certificate(_tampered(gram_cert, 0, copy.deepcopy(words[1])))
    assert not v.ok and "the same word twice" in v.reason


def test_involutive_frame_with_gram_words() -> None:
    """The involutive certificate of X1 = (1, x2, 0, 0), X2 = (0, 0, 1, x4) rewritten with
    Gram words: G_0 = X1,0(x0) X1 + X2,0(x0) X2 = X1 and G_2 = X2 (hand computation), so it
    still verifies; G_1 = x2(x0) X1 duplicates G_0's direction and is rejected."""
    res = count_laws(build_model("fields:1,x2,0,0;0,0,1,x4"), seed=0)
    cert = certificate(res)
    assert cert["involutive"] is not None
    good = copy.deepcopy(cert)
    good["lie"]["words"] = [{"gram": 0}, {"gram": 2}]
    good["digest"] = writer_digest(good)
    v = verify_certificate(good, rational=True)
    assert v.ok, v.reason
    bad = copy.deepcopy(good)
    bad["lie"]["words"] = [{"gram": 0}, {"gram": 1}]
    bad["digest"] = writer_digest(bad)
    assert not verify_certificate(bad).ok


def test_frame_gram_field_is_the_combination() -> None:
    model = build_model("poly:x1*x2;x2*x3")
    gens = Generators(model)
    table = WordTable(model.d, model.D)
    table.column = gens.column
    w = table.parse({"gram": 1})
    frame = Frame(gens, table, [w], [alg.QQ(c) for c in (1, 2, 3)])
    # G_1 = X1,1 X1 + X2,1 X2 = 1*(x2, x1, 0) + 3*(0, x3, x2) = (x2, x1 + 3 x3, 2 x2)...
    # with X2,1 = x3 = 3 at the point: (x2, x1 + 3 x3, 3 x2)
    R, V = frame.R, frame.V
    got = {k: str(p.as_expr().subs({sp.Symbol(f"y{n + 1}"): sp.Symbol(f"x{v + 1}")
                                      for n, v in enumerate(V)}))
           for k, p in frame.Y[0].items()}
    assert got == {0: "x2", 1: "x1 + 3*x3", 2: "3*x2"}, (got, R)
