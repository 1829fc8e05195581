"""The model type: D named variables and the generators X_1..X_d of V (design.md §1-2).

A :class:`Model` is what every algorithm takes.  It holds the variable names (which name the
FLINT ring of every polynomial it hands out), the :class:`~conslaw_flint.core.fields.FieldFamily`
of generators, and how it was specified, so that a certificate can rebuild it.

>>> from conslaw_flint.models import build_model
>>> m = build_model("linear:2,2,2")
>>> m.D, m.d, m.names[:2]
(8, 4, ('W1[1,1]', 'W1[1,2]'))
>>> str(m.phi[0])
'W1[1,1]*W2[1,1] + W1[1,2]*W2[2,1]'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..core.fields import FieldFamily, VectorField
from ..core.polynomials import Poly, Ring
from ..errors import UserError

#: parameter numbering of the network builders (certificates record it; design.md §2)
CONVENTION = "layer-major-row-major-v1"


class ModelError(UserError):
    """A model specification that cannot be built (one-line message naming the fix)."""


@dataclass(frozen=True, eq=False)
class Model:
    """A parameterization phi: R^D -> R^d (gradient fields X_i = grad phi_i), or a list of
    general polynomial vector fields, on D named variables.

    Attributes
    ----------
    spec:
        How the model was given (a specification string, a file name, or a description).
    kind:
        ``linear``, ``relu``, ``relu-bias``, ``product``, ``poly``, ``fields``, ``random``, ...
    names:
        The D variable names (``x1..xD``, ``W1[i,j]`` / ``b1[i]``, a file's or an ODE's names).
    family:
        The generators (:class:`~conslaw_flint.core.fields.FieldFamily`).
    widths, bias:
        Layer widths (input side first) and hidden biases of a network model.
    inline:
        A self-contained specification in ``x1..xD`` that rebuilds the same generators in the
        same order (what a certificate records); None when ``spec`` itself is one.
    parameters:
        Indices of variables that are constants of the dynamics (rate constants, masses):
        variables whose every generator component is zero.
    excluded:
        Polynomials (text in the model's names) whose zero sets are excluded: the fields were
        multiplied by these denominators to make them polynomial (laws and orbits unchanged
        off their zero sets).
    notes:
        Sentences the reports print with the model (e.g. what a flow or a scaling means).
    """

    spec: str
    kind: str
    names: tuple[str, ...]
    family: FieldFamily
    widths: tuple[int, ...] | None = None
    bias: bool = False
    inline: str | None = None
    parameters: tuple[int, ...] = ()
    excluded: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def D(self) -> int:
        """Number of variables (parameters of the network, or state variables)."""
        return self.family.D

    @property
    def d(self) -> int:
        """Number of generators X_i."""
        return self.family.d

    @property
    def ring(self) -> Ring:
        """The FLINT ring Q[names] of every polynomial of this model."""
        return self.family.ring

    @property
    def phi(self) -> tuple[Poly, ...] | None:
        """The components of phi as FLINT polynomials, or None for general fields (built on
        first use for network models)."""
        return self.family.potentials

    @property
    def fields(self) -> tuple[VectorField, ...]:
        """The generators X_1..X_d as FLINT vector fields."""
        return self.family.fields

    @property
    def is_gradient(self) -> bool:
        """The generators are gradients of the components of a map phi."""
        return self.family.is_gradient

    def canonical_spec(self) -> str:
        """A self-contained specification that rebuilds the same model (for certificates)."""
        return self.inline if self.inline is not None else self.spec

    def gens(self) -> tuple[Poly, ...]:
        """The variables as FLINT polynomials (``model.gens()[0]`` is the first one)."""
        return self.ring.gens()

    def __repr__(self) -> str:
        what = "map" if self.is_gradient else "fields"
        return f"Model({self.spec!r}: D = {self.D}, d = {self.d}, {what})"

    # from_map / from_fields: constructors from Python objects, attached by
    # conslaw_flint.models (they need the builders, which sit above this data type)


__all__ = ["CONVENTION", "Model", "ModelError"]
