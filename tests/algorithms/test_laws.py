"""Algorithm 1: polynomial laws.  Oracles cite their source."""

import random

import pytest
from reference import random_poly_spec, sympy_is_law, sympy_law_space_dim

from conslaw_flint.laws import (
    TooLargeError,
    blocks_of,
    count_unknowns,
    polynomial_laws,
)
from conslaw_flint.models import build_model
from conslaw_flint.parse import format_polynomial, parse_polynomial


def laws(spec: str, degree: int, homogeneous: bool = True, seed: int = 0):
    return polynomial_laws(build_model(spec), degree, homogeneous=homogeneous, seed=seed)


def test_product3_degree2() -> None:
    # design.md §5: phi = x1 x2 x3 has the laws x_i^2 - x_j^2 (a 2-dimensional span)
    r = laws("product:3", 2)
    assert len(r.basis) == 2 and len(r.independent) == 2
    span = {format_polynomial(h) for h in r.basis}
    assert span == {"x1^2 - x2^2", "x1^2 - x3^2"}


def test_product3_degree4() -> None:
    # hand computation: degree-4 laws are quadratic forms in (x1^2 - x2^2, x1^2 - x3^2):
    # 3 of them, functionally dependent on the 2 independent degree-2 laws (issue 2)
    r = laws("product:3", 4)
    assert (len(r.basis), len(r.independent)) == (3, 2)
    r = laws("product:3", 4, homogeneous=False)
    assert (len(r.basis), len(r.independent)) == (5, 2)


@pytest.mark.parametrize("spec,count", [
    ("linear:3,4,2", 10),    # reference notebooks, degree 2; = 3*4... W^T W - W W^T entries
    ("linear:2,3,4,3", 16),  # 6 + 10 entries of the two hidden symmetric matrices
    ("relu:3,4,2", 4),       # one law per hidden neuron
    ("relu:2,3,4,3", 7),     # 3 + 4 hidden neurons
])
def test_reference_degree2_results(spec: str, count: int) -> None:
    r = laws(spec, 2)
    assert len(r.basis) == count
    assert len(r.independent) == count  # each family fully independent


def test_two_layer_linear_laws_are_the_gram_difference() -> None:
    # design.md §5: the laws of U V^T are spanned by the entries of W1^T W1 - W2 W2^T
    from conslaw_flint import linalg

    m = build_model("linear:3,2,2")
    r = polynomial_laws(m, 2, homogeneous=True)
    n0, n1, n2 = 3, 2, 2
    W1 = [[f"x{i * n1 + j + 1}" for j in range(n1)] for i in range(n0)]
    W2 = [[f"x{n0 * n1 + i * n2 + j + 1}" for j in range(n2)] for i in range(n1)]
    expected = []
    for a in range(n1):
        for b in range(a, n1):
            s = " + ".join(f"{W1[i][a]}*{W1[i][b]}" for i in range(n0))
            t = " - ".join(f"{W2[a][j]}*{W2[b][j]}" for j in range(n2))
            expected.append(parse_polynomial(f"{s} - {t}"))
    monos = sorted({mm for h in expected + r.basis for mm in h})
    p = 33554393

    def row(h):
        return [int(h.get(mm, 0)) % p for mm in monos]

    import numpy as np

    both = np.array([row(h) for h in expected + r.basis])
    assert len(r.basis) == len(expected) == linalg.rank_mod(both, p)


def test_non_homogeneous_maps() -> None:
    # phi = (x1 + x2)^2 + x1 + x2: grad phi is parallel to (1, 1), laws are functions of
    # x1 - x2 (hand computation); the degrees of phi's monomials differ
    r = laws("poly:(x1 + x2)^2 + x1 + x2", 2, homogeneous=False)
    assert {format_polynomial(h) for h in r.basis} == {
        "x1 - x2", format_polynomial(parse_polynomial("(x1 - x2)^2"))}
    assert len(r.independent) == 1
    # field (1, 2 x1): h = x2 - x1^2 and its powers
    r = laws("fields:1,2*x1", 4, homogeneous=False)
    assert len(r.basis) == 2 and len(r.independent) == 1
    assert format_polynomial(r.basis[0]) == "x1^2 - x2"
    # phi = x1 + x2^2: the law x2 exp(-x1/2) is not polynomial, so none is found
    assert laws("poly:x1 + x2^2", 4, homogeneous=False).basis == []


def test_general_fields_first_integrals() -> None:
    # rotation field (x2, -x1, 0): first integrals x1^2 + x2^2 and x3 (degree <= 2)
    r = laws("fields:x2,-x1,0", 2, homogeneous=False)
    names = {format_polynomial(h) for h in r.basis}
    assert names == {"x3", "x3^2", "x1^2 + x2^2"}
    assert len(r.independent) == 2


@pytest.mark.parametrize("seed", range(6))
def test_random_maps_match_independent_sympy_system(seed: int) -> None:
    # the full coefficient system, built and ranked by sympy, has the same kernel dimension
    rng = random.Random(seed)
    spec = random_poly_spec(rng, 3, rng.randint(1, 2), 2)
    m = build_model(spec)
    for degree, hom in ((2, True), (3, False)):
        r = polynomial_laws(m, degree, homogeneous=hom, seed=seed)
        assert len(r.basis) == sympy_law_space_dim(m, degree, hom), spec
        assert all(sympy_is_law(h, m) for h in r.basis)


def test_every_law_verifies_independently() -> None:
    m = build_model("relu-bias:2,2,2")
    r = polynomial_laws(m, 2, homogeneous=False)
    assert r.basis and all(sympy_is_law(h, m) for h in r.basis)


def test_same_seed_same_output_different_seed_same_space() -> None:
    a = laws("linear:2,3,2", 2, seed=1)
    b = laws("linear:2,3,2", 2, seed=1)
    c = laws("linear:2,3,2", 2, seed=2)
    assert a.basis == b.basis and a.primes == b.primes
    assert a.basis == c.basis  # the reduced basis over Q does not depend on the samples


def test_blocks_split_relu_systems() -> None:
    # ReLU path liftings: one block of squares, every mixed monomial alone (shift parity)
    m = build_model("relu:2,2,2")
    blocks = blocks_of(m.family, 2, True)
    sizes = sorted(len(b) for b in blocks)
    assert sizes[-1] == m.D and sizes[:-1] == [1] * (len(blocks) - 1)
    assert sum(sizes) == count_unknowns(m.D, 2, True)


def test_unknown_guard() -> None:
    with pytest.raises(TooLargeError, match="unknown coefficients"):
        polynomial_laws(build_model("product:60"), 6, max_unknowns=1000)


@pytest.mark.parametrize("spec", ["linear:4,2,5,4,5", "linear:2,3,5,2,5"])
def test_low_rank_samples_do_not_poison_the_lift(spec: str) -> None:
    # regression (bench linear50): width-2 bottlenecks give few independent rows per point;
    # residues from an undersampled first prime must not block the Chinese remaindering
    m = build_model(spec)
    r = polynomial_laws(m, 2, homogeneous=True, seed=0)
    assert len(r.independent) == len(r.basis) > 0
