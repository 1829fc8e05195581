"""Fuzzing the two readers of untrusted text (hypothesis, bounded in time in CI).

(a) :func:`conslaw_flint.io.parse.parse_polynomial` on text built from grammar pieces and random
    unicode: it returns a FLINT polynomial that round-trips through its text, or raises
    ParseError.
(b) :func:`conslaw_flint.models.build_model` on random specification strings: a model that
    rebuilds from its canonical specification, or a UserError (ModelError, ParseError, ...).

(c) the parser's work guards on *expensive* text: sums of many powers, huge constants raised to
    powers, products and powers of those (the ``(A)*(A)`` family of issue 15): every input ends
    in a polynomial or a ParseError; with ``CONSLAW_FUZZ_REPORT=FILE`` each parse appends its
    seconds and text to FILE, so that a long run (``HYPOTHESIS_PROFILE=long``) reports the
    slowest input (``sort -rn FILE | head``); timing is not asserted.

The certificate verifier is fuzzed in ``tests/verify/test_verify_fuzz.py``.  Example counts
scale with the hypothesis profile (``HYPOTHESIS_PROFILE``, see conftest.py).
"""

from __future__ import annotations

import os
import time

import flint
from hypothesis import given, note, settings
from hypothesis import strategies as st

from conslaw_flint.errors import UserError
from conslaw_flint.io.parse import ParseError, format_polynomial, parse_polynomial
from conslaw_flint.models import build_model

#: the active profile's example count; the fuzzers run a multiple of it
BASE = settings().max_examples

# ---------------------------------------------------------------------------------------------
# (a) the expression parser

PIECES = [
    "x1", "x2", "x3", "x10", "x0", "x01", "x", "y1", "a", "b", "_", "e", "E", "pi", "sin", "exp",
    "0", "1", "2", "3", "10", "0.5", ".5", "5.", "1e3", "2e-3", "1E+2", "1e999999", "9" * 40,
    "+", "-", "*", "/", "^", "**", "***", "(", ")", "((", "))", " ", "  ", "\t", "\n", ",", ";",
    ".", "^-1", "^0.5", "^1000", "^1001", "^(1+1)", "/0", "/(1-1)", "x1^2", "(x1+x2)", "--",
    "__import__('os')", "lambda", "\u00bd", "\u00b2", "\u2212", "\u00d7", "\u0661", "\uff58\uff11",
    "\x00", "\ufeff", "\U0001d465", "x\u0661", "1_000", "0x1F", "inf", "nan",
]
texts = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=3)), max_size=25).map("".join)
name_lists = st.one_of(st.none(), st.just(["a", "b", "x1"]), st.just(["u"]))


def assert_canonical(p: flint.fmpq_mpoly, names: list[str] | None, nvars: int | None) -> None:
    """A FLINT polynomial of the expected ring (the declared names, or x1..x{nvars}) with
    non-zero rational coefficients and distinct non-negative exponent vectors."""
    assert isinstance(p, flint.fmpq_mpoly)
    ring_names = p.context().names()
    if names is not None:
        assert ring_names == tuple(names)
    else:
        assert ring_names == tuple(f"x{i + 1}" for i in range(len(ring_names)))
        if nvars is not None:
            assert len(ring_names) == nvars
    exps = []
    for e, c in p.terms():
        assert isinstance(c, flint.fmpq) and c != 0
        assert len(e) == len(ring_names) and all(int(k) >= 0 for k in e)
        exps.append(tuple(e))
    assert len(set(exps)) == len(exps)


@settings(max_examples=8 * BASE)
@given(texts, name_lists, st.one_of(st.none(), st.integers(0, 12)))
def test_parser_returns_or_raises_parse_error(text: str, names: list[str] | None,
                                              nvars: int | None) -> None:
    if names is not None:
        nvars = None
    try:
        p = parse_polynomial(text, names=names, nvars=nvars)
    except ParseError as e:
        msg = str(e)
        assert msg and "\n" not in msg and "Traceback" not in msg
        return
    assert_canonical(p, names, nvars)
    back = format_polynomial(p, names)
    assert back == str(p)
    # the text may mention fewer variables than the ring has (x3 - x3): fix the ring size
    again = parse_polynomial(back, names=names,
                             nvars=None if names is not None else p.context().nvars())
    assert again.context() is p.context() and again == p, (text, back)


