"""Lie bracket words and their values at the point.

A word is a generator index ``i``, a pair ``[w1, w2]`` (the bracket [w1, w2] = d(w2)·w1 -
d(w1)·w2), or a Gram word ``{"gram": j}``: the field G_j = sum_i X_i,j(x0) X_i, a combination
of the generators with the constant coefficients X_i,j(x0) (column j of the Jacobian J at the
point x0), so an element of V; its value at x0 is column j of J^T J. Words are hash-consed into
a :class:`WordTable` (equal sub-words get one id), so memo tables never hash deep tuples.

Values at the point (:class:`Values`), over K = GF(p) or QQ, in three tiers:

1. a generator: its SymPy components (:meth:`Generators.component`) evaluated at the point; a
   Gram word: sum_i X_i,j(x0) X_i,k(x0), from the columns j and k of J
   (:meth:`Generators.column_at`), and its derivatives and jets as the same combination of
   the generators' ones;
2. a bracket [u, v]: ``[u, v]_k(x0) = sum_j u_j(x0) d_j v_k(x0) - v_j(x0) d_j u_k(x0)``, so
   it needs the values of u and v and their first derivatives at the point; for a generator
   those are SymPy derivatives of its components, evaluated (words of depth <= 2 never need
   more);
3. first derivatives of a bracket word: its truncated Taylor jet of order 1, from the jets of
   its sub-words (:class:`_Jets`): a jet of order s of a field is, per component, the list of
   homogeneous parts of degree 0..s of its Taylor expansion at the point, each a SymPy
   polynomial in y = x - x0 (ring over the variables of the words involved); the jet of
   [A, B] of order s is ``sum_j A_j * d_j B_k - B_j * d_j A_k`` with products truncated at
   degree s, from jets of A and B of order s + 1; jets of generators come from their SymPy
   derivatives of order <= s at the point (Taylor's formula).

A word of nesting depth k needs jets of order k - 1 of its generators: that cost is estimated
from the number of monomials of degree <= k - 1 in the variables involved, times the
generators' terms, before anything is computed (:func:`estimate_jets`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import _algebra as alg
from ._base import CertificateError, approx, brief, charge, comb_capped, hold, remaining, what
from ._model import Generators

#: deepest nesting of a Lie bracket word
MAX_WORD_DEPTH = 64

__all__ = ["MAX_WORD_DEPTH", "Values", "WordTable", "check_jet_costs", "estimate_jets"]


class WordTable:
    """Hash-consed words: ``nodes[w]`` is ``(-1, i)`` for generator i, ``(-2, j)`` for the
    Gram word of column j, or ``(a, b)`` for [a, b].

    ``column`` (set by the checker once the model is read, :meth:`Generators.column`) gives
    the generators of a Gram word."""

    def __init__(self, d: int, D: int | None = None) -> None:
        self.d = d
        self.D = D
        self.column: Any = None
        self.nodes: list[tuple[int, ...]] = []
        self.depth: list[int] = []
        self._ids: dict[tuple[int, ...], int] = {}
        self._leaves: dict[int, frozenset[int]] = {}

    def _intern(self, key: tuple[int, ...], depth: int) -> int:
        w = self._ids.get(key)
        if w is None:
            w = len(self.nodes)
            self._ids[key] = w
            self.nodes.append(key)
            self.depth.append(depth)
        return w

    def parse(self, x: Any, level: int = 1) -> int:
        """The id of a word given as JSON (``i``, ``[w1, w2]`` or ``{"gram": j}``)."""
        if level > MAX_WORD_DEPTH:
            raise CertificateError(f"a Lie word is nested deeper than {MAX_WORD_DEPTH} levels")
        if type(x) is int:
            if not 0 <= x < self.d:
                raise CertificateError(f"generator index {brief(x)} in a Lie word is out of "
                                       f"range [0, {self.d})")
            return self._intern((-1, x), 1)
        if type(x) is list and len(x) == 2:
            a = self.parse(x[0], level + 1)
            b = self.parse(x[1], level + 1)
            return self._intern((a, b), max(self.depth[a], self.depth[b]) + 1)
        if type(x) is dict and self.D is not None:
            if list(x) != ["gram"] or type(x["gram"]) is not int:
                raise CertificateError('a Gram word must be {"gram": j} with an integer j')
            j = x["gram"]
            if not 0 <= j < self.D:
                raise CertificateError(f"Gram column {brief(j)} in a Lie word is out of range "
                                       f"[0, {self.D})")
            return self._intern((-2, j), 1)
        raise CertificateError(f"a Lie word must be a generator index, a pair [w1, w2] or "
                               f'{{"gram": j}}, not {what(x)}')

    def generator(self, w: int) -> int | None:
        """The generator index of a one-letter word, else None."""
        key = self.nodes[w]
        return key[1] if key[0] == -1 else None

    def gram(self, w: int) -> int | None:
        """The column j of a Gram word, else None."""
        key = self.nodes[w]
        return key[1] if key[0] == -2 else None

    def leaves(self, w: int) -> frozenset[int]:
        """The generators of the word."""
        got = self._leaves.get(w)
        if got is None:
            key = self.nodes[w]
            got = (frozenset((key[1],)) if key[0] == -1
                   else frozenset(self.column(key[1])) if key[0] == -2
                   else self.leaves(key[0]) | self.leaves(key[1]))
            self._leaves[w] = got
        return got


def estimate_jets(table: WordTable, w: int, gens: Generators, N: int
                  ) -> tuple[int, int, int]:
    """(jet order, variables, estimated units) of the Taylor jets that the value of word
    ``w`` needs, in a jet ring with N generators; (0, 0, 0) for depth <= 2 (no jets).

    T(x, s), a bound on the number of terms of the jet of order s of x (all components):

    * a generator with e derivative terms (terms of its components), each in at most v
      variables, of degree g: e * C(v + t, t), t = min(s, g) (the Taylor expansion of a
      monomial in v variables up to order t has at most C(v + t, t) terms);
    * a Gram word: the sum over its generators;
    * a bracket [a, b] (degree at most deg a + deg b - 1): [a, b]_k = sum_j a_j d_j b_k -
      b_j d_j a_k takes at most T(a, s) T(b, s + 1) + T(b, s) T(a, s + 1) term products, and
      at most c^2 S(a, s) S(b, s + 1) + c^2 S(b, s) S(a, s + 1) with S(x, s) = C(n + t, t),
      t = min(s, deg x), the terms of one component in n variables (c components);

    and every T(x, s) is at most c S(x, s).

    The cost of a bracket's jet is twice its number of products, times (N + 16) units a
    product term; a generator's jet costs its terms times (N + 16).
    """
    k = table.depth[w]
    if k < 3:
        return 0, 0, 0
    variables: set[int] = set()
    comps: set[int] = set()
    for i in table.leaves(w):
        variables |= gens.variables(i)
        comps |= set(gens.support(i))
    n, c = len(variables), max(len(comps), 1)
    cap = 10**30
    degree: dict[int, int] = {}
    terms: dict[tuple[int, int], int] = {}

    def deg(x: int) -> int:
        got = degree.get(x)
        if got is None:
            i = table.generator(x)
            if i is not None:
                got = gens.degree(i)
            elif table.gram(x) is not None:
                got = max((gens.degree(g) for g in table.leaves(x)), default=0)
            else:
                a, b = table.nodes[x]
                got = max(deg(a) + deg(b) - 1, 0)
            degree[x] = got
        return got

    def gen_terms(i: int, s: int) -> int:
        e, v = gens.derivative_terms(i)
        t = min(s, int(gens.degree(i)))
        return e * comb_capped(v + t, t)

    def S(x: int, s: int) -> int:
        t = min(s, int(deg(x)))
        return comb_capped(n + t, t)

    total = 0

    def T(x: int, s: int) -> int:
        """Terms of the jet of order s of x; charges the cost of computing it once."""
        nonlocal total
        got = terms.get((x, s))
        if got is not None:
            return got
        i = table.generator(x)
        if i is not None or table.gram(x) is not None:
            got = sum(gen_terms(g, s) for g in ((i,) if i is not None else table.leaves(x)))
            total += got * (N + 16)
        else:
            a, b = table.nodes[x]
            products = min(T(a, s) * T(b, s + 1) + T(b, s) * T(a, s + 1),
                           c * c * (S(a, s) * S(b, s + 1) + S(b, s) * S(a, s + 1)))
            total = min(total + 2 * products * (N + 16), cap)
            got = products
        got = min(got, c * S(x, s), cap)
        terms[(x, s)] = got
        return got

    a, b = table.nodes[w]
    for x in (a, b):
        if table.generator(x) is None and table.gram(x) is None:
            T(x, 1)
    return k - 1, n, total


class _Jets:
    """Truncated Taylor jets at the point of words' fields (tier 3, see the module
    docstring), in one ring over the variables ``V``."""

    def __init__(self, values: Values, V: Sequence[int]) -> None:
        self.values = values
        self.K = values.K
        self.V = tuple(V)
        self.R = alg.ring_of(len(self.V), self.K)
        self.pos = {v: n for n, v in enumerate(self.V)}
        self.memo: dict[tuple[int, int], dict[int, list[Any]]] = {}
        self.taylor: dict[tuple[int, int, int], list[Any]] = {}
        self.vars: dict[tuple[int, int, int], frozenset[int]] = {}

    def jet(self, w: int, s: int) -> dict[int, list[Any]]:
        """{component: [part_0, ..., part_s]} of word ``w`` (parts: homogeneous SymPy
        polynomials of degree 0..s in y = x - x0)."""
        got = self.memo.get((w, s))
        if got is not None:
            return got
        for t in range(s + 1, s + 64):
            hi = self.memo.get((w, t))
            if hi is not None:
                got = {k: p[: s + 1] for k, p in hi.items() if any(p[: s + 1])}
                break
        else:
            table = self.values.table
            i = table.generator(w)
            if i is not None:
                got = {}
                for k in self.values.gens.support(i):
                    parts = self._taylor(i, k, s)
                    if any(parts):
                        got[k] = parts
            elif table.gram(w) is not None:
                got = self._gram(table.gram(w), s)
            else:
                a, b = table.nodes[w]
                got = self._bracket(a, b, s)
            hold(sum(len(p) for parts in got.values() for p in parts)
                 * (self.R.ngens * 8 + 120) + 200, "the Taylor jets")
        self.memo[(w, s)] = got
        return got

    def _gram(self, j: int, s: int) -> dict[int, list[Any]]:
        """Jet of order s of the Gram word G_j = sum_i c_i X_i: the same combination of the
        generators' jets."""
        acc: dict[int, list[list[Any]]] = {}
        for i, c in self.values.gram_coefficients(j).items():
            for k in self.values.gens.support(i):
                parts = self._taylor(i, k, s)
                slot = acc.setdefault(k, [[] for _ in range(s + 1)])
                for deg, part in enumerate(parts):
                    if part:
                        charge(len(part) * 8 + 8, "a Gram jet")
                        slot[deg].append(part.mul_ground(c))
        out = {}
        for k, slot in acc.items():
            parts = [alg.psum(ps, self.R, "a Gram jet") for ps in slot]
            if any(parts):
                out[k] = parts
        return out

    def _taylor(self, i: int, k: int, s: int) -> list[Any]:
        """Taylor expansion at the point of component k of generator i, up to degree s:
        sum over multi-indices a, |a| <= s, of (d^a f)(x0) / a! * y^a (SymPy derivatives)."""
        got = self.taylor.get((i, k, s))
        if got is None:
            got = self._taylor_new(i, k, s)
            self.taylor[(i, k, s)] = got
        return got

    def _taylor_new(self, i: int, k: int, s: int) -> list[Any]:
        K, R = self.K, self.R
        vals = self.values
        f, Vc = vals.gens.component(i, k, K)
        parts: list[dict[tuple[int, ...], Any]] = [{} for _ in range(s + 1)]
        N = R.ngens
        where = [self.pos[v] for v in Vc]
        stack = [(f, 0, (0,) * len(Vc), 0, K.one)]
        while stack:
            g, start, alpha, deg, inv_fact = stack.pop()
            val = alg.evaluate(g, Vc, vals.point, vals.xwords)
            if val:
                charge(N + 16, "a Taylor coefficient")
                e = [0] * N
                for idx, a in enumerate(alpha):
                    if a:
                        e[where[idx]] = a
                parts[deg][tuple(e)] = val * inv_fact
            if deg == s:
                continue
            for idx in alg.used_vars(g):
                if idx < start:
                    continue
                h = alg.diff(g, idx, "a Taylor coefficient")
                if h:
                    a2 = list(alpha)
                    a2[idx] += 1
                    stack.append((h, idx, tuple(a2), deg + 1, inv_fact / K(a2[idx])))
        charge(sum(len(p) for p in parts) * (N + 16) + 16, "a Taylor jet")
        return [R.from_dict(p) for p in parts]

    def _jvars(self, w: int, s: int, k: int, parts: list[Any]) -> frozenset[int]:
        key = (w, s, k)
        got = self.vars.get(key)
        if got is None:
            got = frozenset(self.V[i] for p in parts if p for i in alg.used_vars(p))
            self.vars[key] = got
        return got

    def _deriv(self, parts: list[Any], j: int) -> list[Any] | None:
        """d/dy_j of a jet (its order drops by one), None when zero."""
        i = self.pos.get(j)
        if i is None:
            return None
        out = [alg.diff(p, i, "a jet derivative") if p else p for p in parts[1:]]
        return out if any(out) else None

    def _mul_into(self, acc: list[list[Any]], a: list[Any], b: list[Any], s: int,
                  sign: int) -> None:
        for d1, pa in enumerate(a):
            if not pa:
                continue
            for d2 in range(min(len(b) - 1, s - d1) + 1):
                pb = b[d2]
                if pb:
                    prod = alg.mul(pa, pb, "a jet product")
                    if sign < 0:
                        charge(len(prod) * 4 + 8, "a jet product")
                        prod = -prod
                    acc[d1 + d2].append(prod)

    def _bracket(self, u: int, v: int, s: int) -> dict[int, list[Any]]:
        """Jet of order s of [u, v] from jets of order s + 1 of u and v."""
        A1 = self.jet(u, s + 1)
        B = self.jet(v, s + 1)
        A = self.jet(u, s)
        B0 = self.jet(v, s)
        out: dict[int, list[Any]] = {}
        for k in sorted(set(B) | set(A1)):
            acc: list[list[Any]] = [[] for _ in range(s + 1)]
            if k in B:
                bv = self._jvars(v, s + 1, k, B[k])
                for j, Aj in A.items():
                    if j in bv:
                        dB = self._deriv(B[k], j)
                        if dB:
                            self._mul_into(acc, Aj, dB, s, 1)
            if k in A1:
                av = self._jvars(u, s + 1, k, A1[k])
                for j, Bj in B0.items():
                    if j in av:
                        dA = self._deriv(A1[k], j)
                        if dA:
                            self._mul_into(acc, Bj, dA, s, -1)
            parts = [alg.psum(acc[d], self.R, "a jet bracket") for d in range(s + 1)]
            if any(parts):
                out[k] = parts
        return out

    def gradient(self, w: int, k: int) -> dict[int, Any]:
        """{variable j: d_j w_k (x0)} from the jet of order 1."""
        parts = self.jet(w, 1).get(k)
        if not parts or len(parts) < 2 or not parts[1]:
            return {}
        p1 = parts[1]
        charge(len(p1) * (self.R.ngens + 16), "reading a jet")
        out = {}
        for monom, c in p1.iterterms():
            out[self.V[monom.index(1)]] = c
        return out


