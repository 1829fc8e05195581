"""Tests for :mod:`conslaw_flint.io.parse`: exact reading into FLINT polynomials, canonical
writing and refusals.

Expected values are written as plain sparse dicts ``{monomial: Fraction}`` (monomial = sorted
tuple of (0-based variable, exponent > 0)) and computed with the small dict arithmetic below,
independently of the parser and of FLINT; parsed FLINT polynomials are compared through their
terms (:func:`as_dict`) and their ring.
"""

from __future__ import annotations

import builtins
import os
import pickle
import random
import re
import time
from collections.abc import Callable
from fractions import Fraction

import flint
import pytest

from conslaw_flint.core.polynomials import default_names, from_terms, ring
from conslaw_flint.io.parse import (
    MAX_DEPTH,
    MAX_TEXT_LENGTH,
    ParseError,
    format_polynomial,
    parse_in,
    parse_polynomial,
    parse_rational,
    split_top_level,
)
from conslaw_flint.models import build_model

F = Fraction
Mono = tuple[tuple[int, int], ...]
Poly = dict[Mono, Fraction]  # the independent reference representation


# -- an independent sparse-dict polynomial arithmetic (the expected values) -------------------


def monomial(*pairs: tuple[int, int]) -> Mono:
    acc: dict[int, int] = {}
    for v, e in pairs:
        acc[v] = acc.get(v, 0) + e
    return tuple(sorted((v, e) for v, e in acc.items() if e))


def add_into(out: Poly, q: Poly, c: Fraction | int = 1) -> None:
    for m, a in q.items():
        v = out.get(m, F(0)) + c * a
        if v:
            out[m] = v
        else:
            out.pop(m, None)


def mul(a: Poly, b: Poly) -> Poly:
    out: Poly = {}
    for ma, ca in a.items():
        for mb, cb in b.items():
            add_into(out, {monomial(*ma, *mb): ca * cb})
    return out


def power(a: Poly, k: int) -> Poly:
    out = constant(1)
    for _ in range(k):
        out = mul(out, a)
    return out


def constant(c: object) -> Poly:
    c = F(c)  # type: ignore[arg-type]
    return {(): c} if c else {}


def P(*terms: tuple[object, tuple[tuple[int, int], ...]]) -> Poly:
    """Build a Poly from (coefficient, monomial) pairs."""
    out: Poly = {}
    for c, m in terms:
        add_into(out, {monomial(*m): F(c)})  # type: ignore[arg-type]
    return out


def x(i: int) -> Poly:
    return {((i, 1),): F(1)}


def as_dict(p: flint.fmpq_mpoly) -> Poly:
    """The terms of a FLINT polynomial as a sparse dict (read with FLINT's own API)."""
    out: Poly = {}
    for exps, c in p.terms():
        out[tuple((v, int(e)) for v, e in enumerate(exps) if e)] = F(int(c.p), int(c.q))
    return out


def to_flint(p: Poly, names: list[str] | None = None, nvars: int | None = None
             ) -> flint.fmpq_mpoly:
    """A reference dict as a FLINT polynomial of the ring of ``names`` (or x1..x{nvars}, by
    default the smallest that holds it)."""
    if names is None:
        if nvars is None:
            nvars = 1 + max((v for m in p for v, _ in m), default=-1)
        names = list(default_names(nvars))
    return from_terms(ring(names), p.items())


def nvars_of(p: Poly) -> int:
    return 1 + max((v for m in p for v, _ in m), default=-1)


def assert_error(text: str, position: int, fragment: str, **kw: object) -> ParseError:
    with pytest.raises(ParseError) as info:
        parse_polynomial(text, **kw)  # type: ignore[arg-type]
    msg = str(info.value)
    assert "\n" not in msg
    assert f"at position {position}" in msg, msg
    assert info.value.position == position
    assert fragment in msg, msg
    return info.value


def is_canonical(p: flint.fmpq_mpoly, names: list[str] | None = None) -> bool:
    """A FLINT polynomial of the expected ring (``names``, or x1..xk for some k) with non-zero
    coefficients and distinct exponent vectors."""
    if not isinstance(p, flint.fmpq_mpoly):
        return False
    got = p.context().names()
    if got != (tuple(names) if names is not None else default_names(len(got))):
        return False
    exps = [tuple(e) for e, _ in p.terms()]
    return len(set(exps)) == len(exps) and all(c != 0 for _, c in p.terms())


