"""PyTorch front end: an ``nn.Sequential`` as a :class:`~conslaw_flint.models.model.Model`,
and the map between its tensors and the model's variables.

:func:`from_module` reads a (possibly nested) ``nn.Sequential`` built from the layers below and
returns an ordinary model (``count_laws``, ``polynomial_laws``, certificates all work) whose
``meta["parameter_map"]`` is a :class:`ParameterMap`: which entry of which tensor each variable
is.  PyTorch is imported on first use (``pip install 'conslaw_flint[torch]'``).

Accepted layers (exact types; anything else is a one-line :class:`ModelError` naming the layer)
==============================================================================================

* ``nn.Linear`` (with or without bias, on any layer, the output layer included);
* ``nn.Conv1d`` / ``nn.Conv2d`` with stride 1, ``groups=1``, any dilation and bias, and either no
  padding (``padding=0`` or ``"valid"``) or ``padding_mode="circular"`` (any padding); zero,
  reflect and replicate padding are refused.  Dense and convolutional layers cannot be mixed
  (an ``nn.Linear`` after a convolution acts on the last spatial axis; ``nn.Flatten`` is not
  accepted);
* ``nn.ReLU`` and ``nn.LeakyReLU`` (any slope): positively homogeneous activations,
  sigma(lambda z) = lambda sigma(z) for lambda > 0, so they share the path lifting;
* ``nn.Identity`` (no effect: the layers on each side of it form one *linear block*, as two
  ``nn.Linear`` in a row do);
* ``nn.Sequential`` (nested: flattened in order); a single ``nn.Linear`` or convolution alone.

Refused as well: a module used twice (shared weights), a parameter with
``requires_grad=False`` (a frozen parameter does not move, so the laws of the full flow do not
apply), parameters the layers above do not own, complex or empty tensors, parametrized
layers.  Forward hooks are not looked at: a hook that changes what a layer computes is the
user's responsibility.

The map phi (what is conserved is decided by it)
================================================

Activations split the module into *linear blocks* B_1, ..., B_K (input side first): maximal
runs of affine layers with no activation between them.  Block k is an affine map
y = M_k x + c_k whose matrix M_k is the product of its layers' weights (for convolutions: the
kernel of the composed convolution, offsets adding up) and whose bias c_k collects the paths
from each bias of the block to its output (b_l pushed through the later layers of the block).
phi is the **path lifting of the blocks** (Stock & Gribonval; design.md §2):

* one component per path (u_0, u_1, ..., u_K) of units (neurons, or channels together with a
  kernel offset per block) from the input to the output: M_1[u_0,u_1] M_2[u_1,u_2] ...
  M_K[u_{K-1},u_K];
* one component per path from a block bias to the output: c_k[u_k] M_{k+1}[u_k,u_{k+1}] ...
  M_K[u_{K-1},u_K] -- *a bias of a layer is the start of a path*.  This covers the bias of the
  first layer (it sits on the first hidden units: paths from it cross every later layer) and
  the bias of the output layer: the path from c_K[j] has no edge, the component is c_K[j]
  itself, its gradient a constant field, so an output bias occurs in no law and adds one to
  the Lie rank.

Each component is a polynomial with coefficients 1 (a block entry sums over the internal
units and offset splits of the block).  With ReLU / LeakyReLU between blocks the network is,
for each input, f(phi(theta), x) with f read off the activation pattern (positive
homogeneity), and every rescaling symmetry of the units between blocks leaves phi unchanged;
a network with no activation is one linear block (phi = entries of M_1 and c_1: for bias-free
layers exactly ``linear:n0,...,nq``).  Convolutions: a path is a sequence of channels and one
kernel offset per block; positions are not part of it (weight sharing: the paths through the
same channels and offsets from every position have the same monomial, listed once).  This is
exact without padding and with circular padding, provided the input is at least as large as
the receptive field of each linear block (for circular padding, offsets that differ by a
multiple of the input size would otherwise coincide).

Variables and their names
=========================

Variables follow the network convention of :mod:`conslaw_flint.models.networks`
(``layer-major-row-major-v1``): all weights first, layer by layer, each layer *input-major*
(entry [i, j] of the n_in x n_out matrix W_l, i.e. ``weight[j, i]`` of ``nn.Linear``; for a
convolution: input channel, output channel, kernel position), then all biases, layer by layer.
Each variable is named after the tensor entry, with PyTorch's own (0-based) indexing:
``0.weight[2,1]`` is ``net[0].weight[2, 1]`` (the output 2 and input 1 of the first layer),
``0.bias[3]``, ``2.0.weight[1,0,2]`` (a nested convolution).  The naive
``torch.cat([p.reshape(-1) for p in net.parameters()])`` has the right length and the wrong
order (out x in storage, biases between weights): :meth:`ParameterMap.flatten` gives the
vector in the model's order.

When the module is exactly a standard layout -- bias-free ``nn.Linear`` layers with no
activation (``linear:``), single ``nn.Linear`` blocks without biases (``relu:``), or with a
bias on every layer but the last (``relu-bias:``) -- the model uses that builder's generators
(same order, same variables) and ``model.inline`` is that specification.  Otherwise the
generators are built here as a compiled table and ``model.inline`` is a ``poly[D]:...``
specification in x1..xD when it is at most :data:`INLINE_MAX_CHARS` characters with
d x D <= :data:`INLINE_MAX_BUILD`; for larger models ``inline`` is None: counts and laws work
as usual, and a certificate then records ``model.spec`` -- ``torch:FILE.pt`` for a model read
by :func:`model_from_torch_file` (the verifier has to load that file again, which runs
pickle), or a description, which the verifier refuses, for a module in memory.

Files
=====

:func:`model_from_torch_file` reads a module saved with ``torch.save(net, path)``: a regular
file of at most :data:`MAX_TORCH_FILE_BYTES`, read once through one descriptor, then given to
``torch.load(..., weights_only=False)``.  **That runs pickle: load only files you trust.**

>>> from conslaw_flint.models.torch_module import block_structure_text
>>> block_structure_text([("linear", 3, 4, True), ("act",), ("linear", 4, 2, True)])
'2 blocks: [Linear 3->4 +b] ReLU [Linear 4->2 +b]'
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core import budget
from ..core.fields import FieldFamily
from ..core.polynomials import default_names, ring, ring_names
from ..core.tables import TermTable
from ..io.parse import check_names
from .model import Model, ModelError
from .networks import (
    BYTES_PER_ENTRY,
    MAX_COMPONENTS,
    MAX_PARAMETERS,
    network_model,
    network_names,
)

if TYPE_CHECKING:  # pragma: no cover
    import torch

#: largest ``poly[D]:`` specification recorded as ``model.inline`` (characters)
INLINE_MAX_CHARS = 1_000_000
#: largest d x D of an inline specification (what the verifier rebuilds)
INLINE_MAX_BUILD = 2_000_000
#: most (term, variable) entries of the path lifting built here
MAX_ENTRIES = 50_000_000
#: largest ``.pt`` file :func:`model_from_torch_file` reads
MAX_TORCH_FILE_BYTES = 256 * 2**20

__all__ = [
    "INLINE_MAX_CHARS",
    "MAX_TORCH_FILE_BYTES",
    "ParameterMap",
    "TorchLayer",
    "block_structure_text",
    "from_module",
    "import_torch",
    "law_ring_ok",
    "model_from_torch_file",
    "parameter_map",
    "path_table",
    "ring_names_of",
]


def import_torch() -> Any:
    """``import torch``, or a one-line :class:`ModelError` saying how to install it."""
    try:
        import torch
    except ImportError:
        raise ModelError("this needs PyTorch, which is not installed: pip install "
                         "'conslaw_flint[torch]' (CPU build: pip install torch==2.13.0)") \
            from None
    return torch


# ---------------------------------------------------------------------------------------------
# reading the module


@dataclass(frozen=True)
class TorchLayer:
    """One affine layer of the module as the builder sees it.

    ``kind`` is ``linear``, ``conv1d`` or ``conv2d``; ``n_in`` / ``n_out`` are features or
    channels; ``kernel`` and ``dilation`` the kernel shape (``()`` for ``nn.Linear``);
    ``weight`` / ``bias`` the names of the parameters (as ``module.named_parameters()`` gives
    them; ``bias`` None without bias); ``block`` the index of its linear block.
    """

    path: str
    kind: str
    n_in: int
    n_out: int
    kernel: tuple[int, ...]
    dilation: tuple[int, ...]
    weight: str
    bias: str | None
    block: int

    @property
    def label(self) -> str:
        return f"layer {self.path or '(top)'}"

    def describe(self) -> str:
        what = {"linear": "Linear", "conv1d": "Conv1d", "conv2d": "Conv2d"}[self.kind]
        k = "" if not self.kernel else " k=" + "x".join(map(str, self.kernel))
        return f"{what} {self.n_in}->{self.n_out}{k}{' +b' if self.bias else ''}"


def block_structure_text(items: Sequence[tuple[Any, ...]]) -> str:
    """A one-line picture of the linear blocks: items are ``("linear"|"conv1d"|"conv2d",
    n_in, n_out, has_bias)`` or ``("act", label)`` (label default ``ReLU``)."""
    out: list[str] = []
    cur: list[str] = []
    blocks = 0
    for it in items:
        if it[0] == "act":
            if cur:
                out.append("[" + ", ".join(cur) + "]")
                blocks += 1
                cur = []
            out.append(it[1] if len(it) > 1 else "ReLU")
        else:
            name = {"linear": "Linear", "conv1d": "Conv1d", "conv2d": "Conv2d"}[it[0]]
            cur.append(f"{name} {it[1]}->{it[2]}{' +b' if it[3] else ''}")
    if cur:
        out.append("[" + ", ".join(cur) + "]")
        blocks += 1
    while out and not out[-1].startswith("["):
        out.pop()
    while out and not out[0].startswith("["):
        out.pop(0)
    return f"{blocks} block{'s' if blocks != 1 else ''}: " + " ".join(out)


def _walk(module: Any, prefix: str, nn: Any, out: list[tuple[str, Any]],
          seen: dict[int, str]) -> None:
    """Leaves of nested ``nn.Sequential`` containers in forward order: (path, module)."""
    if type(module) is nn.Sequential:
        for name, child in module._modules.items():
            if child is None:
                continue
            _walk(child, f"{prefix}.{name}" if prefix else name, nn, out, seen)
        return
    if any(True for _ in module.parameters(recurse=False)):
        first = seen.get(id(module))
        if first is not None:
            raise ModelError(f"layer {prefix or '(top)'} is the same module as layer {first} "
                             "(shared weights); the path lifting assumes one set of weights "
                             "per layer")
        seen[id(module)] = prefix or "(top)"
    out.append((prefix, module))


def _conv_checks(path: str, m: Any, dim: int) -> tuple[int, ...]:
    """Refuse what the convolution path lifting does not cover; return the dilation."""
    where = f"layer {path or '(top)'} ({type(m).__name__})"
    if tuple(m.stride) != (1,) * dim:
        raise ModelError(f"{where}: stride {tuple(m.stride)} is not supported; only stride 1")
    if m.groups != 1:
        raise ModelError(f"{where}: groups={m.groups} is not supported; only groups=1")
    if getattr(m, "transposed", False):
        raise ModelError(f"{where}: transposed convolutions are not supported")
    if m.padding_mode != "circular":
        pad = m.padding
        zero = (pad == "valid" if isinstance(pad, str)
                else all(int(p) == 0 for p in pad))
        if isinstance(pad, str) and pad == "same":
            zero = all(int(d) * (int(k) - 1) == 0 for d, k in zip(m.dilation, m.kernel_size,
                                                                  strict=True))
        if not zero:
            raise ModelError(f"{where}: padding {pad!r} with padding_mode "
                             f"{m.padding_mode!r} is not supported; use padding=0 or "
                             "padding_mode='circular'")
    return tuple(int(d) for d in m.dilation)


@dataclass(frozen=True)
class _Reading:
    layers: tuple[TorchLayer, ...]
    items: tuple[tuple[Any, ...], ...]
    n_blocks: int
    tensors: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]


def _read(module: Any) -> _Reading:
    """The layers and blocks of ``module``, with every refusal of the module docstring."""
    torch = import_torch()
    nn = torch.nn
    if not isinstance(module, nn.Module):
        raise ModelError(f"expected a torch.nn.Module, got {type(module).__name__}")
    leaves: list[tuple[str, Any]] = []
    _walk(module, "", nn, leaves, {})
    layers: list[TorchLayer] = []
    items: list[tuple[Any, ...]] = []
    block, open_block = 0, False
    owned: set[int] = set()
    for path, m in leaves:
        t = type(m)
        where = f"layer {path or '(top)'} ({t.__name__})"
        if t in (nn.ReLU, nn.LeakyReLU):
            if open_block:
                block += 1
                open_block = False
            items.append(("act", "ReLU" if t is nn.ReLU
                          else f"LeakyReLU({float(m.negative_slope):g})"))
            continue
        if t is nn.Identity:
            continue
        if t is nn.Linear:
            kind, n_in, n_out = "linear", int(m.in_features), int(m.out_features)
            kernel: tuple[int, ...] = ()
            dil: tuple[int, ...] = ()
        elif t in (nn.Conv1d, nn.Conv2d):
            dim = 1 if t is nn.Conv1d else 2
            kind, n_in, n_out = f"conv{dim}d", int(m.in_channels), int(m.out_channels)
            kernel = tuple(int(k) for k in m.kernel_size)
            dil = _conv_checks(path, m, dim)
        else:
            raise ModelError(f"{where} is not supported: from_module accepts nn.Sequential "
                             "of Linear, Conv1d, Conv2d, ReLU, LeakyReLU and Identity")
        if n_in < 1 or n_out < 1 or any(k < 1 for k in kernel):
            raise ModelError(f"{where} has an empty weight")
        if layers:
            prev = layers[-1]
            if (prev.kind == "linear") != (kind == "linear"):
                was = "dense" if prev.kind == "linear" else "convolutional"
                raise ModelError(f"{where} follows a {was} layer: dense and convolutional "
                                 "layers cannot be mixed")
            if prev.kind != kind:
                raise ModelError(f"{where} follows a {prev.kind} layer: Conv1d and Conv2d "
                                 "cannot be mixed")
            if prev.n_out != n_in:
                raise ModelError(f"{where} takes {n_in} inputs but {prev.label} gives "
                                 f"{prev.n_out}")
        pre = f"{path}." if path else ""
        for pname, p in m.named_parameters(recurse=False):
            if pname not in ("weight", "bias"):
                raise ModelError(f"{where} has an unexpected parameter {pre + pname!r}")
            if p.is_complex() or not p.is_floating_point():
                raise ModelError(f"parameter {pre + pname!r} has dtype {p.dtype}; "
                                 "real floating-point parameters are needed")
            if not p.requires_grad:
                raise ModelError(f"parameter {pre + pname!r} is frozen (requires_grad=False): "
                                 "the laws of the full gradient flow do not hold when some "
                                 "parameters do not move; unfreeze it")
            owned.add(id(p))
        has_bias = m.bias is not None
        layers.append(TorchLayer(path, kind, n_in, n_out, kernel, dil, pre + "weight",
                                 pre + "bias" if has_bias else None, block))
        items.append((kind, n_in, n_out, has_bias))
        open_block = True
    if not layers:
        raise ModelError("the module has no Linear or convolution layer: nothing to train")
    n_blocks = block + 1 if open_block else block
    tensors, shapes = [], []
    for name, p in module.named_parameters():
        if id(p) not in owned:
            raise ModelError(f"parameter {name!r} belongs to no Linear or convolution layer "
                             "of the Sequential; from_module cannot place it")
        tensors.append(name)
        shapes.append(tuple(int(s) for s in p.shape))
    return _Reading(tuple(layers), tuple(items), n_blocks, tuple(tensors), tuple(shapes))


# ---------------------------------------------------------------------------------------------
# the parameter map


@dataclass(frozen=True, eq=False)
class ParameterMap:
    """Which entry of which tensor of the module each model variable is.

    Attributes
    ----------
    names:
        The D model variable names, in the model's order (``0.weight[2,1]``: PyTorch's
        0-based indices of that tensor).
    tensors, shapes:
        The module's parameters in ``module.named_parameters()`` order, and their shapes.
    index:
        int64 array of shape (D,): variable k is entry ``index[k]`` of the *naive* vector
        ``torch.cat([p.reshape(-1) for p in module.parameters()])``.
    layers:
        The affine layers read from the module (:class:`TorchLayer`).
    standard:
        ``"relu:3,4,2"`` (``linear:``, ``relu-bias:``) when the module is exactly that
        standard layout (its variables are then those of the builder, in the same order),
        else None.
    """

    names: tuple[str, ...]
    tensors: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]
    index: np.ndarray
    layers: tuple[TorchLayer, ...]
    standard: str | None = None

    @property
    def D(self) -> int:
        """Number of variables (= number of scalar parameters of the module)."""
        return len(self.names)

    @property
    def offsets(self) -> tuple[int, ...]:
        """Start of each tensor in the naive flat vector (then the total)."""
        out = [0]
        for s in self.shapes:
            out.append(out[-1] + math.prod(s))
        return tuple(out)

    def locate(self, k: int) -> tuple[str, tuple[int, ...]]:
        """(tensor name, index in that tensor) of variable ``k`` (0-based)."""
        pos = int(self.index[k])
        offs = self.offsets
        t = int(np.searchsorted(np.asarray(offs), pos, side="right")) - 1
        return self.tensors[t], tuple(int(i) for i in np.unravel_index(pos - offs[t],
                                                                       self.shapes[t]))

    def _params(self, module: Any) -> list[Any]:
        params = dict(module.named_parameters())
        out = []
        for name, shape in zip(self.tensors, self.shapes, strict=True):
            p = params.get(name)
            if p is None:
                raise ModelError(f"the module has no parameter {name!r}: it is not the module "
                                 "this map was made for")
            if tuple(p.shape) != shape:
                raise ModelError(f"parameter {name!r} has shape {tuple(p.shape)}, the map "
                                 f"expects {shape}: not the module this map was made for")
            out.append(p)
        if len(params) != len(self.tensors):
            raise ModelError(f"the module has {len(params)} parameter tensors, the map "
                             f"{len(self.tensors)}: not the module this map was made for")
        return out

    def flatten(self, module: Any) -> torch.Tensor:
        """theta in the model's variable order: a differentiable tensor of shape (D,) built
        from ``module``'s parameters (their dtype, promoted if they differ, and device)."""
        torch = import_torch()
        ps = self._params(module)
        flat = torch.cat([p.reshape(-1) for p in ps])
        return flat[torch.as_tensor(self.index, device=flat.device)]

    def naive(self, module: Any) -> torch.Tensor:
        """The naive ``torch.cat([p.reshape(-1) for p in module.parameters()])`` (module
        order): what :meth:`flatten` permutes.  For comparisons only."""
        torch = import_torch()
        return torch.cat([p.reshape(-1) for p in self._params(module)])

    def assign(self, module: Any, theta: Any) -> None:
        """Write ``theta`` (model order, length D: a tensor, array or sequence of numbers,
        e.g. Fractions) into the module's parameters, in place and without gradient."""
        torch = import_torch()
        ps = self._params(module)
        vals = theta.detach().cpu().to(torch.float64) if isinstance(theta, torch.Tensor) \
            else torch.tensor([float(v) for v in theta], dtype=torch.float64)
        if vals.shape != (self.D,):
            raise ModelError(f"theta has shape {tuple(vals.shape)}, expected ({self.D},)")
        flat = torch.empty(self.D, dtype=torch.float64)
        flat[torch.as_tensor(self.index)] = vals
        offs = self.offsets
        with torch.no_grad():
            for t, p in enumerate(ps):
                p.copy_(flat[offs[t]:offs[t + 1]].reshape(p.shape).to(p.dtype))


