"""Shared pieces of the verifier: the rejection type, the work budget, message helpers.

The work budget (:class:`Work`) is a counter that every step of a verification is charged to
*before* the step runs (:func:`charge`): polynomial products, derivatives, evaluations,
conversions, table scans, determinants, ring constructions.  One unit is about one
machine-word operation of interpreted code (roughly 10-40 ns on a 2020s core), and the costs
include the number of variables of the ring and the size of the coefficients, e.g. a product of
a t1-term by a t2-term polynomial in n variables with w1- and w2-word coefficients costs
t1*t2*(n + 16 + w1*w2) units.  A step whose cost would exceed what is left is refused with a
:class:`CertificateError`, so a verification stops after at most :data:`MAX_WORK` units.

Memory held by caches and tables is charged separately (:func:`hold`, in bytes).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

#: work budget of one verification, in units (see the module docstring)
MAX_WORK = 250_000_000
#: the budget with ``rational=True`` (exact values and determinants over Q cost more)
MAX_WORK_RATIONAL = 350_000_000
#: bytes of tables, caches and polynomials the verifier may keep alive at once
MAX_HELD_BYTES = 400 * 2**20


class CertificateError(ValueError):
    """A certificate was rejected (one-line reason)."""


@dataclass
class Work:
    """The counters of one verification (see the module docstring)."""

    limit: int = MAX_WORK
    used: int = 0
    held: int = 0
    #: per-verification caches (rings by size and domain, ...)
    cache: dict[Any, Any] = field(default_factory=dict)
    #: units charged per kind of step, when given a dict (for calibration and tests)
    log: dict[str, int] | None = None

    @contextmanager
    def active(self) -> Iterator[Work]:
        token = _WORK.set(self)
        try:
            yield self
        finally:
            _WORK.reset(token)


#: the counters of the running verification; a fresh unlimited one outside any verification
_WORK: ContextVar[Work | None] = ContextVar("conslaw_verify_work", default=None)
_FREE = Work(limit=10**30)


def current() -> Work:
    """The active :class:`Work` (an unlimited one outside a verification)."""
    w = _WORK.get()
    return w if w is not None else _FREE


def charge(units: float, what: str) -> None:
    """Charge ``units`` to the active budget before doing ``what``; refuse if it would
    exceed the limit."""
    w = current()
    units = int(units)
    if w.used + units > w.limit:
        raise CertificateError(f"{what} needs more work than the verifier's limit "
                               f"({approx(w.used + units)} units, limit {approx(w.limit)})")
    w.used += units
    if w.log is not None:
        w.log[what] = w.log.get(what, 0) + units


def hold(nbytes: float, what: str) -> None:
    """Charge ``nbytes`` of memory that stays alive until the verification ends."""
    w = current()
    nbytes = int(nbytes)
    if w.held + nbytes > MAX_HELD_BYTES:
        raise CertificateError(f"{what} needs more memory than the verifier's limit "
                               f"(about {approx(w.held + nbytes)} bytes, limit "
                               f"{approx(MAX_HELD_BYTES)})")
    w.held += nbytes


def remaining() -> int:
    w = current()
    return max(w.limit - w.used, 0)


def approx(n: float) -> str:
    """A large count for messages: ``123456789 -> '1.2e8'``."""
    if n < 10**6:
        return str(int(n))
    return f"{n:.1e}".replace("e+0", "e").replace("e+", "e")


def comb_capped(n: int, k: int, cap: int = 10**30) -> int:
    """C(n, k), capped at ``cap`` (cheap even for huge arguments)."""
    if k < 0 or n < k:
        return 0
    k = min(k, n - k)
    r = 1
    for i in range(k):
        r = r * (n - i) // (i + 1)          # C(n, i + 1), exact
        if r >= cap:
            return cap
    return r


def words(bits: int) -> int:
    """Machine words of a ``bits``-bit number."""
    return bits // 64 + 1


# ---------------------------------------------------------------------------------------------
# messages


_JSON_NAMES = {dict: "object", list: "list", str: "string", int: "integer", float: "number",
               bool: "boolean", type(None): "null"}


def what(x: Any) -> str:
    """The JSON type name of a value (for type errors)."""
    return _JSON_NAMES.get(type(x), type(x).__name__)


def brief(x: Any, limit: int = 60) -> str:
    """A short one-line representation of untrusted data for messages."""
    if isinstance(x, str):
        s = x if len(x) <= limit else x[: limit - 3] + "..."
        return repr(s)
    if type(x) is int:
        return str(x) if abs(x) < 10**18 else f"~2^{abs(x).bit_length()}"
    return type(x).__name__


def one_line(msg: str, limit: int = 400) -> str:
    msg = " ".join(str(msg).split())
    return msg if len(msg) <= limit else msg[: limit - 3] + "..."


__all__ = ["MAX_HELD_BYTES", "MAX_WORK", "MAX_WORK_RATIONAL", "CertificateError", "Work",
           "approx", "brief", "charge", "comb_capped", "current", "hold", "one_line",
           "remaining", "what", "words"]
