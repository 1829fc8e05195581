"""Bracket words as sums of elementary differentials: Jacobians of deep words without jets.

For polynomial fields X_1..X_d of degree at most g, the Lie closure needs, at the point x and
modulo p, the value and the Jacobian of deep bracket words.  Truncated Taylor jets
(:class:`~conslaw_flint.algorithms.lie._Jets`) carry every Taylor coefficient of a word up to
the order its depth needs: C(D + k, k) monomials per component, 1.9 million for D = 30 and
k = 6.  Here a word is expanded instead into *elementary differentials* (labelled rooted
trees), whose values need only the derivative tensors of the generators at x.

**Trees.**  For a tree tau with root label a and subtrees tau_1..tau_m,
F(tau)(y) = D^m X_a(y)[F(tau_1)(y), ..., F(tau_m)(y)] (a single node: F = X_a).  D^m X_a is
symmetric, so a tree is its label and the *multiset* of its subtrees (canonical: sorted), and
D^m X_a = 0 for m > deg X_a (such trees are dropped).

**Brackets.**  By the Leibniz rule, the derivative of F(sigma) along a field F(tau) is the sum
over the nodes v of sigma of F(sigma with tau grafted as a new child of v).  With the
closure's convention [A, B] = dB·A - dA·B, the expansion of a word is

    T(X_i) = tau_i (one node),  T(G_j) = sum_i c_i tau_i (a Gram word),
    T([A, B]) = graft(T(B), T(A)) - graft(T(A), T(B)),

with graft(S, T) = sum over sigma in S, tau in T, v in sigma of c_sigma c_tau (sigma +_v tau).

**Values and Jacobians.**  U_m^a = D^m X_a(x) is computed once as a dense symmetric array
(D x D^m, modulo p) from the term table: a term c x^(v_1) ... x^(v_g) (variables with
repetition) is prod_s (x_(v_s) + h_(v_s)) in h = y - x; its part of degree m in h is the sum
over the sets A of m slots of c prod_(s not in A) x_(v_s) prod_(s in A) h_(v_s), and its m-th
derivative puts that coefficient at every ordering of the variables of A.  Then, memoised per
distinct subtree,

    F(tau)(x) = U_m^a(F(tau_1)(x), ..., F(tau_m)(x)),
    dF(tau)(x) = U_(m+1)^a(F(tau_1)(x), ..., F(tau_m)(x), ·)
                 + sum_i U_m^a(..., F(tau_(i-1))(x), ·, F(tau_(i+1))(x), ...) dF(tau_i)(x),

and the Jacobian of a word is the combination of its trees' Jacobians.  Everything is exact
modulo p (products of residues below 2^50, summed over at most D < 2^13 terms).
``tests/algorithms/test_trees.py`` compares values and Jacobians with the Taylor jets on
random fields and random words.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from ..core import budget
from ..core.tables import ModTable
from ..results import Word, is_gram

Tree = tuple[int, tuple[Any, ...]]

#: most trees in the expansion of one word (beyond it the jets are used)
MAX_TREES = 200_000
#: most entries of the generators' derivative tensors together
MAX_TENSOR_ENTRIES = 20_000_000


class TooManyTrees(Exception):
    """The expansion of a word exceeds :data:`MAX_TREES` (use the jets instead)."""


def tensor_entries(table: ModTable) -> int:
    """Entries of the derivative tensors U_m^a (m <= degree of X_a) of every generator."""
    deg = generator_degrees(table)
    D = table.D
    return int(sum(sum(D ** (m + 1) for m in range(int(g) + 1)) for g in deg))


def generator_degrees(table: ModTable) -> np.ndarray:
    """The total degree of each generator (the largest degree of its terms; 0 if none)."""
    t = table.table
    deg = np.zeros(table.n_fields, dtype=np.int64)
    if t.n_terms:
        np.maximum.at(deg, t.t_field, t.degrees())
    return deg


class Trees:
    """Values and Jacobians of bracket words at x modulo p through elementary differentials
    (module docstring).  ``gram(j)`` gives the generator coefficients of the Gram word G_j."""

    def __init__(self, table: ModTable, x: np.ndarray, p: int, gram: Any = None) -> None:
        D = table.D
        if D >= 1 << 13:
            raise ValueError("trees need D < 8192 (exact int64 contractions)")
        n = tensor_entries(table)
        budget.reserve(8 * n * 2, f"the derivative tensors of the generators ({n} entries)",
                       "use a smaller model")
        self.D, self.p, self.x = D, p, np.asarray(x, dtype=np.int64) % p
        self.deg = generator_degrees(table).tolist()
        self.gram = gram
        self.U = self._tensors(table)
        self.expansions: dict[Word, dict[Tree, int]] = {}
        self.val: dict[Tree, np.ndarray] = {}
        self.jac: dict[Tree, np.ndarray] = {}

    # -- derivative tensors ------------------------------------------------------------------

    def _tensors(self, table: ModTable) -> list[list[np.ndarray]]:
        D, p, x = self.D, self.p, self.x
        t = table.table
        coef = table.t_coef % p
        slots = t.multisets()                      # (n_terms, g) variables, padded with D
        g_all = slots.shape[1]
        xpad = np.append(x, 1)
        U = [[np.zeros((D,) + (D,) * m, dtype=np.int64) for m in range(g + 1)]
             for g in self.deg]
        for m in range(g_all + 1):
            for A in itertools.combinations(range(g_all), m):
                budget.tick()
                rest = [s for s in range(g_all) if s not in A]
                ok = np.all(slots[:, list(A)] < D, axis=1) if A else np.ones(len(coef), bool)
                if not ok.any():
                    continue
                c = coef[ok].copy()
                for s in rest:
                    c = c * xpad[slots[ok, s]] % p      # padding: factor 1
                f = t.t_field[ok]
                j = t.t_comp[ok]
                ks = [slots[ok, s] for s in A]
                for perm in itertools.permutations(range(m)):
                    for a in np.unique(f).tolist():
                        sel = f == a
                        idx = (j[sel],) + tuple(ks[q][sel] for q in perm)
                        np.add.at(U[a][m], idx, c[sel])
        for row in U:
            for m in range(len(row)):
                row[m] %= p
        return U

    def _contract(self, a: int, m: int, vecs: list[np.ndarray]) -> np.ndarray:
        """U_m^a contracted with the vectors on its last len(vecs) slots (mod p)."""
        if m > self.deg[a]:
            return np.zeros((self.D,) + (self.D,) * (m - len(vecs)), dtype=np.int64)
        T = self.U[a][m]
        D, p = self.D, self.p
        for v in vecs:
            shape = T.shape[:-1]
            T = (T.reshape(-1, D) @ v) % p
            T = T.reshape(shape)
        return T

    # -- expansions ----------------------------------------------------------------------------

    def expansion(self, w: Word) -> dict[Tree, int]:
        """The trees of w with their coefficients modulo p (zero trees dropped)."""
        got = self.expansions.get(w)
        if got is not None:
            return got
        p = self.p
        if isinstance(w, int):
            out: dict[Tree, int] = {(w, ()): 1}
        elif is_gram(w):
            coef = self.gram(w[1])
            out = {(int(i), ()): int(coef[i]) % p for i in np.flatnonzero(coef).tolist()}
        else:
            A, B = self.expansion(w[0]), self.expansion(w[1])
            acc: dict[Tree, int] = {}
            for S, T, sign in ((B, A, 1), (A, B, -1)):
                for sigma, cs in S.items():
                    budget.tick()
                    for tau, ct in T.items():
                        c = sign * cs * ct % p
                        for tree in self._attach(sigma, tau):
                            acc[tree] = (acc.get(tree, 0) + c) % p
                if len(acc) > MAX_TREES:
                    raise TooManyTrees(f"more than {MAX_TREES} trees")
            out = {k: v for k, v in acc.items() if v}
        self.expansions[w] = out
        return out

    def _attach(self, sigma: Tree, tau: Tree) -> list[Tree]:
        """sigma with tau grafted as a new child of each node in turn (trees whose node
        would have more children than its generator's degree are zero and left out)."""
        label, kids = sigma
        out: list[Tree] = []
        if len(kids) + 1 <= self.deg[label]:
            out.append((label, tuple(sorted(kids + (tau,)))))
        for i, kid in enumerate(kids):
            for new in self._attach(kid, tau):
                out.append((label, tuple(sorted(kids[:i] + (new,) + kids[i + 1:]))))
        return out

    # -- values and Jacobians --------------------------------------------------------------------

    def _eval(self, tree: Tree) -> None:
        if tree in self.val:
            return
        a, kids = tree
        for k in kids:
            self._eval(k)
        vals = [self.val[k] for k in kids]
        m = len(kids)
        budget.tick()
        self.val[tree] = self._contract(a, m, vals)
        J = self._contract(a, m + 1, vals)                  # (D, D): the free last slot
        for i, k in enumerate(kids):
            if i and kids[i - 1] == k:
                continue    # equal subtrees (adjacent: sorted) give equal terms, added at once
            times = kids.count(k)
            M = self._contract(a, m, vals[:i] + vals[i + 1:])
            J = (J + times * ((M @ self.jac[k]) % self.p)) % self.p
        self.jac[tree] = J

    def value(self, w: Word) -> np.ndarray:
        """Y_w(x) modulo p, shape (D,)."""
        out = np.zeros(self.D, dtype=np.int64)
        for tree, c in self.expansion(w).items():
            self._eval(tree)
            out = (out + c * self.val[tree]) % self.p
        return out

    def jacobian(self, w: Word) -> np.ndarray:
        """dY_w(x) modulo p, shape (D, D)."""
        E = self.expansion(w)
        budget.reserve(8 * self.D * self.D * (len(self.jac) + len(E)),
                       "the Jacobians of the trees", "use a smaller model")
        out = np.zeros((self.D, self.D), dtype=np.int64)
        for tree, c in E.items():
            self._eval(tree)
            out = (out + c * self.jac[tree]) % self.p
        return out


def jets_order_monomials(D: int, order: int) -> int:
    """Monomials of a jet of order ``order`` in D variables: C(D + order, order)."""
    return math.comb(D + order, order)


def word_depth(w: Word) -> int:
    """Nesting depth of a word (a generator or a Gram word: 1)."""
    if isinstance(w, int) or is_gram(w):
        return 1
    return 1 + max(word_depth(w[0]), word_depth(w[1]))


__all__ = ["MAX_TREES", "Trees", "TooManyTrees", "generator_degrees", "jets_order_monomials",
           "tensor_entries", "word_depth"]
