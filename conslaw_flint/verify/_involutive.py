"""The involutivity certificate (method ``involutive``), checked exactly over Q with SymPy.

With Y_1..Y_r the fields of the lie words and M the r x r polynomial matrix
M[j][a] = (Y_a)_{rows[j]}, the verifier checks that det M is non-zero at the point and that
every generator X_i and every bracket [Y_a, Y_b] (a < b) satisfies, identically over Q,

    det(M) Z - sum_a Y_a (adj(M) Z_rows)_a = 0,

i.e. lies in the span of Y over Q(theta) on the dense open set det M != 0 (Cramer's rule).
The fields are SymPy polynomials in one ring over the variables of the generators; brackets
are computed with SymPy derivatives and products; the cofactors by Laplace expansion over
column subsets with SymPy products (every product charged to the work budget before it runs).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import _algebra as alg
from ._base import CertificateError, approx, charge, remaining
from ._lie import WordTable
from ._model import Generators

#: largest frame of an involutivity certificate (the solver's limit)
MAX_INVOLUTIVE_RANK = 8

__all__ = ["MAX_INVOLUTIVE_RANK", "Frame"]

Field = dict[int, Any]


class Frame:
    """The exact fields of the frame words and the identities of the involutivity check."""

    def __init__(self, gens: Generators, table: WordTable, words: Sequence[int],
                 point: Sequence[Any] | None = None) -> None:
        """``point``: the exact point (elements of QQ), needed by Gram words only."""
        self.gens, self.table = gens, table
        self.point = point
        self.K = alg.QQ
        variables: set[int] = set()
        for i in range(gens.d):
            variables |= gens.variables(i)
            variables |= set(gens.support(i))
        self.V = sorted(variables) or [0]
        # every generator is a target of the identities: refuse hopeless sizes at once
        N = alg.ring_size(len(self.V))
        est = sum(gens.n_terms(i) * max(len(gens.support(i)), 1) for i in range(gens.d))
        est *= (N + 16) * (len(words) + 2)
        if est > 4 * remaining():
            raise CertificateError(f"involutive: the identities for {gens.d} generators in "
                                   f"{len(self.V)} variables need more work than the "
                                   f"verifier's limit (about {approx(est)} units)")
        self.R = alg.ring_of(len(self.V), self.K)
        self.pos = {v: n for n, v in enumerate(self.V)}
        self._gens: dict[int, Field] = {}
        self._words: dict[int, Field] = {}
        self.Y = [self.field(w) for w in words]

    def generator(self, i: int) -> Field:
        got = self._gens.get(i)
        if got is None:
            got = self.gens.field_in(i, self.V, self.K)
            self._gens[i] = got
        return got

    def field(self, w: int) -> Field:
        """The exact field of a word (SymPy brackets)."""
        got = self._words.get(w)
        if got is None:
            i = self.table.generator(w)
            if i is not None:
                got = self.generator(i)
            elif self.table.gram(w) is not None:
                got = self.gram(self.table.gram(w))
            else:
                a, b = self.table.nodes[w]
                got = self.bracket(self.field(a), self.field(b))
            self._words[w] = got
        return got

    def gram(self, j: int) -> Field:
        """G_j = sum_i X_i,j(x0) X_i with the exact coefficients X_i,j(x0)."""
        if self.point is None:
            raise CertificateError("a Gram word needs the point")
        parts: dict[int, list[Any]] = {}
        for i, c in self.gens.column_at(j, self.K, self.point).items():
            for k, comp in self.generator(i).items():
                charge(len(comp) * 8 + 8, "a Gram field")
                parts.setdefault(k, []).append(comp.mul_ground(c))
        out: Field = {}
        for k, ps in parts.items():
            c = alg.psum(ps, self.R, "a Gram field")
            if c:
                out[k] = c
        return out

    def bracket(self, X: Field, Y: Field) -> Field:
        """[X, Y]_k = sum_j X_j d_j Y_k - Y_j d_j X_k."""
        R, pos = self.R, self.pos
        out: Field = {}
        xv = {k: set(alg.used_vars(c)) for k, c in X.items()}
        yv = {k: set(alg.used_vars(c)) for k, c in Y.items()}
        for k in sorted(set(X) | set(Y)):
            parts = []
            if k in Y:
                for j, xj in X.items():
                    if pos[j] in yv[k]:
                        parts.append(alg.mul(xj, alg.diff(Y[k], pos[j]), "a bracket"))
            if k in X:
                for j, yj in Y.items():
                    if pos[j] in xv[k]:
                        p = alg.mul(yj, alg.diff(X[k], pos[j]), "a bracket")
                        charge(len(p) * 4 + 8, "a bracket")
                        parts.append(-p)
            c = alg.psum(parts, R, "a bracket")
            if c:
                out[k] = c
        return out

    def cofactors(self, M: list[list[Any]]) -> list[list[Any]]:
        """C[j][a] = (-1)^(j+a) det(M without row j and column a), by Laplace expansion over
        column subsets (SymPy products)."""
        r = len(M)
        R = self.R
        C = [[R.zero] * r for _ in range(r)]
        if r == 1:
            C[0][0] = R.one
            return C
        full = (1 << r) - 1
        for j in range(r):
            rows = [i for i in range(r) if i != j]
            f: dict[int, Any] = {0: R.one}
            for n in range(1, r):
                row = M[rows[n - 1]]
                nxt: dict[int, list[Any]] = {}
                for mask, sub in f.items():
                    if not sub:
                        continue
                    for c in range(r):
                        if mask >> c & 1 or not row[c]:
                            continue
                        new = mask | 1 << c
                        sign = -1 if (n - 1 + bin(new & ((1 << c) - 1)).count("1")) % 2 else 1
                        p = alg.mul(row[c], sub, "a cofactor")
                        if sign < 0:
                            charge(len(p) * 4 + 8, "a cofactor")
                            p = -p
                        nxt.setdefault(new, []).append(p)
                f = {mask: alg.psum(ps, R, "a cofactor") for mask, ps in nxt.items()}
            for a in range(r):
                minor = f.get(full & ~(1 << a), R.zero)
                if (j + a) % 2:
                    charge(len(minor) * 4 + 8, "a cofactor")
                    minor = -minor
                C[j][a] = minor
        return C

    def determinant(self, rows: Sequence[int]) -> tuple[Any, list[list[Any]]]:
        """(det M, the cofactor matrix C) for the minor on the components ``rows``."""
        Y, R = self.Y, self.R
        r = len(Y)
        M = [[Y[a].get(rows[j], R.zero) for a in range(r)] for j in range(r)]
        C = self.cofactors(M)
        if r:
            det = alg.psum([alg.mul(M[j][0], C[j][0], "a determinant") for j in range(r)], R,
                           "a determinant")
        else:
            det = R.one
        return det, C

    def check(self, rows: Sequence[int], det: Any, C: list[list[Any]]) -> int:
        """Refuse unless every generator and every bracket [Y_a, Y_b] lies in span(Y) over
        Q(theta) through the minor on ``rows``; returns the number of identities checked."""
        Y, R = self.Y, self.R
        r = len(Y)
        ycomps: set[int] = set()
        for y in Y:
            ycomps |= set(y)
        targets: list[tuple[str, int | tuple[int, int]]] = [
            (f"X_{i + 1}", i) for i in range(self.gens.d)]
        targets += [(f"[Y_{a + 1}, Y_{b + 1}]", (a, b)) for a in range(r) for b in range(a + 1, r)]
        for name, which in targets:
            Z = (self.generator(which) if isinstance(which, int)
                 else self.bracket(Y[which[0]], Y[which[1]]))
            z = [Z.get(rows[j]) for j in range(r)]
            w = []
            for a in range(r):
                w.append(alg.psum([alg.mul(C[j][a], z[j], "an involutivity identity")
                                   for j in range(r) if z[j] and C[j][a]], R,
                                  "an involutivity identity"))
            for k in sorted(set(Z) | ycomps):
                parts = []
                zk = Z.get(k)
                if zk:
                    parts.append(alg.mul(det, zk, "an involutivity identity"))
                for a in range(r):
                    ya = Y[a].get(k)
                    if ya and w[a]:
                        p = alg.mul(ya, w[a], "an involutivity identity")
                        charge(len(p) * 4 + 8, "an involutivity identity")
                        parts.append(-p)
                if alg.psum(parts, R, "an involutivity identity"):
                    raise CertificateError(
                        f"involutive: {name} is not in the span of the lie words over Q(theta) "
                        f"(component {k + 1} of det(M) Z - Y adj(M) Z_rows is not zero)")
        return len(targets)