# ---------------------------------------------------------------------------------------------
# reading

@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x1", x(0)),
        ("  x3\t", x(2)),
        ("0", {}),
        ("x1 - x1", {}),
        ("-0", {}),
        ("7", constant(7)),
        ("x1^0", constant(1)),
        ("0^0", constant(1)),
        ("(x1 + x2)^2", P((1, ((0, 2),)), (2, ((0, 1), (1, 1))), (1, ((1, 2),)))),
        ("(x1 - x2)*(x1 + x2)", P((1, ((0, 2),)), (-1, ((1, 2),)))),
        ("x1*x2*x1", P((1, ((0, 2), (1, 1))))),
        ("x2*x1", P((1, ((0, 1), (1, 1))))),
        ("x1\n+\nx2", P((1, ((0, 1),)), (1, ((1, 1),)))),
    ],
)
def test_basic(text: str, expected: Poly) -> None:
    p = parse_polynomial(text)
    assert as_dict(p) == expected
    assert is_canonical(p)
    # the ring is x1..xk, k the largest index in the text (x1 - x1 lives in Q[x1])
    k = max((int(i) for i in re.findall(r"x([0-9]+)", text)), default=0)
    assert p.context().names() == default_names(k)



@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-x1^2", P((-1, ((0, 2),)))),
        ("-x1**2", P((-1, ((0, 2),)))),
        ("x1**2", P((1, ((0, 2),)))),
        ("2^3^2", constant(512)),
        ("2**3**2", constant(512)),
        ("(2^3)^2", constant(64)),
        ("-2^2", constant(-4)),
        ("(-2)^2", constant(4)),
        ("2*-x1", P((-2, ((0, 1),)))),
        ("x1--x2", P((1, ((0, 1),)), (1, ((1, 1),)))),
        ("+x1", x(0)),
        ("x1-x2-x3", P((1, ((0, 1),)), (-1, ((1, 1),)), (-1, ((2, 1),)))),
        ("x1/2/3", P((F(1, 6), ((0, 1),)))),
        ("1 + 2*3", constant(7)),
        ("2*3^2", constant(18)),
        ("-1/2*x1", P((F(-1, 2), ((0, 1),)))),
        ("x1^(1+1)", P((1, ((0, 2),)))),
        ("x1^(4/2)", P((1, ((0, 2),)))),
        ("2^-3^2 * 0 + 1", None),  # 2^-(3^2): negative exponent, refused (see below)
    ],
)
def test_precedence(text: str, expected: Poly | None) -> None:
    if expected is None:
        assert_error(text, 2, "negative exponent -9")
    else:
        assert as_dict(parse_polynomial(text)) == expected


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.5", F(1, 2)),
        (".25", F(1, 4)),
        ("1.", F(1)),
        ("007", F(7)),
        ("0.1", F(1, 10)),
        ("3.14159", F(314159, 100000)),
        ("1e3", F(1000)),
        ("2.5e-3", F(1, 400)),
        ("1E+2", F(100)),
        ("0.000", F(0)),
        ("1/3", F(1, 3)),
        ("-4/6", F(-2, 3)),
        ("1/3 + 2/3", F(1)),
    ],
)
def test_numbers_are_exact(text: str, value: Fraction) -> None:
    assert as_dict(parse_polynomial(text)) == constant(value)


def test_rational_coefficients_cancel() -> None:
    assert as_dict(parse_polynomial("1/3*x1 + 2/3*x1 - x1")) == {}
    assert as_dict(parse_polynomial("0.1*x1 + 0.2*x1")) == P((F(3, 10), ((0, 1),)))
    assert as_dict(parse_polynomial("(x1/2 + 1/3)^2")) == P(
        (F(1, 4), ((0, 2),)), (F(1, 3), ((0, 1),)), (F(1, 9), ()))


def test_custom_names() -> None:
    names = ["a", "b", "theta_2", "x9"]
    p = parse_polynomial("a*b - theta_2^2 + x9", names=names)
    assert as_dict(p) == P((1, ((0, 1), (1, 1))), (-1, ((2, 2),)), (1, ((3, 1),)))
    assert p.context().names() == tuple(names) and str(p) == "a*b - theta_2^2 + x9"
    assert as_dict(parse_polynomial("a", names=names, nvars=4)) == x(0)
    # a name that is a default name elsewhere is just a name here (x9 is variable 4)
    assert as_dict(parse_polynomial("x9", names=names)) == x(3)
    assert_error("x1 + a", 1, "unknown name 'x1'", names=names)
    assert_error("a + c", 5, "the variables are a, b, theta_2, x9", names=names)


