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

from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from . import budget, linalg
from .polynomials import Monomial, to_fraction


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


def _term_values(x: np.ndarray, e_term: np.ndarray, e_var: np.ndarray, e_exp: np.ndarray,
                 e_pos: np.ndarray, n_terms: int, p: int) -> np.ndarray:
    """x^m mod p of every term of a table, entry by entry (no search for repeats)."""
    vals = np.ones(n_terms, dtype=np.int64)
    pw = x[e_var] % p if int(e_exp.max(initial=1)) == 1 else _powmod(x[e_var], e_exp, p)
    for j in range(int(e_pos.max(initial=-1)) + 1):
        sel = e_pos == j
        t = e_term[sel]
        vals[t] = vals[t] * pw[sel] % p
    return vals


def coefficients_mod(table: TermTable, p: int) -> np.ndarray:
    """The coefficients of a table modulo p (p must divide no denominator)."""
    if table.coef.dtype == np.int64:
        return table.coef % p
    return np.array([c.numerator % p * pow(c.denominator, -1, p) % p
                     for c in map(Fraction, table.coef)], dtype=np.int64)


def gradient_values_coo(table: TermTable, x: np.ndarray, p: int
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The non-zero values of the gradient fields of a table of scalars (potentials) at x
    modulo p, as (field, component, value): one entry c*e*x^m/x_v per entry (v, e) of a
    term c*x^m, summed per (field, v).  O(entries of the potentials), against O(entries of
    the gradient table) -- a factor of the degree less.  Needs every x_v invertible mod p."""
    coef = coefficients_mod(table, p)
    mv = _term_values(x, table.e_term, table.e_var, table.e_exp, table.e_pos,
                      table.n_terms, p)
    inv_x = linalg.inv_mod_vec(x, p)
    et, ev, ee = table.e_term, table.e_var, table.e_exp
    val = coef[et] * mv[et] % p * (ee % p) % p * inv_x[ev] % p
    f = table.t_field[et]
    if len(np.unique(table.t_field)) == table.n_terms:  # one term per potential: no repeats
        nz = val != 0
        return f[nz], ev[nz], val[nz]
    key = f * table.D + ev
    uk, inv = np.unique(key, return_inverse=True)
    acc = np.zeros(len(uk), dtype=np.int64)
    np.add.at(acc, inv.reshape(-1), val)
    acc %= p
    nz = acc != 0
    return uk[nz] // table.D, uk[nz] % table.D, acc[nz]


#: most (point x table entry) elements of one pass of :func:`_gradient_values_batch` (its
#: intermediate arrays hold that many int64; more points are taken in several passes)
BATCH_ELEMENTS = 4_000_000


def _gradient_values_batch(table: TermTable, X: np.ndarray, p: int) -> np.ndarray:
    """Values of the gradient fields of a table of scalars at each point (rows of X), dense:
    (P, n_fields, D); O(P * entries of the potentials), in passes over at most
    :data:`BATCH_ELEMENTS` (point, entry) pairs (a handful of int64 arrays of that size)."""
    P, D = X.shape
    step = max(1, BATCH_ELEMENTS // max(len(table.e_term), 1))
    if P > step:
        parts = []
        for s in range(0, P, step):
            budget.tick()
            parts.append(_gradient_values_batch(table, X[s:s + step], p))
        return np.concatenate(parts)
    budget.reserve(8 * P * (3 * len(table.e_term) + table.n_terms), "the values of the "
                   "generators at the sample points", "lower the degree or use a smaller model")
    coef = coefficients_mod(table, p)
    mv = np.ones((P, table.n_terms), dtype=np.int64)
    pw = X[:, table.e_var] % p if int(table.e_exp.max(initial=1)) == 1 else _powmod(
        X[:, table.e_var], np.broadcast_to(table.e_exp, (P, len(table.e_exp))).copy(), p)
    for j in range(int(table.e_pos.max(initial=-1)) + 1):
        sel = table.e_pos == j
        t = table.e_term[sel]
        mv[:, t] = mv[:, t] * pw[:, sel] % p
    inv_x = linalg.inv_mod_vec(X, p)
    et, ev, ee = table.e_term, table.e_var, table.e_exp
    val = mv[:, et] * (coef[et] * (ee % p) % p)[None, :] % p * inv_x[:, ev] % p
    key = table.t_field[et] * D + ev
    out = np.zeros((P, table.n_fields * D), dtype=np.int64)
    # entries of one key are added level by level (rank of the entry among its key's)
    order = np.argsort(key, kind="stable")
    ks = key[order]
    rank = np.arange(len(ks)) - np.searchsorted(ks, ks)
    for r in range(int(rank.max(initial=-1)) + 1):
        sel = order[rank == r]
        out[:, key[sel]] = (out[:, key[sel]] + val[:, sel]) % p
    return out.reshape(P, table.n_fields, D)


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
    def from_polys(items: Sequence[Sequence[tuple[int, Any]]], D: int) -> TermTable:
        """Table of ``items[i]`` = list of (component, FLINT polynomial) (component ``-1`` for
        scalars), converted with NumPy from FLINT's exponent tuples."""
        tf: list[np.ndarray] = []
        tc: list[np.ndarray] = []
        coefs: list[Any] = []
        et: list[np.ndarray] = []
        ev: list[np.ndarray] = []
        ee: list[np.ndarray] = []
        t = 0
        for i, comps in enumerate(items):
            for k, poly in comps:
                n = len(poly)
                if n == 0:
                    continue
                exps = np.array(poly.monoms(), dtype=np.int64).reshape(n, D)
                rows, cols = np.nonzero(exps)
                et.append(rows + t)
                ev.append(cols)
                ee.append(exps[rows, cols])
                tf.append(np.full(n, i, dtype=np.int64))
                tc.append(np.full(n, k, dtype=np.int64))
                coefs.extend(poly.coeffs())
                t += n
        cat = lambda xs: np.concatenate(xs) if xs else np.zeros(0, dtype=np.int64)  # noqa: E731
        if all(c.q == 1 and abs(int(c.p)) < 2**62 for c in coefs):
            coef = np.array([int(c.p) for c in coefs], dtype=np.int64)
        else:
            coef = np.array([to_fraction(c) for c in coefs], dtype=object)
        return TermTable(D, len(items), cat(tf), cat(tc), coef, cat(et), cat(ev), cat(ee))

    @staticmethod
    def from_fields(fields: Sequence[Mapping[int, Any]], D: int) -> TermTable:
        """Table of fields given as {component: FLINT polynomial} (or any mapping with
        ``items()``, e.g. a :class:`~conslaw_flint.core.fields.VectorField`)."""
        return TermTable.from_polys([list(f.items()) for f in fields], D)

    @staticmethod
    def from_scalars(polys: Sequence[Any], D: int) -> TermTable:
        """Table of scalar FLINT polynomials (component ``-1``), e.g. potentials or laws."""
        return TermTable.from_polys([[(-1, q)] for q in polys], D)

    def parities(self, extra: np.ndarray | None = None) -> np.ndarray:
        """Parity vector of every term's monomial, packed in uint64 words: shape
        (terms, ceil((D + 1) / 64)); with ``extra`` (one variable index per term, -1 for
        none) that variable's bit is flipped too."""
        words = (self.D + 64) // 64
        out = np.zeros((self.n_terms, words), dtype=np.uint64)
        odd = (self.e_exp & 1).astype(bool)
        t, v = self.e_term[odd], self.e_var[odd]
        np.bitwise_xor.at(out, (t, v // 64),
                          np.left_shift(np.uint64(1), (v % 64).astype(np.uint64)))
        if extra is not None:
            sel = extra >= 0
            tt, vv = np.flatnonzero(sel), extra[sel]
            np.bitwise_xor.at(out, (tt, vv // 64),
                              np.left_shift(np.uint64(1), (vv % 64).astype(np.uint64)))
        return out

    def degrees(self) -> np.ndarray:
        """Total degree of every term's monomial."""
        return np.bincount(self.e_term, weights=self.e_exp, minlength=self.n_terms
                           ).astype(np.int64)

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

    def multisets_of(self, terms: np.ndarray, lower: int | None = None) -> np.ndarray:
        """The monomials of the given terms as rows of sorted variable indices (with
        repetition), padded with D; with ``lower``, that variable's exponent is lowered by
        one (the monomial of the derivative d/dx_lower)."""
        terms = np.asarray(terms, dtype=np.int64)
        if "_starts" not in self.__dict__:
            self._starts = np.searchsorted(self.e_term, np.arange(self.n_terms + 1))
        starts = self._starts
        cnt = starts[terms + 1] - starts[terms]
        ent = (np.repeat(starts[terms], cnt) + np.arange(int(cnt.sum()))
               - np.repeat(np.cumsum(cnt) - cnt, cnt))
        row = np.repeat(np.arange(len(terms)), cnt)
        v, e = self.e_var[ent], self.e_exp[ent].copy()
        if lower is not None:
            e = e - (v == lower)
        deg = np.bincount(row, weights=e, minlength=len(terms)).astype(np.int64)
        width = int(deg.max(initial=0))
        out = np.full((len(terms), width), self.D, dtype=np.int64)
        if width == 0:
            return out
        keep = e > 0
        row, v, e = row[keep], v[keep], e[keep]
        r2 = np.repeat(row, e)
        v2 = np.repeat(v, e)
        order = np.lexsort((v2, r2))
        r2, v2 = r2[order], v2[order]
        pos = np.arange(len(r2)) - np.searchsorted(r2, r2)
        out[r2, pos] = v2
        return out

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

    def __init__(self, table: TermTable | Callable[[], TermTable], p: int,
                 potentials: TermTable | None = None) -> None:
        """``table``: the fields' table, or a function that builds it (called only when a
        Jacobian or a term-level value is needed: for gradient fields, values come from
        ``potentials``, the table of the phi_i, whose gradients the fields are)."""
        self._table_src = table
        self.potentials = potentials
        self.p = p
        shape_src = potentials if potentials is not None else self.table
        self.D, self.n_fields = shape_src.D, shape_src.n_fields
        self._point: tuple[bytes, np.ndarray, np.ndarray] | None = None  # last point's data
        self._gram: dict[Any, Any] = {}  # Gram matrices and their ranks per point
        self._coo: tuple[bytes, tuple[np.ndarray, ...]] | None = None  # last point's values

    @property
    def table(self) -> TermTable:
        if callable(self._table_src):
            self._table_src = self._table_src()
        return self._table_src

    @property
    def t_field(self) -> np.ndarray:
        return self.table.t_field

    @property
    def t_comp(self) -> np.ndarray:
        return self.table.t_comp

    @property
    def e_term(self) -> np.ndarray:
        return self.table.e_term

    @property
    def e_var(self) -> np.ndarray:
        return self.table.e_var

    @property
    def e_exp(self) -> np.ndarray:
        return self.table.e_exp

    @property
    def e_pos(self) -> np.ndarray:
        return self.table.e_pos

    @property
    def t_coef(self) -> np.ndarray:
        """The coefficients modulo p."""
        if "_t_coef" not in self.__dict__:
            self._t_coef = coefficients_mod(self.table, self.p)
        return self._t_coef

    def _unique(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                               np.ndarray, np.ndarray]:
        """(term -> distinct monomial, entries of the distinct monomials: term, rank inside
        the monomial, index of its (variable, exponent) pair, and the distinct pairs'
        variables and exponents): terms of many fields share monomials (random fields:
        every component uses the same few thousand), and monomials share powers, so each
        distinct monomial and each distinct power is computed once."""
        if "_uniq" not in self.__dict__:
            t = self.table
            z = np.zeros(0, dtype=np.int64)
            if t.n_terms == 0:
                self._uniq = (z, z, z, z, z, z)
            else:
                width = int(self.e_pos.max(initial=-1)) + 1
                rows = np.full((t.n_terms, 2 * max(width, 1)), -1, dtype=np.int64)
                rows[self.e_term, 2 * self.e_pos] = self.e_var
                rows[self.e_term, 2 * self.e_pos + 1] = self.e_exp
                uniq, inv = np.unique(rows, axis=0, return_inverse=True)
                u_t, u_j = np.nonzero(uniq[:, 0::2] >= 0)
                v, e = uniq[u_t, 2 * u_j], uniq[u_t, 2 * u_j + 1]
                pairs, pidx = np.unique(v * (int(e.max(initial=0)) + 1) + e,
                                        return_inverse=True)
                base = int(e.max(initial=0)) + 1
                self._uniq = (inv.reshape(-1), u_t, u_j, pidx.reshape(-1), pairs // base,
                              pairs % base)
        return self._uniq

    #: above this many terms, monomials are evaluated term by term (finding the distinct
    #: ones costs a sort of the whole table, which only pays when they repeat)
    UNIQUE_LIMIT = 300_000

    def monomial_values(self, x: np.ndarray) -> np.ndarray:
        """x^m mod p for every term's monomial (each distinct monomial computed once when
        the table is small enough to look for them)."""
        if len(self.t_field) > self.UNIQUE_LIMIT:
            return _term_values(x, self.e_term, self.e_var, self.e_exp, self.e_pos,
                                len(self.t_field), self.p)
        return self._unique_values_batch(x[None, :])[0][self._unique()[0]]

    def _unique_values_batch(self, X: np.ndarray) -> np.ndarray:
        """x^m mod p for every distinct monomial at each point (rows of X): (P, monomials)."""
        inv, u_t, u_pos, pidx, pv, pe = self._unique()
        p = self.p
        n_u = int(inv.max(initial=-1)) + 1
        uvals = np.ones((X.shape[0], n_u), dtype=np.int64)
        powers = _powmod(X[:, pv], np.broadcast_to(pe, (X.shape[0], len(pe))).copy(), p)
        for j in range(int(u_pos.max(initial=-1)) + 1):
            sel = u_pos == j
            t = u_t[sel]
            uvals[:, t] = uvals[:, t] * powers[:, pidx[sel]] % p
        return uvals

    def _coo_keys(self) -> tuple[np.ndarray, np.ndarray]:
        if "_keys" not in self.__dict__:
            key = self.t_field * self.D + self.t_comp
            uk, inv = np.unique(key, return_inverse=True)
            self._keys = (uk, inv.reshape(-1))
        return self._keys

    def values_coo(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Non-zero values X_i(x)_k mod p as (field, component, value) arrays (the last
        point's are kept: level 1 of a closure and :meth:`gram_rank` share them)."""
        key_x = x.tobytes()
        if self._coo is not None and self._coo[0] == key_x:
            return self._coo[1]
        p = self.p
        if self.potentials is not None:
            out = gradient_values_coo(self.potentials, x, p)
            self._coo = (key_x, out)
            return out
        tv = self.t_coef * self.monomial_values(x) % p
        uk, inv = self._coo_keys()
        acc = np.zeros(len(uk), dtype=np.int64)
        np.add.at(acc, inv, tv)
        acc %= p
        nz = acc != 0
        out = (uk[nz] // self.D, uk[nz] % self.D, acc[nz])
        self._coo = (key_x, out)
        return out

    def values_batch(self, X: np.ndarray) -> np.ndarray:
        """Values of all fields at each point (rows of X), dense: shape (P, n_fields, D).

        One product (distinct monomial values) x (coefficient matrix, distinct monomial ->
        (field, component)), modulo p; the caller bounds P * n_fields * D."""
        p = self.p
        if self.potentials is not None:
            return _gradient_values_batch(self.potentials, X, p)
        if "_coefmat" not in self.__dict__:
            inv = self._unique()[0]
            n_u = int(inv.max(initial=-1)) + 1
            budget.reserve(8 * n_u * self.n_fields * self.D, "the coefficient matrix of the "
                           "fields", "use a smaller model")
            A = np.zeros((n_u, self.n_fields * self.D), dtype=np.int64)
            np.add.at(A, (inv, self.t_field * self.D + self.t_comp), self.t_coef)
            self._coefmat = A % p
        n_u = self._coefmat.shape[0]
        step = max(1, BATCH_ELEMENTS // max(n_u, 1))
        out = np.concatenate([linalg.matmul_mod(self._unique_values_batch(X[s:s + step]),
                                                self._coefmat, p)
                              for s in range(0, X.shape[0], step)]) if len(X) else \
            np.zeros((0, self.n_fields * self.D), dtype=np.int64)
        return out.reshape(X.shape[0], self.n_fields, self.D)

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
            inv_x = linalg.inv_mod_vec(x, p)
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

    def _potential_entries(self, x: np.ndarray, fields: np.ndarray
                           ) -> tuple[np.ndarray, ...]:
        """For gradient fields X_i = grad phi_i, from the potentials' table (the gradient
        table, a factor of the degree larger, is never built): per entry (request r, term t,
        variable k, exponent e) of the requested phi_i, g = c_t e x^m_t / x_k (the entry's
        contribution to d_k phi_i), with the term of each entry and 1/x."""
        P = self.potentials
        assert P is not None
        p = self.p
        if "pot_index" not in self.__dict__:
            order = np.argsort(P.t_field, kind="stable")
            self.pot_index = (order, np.searchsorted(P.t_field[order],
                                                     np.arange(self.n_fields + 1)),
                              np.searchsorted(P.e_term, np.arange(P.n_terms + 1)),
                              coefficients_mod(P, p))
        order, fb, e_start, coef = self.pot_index
        key = x.tobytes()
        if self.__dict__.get("_pot_point", (None,))[0] != key:
            self._pot_point = (key, _term_values(x, P.e_term, P.e_var, P.e_exp, P.e_pos,
                                                 P.n_terms, p), linalg.inv_mod_vec(x, p))
        _, mv, inv_x = self._pot_point
        fields = np.asarray(fields, dtype=np.int64)
        cnt = fb[fields + 1] - fb[fields]
        req_t = np.repeat(np.arange(len(fields)), cnt)
        terms = order[np.repeat(fb[fields], cnt) + np.arange(int(cnt.sum()))
                      - np.repeat(np.cumsum(cnt) - cnt, cnt)]
        ecnt = e_start[terms + 1] - e_start[terms]
        req = np.repeat(req_t, ecnt)
        tid = np.repeat(np.arange(len(terms)), ecnt)   # request-local term id
        ent = (np.repeat(e_start[terms], ecnt) + np.arange(int(ecnt.sum()))
               - np.repeat(np.cumsum(ecnt) - ecnt, ecnt))
        et, ev, ee = P.e_term[ent], P.e_var[ent], P.e_exp[ent]
        g = coef[et] * mv[et] % p * (ee % p) % p * inv_x[ev] % p
        return req, tid, ev, ee, g, inv_x, ecnt

    def jacobians(self, x: np.ndarray, fields: np.ndarray) -> np.ndarray:
        """Jacobian matrices dX_i(x) (shape (n, D, D), [i, comp, var]) of the chosen fields
        (repeats allowed).  For gradient fields, the Hessians of the potentials: per term,
        d_k d_l x^m = (e_k x^m / x_k)(e_l / x_l - [k = l] / x_k), over the pairs of its
        entries, in passes of a bounded number of pairs."""
        if self.potentials is None:
            req, et, ev, _, base, _ = self._first_derivative_entries(x, fields)
            return self._scatter(len(fields), req, et, ev, base)
        p, D = self.p, self.D
        fields = np.asarray(fields, dtype=np.int64)
        out = np.zeros((len(fields), D, D), dtype=np.int64)
        step = max(1, len(fields))
        while step > 1 and self._pairs(fields[:step]) > 8_000_000:
            step = (step + 1) // 2
        for s0 in range(0, len(fields), step):
            budget.tick()
            req, tid, ev, ee, g, inv_x, ecnt = self._potential_entries(x, fields[s0:s0 + step])
            # pairs (a, b) of entries of one term: a = the component k, b = the variable l
            start = np.cumsum(ecnt) - ecnt
            a = np.repeat(np.arange(len(ev)), ecnt[tid])
            b = (np.repeat(start[tid], ecnt[tid]) + np.arange(len(a))
                 - np.repeat(np.cumsum(ecnt[tid]) - ecnt[tid], ecnt[tid]))
            val = g[a] * ((ee[b] % p) * inv_x[ev[b]] % p) % p
            diag = a == b
            val[diag] = (val[diag] - g[a[diag]] * inv_x[ev[a[diag]]]) % p
            acc = np.zeros(step * D * D, dtype=np.int64)
            np.add.at(acc, (req[a] * D + ev[a]) * D + ev[b], val)
            n = min(step, len(fields) - s0)
            out[s0:s0 + n] = (acc % p).reshape(step, D, D)[:n]
        return out

    def _pairs(self, fields: np.ndarray) -> int:
        """Entry pairs (k, l) inside the terms of the requested potentials (Hessian cost)."""
        P = self.potentials
        assert P is not None
        if "pot_pairs" not in self.__dict__:
            cnt = np.bincount(P.e_term, minlength=P.n_terms)
            self.pot_pairs = np.bincount(P.t_field, weights=cnt.astype(np.float64) ** 2,
                                         minlength=self.n_fields)
        return int(self.pot_pairs[fields].sum())

    def jvps(self, x: np.ndarray, fields: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Jacobian-vector products dX_i(x) v of the chosen fields along one vector v,
        shape (n, D), without forming the Jacobians: one pass over the fields' entries (for
        gradient fields, over the potentials' entries: (H v)_k = g_k (S - v_k / x_k) per
        term, S = sum over its entries of e_l v_l / x_l)."""
        p = self.p
        if self.potentials is not None:
            req, tid, ev, ee, g, inv_x, _ = self._potential_entries(x, fields)
            vx = np.asarray(v, dtype=np.int64)[ev] % p * inv_x[ev] % p
            S = np.zeros(int(tid.max(initial=-1)) + 1, dtype=np.int64)
            np.add.at(S, tid, vx * (ee % p) % p)
            val = g * ((S[tid] - vx) % p) % p
            acc = np.zeros(len(fields) * self.D, dtype=np.int64)
            np.add.at(acc, req * self.D + ev, val)
            return (acc % p).reshape(len(fields), self.D)
        req, et, _, _, base, _ = self._first_derivative_entries(x, fields)
        ev = self.e_var[self._requests(fields)[1]]
        val = base * (np.asarray(v, dtype=np.int64)[ev] % p) % p
        acc = np.zeros(len(fields) * self.D, dtype=np.int64)
        np.add.at(acc, req * self.D + self.t_comp[et], val)
        return (acc % p).reshape(len(fields), self.D)

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

    def gram_matrix(self, x: np.ndarray) -> np.ndarray:
        """G = J^T J modulo p, J the (d, D) matrix of generator values at x (cached per
        point): accumulated from the outer products of the sparse rows of J.  Column j of G
        is the value at x of sum_i X_i,j(x) X_i, an element of V."""
        key = x.tobytes()
        if key in self._gram:
            return self._gram[key]
        p, D = self.p, self.D
        f, c, v = self.values_coo(x)
        order = np.argsort(f, kind="stable")
        f, c, v = f[order], c[order], v[order]
        starts = np.searchsorted(f, f)
        rep = np.bincount(f)[f] if len(f) else np.zeros(0, dtype=np.int64)
        budget.reserve(8 * 3 * D * D, "the Gram matrix of the generator values",
                       "use a smaller model")
        # outer products of the rows, a chunk of entries at a time (bounded memory); the
        # products are reduced mod p (< 2^25) and summed with float64 bincount, exact while a
        # chunk's sums stay below 2^53 (at most 2^27 products a chunk)
        G = np.zeros(D * D, dtype=np.int64)
        cum = np.cumsum(rep) if len(rep) else rep
        lo = 0
        n = len(f)
        while lo < n:
            budget.tick()
            hi = int(np.searchsorted(cum, cum[lo] - rep[lo] + 8_000_000, side="right"))
            hi = max(hi, lo + 1)
            r = rep[lo:hi]
            first = np.repeat(np.arange(lo, hi), r)
            second = np.repeat(starts[lo:hi], r) + (np.arange(int(r.sum()))
                                                     - np.repeat(np.cumsum(r) - r, r))
            prod = v[first] * v[second] % p
            G += np.bincount(c[first] * D + c[second], weights=prod.astype(np.float64),
                             minlength=D * D).astype(np.int64) % p
            lo = hi
        self._gram[key] = G.reshape(D, D) % p
        return self._gram[key]

    def gram_rank(self, x: np.ndarray) -> int:
        """rank mod p of G = J^T J (:meth:`gram_matrix`).

        rank_p(G) <= rank_Q(G) = rank_Q(J) (J is real), so it is a lower bound on the rank of
        the generator values, and D - rank_p(G) an upper bound on the rank of any family of
        vectors orthogonal to them (e.g. law gradients)."""
        return len(self.gram_rref(x)[1])

    def gram_rref(self, x: np.ndarray) -> tuple[Any, list[int]]:
        """(reduced echelon form of G as a FLINT nmod_mat, pivot columns), cached per point:
        one elimination serves the rank (the law search's independence bound) and the Gram
        frame of the Lie closure."""
        key = ("rref", x.tobytes())
        if key not in self._gram:
            self._gram[key] = linalg.rref_flint(self.gram_matrix(x), self.p)
        return self._gram[key]

    def combination_jacobian(self, x: np.ndarray, coef: np.ndarray) -> np.ndarray:
        """The Jacobian at x (mod p) of sum_i coef[i] X_i (coef: one entry per field)."""
        p = self.p
        fields = np.flatnonzero(np.asarray(coef) % p)
        if len(fields) == 0:
            return np.zeros((self.D, self.D), dtype=np.int64)
        req, et, ev, _, base, _ = self._first_derivative_entries(x, fields)
        w = np.asarray(coef, dtype=np.int64)[fields] % p
        acc = np.zeros(self.D * self.D, dtype=np.int64)
        np.add.at(acc, self.t_comp[et] * self.D + ev, base * w[req] % p)
        return (acc % p).reshape(self.D, self.D)
