"""Safe reader and writer for polynomial expressions over Q.

User text is never evaluated as code: a small tokenizer and an explicit-stack operator-precedence
parser (no recursion, so no :class:`RecursionError`) evaluate the expression directly into the
sparse :data:`~conslaw_flint.polys.Poly` type, exactly, with :class:`fractions.Fraction`
coefficients.  Every problem with the text raises :class:`ParseError` -- a one-line message that
names the offending token, its 1-based character position and how to fix it.

Grammar (loosest binding first)::

    expr    := expr ('+' | '-') expr          left-associative
             | expr ('*' | '/') expr          left-associative
             | ('+' | '-') expr               unary; binds looser than powers: -x1^2 = -(x1^2)
             | atom ('^' | '**') expr         right-associative: 2^3^2 = 2^9; 2^-1 is parsed
                                              (and then refused as a negative exponent)
    atom    := number | variable | '(' expr ')'
    number  := digits ['.' [digits]] [exponent] | '.' digits [exponent]
    exponent:= ('e' | 'E') ['+' | '-'] digits     exact: 2.5e-3 = 1/400

  An ``e``/``E`` right after a number is an exponent only when digits follow (``2e3`` is 2000,
  ``2e`` is the number 2 followed by the name ``e``, refused as implicit multiplication).

* Variables are ``x1, x2, ...`` (1-based in the text, 0-based indices in the result) unless
  ``names`` is given; any other identifier is refused (there are no functions or constants).
* Exponents must evaluate to non-negative integer constants (``x1^(1+1)`` is fine).
* Division is only by non-zero constants; ``x1/x2`` is refused (rational maps are unsupported).
* Implicit multiplication (``2x1``, ``x1 x2``, ``x1(x2)``) is refused.
* Resource guards, all checked *before* the expensive step: text length, parenthesis depth,
  exponent and total degree (``max_degree``), number of terms of any intermediate result
  (``max_terms``; powers are refused from an a-priori bound on their expansion), number of
  term-by-term products in one multiplication (:data:`WORK_FACTOR` times ``max_terms``) and
  coefficient size (:data:`MAX_COEFF_BITS`).

>>> p = parse_polynomial("(x1 - x2)*(x1 + x2) + 0.5*x3")
>>> p == {((0, 2),): Fraction(1), ((1, 2),): Fraction(-1), ((2, 1),): Fraction(1, 2)}
True
>>> format_polynomial(p)
'x1^2 - x2^2 + 1/2*x3'
>>> format_polynomial(parse_polynomial("-a*b/2 + 3", names=["a", "b"]), names=["a", "b"])
'-1/2*a*b + 3'
>>> parse_polynomial("2x1")
Traceback (most recent call last):
    ...
conslaw_flint.parse.ParseError: implicit multiplication at position 2: insert '*' between '2' \
and 'x1' (e.g. 2*x1)
>>> split_top_level("x2,-(x1+x3),0", ",")
['x2', '-(x1+x3)', '0']
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction

from .errors import UserError
from .polys import Monomial, Poly

__all__ = [
    "MAX_COEFF_BITS",
    "MAX_DEPTH",
    "MAX_TEXT_LENGTH",
    "WORK_FACTOR",
    "ParseError",
    "format_polynomial",
    "parse_polynomial",
    "split_top_level",
]

#: longest accepted input text, in characters
MAX_TEXT_LENGTH = 100_000
#: deepest accepted nesting of parentheses (the parser is iterative; this only bounds input size,
#: and is large enough for Horner forms up to the default ``max_degree``)
MAX_DEPTH = 1000
#: largest accepted numerator or denominator of any coefficient, in bits (about 30 000 digits)
MAX_COEFF_BITS = 100_000
#: one multiplication may form at most ``WORK_FACTOR * max(max_terms, 1000)`` term products
WORK_FACTOR = 10

_MAX_LITERAL_DIGITS = int(MAX_COEFF_BITS * 0.30103) + 2  # digits of a MAX_COEFF_BITS integer
_STR_CHUNK_DIGITS = 600  # below the smallest allowed sys.int_max_str_digits (640)
_STR_CHUNK_BITS = 1900  # integers this small have fewer than 600 digits

_WS = frozenset(" \t\r\n\f\v")
_DIGITS = frozenset("0123456789")
_ID_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_ID_CHARS = _ID_START | _DIGITS
_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DEFAULT_VAR_RE = re.compile(r"x([0-9]+)")

# binary operators: precedence, right-associative
_BINARY = {"+": (1, False), "-": (1, False), "*": (2, False), "/": (2, False),
           "^": (4, True), "**": (4, True)}
_UNARY_PREC = 3
_ALLOWED = "+ - * / ^ ** and parentheses are allowed"


class ParseError(UserError):
    """A polynomial expression could not be read.

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


