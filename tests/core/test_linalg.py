"""Exact modular linear algebra, checked against FLINT's exact rational arithmetic."""

import random
from fractions import Fraction

import flint
import numpy as np
import pytest

from conslaw_flint.core import linalg


def test_random_prime_is_prime_and_reproducible() -> None:
    a = linalg.random_prime(random.Random(5))
    assert a == linalg.random_prime(random.Random(5))
    assert flint.fmpz(a).is_prime() and 2**24 <= a < 2**25


def test_echelon_rank_matches_exact_rank() -> None:
    rng = np.random.default_rng(0)
    p = linalg.random_prime(random.Random(1))
    for rank in (0, 1, 5, 9):
        a = rng.integers(-3, 4, size=(12, rank)) @ rng.integers(-3, 4, size=(rank, 10))
        exact = flint.fmpz_mat(a.tolist()).rank()
        ech = linalg.Echelon(10, p)
        flags = ech.add_batch(a % p)
        assert ech.rank == exact == sum(flags)
        assert linalg.rank_mod(a % p, p) == exact
        # the accepted rows are independent
        assert linalg.rank_mod(a[np.array(flags, dtype=bool)] % p, p) == exact


def test_echelon_limit_and_incremental() -> None:
    p = 33554393
    ech = linalg.Echelon(3, p)
    assert ech.add(np.array([1, 0, 0]))
    assert not ech.add(np.array([2, 0, 0]))
    assert ech.add_batch(np.array([[0, 1, 0], [0, 0, 1]]), limit=2) == [True, False]
    assert ech.rank == 2


def test_matmul_mod_chunked_is_exact() -> None:
    p = 33554393
    rng = np.random.default_rng(2)
    a = rng.integers(0, p, size=(3, 9000))
    b = rng.integers(0, p, size=(9000, 2))
    exact = [[sum(int(a[i, k]) * int(b[k, j]) for k in range(9000)) % p for j in range(2)]
             for i in range(3)]
    assert linalg.matmul_mod(a, b, p).tolist() == exact


def test_kernel_mod_and_reconstruction() -> None:
    p = 33554393
    a = np.array([[1, 2, 3], [2, 4, 6]])  # kernel spanned by (-2,1,0), (-3,0,1)
    basis, piv, free = linalg.kernel_mod(a, p)
    assert piv == [0] and free == [1, 2]
    assert (a @ basis.T % p == 0).all()
    assert linalg.rational_reconstruct(-3 * pow(7, -1, p) % p, p) == Fraction(-3, 7)
    assert linalg.rational_reconstruct(5, 13) is None  # no n/d = 5 mod 13 with |n|, d <= 2
    x, m = linalg.crt_pair(2, 5, 3, 7)
    assert x % 5 == 2 and x % 7 == 3 and m == 35


def test_primitive_integer_vector() -> None:
    v = [Fraction(1, 2), Fraction(-3, 4), Fraction(0)]
    assert linalg.primitive_integer_vector(v) == [2, -3, 0]
    assert linalg.primitive_integer_vector([Fraction(-2), Fraction(4)]) == [1, -2]


def test_full_column_rank_batch_matches_flint() -> None:
    p = 33554393
    rng = np.random.default_rng(7)
    for n in (1, 2, 5, 9):
        stack = []
        for t in range(40):
            rank = int(rng.integers(0, n + 1))
            a = (rng.integers(0, p, size=(2 * n + 3, rank)) @ rng.integers(0, 50, size=(rank, n))
                 if t % 3 else rng.integers(0, 3, size=(2 * n + 3, n)))
            stack.append(a % p)
        got = linalg.full_column_rank_batch(np.stack(stack), p)
        want = [linalg.rank_mod(a, p) == n for a in stack]
        assert got.tolist() == want


@pytest.mark.parametrize("shape", [(64, 70_000, 4), (300, 768, 257), (5, 40_000, 2)])
def test_matmul_mod_float_path_is_exact(shape: tuple[int, int, int]) -> None:
    """Large products go through float64 BLAS with b split at 2^13; entries at p - 1 (the
    worst case for the float sums) and inner dimensions above the 2^15 chunk stay exact."""
    m, k, n = shape
    p = (1 << 25) - 39
    rng = np.random.default_rng(k)
    a = rng.integers(0, p, size=(m, k))
    b = rng.integers(0, p, size=(k, n))
    a[0] = p - 1
    b[:, 0] = p - 1
    got = linalg.matmul_mod(a, b, p)
    A = a.astype(object)
    B = b.astype(object)
    for i, j in [(0, 0), (m - 1, n - 1), (m // 2, n // 2), (0, n - 1)]:
        assert got[i, j] == int(A[i] @ B[:, j]) % p
    rows = rng.choice(m, size=min(m, 3), replace=False)
    assert (got[rows] == ((A[rows] @ B) % p).astype(np.int64)).all()
