"""``conslaw plot``: a picture of the Lie closure and of the laws along a training run.

Two panels:

1. the rank of V_1, V_2, ... at each bracket level (exact, modulo a prime, from
   :func:`~conslaw_flint.lie.lie_closure` without a cap, so every level until the closure is
   shown) against D and D - N, with N the certified count of :func:`~conslaw_flint.count_laws`;
2. the drift |h(theta_t) - h(theta_0)| of each independent polynomial law along a short
   gradient-descent run, next to the drift of the non-conserved ||theta||^2, for two step sizes.

The run is in NumPy floats (a picture, not a rank).  For a model phi (gradient fields) the loss
is L(theta) = 0.5 ||phi(theta) - y||^2 for a random target y: it has the form f(phi(theta), x)
with f linear in phi, and the laws are conserved by the gradient flow of any such loss.  Gradient
descent theta_{k+1} = theta_k - eta grad L(theta_k) breaks conservation by O(eta^2) per step,
hence by O(eta) at a fixed time t = k eta: quartering eta divides the drift by about 4.  For
general fields the flow is theta' = sum_i c_i X_i(theta) with random constants c_i, integrated
by Euler steps (same orders).

The trajectory functions (:func:`simulate`) need only NumPy; the figure needs matplotlib
(``pip install conslaw_flint[plot]``), imported lazily with the Agg backend.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core import budget
from ..core.polynomials import Poly
from ..errors import UserError
from ..io.export import numpy_map
from ..io.files import check_output_path
from ..models import Model, build_model

DEFAULT_STEPS = 300
#: the automatic step size is ETA_SCALE / max(1, ||J(theta_0)||_2^2) (||v(theta_0)|| for fields)
ETA_SCALE = 0.05
FORMATS = (".png", ".pdf", ".svg")


@dataclass
class Trajectory:
    """A discretised flow: times t_k = k eta and the drifts along it."""

    eta: float
    times: np.ndarray          # (n,)
    law_drift: np.ndarray      # (n, m): |h_j(theta_k) - h_j(theta_0)|
    norm_drift: np.ndarray     # (n,):   | ||theta_k||^2 - ||theta_0||^2 |
    loss: np.ndarray | None    # (n,) for gradient models
    finished: bool             # False if the run stopped early (non-finite values)


class Flow:
    """The vector field of the discretised flow of a model, in float."""

    def __init__(self, model: Model, seed: int = 0) -> None:
        self.model = model
        rng = np.random.default_rng(seed)
        D = model.D
        self.theta0 = rng.standard_normal(D)
        if model.phi is not None:
            phi = list(model.phi)
            self._phi = numpy_map(phi)
            self._jac = numpy_map([p.derivative(k) for p in phi for k in range(D)])
            self.target = rng.standard_normal(len(phi))
            self.coeffs = None
        else:
            fields = model.family.fields
            self._fields = numpy_map([f[k] for f in fields for k in range(D)])
            self.coeffs = rng.standard_normal(len(fields))
            self.target = None

    @property
    def is_gradient(self) -> bool:
        return self.model.phi is not None

    def jacobian(self, theta: np.ndarray) -> np.ndarray:
        """J(theta) = d phi / d theta, shape (d, D)."""
        return self._jac(theta).reshape(self.model.d, self.model.D)

    def loss(self, theta: np.ndarray) -> float:
        r = self._phi(theta) - self.target
        return 0.5 * float(r @ r)

    def velocity(self, theta: np.ndarray) -> np.ndarray:
        """-grad L(theta) = -J^T (phi - y) for models, sum_i c_i X_i(theta) for fields."""
        if self.is_gradient:
            return -self.jacobian(theta).T @ (self._phi(theta) - self.target)
        X = self._fields(theta).reshape(self.model.d, self.model.D)
        return self.coeffs @ X

    def default_eta(self) -> float:
        """ETA_SCALE / max(1, ||J(theta_0)||^2) (spectral norm), or for fields
        ETA_SCALE / max(1, ||v(theta_0)||)."""
        if self.is_gradient:
            s = float(np.linalg.norm(self.jacobian(self.theta0), 2)) ** 2
        else:
            s = float(np.linalg.norm(self.velocity(self.theta0)))
        return ETA_SCALE / max(1.0, s)


def simulate(flow: Flow, laws: Sequence[Poly], eta: float, steps: int) -> Trajectory:
    """Run ``steps`` steps of size ``eta`` from the flow's theta_0 and record the drifts."""
    theta = flow.theta0.copy()
    path = [theta.copy()]
    finished = True
    for k in range(steps):
        if k % 1000 == 0:
            budget.tick("the training run of the picture")
        theta = theta + eta * flow.velocity(theta)
        if not np.all(np.isfinite(theta)) or np.abs(theta).max() > 1e8:
            finished = False
            break
        path.append(theta.copy())
    P = np.array(path)
    times = eta * np.arange(len(P))
    if laws:
        H = numpy_map(list(laws))(P)
        law_drift = np.abs(H - H[0])
    else:
        law_drift = np.zeros((len(P), 0))
    sq = np.einsum("kd,kd->k", P, P)
    loss = np.array([flow.loss(t) for t in P]) if flow.is_gradient else None
    return Trajectory(eta, times, law_drift, np.abs(sq - sq[0]), loss, finished)


