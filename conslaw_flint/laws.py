"""Algorithm 1: every polynomial conservation law of a given degree, exactly.

A polynomial h = sum_alpha a_alpha theta^alpha is a law iff every coefficient of every
polynomial <grad h, X_i> vanishes: a sparse linear system M a = 0 over Q (design.md §3).

How it is solved exactly without a dense solve over the whole system:

1. **Blocks.**  Unknown theta^alpha meets generator X_i only in the equations of monomials
   alpha + s, with s = mu - e_k a *shift* of X_i (mu a term of X_i's component k).  Two
   unknowns share an equation only if alpha - alpha' is a difference of two shifts of one
   generator.  Hence the parity vector of alpha modulo the GF(2)-span of those differences,
   together with the total degree when every generator shifts degrees uniformly, is constant
   on each connected component of the system: the unknowns split into independent blocks
   (for a ReLU net: one block of squares, every mixed monomial alone).
2. **Rank modulo p by sampling.**  For a point t and a combination w = sum_i c_i X_i(t),
   sum_alpha a_alpha grad(theta^alpha)(t)·w = 0 is a combination (mod p) of rows of M, so the
   sampled matrix S of a block satisfies rank_p(S) <= rank_Q(M_block), i.e.
   dim_Q ker M_block <= dim_p ker S.
3. **Lift and prove.**  The reduced kernel basis of S is lifted to Q by rational
   reconstruction (Chinese remaindering over more primes when needed) and every candidate is
   verified as an exact polynomial identity <grad h, X_i> = 0 for all i.  When the verified
   laws are as many as dim_p ker S, they are a basis of the block's laws: a proof, not a guess.
   Otherwise more samples and primes are drawn.

The verified basis is returned with primitive integer coefficients in a deterministic order,
with a maximal subfamily whose gradients have full exact rank at a seeded random rational
point (a lower bound on the generic rank of the family).

>>> from conslaw_flint.models import build_model
>>> res = polynomial_laws(build_model("product:3"), 2, homogeneous=True, seed=0)
>>> [format_law(h) for h in res.basis]
['x1^2 - x2^2', 'x1^2 - x3^2']
"""

from __future__ import annotations

import itertools
import math
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.random import default_rng

from . import linalg, polys
from .errors import UserError
from .fields import FieldFamily, ModTable, TermTable
from .models import Model
from .parse import format_polynomial
from .polys import Monomial, Poly
from .runtime import gc_paused

DEFAULT_MAX_UNKNOWNS = 3_000_000


class TimeUp(Exception):
    """Raised when a deadline passes in the middle of a computation."""


class TooLargeError(UserError):
    """The requested computation would not fit: the message gives the estimate and the fix."""


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
    m, M = min(n, k), max(n, k)  # m <= D - 1 < MAX_PARAMETERS terms; M may be any int
    log10 = sum(math.log10(M + i) - math.log10(i) for i in range(1, m + 1))
    if log10 < 18:
        return str(count_unknowns(D, degree, homogeneous))
    return f"~10^{int(log10)}"


def count_unknowns(D: int, degree: int, homogeneous: bool) -> int:
    """Number of non-constant monomials of degree <= K (or exactly K) in D variables."""
    if homogeneous:
        return math.comb(D + degree - 1, degree)
    return math.comb(D + degree, degree) - 1


@dataclass
class LawResult:
    """The polynomial laws of one degree (bound) of a model, with their provenance."""

    model: Model
    degree: int
    homogeneous: bool
    basis: list[Poly]
    independent: list[int]
    seed: int
    primes: list[int]
    point: list[int]
    unknowns: int
    blocks: int
    independent_pivots: list[int] = field(default_factory=list)
    independence_prime: int | None = None

    @property
    def independent_laws(self) -> list[Poly]:
        return [self.basis[i] for i in self.independent]

    def _repr_markdown_(self) -> str:
        from .report import laws_markdown

        return laws_markdown(self)


