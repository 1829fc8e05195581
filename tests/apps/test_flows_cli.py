"""Command line of issue 11: --flow and --subset on laws, count and sweep, the new model kinds,
certificates of flow models re-checked by the verifier, model files, one-line errors."""

from __future__ import annotations

import json

import pytest

from conslaw_flint.apps.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:  # noqa: ANN001
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def count_json(capsys, *argv: str) -> dict:  # noqa: ANN001
    code, out, err = run(capsys, "count", *argv, "--json")
    assert code == 0, err
    return json.loads(out)


# the oracles of the issue, through the command line
ORACLES = [
    (("poly:x1*x2", "--flow", "momentum"), 0),
    (("linear:1,2,1", "--flow", "momentum:tau=1"), 2),
    (("relu:2,2,2", "--flow", "momentum"), 0),
    (("linear:2,2,2", "--flow", "mirror:entropy"), 2),
    (("linear:2,2,2", "--flow", "decay:lambda=1"), 3),
    (("attention:2,2",), 6),
    (("softmax:3,2",), 2),
    (("conv:1,2,1,2,2",), 2),
    (("dag:x>h,h>y;skip=x>y",), 1),
    (("poly:x1*x2+x3*x4+x1*x2*x3*x4",), 3),
    (("linear:2,2,2,2", "--subset", "W1,W3"), 1),
]


@pytest.mark.parametrize("argv,N", ORACLES)
def test_oracles_certified_and_verified(capsys, tmp_path, argv: tuple[str, ...],  # noqa: ANN001
                                        N: int) -> None:
    cert = str(tmp_path / "c.json")
    data = count_json(capsys, *argv, "--certificate", cert)
    assert data["certified"] and data["laws_lower"] == data["laws_upper"] == N
    model = json.load(open(cert))["model"]
    assert model.startswith(("fields:", "poly[", "poly:"))   # specs the verifier accepts
    code, out, err = run(capsys, "verify", cert)
    assert code == 0, err


def test_example_4_8_has_a_nonpolynomial_law(capsys) -> None:  # noqa: ANN001
    data = count_json(capsys, "poly:x1*x2+x3*x4+x1*x2*x3*x4")
    assert data["method"] == "involutive" and len(data["laws"]) == 2


def test_flow_notes_and_names_in_text_output(capsys) -> None:  # noqa: ANN001
    code, out, _ = run(capsys, "count", "linear:1,2,1", "--flow", "momentum", "--quiet")
    assert code == 0
    assert "model linear:1,2,1|flow=momentum:tau=1: D = 9" in out
    assert "note: heavy-ball flow" in out and "s*W1[1,1]*vW1[1,2]" in out
    code, out, _ = run(capsys, "laws", "poly:x1*x2", "--flow", "nesterov", "--degree", "2")
    assert code == 0 and "excluded: t = 0" in out


def test_laws_with_flow_and_subset(capsys) -> None:  # noqa: ANN001
    code, out, _ = run(capsys, "laws", "linear:2,2,2", "--flow", "mirror:entropy",
                       "--degree", "1", "--json")
    data = json.loads(out)
    assert code == 0 and data["basis"] == ["W1[1,1] + W1[2,1] - W2[1,1] - W2[1,2]",
                                           "W1[1,2] + W1[2,2] - W2[2,1] - W2[2,2]"]
    code, out, _ = run(capsys, "laws", "linear:2,2,2,2", "--subset", "W1,W3", "--degree", "2",
                       "--json")
    data = json.loads(out)
    assert code == 0 and len(data["basis"]) == 1
    assert data["variables"][0] == "W1[1,1]" and len(data["variables"]) == 8


def test_rational_flow_states_excluded_set(capsys) -> None:  # noqa: ANN001
    data = count_json(capsys, "poly:x1*x2", "--flow", "mirror:diag(1/x1,x2)")
    assert data["excluded"] == ["x1"] and any("excluded: x1 = 0" in n for n in data["notes"])
    data = count_json(capsys, "poly:x1/x2", "--flow", "momentum")
    assert data["excluded"] == ["x2"]


def test_model_file_with_flow_and_dag(capsys, tmp_path) -> None:  # noqa: ANN001
    p = tmp_path / "m.json"
    p.write_text(json.dumps({"dag": {"edges": [["x", "h"], ["h", "y"]], "skip": [["x", "y"]]},
                             "flow": "momentum"}))
    data = count_json(capsys, str(p))
    assert data["certified"] and data["laws_lower"] == 0
    data = count_json(capsys, str(p), "--subset", "w[x,h]")
    assert data["laws_lower"] == 0
    q = tmp_path / "n.json"
    q.write_text(json.dumps({"map": ["x1*x2"], "flow": "decay"}))
    data = count_json(capsys, str(q))
    assert data["laws_lower"] == 1 and data["D"] == 3


def test_sweep_with_flow(capsys, tmp_path) -> None:  # noqa: ANN001
    f = tmp_path / "cases.txt"
    f.write_text("linear:1,2,1\nrelu:2,2,2\nlinear:2,2,2|flow=decay\n")
    out_file = str(tmp_path / "out.jsonl")
    code, out, err = run(capsys, "sweep", str(f), "--flow", "momentum", "--out", out_file,
                         "--json")
    assert code == 1   # the third line has a flow already: an error line, the others run
    rows = {r["spec"]: r for r in json.loads(out)}
    assert rows["linear:1,2,1|flow=momentum"]["laws_lower"] == 2
    assert rows["relu:2,2,2|flow=momentum"]["laws_lower"] == 0
    assert "two flows" in rows["linear:2,2,2|flow=decay|flow=momentum"]["error"]
    code, out, err = run(capsys, "sweep", str(f), "--subset", "W1", "--out",
                         str(tmp_path / "o2.jsonl"), "--json")
    assert code == 0
    assert all(r["certified"] for r in json.loads(out))


@pytest.mark.parametrize("argv,needle", [
    (("count", "linear:2,2", "--flow", "foo"), "unknown flow 'foo'"),
    (("count", "linear:2,2", "--flow", "momentum:tau=abc"), "is not a number"),
    (("count", "linear:2,2", "--flow", "mirror:diag(x1)"), "has 1 factor for D = 4"),
    (("count", "linear:2,2", "--flow", "decay:lambda=0"), "lambda = 0"),
    (("laws", "linear:2,2", "--degree", "2", "--subset", "W9"), "unknown variable 'W9'"),
    (("count", "linear:2,2", "--subset", "x5"), "out of range"),
    (("count", "attention:2"), "expected 2 comma-separated sizes"),
    (("count", "softmax:1,2"), "at least 2 classes"),
    (("count", "conv:1,2,3"), "expected 5"),
    (("count", "dag:x>h,h>x"), "cycle"),
    (("count", "linear:2,2|flow=momentum", "--flow", "decay"), "two flows"),
    (("count", "linear:2,2|foo=1"), "unknown model option"),
])
def test_bad_options_one_line_exit_2(capsys, argv: tuple[str, ...],  # noqa: ANN001
                                     needle: str) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("conslaw: ") and needle in err


def test_help_lists_flows_and_kinds(capsys) -> None:  # noqa: ANN001
    with pytest.raises(SystemExit):
        main(["count", "--help"])
    out = capsys.readouterr().out
    for word in ("--flow", "--subset", "attention:", "softmax:", "conv:", "dag:",
                 "mirror:entropy", "decay[:lambda=L]"):
        assert word in out
