"""Dense matrices modulo a prime on BLAS: exact products and reduced row echelon forms.

For the few large dense eliminations of the law search (one sampled block of a few thousand
unknowns, e.g. the 3,002 unknowns of a 10-variable ODE at degree 5), copying the NumPy matrix
into a FLINT ``nmod_mat`` (a Python integer per entry) and FLINT's elimination cost seconds;
this module computes the same reduced row echelon form (RREF) with the work in exact float64
matrix products (:func:`matmul_mod`).

**Recursion on columns.**  For A (m x k) modulo p, :func:`_echelon` returns (P, R, E, G):

- R: indices of rows of A that are linearly independent and span the row space of A;
- P: the pivot columns of the RREF of A (|P| = |R| = r, the rank modulo p);
- E: the RREF of A (r x k, identity on the columns P);
- G: the r x r matrix with E = G A[R] (so G = (A[R][:, P])^(-1)), made only when asked.

Split A = [A1 | A2] by columns and recurse on A1 -> (P1, R1, E1, G1).  The full rows
T1 = G1 A[R1] = [E1 | G1 A2[R1]] are in the row space of A; every row a of A has left part
a1 = a1[P1] E1 (E1 is the identity on P1), so a - a1[P1] T1 has a zero left part.  With
``rest`` the rows outside R1, B = A2[rest] - A1[rest][:, P1] (G1 A2[R1]) therefore satisfies

    rowspace(A) = rowspace(T1) + rowspace([0 | B]),

and recursing on B -> (P2, R2, E2, G2) gives the RREF of A as [[E1, C - C[:, P2] E2], [0, E2]]
with C = G1 A2[R1] (the back substitution clears C on the new pivot columns), pivots
P1 + (k1 + P2) and rows R1 + rest[R2].  Those rows are independent: the rows B[R2] are the
rows A[rest[R2]] minus combinations of the rows A[R1], and [T1; [0 | E2]] has rank r1 + r2.
With H = A1[rest[R2]][:, P1], K = G2 H G1 and Z = C[:, P2], the two blocks of rows are

    [0 | E2] = G2 B[R2] = -K A[R1] + G2 A[rest[R2]],
    [E1 | C - Z E2] = T1 - Z [0 | E2] = (G1 + Z K) A[R1] - Z G2 A[rest[R2]],

which is G = [[G1 + Z K, -Z G2], [-K, G2]].

**Base case** (at most :data:`BASE_COLUMNS` columns): Gauss-Jordan elimination on a few rows
at a time.  Rows are reduced by the echelon rows found so far (one product, all rows); the
first rows that are still non-zero are eliminated together with the echelon rows (pivot of a
column: the first row not yet used with a non-zero entry there), which keeps every chosen
row's original independent of the others and leaves every other row in their span; repeat
until every row reduces to zero.  Then G = (A[R][:, P])^(-1) by FLINT.

Everything is exact modulo p: entries stay in [0, p), p < 2**25, and every product goes
through :func:`matmul_mod`.  The RREF of a row space is unique, so
the result equals FLINT's ``nmod_mat.rref`` entry for entry; ``tests/core/test_echelon.py``
compares the two on random matrices of every shape and rank, with the recursion forced down
to tiny blocks.
"""

from __future__ import annotations

import flint
import numpy as np

from . import budget

_CHUNK = 4096
_FLOAT_CHUNK = 1 << 15

#: columns at or below which the recursion stops (Gauss-Jordan on a few rows at a time)
BASE_COLUMNS = 48


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


def rref_blocked(a: np.ndarray, p: int, base: int = BASE_COLUMNS
                 ) -> tuple[np.ndarray, list[int]]:
    """Reduced row echelon form of ``a`` modulo the prime p < 2**25.

    Parameters
    ----------
    a:
        (m, n) integer array (any integers; reduced modulo p first).
    p:
        A prime below 2**25 (the bound of :func:`matmul_mod`).
    base:
        Columns at or below which the recursion stops (tests force small values).

    Returns
    -------
    (E, pivots)
        E: the (r, n) int64 RREF (r = rank modulo p, a lower bound for the rank over Q),
        identity on the pivot columns; pivots: the r pivot columns, increasing.

    >>> p = 101
    >>> E, piv = rref_blocked(np.array([[2, 4, 1], [1, 2, 0], [3, 6, 1]]), p, base=1)
    >>> E.tolist(), piv
    ([[1, 2, 0], [0, 0, 1]], [0, 2])
    """
    A = np.ascontiguousarray(np.asarray(a, dtype=np.int64) % p)
    m, n = A.shape
    if m == 0 or n == 0:
        return np.zeros((0, n), dtype=np.int64), []
    P, _, E, _ = _echelon(A, p, max(1, base), need_g=False)
    return E, P.tolist()


def _mm(a: np.ndarray, b: np.ndarray, p: int) -> np.ndarray:
    if a.shape[1] == 0:
        return np.zeros((a.shape[0], b.shape[1]), dtype=np.int64)
    return matmul_mod(np.ascontiguousarray(a), np.ascontiguousarray(b), p)


