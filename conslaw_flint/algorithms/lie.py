"""Algorithm 2: the generic dimension of the trace of Lie(V), as an exact lower bound.

At a random integer point t0 and modulo a random prime p, the values of finitely many named
fields of Lie(V) (bracket words in the generators) are reduced into an incremental echelon
basis.  The rank reached is the rank modulo p of an integer matrix of values of elements of
Lie(V) at t0, hence a valid lower bound for dim Lie(V)(t0) <= K* (design.md §3-4).

Levels.  Level 1 keeps a *frame*: the generators whose values are independent at t0.  Level
k+1 brackets every frame field with the fields that level k added.  Keeping a frame instead of
all of V_k is what Frobenius' theorem allows: on the open set where the ranks are constant,
the distribution spanned by the frame is that of V_k, and [fY, gZ] = fg[Y, Z] mod the
distribution, so brackets of frame fields generate the same involutive closure.  A bracket
value needs only the values and Jacobians of its two operands at t0:
[Y_a, Y_b](t0) = dY_b(t0) Y_a(t0) - dY_a(t0) Y_b(t0); Jacobians of generators come from
vectorised term tables, those of brackets of two generators from contracted Hessians, those of
deeper words from truncated Taylor jets modulo p (:class:`_Jets`) or, when the jets would be
large, from elementary differentials (:mod:`~conslaw_flint.algorithms.trees`).
Pairs with disjoint supports (structurally zero brackets) are pruned with a networkx graph,
and each unordered pair is bracketed once (antisymmetry).

Stopping.  The closure stops when a level adds no new direction at t0, or when the rank
reaches ``cap``: a caller passes ``cap = D - m`` when m independent laws are already proven,
because dim Lie(V)(t) <= D - m then holds everywhere, so no bracket can add anything.  No
known formula is ever consulted.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..core import budget, linalg
from ..core.fields import FieldFamily, interaction_graph
from ..core.progress import task as progress_task
from ..core.tables import ModTable
from ..errors import TimeUp, TooLargeError
from ..results import LieResult, Word, gram_word, is_gram
from . import trees

#: deep words whose jets would have more monomials than this (C(D + depth, depth)) take the
#: elementary differentials of :mod:`~conslaw_flint.algorithms.trees` when they are affordable
TREES_ABOVE_JET_MONOMIALS = 1_000


class _JacobianCache(dict):  # type: ignore[type-arg]
    """Frame Jacobians by frame index, at most as many as a quarter of the memory budget
    holds (D x D int64 each); the oldest are evicted first.  ``last`` keeps every matrix
    stored during the current call of :meth:`_Frame.jacobians` until it returns."""

    def __init__(self, D: int) -> None:
        super().__init__()
        self.cap = max(4, budget.current().max_memory // 4 // max(8 * D * D, 1))
        self.last: dict[int, np.ndarray] = {}

    def __setitem__(self, key: int, value: np.ndarray) -> None:
        super().__setitem__(key, value)
        self.last[key] = value
        while len(self) > self.cap:
            del self[next(iter(self))]


class _Frame:
    """Frame fields with values (n, D) and lazily computed Jacobians (n, D, D) at t0."""

    def __init__(self, family: FieldFamily, x: np.ndarray, p: int) -> None:
        self.family, self.x, self.p, self.D = family, x, p, family.D
        self.table = family.mod_table(p)
        self.words: list[Word] = []
        self.values: list[np.ndarray] = []
        self.jac = _JacobianCache(family.D)
        self._supports: list[frozenset[int] | None] = []
        self._depends: list[frozenset[int] | None] = []
        self._jets: _Jets | None = None
        self._trees: trees.Trees | None | bool = None   # False: not applicable

    def add(self, word: Word, value: np.ndarray, support: frozenset[int] | None,
            depends: frozenset[int] | None) -> None:
        """A frame field (support and dependencies None: computed when first needed)."""
        self.words.append(word)
        self.values.append(value)
        self._supports.append(support)
        self._depends.append(depends)

    def gram_coefficients(self, j: int) -> np.ndarray:
        """The coefficients X_i,j(x) (mod p) of the Gram word G_j, one per generator."""
        f, c, v = self.table.values_coo(self.x)
        coef = np.zeros(self.family.d, dtype=np.int64)
        sel = c == j
        coef[f[sel]] = v[sel]
        return coef

    def _structure(self, i: int) -> None:
        w = self.words[i]
        assert is_gram(w)
        gens = np.flatnonzero(self.gram_coefficients(w[1]))
        sup: set[int] = set()
        dep: set[int] = set()
        for g in gens.tolist():
            sup |= self.family.support(g)
            dep |= self.family.depends(g)
        self._supports[i], self._depends[i] = frozenset(sup), frozenset(dep)

    @property
    def supports(self) -> list[frozenset[int]]:
        for i, s in enumerate(self._supports):
            if s is None:
                self._structure(i)
        return self._supports  # type: ignore[return-value]

    @property
    def depends(self) -> list[frozenset[int]]:
        for i, s in enumerate(self._depends):
            if s is None:
                self._structure(i)
        return self._depends  # type: ignore[return-value]

    def jvps(self, idx: Sequence[int], v: np.ndarray) -> np.ndarray:
        """dY_i(x) v for the frame fields idx: vectorised for generators, through their
        (cached) Jacobians for the others."""
        out = np.zeros((len(idx), self.D), dtype=np.int64)
        gens = [t for t, i in enumerate(idx) if isinstance(self.words[i], int)
                and i not in self.jac]
        if gens:
            out[gens] = self.table.jvps(self.x, np.array([self.words[idx[t]] for t in gens]),
                                        v)
        done = set(gens)
        vv = v[:, None] % self.p
        for t in range(len(idx)):
            if t not in done:  # one (cached) Jacobian at a time: D x D each
                budget.tick()
                out[t] = linalg.matmul_mod(self.jacobians([idx[t]])[0], vv, self.p)[:, 0]
        return out

    def jacobians(self, idx: Sequence[int]) -> np.ndarray:
        """The Jacobians dY_i(x) of the frame fields idx, shape (len(idx), D, D), through a
        cache bounded by the memory budget (least recently computed evicted first)."""
        budget.reserve(8 * self.D * self.D * (len(idx) + 1),
                       f"{len(idx)} Jacobian matrices of {self.D} x {self.D}",
                       "use a smaller model")
        got = {i: self.jac[i] for i in idx if i in self.jac}
        missing = [i for i in idx if i not in got]
        self.jac.last = {}
        gens = [i for i in missing if isinstance(self.words[i], int)]
        if gens:
            J = self.table.jacobians(self.x, np.array([self.words[i] for i in gens]))
            for t, i in enumerate(gens):
                self.jac[i] = J[t]
        for i in missing:
            if is_gram(self.words[i]):
                budget.tick()
                self.jac[i] = self.table.combination_jacobian(
                    self.x, self.gram_coefficients(self.words[i][1]))
        others = [i for i in missing if not isinstance(self.words[i], int)
                  and not is_gram(self.words[i])]
        # brackets of two generators: J[a,b] = J_b J_a + T_b.v_a - J_a J_b - T_a.v_b, with
        # T.v the Jacobian of the directional derivative (second derivatives of generators)
        pairs = [i for i in others if isinstance(self.words[i][0], int)
                 and isinstance(self.words[i][1], int)]
        if pairs:
            index = {w: t for t, w in enumerate(self.words)}
            gens = np.array([w for i in pairs for w in self.words[i]])
            other = np.array([self.words[i][1 - t] for i in pairs for t in (0, 1)])
            vals = np.stack([self.values[index[w]] for w in other])
            T = self.table.contracted_hessians(self.x, gens, vals)
            Jg = self.table.jacobians(self.x, gens)
            p = self.p
            for n, i in enumerate(pairs):
                Ja, Jb = Jg[2 * n], Jg[2 * n + 1]
                Tav, Tbv = T[2 * n], T[2 * n + 1]      # T_a.v_b and T_b.v_a
                self.jac[i] = (linalg.matmul_mod(Jb, Ja, p) + Tbv
                               - linalg.matmul_mod(Ja, Jb, p) - Tav) % p
            others = [i for i in others if i not in set(pairs)]
        if others:
            for i in others:
                budget.tick()
                J = self._tree_jacobian(self.words[i])
                if J is None:
                    if self._jets is None:
                        self._jets = _Jets(self.table, self.x, self.p)
                    self._jets.gram = self.gram_coefficients
                    J = self._jets.jacobian(self.words[i])
                self.jac[i] = J
        for i in missing:
            got[i] = self.jac.last[i]
        return np.stack([got[i] for i in idx]) if idx else np.zeros((0, self.D, self.D),
                                                                   dtype=np.int64)


    def _tree_jacobian(self, w: Word) -> np.ndarray | None:
        """dY_w(x) through elementary differentials (:mod:`~conslaw_flint.algorithms.trees`)
        when a word this deep would need large jets and the generators' derivative tensors
        are small; None: use the jets."""
        if self._trees is False:
            return None
        k = trees.word_depth(w)
        if trees.jets_order_monomials(self.D, k) <= TREES_ABOVE_JET_MONOMIALS:
            return None
        if self._trees is None:
            deg = int(trees.generator_degrees(self.table).max(initial=0))
            if deg > 4 or self.D >= 1 << 13 \
                    or trees.tensor_entries(self.table) > trees.MAX_TENSOR_ENTRIES:
                self._trees = False
                return None
            try:
                self._trees = trees.Trees(self.table, self.x, self.p, self.gram_coefficients)
            except TooLargeError:
                self._trees = False     # the tensors do not fit: the jets decide
                return None
        try:
            return self._trees.jacobian(w)
        except (trees.TooManyTrees, TooLargeError):
            return None     # too many trees, or their Jacobians do not fit: the jets decide


class _Jets:
    """Truncated Taylor expansions of bracket words at the point x, modulo p.

    A field Y is stored through Y(x + s·y) as polynomials in y_1..y_D and s, truncated to
    s-degree <= order (every term has s-degree equal to its y-degree, so this is the jet of
    order ``order``).  Since d/dy_k Y(x + s·y) = s·(d_k Y)(x + s·y), the bracket is
    [A, B]_j = (sum_k A_k d_{y_k} B_j - B_k d_{y_k} A_j) / s, an exact division; a jet of order
    t of [A, B] needs jets of order t + 1 of A and B, so a word nested k deep needs generator
    jets of order k only.  Values are the constant terms, Jacobians the terms s·y_k.
    """

    def __init__(self, table: ModTable, x: np.ndarray, p: int) -> None:
        import flint

        D = table.D
        budget.reserve(len(table.t_field) * (D + 9) * 8, "the Taylor jets of the bracket words",
                       "lower the model size")
        self.D, self.table, self.p = D, table, p
        self.ctx = flint.nmod_mpoly_ctx.get([f"y{i + 1}" for i in range(D)] + ["s"], p,
                                            ordering="deglex")
        gens = self.ctx.gens()
        self.s = gens[D]
        self.lin = [int(x[k]) + self.s * gens[k] for k in range(D)]
        self._spow: dict[int, Any] = {}
        self.memo: dict[Word, tuple[int, dict[int, Any]]] = {}
        #: the coefficients of a Gram word (set by the frame)
        self.gram: Callable[[int], np.ndarray] = lambda j: np.zeros(0, dtype=np.int64)
        order = np.argsort(table.t_field, kind="stable")
        self._by_field = (order, np.searchsorted(table.t_field[order],
                                                 np.arange(table.n_fields + 1)))
        self._e_start = np.searchsorted(table.e_term, np.arange(len(table.t_field) + 1))

    def _sp(self, k: int) -> Any:
        if k not in self._spow:
            self._spow[k] = self.s ** k
        return self._spow[k]

    def _trunc(self, P: Any, order: int) -> Any:
        return P % self._sp(order + 1)

    def _generator(self, i: int, order: int) -> dict[int, Any]:
        t = self.table
        terms, fb = self._by_field
        out: dict[int, Any] = {}
        for term in terms[fb[i]:fb[i + 1]].tolist():
            budget.tick()
            P = self.ctx.constant(int(t.t_coef[term]))
            for e in range(self._e_start[term], self._e_start[term + 1]):
                v, k = int(t.e_var[e]), int(t.e_exp[e])
                P = self._trunc(P * self.lin[v] ** k, order)
            comp = int(t.t_comp[term])
            out[comp] = out[comp] + P if comp in out else P
        return {k: v for k, v in out.items() if not v.is_zero()}

    def jet(self, w: Word, order: int) -> dict[int, Any]:
        """Components of the word's field at x + s·y, truncated to order ``order``."""
        got = self.memo.get(w)
        if got is not None and got[0] >= order:
            if got[0] == order:
                return got[1]
            cut = {k: self._trunc(v, order) for k, v in got[1].items()}
            return {k: v for k, v in cut.items() if not v.is_zero()}
        if isinstance(w, int):
            out = self._generator(w, order)
        elif is_gram(w):
            # G_j = sum_i c_i X_i: the combination of the generators' jets
            coef = self.gram(w[1])
            acc_g: dict[int, Any] = {}
            for i in np.flatnonzero(coef).tolist():
                for k, P in self._generator(i, order).items():
                    term = P * int(coef[i])
                    acc_g[k] = acc_g[k] + term if k in acc_g else term
            out = {k: v for k, v in acc_g.items() if not v.is_zero()}
        else:
            A, B = self.jet(w[0], order + 1), self.jet(w[1], order + 1)
            acc: dict[int, Any] = {}
            for X, Y, sign in ((A, B, 1), (B, A, -1)):
                for j, Yj in Y.items():
                    budget.tick()
                    for k, Xk in X.items():
                        d = Yj.derivative(k)
                        if d.is_zero():
                            continue
                        term = self._trunc(Xk * d, order + 1)
                        if sign < 0:
                            term = -term
                        acc[j] = acc[j] + term if j in acc else term
            out = {}
            for j, P in acc.items():
                q, r = divmod(P, self.s)
                if not r.is_zero():  # pragma: no cover - impossible by construction
                    raise ArithmeticError("jet bracket: inexact division by s")
                if not q.is_zero():
                    out[j] = q
        self.memo[w] = (order, out)
        return out

    def jacobian(self, w: Word) -> np.ndarray:
        """dY_w(x) modulo p, from the jet of order 1."""
        J = np.zeros((self.D, self.D), dtype=np.int64)
        for j, P in self.jet(w, 1).items():
            lin = P - self._trunc(P, 0)
            for e, c in lin.to_dict().items():
                k = next(i for i in range(self.D) if e[i])
                J[j, k] = int(c)
        return J

    def value(self, w: Word) -> np.ndarray:
        """Y_w(x) modulo p, from the jet of order 0."""
        v = np.zeros(self.D, dtype=np.int64)
        for j, P in self.jet(w, 0).items():
            if not P.is_zero():
                v[j] = int(P.coefficient(0))
        return v


