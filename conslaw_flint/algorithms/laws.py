"""Algorithm 1: every polynomial conservation law of a given degree, exactly.

A polynomial h = sum_alpha a_alpha theta^alpha is a law iff every coefficient of every
polynomial <grad h, X_i> vanishes: a sparse linear system M a = 0 over Q (design.md §3).
It is solved exactly without a dense solve over the whole system; each shortcut below has
its invariant written next to it and a test that compares it with the plain computation
(``tests/algorithms/test_laws_full_system.py``: the full system ranked exactly over Q):

1. **Blocks** (:mod:`conslaw_flint.algorithms.blocks`): the system is block diagonal along
   canonical parity labels; the kernel is the direct sum of the blocks' kernels.
2. **Rank modulo p by sampling.**  For a point t and a combination w = sum_i c_i X_i(t),
   sum_alpha a_alpha grad(t^alpha)·w is the combination sum_{i,beta} c_i t^beta of the
   equations (i, beta) -- an integer combination modulo p once the generators are scaled to
   integers, with p dividing no denominator of the input.  So the sampled matrix S of a block
   has rank_p(S) <= rank_p(M_block) <= rank_Q(M_block), i.e.
   dim_Q ker M_block <= dim_p ker S: whatever the samples, dim_p ker S is an upper bound.
3. **Forced zeros** (blocks of at least :data:`PEEL_MIN` unknowns): an equation of the exact
   system whose only non-zero entry (over Z) among the unknowns left is on the unknown alpha
   forces a_alpha = 0 in every rational solution; removing alpha's column leaves the other
   solutions unchanged and may leave more such equations.  Peeled to the end
   (:func:`forced_zeros`), the block keeps only the unknowns left; the kernel is that of the
   block restricted to them, padded with zeros (a 10-variable ODE at degree 5: 3,002 unknowns,
   2,999 forced to zero).
4. **Lift and prove.**  The reduced kernel basis of S is lifted to Q by rational
   reconstruction (Chinese remaindering over the primes drawn so far) and every candidate is
   verified as an exact polynomial identity <grad h, X_i> = 0 for all i
   (:class:`~conslaw_flint.algorithms.checks.LawChecker`).  Verified candidates of distinct
   free columns are independent, so when they are as many as dim_p ker S they span
   ker_Q M_block: a proof, not a guess.  Otherwise more rows and primes are drawn; after
   ``max_primes`` rounds the remaining blocks are solved exactly over Z
   (:func:`exact_block_laws`: fraction-free echelon form of the exact block system), which
   needs no bound on the height of the coefficients.

The verified basis is returned with primitive integer coefficients in a deterministic order,
with a maximal subfamily whose gradients have full exact rank at a seeded random rational
point (a lower bound on the generic rank of the family).

>>> from conslaw_flint.models import build_model
>>> res = polynomial_laws(build_model("product:3"), 2, homogeneous=True, seed=0)
>>> [str(h) for h in res.basis]
['x1^2 - x2^2', 'x1^2 - x3^2']
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Sequence
from fractions import Fraction

import numpy as np
from numpy.random import default_rng

from ..core import budget, linalg, progress
from ..core.fields import FieldFamily
from ..core.polynomials import Monomial, from_terms, mono_degree, mono_mul, monomial
from ..core.runtime import gc_paused
from ..core.tables import ModTable, TermTable
from ..errors import TooLargeError
from ..models.model import Model
from ..results import LawResult
from .blocks import Unknowns, block_structure
from .checks import LawChecker, SparsePoly

DEFAULT_MAX_UNKNOWNS = 20_000_000
#: bytes per unknown of the block enumeration (index rows, parities, sort keys)
BYTES_PER_UNKNOWN = 120
#: bytes per entry of a sampled block matrix (NumPy array, its list copy, FLINT's matrix)
BYTES_PER_SAMPLE_ENTRY = 60


def count_unknowns_capped(D: int, degree: int, homogeneous: bool, cap: int) -> int:
    """:func:`count_unknowns`, or ``cap + 1`` as soon as it is known to exceed ``cap``
    (never computes a huge binomial: the partial products C(M+i, i) increase with i)."""
    n, k = (D - 1, degree) if homogeneous else (D, degree)
    m, M = min(n, k), max(n, k)
    value = 1
    for i in range(1, m + 1):
        value = value * (M + i) // i
        if value - (0 if homogeneous else 1) > cap:
            return cap + 1
    return value - (0 if homogeneous else 1)


def estimate_unknowns(D: int, degree: int, homogeneous: bool) -> str:
    """The number of unknowns as text: exact below 10^18, else ~10^k (a sum of
    logarithms: never the binomial itself)."""
    n, k = (D - 1, degree) if homogeneous else (D, degree)
    m, M = min(n, k), max(n, k)
    log10 = sum(math.log10(M + i) - math.log10(i) for i in range(1, m + 1))
    if log10 < 18:
        return str(count_unknowns(D, degree, homogeneous))
    return f"~10^{int(log10)}"


def count_unknowns(D: int, degree: int, homogeneous: bool) -> int:
    """Number of non-constant monomials of degree <= K (or exactly K) in D variables."""
    if homogeneous:
        return math.comb(D + degree - 1, degree)
    return math.comb(D + degree, degree) - 1


# ---------------------------------------------------------------------------------------------
# sampling


class _Samples:
    """Random points t_s and combinations w = sum_i c_i X_i(t_s) (mod p), shared by all
    blocks; stored as U_s = w / t_s elementwise, which is what the rows need."""

    def __init__(self, family: FieldFamily, p: int, rng: random.Random) -> None:
        self.family, self.p, self.rng = family, p, rng
        self.points: list[np.ndarray] = []
        self.U: list[np.ndarray] = []  # rows w / t (elementwise), one array per point
        self.np_rng = default_rng(rng.getrandbits(64))

    def ensure(self, rows: int) -> None:
        """Draw points until at least ``rows`` sample rows exist."""
        p, D, d = self.p, self.family.D, self.family.d
        # one point gives at most rank V(t) <= D independent rows, and far fewer on one
        # block (rows of one point are correlated there): spread the rows over many points
        per_point = min(d, max(rows, 1), D + 8, max(2, -(-rows // 64)))
        have = sum(u.shape[0] for u in self.U)
        gated = getattr(self.family.structure, "gated_gradients", None)
        # a network whose generators are long sums (a deep linear net: every entry of the
        # product is a sum over paths) is sampled by backpropagation too: one point then
        # costs O(weights) instead of O(entries of the potentials)
        use_gated = gated is not None and (d > D + 8 or self.family.table_entries() > 50_000)
        if have < rows and not use_gated and d <= D + 8 \
                and d * D * (-(-(rows - have) // per_point)) <= 20_000_000:
            # few generators: all the points at once, in one vectorised evaluation; each
            # point gives ``per_point`` random combinations of the generator values (the
            # values themselves when that is all of them)
            P = -(-(rows - have) // per_point)
            budget.tick()
            X = self.np_rng.integers(1, p, size=(P, D), dtype=np.int64)
            V = self.family.mod_table(p).values_batch(X)
            inv = linalg.inv_mod_vec(X, p)
            for r in range(P):
                if per_point < d:
                    C = self.np_rng.integers(0, p, size=(per_point, d), dtype=np.int64)
                    W = linalg.matmul_mod(C, V[r], p)
                else:
                    W = V[r]
                self.points.append(X[r])
                self.U.append(W * inv[r][None, :] % p)
        if use_gated:
            # a network: random gated combinations by backpropagation, O(weights) each;
            # the points drawn and inverted together (few combinations a point: rows of one
            # point are correlated on a block)
            have = sum(u.shape[0] for u in self.U)
            k = per_point
            P = -(-(rows - have) // k) if rows > have else 0
            X = self.np_rng.integers(1, p, size=(P, D), dtype=np.int64)
            inv = linalg.inv_mod_vec(X, p)
            for r in range(P):
                budget.tick()
                W = gated(X[r], k, self.np_rng, p)
                self.points.append(X[r])
                self.U.append(W * inv[r][None, :] % p)
        while sum(u.shape[0] for u in self.U) < rows:
            x = self.np_rng.integers(1, p, size=D, dtype=np.int64)
            budget.tick()
            f, c, v = family_values(self.family, x, self.p)
            W = np.zeros((per_point, D), dtype=np.int64)
            if d == 1:
                W[0, c] = v
            elif per_point * len(f) <= 20_000_000:
                # dense random combinations: W = C X(t), column by column
                C = self.np_rng.integers(0, p, size=(per_point, d), dtype=np.int64)
                order = np.argsort(c, kind="stable")
                f, c, v = f[order], c[order], v[order]
                bounds = np.searchsorted(c, np.arange(D + 1))
                for k in range(D):
                    lo, hi = bounds[k], bounds[k + 1]
                    if lo < hi:
                        W[:, k] = linalg.matmul_mod(C[:, f[lo:hi]], v[lo:hi, None], p)[:, 0]
            else:
                # sparse random combinations (a few random rows per generator, random
                # coefficients): rows of C X(t) for a random sparse C, in O(nnz) time
                for _ in range(4):
                    row = self.np_rng.integers(0, per_point, size=d)
                    coef = self.np_rng.integers(1, p, size=d, dtype=np.int64)
                    np.add.at(W, (row[f], c), coef[f] * v % p)
                W %= p
            inv = linalg.inv_mod_vec(x, p)
            self.points.append(x)
            self.U.append(W * inv[None, :] % p)

    def block_matrix(self, idx: np.ndarray, rows: int) -> np.ndarray:
        """The first ``rows`` sampled rows restricted to the unknowns whose variable rows
        (with repetition, padded with D: :class:`~conslaw_flint.algorithms.blocks.Unknowns`)
        are ``idx``: entries grad(t^alpha)·w = t^alpha * sum_k alpha_k w_k / t_k, i.e. the
        product of t over the row times the sum of w/t over the row."""
        self.ensure(rows)
        p = self.p
        idx = np.asarray(idx, dtype=np.int64)
        out = []
        left = rows
        for x, U in zip(self.points, self.U, strict=True):
            if left <= 0:
                break
            Us = U[:left]
            left -= Us.shape[0]
            xpad = np.append(x % p, 1)
            Upad = np.concatenate([Us, np.zeros((Us.shape[0], 1), dtype=np.int64)], axis=1)
            mono = np.ones(len(idx), dtype=np.int64)
            acc = np.zeros((Us.shape[0], len(idx)), dtype=np.int64)
            for c in range(idx.shape[1]):
                mono = mono * xpad[idx[:, c]] % p
                acc += Upad[:, idx[:, c]]
            out.append(acc % p * mono[None, :] % p)
        return np.vstack(out) if out else np.zeros((0, len(idx)), dtype=np.int64)


def _lift_block(block: Sequence[Monomial], residues: list[tuple[np.ndarray, list[int], int]]
                ) -> list[SparsePoly] | None:
    """Rational reconstruction (CRT over the primes so far) of a block's kernel basis; zero
    residues (most entries of a kernel vector) reconstruct to zero and are skipped."""
    free = residues[0][1]
    if any(r[1] != free for r in residues):
        return None
    out = []
    for t in range(len(free)):
        cols = np.flatnonzero(np.any(np.stack([basis[t] for basis, _, _ in residues]), axis=0))
        values, m = None, 1
        for basis, _, p in residues:
            col_vals = basis[t, cols].tolist()
            if values is None:
                values, m = col_vals, p
            else:
                values = [linalg.crt_pair(a, m, b, p)[0] for a, b in zip(values, col_vals,
                                                                         strict=True)]
                m *= p
        vec = linalg.reconstruct_vec(values or [], m)
        if vec is None:
            return None
        ints = linalg.primitive_integer_vector(vec)
        out.append(_positive_leading({block[j]: Fraction(c)
                                      for j, c in zip(cols.tolist(), ints, strict=True) if c}))
    return out


# ---------------------------------------------------------------------------------------------
# the exact route (fallback, and the reference of the tests)

#: most entries of the exact coefficient system of one block solved over Z (the fallback)
MAX_EXACT_ENTRIES = 20_000_000


def block_system(block: Sequence[Monomial], family: FieldFamily
                 ) -> tuple[list[tuple[int, Monomial]], list[dict[int, int]]]:
    """The exact coefficient system of the unknowns ``block`` (design.md §3), on the
    generators scaled to integer coefficients (which does not change the laws): one row per
    (generator i, monomial beta) with the coefficient of theta^beta in
    sum_alpha a_alpha <grad theta^alpha, X_i>, as (row keys, rows as {column: entry})."""
    table = family.term_table()
    coef = table.coefficients()
    den = [1] * table.n_fields
    for f, c in zip(table.t_field.tolist(), coef, strict=True):
        den[f] = den[f] * c.denominator // math.gcd(den[f], c.denominator)
    monos = table.monomials()
    by_comp: dict[int, list[tuple[int, Monomial, int]]] = {}
    for t, (f, k) in enumerate(zip(table.t_field.tolist(), table.t_comp.tolist(),
                                   strict=True)):
        by_comp.setdefault(k, []).append((f, monos[t], int(coef[t] * den[f])))
    index: dict[tuple[int, Monomial], int] = {}
    keys: list[tuple[int, Monomial]] = []
    rows: list[dict[int, int]] = []
    for j, alpha in enumerate(block):
        budget.tick()
        for v, e in alpha:
            lowered = monomial(*alpha, (v, -1))
            for f, mu, c in by_comp.get(v, ()):
                key = (f, mono_mul(lowered, mu))
                r = index.get(key)
                if r is None:
                    r = index[key] = len(rows)
                    keys.append(key)
                    rows.append({})
                rows[r][j] = rows[r].get(j, 0) + e * c
    return keys, rows


def exact_block_laws(block: Sequence[Monomial], family: FieldFamily) -> list[SparsePoly]:
    """The laws of one block from its exact coefficient system over Z (no sampling, no
    prime): the kernel in the same reduced form as the modular route (1 at a free column, 0
    at the others), so both routes give the same basis.  Raises :class:`TooLargeError` when
    the dense system would exceed :data:`MAX_EXACT_ENTRIES` entries."""
    import flint

    _, rows = block_system(block, family)
    n = len(block)
    if len(rows) * n > MAX_EXACT_ENTRIES:
        raise TooLargeError(f"a block of {n} unknowns needs an exact system of {len(rows)} x "
                            f"{n} entries (limit {MAX_EXACT_ENTRIES}); lower --degree")
    budget.reserve(len(rows) * n * 64, "the exact block system", "lower --degree")
    if not rows:
        R, den, rank = flint.fmpz_mat(0, n), 1, 0
    else:
        M = flint.fmpz_mat(len(rows), n)
        for r, row in enumerate(rows):
            for j, c in row.items():
                M[r, j] = c
        R, den, rank = M.rref()
    pivots = []
    for i in range(rank):
        pivots.append(next(j for j in range(n) if R[i, j] != 0))
    pivot_set = set(pivots)
    free = [j for j in range(n) if j not in pivot_set]
    out = []
    for f in free:
        vec = [Fraction(0)] * n
        vec[f] = Fraction(1)
        for i, pc in enumerate(pivots):
            vec[pc] = Fraction(-int(R[i, f]), int(den))
        ints = linalg.primitive_integer_vector(vec)
        out.append(_positive_leading({block[j]: Fraction(c) for j, c in enumerate(ints) if c}))
    return out


#: blocks of at least this many unknowns are peeled of their forced zeros first (below it the
#: sampled solve is cheaper than building the exact system: ~60 us an unknown)
PEEL_MIN = 256
#: largest exact system (estimated non-zero entries) built for peeling; larger blocks are
#: solved without it
PEEL_MAX_ENTRIES = 5_000_000
#: measured cost of building and peeling the exact system, per non-zero entry (seconds)
PEEL_SECONDS_PER_ENTRY = 2e-6


def forced_zeros(block: Sequence[Monomial], family: FieldFamily) -> np.ndarray:
    """Positions (into ``block``) of the unknowns that every rational law of the block has
    zero coefficient on, found by peeling the exact coefficient system
    (:func:`block_system`): an equation with a single non-zero entry (over Z, not modulo a
    prime) among the unknowns not yet removed forces that unknown to zero; its column is
    removed and the equations it met are recounted, to the end.  The laws of the block are
    those of the remaining unknowns alone, padded with zeros (module docstring, step 3)."""
    _, rows = block_system(block, family)
    col_rows: dict[int, list[int]] = {}
    count = []
    for r, row in enumerate(rows):
        nz = [j for j, c in row.items() if c]
        count.append(len(nz))
        for j in nz:
            col_rows.setdefault(j, []).append(r)
    dead = np.zeros(len(block), dtype=bool)
    stack = [r for r, c in enumerate(count) if c == 1]
    while stack:
        r = stack.pop()
        if count[r] != 1:
            continue
        j = next(j for j, c in rows[r].items() if c and not dead[j])
        dead[j] = True
        for r2 in col_rows[j]:
            count[r2] -= 1
            if count[r2] == 1:
                stack.append(r2)
    return np.flatnonzero(dead)


def _peel_entries_per_unknown(degree: int, family: FieldFamily) -> int:
    """An upper bound on the non-zero entries of the exact system per unknown: an unknown
    meets at most (its variables, at most ``degree``) x (terms of those components)
    equations, plus, for a gradient family, the table of the gradients that the system needs
    (counted once per block, which only makes peeling rarer)."""
    if family.is_gradient:
        # component k of grad phi_i has one term per term of phi_i containing x_k (the
        # gradient table itself is not built for this)
        per_comp = np.bincount(family.potential_table().e_var, minlength=family.D)
    else:
        per_comp = np.bincount(family.term_table().t_comp, minlength=family.D)
    return int(np.sort(per_comp)[::-1][:max(1, min(degree, family.D))].sum())


def _positive_leading(h: SparsePoly) -> SparsePoly:
    """h or -h, whichever has a positive leading term in printing order (degree first, then
    lexicographic with x1 > x2 > ...)."""
    lead = min(h, key=lambda m: (-mono_degree(m), tuple((v, -e) for v, e in m)))
    return h if h[lead] > 0 else {m: -c for m, c in h.items()}


def law_order(h: SparsePoly) -> tuple[object, ...]:
    """Deterministic order of laws: by degree, then term by term in printing order
    (x1 > x2 > ... > x10, numerically), then by coefficients."""
    terms = sorted(h.items(), key=lambda mc: (-mono_degree(mc[0]),
                                              tuple((v, -e) for v, e in mc[0])))
    return (max(mono_degree(m) for m in h),
            tuple((-mono_degree(m), tuple((v, -e) for v, e in m), -c) for m, c in terms))


def family_values(family: FieldFamily, x: np.ndarray, p: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Non-zero values X_i(x)_k mod p as (generator, component, value) arrays: from the
    potentials' first derivatives for gradient families (O(terms of phi)), from the field
    table otherwise."""
    return family.mod_table(p).values_coo(x)


