"""Laws on a PyTorch module (exact round trip, autograd), the conservation monitor under SGD,
momentum and Adam, and the SGD drift slope of docs/torch.md."""

from __future__ import annotations

import io
import json
import os
from fractions import Fraction

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

import flint  # noqa: E402

from conslaw_flint import build_model, count_laws, polynomial_laws  # noqa: E402
from conslaw_flint.apps import monitor as mon_mod  # noqa: E402
from conslaw_flint.core.polynomials import ring  # noqa: E402
from conslaw_flint.errors import UserError  # noqa: E402
from conslaw_flint.torch import (  # noqa: E402
    ConservationMonitor,
    from_module,
    laws_on,
    parameter_map,
)

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def small_net(seed: int = 0, out_bias: bool = True) -> object:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2, bias=out_bias))


def dyadic(D: int, seed: int = 0) -> list[Fraction]:
    """Small dyadic rationals: exact in float32 and float64, products too."""
    rng = np.random.default_rng(seed)
    return [Fraction(int(k), 8) for k in rng.integers(-16, 17, size=D)]


# ---------------------------------------------------------------------------------------------
# laws_on


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_laws_on_round_trip_exact(dtype: object) -> None:
    net = small_net().to(dtype)
    m = from_module(net)
    laws = polynomial_laws(m, 2).basis
    assert len(laws) == 4
    theta = dyadic(m.D)
    m.meta["parameter_map"].assign(net, theta)
    vals = laws_on(net, laws)
    assert vals.dtype == dtype and vals.shape == (4,)
    exact = [h(*[flint.fmpq(q.numerator, q.denominator) for q in theta]) for h in laws]
    assert [Fraction(v) for v in vals.tolist()] == [Fraction(int(e.p), int(e.q)) for e in exact]
    # autograd: d h / d parameter, through the map, equals the exact partial derivative
    vals[0].backward()
    pm = m.meta["parameter_map"]
    for k in range(m.D):
        tensor, idx = pm.locate(k)
        g = dict(net.named_parameters())[tensor].grad[idx].item()
        e = laws[0].derivative(k)(*[flint.fmpq(q.numerator, q.denominator) for q in theta])
        assert Fraction(g) == Fraction(int(e.p), int(e.q))


def test_laws_on_accepts_results_and_positional_rings() -> None:
    net = small_net(out_bias=False).double()
    m = from_module(net)
    res = count_laws(m)
    v = laws_on(net, res)
    assert torch.allclose(v, laws_on(net, res.laws))
    assert laws_on(net, res.laws[0]).shape == (1,)
    # the standard builder's laws (W1[1,1], ...) read in the same order
    ref = count_laws(build_model("relu-bias:3,4,2"))
    assert torch.allclose(laws_on(net, ref.laws), v)
    # x1..xD too
    R = ring([f"x{i + 1}" for i in range(m.D)])
    xs = [R.from_dict(h.to_dict()) for h in res.laws]
    assert torch.allclose(laws_on(net, xs), v)
    # laws of another model are refused in one line
    with pytest.raises(UserError, match="not in this module's"):
        laws_on(net, count_laws(build_model("relu:3,4,2")).laws)
    assert laws_on(net, []).shape == (0,)


def test_laws_on_naive_order_is_wrong() -> None:
    """The issue's trap: the naive torch.cat of the parameters has the right length and the
    wrong order, so the 'laws' evaluated on it are other polynomials."""
    net = small_net()
    m = from_module(net)
    f = mon_mod.to_torch(count_laws(m).laws)
    pm = parameter_map(net)
    assert pm.naive(net).shape == pm.flatten(net).shape
    assert not torch.allclose(f(pm.naive(net)), laws_on(net, count_laws(m).laws))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_laws_on_cuda() -> None:  # pragma: no cover - CPU machines
    net = small_net().cuda()
    v = laws_on(net, count_laws(from_module(net)).laws)
    assert v.device.type == "cuda"


# ---------------------------------------------------------------------------------------------
# the monitor


