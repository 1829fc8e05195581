"""Every shortcut against the plain computation (issue 9; docs/shortcuts.md lists the
invariant each one rests on).

The block decomposition, the sampled law systems and the exact fallback are compared with
the full coefficient system in ``test_laws_full_system.py`` and ``test_blocks.py``; this file
covers the others: vectorised ranks and echelon bases, compiled evaluation, pruned brackets,
frames, the closure's cap, the independence search's stop, the law checker's restriction to
the touched components and the involutivity check's skipped targets.
"""

from __future__ import annotations

import math
import random

import flint
import numpy as np
import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from conslaw_flint.algorithms.certify import count_laws, involutive_certificate
from conslaw_flint.algorithms.checks import LawChecker
from conslaw_flint.algorithms.laws import independent_gradients, polynomial_laws
from conslaw_flint.algorithms.lie import lie_closure
from conslaw_flint.core import linalg
from conslaw_flint.core.tables import ModTable, TermTable, gradient_values_coo
from conslaw_flint.models import build_model

P = 1_000_003  # small prime: rank deficiency mod p happens often enough to be tested

SPECS = [
    "linear:2,3,2", "relu:2,2,3", "relu-bias:2,3,2", "product:4", "poly:x1^2*x2 + x3;x2*x3^2",
    "fields:x2,-x1,0;x3,0,-x1", "fields:1,x2,0,0;0,0,1,x4", "random:4,2,2,3", "random:3,3,2,1",
    "poly:x1*x2 + x3*x4 + x1*x2*x3*x4", "fields:x1*x2,x2^2,x3;x3,x1,x2^2",
]


@st.composite
def stacks(draw: st.DrawFn) -> np.ndarray:
    k, r, n = draw(st.integers(1, 6)), draw(st.integers(1, 8)), draw(st.integers(1, 6))
    vals = draw(st.lists(st.integers(0, 3), min_size=k * r * n, max_size=k * r * n))
    return np.array(vals, dtype=np.int64).reshape(k, r, n)


@given(stacks())
def test_full_column_rank_batch_equals_flint_rank(S: np.ndarray) -> None:
    """The vectorised elimination of the small blocks says 'full column rank' exactly when
    FLINT's rank modulo p does."""
    got = linalg.full_column_rank_batch(S, 5)
    for i in range(S.shape[0]):
        assert bool(got[i]) == (linalg.rank_mod(S[i], 5) == S.shape[2])


@given(st.integers(1, 12), st.integers(1, 9), st.integers(0, 2**32), st.integers(1, 4))
def test_echelon_batches_equal_one_rank(n: int, cols: int, seed: int, chunks: int) -> None:
    """Adding rows in batches (one FLINT rref each) gives the rank of all rows at once, flags
    exactly the rows that raise the rank in order, and a reduced basis whose pivot columns
    carry a non-zero minor of the accepted rows."""
    rng = np.random.default_rng(seed)
    A = rng.integers(0, 3, size=(n, cols)) * rng.integers(0, 2, size=(n, 1))
    ech = linalg.Echelon(cols, 7)
    flags: list[bool] = []
    for part in np.array_split(A, chunks):
        if len(part):
            flags += ech.add_batch(part)
    assert ech.rank == linalg.rank_mod(A, 7)
    for i in range(n):
        assert flags[i] == (linalg.rank_mod(A[:i + 1], 7) > linalg.rank_mod(A[:i], 7)
                            if i else bool(A[0].any() % 7))
    chosen = A[[i for i in range(n) if flags[i]]]
    if len(chosen):
        minor = chosen[:, ech.pivots] % 7
        assert linalg.rank_mod(minor, 7) == len(chosen)


