"""Command line: outputs, JSON contracts, exit codes, one-line errors, no partial files."""

import json
import os

import pytest

from conslaw_flint.apps.cli import main
from conslaw_flint.io.parse import parse_polynomial


def run(capsys, *argv: str) -> tuple[int, str, str]:  # noqa: ANN001
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_laws_json_contract(capsys) -> None:  # noqa: ANN001
    code, out, _ = run(capsys, "laws", "linear:3,4,2", "--degree", "2", "--homogeneous",
                       "--json")
    data = json.loads(out)
    assert code == 0
    for key in ("model", "D", "d", "variables", "degree", "homogeneous", "basis",
                "independent", "seed"):
        assert key in data
    assert len(data["basis"]) == 10 and data["homogeneous"] is True
    assert len(data["variables"]) == data["D"] and data["variables"][0] == "W1[1,1]"
    assert data["basis"][0].startswith("W1[1,1]^2")       # laws in the model's names
    code, out, _ = run(capsys, "laws", "linear:3,4,2", "--degree", "2", "--homogeneous",
                       "--json", "--index-names")
    indexed = json.loads(out)
    assert indexed["variables"] == [f"x{i + 1}" for i in range(data["D"])]
    assert len(indexed["basis"]) == 10 and indexed["basis"][0].startswith("x1^2")
    for s in indexed["basis"]:  # the same parser reads the laws back
        parse_polynomial(s, nvars=indexed["D"])


def test_laws_json_reads_back_in_model_names(capsys) -> None:  # noqa: ANN001
    code, out, _ = run(capsys, "laws", "linear:3,4,2", "--degree", "2", "--homogeneous",
                       "--json")
    data = json.loads(out)
    for s in data["basis"]:
        assert str(parse_polynomial(s, names=data["variables"])) == s


def test_laws_table_with_names(capsys) -> None:  # noqa: ANN001
    code, out, _ = run(capsys, "laws", "relu:2,2,2", "--degree", "2")
    assert code == 0 and "W1[1,1]^2" in out and "indep" in out and "x1" not in out
    # --names is a hidden no-op kept for old scripts (names are the default now)
    code, named, _ = run(capsys, "laws", "relu:2,2,2", "--degree", "2", "--names")
    assert code == 0 and named == out
    code, out, _ = run(capsys, "laws", "relu:2,2,2", "--degree", "2", "--index-names")
    assert code == 0 and "x1^2" in out and "W1[" not in out.split("\n", 1)[1]


@pytest.mark.parametrize("fmt,needle", [("markdown", "| 1 | ✓ | $x_{1}^{2} - x_{2}^{2}$ |"),
                                        ("latex", "\\begin{tabular}{rl}")])
def test_laws_formats(capsys, fmt: str, needle: str) -> None:  # noqa: ANN001
    code, out, _ = run(capsys, "laws", "product:3", "--degree", "2", "--format", fmt)
    assert code == 0 and needle in out


def test_count_human_and_certificate(capsys, tmp_path) -> None:  # noqa: ANN001
    cert = tmp_path / "c.json"
    code, out, _ = run(capsys, "count", "linear:3,4,5", "--certificate", str(cert))
    assert code == 0
    assert out.splitlines()[0].startswith("exactly 10 independent conservation laws (certified")
    assert "W1[1,1]^2" in out and f"certificate written to {cert}" in out
    written = json.loads(cert.read_text())
    assert written["claims"]["laws_lower"] == 10
    assert written["laws"]["polynomials"][0].startswith("x1^2")  # certificates use x1..xD


def test_count_json(capsys) -> None:  # noqa: ANN001
    code, out, err = run(capsys, "count", "product:3", "--json")
    data = json.loads(out)
    assert code == 0 and data["certified"] and data["laws_lower"] == 2 and err == ""
    assert data["variables"] == ["x1", "x2", "x3"] and data["certificate"] is None
    assert data["laws"] == ["x1^2 - x2^2", "x1^2 - x3^2"] and data["stopped_by"] is None