def law_order(h: Poly) -> tuple[Any, ...]:
    """Deterministic order of laws: by degree, then term by term in printing order
    (x1 > x2 > ... > x10, numerically, not as strings)."""
    terms = sorted(h.items(), key=lambda mc: (-polys.mono_degree(mc[0]),
                                              tuple((v, -e) for v, e in mc[0])))
    return (polys.total_degree(h),
            tuple((-polys.mono_degree(m), tuple((v, -e) for v, e in m), -c) for m, c in terms))


def format_law(h: Poly, names: Sequence[str] | None = None) -> str:
    """A law as text that :func:`conslaw_flint.parse.parse_polynomial` reads back."""
    return format_polynomial(h, names)


# ---------------------------------------------------------------------------------------------
# blocks


def _gf2_reduce(v: int, basis: dict[int, int]) -> int:
    """The canonical representative of v modulo the GF(2) span of ``basis`` (pivot bit ->
    vector whose highest set bit is that pivot): the unique element of the coset with no
    pivot bit set.  Every pivot is cleared, highest first; stopping at the first highest bit
    that is not a pivot (as an earlier version did) leaves lower pivot bits set, so two
    unknowns of one block could get different labels."""
    for top in sorted(basis, reverse=True):
        if (v >> top) & 1:
            v ^= basis[top]
    return v


def _shift_structure(family: FieldFamily) -> tuple[dict[int, int], bool]:
    """GF(2) basis (pivot bit -> vector) of shift differences, and degree uniformity."""
    basis: dict[int, int] = {}
    uniform = True

    def add(v: int) -> None:
        v = _gf2_reduce(v, basis)
        if v:
            top = v.bit_length() - 1
            # keep the basis reduced: clear this pivot bit from the others
            for k, b in list(basis.items()):
                if (b >> top) & 1:
                    basis[k] = b ^ v
            basis[top] = v

    def bits(m: Monomial) -> int:
        out = 0
        for v, e in m:
            if e & 1:
                out |= 1 << v
        return out

    if family.potentials is not None:
        # shift of d_k phi's term beta is beta - 2 e_k: parity of beta, degree |beta| - 2
        for phi in family.potentials:
            if len(phi) < 2:
                continue
            ms = list(phi)
            b0, d0 = bits(ms[0]), polys.mono_degree(ms[0])
            for m in ms[1:]:
                if polys.mono_degree(m) != d0:
                    uniform = False
                diff = bits(m) ^ b0
                if diff:
                    add(diff)
    else:
        for f in family.fields:
            ref = None
            for k, comp in f.items():
                for m in comp:
                    b = bits(m) ^ (1 << k)
                    dg = polys.mono_degree(m) - 1
                    if ref is None:
                        ref = (b, dg)
                        continue
                    if dg != ref[1]:
                        uniform = False
                    diff = b ^ ref[0]
                    if diff:
                        add(diff)
    return basis, uniform


def _unknowns(D: int, degree: int, homogeneous: bool
              ) -> Iterator[tuple[Monomial, int, int]]:
    """Unknown monomials with their degrees and parity bit vectors."""
    degs = [degree] if homogeneous else range(1, degree + 1)
    for deg in degs:
        for combo in itertools.combinations_with_replacement(range(D), deg):
            bits = 0
            for v in combo:
                bits ^= 1 << v
            yield tuple((v, len(list(g))) for v, g in itertools.groupby(combo)), deg, bits


def blocks_of(family: FieldFamily, degree: int, homogeneous: bool) -> list[list[Monomial]]:
    """Independent blocks of unknown monomials (see the module docstring), deterministic."""
    basis, uniform = _shift_structure(family)
    groups: dict[tuple[int, int], list[Monomial]] = {}
    for m, deg, bits in _unknowns(family.D, degree, homogeneous):
        key = (deg if uniform else 0,
               _gf2_reduce(bits, basis) if basis else bits)
        got = groups.get(key)
        if got is None:
            groups[key] = [m]
        else:
            got.append(m)
    # unknowns come in increasing order, so a group's first monomial identifies it
    return [groups[k] for k in sorted(groups, key=lambda k: (k[0], groups[k][0]))]


