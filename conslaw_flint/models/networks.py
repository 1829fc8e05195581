"""Deep linear and ReLU networks: phi as the entries of a matrix product or a path lifting.

Parameter convention ``layer-major-row-major-v1`` (design.md §2): layer 0 is the input side,
layer q the output side; W_l is an n_{l-1} x n_l matrix; parameters are numbered layer by
layer, row-major inside each W_l (``W1[1,1], W1[1,2], ...``), and the hidden biases
b_1..b_{q-1} (b_l of length n_l) come after all weights.

* Linear net: phi = entries of W_1 W_2 ... W_q, row-major over (i_0, i_q), each a sum over
  the paths between them (d = n_0 n_q).
* ReLU net: the path lifting, one product W1[i0,i1] W2[i1,i2] ... per path, paths in
  lexicographic order of (i_0, ..., i_q) (d = prod n_l); with biases, then one product
  b_l[i_l] W_{l+1}[i_l, i_{l+1}] ... per path from a hidden bias to the output, for
  l = 1, ..., q-1.

The builders emit the compiled table of phi directly (NumPy, one vectorised pass per layer):
a network with a million paths never becomes a million FLINT polynomials unless asked
(``model.phi``).

>>> D, table = relu_table((2, 3, 1), bias=True)
>>> D, table.n_fields, table.n_terms
(12, 9, 9)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..core import budget
from ..core.fields import FieldFamily
from ..core.polynomials import ring
from ..core.tables import TermTable
from .model import CONVENTION, Model, ModelError

#: most parameters and components of any model
MAX_PARAMETERS = 100_000
MAX_COMPONENTS = 50_000_000
#: bytes of the compiled table per entry of a monomial (several int64 arrays and sorting)
BYTES_PER_ENTRY = 64


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


def weight_offsets(widths: Sequence[int]) -> list[int]:
    """Index of W_l[1,1] for l = 1..q, then the number of weights."""
    offs = [0]
    for lay in range(1, len(widths)):
        offs.append(offs[-1] + widths[lay - 1] * widths[lay])
    return offs


def parse_widths(text: str, kind: str) -> tuple[int, ...]:
    """``"3,4,5"`` -> (3, 4, 5), with one-line errors."""
    parts = [t.strip() for t in text.split(",")]
    if not text.strip() or any(not t for t in parts):
        raise ModelError(f"{kind}: empty width in the list; give widths like {kind}:3,4,5")
    widths = []
    for t in parts:
        try:
            w = int(t)
        except ValueError:
            raise ModelError(f"{kind}: width {t!r} is not an integer; "
                             f"give positive integers like {kind}:3,4,5") from None
        if w < 1:
            raise ModelError(f"{kind}: width {w} must be at least 1")
        if w > 100_000:
            raise ModelError(f"{kind}: width {w} is above the limit 100000")
        widths.append(w)
    if len(widths) < 2:
        raise ModelError(f"{kind}: need at least two widths (input and output), "
                         f"e.g. {kind}:3,4,5")
    return tuple(widths)


def _check(kind: str, D: int, d: int, entries: int) -> None:
    if D > MAX_PARAMETERS:
        raise ModelError(f"{kind}: D = {D} parameters is above the limit {MAX_PARAMETERS}")
    if d > MAX_COMPONENTS:
        raise ModelError(f"{kind}: d = {d} components is above the limit {MAX_COMPONENTS}")
    budget.reserve(entries * BYTES_PER_ENTRY, f"the path table of this {kind} network "
                   f"({entries} path entries)", "use narrower or fewer layers")


def _paths(widths: Sequence[int]) -> np.ndarray:
    """All index tuples (i_0, ..., i_q), lexicographic, as an array (prod n_l, q + 1)."""
    grids = np.indices(tuple(widths), dtype=np.int64)
    return grids.reshape(len(widths), -1).T


def _edges(paths: np.ndarray, widths: Sequence[int], offs: Sequence[int], first: int
           ) -> np.ndarray:
    """Variable index of every edge of the paths (columns: layers first+1 .. q)."""
    cols = []
    for t in range(paths.shape[1] - 1):
        lay = first + t + 1
        cols.append(offs[lay - 1] + paths[:, t] * widths[lay] + paths[:, t + 1])
    return np.stack(cols, axis=1) if cols else np.zeros((len(paths), 0), dtype=np.int64)


def _table(D: int, n_fields: int, t_field: np.ndarray, monos: np.ndarray) -> TermTable:
    """Table of multilinear monomials (one row of variable indices per term), coefficient 1."""
    n, w = monos.shape
    e_term = np.repeat(np.arange(n, dtype=np.int64), w)
    return TermTable(D, n_fields, t_field, np.full(n, -1, dtype=np.int64),
                     np.ones(n, dtype=np.int64), e_term, monos.reshape(-1).copy(),
                     np.ones(n * w, dtype=np.int64))


def linear_table(widths: Sequence[int]) -> tuple[int, TermTable]:
    """(D, table of phi) for a deep linear net."""
    offs = weight_offsets(widths)
    q = len(widths) - 1
    D = offs[-1]
    n_terms = math.prod(widths)
    _check("linear", D, widths[0] * widths[-1], n_terms * q)
    paths = _paths(widths)
    field = paths[:, 0] * widths[-1] + paths[:, -1]
    order = np.argsort(field, kind="stable")
    return D, _table(D, widths[0] * widths[-1], field[order],
                     _edges(paths[order], widths, offs, 0))


def relu_table(widths: Sequence[int], bias: bool) -> tuple[int, TermTable]:
    """(D, table of phi) for a deep ReLU net: the path lifting (then the bias paths)."""
    offs = weight_offsets(widths)
    q = len(widths) - 1
    D = offs[-1] + (sum(widths[1:-1]) if bias else 0)
    d = math.prod(widths)
    entries = d * q
    if bias:
        for lay in range(1, q):
            n = math.prod(widths[lay:])
            d += n
            entries += n * (q - lay + 1)
    _check("relu", D, d, entries)
    monos = _edges(_paths(widths), widths, offs, 0)
    parts = [_table(D, d, np.arange(len(monos), dtype=np.int64), monos)]
    if bias:
        b_off = offs[-1]
        start = len(monos)
        for lay in range(1, q):
            paths = _paths(widths[lay:])
            edges = _edges(paths, widths, offs, lay)
            mono = np.concatenate([edges, (b_off + paths[:, 0])[:, None]], axis=1)
            parts.append(_table(D, d, np.arange(start, start + len(mono), dtype=np.int64), mono))
            start += len(mono)
            b_off += widths[lay]
    return D, parts[0] if len(parts) == 1 else _concat(D, d, parts)


def _concat(D: int, n_fields: int, parts: Sequence[TermTable]) -> TermTable:
    shift = np.cumsum([0] + [p.n_terms for p in parts[:-1]])
    return TermTable(D, n_fields,
                     np.concatenate([p.t_field for p in parts]),
                     np.concatenate([p.t_comp for p in parts]),
                     np.concatenate([p.coef for p in parts]),
                     np.concatenate([p.e_term + s for p, s in zip(parts, shift, strict=True)]),
                     np.concatenate([p.e_var for p in parts]),
                     np.concatenate([p.e_exp for p in parts]))


class NetworkStructure:
    """What the algorithms may exploit of a network family: the values at a point of random
    *gated* combinations of the generators, by one forward and one backward pass.

    With gates g_l on the nodes of layer l (and h_l on the hidden biases), the network
    F_g(theta) = sum over paths of (product of the gates on the path) * phi_path(theta) is a
    constant-coefficient combination of the generators, so grad F_g(x) is the value at x of
    an element of V; the path coefficients are distinct monomials in the gates, so random
    gates give, with high probability, combinations as generic as random coefficients
    (Schwartz-Zippel), at the cost of a backward pass (O(number of weights)) instead of
    O(number of paths).  For a linear net the generators are the entries of the product, so
    only the input and output layers are gated (a path alone is not a generator)."""

    def __init__(self, kind: str, widths: Sequence[int]) -> None:
        self.kind, self.widths = kind, tuple(widths)
        self.bias = kind == "relu-bias"
        self.offs = weight_offsets(self.widths)

    def gated_gradients(self, x: np.ndarray, k: int, rng: np.random.Generator, p: int
                        ) -> np.ndarray:
        """(k, D) values at x (mod p) of k random gated combinations of the generators."""
        from ..core.linalg import matmul_mod

        w, q, offs = self.widths, len(self.widths) - 1, self.offs
        W = [None] + [x[offs[lay - 1]:offs[lay]].reshape(w[lay - 1], w[lay]) % p
                      for lay in range(1, q + 1)]
        b_off = offs[-1]
        B: list[np.ndarray | None] = [None] * (q + 1)
        H: list[np.ndarray | None] = [None] * (q + 1)
        if self.bias:
            for lay in range(1, q):
                B[lay] = x[b_off:b_off + w[lay]] % p
                H[lay] = rng.integers(1, p, size=(k, w[lay]), dtype=np.int64)
                b_off += w[lay]
        gated = self.kind != "linear"
        G = [rng.integers(1, p, size=(k, w[lay]), dtype=np.int64)
             if gated or lay in (0, q) else None for lay in range(q + 1)]
        # forward: a_l = (a_{l-1} W_l + h_l * b_l) * g_l
        a: list[np.ndarray] = [G[0]]
        for lay in range(1, q + 1):
            z = matmul_mod(a[-1], W[lay], p)
            if B[lay] is not None:
                z = (z + H[lay] * B[lay][None, :]) % p
            a.append(z * G[lay] % p if G[lay] is not None else z)
        # backward: dF/dz_l, then the gradient of every weight and bias
        out = np.zeros((k, len(x)), dtype=np.int64)
        dz = G[q] if G[q] is not None else np.ones((k, w[q]), dtype=np.int64)
        b_off = offs[-1] + (sum(w[1:-1]) if self.bias else 0)
        for lay in range(q, 0, -1):
            grad_W = a[lay - 1][:, :, None] * dz[:, None, :] % p
            out[:, offs[lay - 1]:offs[lay]] = grad_W.reshape(k, -1)
            if B[lay] is not None:
                b_off -= w[lay]
                out[:, b_off:b_off + w[lay]] = H[lay] * dz % p
            if lay > 1:
                da = matmul_mod(dz, W[lay].T.copy(), p)
                dz = da * G[lay - 1] % p if G[lay - 1] is not None else da
        return out


def network_model(kind: str, widths: Sequence[int], spec: str | None = None) -> Model:
    """The model ``kind:widths`` for kind ``linear``, ``relu`` or ``relu-bias``."""
    widths = tuple(widths)
    bias = kind == "relu-bias"
    D, table = linear_table(widths) if kind == "linear" else relu_table(widths, bias)
    names = network_names(widths, bias)
    family = FieldFamily(ring(names), potential_table=table)
    family.structure = NetworkStructure(kind, widths)
    return Model(spec or f"{kind}:{','.join(map(str, widths))}", kind, names, family,
                 widths=widths, bias=bias)


def product_model(D: int, spec: str | None = None) -> Model:
    """phi = x1*x2*...*xD (one component)."""
    if D < 1 or D > MAX_PARAMETERS:
        raise ModelError(f"product: D = {D} must be between 1 and {MAX_PARAMETERS}")
    budget.reserve(D * BYTES_PER_ENTRY, "the product map", "lower D")
    table = _table(D, 1, np.zeros(1, dtype=np.int64), np.arange(D, dtype=np.int64)[None, :])
    names = tuple(f"x{i + 1}" for i in range(D))
    family = FieldFamily(ring(names), potential_table=table)
    family.structure = ("product", D)
    return Model(spec or f"product:{D}", "product", names, family)


__all__ = ["CONVENTION", "linear_table", "network_model", "network_names", "parse_widths",
           "product_model", "relu_table", "weight_offsets"]