def _build_map(reading: _Reading) -> ParameterMap:
    tensor_pos = {}
    off = 0
    for name, shape in zip(reading.tensors, reading.shapes, strict=True):
        tensor_pos[name] = off
        off += math.prod(shape)
    names: list[str] = []
    where: list[int] = []
    for lay in reading.layers:
        base = tensor_pos[lay.weight]
        K = math.prod(lay.kernel)
        kpos = list(np.ndindex(*lay.kernel)) if lay.kernel else [()]
        for i in range(lay.n_in):
            for j in range(lay.n_out):
                for s, ks in enumerate(kpos):
                    idx = ",".join(map(str, (j, i, *ks)))
                    names.append(f"{lay.weight}[{idx}]")
                    where.append(base + (j * lay.n_in + i) * K + s)
    for lay in reading.layers:
        if lay.bias is not None:
            base = tensor_pos[lay.bias]
            for j in range(lay.n_out):
                names.append(f"{lay.bias}[{j}]")
                where.append(base + j)
    if len(names) != off:
        raise ModelError(f"the module has {off} parameters but its layers account for "
                         f"{len(names)}")
    if len(names) > MAX_PARAMETERS:
        raise ModelError(f"the module has D = {len(names)} parameters, above the limit "
                         f"{MAX_PARAMETERS}")
    try:
        check_names(names)
    except ValueError as e:
        raise ModelError(f"parameter names: {e}") from None
    return ParameterMap(tuple(names), reading.tensors, reading.shapes,
                        np.asarray(where, dtype=np.int64), reading.layers,
                        _standard(reading))