@pytest.mark.parametrize("spec", SPECS)
def test_compiled_values_equal_flint_evaluation(spec: str) -> None:
    """Values of the generators at a point modulo p from the compiled tables (distinct
    monomials, batches, gradients from the potentials) equal FLINT's own evaluation."""
    m = build_model(spec)
    rng = np.random.default_rng(1)
    X = rng.integers(1, P, size=(3, m.D))
    table = m.family.mod_table(P)
    batch = table.values_batch(X)
    for r in range(3):
        dense = table.values_dense(X[r])
        R = flint.nmod_mpoly_ctx.get(list(m.ring.names()), P, ordering="deglex")
        want = np.zeros((m.d, m.D), dtype=np.int64)
        for i, f in enumerate(m.fields):
            for k, c in f.items():
                q = R.from_dict({e: int(v.p) * pow(int(v.q), -1, P) % P
                                 for e, v in c.to_dict().items()})
                want[i, k] = int(q(*[int(t) for t in X[r]]))
        assert (dense == want).all(), spec
        assert (batch[r] == want).all(), spec
        if m.is_gradient:
            f_, c_, v_ = gradient_values_coo(m.family.potential_table(), X[r], P)
            got = np.zeros_like(want)
            got[f_, c_] = v_
            assert (got == want).all(), spec
    # the plain term-by-term evaluation of the field table, without the shortcuts
    plain = ModTable(TermTable.from_fields(m.fields, m.D), P)
    plain.UNIQUE_LIMIT = -1
    assert (plain.values_dense(X[0]) == table.values_dense(X[0])).all()


@pytest.mark.parametrize("spec", SPECS)
def test_pruned_closure_equals_unpruned(spec: str) -> None:
    """Skipping structurally zero brackets (disjoint supports) changes no rank."""
    m = build_model(spec)
    a = lie_closure(m.family, seed=3, max_level=5)
    b = lie_closure(m.family, seed=3, max_level=5, prune=False)
    assert a.level_ranks == b.level_ranks, spec


@pytest.mark.parametrize("spec", SPECS)
def test_cap_is_consistent_with_the_full_closure(spec: str) -> None:
    """The count stops its closure at D - (proven laws); the uncapped closure at the same
    point and prime never goes beyond that cap (m independent laws bound the Lie rank by
    D - m everywhere), and its rank gives the same certified count."""
    m = build_model(spec)
    res = count_laws(m, degree=3)
    full = lie_closure(m.family, prime=res.lie.prime, point=res.lie.point, max_level=8)
    assert full.rank <= m.D - len(res.laws)
    if res.certified and res.method == "laws":
        assert full.rank == res.lie.rank


@pytest.mark.parametrize("spec", SPECS)
def test_independence_stop_changes_nothing(spec: str) -> None:
    """The independence search stops at D - rank(J^T J); searching on (family=None, no stop)
    selects the same laws."""
    m = build_model(spec)
    res = polynomial_laws(m, 2)
    rng = random.Random(5)
    point = [rng.randrange(1, 2**30) for _ in range(m.D)]
    p = m.family.random_prime(rng)
    a = independent_gradients(res.sparse, m.D, point, p, m.family)[0]
    b = independent_gradients(res.sparse, m.D, point, p, None)[0]
    assert a == b, spec


@given(st.sampled_from(SPECS), st.integers(0, 2**16))
def test_law_checker_equals_flint_identities(spec: str, seed: int) -> None:
    """The compiled checker (restricted to the components a law touches, from the
    potentials for maps) agrees with the identity <grad h, X_i> == 0 computed by FLINT, on
    laws and on random non-laws."""
    m = build_model(spec)
    g = m.gens()
    rng = random.Random(seed)
    cands = list(polynomial_laws(m, 2, seed=seed).basis)
    for _ in range(3):
        h = m.ring.constant(0)
        for _ in range(rng.randint(1, 3)):
            h += rng.choice([-2, -1, 1, 3]) * g[rng.randrange(m.D)] * g[rng.randrange(m.D)]
        cands.append(h)
    if cands:
        h = cands[0] + cands[-1]
        cands.append(h)
    got = LawChecker(m.family).check_many(cands)
    for h, ok in zip(cands, got, strict=True):
        want = all(sum((h.derivative(k) * c for k, c in X.items()), m.ring.constant(0)).is_zero()
                   for X in m.fields)
        note(str(h))
        assert ok == want, (spec, str(h))