@pytest.mark.parametrize("argv,needle", [
    (["laws", "lstm:3", "--degree", "2"], "unknown model kind"),
    (["laws", "poly:exp(x1)", "--degree", "2"], "unknown name 'exp'"),
    (["laws", "relu:3,0", "--degree", "2"], "at least 1"),
    (["laws", "product:40", "--degree", "8"], "unknown coefficients"),
    (["laws", "product:3", "--degree", "0"], "at least 1"),
    (["laws", "product:3", "--degree", "two"], "not an integer"),
    (["count", "poly:x1;", "--json"], "ends with ';'"),
    (["count", "poly:x1;;x2", "--json"], "component 2 is empty"),
    (["count", "product:3", "--time-limit", "-1"], "must be a positive"),
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
    from conslaw_flint.models.model import ModelError

    with pytest.raises(ModelError):
        main(["laws", "lstm:3", "--degree", "2", "--debug"])


def test_non_ascii_variable_names(capsys, tmp_path) -> None:  # noqa: ANN001
    f = tmp_path / "m.json"
    f.write_text(json.dumps({"map": ["é*b"], "variables": ["é", "b"]}), encoding="utf-8")
    code, out, err = run(capsys, "laws", str(f), "--degree", "2")
    assert code == 0 and "é^2 - b^2" in out and err == ""


def test_output_name_too_long_and_outputs_checked_first(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    """A certificate name longer than the file system allows is refused before the count
    (issue 15), in one line, with nothing written."""
    import subprocess
    import sys

    monkeypatch.chdir(tmp_path)
    name = "a" * 300 + ".json"
    r = subprocess.run([sys.executable, "-m", "conslaw_flint", "count", "product:3",
                        "--certificate", name], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "longer than" in r.stderr and r.stderr.count("\n") == 1
    assert not r.stdout and list(tmp_path.iterdir()) == []


def test_sigterm_prints_the_bounds_proven_so_far(tmp_path) -> None:  # noqa: ANN001
    """SIGTERM (what cluster schedulers send) is handled like Ctrl-C: the count prints the
    bounds proven so far and exits 130 (issue 9)."""
    import json
    import signal
    import subprocess
    import sys
    import time

    # linear:16,16,16,16 builds in a fraction of a second and counts for about 8 s; a
    # signal that arrives before the count has started (interpreter start-up on a loaded
    # machine) prints no bounds, as there are none yet: then the signal is sent later
    for wait in (3, 5, 7):
        proc = subprocess.Popen([sys.executable, "-m", "conslaw_flint", "count",
                                 "linear:16,16,16,16", "--json"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        time.sleep(wait)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 130, err
        if out or "nothing was proven" not in err:
            break
    row = json.loads(out)
    assert row["interrupted"] and row["stopped_by"] == "signal"
    assert 0 <= row["laws_lower"] <= row["laws_upper"] <= row["D"]


def test_long_laws_are_shortened_in_the_text_only(capsys) -> None:  # noqa: ANN001
    """relu:30,1,40 has one law of 70 terms (the squares of the hidden neuron's 30 incoming
    weights minus those of its 40 outgoing ones, the source paper's law of a ReLU neuron;
    here checked only for its length): the text
    shows 20 of them and says how many are left out; --all-terms and --json have all 70, and
    they are the same law."""
    code, out, _ = run(capsys, "count", "relu:30,1,40")
    assert code == 0 and "+ ... [50 more of 70 terms]" in out and "--all-terms" in out
    code, full, _ = run(capsys, "count", "relu:30,1,40", "--all-terms")
    law_line = next(line for line in full.splitlines() if line.strip().startswith("1."))
    assert "..." not in full and law_line.count("^2") == 70
    code, js, _ = run(capsys, "count", "relu:30,1,40", "--json")
    (law,) = json.loads(js)["laws"]
    names = json.loads(js)["variables"]
    assert parse_polynomial(law, names) == parse_polynomial(law_line.split(". ", 1)[1], names)
    code, out, _ = run(capsys, "laws", "relu:30,1,40", "--degree", "2", "--homogeneous")
    assert "[50 more of 70 terms]" in out
