"""conslaw_flint: exact, certified conservation laws of gradient flows.

A function h(theta) is conserved along the gradient flow of every loss on every data set for a
model g(theta, x) = f(phi(theta), x) iff <grad h, grad phi_i> = 0 for all i.  The library finds

* every polynomial law of a given degree, as an exact basis over Q (:func:`polynomial_laws`);
* the number of independent laws, D - dim Lie(V)(theta), with a certificate when an exact
  lower and upper bound meet (:func:`count_laws`, :func:`write_certificate`, :func:`verify_file`).

>>> from conslaw_flint import build_model, count_laws
>>> count_laws(build_model("linear:2,3,2")).laws_lower
6
"""

from .certify import CountResult, count_laws, write_certificate
from .laws import LawResult, polynomial_laws
from .lie import LieResult, lie_closure
from .models import Model, ModelError, build_model
from .parse import ParseError, format_polynomial, parse_polynomial

__version__ = "0.1.0"


def verify_file(path: str):  # noqa: ANN201 - verify.Verdict
    """Re-check a certificate file with the independent verifier."""
    from .verify import verify_file as _verify_file

    return _verify_file(path)


__all__ = [
    "CountResult",
    "LawResult",
    "LieResult",
    "Model",
    "ModelError",
    "ParseError",
    "build_model",
    "count_laws",
    "format_polynomial",
    "lie_closure",
    "parse_polynomial",
    "polynomial_laws",
    "verify_file",
    "write_certificate",
]
