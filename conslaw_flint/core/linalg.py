"""Exact linear algebra: ranks, echelon bases and kernels modulo a prime, lifting to Q.

Everything here is exact.  Matrices modulo a prime p are NumPy ``int64`` arrays with entries in
[0, p) and p < 2**25, so that a product of two entries (< 2**50) and sums of up to 4096 such
products fit in 64 bits; :func:`matmul_mod` chunks longer inner dimensions.  Ranks, reduced
echelon forms and kernels of moderate size go through FLINT's ``nmod_mat``.

The rank of an integer matrix modulo p is at most its rank over Q, so every rank computed here
is a valid *lower bound* for the rational rank; callers say so.

>>> p = 33554393
>>> a = np.array([[1, 2, 3], [2, 4, 6], [0, 1, 1]], dtype=np.int64)
>>> rank_mod(a, p)
2
>>> ech = Echelon(3, p)
>>> [ech.add(row) for row in a]
[True, False, True]
>>> rational_reconstruct(pow(3, -1, p) * 2 % p, p)
Fraction(2, 3)
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Sequence
from fractions import Fraction

import flint
import numpy as np

from . import budget

PRIME_BITS = 25

# FLINT's dense nmod_mat eliminations and products use both cores (1.3-1.8x faster measured,
# shared/flint-facts.md); FLINT objects are still never shared between threads
if getattr(flint.ctx, "threads", 1) < 2 and (os.cpu_count() or 1) >= 2:
    flint.ctx.threads = 2
_CHUNK = 4096
_FLOAT_CHUNK = 1 << 15


def random_prime(rng: random.Random, bits: int = PRIME_BITS, avoid: int = 1) -> int:
    """A random prime in [2**(bits-1), 2**bits) that does not divide ``avoid`` (pass the lcm
    of the input's denominators, so that every coefficient has an image modulo p), drawn from
    ``rng`` (reproducible)."""
    while True:
        n = rng.randrange(2 ** (bits - 1), 2**bits) | 1
        if avoid % n and flint.fmpz(n).is_prime():
            return n


def matmul_mod(a: np.ndarray, b: np.ndarray, p: int) -> np.ndarray:
    """(a @ b) mod p for int64 arrays with entries in [0, p), p < 2**25, exactly.

    Large products run as two float64 matrix products (BLAS, both cores): with b = 2^13 b_hi
    + b_lo, every product of an entry of a (< 2^25) by one of b_lo (< 2^13) or b_hi (< 2^12)
    is below 2^38, so a sum of at most 2^15 of them is below 2^53 and float64 holds it
    exactly; the inner dimension is cut into chunks of 2^15.  Small products use int64 (sums
    of at most 4096 products < 2^50 stay below 2^62)."""
    n = a.shape[1]
    if a.shape[0] * n * b.shape[1] < 1 << 18:
        if n <= _CHUNK:
            return (a @ b) % p
        out = np.zeros((a.shape[0], b.shape[1]), dtype=np.int64)
        for s in range(0, n, _CHUNK):
            out = (out + (a[:, s : s + _CHUNK] @ b[s : s + _CHUNK]) % p) % p
        return out
    out: np.ndarray | None = None
    for s in range(0, n, _FLOAT_CHUNK):
        af = a[:, s : s + _FLOAT_CHUNK].astype(np.float64)
        bs = b[s : s + _FLOAT_CHUNK]
        lo = (af @ (bs & 8191).astype(np.float64)).astype(np.int64)   # < 2^53
        hi = (af @ (bs >> 13).astype(np.float64)).astype(np.int64)
        # in place (1.5-2x faster on large products): lo + (hi mod p) 2^13 < 2^54
        hi %= p
        hi <<= 13
        lo += hi
        lo %= p
        if out is None:
            out = lo
        else:
            out += lo
            out %= p
    assert out is not None
    return out


#: measured costs (2 cores): filling an nmod_mat from NumPy, per entry; rank / echelon form,
#: per rows * cols * min(rows, cols) (shared/flint-facts.md; re-measured 2026-11-30)
SECONDS_PER_FILL = 2e-7
SECONDS_PER_ELIMINATION = 1.5e-10


def elimination_seconds(rows: int, cols: int) -> float:
    """Estimated seconds of one rank or echelon form of a rows x cols matrix mod p."""
    return SECONDS_PER_FILL * rows * cols + SECONDS_PER_ELIMINATION * rows * cols * min(rows,
                                                                                        cols)


def to_nmod_mat(a: np.ndarray, p: int) -> flint.nmod_mat:
    """Copy an int64 array (entries in [0, p)) into a FLINT nmod_mat."""
    rows, cols = a.shape
    if rows == 0 or cols == 0:
        return flint.nmod_mat(rows, cols, p)
    # through fmpz_mat: its constructor reads Python ints about 30% faster than nmod_mat's,
    # and the reduction to nmod_mat is a C loop (measured: 2000 x 2000, 0.48 s vs 0.65 s)
    return flint.nmod_mat(flint.fmpz_mat(rows, cols, a.ravel().tolist()), p)


def from_nmod_mat(m: flint.nmod_mat) -> np.ndarray:
    """Copy a FLINT nmod_mat into an int64 array."""
    rows, cols = m.nrows(), m.ncols()
    if rows == 0 or cols == 0:
        return np.zeros((rows, cols), dtype=np.int64)
    return np.array([int(x) for x in m.entries()], dtype=np.int64).reshape(rows, cols)


def full_column_rank_batch(S: np.ndarray, p: int) -> np.ndarray:
    """For a stack of matrices S (k, r, n) modulo the prime p: which have rank n.

    Vectorised Gaussian elimination over the whole stack (one pass per column), for the many
    small blocks of a law system where one FLINT call per block would dominate.
    """
    k, r, n = S.shape
    if k <= 4:
        # a handful of blocks: one FLINT rank each is cheaper than n NumPy passes
        return np.array([r >= n and int(to_nmod_mat(S[i] % p, p).rank()) == n
                         for i in range(k)], dtype=bool)
    A = S % p
    full = np.ones(k, dtype=bool)
    idx = np.arange(k)
    for j in range(min(n, r)):
        nz = A[:, j:, j] != 0
        full &= nz.any(axis=1)
        piv = j + nz.argmax(axis=1)
        row_j, row_p = A[idx, j].copy(), A[idx, piv].copy()
        A[idx, j], A[idx, piv] = row_p, row_j
        inv = _powmod_vec(A[idx, j, j], p - 2, p)  # 0 stays 0 for matrices already deficient
        factor = A[:, j + 1:, j] * inv[:, None] % p
        A[:, j + 1:, :] = (A[:, j + 1:, :] - factor[:, :, None] * A[:, j:j + 1, :] % p) % p
    if r < n:
        full[:] = False
    return full


def _powmod_vec(a: np.ndarray, e: int, p: int) -> np.ndarray:
    """a^e mod p elementwise (0^e = 0 for e > 0): square-and-multiply over the whole array,
    or Python's pow per element for small arrays (where 2 log2(e) NumPy calls cost more)."""
    if a.size <= 48:
        return np.array([pow(int(v), e, p) for v in a.ravel().tolist()],
                        dtype=np.int64).reshape(a.shape)
    result = np.ones_like(a)
    base = a % p
    while e:
        if e & 1:
            result = result * base % p
        base = base * base % p
        e >>= 1
    return result


def rank_mod(a: np.ndarray, p: int) -> int:
    """Rank of ``a`` modulo the prime p (a lower bound for its rank over Q)."""
    if a.size == 0:
        return 0
    budget.expect(elimination_seconds(*a.shape), f"a rank of a {a.shape[0]} x {a.shape[1]} "
                  "matrix")
    return int(to_nmod_mat(a % p, p).rank())


def rref_mod(a: np.ndarray, p: int) -> tuple[np.ndarray, list[int]]:
    """Reduced row echelon form modulo p: (nonzero rows of R, pivot columns)."""
    if a.size == 0:
        return np.zeros((0, a.shape[1]), dtype=np.int64), []
    budget.expect(elimination_seconds(*a.shape), f"an echelon form of a {a.shape[0]} x "
                  f"{a.shape[1]} matrix")
    r_mat, rank = to_nmod_mat(a % p, p).rref()
    r = from_nmod_mat(r_mat)[:rank]
    pivots = [int(np.flatnonzero(row)[0]) for row in r]
    return r, pivots


def rref_flint(a: np.ndarray, p: int) -> tuple[flint.nmod_mat, list[int]]:
    """Reduced row echelon form modulo p as a FLINT matrix (rows not converted back), and
    the pivot columns (found from the rows, left to right)."""
    budget.expect(elimination_seconds(*a.shape), f"an echelon form of a {a.shape[0]} x "
                  f"{a.shape[1]} matrix")
    r_mat, rank = to_nmod_mat(a % p, p).rref()
    pivots = []
    c = 0
    n = a.shape[1]
    for i in range(rank):
        while c < n and int(r_mat[i, c]) == 0:
            c += 1
        pivots.append(c)
        c += 1
    return r_mat, pivots


def kernel_mod(a: np.ndarray, p: int) -> tuple[np.ndarray, list[int], list[int]]:
    """Right kernel of ``a`` modulo p in reduced form.

    Returns (basis, pivots, free): one basis vector per free column f, equal to 1 at f, 0 at
    the other free columns and minus the reduced row entries at the pivots.  Over Q the
    kernel in the same normal form (when the pivots agree) has the rational reconstructions
    of these entries.
    """
    n = a.shape[1]
    if a.shape[0] == 0 or n == 0:
        free = list(range(n))
        return np.eye(n, dtype=np.int64), [], free
    budget.expect(elimination_seconds(*a.shape), f"a kernel of a {a.shape[0]} x {n} matrix")
    m = to_nmod_mat(a % p, p)
    # a small block is usually of full column rank: a rank (LU) settles it; a large one is
    # eliminated once, straight to its kernel
    if n <= 256 and a.shape[0] >= n and m.rank() == n:
        return np.zeros((0, n), dtype=np.int64), list(range(n)), []
    X, nullity = m.nullspace()
    # FLINT's basis is in this normal form, one column per free column f, whose last
    # non-zero entry is the 1 at f; only those columns are converted
    basis = np.zeros((nullity, n), dtype=np.int64)
    for t in range(nullity):
        basis[t] = [int(X[i, t]) for i in range(n)]
    free = [int(np.flatnonzero(basis[t])[-1]) for t in range(nullity)]
    fs = set(free)
    pivots = [j for j in range(n) if j not in fs]
    return basis, pivots, free


class Echelon:
    """Incremental reduced echelon basis of row vectors modulo p.

    ``add`` reduces a vector against the basis (one reduction) and keeps it when it is new;
    ``add_batch`` does the same for many vectors with one matrix product.  ``rank`` is the
    rank modulo p of everything added, a lower bound for the rank over Q.
    """

    def __init__(self, ncols: int, p: int) -> None:
        self.n = ncols
        self.p = p
        self._rows: np.ndarray | flint.nmod_mat = np.zeros((0, ncols), dtype=np.int64)
        self.pivots: list[int] = []

    @property
    def rows(self) -> np.ndarray:
        """The basis rows (reduced echelon form), as NumPy (converted when first needed)."""
        if not isinstance(self._rows, np.ndarray):
            self._rows = from_nmod_mat(self._rows)[:len(self.pivots)]
        return self._rows

    @rows.setter
    def rows(self, value: np.ndarray) -> None:
        self._rows = value

    def load(self, rref: flint.nmod_mat, pivots: Sequence[int]) -> None:
        """Start from a known reduced echelon form (its first len(pivots) rows) instead of
        adding vectors one batch at a time; the rows are converted only if needed."""
        if self.pivots:
            raise ValueError("load() needs an empty basis")
        self._rows = rref
        self.pivots = list(pivots)

    @property
    def rank(self) -> int:
        return len(self.pivots)

    def reduce(self, vecs: np.ndarray) -> np.ndarray:
        """Residues of the rows of ``vecs`` modulo the span of the basis."""
        vecs = np.atleast_2d(vecs) % self.p
        if not self.pivots:
            return vecs
        coef = vecs[:, self.pivots]
        return (vecs - matmul_mod(coef, self.rows, self.p)) % self.p

    def add(self, vec: np.ndarray) -> bool:
        """Add one vector; True when it was independent of the basis."""
        return bool(self.add_batch(np.atleast_2d(vec))[0])

    def add_batch(self, vecs: np.ndarray, limit: int | None = None) -> list[bool]:
        """Add the rows of ``vecs`` in order; a flag per row telling whether it was new.

        With ``limit``, stop accepting once the rank reaches it (later rows are flagged
        False without being examined).
        """
        p = self.p
        res = self.reduce(vecs)
        flags = [False] * res.shape[0]
        nz = np.flatnonzero(res.any(axis=1))
        if nz.size == 0:
            return flags
        if nz.size > 1:
            # which residues are independent, greedily in order: pivot columns of the
            # echelon form of the transposed residue block (one FLINT rref)
            _, piv_cols = rref_mod(res[nz].T.copy(), p)
            nz = nz[piv_cols]
        if limit is not None:
            nz = nz[:max(limit - self.rank, 0)]
        if nz.size == 0:
            return flags
        # the new basis: the reduced echelon form of (old rows; accepted residues), one FLINT
        # call.  The old pivots stay pivots (an old row has zeros before its pivot and the
        # residues vanish on old pivots), so the pivot list only grows; its order is
        # acceptance order, not column order.
        R, piv = rref_mod(np.vstack([self.rows, res[nz]]), p)
        where = {c: i for i, c in enumerate(piv)}
        old = set(self.pivots)
        new = [c for c in piv if c not in old]
        self.pivots = self.pivots + new
        self.rows = R[[where[c] for c in self.pivots]]
        for i in nz.tolist():
            flags[i] = True
        return flags


def inv_mod_vec(a: np.ndarray, p: int) -> np.ndarray:
    """Elementwise inverses modulo the prime p (Fermat: a^(p-2)); zeros stay zero."""
    return _powmod_vec(np.asarray(a, dtype=np.int64) % p, p - 2, p)


def reconstruct_vec(values: Sequence[int], m: int) -> list[Fraction] | None:
    """:func:`rational_reconstruct` of many residues modulo m; small integers (|n| <=
    sqrt(m/2), denominator 1: the unique reconstruction in range) are recognised at once."""
    bound = math.isqrt(m // 2)
    out: list[Fraction] = []
    for a in values:
        a %= m
        if a <= bound:
            out.append(Fraction(a))
        elif m - a <= bound:
            out.append(Fraction(a - m))
        else:
            q = rational_reconstruct(a, m)
            if q is None:
                return None
            out.append(q)
    return out


def rational_reconstruct(a: int, m: int) -> Fraction | None:
    """The fraction n/d with |n|, d <= sqrt(m/2) and n/d = a (mod m), or None."""
    a %= m
    bound = math.isqrt(m // 2)
    r0, r1 = m, a
    s0, s1 = 0, 1
    while r1 > bound:
        q = r0 // r1
        r0, r1 = r1, r0 - q * r1
        s0, s1 = s1, s0 - q * s1
    if s1 == 0 or abs(s1) > bound:
        return None
    if math.gcd(r1, abs(s1)) != 1:
        return None
    return Fraction(r1, s1)


def crt_pair(a1: int, m1: int, a2: int, m2: int) -> tuple[int, int]:
    """Chinese remaindering of x = a1 mod m1, x = a2 mod m2 (coprime moduli)."""
    t = (a2 - a1) * pow(m1, -1, m2) % m2
    return a1 + m1 * t, m1 * m2


def primitive_integer_vector(v: list[Fraction]) -> list[int]:
    """Scale a rational vector to coprime integers with a positive first non-zero entry."""
    den = 1
    for x in v:
        den = den * x.denominator // math.gcd(den, x.denominator)
    ints = [int(x * den) for x in v]
    g = 0
    for x in ints:
        g = math.gcd(g, x)
    if g == 0:
        return ints
    ints = [x // g for x in ints]
    first = next(x for x in ints if x)
    return [-x for x in ints] if first < 0 else ints
