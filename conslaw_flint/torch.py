"""PyTorch front end (``pip install 'conslaw_flint[torch]'``): the public names in one place.

* :func:`from_module` -- an ``nn.Sequential`` of Linear / Conv1d / Conv2d / ReLU / LeakyReLU /
  Identity layers as a :class:`~conslaw_flint.models.model.Model` (its path lifting), with a
  :class:`ParameterMap` in ``model.meta["parameter_map"]``;
* :func:`parameter_map` -- that map alone; :func:`model_from_torch_file` -- the model of a
  module saved with ``torch.save`` (runs pickle: trusted files only);
* :func:`laws_on` -- the laws as a differentiable tensor of the module's parameters;
* :class:`ConservationMonitor` -- relative drift of the laws along training, with a plot and
  a summary table.

Importing this module does not import PyTorch; the functions do, on first use.  Conventions
(phi, biases, convolutions, variable names and order): :mod:`conslaw_flint.models.torch_module`;
the drift and its scale: :mod:`conslaw_flint.apps.monitor`; the guide: docs/torch.md.

Typical use::

    from conslaw_flint import count_laws
    from conslaw_flint.torch import from_module, ConservationMonitor

    res = count_laws(from_module(net))          # certified laws of the trained net
    mon = ConservationMonitor(net, res.laws, every=10)
    for batch in data:                          # ... your training step ...
        mon.step()
    mon.summary(); mon.plot("drift.png")
"""

from __future__ import annotations

from .apps.monitor import ConservationMonitor, laws_on
from .models.torch_module import (
    ParameterMap,
    from_module,
    model_from_torch_file,
    parameter_map,
)

__all__ = ["ConservationMonitor", "ParameterMap", "from_module", "laws_on",
           "model_from_torch_file", "parameter_map"]
