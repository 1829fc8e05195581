"""Sparse polynomial helpers (hand computations)."""

from fractions import Fraction

from conslaw_flint import polys


def test_monomial_canonical_and_product() -> None:
    assert polys.monomial((2, 1), (0, 1), (2, 2)) == ((0, 1), (2, 3))
    assert polys.mono_mul(((0, 1),), ((0, 2), (3, 1))) == ((0, 3), (3, 1))


def test_mul_power_derivative() -> None:
    x, y = polys.var(0), polys.var(1)
    s = dict(x)
    polys.add_into(s, y)  # x + y
    sq = polys.power(s, 2)  # x^2 + 2xy + y^2
    assert sq == {((0, 2),): 1, ((0, 1), (1, 1)): 2, ((1, 2),): 1}
    assert polys.derivative(sq, 0) == {((0, 1),): 2, ((1, 1),): 2}
    assert polys.mul(s, polys.constant(0)) == {}
    assert polys.total_degree(sq) == 2 and polys.total_degree({}) == -1
    diff = dict(sq)
    polys.add_into(diff, sq, Fraction(-1))
    assert diff == {}
