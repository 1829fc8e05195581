"""Progress of long steps, shown by the command line with tqdm (off by default).

The algorithms announce their long loops (law blocks, closure levels) with :func:`task`; the
active reporter (a context variable, like the budget) decides whether anything is shown.
The command line installs :class:`TqdmReporter` on a terminal unless ``--quiet`` or
``--json``; bars appear only for steps that last more than about a second (tqdm's ``delay``)
and are removed when done.  Without a reporter, :func:`task` costs nothing.

>>> with task("blocks", 3) as bar:
...     bar.update(3)
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any


class _Silent:
    def update(self, n: int = 1) -> None:
        pass


class TqdmReporter:
    """Progress bars on stderr with tqdm, shown after ``delay`` seconds."""

    def __init__(self, delay: float = 1.0) -> None:
        self.delay = delay

    def bar(self, name: str, total: int | None) -> Any:
        from tqdm import tqdm

        return tqdm(total=total, desc=name, file=sys.stderr, leave=False, delay=self.delay,
                    unit="", dynamic_ncols=True)


_CURRENT: ContextVar[TqdmReporter | None] = ContextVar("conslaw_progress", default=None)


@contextmanager
def reporting(reporter: TqdmReporter | None) -> Iterator[None]:
    """Make ``reporter`` the active one inside the block (None: silent)."""
    token = _CURRENT.set(reporter)
    try:
        yield
    finally:
        _CURRENT.reset(token)


@contextmanager
def task(name: str, total: int | None = None) -> Iterator[Any]:
    """A progress bar for a long loop (``bar.update(k)`` after k more steps)."""
    rep = _CURRENT.get()
    if rep is None:
        yield _Silent()
        return
    bar = rep.bar(name, total)
    try:
        yield bar
    finally:
        bar.close()


__all__ = ["TqdmReporter", "reporting", "task"]
