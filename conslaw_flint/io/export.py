"""Exports of exact polynomial laws: SymPy, LaTeX, NumPy and PyTorch.

A law is a FLINT polynomial in the model's ring (``res.laws``, ``res.basis``); variables are
numbered in the ring's order and named by it (``names`` overrides the names for display).

* :func:`to_sympy` and :func:`to_latex` are exact (rational coefficients).
* :func:`to_numpy` and :func:`to_torch` evaluate in **floating point** from the exact
  coefficients converted to float.  They are meant for monitoring a law during training (is
  h(theta_t) still h(theta_0)?), never for deciding a rank or a count: every rank in this
  library is computed exactly elsewhere.

>>> from conslaw_flint.core.polynomials import ring
>>> x1, x2, x3, x4 = ring(["x1", "x2", "x3", "x4"]).gens()
>>> h = x1**2 - x4**2
>>> to_latex(h)
'x_{1}^{2} - x_{4}^{2}'
>>> to_sympy(h)
x1**2 - x4**2
>>> import numpy as np
>>> float(to_numpy(h)(np.array([3.0, 0.0, 0.0, 1.0])))
8.0
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.polynomials import Poly, ring_names, to_fraction
from ..core.polynomials import to_latex as _to_latex

if TYPE_CHECKING:  # SymPy is imported on first use: it costs a quarter second
    import sympy

__all__ = ["numpy_map", "to_latex", "to_numpy", "to_sympy", "to_torch"]


def to_sympy(h: Poly, names: Sequence[str] | None = None) -> sympy.Expr:
    """The polynomial as an exact SymPy expression (symbols named after the ring, or
    ``names``); names that are not identifiers (``W1[1,2]``) become symbols of that name."""
    import sympy

    names = list(names) if names is not None else list(ring_names(h.context()))
    syms = [sympy.Symbol(n) for n in names]
    terms = []
    for exps, c in h.terms():
        q = to_fraction(c)
        term: sympy.Expr = sympy.Rational(q.numerator, q.denominator)
        for v, e in enumerate(exps):
            if e:
                term = term * syms[v] ** e
        terms.append(term)
    return sympy.Add(*terms) if terms else sympy.Integer(0)


def to_latex(h: Poly, names: Sequence[str] | None = None) -> str:
    r"""The polynomial in LaTeX (exact coefficients, ``\frac`` for fractions); network names
    are typeset as ``W^{(l)}_{i,j}`` and ``b^{(l)}_{i}``."""
    return _to_latex(h, names)


class _TermTable:
    """All terms of a list of polynomials as padded arrays: variable indices and exponents
    (T, K), float coefficients (T,), output index (T,), terms sorted by output."""

    def __init__(self, polys: Sequence[Poly]) -> None:
        rows = []
        for k, p in enumerate(polys):
            for exps, c in p.terms():
                m = [(v, e) for v, e in enumerate(exps) if e]
                rows.append((k, m, float(to_fraction(c))))
        K = max((len(m) for _, m, _ in rows), default=0)
        T = len(rows)
        self.n_out = len(polys)
        self.idx = np.zeros((T, max(K, 1)), dtype=np.int64)
        self.exp = np.zeros((T, max(K, 1)), dtype=np.int64)
        self.coef = np.zeros(T, dtype=np.float64)
        self.out = np.zeros(T, dtype=np.int64)
        for t, (k, m, c) in enumerate(rows):
            self.out[t] = k
            self.coef[t] = c
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
    for ranks.
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
    ``(..., D)`` (returns shape ``(...)``); float64, for monitoring, not for ranks."""
    g = numpy_map([h])

    def f(theta: np.ndarray) -> np.ndarray:
        return g(theta)[..., 0]

    return f


def to_torch(h: Poly | Sequence[Poly]) -> Callable[[Any], Any]:
    """A differentiable PyTorch function ``f(theta)`` of a law (or of several: then the last
    axis of the result indexes them) for tensors of shape ``(..., D)``, in the dtype and on
    the device of ``theta``.

    Floating point, like :func:`to_numpy`: for monitoring or regularising training, not for
    ranks.  Needs PyTorch: ``pip install 'conslaw_flint[torch]'``.
    """
    try:
        import torch
    except ImportError:
        raise ImportError("to_torch needs PyTorch, which is not installed: "
                          "pip install 'conslaw_flint[torch]'") from None
    single = not isinstance(h, (list, tuple))
    table = _TermTable([h] if single else list(h))
    idx = torch.as_tensor(table.idx)
    exp = torch.as_tensor(table.exp)
    coef = torch.as_tensor(table.coef)
    out_idx = torch.as_tensor(table.out)

    def f(theta: Any) -> Any:
        c = coef.to(dtype=theta.dtype, device=theta.device)
        batch = theta.shape[:-1]
        res = theta.new_zeros((*batch, table.n_out))
        if c.numel():
            vals = (theta[..., idx.to(theta.device)] ** exp.to(theta.device)).prod(dim=-1) * c
            res = res.index_add(-1, out_idx.to(theta.device), vals)
        return res[..., 0] if single else res

    return f