@dataclass
class PlotData:
    """Everything the figure shows (computed without matplotlib)."""

    model: Model
    level_ranks: list[int]
    laws_lower: int
    laws_upper: int
    certified: bool
    method: str | None
    laws: list[Poly]
    degree: int
    runs: list[Trajectory]
    seed: int


def compute(model: Model, steps: int = DEFAULT_STEPS, eta: float | None = None, seed: int = 0,
            max_unknowns: int | None = None) -> PlotData:
    """Lie closure without a cap, the certified count and the two runs (eta, eta/4; the
    second with 4x the steps, so both reach the same time)."""
    from ..algorithms.certify import count_laws
    from ..algorithms.laws import DEFAULT_MAX_UNKNOWNS
    from ..algorithms.lie import lie_closure

    # the two runs keep their trajectories: (steps + 1) + (4 steps + 1) points of D floats,
    # plus the laws' values
    budget.reserve((5 * steps + 2) * (model.D + 8) * 8 * 3, f"the trajectories of {steps} "
                   "steps", "lower --steps")
    res = count_laws(model, seed=seed, max_unknowns=max_unknowns or DEFAULT_MAX_UNKNOWNS)
    full = lie_closure(model.family, cap=None, prime=res.lie.prime, point=res.lie.point)
    flow = Flow(model, seed)
    eta0 = flow.default_eta() if eta is None else eta
    runs = [simulate(flow, res.laws, eta0, steps),
            simulate(flow, res.laws, eta0 / 4, 4 * steps)]
    return PlotData(model, list(full.level_ranks), res.laws_lower, res.laws_upper,
                    res.certified, res.method, list(res.laws), res.degree_reached, runs, seed)


