"""Safe reader for polynomial and rational expressions, straight into FLINT polynomials.

User text is never evaluated as code: a tokenizer and an explicit-stack operator-precedence
parser (no recursion, so no :class:`RecursionError`) evaluate the expression into FLINT
``fmpq_mpoly`` values of the ring :func:`conslaw_flint.core.polynomials.ring` ``(names)``,
exactly.  Every problem with the text raises :class:`ParseError` -- a one-line message naming
the offending token, its 1-based character position and how to fix it.

Grammar (loosest binding first)::

    expr    := expr ('+' | '-') expr          left-associative
             | expr ('*' | '/') expr          left-associative
             | ('+' | '-') expr               unary; binds looser than powers: -x1^2 = -(x1^2)
             | atom ('^' | '**') expr         right-associative: 2^3^2 = 2^9
    atom    := number | variable | '(' expr ')'
    number  := digits ['.' [digits]] [exponent] | '.' digits [exponent]
    exponent:= ('e' | 'E') ['+' | '-'] digits     exact: 2.5e-3 = 1/400

* Variables are ``x1, x2, ...`` (1-based in the text, 0-based indices in the ring) unless
  ``names`` is given; declared names may be any text without blanks or operator characters
  (``u``, ``W1[1,2]``, ``0.weight[2,1]``, ``é``), matched longest first.
* Exponents are integer constants (``x1^(1+1)``); negative ones only in rational expressions.
* :func:`parse_polynomial` divides only by non-zero constants; :func:`parse_rational` also by
  polynomials and returns (numerator, denominator).
* Implicit multiplication (``2x1``, ``x1 x2``, ``x1(x2)``) is refused.
* Every operation is charged *before* it runs: text length, nesting depth, degree
  (``max_degree``), number of terms (``max_terms``: products and powers are refused from an
  a-priori bound on their size), coefficient size (:data:`MAX_COEFF_BITS`) and a work budget
  (:data:`MAX_WORK`) whose unit is a machine-word operation: a product of a t1-term by a
  t2-term polynomial costs t1*t2*(words of an exponent vector + words of the coefficient
  product), so huge coefficients and many variables count.

>>> p = parse_polynomial("(x1 - x2)*(x1 + x2) + 0.5*x3")
>>> str(p), p.context().names()
('x1^2 - x2^2 + 1/2*x3', ('x1', 'x2', 'x3'))
>>> str(parse_polynomial("-a*b/2 + 3", names=["a", "b"]))
'-1/2*a*b + 3'
>>> num, den = parse_rational("1/x1 + 1/x2")
>>> str(num), str(den)
('x1 + x2', 'x1*x2')
>>> parse_polynomial("2x1")
Traceback (most recent call last):
    ...
conslaw_flint.io.parse.ParseError: implicit multiplication at position 2: insert '*' between \
'2' and 'x1' (e.g. 2*x1)
>>> split_top_level("x2,-(x1+x3),0", ",")
['x2', '-(x1+x3)', '0']
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction

from ..core.polynomials import Poly, Ring, default_names, fmpq, ring, ring_names, to_fraction
from ..errors import UserError

__all__ = [
    "MAX_COEFF_BITS",
    "MAX_DEPTH",
    "MAX_TEXT_LENGTH",
    "MAX_WORK",
    "ParseError",
    "check_names",
    "infer_nvars",
    "parse_polynomial",
    "parse_rational",
    "split_top_level",
]

#: longest accepted input text, in characters
MAX_TEXT_LENGTH = 100_000
#: deepest accepted nesting of parentheses
MAX_DEPTH = 1000
#: largest accepted numerator or denominator of any coefficient, in bits (about 30 000 digits)
MAX_COEFF_BITS = 100_000
#: work budget of one expression, in machine-word operations (about a second of FLINT work)
MAX_WORK = 400_000_000
#: most variables a ring may have (the model limit)
MAX_VARIABLES = 100_000

_MAX_LITERAL_DIGITS = int(MAX_COEFF_BITS * 0.30103) + 2
_STR_CHUNK_DIGITS = 600
_STR_CHUNK_BITS = 1900

_WS = frozenset(" \t\r\n\f\v")
_DIGITS = frozenset("0123456789")
_OPERATOR_CHARS = frozenset("+-*/^();,")
_NUMBER_RE = re.compile(r"[0-9]*\.?[0-9]+([eE][+-]?[0-9]+)?|[0-9]+\.")
_DEFAULT_VAR_RE = re.compile(r"x([0-9]+)")

# binary operators: precedence, right-associative
_BINARY = {"+": (1, False), "-": (1, False), "*": (2, False), "/": (2, False),
           "^": (4, True), "**": (4, True)}
_UNARY_PREC = 3
_ALLOWED = "+ - * / ^ ** and parentheses are allowed"


class ParseError(UserError):
    """An expression could not be read.

    The message is a single line naming the offending token, its 1-based character
    ``position`` (also available as an attribute; ``None`` if not applicable) and a fix.
    """

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position

    def __reduce__(self) -> tuple[type[ParseError], tuple[str, int | None]]:
        return (type(self), (str(self), self.position))


# ---------------------------------------------------------------------------------------------
# small helpers


def _show(token: str) -> str:
    """Quote a token for an error message: one line, at most ~40 characters."""
    if len(token) > 40:
        token = token[:37] + "..."
    return repr(token)


def _brief_int(n: int) -> str:
    """Decimal text of ``n`` if short, else its approximate size (never hits the str limit)."""
    if abs(n) < 10**18:
        return str(n)
    return f"~10^{int((abs(n).bit_length() - 1) * 0.30103)}"


def _digits_to_int(s: str) -> int:
    """int() of an ASCII digit string of any length (independent of int_max_str_digits)."""
    s = s.lstrip("0")
    if len(s) <= _STR_CHUNK_DIGITS:
        return int(s) if s else 0
    lo_len = len(s) // 2
    return _digits_to_int(s[:-lo_len]) * 10**lo_len + _digits_to_int(s[-lo_len:])


def _height(c: Fraction) -> int:
    """Bits of the larger of numerator and denominator."""
    return max(c.numerator.bit_length(), c.denominator.bit_length())


def _is_ident_start(c: str) -> bool:
    return c == "_" or c.isalpha()


def _is_ident_char(c: str) -> bool:
    return c == "_" or c.isalnum()


def _outside_brackets(name: str) -> str:
    """The characters of a name outside square brackets (``W1[1,2]`` -> ``W1``)."""
    out, depth = [], 0
    for c in name:
        if c == "[":
            depth += 1
        elif c == "]":
            depth = max(depth - 1, 0)
        elif depth == 0:
            out.append(c)
    return "".join(out)


def check_names(names: Sequence[str]) -> dict[str, int]:
    """Validate variable names; return name -> index.

    A name is a non-empty string of at most 200 printable characters, without blanks,
    backslashes or ``+ - * / ^ ( )``, without ``,`` or ``;`` outside square brackets, and that
    is not a number (``W1[1,2]``, ``0.weight[2,1]``, ``é`` are fine).  Raises ValueError.
    """
    if isinstance(names, str):
        raise TypeError("names must be a sequence of strings, not a single string")
    index: dict[str, int] = {}
    for i, name in enumerate(names):
        if not isinstance(name, str) or not name:
            raise ValueError(f"invalid variable name {name!r}: names are non-empty strings")
        outside = _outside_brackets(name)
        bad = next((c for c in name if c in "+-*/^()\\" or c in _WS or not c.isprintable()),
                   None)
        if bad is None:
            bad = next((c for c in outside if c in ",;"), None)
        if bad is not None or len(name) > 200 or _NUMBER_RE.fullmatch(name):
            why = (f"it contains {bad!r}" if bad is not None else
                   "it is longer than 200 characters" if len(name) > 200 else "it is a number")
            raise ValueError(f"invalid variable name {_show(name)}: {why}; use letters, digits, "
                             "'_', '.' or brackets, not blanks, backslashes or + - * / ^ ( ), "
                             "and ',' or ';' only inside brackets")
        if name in index:
            raise ValueError(f"duplicate variable name {_show(name)}")
        index[name] = i
    return index


# ---------------------------------------------------------------------------------------------
# tokenizer


@dataclass(frozen=True)
class _Token:
    kind: str  # "num", "name", "var", "op", "(", ")", "end"
    text: str
    pos: int  # 1-based
    value: Fraction | None = None  # for "num"
    index: int = -1  # for "var": the variable's index
    call: bool = False  # for "name": followed by '(' (looks like a function call)


def _scan_number(text: str, i: int) -> tuple[int, Fraction]:
    """Read the number starting at ``text[i]``; return the end index and its exact value."""
    n = len(text)
    start = i
    while i < n and text[i] in _DIGITS:
        i += 1
    int_part = text[start:i]
    frac_part = ""
    if i < n and text[i] == ".":
        j = i + 1
        while j < n and text[j] in _DIGITS:
            j += 1
        frac_part = text[i + 1 : j]
        i = j
    exp = 0
    if i < n and text[i] in "eE":
        j = i + 1
        sign = 1
        if j < n and text[j] in "+-":
            sign = -1 if text[j] == "-" else 1
            j += 1
        if j < n and text[j] in _DIGITS:
            k = j
            while k < n and text[k] in _DIGITS:
                k += 1
            digits = text[j:k].lstrip("0")
            if len(digits) > 6:
                raise ParseError(f"number too large {_show(text[start:k])} at position "
                                 f"{start + 1}: the exponent may have at most 6 digits", start + 1)
            exp = sign * (int(digits) if digits else 0)
            i = k
    if i < n and (text[i] == "." or text[i] in _DIGITS):
        j = i
        while j < n and (text[j] == "." or text[j] in _DIGITS):
            j += 1
        raise ParseError(f"malformed number {_show(text[start:j])} at position {start + 1}: "
                         "write numbers like 12, 0.5 or 2.5e-3", start + 1)
    mantissa = (int_part + frac_part).lstrip("0")
    if not mantissa:
        return i, Fraction(0)
    shift = exp - len(frac_part)
    if len(mantissa) > _MAX_LITERAL_DIGITS or abs(shift) > _MAX_LITERAL_DIGITS:
        raise ParseError(f"number too large {_show(text[start:i])} at position {start + 1}: "
                         f"coefficients may have at most about {_MAX_LITERAL_DIGITS} digits",
                         start + 1)
    m = _digits_to_int(mantissa)
    value = Fraction(m * 10**shift) if shift >= 0 else Fraction(m, 10**-shift)
    if _height(value) > MAX_COEFF_BITS:
        raise ParseError(f"number too large {_show(text[start:i])} at position {start + 1}: "
                         f"numerators and denominators are limited to {MAX_COEFF_BITS} bits",
                         start + 1)
    return i, value


class _Names:
    """How names in the text map to variables: declared names (longest match first), or the
    default ``x1, x2, ...`` (up to ``nvars`` when given)."""

    def __init__(self, names: Sequence[str] | None, nvars: int | None,
                 inferred: bool = False) -> None:
        self.inferred = inferred
        self.names = list(names) if names is not None else None
        self.index = check_names(names) if names is not None else None
        self.nvars = nvars
        self.lengths = (sorted({len(n) for n in self.index}, reverse=True)
                        if self.index else [])

    def describe(self) -> str:
        if self.names is not None:
            if not self.names:
                return "(none declared)"
            shown = ", ".join(self.names[:8])
            return shown + (f", ... ({len(self.names)} names)" if len(self.names) > 8 else "")
        if self.nvars is None or self.inferred:
            return "x1, x2, ..."
        return f"x1..x{self.nvars}" if self.nvars else "(none: nvars=0)"

    def match(self, text: str, i: int) -> tuple[str, int] | None:
        """The longest declared name at ``text[i:]`` that ends at a token boundary."""
        if not self.index:
            return None
        n = len(text)
        for L in self.lengths:
            if i + L > n:
                continue
            cand = text[i:i + L]
            k = self.index.get(cand)
            if k is None:
                continue
            if i + L < n and _is_ident_char(cand[-1]) and _is_ident_char(text[i + L]):
                continue
            return cand, k
        return None

    def default_index(self, name: str, pos: int) -> int | None:
        """Index of a default name ``x<k>``; raises for one out of range."""
        m = _DEFAULT_VAR_RE.fullmatch(name)
        if m is None:
            return None
        digits = m.group(1)
        if digits[0] != "0" and len(digits) <= 6:
            k = int(digits)
            if k <= MAX_VARIABLES and (self.nvars is None or k <= self.nvars):
                return k - 1
        raise ParseError(f"variable {_show(name)} out of range at position {pos}: the variables "
                         f"are {self.describe()} (1-based, no leading zeros)", pos)


def _tokenize(text: str, names: _Names) -> Iterator[_Token]:
    """Yield tokens left to right (lazily, so errors come out in reading order)."""
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        if c in _WS:
            i += 1
            continue
        start = i
        declared = names.match(text, i)
        if declared is not None:
            i += len(declared[0])
            yield _Token("var", declared[0], start + 1, index=declared[1])
        elif c in _DIGITS or (c == "." and i + 1 < n and text[i + 1] in _DIGITS):
            i, value = _scan_number(text, i)
            yield _Token("num", text[start:i], start + 1, value)
        elif _is_ident_start(c):
            while i < n and _is_ident_char(text[i]):
                i += 1
            word = text[start:i]
            k = names.default_index(word, start + 1) if names.names is None else None
            if k is not None:
                yield _Token("var", word, start + 1, index=k)
                continue
            j = i
            while j < n and text[j] in _WS:
                j += 1
            yield _Token("name", word, start + 1, call=j < n and text[j] == "(")
        elif c == "*" and i + 1 < n and text[i + 1] == "*":
            i += 2
            yield _Token("op", "**", start + 1)
        elif c in "+-*/^":
            i += 1
            yield _Token("op", c, start + 1)
        elif c in "()":
            i += 1
            yield _Token(c, c, start + 1)
        else:
            hint = ""
            if c in ",;":
                hint = " (one expression here; separate components elsewhere)"
            raise ParseError(f"unexpected character {c!r} at position {start + 1}: only numbers, "
                             f"variables {names.describe()}, {_ALLOWED}{hint}", start + 1)
    yield _Token("end", "", n + 1)


def infer_nvars(texts: Sequence[str]) -> int:
    """The largest k such that ``xk`` occurs as a variable in one of the texts (default
    names), 0 if none.  Tolerant: a malformed piece is skipped (the parser reports it later,
    in reading order, with its context)."""
    names = _Names(None, None)
    top = 0
    for text in texts:
        _check_text(text)
        start = 0
        while start <= len(text):
            try:
                for tok in _tokenize(text[start:], names):
                    if tok.kind == "var":
                        top = max(top, tok.index + 1)
                break
            except ParseError as e:
                start += max(e.position or 1, 1)
    return top


# ---------------------------------------------------------------------------------------------
# values: a rational function num/den (den None: a polynomial), or a rational constant


@dataclass
class _Val:
    """A value on the parser's stack: a constant (``const``), or num/den in the ring."""

    const: Fraction | None = None
    num: Poly | None = None
    den: Poly | None = None  # None: denominator 1

    def terms(self) -> int:
        if self.const is not None:
            return 1
        assert self.num is not None
        return max(len(self.num), 1) + (len(self.den) if self.den is not None else 0)

    def bits(self) -> int:
        """Largest bit size of a numerator or denominator of a coefficient."""
        if self.const is not None:
            return _height(self.const)
        out = 1
        for p in (self.num, self.den):
            if p is None:
                continue
            for c in p.coeffs():
                out = max(out, int(c.p).bit_length(), int(c.q).bit_length())
        return out

    def degree(self) -> int:
        if self.const is not None:
            return 0
        assert self.num is not None
        d = max(self.num.total_degree(), 0)
        return max(d, self.den.total_degree()) if self.den is not None else d


