"""Command-line argument types shared by every subcommand (one message per mistake).

Standard library only, so that ``conslaw --help`` starts fast.

>>> positive_int("3"), byte_size("2G")
(3, 2147483648)
"""

from __future__ import annotations

import argparse

#: the default of --max-unknowns (equal to ``algorithms.laws.DEFAULT_MAX_UNKNOWNS``; a test
#: checks that they agree)
DEFAULT_MAX_UNKNOWNS = 20_000_000


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"{v} must be at least 1")
    return v


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not v > 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be a positive finite number")
    return v


def byte_size(text: str) -> int:
    """argparse type: a size such as 4G, 512M, 1.5GiB or a number of bytes."""
    from ..core.budget import parse_bytes

    try:
        return parse_bytes(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size; write e.g. 4G or 512M") \
            from None
