"""The block decomposition of a law system (a shortcut, with its proof).

Unknowns are the coefficients a_alpha of h = sum_alpha a_alpha theta^alpha.  The equation of
generator X_i and monomial beta is the coefficient of theta^beta in <grad h, X_i>; unknown
alpha enters it through the terms c mu of X_i's component k with alpha_k > 0, at
beta = alpha - e_k + mu = alpha + s with the *shift* s = mu - e_k.

**Invariant.**  Two unknowns alpha, alpha' share an equation only if alpha + s = alpha' + s'
for shifts s, s' of the same generator, i.e. alpha - alpha' = s' - s.  Reduce modulo 2: the
parity vector par(alpha) in GF(2)^D changes, along any chain of shared equations, by elements
of the GF(2)-span S of {par(s) + par(s') : s, s' shifts of one generator}.  So the class of
par(alpha) in GF(2)^D / S is constant on every connected component of the system.  If every
generator shifts degrees uniformly (all its shifts have one total degree), the total degree of
alpha is constant on components too.  Unknowns with different (degree, class) labels never
share an equation: the system is block diagonal, and its kernel is the direct sum of the
blocks' kernels.  Grouping by label may merge several components into one block, which is
always valid (a block is solved as a whole); it never splits one, which would lose laws.

**Canonical labels.**  The label must be a function of the class, not of the representative:
it is the unique element of the coset with no pivot bit of a reduced echelon basis of S
(:func:`gf2_reduce` clears every pivot, highest first).  An earlier version stopped at the
first highest bit that was not a pivot, so two unknowns of one component could get different
labels, and laws were lost under some numberings of the variables.
``tests/algorithms/test_blocks.py`` compares the blocks with the connected components of the
full system on random fields and renumberings.

For a ReLU path lifting every potential is one monomial, S = 0, and the blocks are: all
squares x_a^2 (parity 0) together, and every mixed monomial alone.

>>> from conslaw_flint.models import build_model
>>> [len(b) for b in blocks_of(build_model("product:3").family, 2, homogeneous=True)]
[3, 1, 1, 1]
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence

import numpy as np

from ..core import budget
from ..core.fields import FieldFamily
from ..core.polynomials import Monomial


def gf2_reduce(v: int, basis: dict[int, int], order: list[int] | None = None) -> int:
    """The canonical representative of v modulo the GF(2) span of ``basis`` (pivot bit ->
    vector whose highest set bit is that pivot): the unique element of the coset with no
    pivot bit set.  ``order``: the pivots, highest first (computed when omitted)."""
    for top in order if order is not None else sorted(basis, reverse=True):
        if (v >> top) & 1:
            v ^= basis[top]
    return v


def _gf2_add(v: int, basis: dict[int, int]) -> None:
    """Add v to the span, keeping the basis reduced (no pivot bit set in another vector)."""
    v = gf2_reduce(v, basis)
    if v:
        top = v.bit_length() - 1
        for k, b in list(basis.items()):
            if (b >> top) & 1:
                basis[k] = b ^ v
        basis[top] = v


def gf2_reduced_basis(rows: np.ndarray) -> dict[int, int]:
    """The reduced GF(2) basis (pivot bit -> vector, as :func:`_gf2_add` keeps it) of the
    span of ``rows``: bit vectors packed little-endian in uint64 words, shape (n, W).

    Vectorised Gaussian elimination, highest bit first: when bit b is reached no row has a
    higher bit left, so the first row holding b is a vector whose highest bit is b; every
    row holding b is reduced by it.  Back-substitution then clears each pivot bit from the
    vectors of the higher pivots, which gives the unique reduced basis of the span (the
    same as adding the rows one by one with :func:`_gf2_add`)."""
    M = np.ascontiguousarray(rows, dtype=np.uint64)
    M = M[M.any(axis=1)] if len(M) else M
    bits: list[int] = []
    vecs: list[np.ndarray] = []
    one = np.uint64(1)
    # only the bits set in some row can become pivots
    union = int.from_bytes(np.bitwise_or.reduce(M, axis=0).astype("<u8").tobytes(),
                           "little") if len(M) else 0
    for bit in sorted((b for b in range(union.bit_length()) if union >> b & 1), reverse=True):
        if not len(M):
            break
        w, o = divmod(bit, 64)
        hit = np.flatnonzero((M[:, w] >> np.uint64(o)) & one)
        if not len(hit):
            continue
        budget.tick()
        piv = M[hit[0]].copy()
        M[hit] ^= piv
        bits.append(bit)
        vecs.append(piv)
        if len(bits) % 8 == 0:
            M = M[M.any(axis=1)]
    if not bits:
        return {}
    B = np.array(vecs)
    for j, bit in enumerate(bits):
        w, o = divmod(bit, 64)
        hit = np.flatnonzero((B[:j, w] >> np.uint64(o)) & one)
        B[hit] ^= B[j]
    return {bit: int.from_bytes(B[j].astype("<u8").tobytes(), "little")
            for j, bit in enumerate(bits)}


def shift_structure(family: FieldFamily) -> tuple[dict[int, int], bool]:
    """(reduced GF(2) basis of S as pivot bit -> vector, every generator shifts degrees
    uniformly), from the compiled tables (vectorised: parities packed in uint64 words)."""
    if family.is_gradient:
        # shifts of grad phi's term beta (component k) are beta - 2 e_k: parity par(beta),
        # degree |beta| - 2; constant terms of phi have no gradient and no shift
        t = family.potential_table()
        keep = np.bincount(t.e_term, minlength=t.n_terms) > 0
        par = t.parities()
        deg = t.degrees()
    else:
        # shift of the term mu of component k: mu - e_k, parity par(mu) + e_k, degree |mu|-1
        t = family.term_table()
        keep = np.ones(t.n_terms, dtype=bool)
        par = t.parities(extra=t.t_comp)
        deg = t.degrees() - 1
    fld = t.t_field[keep]
    par, deg = par[keep], deg[keep]
    if len(fld) == 0:
        return {}, True
    order = np.argsort(fld, kind="stable")
    fld, par, deg = fld[order], par[order], deg[order]
    first = np.searchsorted(fld, fld)          # index of each field's first term
    uniform = bool((deg == deg[first]).all())
    diffs = par ^ par[first]
    diffs = diffs[diffs.any(axis=1)]
    basis = gf2_reduced_basis(distinct_rows(diffs)) if len(diffs) else {}
    return basis, uniform


def distinct_rows(a: np.ndarray) -> np.ndarray:
    """The distinct rows of the uint64 array ``a`` in lexicographic order: the result of
    ``np.unique(a, axis=0)``, 6x faster on the 1.7M parity rows of a deep linear net.  Rows
    are first thinned by sorting on a 64-bit hash of their words and dropping each row equal
    to the one before it (equal rows have equal hashes, so only copies are dropped; a few
    copies may stay), then the survivors are sorted lexicographically and adjacent copies
    dropped.  The GF(2) elimination that follows is twice as fast on sorted rows."""
    if len(a) <= 1:
        return a.copy()
    h = np.zeros(len(a), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for c in range(a.shape[1]):
            h = h * np.uint64(0x9E3779B97F4A7C15) + a[:, c]
            h ^= h >> np.uint64(29)
    srt = a[np.argsort(h, kind="stable")]
    keep = np.ones(len(srt), dtype=bool)
    keep[1:] = (srt[1:] != srt[:-1]).any(axis=1)
    srt = srt[keep]
    srt = srt[np.lexsort(srt.T[::-1])]
    keep = np.ones(len(srt), dtype=bool)
    keep[1:] = (srt[1:] != srt[:-1]).any(axis=1)
    return srt[keep]


class Unknowns:
    """The unknown monomials of a law search, as arrays: ``idx[j]`` lists the variables of
    monomial j with repetition, increasing, padded with D (so x1^2*x3 is [0, 0, 2, D, ...]);
    degrees 1..K (or exactly K) in increasing order, lexicographic inside a degree."""

    def __init__(self, D: int, degree: int, homogeneous: bool) -> None:
        self.D = D
        degs = [degree] if homogeneous else list(range(1, degree + 1))
        width = degree
        blocks, deg = [], []
        rows = np.arange(D, dtype=np.int32)[:, None]
        for k in range(1, degree + 1):
            if k > 1:
                # extend every sorted row by a variable >= its last one
                budget.tick()
                last = rows[:, -1].astype(np.int64)
                counts = D - last
                rep = np.repeat(np.arange(len(rows)), counts)
                new = (np.repeat(last, counts) + np.arange(int(counts.sum()))
                       - np.repeat(np.cumsum(counts) - counts, counts))
                rows = np.concatenate([rows[rep], new[:, None].astype(np.int32)], axis=1)
            if k in degs:
                pad = np.full((len(rows), width - k), D, dtype=np.int32)
                blocks.append(np.concatenate([rows, pad], axis=1))
                deg.append(np.full(len(rows), k, dtype=np.int64))
        self.idx = np.concatenate(blocks) if blocks else np.zeros((0, width), dtype=np.int32)
        self.deg = np.concatenate(deg) if deg else np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.deg)

    def monomial(self, j: int) -> Monomial:
        row = [int(v) for v in self.idx[j] if v < self.D]
        return tuple((v, len(list(g))) for v, g in itertools.groupby(row))

    def monomials(self, js: Sequence[int] | np.ndarray) -> list[Monomial]:
        return [self.monomial(int(j)) for j in js]

    def odd_variables(self) -> np.ndarray:
        """The variables of odd exponent of each monomial, increasing, padded with D (as
        uint64 so that they sort like parity words): the parity vector in sparse form."""
        idx = self.idx.astype(np.int64)
        n, K = idx.shape
        # a variable's exponent is odd iff its run of repeats in the sorted row is odd
        out = np.full((n, K), self.D, dtype=np.int64)
        run = np.ones(n, dtype=np.int64)
        cnt = np.zeros(n, dtype=np.int64)
        for c in range(K):
            v = idx[:, c]
            last = (c == K - 1) | np.ones(n, dtype=bool) if c == K - 1 else (idx[:, c + 1] != v)
            if c > 0:
                run = np.where(idx[:, c - 1] == v, run + 1, 1)
            odd = last & (run % 2 == 1) & (v < self.D)
            out[odd, cnt[odd]] = v[odd]
            cnt += odd
        return out.astype(np.uint64)

    def parities(self) -> np.ndarray:
        """Parity vectors of the monomials packed in uint64 words: (n, ceil((D + 1) / 64))."""
        words = (self.D + 64) // 64
        out = np.zeros((len(self), words), dtype=np.uint64)
        one = np.uint64(1)
        for c in range(self.idx.shape[1]):
            v = self.idx[:, c].astype(np.int64)
            bit = np.left_shift(one, (v % 64).astype(np.uint64))
            for w in range(words):
                out[:, w] ^= np.where((v // 64 == w) & (v < self.D), bit, np.uint64(0))
        return out


def block_structure(family: FieldFamily, unk: Unknowns) -> tuple[np.ndarray, np.ndarray]:
    """(unknowns grouped by block, block boundaries): block b is
    ``order[starts[b]:starts[b + 1]]``; blocks ordered by degree label, then by their first
    unknown; unknowns in enumeration order inside a block (see the module docstring)."""
    basis, uniform = shift_structure(family)
    if not basis:
        # no shift differences (monomial potentials: path liftings, products): the label is
        # the parity itself, kept sparse as the row of odd variables (at most K of them)
        par = unk.odd_variables()
    else:
        par = unk.parities()
    words = par.shape[1]
    for top in sorted(basis, reverse=True):
        budget.tick()
        vec = np.frombuffer(basis[top].to_bytes(8 * words, "little"), dtype="<u8")
        hit = ((par[:, top // 64] >> np.uint64(top % 64)) & np.uint64(1)).astype(bool)
        par[hit] ^= vec
    label = unk.deg if uniform else np.zeros(len(unk), dtype=np.int64)
    n = len(unk)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(1, dtype=np.int64)
    # group equal (label, parity) keys: a stable sort keeps enumeration order inside groups
    srt = np.lexsort((*[par[:, w] for w in range(words)], label))
    keys_s = np.concatenate([label[srt, None].astype(np.uint64), par[srt]], axis=1)
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = (keys_s[1:] != keys_s[:-1]).any(axis=1)
    gstart = np.flatnonzero(new_group)
    first = srt[gstart]                       # the first unknown of each group
    # blocks ordered by (degree label, first unknown)
    gorder = np.lexsort((first, label[first]))
    gsize = np.diff(np.append(gstart, n))
    order = np.concatenate([srt[gstart[g]:gstart[g] + gsize[g]] for g in gorder]) \
        if len(gorder) < 4096 else _gather_groups(srt, gstart, gsize, gorder)
    starts = np.concatenate([[0], np.cumsum(gsize[gorder])])
    return order, starts


def _gather_groups(srt: np.ndarray, gstart: np.ndarray, gsize: np.ndarray,
                   gorder: np.ndarray) -> np.ndarray:
    """srt's groups concatenated in the order gorder (vectorised)."""
    sizes = gsize[gorder]
    base = np.repeat(gstart[gorder], sizes)
    offs = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    return srt[base + offs]