def _words(bits: int) -> int:
    return bits // 64 + 1


class _Parser:
    """Operator-precedence (shunting-yard) parser that evaluates while it reduces."""

    def __init__(self, R: Ring, names: _Names, max_degree: int, max_terms: int,
                 rational: bool) -> None:
        self.R = R
        self.names = names
        self.max_degree = max_degree
        self.max_terms = max_terms
        self.rational = rational
        self.exp_words = R.nvars() // 8 + 1  # FLINT packs exponents in at least 8 bits
        self.work = 0

    # -- charging -----------------------------------------------------------------------------

    def _charge(self, units: float, pos: int) -> None:
        self.work += int(units)
        if self.work > MAX_WORK:
            raise ParseError(f"expression too expensive at position {pos}: more than "
                             f"{MAX_WORK:.0e} word operations (term products weighted by "
                             "coefficient size and number of variables); simplify it", pos)

    def _too_many_terms(self, what: str, count: str, pos: int) -> ParseError:
        return ParseError(f"{what} at position {pos} {count} terms, more than "
                          f"max_terms={self.max_terms}: simplify the expression or raise "
                          "max_terms", pos)

    def _too_big_coefficients(self, pos: int) -> ParseError:
        return ParseError(f"coefficients too large at position {pos}: numerators and "
                          f"denominators are limited to {MAX_COEFF_BITS} bits", pos)

    def _check_size(self, v: _Val, pos: int, what: str) -> _Val:
        if v.terms() > self.max_terms:
            raise self._too_many_terms(what, f"has {v.terms()}", pos)
        if v.degree() > self.max_degree:
            raise ParseError(f"degree {v.degree()} of the {what} at position {pos} exceeds "
                             f"max_degree={self.max_degree}: lower the degree or raise "
                             "max_degree", pos)
        if v.bits() > MAX_COEFF_BITS:
            raise self._too_big_coefficients(pos)
        return v

    # -- conversions --------------------------------------------------------------------------

    def _poly(self, v: _Val) -> Poly:
        """The numerator of ``v`` as a ring element."""
        if v.const is not None:
            return self.R.constant(fmpq(v.const))
        assert v.num is not None
        return v.num

    @staticmethod
    def _as_constant(v: _Val) -> Fraction | None:
        if v.const is not None:
            return v.const
        assert v.num is not None
        if v.den is None and v.num.is_constant():
            return to_fraction(v.num.leading_coefficient()) if not v.num.is_zero() \
                else Fraction(0)
        return None

    def _make(self, num: Poly, den: Poly | None, pos: int) -> _Val:
        """num/den normalised: the denominator primitive with a positive leading coefficient
        (the constant factor moved up), 1 dropped; common factors cancelled when small."""
        if den is not None:
            if den.is_constant():
                num = num / den.leading_coefficient()
                den = None
            else:
                if len(num) <= 2000 and len(den) <= 2000 and not num.is_zero():
                    self._charge((len(num) + len(den)) ** 2 * self.exp_words, pos)
                    g = num.gcd(den)
                    if not g.is_constant():
                        num = divmod(num, g)[0]
                        den = divmod(den, g)[0]
                if num.is_zero():
                    den = None
                else:
                    lc = den.leading_coefficient()
                    cont = Fraction(0)
                    for c in den.coeffs():
                        cont = Fraction(math.gcd(cont.numerator, int(c.p)),
                                        math.lcm(cont.denominator, int(c.q)))
                    scale = fmpq(cont if to_fraction(lc) > 0 else -cont)
                    num, den = num / scale, den / scale
                    if den.is_constant():
                        num, den = num / den.leading_coefficient(), None
        return _Val(None, num, den)

    # -- variables ----------------------------------------------------------------------------

    def unknown(self, tok: _Token) -> ParseError:
        if tok.call:
            return ParseError(f"unknown name {_show(tok.text)} at position {tok.pos}: "
                              f"functions are not supported; only numbers, variables "
                              f"{self.names.describe()}, {_ALLOWED}", tok.pos)
        return ParseError(f"unknown name {_show(tok.text)} at position {tok.pos}: the variables "
                          f"are {self.names.describe()} (there are no named constants)", tok.pos)

    # -- main loop ----------------------------------------------------------------------------

    def parse(self, text: str) -> _Val:
        ops: list[tuple[str, int, str]] = []  # (kind, position, source text)
        vals: list[_Val] = []
        depth = 0
        expect_operand = True
        prev: _Token | None = None
        gens: dict[int, Poly] = {}
        nv = self.R.nvars()
        for tok in _tokenize(text, self.names):
            if expect_operand:
                if tok.kind == "num":
                    assert tok.value is not None
                    vals.append(_Val(tok.value))
                    expect_operand = False
                elif tok.kind == "var":
                    if not 0 <= tok.index < nv:
                        raise ParseError(f"variable {_show(tok.text)} out of range at position "
                                         f"{tok.pos}: the variables are "
                                         f"{self.names.describe()}", tok.pos)
                    g = gens.get(tok.index)
                    if g is None:  # one generator, not all D of them (O(D) each)
                        g = gens[tok.index] = self.R.gen(tok.index)
                    vals.append(_Val(None, g, None))
                    expect_operand = False
                elif tok.kind == "name":
                    raise self.unknown(tok)
                elif tok.kind == "(":
                    depth += 1
                    if depth > MAX_DEPTH:
                        raise ParseError(f"nesting too deep at position {tok.pos}: at most "
                                         f"{MAX_DEPTH} levels of parentheses", tok.pos)
                    ops.append(("(", tok.pos, "("))
                elif tok.kind == "op" and tok.text in ("+", "-"):
                    ops.append(("u" + tok.text, tok.pos, tok.text))
                elif tok.kind == "end":
                    if prev is None:
                        raise ParseError("empty expression at position 1: write a polynomial "
                                         "such as x1^2 - 2*x2", 1)
                    raise ParseError(f"unexpected end of input at position {tok.pos}: expected a "
                                     f"number, variable or '(' after {_show(prev.text)}", tok.pos)
                else:
                    raise ParseError(f"unexpected {_show(tok.text)} at position {tok.pos}: "
                                     "expected a number, variable or '('", tok.pos)
            else:
                assert prev is not None
                if tok.kind == "op":
                    prec, right = _BINARY[tok.text]
                    while ops and ops[-1][0] != "(":
                        top = self._prec(ops[-1][0])
                        if top > prec or (top == prec and not right):
                            self._reduce(ops, vals)
                        else:
                            break
                    ops.append(("^" if tok.text == "**" else tok.text, tok.pos, tok.text))
                    expect_operand = True
                elif tok.kind == ")":
                    while ops and ops[-1][0] != "(":
                        self._reduce(ops, vals)
                    if not ops:
                        raise ParseError(f"unmatched ')' at position {tok.pos}: there is no "
                                         "'(' to close; remove it or add a '(' before it", tok.pos)
                    ops.pop()
                    depth -= 1
                elif tok.kind == "end":
                    while ops:
                        if ops[-1][0] == "(":
                            pos = ops[-1][1]
                            raise ParseError(f"unclosed '(' at position {pos}: add a matching "
                                             "')'", pos)
                        self._reduce(ops, vals)
                else:  # a number, name or '(' right after a complete operand
                    if tok.kind == "name":
                        raise self.unknown(tok)
                    example = f"{prev.text}*{tok.text}" if tok.kind != "(" else f"{prev.text}*(...)"
                    raise ParseError(f"implicit multiplication at position {tok.pos}: insert '*' "
                                     f"between {_show(prev.text)} and {_show(tok.text)} "
                                     f"(e.g. {_show(example)[1:-1]})", tok.pos)
            prev = tok
        assert len(vals) == 1 and not ops
        return vals[0]

    @staticmethod
    def _prec(kind: str) -> int:
        if kind in ("u+", "u-"):
            return _UNARY_PREC
        return _BINARY[kind][0]

    def _reduce(self, ops: list[tuple[str, int, str]], vals: list[_Val]) -> None:
        kind, pos, src = ops.pop()
        if kind == "u-":
            v = vals[-1]
            vals[-1] = _Val(-v.const) if v.const is not None else _Val(None, -v.num, v.den)
            return
        if kind == "u+":
            return
        b = vals.pop()
        a = vals.pop()
        if kind in "+-":
            vals.append(self._add(a, b, pos, 1 if kind == "+" else -1))
        elif kind == "*":
            vals.append(self._mul(a, b, pos))
        elif kind == "/":
            vals.append(self._div(a, b, pos))
        else:
            vals.append(self._pow(a, self._exponent(b, pos, src), pos, src))

    # -- guarded arithmetic -------------------------------------------------------------------

    def _add(self, a: _Val, b: _Val, pos: int, sign: int) -> _Val:
        if a.const is not None and b.const is not None:
            v = a.const + sign * b.const
            if _height(v) > MAX_COEFF_BITS:
                raise self._too_big_coefficients(pos)
            return _Val(v)
        self._charge((a.terms() + b.terms()) * (self.exp_words + _words(max(a.bits(), b.bits()))),
                     pos)
        if a.den is None and b.den is None:
            pa, pb = self._poly(a), self._poly(b)
            out = _Val(None, pa + pb if sign > 0 else pa - pb, None)
            return self._check_size(out, pos, "sum")
        # (na/da) +- (nb/db) = (na*db +- nb*da) / (da*db)
        one = self.R.constant(1)
        da, db = a.den or one, b.den or one
        na, nb = self._poly(a), self._poly(b)
        for x, y in ((na, db), (nb, da), (da, db)):
            self._product_guard(len(x), len(y), self._bits(x), self._bits(y),
                                x.total_degree() + y.total_degree(), pos)
        num = na * db + nb * da if sign > 0 else na * db - nb * da
        return self._check_size(self._make(num, da * db, pos), pos, "sum")

    @staticmethod
    def _bits(p: Poly) -> int:
        out = 1
        for c in p.coeffs():
            out = max(out, int(c.p).bit_length(), int(c.q).bit_length())
        return out

    def _product_guard(self, ta: int, tb: int, ba: int, bb: int, degree: int, pos: int) -> None:
        """Refuse a product before computing it: degree, term bound, coefficient bound, work."""
        if degree > self.max_degree:
            raise ParseError(f"degree {degree} of the product at position {pos} exceeds "
                             f"max_degree={self.max_degree}: lower the degree or raise "
                             "max_degree", pos)
        if ba + bb + min(ta, tb).bit_length() > MAX_COEFF_BITS:
            raise self._too_big_coefficients(pos)
        self._charge(ta * tb * (self.exp_words + _words(ba) * _words(bb)), pos)
        nv = self.R.nvars()
        bound = min(ta * tb, math.comb(nv + degree, nv) if nv < 50 else ta * tb)
        if ta > 1 and tb > 1 and bound > self.max_terms:
            raise self._too_many_terms("product", f"may have up to {_brief_int(bound)}", pos)

    def _mul(self, a: _Val, b: _Val, pos: int) -> _Val:
        ca, cb = self._as_constant(a), self._as_constant(b)
        if ca is not None and cb is not None:
            v = ca * cb
            if _height(v) > MAX_COEFF_BITS:
                raise self._too_big_coefficients(pos)
            return _Val(v)
        if ca is not None or cb is not None:
            c, v = (ca, b) if ca is not None else (cb, a)
            assert c is not None
            if c == 0:
                return _Val(Fraction(0))
            if _height(c) + v.bits() > MAX_COEFF_BITS:
                raise self._too_big_coefficients(pos)
            self._charge(v.terms() * _words(v.bits()) * _words(_height(c)), pos)
            return _Val(None, v.num * fmpq(c), v.den)
        pa, pb = self._poly(a), self._poly(b)
        self._product_guard(len(pa), len(pb), a.bits(), b.bits(),
                            pa.total_degree() + pb.total_degree(), pos)
        if a.den is None and b.den is None:
            return self._check_size(_Val(None, pa * pb, None), pos, "product")
        one = self.R.constant(1)
        da, db = a.den or one, b.den or one
        self._product_guard(len(da), len(db), a.bits(), b.bits(),
                            da.total_degree() + db.total_degree(), pos)
        return self._check_size(self._make(pa * pb, da * db, pos), pos, "product")

    def _div(self, a: _Val, b: _Val, pos: int) -> _Val:
        c = self._as_constant(b)
        if c is not None:
            if c == 0:
                raise ParseError(f"division by zero at position {pos}: the divisor evaluates "
                                 "to 0", pos)
            return self._mul(a, _Val(1 / c), pos)
        if not self.rational:
            raise ParseError(f"division by a non-constant expression at position {pos}: a "
                             "polynomial is expected here (rational fields are accepted by "
                             "fields:, poly: and ode: models)", pos)
        assert b.num is not None
        if b.num.is_zero():
            raise ParseError(f"division by zero at position {pos}: the divisor is 0", pos)
        inv = _Val(None, b.den if b.den is not None else self.R.constant(1), b.num)
        if a.const is not None:
            return self._check_size(self._make(inv.num * fmpq(a.const), inv.den, pos), pos,
                                    "quotient")
        return self._mul(a, inv, pos)

    def _exponent(self, b: _Val, pos: int, src: str) -> int:
        c = self._as_constant(b)
        if c is None:
            raise ParseError(f"non-constant exponent after {src!r} at position {pos}: exponents "
                             "must be integer constants", pos)
        if c.denominator != 1 or (c < 0 and not self.rational):
            kind = "negative" if c < 0 else "non-integer"
            shown = _brief_int(c.numerator) + ("" if c.denominator == 1 else
                                               "/" + _brief_int(c.denominator))
            need = "integers" if self.rational else "non-negative integers"
            raise ParseError(f"{kind} exponent {shown} after {src!r} at position {pos}: "
                             f"exponents must be {need} here", pos)
        k = c.numerator
        if abs(k) > self.max_degree:
            raise ParseError(f"exponent {_brief_int(k)} after {src!r} at position {pos} exceeds "
                             f"max_degree={self.max_degree}: lower it or raise max_degree", pos)
        return k

    def _pow(self, a: _Val, k: int, pos: int, src: str) -> _Val:
        if k < 0:
            base = self._div(_Val(Fraction(1)), a, pos)
            return self._pow(base, -k, pos, src)
        if k == 0:
            return _Val(Fraction(1))
        if k == 1:
            return a
        c = self._as_constant(a)
        if c is not None:
            if _height(c) * k > MAX_COEFF_BITS:
                raise self._too_big_coefficients(pos)
            return _Val(c**k)
        num = self._poly(a)
        d = a.degree()
        if d * k > self.max_degree:
            raise ParseError(f"degree {d * k} of the power {src!r} at position {pos} exceeds "
                             f"max_degree={self.max_degree}: lower the exponent or raise "
                             "max_degree", pos)
        bits = a.bits()
        for p in (num, a.den):
            if p is None or len(p) <= 1:
                if p is not None and _height(Fraction(0) if p.is_zero() else
                                             to_fraction(p.leading_coefficient())) * k \
                        > MAX_COEFF_BITS:
                    raise self._too_big_coefficients(pos)
                continue
            t = len(p)
            nv = len([e for e in p.degrees() if e])
            dp = p.total_degree()
            bound = min(math.comb(t + k - 1, k), math.comb(nv + dp * k, nv))
            if bound > self.max_terms:
                raise self._too_many_terms(f"expanding the power {src!r}",
                                           f"would give up to {_brief_int(bound)}", pos)
            if k * (t.bit_length() + bits) > MAX_COEFF_BITS:
                raise self._too_big_coefficients(pos)
            # repeated squaring: the last product dominates (result/2 terms times the base)
            self._charge(bound * t * k.bit_length()
                         * (self.exp_words + _words(k * (bits + t.bit_length())) ** 2), pos)
        out = _Val(None, num**k, a.den**k if a.den is not None else None)
        return self._check_size(out, pos, "power")


