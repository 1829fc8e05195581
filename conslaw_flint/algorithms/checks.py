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
    the law.  The terms of the components a law touches are tabulated (component, generator,
    integer coefficient, monomial as a sorted row of variable indices) -- for gradient
    families straight from the potentials: component k of grad phi has the terms c*e*x^(m-e_k)
    of the terms c*x^m of phi with e = m_k > 0, so the gradient table (a factor of the degree
    larger; D^2 entries for phi = x1...xD) is never built.  For a law h, every product
    (term of d_k h) x (term of X_i,k) becomes one row (generator, monomial, coefficient); rows
    are grouped by (generator, monomial) and summed with int64 arithmetic whose bound is
    checked first (exact; Python integers otherwise).  h is a law iff every sum is zero.
    """

    def __init__(self, family: FieldFamily) -> None:
        self.D = family.D
        self.family = family
        self.gradient = family.is_gradient
        t = family.potential_table() if self.gradient else family.term_table()
        self.t = t
        coef = t.coef
        if coef.dtype != np.int64:
            # scale each generator by the lcm of its denominators (laws unchanged)
            den = [1] * t.n_fields
            for f, c in zip(t.t_field.tolist(), coef, strict=True):
                q = Fraction(c).denominator
                den[f] = den[f] * q // math.gcd(den[f], q)
            self.ints = [int(Fraction(c) * den[f]) for f, c in zip(t.t_field.tolist(), coef,
                                                                    strict=True)]
        else:
            self.ints = coef.tolist()
        # entries (gradient families) or terms (fields) grouped by component
        key = t.e_var if self.gradient else t.t_comp
        self.order = np.argsort(key, kind="stable")
        self.bounds = np.searchsorted(key[self.order], np.arange(self.D + 1))
        if self.gradient:
            self.e_start = np.searchsorted(t.e_term, np.arange(t.n_terms + 1))
        self._comp: dict[int, tuple[np.ndarray, list[int], np.ndarray]] = {}
        # every potential a single monomial (path liftings, products): laws can be checked
        # against the distinct restrictions of the monomials to the law's variables
        self.monomial = (self.gradient and t.n_terms == t.n_fields
                         and bool((np.bincount(t.t_field, minlength=t.n_fields) == 1).all()))
        #: above this many (law term x generator term) rows, check by restrictions
        self.restrict_above = 2_000_000

    def _component(self, k: int) -> tuple[np.ndarray, list[int], np.ndarray]:
        """(generators, integer coefficients, monomial rows padded with D) of the terms of
        component k of every generator."""
        got = self._comp.get(k)
        if got is not None:
            return got
        t = self.t
        sel = self.order[self.bounds[k]:self.bounds[k + 1]]
        if not self.gradient:
            rows = t.multisets_of(sel)
            out = (t.t_field[sel], [self.ints[i] for i in sel.tolist()], rows)
        else:
            terms = t.e_term[sel]
            exps = t.e_exp[sel]
            rows = t.multisets_of(terms, lower=k)
            out = (t.t_field[terms],
                   [self.ints[i] * e for i, e in zip(terms.tolist(), exps.tolist(),
                                                      strict=True)], rows)
        self._comp[k] = out
        return out

    def has_component(self, k: int) -> bool:
        return bool(self.bounds[k] < self.bounds[k + 1])

    def check(self, h: Poly | SparsePoly) -> bool:
        """True iff h is a conservation law (exact)."""
        return self.check_many([h])[0]

    def restrictions(self, S: Sequence[int]) -> np.ndarray:
        """The distinct restrictions x^(m|S) of the monomials x^m of the potentials that
        touch the variables S, as rows of variables with repetition padded with D (monomial
        potentials only).  Only the entries on S are read (the table is indexed by
        variable), so the cost is the number of (path, variable of S) incidences."""
        t = self.t
        S = sorted(set(S))
        sel = np.concatenate([self.order[self.bounds[k]:self.bounds[k + 1]] for k in S]) \
            if S else np.zeros(0, dtype=np.int64)
        if len(sel) == 0:
            return np.zeros((0, 1), dtype=np.int64)
        term = t.e_term[sel]
        var = np.repeat(t.e_var[sel], t.e_exp[sel])
        term = np.repeat(term, t.e_exp[sel])
        o = np.lexsort((var, term))
        term, var = term[o], var[o]
        pos = np.arange(len(term)) - np.searchsorted(term, term)
        uterm, tidx = np.unique(term, return_inverse=True)
        rows = np.full((len(uterm), int(pos.max()) + 1), self.D, dtype=np.int64)
        rows[tidx.reshape(-1), pos] = var
        return np.unique(rows, axis=0)

    def check_restricted(self, h: Poly | SparsePoly) -> bool:
        """h is a law of a family of monomial potentials phi_i = c_i x^(m_i) iff
        <grad h, grad x^r> = 0 for every distinct restriction r = m_i|S, S the variables
        of h: for k in S, d_k x^m = x^(m|S^c) d_k x^(m|S), so <grad h, grad phi_i> =
        c_i x^(m_i|S^c) <grad h, grad x^(m_i|S)>, zero iff the second factor is.  Thousands
        of paths through a neuron have a few dozen distinct restrictions; they form a small
        family of monomial potentials, checked by the vectorised pass."""
        from ..core.fields import FieldFamily
        from ..core.tables import TermTable

        terms = _int_terms(h)
        S = sorted({v for m, _ in terms for v, _ in m})
        if not S:
            return True
        rows = self.restrictions(S)
        n, w = rows.shape
        real = rows < self.D
        e_term = np.repeat(np.arange(n, dtype=np.int64), w)[real.ravel()]
        e_var = rows.ravel()[real.ravel()]
        table = TermTable(self.D, n, np.arange(n, dtype=np.int64),
                          np.full(n, -1, dtype=np.int64), np.ones(n, dtype=np.int64),
                          e_term, e_var, np.ones(len(e_var), dtype=np.int64))
        sub = LawChecker(FieldFamily(self.family.ring, potential_table=table))
        sub.restrict_above = 1 << 62
        return sub.check_many([h])[0]

    def check_many(self, laws: Sequence[Poly | SparsePoly]) -> list[bool]:
        """For each h (FLINT or compiled form): True iff h is a conservation law (exact; one
        vectorised pass, or by restrictions for monomial potentials when that pass would be
        large)."""
        if self.monomial and laws:
            rows = 0
            for h in laws:
                for m, _ in _int_terms(h):
                    for k, _ in m:
                        rows += int(self.bounds[k + 1] - self.bounds[k])
            if rows > self.restrict_above:
                return [self.check_restricted(h) for h in laws]
        g_law, g_var, g_coef, g_mono = [], [], [], []
        for n, h in enumerate(laws):
            budget.tick()
            for m, c in _int_terms(h):
                flat = [v for v, e in m for _ in range(e)]
                for k, e in m:
                    if not self.has_component(k):
                        continue  # no generator has a component k
                    pos = flat.index(k)
                    g_law.append(n)
                    g_var.append(k)
                    g_coef.append(c * e)
                    g_mono.append(flat[:pos] + flat[pos + 1:])
        ok = [True] * len(laws)
        if not g_var:
            return ok
        comps = sorted(set(g_var))
        parts = [self._component(k) for k in comps]
        fld = np.concatenate([q[0] for q in parts])
        coef_py = [c for q in parts for c in q[1]]
        width = max(q[2].shape[1] for q in parts)
        mono_c = np.full((len(fld), width), self.D, dtype=np.int64)
        start = 0
        for q in parts:
            mono_c[start:start + len(q[0]), :q[2].shape[1]] = q[2]
            start += len(q[0])
        sizes = np.array([len(q[0]) for q in parts], dtype=np.int64)
        local = {k: i for i, k in enumerate(comps)}
        cstart = np.concatenate([[0], np.cumsum(sizes)])
        max_coef = max((abs(c) for c in coef_py), default=0)
        gv = np.array([local[k] for k in g_var], dtype=np.int64)
        lo = cstart[gv]
        cnt = sizes[gv]
        rows = int(cnt.sum())
        budget.reserve(rows * (width + 8) * 8 * 4, "the exact check of the laws",
                       "check fewer laws at once")
        gw = max(len(m) for m in g_mono)
        which = np.repeat(np.arange(len(g_var)), cnt)
        idx = np.repeat(lo, cnt) + np.arange(rows) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        gm = np.full((len(g_var), max(gw, 1)), self.D, dtype=np.int64)
        for r, mono_r in enumerate(g_mono):
            gm[r, :len(mono_r)] = mono_r
        mono = np.sort(np.concatenate([gm[which], mono_c[idx]], axis=1), axis=1)
        law = np.array(g_law, dtype=np.int64)[which]
        n_fields = int(fld.max(initial=0)) + 1
        base = self.D + 1
        if math.log2(len(laws) * n_fields) + mono.shape[1] * math.log2(base) < 62:
            key = law * n_fields + fld[idx]   # pack (law, generator, monomial)
            for j in range(mono.shape[1]):
                key = key * base + mono[:, j]
            _, first, inv = np.unique(key, return_index=True, return_inverse=True)
        else:
            keys = np.concatenate([law[:, None], fld[idx][:, None], mono], axis=1)
            _, first, inv = np.unique(keys, axis=0, return_index=True, return_inverse=True)
        inv = inv.reshape(-1)
        max_g = max(abs(c) for c in g_coef)
        if max_coef < 2**62 and max_g * max_coef * rows < 2**62:
            gc = np.array(g_coef, dtype=np.int64)
            cc = np.array(coef_py, dtype=np.int64)
            sums = np.zeros(len(first), dtype=np.int64)
            np.add.at(sums, inv, gc[which] * cc[idx])
            bad = np.flatnonzero(sums)
        else:
            acc: dict[int, int] = {}
            for r in range(rows):  # exact fallback with Python integers
                key_r = int(inv[r])
                acc[key_r] = acc.get(key_r, 0) + g_coef[int(which[r])] * coef_py[int(idx[r])]
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
