"""Polynomial vector fields: sparse storage, exact Lie brackets, evaluation modulo a prime.

A field on R^D is a ``dict`` from component index k (0-based) to a non-zero polynomial X_k;
components that are zero are not stored (a field of a path lifting has 2-4 non-zero
components out of D).  A :class:`FieldFamily` is the list of generators X_1..X_d of V.

Lie bracket (design.md §1): ``[X, Y] = dY·X - dX·Y``, i.e. component j is
``sum_k X_k d_k Y_j - Y_k d_k X_j``.  :func:`bracket` computes it exactly on FLINT polynomials
(``fmpq_mpoly`` over Q, ``nmod_mpoly`` modulo p: the same code serves both rings).

:class:`ModTable` holds all terms of a family as NumPy arrays, so that the values and the
Jacobian matrices of many fields at a point modulo p cost a few vectorised passes instead of
one FLINT evaluation (O(D) each) per polynomial.

>>> fam = FieldFamily.from_gradients([{((0, 1), (1, 1)): Fraction(1)}], 2)  # phi = x1*x2
>>> fam.fields[0] == {0: {((1, 1),): Fraction(1)}, 1: {((0, 1),): Fraction(1)}}
True
>>> ctx = flint_context(2)
>>> X = to_flint_field(fam.fields[0], ctx)          # (x2, x1)
>>> Y = {0: ctx.gens()[0]}                            # (x1, 0)
>>> {k: str(v) for k, v in bracket(X, Y).items()}
{0: 'x2', 1: '-x1'}
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

import flint
import networkx as nx
import numpy as np

from . import linalg, polys
from .polys import Poly

Field = dict[int, Poly]
FlintField = dict[int, Any]


class FieldFamily:
    """Generators X_1..X_d of V on R^D, stored sparsely.

    ``potentials`` holds phi_1..phi_d when X_i = grad phi_i (design.md §1), else None; the
    gradient fields are then derived on first use.
    """

    def __init__(self, D: int, fields: Sequence[Field] | None = None,
                 potentials: Sequence[Poly] | None = None) -> None:
        if fields is None and potentials is None:
            raise ValueError("a field family needs fields or potentials")
        self.D = D
        self.potentials: tuple[Poly, ...] | None = (
            tuple(potentials) if potentials is not None else None)
        self._fields: tuple[Field, ...] | None = tuple(fields) if fields is not None else None
        self._cache: dict[str, Any] = {}

    @property
    def fields(self) -> tuple[Field, ...]:
        if self._fields is None:
            assert self.potentials is not None
            out = []
            for p in self.potentials:
                comps: Field = {}
                for k in sorted(polys.variables(p)):
                    dk = polys.derivative(p, k)
                    if dk:
                        comps[k] = dk
                out.append(comps)
            self._fields = tuple(out)
        return self._fields

    @property
    def d(self) -> int:
        return len(self.potentials) if self.potentials is not None else len(self.fields)

    @staticmethod
    def from_gradients(phi: Sequence[Poly], D: int) -> FieldFamily:
        """The family X_i = grad phi_i."""
        return FieldFamily(D, potentials=[dict(p) for p in phi])

    def term_table(self) -> TermTable:
        """The exact :class:`TermTable` of the generators (built once)."""
        if "terms" not in self._cache:
            if self.potentials is not None:
                self._cache["terms"] = TermTable.from_potentials(self.potentials, self.D)
            else:
                self._cache["terms"] = TermTable.from_fields(self.fields, self.D)
        return self._cache["terms"]

    def mod_table(self, p: int) -> ModTable:
        """The :class:`ModTable` of the generators modulo p (cached per prime)."""
        key = f"table{p}"
        if key not in self._cache:
            self._cache[key] = ModTable(self.term_table(), p)
        return self._cache[key]

    def support(self, i: int) -> frozenset[int]:
        """Indices of the non-zero components of X_i."""
        if self._fields is None and self.potentials is not None:
            # d_k phi has the distinct monomials beta - e_k: non-zero iff x_k occurs in phi
            return frozenset(polys.variables(self.potentials[i]))
        return frozenset(self.fields[i])

    def depends(self, i: int) -> frozenset[int]:
        """Variables that X_i depends on."""
        if self._fields is None and self.potentials is not None:
            # x_v occurs in grad phi iff some monomial has x_v squared or x_v times another
            out = set()
            for m in self.potentials[i]:
                if len(m) > 1:
                    out.update(v for v, _ in m)
                elif m and m[0][1] > 1:
                    out.add(m[0][0])
            return frozenset(out)
        out: set[int] = set()
        for comp in self.fields[i].values():
            out |= polys.variables(comp)
        return frozenset(out)

    @property
    def denominator(self) -> int:
        """The lcm of the denominators of all coefficients of the generators: a prime p is
        usable (every coefficient has an image mod p) iff it does not divide it."""
        if "den" not in self._cache:
            den = 1
            polys_ = (self.potentials if self.potentials is not None
                      else [c for f in self.fields for c in f.values()])
            for poly in polys_:
                for c in poly.values():
                    q = Fraction(c).denominator
                    if q != 1:
                        den = den * q // math.gcd(den, q)
            self._cache["den"] = den
        return self._cache["den"]

    def random_prime(self, rng: random.Random) -> int:
        """A random prime (:func:`linalg.random_prime`) dividing no denominator of the input."""
        return linalg.random_prime(rng, avoid=self.denominator)

    def is_zero(self) -> bool:
        return all(not f for f in self.fields)

    def integer_scaled(self) -> FieldFamily:
        """The same family with each field scaled to integer coefficients (laws unchanged)."""
        out = []
        for f in self.fields:
            den = 1
            for comp in f.values():
                for c in comp.values():
                    den = den * c.denominator // np.gcd(den, c.denominator)
            out.append({k: {m: c * den for m, c in comp.items()} for k, comp in f.items()})
        return FieldFamily(self.D, out)


# ---------------------------------------------------------------------------------------------
# FLINT polynomials


def variable_names(D: int) -> list[str]:
    """Default variable names x1..xD."""
    return [f"x{i + 1}" for i in range(D)]


def flint_context(D: int, p: int | None = None) -> Any:
    """The FLINT context in x1..xD over Q (``p`` None) or modulo the prime p (cached)."""
    names = variable_names(D)
    if p is None:
        return flint.fmpq_mpoly_ctx.get(names, "lex")
    return flint.nmod_mpoly_ctx.get(names, p, ordering="lex")


def to_flint(poly: Mapping[polys.Monomial, Fraction], ctx: Any) -> Any:
    """Convert a sparse :data:`Poly` to a FLINT polynomial of ``ctx``."""
    n = ctx.nvars()
    if isinstance(ctx, flint.fmpq_mpoly_ctx):
        conv: Any = lambda c: flint.fmpq(c.numerator, c.denominator)  # noqa: E731
    else:
        p = ctx.modulus()
        conv = lambda c: c.numerator * pow(c.denominator, -1, p) % p  # noqa: E731
    terms = {}
    for m, c in poly.items():
        e = [0] * n
        for v, k in m:
            e[v] = k
        terms[tuple(e)] = conv(c)
    return ctx.from_dict(terms) if terms else ctx.from_dict({})


def from_flint(p: Any) -> Poly:
    """Convert a FLINT ``fmpq_mpoly``/``fmpz_mpoly`` back to a sparse :data:`Poly`."""
    out: Poly = {}
    for e, c in p.to_dict().items():
        m = tuple((v, k) for v, k in enumerate(e) if k)
        out[m] = Fraction(int(c.p), int(c.q)) if hasattr(c, "q") else Fraction(int(c))
    return out


def to_flint_field(f: Mapping[int, Poly], ctx: Any) -> FlintField:
    """Convert a sparse field to FLINT components."""
    return {k: to_flint(c, ctx) for k, c in f.items()}


def bracket(X: Mapping[int, Any], Y: Mapping[int, Any]) -> FlintField:
    """Exact Lie bracket [X, Y] = dY·X - dX·Y of two sparse FLINT fields.

    Works for any FLINT multivariate ring (over Q or modulo p).  Terms are accumulated per
    component and zero components are dropped.
    """
    out: dict[int, Any] = {}

    def acc(j: int, term: Any) -> None:
        if j in out:
            out[j] += term
        else:
            out[j] = term

    for j, Yj in Y.items():
        for k, Xk in X.items():
            d = Yj.derivative(k)
            if not d.is_zero():
                acc(j, Xk * d)
    for j, Xj in X.items():
        for k, Yk in Y.items():
            d = Xj.derivative(k)
            if not d.is_zero():
                acc(j, -(Yk * d))
    return {j: v for j, v in out.items() if not v.is_zero()}


def interaction_graph(supports: Sequence[frozenset[int]],
                      depends: Sequence[frozenset[int]]) -> nx.Graph:
    """Graph on field indices: an edge a–b when [Y_a, Y_b] is not structurally zero.

    [Y_a, Y_b] = dY_b·Y_a - dY_a·Y_b vanishes identically when no component of Y_a is a
    variable Y_b depends on and vice versa (disjoint supports): such pairs get no edge.
    Built through a bipartite field/variable graph so the cost is the number of incidences.
    """
    g = nx.Graph()
    g.add_nodes_from(range(len(supports)))
    by_var: dict[int, list[int]] = {}
    for b, dep in enumerate(depends):
        for v in dep:
            by_var.setdefault(v, []).append(b)
    empty: tuple[int, ...] = ()
    for a, sup in enumerate(supports):
        nbrs = set().union(*(by_var.get(v, empty) for v in sup))
        nbrs.discard(a)
        g.add_edges_from((a, b) for b in nbrs)
    return g


# ---------------------------------------------------------------------------------------------
# Vectorised evaluation modulo p


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
        if all(c.denominator == 1 and abs(c.numerator) < 2**62 for c in values):
            return np.array([c.numerator for c in values], dtype=np.int64)
        return np.array(values, dtype=object)

    @staticmethod
    def from_fields(fields: Sequence[Mapping[int, Poly]], D: int) -> TermTable:
        """Table of arbitrary sparse fields."""
        tf, tc, tk, et, ev, ee = [], [], [], [], [], []
        t = 0
        for i, f in enumerate(fields):
            for k, comp in f.items():
                for m, c in comp.items():
                    tf.append(i)
                    tc.append(k)
                    tk.append(Fraction(c))
                    for v, e in m:
                        et.append(t)
                        ev.append(v)
                        ee.append(e)
                    t += 1
        arr = [np.array(a, dtype=np.int64) for a in (tf, tc, et, ev, ee)]
        return TermTable(D, len(fields), arr[0], arr[1], TermTable._coefs(tk), *arr[2:])

    @staticmethod
    def from_potentials(phi: Sequence[Poly], D: int) -> TermTable:
        """Table of the gradient fields grad phi_i, built from the terms of phi directly:
        one component term c*e * x^(m - e_v) per (term c x^m of phi, variable v of m)."""
        pf, pc, et, ev, ee = [], [], [], [], []
        t = 0
        for i, poly in enumerate(phi):
            for m, c in poly.items():
                pf.append(i)
                pc.append(c)
                for v, e in m:
                    et.append(t)
                    ev.append(v)
                    ee.append(e)
                t += 1
        pf_a = np.array(pf, dtype=np.int64)
        et_a, ev_a, ee_a = (np.array(a, dtype=np.int64) for a in (et, ev, ee))
        ncomp = len(et_a)
        pc_a = TermTable._coefs(pc)
        if pc_a.dtype == np.int64 and np.abs(pc_a).max(initial=0) < 2**40:
            coef = pc_a[et_a] * ee_a
        else:
            coef = np.array([Fraction(pc[int(t_)]) * int(e) for t_, e in zip(et_a, ee_a,
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
        return TermTable(D, len(phi), pf_a[et_a], ev_a.copy(), coef, new_term[keep],
                         n_var[keep], n_exp[keep])

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

    @staticmethod
    def from_fields(fields: Sequence[Mapping[int, Poly]], D: int, p: int) -> ModTable:
        """Table of arbitrary sparse fields modulo p."""
        return ModTable(TermTable.from_fields(fields, D), p)

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
