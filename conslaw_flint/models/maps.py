"""User maps and fields: ``poly:``, ``fields:``, ``random:``; rational input made polynomial.

* A map phi = (E_1, ..., E_d): X_i = grad E_i.  A component that is a rational function
  N/Q has gradient (Q grad N - N grad Q) / Q^2; the generator is that field multiplied by
  Q^2, a polynomial field.
* General fields: each field is multiplied by the lcm L of its components' denominators.

Multiplying a field by a function that vanishes nowhere on a region changes neither the laws
there (<grad h, fX> = f <grad h, X>) nor the orbits (integral curves are only
reparametrised), hence not the number of laws (the orbit theorem: for analytic fields the
orbit's tangent space is Lie(V)(theta)).  So the polynomial model is exact off the zero sets
of the denominators, which the model lists as ``excluded`` and the reports print.

>>> m = poly_model(["x1/x2"])
>>> [str(c) for c in m.fields[0]], m.excluded
(['x2', '-x1'], ('x2',))
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from fractions import Fraction

from ..core import budget
from ..core.fields import FieldFamily, VectorField
from ..core.polynomials import (
    Poly,
    Ring,
    default_names,
    from_terms,
    monomial,
    primitive,
    rename,
    ring,
    variables,
)
from ..io.parse import ParseError, check_names, infer_nvars, parse_in
from .model import Model, ModelError
from .networks import MAX_PARAMETERS


def _ring(exprs: Sequence[str], names: Sequence[str] | None, D: int | None, kind: str
          ) -> tuple[Ring, bool]:
    """The ring of a model given by texts: declared ``names``, or x1..xD with D given or
    inferred from the texts; and whether D was given."""
    if names is not None:
        try:
            check_names(names)
        except ValueError as e:
            raise ModelError(f"{kind}: {e}") from None
        if len(names) > MAX_PARAMETERS:
            raise ModelError(f"{kind}: {len(names)} variables, above the limit "
                             f"{MAX_PARAMETERS}")
        return ring(names), True
    if D is None:
        try:
            D = infer_nvars(exprs)
        except ParseError as e:
            raise ModelError(f"{kind}: {e}") from None
        given = False
    else:
        given = True
    if D > MAX_PARAMETERS:
        raise ModelError(f"{kind}: D = {D} is above the limit {MAX_PARAMETERS}")
    return ring(default_names(D)), given


def _parse(R: Ring, text: str, what: str, rational: bool = True, inferred: bool = False
           ) -> tuple[Poly, Poly]:
    try:
        return parse_in(R, text, rational=rational, inferred=inferred)
    except ParseError as e:
        raise ModelError(f"{what}: {e}") from None


def _lcm(a: Poly, b: Poly) -> Poly:
    if a.is_constant():
        return b
    if b.is_constant():
        return a
    g = a.gcd(b)
    return primitive(divmod(a * b, g)[0])


def inline_text(p: Poly) -> str:
    """``p`` as text in x1..xD (what certificates record)."""
    n = p.context().nvars()
    return str(rename(p, ring(default_names(n))))


def _excluded(dens: Sequence[Poly]) -> tuple[str, ...]:
    out: list[str] = []
    for q in dens:
        if not q.is_constant():
            t = str(primitive(q))
            if t not in out:
                out.append(t)
    return tuple(out)


def poly_model(exprs: Sequence[str], D: int | None = None,
               names: Sequence[str] | None = None, spec: str | None = None) -> Model:
    """phi given by expressions in x1..xD (or in ``names``); rational components allowed."""
    exprs = [e.strip() for e in exprs]
    if not exprs or all(not e for e in exprs):
        raise ModelError("poly: empty map; give components like poly:x1*x2;x1+x3")
    for n, e in enumerate(exprs):
        if not e:
            raise ModelError(f"poly: component {n + 1} is empty; remove the extra ';'")
    R, given = _ring(exprs, names, D, "poly")
    parsed = []
    for n, e in enumerate(exprs):
        budget.tick("reading the model")
        parsed.append(_parse(R, e, f"poly component {n + 1}", inferred=not given))
    used: set[int] = set()
    for num, den in parsed:
        used.update(variables(num))
        used.update(variables(den))
    if R.nvars() == 0 or (not given and not used):
        raise ModelError("poly: the map is constant (no variable occurs), so D is unknown; "
                         "give D with poly[D]:... (a constant map conserves every function)")
    if not given and len(used) < R.nvars():
        missing = sorted(set(range(R.nvars())) - used)
        raise ModelError(f"poly: variable x{missing[0] + 1} does not occur (index gap); "
                         f"renumber the variables or fix D with poly[{R.nvars()}]:...")
    label = spec or "poly:" + ";".join(exprs)
    if all(den.is_one() for _, den in parsed):
        phi = [num for num, _ in parsed]
        inline = None
        if names is not None or spec is None:
            inline = f"poly[{R.nvars()}]:" + ";".join(inline_text(p) for p in phi)
        return Model(label, "poly", tuple(R.names()), FieldFamily(R, potentials=phi),
                     inline=inline)
    fields = []
    for num, den in parsed:
        comps = {}
        for k in range(R.nvars()):
            c = den * num.derivative(k) - num * den.derivative(k)
            if not c.is_zero():
                comps[k] = c
        fields.append(VectorField(R, comps))
    return _fields_result(label, "poly", R, fields, [den for _, den in parsed],
                          note="the rational map's gradient fields were multiplied by the "
                               "squares of their denominators")


def _fields_result(label: str, kind: str, R: Ring, fields: Sequence[VectorField],
                   dens: Sequence[Poly], note: str | None = None) -> Model:
    inline = "fields:" + ";".join(",".join(inline_text(c) for c in f) for f in fields)
    excluded = _excluded(dens)
    notes = ()
    if excluded:
        notes = ((f"{note or 'each field was multiplied by the lcm of its denominators'}: "
                  "the results hold where no denominator vanishes (excluded: "
                  + "; ".join(f"{t} = 0" for t in excluded) + ")"),)
    return Model(label, kind, tuple(R.names()), FieldFamily(R, fields=list(fields)),
                 inline=inline, excluded=excluded, notes=notes)


def fields_model(specs: Sequence[Sequence[str]], names: Sequence[str] | None = None,
                 spec: str | None = None) -> Model:
    """General vector fields, each given by its D components (rational ones allowed)."""
    if not specs:
        raise ModelError("fields: empty list; give fields like fields:x2,-x1,0;x3,0,-x1")
    D = len(specs[0])
    if names is not None and len(names) != D:
        raise ModelError(f"fields: {len(names)} variable names for fields with {D} components")
    for n, comps in enumerate(specs):
        if len(comps) != D:
            hint = ""
            if len(comps) == 1 and D == 1 and len(specs) > 1:
                hint = " (fields are separated by ';' and components by ',')"
            raise ModelError(f"fields: field {n + 1} has {len(comps)} components, field 1 has "
                             f"{D}; every field needs one component per variable{hint}")
        for k, text in enumerate(comps):
            if not text.strip():
                raise ModelError(f"fields: component {k + 1} of field {n + 1} is empty; "
                                 "write 0 for a zero component")
    if len(specs) > 1 and all(len(c) == 1 for c in specs) and names is None:
        # fields:x2;-x1 -- probably one field with components separated by ';'
        used = infer_nvars([t for c in specs for t in c])
        if used > 1:
            raise ModelError(f"fields: {len(specs)} fields of 1 component each, but the "
                             f"expressions use {used} variables; separate the components of "
                             "one field with ',' (fields:x2,-x1) and fields with ';'")
    R, _ = _ring([t for c in specs for t in c], names, D, "fields")
    inferred = False  # D is the number of components
    fields, dens = [], []
    for n, comps in enumerate(specs):
        budget.tick("reading the model")
        parsed = [_parse(R, t, f"field {n + 1} component {k + 1}", inferred=inferred)
                  for k, t in enumerate(comps)]
        L = R.constant(1)
        for _, den in parsed:
            L = _lcm(L, den)
        out = {}
        for k, (num, den) in enumerate(parsed):
            c = num * divmod(L, den)[0] if not L.is_one() else num
            if not c.is_zero():
                out[k] = c
        fields.append(VectorField(R, out))
        dens.append(L)
    label = spec or "fields:" + ";".join(",".join(c) for c in specs)
    return _fields_result(label, "fields", R, fields, dens)


def random_model(D: int, d: int, m: int, seed: int) -> Model:
    """d random polynomial fields of degree <= m in D variables (integer coefficients in
    [-5, 5], each monomial present with probability 1/2), as in the reference's first
    experiment; reproducible from ``seed``."""
    rng = random.Random(seed)
    monos = [monomial(*((v, 1) for v in combo)) for deg in range(m + 1)
             for combo in itertools.combinations_with_replacement(range(D), deg)]
    budget.reserve(len(monos) * D * d * 200, "the random fields", "lower D, d or m")
    R = ring(default_names(D))
    fields = []
    for _ in range(d):
        comps = {}
        for k in range(D):
            budget.tick("building the model")
            terms = []
            for mono in monos:
                if rng.random() < 0.5:
                    c = rng.randint(-5, 5)
                    if c:
                        terms.append((mono, Fraction(c)))
            if terms:
                comps[k] = from_terms(R, terms)
        fields.append(VectorField(R, comps))
    return Model(f"random:{D},{d},{m},{seed}", "random", tuple(R.names()),
                 FieldFamily(R, fields=fields))


__all__ = ["fields_model", "inline_text", "poly_model", "random_model"]
