"""``rational=True`` (``conslaw verify FILE --rational``): every rank claim re-checked by an
exact determinant over Q at the integer point."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
import sympy as sp

from conslaw_flint.algorithms.certify import certificate, count_laws, digest
from conslaw_flint.models import build_model
from conslaw_flint.verify import _algebra as alg
from conslaw_flint.verify import checker, verify_certificate

MODELS = ["product:3", "linear:2,3,2", "relu:2,2,3", "relu-bias:2,3,2",
          "fields:1,x2,0,0;0,0,1,x4", "fields:1,0,0;0,1,x1", "random:3,1,2,1",
          "poly:x1*x2/x3;x2^2", "random:4,2,2,3"]


@pytest.fixture(scope="module")
def certs() -> dict[str, dict[str, Any]]:
    return {spec: certificate(count_laws(build_model(spec), seed=0)) for spec in MODELS}


@pytest.mark.parametrize("spec", MODELS)
def test_valid_certificates_are_accepted(certs: dict[str, dict[str, Any]], spec: str) -> None:
    cert = certs[spec]
    plain = verify_certificate(copy.deepcopy(cert))
    v = verify_certificate(copy.deepcopy(cert), rational=True)
    assert plain.ok and v.ok, v.reason
    assert v.claims == plain.claims == cert["claims"]
    exact = [line for line in v.checks if line.startswith("rational:")]
    assert exact and all(re.search(r"over Q|\d+-digit", line) for line in exact), exact
    assert any(line.startswith("rational: lie minor over Q") for line in exact)
    if cert["laws"]["rank"]:
        assert any(line.startswith("rational: laws minor over Q") for line in exact)
    if cert["involutive"] is not None:
        assert any(line.startswith("rational: det M at the point") for line in exact)
    assert not any(line.startswith("rational:") for line in plain.checks)


def _exact_lie_minor(cert: dict[str, Any]) -> Any:
    """The lie minor over Q computed the plain way (SymPy expressions, generators only)."""
    model = build_model(cert["model"])
    xs = sp.symbols(f"x1:{model.D + 1}")
    point = {x: int(c) for x, c in zip(xs, cert["point"], strict=True)}
    rows = []
    for w in cert["lie"]["words"]:
        assert isinstance(w, int)
        field = model.fields[w]
        row = []
        for k in cert["lie"]["pivots"]:
            expr = sp.Integer(0)
            for exps, co in field[k].to_dict().items():
                expr += sp.Rational(int(co.p), int(co.q)) * sp.Mul(
                    *(x**e for x, e in zip(xs, exps, strict=True)))
            row.append(expr.subs(point))
        rows.append(row)
    return sp.Matrix(rows).det()


def test_exact_determinants_are_the_true_minors(certs: dict[str, dict[str, Any]],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The determinant the verifier computes over Q is the minor of the exact values."""
    seen: list[Any] = []
    real = alg.det

    def spy(rows: Any, K: Any, what: str) -> Any:
        d = real(rows, K, what)
        if not K.is_FiniteField:
            seen.append((what, d))
        return d

    monkeypatch.setattr(alg, "det", spy)
    cert = certs["relu:2,2,3"]
    assert all(isinstance(w, int) for w in cert["lie"]["words"])
    assert verify_certificate(cert, rational=True).ok
    lie = dict(seen)["the exact lie minor"]
    expected = _exact_lie_minor(cert)
    assert int(lie.numerator) == int(expected) and int(lie.denominator) == 1
    assert expected % cert["prime"] != 0


def test_a_fooled_modular_check_is_caught_over_q(certs: dict[str, dict[str, Any]],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Two equal laws make the laws minor zero over Q.  With a modular determinant that
    (wrongly) says non-zero, the default verification would accept the inflated count;
    ``rational=True`` still refuses it."""
    cert = copy.deepcopy(certs["linear:2,3,2"])
    cert["laws"]["polynomials"][0] = cert["laws"]["polynomials"][1]
    cert["digest"] = digest(cert)
    assert "minor of the law gradients" in verify_certificate(cert).reason
    real = alg.det

    def fooled(rows: Any, K: Any, what: str) -> Any:
        d = real(rows, K, what)
        return K.one if K.is_FiniteField and not d else d

    monkeypatch.setattr(alg, "det", fooled)
    assert verify_certificate(cert).ok
    v = verify_certificate(cert, rational=True)
    assert not v.ok
    assert v.reason == "laws: the 6x6 minor of the exact law gradients is zero over Q"


def test_rational_budget_is_separate(certs: dict[str, dict[str, Any]],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checker, "MAX_WORK_RATIONAL", 10_000)
    v = verify_certificate(certs["product:3"], rational=True)
    assert not v.ok and "needs more work than the verifier's limit" in v.reason
    assert verify_certificate(certs["product:3"]).ok


def test_cli_flag(certs: dict[str, dict[str, Any]], tmp_path: Any,
                  capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from conslaw_flint.apps.cli import main

    path = tmp_path / "c.json"
    path.write_text(json.dumps(certs["linear:2,3,2"]))
    assert main(["verify", str(path), "--rational"]) == 0
    out = capsys.readouterr().out
    assert "ok: rational: lie minor over Q" in out and "certificate verified" in out
