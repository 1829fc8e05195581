"""Conservation laws on a PyTorch module: their values, a training monitor, and the SGD
drift measurement of docs/torch.md.

* :func:`laws_on` -- the laws evaluated on ``module.parameters()`` through the
  :class:`~conslaw_flint.models.torch_module.ParameterMap`: a differentiable tensor (dtype and
  device of the parameters).
* :class:`ConservationMonitor` -- call ``.step()`` in a training loop; it records the relative
  drift of every law, ``.plot()`` draws it, ``.summary()`` prints a table.
* :func:`drift_slope_data` / :func:`drift_slope_figure` -- the measurement behind
  docs/torch.md (regenerate with ``python -m conslaw_flint.apps.monitor --drift-slope --out
  docs/torch_drift.png``).

Relative drift
==============

For a law h = sum_a c_a theta^a the monitor records

    drift_t(h) = |h(theta_t) - h(theta_0)| / s(h),   s(h) = sum_a |c_a| |theta_0|^a,

the polynomial with absolute coefficients at the absolute initial parameters (s = 1 if that
is 0).  For h = ||u||^2 - ||v||^2 (a neuron's incoming minus outgoing weights) s is
||u_0||^2 + ||v_0||^2: the drift is relative to the size of the terms, not to their
difference (which a balanced initialisation makes small), and it bounds the rounding error of
evaluating h (about machine epsilon times the degree, relative to s).  Values are computed in
float64 on the CPU from the current parameters, whatever their dtype.

What is conserved
=================

A law of the model is conserved by the gradient *flow* of every loss.  A step of gradient
descent theta <- theta - tau g with g in span{grad phi_i} changes h by
tau^2/2 g^T Hess(h) g + O(tau^3) (the first-order term vanishes), so after k steps
SGD drifts by O(sum tau_i^2) ("Transformative or Conservative?", Marcotte, Gribonval, Peyré,
ICML 2025, Prop. 5.1): at a fixed number of steps the drift is proportional to tau^2, at a
fixed time t = k tau to tau.  Momentum (heavy ball) and Adam are other dynamics:
see docs/torch.md for what is measured.

PyTorch and matplotlib are imported on first use.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

import numpy as np

from ..core.polynomials import Poly, to_text
from ..errors import UserError
from ..io.export import to_torch
from ..models.torch_module import (
    ParameterMap,
    from_module,
    import_torch,
    law_ring_ok,
    ring_names_of,
)
from ..models.torch_module import parameter_map as _parameter_map

__all__ = ["ConservationMonitor", "abs_polynomial", "drift_slope_data", "drift_slope_figure",
           "fit_slope", "laws_on", "main", "regression_task", "train"]


# ---------------------------------------------------------------------------------------------
# laws as functions of the module


def _law_list(laws: Any) -> list[Poly]:
    """A law, a list of laws, a CountResult (its ``laws``) or a LawResult (its ``basis``)."""
    if hasattr(laws, "laws") and not isinstance(laws, (list, tuple)):
        laws = laws.laws
    elif hasattr(laws, "basis") and not isinstance(laws, (list, tuple)):
        laws = laws.basis
    if isinstance(laws, Poly):
        return [laws]
    out = list(laws)
    if not all(isinstance(h, Poly) for h in out):
        raise UserError("laws must be FLINT polynomials (e.g. count_laws(model).laws)")
    return out


def _check_laws(laws: Sequence[Poly], pmap: ParameterMap) -> None:
    for h in laws:
        names = ring_names_of(h)
        if not law_ring_ok(names, pmap):
            raise UserError(f"a law is a polynomial in {len(names)} variables "
                            f"({', '.join(names[:2])}, ...), not in this module's "
                            f"{pmap.D} ({', '.join(pmap.names[:2])}, ...); compute the laws on "
                            "from_module(module)")


def abs_polynomial(h: Poly) -> Poly:
    """sum_a |c_a| x^a for h = sum_a c_a x^a (the scale of the relative drift)."""
    return h.context().from_dict({e: abs(c) for e, c in h.to_dict().items()})


def laws_on(module: Any, laws: Any, parameter_map: ParameterMap | None = None) -> Any:
    """The values of ``laws`` at the module's parameters: a tensor of shape (m,) for m laws.

    ``laws`` are FLINT polynomials in the variables of :func:`from_module` ``(module)`` (or
    in x1..xD, or in the names of the standard builder the module is exactly, read in the
    same order); a CountResult or LawResult gives its laws.  The parameters are taken in the
    model's order through the parameter map (computed from ``module`` when not given), so
    autograd works through the result, in the dtype (float32, float64) and on the device of
    the parameters.  Floating point: for monitoring and regularising, not for ranks.

    Raises :class:`UserError` when the laws are not in this module's variables.
    """
    import_torch()
    pm = parameter_map if parameter_map is not None else _parameter_map(module)
    polys = _law_list(laws)
    _check_laws(polys, pm)
    theta = pm.flatten(module)
    if not polys:
        return theta.new_zeros(0)
    return to_torch(polys)(theta).reshape(len(polys))


# ---------------------------------------------------------------------------------------------
# the monitor


class ConservationMonitor:
    """Relative drift of conservation laws along training (module docstring).

    Parameters
    ----------
    module:
        The ``nn.Sequential`` being trained (read, never modified).
    laws:
        FLINT polynomials in the module's variables (or a CountResult / LawResult).  None:
        ``count_laws(from_module(module), degree=degree, seed=seed)`` -- the certified count
        when the bounds meet (``monitor.result`` keeps it).
    every:
        Record at every ``every``-th call of :meth:`step` (step 0 is the initial point).
    parameter_map:
        The module's :class:`~conslaw_flint.models.torch_module.ParameterMap` (default:
        computed from ``module``).
    degree, seed, time_limit:
        Passed to ``count_laws`` when ``laws`` is None.

    Attributes
    ----------
    laws, names:
        The monitored laws and their names ``h1..hm``.
    steps:
        The step numbers recorded (list of int).
    values:
        (n, m) array of h(theta_t) at those steps (float64).
    scale:
        (m,) array: s(h) at theta_0.

    Raises :class:`UserError` (or :class:`~conslaw_flint.models.model.ModelError`) for a
    module :func:`from_module` refuses, laws in other variables, or ``every < 1``.
    """

    def __init__(self, module: Any, laws: Any = None, every: int = 1, *,
                 parameter_map: ParameterMap | None = None, degree: int = 4,
                 seed: int = 0, time_limit: float | None = None) -> None:
        import_torch()
        if not isinstance(every, int) or every < 1:
            raise UserError(f"every must be a positive integer, got {every!r}")
        self.module = module
        self.every = every
        self.result: Any = None
        if laws is None:
            from ..algorithms.certify import count_laws

            model = from_module(module)
            self.map: ParameterMap = model.meta["parameter_map"]
            self.result = count_laws(model, degree=degree, seed=seed, time_limit=time_limit)
            laws = self.result.laws
        else:
            self.map = parameter_map if parameter_map is not None else _parameter_map(module)
        self.laws = _law_list(laws)
        _check_laws(self.laws, self.map)
        self.names = [f"h{i + 1}" for i in range(len(self.laws))]
        self._f: Callable[[Any], Any] | None = to_torch(self.laws) if self.laws else None
        theta0 = self._theta()
        self._count = 0
        self.steps: list[int] = []
        self._values: list[np.ndarray] = []
        if self.laws:
            s = to_torch([abs_polynomial(h) for h in self.laws])(theta0.abs()).numpy()
            self.scale = np.where(s > 0, s, 1.0)
        else:
            self.scale = np.zeros(0)
        self._record(theta0)

    # -- recording ----------------------------------------------------------------------------

    def _theta(self) -> Any:
        torch = import_torch()
        with torch.no_grad():
            return self.map.flatten(self.module).detach().to("cpu", torch.float64)

    def _record(self, theta: Any) -> np.ndarray:
        """Append h(theta) and return the relative drifts at theta."""
        vals = self._f(theta).numpy().reshape(-1) if self._f is not None else np.zeros(0)
        self.steps.append(self._count)
        self._values.append(vals)
        return np.abs(vals - self._values[0]) / self.scale

    def step(self) -> np.ndarray | None:
        """Count one training step; on every ``every``-th, record and return the current
        relative drifts (shape (m,)), else return None."""
        self._count += 1
        if self._count % self.every:
            return None
        return self._record(self._theta())

    def record(self) -> np.ndarray:
        """Record now (whatever the step count) and return the relative drifts."""
        return self._record(self._theta())

    @property
    def values(self) -> np.ndarray:
        """(n, m) array of h(theta_t) at the recorded steps."""
        return np.array(self._values).reshape(len(self._values), len(self.laws))

    @property
    def drift(self) -> np.ndarray:
        """(n, m) array of relative drifts |h(theta_t) - h(theta_0)| / s(h)."""
        v = self.values
        return np.abs(v - v[:1]) / self.scale[None, :] if v.size else v

    @property
    def max_drift(self) -> np.ndarray:
        """(m,) array: the largest relative drift of each law so far."""
        d = self.drift
        return d.max(axis=0) if d.size else np.zeros(len(self.laws))

    # -- reading ------------------------------------------------------------------------------

    def summary(self, file: TextIO | None = None, width: int = 60) -> str:
        """A table (law, h(theta_0), scale, current and largest relative drift), printed to
        ``file`` (default stdout; pass ``io.StringIO()`` to silence) and returned."""
        lines = []
        if self.result is not None:
            lines.append(f"laws: {self.result.verdict()}")
        lines.append(f"{len(self.laws)} law{'s' if len(self.laws) != 1 else ''} monitored, "
                     f"{len(self.steps)} records over {self._count} steps (every "
                     f"{self.every}); drift = |h(theta_t) - h(theta_0)| / s(h), "
                     "s(h) = sum |c_a| |theta_0|^a")
        head = f"{'law':<5} {'h(theta_0)':>12} {'s(h)':>11} {'drift now':>10} " \
               f"{'max drift':>10}  polynomial"
        lines += [head, "-" * len(head)]
        d = self.drift
        for i, h in enumerate(self.laws):
            text = to_text(h)
            if len(text) > width:
                text = text[:width - 3] + "..."
            lines.append(f"{self.names[i]:<5} {self._values[0][i]:>12.5g} {self.scale[i]:>11.4g} "
                         f"{d[-1, i]:>10.3g} {d[:, i].max():>10.3g}  {text}")
        out = "\n".join(lines)
        print(out, file=file if file is not None else sys.stdout)
        return out

    def plot(self, path: str | None = None, title: str | None = None, max_legend: int = 10
             ) -> Any:
        """Relative drift against step, one line per law (log scale); returns the matplotlib
        figure (Agg backend) and, with ``path`` (``.png``, ``.pdf`` or ``.svg``), writes it
        atomically.  Needs matplotlib (``pip install 'conslaw_flint[plot]'``)."""
        if path is not None:
            _check_image_path(path)
        from .plot import _import_matplotlib

        plt = _import_matplotlib()
        fig, ax = plt.subplots(figsize=(6.4, 4.0))
        steps = np.asarray(self.steps)
        d = self.drift
        for i in range(len(self.laws)):
            y = np.where(d[:, i] > 0, d[:, i], np.nan)
            ax.plot(steps, y, lw=1.2, label=self.names[i] if i < max_legend else None)
        ax.set_yscale("log")
        ax.set_xlabel("training step")
        ax.set_ylabel(r"$|h(\theta_t)-h(\theta_0)|\,/\,s(h)$")
        ax.set_title(title or "relative drift of the conservation laws")
        if 0 < len(self.laws) <= max_legend:
            ax.legend(fontsize=8, ncol=2)
        if not self.laws:
            ax.text(0.5, 0.5, "no law to monitor", ha="center", transform=ax.transAxes)
        ax.grid(True, which="both", alpha=0.3)
        fig.tight_layout()
        if path is not None:
            save_figure(fig, path)
        return fig


FORMATS = (".png", ".pdf", ".svg")


def _check_image_path(path: str) -> None:
    from ..io.files import check_output_path

    if not path.lower().endswith(FORMATS):
        raise UserError(f"cannot write {path!r}: give a file name ending in "
                        f"{', '.join(FORMATS)}")
    check_output_path(path)


def save_figure(fig: Any, path: str, dpi: int = 110) -> None:
    """Write a matplotlib figure atomically (temporary file, fsync, rename)."""
    from ..io.files import write_atomic

    _check_image_path(path)
    buf = io.BytesIO()
    fig.savefig(buf, dpi=dpi, format=path.rsplit(".", 1)[-1].lower(),
                metadata={"Software": None} if path.lower().endswith(".png") else None)
    write_atomic(path, buf.getvalue())


# ---------------------------------------------------------------------------------------------
# the measurement of docs/torch.md


def regression_task(seed: int = 0, n: int = 256, widths: Sequence[int] = (3, 8, 2)
                    ) -> tuple[Any, Any, Any]:
    """(net, X, Y): a float64 ReLU net ``Linear(3, 8), ReLU, Linear(8, 2)`` (biases on, PyTorch
    default initialisation from ``seed``) and a fixed regression data set (n samples,
    targets sin(x1 + x2) and x3^2 - 1/2).  Deterministic; the global RNG state is restored."""
    torch = import_torch()
    nn = torch.nn
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        layers: list[Any] = []
        for i in range(len(widths) - 1):
            if i:
                layers.append(nn.ReLU())
            layers.append(nn.Linear(widths[i], widths[i + 1]))
        net = nn.Sequential(*layers).double()
    g = torch.Generator().manual_seed(10_000 + seed)
    X = torch.randn(n, widths[0], generator=g, dtype=torch.float64)
    cols = [torch.sin(X[:, 0] + X[:, 1 % widths[0]]), X[:, 2 % widths[0]] ** 2 - 0.5]
    Y = torch.stack([cols[i % 2] for i in range(widths[-1])], dim=1)
    return net, X, Y


def train(net: Any, X: Any, Y: Any, optimizer: Any, steps: int, batch: int = 16,
          seed: int = 0, monitor: ConservationMonitor | None = None) -> float:
    """``steps`` minibatch steps of the mean squared error (batches of ``batch`` samples
    drawn with replacement from a generator seeded by ``seed``); returns the last loss."""
    torch = import_torch()
    g = torch.Generator().manual_seed(seed)
    loss_value = float("nan")
    for _ in range(steps):
        idx = torch.randint(0, len(X), (batch,), generator=g)
        optimizer.zero_grad()
        loss = ((net(X[idx]) - Y[idx]) ** 2).mean()
        loss.backward()
        optimizer.step()
        loss_value = float(loss.detach())
        if monitor is not None:
            monitor.step()
    return loss_value


def fit_slope(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """Least-squares (slope, intercept) of log y against log x."""
    a, b = np.polyfit(np.log(np.asarray(x, dtype=float)), np.log(np.asarray(y, dtype=float)), 1)
    return float(a), float(b)


_LAWS_CACHE: dict[tuple[int, ...], list[Poly]] = {}


def _task_laws(widths: Sequence[int]) -> list[Poly]:
    key = tuple(widths)
    if key not in _LAWS_CACHE:
        from ..algorithms.certify import count_laws

        net, _, _ = regression_task(0, 8, widths)
        res = count_laws(from_module(net))
        if not res.certified:  # pragma: no cover - the ReLU counts are certified
            raise UserError(f"the count of the experiment's net is not certified: {res}")
        _LAWS_CACHE[key] = list(res.laws)
    return _LAWS_CACHE[key]


def run_drift(lr: float, steps: int, momentum: float = 0.0, seed: int = 0, batch: int = 16,
              widths: Sequence[int] = (3, 8, 2), optimizer: str = "sgd",
              naive: bool = False) -> float:
    """Mean over the laws of the relative drift after ``steps`` steps of SGD (``momentum``:
    heavy ball, PyTorch's convention v <- momentum v + g, theta <- theta - lr v) or Adam on
    :func:`regression_task` ``(seed)``.  ``naive=True`` evaluates the laws on the naive
    ``torch.cat`` of the parameters instead of the mapped vector (the wrong order)."""
    torch = import_torch()
    net, X, Y = regression_task(seed, widths=widths)
    laws = _task_laws(widths)
    if optimizer == "adam":
        opt = torch.optim.Adam(net.parameters(), lr=lr)
    else:
        opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum)
    pm = _parameter_map(net)
    if naive:
        f = to_torch(laws)
        fs = to_torch([abs_polynomial(h) for h in laws])
        th0 = pm.naive(net).detach()
        h0, s = f(th0), fs(th0.abs())
        train(net, X, Y, opt, steps, batch, seed + 1)
        return float(((f(pm.naive(net).detach()) - h0).abs() / s).mean())
    mon = ConservationMonitor(net, laws, every=max(steps, 1), parameter_map=pm)
    train(net, X, Y, opt, steps, batch, seed + 1, monitor=mon)
    return float(mon.drift[-1].mean())


def drift_slope_data(seeds: Sequence[int] = (0, 1, 2), quick: bool = False) -> dict[str, Any]:
    """The numbers of docs/torch.md (deterministic).

    * ``sgd``: drift after a fixed number of SGD steps against the learning rate tau
      (Prop. 5.1: proportional to tau^2), averaged over ``seeds``, and the fitted slope;
    * ``fixed_time``: drift at a fixed time t = k tau_eff for SGD (lr tau_eff) and for SGD
      with momentum beta = 0.9 (lr (1 - beta) tau_eff, the same gradient flow to first
      order): both O(tau_eff) per unit time;
    * ``heavy_ball``: momentum in the heavy-ball scaling beta = 1 - sqrt(tau), time
      t = k sqrt(tau): the drift does not vanish as tau -> 0 (the gradient-flow laws are not
      laws of the heavy-ball ODE);
    * ``order``: the drift after 2000 SGD steps with the laws evaluated through the parameter
      map and on the naive flattening of ``module.parameters()``.

    ``quick`` measures only ``sgd`` (what the tests run).  Runs with one intra-op thread
    (restored after): tiny tensors, and the same bits on any machine's thread count.
    """
    torch = import_torch()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _drift_slope_data(tuple(seeds), quick)
    finally:
        torch.set_num_threads(threads)


def _drift_slope_data(seeds: tuple[int, ...], quick: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"task": "Linear(3,8) ReLU Linear(8,2), biases on, float64, MSE, "
                                   "batches of 16 from 256 samples", "seeds": list(seeds)}
    steps = 100
    lrs = [1e-4 * 2 ** i for i in range(5)]
    sgd = [float(np.mean([run_drift(lr, steps, seed=s) for s in seeds])) for lr in lrs]
    slope, icpt = fit_slope(lrs, sgd)
    out["sgd"] = {"steps": steps, "lrs": lrs, "drift": sgd, "slope": slope, "intercept": icpt}
    if not quick:
        T, beta = 0.3, 0.9
        taus = [2e-4 * 2 ** i for i in range(5)]
        plain = [float(np.mean([run_drift(t, round(T / t), seed=s) for s in seeds]))
                 for t in taus]
        mom = [float(np.mean([run_drift((1 - beta) * t, round(T / t), momentum=beta, seed=s)
                              for s in seeds])) for t in taus]
        out["fixed_time"] = {"T": T, "beta": beta, "lrs": taus, "sgd": plain, "momentum": mom,
                             "slope_sgd": fit_slope(taus, plain)[0],
                             "slope_momentum": fit_slope(taus, mom)[0]}
        T_hb = 1.0
        hb = [float(np.mean([run_drift(t, round(T_hb / math.sqrt(t)),
                                       momentum=1 - math.sqrt(t), seed=s) for s in seeds]))
              for t in taus]
        out["heavy_ball"] = {"T": T_hb, "lrs": taus, "drift": hb, "slope": fit_slope(taus, hb)[0]}
        lr_o, steps_o = 0.001, 2000
        out["order"] = {"steps": steps_o, "lr": lr_o,
                        "mapped": run_drift(lr_o, steps_o, seed=seeds[0]),
                        "naive": run_drift(lr_o, steps_o, seed=seeds[0], naive=True)}
    return out


def drift_slope_figure(data: dict[str, Any]) -> Any:
    """The figure of docs/torch.md from :func:`drift_slope_data` (one panel per
    measurement present)."""
    from .plot import _import_matplotlib

    plt = _import_matplotlib()
    two = "fixed_time" in data
    fig, axes = plt.subplots(1, 2 if two else 1, figsize=(11.0 if two else 5.6, 4.2),
                             squeeze=False)
    ax = axes[0][0]
    s = data["sgd"]
    lrs = np.asarray(s["lrs"])
    ax.loglog(lrs, s["drift"], "o-", label=f"SGD, {s['steps']} steps")
    ax.loglog(lrs, np.exp(s["intercept"]) * lrs ** s["slope"], "k--", lw=0.8,
              label=f"fit: slope {s['slope']:.2f}")
    ax.set_xlabel(r"learning rate $\tau$")
    ax.set_ylabel("mean relative drift of the laws")
    ax.set_title(r"fixed number of steps: drift $\propto \tau^2$ (Prop. 5.1)")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    if two:
        ax = axes[0][1]
        ft, hb = data["fixed_time"], data["heavy_ball"]
        x = np.asarray(ft["lrs"])
        ax.loglog(x, ft["sgd"], "o-", label=f"SGD (slope {ft['slope_sgd']:.2f})")
        ax.loglog(x, ft["momentum"], "s-", label=rf"momentum $\beta$={ft['beta']}, lr "
                  rf"$(1-\beta)\tau$ (slope {ft['slope_momentum']:.2f})")
        ax.loglog(x, hb["drift"], "^-", label=r"heavy ball $\beta=1-\sqrt{\tau}$, "
                  rf"$t=k\sqrt{{\tau}}$={hb['T']:g} (slope {hb['slope']:.2f})")
        ax.set_xlabel(r"effective learning rate $\tau$")
        ax.xaxis.set_minor_formatter(plt.NullFormatter())
        ax.set_title(rf"fixed time $t = k\tau$ = {ft['T']:g}: O($\tau$) per unit time")
        ax.legend(fontsize=7)
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    return fig


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m conslaw_flint.apps.monitor --drift-slope --out docs/torch_drift.png``:
    run :func:`drift_slope_data`, write the figure (and ``--json``) and print the numbers."""
    ap = argparse.ArgumentParser(prog="python -m conslaw_flint.apps.monitor",
                                 description="the SGD drift measurement of docs/torch.md")
    ap.add_argument("--drift-slope", action="store_true", required=True,
                    help="measure the drift of the laws against the learning rate")
    ap.add_argument("--out", required=True, metavar="FILE.png", help="figure to write")
    ap.add_argument("--json", metavar="FILE.json", help="also write the numbers as JSON")
    ap.add_argument("--quick", action="store_true",
                    help="only the SGD slope, one seed (the tests' run)")
    args = ap.parse_args(argv)
    try:
        _check_image_path(args.out)
        if args.json:
            from ..io.files import check_output_path

            check_output_path(args.json)
        data = drift_slope_data(seeds=(0,) if args.quick else (0, 1, 2), quick=args.quick)
        from .plot import _import_matplotlib

        plt = _import_matplotlib()
        fig = drift_slope_figure(data)
        save_figure(fig, args.out)
        plt.close(fig)
        if args.json:
            from ..io.files import write_atomic

            write_atomic(args.json, json.dumps(data, indent=1) + "\n")
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    s = data["sgd"]
    print(f"wrote {args.out}")
    print(f"SGD, {s['steps']} steps: fitted slope {s['slope']:.3f} over lr "
          f"{s['lrs'][0]:g}..{s['lrs'][-1]:g}")
    if "fixed_time" in data:
        ft, hb, o = data["fixed_time"], data["heavy_ball"], data["order"]
        print(f"fixed time {ft['T']:g}: slope SGD {ft['slope_sgd']:.3f}, momentum "
              f"{ft['slope_momentum']:.3f}; heavy-ball scaling slope {hb['slope']:.3f}")
        print(f"after {o['steps']} SGD steps (lr {o['lr']:g}): drift {o['mapped']:.3g} through "
              f"the parameter map, {o['naive']:.3g} on the naive flattening")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
