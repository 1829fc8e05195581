"""ReLU networks on any directed acyclic graph: the path lifting, with skip connections.

A network is given by its graph (a model file ``{"dag": {...}}`` or the inline ``dag:``
specification)::

    {"dag": {"edges": [["x", "h"], ["h", "y"]], "skip": [["x", "y"]], "bias": ["h"]}}
    dag:x>h,h>y;skip=x>y;bias=h

* ``edges``: trained weights, one parameter ``w[from,to]`` each, in the order given;
* ``skip``: fixed identity connections (weight 1, not trained), e.g. the shortcut of a
  residual block;
* ``bias``: nodes with a trained bias ``b[node]`` (after the weights, in the order given).

Nodes are names (letters, digits, ``_`` and ``.``) or integers.  Nodes without incoming edges
(trained or skip) are the inputs, nodes without outgoing ones the outputs, all others ReLU
neurons; inputs carry no bias.

On each activation region (a fixed on/off pattern of the neurons) output o is
sum_p (product of the weights along p) x_{i(p)} over the paths p from an input i(p) to o whose
neurons are all on, plus, for each bias b_n, sum_p b_n (product of the weights along p) over
the paths p from n to o with all their neurons on.  So the network factors through the *path
lifting* phi: one component per path from an input or a bias to an output, the product of the
trained parameters along it (design.md §2 for layered networks: the same construction).  A
skip connection contributes the factor 1.  Paths made of skip connections only are constant
and dropped, and paths with the same product give one component.  Components are listed by
source (inputs in the order they first appear, then biases), then depth-first along the
edges in the order given.

A residual block x -> h -> y with the shortcut x -> y has the paths x h y (w[x,h] w[h,y]) and
x y (constant): the same phi as the block without its shortcut, hence the same laws, as
Marcotte, Peyré, Gribonval prove for residual blocks ("Transformative or Conservative?",
ICML 2025).  Chaining blocks adds the paths that skip some blocks, so the lifting of a
residual network has more components than the product of its blocks.

>>> m = dag_model([("x", "h"), ("h", "y")], skip=[("x", "y")])
>>> m.names, [str(p) for p in m.phi]
(('w[x,h]', 'w[h,y]'), ['w[x,h]*w[h,y]'])
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ..core import budget
from ..core.fields import FieldFamily
from ..core.polynomials import Monomial, ring
from ..core.tables import TermTable
from ..io.parse import split_top_level
from .maps import inline_text
from .model import Model, ModelError
from .networks import BYTES_PER_ENTRY, MAX_COMPONENTS, MAX_PARAMETERS

_NODE_RE = re.compile(r"[A-Za-z0-9_.]{1,60}")
#: most nodes and edges of a graph
MAX_NODES = 100_000
KEYS = frozenset({"edges", "skip", "bias"})


def _node(x: Any, where: str) -> str:
    if isinstance(x, bool) or not isinstance(x, (str, int)):
        raise ModelError(f"{where}: a node must be a name or an integer, not "
                         f"{type(x).__name__}")
    name = str(x).strip()
    if not _NODE_RE.fullmatch(name):
        raise ModelError(f"{where}: invalid node name {name[:40]!r}: use letters, digits, '_' "
                         "or '.' (at most 60 characters)")
    return name


def _pairs(raw: Any, key: str, where: str) -> list[tuple[str, str]]:
    if not isinstance(raw, list):
        raise ModelError(f"{where}: '{key}' must be a list of [from, to] pairs")
    out = []
    for n, e in enumerate(raw):
        if not isinstance(e, (list, tuple)) or len(e) != 2:
            raise ModelError(f"{where}: {key} entry {n + 1} must be a pair [from, to]")
        a, b = _node(e[0], where), _node(e[1], where)
        if a == b:
            raise ModelError(f"{where}: {key} entry {n + 1} is a loop {a} -> {a}")
        out.append((a, b))
    return out


def dag_paths(edges: Sequence[tuple[str, str]], skip: Sequence[tuple[str, str]],
              bias: Sequence[str], where: str = "dag") -> tuple[list[Monomial], dict[str, Any]]:
    """The monomials of the path lifting (variables: edges in order, then biases) and the
    graph's inputs, outputs and neurons."""
    if len(edges) + len(skip) > MAX_NODES:
        raise ModelError(f"{where}: more than {MAX_NODES} edges")
    seen: dict[tuple[str, str], str] = {}
    for key, lst in (("edges", edges), ("skip", skip)):
        for e in lst:
            if e in seen:
                what = "twice" if seen[e] == key else f"in both '{seen[e]}' and '{key}'"
                raise ModelError(f"{where}: connection {e[0]} -> {e[1]} is listed {what}")
            seen[e] = key
    order: list[str] = []
    succ: dict[str, list[tuple[str, int | None]]] = {}
    indeg: dict[str, int] = {}
    for v, (a, b) in [*((v, e) for v, e in enumerate(edges)),
                      *((None, e) for e in skip)]:
        for n in (a, b):
            if n not in succ:
                succ[n] = []
                indeg[n] = 0
                order.append(n)
        succ[a].append((b, v))
        indeg[b] += 1
    if not order:
        raise ModelError(f"{where}: the graph has no edges; give 'edges': [[from, to], ...]")
    # topological order (Kahn), refusing cycles
    left = dict(indeg)
    stack = [n for n in reversed(order) if left[n] == 0]
    topo = []
    while stack:
        n = stack.pop()
        topo.append(n)
        for m, _ in succ[n]:
            left[m] -= 1
            if left[m] == 0:
                stack.append(m)
    if len(topo) != len(order):
        cyc = next(n for n in order if left[n] > 0)
        raise ModelError(f"{where}: the graph has a cycle (through node {cyc}); a network "
                         "is a directed acyclic graph")
    inputs = [n for n in order if indeg[n] == 0]
    outputs = [n for n in order if not succ[n]]
    bias_ix: dict[str, int] = {}
    for b in bias:
        if b not in succ:
            raise ModelError(f"{where}: bias node {b} is not in the graph")
        if indeg[b] == 0:
            raise ModelError(f"{where}: bias on input node {b}; only neurons and outputs "
                             "have biases")
        if b in bias_ix:
            raise ModelError(f"{where}: bias node {b} is listed twice")
        bias_ix[b] = len(edges) + len(bias_ix)
    # number of paths from each node to the outputs
    count: dict[str, int] = {}
    for n in reversed(topo):
        count[n] = 1 if not succ[n] else sum(count[m] for m, _ in succ[n])
    total = sum(count[n] for n in inputs) + sum(count[b] for b in bias_ix)
    if total > MAX_COMPONENTS:
        raise ModelError(f"{where}: {total} paths, above the limit {MAX_COMPONENTS}")
    budget.reserve(total * (len(topo) + 1) * BYTES_PER_ENTRY, f"the {total} paths of this "
                   "graph", "use a smaller graph")
    monos: dict[Monomial, None] = {}

    def walk(start: str, prefix: list[int]) -> None:
        stack2: list[tuple[str, list[int]]] = [(start, prefix)]
        while stack2:
            n, path = stack2.pop()
            if not succ[n]:
                if path:
                    monos.setdefault(tuple((v, 1) for v in sorted(path)), None)
                continue
            budget.tick("enumerating the paths")
            for m, v in reversed(succ[n]):
                stack2.append((m, path + [v] if v is not None else path))

    for n in inputs:
        walk(n, [])
    for b, ix in bias_ix.items():
        walk(b, [ix])
    neurons = [n for n in order if indeg[n] > 0 and succ[n]]
    return list(monos), {"inputs": inputs, "outputs": outputs, "neurons": neurons,
                         "paths": total}


