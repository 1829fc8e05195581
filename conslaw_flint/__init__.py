"""conslaw_flint: exact, certified conservation laws of gradient flows.

A function h(theta) is conserved along the gradient flow of every loss on every data set for a
model g(theta, x) = f(phi(theta), x) iff <grad h, grad phi_i> = 0 for all i (Marcotte,
Gribonval, Peyré, NeurIPS 2023).  The library finds

* every polynomial law of a given degree, as an exact basis over Q (:func:`polynomial_laws`);
* the number of independent laws, D - dim Lie(V)(theta), with a certificate when an exact
  lower and upper bound meet (:func:`count_laws`, :func:`write_certificate`, :func:`verify_file`).

Polynomials are FLINT ``fmpq_mpoly`` in a ring named after the model's variables.

>>> from conslaw_flint import build_model, count_laws
>>> res = count_laws(build_model("linear:2,3,2"))
>>> res.laws_lower, str(res.laws[0])
(6, 'W1[1,1]^2 + W1[2,1]^2 - W2[1,1]^2 - W2[1,2]^2')

Layout (each floor imports only from the floors below it): ``core`` (polynomials, fields,
compiled tables, exact linear algebra, budgets) < ``io.parse`` < ``models`` < ``results`` <
``algorithms`` (laws, Lie closure, certify) < ``verify`` < ``io`` (reports, exports, files) <
``apps`` (command line, sweep, theory, plot).  The names below are imported on first use, so
that ``import conslaw_flint`` and ``conslaw --help`` stay fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

_API = {
    "build_model": "conslaw_flint.models",
    "Model": "conslaw_flint.models.model",
    "ModelError": "conslaw_flint.models.model",
    "VectorField": "conslaw_flint.core.fields",
    "ring": "conslaw_flint.core.polynomials",
    "parse_polynomial": "conslaw_flint.io.parse",
    "parse_rational": "conslaw_flint.io.parse",
    "format_polynomial": "conslaw_flint.io.parse",
    "ParseError": "conslaw_flint.io.parse",
    "polynomial_laws": "conslaw_flint.algorithms.laws",
    "lie_closure": "conslaw_flint.algorithms.lie",
    "count_laws": "conslaw_flint.algorithms.certify",
    "certificate": "conslaw_flint.algorithms.certify",
    "write_certificate": "conslaw_flint.algorithms.certify",
    "verify_file": "conslaw_flint.verify",
    "verify_certificate": "conslaw_flint.verify",
    "LawResult": "conslaw_flint.results",
    "LieResult": "conslaw_flint.results",
    "CountResult": "conslaw_flint.results",
    "UserError": "conslaw_flint.errors",
    "TooLargeError": "conslaw_flint.errors",
    "TimeUp": "conslaw_flint.errors",
    "Budget": "conslaw_flint.core.budget",
    "apply_flow": "conslaw_flint.models.flows",
    "subset_model": "conslaw_flint.algorithms.subsets",
}

__all__ = [
    "Budget",
    "CountResult",
    "LawResult",
    "LieResult",
    "Model",
    "ModelError",
    "ParseError",
    "TimeUp",
    "TooLargeError",
    "UserError",
    "apply_flow",
    "VectorField",
    "build_model",
    "certificate",
    "count_laws",
    "format_polynomial",
    "lie_closure",
    "parse_polynomial",
    "parse_rational",
    "polynomial_laws",
    "ring",
    "subset_model",
    "verify_certificate",
    "verify_file",
    "write_certificate",
]


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'conslaw_flint' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from .algorithms.certify import certificate, count_laws, write_certificate
    from .algorithms.laws import polynomial_laws
    from .algorithms.lie import lie_closure
    from .algorithms.subsets import subset_model
    from .core.budget import Budget
    from .core.fields import VectorField
    from .core.polynomials import ring
    from .errors import TimeUp, TooLargeError, UserError
    from .io.parse import ParseError, format_polynomial, parse_polynomial, parse_rational
    from .models import build_model
    from .models.flows import apply_flow
    from .models.model import Model, ModelError
    from .results import CountResult, LawResult, LieResult
    from .verify import verify_certificate, verify_file
