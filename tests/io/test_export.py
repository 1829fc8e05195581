"""Exports of laws: SymPy (exact), LaTeX, NumPy and PyTorch (float, for monitoring)."""

from __future__ import annotations

import random
import sys
from fractions import Fraction

import numpy as np
import pytest
import sympy
from sympy.parsing.sympy_parser import convert_xor, parse_expr, standard_transformations

from conslaw_flint import build_model, count_laws, polynomial_laws
from conslaw_flint.export import latex_name, numpy_map, to_latex, to_numpy, to_sympy, to_torch
from conslaw_flint.laws import format_law
from conslaw_flint.parse import parse_polynomial
from conslaw_flint.polys import Poly

SPECS = ["product:4", "linear:2,3,2", "relu-bias:2,3,2", "linear:2,2,2,2"]


def exact_eval(h: Poly, point: list[Fraction]) -> Fraction:
    total = Fraction(0)
    for m, c in h.items():
        term = Fraction(c)
        for v, e in m:
            term *= point[v] ** e
        total += term
    return total


@pytest.fixture(scope="module", params=SPECS)
def laws(request: pytest.FixtureRequest) -> tuple[object, list[Poly]]:
    model = build_model(request.param)
    res = polynomial_laws(model, 2, seed=0)
    assert res.basis
    return model, res.basis


def test_sympy_equals_parsed_law(laws: tuple[object, list[Poly]]) -> None:
    model, basis = laws
    tr = (*standard_transformations, convert_xor)
    for h in basis:
        text = format_law(h)
        syms = {f"x{i + 1}": sympy.Symbol(f"x{i + 1}") for i in range(model.D)}
        parsed = parse_expr(text, local_dict=syms, transformations=tr)
        assert sympy.expand(to_sympy(h) - parsed) == 0
        # with network names the symbols carry the names
        named = to_sympy(h, model.names)
        back = named.subs({sympy.Symbol(n): syms[f"x{i + 1}"]
                           for i, n in enumerate(model.names)}, simultaneous=True)
        assert sympy.expand(back - parsed) == 0


def test_sympy_rational_coefficients_and_zero() -> None:
    h = parse_polynomial("1/3*x1^2 - 5/7*x2 + 2")
    e = to_sympy(h)
    assert e.coeff(sympy.Symbol("x1"), 2) == sympy.Rational(1, 3)
    assert to_sympy({}) == 0


def test_numpy_matches_exact_evaluation(laws: tuple[object, list[Poly]]) -> None:
    model, basis = laws
    rng = random.Random(1)
    for h in basis:
        f = to_numpy(h)
        for _ in range(5):
            pt = [Fraction(rng.randint(-50, 50), rng.randint(1, 9)) for _ in range(model.D)]
            want = float(exact_eval(h, pt))
            got = f(np.array([float(t) for t in pt]))
            assert np.shape(got) == ()
            assert got == pytest.approx(want, rel=1e-12, abs=1e-9)


def test_numpy_batched(laws: tuple[object, list[Poly]]) -> None:
    model, basis = laws
    rng = np.random.default_rng(0)
    theta = rng.standard_normal((4, 3, model.D))
    for h in basis:
        f = to_numpy(h)
        got = f(theta)
        assert got.shape == (4, 3)
        for i in range(4):
            for j in range(3):
                pt = [Fraction(float(t)) for t in theta[i, j]]
                assert got[i, j] == pytest.approx(float(exact_eval(h, pt)), rel=1e-12,
                                                  abs=1e-12)


def test_numpy_map_jacobian_shape() -> None:
    from conslaw_flint.polys import derivative

    model = build_model("linear:2,3,2")
    phi = model.phi
    jac = numpy_map([derivative(p, k) for p in phi for k in range(model.D)])
    theta = np.ones((5, model.D))
    J = jac(theta).reshape(5, model.d, model.D)
    assert J.shape == (5, 4, 12)
    # phi_1 = W1[1,1] W2[1,1] + ..., all ones: every partial derivative present equals 1
    assert set(np.unique(J)) <= {0.0, 1.0}


def test_numpy_rejects_short_theta() -> None:
    f = to_numpy(parse_polynomial("x3^2"))
    with pytest.raises(ValueError, match="coordinates"):
        f(np.zeros(2))


def test_latex_tokens() -> None:
    model = build_model("relu-bias:2,3,2")
    res = count_laws(model, seed=0)
    text = " ".join(to_latex(h, model.names) for h in res.laws)
    assert "{W^{(1)}_{1,1}}^{2}" in text
    assert "{W^{(2)}_{1,1}}^{2}" in text
    assert "{b^{(1)}_{1}}^{2}" in text
    assert "[" not in text
    assert latex_name("W12[10,3]") == "W^{(12)}_{10,3}"
    assert latex_name("b1[3]") == "b^{(1)}_{3}"
    want = r"x_{10}^{3} - \frac{1}{2} x_{1} x_{2}"
    assert to_latex(parse_polynomial("-1/2*x1*x2 + x10^3")) == want
    assert to_latex(parse_polynomial("3"), None) == "3"
    assert to_latex({}) == "0"
    assert to_latex(parse_polynomial("u^2 - v^2", names=["u", "v"]), ["u", "v"]) == \
        "u^{2} - v^{2}"


def test_torch_missing_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match=r"pip install conslaw_flint\[torch\]"):
        to_torch(parse_polynomial("x1^2 - x2^2"))


def test_torch_matches_numpy() -> None:
    torch = pytest.importorskip("torch")
    model = build_model("linear:2,3,2")
    res = count_laws(model, seed=0)
    theta = np.random.default_rng(0).standard_normal((6, model.D))
    for h in res.laws:
        t = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
        val = to_torch(h)(t)
        assert val.shape == (6,)
        np.testing.assert_allclose(val.detach().numpy(), to_numpy(h)(theta), rtol=1e-12)
        val.sum().backward()
        assert t.grad is not None


def test_markdown_reports() -> None:
    from conslaw_flint.report import count_markdown, laws_markdown

    model = build_model("relu-bias:2,2,2")
    md = count_markdown(count_laws(model, seed=0))
    assert md.startswith("**exactly 2 independent conservation laws")
    assert "{b^{(1)}_{1}}^{2}" in md and "| laws | 2 ≤ N ≤ 2 |" in md
    md = laws_markdown(polynomial_laws(build_model("product:3"), 2, seed=0))
    assert "| 1 | ✓ | $x_{1}^{2} - x_{2}^{2}$ |" in md