@pytest.mark.parametrize("spec", ["fields:1,x2,0,0;0,0,1,x4", "fields:x2,-x1,0",
                                  "product:3", "fields:1,x2,0;0,0,1"])
def test_involutive_check_skipping_frame_generators(spec: str) -> None:
    """Generators that are frame fields themselves are trivially in the span of the frame
    and are not re-checked; the full check (every generator) agrees."""
    m = build_model(spec)
    lie = lie_closure(m.family, seed=0)
    a = involutive_certificate(m.family, lie.words, lie.pivots)
    b = involutive_certificate(m.family, lie.words, lie.pivots, skip_frame=False)
    assert a == b, spec


# ---- the shortcuts of networks at scale: Gram frame, gated combinations, restrictions ----

NETS = ["relu:2,3,2", "relu:3,2,2,2", "relu-bias:2,3,2", "linear:2,3,2", "linear:2,2,2,2",
        "relu-bias:2,2,3,2"]


@given(st.sampled_from(NETS + SPECS), st.integers(0, 2**16))
def test_gram_matrix_equals_jt_j(spec: str, seed: int) -> None:
    """The accumulated Gram matrix is J^T J modulo p, J the generator values (plain)."""
    m = build_model(spec)
    rng = np.random.default_rng(seed)
    x = rng.integers(1, P, size=m.D)
    table = m.family.mod_table(P)
    J = table.values_dense(x)
    assert (table.gram_matrix(x) == linalg.matmul_mod(J.T.copy(), J, P)).all()


@given(st.sampled_from(NETS + SPECS + ["random:2,6,2,1", "poly:x1^2;x1*x2;x2^2;x1^3;x2^3"]),
       st.integers(0, 2**16))
def test_gram_frame_equals_plain_closure(spec: str, seed: int) -> None:
    """Level 1 from the Gram matrix (forced on) and from the generator values (forced off)
    give the same rank at every level, at the same point and prime: Gram words are elements
    of V whose values span the same space, and their brackets generate the same closure."""
    import conslaw_flint.algorithms.lie as lie_mod

    m = build_model(spec)
    original = lie_mod.use_gram_frame
    try:
        lie_mod.use_gram_frame = lambda d, D: True
        a = lie_closure(m.family, seed=seed, max_level=5)
        lie_mod.use_gram_frame = lambda d, D: False
        b = lie_closure(m.family, seed=seed, max_level=5, prime=a.prime, point=a.point)
    finally:
        lie_mod.use_gram_frame = original
    note(f"{a.level_ranks} {b.level_ranks}")
    assert a.level_ranks == b.level_ranks, spec
    assert any(isinstance(w, tuple) and w[0] == "gram" for w in a.words) or a.rank == 0


@pytest.mark.parametrize("spec", NETS + ["relu:2,4,3,2", "relu-bias:3,2,2,3"])
def test_gated_gradients_lie_in_v_and_span_it(spec: str) -> None:
    """A gated combination's gradient is the value of an element of V (adding it to the
    generator values never raises their rank), and enough of them span the same space as
    the generators (Schwartz-Zippel; a fresh seed per model)."""
    m = build_model(spec)
    structure = m.family.structure
    rng = np.random.default_rng(7)
    x = rng.integers(1, P, size=m.D)
    J = m.family.mod_table(P).values_dense(x)
    G = structure.gated_gradients(x, 2 * m.D, rng, P)
    r = linalg.rank_mod(J, P)
    assert linalg.rank_mod(np.vstack([J, G]), P) == r, spec
    assert linalg.rank_mod(G, P) == r, spec


