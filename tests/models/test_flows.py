"""Flows (momentum, Nesterov, mirror, weight decay): parsing, generators, the oracles of issue
11, rational flows, model files, and the laws checked along numerically integrated
trajectories (an evaluation path that shares nothing with the solver)."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pytest
import sympy

from conslaw_flint import count_laws, polynomial_laws
from conslaw_flint.algorithms.checks import LawChecker
from conslaw_flint.core.polynomials import primitive
from conslaw_flint.models import ModelError, build_model
from conslaw_flint.models.flows import apply_flow, parse_flow, velocity_names


def _count(spec: str, flow: str | None, **kw: object) -> tuple[int, int, bool]:
    res = count_laws(build_model(spec, flow=flow), **kw)  # type: ignore[arg-type]
    return res.laws_lower, res.laws_upper, res.certified


# ---------------------------------------------------------------------------------------------
# the oracles of the issue (KtM = Keep the Momentum, ICML 2024; TC = Transformative or
# Conservative?, ICML 2025)


@pytest.mark.parametrize("spec,flow,N", [
    ("poly:x1*x2", "momentum", 0),
    ("linear:1,2,1", "momentum:tau=1", 2),     # the two rotations of so(4) fixing u.w
    ("relu:2,2,2", "momentum", 0),             # KtM: no law for ReLU nets with momentum
    ("linear:2,2,2", "mirror:entropy", 2),     # NMF under the entropy mirror
    ("linear:2,2,2", "decay:lambda=1", 3),     # TC Thm 2.1: H(theta e^{lambda t})
])
def test_issue_oracles(spec: str, flow: str, N: int) -> None:
    assert _count(spec, flow) == (N, N, True)


def test_entropy_mirror_laws_are_column_balances() -> None:
    res = count_laws(build_model("linear:2,2,2", flow="mirror:entropy"))
    assert sorted(str(h) for h in res.laws) == [
        "W1[1,1] + W1[2,1] - W2[1,1] - W2[1,2]", "W1[1,2] + W1[2,2] - W2[2,1] - W2[2,2]"]


def test_decay_laws_are_gradient_laws_of_s_theta() -> None:
    """TC Thm 2.1: the laws of weight decay are H(s theta), H a gradient-flow law."""
    m = build_model("linear:2,2,2", flow="decay")
    res = count_laws(m)
    plain = count_laws(build_model("linear:2,2,2"))
    s = m.gens()[0]
    lifted = [h.project_to_context(m.ring, mapping={i: i + 1 for i in range(8)}) * s ** 2
              for h in plain.laws]
    # every lifted gradient law is a law of the decayed flow, and they are as many as N
    assert len(lifted) == res.laws_lower == 3 and res.certified
    checker = LawChecker(m.family)
    assert all(checker.check(h) for h in lifted)
    # they span the homogeneous laws of degree 4 (s^2 times a quadratic law)
    basis = polynomial_laws(m, 4, homogeneous=True).basis
    assert sorted(map(str, basis)) == sorted(str(primitive(h)) for h in lifted)


# ---------------------------------------------------------------------------------------------
# other cases of the same settings (unlisted in the issue)


@pytest.mark.parametrize("spec,flow,N", [
    ("linear:1,2,1", "momentum:tau=0", 2),     # frictionless: the same rotations, without s
    ("linear:1,2,1", "momentum:tau=1/2", 2),   # any tau > 0 gives the same count
    ("linear:2,2,2", "momentum", 1),           # so(2) acting on the hidden layer
    ("linear:2,3,2", "momentum", 3),           # so(3): 3 = r(r-1)/2
    ("linear:1,2,1", "nesterov", 2),           # t^3 theta^T A v, not polynomial of degree <= 4
    ("relu:2,2,2", "mirror:entropy", 2),
    ("relu:2,2,2", "decay", 2),
    ("linear:2,2,2", "mirror:burg", 2),
    ("product:3", "momentum", 0),
    ("product:3", "decay:lambda=-2", 2),
])
def test_other_cases(spec: str, flow: str, N: int) -> None:
    assert _count(spec, flow) == (N, N, True)


def test_momentum_laws_are_rotation_momenta() -> None:
    res = count_laws(build_model("linear:2,2,2", flow="momentum"))
    (h,) = res.laws
    assert str(h).startswith("s*W1[1,1]*vW1[1,2] - s*W1[1,2]*vW1[1,1]")
    assert h.total_degree() == 3


# ---------------------------------------------------------------------------------------------
# parsing and generators


@pytest.mark.parametrize("text,canonical", [
    ("gradient", "gradient"),
    ("momentum", "momentum:tau=1"),
    ("momentum:tau=0.5", "momentum:tau=1/2"),
    ("momentum: tau = 2/3", "momentum:tau=2/3"),
    ("nesterov", "nesterov:r=3"),
    ("nesterov:r=5", "nesterov:r=5"),
    ("mirror:entropy", "mirror:entropy"),
    ("mirror:burg", "mirror:burg"),
    ("mirror:diag(x1, 1/x2)", "mirror:diag(x1,1/x2)"),
    ("decay", "decay:lambda=1"),
    ("decay:lambda=1e-2", "decay:lambda=1/100"),
    ("Momentum", "momentum:tau=1"),
])
def test_parse_flow(text: str, canonical: str) -> None:
    assert parse_flow(text).text == canonical


@pytest.mark.parametrize("text,needle", [
    ("foo", "unknown flow 'foo'"),
    ("momentum:tau=x", "is not a number"),
    ("momentum:lambda=1", "expected tau=VALUE"),
    ("momentum:tau=1/0", "is not a number"),
    ("decay:lambda=0", "lambda = 0 is the gradient flow"),
    ("mirror", "expected mirror:entropy"),
    ("mirror:kl", "expected mirror:entropy"),
    ("mirror:diag()", "empty factor"),
    ("mirror:diag(x1,,x2)", "empty factor"),
    ("gradient:tau=1", "takes no options"),
    ("nesterov:tau=1", "expected r=VALUE"),
])
def test_bad_flows(text: str, needle: str) -> None:
    with pytest.raises(ModelError, match=needle):
        parse_flow(text)
    with pytest.raises(ModelError):
        build_model("linear:2,2", flow=text)


def test_momentum_generators() -> None:
    m = build_model("poly:x1*x2", flow="momentum:tau=2")
    assert m.names == ("s", "x1", "x2", "v1", "v2") and m.d == 2
    assert [str(c) for c in m.fields[0]] == ["2*s", "v1", "v2", "-2*v1", "-2*v2"]
    assert [str(c) for c in m.fields[1]] == ["0", "0", "0", "x2", "x1"]
    assert m.inline == "fields:2*x1,x4,x5,-2*x4,-2*x5;0,0,0,x3,x2"
    assert m.spec == "poly:x1*x2|flow=momentum:tau=2"
    assert m.kind == "momentum" and m.meta["flow"] == "momentum:tau=2"
    frictionless = build_model("poly:x1*x2", flow="momentum:tau=0")
    assert frictionless.names[0] == "t"
    assert [str(c) for c in frictionless.fields[0]] == ["1", "v1", "v2", "0", "0"]


def test_nesterov_generators_and_excluded() -> None:
    m = build_model("poly:x1*x2", flow="nesterov")
    assert m.names == ("t", "x1", "x2", "v1", "v2")
    assert [str(c) for c in m.fields[0]] == ["t", "t*v1", "t*v2", "-3*v1", "-3*v2"]
    assert m.excluded == ("t",)
    assert any("t = 0" in n for n in m.notes)


def test_decay_generators() -> None:
    m = build_model("poly:x1*x2", flow="decay:lambda=1/2")
    assert m.names == ("s", "x1", "x2")
    assert [str(c) for c in m.fields[0]] == ["1/2*s", "-1/2*x1", "-1/2*x2"]
    assert [str(c) for c in m.fields[1]] == ["0", "x2", "x1"]


def test_mirror_generators() -> None:
    ent = build_model("poly:x1*x2", flow="mirror:entropy")
    assert [str(c) for c in ent.fields[0]] == ["x1*x2", "x1*x2"]
    burg = build_model("poly:x1*x2", flow="mirror:burg")
    assert [str(c) for c in burg.fields[0]] == ["x1^2*x2", "x1*x2^2"]
    one_layer = build_model("linear:1,1,1", flow="mirror:diag(W1[1,1], 1)")
    assert [str(c) for c in one_layer.fields[0]] == ["W1[1,1]*W2[1,1]", "W1[1,1]"]
    by_index = build_model("linear:1,1,1", flow="mirror:diag(x1, 1)")
    assert [str(c) for c in by_index.fields[0]] == ["W1[1,1]*W2[1,1]", "W1[1,1]"]


def test_rational_mirror_is_made_polynomial_with_excluded_set() -> None:
    m = build_model("poly:x1*x2+x3", flow="mirror:diag(1/x1, x2/(x3+1), 1)")
    # field (x2/x1, x2*x1/(x3+1), 1) times x1*(x3+1)
    assert [str(c) for c in m.fields[0]] == ["x2*x3 + x2", "x1^2*x2", "x1*x3 + x1"]
    assert m.excluded == ("x1*x3 + x1",)      # the lcm of the denominators, one per field
    assert any("excluded: x1*x3 + x1 = 0" in n for n in m.notes)
    res = count_laws(m)
    assert res.certified and res.laws_lower == 2


def test_flow_of_a_rational_model_keeps_its_excluded_set() -> None:
    m = build_model("poly:x1/x2", flow="momentum")
    assert m.excluded == ("x2",)
    assert any("denominators" in n for n in m.notes)
    res = count_laws(m)
    assert res.certified


def test_flow_of_general_fields() -> None:
    m = build_model("fields:x2,-x1", flow="decay")
    assert [str(c) for c in m.fields[1]] == ["0", "x2", "-x1"]
    assert _count("fields:x2,-x1", "decay") == (1, 1, True)   # s^2 (x1^2 + x2^2)


def test_velocity_names_avoid_collisions() -> None:
    assert velocity_names(["x1", "x2"], {"s"}) == ("v1", "v2")
    assert velocity_names(["u", "v"], {"s", "u", "v"}) == ("vu", "vv")
    assert velocity_names(["x1", "x2"], {"v1"}) == ("v1_", "v2")
    m = build_model({"s": "v", "v": "-s"}, flow="momentum")
    assert len(set(m.names)) == m.D and m.names[0] == "s_"


def test_spec_suffix_and_keyword_agree() -> None:
    a = build_model("linear:1,2,1|flow=momentum:tau=1")
    b = build_model("linear:1,2,1", flow="momentum")
    assert a.inline == b.inline and a.spec == b.spec
    with pytest.raises(ModelError, match="two flows"):
        build_model("linear:1,2,1|flow=momentum", flow="decay")
    with pytest.raises(ModelError, match="unknown model option"):
        build_model("linear:1,2,1|flo=momentum")
    with pytest.raises(ModelError, match="already has the flow"):
        apply_flow(a, "decay")
    assert build_model("linear:1,2,1", flow="gradient").spec == "linear:1,2,1"


def test_inline_rebuilds_the_same_generators() -> None:
    for spec, flow in [("linear:1,2,1", "momentum"), ("relu:2,2,1", "nesterov"),
                       ("linear:2,2,2", "mirror:entropy"), ("poly:x1/x2", "decay"),
                       ("attention:1,1", "momentum")]:
        m = build_model(spec, flow=flow)
        again = build_model(m.inline)
        assert again.D == m.D and again.d == m.d
        assert [list(map(str, f)) for f in again.fields] == \
            [[str(c.project_to_context(again.ring, mapping=dict(enumerate(range(m.D)))))
              for c in f] for f in m.fields]


def test_model_file_flow(tmp_path) -> None:  # noqa: ANN001
    p = tmp_path / "m.json"
    p.write_text(json.dumps({"map": ["x1*x2"], "flow": "momentum"}))
    m = build_model(str(p))
    assert m.meta["flow"] == "momentum:tau=1" and m.D == 5
    t = tmp_path / "m.toml"
    t.write_text('map = ["x1*x2"]\nflow = "decay:lambda=2"\n')
    assert build_model(str(t)).meta["flow"] == "decay:lambda=2"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"map": ["x1*x2"], "flow": 3}))
    with pytest.raises(ModelError, match="'flow' must be a string"):
        build_model(str(bad))
    with pytest.raises(ModelError, match="already has the flow"):
        build_model(str(p), flow="decay")


# ---------------------------------------------------------------------------------------------
# the laws along numerically integrated trajectories (independent of the solver)


def _rk4(f, y0: np.ndarray, t0: float, t1: float, steps: int) -> np.ndarray:  # noqa: ANN001
    h = (t1 - t0) / steps
    y, t = y0.astype(float), t0
    for _ in range(steps):
        k1 = f(t, y)
        k2 = f(t + h / 2, y + h / 2 * k1)
        k3 = f(t + h / 2, y + h / 2 * k2)
        k4 = f(t + h, y + h * k3)
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        t += h
    return y


def _law_function(h_text: str, names: tuple[str, ...]):  # noqa: ANN202
    syms = sympy.symbols([f"z{i}" for i in range(len(names))])
    text = h_text
    for i, n in sorted(enumerate(names), key=lambda p: -len(p[1])):
        text = text.replace(n, f"z{i}")
    return sympy.lambdify(syms, sympy.sympify(text), "math")


def _grad_E(theta: np.ndarray) -> np.ndarray:
    """E = f(phi) for linear:1,2,1, phi = u1 w1 + u2 w2 (theta = (u1, u2, w1, w2)), with the
    non-quadratic f(y) = (y - 1)^2/2 + y^3/3."""
    u1, u2, w1, w2 = theta
    phi = u1 * w1 + u2 * w2
    fp = (phi - 1) + phi ** 2
    return fp * np.array([w1, w2, u1, u2])


@pytest.mark.parametrize("flow", ["momentum:tau=1", "momentum:tau=0", "momentum:tau=3/2",
                                  "nesterov"])
def test_momentum_laws_hold_along_trajectories(flow: str) -> None:
    m = build_model("linear:1,2,1", flow=flow)
    res = count_laws(m, degree=5)
    assert res.certified and len(res.laws) == 2
    f = parse_flow(flow)
    value = float(f.value or 0)
    theta0 = np.array([0.3, -0.7, 0.5, 0.9])
    v0 = np.array([0.2, 0.1, -0.4, 0.3])

    if f.kind == "nesterov":
        def rhs(t: float, y: np.ndarray) -> np.ndarray:
            return np.concatenate([y[4:], -value / t * y[4:] - _grad_E(y[:4])])
        t0, t1 = 1.0, 2.0

        def clock(t: float) -> float:
            return t
    else:
        def rhs(t: float, y: np.ndarray) -> np.ndarray:
            return np.concatenate([y[4:], -value * y[4:] - _grad_E(y[:4])])
        t0, t1 = 0.0, 1.0

        def clock(t: float) -> float:
            return math.exp(value * t) if value else t
    y1 = _rk4(rhs, np.concatenate([theta0, v0]), t0, t1, 4000)
    for h in res.laws:
        fn = _law_function(str(h), m.names)
        before = fn(clock(t0), *theta0, *v0)
        after = fn(clock(t1), *y1)
        assert abs(after - before) < 1e-8 * (1 + abs(before)), (str(h), before, after)
    # and a function that is not a law drifts
    assert abs(float(np.sum(y1[4:] ** 2)) - float(np.sum(v0 ** 2))) > 1e-3


def test_decay_and_mirror_laws_hold_along_trajectories() -> None:
    theta0 = np.array([0.3, 0.7, 0.5, 0.9])
    lam = Fraction(1, 2)
    m = build_model("linear:1,2,1", flow=f"decay:lambda={lam}")
    res = count_laws(m)
    y1 = _rk4(lambda t, y: -_grad_E(y) - float(lam) * y, theta0, 0.0, 1.0, 4000)
    for h in res.laws:
        fn = _law_function(str(h), m.names)
        before, after = fn(1.0, *theta0), fn(math.exp(float(lam)), *y1)
        assert abs(after - before) < 1e-8 * (1 + abs(before))
    m = build_model("linear:1,2,1", flow="mirror:entropy")
    res = count_laws(m)
    assert res.certified
    y1 = _rk4(lambda t, y: -y * _grad_E(y), theta0, 0.0, 1.0, 4000)
    for h in res.laws:
        fn = _law_function(str(h), m.names)
        assert abs(fn(*y1) - fn(*theta0)) < 1e-8


def test_large_flow_models_inline_their_base_and_flow(monkeypatch) -> None:  # noqa: ANN001
    """Above MAX_INLINE_FIELDS the inline specification is BASE|flow=FLOW (mirror factors in
    x1..xD), which build_model rebuilds into the same generators."""
    import conslaw_flint.models.flows as flows

    monkeypatch.setattr(flows, "MAX_INLINE_FIELDS", 10)
    cases = [("linear:1,2,1", "momentum:tau=1/2", "linear:1,2,1|flow=momentum:tau=1/2"),
             ("relu:2,2,1", "mirror:diag(1/W1[1,1],1,1,1,W2[1,1]+1,1)",
              "relu:2,2,1|flow=mirror:diag((1)/(x1),(1),(1),(1),(x5 + 1),(1))"),
             ("poly:x1*x2", "nesterov", "poly:x1*x2|flow=nesterov:r=3")]
    for spec, flow, inline in cases:
        m = build_model(spec, flow=flow)
        assert m.inline == inline
        again = build_model(m.inline)
        assert [[str(c) for c in f] for f in again.fields] == [[str(c) for c in f]
                                                               for f in m.fields]