# ---------------------------------------------------------------------------------------------
# (b) the model builder

KINDS = ["linear", "relu", "relu-bias", "product", "poly", "fields", "random", "poly[3]",
         "poly[0]", "poly[x]", "poly[", "conv", "", " relu", "RELU", "product "]
NUMBERS = ["0", "1", "2", "3", "4", "-1", "2.5", "x", "", " ", "10001", "99999999999999999999",
           "1e3", "\u0663", "+2", "0x3"]
width_lists = st.lists(st.sampled_from(NUMBERS), min_size=0, max_size=5).map(",".join)
expressions = st.lists(st.one_of(st.sampled_from(PIECES), st.sampled_from([";", ",", ":"])),
                       max_size=15).map("".join)
specs = st.one_of(
    st.tuples(st.sampled_from(KINDS), st.sampled_from([":", "", "::"]),
              st.one_of(width_lists, expressions, st.text(max_size=10))).map("".join),
    st.builds(lambda D, d, m, s: f"random:{D},{d},{m}" + (f",{s}" if s is not None else ""),
              st.integers(-1, 6), st.integers(-1, 6), st.integers(-1, 7),
              st.one_of(st.none(), st.integers(-5, 10**20))),
    st.text(max_size=20),
    st.sampled_from(["no-such-file.json", "no/such.toml", "x1.json", ".json", "poly:x1.json"]),
)


@settings(max_examples=8 * BASE)
@given(specs)
def test_build_model_returns_or_raises_user_error(spec: str) -> None:
    note(repr(spec))
    try:
        m = build_model(spec)
    except UserError as e:
        msg = str(e)
        assert msg and "\n" not in msg
        return
    assert m.D >= 1 and m.d >= 1 and len(m.names) == m.D
    again = build_model(m.canonical_spec())
    assert (again.D, again.d) == (m.D, m.d)
    assert again.family.fields == m.family.fields


# ---------------------------------------------------------------------------------------------
# (c) expensive text against the parser's work guards

REPORT = os.environ.get("CONSLAW_FUZZ_REPORT")


@st.composite
def expensive(draw: st.DrawFn) -> str:
    """Text whose naive expansion is huge: sums of powers, big constants, products, powers."""
    def atom() -> str:
        kind = draw(st.integers(0, 3))
        v = draw(st.sampled_from(["x1", "x2", "x3", "x12"]))
        if kind == 0:
            lo, n = draw(st.integers(0, 3)), draw(st.integers(1, 60))
            return "(" + "+".join(f"{v}^{e}" for e in range(lo, lo + n)) + ")"
        if kind == 1:
            return f"({draw(st.sampled_from(['9', '2', '12345678901234567890']))}" \
                   f"^{draw(st.integers(1, 3000))})"
        if kind == 2:
            return "(" + "+".join(f"x{i}" for i in range(1, draw(st.integers(2, 40)))) + ")"
        return f"({v}+{draw(st.integers(1, 10**30))})"

    parts = [atom() for _ in range(draw(st.integers(1, 4)))]
    text = "*".join(parts)
    if draw(st.booleans()):
        text = f"({text})^{draw(st.integers(1, 60))}"
    if draw(st.booleans()):
        text = f"({text})*({text})"
    return text


@settings(max_examples=2 * BASE)
@given(expensive())
def test_parser_bounds_expensive_text(text: str) -> None:
    t0 = time.monotonic()
    try:
        parse_polynomial(text)
        outcome = "ok"
    except ParseError as e:
        outcome = str(e)
        assert outcome and "\n" not in outcome
    if REPORT:
        with open(REPORT, "a", encoding="utf-8") as fh:
            fh.write(f"{time.monotonic() - t0:.3f}\t{len(text)}\t{outcome[:80]}\t{text[:300]}\n")