def test_nvars_bounds_variables() -> None:
    assert as_dict(parse_polynomial("x3", nvars=3)) == x(2)
    # nvars fixes the ring; without it the ring is x1..xk, k the largest index in the text
    assert parse_polynomial("x1", nvars=3).context().names() == ("x1", "x2", "x3")
    assert parse_polynomial("x2 + 1").context().names() == ("x1", "x2")
    assert parse_polynomial("5").context().nvars() == 0
    assert_error("x1 + x4", 6, "variable 'x4' out of range", nvars=3)
    assert_error("x1 + x4", 6, "x1..x3", nvars=3)
    assert_error("x0", 1, "variable 'x0' out of range")
    assert_error("x01", 1, "variable 'x01'")
    assert_error("x1", 1, "nvars=0", nvars=0)
    assert_error("x100001", 1, "variable 'x100001' out of range")


def test_large_variable_index_parses_quickly() -> None:
    t0 = time.monotonic()
    p = parse_polynomial("x50000")
    assert as_dict(p) == x(49999) and p.context().nvars() == 50000
    assert time.monotonic() - t0 < 0.5


def test_large_numbers_round_trip_past_int_str_limit() -> None:
    big = F(3**20000, 7**5000)  # about 9500 and 4200 digits (over the default 4300 limit)
    p = {((0, 1),): big, (): -big}
    assert as_dict(parse_polynomial(format_polynomial(to_flint(p)))) == p
    assert as_dict(parse_polynomial("1" + "0" * 5000)) == constant(10**5000)


# ---------------------------------------------------------------------------------------------
# refusals, each with its position


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("", 1, "empty expression"),
        ("   ", 1, "empty expression"),
        ("x1 +", 5, "unexpected end of input"),
        ("+", 2, "after '+'"),
        ("(x1 + x2", 1, "unclosed '('"),
        ("((x1) + x2", 1, "unclosed '('"),
        ("x1 + x2)", 8, "unmatched ')'"),
        ("()", 2, "unexpected ')'"),
        ("x1 + * x2", 6, "unexpected '*'"),
        ("x1^^2", 4, "unexpected '^'"),
        ("x1 * * 2", 6, "unexpected '*'"),
        ("x1 x2", 4, "trailing"),
        ("x1 2", 4, "implicit multiplication"),
        ("2x1", 2, "implicit multiplication"),
        ("2x1", 2, "insert '*' between '2' and 'x1'"),
        ("x1(x2)", 3, "implicit multiplication"),
        ("(x1)(x2)", 5, "implicit multiplication"),
        ("x1;x2", 3, "unexpected character ';'"),
        ("x1 @ x2", 4, "unexpected character '@'"),
        ('x1 + "x2"', 6, "unexpected character '\"'"),
        ("x1[2]", 3, "unexpected character '['"),
        ("x1 = 0", 4, "unexpected character '='"),
        # '²' is a digit for str.isalnum: x1² reads as one (unknown) name
        ("x1²", 1, "unknown name 'x1²'"),
        ("x1 & x2", 4, "+ - * / ^ ** and parentheses are allowed"),
        ("sin(x1)", 1, "unknown name 'sin'"),
        ("sin (x1)", 1, "functions are not supported"),
        ("3*exp(x1)", 3, "unknown name 'exp'"),
        ("max(x1, x2)", 1, "functions are not supported"),
        ("max(x1 + x2)", 1, "functions are not supported"),
        ("abs(x1)", 1, "unknown name 'abs'"),
        ("relu(x1)", 1, "unknown name 'relu'"),
        ("y + 1", 1, "unknown name 'y'"),
        ("x1 + foo", 6, "unknown name 'foo'"),
        ("pi*x1", 1, "no named constants"),
        ("x1 sin", 4, "unknown name 'sin'"),
        ("1/0", 2, "division by zero"),
        ("x1/(x2 - x2)", 3, "division by zero"),
        ("x1/x2", 3, "division by a non-constant expression"),
        ("x1/x2", 3, "a polynomial is expected here"),
        ("x1^x2", 3, "non-constant exponent"),
        ("x1^-1", 3, "negative exponent -1"),
        ("x1 ** (0 - 2)", 4, "negative exponent -2"),
        ("x1^(1/2)", 3, "non-integer exponent 1/2"),
        ("x1^0.5", 3, "non-integer exponent 1/2"),
        ("x1^1001", 3, "max_degree=1000"),
        ("x1^99999999999999999999999999", 3, "exceeds max_degree=1000"),
        ("2^2^2^2^2", 2, "exponent 65536"),
        ("1.2.3", 1, "malformed number '1.2.3'"),
        ("x1 + 1..5", 6, "malformed number"),
        ("1e1234567", 1, "number too large"),
        ("2e", 2, "unknown name 'e'"),
    ],
)
def test_error_positions(text: str, position: int, fragment: str) -> None:
    if fragment == "trailing":  # two operands in a row: implicit multiplication
        fragment = "insert '*' between 'x1' and 'x2'"
    assert_error(text, position, fragment)


