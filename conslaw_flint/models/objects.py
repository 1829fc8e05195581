"""Models from Python objects: strings, SymPy expressions and matrices, FLINT polynomials,
lists and dicts.

* A map: one expression, or a list of them (``Model.from_map([u*v, u + w])``).
* Fields: a list of fields, each a list (or SymPy column Matrix) of D components
  (``Model.from_fields([[y, -x]])``); or a dict ``{name: right-hand side}`` read as one ODE
  field ``name' = right-hand side`` (state names from the keys).
* Names: given, or taken from the FLINT ring of FLINT input, or the free symbols / names
  that occur, in natural order (``x2`` before ``x10``).

Everything goes through the same safe reader as text input (SymPy expressions are printed and
read back exactly; Floats are read as the decimals SymPy prints).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from .model import Model, ModelError


def _natural_key(name: str) -> tuple[Any, ...]:
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name))


def _is_flint(x: Any) -> bool:
    return type(x).__module__.startswith("flint")


def _text(x: Any) -> str:
    """One component as text for the reader."""
    if isinstance(x, str):
        return x
    if isinstance(x, bool):
        raise ModelError(f"a component is a bool ({x}); give an expression")
    if isinstance(x, int):
        return str(x)
    if _is_flint(x):
        return str(x)
    mod = type(x).__module__
    if mod.startswith("sympy"):
        import sympy

        if not isinstance(x, sympy.Expr):
            raise ModelError(f"a component is a SymPy {type(x).__name__}, not an expression")
        return sympy.sstr(x, order="none")
    raise ModelError(f"a component of type {type(x).__name__} is not an expression; give "
                     "strings, SymPy expressions or FLINT polynomials")


def _names_of(items: Sequence[Any]) -> list[str]:
    """Variable names of the objects: FLINT ring names, SymPy free symbols, identifiers."""
    for x in items:
        if _is_flint(x) and hasattr(x, "context"):
            return list(x.context().names())
    found: set[str] = set()
    for x in items:
        if isinstance(x, str):
            found.update(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", x))
        elif type(x).__module__.startswith("sympy"):
            found.update(str(s) for s in x.free_symbols)
    return sorted(found, key=_natural_key)


def _flatten_matrix(x: Any) -> list[Any]:
    if type(x).__module__.startswith("sympy") and hasattr(x, "shape") and hasattr(x, "tolist"):
        return [e for row in x.tolist() for e in row]
    return list(x)


def model_from_map(components: Any, names: Sequence[str] | None = None,
                   parameters: Sequence[str] | None = None) -> Model:
    """A map phi given by Python objects (see the module docstring)."""
    from .maps import poly_model

    if isinstance(components, (str, bytes)) or not hasattr(components, "__iter__"):
        comps = [components]
    else:
        comps = _flatten_matrix(components)
    if not comps:
        raise ModelError("empty map: give at least one component")
    names = list(names) if names is not None else _names_of(comps)
    if not names:
        raise ModelError("the map is constant (no variable occurs); give names=[...]")
    model = poly_model([_text(c) for c in comps], names=names,
                       spec="map:" + ";".join(_text(c) for c in comps))
    return _with_parameters(model, parameters)


def model_from_fields(fields: Any, names: Sequence[str] | None = None,
                      parameters: Sequence[str] | None = None) -> Model:
    """General fields given by Python objects (see the module docstring)."""
    from .maps import fields_model

    if isinstance(fields, Mapping):
        names = list(names) if names is not None else [str(k) for k in fields]
        if [str(k) for k in fields] != names[:len(fields)]:
            raise ModelError("an ODE dict's keys must be the first state names, in order")
        rows = [list(fields.values()) + ["0"] * (len(names) - len(fields))]
    else:
        rows = [_flatten_matrix(f) for f in fields]
    if not rows:
        raise ModelError("no fields given")
    flat = [c for r in rows for c in r]
    names = list(names) if names is not None else _names_of(flat)
    texts = [[_text(c) for c in r] for r in rows]
    model = fields_model(texts, names=names,
                         spec="fields:" + ";".join(",".join(r) for r in texts))
    return _with_parameters(model, parameters)


def _with_parameters(model: Model, parameters: Sequence[str] | None) -> Model:
    if not parameters:
        return model
    from .ode import with_parameters

    return with_parameters(model, parameters)


def model_from_object(obj: Any, names: Sequence[str] | None = None) -> Model:
    """:func:`conslaw_flint.models.build_model` for anything that is not a string: a dict in
    the model-file form (``{"map": [...]}`` / ``{"fields": [...]}``), a dict of ODE
    right-hand sides, a list of expressions (a map), a SymPy expression or FLINT polynomial
    (a one-component map)."""
    if isinstance(obj, Model):
        return obj
    if isinstance(obj, Mapping):
        if "map" in obj or "fields" in obj:
            from .files import model_from_dict

            data = dict(obj)
            if names is not None:
                data["variables"] = list(names)
            return model_from_dict(data, "model dict", "dict")
        return model_from_fields(obj, names)
    if isinstance(obj, (list, tuple)) or (type(obj).__module__.startswith("sympy")
                                          and hasattr(obj, "shape")):
        return model_from_map(obj, names)
    if type(obj).__module__.startswith(("sympy", "flint")):
        return model_from_map([obj], names)
    raise ModelError(f"cannot build a model from a {type(obj).__name__}; give a "
                     "specification string, a file name, expressions or a dict")


__all__ = ["model_from_fields", "model_from_map", "model_from_object"]
