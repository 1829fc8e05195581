"""Block laws (laws depending only on a subset T of the variables): the reduction of
conslaw_flint.algorithms.subsets checked against a brute-force computation -- all polynomial
laws of the whole model, intersected exactly with the polynomials in the variables of T --
and against counts known in closed form."""

from __future__ import annotations

from fractions import Fraction

import flint
import pytest

from conslaw_flint import count_laws, polynomial_laws
from conslaw_flint.algorithms.checks import LawChecker
from conslaw_flint.algorithms.subsets import (
    build_with_options,
    parse_subset,
    restrict_law,
    subset_model,
)
from conslaw_flint.core.polynomials import terms
from conslaw_flint.models import ModelError, build_model


def test_issue_oracle() -> None:
    res = count_laws(subset_model(build_model("linear:2,2,2,2"), "W1,W3"))
    assert (res.laws_lower, res.laws_upper, res.certified) == (1, 1, True)
    assert str(res.laws[0]) == ("W1[1,1]^2 + W1[1,2]^2 + W1[2,1]^2 + W1[2,2]^2 - W3[1,1]^2 - "
                                "W3[1,2]^2 - W3[2,1]^2 - W3[2,2]^2")


def _brute_force_dimension(model, T: list[int], degree: int) -> tuple[int, list]:  # noqa: ANN001
    """dim of {polynomial laws of degree <= degree of the whole model} ∩ Q[theta_T], exactly:
    the kernel of the coefficients on the monomials that use a variable outside T."""
    basis = polynomial_laws(model, degree).basis
    if not basis:
        return 0, []
    inside = set(T)
    bad: dict[tuple, int] = {}
    rows = []
    for h in basis:
        row = {}
        for m, c in terms(h):
            if any(v not in inside for v, _ in m):
                row[bad.setdefault(m, len(bad))] = c
        rows.append(row)
    if not bad:
        return len(basis), basis
    A = flint.fmpq_mat(len(bad), len(basis))
    for j, row in enumerate(rows):
        for i, c in row.items():
            A[i, j] = flint.fmpq(c.numerator, c.denominator)
    return len(basis) - A.rank(), basis


@pytest.mark.parametrize("spec,subset,flow", [
    ("linear:2,2,2,2", "W1,W3", None),
    ("linear:2,2,2,2", "W1,W2", None),
    ("linear:2,2,2", "W1", None),
    ("linear:1,2,2,1", "W1,W3", None),
    ("relu:2,2,2", "W1[1,1],W1[2,1],W2[1,1],W2[1,2]", None),   # hidden neuron 1 only
    ("relu:2,2,2", "W1", None),
    ("relu-bias:2,2,1", "W1,b1", None),
    ("product:4", "x1,x2", None),
    ("product:4", "x1", None),
    ("poly:x1*x2+x3*x4+x1*x2*x3*x4", "x1,x2", None),
    ("poly:x1*x2*x3;x2*x3*x4", "x1..x3", None),
    ("linear:1,2,1", "W1,W2", "momentum"),
    ("linear:1,2,1", "W1,vW1", "momentum"),
    ("attention:2,1", "Q,K", None),
])
def test_against_brute_force(spec: str, subset: str, flow: str | None) -> None:
    full = build_model(spec, flow=flow)
    T = parse_subset(full, subset)
    sub = subset_model(full, subset)
    degree = 3
    dim, _ = _brute_force_dimension(full, T, degree)
    sub_laws = polynomial_laws(sub, degree).basis
    # the same space: equal dimensions, and every law of the reduced family is a law of the
    # whole model (checked exactly in the whole model's ring)
    assert len(sub_laws) == dim
    checker = LawChecker(full.family)
    for h in sub_laws:
        assert checker.check(restrict_law(h, full, T))


