"""Elementary differentials (algorithms/trees.py) against the plain computations.

Oracles: the exact symbolic bracket computed with FLINT polynomials modulo p and evaluated at
the point (independent of both the trees and the jets), and the truncated Taylor jets of
``lie._Jets``.  The closure with the trees forced on every deep word and with them forced
off reaches the same ranks at the same point.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, note
from hypothesis import strategies as st
from reference import flint_word_field

from conslaw_flint.algorithms import lie, trees
from conslaw_flint.algorithms.lie import _Jets, lie_closure
from conslaw_flint.models import build_model

SPECS = ["random:4,2,3,1", "random:3,3,2,5", "random:5,2,4,2", "random:3,2,1,7",
         "fields:x2^2,-x1*x3,x1^3;x3,x1*x2,0", "poly:x1^2*x2 + x3^3;x2*x3^2 + x1;x1*x2*x3",
         "fields:1,x1,x1^2,x1^3;0,1,0,0", "product:3"]


@st.composite
def words(draw: st.DrawFn, d: int, depth: int) -> object:
    if depth <= 1 or draw(st.booleans()):
        return draw(st.integers(0, d - 1))
    return (draw(words(d, depth - 1)), draw(words(d, depth - 1)))


@given(st.sampled_from(SPECS), st.integers(0, 2**32), st.data())
def test_trees_equal_jets_and_symbolic_brackets(spec: str, seed: int,
                                                data: st.DataObject) -> None:
    m = build_model(spec)
    p = 1_000_003
    rng = random.Random(seed)
    x = np.array([rng.randrange(1, p) for _ in range(m.D)], dtype=np.int64)
    table = m.family.mod_table(p)
    T = trees.Trees(table, x, p)
    J = _Jets(table, x, p)
    for _ in range(3):
        w = data.draw(words(m.d, 4), label="word")
        note(str(w))
        tv, tj = T.value(w), T.jacobian(w)
        assert (tv == J.value(w)).all(), w
        assert (tj == J.jacobian(w)).all(), w


def test_trees_equal_exact_symbolic_brackets() -> None:
    """Independent oracle: FLINT's exact brackets modulo p, evaluated at the point."""
    m = build_model("poly:x1^2*x2 + x3^3;x2*x3^2 + x1;x1*x2*x3")
    p = 33554393
    x = np.array([3, 5, 7], dtype=np.int64)
    T = trees.Trees(m.family.mod_table(p), x, p)
    for w in [(0, 1), ((0, 1), 2), (1, (0, (1, 2))), (((0, 1), 2), (1, 2)), (2, (2, (2, 0)))]:
        field = flint_word_field(m, w, p)
        vals = np.zeros(3, dtype=np.int64)
        jac = np.zeros((3, 3), dtype=np.int64)
        for k, P in field.items():
            vals[k] = int(P(*[int(v) for v in x]))
            for j in range(3):
                jac[k, j] = int(P.derivative(j)(*[int(v) for v in x]))
        assert (T.value(w) == vals).all(), w
        assert (T.jacobian(w) == jac).all(), w


def test_gram_words_expand_to_combinations() -> None:
    m = build_model("random:3,3,2,5")
    p = 1_000_003
    x = np.array([5, 7, 11], dtype=np.int64)
    coef = np.array([2, 0, 5], dtype=np.int64)
    T = trees.Trees(m.family.mod_table(p), x, p, gram=lambda j: coef)
    J = _Jets(m.family.mod_table(p), x, p)
    J.gram = lambda j: coef
    for w in [("gram", 0), (1, ("gram", 0)), (("gram", 0), (0, 2))]:
        assert (T.jacobian(w) == J.jacobian(w)).all(), w
        assert (T.value(w) == J.value(w)).all(), w


@pytest.mark.parametrize("spec", ["random:6,2,3,0", "random:5,3,2,1", "random:7,2,2,4",
                                  "fields:x2^2,-x1*x3,x1^3,x4;x3,x1*x2,0,x1*x4"])
def test_closure_with_trees_equals_closure_with_jets(spec: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Forced on every deep word, and forced off: the same ranks, level by level."""
    m = build_model(spec)
    monkeypatch.setattr(lie, "TREES_ABOVE_JET_MONOMIALS", 0)
    on = lie_closure(m.family, seed=3)
    monkeypatch.setattr(lie, "TREES_ABOVE_JET_MONOMIALS", 10**18)
    off = lie_closure(m.family, seed=3)
    assert on.level_ranks == off.level_ranks and on.rank == off.rank


def test_too_many_trees_falls_back() -> None:
    m = build_model("random:3,2,4,1")
    p = 1_000_003
    T = trees.Trees(m.family.mod_table(p), np.array([2, 3, 5]), p)
    w: object = 0
    for _ in range(9):
        w = (1, w)
    old = trees.MAX_TREES
    try:
        trees.MAX_TREES = 50
        with pytest.raises(trees.TooManyTrees):
            T.expansion(w)
    finally:
        trees.MAX_TREES = old


def test_trees_that_do_not_fit_fall_back_to_jets(monkeypatch: pytest.MonkeyPatch) -> None:
    """A memory refusal inside the trees (their tensors or Jacobians above the budget) makes
    the closure use the jets for that word: the same ranks as with the jets alone."""
    from conslaw_flint.errors import TooLargeError

    m = build_model("random:6,2,3,0")
    monkeypatch.setattr(lie, "TREES_ABOVE_JET_MONOMIALS", 10**18)
    want = lie_closure(m.family, seed=1)
    calls = []

    def refuse(self, w):  # noqa: ANN001, ANN202
        calls.append(w)
        raise TooLargeError("the Jacobians of the trees need about 1 TiB")

    monkeypatch.setattr(lie, "TREES_ABOVE_JET_MONOMIALS", 0)
    monkeypatch.setattr(trees.Trees, "jacobian", refuse)
    got = lie_closure(m.family, seed=1)
    assert calls and got.level_ranks == want.level_ranks