def _import_matplotlib() -> Any:
    import os
    import tempfile

    home_cfg = os.environ.get("MPLCONFIGDIR") or os.path.join(os.path.expanduser("~"),
                                                              ".config", "matplotlib")
    probe = home_cfg if os.path.isdir(home_cfg) else os.path.dirname(home_cfg)
    while probe and not os.path.isdir(probe):
        probe = os.path.dirname(probe)
    if not probe or not os.access(probe, os.W_OK):
        # a read-only home: matplotlib would fail to create its cache; use a private folder
        os.environ["MPLCONFIGDIR"] = tempfile.mkdtemp(prefix="conslaw-mpl-")
    try:
        import matplotlib
    except ImportError:
        raise UserError("conslaw plot needs matplotlib: pip install conslaw_flint[plot]") \
            from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def figure(data: PlotData, names: Sequence[str] | None = None) -> Any:
    """The two-panel matplotlib figure of :func:`compute`'s data."""
    plt = _import_matplotlib()
    from matplotlib.lines import Line2D

    model = data.model
    D = model.D
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 6.0),
                                   gridspec_kw={"width_ratios": [1, 1.5]})
    below = {"loc": "upper center", "bbox_to_anchor": (0.5, -0.14), "fontsize": 9,
             "frameon": False}

    # ---- panel 1: ranks per bracket level
    levels = np.arange(1, len(data.level_ranks) + 1)
    ax1.plot(levels, data.level_ranks, "o-", color="tab:blue", lw=2, ms=7,
             label=r"rank of $V_k(\theta_0)$ (exact, mod p)")
    for k, r in zip(levels, data.level_ranks, strict=True):
        ax1.annotate(str(r), (k, r), textcoords="offset points", xytext=(0, -16),
                     ha="center", fontsize=9, color="tab:blue")
    ax1.axhline(D, color="0.4", ls="--", lw=1.2, label=f"D = {D} parameters")
    if data.certified:
        ax1.axhline(D - data.laws_lower, color="tab:green", ls=":", lw=2,
                    label=f"D − N = {D - data.laws_lower}  (N = {data.laws_lower} certified "
                          "laws)")
    else:
        for n, txt in ((data.laws_lower, "N ≥"), (data.laws_upper, "N ≤")):
            ax1.axhline(D - n, color="tab:orange", ls=":", lw=1.5,
                        label=f"D − N with {txt} {n} (not certified)")
    from matplotlib.ticker import MaxNLocator

    ax1.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax1.set_xticks(levels)
    ax1.set_xlim(0.5, len(levels) + 0.5)
    ax1.set_ylim(0, D * 1.12 + 1)
    ax1.set_xlabel("bracket level k  ($V_1$ = V, $V_{k+1} = V_k + [V_1, V_k]$)")
    ax1.set_ylabel("dimension")
    ax1.set_title("Lie closure: rank per bracket level")
    ax1.legend(**below)
    ax1.grid(alpha=0.3)

    # ---- panel 2: drifts along the runs
    m = len(data.laws)
    cmap = plt.get_cmap("tab10" if m <= 10 else "tab20")
    styles = ("-", "--")
    floor = np.finfo(float).tiny
    for run, ls in zip(data.runs, styles, strict=True):
        t = run.times[1:]
        for j in range(m):
            y = np.where(run.law_drift[1:, j] > 0, run.law_drift[1:, j], np.nan)
            ax2.plot(t, np.maximum(y, floor), ls=ls, lw=1.1, color=cmap(j % cmap.N), alpha=0.85)
        ax2.plot(t, np.where(run.norm_drift[1:] > 0, run.norm_drift[1:], np.nan), ls=ls,
                 lw=2.2, color="black")
    ax2.set_yscale("log")
    ax2.set_xlabel("time t = k η")
    ax2.set_ylabel(r"$|q(\theta_t) - q(\theta_0)|$")
    kind = "gradient descent on ½‖φ(θ) − y‖²" if data.runs[0].loss is not None else \
        "Euler steps of θ' = Σ cᵢ Xᵢ(θ)"
    ax2.set_title(f"Drift along {kind}")
    handles = [Line2D([], [], color="black", lw=2.2,
                      label=r"$q = \|\theta\|^2$ (not conserved)")]
    if m:
        label = "$q = h_1$ (the law)" if m == 1 else \
            f"$q = h_1, \\ldots, h_{{{m}}}$ (the {m} independent laws, one colour each)"
        if names is not None and m <= 3:
            from ..core.polynomials import to_text

            label = "; ".join(f"h_{j + 1} = {_short(to_text(h, names))}"
                              for j, h in enumerate(data.laws))
        handles.append(Line2D([], [], color=cmap(0), lw=1.1, label=label))
    handles += [Line2D([], [], color="0.3", ls=ls, lw=1.5, label=f"η = {_fmt(run.eta)}"
                       + ("" if i == 0 else " (η/4, 4× the steps)"))
                for i, (run, ls) in enumerate(zip(data.runs, styles, strict=True))]
    ax2.legend(handles=handles, ncol=2, **below)
    ax2.grid(alpha=0.3, which="both")
    if not m:
        ax2.text(0.5, 0.95, f"no polynomial law of degree ≤ {data.degree} to monitor\n"
                 f"(the {data.laws_lower} laws are not polynomial)", transform=ax2.transAxes,
                 ha="center", va="top", fontsize=10,
                 bbox={"facecolor": "white", "edgecolor": "0.7"})

    how = "polynomial laws" if data.method == "laws" else "involutive Lie closure"
    verdict = (f"exactly {data.laws_lower} independent laws (certified by {how})"
               if data.certified else f"{data.laws_lower}..{data.laws_upper} laws (not "
               "certified)")
    fig.suptitle(f"{model.spec}: D = {D}, d = {model.d}; {verdict}", fontsize=13)
    fig.text(0.5, 0.015, caption(data), ha="center", va="bottom", fontsize=9, color="0.25",
             wrap=True)
    fig.subplots_adjust(left=0.06, right=0.98, top=0.87, bottom=0.31, wspace=0.17)
    return fig


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def drift_ratio(data: PlotData) -> float | None:
    """max_j drift_j(T) for eta divided by the same for eta/4 at the common final time T."""
    a, b = data.runs
    if not data.laws or not (a.finished and b.finished):
        return None
    da, db = a.law_drift[-1].max(), b.law_drift[-1].max()
    return float(da / db) if db > 0 else None