class Values:
    """Values at the point of the fields of words (see the module docstring)."""

    def __init__(self, gens: Generators, table: WordTable, K: Any, point: Sequence[Any],
                 xwords: int = 1) -> None:
        self.gens, self.table, self.K = gens, table, K
        self.point = point
        self.xwords = xwords
        self._value: dict[tuple[int, int], Any] = {}
        self._grad: dict[tuple[int, int], dict[int, Any]] = {}
        self._supp: dict[int, frozenset[int]] = {}
        self._columns: dict[int, dict[int, Any]] = {}
        self._gen_grad: dict[tuple[int, int], dict[int, Any]] = {}
        self._jets: _Jets | None = None
        self.jet_vars: Sequence[int] = ()

    def support(self, w: int) -> frozenset[int]:
        """Components where the word's field may be non-zero (a superset)."""
        got = self._supp.get(w)
        if got is None:
            i = self.table.generator(w)
            if i is not None:
                got = frozenset(self.gens.support(i))
            elif self.table.gram(w) is not None:
                out: set[int] = set()
                for g in self.table.leaves(w):
                    out.update(self.gens.support(g))
                got = frozenset(out)
            else:
                a, b = self.table.nodes[w]
                got = self.support(a) | self.support(b)
            self._supp[w] = got
        return got

    def gram_coefficients(self, j: int) -> dict[int, Any]:
        """{i: X_i,j(x0)}: the coefficients of the Gram word G_j (column j of J at the
        point, zeros omitted)."""
        got = self._columns.get(j)
        if got is None:
            got = self.gens.column_at(j, self.K, self.point)
            self._columns[j] = got
        return got

    def _generator_gradient(self, i: int, k: int) -> dict[int, Any]:
        got = self._gen_grad.get((i, k))
        if got is None:
            f, V = self.gens.component(i, k, self.K)
            got = alg.gradient_at(f, V, self.point, self.xwords) if f else {}
            self._gen_grad[(i, k)] = got
        return got

    def value(self, w: int, k: int) -> Any:
        """Component k of the word's field at the point."""
        key = (w, k)
        got = self._value.get(key)
        if got is not None:
            return got
        K = self.K
        if k not in self.support(w):
            got = K.zero
        else:
            i = self.table.generator(w)
            if i is not None:
                f, V = self.gens.component(i, k, K)
                got = alg.evaluate(f, V, self.point, self.xwords) if f else K.zero
            elif self.table.gram(w) is not None:
                # (J^T J)_{jk} = sum_i X_i,j(x0) X_i,k(x0)
                cj = self.gram_coefficients(self.table.gram(w))
                ck = self.gram_coefficients(k)
                if len(ck) < len(cj):
                    cj, ck = ck, cj
                charge(len(cj) * (16 + 4 * self.xwords ** 2) + 16, "a Gram value")
                got = K.zero
                for g, c in cj.items():
                    x = ck.get(g)
                    if x:
                        got += c * x
            else:
                a, b = self.table.nodes[w]
                gb = self.gradient(b, k)
                ga = self.gradient(a, k)
                charge((len(ga) + len(gb)) * (16 + 4 * self.xwords ** 2) + 16,
                       "a bracket value")
                got = K.zero
                for j, g in gb.items():
                    x = self.value(a, j)
                    if x:
                        got += x * g
                for j, g in ga.items():
                    x = self.value(b, j)
                    if x:
                        got -= x * g
        self._value[key] = got
        return got

    def gradient(self, w: int, k: int) -> dict[int, Any]:
        """{j: d_j (component k of the word's field) at the point}, zeros omitted."""
        key = (w, k)
        got = self._grad.get(key)
        if got is not None:
            return got
        if k not in self.support(w):
            got = {}
        else:
            i = self.table.generator(w)
            if i is not None:
                got = self._generator_gradient(i, k)
            elif self.table.gram(w) is not None:
                acc: dict[int, Any] = {}
                for g, c in self.gram_coefficients(self.table.gram(w)).items():
                    if k in self.gens.support(g):
                        grad = self._generator_gradient(g, k)
                        charge(len(grad) * (16 + 4 * self.xwords ** 2) + 16,
                               "a Gram gradient")
                        for v, x in grad.items():
                            acc[v] = acc.get(v, self.K.zero) + c * x
                got = {v: x for v, x in acc.items() if x}
            else:
                if self._jets is None:
                    self._jets = _Jets(self, self.jet_vars)
                got = self._jets.gradient(w, k)
        hold(len(got) * 100 + 100, "the values at the point")
        self._grad[key] = got
        return got


def check_jet_costs(table: WordTable, words: Sequence[int], gens: Generators,
                    exact: bool = False) -> list[int]:
    """The variables of the jet ring for the words of depth >= 3, after refusing words whose
    estimated jet cost is hopeless (far above what is left of the budget; exact jets, over Q,
    have growing coefficients and count one and a half times)."""
    variables: set[int] = set()
    for w in words:
        if table.depth[w] >= 3:
            for i in table.leaves(w):
                variables |= gens.variables(i)
    N = alg.ring_size(len(variables))
    for n, w in enumerate(words):
        order, nvars, est = estimate_jets(table, w, gens, N)
        est = est * 3 // 2 if exact else est
        if est > 4 * remaining():
            raise CertificateError(
                f"lie word {n + 1} (nesting depth {table.depth[w]}) needs Taylor jets of order "
                f"{order} in {nvars} variables: about {approx(est)} units of work, above the "
                "verifier's limit")
    return sorted(variables)
