"""First integrals of ODEs: systems written as equations, Hamiltonians, parameters.

People who look for the first integrals of a reaction network, a mechanical system or a
control system write their dynamics as equations.  A first integral of ẋ = F(x) is exactly a
conservation law of the single field F, so these are ordinary models of general fields:

* ``ode:x' = -k1*x*y; y' = k1*x*y - k2*y`` (or ``dx/dt = ...``; equations separated by ``;`` or
  new lines; a ``.ode`` file has one equation per line, ``#`` comments, and optionally a line
  ``parameters: k1, k2``).  The state variables are the left-hand sides, in order.
* ``hamiltonian:H`` -- the canonical field q̇_i = ∂H/∂p_i, ṗ_i = -∂H/∂q_i; the canonical
  pairs are the names ``q``/``p``, ``q1``/``p1``, ... or ``x``/``px`` (a name and ``p``
  followed by it).  H itself is always a first integral.
* **parameters** (rate constants, masses, ...): symbols treated as constants, i.e. extra
  variables whose field components are zero.  In an ``ode:`` or ``hamiltonian:`` text every
  symbol that is not a state is a parameter; elsewhere, ``--parameters`` (CLI) or a
  ``"parameters"`` key (model files) declares them.  Each parameter is trivially a first
  integral; reports give the count *besides* the parameters ("N laws besides the P
  parameters") and print laws with the parameters in them (a law may involve them: for
  A + B <-> C with rates k1, k2, ... ).

Right-hand sides may be rational; the field is then multiplied by the lcm of the denominators
(first integrals unchanged off their zero sets, which the report lists).

>>> m = ode_model("x' = -k1*x*y; y' = k1*x*y - k2*y")
>>> m.names, [m.names[i] for i in m.parameters]
(('x', 'y', 'k1', 'k2'), ['k1', 'k2'])
>>> h = hamiltonian_model("(p^2 + q^2)/2")
>>> [str(c) for c in h.fields[0]]
['p', '-q']
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from ..core.fields import FieldFamily, VectorField
from ..core.polynomials import ring
from ..io.parse import ParseError, check_names, parse_rational, split_top_level
from .maps import fields_model, inline_text
from .model import Model, ModelError

_LHS = re.compile(r"^\s*(?:d\s*(?P<d>[^\s/=]+)\s*/\s*dt|(?P<p>[^\s'=]+)\s*')\s*=\s*(?P<rhs>.*)$",
                  re.S)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z_0-9]*(?:\[[0-9, ]+\])?")
_NUMBERISH = re.compile(r"^[eE][0-9]")


def _symbols(text: str) -> list[str]:
    """Identifiers in an expression, in order of appearance (numbers' exponents skipped)."""
    out: list[str] = []
    for m in _IDENT.finditer(text):
        start = m.start()
        if start and (text[start - 1].isdigit() or text[start - 1] == "."):
            continue  # 2e3, 1.5e2: an exponent, not a name
        if m.group() not in out:
            out.append(m.group())
    return out


def split_equations(text: str) -> list[str]:
    """Equations separated by ``;`` or new lines (outside brackets); ``#`` starts a comment."""
    lines = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0]
        lines.extend(p for p in split_top_level(line, ";") if p.strip())
    return lines


def _with_extra_variables(model: Model, names: Sequence[str], parameters: Sequence[str],
                          kind: str, spec: str) -> Model:
    """The model on the variables ``names`` (states then parameters) with zero components
    along the parameters."""
    return replace(model, kind=kind, spec=spec,
                   parameters=tuple(len(names) - len(parameters) + i
                                    for i in range(len(parameters))))


def ode_model(text: str, parameters: Sequence[str] | None = None,
              spec: str | None = None) -> Model:
    """The field of the equations ``x' = F_x(...)`` in ``text`` (see the module docstring).

    Raises :class:`ModelError` for a malformed equation, a state given twice, or (when
    ``parameters`` is given) a symbol that is neither a state nor a declared parameter."""
    eqs = split_equations(text)
    if not eqs:
        raise ModelError("ode: no equation; write equations like ode:x' = -y; y' = x")
    states, rhss = [], []
    for n, eq in enumerate(eqs):
        m = _LHS.match(eq)
        if m is None:
            raise ModelError(f"ode: equation {n + 1} {eq.strip()[:40]!r} is not of the form "
                             "x' = ... or dx/dt = ...")
        name = m.group("d") or m.group("p")
        if name in states:
            raise ModelError(f"ode: {name}' is given twice (equations {states.index(name) + 1} "
                             f"and {n + 1})")
        if not m.group("rhs").strip():
            raise ModelError(f"ode: the right-hand side of {name}' is empty")
        states.append(name)
        rhss.append(m.group("rhs").strip())
    found = [s for r in rhss for s in _symbols(r) if s not in states]
    if parameters is None:
        params = list(dict.fromkeys(found))
    else:
        params = list(parameters)
        unknown = [s for s in found if s not in params]
        if unknown:
            raise ModelError(f"ode: {unknown[0]!r} is neither a state (a left-hand side) nor a "
                             "declared parameter; add it to the parameters")
    names = states + [p for p in params if p not in states]
    try:
        check_names(names)
    except ValueError as e:
        raise ModelError(f"ode: {e}") from None
    comps = rhss + ["0"] * (len(names) - len(states))
    base = fields_model([comps], names=names, spec=spec or "ode:" + "; ".join(eqs))
    model = _with_extra_variables(base, names, names[len(states):], "ode", base.spec)
    notes = list(model.notes)
    if model.parameters:
        notes.insert(0, f"{', '.join(names[len(states):])} "
                        f"{'is a parameter' if len(model.parameters) == 1 else 'are parameters'}"
                        " (constants: variables with zero time derivative)")
    return replace(model, notes=tuple(notes))