def _standard(reading: _Reading) -> str | None:
    """The standard specification the module is exactly, if any."""
    layers = reading.layers
    if any(lay.kind != "linear" for lay in layers):
        return None
    widths = ",".join(str(w) for w in [layers[0].n_in] + [lay.n_out for lay in layers])
    if reading.n_blocks == 1:
        return f"linear:{widths}" if all(lay.bias is None for lay in layers) else None
    if reading.n_blocks != len(layers):
        return None
    if all(lay.bias is None for lay in layers):
        return f"relu:{widths}"
    if all(lay.bias is not None for lay in layers[:-1]) and layers[-1].bias is None:
        return f"relu-bias:{widths}"
    return None


def parameter_map(module: Any) -> ParameterMap:
    """The :class:`ParameterMap` of ``module`` alone (cheap: phi is not built).  Raises
    :class:`ModelError` for the modules :func:`from_module` refuses."""
    return _build_map(_read(module))


# ---------------------------------------------------------------------------------------------
# the path lifting


@dataclass
class _Polys:
    """Polynomials with coefficients 1 as padded term arrays: component ``c`` has the terms
    ``start[c]:start[c] + count[c]`` of ``terms`` (variable indices, -1 = padding); ``unit``
    is the unit each component starts from (on the input side), ``key`` what identifies it."""

    unit: np.ndarray      # (n,)
    start: np.ndarray     # (n,)
    count: np.ndarray     # (n,)
    terms: np.ndarray     # (T, w)

    @property
    def n(self) -> int:
        return len(self.unit)


