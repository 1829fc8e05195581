"""Tests for :mod:`conslaw_flint.verify.checker`: the independent certificate checker.

Every kind of tampering is tried twice: with the stale digest (caught by the digest) and, where
the change is mathematically detectable, with the digest recomputed by the writer's own
function (:func:`conslaw_flint.algorithms.certify.digest`), so the mathematical checks must
catch it.
"""

from __future__ import annotations

import ast
import copy
import json
import os
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import flint
import pytest

from conslaw_flint.algorithms.certify import certificate, count_laws, write_certificate
from conslaw_flint.algorithms.certify import digest as writer_digest
from conslaw_flint.io.parse import ParseError, parse_polynomial
from conslaw_flint.models import ModelError, build_model
from conslaw_flint.verify import (
    CertificateError,
    Verdict,
    checker,
    digest_of,
    verify_certificate,
    verify_file,
)
from conslaw_flint.verify import _algebra as alg
from conslaw_flint.verify._involutive import Frame
from conslaw_flint.verify._lie import WordTable
from conslaw_flint.verify._model import Generators

Cert = dict[str, Any]
Mutation = Callable[[Cert], None]

INVOLUTIVE_MODEL = "fields:1,x2,0,0;0,0,1,x4"
MODELS = ["product:3", "linear:2,3,2", "relu:2,2,3", INVOLUTIVE_MODEL]


@pytest.fixture(scope="module")
def certs() -> dict[str, Cert]:
    """Real certificates written by the solver (seed 0)."""
    out = {}
    for spec in [*MODELS, "fields:1,0,0;0,1,x1", "linear:3,4,5"]:
        res = count_laws(build_model(spec), seed=0)
        assert res.certified
        out[spec] = certificate(res)
    return out


def redigest(cert: Cert) -> Cert:
    """The digest an attacker who knows the format would write (the writer's function)."""
    cert["digest"] = writer_digest(cert)
    return cert


def assert_rejected(cert: Cert, mutate: Mutation, match: str, *, math: bool = True,
                    stale: str = "digest mismatch") -> None:
    """``mutate`` a copy of ``cert``: rejected with the stale digest (reason matching
    ``stale``) and, if ``math``, also with the digest recomputed and with the digest ignored,
    for a reason matching ``match``."""
    bad = copy.deepcopy(cert)
    mutate(bad)
    v = verify_certificate(bad)
    assert isinstance(v, Verdict)
    assert not v.ok and v.claims == {}
    assert re.search(stale, v.reason), v.reason
    assert "\n" not in v.reason
    if not math:
        return
    redigest(bad)
    for check_digest in (True, False):
        v = verify_certificate(bad, check_digest=check_digest)
        assert not v.ok, (check_digest, v.checks)
        assert re.search(match, v.reason), v.reason


def set_at(path: tuple[Any, ...], value: Any) -> Mutation:
    def mutate(c: Cert) -> None:
        target: Any = c
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value(target[path[-1]]) if callable(value) else value
    return mutate


def deep_word(depth: int) -> Any:
    w: Any = 0
    for _ in range(depth):
        w = [w, 0]
    return w


# ---------------------------------------------------------------------------------------------
# acceptance


@pytest.mark.parametrize("spec", MODELS)
def test_round_trip_accepted(certs: dict[str, Cert], spec: str, tmp_path: Path) -> None:
    cert = certs[spec]
    v = verify_certificate(copy.deepcopy(cert))
    assert v.ok, v.reason
    assert v.reason == ""
    assert v.claims == cert["claims"]
    assert 0 < v.work < checker.MAX_WORK
    assert any("digest" in line for line in v.checks)
    assert any(line.startswith("lie:") for line in v.checks)
    # the same through a file written by the solver, and with the digest ignored
    res = count_laws(build_model(spec), seed=0)
    path = tmp_path / "cert.json"
    write_certificate(res, str(path))
    vf = verify_file(str(path))
    assert vf.ok, vf.reason
    assert vf.claims == v.claims
    assert verify_certificate(cert, check_digest=False).ok