# ---------------------------------------------------------------------------------------------
# sampling


class _Samples:
    """Random points t_s and combinations w = sum_i c_i X_i(t_s) (mod p), shared by all
    blocks; stored as U_s = w / t_s elementwise, which is what the rows need."""

    def __init__(self, family: FieldFamily, p: int, rng: random.Random) -> None:
        self.family, self.p, self.rng = family, p, rng
        self.table: ModTable = family.mod_table(p)
        self.points: list[np.ndarray] = []
        self.U: list[np.ndarray] = []  # rows w / t (elementwise), one array per point
        self.np_rng = default_rng(rng.getrandbits(64))

    def ensure(self, rows: int) -> None:
        """Draw points until at least ``rows`` sample rows exist."""
        p, D, d = self.p, self.family.D, self.family.d
        per_point = min(d, max(rows, 1), D + 8)  # one point gives rank <= D rows
        while sum(u.shape[0] for u in self.U) < rows:
            x = self.np_rng.integers(1, p, size=D, dtype=np.int64)
            f, c, v = self.table.values_coo(x)
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
            inv = np.array([pow(int(t), -1, p) for t in x], dtype=np.int64)
            self.points.append(x)
            self.U.append(W * inv[None, :] % p)

    def block_matrix(self, block: Sequence[Monomial], rows: int) -> np.ndarray:
        """The first ``rows`` sampled rows restricted to the unknowns ``block``:
        entries grad(t^alpha)·w = t^alpha * sum_k alpha_k w_k / t_k."""
        self.ensure(rows)
        p = self.p
        a_idx, a_var, a_exp = [], [], []
        for j, m in enumerate(block):
            for v, e in m:
                a_idx.append(j)
                a_var.append(v)
                a_exp.append(e)
        ai = np.array(a_idx, dtype=np.int64)
        av = np.array(a_var, dtype=np.int64)
        ae = np.array(a_exp, dtype=np.int64)
        out = []
        left = rows
        for x, U in zip(self.points, self.U, strict=True):
            if left <= 0:
                break
            Us = U[:left]
            left -= Us.shape[0]
            pw = np.ones(len(ai), dtype=np.int64)
            for step in range(int(ae.max(initial=0))):
                sel = ae > step
                pw[sel] = pw[sel] * x[av[sel]] % p
            mono = _grouped_product(ai, pw, len(block), p)      # t^alpha
            contrib = Us[:, av] * (ae % p)[None, :] % p          # alpha_k w_k / t_k
            S = np.zeros((Us.shape[0], len(block)), dtype=np.int64)
            np.add.at(S.T, ai, contrib.T)
            out.append(S % p * mono[None, :] % p)
        return np.vstack(out)


def _grouped_product(group: np.ndarray, vals: np.ndarray, n: int, p: int) -> np.ndarray:
    """prod of vals over each group index (mod p); groups given as sorted indices."""
    out = np.ones(n, dtype=np.int64)
    if len(group) == 0:
        return out
    starts = np.searchsorted(group, group)
    pos = np.arange(len(group)) - starts
    for j in range(int(pos.max()) + 1):
        sel = pos == j
        out[group[sel]] = out[group[sel]] * vals[sel] % p
    return out


# ---------------------------------------------------------------------------------------------
# exact verification


