"""The certificate's model, rebuilt by the library's builders, as the verifier's own data.

Model building is shared with the solver by design (:func:`conslaw_flint.models.build_model`):
a certificate names its model by an inline specification, and the verifier rebuilds it.  Before
that, :func:`prescreen` refuses specifications whose size is beyond the verifier's limits
(D, number of generators, table entries) from the text alone, and the builder runs under a
time and memory guard (:mod:`conslaw_flint.core.budget`, the builders' own check points).

From the built model the verifier takes only data, never the solver's arithmetic:

* gradient models: the builder's compiled table of the potentials phi_i (monomials and
  coefficients, NumPy arrays; ``model.family.potential_table()``);
* general fields: the FLINT components (``model.fields``), read once as (monomial, coefficient)
  terms (``to_dict``).

:class:`Generators` turns them into SymPy polynomials on demand: the component k of X_i in a
ring over just the variables it involves (for gradients, SymPy differentiates the terms of
phi_i that contain x_k).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from ..core import budget as _builder_budget
from ..errors import TimeUp, UserError
from ..io.parse import ParseError, parse_rational, split_top_level
from ..models import build_model
from . import _algebra as alg
from ._base import CertificateError, brief, charge, hold, one_line, what

#: largest number of variables D of a certificate's model
MAX_D = 10_000
#: most terms of all potentials (gradient models) or of all field components
MAX_TERMS = 1_000_000
#: most (term, variable) entries of those terms
MAX_ENTRIES = 2_000_000
#: most (expressions x variables) of a poly: or fields: specification (each expression is read
#: in the ring of all the variables)
MAX_BUILD = 2_000_000
#: the builder's time and memory guard while it rebuilds the model
MODEL_SECONDS = 3.0
MODEL_MEMORY = 768 * 2**20

_SPEC_RE = re.compile(r"(linear|relu|relu-bias|product|poly(\[[0-9]{1,6}\])?|fields|random):")
_NET_RE = re.compile(r"(linear|relu|relu-bias):\s*([0-9]{1,30}(\s*,\s*[0-9]{1,30})+)\s*")
_PRODUCT_RE = re.compile(r"product:\s*([0-9]{1,30})\s*")
_POLY_D_RE = re.compile(r"poly\[([0-9]{1,6})\]:")
_VAR_RE = re.compile(r"x([0-9]+)")
_FLOW_RE = re.compile(r"\s*(gradient|momentum|nesterov|mirror|decay)\b")

__all__ = ["MAX_BUILD", "MAX_D", "MAX_ENTRIES", "MAX_TERMS", "Generators", "prescreen",
           "rebuild"]


def _too_large(spec: str, detail: str) -> CertificateError:
    return CertificateError(f"model {brief(spec)} is too large for the verifier: {detail}")


def _network_size(kind: str, widths: Sequence[int]) -> tuple[int, int, int]:
    """(D, d, table entries) of a network, as the builders lay it out."""
    q = len(widths) - 1
    D = sum(widths[i] * widths[i + 1] for i in range(q))
    if kind == "linear":
        return D, widths[0] * widths[-1], math.prod(widths) * q
    d = math.prod(widths)
    entries = d * q
    if kind == "relu-bias":
        D += sum(widths[1:-1])
        for lay in range(1, q):
            n = math.prod(widths[lay:])
            d += n
            entries += n * (q - lay + 1)
    return D, d, entries


def prescreen(spec: Any) -> str:
    """The stripped inline specification, or a rejection from the text alone: files,
    non-specifications (certificates record the inline ``poly``/``fields``/network form; a
    flow model too large for a ``fields:`` text is ``BASE|flow=FLOW``, BASE itself inline),
    and sizes beyond :data:`MAX_D`, :data:`MAX_ENTRIES`, :data:`MAX_BUILD`."""
    if type(spec) is not str:
        raise CertificateError(f"model must be a specification string, not {what(spec)}")
    text = spec.strip()
    base, sep, flow = text.partition("|flow=")
    if sep:
        # the flow's phase space has at most 2 D + 1 variables and d + 1 generators; the
        # builder's flow code (models/flows.py) is part of the shared model builders
        if "|" in flow or not _FLOW_RE.match(flow) or len(flow) > 100_000:
            raise CertificateError(f"model {brief(spec)}: the flow {brief(flow)} is not one "
                                   "of gradient, momentum, nesterov, mirror, decay")
        inner = prescreen(base)
        m = _NET_RE.fullmatch(inner)
        if m:
            D = _network_size(m.group(1), [int(t) for t in m.group(2).split(",")])[0]
            if 2 * D + 1 > MAX_D:
                raise _too_large(spec, f"D = {2 * D + 1} phase-space variables (limit {MAX_D})")
        return f"{inner}|flow={flow.strip()}"
    if not _SPEC_RE.match(text) or text.endswith((".json", ".toml")) or "|" in text:
        raise CertificateError(f"model {brief(spec)} is not an inline model specification "
                               "(kind:...); certificates never name files")
    m = _NET_RE.fullmatch(text)
    if m:
        widths = [int(t) for t in m.group(2).split(",")]
        if all(w >= 1 for w in widths):
            D, d, entries = _network_size(m.group(1), widths)
            if D > MAX_D:
                raise _too_large(spec, f"D = {D} parameters (limit {MAX_D})")
            if entries > MAX_ENTRIES:
                raise _too_large(spec, f"{d} generators with {entries} monomial entries "
                                       f"(limit {MAX_ENTRIES})")
    m = _PRODUCT_RE.fullmatch(text)
    if m and int(m.group(1)) > MAX_D:
        raise _too_large(spec, f"D = {m.group(1)} (limit {MAX_D})")
    m = _POLY_D_RE.match(text)
    if m and int(m.group(1)) > MAX_D:
        raise _too_large(spec, f"D = {m.group(1)} (limit {MAX_D})")
    if text.startswith(("poly", "fields")):
        found = _VAR_RE.findall(text)
        top = max((len(g) for g in found), default=0)
        if top > 6 or (top and max(int(g) for g in found if len(g) == top) > MAX_D):
            raise _too_large(spec, f"a variable index above the limit D = {MAX_D}")
        D = max((int(g) for g in found), default=1)
        body = text.partition(":")[2]
        if text.startswith("fields"):
            D = max(D, len(split_top_level(split_top_level(body, ";")[0], ",")))
        elif m:
            D = max(D, int(m.group(1)))
        n = body.count(",") + body.count(";") + 1
        # the builder reads every expression in the ring of all D variables
        if n * D > MAX_BUILD:
            raise _too_large(spec, f"{n} expressions in {D} variables (limit {MAX_BUILD} "
                                   "for their product)")
        charge(n * D * 20, "rebuilding the model")
    return text


def _preread(text: str) -> None:
    """Read every expression of a ``fields:`` specification once, stopping at the time limit
    (the builder checks its time limit only between fields, and one field may hold thousands
    of expensive components)."""
    body = text.partition(":")[2]
    exprs = [e for f in split_top_level(body, ";") for e in split_top_level(f, ",")]
    D = max(len(split_top_level(split_top_level(body, ";")[0], ",")), 1)
    found = _VAR_RE.findall(body)
    D = max([D] + [int(g) for g in found])
    deadline = time.monotonic() + MODEL_SECONDS
    for e in exprs:
        if time.monotonic() > deadline:
            raise CertificateError(f"model cannot be rebuilt within the verifier's time limit "
                                   f"({MODEL_SECONDS:g} s)")
        try:
            parse_rational(e, nvars=D)
        except (ParseError, ValueError, TypeError, OverflowError, ArithmeticError):
            return  # the builder reports it


def rebuild(text: str) -> Any:
    """The model of an inline specification (already :func:`prescreen`-ed)."""
    charge(len(text) * 300 + 200_000, "rebuilding the model")
    if text.startswith("fields"):
        _preread(text.partition("|flow=")[0])
    guard = _builder_budget.Budget(time_limit=MODEL_SECONDS, max_memory=MODEL_MEMORY)
    try:
        with guard.active():
            model = build_model(text)
    except TimeUp:
        raise CertificateError(f"model cannot be rebuilt within the verifier's time limit "
                               f"({MODEL_SECONDS:g} s)") from None
    except (UserError, ValueError, TypeError, OverflowError, ArithmeticError) as e:
        raise CertificateError(f"model cannot be rebuilt: {one_line(str(e), 200)}") from None
    if model.D > MAX_D:
        raise _too_large(text, f"D = {model.D} (limit {MAX_D})")
    return model


def _fraction(c: Any) -> int | Fraction:
    """A FLINT rational (or integer) as an int or a Fraction."""
    if hasattr(c, "q"):
        p, q = int(c.p), int(c.q)
        return p if q == 1 else Fraction(p, q)
    return int(c)


class Generators:
    """The generators X_1..X_d of a model as the verifier's data (see the module docstring).

    Gradient models keep the potentials' table as NumPy arrays and Python lists; general
    fields keep their components as lists of terms.  SymPy polynomials are built on demand and
    cached per domain.
    """

    def __init__(self, model: Any) -> None:
        self.D: int = model.D
        self.d: int = model.d
        self.gradient: bool = bool(model.is_gradient)
        self._components: dict[tuple[int, int, Any], tuple[Any, tuple[int, ...]]] = {}
        self._support: dict[int, tuple[int, ...]] = {}
        self._vars: dict[int, frozenset[int]] = {}
        self._degree: dict[int, int] = {}
        self._pots: dict[int, tuple[list[tuple[alg.Mono, Any]], dict[int, list[int]]]] = {}
        if self.gradient:
            self._read_table(model)
        else:
            self._read_fields(model)

    # -- reading the model ------------------------------------------------------------------

    def _read_table(self, model: Any) -> None:
        if model.kind not in ("linear", "relu", "relu-bias", "product"):
            # the table is compiled from the FLINT potentials (O(D) a term)
            n = sum(len(p) for p in model.phi)
            if n > MAX_TERMS:
                raise _too_large(model.spec, f"{n} potential terms (limit {MAX_TERMS})")
            charge(n * (self.D + 64), "reading the model's potentials")
        t = model.family.potential_table()
        n_terms, n_entries = len(t.t_field), len(t.e_term)
        if n_terms > MAX_TERMS or n_entries > MAX_ENTRIES:
            raise _too_large(model.spec, f"{n_terms} potential terms, {n_entries} entries "
                                         f"(limits {MAX_TERMS}, {MAX_ENTRIES})")
        charge(n_terms * 20 + n_entries * 10, "reading the model's potentials")
        hold(n_terms * 150 + n_entries * 120, "the model's potentials")
        self.t_field = np.asarray(t.t_field, dtype=np.int64)
        self.e_term = np.asarray(t.e_term, dtype=np.int64)
        self.e_var = np.asarray(t.e_var, dtype=np.int64)
        self.e_exp = np.asarray(t.e_exp, dtype=np.int64)
        self.max_exp = int(self.e_exp.max()) if n_entries else 1
        # entries sorted by (term, variable); code = a (variable, exponent) pair as one int
        order = np.lexsort((self.e_var, self.e_term))
        self.e_term, self.e_var, self.e_exp = (self.e_term[order], self.e_var[order],
                                               self.e_exp[order])
        self.code = self.e_var * (self.max_exp + 1) + self.e_exp
        self.e_start = np.searchsorted(self.e_term, np.arange(n_terms + 1))
        if t.coef.dtype == np.int64:
            self.coefs: list[Any] = [int(c) for c in t.coef.tolist()]
            _, inv = np.unique(t.coef, return_inverse=True)
            self.coef_id = np.asarray(inv, dtype=np.int64).reshape(-1)
        else:
            self.coefs = [Fraction(c) for c in t.coefficients()]
            ids: dict[Any, int] = {}
            self.coef_id = np.array([ids.setdefault(c, len(ids)) for c in self.coefs],
                                    dtype=np.int64)
        order = np.argsort(self.t_field, kind="stable")
        bounds = np.searchsorted(self.t_field[order], np.arange(self.d + 1))
        self._field_terms = [order[bounds[i]:bounds[i + 1]] for i in range(self.d)]
        self._es = self.e_start.tolist()
        self._ev = self.e_var.tolist()
        self._ee = self.e_exp.tolist()

    def _read_fields(self, model: Any) -> None:
        D = self.D
        total = 0
        self._fields: list[dict[int, list[tuple[alg.Mono, Any]]]] = []
        for f in model.fields:
            comps: dict[int, list[tuple[alg.Mono, Any]]] = {}
            for k, c in f.items():
                n = len(c)
                total += n
                if total > MAX_TERMS:
                    raise _too_large(model.spec, f"more than {MAX_TERMS} field terms")
                charge(n * (D + 64), "reading the model's fields")
                hold(n * 200, "the model's fields")
                terms = [(tuple((v, e) for v, e in enumerate(exps) if e), _fraction(co))
                         for exps, co in c.to_dict().items()]
                if terms:
                    comps[k] = terms
            self._fields.append(comps)

    # -- per generator ----------------------------------------------------------------------

    def potential(self, i: int) -> list[tuple[alg.Mono, Any]]:
        """The terms of phi_i (gradient models)."""
        return self._potential(i)[0]

    def _potential(self, i: int) -> tuple[list[tuple[alg.Mono, Any]], dict[int, list[int]]]:
        """(terms of phi_i, {variable: positions of the terms that contain it})."""
        got = self._pots.get(i)
        if got is None:
            es, ev, ee, coefs = self._es, self._ev, self._ee, self.coefs
            out = []
            by_var: dict[int, list[int]] = {}
            idx = self._field_terms[i].tolist()
            charge(len(idx) * 150 + 300, "reading a potential")
            for n, t in enumerate(idx):
                a, b = es[t], es[t + 1]
                mono = tuple(zip(ev[a:b], ee[a:b], strict=True))
                out.append((mono, coefs[t]))
                for v in ev[a:b]:
                    by_var.setdefault(v, []).append(n)
            hold(len(idx) * 300 + 100, "the generators' potentials")
            got = (out, by_var)
            self._pots[i] = got
        return got

    def field_terms(self, i: int) -> dict[int, list[tuple[alg.Mono, Any]]]:
        """The components of X_i as terms (general fields)."""
        return self._fields[i]

    def support(self, i: int) -> tuple[int, ...]:
        """The components k where X_i may be non-zero (increasing)."""
        s = self._support.get(i)
        if s is None:
            if self.gradient:
                s = tuple(sorted(self.variables(i)))
            else:
                s = tuple(sorted(self._fields[i]))
            self._support[i] = s
        return s

    def variables(self, i: int) -> frozenset[int]:
        """The variables X_i depends on or has components along (a superset)."""
        s = self._vars.get(i)
        if s is None:
            if self.gradient:
                idx = self._field_terms[i].tolist()
                charge(len(idx) * 16 + 100, "reading a potential")
                es, ev = self._es, self._ev
                s = frozenset(v for t in idx for v in ev[es[t]:es[t + 1]])
            else:
                out = set(self._fields[i])
                for terms in self._fields[i].values():
                    for mono, _ in terms:
                        out.update(v for v, _ in mono)
                s = frozenset(out)
            self._vars[i] = s
        return s

    def degree(self, i: int) -> int:
        """The largest total degree of a component of X_i."""
        got = self._degree.get(i)
        if got is None:
            if self.gradient:
                got = max((sum(e for _, e in m) for m, _ in self.potential(i)), default=1) - 1
            else:
                got = max((sum(e for _, e in m) for t in self._fields[i].values()
                           for m, _ in t), default=0)
            got = max(int(got), 0)
            self._degree[i] = got
        return got

    def n_terms(self, i: int) -> int:
        """Number of terms of phi_i (gradient) or of all components of X_i."""
        if self.gradient:
            return len(self._field_terms[i])
        return sum(len(t) for t in self._fields[i].values())

    def derivative_terms(self, i: int) -> tuple[int, int]:
        """(e, v): a bound e on the number of terms of all components of X_i and the largest
        number v of variables in one of them (for a gradient, a term of phi_i in u variables
        gives at most u terms of the components, each in at most u variables)."""
        if self.gradient:
            idx = self._field_terms[i]
            if not len(idx):
                return 0, 0
            sizes = self.e_start[idx + 1] - self.e_start[idx]
            return int(sizes.sum()), int(sizes.max())
        e = v = 0
        for terms in self._fields[i].values():
            e += len(terms)
            v = max(v, max((len(m) for m, _ in terms), default=0))
        return e, v

    def component(self, i: int, k: int, K: Any) -> tuple[Any, tuple[int, ...]]:
        """(X_i component k as a SymPy polynomial over K, its variables V)."""
        key = (i, k, K)
        got = self._components.get(key)
        if got is not None:
            return got
        charge(400, "a gradient component")
        if self.gradient:
            terms, by_var = self._potential(i)
            sub = [terms[n] for n in by_var.get(k, ())]
            V = tuple(sorted({v for m, _ in sub for v, _ in m}))
            if not V:
                got = (alg.ring_of(1, K).zero, (k,))
            else:
                psi = alg.build(sub, V, K, "a potential")
                got = (alg.diff(psi, V.index(k), "a gradient component"), V)
        else:
            terms = self._fields[i].get(k, [])
            V = tuple(sorted({v for m, _ in terms for v, _ in m})) or (k,)
            got = (alg.build(terms, V, K, "a field component"), V)
        hold(len(got[0]) * (alg.ring_size(len(got[1])) * 8 + 120) + 200,
             "the generators' components")
        self._components[key] = got
        return got

    # -- columns of the Jacobian (Gram words) ----------------------------------------------

    def column(self, j: int) -> tuple[int, ...]:
        """The generators i whose field X_i may have a non-zero component along x_j
        (increasing): the structural support of column j of the Jacobian J (d x D, row i =
        X_i).  Built for every j at once, the first time."""
        if not hasattr(self, "_columns"):
            cols: dict[int, list[int]] = {}
            if self.gradient:
                charge(len(self.e_var) * 12 + 100, "the Jacobian's columns")
                pairs = np.unique(self.e_var * self.d + self.t_field[self.e_term])
                for c in pairs.tolist():
                    cols.setdefault(c // self.d, []).append(c % self.d)
            else:
                for i, comps in enumerate(self._fields):
                    charge(len(comps) * 8 + 16, "the Jacobian's columns")
                    for k in comps:
                        cols.setdefault(k, []).append(i)
            hold(sum(len(v) for v in cols.values()) * 40 + 100, "the Jacobian's columns")
            self._columns = {k: tuple(sorted(v)) for k, v in cols.items()}
        return self._columns.get(j, ())

    def column_at(self, j: int, K: Any, point: Sequence[Any]) -> dict[int, Any]:
        """{i: X_i,j(point)}, the non-zero entries of column j of the Jacobian J at the point,
        in the domain K (``point`` holds the coordinates as elements of K, all non-zero).

        For a gradient model X_i,j = d phi_i / dx_j, so each term c x^a of phi_i with a_j >= 1
        contributes c a_j x^a / x_j, read from the potentials' table."""
        out: dict[int, Any] = {}
        if self.gradient:
            if not hasattr(self, "_by_var"):
                charge(len(self.e_var) * 4 + 100, "the Jacobian's columns")
                order = np.argsort(self.e_var, kind="stable")
                self._by_var = (order, np.searchsorted(self.e_var[order],
                                                       np.arange(self.D + 1)))
            order, starts = self._by_var
            entries = order[starts[j]:starts[j + 1]].tolist()
            es, ev, ee, coefs = self._es, self._ev, self._ee, self.coefs
            tf = self.t_field
            charge(len(entries) * 400 + 100, f"column {j + 1} of the Jacobian")
            xj_inv = K.one / point[j]
            for n in entries:
                t = int(self.e_term[n])
                val = alg.coerce(K, coefs[t]) * K(int(self.e_exp[n])) * xj_inv
                for a in range(es[t], es[t + 1]):
                    val *= point[ev[a]] ** ee[a]
                i = int(tf[t])
                out[i] = out.get(i, K.zero) + val
        else:
            for i in self.column(j):
                charge(400, f"column {j + 1} of the Jacobian")
                f, V = self.component(i, j, K)
                if f:
                    out[i] = alg.evaluate(f, V, point)
        hold(len(out) * 120 + 100, "the Jacobian's columns")
        return {i: v for i, v in out.items() if v}

    def field_in(self, i: int, V: Sequence[int], K: Any) -> dict[int, Any]:
        """X_i as {component: SymPy polynomial} in the ring of the variables ``V`` (which must
        hold every variable of X_i)."""
        if self.gradient:
            phi = alg.build(self.potential(i), V, K, "a potential")
            pos = {v: n for n, v in enumerate(V)}
            out = {}
            for k in self.support(i):
                g = alg.diff(phi, pos[k], "a gradient")
                if g:
                    out[k] = g
            return out
        return {k: alg.build(t, V, K, "a field component")
                for k, t in self._fields[i].items()}