# ---------------------------------------------------------------------------------------------
# public API


def _check_text(text: str) -> None:
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    if len(text) > MAX_TEXT_LENGTH:
        raise ParseError(f"expression too long at position {MAX_TEXT_LENGTH + 1}: "
                         f"{len(text)} characters, the limit is {MAX_TEXT_LENGTH}",
                         MAX_TEXT_LENGTH + 1)


def _setup(text: str, names: Sequence[str] | None, nvars: int | None, max_degree: int,
           max_terms: int) -> tuple[Ring, _Names]:
    _check_text(text)
    for label, value in (("max_degree", max_degree), ("max_terms", max_terms), ("nvars", nvars)):
        if value is None and label == "nvars":
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{label} must be a non-negative int, not {value!r}")
    if names is not None:
        if nvars is not None and nvars != len(names):
            raise ValueError(f"nvars={nvars} does not match the {len(names)} names given")
        table = _Names(names, None)
        return ring(names), table
    inferred = nvars is None
    if nvars is None:
        nvars = infer_nvars([text])
    if nvars > MAX_VARIABLES:
        raise ParseError(f"{nvars} variables exceed the limit {MAX_VARIABLES}")
    return ring(default_names(nvars)), _Names(None, nvars, inferred)


def parse_rational(text: str, names: Sequence[str] | None = None, nvars: int | None = None,
                   max_degree: int = 1000, max_terms: int = 200_000) -> tuple[Poly, Poly]:
    """Read ``text`` as a rational function: (numerator, denominator), FLINT polynomials of
    the ring of ``names`` (default ``x1..x{nvars}``, ``nvars`` inferred from the text when
    omitted).  The denominator is 1, or primitive with a positive leading coefficient and
    no factor in common with the numerator (cancelled when both have at most 2000 terms).

    Raises :class:`ParseError` for any problem with the text (one line with the position).
    """
    R, table = _setup(text, names, nvars, max_degree, max_terms)
    v = _Parser(R, table, max_degree, max_terms, rational=True).parse(text)
    num = v.num if v.const is None else R.constant(fmpq(v.const))
    assert num is not None
    return num, v.den if v.den is not None else R.constant(1)