def caption(data: PlotData) -> str:
    """The caption: what was run and how the drift scales with the step size."""
    a = data.runs[0]
    what = ("Random target y and θ₀ ~ N(0, I) (seed "
            f"{data.seed}); loss ½‖φ(θ) − y‖², i.e. f(φ(θ)) with f linear: the laws hold for "
            "every such loss." if a.loss is not None else
            f"Random θ₀ ~ N(0, I) and constants cᵢ (seed {data.seed}).")
    r = drift_ratio(data)
    meas = f" Measured at the final time: drift(η) / drift(η/4) = {r:.2f}." if r else ""
    stop = "" if all(run.finished for run in data.runs) else \
        " A run left the bounded region and was stopped early."
    if not data.laws:
        return f"{what}{stop}"
    return (f"{what} A step of size η changes a law by O(η²), so at a fixed time t = kη the "
            f"drift is O(η): quartering η divides it by about 4.{meas}{stop}")


def plot_model(model: Model | str, out: str, steps: int = DEFAULT_STEPS,
               eta: float | None = None, seed: int = 0, max_unknowns: int | None = None,
               names: Sequence[str] | None = None) -> dict[str, Any]:
    """Compute and save the figure; returns a JSON-ready summary."""
    plt = _import_matplotlib()
    if isinstance(model, str):
        model = build_model(model)
    import io

    from ..io.files import write_atomic

    data = compute(model, steps, eta, seed, max_unknowns)
    fig = figure(data, names)
    buf = io.BytesIO()
    fig.savefig(buf, dpi=110, format=out.rsplit(".", 1)[-1].lower())
    plt.close(fig)
    write_atomic(out, buf.getvalue())
    return summary(data, out)


def summary(data: PlotData, out: str | None = None) -> dict[str, Any]:
    """JSON-ready numbers of a plot."""
    return {
        "file": out,
        "model": data.model.spec,
        "D": data.model.D,
        "d": data.model.d,
        "level_ranks": data.level_ranks,
        "laws_lower": data.laws_lower,
        "laws_upper": data.laws_upper,
        "certified": data.certified,
        "runs": [{"eta": r.eta, "steps": len(r.times) - 1, "time": float(r.times[-1]),
                  "max_law_drift": float(r.law_drift[-1].max()) if r.law_drift.size else None,
                  "norm_drift": float(r.norm_drift[-1]), "finished": r.finished}
                 for r in data.runs],
        "drift_ratio": drift_ratio(data),
    }


def _check_out(path: str) -> None:
    if not path.lower().endswith(FORMATS):
        raise UserError(f"cannot write {path!r}: give a file name ending in "
                        f"{', '.join(FORMATS)}")
    check_output_path(path)


def cmd_plot(args: argparse.Namespace) -> int:
    """``conslaw plot MODEL --out FILE.png``."""
    from ..core.polynomials import default_names

    _check_out(args.out)
    _import_matplotlib()
    mem = args.max_memory if args.max_memory is not None else budget.default_max_memory()
    with budget.Budget(max_memory=mem).active():
        model = build_model(args.model)
        info = plot_model(model, args.out, steps=args.steps, eta=args.eta, seed=args.seed,
                          max_unknowns=args.max_unknowns,
                          names=default_names(model.D) if args.index_names else None)
    if args.json:
        print(json.dumps(info, indent=1))
    elif not args.quiet:
        print(f"wrote {args.out}")
    return 0


__all__ = ["Flow", "PlotData", "Trajectory", "compute", "figure", "plot_model",
           "simulate", "summary"]
