"""``conslaw sweep``: process pool, JSON lines, resume, bad cases, cases files, Dask.

Expected counts are the public oracles of design.md §5:
* product:3 (phi = x1 x2 x3): D - 1 = 2 laws;
* linear:2,3,2 (phi = U V^T with r = 3 hidden units, wide enough): r(r+1)/2 = 6 laws;
* relu:2,2,3 (one hidden layer of 2 neurons): r = 2 laws, one per hidden neuron;
* relu-bias:2,2,3: still r = 2 laws (b_j^2 joins the incoming side).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conslaw_flint.apps.cli import main
from conslaw_flint.apps.sweep import read_specs, run_sweep, specs_from_json
from conslaw_flint.errors import UserError

EXPECTED = {"product:3": 2, "linear:2,3,2": 6, "relu:2,2,3": 2}


def lines(path: Path) -> list[dict]:
    return [json.loads(s) for s in path.read_text().splitlines() if s.strip()]


def test_sweep_pool_resume_and_partial_rerun(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    rows = run_sweep(list(EXPECTED), jobs=2, out=out)
    assert [r["spec"] for r in rows] == list(EXPECTED)  # input order
    got = lines(out)
    assert len(got) == 3
    for row in got:
        assert row["certified"] is True and row["method"] in ("laws", "involutive")
        assert row["laws_lower"] == row["laws_upper"] == EXPECTED[row["spec"]]
        assert row["model"] == row["spec"] and row["seconds"] >= 0
        assert {"D", "d", "variables", "lie_rank_lower", "laws", "prime", "level_ranks"} <= set(row)
        assert len(row["variables"]) == row["D"]

    # rerun: nothing new is computed or written
    again = run_sweep(list(EXPECTED), jobs=2, out=out)
    assert all(r["resumed"] for r in again)
    assert len(lines(out)) == 3

    # delete one line: only that case reruns
    kept = [s for s in out.read_text().splitlines() if '"linear:2,3,2"' not in s]
    out.write_text("\n".join(kept) + "\n")
    third = run_sweep(list(EXPECTED), jobs=2, out=out)
    assert [r["spec"] for r in third if not r.get("resumed")] == ["linear:2,3,2"]
    after = lines(out)
    assert len(after) == 3 and after[-1]["spec"] == "linear:2,3,2"
    assert after[-1]["laws_lower"] == 6 and "resumed" not in after[-1]


def test_bad_case_gives_error_line_and_others_run(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    # a cut last line (as after a crash) must not corrupt the next one
    out.write_text('{"spec": "product:3", "cert')
    rows = run_sweep(["relu:2,x", "product:3", "nope:1"], jobs=1, out=out)
    by = {r["spec"]: r for r in rows}
    assert set(by["relu:2,x"]) == {"spec", "error", "key"} and "\n" not in by["relu:2,x"]["error"]
    assert "error" in by["nope:1"]
    assert by["product:3"]["laws_lower"] == 2 and by["product:3"]["certified"]
    raw = out.read_text().splitlines()
    assert raw[0] == '{"spec": "product:3", "cert' and len(raw) == 4
    assert [json.loads(s)["spec"] for s in raw[1:]].count("product:3") == 1
    # error lines are retried on a rerun; the successful case is not
    rows = run_sweep(["relu:2,x", "product:3"], jobs=1, out=out)
    assert [r.get("resumed", False) for r in rows] == [False, True]


def test_cases_json_reversed_widths(tmp_path: Path) -> None:
    data = {"kind": "relu", "task": "count", "cases": [
        {"widths": [3, 2, 2], "bias": False}, {"widths": [3, 2, 2], "bias": True}]}
    assert specs_from_json(data) == ["relu:2,2,3", "relu-bias:2,2,3"]
    assert specs_from_json({"kind": "linear", "cases": [{"widths": [2, 3, 4]}]}) \
        == ["linear:4,3,2"]
    with pytest.raises(UserError):
        specs_from_json({"kind": "linear", "cases": [{"widths": [2, 3], "bias": True}]})
    with pytest.raises(UserError):
        specs_from_json({"cases": [{"widths": [2, 3]}]})  # no kind
    f = tmp_path / "cases.json"
    f.write_text(json.dumps(data))
    assert read_specs(f) == ["relu:2,2,3", "relu-bias:2,2,3"]
    t = tmp_path / "specs.txt"
    t.write_text("# a comment\n\nproduct:3\n  relu:2,2,3  \n")
    assert read_specs(t) == ["product:3", "relu:2,2,3"]


def test_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "cases.json"
    f.write_text(json.dumps({"kind": "relu", "cases": [
        {"widths": [3, 2, 2], "bias": False}, {"widths": [3, 2, 2], "bias": True}]}))
    assert main(["sweep", str(f), "--jobs", "2", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["spec"], r["laws_lower"], r["certified"]) for r in rows] == [
        ("relu:2,2,3", 2, True), ("relu-bias:2,2,3", 2, True)]
    default = tmp_path / "cases.results.jsonl"
    assert len(lines(default)) == 2

    # a bad case: the others still run, exit code 1 (a case failed), one line on stderr
    t = tmp_path / "specs.txt"
    t.write_text("product:3\nrelu:0,2\n")
    out = tmp_path / "o.jsonl"
    assert main(["sweep", str(t), "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert "product:3: exactly 2 laws (certified" in captured.out
    assert len(captured.err.strip().splitlines()) == 1
    assert len(lines(out)) == 2

    # bad input: exit 2, one line, no file written
    for argv in (["sweep", str(tmp_path / "missing.txt")],
                 ["sweep", str(t), "--jobs", "0"],
                 ["sweep", str(tmp_path)]):
        try:
            code = main(argv)
        except SystemExit as e:  # argparse errors
            code = int(e.code or 0)
        err = capsys.readouterr().err
        assert code == 2 and len(err.strip().splitlines()) == 1, (argv, err)
    assert not (tmp_path / "missing.results.jsonl").exists()
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n")
    assert main(["sweep", str(empty)]) == 2
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json")
    assert main(["sweep", str(bad_json)]) == 2
    assert "invalid JSON" in capsys.readouterr().err
    with pytest.raises(UserError):
        run_sweep(["product:3"], jobs=0)


def test_dask_local_cluster(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    from distributed import LocalCluster

    out = tmp_path / "d.jsonl"
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        rows = run_sweep(list(EXPECTED) + ["relu:2,x"], out=out,
                         dask=cluster.scheduler_address)
    by = {r["spec"]: r for r in rows}
    for spec, n in EXPECTED.items():
        assert by[spec]["certified"] and by[spec]["laws_lower"] == n
    assert "error" in by["relu:2,x"]
    assert len(lines(out)) == 4


def test_dask_missing_is_one_line_user_error(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    import builtins

    real = builtins.__import__

    def fake(name: str, *a, **k):  # noqa: ANN002, ANN003, ANN202
        if name.split(".")[0] in ("distributed", "dask"):
            raise ImportError(name)
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(UserError, match="pip install"):
        run_sweep(["product:3"], out=tmp_path / "x.jsonl", dask="tcp://127.0.0.1:1")
    assert not (tmp_path / "x.jsonl").exists()


def test_resume_is_keyed_by_the_options(tmp_path: Path) -> None:
    """A rerun with another degree or seed recomputes (issue 15); failed cases always; an
    uncertified row only with retry."""
    out = tmp_path / "r.jsonl"
    run_sweep(["product:3"], out=out, degree=2)
    assert all(r.get("resumed") for r in run_sweep(["product:3"], out=out, degree=2))
    assert not any(r.get("resumed") for r in run_sweep(["product:3"], out=out, degree=3))
    assert not any(r.get("resumed") for r in run_sweep(["product:3"], out=out, degree=2,
                                                      seed=5))
    # an uncertified row (stopped by a tiny time limit): kept, unless retry
    rows = run_sweep(["relu:4,5,4"], out=out, time_limit=1e-6)
    assert not rows[0]["certified"] and rows[0]["interrupted"]
    assert run_sweep(["relu:4,5,4"], out=out, time_limit=1e-6)[0].get("resumed")
    assert not run_sweep(["relu:4,5,4"], out=out, time_limit=1e-6,
                         retry=True)[0].get("resumed")


def test_output_that_is_an_input_or_locked_is_refused(tmp_path: Path) -> None:
    cases = tmp_path / "cases.txt"
    cases.write_text("product:3\n")
    r = subprocess.run([sys.executable, "-m", "conslaw_flint", "sweep", str(cases), "--out",
                        str(cases)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "input of this run" in r.stderr
    assert cases.read_text() == "product:3\n"
    import fcntl

    out = tmp_path / "locked.jsonl"
    with open(out, "a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        r = subprocess.run([sys.executable, "-m", "conslaw_flint", "sweep", str(cases), "--out",
                            str(out)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "another sweep is writing" in r.stderr


def test_cases_file_must_be_a_regular_file(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    r = subprocess.run([sys.executable, "-m", "conslaw_flint", "sweep", str(fifo), "--out",
                        str(tmp_path / "o.jsonl")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "not a regular file" in r.stderr