def test_involutive_model_uses_involutive_method(certs: dict[str, Cert]) -> None:
    cert = certs[INVOLUTIVE_MODEL]
    assert cert["involutive"] is not None and cert["laws"]["rank"] == 0
    v = verify_certificate(cert)
    assert v.ok and v.claims["method"] == "involutive" and v.claims["laws_lower"] == 2
    assert any(line.startswith("involutive:") for line in v.checks)


def test_hand_written_involutive_certificate_verifies(certs: dict[str, Cert]) -> None:
    """A single field is always involutive: product:3 certified by method (b) is valid."""
    c = copy.deepcopy(certs["product:3"])
    c["laws"] = {"rank": 0, "polynomials": [], "pivots": []}
    c["involutive"] = {"rank": 1, "rows": [1]}
    c["claims"]["method"] = "involutive"
    v = verify_certificate(redigest(c))
    assert v.ok, v.reason
    assert v.claims["laws_lower"] == 2


def test_digest_agrees_with_writer(certs: dict[str, Cert]) -> None:
    for cert in certs.values():
        assert digest_of(cert) == cert["digest"] == writer_digest(cert)


def test_changed_point_is_caught_by_digest_only(certs: dict[str, Cert]) -> None:
    """Another generic point proves the same bounds: only the digest notices."""
    cert = certs["linear:2,3,2"]
    mutate = set_at(("point", 0), lambda s: str(int(s) + 1))
    bad = copy.deepcopy(cert)
    mutate(bad)
    assert verify_certificate(bad).reason.startswith("digest mismatch")
    assert verify_certificate(redigest(bad)).ok


#: what the verifier may import from the library: the builders (and the guard they run
#: under), the safe reader, the exception types
ALLOWED = {"models", "io.parse", "errors", "core.budget"}
FORBIDDEN_MODULES = ("conslaw_flint.algorithms", "conslaw_flint.core.tables",
                     "conslaw_flint.core.fields", "conslaw_flint.core.linalg",
                     "conslaw_flint.results", "conslaw_flint.core.polynomials")


