"""ReLU networks on graphs: the path lifting with skip connections and biases, residual
blocks, layered networks as graphs, model files and errors."""

from __future__ import annotations

import json

import pytest

from conslaw_flint import count_laws
from conslaw_flint.core.polynomials import terms
from conslaw_flint.models import ModelError, build_model
from conslaw_flint.models.dag import dag_model


def _count(m) -> tuple[int, int, bool]:  # noqa: ANN001
    r = count_laws(m)
    return r.laws_lower, r.laws_upper, r.certified


def test_one_neuron_with_an_input_output_skip() -> None:
    """The issue's oracle: one hidden neuron and an input-to-output skip edge -> 1 law."""
    m = build_model("dag:x>h,h>y;skip=x>y")
    assert [str(p) for p in m.phi] == ["w[x,h]*w[h,y]"]
    res = count_laws(m)
    assert (res.laws_lower, res.laws_upper, res.certified) == (1, 1, True)
    assert str(res.laws[0]) == "w[x,h]^2 - w[h,y]^2"


def test_residual_block_has_the_laws_of_the_block() -> None:
    """TC: a residual block has the laws of the same block without its shortcut."""
    edges = [(f"x{i}", f"h{j}") for i in (1, 2) for j in (1, 2, 3)]
    edges += [(f"h{j}", f"y{i}") for j in (1, 2, 3) for i in (1, 2)]
    plain = dag_model(edges)
    # the shortcut x_i -> y_i needs its own output nodes: x_i -> y_i directly
    res = dag_model(edges, skip=[("x1", "y1"), ("x2", "y2")])
    assert [str(p) for p in plain.phi] == [str(p) for p in res.phi]
    assert _count(plain) == _count(res) == (3, 3, True)   # one balance per hidden neuron
    assert _count(build_model("relu:2,3,2")) == (3, 3, True)


def test_layered_network_as_a_graph_is_the_path_lifting() -> None:
    widths = (2, 3, 2)
    edges = [(f"i{a}", f"h{b}") for a in range(widths[0]) for b in range(widths[1])]
    edges += [(f"h{b}", f"o{c}") for b in range(widths[1]) for c in range(widths[2])]
    g = dag_model(edges, bias=[f"h{b}" for b in range(widths[1])])
    net = build_model("relu-bias:2,3,2")
    # same variables in the same order (weights row-major, then biases), same components
    assert g.D == net.D and g.d == net.d
    assert sorted(sorted(terms(p)) for p in g.phi) == sorted(sorted(terms(p)) for p in net.phi)
    assert _count(g) == _count(net)


def test_two_scalar_residual_blocks() -> None:
    """x -> h1 -> y1 (+ x -> y1), y1 -> h2 -> y2 (+ y1 -> y2): the path lifting has the block
    products and their product (w1 w2, w3 w4, w1 w2 w3 w4), so 2 laws; on one activation region
    the scalar model x (1 + w1 w2)(1 + w3 w4) has the single component of TC Example 4.8
    (3 laws, see tests/apps/test_flows_cli.py)."""
    m = build_model("dag:x>h1,h1>y1,y1>h2,h2>y2;skip=x>y1,y1>y2")
    assert sorted(str(p) for p in m.phi) == sorted([
        "w[x,h1]*w[h1,y1]*w[y1,h2]*w[h2,y2]", "w[x,h1]*w[h1,y1]", "w[y1,h2]*w[h2,y2]"])
    assert _count(m) == (2, 2, True)


def test_biases_and_dedup() -> None:
    m = build_model("dag:x>h,h>y;bias=h,y")
    assert m.names == ("w[x,h]", "w[h,y]", "b[h]", "b[y]")
    assert [str(p) for p in m.phi] == ["w[x,h]*w[h,y]", "w[h,y]*b[h]", "b[y]"]
    assert _count(m) == (1, 1, True)   # w[x,h]^2 + b[h]^2 - w[h,y]^2
    # two parallel routes with the same product give one component
    m = build_model("dag:x>h;skip=h>a,a>y,h>b,b>y")
    assert [str(p) for p in m.phi] == ["w[x,h]"]
    assert any("2 paths, 1 distinct" in n for n in m.notes)


def test_model_file(tmp_path) -> None:  # noqa: ANN001
    p = tmp_path / "res.json"
    p.write_text(json.dumps({"dag": {"edges": [["x", "h"], ["h", "y"]],
                                     "skip": [["x", "y"]], "bias": ["h"]},
                             "name": "residual block"}))
    m = build_model(str(p))
    assert m.names == ("w[x,h]", "w[h,y]", "b[h]") and m.spec == str(p)
    assert m.inline == "poly[3]:x1*x2;x2*x3"
    assert _count(m) == (1, 1, True)
    q = tmp_path / "ints.json"
    q.write_text(json.dumps({"dag": {"edges": [[0, 1], [1, 2]]}, "flow": "momentum"}))
    mq = build_model(str(q))
    assert mq.meta["flow"] == "momentum:tau=1" and mq.names[1:3] == ("w[0,1]", "w[1,2]")
    assert _count(mq) == (0, 0, True)


@pytest.mark.parametrize("obj,needle", [
    ({"dag": {"edges": [["x", "y"]], "weights": []}}, "unknown key 'weights'"),
    ({"dag": [["x", "y"]]}, "'dag' must be an object"),
    ({"dag": {"edges": [["x", "y"]]}, "map": ["x1"]}, "cannot be combined"),
    ({"dag": {"edges": [["x"]]}}, "must be a pair"),
    ({"dag": {"edges": [["x", "x"]]}}, "loop"),
    ({"dag": {"edges": [["x", "y"], ["x", "y"]]}}, "listed twice"),
    ({"dag": {"edges": [["x", "y"]], "skip": [["x", "y"]]}}, "in both 'edges' and 'skip'"),
    ({"dag": {"edges": [["a", "b"], ["b", "c"], ["c", "a"], ["x", "a"]]}}, "cycle"),
    ({"dag": {"edges": [["x", "y"]], "bias": ["x"]}}, "bias on input node x"),
    ({"dag": {"edges": [["x", "y"]], "bias": ["z"]}}, "not in the graph"),
    ({"dag": {"edges": [["x y", "z"]]}}, "invalid node name"),
    ({"dag": {"edges": [[1.5, "z"]]}}, "a node must be a name or an integer"),
    ({"dag": {"edges": []}}, "no trained parameter"),
    ({"dag": {"edges": [], "skip": [["x", "y"]], "bias": []}}, "no trained parameter"),
])
def test_bad_files(tmp_path, obj: dict, needle: str) -> None:  # noqa: ANN001
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(obj))
    with pytest.raises(ModelError, match=needle):
        build_model(str(p))


@pytest.mark.parametrize("spec,needle", [
    ("dag:x>y>z", "must be FROM>TO"),
    ("dag:x>h;;skip=x>h", "empty part"),
    ("dag:x>h;weights=1", "unknown part"),
    ("dag:x>h;skip=x", "must be FROM>TO"),
])
def test_bad_inline(spec: str, needle: str) -> None:
    with pytest.raises(ModelError, match=needle):
        build_model(spec)


def test_path_count_limit(monkeypatch) -> None:  # noqa: ANN001
    import conslaw_flint.models.dag as dag

    monkeypatch.setattr(dag, "MAX_COMPONENTS", 10)
    edges = [("x", f"a{i}") for i in range(4)] + [(f"a{i}", f"b{j}") for i in range(4)
                                                   for j in range(4)]
    with pytest.raises(ModelError, match="16 paths, above the limit 10"):
        dag_model(edges)