def random_point(D: int, rng: random.Random, p: int, bits: int = 31) -> list[int]:
    """A random integer point with every coordinate non-zero modulo p."""
    while True:
        pt = [rng.randrange(1, 2**bits) * rng.choice((-1, 1)) for _ in range(D)]
        if all(t % p for t in pt):
            return pt


def use_gram_frame(d: int, D: int) -> bool:
    """Whether level 1 of the closure reads its frame from the Gram matrix J^T J (D x D)
    rather than from the d generator values: when there are many more generators than
    variables (docs/shortcuts.md, 'Gram frame')."""
    return d > 4 * D + 64


def lie_closure(family: FieldFamily, seed: int = 0, cap: int | None = None,
                max_level: int = 12, prime: int | None = None, point: Sequence[int] | None = None,
                progress: Callable[[str], None] | None = None, prune: bool = True) -> LieResult:
    """Exact lower bound on dim Lie(V)(t) at a random point (rank modulo a random prime).

    Parameters
    ----------
    family:
        The generators (``model.family``).
    seed, prime, point:
        The point and prime are drawn from the seed unless given (the prime divides no
        denominator of the input; every coordinate is non-zero modulo it).
    cap:
        Stop when the rank reaches it (pass D - m when m independent laws are proven: then
        dim Lie(V)(t) <= D - m everywhere).  None: until a level adds nothing.
    max_level:
        Most bracket levels.
    prune:
        Skip the pairs whose bracket is structurally zero (disjoint supports); ``False``
        brackets every pair (the plain computation the tests compare with).

    Returns
    -------
    LieResult
        The rank reached after each bracket level (a lower bound on dim Lie(V)(point), hence
        on the generic dimension K*), the frame words whose values prove the final rank, and
        their pivot columns.  The active time budget ends the closure cleanly with the bound
        reached so far (``stopped == "time"``); so does Ctrl-C / SIGTERM (``"interrupted"``).
    """
    t_start = time.monotonic()
    say = progress
    rng = random.Random(seed)
    D = family.D
    p = prime if prime is not None else family.random_prime(rng)
    pt = list(point) if point is not None else random_point(D, rng, p)
    x = np.array([t % p for t in pt], dtype=np.int64)
    limit = D if cap is None else min(cap, D)
    frame = _Frame(family, x, p)
    table = frame.table
    ech = linalg.Echelon(D, p)
    stats: dict[str, Any] = {"candidates": [], "pruned": []}

    level_ranks: list[int] = []
    stopped = "closed"
    level = 1
    try:
        # ---- level 1: generators
        f, c, v = table.values_coo(x)
        d = family.d
        order = np.argsort(f, kind="stable")
        f, c, v = f[order], c[order], v[order]
        bounds = np.searchsorted(f, np.arange(d + 1))
        big = use_gram_frame(d, D)
        G = None
        if big:
            # many generators: the frame is made of Gram words G_j = sum_i X_i,j(x) X_i,
            # whose values are the columns of J^T J: rank_p(J^T J) <= rank(J), reached at
            # once by D vectors instead of a search through d generators.  When the Gram
            # matrix cannot be afforded in the time left, generators are added until then.
            try:
                G = table.gram_matrix(x)
                R, piv = table.gram_rref(x)
            except TimeUp:
                G = None
        if G is not None:
            # G is symmetric: its pivot columns P are independent, so are its rows P, which
            # span its row space: the echelon form of the frame values G[P, :] is that of G,
            # and the minor G[P, P] is non-zero
            cols = np.array(piv[:limit], dtype=np.int64)
            if len(cols) == len(piv):
                ech.load(R, piv)
                for j in cols.tolist():
                    frame.add(gram_word(j), G[j].copy(), None, None)
            else:  # capped: keep the first columns through an ordinary echelon basis
                vals = G[cols].copy()
                for t, new in enumerate(ech.add_batch(vals, limit=limit)):
                    if new:
                        frame.add(gram_word(int(cols[t])), vals[t], None, None)
            d_used = len(cols)
        target = limit
        pos = d if G is not None else 0
        rows_order = (np.arange(d) if not big or G is not None
                      else np.random.default_rng(rng.getrandbits(64)).permutation(d))
        while pos < d and ech.rank < target:
            budget.tick()
            size = d if not big else max(2 * (target - ech.rank), 256)
            chunk = rows_order[pos:pos + size]
            pos += len(chunk)
            dense = np.zeros((len(chunk), D), dtype=np.int64)
            for t, i in enumerate(chunk):
                lo, hi = bounds[i], bounds[i + 1]
                dense[t, c[lo:hi]] = v[lo:hi]
            flags = ech.add_batch(dense, limit=target)
            for t, new in enumerate(flags):
                if new:
                    i = int(chunk[t])
                    frame.add(i, dense[t], family.support(i), family.depends(i))
        stats["candidates"].append(int(d_used if G is not None else pos))
        level_ranks = [ech.rank]
        if say:
            say(f"level 1: rank {ech.rank}")
        new_idx = list(range(len(frame.words)))
        stopped = "cap" if ech.rank >= limit else "closed"
        while ech.rank < limit and new_idx:
            if budget.current().expired():
                stopped = "time"
                break
            if level >= max_level:
                stopped = "max-level"
                break
            level += 1
            n_all = len(frame.words)
            g = interaction_graph(frame.supports, frame.depends) if prune else None
            pairs = []
            seen = set()
            for b in new_idx:
                nbrs = sorted(g.neighbors(b)) if g is not None else \
                    [a for a in range(n_all) if a != b]
                for a in nbrs:
                    key = (min(a, b), max(a, b))
                    if key not in seen:
                        seen.add(key)
                        pairs.append((a, b))
            stats["candidates"].append(len(pairs))
            stats["pruned"].append(n_all * len(new_idx) - len(pairs))
            added: list[int] = []
            V = np.stack(frame.values)                     # (n_all, D)
            by_b: dict[int, list[int]] = {}
            for a, b in pairs:
                by_b.setdefault(b, []).append(a)
            bar_cm = progress_task(f"Lie closure level {level}", len(by_b))
            bar = bar_cm.__enter__()
            for b, as_ in by_b.items():
                bar.update(1)
                if ech.rank >= limit:
                    break
                if budget.current().expired():
                    stopped = "time"
                    break
                # [Y_a, Y_b](x) = dY_b(x) Y_a(x) - dY_a(x) Y_b(x): one Jacobian (of b) and
                # Jacobian-vector products of the a's along Y_b(x), never n Jacobians at once
                Jb = frame.jacobians([b])[0]
                first = linalg.matmul_mod(V[as_], Jb.T.copy(), p)     # rows: dY_b · Y_a
                second = frame.jvps(as_, V[b])                        # rows: dY_a · Y_b
                vals = (first - second) % p
                flags = ech.add_batch(vals, limit=limit)
                for t, new in enumerate(flags):
                    if new:
                        a = as_[t]
                        w = (frame.words[a], frame.words[b])
                        sup, dep = _bracket_support(frame, a, b)
                        frame.add(w, vals[t], sup, dep)
                        added.append(len(frame.words) - 1)
            bar_cm.__exit__(None, None, None)
            level_ranks.append(ech.rank)
            if say:
                say(f"level {level}: rank {ech.rank}")
            if stopped == "time":
                break
            new_idx = added
            if ech.rank >= limit:
                stopped = "cap"
            elif not added:
                stopped = "closed"
    except TimeUp:
        stopped = "time"  # the rank reached so far is still a proven lower bound
    except KeyboardInterrupt:
        stopped = "interrupted"  # the rank reached so far is still a proven lower bound
    # an interrupt between accepting rows and recording their words leaves extra pivots:
    # then the pivots of the recorded words are recomputed from their values
    k = min(len(frame.words), ech.rank)
    pivots = list(ech.pivots[:k])
    if k < ech.rank:
        pivots = linalg.rref_mod(np.stack(frame.values[:k]), p)[1] if k else []
    level_ranks = [min(r, k) for r in level_ranks] or [k]
    return LieResult(D, k, level_ranks, frame.words[:k], pivots, pt, p, stopped,
                     time.monotonic() - t_start, stats)


def _bracket_support(frame: _Frame, a: int, b: int) -> tuple[frozenset[int], frozenset[int]]:
    """Support and dependencies of [Y_a, Y_b], over-approximated structurally (components
    and variables of either operand): this can only prune fewer pairs, never a needed one."""
    return (frame.supports[a] | frame.supports[b], frame.depends[a] | frame.depends[b])