def test_error_is_value_error_and_pickles() -> None:
    e = assert_error("1/0", 2, "division by zero")
    assert isinstance(e, ValueError)
    e2 = pickle.loads(pickle.dumps(e))
    assert isinstance(e2, ParseError)
    assert str(e2) == str(e) and e2.position == 2


def test_invalid_arguments() -> None:
    with pytest.raises(TypeError):
        parse_polynomial(b"x1")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        parse_polynomial("a", names=["a", "a"])
    with pytest.raises(ValueError):
        parse_polynomial("a", names=["1a"])
    with pytest.raises(ValueError):
        parse_polynomial("a", names=["a"], nvars=2)
    with pytest.raises(ValueError):
        parse_polynomial("x1", max_terms=-1)


def test_no_code_execution(monkeypatch: pytest.MonkeyPatch) -> None:
    marker = "/tmp/pwned"
    existed = os.path.exists(marker)

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("the parser must not evaluate code")

    for fn in ("eval", "exec", "compile"):
        monkeypatch.setattr(builtins, fn, forbidden)
    attacks = [
        "__import__('os').system('touch /tmp/pwned')",
        "().__class__.__bases__[0].__subclasses__()",
        "x1 + __import__('os').system('touch /tmp/pwned')",
        "lambda: 0",
        "x1 if 1 else x2",
        "open('/etc/passwd')",
        "{}",
    ]
    for text in attacks:
        with pytest.raises(ParseError):
            parse_polynomial(text)
    assert existed or not os.path.exists(marker)
    assert_error(attacks[0], 1, "unknown name '__import__'", nvars=3)


def test_first_error_is_reported_without_nvars() -> None:
    assert_error("__import__('os').system('touch /tmp/pwned')", 1, "unknown name '__import__'")


def test_deep_nesting_is_a_parse_error_not_recursion() -> None:
    assert_error("(" * 10000, MAX_DEPTH + 1, "nesting too deep")
    assert_error("(" * 10000 + "x1" + ")" * 10000, MAX_DEPTH + 1, "nesting too deep")
    # nesting within the limit is handled without recursion
    n = MAX_DEPTH
    assert as_dict(parse_polynomial("(" * n + "x1" + ")" * n)) == x(0)
    assert as_dict(parse_polynomial("-" * 5001 + "x1")) == P((-1, ((0, 1),)))
    assert as_dict(parse_polynomial("2" + "^1" * 5000)) == constant(2)  # right-assoc, no recursion
    # Horner form of degree 300
    horner = "1" + "".join("+x1*(1" for _ in range(300)) + ")" * 300
    assert as_dict(parse_polynomial(horner)) == {((0, k),) if k else (): F(1) for k in range(301)}