class LawChecker:
    """Exact check of <grad h, X_i> = 0 for every generator X_i, over Q.

    Generators are scaled to integer coefficients (which does not change the laws) and so is
    the law.  All terms of all components are tabulated once: component variable, generator,
    integer coefficient and the monomial as a sorted list of variable indices.  For a law h,
    every product (term of d_k h) x (term of X_i,k) becomes one row (generator, monomial,
    coefficient); rows are grouped by (generator, monomial) and summed with int64 arithmetic
    whose bound is checked first (exact; Python integers otherwise).  h is a law iff every
    sum is zero.
    """

    def __init__(self, family: FieldFamily) -> None:
        self.D = family.D
        table = family.term_table()
        coef = table.coef
        if coef.dtype != np.int64:
            # scale each generator by the lcm of its denominators (laws unchanged)
            den = [1] * table.n_fields
            for f, c in zip(table.t_field.tolist(), coef, strict=True):
                q = Fraction(c).denominator
                den[f] = den[f] * q // math.gcd(den[f], q)
            ints = [int(Fraction(c) * den[f]) for f, c in zip(table.t_field.tolist(), coef,
                                                               strict=True)]
        else:
            ints = coef.tolist()
        order = np.argsort(table.t_comp, kind="stable")
        self.var = table.t_comp[order]
        self.fld = table.t_field[order]
        self.coef_py = [ints[t] for t in order.tolist()]
        self.max_coef = max((abs(c) for c in ints), default=0)
        self.coef = (np.array(self.coef_py, dtype=np.int64) if self.max_coef < 2**62
                     else None)
        self.mono = table.multisets()[order]
        self.bounds = np.searchsorted(self.var, np.arange(self.D + 1))

    def check(self, h: Poly) -> bool:
        """True iff h is a conservation law (exact)."""
        return self.check_many([h])[0]

    def check_many(self, laws: Sequence[Poly]) -> list[bool]:
        """For each h: True iff h is a conservation law (exact; one vectorised pass)."""
        g_law, g_var, g_coef, g_mono = [], [], [], []
        for n, h in enumerate(laws):
            for m, c in _int_terms(h):
                flat = [v for v, e in m for _ in range(e)]
                for k, e in m:
                    if self.bounds[k] == self.bounds[k + 1]:
                        continue  # no generator has a component k
                    pos = flat.index(k)
                    g_law.append(n)
                    g_var.append(k)
                    g_coef.append(c * e)
                    g_mono.append(flat[:pos] + flat[pos + 1:])
        ok = [True] * len(laws)
        if not g_var:
            return ok
        gv = np.array(g_var, dtype=np.int64)
        lo = self.bounds[gv]
        cnt = self.bounds[gv + 1] - lo
        rows = int(cnt.sum())
        gw = max(len(m) for m in g_mono)
        which = np.repeat(np.arange(len(g_var)), cnt)
        idx = np.repeat(lo, cnt) + np.arange(rows) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        gm = np.full((len(g_var), gw), self.D, dtype=np.int64)
        for r, mono_r in enumerate(g_mono):
            gm[r, :len(mono_r)] = mono_r
        mono = np.sort(np.concatenate([gm[which], self.mono[idx]], axis=1), axis=1)
        law = np.array(g_law, dtype=np.int64)[which]
        n_fields = int(self.fld.max(initial=0)) + 1
        base = self.D + 1
        if len(laws) * n_fields * base ** mono.shape[1] < 2**62:
            key = law * n_fields + self.fld[idx]   # pack (law, generator, monomial)
            for j in range(mono.shape[1]):
                key = key * base + mono[:, j]
            _, first, inv = np.unique(key, return_index=True, return_inverse=True)
        else:
            keys = np.concatenate([law[:, None], self.fld[idx][:, None], mono], axis=1)
            _, first, inv = np.unique(keys, axis=0, return_index=True, return_inverse=True)
        inv = inv.reshape(-1)
        max_g = max(abs(c) for c in g_coef)
        if self.coef is not None and max_g * self.max_coef * rows < 2**62:
            gc = np.array(g_coef, dtype=np.int64)
            sums = np.zeros(len(first), dtype=np.int64)
            np.add.at(sums, inv, gc[which] * self.coef[idx])
            bad = np.flatnonzero(sums)
        else:
            acc: dict[int, int] = {}
            for r in range(rows):  # exact fallback with Python integers
                key_r = int(inv[r])
                acc[key_r] = acc.get(key_r, 0) + g_coef[int(which[r])] * self.coef_py[int(idx[r])]
            bad = np.array([k for k, v in acc.items() if v], dtype=np.int64)
        for n in set(law[first[bad]].tolist()):
            ok[n] = False
        return ok


