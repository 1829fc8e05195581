"""The tutorial notebook (docs/tutorial.ipynb) runs: its code cells are executed in order,
in one namespace, in a temporary folder (issue 14: a tutorial executed in CI)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "docs" / "tutorial.ipynb"


def test_tutorial_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nb = json.loads(NOTEBOOK.read_text())
    assert nb["nbformat"] == 4
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__tutorial__"}
    cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert len(cells) >= 6
    for n, cell in enumerate(cells):
        source = "".join(cell["source"])
        try:
            exec(compile(source, f"tutorial cell {n + 1}", "exec"), namespace)  # noqa: S102
        except Exception as e:  # pragma: no cover - the message names the cell
            raise AssertionError(f"tutorial cell {n + 1} failed: {e!r}\n{source}") from e
    assert os.path.exists("linear.cert.json")
