"""Certified counts (issue 3).  Expected values: design.md §5 (theorems for product and
two-layer nets; the reference's observations for deep nets) and the issue's list."""

import json
import os

import pytest

from conslaw_flint.algorithms.certify import (
    certificate,
    count_laws,
    digest,
    involutive_certificate,
    write_certificate,
)
from conslaw_flint.models import build_model

CASES = [
    ("product:3", 2), ("product:5", 4),
    ("linear:2,3,2", 6), ("linear:3,4,5", 10), ("linear:4,5,4,3", 25), ("linear:5,5,5,5", 30),
    ("linear:2,5,3,4,2", 31),
    ("relu:2,2,5,3", 7), ("relu-bias:3,4,3", 4), ("relu:4,6,5,3", 11),
    ("relu-bias:4,6,5,3", 11), ("relu:5,9,9,4", 18),
]


@pytest.mark.parametrize("spec,expected", CASES)
def test_certified_counts(spec: str, expected: int) -> None:
    r = count_laws(build_model(spec), seed=0)
    assert r.certified and r.method == "laws"
    assert r.laws_lower == r.laws_upper == expected
    assert r.lie_rank_lower == r.lie_rank_upper == r.D - expected


def test_non_polynomial_laws_certified_by_involutivity() -> None:
    # X1 = (1, x2, 0, 0), X2 = (0, 0, 1, x4): laws x2 exp(-x1), x4 exp(-x3) (not polynomial)
    r = count_laws(build_model("fields:1,x2,0,0;0,0,1,x4"), seed=0)
    assert r.certified and r.method == "involutive"
    assert r.laws_lower == 2 and r.laws == []
    # mixed: one polynomial law (x3) and one exponential one (x2 exp(-x1))
    r = count_laws(build_model("fields:1,x2,0"), seed=0)
    assert (r.certified, r.method, r.laws_lower, len(r.laws)) == (True, "involutive", 2, 1)


def test_involutivity_check_accepts_and_rejects() -> None:
    # X1 = (1, 0, 0), X2 = (0, x1, 0): [X1, X2] = (0, 1, 0) = X2 / x1 lies in the span of
    # {X1, X2} over Q(theta) (rows 0, 1): involutive.  The frame {X1} alone misses X2.
    m = build_model("fields:1,0,0;0,x1,0")
    assert involutive_certificate(m.family, [0, 1], [0, 1])
    assert not involutive_certificate(m.family, [0], [0])
    r = count_laws(m, seed=0)
    assert (r.certified, r.laws_lower) == (True, 1)  # the law x3


def test_json_contract_and_certificate(tmp_path) -> None:  # noqa: ANN001
    m = build_model("linear:2,3,2")
    r = count_laws(m, seed=5)
    out = r.to_dict()
    assert json.loads(r.to_json()) == out
    for key in ("model", "D", "d", "variables", "lie_rank_lower", "lie_rank_upper",
                "laws_lower", "laws_upper", "certified", "method", "laws", "seed", "prime",
                "stopped_by", "phase"):
        assert key in out
    assert out["variables"] == list(m.names)
    assert out["laws_upper"] == out["D"] - out["lie_rank_lower"]
    assert out["laws_lower"] == out["D"] - out["lie_rank_upper"]
    # laws are FLINT polynomials of the model's ring, printed in its names ...
    assert all(h.context() is m.ring for h in r.laws)
    assert out["laws"] == [str(h) for h in r.laws] and "W1[1,1]^2" in out["laws"][0]
    assert r.to_dict(index_names=True)["laws"][0].startswith("x1^2")
    path = tmp_path / "c.json"
    cert = write_certificate(r, str(path))
    assert json.loads(path.read_text()) == cert
    assert [f for f in os.listdir(tmp_path) if f.startswith(".conslaw-")] == []
    assert cert["claims"]["certified"] and cert["convention"] == "layer-major-row-major-v1"
    # ... and certificates write them in x1..xD, with the inline model
    assert cert["laws"]["polynomials"] == r.to_dict(index_names=True)["laws"]
    assert cert["digest"] == digest(cert)
    assert build_model(cert["model"]).D == m.D


def test_same_seed_bit_identical_certificate() -> None:
    a = certificate(count_laws(build_model("relu:2,3,2"), seed=9))
    b = certificate(count_laws(build_model("relu:2,3,2"), seed=9))
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_time_limit_gives_honest_bounds() -> None:
    r = count_laws(build_model("linear:2,5,3,4,2"), seed=0, time_limit=1e-9)
    assert r.laws_lower <= r.laws_upper
    if not r.certified:
        assert r.method is None


def test_interrupt_returns_proven_bounds(monkeypatch) -> None:  # noqa: ANN001
    # Ctrl-C during the Lie closure: the result keeps the laws proven so far
    import conslaw_flint.algorithms.certify as certify

    def boom(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise KeyboardInterrupt

    monkeypatch.setattr(certify, "lie_closure", boom)
    r = certify.count_laws(build_model("linear:2,3,2"), seed=0)
    assert r.interrupted and not r.certified and r.method is None
    assert r.stopped_by == "signal"
    assert r.laws_lower == 6 and r.laws_upper == r.D  # proven laws; no rank proven yet
    assert any("interrupted" in n for n in r.notes)


def test_time_limit_during_law_search() -> None:
    r = count_laws(build_model("relu:3,4,5,3"), seed=0, time_limit=1e-6)
    assert r.laws_lower <= r.laws_upper
    assert r.stopped_by == "time" and r.phase
    assert any("time limit" in n for n in r.notes)
    assert "time limit reached" in r.text()
