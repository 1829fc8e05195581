"""Command-line argument checks shared by every subcommand (one message per mistake).

>>> positive_int("3")
3
"""

from __future__ import annotations

import argparse
import os

from .errors import UserError


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
    """argparse type: a number > 0."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"{text} must be positive")
    return v


def check_output_path(path: str) -> None:
    """Refuse an output path whose folder does not exist or that is a folder, before any
    work is done (so that nothing is computed for a file that cannot be written)."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UserError(f"cannot write {path!r}: folder {folder!r} does not exist")
    if os.path.isdir(path):
        raise UserError(f"cannot write {path!r}: it is a folder; give a file name")
