"""Exact verification of conservation laws: <grad h, X_i> = 0 identically, for every i.

A compiled form (NumPy), not a polynomial type: checking one law against every generator of a
network with tens of thousands of paths costs one vectorised pass here, against one FLINT
product per (law, generator) pair otherwise.  Laws are FLINT polynomials or the solver's
compiled form (``SparsePoly``: monomial -> Fraction).

>>> from conslaw_flint.models import build_model
>>> m = build_model("product:3")
>>> x1, x2, x3 = m.gens()
>>> LawChecker(m.family).check_many([x1**2 - x2**2, x1 * x2])
[True, False]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from ..core import budget
from ..core.fields import FieldFamily
from ..core.polynomials import Monomial, Poly, integer_terms

SparsePoly = dict[Monomial, Fraction]


class LawChecker:
    """Exact check of <grad h, X_i> = 0 for every generator X_i, over Q.

    Generators are scaled to integer coefficients (which does not change the laws) and so is
    the law.  All terms of all components are tabulated once: component variable, generator,
    integer coefficient and the monomial as a sorted list of variable indices.  For a law h,
    every product (term of d_k h) x (term of X_i,k) becomes one row (generator, monomial,
    coefficient); rows are grouped by (generator, monomial) and summed with int64 arithmetic
    whose bound is checked first (exact; Python integers otherwise).  h is a law iff every
    sum is zero.
    """

    def __init__(self, family: FieldFamily) -> None:
        self.D = family.D
        table = family.term_table()
        coef = table.coef
        if coef.dtype != np.int64:
            # scale each generator by the lcm of its denominators (laws unchanged)
            den = [1] * table.n_fields
            for f, c in zip(table.t_field.tolist(), coef, strict=True):
                q = Fraction(c).denominator
                den[f] = den[f] * q // math.gcd(den[f], q)
            ints = [int(Fraction(c) * den[f]) for f, c in zip(table.t_field.tolist(), coef,
                                                               strict=True)]
        else:
            ints = coef.tolist()
        order = np.argsort(table.t_comp, kind="stable")
        self.var = table.t_comp[order]
        self.fld = table.t_field[order]
        self.coef_py = [ints[t] for t in order.tolist()]
        self.max_coef = max((abs(c) for c in ints), default=0)
        self.coef = (np.array(self.coef_py, dtype=np.int64) if self.max_coef < 2**62
                     else None)
        self.mono = table.multisets()[order]
        self.bounds = np.searchsorted(self.var, np.arange(self.D + 1))

    def check(self, h: Poly | SparsePoly) -> bool:
        """True iff h is a conservation law (exact)."""
        return self.check_many([h])[0]

    def check_many(self, laws: Sequence[Poly | SparsePoly]) -> list[bool]:
        """For each h (FLINT or compiled form): True iff h is a conservation law (exact; one
        vectorised pass)."""
        g_law, g_var, g_coef, g_mono = [], [], [], []
        for n, h in enumerate(laws):
            budget.tick()
            for m, c in _int_terms(h):
                flat = [v for v, e in m for _ in range(e)]
                for k, e in m:
                    if self.bounds[k] == self.bounds[k + 1]:
                        continue  # no generator has a component k
                    pos = flat.index(k)
                    g_law.append(n)
                    g_var.append(k)
                    g_coef.append(c * e)
                    g_mono.append(flat[:pos] + flat[pos + 1:])
        ok = [True] * len(laws)
        if not g_var:
            return ok
        gv = np.array(g_var, dtype=np.int64)
        lo = self.bounds[gv]
        cnt = self.bounds[gv + 1] - lo
        rows = int(cnt.sum())
        gw = max(len(m) for m in g_mono)
        which = np.repeat(np.arange(len(g_var)), cnt)
        idx = np.repeat(lo, cnt) + np.arange(rows) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        gm = np.full((len(g_var), gw), self.D, dtype=np.int64)
        for r, mono_r in enumerate(g_mono):
            gm[r, :len(mono_r)] = mono_r
        mono = np.sort(np.concatenate([gm[which], self.mono[idx]], axis=1), axis=1)
        law = np.array(g_law, dtype=np.int64)[which]
        n_fields = int(self.fld.max(initial=0)) + 1
        base = self.D + 1
        if len(laws) * n_fields * base ** mono.shape[1] < 2**62:
            key = law * n_fields + self.fld[idx]   # pack (law, generator, monomial)
            for j in range(mono.shape[1]):
                key = key * base + mono[:, j]
            _, first, inv = np.unique(key, return_index=True, return_inverse=True)
        else:
            keys = np.concatenate([law[:, None], self.fld[idx][:, None], mono], axis=1)
            _, first, inv = np.unique(keys, axis=0, return_index=True, return_inverse=True)
        inv = inv.reshape(-1)
        max_g = max(abs(c) for c in g_coef)
        if self.coef is not None and max_g * self.max_coef * rows < 2**62:
            gc = np.array(g_coef, dtype=np.int64)
            sums = np.zeros(len(first), dtype=np.int64)
            np.add.at(sums, inv, gc[which] * self.coef[idx])
            bad = np.flatnonzero(sums)
        else:
            acc: dict[int, int] = {}
            for r in range(rows):  # exact fallback with Python integers
                key_r = int(inv[r])
                acc[key_r] = acc.get(key_r, 0) + g_coef[int(which[r])] * self.coef_py[int(idx[r])]
            bad = np.array([k for k, v in acc.items() if v], dtype=np.int64)
        for n in set(law[first[bad]].tolist()):
            ok[n] = False
        return ok


def _int_terms(p: Poly | SparsePoly) -> list[tuple[Monomial, int]]:
    """Terms of p scaled by the lcm of its denominators (same zero set of identities)."""
    if not isinstance(p, dict):
        return integer_terms(p)
    den = 1
    for c in p.values():
        den = den * c.denominator // math.gcd(den, c.denominator)
    return [(m, int(c * den)) for m, c in p.items()]


__all__ = ["LawChecker", "SparsePoly"]