@pytest.mark.parametrize("spec,subset,N", [
    ("linear:2,2,2,2", "W1,W2", 3),      # the 3 entries of W1^T W1 - W2 W2^T
    ("linear:2,2,2,2", "W1", 0),
    ("linear:2,2,2,2", "W2,W3", 3),
    ("relu:2,3,2", "W1,W2", 3),
    ("product:5", "x1,x2,x3", 2),        # x1^2 - x2^2, x1^2 - x3^2
    ("poly:x1*x2+x3*x4+x1*x2*x3*x4", "x1..x4", 3),   # the whole space: TC Example 4.8
    ("poly:x1*x2+x3*x4+x1*x2*x3*x4", "x1,x2", 1),
    ("poly:x1*x2+x3*x4+x1*x2*x3*x4", "x1,x3", 0),
])
def test_counts(spec: str, subset: str, N: int) -> None:
    res = count_laws(subset_model(build_model(spec), subset))
    assert (res.laws_lower, res.laws_upper, res.certified) == (N, N, True)


def test_nonpolynomial_block_law() -> None:
    """Fields (1, x2, 0, 0) and (0, 0, 1, x4): the law x2 exp(-x1) depends on (x1, x2) only."""
    m = subset_model(build_model("fields:1,x2,0,0;0,0,1,x4"), "x1,x2")
    res = count_laws(m)
    assert (res.laws_lower, res.laws_upper, res.certified) == (1, 1, True)
    assert res.method == "involutive"


def test_block_of_unused_variables() -> None:
    # x3 never moves: every function of x3 is a law
    m = subset_model(build_model("poly[3]:x1*x2"), "x3")
    assert m.D == 1
    res = count_laws(m)
    assert (res.laws_lower, res.laws_upper) == (1, 1)


def test_parse_subset_forms() -> None:
    m = build_model("relu-bias:2,2,1")
    names = m.names
    assert [names[i] for i in parse_subset(m, "W1")] == ["W1[1,1]", "W1[1,2]", "W1[2,1]",
                                                       "W1[2,2]"]
    assert parse_subset(m, "b1,W2[1,1]") == [4, 6, 7]
    assert parse_subset(m, "x1..x3,x8") == [0, 1, 2, 7]
    assert parse_subset(m, "x2-x3") == [1, 2]
    assert parse_subset(m, [0, "W2"]) == [0, 4, 5]
    assert parse_subset(build_model("poly:x1*x2"), "x2") == [1]


@pytest.mark.parametrize("subset,needle", [
    ("", "empty"),
    ("W9", "unknown variable 'W9'"),
    ("x0", "out of range"),
    ("x9", "out of range"),
    ("x3..x2", "range"),
    ("W1,,W2", "empty item"),
    ([True], "is not a variable"),
    ([99], "out of range"),
    (3.5, "give names or indices"),
])
def test_bad_subsets(subset, needle: str) -> None:  # noqa: ANN001
    with pytest.raises(ModelError, match=needle):
        subset_model(build_model("linear:2,2,1"), subset)


def test_labels_and_options() -> None:
    m = build_with_options("linear:2,2,2,2|subset=W1,W3")
    assert m.spec == "linear:2,2,2,2|subset=W1,W3" and m.kind == "subset"
    assert m.inline.startswith("fields:")
    again = build_with_options("linear:1,2,1|flow=momentum|subset=s,W1")
    assert again.names == ("s", "W1[1,1]", "W1[1,2]")
    same = build_with_options("linear:1,2,1", flow="momentum", subset="s,W1")
    assert same.inline == again.inline
    with pytest.raises(ModelError, match="two subsets"):
        build_with_options("linear:1,2,1|subset=W1", subset="W2")
    assert any("depend only on" in n for n in m.notes)


def test_reduced_family_has_independent_fields() -> None:
    m = subset_model(build_model("linear:2,2,2,2"), "W1,W3")
    # 16 fields, pairwise not proportional and independent over Q
    assert m.d == 16
    vecs = []
    for f in m.fields:
        vecs.append({(k, tuple(e)): Fraction(str(c)) for k, p in f.items()
                     for e, c in p.terms()})
    keys = sorted({k for v in vecs for k in v})
    A = flint.fmpq_mat(len(vecs), len(keys))
    for i, v in enumerate(vecs):
        for j, k in enumerate(keys):
            c = v.get(k, Fraction(0))
            A[i, j] = flint.fmpq(c.numerator, c.denominator)
    assert A.rank() == len(vecs)
