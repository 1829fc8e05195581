"""Randomized properties of the solver on small polynomial maps (hypothesis).

The maps are ``poly:`` specifications with D = 2..4 variables, d = 1..3 components of degree at
most 2 and small integer coefficients, every variable occurring (no index gap).  The profile
(``ci``: derandomized, ~25 examples per property; ``long``: 500) is chosen by the environment
variable ``HYPOTHESIS_PROFILE`` (see ``tests/conftest.py`` and ``docs/errors.md``).
Laws are FLINT polynomials of the model's ring; the reference checks read their terms.

A failing example is printed as the ``poly:`` specification (``conslaw count SPEC`` reproduces
it); keep it as an explicit regression case at the end of this module.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given, note
from hypothesis import strategies as st
from reference import sympy_is_law, sympy_lie_rank

from conslaw_flint.algorithms.certify import certificate, count_laws
from conslaw_flint.algorithms.laws import polynomial_laws
from conslaw_flint.algorithms.lie import lie_closure
from conslaw_flint.models import build_model
from conslaw_flint.results import CountResult

ROOT = Path(__file__).resolve().parents[2]

#: a monomial as the sorted tuple of its variable indices (with repetition): (0, 0, 2) = x1^2*x3
Mono = tuple[int, ...]
Component = dict[Mono, int]


@dataclass(frozen=True)
class PolyMap:
    """A small polynomial map phi: R^D -> R^d with integer coefficients."""

    D: int
    comps: tuple[tuple[tuple[Mono, int], ...], ...]

    @property
    def d(self) -> int:
        return len(self.comps)

    def component_text(self, k: int, rename: list[int] | None = None) -> str:
        """Component k as text, with variable v written x{rename[v]+1} if ``rename``."""
        terms = []
        for mono, c in self.comps[k]:
            names = [f"x{(rename[v] if rename else v) + 1}" for v in mono]
            terms.append("*".join([str(c), *names]))
        return " + ".join(terms).replace("+ -", "- ") if terms else "0"

    def spec(self, rename: list[int] | None = None) -> str:
        return "poly:" + ";".join(self.component_text(k, rename) for k in range(self.d))


def _monomials(D: int) -> list[Mono]:
    return [(i,) for i in range(D)] + [(i, j) for i in range(D) for j in range(i, D)]


@st.composite
def poly_maps(draw: st.DrawFn, max_D: int = 4, max_d: int = 3, min_d: int = 1) -> PolyMap:
    """A random map with every variable occurring (missing ones are added as linear terms)."""
    D = draw(st.integers(2, max_D))
    d = draw(st.integers(min_d, max_d))
    coef = st.sampled_from([-3, -2, -1, 1, 2, 3])
    comps: list[Component] = []
    for _ in range(d):
        terms = draw(st.dictionaries(st.sampled_from(_monomials(D)), coef, min_size=1,
                                     max_size=4))
        comps.append(dict(terms))
    used = {v for comp in comps for mono in comp for v in mono}
    for v in range(D):
        if v not in used:
            k = draw(st.integers(0, d - 1))
            comps[k][(v,)] = comps[k].get((v,), 0) + 1
    return PolyMap(D, tuple(tuple(sorted(c.items())) for c in comps))


def count(spec: str, seed: int = 0) -> CountResult:
    return count_laws(build_model(spec), degree=2, seed=seed)


def stable_json(res: CountResult) -> str:
    """``count --json`` without the timing."""
    out = res.to_dict()
    out.pop("seconds")
    return json.dumps(out, sort_keys=True)


def assert_compatible(a: CountResult, b: CountResult, what: str) -> None:
    """Two valid bound pairs of the same number: every certified count lies within the other's
    bounds (so two certified counts are equal)."""
    assert a.laws_lower <= a.laws_upper and b.laws_lower <= b.laws_upper, what
    if a.certified:
        assert b.laws_lower <= a.laws_lower <= b.laws_upper, what
    if b.certified:
        assert a.laws_lower <= b.laws_lower <= a.laws_upper, what


# ---------------------------------------------------------------------------------------------
# properties


@given(poly_maps(), st.integers(0, 2**16))
def test_laws_verify_and_bounds_are_ordered(phi: PolyMap, seed: int) -> None:
    """Every returned law is a law (sympy), and laws_lower <= laws_upper."""
    spec = phi.spec()
    note(spec)
    model = build_model(spec)
    res = count_laws(model, degree=2, seed=seed)
    event(f"certified by {res.method}" if res.certified else "not certified")
    event(f"D = {phi.D}, d = {phi.d}")
    assert 0 <= res.laws_lower <= res.laws_upper <= model.D, spec
    assert res.lie_rank_lower + res.laws_upper == model.D
    for h in res.laws:
        assert sympy_is_law(h, model), (spec, h)
    basis = polynomial_laws(model, 2, seed=seed).basis
    for h in basis:
        assert sympy_is_law(h, model), (spec, h)
    assert len(res.laws) <= res.laws_upper, spec


@given(poly_maps(), st.data())
def test_count_invariant_under_permuting_variables(phi: PolyMap, data: st.DataObject) -> None:
    perm = data.draw(st.permutations(range(phi.D)), label="permutation")
    a, b = phi.spec(), phi.spec(rename=list(perm))
    note(f"{a}  vs  {b}")
    assert_compatible(count(a), count(b), f"{a} vs {b}")


@given(poly_maps(min_d=2), st.sampled_from([-2, -1, 1, 2]))
def test_count_invariant_under_recombining_components(phi: PolyMap, k: int) -> None:
    """(phi1, phi2, ...) -> (phi1 + k*phi2, phi2, ...): the same span of gradients."""
    comps = [phi.component_text(i) for i in range(phi.d)]
    b = "poly:" + ";".join([f"({comps[0]}) + ({k})*({comps[1]})", *comps[1:]])
    a = phi.spec()
    note(f"{a}  vs  {b}")
    assert_compatible(count(a), count(b), f"{a} vs {b}")


@given(poly_maps(), st.data())
def test_count_invariant_under_adding_a_dependent_component(phi: PolyMap,
                                                            data: st.DataObject) -> None:
    """Adding phi_i * phi_j (or phi_i^2) changes neither the laws nor their number: its
    gradient is a combination of grad phi_i and grad phi_j with polynomial coefficients."""
    i = data.draw(st.integers(0, phi.d - 1), label="i")
    j = data.draw(st.integers(0, phi.d - 1), label="j")
    comps = [phi.component_text(t) for t in range(phi.d)]
    extra = f"({comps[i]})^2" if i == j else f"({comps[i]})*({comps[j]})"
    a = phi.spec()
    b = a + ";" + extra
    note(f"{a}  vs  {b}")
    ra, rb = count(a), count(b)
    assert_compatible(ra, rb, f"{a} vs {b}")
    model_b = build_model(b)
    for h in ra.laws:  # every law of phi is a law of the enlarged map
        assert sympy_is_law(h, model_b), (b, h)


def _leaves(word: Any) -> int:
    return 1 if isinstance(word, int) else _leaves(word[0]) + _leaves(word[1])


@given(poly_maps(max_D=3, max_d=2), st.integers(0, 2**16))
def test_lie_rank_never_exceeds_sympy(phi: PolyMap, seed: int) -> None:
    """The modular lower bound never exceeds the rank over Q at the same point of all
    right-normed brackets up to the depth of the words it used (sympy, independent)."""
    spec = phi.spec()
    note(spec)
    model = build_model(spec)
    r = lie_closure(model.family, seed=seed)
    depth = max((_leaves(w) for w in r.words), default=1)
    ranks = []
    for levels in range(1, depth + 1):
        ranks.append(sympy_lie_rank(model, r.point, levels))
        if ranks[-1] >= r.rank:
            break
    assert r.rank <= ranks[-1], (spec, r.rank, ranks, r.words)


@given(poly_maps(), st.integers(0, 2**16))
def test_same_seed_same_bits(phi: PolyMap, seed: int) -> None:
    """The same seed gives bit-identical JSON output and certificate, and the certificate
    verifies with exactly the claimed bounds."""
    from conslaw_flint.verify import verify_certificate

    spec = phi.spec()
    note(spec)
    a, b = count(spec, seed), count(spec, seed)
    assert stable_json(a) == stable_json(b), spec
    ca, cb = certificate(a), certificate(b)
    assert json.dumps(ca, sort_keys=True) == json.dumps(cb, sort_keys=True), spec
    verdict = verify_certificate(ca)
    assert verdict.ok, (spec, verdict.reason)
    assert verdict.claims == ca["claims"], spec


# ---------------------------------------------------------------------------------------------
# across processes: string hashing is randomized per process (PYTHONHASHSEED), so any iteration
# over a set or dict of strings that leaks into the output would show up here

PROCESS_SPECS = [
    "poly:2*x1*x2 - x3^2;x2 + 3*x1*x3",
    "poly:x1*x2;x2*x3;x1^2 - x3",
    "linear:2,2,2",
]
_SCRIPT = """
import json, sys
from conslaw_flint.algorithms.certify import certificate, count_laws
from conslaw_flint.models import build_model
out = []
for spec in sys.argv[1:]:
    res = count_laws(build_model(spec), degree=2, seed=7)
    j = res.to_dict(); j.pop("seconds")
    out.append([j, certificate(res)])
