"""Attention layers, softmax classifiers and convolutional ReLU networks as maps phi.

The settings of Marcotte, Peyré, Gribonval, "Transformative or Conservative? Conservation laws
for ResNets and Transformers" (ICML 2025, arXiv:2506.06194; "TC" below).  Each builder gives a
gradient model (X_i = grad phi_i) whose parameters carry the setting's own names; the inline
specification that certificates record is the ``poly[D]:`` text of phi in x1..xD.

``attention:d1,dim[,heads=H]`` -- a multi-head attention layer
    Input X (tokens x d1).  Head h has four dim x d1 matrices Q_h, K_h, V_h, O_h (row = head
    coordinate 1..dim, column = embedding coordinate 1..d1) and the layer is
    sum_h softmax(X Q_h^T K_h X^T) X V_h^T O_h, so it factors through
    phi = (Q_h^T K_h, V_h^T O_h)_h: 2 H d1^2 components, the entries of the d1 x d1 products
    (row-major), head by head.  Parameters: head by head, Q_h, K_h, V_h, O_h, each row-major;
    names ``Q[r,a]`` (one head) or ``Q2[r,a]`` (head 2).  Each product is a two-layer linear
    network, whose laws are the entries of Q_h Q_h^T - K_h K_h^T and V_h V_h^T - O_h O_h^T
    (dim(dim+1)/2 each when dim <= d1); TC proves these are all the laws of one head.  For
    H > 1 the count is that of this phi; whether it is complete for the layer is open (the
    sum over heads is not a function of each head's products alone).
``softmax:n,m`` -- a linear classifier under the cross-entropy loss
    W is n x m (n classes, m features: the logits are W x, PyTorch's ``Linear(m, n).weight``
    layout), names ``W[i,j]``.  softmax(z + c 1) = softmax(z), so the loss depends on W only
    through P W with P = I - 11^T/n, the projection of each column on the sum-zero directions
    of the output: phi = P W (n m components, row-major), whose gradient fields are the
    coordinate fields projected on those directions.  The laws are the m column sums
    sum_i W[i,j] (TC Prop. 3.11: c.f. the translation invariance of the softmax).
``conv:c0,c1,c2,nu,nv`` -- a two-layer multi-channel convolutional ReLU network
    Input channels a = 1..c0 of length L, hidden channels b = 1..c1, output channels
    c = 1..c2, filters U[a,b,k] (k = 1..nu) and V[b,c,l] (l = 1..nv), circular convolutions:
    h_b[t] = relu(sum_{a,k} U[a,b,k] x_a[t+k-1]), y_c[t] = sum_{b,l} V[b,c,l] h_b[t+l-1]
    (indices mod L).  On each activation region y is linear in the path products
    U[a,b,k] V[b,c,l], so it factors through the path lifting phi = (U[a,b,k] V[b,c,l]) over
    (a, k, b, c, l) in lexicographic order (c0 nu c1 c2 nv components).  Parameters: U
    row-major over (a, b, k), then V over (b, c, l).  phi does not depend on L; it is the
    lifting for L >= max(nu, nv), where distinct taps of one filter read distinct entries
    (for smaller L, taps k and k + L of a filter coincide, the network depends only on their
    sum, and it has more laws than this phi).  TC Thm 3.6: the laws are the c1 functions
    sum_{a,k} U[a,b,k]^2 - sum_{c,l} V[b,c,l]^2, one per hidden channel.

>>> m = attention_model(2, 2)
>>> m.D, m.d, m.names[:3]
(16, 8, ('Q[1,1]', 'Q[1,2]', 'Q[2,1]'))
>>> str(m.phi[0])
'Q[1,1]*K[1,1] + Q[2,1]*K[2,1]'
>>> [str(p) for p in softmax_model(2, 1).phi]
['1/2*W[1,1] - 1/2*W[2,1]', '-1/2*W[1,1] + 1/2*W[2,1]']
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from ..core import budget
from ..core.fields import FieldFamily
from ..core.polynomials import Poly, fmpq, ring, tree_sum
from .maps import inline_text
from .model import Model, ModelError
from .networks import BYTES_PER_ENTRY, MAX_PARAMETERS, _table

ARCHITECTURES = ("attention", "softmax", "conv")


def _ints(text: str, kind: str, n: int | tuple[int, ...], example: str) -> list[int]:
    parts = [t.strip() for t in text.split(",")]
    counts = (n,) if isinstance(n, int) else n
    if len(parts) not in counts or any(not t for t in parts):
        want = " or ".join(str(c) for c in counts)
        raise ModelError(f"{kind}: expected {want} comma-separated sizes, e.g. {example}")
    out = []
    for t in parts:
        try:
            v = int(t)
        except ValueError:
            raise ModelError(f"{kind}: {t!r} is not an integer; e.g. {example}") from None
        if v < 1:
            raise ModelError(f"{kind}: size {v} must be at least 1")
        if v > 100_000:
            raise ModelError(f"{kind}: size {v} is above the limit 100000")
        out.append(v)
    return out


def _check(kind: str, D: int, entries: int) -> None:
    if D > MAX_PARAMETERS:
        raise ModelError(f"{kind}: D = {D} parameters is above the limit {MAX_PARAMETERS}")
    budget.reserve(entries * BYTES_PER_ENTRY, f"the map of this {kind} model "
                   f"({entries} monomial entries)", "use smaller sizes")


def _gradient_model(spec: str, kind: str, names: Sequence[str], family: FieldFamily,
                    notes: tuple[str, ...] = (), meta: dict[str, object] | None = None
                    ) -> Model:
    phi = family.potentials
    assert phi is not None
    inline = f"poly[{len(names)}]:" + ";".join(inline_text(p) for p in phi)
    return Model(spec, kind, tuple(names), family, inline=inline, notes=notes,
                 meta=dict(meta or {}))


def _matrix_names(letter: str, rows: int, cols: int) -> list[str]:
    return [f"{letter}[{r + 1},{c + 1}]" for r in range(rows) for c in range(cols)]


# ---------------------------------------------------------------------------------------------
# attention


def attention_names(d1: int, dim: int, heads: int) -> tuple[str, ...]:
    """Q, K, V, O of each head (row-major), ``Q[r,a]`` or ``Q<h>[r,a]``."""
    out: list[str] = []
    for h in range(heads):
        tag = "" if heads == 1 else str(h + 1)
        for letter in "QKVO":
            out += _matrix_names(letter + tag, dim, d1)
    return tuple(out)


def attention_model(d1: int, dim: int, heads: int = 1, spec: str | None = None) -> Model:
    """The attention layer ``attention:d1,dim[,heads=H]`` (see the module docstring)."""
    block = dim * d1
    D = 4 * block * heads
    d = 2 * heads * d1 * d1
    _check("attention", D, 2 * d * dim)
    # one term per (field, r): the product of column a of the left matrix and column b of
    # the right one, entry r
    a, b, r = np.meshgrid(np.arange(d1), np.arange(d1), np.arange(dim), indexing="ij")
    a, b, r = a.reshape(-1), b.reshape(-1), r.reshape(-1)
    field_in_pair = a * d1 + b
    t_field, monos = [], []
    for h in range(heads):
        base = 4 * block * h
        for pair in range(2):  # (Q, K) then (V, O)
            left = base + 2 * pair * block
            right = left + block
            t_field.append((2 * h + pair) * d1 * d1 + field_in_pair)
            monos.append(np.stack([left + r * d1 + a, right + r * d1 + b], axis=1))
    table = _table(D, d, np.concatenate(t_field), np.concatenate(monos))
    names = attention_names(d1, dim, heads)
    family = FieldFamily(ring(names), potential_table=table)
    notes: tuple[str, ...] = ()
    if heads > 1:
        notes = (f"attention with {heads} heads: phi = (Q_h^T K_h, V_h^T O_h) for each head; "
                 "the count is that of this phi, whose completeness for the multi-head layer "
                 "is open (TC proves completeness for one head)",)
    label = spec or (f"attention:{d1},{dim}" + (f",heads={heads}" if heads > 1 else ""))
    return _gradient_model(label, "attention", names, family, notes,
                           {"d1": d1, "dim": dim, "heads": heads})


def parse_attention(rest: str) -> tuple[int, int, int]:
    """``"d1,dim[,heads=H]"`` -> (d1, dim, H)."""
    parts = [t.strip() for t in rest.split(",")]
    heads = 1
    if parts and parts[-1].replace(" ", "").startswith("heads="):
        val = parts.pop().split("=", 1)[1].strip()
        try:
            heads = int(val)
        except ValueError:
            raise ModelError(f"attention: heads={val!r} is not an integer; e.g. "
                             "attention:4,2,heads=2") from None
        if not 1 <= heads <= 10_000:
            raise ModelError(f"attention: heads = {heads} must be between 1 and 10000")
    d1, dim = _ints(",".join(parts), "attention", 2, "attention:4,2 or attention:4,2,heads=2")
    return d1, dim, heads


# ---------------------------------------------------------------------------------------------
# softmax classifier


def softmax_model(n: int, m: int, spec: str | None = None) -> Model:
    """The classifier ``softmax:n,m`` (n classes, m features; see the module docstring)."""
    if n < 2:
        raise ModelError("softmax: need at least 2 classes (n >= 2), e.g. softmax:3,2")
    D = n * m
    _check("softmax", D, D * n)
    names = _matrix_names("W", n, m)
    R = ring(names)
    g = R.gens()
    inv = fmpq(Fraction(1, n))
    col_mean: list[Poly] = [inv * tree_sum([g[k * m + j] for k in range(n)], R)
                            for j in range(m)]
    phi = []
    for i in range(n):
        for j in range(m):
            budget.tick("building the model")
            phi.append(g[i * m + j] - col_mean[j])
    family = FieldFamily(R, potentials=phi)
    label = spec or f"softmax:{n},{m}"
    return _gradient_model(label, "softmax", names, family,
                           meta={"classes": n, "features": m})


# ---------------------------------------------------------------------------------------------
# convolutional ReLU network


def conv_names(c0: int, c1: int, c2: int, nu: int, nv: int) -> tuple[str, ...]:
    """U[a,b,k] row-major over (a, b, k), then V[b,c,l] over (b, c, l)."""
    out = [f"U[{a + 1},{b + 1},{k + 1}]" for a in range(c0) for b in range(c1)
           for k in range(nu)]
    out += [f"V[{b + 1},{c + 1},{j + 1}]" for b in range(c1) for c in range(c2)
            for j in range(nv)]
    return tuple(out)


def conv_model(c0: int, c1: int, c2: int, nu: int, nv: int, spec: str | None = None) -> Model:
    """The convolutional network ``conv:c0,c1,c2,nu,nv`` (see the module docstring)."""
    D = c1 * (c0 * nu + c2 * nv)
    d = c0 * nu * c1 * c2 * nv
    _check("conv", D, 2 * d)
    a, k, b, c, j = (x.reshape(-1) for x in np.indices((c0, nu, c1, c2, nv), dtype=np.int64))
    u = (a * c1 + b) * nu + k
    v = c0 * c1 * nu + (b * c2 + c) * nv + j
    table = _table(D, d, np.arange(d, dtype=np.int64), np.stack([u, v], axis=1))
    names = conv_names(c0, c1, c2, nu, nv)
    family = FieldFamily(ring(names), potential_table=table)
    label = spec or f"conv:{c0},{c1},{c2},{nu},{nv}"
    note = (f"circular convolutions on inputs of length L >= {max(nu, nv)} (= max(nu, nv)): "
            "phi is the path lifting U[a,b,k] V[b,c,l], which does not depend on L")
    return _gradient_model(label, "conv", names, family, (note,),
                           {"channels": (c0, c1, c2), "kernels": (nu, nv)})


def parse_conv(rest: str) -> tuple[int, int, int, int, int]:
    c0, c1, c2, nu, nv = _ints(rest, "conv", 5, "conv:1,2,1,2,2 (c0,c1,c2,nu,nv)")
    return c0, c1, c2, nu, nv


def build_architecture(kind: str, rest: str, spec: str) -> Model:
    """The model of ``kind:rest`` for kind in :data:`ARCHITECTURES`."""
    if kind == "attention":
        d1, dim, heads = parse_attention(rest)
        return attention_model(d1, dim, heads, spec)
    if kind == "softmax":
        n, m = _ints(rest, "softmax", 2, "softmax:3,2 (n classes, m features)")
        return softmax_model(n, m, spec)
    if kind == "conv":
        return conv_model(*parse_conv(rest), spec=spec)
    raise ModelError(f"unknown architecture {kind!r}")


__all__ = ["ARCHITECTURES", "attention_model", "attention_names", "build_architecture",
           "conv_model", "conv_names", "parse_attention", "parse_conv", "softmax_model"]