def _int_to_str(n: int) -> str:
    """str() of a non-negative int of any size (independent of int_max_str_digits)."""
    if n.bit_length() <= _STR_CHUNK_BITS:
        return str(n)
    k = int(n.bit_length() * 0.30103) // 2
    q, r = divmod(n, 10**k)
    return _int_to_str(q) + _int_to_str(r).zfill(k)


def _mono_mul(a: Monomial, b: Monomial) -> Monomial:
    """Product of two monomials (fast paths for the common disjoint and univariate cases)."""
    if not a:
        return b
    if not b:
        return a
    if a[-1][0] < b[0][0]:
        return a + b
    if b[-1][0] < a[0][0]:
        return b + a
    if len(a) == 1 and len(b) == 1:
        return ((a[0][0], a[0][1] + b[0][1]),)
    acc = dict(a)
    for v, e in b:
        acc[v] = acc.get(v, 0) + e
    return tuple(sorted(acc.items()))


def _height(c: Fraction) -> int:
    """Bits of the larger of numerator and denominator."""
    return max(c.numerator.bit_length(), c.denominator.bit_length())


def _degree(p: Poly) -> int:
    """Total degree of a non-zero polynomial."""
    return max(sum(e for _, e in m) for m in p)


def _as_constant(p: Poly) -> Fraction | None:
    """The value of a constant polynomial, or None if ``p`` involves a variable."""
    if not p:
        return Fraction(0)
    if len(p) == 1 and () in p:
        return p[()]
    return None


def _check_names(names: Sequence[str]) -> dict[str, int]:
    if isinstance(names, str):
        raise TypeError("names must be a sequence of strings, not a single string")
    index: dict[str, int] = {}
    for i, name in enumerate(names):
        if not isinstance(name, str) or not _IDENT_RE.fullmatch(name):
            raise ValueError(f"invalid variable name {name!r}: use ASCII letters, digits and '_', "
                             "not starting with a digit")
        if name in index:
            raise ValueError(f"duplicate variable name {name!r}")
        index[name] = i
    return index


# ---------------------------------------------------------------------------------------------
# tokenizer


@dataclass(frozen=True)
class _Token:
    kind: str  # "num", "name", "op", "(", ")", "end"
    text: str
    pos: int  # 1-based
    value: Fraction | None = None  # for "num"
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
        # otherwise the 'e' is not an exponent; it is left for the next token
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


def _tokenize(text: str, vars_desc: str) -> Iterator[_Token]:
    """Yield tokens left to right (lazily, so errors come out in reading order)."""
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        if c in _WS:
            i += 1
            continue
        start = i
        if c in _DIGITS or (c == "." and i + 1 < n and text[i + 1] in _DIGITS):
            i, value = _scan_number(text, i)
            yield _Token("num", text[start:i], start + 1, value)
        elif c in _ID_START:
            while i < n and text[i] in _ID_CHARS:
                i += 1
            j = i
            while j < n and text[j] in _WS:
                j += 1
            yield _Token("name", text[start:i], start + 1, call=j < n and text[j] == "(")
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
                hint = " (one polynomial per expression; separate components elsewhere)"
            raise ParseError(f"unexpected character {c!r} at position {start + 1}: only numbers, "
                             f"variables {vars_desc}, {_ALLOWED}{hint}", start + 1)
    yield _Token("end", "", n + 1)


