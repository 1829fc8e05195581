"""Polynomial vector fields and the generators of V: FLINT storage, exact Lie brackets.

A :class:`VectorField` on R^D is a sequence of D FLINT polynomials stored sparsely (a field of
a path lifting has 2-4 non-zero components out of hundreds).  A :class:`FieldFamily` is the
list of generators X_1..X_d of V (design.md §1), given as potentials phi_i (X_i = grad phi_i),
as general fields, or -- for the network builders -- as a compiled table of the potentials,
from which the FLINT forms are derived on request.

Lie bracket (design.md §1): ``[X, Y] = dY·X - dX·Y``, i.e. component j is
``sum_k X_k d_k Y_j - Y_k d_k X_j``; :func:`bracket` computes it on FLINT polynomials of any
ring (over Q, or modulo p).

>>> from conslaw_flint.core.polynomials import ring
>>> R = ring(["x1", "x2"])
>>> x1, x2 = R.gens()
>>> X = VectorField(R, {0: x2, 1: x1})               # grad(x1*x2)
>>> Y = VectorField(R, {0: x1})
>>> X.bracket(Y)
VectorField(x2, -x1)
>>> list(X)
[x2, x1]
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from . import linalg
from .polynomials import Poly, Ring, tree_sum, variables, zero
from .tables import ModTable, TermTable


class VectorField(Sequence[Poly]):
    """A polynomial vector field: ``X[k]`` is its k-th component (0-based) as a FLINT
    polynomial, ``len(X) = D``; only non-zero components are stored (:meth:`items`)."""

    __slots__ = ("_comps", "ring")

    def __init__(self, R: Ring, comps: Mapping[int, Poly] | Sequence[Poly]) -> None:
        self.ring = R
        items = comps.items() if isinstance(comps, Mapping) else enumerate(comps)
        D = R.nvars()
        out: dict[int, Poly] = {}
        for k, c in items:
            if not 0 <= k < D:
                raise IndexError(f"component {k} out of range for D = {D}")
            if not c.is_zero():
                out[k] = c
        self._comps = dict(sorted(out.items()))

    @property
    def D(self) -> int:
        return self.ring.nvars()

    def __len__(self) -> int:
        return self.ring.nvars()

    def __getitem__(self, k: int) -> Poly:  # type: ignore[override]
        if not isinstance(k, int):
            raise TypeError("components are indexed by an int")
        if k < 0:
            k += self.D
        if not 0 <= k < self.D:
            raise IndexError(k)
        c = self._comps.get(k)
        return c if c is not None else zero(self.ring)

    def __iter__(self) -> Iterator[Poly]:
        return (self[k] for k in range(self.D))

    def items(self) -> Iterator[tuple[int, Poly]]:
        """(component, polynomial) for the non-zero components, increasing."""
        return iter(self._comps.items())

    def support(self) -> frozenset[int]:
        """Indices of the non-zero components."""
        return frozenset(self._comps)

    def depends(self) -> frozenset[int]:
        """Indices of the variables the field depends on."""
        out: set[int] = set()
        for c in self._comps.values():
            out.update(variables(c))
        return frozenset(out)

    def bracket(self, other: VectorField) -> VectorField:
        """The Lie bracket [self, other] = d(other)·self - d(self)·other."""
        return VectorField(self.ring, bracket(self._comps, other._comps))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, VectorField):
            return NotImplemented
        return (self.ring is other.ring and self._comps.keys() == other._comps.keys()
                and all(self._comps[k] == other._comps[k] for k in self._comps))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"VectorField({', '.join(str(c) for c in self)})"


def bracket(X: Mapping[int, Any], Y: Mapping[int, Any]) -> dict[int, Any]:
    """Exact Lie bracket [X, Y] = dY·X - dX·Y of two sparse fields {component: FLINT
    polynomial}, in any FLINT multivariate ring (over Q or modulo p); zero components are
    dropped."""
    out: dict[int, list[Any]] = {}
    for j, Yj in Y.items():
        for k, Xk in X.items():
            d = Yj.derivative(k)
            if not d.is_zero():
                out.setdefault(j, []).append(Xk * d)
    for j, Xj in X.items():
        for k, Yk in Y.items():
            d = Xj.derivative(k)
            if not d.is_zero():
                out.setdefault(j, []).append(-(Yk * d))
    res = {}
    for j, parts in out.items():
        v = tree_sum(parts, parts[0].context())
        if not v.is_zero():
            res[j] = v
    return res


class FieldFamily:
    """The generators X_1..X_d of V on R^D.

    Give exactly one of ``potentials`` (FLINT polynomials phi_i; X_i = grad phi_i),
    ``fields`` (FLINT vector fields) or ``potential_table`` (the compiled table of the
    potentials, as the network builders emit it).  Whatever is not given is derived on first
    use and cached: the FLINT forms for users, the compiled tables for the algorithms.
    """

    def __init__(self, R: Ring, *, potentials: Sequence[Poly] | None = None,
                 fields: Sequence[VectorField] | None = None,
                 potential_table: TermTable | None = None) -> None:
        if sum(x is not None for x in (potentials, fields, potential_table)) != 1:
            raise ValueError("a field family needs exactly one of potentials, fields or "
                             "potential_table")
        self.ring = R
        self.D = R.nvars()
        self._potentials = tuple(potentials) if potentials is not None else None
        self._fields = tuple(fields) if fields is not None else None
        self._ptable = potential_table
        self._cache: dict[str, Any] = {}
        #: what the builder knows of the family's structure, for the algorithms' fast paths:
        #: ("network", kind, widths), ("product", D) or None
        self.structure: Any = None

    # -- what the family is -------------------------------------------------------------------

    @property
    def is_gradient(self) -> bool:
        """X_i = grad phi_i for polynomials phi_i."""
        return self._fields is None

    @property
    def d(self) -> int:
        if self._potentials is not None:
            return len(self._potentials)
        if self._fields is not None:
            return len(self._fields)
        assert self._ptable is not None
        return self._ptable.n_fields

    @property
    def potentials(self) -> tuple[Poly, ...] | None:
        """phi_1..phi_d as FLINT polynomials (None for general fields)."""
        if self._fields is not None:
            return None
        if self._potentials is None:
            from .polynomials import from_terms

            t = self.potential_table()
            monos, coefs = t.monomials(), t.coefficients()
            groups: list[list[Any]] = [[] for _ in range(t.n_fields)]
            for f, m, c in zip(t.t_field.tolist(), monos, coefs, strict=True):
                groups[f].append((m, c))
            self._potentials = tuple(from_terms(self.ring, g) for g in groups)
        return self._potentials

    def potential(self, i: int) -> Poly:
        """phi_i as a FLINT polynomial (gradient families; built alone, not all d)."""
        if self._fields is not None:
            raise ValueError("general fields have no potentials")
        if self._potentials is not None:
            return self._potentials[i]
        key = ("phi", i)
        if key not in self._cache:
            from .polynomials import from_terms

            t = self.potential_table()
            if "tf_order_p" not in self._cache:
                o = np.argsort(t.t_field, kind="stable")
                self._cache["tf_order_p"] = (o, np.searchsorted(t.t_field[o],
                                                                np.arange(self.d + 1)))
            o, fb = self._cache["tf_order_p"]
            sel = o[fb[i]:fb[i + 1]]
            e_start = np.searchsorted(t.e_term, np.arange(t.n_terms + 1))
            items = []
            coefs = t.coefficients() if t.coef.dtype != np.int64 else None
            for term in sel.tolist():
                lo, hi = e_start[term], e_start[term + 1]
                m = tuple(zip(t.e_var[lo:hi].tolist(), t.e_exp[lo:hi].tolist(), strict=True))
                c = coefs[term] if coefs is not None else int(t.coef[term])
                items.append((tuple(sorted(m)), c))
            self._cache[key] = from_terms(self.ring, items)
        return self._cache[key]

    def field(self, i: int) -> VectorField:
        """X_i as a FLINT vector field (built alone, not all d)."""
        if self._fields is not None:
            return self._fields[i]
        key = ("X", i)
        if key not in self._cache:
            p = self.potential(i)
            self._cache[key] = VectorField(self.ring, {k: p.derivative(k) for k in variables(p)})
        return self._cache[key]

    @property
    def fields(self) -> tuple[VectorField, ...]:
        """X_1..X_d as FLINT vector fields (for a gradient family: the gradients, built on
        first use; the family stays a gradient family)."""
        if self._fields is not None:
            return self._fields
        if "grad_fields" not in self._cache:
            self._cache["grad_fields"] = tuple(self.field(i) for i in range(self.d))
        return self._cache["grad_fields"]

    # -- compiled forms -----------------------------------------------------------------------

    def potential_table(self) -> TermTable:
        """The compiled table of phi_1..phi_d (gradient families only)."""
        if self._ptable is None:
            if self._potentials is None:
                raise ValueError("general fields have no potentials")
            self._ptable = TermTable.from_scalars(self._potentials, self.D)
        return self._ptable

    def table_entries(self) -> int:
        """Entries (term, variable) of the compiled potentials (gradient families) or fields:
        the cost of evaluating every generator at one point."""
        t = self.potential_table() if self._fields is None else self.term_table()
        return len(t.e_term)

    def term_table(self) -> TermTable:
        """The compiled table of the fields X_1..X_d (built once)."""
        if "terms" not in self._cache:
            if self._fields is None:
                self._cache["terms"] = self.potential_table().gradient()
            else:
                self._cache["terms"] = TermTable.from_fields(self._fields, self.D)
        return self._cache["terms"]

    def mod_table(self, p: int) -> ModTable:
        """The :class:`ModTable` of the fields modulo p (cached per prime)."""
        key = f"table{p}"
        if key not in self._cache:
            if self._fields is None:
                self._cache[key] = ModTable(self.term_table, p, self.potential_table())
            else:
                self._cache[key] = ModTable(self.term_table(), p)
        return self._cache[key]

    # -- structure ----------------------------------------------------------------------------

    def _entries_by_field(self) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(table, entries sorted by field, field boundaries, entry's field, entry's
        monomial width): the index behind :meth:`support` and :meth:`depends`."""
        if "byf" not in self._cache:
            t = self.potential_table() if self._fields is None else self.term_table()
            ef = t.t_field[t.e_term]
            order = np.argsort(ef, kind="stable")
            bounds = np.searchsorted(ef[order], np.arange(self.d + 1))
            width = np.bincount(t.e_term, minlength=t.n_terms)[t.e_term]
            self._cache["byf"] = (t, order, bounds, ef, width)
        return self._cache["byf"]

    def support(self, i: int) -> frozenset[int]:
        """Indices of the non-zero components of X_i (structurally: an over-approximation
        only if terms cancel, which the tables never leave)."""
        key = ("sup", i)
        if key not in self._cache:
            if self._fields is None:
                # grad phi has component k iff x_k occurs in phi
                t, order, bounds, _, _ = self._entries_by_field()
                self._cache[key] = frozenset(t.e_var[order[bounds[i]:bounds[i + 1]]].tolist())
            else:
                t = self.term_table()
                if "tf_order" not in self._cache:
                    o = np.argsort(t.t_field, kind="stable")
                    self._cache["tf_order"] = (o, np.searchsorted(t.t_field[o],
                                                                  np.arange(self.d + 1)))
                o, fb = self._cache["tf_order"]
                self._cache[key] = frozenset(t.t_comp[o[fb[i]:fb[i + 1]]].tolist())
        return self._cache[key]

    def depends(self, i: int) -> frozenset[int]:
        """Indices of the variables X_i depends on."""
        key = ("dep", i)
        if key not in self._cache:
            t, order, bounds, _, width = self._entries_by_field()
            sel = order[bounds[i]:bounds[i + 1]]
            if self._fields is None:
                # grad phi depends on x_v iff some monomial has x_v squared or x_v times
                # another variable
                sel = sel[(t.e_exp[sel] > 1) | (width[sel] > 1)]
            self._cache[key] = frozenset(t.e_var[sel].tolist())
        return self._cache[key]

    @property
    def denominator(self) -> int:
        """The lcm of the denominators of all coefficients of the generators: a prime p is
        usable (every coefficient has an image mod p) iff it does not divide it."""
        if "den" not in self._cache:
            import math

            t = self.potential_table() if self._fields is None else self.term_table()
            den = 1
            if t.coef.dtype == np.int64:
                self._cache["den"] = 1
                return 1
            for c in t.coefficients():
                q = c.denominator
                if q != 1:
                    den = den * q // math.gcd(den, q)
            self._cache["den"] = den
        return self._cache["den"]

    def random_prime(self, rng: random.Random) -> int:
        """A random prime (:func:`linalg.random_prime`) dividing no denominator of the input."""
        return linalg.random_prime(rng, avoid=self.denominator)

    def is_zero(self) -> bool:
        """Every generator is the zero field."""
        return self.term_table().n_terms == 0


def interaction_graph(supports: Sequence[frozenset[int]],
                      depends: Sequence[frozenset[int]]) -> Any:
    """Graph (networkx) on field indices: an edge a–b when [Y_a, Y_b] is not structurally
    zero.

    [Y_a, Y_b] = dY_b·Y_a - dY_a·Y_b vanishes identically when no component of Y_a is a
    variable Y_b depends on and vice versa (disjoint supports): such pairs get no edge.
    Built through a field/variable index so the cost is the number of incidences.
    """
    import networkx as nx

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


__all__ = ["FieldFamily", "VectorField", "bracket", "interaction_graph"]
