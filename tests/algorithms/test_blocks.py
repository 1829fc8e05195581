"""The block decomposition of law systems (conslaw_flint.algorithms.blocks) against the plain
computation: every equation of the *full* coefficient system (reference.flint_full_system,
built without the solver's code) touches unknowns of one block only, on random maps and
fields and under renumberings of the variables; and the GF(2) labels are canonical."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
from hypothesis import given, note
from hypothesis import strategies as st
from reference import flint_full_system, model_specs, renumber

from conslaw_flint.algorithms.blocks import (
    _gf2_add,
    blocks_of,
    connected_blocks,
    gf2_reduce,
    gf2_reduced_basis,
    shift_structure,
    unknowns,
)
from conslaw_flint.algorithms.laws import count_unknowns
from conslaw_flint.models import build_model


def _monomial(combo: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    return tuple((v, len(list(g))) for v, g in itertools.groupby(combo))


def assert_block_diagonal(spec: str, degree: int, homogeneous: bool) -> None:
    m = build_model(spec)
    blocks = blocks_of(m.family, degree, homogeneous)
    where = {mono: b for b, block in enumerate(blocks) for mono in block}
    combos, rows = flint_full_system(m, degree, homogeneous)
    # every unknown in exactly one block
    assert sum(len(b) for b in blocks) == len(where) == len(combos), spec
    label = [where[_monomial(c)] for c in combos]
    # no equation joins two blocks: each connected component lies in one block
    for row in rows:
        assert len({label[j] for j in row}) == 1, (spec, row)
    for comp in connected_blocks(rows, len(combos)):
        assert len({label[j] for j in comp}) == 1, (spec, comp)


@given(model_specs(), st.sampled_from([(1, False), (2, False), (2, True), (3, True), (3, False)]),
       st.data())
def test_blocks_never_split_a_component(spec: str, degree: tuple[int, bool],
                                        data: st.DataObject) -> None:
    D = build_model(spec).D
    perm = data.draw(st.permutations(range(D)), label="renumbering")
    for s in (spec, renumber(spec, list(perm))):
        note(s)
        assert_block_diagonal(s, *degree)


@pytest.mark.parametrize("spec", ["relu-bias:2,2,2", "linear:2,2,2", "product:4",
                                  "fields:x2,-x1,0;x3,0,-x1", "poly:x1*x2 + x3^2;x1 - x2*x3"])
def test_blocks_of_standard_models(spec: str) -> None:
    for degree, hom in ((2, True), (3, False)):
        assert_block_diagonal(spec, degree, hom)


def test_blocks_split_relu_systems() -> None:
    # ReLU path liftings: one block of squares, every mixed monomial alone (shift parity)
    m = build_model("relu:2,2,2")
    blocks = blocks_of(m.family, 2, True)
    sizes = sorted(len(b) for b in blocks)
    assert sizes[-1] == m.D and sizes[:-1] == [1] * (len(blocks) - 1)
    assert sum(sizes) == count_unknowns(m.D, 2, True)
    assert sorted(len(b) for b in blocks_of(build_model("product:3").family, 2, True)) == \
        [1, 1, 1, 3]


def test_unknowns_enumeration() -> None:
    got = list(unknowns(2, 2, False))
    assert [m for m, _, _ in got] == [((0, 1),), ((1, 1),), ((0, 2),), ((0, 1), (1, 1)),
                                      ((1, 2),)]
    assert [deg for _, deg, _ in got] == [1, 1, 2, 2, 2]
    assert [bits for _, _, bits in got] == [1, 2, 0, 3, 0]
    assert len(list(unknowns(4, 3, True))) == count_unknowns(4, 3, True) == 20


@pytest.mark.parametrize("spec", ["poly:x1*x2 + x3^2 + x4*x5;x2*x5 - x1^3",
                                  "fields:x2,x3,x1,1;x4^2,0,x1*x2,x3", "random:6,2,2,3"])
def test_gf2_labels_are_canonical(spec: str) -> None:
    # the label of a parity vector is the same for every representative of its coset
    basis, _ = shift_structure(build_model(spec).family)
    assert basis
    rng = random.Random(0)
    vecs = list(basis.values())
    for _ in range(200):
        v = rng.getrandbits(build_model(spec).D)
        s = 0
        for b in vecs:
            if rng.random() < 0.5:
                s ^= b
        label = gf2_reduce(v, basis)
        assert gf2_reduce(v ^ s, basis) == label
        assert all(not (label >> top) & 1 for top in basis)  # no pivot bit set


def test_connected_blocks() -> None:
    rows = [{0: 1, 2: 3}, {3: 1}, {2: 1, 4: -1}]
    assert connected_blocks(rows, 6) == [[0, 2, 4], [1], [3], [5]]


@given(st.integers(1, 4), st.lists(st.lists(st.integers(0, 2**64 - 1), min_size=4, max_size=4),
                                   max_size=40), st.integers(0, 63))
def test_vectorised_gf2_basis_equals_incremental(W: int, raw: list[list[int]], shift: int) -> None:
    """The vectorised elimination gives the same reduced basis as adding the rows one by one
    (sparse rows too: the bits are thinned by a random shift of the first word)."""
    rows = np.array([r[:W] for r in raw], dtype=np.uint64).reshape(len(raw), W)
    if len(rows):
        rows[:, 0] >>= np.uint64(shift)
    plain: dict[int, int] = {}
    for r in rows:
        _gf2_add(int.from_bytes(r.astype("<u8").tobytes(), "little"), plain)
    assert gf2_reduced_basis(rows) == plain


@given(st.integers(0, 2**32), st.integers(1, 5), st.integers(1, 300), st.integers(1, 2**64 - 1))
def test_distinct_rows_keeps_every_distinct_row(seed: int, width: int, n: int,
                                                top: int) -> None:
    """blocks.distinct_rows (the dedupe before the GF(2) basis) equals np.unique(axis=0):
    the same distinct rows in the same order."""
    from conslaw_flint.algorithms.blocks import distinct_rows

    rng = np.random.default_rng(seed)
    a = rng.integers(0, min(top, 2**63 - 1), size=(n, width), dtype=np.int64).astype(np.uint64)
    a[n // 3:] = a[: n - n // 3]
    got = distinct_rows(a)
    want = np.unique(a, axis=0)
    assert got.shape == want.shape and (got == want).all()
