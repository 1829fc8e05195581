"""Exports of exact polynomial laws: SymPy, LaTeX, NumPy and PyTorch.

A law is a :data:`~conslaw_flint.polys.Poly` (monomial -> :class:`fractions.Fraction`), as
returned by :func:`~conslaw_flint.count_laws` (``res.laws``) or
:func:`~conslaw_flint.polynomial_laws` (``res.basis``).  Variables are 0-based indices; the
optional ``names`` (e.g. ``model.names``: ``W1[1,2]``, ``b1[3]``) are used for display.

* :func:`to_sympy` and :func:`to_latex` are exact (rational coefficients).
* :func:`to_numpy` and :func:`to_torch` evaluate in **floating point** from the exact
  coefficients converted to float.  They are meant for monitoring a law during training (is
  h(theta_t) still h(theta_0)?), never for deciding a rank or a count: every rank in this
  library is computed exactly elsewhere.

>>> from fractions import Fraction
>>> h = {((0, 2),): Fraction(1), ((3, 2),): Fraction(-1)}          # x1^2 - x4^2
>>> to_latex(h)
'x_{1}^{2} - x_{4}^{2}'
>>> to_latex(h, ["W1[1,1]", "W1[1,2]", "W2[1,1]", "b1[1]"])
'{W^{(1)}_{1,1}}^{2} - {b^{(1)}_{1}}^{2}'
>>> to_sympy(h)
x1**2 - x4**2
>>> import numpy as np
>>> float(to_numpy(h)(np.array([3.0, 0.0, 0.0, 1.0])))
8.0
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from .parse import join_signed
from .polys import Poly

if TYPE_CHECKING:  # SymPy is imported on first use: it costs a quarter second
    import sympy

__all__ = [
    "latex_name",
    "numpy_map",
    "to_latex",
    "to_numpy",
    "to_sympy",
    "to_torch",
]

_NET_NAME = re.compile(r"^([A-Za-z]+)(\d+)\[(\d+(?:,\d+)*)\]$")
_INDEXED = re.compile(r"^([A-Za-z]+)(\d+)$")


def _name(i: int, names: Sequence[str] | None) -> str:
    if names is None:
        return f"x{i + 1}"
    if not 0 <= i < len(names):
        raise ValueError(f"variable index {i} has no name ({len(names)} names given)")
    return names[i]


def _ordered_terms(h: Poly) -> list[tuple[Any, Fraction]]:
    """Terms in the order of :func:`conslaw_flint.parse.format_polynomial` (degree descending,
    then lexicographic with x1 > x2 > ...)."""
    return sorted(((m, Fraction(c)) for m, c in h.items() if c),
                  key=lambda mc: (-sum(e for _, e in mc[0]), tuple((v, -e) for v, e in mc[0])))


# ---------------------------------------------------------------------------------------------
# exact exports


def to_sympy(h: Poly, names: Sequence[str] | None = None) -> sympy.Expr:
    """The law as an exact SymPy expression (symbols ``x1..xD`` or ``names``).

    Names that are not Python identifiers (``W1[1,2]``) become symbols with that exact name.
    """
    import sympy

    syms: dict[int, sympy.Symbol] = {}

    def sym(i: int) -> sympy.Symbol:
        if i not in syms:
            syms[i] = sympy.Symbol(_name(i, names))
        return syms[i]

    terms = []
    for m, c in _ordered_terms(h):
        term: sympy.Expr = sympy.Rational(c.numerator, c.denominator)
        for v, e in m:
            term = term * sym(v) ** e
        terms.append(term)
    return sympy.Add(*terms) if terms else sympy.Integer(0)


def latex_name(name: str) -> str:
    """LaTeX of one variable name: ``W1[1,2]`` -> ``W^{(1)}_{1,2}``, ``b1[3]`` ->
    ``b^{(1)}_{3}``, ``x5`` -> ``x_{5}``; other names are kept (underscores escaped).

    >>> latex_name("W2[3,1]"), latex_name("b1[3]"), latex_name("x12"), latex_name("u")
    ('W^{(2)}_{3,1}', 'b^{(1)}_{3}', 'x_{12}', 'u')
    """
    m = _NET_NAME.match(name)
    if m:
        return f"{m.group(1)}^{{({m.group(2)})}}_{{{m.group(3)}}}"
    m = _INDEXED.match(name)
    if m:
        return f"{m.group(1)}_{{{m.group(2)}}}"
    return name.replace("_", r"\_")


def _latex_coefficient(c: Fraction) -> str:
    a = abs(c)
    return str(a.numerator) if a.denominator == 1 else rf"\frac{{{a.numerator}}}{{{a.denominator}}}"


def to_latex(h: Poly, names: Sequence[str] | None = None) -> str:
    """The law in LaTeX (exact coefficients, ``\\frac`` for fractions), terms in the order of
    the text form.  Network names are typeset as ``W^{(l)}_{i,j}`` and ``b^{(l)}_{i}``; a power
    of such a name is braced (``{W^{(1)}_{1,1}}^{2}``) so that it is valid LaTeX."""
    terms = _ordered_terms(h)
    if not terms:
        return "0"
    parts: list[tuple[bool, str]] = []
    for m, c in terms:
        factors = []
        for v, e in m:
            base = latex_name(_name(v, names))
            if e == 1:
                factors.append(base)
            elif "^" in base:
                factors.append(f"{{{base}}}^{{{e}}}")
            else:
                factors.append(f"{base}^{{{e}}}")
        if abs(c) != 1 or not factors:
            factors.insert(0, _latex_coefficient(c))
        parts.append((c < 0, " ".join(factors)))
    return join_signed(parts)


# ---------------------------------------------------------------------------------------------
# floating-point evaluators


class _TermTable:
    """All terms of a list of polynomials as padded arrays: variable indices and exponents
    (T, K), float coefficients (T,), output index (T,), terms sorted by output."""

    def __init__(self, polys: Sequence[Poly]) -> None:
        rows = [(k, m, c) for k, p in enumerate(polys) for m, c in p.items() if c]
        K = max((len(m) for _, m, _ in rows), default=0)
        T = len(rows)
        self.n_out = len(polys)
        self.idx = np.zeros((T, max(K, 1)), dtype=np.int64)
        self.exp = np.zeros((T, max(K, 1)), dtype=np.int64)
        self.coef = np.zeros(T, dtype=np.float64)
        self.out = np.zeros(T, dtype=np.int64)
        for t, (k, m, c) in enumerate(rows):
            self.out[t] = k
            self.coef[t] = float(Fraction(c))
            for s, (v, e) in enumerate(m):
                self.idx[t, s] = v
                self.exp[t, s] = e
        self.n_vars = int(self.idx.max()) + 1 if T else 0
        self.starts = np.searchsorted(self.out, np.arange(self.n_out))
        self.nonempty = np.bincount(self.out, minlength=self.n_out) > 0


def numpy_map(polys: Sequence[Poly]) -> Callable[[np.ndarray], np.ndarray]:
    """Vectorised float evaluator of several polynomials: ``f(theta)`` with ``theta`` of shape
    ``(..., D)`` returns shape ``(..., len(polys))``.

    Floating point (exact coefficients converted to float): for monitoring and pictures, not
    for ranks.  Useful for a map phi and its Jacobian (pass the partial derivatives).
    """
    table = _TermTable(polys)

    def f(theta: np.ndarray) -> np.ndarray:
        x = np.asarray(theta, dtype=np.float64)
        if x.ndim == 0:
            raise ValueError("theta must have a last axis of length D")
        if x.shape[-1] < table.n_vars:
            raise ValueError(f"theta has {x.shape[-1]} coordinates, the polynomials use "
                             f"{table.n_vars}")
        batch = x.shape[:-1]
        out = np.zeros((*batch, table.n_out), dtype=np.float64)
        if len(table.coef) == 0:
            return out
        vals = np.prod(x[..., table.idx] ** table.exp, axis=-1) * table.coef    # (..., T)
        sums = np.add.reduceat(vals, table.starts[table.nonempty], axis=-1)
        out[..., table.nonempty] = sums
        return out

    return f


def to_numpy(h: Poly) -> Callable[[np.ndarray], np.ndarray]:
    """A NumPy function ``f(theta)`` of the law, vectorised over ``theta`` of shape
    ``(..., D)`` (returns shape ``(...)``).

    The function evaluates in float64 from the exact coefficients converted to float.  This is
    an export for monitoring a law during training (plot ``|h(theta_t) - h(theta_0)|``), not a
    rank or count decision: those are exact elsewhere in the library.
    """
    g = numpy_map([h])

    def f(theta: np.ndarray) -> np.ndarray:
        return g(theta)[..., 0]

    return f


def to_torch(h: Poly) -> Callable[[Any], Any]:
    """A differentiable PyTorch function ``f(theta)`` of the law for tensors of shape
    ``(..., D)`` (returns shape ``(...)``), in the dtype and on the device of ``theta``.

    Floating point, like :func:`to_numpy`: for monitoring or regularising training, not for
    ranks.  Needs PyTorch: ``pip install conslaw_flint[torch]``.
    """
    try:
        import torch
    except ImportError:
        raise ImportError("to_torch needs PyTorch, which is not installed: "
                          "pip install conslaw_flint[torch]") from None
    table = _TermTable([h])
    idx = torch.as_tensor(table.idx)
    exp = torch.as_tensor(table.exp)
    coef = torch.as_tensor(table.coef)

    def f(theta: Any) -> Any:
        c = coef.to(dtype=theta.dtype, device=theta.device)
        if c.numel() == 0:
            return theta.sum(dim=-1) * 0
        vals = theta[..., idx.to(theta.device)] ** exp.to(theta.device)
        return (vals.prod(dim=-1) * c).sum(dim=-1)

    return f
