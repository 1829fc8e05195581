"""Model builders: every input becomes a :class:`~conslaw_flint.models.model.Model`.

Model specifications (strings, as on the command line):

=========================  ===================================================================
``linear:n0,...,nq``       phi = entries of W_1 W_2 ... W_q (d = n0*nq)
``relu:n0,...,nq``         path lifting, one product per path (d = prod n_l)
``relu-bias:n0,...,nq``    path lifting plus the paths from each hidden bias to the output
``product:D``              phi = x1*x2*...*xD
``poly:E1;E2;...``         phi = (E1, E2, ...) in x1..xD; ``poly[D]:...`` fixes D
``fields:F1;F2;...``       general fields, Fi = D comma-separated components
``random:D,d,m[,seed]``    d random polynomial fields of degree m in D variables
``attention:d1,dim[,heads=H]``  attention layer, phi = (Q_h^T K_h, V_h^T O_h) per head
``softmax:n,m``            linear classifier (n classes, m features) under cross-entropy
``conv:c0,c1,c2,nu,nv``    two-layer convolutional ReLU network, path lifting
``dag:EDGES[;skip=..][;bias=..]``  ReLU network on a graph, e.g. ``dag:x>h,h>y;skip=x>y``
``FILE.json|FILE.toml``    ``{"map": [...]}``, ``{"fields": [[...], ...]}`` or ``{"dag": {...}}``,
                           optional ``"variables": [names]`` and ``"flow"``
=========================  ===================================================================

A flow (:mod:`conslaw_flint.models.flows`: momentum, Nesterov, mirror, weight decay) is given
by ``build_model(spec, flow="momentum")``, a ``"flow"`` key in a model file, or the suffix
``SPEC|flow=FLOW`` (``linear:1,2,1|flow=momentum:tau=1``).  Architectures:
:mod:`~conslaw_flint.models.architectures`, :mod:`~conslaw_flint.models.dag`.

Rational expressions are accepted in ``poly:``, ``fields:`` and files (see
:mod:`conslaw_flint.models.maps`).  Python objects (SymPy expressions, FLINT polynomials,
lists, dicts) are accepted by :func:`build_model` too.

>>> m = build_model("linear:3,4,5")
>>> (m.D, m.d)
(32, 15)
>>> build_model("relu:2,2").names[:3]
('W1[1,1]', 'W1[1,2]', 'W1[2,1]')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..io.parse import split_top_level
from .maps import fields_model, poly_model, random_model
from .model import CONVENTION, Model, ModelError
from .networks import MAX_PARAMETERS, network_model, parse_widths, product_model


def _from_map(components: Any, names: Sequence[str] | None = None,
              parameters: Sequence[str] | None = None) -> Model:
    """A model phi = (components): strings, SymPy expressions or FLINT polynomials, in the
    variables ``names`` (default: the variables that occur, in natural order); ``parameters``
    are held constant."""
    from .objects import model_from_map

    return model_from_map(components, names, parameters)


def _from_fields(fields: Any, names: Sequence[str] | None = None,
                 parameters: Sequence[str] | None = None) -> Model:
    """A model of general vector fields: a list of fields, each a list of D components
    (strings, SymPy expressions, FLINT polynomials), one SymPy Matrix per field, or a dict
    {state: right-hand side} (one ODE field); ``parameters`` are held constant."""
    from .objects import model_from_fields

    return model_from_fields(fields, names, parameters)


Model.from_map = staticmethod(_from_map)  # type: ignore[attr-defined]
Model.from_fields = staticmethod(_from_fields)  # type: ignore[attr-defined]

KINDS = ("linear", "relu", "relu-bias", "product", "poly", "fields", "random", "attention",
         "softmax", "conv", "dag", "ode", "hamiltonian")


def build_model(spec: Any, names: Sequence[str] | None = None, *,
                flow: str | None = None) -> Model:
    """Build a model from a specification string (see the module docstring), a model file
    name, or a Python object (:func:`conslaw_flint.models.objects.model_from_object`), then
    apply the flow ``flow`` (:mod:`conslaw_flint.models.flows`; default the gradient flow).

    Raises :class:`ModelError` (one line naming the fix) for anything that cannot be built.
    """
    from .flows import apply_flow

    if isinstance(spec, str) and "|" in spec:
        base, _, opt = spec.rpartition("|")
        key, eq, val = opt.partition("=")
        if key.strip() != "flow" or not eq:
            raise ModelError(f"unknown model option {opt.strip()[:40]!r} after '|'; "
                             "write SPEC|flow=FLOW, e.g. linear:1,2,1|flow=momentum")
        if flow is not None:
            raise ModelError("two flows given (SPEC|flow=... and flow=); give one")
        return build_model(base, names, flow=val)
    model = _build(spec, names)
    return apply_flow(model, flow) if flow is not None else model


def _build(spec: Any, names: Sequence[str] | None = None) -> Model:
    if not isinstance(spec, str):
        from .objects import model_from_object

        return model_from_object(spec, names)
    if not spec.strip():
        raise ModelError("empty model specification; try linear:3,4,5 or relu:2,3,2")
    spec = spec.strip()
    if len(spec) > 1_000_000:
        raise ModelError("model specification is too long (limit 1000000 characters)")
    kind, sep, rest = spec.partition(":")
    kind = kind.strip()
    if kind == "torch" and sep:
        # a saved nn.Module (runs pickle: trusted files only; see models/torch_module.py)
        from .torch_module import model_from_torch_file

        return model_from_torch_file(rest.strip())
    is_spec = sep and (kind in KINDS or (kind.startswith("poly[") and kind.endswith("]")))
    if not is_spec and spec.endswith((".json", ".toml", ".ode")):
        from .files import model_from_file

        return model_from_file(spec)
    D_fixed = None
    if kind.startswith("poly[") and kind.endswith("]"):
        try:
            D_fixed = int(kind[5:-1])
        except ValueError:
            raise ModelError(f"poly[D]: {kind[5:-1]!r} is not an integer") from None
        if D_fixed < 1 or D_fixed > MAX_PARAMETERS:
            raise ModelError(f"poly[D]: D = {D_fixed} must be between 1 and {MAX_PARAMETERS}")
        kind = "poly"
    if not sep or kind not in KINDS:
        raise ModelError(f"unknown model kind {kind!r}; use one of {', '.join(KINDS)}, "
                         "torch:FILE.pt or a .json/.toml/.ode file")
    if kind in ("linear", "relu", "relu-bias"):
        return network_model(kind, parse_widths(rest, kind), spec)
    if kind in ("attention", "softmax", "conv"):
        from .architectures import build_architecture

        return build_architecture(kind, rest, spec)
    if kind == "dag":
        from .dag import parse_dag

        return parse_dag(rest, spec)
    if kind == "ode":
        from .ode import ode_model

        return ode_model(rest, spec=spec)
    if kind == "hamiltonian":
        from .ode import hamiltonian_model

        return hamiltonian_model(rest, spec=spec)
    if kind == "product":
        try:
            D = int(rest)
        except ValueError:
            raise ModelError(f"product: {rest!r} is not an integer; e.g. product:3") from None
        return product_model(D, spec)
    if kind == "poly":
        exprs = split_top_level(rest, ";")
        if exprs and not exprs[-1].strip() and len(exprs) > 1:
            raise ModelError("poly: the specification ends with ';'; remove the trailing ';'")
        return poly_model(exprs, D=D_fixed, spec=spec)
    if kind == "fields":
        pieces = split_top_level(rest, ";")
        if len(pieces) > 1 and not pieces[-1].strip():
            raise ModelError("fields: the specification ends with ';'; remove the trailing ';'")
        specs = [split_top_level(f, ",") for f in pieces] if rest.strip() else []
        return fields_model(specs, spec=spec)
    parts = [t.strip() for t in rest.split(",")]
    if len(parts) not in (3, 4):
        raise ModelError("random: give D,d,m[,seed], e.g. random:4,2,2,0")
    try:
        D, d, m = (int(t) for t in parts[:3])
        seed = int(parts[3]) if len(parts) == 4 else 0
    except ValueError:
        raise ModelError("random: D, d, m and seed must be integers, e.g. random:4,2,2,0") \
            from None
    if not (1 <= D <= 30 and 1 <= d <= 100 and 0 <= m <= 6):
        raise ModelError("random: need 1 <= D <= 30, 1 <= d <= 100, 0 <= m <= 6")
    import math

    if math.comb(D + m, m) * D * d > 2_000_000:
        raise ModelError("random: too many terms; lower D, d or m")
    return random_model(D, d, m, seed)


__all__ = ["CONVENTION", "KINDS", "Model", "ModelError", "build_model"]