# ---------------------------------------------------------------------------------------------
# the algorithm


def polynomial_laws(model: Model, degree: int, homogeneous: bool = False, seed: int = 0,
                    max_unknowns: int = DEFAULT_MAX_UNKNOWNS, max_primes: int = 12,
                    at: tuple[Sequence[int], int] | None = None) -> LawResult:
    """All non-constant polynomial laws of degree <= ``degree`` (exactly ``degree`` when
    ``homogeneous``), as a verified basis over Q (Algorithm 1 of Marcotte, Gribonval, Peyré
    2023, done exactly), and a maximal independent subfamily.

    Parameters
    ----------
    model:
        The model (its generators X_i).
    degree, homogeneous:
        Degree bound K (all laws of degree 1..K), or exactly K.
    seed:
        Seed of the random points and primes (reported in the result).
    max_unknowns:
        Refuse systems with more unknown coefficients (:class:`TooLargeError`).
    max_primes:
        Rounds of the modular route before the exact fallback over Z.
    at:
        ``(point, prime)`` of the independence rank (a count passes its own); by default
        both are drawn from the seed.

    Returns
    -------
    LawResult
        ``basis``: FLINT polynomials in the model's ring, each verified exactly as
        <grad h, X_i> = 0 for all i; complete (see the module docstring for the proof).
        ``independent``: a subfamily whose gradients have full exact rank at a random point
        (a lower bound on the generic rank of the basis).

    Raises
    ------
    TooLargeError
        Too many unknowns, or a block whose matrices exceed the memory budget
        (:mod:`conslaw_flint.core.budget`).
    TimeUp
        The active budget's time limit passed.
    """
    t0 = time.monotonic()
    with gc_paused(), budget.phase("polynomial laws"):
        res = _polynomial_laws(model, degree, homogeneous, seed, max_unknowns, max_primes, at)
    res.seconds = time.monotonic() - t0
    return res


