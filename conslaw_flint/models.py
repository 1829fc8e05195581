"""Model builders: the maps phi (and the fields X_i) of the standard architectures.

Parameter convention ``layer-major-row-major-v1`` (certificates record it; design.md §2):
layer 0 is the input side, layer q the output side; W_l is an n_{lay-1} x n_l matrix; the
parameters are numbered layer by layer, row-major inside each W_l (W1[1,1], W1[1,2], ...), and
the hidden biases b_1..b_{q-1} (b_l of length n_l) come after all weights.

Model specifications (strings, as on the command line):

=========================  ===================================================================
``linear:n0,...,nq``       phi = entries of W_1 W_2 ... W_q (d = n0*nq)
``relu:n0,...,nq``         path lifting, one product per path (d = prod n_l)
``relu-bias:n0,...,nq``    path lifting plus the paths from each hidden bias to the output
``product:D``              phi = x1*x2*...*xD
``poly:E1;E2;...``         phi = (E1, E2, ...) in x1..xD; ``poly[D]:...`` fixes D
``fields:F1;F2;...``       general fields, Fi = D comma-separated components
``random:D,d,m[,seed]``    d random polynomial fields of degree m in D variables
``FILE.json|FILE.toml``    ``{"map": [...]}`` or ``{"fields": [[...], ...]}``,
                           optional ``"variables": [names]``
=========================  ===================================================================

>>> m = build_model("linear:3,4,5")
>>> (m.D, m.d)
(32, 15)
>>> build_model("relu:2,2").names[:3]
('W1[1,1]', 'W1[1,2]', 'W1[2,1]')
"""

from __future__ import annotations

import itertools
import json
import math
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from . import polys
from .errors import UserError
from .fields import Field, FieldFamily
from .parse import ParseError, format_polynomial, parse_polynomial, split_top_level
from .polys import Poly

CONVENTION = "layer-major-row-major-v1"

#: refuse models above these sizes before building anything
MAX_PARAMETERS = 100_000
MAX_COMPONENTS = 2_000_000
MAX_FILE_BYTES = 1_000_000


class ModelError(UserError):
    """A model specification that cannot be built (one-line message naming the fix)."""


@dataclass(frozen=True)
class Model:
    """A parameterization phi: R^D -> R^d (or a list of general fields) and its generators."""

    spec: str
    kind: str
    D: int
    names: tuple[str, ...]
    family: FieldFamily
    widths: tuple[int, ...] | None = None
    bias: bool = False
    inline: str | None = None

    @property
    def d(self) -> int:
        """Number of generators X_i (components of phi)."""
        return self.family.d

    @property
    def phi(self) -> tuple[Poly, ...] | None:
        """The components of phi, or None for general (non-gradient) fields."""
        return self.family.potentials

    @property
    def is_gradient(self) -> bool:
        return self.family.potentials is not None

    def canonical_spec(self) -> str:
        """A self-contained specification that rebuilds the same model (for certificates)."""
        return self.inline if self.inline is not None else self.spec


# ---------------------------------------------------------------------------------------------
# networks


def _parse_widths(text: str, kind: str) -> tuple[int, ...]:
    parts = [t.strip() for t in text.split(",")]
    if not text.strip() or any(not t for t in parts):
        raise ModelError(f"{kind}: empty width list; give widths like {kind}:3,4,5")
    widths = []
    for t in parts:
        try:
            w = int(t)
        except ValueError:
            raise ModelError(f"{kind}: width {t!r} is not an integer; "
                             f"give positive integers like {kind}:3,4,5") from None
        if w < 1:
            raise ModelError(f"{kind}: width {w} must be at least 1")
        if w > 10_000:
            raise ModelError(f"{kind}: width {w} is absurdly large (limit 10000)")
        widths.append(w)
    if len(widths) < 2:
        raise ModelError(f"{kind}: need at least two widths (input and output), "
                         f"e.g. {kind}:3,4,5")
    return tuple(widths)


def network_names(widths: Sequence[int], bias: bool) -> tuple[str, ...]:
    """Display names W1[i,j] (1-based) then b1[i], ..., in the parameter order."""
    names = []
    for lay in range(1, len(widths)):
        for i in range(widths[lay - 1]):
            for j in range(widths[lay]):
                names.append(f"W{lay}[{i + 1},{j + 1}]")
    if bias:
        for lay in range(1, len(widths) - 1):
            for i in range(widths[lay]):
                names.append(f"b{lay}[{i + 1}]")
    return tuple(names)


