"""Model builders: sizes, parameter convention, file models and input errors."""

import json
import math

import pytest

from conslaw_flint.core.polynomials import terms, variables
from conslaw_flint.models import ModelError, build_model


@pytest.mark.parametrize("spec,D,d", [
    ("relu:5,9,9,4", 162, 1620),          # issue 2: 45+81+36 weights, 5*9*9*4 paths
    ("linear:3,4,5", 32, 15),             # 12+20 weights, 3x5 product
    ("relu-bias:3,4,3", 28, 36 + 4 * 3),  # 24 weights + 4 biases; paths from inputs and biases
    ("relu-bias:2,3,4,2", 6 + 12 + 8 + 7, 2 * 3 * 4 * 2 + 3 * 4 * 2 + 4 * 2),
    ("product:4", 4, 1),
])
def test_sizes(spec: str, D: int, d: int) -> None:
    m = build_model(spec)
    assert (m.D, m.d) == (D, d)


def test_linear_net_is_matrix_product() -> None:
    # phi_{(i,j)} = sum_k W1[i,k] W2[k,j], parameters row-major: W1 then W2
    m = build_model("linear:2,3,2")
    phi00 = m.phi[0]
    # W1[1,k] are x1..x3, W2[k,1] are x7, x9, x11
    assert {mono for mono, _ in terms(phi00)} == {((0, 1), (6, 1)), ((1, 1), (8, 1)),
                                                  ((2, 1), (10, 1))}
    assert m.names[6] == "W2[1,1]" and m.names[8] == "W2[2,1]"
    # the names are the ring's variables: phi prints in them
    assert m.ring.names() == m.names
    assert str(phi00) == "W1[1,1]*W2[1,1] + W1[1,2]*W2[2,1] + W1[1,3]*W2[3,1]"


def test_relu_bias_paths() -> None:
    m = build_model("relu-bias:1,2,1")
    # weights x1, x2 (W1), x3, x4 (W2); biases x5, x6 (b1)
    assert m.names[4:] == ("b1[1]", "b1[2]")
    monos = {tuple(variables(p)) for p in m.phi}
    assert monos == {(0, 2), (1, 3), (2, 4), (3, 5)}


def test_random_fields_reproducible() -> None:
    a = build_model("random:3,2,2,7").family.fields
    b = build_model("random:3,2,2,7").family.fields
    c = build_model("random:3,2,2,8").family.fields
    assert a == b and a != c


def test_poly_and_fields_specs() -> None:
    m = build_model("poly:x1*x2;x2^2 - x3")
    assert (m.D, m.d, m.is_gradient) == (3, 2, True)
    f = build_model("fields:x2,-x1,0;x3,0,-x1")
    assert (f.D, f.d, f.is_gradient) == (3, 2, False)
    assert build_model("poly[4]:x1*x2").D == 4


def test_model_files(tmp_path) -> None:  # noqa: ANN001
    j = tmp_path / "m.json"
    j.write_text(json.dumps({"map": ["u*v"], "variables": ["u", "v"]}))
    m = build_model(str(j))
    assert (m.D, m.d, m.names) == (2, 1, ("u", "v"))
    assert [str(p) for p in m.phi] == ["u*v"]
    # the canonical specification rebuilds the same generators, in x1..xD
    again = build_model(m.canonical_spec())
    assert [terms(p) for p in again.phi] == [terms(p) for p in m.phi]
    t = tmp_path / "f.toml"
    t.write_text('fields = [["x2", "-x1"]]\n')
    f = build_model(str(t))
    assert (f.D, f.d, f.is_gradient) == (2, 1, False)
    assert build_model(f.canonical_spec()).family.fields == f.family.fields


@pytest.mark.parametrize("spec,needle", [
    ("", "empty model"),
    ("lstm:3,3", "unknown model kind 'lstm'"),
    ("relu:", "empty width"),
    ("relu:3,0,2", "at least 1"),
    ("relu:3,-1", "at least 1"),
    ("linear:3,2.5", "not an integer"),
    ("linear:3", "at least two widths"),
    ("relu:100000,3", "above the limit 100000"),
    ("relu:1000,1000,1000", "above the limit"),
    ("poly:sin(x1)", "unknown name 'sin'"),
    ("poly:x1*y", "unknown name 'y'"),
    ("poly:x1*x3", "index gap"),
    ("poly:", "empty map"),
    ("poly:3;4", "constant"),
    ("poly:x1^100000", "1000"),
    ("poly:x1/0", "division by zero"),
    ("poly:x1/(x2 - x2)", "division by zero"),
    ("fields:x1/(x1 - x1),1", "division by zero"),
    ("poly:x1*a2", "unknown name"),
    ("fields:x2,-x1;x1", "components"),
    ("product:0", "between 1"),
    ("product:abc", "not an integer"),
    ("random:3,2", "D,d,m"),
    ("random:300,2,2", "1 <= D <= 30"),
])
def test_bad_specs_one_line_errors(spec: str, needle: str) -> None:
    with pytest.raises(ModelError) as e:
        build_model(spec)
    msg = str(e.value)
    assert needle in msg and "\n" not in msg