def _pairs(symbols: Sequence[str]) -> list[tuple[str, str]]:
    """Canonical pairs among the symbols: q/p, qN/pN, x/px."""
    pairs = []
    for s in symbols:
        m = re.fullmatch(r"q(\d*)", s)
        if m and f"p{m.group(1)}" in symbols:
            pairs.append((s, f"p{m.group(1)}"))
        elif not s.startswith(("p", "q")) and f"p{s}" in symbols:
            pairs.append((s, f"p{s}"))
    return pairs


def hamiltonian_model(text: str, pairs: Sequence[tuple[str, str]] | None = None,
                      spec: str | None = None) -> Model:
    """The canonical field of the Hamiltonian H = ``text``: q̇ = ∂H/∂p, ṗ = -∂H/∂q, on the
    pairs given or found by name (see the module docstring); other symbols are parameters."""
    symbols = _symbols(text)
    pairs = list(pairs) if pairs is not None else _pairs(symbols)
    if not pairs:
        raise ModelError("hamiltonian: no canonical pair found; name them q/p, q1/p1, ... or "
                         "x/px (e.g. hamiltonian:(p^2 + q^2)/2)")
    qs = [q for q, _ in pairs]
    ps = [p for _, p in pairs]
    params = [s for s in symbols if s not in qs and s not in ps]
    names = [v for q, p in pairs for v in (q, p)] + params
    try:
        check_names(names)
    except ValueError as e:
        raise ModelError(f"hamiltonian: {e}") from None
    try:
        num, den = parse_rational(text, names=names)
    except ParseError as e:
        raise ModelError(f"hamiltonian: {e}") from None
    if not den.is_constant():
        raise ModelError("hamiltonian: H must be a polynomial (clear the denominators)")
    R = ring(names)
    H = num
    comps = {}
    for q, p in pairs:
        qi, pi = names.index(q), names.index(p)
        comps[qi] = H.derivative(pi)
        comps[pi] = -H.derivative(qi)
    X = VectorField(R, comps)
    label = spec or f"hamiltonian:{text}"
    inline = "fields:" + ",".join(inline_text(c) for c in X)
    model = Model(label, "hamiltonian", tuple(names), FieldFamily(R, fields=[X]),
                  inline=inline)
    model = _with_extra_variables(model, names, params, "hamiltonian", label)
    notes = [f"canonical pairs {', '.join(f'({q}, {p})' for q, p in pairs)}; H is a first "
             "integral"]
    if params:
        verb = "is a parameter" if len(params) == 1 else "are parameters"
        notes.append(f"{', '.join(params)} {verb} (constants)")
    return replace(model, notes=tuple(notes))


def with_parameters(model: Model, parameters: Sequence[str]) -> Model:
    """The same dynamics with the named variables held constant (their field components set
    to zero): the parameters of a map or of fields (``--parameters``)."""
    params = [p.strip() for p in parameters if p.strip()]
    if not params:
        return model
    missing = [p for p in params if p not in model.names]
    if missing:
        raise ModelError(f"parameter {missing[0]!r} is not a variable of the model; the "
                         f"variables are {', '.join(model.names[:8])}"
                         + (", ..." if model.D > 8 else ""))
    idx = sorted({model.names.index(p) for p in params})
    fields = []
    for X in model.fields:
        fields.append(VectorField(model.ring, {k: c for k, c in X.items() if k not in idx}))
    inline = "fields:" + ";".join(",".join(inline_text(c) for c in X) for X in fields)
    notes = (f"{', '.join(model.names[i] for i in idx)} "
             f"{'is a parameter' if len(idx) == 1 else 'are parameters'} (held constant)",
             *model.notes)
    return replace(model, family=FieldFamily(model.ring, fields=fields), inline=inline,
                   parameters=tuple(idx), notes=notes)


__all__ = ["hamiltonian_model", "ode_model", "split_equations", "with_parameters"]