def test_text_length_limit() -> None:
    text = "x1+" * (MAX_TEXT_LENGTH // 3) + "x1"
    assert len(text) > MAX_TEXT_LENGTH
    assert_error(text, MAX_TEXT_LENGTH + 1, "expression too long")


def test_degree_limits() -> None:
    assert as_dict(parse_polynomial("x1^1000")) == P((1, ((0, 1000),)))
    assert_error("x1^3*x1^3", 5, "degree 6 of the product", max_degree=5)
    assert_error("(x1*x2)^3", 8, "degree 6 of the power", max_degree=5)
    assert_error("(x1 + 1)^3", 9, "max_degree=2", max_degree=2)
    assert_error("(x1^2 + x2)^3", 12, "degree 6 of the power", max_degree=5)


def test_blow_up_is_refused_before_expanding() -> None:
    assert_error("(x1+x2+x3)^1000", 11, "max_terms=200000")
    assert_error("(x1+x2+x3+x4+x5+x6)^200", 20, "would give up to 2872408791 terms")
    assert_error("((9^999)^999)^999", 9, "coefficients too large")
    assert_error("(7^999)^40", 8, "coefficients too large")
    assert_error("(7^999)^30 * (7^999)^30", 12, "coefficients too large")
    assert len(parse_polynomial("(x1+x2)^10", max_terms=11)) == 11
    assert_error("(x1+x2)^10", 8, "max_terms=10", max_terms=10)
    assert_error("(x1+x2+x3+x4)*(x5+x6+x7+x8)", 14, "max_terms=15", max_terms=15)
    assert len(parse_polynomial("(x1+x2+x3+x4)*(x5+x6+x7+x8)", max_terms=16)) == 16
    assert_error("x1+x2+x3", 6, "sum", max_terms=2)
    # the a-priori bound uses the number of monomials when that is smaller
    dense = "(" + " + ".join(f"x1^{k}" for k in range(1, 21)) + ")^10"
    assert len(parse_polynomial(dense)) == 191


def test_powers_match_repeated_multiplication() -> None:
    rng = random.Random(7)
    for _ in range(60):
        base: Poly = {}
        for _ in range(rng.randint(1, 4)):
            m = monomial(*[(rng.randint(0, 3), rng.randint(1, 2))
                                 for _ in range(rng.randint(0, 2))])
            add_into(base, {m: F(rng.randint(-4, 4), rng.randint(1, 3))})
        k = rng.randint(0, 7)
        text = f"({format_polynomial(to_flint(base))})^{k}"
        assert as_dict(parse_polynomial(text)) == power(base, k), text


# ---------------------------------------------------------------------------------------------
# random expressions against an independent evaluation with polys


def random_expression(rng: random.Random, depth: int) -> tuple[str, Poly]:
    """A fully parenthesised random expression and its value computed with :mod:`polys`."""
    if depth == 0 or rng.random() < 0.25:
        r = rng.random()
        if r < 0.4:
            i = rng.randint(0, 3)
            return f"x{i + 1}", x(i)
        if r < 0.7:
            n = rng.randint(0, 12)
            return str(n), constant(n)
        if r < 0.85:
            num, den = rng.randint(0, 99), rng.choice([1, 2, 4, 5, 10])
            return f"{num / den:.2f}", constant(F(num, den))
        num, den = rng.randint(-9, 9), rng.randint(1, 9)
        return f"({num}/{den})", constant(F(num, den))
    op = rng.choice(["+", "-", "*", "/", "^", "**", "neg"])
    a_text, a = random_expression(rng, depth - 1)
    if op == "neg":
        return f"(-{a_text})", mul(constant(-1), a)
    if op == "/":
        d = rng.randint(1, 9)
        return f"({a_text}/{d})", mul(a, constant(F(1, d)))
    if op in ("^", "**"):
        k = rng.randint(0, 3)
        return f"({a_text}{rng.choice(['', ' '])}{op}{k})", power(a, k)
    b_text, b = random_expression(rng, depth - 1)
    sp = rng.choice(["", " ", "  "])
    text = f"({a_text}{sp}{op}{sp}{b_text})"
    if op == "*":
        return text, mul(a, b)
    out = dict(a)
    add_into(out, b, F(1 if op == "+" else -1))
    return text, out


def test_random_expressions_match_independent_evaluation() -> None:
    rng = random.Random(2024)
    for _ in range(300):
        text, expected = random_expression(rng, 4)
        p = parse_polynomial(text)
        assert as_dict(p) == expected, text
        assert is_canonical(p)


# ---------------------------------------------------------------------------------------------
# writing and round trips


@pytest.mark.parametrize(
    ("poly", "names", "text"),
    [
        ({}, None, "0"),
        (P((1, ((0, 2),)), (-1, ((1, 2),))), None, "x1^2 - x2^2"),
        (P((F(-1, 2), ((0, 1), (2, 1))), (3, ())), None, "-1/2*x1*x3 + 3"),
        (P((-1, ((0, 1),))), None, "-x1"),
        (P((-1, ())), None, "-1"),
        (P((F(1, 3), ())), None, "1/3"),
        (P((1, ((0, 2),)), (1, ((0, 1), (1, 1))), (5, ((1, 1),))), None, "x1^2 + x1*x2 + 5*x2"),
        (P((2, ((0, 2), (1, 3))), (-7, ((3, 1),))), None, "2*x1^2*x2^3 - 7*x4"),
        (P((1, ((0, 1), (1, 1))), (F(-3, 4), ((2, 1),))), ["a", "b", "c"], "a*b - 3/4*c"),
    ],
)
def test_format(poly: Poly, names: list[str] | None, text: str) -> None:
    p = to_flint(poly, names)
    assert format_polynomial(p) == str(p) == text
    # names given to format_polynomial rename the variables of a polynomial in x1..xD
    assert format_polynomial(to_flint(poly, nvars=len(names) if names else None), names) == text
    assert as_dict(parse_polynomial(text, names=names)) == poly


def random_poly(rng: random.Random, nvars: int) -> Poly:
    p: Poly = {}
    for _ in range(rng.randint(0, 8)):
        m = monomial(*[(rng.randrange(nvars), rng.randint(1, 5))
                             for _ in range(rng.randint(0, 3))])
        c = F(rng.randint(-(10**rng.randint(1, 40)), 10**rng.randint(1, 40)),
              rng.randint(1, 10**rng.randint(1, 30)))
        add_into(p, {m: c})
    return p


@pytest.mark.parametrize("names", [None, ["a", "b", "theta_2", "x9", "Z"], ["x2", "x1", "e", "E1",
                                                                           "_"]])
def test_round_trip(names: list[str] | None) -> None:
    rng = random.Random(11)
    for _ in range(200):
        p = random_poly(rng, 5)
        text = format_polynomial(to_flint(p, nvars=5), names)
        if names is not None:
            assert text == str(to_flint(p, names))
        back = parse_polynomial(text, names=names, nvars=None if names else 5)
        assert as_dict(back) == p, text
        assert format_polynomial(back) == text
        assert format_polynomial(parse_polynomial(text, names=names)) == text


def test_format_is_deterministic_and_checks_names() -> None:
    p = P((1, ((1, 1),)), (1, ((0, 1),)), (2, ()))
    q = dict(reversed(list(p.items())))
    assert format_polynomial(to_flint(p)) == format_polynomial(to_flint(q)) == "x1 + x2 + 2"
    with pytest.raises(ValueError):
        format_polynomial(to_flint(P((1, ((3, 1),)))), ["a", "b"])


def test_format_refuses_names_that_do_not_read_back() -> None:
    with pytest.raises(ValueError):
        format_polynomial(to_flint(P((1, ((0, 1),)))), ["not a name"])


# ---------------------------------------------------------------------------------------------
# rational expressions, rings of declared names


@pytest.mark.parametrize(
    ("text", "num", "den"),
    [
        ("1/x1 + 1/x2", "x1 + x2", "x1*x2"),
        ("(x1^2 - x2^2)/(x1 - x2)", "x1 + x2", "1"),          # common factors cancel
        ("x1/(2*x2)", "1/2*x1", "x2"),                         # primitive denominator
        ("-x1/(-3*x2 - 6)", "1/3*x1", "x2 + 2"),               # positive leading coefficient
        ("x2^-2", "1", "x2^2"),                                # negative exponents allowed here
        ("3", "3", "1"),
    ],
)
def test_parse_rational(text: str, num: str, den: str) -> None:
    n, d = parse_rational(text)
    assert (str(n), str(d)) == (num, den)
    assert n.context() is d.context() is ring(["x1", "x2"][:n.context().nvars()])


def test_parse_rational_refusals() -> None:
    with pytest.raises(ParseError, match="division by zero at position 3"):
        parse_rational("x1/(x2 - x2)")
    with pytest.raises(ParseError, match="at position 3"):
        parse_rational("x1^x2")


def test_names_with_brackets_and_parse_in() -> None:
    names = ["W1[2]", "W1[20]", "b1[1]", "0.weight[2]"]
    R = ring(names)
    p = parse_polynomial("W1[2]*W1[20] - b1[1]^2 + 0.weight[2]", names=names)
    assert p.context() is R
    assert as_dict(p) == P((1, ((0, 1), (1, 1))), (-1, ((2, 2),)), (1, ((3, 1),)))
    assert str(p) == "W1[2]*W1[20] - b1[1]^2 + 0.weight[2]"
    num, den = parse_in(R, "W1[2]/b1[1]", rational=True)
    assert (str(num), str(den)) == ("W1[2]", "b1[1]")
    num, den = parse_in(R, "W1[2]/2")
    assert (str(num), den) == ("1/2*W1[2]", R.constant(1))
    with pytest.raises(ParseError, match="non-constant"):
        parse_in(R, "W1[2]/b1[1]")
    # a ring named x1..xD reads default names, bounded by D
    S = ring(default_names(2))
    assert as_dict(parse_in(S, "x2^2")[0]) == P((1, ((1, 2),)))
    with pytest.raises(ParseError, match="out of range"):
        parse_in(S, "x3")


def test_network_names_read_back() -> None:
    names = ["W1[1,2]", "W1[1,20]", "b1[1]", "0.weight[2,1]"]
    p = parse_polynomial("W1[1,2]*W1[1,20] - b1[1]^2 + 0.weight[2,1]", names=names)
    assert as_dict(p) == P((1, ((0, 1), (1, 1))), (-1, ((2, 2),)), (1, ((3, 1),)))
    m = build_model("linear:2,2,2")
    law = m.phi[0] ** 2 - m.gens()[0]
    assert parse_in(m.ring, str(law))[0] == law
    assert parse_polynomial(str(law), names=m.names) == law


def test_non_ascii_names() -> None:
    p = parse_polynomial("é^2 - b", names=["é", "b"])
    assert as_dict(p) == P((1, ((0, 2),)), (-1, ((1, 1),)))


# ---------------------------------------------------------------------------------------------
# split_top_level


@pytest.mark.parametrize(
    ("text", "sep", "pieces"),
    [
        ("x2,-x1,0;x3,0,-x1", ";", ["x2,-x1,0", "x3,0,-x1"]),
        ("x2,-x1,0", ",", ["x2", "-x1", "0"]),
        ("(x1,x2),x3", ",", ["(x1,x2)", "x3"]),
        ("((a;b));c", ";", ["((a;b))", "c"]),
        ("a,,b,", ",", ["a", "", "b", ""]),
        ("", ";", [""]),
        (" a ; b ", ";", [" a ", " b "]),
        ("a::b::c", "::", ["a", "b", "c"]),
        ("a),b", ",", ["a)", "b"]),  # stray ')' is left for the parser to report
        ("(a,b", ",", ["(a,b"]),  # unclosed '(' protects the rest
    ],
)
def test_split_top_level(text: str, sep: str, pieces: list[str]) -> None:
    assert split_top_level(text, sep) == pieces


def test_split_top_level_rejects_bad_separators() -> None:
    for sep in ("", "(", ")", "a("):
        with pytest.raises(ValueError):
            split_top_level("a,b", sep)


# ---------------------------------------------------------------------------------------------
# fuzz: random strings either parse to a canonical Poly or raise ParseError


PIECES = [
    "x1", "x2", "x3", "x0", "x12", "x", "1", "2", "0", "9", "0.5", ".", "e", "E", "1e3", "2e-1",
    "+", "-", "*", "/", "^", "**", "(", ")", "(", ")", " ", " ", "sin", "y", "_", "__import__",
    ";", "@", '"', "'", "[", "]", "=", ",", "\n", "\t", "é", "²", "\x00", "$", "#", "!", "&", "|",
    "~", "`", "{", "}", "<", ">", "?", "\\", "%", ":", "\u2028", "٣",
]


def check_fuzz_case(text: str, parse: Callable[[str], flint.fmpq_mpoly]) -> bool:
    try:
        p = parse(text)
    except ParseError as e:
        msg = str(e)
        assert "\n" not in msg and "\u2028" not in msg, repr(msg)
        assert e.position is not None and 1 <= e.position <= len(text) + 1, (text, msg)
        assert f"at position {e.position}" in msg, msg
        return False
    assert is_canonical(p), text
    return True


def test_fuzz_random_strings_only_raise_parse_error() -> None:
    rng = random.Random(12345)
    successes = 0
    for _ in range(2000):
        if rng.random() < 0.5:
            text = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 25)))
        else:
            grammar = PIECES[:30]
            text = "".join(rng.choice(grammar) for _ in range(rng.randint(0, 25)))
        successes += check_fuzz_case(text, parse_polynomial)
    assert successes > 20  # the generator does produce valid expressions too