def _int_terms(p: Poly) -> list[tuple[Monomial, int]]:
    """Terms of p scaled by the lcm of its denominators (same zero set of identities)."""
    den = 1
    for c in p.values():
        den = den * c.denominator // math.gcd(den, c.denominator)
    return [(m, int(c * den)) for m, c in p.items()]


# ---------------------------------------------------------------------------------------------
# the algorithm


def _lift_block(block: Sequence[Monomial], residues: list[tuple[np.ndarray, list[int], int]]
                ) -> list[Poly] | None:
    """Rational reconstruction (CRT over the primes so far) of a block's kernel basis."""
    free = residues[0][1]
    if any(r[1] != free for r in residues):
        return None
    out = []
    for t in range(len(free)):
        vec: list[Fraction] = []
        for j in range(len(block)):
            a, m = 0, 1
            for basis, _, p in residues:
                a, m = linalg.crt_pair(a, m, int(basis[t, j]), p) if m > 1 else (
                    int(basis[t, j]), p)
            q = linalg.rational_reconstruct(a, m)
            if q is None:
                return None
            vec.append(q)
        ints = linalg.primitive_integer_vector(vec)
        out.append(_positive_leading({block[j]: Fraction(c) for j, c in enumerate(ints) if c}))
    return out


#: most entries of the exact coefficient system of one block solved over Z (the fallback)
MAX_EXACT_ENTRIES = 20_000_000


def block_system(block: Sequence[Monomial], family: FieldFamily
                 ) -> tuple[list[tuple[int, Monomial]], list[dict[int, int]]]:
    """The exact coefficient system of the unknowns ``block`` (design.md §3), on the
    generators scaled to integer coefficients (which does not change the laws): one row per
    (generator i, monomial beta) with the coefficient of theta^beta in
    sum_alpha a_alpha <grad theta^alpha, X_i>, as (row keys, rows as {column: entry})."""
    table = family.term_table()
    coef = [Fraction(c) for c in table.coef.tolist()] if table.coef.dtype != np.int64 \
        else [Fraction(int(c)) for c in table.coef]
    den = [1] * table.n_fields
    for f, c in zip(table.t_field.tolist(), coef, strict=True):
        den[f] = den[f] * c.denominator // math.gcd(den[f], c.denominator)
    monos = table.multisets().tolist()
    by_comp: dict[int, list[tuple[int, Monomial, int]]] = {}
    for t, (f, k) in enumerate(zip(table.t_field.tolist(), table.t_comp.tolist(),
                                   strict=True)):
        mu = polys.monomial(*((v, 1) for v in monos[t] if v < table.D))
        by_comp.setdefault(k, []).append((f, mu, int(coef[t] * den[f])))
    index: dict[tuple[int, Monomial], int] = {}
    keys: list[tuple[int, Monomial]] = []
    rows: list[dict[int, int]] = []
    for j, alpha in enumerate(block):
        for v, e in alpha:
            lowered = polys.monomial(*alpha, (v, -1))
            for f, mu, c in by_comp.get(v, ()):
                key = (f, polys.mono_mul(lowered, mu))
                r = index.get(key)
                if r is None:
                    r = index[key] = len(rows)
                    keys.append(key)
                    rows.append({})
                rows[r][j] = rows[r].get(j, 0) + e * c
    return keys, rows


def exact_block_laws(block: Sequence[Monomial], family: FieldFamily) -> list[Poly]:
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
    free = [j for j in range(n) if j not in set(pivots)]
    out = []
    for f in free:
        vec = [Fraction(0)] * n
        vec[f] = Fraction(1)
        for i, pc in enumerate(pivots):
            vec[pc] = Fraction(-int(R[i, f]), int(den))
        ints = linalg.primitive_integer_vector(vec)
        out.append(_positive_leading({block[j]: Fraction(c) for j, c in enumerate(ints) if c}))
    return out


