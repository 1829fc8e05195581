"""Shared pytest configuration: ``reference`` importable from every test folder, and the
hypothesis profiles of the randomized and fuzz tests.

The tests run with ``--import-mode=importlib`` (pyproject.toml), which does not put test
folders on ``sys.path``; this folder is inserted so that ``from reference import ...`` works
in ``tests/core``, ``tests/algorithms``, ... alike.

Two profiles are registered; the environment variable ``HYPOTHESIS_PROFILE`` selects one
(default ``ci``):

* ``ci``: derandomized (the same examples on every run), about 25 examples per property, no
  per-example deadline -- what CI runs, well under a minute for
  ``tests/algorithms/test_randomized.py``;
* ``long``: 500 examples per property, random seeds, run by hand::

      HYPOTHESIS_PROFILE=long python -m pytest -q tests/algorithms/test_randomized.py \\
          tests/io/test_parse_fuzz.py tests/verify/test_verify_fuzz.py

Fuzz tests scale their own example counts from the active profile (see
``tests/io/test_parse_fuzz.py``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]

settings.register_profile("ci", derandomize=True, max_examples=25, deadline=None, database=None,
                          suppress_health_check=_SLOW_OK, print_blob=True)
settings.register_profile("long", max_examples=500, deadline=None,
                          suppress_health_check=_SLOW_OK, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="module")
def torch_one_thread() -> Iterator[None]:
    """One intra-op torch thread for a module of tests on tiny tensors: faster, and steady on
    a loaded machine (the modules that use it import torch with ``importorskip``)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
