"""The echelon form on BLAS products (:mod:`conslaw_flint.core.dense_mod`) against FLINT.

Oracle: FLINT's ``nmod_mat.rref`` (an independent implementation).  The reduced row echelon
form of a row space is unique, so the two must agree entry for entry; the recursion is forced
down to blocks of 1-5 columns so that every branch of the block formulas (empty halves, full
rank halves, rank-deficient halves, rows that are all zero) is reached on small matrices.
"""

from __future__ import annotations

import flint
import numpy as np
import pytest

from conslaw_flint.core import dense_mod, linalg

PRIMES = [2, 3, 101, 33554393]


def flint_rref(a: np.ndarray, p: int) -> np.ndarray:
    m, n = a.shape
    if m == 0 or n == 0:
        return np.zeros((0, n), dtype=np.int64)
    R, rank = flint.nmod_mat(flint.fmpz_mat(m, n, (a % p).ravel().tolist()), p).rref()
    return linalg.from_nmod_mat(R)[:rank]


def random_matrix(rng: np.random.Generator, p: int) -> np.ndarray:
    """Shapes up to 40 x 40 of five kinds: low rank products, sparse, repeated and zero
    columns, repeated rows, and full random."""
    m, n = (int(v) for v in rng.integers(0, 41, size=2))
    kind = int(rng.integers(0, 5))
    if kind == 0 and min(m, n) > 0:
        r = int(rng.integers(0, min(m, n) + 1))
        return (rng.integers(0, p, size=(m, r)) @ rng.integers(0, p, size=(r, n))) % p
    a = rng.integers(0, p, size=(m, n))
    if kind == 1:
        a = a * (rng.random((m, n)) < 0.1)
    elif kind == 2 and n > 3:
        a[:, n // 2] = a[:, 0]
        a[:, 1] = 0
    elif kind == 3 and m > 3:
        a[m // 2:] = a[: m - m // 2]
    return a % p


@pytest.mark.parametrize("seed", range(8))
def test_rref_blocked_equals_flint(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(60):
        p = int(rng.choice(PRIMES))
        a = random_matrix(rng, p)
        base = int(rng.integers(1, 6))
        E, piv = dense_mod.rref_blocked(a, p, base=base)
        want = flint_rref(a, p)
        assert E.shape == want.shape
        assert (E == want).all()
        assert piv == [int(np.flatnonzero(row)[0]) for row in want]


def test_rref_blocked_large_with_default_base() -> None:
    """A 700 x 650 matrix of rank 600 (a product), default recursion: FLINT agrees."""
    p = 33554393
    rng = np.random.default_rng(7)
    a = rng.integers(0, p, size=(700, 600)) @ rng.integers(0, 4, size=(600, 650)) % p
    E, piv = dense_mod.rref_blocked(a, p)
    assert len(piv) == 600
    assert (E == flint_rref(a, p)).all()


def test_kernel_mod_blocked_path_matches_flint(monkeypatch: pytest.MonkeyPatch) -> None:
    """kernel_mod's normal form (1 at a free column, 0 at the others) is the same whether the
    elimination runs in FLINT or on BLAS products."""
    p = 33554393
    rng = np.random.default_rng(3)
    for _ in range(30):
        a = random_matrix(rng, p)
        if min(a.shape) == 0:
            continue
        flint_route = linalg.kernel_mod(a, p)
        monkeypatch.setattr(linalg, "BLOCKED_MIN", 1)
        blas_route = linalg.kernel_mod(a, p)
        monkeypatch.setattr(linalg, "BLOCKED_MIN", 10**9)
        assert blas_route[1] == flint_route[1] and blas_route[2] == flint_route[2]
        assert (blas_route[0] == flint_route[0]).all()
        assert not (linalg.matmul_mod(a % p, blas_route[0].T, p)).any()


def test_rref_mod_blocked_path(monkeypatch: pytest.MonkeyPatch) -> None:
    p = 101
    rng = np.random.default_rng(5)
    a = random_matrix(rng, p)
    want = linalg.rref_mod(a, p)
    monkeypatch.setattr(linalg, "BLOCKED_MIN", 1)
    got = linalg.rref_mod(a, p)
    assert got[1] == want[1] and (got[0] == want[0]).all()