def _echelon(A: np.ndarray, p: int, base: int, need_g: bool
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """(P, R, E, G) of the module docstring for A (m x k, entries in [0, p))."""
    m, k = A.shape
    if k <= base:
        return _echelon_base(A, p, need_g)
    budget.tick()
    k1 = k // 2
    A1, A2 = A[:, :k1], A[:, k1:]
    P1, R1, E1, G1 = _echelon(A1, p, base, need_g=True)
    assert G1 is not None
    r1 = len(R1)
    C = _mm(G1, A2[R1], p)                                          # r1 x k2
    keep = np.ones(m, dtype=bool)
    keep[R1] = False
    rest = np.flatnonzero(keep)
    B = (A2[rest] - _mm(A1[rest][:, P1], C, p)) % p                 # (m - r1) x k2
    if B.shape[0] == 0 or not B.any():
        P2 = np.zeros(0, dtype=np.int64)
        R2 = np.zeros(0, dtype=np.int64)
        E2 = np.zeros((0, k - k1), dtype=np.int64)
        G2: np.ndarray | None = np.zeros((0, 0), dtype=np.int64)
    else:
        P2, R2, E2, G2 = _echelon(B, p, base, need_g=need_g)
    r2 = len(R2)
    Z = C[:, P2]                                                     # r1 x r2
    top_right = (C - _mm(Z, E2, p)) % p
    E = np.zeros((r1 + r2, k), dtype=np.int64)
    E[:r1, :k1] = E1
    E[:r1, k1:] = top_right
    E[r1:, k1:] = E2
    P = np.concatenate([P1, k1 + P2]).astype(np.int64)
    R2_rows = rest[R2]
    R = np.concatenate([R1, R2_rows]).astype(np.int64)
    G = None
    if need_g:
        assert G2 is not None
        H = A1[R2_rows][:, P1]                                       # r2 x r1
        K = _mm(G2, _mm(H, G1, p), p)                               # r2 x r1
        G = np.zeros((r1 + r2, r1 + r2), dtype=np.int64)
        G[:r1, :r1] = (G1 + _mm(Z, K, p)) % p
        G[:r1, r1:] = (-_mm(Z, G2, p)) % p
        G[r1:, :r1] = (-K) % p
        G[r1:, r1:] = G2
    return P, R, E, G


def _echelon_base(A: np.ndarray, p: int, need_g: bool
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """(P, R, E, G) for a matrix of few columns (the base case of the module docstring)."""
    m, k = A.shape
    E = np.zeros((0, k), dtype=np.int64)
    piv: list[int] = []
    rows: list[int] = []
    cand = np.arange(m)
    chunk = 2 * k + 8
    while len(cand):
        budget.tick()
        Y = A[cand]
        if piv:
            Y = (Y - _mm(Y[:, piv], E, p)) % p
        nz = Y.any(axis=1)
        cand, Y = cand[nz], Y[nz]
        if not len(cand):
            break
        take = min(chunk, len(cand))
        E, piv, rows = _gauss_jordan(E, piv, rows, Y[:take], cand[:take], p)
        cand = cand[take:]
        if len(piv) == k:
            break
    P = np.array(piv, dtype=np.int64)
    R = np.array(rows, dtype=np.int64)
    G = None
    if need_g:
        r = len(rows)
        if r == 0:
            G = np.zeros((0, 0), dtype=np.int64)
        else:
            sub = A[R][:, P]
            inv = flint.nmod_mat(flint.fmpz_mat(r, r, sub.ravel().tolist()), p).inv()
            G = np.array([int(x) for x in inv.entries()], dtype=np.int64).reshape(r, r)
    return P, R, E, G


def _gauss_jordan(E: np.ndarray, piv: list[int], rows: list[int], Y: np.ndarray,
                  origin: np.ndarray, p: int) -> tuple[np.ndarray, list[int], list[int]]:
    """Gauss-Jordan elimination of the echelon rows E (pivots ``piv``, original rows
    ``rows``) stacked on the rows Y (zero on ``piv``; original rows ``origin``): the new RREF,
    pivots and original rows, ordered by pivot column."""
    k = E.shape[1]
    M = np.vstack([E, Y]) % p
    orig = list(rows) + origin.tolist()
    n_rows = M.shape[0]
    used = np.zeros(n_rows, dtype=bool)
    pivot_row_of: dict[int, int] = {c: i for i, c in enumerate(piv)}
    used[:len(piv)] = True
    for c in range(k):
        if c in pivot_row_of:
            continue
        col = M[:, c]
        cands = np.flatnonzero((col != 0) & ~used)
        if not len(cands):
            continue
        i = int(cands[0])
        inv = pow(int(M[i, c]), p - 2, p)
        M[i] = M[i] * inv % p
        f = M[:, c].copy()
        f[i] = 0
        nzf = np.flatnonzero(f)
        if len(nzf):
            M[nzf] = (M[nzf] - f[nzf, None] * M[i][None, :]) % p
        used[i] = True
        pivot_row_of[c] = i
    cols = sorted(pivot_row_of)
    order = [pivot_row_of[c] for c in cols]
    return M[order], cols, [orig[i] for i in order]


__all__ = ["BASE_COLUMNS", "matmul_mod", "rref_blocked"]
