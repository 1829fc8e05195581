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
