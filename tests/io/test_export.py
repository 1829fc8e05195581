"""Exports of laws: SymPy (exact), LaTeX, NumPy and PyTorch (float, for monitoring)."""

from __future__ import annotations

import random
import sys
from fractions import Fraction
from typing import Any

import flint
import numpy as np
import pytest
import sympy
from sympy.parsing.sympy_parser import convert_xor, parse_expr, standard_transformations

from conslaw_flint import build_model, count_laws, polynomial_laws
from conslaw_flint.core.polynomials import default_names, latex_name, to_text
from conslaw_flint.io.export import numpy_map, to_latex, to_numpy, to_sympy, to_torch
from conslaw_flint.io.parse import parse_polynomial

Poly = flint.fmpq_mpoly

SPECS = ["product:4", "linear:2,3,2", "relu-bias:2,3,2", "linear:2,2,2,2"]


def exact_eval(h: Poly, point: list[Fraction]) -> Fraction:
    total = Fraction(0)
    for exps, c in h.terms():
        term = Fraction(int(c.p), int(c.q))
        for v, e in enumerate(exps):
            term *= point[v] ** int(e)
        total += term
    return total


@pytest.fixture(scope="module", params=SPECS)
def laws(request: pytest.FixtureRequest) -> tuple[Any, list[Poly]]:
    model = build_model(request.param)
    res = polynomial_laws(model, 2, seed=0)
    assert res.basis
    return model, res.basis


def test_sympy_equals_parsed_law(laws: tuple[Any, list[Poly]]) -> None:
    model, basis = laws
    tr = (*standard_transformations, convert_xor)
    index = list(default_names(model.D))
    for h in basis:
        text = to_text(h, index)                   # the law in x1..xD (--index-names)
        syms = {n: sympy.Symbol(n) for n in index}
        parsed = parse_expr(text, local_dict=syms, transformations=tr)
        assert sympy.expand(to_sympy(h, index) - parsed) == 0
        # by default the symbols carry the ring's names (W1[1,1], ...)
        named = to_sympy(h)
        assert {str(s) for s in named.free_symbols} <= set(model.names)
        back = named.subs({sympy.Symbol(n): syms[index[i]]
                           for i, n in enumerate(model.names)}, simultaneous=True)
        assert sympy.expand(back - parsed) == 0


def test_sympy_rational_coefficients_and_zero() -> None:
    h = parse_polynomial("1/3*x1^2 - 5/7*x2 + 2")
    e = to_sympy(h)
    assert e.coeff(sympy.Symbol("x1"), 2) == sympy.Rational(1, 3)
    assert to_sympy(h - h) == 0
    assert to_sympy(h, ["a", "b"]).coeff(sympy.Symbol("b")) == sympy.Rational(-5, 7)


def test_numpy_matches_exact_evaluation(laws: tuple[Any, list[Poly]]) -> None:
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


def test_numpy_batched(laws: tuple[Any, list[Poly]]) -> None:
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
    model = build_model("linear:2,3,2")
    phi = model.phi
    jac = numpy_map([p.derivative(k) for p in phi for k in range(model.D)])
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
    text = " ".join(to_latex(h) for h in res.laws)
    assert text == " ".join(to_latex(h, model.names) for h in res.laws)
    assert "{W^{(1)}_{1,1}}^{2}" in text
    assert "{W^{(2)}_{1,1}}^{2}" in text
    assert "{b^{(1)}_{1}}^{2}" in text
    assert "[" not in text
    assert latex_name("W12[10,3]") == "W^{(12)}_{10,3}"
    assert latex_name("b1[3]") == "b^{(1)}_{3}"
    want = r"x_{10}^{3} - \frac{1}{2} x_{1} x_{2}"
    assert to_latex(parse_polynomial("-1/2*x1*x2 + x10^3")) == want
    assert to_latex(parse_polynomial("3"), None) == "3"
    assert to_latex(parse_polynomial("x1 - x1")) == "0"
    assert to_latex(parse_polynomial("u^2 - v^2", names=["u", "v"]), ["u", "v"]) == \
        "u^{2} - v^{2}"


def test_torch_missing_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match=r"pip install 'conslaw_flint\[torch\]'"):
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
    from conslaw_flint.io.report import render

    model = build_model("relu-bias:2,2,2")
    res = count_laws(model, seed=0)
    md = render(res, "markdown")
    assert md == res._repr_markdown_()
    assert md.startswith("**exactly 2 independent conservation laws")
    assert "{b^{(1)}_{1}}^{2}" in md and "| laws | 2 ≤ N ≤ 2 |" in md
    html = res._repr_html_()
    assert "<b>exactly 2 independent conservation laws" in html and "<table>" in html
    laws = polynomial_laws(build_model("product:3"), 2, seed=0)
    md = render(laws, "markdown")
    assert "| 1 | ✓ | $x_{1}^{2} - x_{2}^{2}$ |" in md


def test_render_formats() -> None:
    import json

    from conslaw_flint.io.report import render

    model = build_model("linear:1,2,1")
    res = count_laws(model, seed=0)
    assert res.laws and res.certified
    assert render(res) == res.text() == str(res)
    data = json.loads(render(res, "json"))
    assert data == res.to_dict() and data["variables"] == list(model.names)
    assert data["laws"] == [str(h) for h in res.laws]
    assert json.loads(render(res, "json", index_names=True))["variables"] == ["x1", "x2", "x3",
                                                                             "x4"]
    tex = render(res, "latex")
    assert tex.startswith("\\begin{tabular}{rl}") and tex.endswith("\\end{tabular}")
    assert "W^{(1)}_{1,1}" in tex
    assert "x_{1}" in render(res, "latex", index_names=True)
    with pytest.raises(ValueError, match="unknown format"):
        render(res, "yaml")
