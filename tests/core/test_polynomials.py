"""FLINT polynomials and the helpers of core.polynomials (hand computations)."""

from fractions import Fraction

import flint
import pytest

from conslaw_flint.core import polynomials as polys
from conslaw_flint.core.polynomials import (
    default_names,
    from_terms,
    primitive,
    ring,
    sort_key,
    terms,
    to_latex,
    to_text,
    variables,
)


def test_monomial_canonical_and_product() -> None:
    assert polys.monomial((2, 1), (0, 1), (2, 2)) == ((0, 1), (2, 3))
    assert polys.monomial((1, 2), (1, -2)) == ()
    assert polys.mono_mul(((0, 1),), ((0, 2), (3, 1))) == ((0, 3), (3, 1))
    assert polys.mono_mul((), ((1, 1),)) == ((1, 1),)
    assert polys.mono_degree(((0, 3), (3, 1))) == 4


def test_ring_is_cached_and_deglex() -> None:
    R = ring(["x", "y"])
    assert R is ring(("x", "y")) and R.names() == ("x", "y")
    assert ring(default_names(3)).names() == ("x1", "x2", "x3")
    x, y = R.gens()
    # highest total degree first, then the first variable largest
    assert str(y**2 + x + x * y + x**2 + 1) == "x^2 + x*y + y^2 + x + 1"


def test_mul_power_derivative() -> None:
    R = ring(["x", "y"])
    x, y = R.gens()
    sq = (x + y) ** 2
    assert terms(sq) == [(((0, 2),), 1), (((0, 1), (1, 1)), 2), (((1, 2),), 1)]
    assert terms(sq.derivative(0)) == [(((0, 1),), 2), (((1, 1),), 2)]
    assert (sq * 0).is_zero() and terms(sq * 0) == []
    assert sq.total_degree() == 2 and R.from_dict({}).total_degree() == -1
    assert (sq - sq).is_zero()


def test_terms_round_trip_and_sparse_construction() -> None:
    R = ring(["a", "b", "c"])
    a, b, c = R.gens()
    p = a**2 * c - flint.fmpq(1, 2) * b + 3
    items = terms(p)
    assert items == [(((0, 2), (2, 1)), Fraction(1)), (((1, 1),), Fraction(-1, 2)),
                     ((), Fraction(3))]
    assert all(isinstance(q, Fraction) for _, q in items)
    assert from_terms(R, items) == p
    # repeated monomials are added, cancellations dropped
    assert from_terms(R, [(((1, 1),), 1), (((1, 1),), Fraction(-1)), ((), 2)]) == R.constant(2)
    assert variables(p) == [0, 1, 2] and variables(b + 1) == [1] and variables(R.constant(5)) == []


def test_from_terms_large_ring_uses_generators() -> None:
    D = polys.DENSE_LIMIT + 6
    R = ring(default_names(D))
    items = [(((0, 1), (D - 1, 2)), Fraction(2, 3)), (((5, 1),), -1), (((5, 1),), 1), ((), 7)]
    p = from_terms(R, items)
    assert terms(p) == [(((0, 1), (D - 1, 2)), Fraction(2, 3)), ((), Fraction(7))]
    assert str(p) == f"2/3*x1*x{D}^2 + 7"


def test_primitive_and_integer_terms() -> None:
    R = ring(["u", "v"])
    u, v = R.gens()
    h = flint.fmpq(-3, 2) * u**2 + flint.fmpq(9, 4) * v
    assert str(primitive(h)) == "2*u^2 - 3*v"
    assert primitive(R.from_dict({})).is_zero()
    assert polys.denominator(h) == 4
    # integer scaling keeps directions: 1/2*v + 2/3 -> 3*v + 4
    assert polys.integer_terms(flint.fmpq(1, 2) * v + flint.fmpq(2, 3)) == [(((1, 1),), 3),
                                                                            ((), 4)]


def test_sort_key_orders_by_degree_then_terms() -> None:
    R = ring(["x1", "x2"])
    x1, x2 = R.gens()
    ps = [x1**2 - x2**2, x2, x1, x1 * x2, 2 * x1]
    got = sorted(ps, key=sort_key)
    assert [str(p) for p in got] == ["2*x1", "x1", "x2", "x1^2 - x2^2", "x1*x2"]


def test_rename_and_to_text() -> None:
    R = ring(["x1", "x2"])
    x1, x2 = R.gens()
    p = x1**2 - 2 * x2
    assert to_text(p) == "x1^2 - 2*x2"
    assert to_text(p, ["W1[1,1]", "b1[1]"]) == "W1[1,1]^2 - 2*b1[1]"
    S = ring(["s", "t"])
    assert polys.rename(p, S).context() is S and str(polys.rename(p, S)) == "s^2 - 2*t"
    assert polys.rename(p, R) is p
    with pytest.raises(ValueError):
        polys.rename(p, ring(["s"]))


def test_latex() -> None:
    R = ring(["W1[1,2]", "b2[3]", "x10", "Q[1,2]", "my_var"])
    w, b, x, q, m = R.gens()
    assert polys.latex_name("W1[1,2]") == "W^{(1)}_{1,2}"
    assert polys.latex_name("Q[1,2]") == "Q_{1,2}"
    assert polys.latex_name("my_var") == r"my\_var"
    assert to_latex(w**2 - b) == "{W^{(1)}_{1,2}}^{2} - b^{(2)}_{3}"
    assert (to_latex(flint.fmpq(-1, 3) * x * q + m**2)
            == r"-\frac{1}{3} x_{10} Q_{1,2} + my\_var^{2}")
    assert to_latex(R.from_dict({})) == "0" and to_latex(R.constant(-2)) == "-2"
    assert to_latex(w, names=["a", "b", "c", "d", "e"]) == "a"
    assert polys.join_signed([(False, "a"), (True, "b")]) == "a - b"


def test_variables_of_zero() -> None:
    R = ring(["x1", "x2"])
    assert variables(R.from_dict({})) == []
