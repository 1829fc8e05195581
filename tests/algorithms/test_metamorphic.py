"""Metamorphic properties of ``laws`` and ``count`` (issue 9): results that must not change
when the same dynamics is written differently.

For generators X_1..X_d on R^D (any polynomial fields, maps written as their gradient fields):

* **renumbering** the variables by a permutation;
* an **invertible linear change of coordinates** y = A theta: the fields push forward to
  Y_i(y) = A X_i(A^-1 y), laws map to h o A^-1 (same degree, same homogeneity), orbits map to
  orbits; so the dimension of the space of laws of each degree, and the number of independent
  laws, are unchanged;
* **scaling** a generator by a non-zero constant;
* **adding** a generator that is a constant combination of the others.

Each property compares the law-space dimensions at degrees 1..2 (and the homogeneous degree
3) and the counts (two certified counts must be equal; otherwise the bounds must be
compatible), and maps the laws of one form into laws of the other, checked exactly.  The
fixed oracles of the other tests cannot see a result that depends on how the input is
written: these can (an earlier law basis lost laws under some numberings).

``HYPOTHESIS_PROFILE=long`` runs thousands of examples (tests/conftest.py).
"""

from __future__ import annotations

from fractions import Fraction

import flint
from hypothesis import given, note
from hypothesis import strategies as st

from conslaw_flint.algorithms.certify import count_laws
from conslaw_flint.algorithms.checks import LawChecker
from conslaw_flint.algorithms.laws import polynomial_laws
from conslaw_flint.core.fields import VectorField
from conslaw_flint.core.polynomials import default_names, ring
from conslaw_flint.models import build_model
from conslaw_flint.models.model import Model

DEGREES = [(1, False), (2, False), (3, True)]
COEFS = [-3, -2, -1, 1, 2, 3, Fraction(1, 2)]


# ---------------------------------------------------------------------------------------------
# strategies


@st.composite
def field_lists(draw: st.DrawFn) -> tuple[int, list[list[str]]]:
    """D in 2..4 and 1..3 polynomial fields of degree <= 2 (component texts)."""
    D = draw(st.integers(2, 4))
    d = draw(st.integers(1, 3))
    fields = []
    for _ in range(d):
        comps = []
        for _ in range(D):
            terms = []
            for _ in range(draw(st.integers(0, 2))):
                c = draw(st.sampled_from(COEFS))
                vs = draw(st.lists(st.integers(1, D), max_size=2))
                terms.append("*".join([f"({c})", *(f"x{v}" for v in vs)]))
            comps.append(" + ".join(terms) if terms else "0")
        fields.append(comps)
    if all(c == "0" for f in fields for c in f):
        fields[0][0] = "x1"
    return D, fields


def _model(D: int, fields: list[list[str]]) -> Model:
    return build_model("fields:" + ";".join(",".join(f) for f in fields))


def _vector_fields(model: Model) -> list[VectorField]:
    return list(model.fields)


def _as_model(D: int, fields: list[VectorField]) -> Model:
    return build_model("fields:" + ";".join(",".join(str(c) for c in f) for f in fields))


@st.composite
def invertible(draw: st.DrawFn, D: int) -> list[list[int]]:
    """A random invertible integer matrix: a product of up to 4 elementary operations
    (add c times row j to row i), then possibly row i doubled (so A^-1 has halves)."""
    A = [[int(i == j) for j in range(D)] for i in range(D)]
    for _ in range(draw(st.integers(1, 4))):
        i, j = draw(st.integers(0, D - 1)), draw(st.integers(0, D - 1))
        c = draw(st.sampled_from([-2, -1, 1, 2]))
        if i != j:
            A[i] = [a + c * b for a, b in zip(A[i], A[j], strict=True)]
    if draw(st.booleans()):
        i = draw(st.integers(0, D - 1))
        A[i] = [2 * a for a in A[i]]
    return A


# ---------------------------------------------------------------------------------------------
# transformations


def push_forward(model: Model, A: list[list[int]]) -> tuple[list[VectorField], flint.fmpq_mat]:
    """Y_i(y) = A X_i(A^-1 y), and A^-1."""
    D = model.D
    R = ring(default_names(D))
    y = R.gens()
    Ainv = flint.fmpq_mat(flint.fmpz_mat(A)).inv()
    # theta = A^-1 y, as polynomials in y
    theta = [sum((y[j] * Ainv[i, j] for j in range(D)), R.constant(0)) for i in range(D)]
    out = []
    for X in model.fields:
        Xy = [X[k].compose(*theta) if not X[k].is_zero() else R.constant(0) for k in range(D)]
        Xy = [R.from_dict(c.to_dict()) for c in Xy]
        Y = [sum((Xy[k] * A[i][k] for k in range(D)), R.constant(0)) for i in range(D)]
        out.append(VectorField(R, Y))
    return out, Ainv


