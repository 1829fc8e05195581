"""Compiled forms of polynomial families: NumPy term tables, exact and modulo a prime.

These are not a second polynomial type: they are derived from the FLINT polynomials of a
model (or emitted directly by the network builders, which never need the FLINT form of a
million-path lifting) and exist because one vectorised pass over all terms of a family beats
one FLINT call per polynomial by orders of magnitude when the family has thousands of members
in hundreds of variables (evaluating one FLINT polynomial at a point costs O(D)).

* :class:`TermTable` -- all terms of a list of fields (or of scalar polynomials, component
  ``-1``), exact coefficients; :meth:`TermTable.gradient` turns the table of potentials
  phi_i into the table of their gradient fields.
* :class:`ModTable` -- a table reduced modulo a prime p: values, Jacobians and contracted
  Hessians of many fields at a point in a few vectorised passes.

>>> import flint
>>> from conslaw_flint.core.polynomials import ring
>>> x1, x2 = ring(["x1", "x2"]).gens()
>>> phi = TermTable.from_scalars([x1 * x2], 2)       # phi = x1*x2
>>> grad = phi.gradient()                            # (x2, x1)
>>> ModTable(grad, 101).values_dense(np.array([3, 5])).tolist()
[[5, 3]]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from . import linalg
from .polynomials import Monomial, terms, to_fraction


def _powmod(base: np.ndarray, exp: np.ndarray, p: int) -> np.ndarray:
    result = np.ones_like(base)
    b = base % p
    e = exp.copy()
    while e.any():
        odd = (e & 1).astype(bool)
        result[odd] = result[odd] * b[odd] % p
        e >>= 1
        b = b * b % p
    return result


class TermTable:
    """All terms of a list of fields as NumPy arrays (exact coefficients).

    Term t belongs to field ``t_field[t]`` and component ``t_comp[t]``, has coefficient
    ``coef[t]`` (an int64 array when every coefficient is a small integer, else an object
    array of Fractions) and monomial given by the entries ``e_term == t`` (variables
    ``e_var``, exponents ``e_exp``; entries sorted by term, ``e_pos`` their rank inside it).
    Built once per family and shared by every prime (:class:`ModTable`) and by the exact law
    checker.
    """

    def __init__(self, D: int, n_fields: int, t_field: np.ndarray, t_comp: np.ndarray,
                 coef: np.ndarray, e_term: np.ndarray, e_var: np.ndarray,
                 e_exp: np.ndarray) -> None:
        self.D, self.n_fields = D, n_fields
        self.t_field, self.t_comp, self.coef = t_field, t_comp, coef
        order = np.argsort(e_term, kind="stable")
        self.e_term, self.e_var, self.e_exp = e_term[order], e_var[order], e_exp[order]
        starts = np.searchsorted(self.e_term, np.arange(len(t_field)))
        self.e_pos = np.arange(len(self.e_term)) - starts[self.e_term]

    @property
    def n_terms(self) -> int:
        return len(self.t_field)

    @staticmethod
    def _coefs(values: list[Fraction]) -> np.ndarray:
        """int64 coefficients when all are small integers, else an object array."""
        if all(c.denominator == 1 and abs(c.numerator) < 2**62 for c in values):
            return np.array([c.numerator for c in values], dtype=np.int64)
        return np.array(values, dtype=object)

    @staticmethod
    def from_sparse(items: Sequence[Sequence[tuple[int, Sequence[tuple[Monomial, Any]]]]],
                    D: int) -> TermTable:
        """Table of ``items[i]`` = list of (component, list of (monomial, coefficient)); the
        component is ``-1`` for scalar polynomials."""
        tf, tc, tk, et, ev, ee = [], [], [], [], [], []
        t = 0
        for i, comps in enumerate(items):
            for k, ts in comps:
                for m, c in ts:
                    tf.append(i)
                    tc.append(k)
                    tk.append(Fraction(c))
                    for v, e in m:
                        et.append(t)
                        ev.append(v)
                        ee.append(e)
                    t += 1
        arr = [np.array(a, dtype=np.int64) for a in (tf, tc, et, ev, ee)]
        return TermTable(D, len(items), arr[0], arr[1], TermTable._coefs(tk), *arr[2:])

    @staticmethod
    def from_fields(fields: Sequence[Mapping[int, Any]], D: int) -> TermTable:
        """Table of fields given as {component: FLINT polynomial} (or any mapping with
        ``items()``, e.g. a :class:`~conslaw_flint.core.fields.VectorField`)."""
        return TermTable.from_sparse([[(k, terms(c)) for k, c in f.items()] for f in fields],
                                     D)

    @staticmethod
    def from_scalars(polys: Sequence[Any], D: int) -> TermTable:
        """Table of scalar FLINT polynomials (component ``-1``), e.g. potentials or laws."""
        return TermTable.from_sparse([[(-1, terms(q))] for q in polys], D)

    def gradient(self) -> TermTable:
        """The table of the gradient fields of a table of scalars: one component term
        c*e * x^(m - e_v) per (term c x^m, variable v of m with exponent e)."""
        pf_a = self.t_field
        et_a, ev_a, ee_a = self.e_term, self.e_var, self.e_exp
        t = self.n_terms
        ncomp = len(et_a)
        pc_a = self.coef
        if pc_a.dtype == np.int64 and np.abs(pc_a).max(initial=0) < 2**40:
            coef = pc_a[et_a] * ee_a
        else:
            coef = np.array([Fraction(pc_a[int(t_)]) * int(e) for t_, e in zip(et_a, ee_a,
                                                                             strict=True)],
                            dtype=object)
        # entries of the new monomials: all entries of the parent term, with the
        # differentiated variable's exponent lowered by one (dropped when it reaches 0)
        starts = np.searchsorted(et_a, np.arange(t))
        counts = np.bincount(et_a, minlength=t)
        rep = counts[et_a]
        new_term = np.repeat(np.arange(ncomp), rep)
        offs = np.arange(rep.sum()) - np.repeat(np.cumsum(rep) - rep, rep)
        src = np.repeat(starts[et_a], rep) + offs
        n_var = ev_a[src]
        n_exp = ee_a[src] - (src == new_term).astype(np.int64)
        keep = n_exp > 0
        return TermTable(self.D, self.n_fields, pf_a[et_a], ev_a.copy(), coef, new_term[keep],
                         n_var[keep], n_exp[keep])

    def nbytes(self) -> int:
        """Bytes held by the arrays (object coefficients counted at 100 bytes)."""
        arrays = (self.t_field, self.t_comp, self.e_term, self.e_var, self.e_exp, self.e_pos)
        coef = self.coef.nbytes if self.coef.dtype == np.int64 else 100 * len(self.coef)
        return sum(a.nbytes for a in arrays) + coef

    def monomials(self) -> list[Monomial]:
        """Each term's monomial as a sparse tuple."""
        out: list[list[tuple[int, int]]] = [[] for _ in range(self.n_terms)]
        for t, v, e in zip(self.e_term.tolist(), self.e_var.tolist(), self.e_exp.tolist(),
                           strict=True):
            out[t].append((v, e))
        return [tuple(sorted(m)) for m in out]

    def coefficients(self) -> list[Fraction]:
        """Each term's coefficient as a Fraction."""
        if self.coef.dtype == np.int64:
            return [Fraction(int(c)) for c in self.coef.tolist()]
        return [to_fraction(c) for c in self.coef]

    def multisets(self) -> np.ndarray:
        """Monomials as rows of sorted variable indices (with repetition), padded with D."""
        width = 0
        if len(self.e_term):
            width = int(np.bincount(self.e_term, weights=self.e_exp,
                                    minlength=self.n_terms).max())
        out = np.full((self.n_terms, width), self.D, dtype=np.int64)
        if width == 0:
            return out
        term = np.repeat(self.e_term, self.e_exp)
        var = np.repeat(self.e_var, self.e_exp)
        starts = np.searchsorted(term, np.arange(self.n_terms))
        pos = np.arange(len(term)) - starts[term]
        out[term, pos] = var
        return out