def test_verifier_imports_nothing_from_the_solver() -> None:
    """Every module of the verifier imports only the allowed parts of the library, never the
    solver's algorithms, tables, linear algebra, results, or FLINT polynomials directly."""
    folder = Path(checker.__file__).parent
    used: set[str] = set()
    for path in sorted(folder.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                if node.level == 2:
                    for alias in node.names:
                        full = f"{node.module}.{alias.name}" if node.module else alias.name
                        used.add(node.module if node.module in ALLOWED else full)
                elif node.level == 0 and node.module:
                    assert not node.module.startswith(FORBIDDEN_MODULES), (path, node.module)
                    assert node.module.split(".")[0] != "flint", (path, node.module)
                    if node.module.startswith("conslaw_flint"):
                        used.add(node.module.split(".", 1)[1])
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    assert not alias.name.startswith("conslaw_flint"), (path, alias.name)
                    assert alias.name.split(".")[0] != "flint", (path, alias.name)
    assert used <= ALLOWED, used


def test_polynomial_arithmetic_is_sympy() -> None:
    """The generators' components, the jets and the law identities are SymPy ring elements."""
    gens = Generators(build_model("linear:2,3,2"))
    f, V = gens.component(0, 0, alg.QQ)
    assert type(f).__module__ == "sympy.polys.rings"
    assert len(V) <= f.ring.ngens


def test_det_cross_checked_with_flint() -> None:
    """SymPy's DomainMatrix determinant over GF(p) and QQ, against FLINT's."""
    rng = random.Random(1)
    p = 1_000_003
    F = alg.GF(p)
    for n in (0, 1, 2, 5, 12, 30):
        for _ in range(3):
            rows = [[rng.randrange(-10**9, 10**9) for _ in range(n)] for _ in range(n)]
            if n >= 2 and rng.random() < 0.5:
                rows[-1] = [(3 * a - 2 * b) for a, b in zip(rows[0], rows[1], strict=True)]
            expected = int(flint.nmod_mat(rows, p).det()) if n else 1
            got = alg.det([[F(v) for v in r] for r in rows], F, "test")
            assert int(got) == expected
            exact = int(flint.fmpz_mat(rows).det()) if n else 1
            got_q = alg.det([[alg.QQ(v) for v in r] for r in rows], alg.QQ, "test")
            assert got_q == exact


# ---------------------------------------------------------------------------------------------
# tampering, one test per kind


@pytest.mark.parametrize("key, value, match", [
    ("laws_lower", lambda v: v + 1, "claims.laws_lower"),
    ("laws_upper", lambda v: v - 1, "claims.laws_upper"),
    ("certified", lambda v: not v, "claims.certified"),
    ("lie_rank_lower", lambda v: v + 1, "claims.lie_rank_lower"),
    ("lie_rank_upper", lambda v: v - 1, "claims.lie_rank_upper"),
    ("method", "involutive", "claims.method"),
    ("method", None, "claims.method"),
    ("laws_lower", lambda v: str(v), "claims.laws_lower must be an integer"),
    ("certified", 1, "claims.certified must be true or false"),
])
def test_changed_claim(certs: dict[str, Cert], key: str, value: Any, match: str) -> None:
    assert_rejected(certs["linear:2,3,2"], set_at(("claims", key), value), match)


@pytest.mark.parametrize("spec, index, law, match", [
    ("product:3", 1, "x1^2 - 2*x3^2", "law 2 .* is not a conservation law"),
    ("product:3", 0, "x1^2", "law 1 .* is not a conservation law"),
    ("linear:2,3,2", 3, "x2^2 + x5^2 - x9^2 - 2*x10^2", "law 4 .* not a conservation law"),
    ("product:3", 0, "0", "minor of the law gradients"),
    ("product:3", 0, "x1^2 - x2^2 + x4", "law 1 is not a polynomial"),
    ("product:3", 0, "x1^^2", "law 1 is not a polynomial"),
    ("product:3", 0, 5, "law 1 must be a string"),
])
def test_changed_law(certs: dict[str, Cert], spec: str, index: int, law: Any,
                     match: str) -> None:
    assert_rejected(certs[spec], set_at(("laws", "polynomials", index), law), match)


def test_duplicated_law_makes_the_minor_singular(certs: dict[str, Cert]) -> None:
    # every law still verifies, but two equal gradients cannot be independent
    def dup(c: Cert) -> None:
        c["laws"]["polynomials"][0] = c["laws"]["polynomials"][1]
    assert_rejected(certs["linear:2,3,2"], dup, "minor of the law gradients")


def test_changed_law_count(certs: dict[str, Cert]) -> None:
    assert_rejected(certs["product:3"], lambda c: c["laws"]["polynomials"].pop(),
                    "laws.polynomials has 1 entries, expected 2")
    # a consistent removal of a law: the lower bound drops and the claims no longer match
    def drop(c: Cert) -> None:
        c["laws"] = {"rank": 1, "polynomials": c["laws"]["polynomials"][:1], "pivots": [0]}
    assert_rejected(certs["product:3"], drop, "claims.laws_lower")


@pytest.mark.parametrize("mutate, match", [
    (set_at(("lie", "words", 5), [0, 1]), "minor of the word values .* is zero"),
    (set_at(("lie", "words", 3), 0), "the same word twice"),
    (lambda c: c["lie"]["words"].pop(), "lie.words has 5 words but lie.rank is 6"),
    (set_at(("lie", "words", 3), 4), r"generator index 4 .* out of range \[0, 4\)"),
    (set_at(("lie", "words", 0), -1), "generator index -1 .* out of range"),
    (set_at(("lie", "words", 4), [1, 0, 2]), "must be a generator index, a pair"),
    (set_at(("lie", "words", 0), True), "must be a generator index, a pair"),
    (set_at(("lie", "words", 4), deep_word(70)), "Lie word is nested deeper than 64"),
])
def test_changed_word(certs: dict[str, Cert], mutate: Mutation, match: str) -> None:
    assert_rejected(certs["linear:2,3,2"], mutate, match)


@pytest.mark.parametrize("value, match", [
    ("0", "point coordinate 2 is zero modulo p"),
    ("p", "point coordinate 2 is zero modulo p"),
    ("-3p", "point coordinate 2 is zero modulo p"),
    ("1.5", "point coordinate 2 = '1.5' is not an integer"),
    ("abc", "is not an integer"),
    (" 12", "is not an integer"),
    ("12\n", "is not an integer"),
    ("", "is not an integer"),
    (12, "point coordinate 2 must be a string"),
    ("1" * 100_000, "point coordinate 2 has 100000 characters"),
])
def test_changed_point(certs: dict[str, Cert], value: Any, match: str) -> None:
    cert = certs["linear:2,3,2"]
    p = cert["prime"]
    if value == "p":
        value = str(p)
    elif value == "-3p":
        value = str(-3 * p)
    assert_rejected(cert, set_at(("point", 1), value), match)


def test_changed_point_length(certs: dict[str, Cert]) -> None:
    assert_rejected(certs["linear:2,3,2"], lambda c: c["point"].pop(),
                    "point has 11 entries, expected 12")


@pytest.mark.parametrize("value, match", [
    (lambda p: 3 * p, "is not prime"),
    (lambda p: p + 1, "is not prime"),
    (lambda p: 7, r"outside \(2\^20, 2\^64\)"),
    (lambda p: 2**64 + 13, r"outside \(2\^20, 2\^64\)"),
    (lambda p: str(p), "prime must be an integer"),
    (lambda p: float(p), "prime must be an integer"),
])
def test_changed_prime(certs: dict[str, Cert], value: Callable[[int], Any],
                       match: str) -> None:
    assert_rejected(certs["linear:2,3,2"], set_at(("prime",), value), match)


@pytest.mark.parametrize("mutate, match", [
    (set_at(("lie", "pivots", 1), 0), "lie.pivots has a duplicate"),
    (set_at(("lie", "pivots", 1), 12), r"lie.pivots entry = 12 is out of range \[0, 11\]"),
    (set_at(("lie", "pivots", 1), -1), "lie.pivots entry = -1 is out of range"),
    (lambda c: c["lie"]["pivots"].pop(), "lie.pivots has 5 entries, expected 6"),
    (set_at(("laws", "pivots", 2), 0), "laws.pivots has a duplicate"),
    (set_at(("laws", "pivots", 2), 99), "laws.pivots entry = 99 is out of range"),
    (set_at(("involutive",), {"rank": 6, "rows": [0, 1, 3, 4, 6, 6]}),
     "involutive.rows has a duplicate"),
])
def test_changed_pivots(certs: dict[str, Cert], mutate: Mutation, match: str) -> None:
    assert_rejected(certs["linear:2,3,2"], mutate, match)


@pytest.mark.parametrize("spec, new, match", [
    ("linear:2,3,2", "linear:2,4,2", "D/d = 12/4 differ from the rebuilt model's 16/4"),
    ("linear:2,3,2", "relu:2,3,2", "D/d = 12/4 differ from the rebuilt model's 12/12"),
    # same D and d, different fields: only the mathematics can tell
    ("relu:2,2,3", "relu:3,2,2", "not a conservation law|minor"),
    ("linear:2,3,2", "linear:2,3,2,", "model cannot be rebuilt"),
    ("linear:2,3,2", "cases/model.json", "not an inline model specification"),
    ("linear:2,3,2", "poly:x1/tmp/evil.json", "not an inline model specification"),
    ("linear:2,3,2", 5, "model must be a specification string"),
])
def test_changed_model(certs: dict[str, Cert], spec: str, new: Any, match: str) -> None:
    assert_rejected(certs[spec], set_at(("model",), new), match)


def test_changed_header(certs: dict[str, Cert]) -> None:
    cert = certs["product:3"]
    assert_rejected(cert, set_at(("format",), "other"), "format must be")
    assert_rejected(cert, set_at(("version",), 2), "version 2 is not supported")
    assert_rejected(cert, set_at(("version",), True), "version bool is not supported")
    assert_rejected(cert, set_at(("convention",), "column-major"), "convention 'column-major'")
    assert_rejected(cert, set_at(("D",), 4), "D/d = 4/1 differ")
    assert_rejected(cert, set_at(("d",), 2), "D/d = 3/2 differ")


def test_unknown_and_missing_keys(certs: dict[str, Cert]) -> None:
    cert = certs["product:3"]
    assert_rejected(cert, set_at(("extra",), 1), "unknown top-level key 'extra'",
                    stale="unknown top-level key 'extra'")
    assert_rejected(cert, set_at(("lie", "extra"), 1), "lie: unknown key 'extra'")
    assert_rejected(cert, set_at(("claims", "exact"), True), "claims: unknown key 'exact'")
    assert_rejected(cert, lambda c: c.pop("seed"), "missing top-level key 'seed'")
    assert_rejected(cert, lambda c: c["laws"].pop("pivots"), "laws: missing key 'pivots'")
    bad = copy.deepcopy(cert)
    del bad["digest"]
    assert verify_certificate(bad).reason.startswith("digest: missing")
    assert verify_certificate(bad, check_digest=False).ok


def test_changed_involutive_block(certs: dict[str, Cert]) -> None:
    cert = certs[INVOLUTIVE_MODEL]
    # rows where the frame's minor vanishes: M = [[1, 0], [x2, 0]]
    assert_rejected(cert, set_at(("involutive", "rows"), [0, 1]), "det M on rows .* is zero")
    assert_rejected(cert, set_at(("involutive", "rank"), 1), "involutive.rank = 1 differs")
    assert_rejected(cert, set_at(("involutive",), None), "claims.laws_lower")
    assert_rejected(cert, set_at(("involutive",), [0, 2]), "involutive must be an object")
    # a frame of rank 22 is beyond the verifier's involutive limit
    big = certs["linear:3,4,5"]
    assert_rejected(big, set_at(("involutive",), {"rank": 22, "rows": big["lie"]["pivots"]}),
                    "above the verifier's limit")


def test_false_involutivity_claim_is_caught() -> None:
    """X1 = d1, X2 = d2 + x1 d3: [X1, X2] = d3 is not in span(X1, X2), so claiming that the
    two generators form an involutive frame (2 laws... 1 law) must fail the identity check."""
    cert = certificate(count_laws(build_model("fields:1,0,0;0,1,x1"), seed=0))
    assert cert["claims"]["lie_rank_lower"] == 3

    def forge(c: Cert) -> None:
        c["lie"] = {"rank": 2, "words": [0, 1], "pivots": [0, 1], "level_ranks": [2]}
        c["involutive"] = {"rank": 2, "rows": [0, 1]}
        c["claims"] = {"lie_rank_lower": 2, "lie_rank_upper": 2, "laws_lower": 1,
                       "laws_upper": 1, "certified": True, "method": "involutive"}

    assert_rejected(cert, forge, r"\[Y_1, Y_2\] is not in the span")


@pytest.mark.parametrize("where", ["model", "model-poly", "law", "word", "convention"])
def test_injected_payload(certs: dict[str, Cert], tmp_path: Path, where: str) -> None:
    target = tmp_path / "pwned"
    payload = f"__import__('os').system('touch {target}')"
    with pytest.raises(ParseError):
        parse_polynomial(payload, nvars=3)
    with pytest.raises(ModelError):
        build_model(payload)
    with pytest.raises(ModelError):
        build_model("poly:" + payload)
    mutate, match = {
        "model": (set_at(("model",), payload), "not an inline model specification"),
        "model-poly": (set_at(("model",), "poly:" + payload), "model cannot be rebuilt"),
        "law": (set_at(("laws", "polynomials", 0), payload), "law 1 is not a polynomial"),
        "word": (set_at(("lie", "words", 0), payload), "must be a generator index"),
        "convention": (set_at(("convention",), payload), "convention .__import__"),
    }[where]
    assert_rejected(certs["product:3"], mutate, match)
    assert not target.exists()


def test_deeply_nested_word(certs: dict[str, Cert], tmp_path: Path) -> None:
    cert = copy.deepcopy(certs["product:3"])
    cert["lie"]["words"][0] = deep_word(10_000)
    for check_digest in (True, False):
        v = verify_certificate(cert, check_digest=check_digest)
        assert not v.ok and "nested deeper than" in v.reason
    # the same in a file (the writer's json.dumps cannot even write it: build the text)
    text = json.dumps(certs["product:3"]).replace('"words": [0]',
                                                  '"words": [' + "[" * 10_000 + "0"
                                                  + ", 0]" * 10_000 + "]")
    path = tmp_path / "deep.json"
    path.write_text(text)
    v = verify_file(str(path))
    assert not v.ok and "nested" in v.reason


def test_huge_integers(certs: dict[str, Cert], tmp_path: Path) -> None:
    cert = certs["product:3"]
    assert_rejected(cert, set_at(("point", 0), "9" * 100_000), "has 100000 characters")
    # the writer cannot even digest these (str() of the integer is refused): no redigest
    for key, value in (("seed", 10**100_000), ("prime", 10**3000 + 1)):
        bad = copy.deepcopy(cert)
        bad[key] = value
        for check_digest in (True, False):
            v = verify_certificate(bad, check_digest=check_digest)
            assert not v.ok and re.search("an integer of .* bits exceeds", v.reason), v.reason
    text = json.dumps(cert).replace('"seed": 0', '"seed": ' + "7" * 100_000)
    path = tmp_path / "huge.json"
    path.write_text(text)
    v = verify_file(str(path))
    assert not v.ok and "not valid JSON" in v.reason


@pytest.mark.parametrize("mutate, match", [
    (set_at(("lie",), []), "lie must be an object, not list"),
    (set_at(("lie", "words"), {"0": 0}), "lie.words must be a list, not object"),
    (set_at(("lie", "rank"), "1"), "lie.rank must be an integer"),
    (set_at(("lie", "rank"), True), "lie.rank must be an integer, not boolean"),
    (set_at(("lie", "level_ranks"), ["1"]), "lie.level_ranks entry must be an integer"),
    (set_at(("D",), 3.0), "D must be an integer, not number"),
    (set_at(("claims",), None), "claims must be an object"),
    (set_at(("laws", "polynomials"), "x1^2 - x2^2"), "laws.polynomials must be a list"),
    (set_at(("point",), "1,2,3"), "point must be a list"),
    (set_at(("involutive",), []), "involutive must be an object"),
    (set_at(("claims", "method"), 3), "claims.method must be a string or null"),
    (set_at(("seed",), None), "seed must be an integer"),
])
def test_wrong_types(certs: dict[str, Cert], mutate: Mutation, match: str) -> None:
    assert_rejected(certs["product:3"], mutate, match)


@pytest.mark.parametrize("data, match", [
    ([], "must be a JSON object, not list"),
    ("cert", "must be a JSON object, not string"),
    (None, "must be a JSON object, not null"),
    ({1: 2}, "keys must be strings"),
    ({"lie": {1, 2}}, "not JSON data: a value of type set"),
    ({"lie": (1, 2)}, "not JSON data: a value of type tuple"),
    ({"x": float("nan")}, "NaN or infinite"),
])
def test_wrong_types_top_level(data: Any, match: str) -> None:
    v = verify_certificate(data)
    assert not v.ok and re.search(match, v.reason), v.reason


def test_random_tampering_never_raises(certs: dict[str, Cert]) -> None:
    """Random leaf replacements: the verifier returns a Verdict every time."""
    rng = random.Random(7)
    cert = certs["linear:2,3,2"]
    junk = [None, True, 0, -1, 10**30, 1.5, "", "x1", "0", [], {}, [0, [1, 2]], {"a": 1}]
    for _ in range(150):
        bad = copy.deepcopy(cert)
        node: Any = bad
        while True:
            keys = list(node) if isinstance(node, dict) else list(range(len(node)))
            if not keys:
                break
            k = rng.choice(keys)
            child = node[k]
            if isinstance(child, (dict, list)) and child and rng.random() < 0.7:
                node = child
                continue
            node[k] = rng.choice(junk)
            break
        v = verify_certificate(redigest(bad) if rng.random() < 0.8 else bad)
        assert isinstance(v, Verdict) and isinstance(v.reason, str)


# ---------------------------------------------------------------------------------------------
# files


def test_bad_files(certs: dict[str, Cert], tmp_path: Path,
                   monkeypatch: pytest.MonkeyPatch) -> None:
    good = json.dumps(certs["product:3"], indent=1)
    cases: dict[str, tuple[bytes, str]] = {
        "truncated.json": (good[: len(good) // 2].encode(), "not valid JSON"),
        "empty.json": (b"", "empty"),
        "text.json": (b"hello, world", "not valid JSON"),
        "binary.json": (b"\xff\xfe\x00\x01", "not UTF-8"),
        "nan.json": (good.replace('"seed": 0', '"seed": NaN').encode(), "NaN is not allowed"),
        "dup.json": (good.replace('"seed": 0', '"seed": 0, "seed": 1').encode(),
                     "duplicate JSON key 'seed'"),
        "list.json": (b"[1, 2, 3]", "must be a JSON object"),
    }
    for name, (raw, match) in cases.items():
        path = tmp_path / name
        path.write_bytes(raw)
        v = verify_file(str(path))
        assert not v.ok and re.search(match, v.reason), (name, v.reason)
    v = verify_file(str(tmp_path / "missing.json"))
    assert not v.ok and "not found" in v.reason
    v = verify_file(str(tmp_path))
    assert not v.ok and "not a regular file" in v.reason
    if os.path.exists("/dev/zero"):
        v = verify_file("/dev/zero")
        assert not v.ok and "not a regular file" in v.reason
    # oversized
    path = tmp_path / "ok.json"
    path.write_text(good)
    assert verify_file(str(path)).ok
    monkeypatch.setattr(checker, "MAX_FILE_BYTES", 100)
    v = verify_file(str(path))
    assert not v.ok and "larger than the limit 100 bytes" in v.reason


def test_cofactors_match_sympy() -> None:
    """The verifier's polynomial adjugate: adj(M) M = det(M) I, det as sympy.Matrix computes
    it (a different SymPy code path: expressions, not rings)."""
    sympy = pytest.importorskip("sympy")
    gens = Generators(build_model("fields:x2,x3,1;x1,0,x1"))
    frame = Frame(gens, WordTable(gens.d), [])
    R, V = frame.R, frame.V
    xs = sympy.symbols("x1:4")
    rng = random.Random(3)

    def rand_poly() -> Any:
        terms = []
        for _ in range(rng.randrange(0, 3)):
            mono = tuple((v, rng.randrange(1, 3)) for v in sorted(rng.sample(range(3), 2)))
            terms.append((mono, rng.randrange(-3, 4)))
        return alg.build(terms, V, alg.QQ, "test")

    def to_sympy(a: Any) -> Any:
        return sum((sympy.Rational(int(c.numerator), int(c.denominator))
                    * sympy.Mul(*(xs[V[i]] ** e for i, e in enumerate(m) if e))
                    for m, c in a.iterterms()), sympy.Integer(0))

    for r in (1, 2, 3, 4):
        M = [[rand_poly() for _ in range(r)] for _ in range(r)]
        C = frame.cofactors(M)
        det = sum((M[j][0] * C[j][0] for j in range(r)), R.zero)
        expected = sympy.Matrix([[to_sympy(e) for e in row] for row in M]).det()
        assert sympy.expand(to_sympy(det) - expected) == 0
        for a in range(r):
            for b in range(r):
                acc = sum((M[j][a] * C[j][b] for j in range(r)), R.zero)
                assert acc == (det if a == b else R.zero)


def test_work_limit(certs: dict[str, Cert], monkeypatch: pytest.MonkeyPatch) -> None:
    """A certificate demanding more work than the budget is refused, with the reason."""
    cert = certs["linear:2,3,2"]
    assert verify_certificate(cert).ok
    monkeypatch.setattr(checker, "MAX_WORK", 50_000)
    v = verify_certificate(cert)
    assert not v.ok and "needs more work than the verifier's limit" in v.reason
    assert verify_certificate(cert, rational=True).ok


def test_deep_valid_word_is_evaluated_quickly() -> None:
    """Word values come from truncated jets, not full expansions: a depth-8 word in 5
    variables with cubic fields (a dense expansion of degree ~20) verifies (in a fraction of
    a second), modulo p and exactly."""
    cert = certificate(count_laws(build_model("random:5,2,3,0"), seed=0))
    w: Any = [0, 1]
    for i in range(1, 8):
        w = [w, 1 - i % 2]
    cert["lie"]["words"][-1] = w
    v = verify_certificate(redigest(cert))
    assert v.ok, v.reason
    v = verify_certificate(cert, rational=True)
    assert v.ok, v.reason


def test_certificate_error_is_value_error() -> None:
    assert issubclass(CertificateError, ValueError)