# ---------------------------------------------------------------------------------------------
# parser / evaluator


class _Parser:
    """Operator-precedence (shunting-yard) parser that evaluates while it reduces.

    Every polynomial on the value stack is owned by the parser, so operations may update their
    operands in place (sums accumulate into the larger operand).
    """

    def __init__(self, names: Sequence[str] | None, nvars: int | None, max_degree: int,
                 max_terms: int) -> None:
        self.index = _check_names(names) if names is not None else None
        self.names = list(names) if names is not None else None
        self.nvars = nvars
        self.max_degree = max_degree
        self.max_terms = max_terms
        self.work_limit = WORK_FACTOR * max(max_terms, 1000)

    # -- variables ----------------------------------------------------------------------------

    def vars_desc(self) -> str:
        if self.names is not None:
            if not self.names:
                return "(none declared)"
            shown = ", ".join(self.names[:8])
            return shown + (f", ... ({len(self.names)} names)" if len(self.names) > 8 else "")
        if self.nvars is None:
            return "x1, x2, ..."
        return f"x1..x{self.nvars}" if self.nvars else "(none: nvars=0)"

    def variable(self, tok: _Token) -> int:
        """0-based index of the variable named by ``tok``."""
        name = tok.text
        if self.index is not None:
            idx = self.index.get(name)
            if idx is not None:
                return idx
        else:
            m = _DEFAULT_VAR_RE.fullmatch(name)
            if m is not None:
                digits = m.group(1)
                if digits[0] != "0" and len(digits) <= 9:
                    k = int(digits)
                    if self.nvars is None or k <= self.nvars:
                        return k - 1
                raise ParseError(f"variable {_show(name)} out of range at position {tok.pos}: "
                                 f"the variables are {self.vars_desc()} (1-based, no leading "
                                 "zeros)", tok.pos)
        if tok.call:
            raise ParseError(f"unknown name {_show(name)} at position {tok.pos}: functions are "
                             f"not supported; only numbers, variables {self.vars_desc()}, "
                             f"{_ALLOWED}", tok.pos)
        raise ParseError(f"unknown name {_show(name)} at position {tok.pos}: the variables are "
                         f"{self.vars_desc()} (there are no named constants)", tok.pos)

    # -- main loop ----------------------------------------------------------------------------

    def parse(self, text: str) -> Poly:
        ops: list[tuple[str, int, str]] = []  # (kind, position, source text)
        vals: list[Poly] = []
        depth = 0
        expect_operand = True
        prev: _Token | None = None
        for tok in _tokenize(text, self.vars_desc()):
            if expect_operand:
                if tok.kind == "num":
                    assert tok.value is not None
                    vals.append({(): tok.value} if tok.value else {})
                    expect_operand = False
                elif tok.kind == "name":
                    vals.append({((self.variable(tok), 1),): Fraction(1)})
                    expect_operand = False
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
                        self.variable(tok)  # an unknown name is the better message
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

    def _reduce(self, ops: list[tuple[str, int, str]], vals: list[Poly]) -> None:
        kind, pos, src = ops.pop()
        if kind == "u-":
            p = vals[-1]
            for m in p:
                p[m] = -p[m]
            return
        if kind == "u+":
            return
        b = vals.pop()
        a = vals.pop()
        if kind == "+":
            vals.append(self._add(a, b, pos, 1))
        elif kind == "-":
            vals.append(self._add(a, b, pos, -1))
        elif kind == "*":
            vals.append(self._mul(a, b, pos))
        elif kind == "/":
            vals.append(self._div(a, b, pos))
        else:
            vals.append(self._pow(a, self._exponent(b, pos, src), pos, src))

    # -- guarded arithmetic -------------------------------------------------------------------

    def _too_many_terms(self, what: str, count: str, pos: int) -> ParseError:
        """``count`` is e.g. 'has 12' or 'would give up to 10^6'."""
        return ParseError(f"{what} at position {pos} {count} terms, more than "
                          f"max_terms={self.max_terms}: simplify the expression or raise "
                          "max_terms", pos)

    def _too_big_coefficients(self, pos: int) -> ParseError:
        return ParseError(f"coefficients too large at position {pos}: numerators and "
                          f"denominators are limited to {MAX_COEFF_BITS} bits", pos)

    def _add(self, a: Poly, b: Poly, pos: int, sign: int) -> Poly:
        """a + sign*b, accumulating into the larger operand."""
        if len(a) >= len(b):
            acc, other = a, b
        else:
            if sign < 0:
                for m in b:
                    b[m] = -b[m]
                sign = 1
            acc, other = b, a
        for m, c in other.items():
            v = acc.get(m, 0) + (c if sign > 0 else -c)
            if v:
                if _height(v) > MAX_COEFF_BITS:
                    raise self._too_big_coefficients(pos)
                acc[m] = v
            else:
                acc.pop(m, None)
        if len(acc) > self.max_terms:
            raise self._too_many_terms("sum", f"has {len(acc)}", pos)
        return acc

    def _scale(self, a: Poly, c: Fraction, pos: int) -> Poly:
        """c*a in place, for a non-zero constant c."""
        if c == 1:
            return a
        for m, v in a.items():
            w = v * c
            if _height(w) > MAX_COEFF_BITS:
                raise self._too_big_coefficients(pos)
            a[m] = w
        return a

    @staticmethod
    def _sizes(p: Poly) -> tuple[int, int]:
        """(bits of the largest |numerator|, bits of the lcm of the denominators)."""
        hn = max(c.numerator.bit_length() for c in p.values())
        lcm = math.lcm(*{c.denominator for c in p.values()})
        return hn, lcm.bit_length()

    def _mul(self, a: Poly, b: Poly, pos: int) -> Poly:
        if not a or not b:
            return {}
        ca, cb = _as_constant(a), _as_constant(b)
        if ca is not None:
            return self._scale(b, ca, pos)
        if cb is not None:
            return self._scale(a, cb, pos)
        deg = _degree(a) + _degree(b)
        if deg > self.max_degree:
            raise ParseError(f"degree {deg} of the product at position {pos} exceeds "
                             f"max_degree={self.max_degree}: lower the degree or raise "
                             "max_degree", pos)
        if len(a) * len(b) > self.work_limit:
            raise ParseError(f"product too expensive at position {pos}: {len(a)} x {len(b)} "
                             f"terms exceeds {self.work_limit} term products (see max_terms); "
                             "simplify the expression", pos)
        hna, la = self._sizes(a)
        hnb, lb = self._sizes(b)
        if hna + hnb + la + lb + min(len(a), len(b)).bit_length() > MAX_COEFF_BITS:
            raise self._too_big_coefficients(pos)
        if len(a) == 1 or len(b) == 1:  # monomial times polynomial: no terms merge
            if len(a) != 1:
                a, b = b, a
            ((ma, ca),) = a.items()
            if ca == 1:
                return {_mono_mul(ma, mb): cb for mb, cb in b.items()}
            return {_mono_mul(ma, mb): ca * cb for mb, cb in b.items()}
        # integer arithmetic on a common denominator, one Fraction per result term
        da = math.lcm(*{c.denominator for c in a.values()})
        db = math.lcm(*{c.denominator for c in b.values()})
        ia = [(m, c.numerator * (da // c.denominator)) for m, c in a.items()]
        ib = [(m, c.numerator * (db // c.denominator)) for m, c in b.items()]
        acc: dict[Monomial, int] = {}
        get = acc.get
        limit = self.max_terms
        for ma, va in ia:
            for mb, vb in ib:
                m = _mono_mul(ma, mb)
                acc[m] = get(m, 0) + va * vb
            if len(acc) > limit:  # partial sums count: refuse early, before the work is done
                raise ParseError(f"product at position {pos} has more than max_terms={limit} "
                                 "terms: simplify the expression or raise max_terms", pos)
        den = da * db
        out: Poly = {m: Fraction(v, den) for m, v in acc.items() if v}
        if len(out) > self.max_terms:
            raise self._too_many_terms("product", f"has {len(out)}", pos)
        return out

    def _div(self, a: Poly, b: Poly, pos: int) -> Poly:
        c = _as_constant(b)
        if c is None:
            raise ParseError(f"division by a non-constant expression at position {pos}: clear "
                             "denominators (rational maps are not supported)", pos)
        if c == 0:
            raise ParseError(f"division by zero at position {pos}: the divisor evaluates to 0",
                             pos)
        return self._scale(a, 1 / c, pos)

    def _exponent(self, b: Poly, pos: int, src: str) -> int:
        c = _as_constant(b)
        if c is None:
            raise ParseError(f"non-constant exponent after {src!r} at position {pos}: exponents "
                             "must be non-negative integer constants", pos)
        if c < 0 or c.denominator != 1:
            kind = "negative" if c < 0 else "non-integer"
            shown = _brief_int(c.numerator) + ("" if c.denominator == 1 else
                                               "/" + _brief_int(c.denominator))
            raise ParseError(f"{kind} exponent {shown} after {src!r} at position {pos}: "
                             "exponents must be non-negative integers (rational maps are not "
                             "supported)", pos)
        k = c.numerator
        if k > self.max_degree:
            raise ParseError(f"exponent {_brief_int(k)} after {src!r} at position {pos} exceeds "
                             f"max_degree={self.max_degree}: lower it or raise max_degree", pos)
        return k

    def _pow(self, a: Poly, k: int, pos: int, src: str) -> Poly:
        if k == 0:
            return {(): Fraction(1)}
        if k == 1 or not a:
            return a
        if len(a) == 1:
            ((m, c),) = a.items()
            deg = sum(e for _, e in m) * k
            if deg > self.max_degree:
                raise ParseError(f"degree {deg} of the power {src!r} at position {pos} exceeds "
                                 f"max_degree={self.max_degree}: lower the exponent or raise "
                                 "max_degree", pos)
            if _height(c) * k > MAX_COEFF_BITS:
                raise self._too_big_coefficients(pos)
            return {tuple((v, e * k) for v, e in m): c**k}
        d = _degree(a)
        if d * k > self.max_degree:
            raise ParseError(f"degree {d * k} of the power {src!r} at position {pos} exceeds "
                             f"max_degree={self.max_degree}: lower the exponent or raise "
                             "max_degree", pos)
        # the expansion has at most as many terms as multisets of k terms of a, and at most as
        # many as monomials of degree <= d*k in the variables of a
        t = len(a)
        nv = len({v for m in a for v, _ in m})
        bound = min(math.comb(t + k - 1, k), math.comb(nv + d * k, nv))
        if bound > self.max_terms:
            raise self._too_many_terms(f"expanding the power {src!r}",
                                       f"would give up to {_brief_int(bound)}", pos)
        hn, lb = self._sizes(a)
        if k * (t.bit_length() + hn + lb) > MAX_COEFF_BITS:
            raise self._too_big_coefficients(pos)
        if math.comb(t + k - 1, k) <= self.max_terms:
            return self._multinomial(a, k, pos)
        result: Poly | None = None
        base = a
        while k:
            if k & 1:
                result = base if result is None else self._mul(result, base, pos)
            k >>= 1
            if k:
                base = self._mul(base, base, pos)
        assert result is not None
        return result

    def _multinomial(self, a: Poly, k: int, pos: int) -> Poly:
        """a**k by the multinomial theorem: one step per multiset of k terms of ``a``.

        The number of steps is about twice the number of such multisets, which the caller has
        bounded by ``max_terms``; this beats repeated squaring for sparse sums.
        """
        den = math.lcm(*{c.denominator for c in a.values()})
        terms = [(m, c.numerator * (den // c.denominator)) for m, c in a.items()]
        last = len(terms) - 1
        # powers 0..k of every monomial and (integer) coefficient
        mpow: list[list[Monomial]] = []
        cpow: list[list[int]] = []
        for m, c in terms:
            ms: list[Monomial] = [()]
            cs = [1]
            for j in range(1, k + 1):
                ms.append(tuple((v, e * j) for v, e in m))
                cs.append(cs[-1] * c)
            mpow.append(ms)
            cpow.append(cs)
        acc: dict[Monomial, int] = {}
        # depth-first over (term index, exponent left, coefficient so far, monomial so far);
        # the coefficient carries the multinomial factor as a product of binomials
        stack: list[tuple[int, int, int, Monomial]] = [(0, k, 1, ())]
        while stack:
            i, r, c, m = stack.pop()
            if i == last or r == 0:
                if r:
                    c *= cpow[i][r]
                    m = _mono_mul(m, mpow[i][r])
                acc[m] = acc.get(m, 0) + c
                continue
            for j in range(r + 1):
                stack.append((i + 1, r - j, c * math.comb(r, j) * cpow[i][j],
                              _mono_mul(m, mpow[i][j]) if j else m))
        scale = den**k
        out: Poly = {m: Fraction(v, scale) for m, v in acc.items() if v}
        if len(out) > self.max_terms:  # cannot happen (bounded by the caller); kept as a guard
            raise self._too_many_terms("power", f"has {len(out)}", pos)
        return out


# ---------------------------------------------------------------------------------------------
# public API


def parse_polynomial(text: str, names: Sequence[str] | None = None, nvars: int | None = None,
                     max_degree: int = 1000, max_terms: int = 200_000) -> Poly:
    """Read ``text`` as a polynomial with rational coefficients and expand it exactly.

    Parameters
    ----------
    text:
        The expression, e.g. ``"x1^2 - 1/2*x2*x3 + 0.25"`` (see the module docstring for the
        grammar).  Never evaluated as code.
    names:
        Variable names (ASCII identifiers); ``names[i]`` becomes variable ``i``.  Default:
        ``x1, x2, ...`` with ``xk`` -> index ``k - 1``.
    nvars:
        With default names, the number of variables: ``x1..x{nvars}`` are allowed.  With
        ``names`` it must be ``None`` or ``len(names)``.
    max_degree:
        Largest exponent, and largest total degree of any intermediate result.
    max_terms:
        Largest number of terms of any intermediate result; powers are refused before
        expanding when an a-priori bound on their size exceeds it.

    Returns
    -------
    Poly
        Fully expanded and canonical: a new dict of non-zero ``Fraction`` coefficients.

    Raises
    ------
    ParseError
        For any problem with ``text`` (one-line message with the 1-based position).
    TypeError, ValueError
        For invalid arguments other than ``text`` (bad names, negative limits, ...).

    >>> parse_polynomial("-x1^2 + 2^3^2")
    {((0, 2),): Fraction(-1, 1), (): Fraction(512, 1)}
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    for label, value in (("max_degree", max_degree), ("max_terms", max_terms), ("nvars", nvars)):
        if value is None and label == "nvars":
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{label} must be a non-negative int, not {value!r}")
    if names is not None and nvars is not None and nvars != len(names):
        raise ValueError(f"nvars={nvars} does not match the {len(names)} names given")
    if len(text) > MAX_TEXT_LENGTH:
        raise ParseError(f"expression too long at position {MAX_TEXT_LENGTH + 1}: "
                         f"{len(text)} characters, the limit is {MAX_TEXT_LENGTH}",
                         MAX_TEXT_LENGTH + 1)
    return _Parser(names, nvars, max_degree, max_terms).parse(text)


def _format_coefficient(c: Fraction) -> str:
    """|c| as 'a' or 'a/b'."""
    num = _int_to_str(abs(c.numerator))
    return num if c.denominator == 1 else f"{num}/{_int_to_str(c.denominator)}"


def format_polynomial(p: Poly, names: Sequence[str] | None = None) -> str:
    """Deterministic text of ``p`` that :func:`parse_polynomial` reads back to ``p``.

    Terms are sorted by total degree (descending), then lexicographically with x1 > x2 > ...
    (so ``x1^2`` comes before ``x1*x2`` before ``x2^2``); coefficients
    are printed exactly (``3``, ``-1/2``), powers with ``^`` and products with ``*``.  Variables
    are ``names[i]`` if given, else ``x{i+1}``.  The zero polynomial is ``"0"``.

    >>> format_polynomial({((0, 1), (2, 1)): Fraction(-1, 2), (): Fraction(3)})
    '-1/2*x1*x3 + 3'
    >>> format_polynomial({})
    '0'
    """
    if names is not None:
        _check_names(names)

    def name(i: int) -> str:
        if names is None:
            if i < 0:
                raise ValueError(f"negative variable index {i}")
            return f"x{i + 1}"
        if not 0 <= i < len(names):
            raise ValueError(f"variable index {i} has no name ({len(names)} names given)")
        return names[i]

    terms = sorted(((m, Fraction(c)) for m, c in p.items() if c),
                   key=lambda mc: (-sum(e for _, e in mc[0]),
                                   tuple((v, -e) for v, e in mc[0])))
    if not terms:
        return "0"
    bodies = []
    for m, c in terms:
        factors = [name(v) if e == 1 else f"{name(v)}^{e}" for v, e in m]
        if abs(c) != 1 or not factors:
            factors.insert(0, _format_coefficient(c))
        bodies.append((c < 0, "*".join(factors)))
    return join_signed(bodies)


def join_signed(terms: Sequence[tuple[bool, str]]) -> str:
    """Join (negative, |term| text) pairs as ``a - b + c`` (a leading ``-`` without space).

    >>> join_signed([(True, "x1"), (False, "2*x2"), (True, "3")])
    '-x1 + 2*x2 - 3'
    """
    parts: list[str] = []
    for neg, body in terms:
        if not parts:
            parts.append("-" + body if neg else body)
        else:
            parts.append(("- " if neg else "+ ") + body)
    return " ".join(parts)


def split_top_level(text: str, sep: str) -> list[str]:
    """Split ``text`` on ``sep`` outside parentheses, e.g. a model spec ``"x2,-x1,0;x3,0,-x1"``.

    The pieces are returned unstripped (so offsets can be recovered) and empty pieces are kept,
    like :meth:`str.split`.  Unbalanced parentheses are not an error here: a stray ``')'`` is
    ignored and an unclosed ``'('`` protects the rest of the text, so the error is reported by
    :func:`parse_polynomial` on the affected piece.

    >>> split_top_level("x2,-x1,0;x3,(0),-x1", ";")
    ['x2,-x1,0', 'x3,(0),-x1']
    >>> split_top_level("f(a,b),c", ",")
    ['f(a,b)', 'c']
    """
    if not isinstance(text, str) or not isinstance(sep, str):
        raise TypeError("text and sep must be str")
    if not sep or "(" in sep or ")" in sep:
        raise ValueError(f"invalid separator {sep!r}: must be non-empty and without parentheses")
    pieces: list[str] = []
    depth = 0
    start = 0
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "(":
            depth += 1
        elif c == ")":
            depth = max(depth - 1, 0)
        elif depth == 0 and text.startswith(sep, i):
            pieces.append(text[start:i])
            i += len(sep)
            start = i
            continue
        i += 1
    pieces.append(text[start:])
    return pieces