def _pairs(a_key: np.ndarray, b_key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All (i, j) with a_key[i] == b_key[j], i increasing, then j increasing."""
    order = np.argsort(b_key, kind="stable")
    bk = b_key[order]
    lo = np.searchsorted(bk, a_key, "left")
    cnt = np.searchsorted(bk, a_key, "right") - lo
    ia = np.repeat(np.arange(len(a_key), dtype=np.int64), cnt)
    within = np.arange(int(cnt.sum()), dtype=np.int64) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    ib = order[np.repeat(lo, cnt) + within]
    return ia, ib


def _charge(n_terms: int, width: int, what: str) -> None:
    entries = n_terms * max(width, 1)
    if entries > MAX_ENTRIES:
        raise ModelError(f"the path lifting of this module has {n_terms} terms of {width} "
                         f"variables ({what}), above the limit of {MAX_ENTRIES} entries; "
                         "use a smaller module")
    budget.reserve(entries * BYTES_PER_ENTRY, f"the path lifting of this module ({what})",
                   "use a smaller module")


def _times(a: _Polys, a_out: np.ndarray, b: _Polys, what: str) -> _Polys:
    """Products a_i * b_j for every a_out[i] == b.unit[j], ordered by (i, j); each product's
    unit is a.unit[i] and its terms all products of a term of a_i by a term of b_j."""
    pa, pb = _pairs(a_out, b.unit)
    na, nb = a.count[pa], b.count[pb]
    n = na * nb
    total = int(n.sum())
    width = a.terms.shape[1] + b.terms.shape[1]
    _charge(total, width, what)
    budget.tick("building the path lifting")
    first = np.repeat(np.cumsum(n) - n, n)
    r = np.arange(total, dtype=np.int64) - first
    nb_rep = np.repeat(nb, n)
    ia = np.repeat(a.start[pa], n) + r // nb_rep
    ib = np.repeat(b.start[pb], n) + r % nb_rep
    terms = np.concatenate([a.terms[ia], b.terms[ib]], axis=1)
    start = np.cumsum(n) - n
    return _Polys(a.unit[pa], start, n, terms)


def _group(keys: np.ndarray, unit_in: np.ndarray, unit_out: np.ndarray, terms: np.ndarray
           ) -> tuple[_Polys, np.ndarray]:
    """Terms grouped by equal rows of ``keys`` (lexicographic order): the polynomials, and
    each one's output unit."""
    if len(keys) == 0:
        z = np.zeros(0, dtype=np.int64)
        return _Polys(z, z, z, terms[:0]), z
    uk, inv = np.unique(keys, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    order = np.argsort(inv, kind="stable")
    count = np.bincount(inv, minlength=len(uk)).astype(np.int64)
    start = np.cumsum(count) - count
    first = order[start]
    return _Polys(unit_in[first], start, count, terms[order]), unit_out[first]


def _layer_terms(lay: TorchLayer, w_first: int) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                        np.ndarray]:
    """(input unit, output unit, offset (T, r), variable (T, 1)) of every weight, in the
    variable order (input-major)."""
    K = math.prod(lay.kernel) if lay.kernel else 1
    n = lay.n_in * lay.n_out * K
    idx = np.arange(n, dtype=np.int64)
    src = idx // (lay.n_out * K)
    dst = (idx // K) % lay.n_out
    if lay.kernel:
        pos = np.stack(np.unravel_index(idx % K, lay.kernel), axis=1).astype(np.int64)
        off = pos * np.asarray(lay.dilation, dtype=np.int64)[None, :]
    else:
        off = np.zeros((n, 0), dtype=np.int64)
    return src, dst, off, (w_first + idx)[:, None]


def _pad(blocks: Sequence[np.ndarray]) -> np.ndarray:
    w = max(b.shape[1] for b in blocks)
    return np.concatenate([np.pad(b, ((0, 0), (0, w - b.shape[1])), constant_values=-1)
                           for b in blocks], axis=0)


def _blocks(layers: Sequence[TorchLayer], n_blocks: int, D: int
            ) -> list[tuple[_Polys, np.ndarray, _Polys | None, np.ndarray | None]]:
    """For each linear block: (entries of M_k with their output units, entries of c_k (or
    None) with their output units).  Entries of M_k are keyed by (input unit, output unit,
    offset); entries of c_k by output unit."""
    w_first, b_first = [], []
    v = 0
    for lay in layers:
        w_first.append(v)
        v += lay.n_in * lay.n_out * (math.prod(lay.kernel) if lay.kernel else 1)
    for lay in layers:
        b_first.append(v if lay.bias is not None else -1)
        if lay.bias is not None:
            v += lay.n_out
    assert v == D
    out = []
    for k in range(n_blocks):
        src = dst = off = var = None
        bias_groups: list[tuple[np.ndarray, np.ndarray]] = []   # (output unit, terms)
        for i, lay in enumerate(layers):
            if lay.block != k:
                continue
            s, d, o, w = _layer_terms(lay, w_first[i])
            if src is None:
                src, dst, off, var = s, d, o, w
            else:
                ia, ib = _pairs(dst, s)
                _charge(len(ia), var.shape[1] + 1, "a linear block")
                src, dst, off = src[ia], d[ib], off[ia] + o[ib]
                var = np.concatenate([var[ia], w[ib]], axis=1)
                moved = []
                for bu, bt in bias_groups:
                    ja, jb = _pairs(bu, s)
                    moved.append((d[jb], np.concatenate([bt[ja], w[jb]], axis=1)))
                bias_groups = moved
            if lay.bias is not None:
                units = np.arange(lay.n_out, dtype=np.int64)
                bias_groups.append((units, (b_first[i] + units)[:, None]))
        assert src is not None and dst is not None and off is not None and var is not None
        keys = np.concatenate([src[:, None], dst[:, None], off], axis=1)
        M, M_out = _group(keys, src, dst, var)
        if bias_groups:
            bu = np.concatenate([g[0] for g in bias_groups])
            bt = _pad([g[1] for g in bias_groups])
            c, c_out = _group(bu[:, None], bu, bu, bt)
            out.append((M, M_out, c, c_out))
        else:
            out.append((M, M_out, None, None))
    return out


def path_table(layers: Sequence[TorchLayer], n_blocks: int, D: int) -> TermTable:
    """The compiled table of phi (module docstring): the input-output paths first, in
    lexicographic order of (u_0, u_1, ..., u_K) (offsets after the channels of each block),
    then the paths from the biases of block 1, 2, ..., K."""
    blocks = _blocks(layers, n_blocks, D)
    M, M_out, c, c_out = blocks[-1]
    suffix = M                     # components starting at the input of the last block
    bias_parts: list[_Polys] = [c] if c is not None else []
    for k in range(n_blocks - 2, -1, -1):
        M, M_out, c, c_out = blocks[k]
        if c is not None:
            assert c_out is not None
            bias_parts.append(_times(c, c_out, suffix, f"paths from the biases of block {k + 1}"))
        suffix = _times(M, M_out, suffix, f"paths from block {k + 1}")
    parts = [suffix] + bias_parts[::-1]
    d = sum(p.n for p in parts)
    if d > MAX_COMPONENTS:
        raise ModelError(f"phi has d = {d} components, above the limit {MAX_COMPONENTS}")
    comp_of_term = []
    base = 0
    for p in parts:
        comp_of_term.append(np.repeat(np.arange(base, base + p.n, dtype=np.int64), p.count))
        base += p.n
    t_field = np.concatenate(comp_of_term)
    terms = _pad([p.terms for p in parts])
    big = np.iinfo(np.int64).max
    terms = np.sort(np.where(terms < 0, big, terms), axis=1)
    mask = terms != big
    rows, cols = np.nonzero(mask)
    n = len(t_field)
    return TermTable(D, d, t_field, np.full(n, -1, dtype=np.int64),
                     np.ones(n, dtype=np.int64), rows.astype(np.int64),
                     terms[rows, cols].astype(np.int64), np.ones(len(rows), dtype=np.int64))


# ---------------------------------------------------------------------------------------------
# the model


def _describe(module: Any, reading: _Reading) -> str:
    name = type(module).__name__
    return f"torch {name} ({block_structure_text(reading.items)})"


def _inline(family: FieldFamily, D: int, entries: int) -> str | None:
    """``poly[D]:...`` in x1..xD when small enough (module docstring), else None."""
    if family.d * D > INLINE_MAX_BUILD or entries * 4 > INLINE_MAX_CHARS:
        return None
    from ..core.polynomials import rename

    xs = ring(default_names(D))
    parts = []
    total = 0
    phi = family.potentials
    assert phi is not None
    for p in phi:
        t = str(rename(p, xs))
        total += len(t) + 1
        if total > INLINE_MAX_CHARS or len(t) > 100_000:
            return None
        parts.append(t)
    return f"poly[{D}]:" + ";".join(parts)


def from_module(module: Any, spec: str | None = None, standard: bool = True) -> Model:
    """The model of a PyTorch module (see the module docstring for what is accepted, phi and
    the variable convention).

    Parameters
    ----------
    module:
        An ``nn.Sequential`` (nested allowed) of ``nn.Linear``, ``nn.Conv1d``, ``nn.Conv2d``,
        ``nn.ReLU``, ``nn.LeakyReLU`` and ``nn.Identity``, or one such affine layer.
    spec:
        What ``model.spec`` says (default: a one-line description of the module).
    standard:
        Use the ``linear:`` / ``relu:`` / ``relu-bias:`` builders when the module is exactly
        that layout (False builds the path lifting here in every case: the same phi).

    Returns
    -------
    Model
        D = number of scalar parameters; variables named ``0.weight[2,1]`` ...;
        ``model.meta["parameter_map"]`` is the :class:`ParameterMap`; ``model.inline`` a
        specification in x1..xD that rebuilds the generators (or None when too large).

    Raises
    ------
    ModelError
        One line naming the layer, for anything not accepted; also when PyTorch is missing.
    """
    reading = _read(module)
    pmap = _build_map(reading)
    D = pmap.D
    names = pmap.names
    desc = spec or _describe(module, reading)
    meta: dict[str, Any] = {"parameter_map": pmap,
                            "blocks": block_structure_text(reading.items)}
    if standard and pmap.standard is not None:
        kind, _, rest = pmap.standard.partition(":")
        widths = tuple(int(w) for w in rest.split(","))
        base = network_model(kind, widths)
        assert base.D == D and base.names == network_names(widths, kind == "relu-bias")
        family = FieldFamily(ring(names), potential_table=base.family.potential_table())
        family.structure = base.family.structure
        return Model(desc, kind, names, family, widths=widths, bias=kind == "relu-bias",
                     inline=pmap.standard, meta=meta)
    table = path_table(reading.layers, reading.n_blocks, D)
    family = FieldFamily(ring(names), potential_table=table)
    inline = _inline(family, D, len(table.e_var))
    return Model(desc, "torch", names, family, inline=inline, meta=meta)


def model_from_torch_file(path: str) -> Model:
    """The model of a module saved with ``torch.save(net, path)`` (what ``conslaw count
    torch:FILE.pt`` builds).

    The file must be a regular file of at most :data:`MAX_TORCH_FILE_BYTES` bytes; it is read
    once through one descriptor and given to ``torch.load(..., weights_only=False)``, which
    **runs pickle: use it only on files you trust**.  ``model.spec`` is ``torch:PATH``.

    Raises :class:`ModelError` (one line) for a missing, special or too large file, a file
    torch cannot load, an object that is not an ``nn.Module`` (e.g. a ``state_dict``), any
    module :func:`from_module` refuses, or a missing PyTorch.
    """
    from .files import read_limited

    raw = read_limited(path, MAX_TORCH_FILE_BYTES, "PyTorch file")
    torch = import_torch()
    try:
        obj = torch.load(io.BytesIO(raw), weights_only=False, map_location="cpu")
    except Exception as e:  # noqa: BLE001 - any failure of the unpickler is a bad file
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ModelError(f"PyTorch file {path!r} cannot be loaded: {msg[:200]}") from None
    if isinstance(obj, dict):
        raise ModelError(f"PyTorch file {path!r} holds a dict (a state_dict?), not a module; "
                         "save the module itself with torch.save(net, path)")
    if not isinstance(obj, torch.nn.Module):
        raise ModelError(f"PyTorch file {path!r} holds a {type(obj).__name__}, not a "
                         "torch.nn.Module; save the module with torch.save(net, path)")
    return from_module(obj, spec=f"torch:{path}")


def law_ring_ok(names: Sequence[str], pmap: ParameterMap) -> bool:
    """Whether polynomials in variables ``names`` can be read positionally as polynomials in
    the module's variables: the module's own names, x1..xD, or the names of the standard
    builder the module is exactly (``W1[1,1]``, ...)."""
    names = tuple(names)
    if len(names) != pmap.D:
        return False
    if names == pmap.names or names == default_names(pmap.D):
        return True
    if pmap.standard is not None:
        kind, _, rest = pmap.standard.partition(":")
        widths = tuple(int(w) for w in rest.split(","))
        return names == network_names(widths, kind == "relu-bias")
    return False


def ring_names_of(p: Any) -> tuple[str, ...]:
    """The variable names of a FLINT polynomial's ring."""
    return ring_names(p.context())
