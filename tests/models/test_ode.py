"""ODE, Hamiltonian and parameter models (issue 14): first integrals of the systems that
reaction-network, mechanics and control users write."""

from __future__ import annotations

import pytest

from conslaw_flint import build_model, count_laws, polynomial_laws
from conslaw_flint.algorithms.checks import LawChecker
from conslaw_flint.io.parse import parse_polynomial
from conslaw_flint.models.model import ModelError


def test_reaction_network_with_rate_constants() -> None:
    """A + B -> C at rate k: a - b and a + c are first integrals (mass conservation, by
    hand); k is a parameter; the count is 2 besides it (D = 4 variables, one field)."""
    m = build_model("ode:a' = -k*a*b; b' = -k*a*b; c' = k*a*b")
    assert m.names == ("a", "b", "c", "k") and [m.names[i] for i in m.parameters] == ["k"]
    check = LawChecker(m.family)
    for text in ("a - b", "a + c", "k", "k*(a + c)"):
        assert check.check(parse_polynomial(text, names=m.names)), text
    assert not check.check(parse_polynomial("a", names=m.names))
    res = count_laws(m)
    assert res.certified and res.laws_lower == 3
    assert "exactly 2 independent conservation laws besides the 1 parameter" in res.verdict()
    assert res.to_dict()["parameters"] == ["k"]


def test_lotka_volterra_has_a_non_polynomial_first_integral() -> None:
    """x' = x(a - b y), y' = y(-c + d x) conserves d x - c log x + b y - a log y (a classical
    computation); with a, b, c, d parameters: D = 6, one field, 5 laws besides none...:
    exactly 1 law besides the 4 parameters, not polynomial."""
    res = count_laws(build_model("ode:x' = x*(a - b*y); y' = y*(-c + d*x)"))
    assert res.certified and res.laws_lower == 5
    assert "exactly 1 independent conservation law besides the 4 parameters" in res.verdict()


def test_dx_dt_and_newlines() -> None:
    a = build_model("ode:dx/dt = -y; dy/dt = x")
    b = build_model("ode:x' = -y\n y' = x")
    assert a.names == b.names == ("x", "y") and not a.parameters
    basis = polynomial_laws(a, 2, homogeneous=True).basis
    assert [str(h) for h in basis] == ["x^2 + y^2"]


def test_declared_parameters_catch_typos(tmp_path) -> None:  # noqa: ANN001
    f = tmp_path / "m.ode"
    f.write_text("# a typo: kk\nparameters: k\nx' = -k*x*y\ny' = kk*x*y\n")
    with pytest.raises(ModelError, match="'kk' is neither a state"):
        build_model(str(f))
    f.write_text("parameters: k\nx' = -k*x*y\ny' = k*x*y\n")
    m = build_model(str(f))
    assert m.names == ("x", "y", "k") and m.parameters == (2,)


def test_ode_errors() -> None:
    with pytest.raises(ModelError, match="not of the form"):
        build_model("ode:x = y")
    with pytest.raises(ModelError, match="given twice"):
        build_model("ode:x' = y; x' = 1")
    with pytest.raises(ModelError, match="no equation"):
        build_model("ode: ; ")


def test_hamiltonian_pendulum_like() -> None:
    """H = p^2/2 + q^4/4 (a quartic oscillator): the canonical field conserves H; D = 2, so
    exactly one law (H)."""
    m = build_model("hamiltonian:p^2/2 + q^4/4")
    assert [str(c) for c in m.fields[0]] == ["p", "-q^3"]
    res = count_laws(m)
    assert res.certified and res.laws_lower == 1
    assert str(res.laws[0]) in ("q^4 + 2*p^2", "2*p^2 + q^4")


def test_two_degrees_of_freedom_with_named_pairs(tmp_path) -> None:  # noqa: ANN001
    """Two uncoupled oscillators: H1 = (x^2 + px^2)/2 and H2 = (y^2 + py^2)/2 are independent
    first integrals, and so is x*py - y*px when the frequencies are equal: 3 polynomial laws of
    degree 2 on D = 4 (hand computation)."""
    m = build_model("hamiltonian:(x^2 + px^2 + y^2 + py^2)/2")
    assert m.names == ("x", "px", "y", "py")
    res = count_laws(m)
    assert res.certified and res.laws_lower == 3
    f = tmp_path / "h.json"
    f.write_text('{"hamiltonian": "(u^2 + w^2)/2", "pairs": [["u", "w"]]}')
    assert build_model(str(f)).names == ("u", "w")


def test_parameters_of_a_map_and_of_fields(tmp_path) -> None:  # noqa: ANN001
    f = tmp_path / "p.json"
    f.write_text('{"variables": ["u", "v", "c"], "map": ["c*u*v"], "parameters": ["c"]}')
    m = build_model(str(f))
    assert m.parameters == (2,) and not m.is_gradient
    res = count_laws(m)
    assert res.certified
    assert "besides the 1 parameter" in res.verdict()
    with pytest.raises(ModelError, match="not a variable"):
        f.write_text('{"variables": ["u", "v"], "map": ["u*v"], "parameters": ["w"]}')
        build_model(str(f))