def _weight_offsets(widths: Sequence[int]) -> list[int]:
    offs = [0]
    for lay in range(1, len(widths)):
        offs.append(offs[-1] + widths[lay - 1] * widths[lay])
    return offs


def _check_sizes(kind: str, D: int, d: int) -> None:
    if D > MAX_PARAMETERS:
        raise ModelError(f"{kind}: D = {D} parameters is above the limit {MAX_PARAMETERS}")
    if d > MAX_COMPONENTS:
        raise ModelError(f"{kind}: d = {d} components is above the limit {MAX_COMPONENTS}")


def linear_net(widths: Sequence[int]) -> tuple[int, list[Poly]]:
    """phi for a deep linear net: the entries of W_1 ... W_q (row-major over (i0, iq))."""
    offs = _weight_offsets(widths)
    q = len(widths) - 1
    D = offs[-1]
    n_paths = math.prod(widths[1:-1]) if q > 1 else 1
    _check_sizes("linear", D, widths[0] * widths[-1] * n_paths)
    phi = []
    for i0 in range(widths[0]):
        for iq in range(widths[-1]):
            poly: Poly = {}
            for mid in itertools.product(*(range(w) for w in widths[1:-1])):
                path = (i0, *mid, iq)
                idx = [offs[lay] + path[lay] * widths[lay + 1] + path[lay + 1] for lay in range(q)]
                poly[polys.monomial(*((k, 1) for k in idx))] = Fraction(1)
            phi.append(poly)
    return D, phi


def relu_net(widths: Sequence[int], bias: bool) -> tuple[int, list[Poly]]:
    """phi for a deep ReLU net: the path lifting (paths from inputs, then from hidden biases)."""
    offs = _weight_offsets(widths)
    q = len(widths) - 1
    n_bias = sum(widths[1:-1]) if bias else 0
    D = offs[-1] + n_bias
    d = math.prod(widths)
    if bias:
        d += sum(math.prod(widths[lay:]) for lay in range(1, q))
    _check_sizes("relu", D, d)
    one = Fraction(1)
    phi: list[Poly] = []
    for path in itertools.product(*(range(w) for w in widths)):
        idx = sorted(offs[lay] + path[lay] * widths[lay + 1] + path[lay + 1] for lay in range(q))
        phi.append({tuple((k, 1) for k in idx): one})
    if bias:
        b_off = offs[-1]
        for lay in range(1, q):
            for path in itertools.product(*(range(w) for w in widths[lay:])):
                idx = [b_off + path[0]]
                idx += [offs[t] + path[t - lay] * widths[t + 1] + path[t - lay + 1]
                        for t in range(lay, q)]
                phi.append({tuple((k, 1) for k in sorted(idx)): one})
            b_off += widths[lay]
    return D, phi


# ---------------------------------------------------------------------------------------------
# user maps and fields


def _parse(text: str, names: Sequence[str] | None, D: int | None, what: str) -> Poly:
    try:
        return parse_polynomial(text, names=names, nvars=D)
    except ParseError as e:
        raise ModelError(f"{what}: {e}") from None


def _infer_D(parsed: Sequence[Poly]) -> int:
    used = set()
    for p in parsed:
        used |= polys.variables(p)
    return max(used) + 1 if used else 0


def poly_model(exprs: Sequence[str], D: int | None = None,
               names: Sequence[str] | None = None) -> tuple[int, list[Poly]]:
    """phi given by polynomial expressions in x1..xD (or in ``names``)."""
    exprs = [e.strip() for e in exprs]
    if not exprs or all(not e for e in exprs):
        raise ModelError("poly: empty map; give components like poly:x1*x2;x1+x3")
    for n, e in enumerate(exprs):
        if not e:
            raise ModelError(f"poly: component {n + 1} is empty; remove the extra ';'")
    D_given = D is not None or names is not None
    if names is not None:
        D = len(names)
    phi = [_parse(e, names, D, f"poly component {n + 1}") for n, e in enumerate(exprs)]
    if D is None:
        D = _infer_D(phi)
    if D == 0:
        raise ModelError("poly: the map is constant (no variable occurs), so D is unknown; "
                         "give D with poly[D]:... (a constant map conserves every function)")
    used = set()
    for p in phi:
        used |= polys.variables(p)
    if not D_given and len(used) < D:
        missing = sorted(set(range(D)) - used)
        raise ModelError(f"poly: variable x{missing[0] + 1} does not occur (index gap); "
                         f"renumber the variables or fix D with poly[{D}]:...")
    return D, phi