def unknowns(D: int, degree: int, homogeneous: bool) -> Iterator[tuple[Monomial, int, int]]:
    """Unknown monomials (degree 1..K, or exactly K) with their degrees and parity bits
    (the plain enumeration, for tests)."""
    degs = [degree] if homogeneous else range(1, degree + 1)
    for deg in degs:
        for combo in itertools.combinations_with_replacement(range(D), deg):
            bits = 0
            for v in combo:
                bits ^= 1 << v
            yield tuple((v, len(list(g))) for v, g in itertools.groupby(combo)), deg, bits


def blocks_of(family: FieldFamily, degree: int, homogeneous: bool) -> list[list[Monomial]]:
    """Independent blocks of unknown monomials as lists of monomials (see the module
    docstring): blocks ordered by degree label, then by their first monomial in enumeration
    order (x1^2, x1*x2, ..., x2^2, ...), monomials in enumeration order."""
    unk = Unknowns(family.D, degree, homogeneous)
    order, starts = block_structure(family, unk)
    return [unk.monomials(order[starts[b]:starts[b + 1]]) for b in range(len(starts) - 1)]


def connected_blocks(rows: list[dict[int, int]], n: int) -> list[list[int]]:
    """The connected components of the unknowns 0..n-1 of a system given by its rows
    (unknowns sharing a row are connected): the plain computation the block decomposition
    is compared with in the tests."""
    parent = list(range(n))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for row in rows:
        cols = list(row)
        for c in cols[1:]:
            ra, rb = find(cols[0]), find(c)
            if ra != rb:
                parent[ra] = rb
    comps: dict[int, list[int]] = {}
    for j in range(n):
        comps.setdefault(find(j), []).append(j)
    return sorted(comps.values())


__all__ = ["Unknowns", "block_structure", "blocks_of", "connected_blocks", "distinct_rows",
           "gf2_reduce", "shift_structure", "unknowns"]

