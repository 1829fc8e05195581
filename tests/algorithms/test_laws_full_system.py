"""The law solver's shortcuts against the plain computation (issue 9).

The solver splits the unknowns into blocks, samples rows modulo random primes and lifts
kernels by rational reconstruction (docs/index.md, "Why the shortcuts are valid";
conslaw_flint/algorithms/laws.py).  Here the
*full* coefficient system of all unknowns -- no blocks, no sampling, no primes -- is ranked
exactly over Q by FLINT (``reference.flint_law_space_dim``) and the dimensions must agree, on
random maps and random general fields with rational coefficients, under random renumberings
of the variables.  Every basis element is also a law (verified exactly by the solver and by
SymPy), so equal dimensions mean equal spaces.
"""

from __future__ import annotations

import pytest
from hypothesis import given, note
from hypothesis import strategies as st
from reference import flint_law_space_dim, model_specs, renumber, sympy_is_law

from conslaw_flint.algorithms import laws
from conslaw_flint.algorithms.blocks import blocks_of
from conslaw_flint.algorithms.laws import exact_block_laws, polynomial_laws
from conslaw_flint.core.polynomials import from_terms
from conslaw_flint.models import build_model


@given(model_specs(), st.sampled_from([(1, False), (2, False), (2, True), (3, True), (3, False)]),
       st.data())
def test_law_basis_equals_full_nullspace(spec: str, degree: tuple[int, bool],
                                         data: st.DataObject) -> None:
    model = build_model(spec)
    perm = data.draw(st.permutations(range(model.D)), label="renumbering")
    k, hom = degree
    for s in (spec, renumber(spec, list(perm))):
        note(s)
        m = build_model(s)
        res = polynomial_laws(m, k, homogeneous=hom, seed=data.draw(st.integers(0, 99)))
        assert len(res.basis) == flint_law_space_dim(m, k, hom), (s, k, hom)
        for h in res.basis[:3]:
            assert sympy_is_law(h, m), (s, h)


@pytest.mark.parametrize("spec,degree,hom,want", [
    # the counterexamples of issue 9 (true values from the full exact nullspace)
    ("fields:-x1,x1,0", 2, False, 5),
    ("linear:2,3,1", 3, True, 1),
    ("poly[4]:x1+x2", 4, True, 15),
    ("poly[12]:x1*x7+x11*x5+x3*x9;x1*x8+x10*x3+x12*x5;x11*x6+x2*x7+x4*x9;"
     "x10*x4+x12*x6+x2*x8", 2, False, 6),
])
def test_issue9_counterexamples(spec: str, degree: int, hom: bool, want: int) -> None:
    m = build_model(spec)
    assert flint_law_space_dim(m, degree, hom) == want
    assert len(polynomial_laws(m, degree, homogeneous=hom).basis) == want


@given(model_specs(), st.integers(1, 3))
def test_exact_fallback_equals_modular_route(spec: str, k: int) -> None:
    """The exact solve over Z (used when the modular lift does not settle) returns the very
    same basis as the modular route (the same reduced form), block by block."""
    m = build_model(spec)
    res = polynomial_laws(m, k, seed=0)
    modular = res.sparse
    assert [from_terms(m.ring, h.items()) for h in modular] == res.basis
    exact = [h for block in blocks_of(m.family, k, False)
             for h in exact_block_laws(block, m.family)]
    key = lambda h: sorted(h.items())  # noqa: E731
    assert sorted(map(key, modular)) == sorted(map(key, exact)), spec


def test_high_coefficients_and_denominators() -> None:
    """Coefficients above what the default primes can reconstruct switch to the exact solve;
    a denominator equal to the seed's first prime is avoided (issue 9)."""
    res = polynomial_laws(build_model("fields:1e60*x2,-x1"), 2)
    assert len(res.basis) == 1
    res = polynomial_laws(build_model("fields:x2/17178803,-x1"), 2)
    assert len(res.basis) == 1


@given(model_specs(), st.sampled_from([(2, False), (3, False), (3, True)]), st.data())
def test_forced_zeros_change_nothing(spec: str, degree: tuple[int, bool],
                                     data: st.DataObject) -> None:
    """Peeling forced zeros (laws.py step 3) on every block, under a random renumbering,
    gives the full system's exact kernel dimension and the same basis as without peeling;
    every peeled unknown is zero in every law of the exact solve of its whole block."""
    k, hom = degree
    m0 = build_model(spec)
    perm = data.draw(st.permutations(range(m0.D)), label="renumbering")
    m = build_model(renumber(spec, list(perm)))
    note(renumber(spec, list(perm)))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(laws, "PEEL_MIN", 1)
        peeled = polynomial_laws(m, k, homogeneous=hom, seed=0)
    plain = polynomial_laws(m, k, homogeneous=hom, seed=0)   # blocks here are below PEEL_MIN
    assert peeled.basis == plain.basis
    assert len(peeled.basis) == flint_law_space_dim(m, k, hom)
    for block in blocks_of(m.family, k, hom):
        dead = laws.forced_zeros(block, m.family).tolist()
        for h in exact_block_laws(block, m.family):
            assert all(block[j] not in h for j in dead), (block, dead, h)


def test_forced_zeros_on_the_ode_of_bench() -> None:
    """The ten-variable ODE of bench/models/ode10.json at degree 3 (285 unknowns in one block,
    above PEEL_MIN): peeled and unpeeled solves agree with the full exact nullspace (z1*z2 is
    the law of degree <= 3, an independent check: d(z1 z2)/dt = z1' z2 + z1 z2' = 0 by the
    model's z1, z2 equations)."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "bench" / "models" / "ode10.json"
    m = build_model(str(path))
    block = blocks_of(m.family, 3, False)
    assert max(len(b) for b in block) >= laws.PEEL_MIN
    peeled = polynomial_laws(m, 3, seed=0)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(laws, "PEEL_MIN", 10**9)
        plain = polynomial_laws(m, 3, seed=0)
    assert peeled.basis == plain.basis
    assert [str(h) for h in peeled.basis] == ["z1*z2"]
    assert len(peeled.basis) == flint_law_space_dim(m, 3, False)