def parse_polynomial(text: str, names: Sequence[str] | None = None, nvars: int | None = None,
                     max_degree: int = 1000, max_terms: int = 200_000) -> Poly:
    """Read ``text`` as a polynomial with rational coefficients, exactly, as a FLINT
    ``fmpq_mpoly`` of the ring of ``names`` (default ``x1..x{nvars}``; ``nvars`` inferred
    from the text when omitted).

    Parameters
    ----------
    text:
        The expression, e.g. ``"x1^2 - 1/2*x2*x3 + 0.25"`` (see the module docstring for the
        grammar).  Never evaluated as code.
    names:
        Variable names; ``names[i]`` becomes variable ``i``.
    nvars:
        With default names, the number of variables: ``x1..x{nvars}`` are allowed.
    max_degree, max_terms:
        Largest total degree and number of terms of any intermediate result; products and
        powers are refused before they are computed when a bound on their size exceeds them.

    Raises
    ------
    ParseError
        For any problem with ``text`` (one-line message with the 1-based position).
    TypeError, ValueError
        For invalid arguments other than ``text`` (bad names, negative limits, ...).

    >>> str(parse_polynomial("-x1^2 + 2^3^2"))
    '-x1^2 + 512'
    """
    R, table = _setup(text, names, nvars, max_degree, max_terms)
    v = _Parser(R, table, max_degree, max_terms, rational=False).parse(text)
    if v.const is not None:
        return R.constant(fmpq(v.const))
    assert v.num is not None and v.den is None
    return v.num