def fields_model(specs: Sequence[Sequence[str]],
                 names: Sequence[str] | None = None) -> tuple[int, list[Field]]:
    """General polynomial vector fields, each given by its D components."""
    if not specs:
        raise ModelError("fields: empty list; give fields like fields:x2,-x1,0;x3,0,-x1")
    D = len(specs[0])
    if names is not None and len(names) != D:
        raise ModelError(f"fields: {len(names)} variable names for fields with {D} components")
    out = []
    for n, comps in enumerate(specs):
        if len(comps) != D:
            raise ModelError(f"fields: field {n + 1} has {len(comps)} components, field 1 has "
                             f"{D}; every field needs one component per variable")
        f: Field = {}
        for k, text in enumerate(comps):
            if not text.strip():
                raise ModelError(f"fields: component {k + 1} of field {n + 1} is empty; "
                                 "write 0 for a zero component")
            p = _parse(text, names, D, f"field {n + 1} component {k + 1}")
            if p:
                f[k] = p
        out.append(f)
    return D, out


def random_fields(D: int, d: int, m: int, seed: int) -> list[Field]:
    """d random polynomial fields of degree <= m in D variables (integer coefficients in
    [-5, 5], each monomial present with probability 1/2), as in the reference's first
    experiment; reproducible from ``seed``."""
    rng = random.Random(seed)
    monos = [mono for deg in range(m + 1)
             for mono in _monomials_of_degree(D, deg)]
    out = []
    for _ in range(d):
        f: Field = {}
        for k in range(D):
            comp: Poly = {}
            for mono in monos:
                if rng.random() < 0.5:
                    c = rng.randint(-5, 5)
                    if c:
                        comp[mono] = Fraction(c)
            if comp:
                f[k] = comp
        out.append(f)
    return out


def _monomials_of_degree(D: int, deg: int) -> list[polys.Monomial]:
    out = []
    for combo in itertools.combinations_with_replacement(range(D), deg):
        out.append(polys.monomial(*((v, 1) for v in combo)))
    return out


# ---------------------------------------------------------------------------------------------
# files


def _load_file(path: str) -> dict[str, Any]:
    if not os.path.isfile(path):
        raise ModelError(f"model file {path!r} not found")
    size = os.path.getsize(path)
    if size == 0:
        raise ModelError(f"model file {path!r} is empty")
    if size > MAX_FILE_BYTES:
        raise ModelError(f"model file {path!r} is {size} bytes, above the limit "
                         f"{MAX_FILE_BYTES}")
    with open(path, "rb") as fh:
        raw = fh.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ModelError(f"model file {path!r} is not UTF-8 text") from None
    try:
        if path.endswith(".toml"):
            import tomllib

            data = tomllib.loads(text)
        else:
            data = json.loads(text)
    except RecursionError:
        raise ModelError(f"model file {path!r} is nested too deeply") from None
    except ValueError as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        if "digits" in msg and "limit" in msg:
            msg = "an integer has too many digits"
        raise ModelError(f"model file {path!r} is malformed: {msg}") from None
    if not isinstance(data, dict):
        raise ModelError(f"model file {path!r} must hold an object with key 'map' or 'fields'")
    return data


def _str_list(x: Any, what: str, path: str) -> list[str]:
    if not isinstance(x, list) or not all(isinstance(s, str) for s in x):
        raise ModelError(f"model file {path!r}: {what} must be a list of strings")
    if any(len(s) > 100_000 for s in x):
        raise ModelError(f"model file {path!r}: a string in {what} is too long")
    return x