def dag_model(edges: Sequence[tuple[Any, Any]], bias: Sequence[Any] = (),
              skip: Sequence[tuple[Any, Any]] = (), spec: str | None = None,
              where: str = "dag") -> Model:
    """The ReLU network on a DAG (see the module docstring)."""
    e = _pairs(list(edges), "edges", where)
    s = _pairs(list(skip), "skip", where)
    if not isinstance(bias, (list, tuple)):
        raise ModelError(f"{where}: 'bias' must be a list of nodes")
    b = [_node(x, where) for x in bias]
    if not e and not b:
        raise ModelError(f"{where}: no trained parameter (no 'edges' and no 'bias')")
    D = len(e) + len(b)
    if D > MAX_PARAMETERS:
        raise ModelError(f"{where}: D = {D} parameters is above the limit {MAX_PARAMETERS}")
    monos, info = dag_paths(e, s, b, where)
    if not monos:
        raise ModelError(f"{where}: no path from an input or a bias to an output carries a "
                         "trained parameter (the map is constant)")
    names = tuple([f"w[{x},{y}]" for x, y in e] + [f"b[{x}]" for x in b])
    table = TermTable.from_sparse([[(-1, [(m, 1)])] for m in monos], D)
    family = FieldFamily(ring(names), potential_table=table)
    phi = family.potentials
    assert phi is not None
    inline = f"poly[{D}]:" + ";".join(inline_text(p) for p in phi)
    label = spec or ("dag:" + ",".join(f"{x}>{y}" for x, y in e)
                     + (";skip=" + ",".join(f"{x}>{y}" for x, y in s) if s else "")
                     + (";bias=" + ",".join(b) if b else ""))
    notes = (f"ReLU network on a graph: inputs {', '.join(info['inputs'])}; outputs "
             f"{', '.join(info['outputs'])}; neurons {', '.join(info['neurons']) or 'none'}; "
             f"phi = path lifting ({info['paths']} paths, {len(monos)} distinct non-constant "
             f"product{'s' if len(monos) != 1 else ''})",)
    return Model(label, "dag", names, family, inline=inline, notes=notes,
                 meta={"dag": {"edges": e, "skip": s, "bias": b}, **info})


