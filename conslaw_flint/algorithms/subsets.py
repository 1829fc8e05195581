"""Block laws: the conservation laws that depend only on a chosen subset of the variables.

Marcotte, Peyré, Gribonval ("Transformative or Conservative? Conservation laws for ResNets and
Transformers", ICML 2025, arXiv:2506.06194, Prop. 4.3) ask for the laws of a deep network that
depend only on the parameters of one block (a pair of layers, a residual block, an attention
layer) and show that they reduce to the block in isolation.  Here that reduction is a model
transformation, valid for any polynomial fields.

The reduction
-------------
Let T be a set of variables, theta = (theta_T, theta_R) with R the other variables, and
X_1..X_d the generators.  A function h(theta_T) (analytic, on an open set) is a law iff

    sum_{k in T} d_k h(theta_T) X_{i,k}(theta_T, theta_R) = 0   for all i and all theta.   (1)

Expand each component in the other variables: X_{i,k} = sum_beta c_{i,k,beta}(theta_T)
theta_R^beta, and let Y_{i,beta} = (c_{i,k,beta})_{k in T}, a polynomial field on R^T.

*Claim*: h(theta_T) satisfies (1) iff <grad h, Y_{i,beta}> = 0 on R^T for all i and beta.

*Proof.*  The left side of (1) is sum_beta <grad h, Y_{i,beta}>(theta_T) theta_R^beta, a
polynomial in theta_R whose coefficients are functions of theta_T alone (d_k h does not depend
on theta_R).  If every coefficient vanishes, so does the sum.  Conversely, for fixed theta_T
the sum vanishes for theta_R in an open set, and a polynomial vanishing on an open set has all
its coefficients zero.  []

So the laws depending only on theta_T are the laws of the family (Y_{i,beta}) on R^T, and by
Frobenius (design.md §1) their number near a generic theta_T is |T| - dim Lie(Y)(theta_T): the
same count, law search and certificate as any model (:func:`subset_model` builds it).  Fields
that are rational multiples of one another, or zero, are dropped, and when the family is small
enough a basis of its span over Q is kept (same Lie algebra, fewer generators).  The
certificate of such a count certifies the laws of the family Y; the reduction (1) <=> Y is the
claim above, not re-checked by the verifier.

Note that the laws depending on theta_T are not in general the laws of the block's own map:
the coefficients c_{i,k,beta} carry how the rest of the network uses the block.  For a deep
linear network and T = (W_1, W_3), the only such law is ||W_1||^2 - ||W_3||^2 (a sum of the
balances of the layers in between).

Subsets are given as names, groups, indices and ranges (:func:`parse_subset`)::

    W1,W3          every W1[i,j] and W3[i,j] (a group: the names NAME[...])
    W1[1,1],b1     single names and groups
    x1,x4..x6      x-indices (1-based) and ranges of them

>>> from conslaw_flint.models import build_model
>>> m = subset_model(build_model("linear:1,1,1,1"), "W1,W3")
>>> m.names, [[str(c) for c in f] for f in m.fields]
(('W1[1,1]', 'W3[1,1]'), [['W3[1,1]', 'W1[1,1]']])
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from ..core import budget
from ..core.fields import VectorField
from ..core.polynomials import Monomial, Poly, from_terms, primitive, ring
from ..io.parse import parse_in, split_top_level
from ..models.flows import fields_model_of, sparse_fields
from ..models.model import Model, ModelError

#: largest (fields x monomials) matrix reduced to a basis over Q
MAX_BASIS_ENTRIES = 2_000_000

_RANGE_RE = re.compile(r"x(\d+)\s*(?:\.\.|-)\s*x(\d+)")
_INDEX_RE = re.compile(r"x(\d+)")


def parse_subset(model: Model, subset: str | Sequence[Any]) -> list[int]:
    """The variable indices (0-based, increasing) named by ``subset``: a string of
    comma-separated items or a sequence of items; an item is a variable name, a group
    ``NAME`` (every variable named ``NAME[...]``), an x-index ``xK`` or a range ``xA..xB``
    (1-based, inclusive), or an int (0-based index).  One-line :class:`ModelError` otherwise.
    """
    if isinstance(subset, str):
        items: list[Any] = [t.strip() for t in split_top_level(subset, ",")]
    elif isinstance(subset, (list, tuple, set, frozenset, range)):
        items = list(subset)
    else:
        raise ModelError(f"--subset: give names or indices, not {type(subset).__name__}")
    if not items or all(isinstance(t, str) and not t for t in items):
        raise ModelError("--subset is empty; give variables such as W1,W3 or x1..x4")
    index = {n: i for i, n in enumerate(model.names)}
    groups: dict[str, list[int]] = {}
    for i, n in enumerate(model.names):
        b = n.find("[")
        if b > 0 and n.endswith("]"):
            groups.setdefault(n[:b], []).append(i)
    D = model.D
    out: set[int] = set()
    for t in items:
        if isinstance(t, bool):
            raise ModelError(f"--subset: {t!r} is not a variable")
        if isinstance(t, int):
            if not 0 <= t < D:
                raise ModelError(f"--subset: index {t} is out of range 0..{D - 1}")
            out.add(t)
            continue
        if not isinstance(t, str):
            raise ModelError(f"--subset: {t!r} is not a variable name")
        if not t:
            raise ModelError("--subset: empty item; remove the extra ','")
        if t in index:
            out.add(index[t])
            continue
        if t in groups:
            out.update(groups[t])
            continue
        m = _RANGE_RE.fullmatch(t)
        if m:
            a, b = int(m.group(1)), int(m.group(2))
            if not 1 <= a <= b <= D:
                raise ModelError(f"--subset: range {t} must satisfy 1 <= A <= B <= D = {D}")
            out.update(range(a - 1, b))
            continue
        m = _INDEX_RE.fullmatch(t)
        if m:
            k = int(m.group(1))
            if not 1 <= k <= D:
                raise ModelError(f"--subset: {t} is out of range x1..x{D}")
            out.add(k - 1)
            continue
        hint = ", ".join(sorted(groups)[:6]) or ", ".join(model.names[:4])
        raise ModelError(f"--subset: unknown variable {t[:60]!r}; give names, groups "
                         f"({hint}), or x-indices x1..x{D}")
    return sorted(out)


def _split(m: Monomial, pos: dict[int, int]) -> tuple[Monomial, Monomial]:
    inside = tuple((pos[v], e) for v, e in m if v in pos)
    outside = tuple((v, e) for v, e in m if v not in pos)
    return inside, outside


def subset_fields(model: Model, T: Sequence[int]
                  ) -> list[dict[int, list[tuple[Monomial, Fraction]]]]:
    """The fields Y_{i,beta} on R^T (sparse: {component in T's numbering: terms}), in the
    order of the generators i, then of the monomials beta as they first occur."""
    pos = {v: j for j, v in enumerate(T)}
    out: list[dict[int, list[tuple[Monomial, Fraction]]]] = []
    for X in sparse_fields(model):
        budget.tick("splitting the fields")
        by_beta: dict[Monomial, dict[int, list[tuple[Monomial, Fraction]]]] = {}
        for k, items in X.items():
            if k not in pos:
                continue
            for m, c in items:
                inside, beta = _split(m, pos)
                by_beta.setdefault(beta, {}).setdefault(pos[k], []).append((inside, c))
        out.extend(by_beta.values())
    return out


def _basis(fields: list[VectorField]) -> list[VectorField]:
    """A subfamily spanning the same Q-vector space (exact): scalar multiples and zeros
    dropped, then, when small enough, a maximal independent subfamily (exact rref)."""
    seen: dict[tuple[tuple[int, str], ...], None] = {}
    kept: list[VectorField] = []
    for f in fields:
        items = list(f.items())
        if not items:
            continue
        lead = primitive(items[0][1])
        scale = lead.leading_coefficient() / items[0][1].leading_coefficient()
        key = tuple((k, str(c * scale)) for k, c in items)
        if key not in seen:
            seen[key] = None
            kept.append(f)
    if len(kept) < 2:
        return kept
    cols: dict[tuple[int, tuple[int, ...]], int] = {}
    rows = []
    for f in kept:
        row = {}
        for k, c in f.items():
            for exps, coef in c.terms():
                key = (k, tuple(exps))
                row[cols.setdefault(key, len(cols))] = coef
        rows.append(row)
    if len(rows) * len(cols) > MAX_BASIS_ENTRIES:
        return kept
    import flint

    # the pivot columns of the transpose are a maximal independent set of rows
    M = flint.fmpq_mat(len(cols), len(rows))
    for j, row in enumerate(rows):
        for i, c in row.items():
            M[i, j] = c
    R, rank = M.rref()
    pivots = []
    r = 0
    for j in range(len(rows)):
        if r < rank and R[r, j] != 0:
            pivots.append(j)
            r += 1
    return [kept[j] for j in pivots]


def subset_model(model: Model, subset: str | Sequence[Any]) -> Model:
    """The model whose laws are the laws of ``model`` that depend only on the variables of
    ``subset`` (see the module docstring), on those variables with their names."""
    T = parse_subset(model, subset)
    label_items = subset if isinstance(subset, str) else ",".join(map(str, subset))
    label = f"{model.spec}|subset={label_items}"
    names = tuple(model.names[i] for i in T)
    R = ring(names)
    raw = subset_fields(model, T)
    fields = [VectorField(R, {k: from_terms(R, items) for k, items in f.items()})
              for f in raw]
    fields = _basis(fields)
    if not fields:
        fields = [VectorField(R, {})]
    excluded = []
    for t in model.excluded:
        try:
            num, _ = parse_in(R, t)
            excluded.append(str(num))
        except Exception:  # noqa: BLE001 - involves variables outside the subset
            continue
    note = (f"laws that depend only on {len(T)} of the {model.D} variables "
            f"({_describe(model, T)}): the laws of the {len(fields)} fields obtained by "
            "expanding the generators' components on these variables in the other variables "
            "(TC Prop. 4.3; proof in conslaw_flint.algorithms.subsets); a certificate checks "
            "this reduced family")
    return fields_model_of(label, "subset", R, fields, excluded, (*model.notes, note),
                           {**model.meta, "subset": T, "subset_of": model.spec})


def _describe(model: Model, T: Sequence[int]) -> str:
    names = [model.names[i] for i in T]
    return ", ".join(names) if len(names) <= 8 else ", ".join(names[:8]) + ", ..."


def restrict_law(h: Poly, model: Model, T: Sequence[int]) -> Poly:
    """A law of the subset model (in its ring) as a polynomial of ``model``'s ring."""
    return h.project_to_context(model.ring, mapping={j: v for j, v in enumerate(T)})


def build_with_options(spec: Any, flow: str | None = None,
                       subset: str | Sequence[Any] | None = None) -> Model:
    """``build_model(spec, flow=flow)`` restricted to the laws depending only on ``subset``
    (:func:`subset_model`); a spec string may end with ``|subset=VARS`` (after an optional
    ``|flow=FLOW``), as the model labels of subset models read."""
    from ..models import build_model

    if isinstance(spec, str) and "|" in spec:
        base, _, opt = spec.rpartition("|")
        key, eq, val = opt.partition("=")
        if key.strip() == "subset" and eq:
            if subset is not None:
                raise ModelError("two subsets given (SPEC|subset=... and --subset); give one")
            return build_with_options(base, flow, val)
        if key.strip() == "parameters" and eq:
            from ..models.ode import with_parameters

            return with_parameters(build_with_options(base, flow, subset), val.split(","))
    model = build_model(spec, flow=flow)
    return subset_model(model, subset) if subset is not None else model


__all__ = ["build_with_options", "parse_subset", "restrict_law", "subset_fields",
           "subset_model"]