class ModTable:
    """A :class:`TermTable` with its coefficients reduced modulo the prime p, for values and
    Jacobians at points modulo p.  Points must have all coordinates non-zero mod p
    (derivatives use x^m / x_l)."""

    def __init__(self, table: TermTable, p: int) -> None:
        self.table, self.p = table, p
        self.D, self.n_fields = table.D, table.n_fields
        self.t_field, self.t_comp = table.t_field, table.t_comp
        self.e_term, self.e_var, self.e_exp, self.e_pos = (table.e_term, table.e_var,
                                                           table.e_exp, table.e_pos)
        self._point: tuple[bytes, np.ndarray, np.ndarray] | None = None  # last point's data
        self._gram: dict[bytes, int] = {}  # gram_rank per point
        self._coo: tuple[bytes, tuple[np.ndarray, ...]] | None = None  # last point's values
        if table.coef.dtype == np.int64:
            self.t_coef = table.coef % p
        else:
            self.t_coef = np.array([c.numerator % p * pow(c.denominator, -1, p) % p
                                    for c in map(Fraction, table.coef)], dtype=np.int64)

    def monomial_values(self, x: np.ndarray) -> np.ndarray:
        """x^m mod p for every term's monomial."""
        p = self.p
        vals = np.ones(len(self.t_field), dtype=np.int64)
        pw = _powmod(x[self.e_var], self.e_exp, p)
        for j in range(int(self.e_pos.max(initial=-1)) + 1):
            sel = self.e_pos == j
            t = self.e_term[sel]
            vals[t] = vals[t] * pw[sel] % p
        return vals

    def values_coo(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Non-zero values X_i(x)_k mod p as (field, component, value) arrays (the last
        point's are kept: level 1 of a closure and :meth:`gram_rank` share them)."""
        key_x = x.tobytes()
        if self._coo is not None and self._coo[0] == key_x:
            return self._coo[1]
        p = self.p
        tv = self.t_coef * self.monomial_values(x) % p
        key = self.t_field * self.D + self.t_comp
        uk, inv = np.unique(key, return_inverse=True)
        acc = np.zeros(len(uk), dtype=np.int64)
        np.add.at(acc, inv, tv)
        acc %= p
        nz = acc != 0
        out = (uk[nz] // self.D, uk[nz] % self.D, acc[nz])
        self._coo = (key_x, out)
        return out

    def values_dense(self, x: np.ndarray, fields: np.ndarray | None = None) -> np.ndarray:
        """Values of the chosen fields (all by default) as a dense (n, D) array."""
        f, c, v = self.values_coo(x)
        if fields is None:
            out = np.zeros((self.n_fields, self.D), dtype=np.int64)
            out[f, c] = v
            return out
        pos = np.full(self.n_fields, -1, dtype=np.int64)
        pos[fields] = np.arange(len(fields))
        sel = pos[f] >= 0
        out = np.zeros((len(fields), self.D), dtype=np.int64)
        out[pos[f[sel]], c[sel]] = v[sel]
        return out

    def _requests(self, fields: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(request, entry) pairs: every monomial entry of every term of each requested
        field, repeats allowed (request r asks for field ``fields[r]``)."""
        if "by_field" not in self.__dict__:
            order = np.argsort(self.t_field, kind="stable")
            self.by_field = (order, np.searchsorted(self.t_field[order],
                                                    np.arange(self.n_fields + 1)))
            self.e_start = np.searchsorted(self.e_term, np.arange(len(self.t_field) + 1))
        order, fb = self.by_field
        fields = np.asarray(fields, dtype=np.int64)
        cnt = fb[fields + 1] - fb[fields]
        req_t = np.repeat(np.arange(len(fields)), cnt)
        terms = order[np.repeat(fb[fields], cnt) + np.arange(cnt.sum())
                      - np.repeat(np.cumsum(cnt) - cnt, cnt)]
        ecnt = self.e_start[terms + 1] - self.e_start[terms]
        req = np.repeat(req_t, ecnt)
        entries = (np.repeat(self.e_start[terms], ecnt) + np.arange(ecnt.sum())
                   - np.repeat(np.cumsum(ecnt) - ecnt, ecnt))
        return req, entries

    def _first_derivative_entries(self, x: np.ndarray, fields: np.ndarray
                                  ) -> tuple[np.ndarray, ...]:
        """Per entry (request r, term t, variable k, exponent e) of the requested fields:
        the value c_t e x^m_t / x_k of d_k of the term at x (and 1/x per variable).
        Monomial values are computed once per point."""
        p = self.p
        req, ent = self._requests(fields)
        key = x.tobytes()
        if self._point is None or self._point[0] != key:
            inv_x = np.array([pow(int(v), -1, p) for v in x], dtype=np.int64)
            self._point = (key, self.monomial_values(x), inv_x)
        _, mv, inv_x = self._point
        et, ev, ee = self.e_term[ent], self.e_var[ent], self.e_exp[ent]
        base = self.t_coef[et] * mv[et] % p * (ee % p) % p * inv_x[ev] % p
        return req, et, ev, ee, base, inv_x

    def _scatter(self, n: int, req: np.ndarray, et: np.ndarray, ev: np.ndarray,
                 val: np.ndarray) -> np.ndarray:
        """Sum entry values into (n, D, D) matrices at [request, component, variable]."""
        acc = np.zeros(n * self.D * self.D, dtype=np.int64)
        np.add.at(acc, (req * self.D + self.t_comp[et]) * self.D + ev, val)
        return (acc % self.p).reshape(n, self.D, self.D)

    def jacobians(self, x: np.ndarray, fields: np.ndarray) -> np.ndarray:
        """Jacobian matrices dX_i(x) (shape (n, D, D), [i, comp, var]) of the chosen fields
        (repeats allowed)."""
        req, et, ev, _, base, _ = self._first_derivative_entries(x, fields)
        return self._scatter(len(fields), req, et, ev, base)

    def contracted_hessians(self, x: np.ndarray, fields: np.ndarray,
                            vs: np.ndarray) -> np.ndarray:
        """For each chosen field X_i and vector v_i (repeats allowed): the matrix
        [j, k] -> sum_l v_i[l] d_k d_l X_i,j (x), i.e. the Jacobian of the directional
        derivative D_{v_i} X_i at x; shape (n, D, D).

        Per monomial m = x^e: sum_l v_l d_k d_l m = (e_k m / x_k) (S - v_k / x_k) with
        S = sum_l v_l e_l / x_l, so one pass over the entries suffices.
        """
        p = self.p
        req, et, ev, ee, base, inv_x = self._first_derivative_entries(x, fields)
        vl = vs[req, ev] % p * inv_x[ev] % p                      # v_l / x_l per entry
        # S per (request, term)
        _, inv = np.unique(req * len(self.t_field) + et, return_inverse=True)
        inv = inv.reshape(-1)
        S = np.zeros(int(inv.max(initial=-1)) + 1, dtype=np.int64)
        np.add.at(S, inv, vl * (ee % p) % p)
        S %= p
        return self._scatter(len(fields), req, et, ev, base * ((S[inv] - vl) % p) % p)

    def gram_rank(self, x: np.ndarray) -> int:
        """rank mod p of G = J^T J, J the (d, D) matrix of generator values at x.

        G is accumulated from the outer products of the sparse rows of J (cheap for tens of
        thousands of generators).  rank_p(G) <= rank_Q(G) = rank_Q(J) (J is real), so it is a
        lower bound on the rank of the generator values, and D - rank_p(G) an upper bound
        on the rank of any family of vectors orthogonal to them (e.g. law gradients)."""
        key = x.tobytes()
        if key in self._gram:
            return self._gram[key]
        p, D = self.p, self.D
        f, c, v = self.values_coo(x)
        order = np.argsort(f, kind="stable")
        f, c, v = f[order], c[order], v[order]
        starts = np.searchsorted(f, f)
        rep = np.bincount(f)[f] if len(f) else np.zeros(0, dtype=np.int64)
        first = np.repeat(np.arange(len(f)), rep)
        second = np.repeat(starts, rep) + (np.arange(rep.sum())
                                           - np.repeat(np.cumsum(rep) - rep, rep))
        G = np.zeros(D * D, dtype=np.int64)
        np.add.at(G, c[first] * D + c[second], v[first] * v[second] % p)
        self._gram[key] = linalg.rank_mod(G.reshape(D, D) % p, p)
        return self._gram[key]