def _positive_leading(h: Poly) -> Poly:
    """h or -h, whichever has a positive leading term in printing order (degree first, then
    lexicographic with x1 > x2 > ...)."""
    lead = min(h, key=lambda m: (-polys.mono_degree(m), tuple((v, -e) for v, e in m)))
    return h if h[lead] > 0 else {m: -c for m, c in h.items()}


def polynomial_laws(model: Model, degree: int, homogeneous: bool = False, seed: int = 0,
                    max_unknowns: int = DEFAULT_MAX_UNKNOWNS, max_primes: int = 12,
                    deadline: float | None = None,
                    at: tuple[Sequence[int], int] | None = None) -> LawResult:
    """All non-constant polynomial laws of degree <= ``degree`` (exactly ``degree`` when
    ``homogeneous``), as a verified basis over Q, and a maximal independent subfamily.

    Every returned law satisfies <grad h, X_i> = 0 identically (checked exactly); the basis
    is complete (see the module docstring for the proof).  The independent subfamily has
    gradients of full exact rank at a random rational point: a lower bound on the generic
    rank of the whole basis.  ``deadline`` (a time.monotonic value) raises :class:`TimeUp`.
    ``at = (point, prime)`` chooses the point and prime of that rank (a count passes its
    own, so the independence is computed once); by default both are drawn from the seed.
    """
    with gc_paused():
        return _polynomial_laws(model, degree, homogeneous, seed, max_unknowns, max_primes,
                                deadline, at)