def _polynomial_laws(model: Model, degree: int, homogeneous: bool, seed: int,
                     max_unknowns: int, max_primes: int,
                     at: tuple[Sequence[int], int] | None) -> LawResult:
    if degree < 1:
        raise TooLargeError(f"degree {degree} must be at least 1")
    family = model.family
    n_unknowns = count_unknowns_capped(model.D, degree, homogeneous, max_unknowns)
    if n_unknowns > max_unknowns:
        raise TooLargeError(
            f"degree {degree} in D = {model.D} variables has "
            f"{estimate_unknowns(model.D, degree, homogeneous)} unknown coefficients, above "
            f"the limit {max_unknowns}; lower --degree or raise --max-unknowns")
    budget.reserve(n_unknowns * BYTES_PER_UNKNOWN, f"the {n_unknowns} unknowns of degree "
                   f"{degree}", "lower --degree")
    rng = random.Random(seed)
    unk = Unknowns(model.D, degree, homogeneous)
    order, starts = block_structure(family, unk)
    sizes = np.diff(starts)
    n_blocks = len(sizes)
    biggest = int(sizes.max(initial=0))
    budget.reserve((2 * biggest + 8) * biggest * BYTES_PER_SAMPLE_ENTRY,
                   f"the sampled matrix of the largest block ({biggest} unknowns)",
                   "lower --degree")
    checker = LawChecker(family)
    primes_used: list[int] = []
    results: dict[int, list[SparsePoly]] = {}
    pending = np.arange(n_blocks)
    residues: dict[int, list[tuple[np.ndarray, list[int], int]]] = {}
    extra_rows = 4
    attempts = 0

    # forced zeros of the large blocks (step 3 of the module docstring): their columns leave
    kept: dict[int, np.ndarray] = {}
    large = np.flatnonzero(sizes >= PEEL_MIN).tolist()
    if large:
        per_unknown = _peel_entries_per_unknown(degree, family)
        # (the exact system of a gradient family needs the table of the gradients built too)
        table_cost = family.table_entries() if family.is_gradient else 0
    for b in large:
        n = int(sizes[b])
        entries = n * per_unknown + table_cost
        # peel only where the exact system is cheaper than the dense sampled solve it saves
        # (a network's block of squares is not: its system has a term per path)
        if entries > PEEL_MAX_ENTRIES or \
                PEEL_SECONDS_PER_ENTRY * entries > linalg.elimination_seconds(n + 12, n):
            continue
        budget.tick()
        budget.reserve(entries * 200, f"the exact system of a block of {n} unknowns",
                       "lower --degree")
        dead = forced_zeros(unk.monomials(order[starts[b]:starts[b + 1]]), family)
        if len(dead):
            keep = np.ones(n, dtype=bool)
            keep[dead] = False
            kept[b] = np.flatnonzero(keep)

    def columns(b: int) -> np.ndarray:
        cols = order[starts[b]:starts[b + 1]]
        return cols[kept[b]] if b in kept else cols

    def monos(b: int) -> list[Monomial]:
        return unk.monomials(columns(b))

    for b in [b for b, k in kept.items() if not len(k)]:
        results[b] = []
    pending = np.array([b for b in pending.tolist() if b not in results], dtype=np.int64)

    while len(pending):
        attempts += 1
        if attempts > max_primes:
            # the modular route did not settle (coefficients too high for the primes drawn so
            # far, or unlucky samples): solve the remaining blocks exactly over Z instead
            for b in pending.tolist():
                budget.tick()
                results[b] = exact_block_laws(monos(b), family)
            break
        p = family.random_prime(rng)
        primes_used.append(p)
        samples = _Samples(family, p, rng)
        still: list[int] = []
        lifted: dict[int, list[SparsePoly]] = {}
        kernels: dict[int, tuple[np.ndarray, list[int]]] = {}
        bar_cm = progress.task(f"law blocks (prime {attempts})", len(pending))
        bar = bar_cm.__enter__()
        psize = sizes[pending].copy()
        # peeled blocks take the path of one sampled matrix each (their columns are a subset)
        psize[np.isin(pending, np.fromiter(kept, dtype=np.int64, count=len(kept)))] = 1 << 40
        # single unknowns, all at once: a single unknown is a candidate law only if every
        # sampled row vanishes on it
        singles = pending[psize == 1]
        if len(singles):
            for s0 in range(0, len(singles), 1 << 20):
                part = singles[s0:s0 + (1 << 20)]
                budget.tick()
                S1 = samples.block_matrix(unk.idx[order[starts[part]]], 1 + extra_rows)
                for b in part[~S1.any(axis=0)].tolist():
                    kernels[b] = (np.ones((1, 1), dtype=np.int64), [0])
                bar.update(len(part))
        # small blocks: every block of one width in one vectorised rank check; those of full
        # column rank (modulo p) have no law
        for w in np.unique(psize[(psize > 1) & (psize <= 32)]).tolist():
            bs = pending[psize == w]
            rows = 2 * w + extra_rows
            step = max(1, 4_000_000 // (rows * w))
            for s0 in range(0, len(bs), step):
                part = bs[s0:s0 + step]
                budget.tick()
                cols = order[starts[part][:, None] + np.arange(w)[None, :]]   # (nb, w)
                S = samples.block_matrix(unk.idx[cols.ravel()], rows)          # (rows, nb*w)
                stack = S.reshape(rows, len(part), w).transpose(1, 0, 2)
                full = linalg.full_column_rank_batch(stack, p)
                for t in np.flatnonzero(~full).tolist():
                    basis, _, free = linalg.kernel_mod(stack[t], p)
                    kernels[int(part[t])] = (basis, free)
                bar.update(len(part))
        # larger blocks: one sampled matrix and one kernel each (n + 12 rows spread over
        # many points reach the rank with high probability; when they do not, a candidate
        # fails its exact check and the next round samples more)
        for b in pending[psize > 32].tolist():
            budget.tick()
            cols = columns(b)
            S = samples.block_matrix(unk.idx[cols], len(cols) + 8 + extra_rows)
            basis, _, free = linalg.kernel_mod(S, p)
            kernels[b] = (basis, free)
            bar.update(1)
        bar_cm.__exit__(None, None, None)
        for b, (basis, free) in kernels.items():
            if not free:
                continue
            # the sampled rank is a lower bound: a larger rank (fewer free columns) makes
            # earlier residues stale; a smaller one is an unlucky sample and is dropped
            old = residues.get(b)
            if not old or len(free) < len(old[0][1]) or (len(free) == len(old[0][1])
                                                         and free != old[0][1]):
                residues[b] = [(basis, free, p)]
            elif free == old[0][1]:
                old.append((basis, free, p))
            cands = _lift_block(monos(b), residues[b])
            if cands is None:
                still.append(b)
            else:
                lifted[b] = cands
        # verify every lifted candidate exactly, all blocks at once
        failed: set[int] = set()
        flat = [(b, h) for b, cands in lifted.items() for h in cands]
        for s0 in range(0, len(flat), 2048):
            part_l = flat[s0:s0 + 2048]
            for (b, _), good in zip(part_l, checker.check_many([h for _, h in part_l]),
                                    strict=True):
                if not good:
                    failed.add(b)
        for b, cands in lifted.items():
            if b in failed:
                still.append(b)
            else:
                results[b] = cands
        pending = np.array(sorted(still), dtype=np.int64)
        extra_rows *= 2
    sparse = sorted((h for r in results.values() for h in r), key=law_order)
    if at is None:
        point, independent = independent_subfamily(sparse, model.D, rng, family=family)
        pivots: list[int] = []
    else:
        point = list(at[0])
        independent, pivots = independent_gradients(sparse, model.D, point, at[1], family)
    basis = [from_terms(model.ring, h.items()) for h in sparse]
    return LawResult(model, degree, homogeneous, basis, independent, seed, primes_used, point,
                     n_unknowns, n_blocks, independent_pivots=pivots,
                     independence_prime=None if at is None else at[1], sparse=sparse)


def independent_gradients(laws: Sequence[SparsePoly], D: int, point: Sequence[int], p: int,
                          family: FieldFamily | None = None) -> tuple[list[int], list[int]]:
    """(indices, pivot columns): greedily in order, a maximal subfamily of the laws whose
    gradients at the integer point are independent modulo p, and columns on which their
    minor is non-zero modulo p.

    The gradients are those of the laws scaled to integer coefficients, evaluated exactly and
    reduced modulo p; a non-zero minor modulo p is a non-zero integer minor, so the chosen
    gradients are independent over Q at the point (a lower bound on the generic rank).
    Vectorised (term table of the laws), in chunks.  Law gradients are orthogonal to every
    generator value, so with ``family`` the search stops at rank D - rank_p(J^T J), a proven
    upper bound (see :meth:`ModTable.gram_rank`); else at D.
    """
    if not laws:
        return [], []
    x = np.array([t % p for t in point], dtype=np.int64)
    limit = D
    if family is not None and all(x):
        limit = D - family.mod_table(p).gram_rank(x)
    ech = linalg.Echelon(D, p)
    chosen: list[int] = []
    chunk = 4096
    for start in range(0, len(laws), chunk):
        budget.tick()
        part = [[(-1, _integer_items(h))] for h in laws[start:start + chunk]]
        table = ModTable(TermTable.from_sparse(part, D).gradient(), p)
        grads = table.values_dense(x)
        chosen += [start + i for i, new in enumerate(ech.add_batch(grads, limit=limit)) if new]
        if ech.rank >= limit:
            break
    return chosen, list(ech.pivots)


def independent_subfamily(laws: Sequence[SparsePoly], D: int, rng: random.Random,
                          bits: int = 30, family: FieldFamily | None = None
                          ) -> tuple[list[int], list[int]]:
    """(point, indices): a random integer point and a maximal subfamily of the laws whose
    gradients are independent there (see :func:`independent_gradients`)."""
    point = [rng.randrange(1, 2**bits) * rng.choice((-1, 1)) for _ in range(D)]
    p = family.random_prime(rng) if family is not None else linalg.random_prime(rng)
    return point, independent_gradients(laws, D, point, p, family)[0]


def _integer_items(h: SparsePoly) -> list[tuple[Monomial, Fraction]]:
    """Terms of h scaled to integer coefficients (the same gradient directions)."""
    den = 1
    for c in h.values():
        den = den * c.denominator // math.gcd(den, c.denominator)
    return [(m, c * den) for m, c in h.items()]


__all__ = ["DEFAULT_MAX_UNKNOWNS", "PEEL_MIN", "LawResult", "block_system", "count_unknowns",
           "count_unknowns_capped", "estimate_unknowns", "exact_block_laws", "forced_zeros",
           "independent_gradients", "independent_subfamily", "law_order", "polynomial_laws"]