def laws_and_non_laws(m, seed: int, n: int) -> tuple[list, random.Random]:  # noqa: ANN001
    """Candidates for the law checks: the degree-2 law basis, the first n laws perturbed by a
    random quadratic monomial (non-laws, mostly), and g1^2 - gD^2; and the random generator
    (for more candidates)."""
    g = m.gens()
    rng = random.Random(seed)
    cands = list(polynomial_laws(m, 2, seed=seed).basis)
    for h in list(cands[:n]):
        cands.append(h + rng.choice([-1, 1, 2]) * g[rng.randrange(m.D)] * g[rng.randrange(m.D)])
    cands.append(g[0] ** 2 - g[m.D - 1] ** 2)
    return cands, rng


@given(st.sampled_from(["relu:2,3,2", "relu:3,3,3", "relu-bias:2,3,2", "product:4",
                        "relu:2,2,2,2"]), st.integers(0, 2**16))
def test_restricted_check_equals_full_check(spec: str, seed: int) -> None:
    """For monomial potentials, checking a candidate against the distinct restrictions of
    the paths to its variables agrees with the full vectorised check, on laws and on
    perturbed non-laws."""
    m = build_model(spec)
    cands, _ = laws_and_non_laws(m, seed, 3)
    full = LawChecker(m.family)
    full.restrict_above = 1 << 62
    for h in cands:
        assert full.check_restricted(h) == full.check_many([h])[0], (spec, str(h))


@pytest.mark.parametrize("spec", ["linear:2,3,2", "relu-bias:2,3,2", "random:3,3,2,1",
                                  "fields:x2,-x1,x3^2;x3,x1*x2,1"])