def pull_law(h: flint.fmpq_mpoly, A: list[list[int]]) -> flint.fmpq_mpoly:
    """h o A^-1 ... written as (h o A^-1)(y) with theta = A^-1 y."""
    D = len(A)
    R = ring(default_names(D))
    y = R.gens()
    Ainv = flint.fmpq_mat(flint.fmpz_mat(A)).inv()
    theta = [sum((y[j] * Ainv[i, j] for j in range(D)), R.constant(0)) for i in range(D)]
    return R.from_dict(h.compose(*theta).to_dict())


# ---------------------------------------------------------------------------------------------
# comparisons


def law_dims(model: Model, seed: int = 0) -> list[int]:
    return [len(polynomial_laws(model, k, homogeneous=h, seed=seed).basis) for k, h in DEGREES]


def assert_same_count(a: Model, b: Model, what: str) -> None:
    ra, rb = count_laws(a, degree=2), count_laws(b, degree=2)
    assert ra.laws_lower <= rb.laws_upper and rb.laws_lower <= ra.laws_upper, what
    if ra.certified and rb.certified:
        assert ra.laws_lower == rb.laws_lower, what


# ---------------------------------------------------------------------------------------------
# properties


@given(field_lists(), st.data())
def test_renumbering(fl: tuple[int, list[list[str]]], data: st.DataObject) -> None:
    D, fields = fl
    perm = data.draw(st.permutations(range(D)), label="perm")
    a = _model(D, fields)
    R = ring(default_names(D))
    y = R.gens()
    images = [y[perm[i]] for i in range(D)]          # x_i -> x_{perm(i)}
    moved = []
    for X in a.fields:
        comps = [R.constant(0)] * D
        for k, c in X.items():
            comps[perm[k]] = R.from_dict(c.compose(*images).to_dict())
        moved.append(VectorField(R, comps))
    b = _as_model(D, moved)
    note(f"{a.spec}  vs  {b.spec}")
    assert law_dims(a) == law_dims(b)
    assert_same_count(a, b, f"{a.spec} vs {b.spec}")
    check = LawChecker(b.family)
    for h in polynomial_laws(a, 2).basis:
        assert check.check(R.from_dict(h.compose(*images).to_dict())), (a.spec, str(h))


@given(field_lists(), st.data())
def test_linear_change_of_coordinates(fl: tuple[int, list[list[str]]],
                                      data: st.DataObject) -> None:
    D, fields = fl
    A = data.draw(invertible(D), label="A")
    a = _model(D, fields)
    pushed, _ = push_forward(a, A)
    b = _as_model(D, pushed)
    note(f"{a.spec}  vs  {b.spec}  (A = {A})")
    assert law_dims(a) == law_dims(b)
    assert_same_count(a, b, f"{a.spec} vs {b.spec}")
    check = LawChecker(b.family)
    for h in polynomial_laws(a, 2).basis:
        assert check.check(pull_law(h, A)), (a.spec, str(h), A)


@given(field_lists(), st.data())
def test_scaling_a_field(fl: tuple[int, list[list[str]]], data: st.DataObject) -> None:
    D, fields = fl
    i = data.draw(st.integers(0, len(fields) - 1), label="i")
    c = data.draw(st.sampled_from([-3, -1, 2, Fraction(1, 3), Fraction(-7, 2)]), label="c")
    a = _model(D, fields)
    scaled = [f if j != i else [f"({c})*({t})" for t in f] for j, f in enumerate(fields)]
    b = _model(D, scaled)
    assert law_dims(a) == law_dims(b)
    assert_same_count(a, b, f"{a.spec} vs {b.spec}")


@given(field_lists(), st.data())
def test_adding_a_combination(fl: tuple[int, list[list[str]]], data: st.DataObject) -> None:
    D, fields = fl
    coefs = [data.draw(st.sampled_from([-2, -1, 0, 1, 3]), label=f"c{j}")
             for j in range(len(fields))]
    extra = [" + ".join(f"({c})*({f[k]})" for c, f in zip(coefs, fields, strict=True))
             for k in range(D)]
    a = _model(D, fields)
    b = _model(D, [*fields, extra])
    assert law_dims(a) == law_dims(b)
    assert_same_count(a, b, f"{a.spec} vs {b.spec}")


def test_push_forward_of_a_known_case() -> None:
    """Rotation field (x2, -x1): law x1^2 + x2^2; under y = A x with A = [[1, 1], [0, 1]]
    the law becomes (y1 - y2)^2 + y2^2, a law of the pushed-forward field (hand check)."""
    a = build_model("fields:x2,-x1")
    pushed, _ = push_forward(a, [[1, 1], [0, 1]])
    b = _as_model(2, pushed)
    basis = polynomial_laws(b, 2, homogeneous=True).basis
    assert [str(h) for h in basis] == ["x1^2 - 2*x1*x2 + 2*x2^2"]
