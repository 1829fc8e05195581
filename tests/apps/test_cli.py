"""Command line: outputs, JSON contracts, exit codes, one-line errors, no partial files."""

import json
import os

import pytest

from conslaw_flint.cli import main
from conslaw_flint.parse import parse_polynomial


def run(capsys, *argv: str) -> tuple[int, str, str]:  # noqa: ANN001
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_laws_json_contract(capsys) -> None:  # noqa: ANN001
    code, out, _ = run(capsys, "laws", "linear:3,4,2", "--degree", "2", "--homogeneous",
                       "--json")
    data = json.loads(out)
    assert code == 0
    for key in ("model", "D", "d", "degree", "homogeneous", "basis", "independent", "seed"):
        assert key in data
    assert len(data["basis"]) == 10 and data["homogeneous"] is True
    for s in data["basis"]:  # the same parser reads the laws back
        parse_polynomial(s, nvars=data["D"])


def test_laws_table_with_names(capsys) -> None:  # noqa: ANN001
    code, out, _ = run(capsys, "laws", "relu:2,2,2", "--degree", "2", "--names")
    assert code == 0 and "W1[1,1]^2" in out and "indep" in out


def test_count_human_and_certificate(capsys, tmp_path) -> None:  # noqa: ANN001
    cert = tmp_path / "c.json"
    code, out, _ = run(capsys, "count", "linear:3,4,5", "--certificate", str(cert))
    assert code == 0
    assert out.splitlines()[0].startswith("exactly 10 independent conservation laws (certified")
    assert json.loads(cert.read_text())["claims"]["laws_lower"] == 10


def test_count_json(capsys) -> None:  # noqa: ANN001
    code, out, err = run(capsys, "count", "product:3", "--json")
    data = json.loads(out)
    assert code == 0 and data["certified"] and data["laws_lower"] == 2 and err == ""


@pytest.mark.parametrize("argv,needle", [
    (["laws", "conv:3", "--degree", "2"], "unknown model kind"),
    (["laws", "poly:exp(x1)", "--degree", "2"], "unknown name 'exp'"),
    (["laws", "relu:3,0", "--degree", "2"], "at least 1"),
    (["laws", "product:40", "--degree", "8"], "unknown coefficients"),
    (["laws", "product:3", "--degree", "0"], "at least 1"),
    (["laws", "product:3", "--degree", "two"], "not an integer"),
    (["count", "poly:x1;", "--json"], "component 2 is empty"),
    (["count", "product:3", "--time-limit", "-1"], "must be positive"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input_exit_2_one_line(capsys, argv, needle) -> None:  # noqa: ANN001
    with pytest.raises(SystemExit) as e:
        raise SystemExit(main(argv))
    _, err = capsys.readouterr()
    assert e.value.code == 2
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err


def test_no_file_written_on_error(capsys, tmp_path) -> None:  # noqa: ANN001
    cert = tmp_path / "c.json"
    code, _, err = run(capsys, "count", "relu:3,x", "--certificate", str(cert))
    assert code == 2 and not cert.exists() and os.listdir(tmp_path) == []
    code, _, err = run(capsys, "count", "product:3", "--certificate",
                       str(tmp_path / "missing" / "c.json"))
    assert code == 2 and "does not exist" in err


def test_debug_shows_traceback() -> None:
    from conslaw_flint.models import ModelError

    with pytest.raises(ModelError):
        main(["laws", "conv:3", "--degree", "2", "--debug"])