def parse_in(R: Ring, text: str, rational: bool = False, max_degree: int = 1000,
             max_terms: int = 200_000, inferred: bool = False) -> tuple[Poly, Poly]:
    """Read ``text`` in the given ring (its variable names, matched as declared names):
    (numerator, denominator); a denominator other than 1 only when ``rational``.
    ``inferred``: the ring's x1..xD were inferred from the texts (messages then say
    ``x1, x2, ...``)."""
    _check_text(text)
    names = list(ring_names(R))
    default = tuple(names) == default_names(len(names))
    table = _Names(None, len(names), inferred) if default else _Names(names, None)
    v = _Parser(R, table, max_degree, max_terms, rational=rational).parse(text)
    num = v.num if v.const is None else R.constant(fmpq(v.const))
    assert num is not None
    return num, v.den if v.den is not None else R.constant(1)


def split_top_level(text: str, sep: str) -> list[str]:
    """Split ``text`` on ``sep`` outside parentheses and square brackets, e.g. a model spec
    ``"x2,-x1,0;x3,0,-x1"``.

    The pieces are returned unstripped and empty pieces are kept, like :meth:`str.split`.
    Unbalanced brackets are not an error here: a stray closing one is ignored and an unclosed
    one protects the rest of the text, so the error is reported by the parser on that piece.

    >>> split_top_level("x2,-x1,0;x3,(0),-x1", ";")
    ['x2,-x1,0', 'x3,(0),-x1']
    >>> split_top_level("W1[1,2],c", ",")
    ['W1[1,2]', 'c']
    """
    if not isinstance(text, str) or not isinstance(sep, str):
        raise TypeError("text and sep must be str")
    if not sep or any(c in sep for c in "()[]"):
        raise ValueError(f"invalid separator {sep!r}: must be non-empty and without brackets")
    pieces: list[str] = []
    depth = 0
    start = 0
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c in "([":
            depth += 1
        elif c in ")]":
            depth = max(depth - 1, 0)
        elif depth == 0 and text.startswith(sep, i):
            pieces.append(text[start:i])
            i += len(sep)
            start = i
            continue
        i += 1
    pieces.append(text[start:])
    return pieces


def format_polynomial(p: Poly, names: Sequence[str] | None = None) -> str:
    """The text of ``p`` that :func:`parse_polynomial` reads back (``str(p)``, or with other
    variable ``names``).

    >>> format_polynomial(parse_polynomial("x3*x1*(-1/2) + 3"))
    '-1/2*x1*x3 + 3'
    """
    from ..core.polynomials import to_text

    if names is not None:
        check_names(names)
        if len(names) != p.context().nvars():
            raise ValueError(f"{len(names)} names for a polynomial in {p.context().nvars()} "
                             "variables")
    return to_text(p, names)

