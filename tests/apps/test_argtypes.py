"""Command-line argument types and the public lazy namespace."""

import argparse
import subprocess
import sys

import pytest

from conslaw_flint.apps.argtypes import (
    DEFAULT_MAX_UNKNOWNS,
    byte_size,
    positive_float,
    positive_int,
)


def test_argument_types() -> None:
    assert positive_int("3") == 3 and positive_float("0.5") == 0.5
    assert byte_size("2G") == 2 * 2**30
    for fn, text, msg in [(positive_int, "x", "'x' is not an integer"),
                          (positive_int, "0", "0 must be at least 1"),
                          (positive_float, "-1", "-1 must be a positive finite number"),
                          (positive_float, "inf", "inf must be a positive finite number"),
                          (positive_float, "nan", "nan must be a positive finite number"),
                          (positive_float, "two", "'two' is not a number"),
                          (byte_size, "lots", "'lots' is not a size; write e.g. 4G or 512M")]:
        with pytest.raises(argparse.ArgumentTypeError, match=msg):
            fn(text)


def test_default_max_unknowns_agrees_with_the_solver() -> None:
    from conslaw_flint.algorithms.laws import DEFAULT_MAX_UNKNOWNS as SOLVER

    assert DEFAULT_MAX_UNKNOWNS == SOLVER


def test_public_namespace_is_lazy_and_complete() -> None:
    import conslaw_flint

    for name in conslaw_flint.__all__:
        assert getattr(conslaw_flint, name) is not None, name
    assert set(conslaw_flint.__all__) <= set(dir(conslaw_flint))
    with pytest.raises(AttributeError):
        conslaw_flint.no_such_name  # noqa: B018
    # importing the package (and asking for help) does not load FLINT, NumPy or SymPy
    code = ("import sys, conslaw_flint, conslaw_flint.apps.cli; "
            "print(sorted(m for m in ('flint', 'numpy', 'sympy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