print(json.dumps(out, sort_keys=True))
"""


def _in_subprocess(hash_seed: str) -> str:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-c", _SCRIPT, *PROCESS_SPECS], env=env,
                          capture_output=True, text=True, timeout=300, check=True)
    return proc.stdout


def test_same_seed_same_bits_across_processes() -> None:
    assert _in_subprocess("1") == _in_subprocess("2")


# ---------------------------------------------------------------------------------------------
# fixed cases: equivalent maps, and every counterexample the properties ever find

#: (spec, equivalent spec): the same number of laws; append counterexamples found by hypothesis
REGRESSIONS: list[tuple[str, str]] = [
    ("product:3", "poly:x1*x2*x3"),
    ("poly:x1^2 - x2^2", "poly:x2^2 - x1^2"),
    ("poly:x1*x2;x2*x3", "poly:x1*x2;x2*x3;x1*x2^2*x3"),
    ("poly:x1*x2 + x3;x2", "poly:x1*x2 + x3 + 2*x2;x2"),
]


@pytest.mark.parametrize("a,b", REGRESSIONS)
def test_regressions(a: str, b: str) -> None:
    ra, rb = count(a), count(b)
    assert ra.certified and rb.certified, (a, b)
    assert ra.laws_lower == rb.laws_lower, (a, b)
    for h in ra.laws:
        assert sympy_is_law(h, build_model(a)) and sympy_is_law(h, build_model(b)), (a, b, h)
