"""Algorithm 1: polynomial laws.  Oracles cite their source."""

import random

import pytest
from reference import random_poly_spec, sympy_is_law, sympy_law_space_dim

from conslaw_flint.algorithms.laws import polynomial_laws
from conslaw_flint.core.polynomials import from_terms
from conslaw_flint.errors import TooLargeError
from conslaw_flint.io.parse import parse_polynomial
from conslaw_flint.models import build_model


def laws(spec: str, degree: int, homogeneous: bool = True, seed: int = 0):
    return polynomial_laws(build_model(spec), degree, homogeneous=homogeneous, seed=seed)


def test_product3_degree2() -> None:
    # design.md §5: phi = x1 x2 x3 has the laws x_i^2 - x_j^2 (a 2-dimensional span)
    r = laws("product:3", 2)
    assert len(r.basis) == 2 and len(r.independent) == 2
    span = {str(h) for h in r.basis}
    assert span == {"x1^2 - x2^2", "x1^2 - x3^2"}
    assert all(h.context() is r.model.ring for h in r.basis)


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
    from conslaw_flint.core import linalg

    m = build_model("linear:3,2,2")
    r = polynomial_laws(m, 2, homogeneous=True)
    n0, n1, n2 = 3, 2, 2
    # the laws print in the network's names: W1[i,j] is x{(i-1)*n1 + j}, W2 after W1
    W1 = [[f"W1[{i + 1},{j + 1}]" for j in range(n1)] for i in range(n0)]
    W2 = [[f"W2[{i + 1},{j + 1}]" for j in range(n2)] for i in range(n1)]
    assert list(m.names) == [w for row in W1 for w in row] + [w for row in W2 for w in row]
    X1 = [[f"x{i * n1 + j + 1}" for j in range(n1)] for i in range(n0)]
    X2 = [[f"x{n0 * n1 + i * n2 + j + 1}" for j in range(n2)] for i in range(n1)]
    expected = []
    for a in range(n1):
        for b in range(a, n1):
            s = " + ".join(f"{X1[i][a]}*{X1[i][b]}" for i in range(n0))
            t = " - ".join(f"{X2[a][j]}*{X2[b][j]}" for j in range(n2))
            # read in x1..xD, moved to the model's ring (same variables, network names)
            expected.append(m.ring.from_dict(parse_polynomial(f"{s} - {t}", nvars=m.D)
                                             .to_dict()))
    assert str(expected[0]).startswith("W1[1,1]^2 + W1[2,1]^2 + W1[3,1]^2 - W2[1,1]^2")
    dicts = [h.to_dict() for h in expected + r.basis]
    monos = sorted({mm for h in dicts for mm in h})
    p = 33554393

    def row(h):
        return [int(h.get(mm, 0)) % p for mm in monos]

    import numpy as np

    both = np.array([row(h) for h in dicts])
    assert len(r.basis) == len(expected) == linalg.rank_mod(both, p)


def test_non_homogeneous_maps() -> None:
    # phi = (x1 + x2)^2 + x1 + x2: grad phi is parallel to (1, 1), laws are functions of
    # x1 - x2 (hand computation); the degrees of phi's monomials differ
    r = laws("poly:(x1 + x2)^2 + x1 + x2", 2, homogeneous=False)
    assert {str(h) for h in r.basis} == {"x1 - x2", str(parse_polynomial("(x1 - x2)^2"))}
    assert len(r.independent) == 1
    # field (1, 2 x1): h = x2 - x1^2 and its powers
    r = laws("fields:1,2*x1", 4, homogeneous=False)
    assert len(r.basis) == 2 and len(r.independent) == 1
    assert str(r.basis[0]) == "x1^2 - x2"
    # phi = x1 + x2^2: the law x2 exp(-x1/2) is not polynomial, so none is found
    assert laws("poly:x1 + x2^2", 4, homogeneous=False).basis == []


def test_general_fields_first_integrals() -> None:
    # rotation field (x2, -x1, 0): first integrals x1^2 + x2^2 and x3 (degree <= 2)
    r = laws("fields:x2,-x1,0", 2, homogeneous=False)
    names = {str(h) for h in r.basis}
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
    assert [str(h) for h in a.basis] == [str(h) for h in c.basis]


def test_sparse_form_and_report() -> None:
    # the internal dicts are the same laws as the FLINT basis, in the same order
    r = laws("relu-bias:2,2,2", 2)
    assert len(r.sparse) == len(r.basis)
    assert [from_terms(r.model.ring, h.items()) for h in r.sparse] == r.basis
    # network laws print in the network's names by default, in x1..xD on request
    assert "W1[1,1]^2" in r.text() and "x1^2" in r.text(index_names=True)
    d = r.to_dict()
    assert d["variables"] == list(r.model.names) and d["basis"] == [str(h) for h in r.basis]
    assert r.to_dict(index_names=True)["variables"][:2] == ["x1", "x2"]
    assert repr(r).startswith("<LawResult relu-bias:2,2,2: ")
    assert r.independent_laws == [r.basis[i] for i in r.independent]


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


def test_time_budget_stops_the_solver() -> None:
    # time limits come from the active budget (core.budget), not from an argument
    import time

    from conslaw_flint.core.budget import Budget
    from conslaw_flint.errors import TimeUp

    with Budget(time_limit=1e-9).active():
        time.sleep(0.01)
        with pytest.raises(TimeUp, match="time limit reached during polynomial laws"):
            polynomial_laws(build_model("linear:2,3,2"), 2)
    assert len(laws("linear:2,3,2", 2).basis) == 6  # no budget active any more