def _model_from_file(path: str) -> Model:
    data = _load_file(path)
    unknown = set(data) - {"map", "fields", "variables", "D", "name", "description"}
    if unknown:
        raise ModelError(f"model file {path!r}: unknown key {sorted(unknown)[0]!r}; "
                         "use 'map' or 'fields' (and optionally 'variables')")
    for key in ("name", "description"):
        if key in data and (not isinstance(data[key], str) or len(data[key]) > 10_000):
            raise ModelError(f"model file {path!r}: {key!r} must be a string of at most "
                             "10000 characters")
    names = None
    if "variables" in data:
        names = _str_list(data["variables"], "'variables'", path)
        if len(names) > MAX_PARAMETERS:
            raise ModelError(f"model file {path!r}: {len(names)} variables, above the limit "
                             f"{MAX_PARAMETERS}")
        if not names or len(set(names)) != len(names):
            raise ModelError(f"model file {path!r}: 'variables' must be distinct names")
        for n in names:
            if not n.isidentifier():
                raise ModelError(f"model file {path!r}: variable name {n!r} is not an "
                                 "identifier")
    if ("map" in data) == ("fields" in data):
        raise ModelError(f"model file {path!r} must have exactly one of 'map' or 'fields'")
    if "map" in data:
        exprs = _str_list(data["map"], "'map'", path)
        D_decl = data.get("D")
        if D_decl is not None and (not isinstance(D_decl, int) or isinstance(D_decl, bool)
                                   or D_decl < 1):
            raise ModelError(f"model file {path!r}: 'D' must be a positive integer")
        if D_decl is not None and D_decl > MAX_PARAMETERS:
            raise ModelError(f"model file {path!r}: 'D' is above the limit {MAX_PARAMETERS}")
        D, phi = poly_model(exprs, D=D_decl, names=names)
        disp = tuple(names) if names else tuple(f"x{i + 1}" for i in range(D))
        inline = f"poly[{D}]:" + ";".join(format_polynomial(p) for p in phi)
        return Model(path, "poly", D, disp, FieldFamily.from_gradients(phi, D), inline=inline)
    raw = data["fields"]
    if not isinstance(raw, list) or not raw:
        raise ModelError(f"model file {path!r}: 'fields' must be a non-empty list of lists")
    specs = [_str_list(f, "each field", path) for f in raw]
    D, flds = fields_model(specs, names=names)
    disp = tuple(names) if names else tuple(f"x{i + 1}" for i in range(D))
    inline = "fields:" + ";".join(
        ",".join(format_polynomial(f.get(k, {})) for k in range(D)) for f in flds)
    return Model(path, "fields", D, disp, FieldFamily(D, flds), inline=inline)


# ---------------------------------------------------------------------------------------------
# entry point

KINDS = ("linear", "relu", "relu-bias", "product", "poly", "fields", "random")


def build_model(spec: str) -> Model:
    """Build a model from its specification string (see the module docstring)."""
    if not isinstance(spec, str) or not spec.strip():
        raise ModelError("empty model specification; try linear:3,4,5 or relu:2,3,2")
    spec = spec.strip()
    if len(spec) > 1_000_000:
        raise ModelError("model specification is too long (limit 1000000 characters)")
    kind, sep, rest = spec.partition(":")
    kind = kind.strip()
    is_spec = sep and (kind in KINDS or (kind.startswith("poly[") and kind.endswith("]")))
    if not is_spec and spec.endswith((".json", ".toml")):
        return _model_from_file(spec)
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
        raise ModelError(f"unknown model kind {kind!r}; use one of {', '.join(KINDS)} "
                         "or a .json/.toml file")
    if kind in ("linear", "relu", "relu-bias"):
        widths = _parse_widths(rest, kind)
        bias = kind == "relu-bias"
        if kind == "linear":
            D, phi = linear_net(widths)
        else:
            D, phi = relu_net(widths, bias)
        return Model(spec, kind, D, network_names(widths, bias),
                     FieldFamily.from_gradients(phi, D), widths=widths, bias=bias)
    if kind == "product":
        try:
            D = int(rest)
        except ValueError:
            raise ModelError(f"product: {rest!r} is not an integer; e.g. product:3") from None
        if D < 1 or D > MAX_PARAMETERS:
            raise ModelError(f"product: D = {D} must be between 1 and {MAX_PARAMETERS}")
        phi = [polys.product_of_vars(range(D))]
        return Model(spec, kind, D, tuple(f"x{i + 1}" for i in range(D)),
                     FieldFamily.from_gradients(phi, D))
    if kind == "poly":
        exprs = split_top_level(rest, ";")
        D, phi = poly_model(exprs, D=D_fixed)
        return Model(spec, kind, D, tuple(f"x{i + 1}" for i in range(D)),
                     FieldFamily.from_gradients(phi, D))
    if kind == "fields":
        specs = [split_top_level(f, ",") for f in split_top_level(rest, ";")]
        if not rest.strip():
            specs = []
        D, flds = fields_model(specs)
        return Model(spec, kind, D, tuple(f"x{i + 1}" for i in range(D)), FieldFamily(D, flds))
    # random
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
    if math.comb(D + m, m) * D * d > 2_000_000:
        raise ModelError("random: too many terms; lower D, d or m")
    return Model(f"random:{D},{d},{m},{seed}", kind, D, tuple(f"x{i + 1}" for i in range(D)),
                 FieldFamily(D, random_fields(D, d, m, seed)))