def test_passes_split_by_size_change_nothing(spec: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The law check split into passes of CHECK_ROWS rows, and the batched values split into
    passes of BATCH_ELEMENTS elements, give the results of one pass (exact splits: laws are
    checked independently, points are evaluated independently)."""
    import conslaw_flint.algorithms.checks as checks_mod
    import conslaw_flint.core.tables as tables_mod

    m = build_model(spec)
    g = m.gens()
    cands = list(polynomial_laws(m, 2).basis) + [g[0] ** 2, g[0] * g[-1] - g[1] ** 2]
    whole = LawChecker(m.family).check_many(cands)
    rng = np.random.default_rng(0)
    X = rng.integers(1, P, size=(7, m.D))
    ref = m.family.mod_table(P).values_batch(X)
    monkeypatch.setattr(checks_mod, "CHECK_ROWS", 3)
    monkeypatch.setattr(tables_mod, "BATCH_ELEMENTS", 5)
    assert LawChecker(m.family).check_many(cands) == whole
    got = (tables_mod._gradient_values_batch(m.family.potential_table(), X, P)
           if m.family.is_gradient
           else ModTable(TermTable.from_fields(m.fields, m.D), P).values_batch(X))
    assert (got == ref).all()


@given(st.sampled_from(["linear:2,3,2", "linear:2,2,2,2", "linear:3,2,3", "relu-bias:2,3,2",
                        "poly:x1*x2 + x3*x4;x2*x3 + x1^2*x4", "poly:x1*x2*x3 + 2*x4*x5*x6",
                        "poly:x1^2*x2 - x3*x4^2 + x5;x1*x5 + x2*x3", "linear:2,3,3,2"]),
       st.integers(0, 2**16), st.integers(1, 12))
def test_grouped_check_equals_plain_check(spec: str, seed: int, width: int) -> None:
    """The check against the decomposition phi_i = sum_u x^u q_(i,u)(x_S) (laws grouped by
    their variables, any group width) agrees with the plain vectorised check, on laws and on
    perturbed non-laws."""
    m = build_model(spec)
    cands, rng = laws_and_non_laws(m, seed, 4)
    g = m.gens()
    cands.append(g[rng.randrange(m.D)] * g[rng.randrange(m.D)])
    checker = LawChecker(m.family)
    plain = checker.check_many(cands, grouped=False)
    assert checker.check_grouped(cands, width=width) == plain, spec


@given(st.sampled_from(["linear:2,3,2", "linear:2,2,2,2", "poly:x1*x2 + 3*x3*x4;x1*x3 - 2*x2*x4",
                        "poly:x1*x2*x3 - 5*x1*x4*x5 + x2^2*x6;x1^3 + 2*x1*x2*x5",
                        "relu-bias:2,3,2"]),
       st.integers(0, 2**16))
def test_restricted_family_is_the_decomposition(spec: str, seed: int) -> None:
    """The distinct q_(i,u) equal the plain decomposition of each FLINT potential: terms
    grouped by their exponents outside S (integer coefficients, scaled per generator as the
    checker does), summed inside S."""
    m = build_model(spec)
    rng = random.Random(seed)
    S = sorted(rng.sample(range(m.D), rng.randint(1, m.D)))
    checker = LawChecker(m.family)
    fam = checker.restricted_family(S)
    R = m.ring
    got = {str(q) for q in fam.potentials} if fam.d else set()
    want = set()
    for phi in m.family.potentials:
        den = math.lcm(*(int(c.q) for c in phi.to_dict().values()))
        groups: dict[tuple[int, ...], dict[tuple[int, ...], int]] = {}
        for e, c in phi.to_dict().items():
            if not any(e[k] for k in S):
                continue
            outside = tuple(0 if k in S else e[k] for k in range(m.D))
            inside = tuple(e[k] if k in S else 0 for k in range(m.D))
            groups.setdefault(outside, {})[inside] = int(c * den)
        want |= {str(R.from_dict(q)) for q in groups.values()}
    assert got == want, (spec, S)


@given(st.sampled_from(["linear:2,3,2", "relu-bias:2,3,2", "product:4", "relu:2,2,2,2",
                        "poly:x1^3*x2 - 2*x3*x4^2 + x5;x1*x5^2 + x2*x3*x4",
                        "poly:x1/2*x2^2 + x3^4"]),
       st.integers(0, 2**16))
def test_hessians_from_potentials_equal_gradient_table(spec: str, seed: int) -> None:
    """Jacobians and Jacobian-vector products of gradient fields computed from the
    potentials' table (Hessians by entry pairs) equal those of the gradient fields' own
    table (the plain first-derivative computation)."""
    m = build_model(spec)
    assert m.family.is_gradient
    rng = np.random.default_rng(seed)
    x = rng.integers(1, P, size=m.D)
    v = rng.integers(0, P, size=m.D)
    fields = rng.integers(0, m.family.d, size=rng.integers(1, 6))
    fast = ModTable(m.family.term_table, P, m.family.potential_table())
    plain = ModTable(m.family.term_table(), P)
    assert (fast.jacobians(x, fields) == plain.jacobians(x, fields)).all()
    assert (fast.jvps(x, fields, v) == plain.jvps(x, fields, v)).all()


@given(st.integers(0, 2**32), st.integers(1, 9), st.integers(1, 400),
       st.sampled_from([3, 1000, 2**40]))
def test_row_ids_packed_equals_lexsort(seed: int, width: int, n: int, spread: int) -> None:
    """checks._row_ids packs the columns into one int64 key when their ranges fit in 62 bits
    (else it sorts lexicographically): the ids and representatives equal those of the plain
    lexicographic sort, with many repeated rows and ranges that force either path."""
    from conslaw_flint.algorithms.checks import _row_ids

    rng = np.random.default_rng(seed)
    rows = rng.integers(-1, spread, size=(n, width))
    rows[n // 2:] = rows[: n - n // 2]
    o = np.lexsort(rows.T[::-1])
    srt = rows[o]
    new = np.ones(n, dtype=bool)
    new[1:] = (srt[1:] != srt[:-1]).any(axis=1)
    ids = np.empty(n, dtype=np.int64)
    ids[o] = np.cumsum(new) - 1
    got_ids, got_first = _row_ids(rows)
    assert got_ids.tolist() == ids.tolist()
    assert got_first.tolist() == o[new].tolist()
