"""Time and memory budgets, checked *before* the work they guard.

A :class:`Budget` holds a deadline (``time.monotonic`` seconds) and a memory limit (bytes).
The active budget is a context variable, so that every loop of every phase can check it
without threading arguments through the call graph::

    with Budget(time_limit=5, max_memory=2 * 2**30).active():
        ...                       # deep inside: tick("lie closure"); reserve(n, "jets", hint)

* :func:`tick` raises :class:`~conslaw_flint.errors.TimeUp` once the deadline has passed
  (callers that hold proven bounds catch it and return them); loops call it at least once a
  second of work, which bounds the overshoot of ``--time-limit``.
* :func:`reserve` raises :class:`~conslaw_flint.errors.TooLargeError` when an allocation,
  estimated by the caller before making it, exceeds the memory budget; the message gives the
  estimate and how to lower it.

The default memory budget is half of the machine's physical memory (``--max-memory``
overrides it).

>>> with Budget(max_memory=1000).active():
...     reserve(10**6, "a table", "lower the degree")
Traceback (most recent call last):
    ...
conslaw_flint.errors.TooLargeError: a table needs about 977 KiB, above the memory budget of \
1000 B; lower the degree (or raise --max-memory)
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from ..errors import TimeUp, TooLargeError


def physical_memory() -> int:
    """Bytes of physical memory of the machine (8 GiB if it cannot be read)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30


def default_max_memory() -> int:
    """Half of the physical memory."""
    return physical_memory() // 2


def format_bytes(n: float) -> str:
    """``n`` bytes for humans (B, KiB, MiB, GiB, TiB).

    >>> format_bytes(3 * 2**30), format_bytes(512)
    ('3.0 GiB', '512 B')
    """
    if n < 1024:
        return f"{int(n)} B"
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB"):
        n /= 1024
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if n >= 100 else f"{n:.1f} {unit}"
    raise AssertionError  # pragma: no cover


def parse_bytes(text: str) -> int:
    """``"2G"``, ``"512M"``, ``"1.5GiB"``, ``"100000"`` -> bytes (binary units).

    >>> parse_bytes("2G"), parse_bytes("512MiB"), parse_bytes("1000")
    (2147483648, 536870912, 1000)
    """
    t = text.strip().upper().removesuffix("IB").removesuffix("B")
    scale = 1
    for suffix, s in (("K", 2**10), ("M", 2**20), ("G", 2**30), ("T", 2**40)):
        if t.endswith(suffix):
            t, scale = t[:-1], s
            break
    value = float(t)
    if not value > 0 or value != value or value == float("inf"):
        raise ValueError(f"{text!r} is not a positive size")
    return int(value * scale)


@dataclass
class Budget:
    """A deadline and a memory limit (see the module docstring)."""

    time_limit: float | None = None
    max_memory: int = field(default_factory=default_max_memory)
    start: float = field(default_factory=time.monotonic)
    phase: str = ""

    @property
    def deadline(self) -> float | None:
        return None if self.time_limit is None else self.start + self.time_limit

    def remaining(self) -> float | None:
        """Seconds left (None: no limit)."""
        d = self.deadline
        return None if d is None else d - time.monotonic()

    def expired(self) -> bool:
        d = self.deadline
        return d is not None and time.monotonic() > d

    @contextmanager
    def active(self) -> Iterator[Budget]:
        """Make this the budget that :func:`tick` and :func:`reserve` check."""
        token = _CURRENT.set(self)
        try:
            yield self
        finally:
            _CURRENT.reset(token)


_DEFAULT = Budget()
_CURRENT: ContextVar[Budget] = ContextVar("conslaw_budget", default=_DEFAULT)


def current() -> Budget:
    """The active budget (a default one without a deadline when none is active)."""
    return _CURRENT.get()


def tick(phase: str | None = None) -> None:
    """Raise :class:`TimeUp` if the active budget's deadline has passed; ``phase`` (if
    given) becomes the budget's current phase."""
    b = _CURRENT.get()
    if phase is not None:
        b.phase = phase
    if b.time_limit is not None and time.monotonic() > b.start + b.time_limit:
        raise TimeUp(f"time limit reached during {b.phase or 'the computation'}", b.phase)


def expect(seconds: float, what: str) -> None:
    """Before a step that cannot be interrupted (one FLINT call): raise :class:`TimeUp`
    when its estimated duration exceeds the time left, so that a time limit is overshot by
    at most about a second instead of by the whole step."""
    b = _CURRENT.get()
    left = b.remaining()
    if left is not None and seconds > left + 0.5:
        raise TimeUp(f"time limit reached before {what} (estimated {seconds:.1f} s, "
                     f"{max(left, 0):.1f} s left)", b.phase)


def reserve(nbytes: float, what: str, hint: str) -> None:
    """Refuse an allocation of about ``nbytes`` that exceeds the active memory budget."""
    b = _CURRENT.get()
    if nbytes > b.max_memory:
        raise TooLargeError(f"{what} needs about {format_bytes(nbytes)}, above the memory "
                            f"budget of {format_bytes(b.max_memory)}; {hint} (or raise "
                            "--max-memory)")


@contextmanager
def phase(name: str) -> Iterator[None]:
    """Label the work inside the block (reported when the time limit interrupts it)."""
    b = _CURRENT.get()
    before = b.phase
    b.phase = name
    try:
        yield
    finally:
        b.phase = before


__all__ = ["Budget", "current", "default_max_memory", "expect", "format_bytes", "parse_bytes",
           "phase", "physical_memory", "reserve", "tick"]