@pytest.mark.parametrize("content,needle", [
    ("", "is empty"),
    ("{", "malformed"),
    ("[1, 2]", "must hold an object"),
    ('{"map": "x1"}', "list of strings"),
    ('{"map": ["x1"], "fields": [["x1"]]}', "exactly one"),
    ('{"map": ["__import__(\'os\').system(\'touch /tmp/pwned\')"]}',
                 "unknown name"),
    ('{"map": ["__import__(x1)"]}', "unknown name '__import__'"),
    ('{"map": ["x1"], "evil": 1}', "unknown key"),
    ("[" * 100000 + "]" * 100000, "nested too deeply"),
])
def test_bad_files(tmp_path, content: str, needle: str) -> None:  # noqa: ANN001
    path = tmp_path / "m.json"
    path.write_text(content)
    with pytest.raises(ModelError) as e:
        build_model(str(path))
    assert needle in str(e.value)


def test_missing_and_oversized_files(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    with pytest.raises(ModelError, match="not found"):
        build_model(str(tmp_path / "nope.json"))
    import conslaw_flint.models.files as files

    monkeypatch.setattr(files, "MAX_FILE_BYTES", 10)
    path = tmp_path / "big.json"
    path.write_text('{"map": ["x1*x2*x3"]}')
    with pytest.raises(ModelError, match="above the limit"):
        build_model(str(path))


def test_product_of_paths_count() -> None:
    widths = (2, 3, 4)
    assert build_model("relu:" + ",".join(map(str, widths))).d == math.prod(widths)


def test_file_expressions_are_never_evaluated(tmp_path) -> None:  # noqa: ANN001
    marker = tmp_path / "pwned"
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"map": [f"__import__('os').system('touch {marker}')"]}))
    with pytest.raises(ModelError, match="at position"):
        build_model(str(path))
    assert not marker.exists()


def test_spec_ending_like_a_file_name_is_still_a_spec() -> None:
    # "poly:x1/evil.json" is a poly spec (and a parse error), never a path to open
    with pytest.raises(ModelError, match="^poly") as e:
        build_model("poly:x1/evil.json")
    assert "not found" not in str(e.value) and "file" not in str(e.value)


def test_parse_errors_name_the_component() -> None:
    with pytest.raises(ModelError, match="poly component 1"):
        build_model("poly:x1/evil.json")
    with pytest.raises(ModelError, match="poly component 2"):
        build_model("poly:x1;x2/evil.json")


def test_map_that_expands_to_zero_is_constant() -> None:
    with pytest.raises(ModelError, match="constant|index gap"):
        build_model("poly:x1*x2 - x2*x1")


def test_rational_maps_and_fields_are_made_polynomial() -> None:
    # phi = x1/x2: grad phi = (1/x2, -x1/x2^2), times x2^2 -> (x2, -x1)
    m = build_model("poly:x1/x2;x1*x2")
    assert not m.is_gradient and m.phi is None
    assert [[str(c) for c in f] for f in m.fields] == [["x2", "-x1"], ["x2", "x1"]]
    assert m.excluded == ("x2",) and "x2 = 0" in m.notes[0]
    assert build_model(m.canonical_spec()).fields == m.fields
    f = build_model("fields:x2/x1,-1;1,0")
    assert [[str(c) for c in g] for g in f.fields] == [["x2", "-x1"], ["1", "0"]]
    assert f.excluded == ("x1",)
    assert build_model("poly:x1*x2").excluded == ()


def test_models_from_python_objects() -> None:
    import sympy as sp

    from conslaw_flint import Model

    u, v = sp.symbols("u v")
    m = build_model([u * v, u + v])
    assert (m.names, [str(p) for p in m.phi], m.is_gradient) == (("u", "v"), ["u*v", "u + v"],
                                                                   True)
    again = build_model(m.canonical_spec())
    assert [terms(p) for p in again.phi] == [terms(p) for p in m.phi]
    f = Model.from_fields([[v, -u]])
    assert f.names == ("u", "v") and [str(c) for c in f.fields[0]] == ["v", "-u"]
    ode = build_model({"x": "y", "y": "-x"})          # x' = y, y' = -x
    assert ode.names == ("x", "y") and [str(c) for c in ode.fields[0]] == ["y", "-x"]
    # FLINT input keeps its ring's names
    w = build_model([m.phi[0] ** 2])
    assert w.names == ("u", "v") and str(w.phi[0]) == "u^2*v^2"
    with pytest.raises(ModelError):
        build_model([object()])


def test_model_properties() -> None:
    m = build_model("linear:2,2")
    assert m.ring.names() == m.names and m.gens()[0] == m.ring.gens()[0]
    assert str(m.gens()[1]) == "W1[1,2]"
    assert repr(m) == "Model('linear:2,2': D = 4, d = 4, map)"
    assert m.widths == (2, 2) and not m.bias and m.kind == "linear"
    assert build_model("relu-bias:2,3,1").bias
