"""Hostile certificates (issue 15): each is rejected with a one-line reason, without hanging.

These are correctness tests of the verdicts; the time each takes is reported by the benchmark
(``conslaw verify`` under ``/usr/bin/time``) and the fuzz report, not asserted here.
"""

from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from conslaw_flint.algorithms.certify import certificate, count_laws, digest
from conslaw_flint.models import build_model
from conslaw_flint.verify import (
    CertificateError,
    admissible,
    checker,
    verify_certificate,
    verify_file,
)
from conslaw_flint.verify._base import Work

Cert = dict[str, Any]


@pytest.fixture(scope="module")
def base() -> Cert:
    return certificate(count_laws(build_model("product:3"), seed=0))


def redigest(cert: Cert) -> Cert:
    cert["digest"] = digest(cert)
    return cert


def rejected(cert: Any, match: str, **kwargs: Any) -> str:
    for rational in (False, True):
        v = verify_certificate(cert, rational=rational, **kwargs)
        assert not v.ok and v.claims == {}, v.checks
        assert "\n" not in v.reason and re.search(match, v.reason), v.reason
        assert not v.reason.startswith("certificate could not be processed"), v.reason
    return v.reason


def deep_word(depth: int) -> Any:
    w: Any = 0
    for _ in range(depth):
        w = [w, 0]
    return w


def test_deep_word_on_a_product_is_refused_from_the_estimate(base: Cert) -> None:
    """A 1 KB certificate: product:64 and one word nested 30 deep (jets of order 30 in 64
    variables: C(94, 30) monomials) is refused before any jet is computed."""
    c = copy.deepcopy(base)
    c.update(model="product:64", D=64, point=[str(i + 2) for i in range(64)])
    c["lie"] = {"rank": 1, "words": [deep_word(30)], "pivots": [0], "level_ranks": [1]}
    c["laws"] = {"rank": 0, "polynomials": [], "pivots": []}
    c["claims"] = {"lie_rank_lower": 1, "lie_rank_upper": 64, "laws_lower": 0,
                   "laws_upper": 63, "certified": False, "method": None}
    redigest(c)
    assert len(json.dumps(c)) < 1200
    rejected(c, r"lie word 1 \(nesting depth 31\) needs Taylor jets of order 30 in 64 "
                r"variables: about .* units of work, above the verifier's limit")


A = ("((" + "+".join(f"x1^{i}" for i in range(38)) + ")*("
     + "+".join(f"x2^{i}" for i in range(37)) + ")*(9^1000)^4)")


@pytest.mark.parametrize("model, match", [
    (f"poly:({A})*({A})", "model cannot be rebuilt: poly component 1: expression too expensive"),
    ("poly:x99999999", "too large for the verifier: a variable index above the limit"),
    ("relu:200,200,200", r"too large for the verifier: D = 80000 parameters \(limit 10000\)"),
    ("relu:3,9,9,9,9,9,9,3", r"too large for the verifier: .* monomial entries"),
    ("linear:40,40,40,40,40", r"too large for the verifier: .* monomial entries"),
    ("product:100000", r"too large for the verifier: D = 100000"),
    ("poly[99999]:x1", r"too large for the verifier: D = 99999"),
    ("fields:" + ",".join(["x1"] * 20000), "too large for the verifier: 20000 expressions"),
    ("poly:" + ";".join(["x1*x3000"] * 2000), "too large for the verifier: 2000 expressions"),
    ("relu:" + "9" * 40 + ",2", "above the limit|too large for the verifier"),
    ("cases/model.json", "not an inline model specification"),
])
def test_models_beyond_the_limits(base: Cert, model: str, match: str) -> None:
    c = copy.deepcopy(base)
    c["model"] = model
    rejected(redigest(c), match)


def test_rank_claim_too_large_for_a_determinant(base: Cert) -> None:
    """linear:100,100 has D = d = 10000: a claim of rank 10000 (a 200 KB file) is refused
    before any value is computed."""
    m = build_model("linear:100,100")
    c = copy.deepcopy(base)
    c.update(model="linear:100,100", D=m.D, d=m.d, point=[str(i + 2) for i in range(m.D)])
    c["lie"] = {"rank": m.D, "words": list(range(m.d)), "pivots": list(range(m.D)),
                "level_ranks": [m.D]}
    c["laws"] = {"rank": 0, "polynomials": [], "pivots": []}
    c["claims"] = {"lie_rank_lower": m.D, "lie_rank_upper": m.D, "laws_lower": 0,
                   "laws_upper": 0, "certified": True, "method": "laws"}
    rejected(redigest(c), "the 10000x10000 minors need more work than the verifier's limit")


