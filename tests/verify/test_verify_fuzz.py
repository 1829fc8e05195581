"""Fuzzing the certificate verifier (hypothesis; example counts scale with the profile).

* Mutated real certificates (values flipped or replaced, keys deleted or added, types changed,
  deep nesting, duplicated or swapped entries), with and without a recomputed digest: the
  verifier never raises, never reports an internal error, never modifies its input, and when
  it accepts, the claims are exactly the original ones.
* Random JSON documents (and random documents with certificate keys): always rejected.
* Byte-level damage of certificate files.

Timing is not asserted (unit tests are not benchmarks); with ``CONSLAW_FUZZ_REPORT=FILE`` in
the environment every verification appends ``seconds<TAB>work units<TAB>description`` to FILE
(and inputs slower than a second to FILE.slow.jsonl), so that a long run
(``HYPOTHESIS_PROFILE=long``) can report its slowest input::

    CONSLAW_FUZZ_REPORT=/tmp/fuzz.tsv HYPOTHESIS_PROFILE=long \\
        python -m pytest -q -p no:cacheprovider tests/verify/test_verify_fuzz.py
    sort -g /tmp/fuzz.tsv | tail -1

Every crash found is kept as an explicit case in ``VERIFY_REGRESSIONS`` at the end.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import time
from typing import Any

import pytest
from hypothesis import event, given, note, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from conslaw_flint.algorithms.certify import certificate, count_laws, digest
from conslaw_flint.models import build_model
from conslaw_flint.verify import verify_certificate, verify_file

#: the active profile's example count; the fuzzers run a multiple of it
BASE = settings().max_examples
REPORT = os.environ.get("CONSLAW_FUZZ_REPORT")

#: (model, degree): laws, laws, involutive, not certified, laws on a path lifting
CERT_CASES = [("product:3", 2), ("linear:2,2,2", 2), ("random:3,1,2,1", 2), ("relu:2,3,2", 1),
              ("relu:2,3,3,2", 2)]


@functools.cache
def real_certificate(i: int) -> str:
    """JSON text of a real certificate written by the solver."""
    spec, degree = CERT_CASES[i]
    return json.dumps(certificate(count_laws(build_model(spec), degree=degree, seed=0)))


def test_real_certificates_cover_every_method() -> None:
    methods = []
    for i in range(len(CERT_CASES)):
        cert = json.loads(real_certificate(i))
        v = verify_certificate(cert)
        assert v.ok and v.claims == cert["claims"], v.reason
        methods.append(cert["claims"]["method"])
    assert methods == ["laws", "laws", "involutive", None, "laws"]


json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 20), st.integers(), st.floats(allow_nan=True),
    st.sampled_from([2**64 + 13, -(10**300), 10**1000, 17178803, 2**31 - 1, 0.0, -0.0, 1.0,
                     1e308, float("inf")]),
    st.text(max_size=8),
    st.sampled_from(["x1", "x1^2 - x2^2", "x1^2 + x2^2", "0", "1", "product:4", "poly:x1",
                     "laws", "involutive", "", "-1", "17178803", "conslaw-certificate",
                     "layer-major-row-major-v1", "a" * 70, "product:64", "relu:200,200,200",
                     "poly:x99999999", "x1^1000*x2^1000", "(x1+x2)^2", "9^999*x1",
                     "fields:x2,-x1;x1,x2"]),
)
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=8)


def _nodes(obj: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths to every node of a JSON tree (the root excluded)."""
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.append((*path, k))
            out.extend(_nodes(v, (*path, k)))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.append((*path, i))
            out.extend(_nodes(v, (*path, i)))
    return out


def _get(obj: Any, path: tuple[Any, ...]) -> Any:
    for k in path:
        obj = obj[k]
    return obj


def _retype(x: Any) -> Any:
    """The same value as another JSON type, where there is one."""
    if isinstance(x, bool):
        return int(x)
    if isinstance(x, int):
        return [str(x), float(x), x == 1, [x]][abs(x) % 4] if abs(x) < 2**53 else str(x)
    if isinstance(x, float):
        return int(x) if x == x and abs(x) < 1e300 else str(x)
    if isinstance(x, str):
        try:
            return int(x)
        except ValueError:
            return [x]
    if isinstance(x, list):
        return {str(i): v for i, v in enumerate(x)}
    if isinstance(x, dict):
        return list(x.values())
    return 0


def _tweak(x: Any, k: int) -> Any:
    """A small change of a scalar (numbers +-1, strings edited)."""
    if isinstance(x, bool):
        return not x
    if isinstance(x, int):
        return [x + 1, x - 1, -x, 0, x * 2][k % 5]
    if isinstance(x, str):
        edits = [("x1", "x2"), ("^2", "^3"), ("-", "+"), ("1", "2"), ("laws", "involutive"),
                 ("3", "4"), ("a", "b"), (",", ",1"), ("2", "64")]
        a, b = edits[k % len(edits)]
        return x.replace(a, b, 1) if a in x else x + b
    if x is None:
        return {"rank": 0, "rows": []}
    return x