def _polynomial_laws(model: Model, degree: int, homogeneous: bool, seed: int,
                     max_unknowns: int, max_primes: int, deadline: float | None,
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
    rng = random.Random(seed)
    blocks = blocks_of(family, degree, homogeneous)
    checker = LawChecker(family)
    primes_used: list[int] = []
    results: list[list[Poly]] = [[] for _ in blocks]
    pending = list(range(len(blocks)))
    residues: dict[int, list[tuple[np.ndarray, list[int], int]]] = {b: [] for b in pending}
    extra_rows = 4
    attempts = 0
    while pending:
        attempts += 1
        if attempts > max_primes:
            # the modular route did not settle (coefficients too high for the primes drawn so
            # far, or unlucky samples): solve the remaining blocks exactly over Z instead
            for b in pending:
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeUp("time limit reached while solving the law system")
                results[b] = exact_block_laws(blocks[b], family)
            break
        p = family.random_prime(rng)
        primes_used.append(p)
        samples = _Samples(family, p, rng)
        still: list[int] = []
        lifted: dict[int, list[Poly]] = {}
        failed: set[int] = set()
        singles = [b for b in pending if len(blocks[b]) == 1]
        if singles:
            # one vectorised pass: a single unknown is forced to zero by any non-zero row
            S1 = samples.block_matrix([blocks[b][0] for b in singles], 1 + extra_rows)
            zero_cols = np.flatnonzero(~S1.any(axis=0))
            survivors = {singles[j] for j in zero_cols}
        else:
            survivors = set()
        # sampled matrices of the larger blocks, built a group of blocks at a time (one
        # vectorised pass per group of at most 4096 columns) and sliced per block
        multi = sorted((b for b in pending if len(blocks[b]) > 1), key=lambda b: len(blocks[b]))
        mats: dict[int, np.ndarray] = {}
        start = 0
        while start < len(multi):
            stop, cols = start, 0
            while stop < len(multi) and (stop == start or cols + len(blocks[multi[stop]]) <= 4096):
                cols += len(blocks[multi[stop]])
                stop += 1
            group = multi[start:stop]
            rows = 2 * len(blocks[group[-1]]) + extra_rows
            S_all = samples.block_matrix([m for b in group for m in blocks[b]], rows)
            c0 = 0
            for b in group:
                n = len(blocks[b])
                mats[b] = S_all[:2 * n + extra_rows, c0:c0 + n]
                c0 += n
            start = stop
        # small blocks: one vectorised rank check for all blocks of each width; those of full
        # column rank have no law and need no kernel
        by_width: dict[int, list[int]] = {}
        for b, S in mats.items():
            if S.shape[1] <= 32:
                by_width.setdefault(S.shape[1], []).append(b)
        no_kernel: set[int] = set()
        for bs in by_width.values():
            full = linalg.full_column_rank_batch(np.stack([mats[b] for b in bs]), p)
            no_kernel.update(b for b, f in zip(bs, full.tolist(), strict=True) if f)
        for b in pending:
            if b in no_kernel:
                continue
            if deadline is not None and time.monotonic() > deadline:
                raise TimeUp("time limit reached while solving the law system")
            block = blocks[b]
            if len(block) == 1:
                if b not in survivors:
                    continue  # no law in this block
                # every sampled row vanished: the monomial is a candidate law (verified below)
                basis, _, free = np.ones((1, 1), dtype=np.int64), [], [0]
            else:
                basis, _, free = linalg.kernel_mod(mats.pop(b), p)
            if not free:
                continue
            # the sampled rank is a lower bound: a larger rank (fewer free columns) makes
            # earlier residues stale; a smaller one is an unlucky sample and is dropped
            old = residues[b]
            if not old or len(free) < len(old[0][1]) or (len(free) == len(old[0][1])
                                                         and free != old[0][1]):
                residues[b] = [(basis, free, p)]
            elif free == old[0][1]:
                old.append((basis, free, p))
            cands = _lift_block(block, residues[b])
            if cands is None:
                still.append(b)
            else:
                lifted[b] = cands
        # verify every lifted candidate exactly, all blocks at once
        flat = [(b, h) for b, cands in lifted.items() for h in cands]
        for start in range(0, len(flat), 2048):
            part = flat[start:start + 2048]
            for (b, _), good in zip(part, checker.check_many([h for _, h in part]),
                                    strict=True):
                if not good:
                    failed.add(b)
        for b, cands in lifted.items():
            if b in failed:
                still.append(b)
            else:
                results[b] = cands
        pending = sorted(still)
        extra_rows *= 2
    basis = sorted((h for r in results for h in r), key=law_order)
    if at is None:
        point, independent = independent_subfamily(basis, model.D, rng, family=family)
        pivots: list[int] = []
    else:
        point = list(at[0])
        independent, pivots = independent_gradients(basis, model.D, point, at[1], family)
    return LawResult(model, degree, homogeneous, basis, independent, seed, primes_used, point,
                     n_unknowns, len(blocks), independent_pivots=pivots,
                     independence_prime=None if at is None else at[1])


def independent_gradients(laws: Sequence[Poly], D: int, point: Sequence[int], p: int,
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
        part = [dict(_int_terms(h)) for h in laws[start:start + chunk]]
        part = [{m: Fraction(c) for m, c in h.items()} for h in part]
        table = ModTable(TermTable.from_potentials(part, D), p)
        grads = table.values_dense(x)
        chosen += [start + i for i, new in enumerate(ech.add_batch(grads, limit=limit)) if new]
        if ech.rank >= limit:
            break
    return chosen, list(ech.pivots)


def independent_subfamily(laws: Sequence[Poly], D: int, rng: random.Random,
                          bits: int = 30, family: FieldFamily | None = None
                          ) -> tuple[list[int], list[int]]:
    """(point, indices): a random integer point and a maximal subfamily of the laws whose
    gradients are independent there (see :func:`independent_gradients`)."""
    point = [rng.randrange(1, 2**bits) * rng.choice((-1, 1)) for _ in range(D)]
    p = family.random_prime(rng) if family is not None else linalg.random_prime(rng)
    return point, independent_gradients(laws, D, point, p, family)[0]
