"""conslaw plot: the picture, and a real check of the dynamics it shows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conslaw_flint import build_model, count_laws
from conslaw_flint.apps.cli import main
from conslaw_flint.apps.plot import Flow, compute, simulate


@pytest.fixture(scope="module")
def linear() -> tuple[object, list]:
    model = build_model("linear:2,3,2")
    return model, count_laws(model, seed=0).laws


def test_gradient_descent_conserves_the_laws_up_to_eta(linear: tuple[object, list]) -> None:
    model, laws = linear
    flow = Flow(model, seed=3)
    eta = flow.default_eta()
    runs = [simulate(flow, laws, eta / s, 200 * s) for s in (1, 2, 4)]
    for r in runs:
        assert r.finished
        assert r.loss is not None and r.loss[-1] < 0.5 * r.loss[0]      # it does train
        # a law drifts far less than the non-conserved ||theta||^2
        assert r.law_drift.max() < 1e-2 * r.norm_drift.max()
    # same final time; halving / quartering eta reduces the drift (O(eta) at fixed time)
    assert np.isclose(runs[0].times[-1], runs[2].times[-1])
    final = [r.law_drift[-1].max() for r in runs]
    assert final[1] < 0.7 * final[0]
    assert final[2] < 0.35 * final[0]
    assert 3.0 < final[0] / final[2] < 5.5


def test_exact_gradient_flow_direction_is_orthogonal_to_law_gradients(
        linear: tuple[object, list]) -> None:
    from conslaw_flint.io.export import numpy_map

    model, laws = linear
    flow = Flow(model, seed=1)
    grads = numpy_map([h.derivative(k) for h in laws for k in range(model.D)])
    G = grads(flow.theta0).reshape(len(laws), model.D)
    v = flow.velocity(flow.theta0)
    assert np.abs(G @ v).max() < 1e-9 * np.linalg.norm(G) * np.linalg.norm(v)


def test_fields_flow_runs_without_polynomial_laws() -> None:
    data = compute(build_model("fields:1,x2,0,0;0,0,1,x4"), steps=50, seed=0)
    assert data.certified and data.laws_lower == 2 and not data.laws
    assert data.level_ranks[-1] == 2
    assert all(r.finished and r.loss is None for r in data.runs)


def test_plot_writes_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "p.png"
    assert main(["plot", "product:3", "--out", str(out), "--steps", "40", "--quiet"]) == 0
    data = out.read_bytes()
    assert len(data) > 10_000
    assert data[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_json_and_bad_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    import json

    out = tmp_path / "q.png"
    assert main(["plot", "relu:2,2,2", "--out", str(out), "--steps", "30", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["certified"] and info["laws_lower"] == 2
    assert info["level_ranks"][-1] == info["D"] - 2
    assert out.stat().st_size > 0
    assert main(["plot", "product:3", "--out", str(tmp_path / "x.txt")]) == 2
    assert "ending in" in capsys.readouterr().err
    assert main(["plot", "product:3", "--out", str(tmp_path / "no" / "x.png")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_missing_matplotlib_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["plot", "product:3", "--out", str(tmp_path / "p.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "conslaw: conslaw plot needs matplotlib: pip install conslaw_flint[plot]"