def _deepen(x: Any, depth: int) -> Any:
    """A Lie word nested ``depth`` levels around ``x``."""
    for n in range(depth):
        x = [x, n % 2]
    return x


MUTATIONS = ["replace", "delete", "insert", "retype", "tweak", "nest", "swap", "duplicate",
             "deep-word", "law", "model"]
SPECS = ["product:3", "product:4", "relu:2,3,2", "relu:2,3,3,2", "linear:2,2,2", "relu:3,2,2",
         "random:3,1,2,1", "random:3,1,2,2", "poly:x1*x2*x3", "poly[3]:x1*x2;x3", "fields:1,0,0",
         "relu:2,3,2|flow=momentum", "dag:x>h,h>y", "poly:x1*x2;x2*x3;x1*x3", "product:64"]
monomials = st.builds(lambda c, vs: f"{c}*" + "*".join(f"x{v}^{e}" for v, e in vs),
                      st.integers(-3, 3),
                      st.lists(st.tuples(st.integers(1, 30), st.integers(1, 4)), min_size=1,
                               max_size=3))
law_texts = st.lists(monomials, min_size=1, max_size=6).map(" + ".join)


@st.composite
def mutated_certificates(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """(original, mutated, description) with 1-3 mutations and maybe a recomputed digest."""
    i = draw(st.integers(0, len(CERT_CASES) - 1))
    original = json.loads(real_certificate(i))
    cert = copy.deepcopy(original)
    log = [CERT_CASES[i][0]]
    for _ in range(draw(st.integers(1, 3))):
        nodes = _nodes(cert)
        if not nodes:
            break
        path = draw(st.sampled_from(nodes))
        parent, key = _get(cert, path[:-1]), path[-1]
        kind = draw(st.sampled_from(MUTATIONS))
        log.append(f"{kind} at {path}")
        if kind == "replace":
            parent[key] = draw(json_values)
        elif kind == "delete":
            del parent[key]
        elif kind == "insert":
            if isinstance(parent, dict):
                parent[draw(st.sampled_from(["extra", "rank", "rows", "Digest", "claims "]))] = \
                    draw(json_values)
            else:
                parent.insert(key, draw(json_values))
        elif kind == "retype":
            parent[key] = _retype(parent[key])
        elif kind == "tweak":
            parent[key] = _tweak(parent[key], draw(st.integers(0, 9)))
        elif kind == "nest":
            depth = draw(st.sampled_from([1, 2, 10, 79, 81, 200]))
            value = parent[key]
            for _ in range(depth):
                value = [value]
            parent[key] = value
        elif kind == "swap" and isinstance(parent, list) and len(parent) > 1:
            j = draw(st.integers(0, len(parent) - 1))
            parent[key], parent[j] = parent[j], parent[key]
        elif kind == "duplicate" and isinstance(parent, list):
            parent.insert(key, copy.deepcopy(parent[key]))
        elif kind == "law":
            polys = (cert.get("laws", {}).get("polynomials")
                     if isinstance(cert.get("laws"), dict) else None)
            if isinstance(polys, list) and polys:
                polys[draw(st.integers(0, len(polys) - 1))] = draw(law_texts)
        elif kind == "model":
            cert["model"] = draw(st.sampled_from(SPECS))
        elif kind == "deep-word":
            words = cert.get("lie", {}).get("words") if isinstance(cert.get("lie"), dict) else None
            if isinstance(words, list) and words:
                j = draw(st.integers(0, len(words) - 1))
                words[j] = _deepen(words[j], draw(st.integers(1, 40)))
    if draw(st.booleans()):
        try:
            cert["digest"] = digest(cert)
            log.append("digest recomputed")
        except (ValueError, TypeError, RecursionError):
            pass
    return original, cert, log


def _record(seconds: float, work: int, what: Any, data: Any = None) -> None:
    """Append ``seconds, work units, description`` to the report (and the input itself
    when it took more than a second, for re-running)."""
    if REPORT:
        with open(REPORT, "a", encoding="utf-8") as fh:
            fh.write(f"{seconds:.3f}\t{work}\t{json.dumps(what, default=str)[:2000]}\n")
        if seconds > 1.0 and data is not None:
            with open(REPORT + ".slow.jsonl", "a", encoding="utf-8") as fh:
                fh.write(json.dumps([seconds, work, data], default=str)[:2_000_000] + "\n")


def timed_verify(data: Any, what: Any, **kwargs: Any) -> Any:
    t0 = time.monotonic()
    verdict = verify_certificate(data, **kwargs)
    _record(time.monotonic() - t0, verdict.work, [what, kwargs, verdict.reason], data)
    return verdict


def check_verdict(verdict: Any, original: dict[str, Any] | None, what: Any) -> None:
    """Never an internal error; if accepted, exactly the original claims."""
    assert isinstance(verdict.ok, bool) and isinstance(verdict.reason, str)
    if currently_in_test_context():
        event("accepted" if verdict.ok else "rejected: " + " ".join(verdict.reason.split()[:2]))
    if verdict.ok:
        assert original is not None, ("accepted a random document", what)
        assert verdict.claims == original["claims"], ("accepted changed claims", what)
    else:
        assert verdict.reason and "\n" not in verdict.reason
        assert not verdict.reason.startswith(("certificate could not be processed",
                                              "certificate could not be read")), \
            ("internal error in the verifier", verdict.reason, what)


@settings(max_examples=12 * BASE)
@given(mutated_certificates(), st.booleans())
def test_verifier_never_accepts_changed_claims(case: tuple[dict[str, Any], dict[str, Any],
                                                           list[str]], rational: bool) -> None:
    original, cert, log = case
    note(log)
    for check_digest in (True, False):
        snapshot = copy.deepcopy(cert)
        verdict = timed_verify(cert, log, check_digest=check_digest, rational=rational)
        assert cert == snapshot, "the verifier modified its input"
        check_verdict(verdict, original, (log, check_digest))


CERT_KEYS = ["format", "version", "convention", "model", "D", "d", "seed", "prime", "point",
             "lie", "laws", "involutive", "claims", "digest"]


@settings(max_examples=6 * BASE)
@given(st.one_of(json_values,
                 st.dictionaries(st.sampled_from(CERT_KEYS), json_values, max_size=14)))
def test_random_documents_are_rejected(doc: Any) -> None:
    for check_digest in (True, False):
        verdict = timed_verify(doc, "random document", check_digest=check_digest)
        check_verdict(verdict, None, doc)


@settings(max_examples=6 * BASE)
@given(i=st.integers(0, len(CERT_CASES) - 1), data=st.data())
def test_verify_file_on_damaged_text(i: int, data: st.DataObject, tmp_path_factory: Any) -> None:
    """Byte-level damage (truncation, flips, insertions, deletions) of a certificate file."""
    original = json.loads(real_certificate(i))
    raw = bytearray(real_certificate(i).encode())
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        pos = data.draw(st.integers(0, len(raw)), label="position")
        op = data.draw(st.sampled_from(["flip", "truncate", "insert", "delete"]), label="op")
        if op == "flip" and pos < len(raw):
            raw[pos] ^= 1 << data.draw(st.integers(0, 7), label="bit")
        elif op == "truncate":
            del raw[pos:]
        elif op == "insert":
            raw[pos:pos] = data.draw(st.sampled_from(
                [b"[", b"]", b"{", b"\"", b",", b"0", b"9" * 5000, b"\xff", b"NaN", b"-", b" "]),
                label="bytes")
        elif op == "delete":
            del raw[pos:pos + data.draw(st.integers(1, 20), label="length")]
    path = tmp_path_factory.mktemp("fuzz") / "c.json"
    path.write_bytes(bytes(raw))
    t0 = time.monotonic()
    verdict = verify_file(str(path))
    _record(time.monotonic() - t0, verdict.work,
            ["damaged file", bytes(raw[:200]).decode("latin-1")])
    check_verdict(verdict, original, bytes(raw[:200]))


# ---------------------------------------------------------------------------------------------
# regression cases (crashes and false accepts found by the fuzzers above)

#: (certificate index, mutation applied to the parsed certificate, recompute digest)
VERIFY_REGRESSIONS: list[tuple[int, str, Any]] = [
    # a word nested deeper than the JSON limit, a bool where an int is expected
    (0, "lie.words.0", [[[[0, 0], 0], 0], 0]),
    (0, "lie.rank", True),
    (0, "laws.rank", 2.0),
    (2, "involutive.rank", "1"),
    (3, "claims.method", "laws"),
    (3, "involutive", {"rank": 0, "rows": []}),
]


@pytest.mark.parametrize("index,path,value", VERIFY_REGRESSIONS)
def test_verifier_regressions(index: int, path: str, value: Any) -> None:
    original = json.loads(real_certificate(index))
    cert = copy.deepcopy(original)
    *parents, last = path.split(".")
    node: Any = cert
    for k in parents:
        node = node[int(k)] if isinstance(node, list) else node[k]
    node[int(last) if isinstance(node, list) else last] = value
    cert["digest"] = digest(cert)
    for rational in (False, True):
        verdict = timed_verify(cert, path, rational=rational)
        check_verdict(verdict, original, path)