def test_monitor_sgd_momentum_adam(tmp_path: object) -> None:
    drifts = {}
    for name, make_opt in [
        ("sgd", lambda p: torch.optim.SGD(p, lr=1e-3)),
        ("momentum", lambda p: torch.optim.SGD(p, lr=1e-3, momentum=0.9)),
        ("adam", lambda p: torch.optim.Adam(p, lr=1e-3)),
    ]:
        net, X, Y = mon_mod.regression_task(0)
        mon = ConservationMonitor(net, every=10)
        assert mon.result.certified and len(mon.laws) == 8
        mon_mod.train(net, X, Y, make_opt(net.parameters()), 300, monitor=mon)
        assert mon.steps == list(range(0, 301, 10))
        assert mon.values.shape == (31, 8) and mon.drift.shape == (31, 8)
        assert np.all(mon.drift[0] == 0)
        drifts[name] = float(mon.drift[-1].max())
    # SGD at lr 1e-3: drift O(lr^2 * steps); momentum a few times lr; Adam is not a gradient
    # flow (coordinate-wise scaling): the laws are not conserved
    assert drifts["sgd"] < 2e-4
    assert drifts["sgd"] < drifts["momentum"] < 0.1
    assert drifts["adam"] > 0.05


def test_monitor_summary_and_plot(tmp_path: object) -> None:
    net, X, Y = mon_mod.regression_task(1)
    mon = ConservationMonitor(net, every=5)
    mon_mod.train(net, X, Y, torch.optim.SGD(net.parameters(), lr=1e-2), 50, monitor=mon)
    buf = io.StringIO()
    text = mon.summary(file=buf)
    assert buf.getvalue().strip() == text
    assert "exactly 8 independent conservation laws" in text
    assert text.count("\nh") == 8 and "max drift" in text
    out = str(tmp_path / "drift.png")
    fig = mon.plot(out)
    assert fig.axes[0].get_yscale() == "log"
    with open(out, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    assert [f for f in os.listdir(tmp_path) if f.startswith(".conslaw-")] == []
    with pytest.raises(UserError, match="ending in"):
        mon.plot(str(tmp_path / "drift.txt"))
    with pytest.raises(UserError, match="every"):
        ConservationMonitor(net, mon.laws, every=0)


def test_monitor_conv_net_conserves() -> None:
    """The laws of a convolutional net (channel rescalings) are conserved by SGD up to
    O(lr^2) per step: halving the learning rate quarters the drift (phi of the convolution
    is not too coarse: a spurious 'law' would drift at O(lr) per step)."""
    g = torch.Generator().manual_seed(0)
    X = torch.randn(64, 1, 8, generator=g, dtype=torch.float64)
    Y = torch.roll(X, 1, dims=2) ** 2
    laws = None
    drift = []
    for lr in (1e-3, 5e-4):
        torch.manual_seed(0)
        net = nn.Sequential(nn.Conv1d(1, 3, 3, padding=1, padding_mode="circular"), nn.ReLU(),
                            nn.Conv1d(3, 1, 3, padding=1, padding_mode="circular")).double()
        mon = ConservationMonitor(net, laws, every=100)
        laws = mon.laws
        assert len(laws) == 3
        mon_mod.train(net, X, Y, torch.optim.SGD(net.parameters(), lr=lr), 100, batch=8,
                      monitor=mon)
        drift.append(float(mon.drift[-1].mean()))
    assert drift[0] < 1e-3
    assert 3.0 < drift[0] / drift[1] < 5.0


def test_mapped_versus_naive_after_2000_steps() -> None:
    mapped = mon_mod.run_drift(1e-3, 2000)
    naive = mon_mod.run_drift(1e-3, 2000, naive=True)
    assert mapped < 1e-3 and naive > 100 * mapped


# ---------------------------------------------------------------------------------------------
# the published measurement (docs/torch.md)


def test_sgd_drift_slope(tmp_path: object) -> None:
    out, js = str(tmp_path / "slope.png"), str(tmp_path / "slope.json")
    assert mon_mod.main(["--drift-slope", "--quick", "--out", out, "--json", js]) == 0
    with open(js) as fh:
        data = json.load(fh)
    slope = data["sgd"]["slope"]
    assert 1.7 <= slope <= 2.3, slope
    assert os.path.getsize(out) > 1000