@pytest.mark.parametrize("law, match", [
    ("(x1-x2)*(x1+x2)", "not written as an expanded polynomial"),
    ("x1^2*" + "9" * 20000 + " - x2^2", "is not a conservation law"),
    (" + ".join(f"x{1 + i % 3}^{i + 1}" for i in range(999)), "is not a conservation law"),
    ("x1^1001", "exceeds max_degree"),
    ("x1^2 - x2^2 + 0*x4", "law 1 is not a polynomial"),
])
def test_hostile_laws(base: Cert, law: str, match: str) -> None:
    c = copy.deepcopy(base)
    c["laws"]["polynomials"][0] = law
    rejected(redigest(c), match)


def test_work_budget_stops_a_long_verification(monkeypatch: pytest.MonkeyPatch) -> None:
    """Laws touching every variable of a path lifting with distinct coefficients: one distinct
    restriction per path.  The budget is charged before each step: with one unit less than the
    whole verification needs, it stops with the reason instead of the verdict."""
    cert = certificate(count_laws(build_model("relu:3,3,3,3"), seed=0))
    D = cert["D"]
    cert["laws"]["polynomials"] = [" + ".join(f"{k + i + 2}*x{i + 1}^2" for i in range(D))
                                   for k in range(cert["laws"]["rank"])]
    redigest(cert)
    work = Work(limit=10**15)
    with work.active(), pytest.raises(CertificateError, match="is not a conservation law"):
        checker._verify(cert, True, False, [])
    monkeypatch.setattr(checker, "MAX_WORK", work.used)
    assert "is not a conservation law" in verify_certificate(cert).reason
    monkeypatch.setattr(checker, "MAX_WORK", work.used - 1)
    v = verify_certificate(cert)
    assert not v.ok and "needs more work than the verifier's limit" in v.reason


# ---------------------------------------------------------------------------------------------
# files


def test_fifo_and_devices_are_refused_without_reading(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)  # nobody writes to it: opening it for reading must not block
    v = verify_file(str(fifo))
    assert not v.ok and "is not a regular file" in v.reason
    for dev in ("/dev/zero", "/dev/urandom", "/dev/null"):
        if os.path.exists(dev):
            v = verify_file(dev)
            assert not v.ok and "is not a regular file" in v.reason, dev
            link = tmp_path / (Path(dev).name + ".json")
            link.symlink_to(dev)
            v = verify_file(str(link))
            assert not v.ok and "is not a regular file" in v.reason, dev
    v = verify_file(str(tmp_path))
    assert not v.ok and "is not a regular file" in v.reason


@pytest.mark.parametrize("name, text, match", [
    ("deep.json", "[" * 100_000 + "]" * 100_000, "nested too deeply|nested deeper"),
    ("dup.json", '{"seed": 0, "seed": 1}', "duplicate JSON key 'seed'"),
    ("nan.json", '{"seed": NaN}', "the JSON constant NaN is not allowed"),
    ("inf.json", '{"seed": -Infinity}', "the JSON constant -Infinity is not allowed"),
    ("bigint.json", '{"seed": ' + "7" * 100_000 + "}", "not valid JSON"),
    ("commas.json", "[" + "0," * 4_100_000 + "0]", "more than 2000000 JSON values"),
    ("bom.json", "\ufeff{}", "not valid JSON"),
    ("huge-string.json", '{"model": "' + "a" * 1_000_001 + '"}', "exceeds the limit"),
])
def test_hostile_files(tmp_path: Path, name: str, text: str, match: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    v = verify_file(str(path))
    assert not v.ok and re.search(match, v.reason), v.reason
    assert "\n" not in v.reason


def test_bad_path_arguments() -> None:
    for bad in (None, 3, b"\xff", ["x"]):
        v = verify_file(bad)  # type: ignore[arg-type]
        assert not v.ok and v.reason


def test_admissible(base: Cert) -> None:
    assert admissible(base, 1000) == ""
    bad = copy.deepcopy(base)
    bad["claims"]["laws_lower"] = 3
    assert admissible(redigest(bad), 1000).startswith(
        "the verifier would reject it: claims.laws_lower = 3 is not what the certificate "
        "proves (2)")
    assert "above the verifier's limit" in admissible(base, checker.MAX_FILE_BYTES + 1)
    assert admissible({"x": float("nan")}, 10).startswith("the verifier would reject it")
    assert admissible({"x": {1, 2}}, 10).startswith("the verifier would reject it")