def dag_from_dict(obj: Any, where: str, spec: str) -> Model:
    """The model of a model file's ``"dag"`` value."""
    if not isinstance(obj, dict):
        raise ModelError(f"{where}: 'dag' must be an object with 'edges' (and optionally "
                         "'skip', 'bias')")
    unknown = set(obj) - KEYS
    if unknown:
        raise ModelError(f"{where}: unknown key {sorted(unknown)[0]!r} in 'dag'; use 'edges', "
                         "'skip' and 'bias'")
    return dag_model(obj.get("edges", []), obj.get("bias", []), obj.get("skip", []),
                     spec=spec, where=where)


def _text_pairs(text: str, key: str) -> list[tuple[str, str]]:
    out = []
    for piece in split_top_level(text, ","):
        a, sep, b = piece.partition(">")
        if not sep or not a.strip() or not b.strip() or ">" in b:
            raise ModelError(f"dag: {key} entry {piece.strip()!r} must be FROM>TO, e.g. "
                             "dag:x>h,h>y;skip=x>y")
        out.append((a.strip(), b.strip()))
    return out


def parse_dag(rest: str, spec: str) -> Model:
    """The inline specification ``dag:EDGES[;skip=EDGES][;bias=NODES]`` (EDGES = ``a>b,...``,
    NODES = ``n1,n2``)."""
    parts = [p.strip() for p in rest.split(";")]
    edges: list[tuple[str, str]] = []
    skip: list[tuple[str, str]] = []
    bias: list[str] = []
    for n, part in enumerate(parts):
        if not part:
            raise ModelError("dag: empty part between ';'; write dag:x>h,h>y;skip=x>y;bias=h")
        key, eq, val = part.partition("=")
        key = key.strip()
        if eq and key == "skip":
            skip += _text_pairs(val, "skip")
        elif eq and key == "bias":
            bias += [t.strip() for t in val.split(",")]
        elif not eq and n == 0:
            edges = _text_pairs(part, "edges")
        else:
            raise ModelError(f"dag: unknown part {part[:40]!r}; write EDGES;skip=EDGES;"
                             "bias=NODES, e.g. dag:x>h,h>y;skip=x>y;bias=h")
    return dag_model(edges, bias, skip, spec=spec)


__all__ = ["dag_from_dict", "dag_model", "dag_paths", "parse_dag"]
