"""``conslaw theory``: the worked examples of ``theory/``, regenerated from the code.

Every page is the output of a run: the model is built, counted (:func:`count_laws`, fixed seed)
and certified, the certificate is re-checked by the independent verifier, and the page reports
what the run found.  Nothing on a page is typed by hand except the prose; comparisons with the
literature (the paper's families of laws, closed forms of non-polynomial laws) are themselves
checked exactly during the run.

Pages are deterministic: fixed seeds, no timings, no dates, no absolute paths.  ``conslaw
theory --check`` regenerates them in memory and compares them byte-for-byte with the files in
the folder (exit 1 naming the stale files, 0 when all are fresh).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..algorithms.certify import certificate, count_laws
from ..algorithms.checks import LawChecker
from ..algorithms.laws import independent_gradients
from ..algorithms.lie import lie_closure
from ..algorithms.subsets import build_with_options
from ..core.polynomials import Poly, terms, to_latex
from ..errors import UserError
from ..io.files import write_atomic
from ..io.parse import parse_polynomial
from ..models import CONVENTION, Model
from ..results import CountResult, word_str

DEFAULT_OUT = "theory"
INDEX = "README.md"
SEED = 0
#: largest degree of polynomial laws searched (as ``conslaw count``'s default)
DEGREE = 4
#: show phi (or the fields) explicitly up to this many components / terms
SHOW_MAX_COMPONENTS = 6
SHOW_MAX_TERMS = 40


@dataclass(frozen=True)
class Example:
    """One worked example: a model and the prose around the numbers of its run."""

    slug: str
    section: str
    title: str
    spec: str
    about: str
    names: tuple[str, ...] | None = None
    #: polynomial laws from the literature, checked exactly against the run ("auto": the
    #: paper's family for the model's architecture)
    known: str | tuple[str, ...] | None = "auto"
    known_source: str = ""
    #: closed forms of non-polynomial laws (SymPy syntax in x1..xD), checked with SymPy
    closed_forms: tuple[str, ...] = ()
    #: the dynamics (``--flow``) and the block of variables (``--subset``)
    flow: str | None = None
    subset: str | None = None
    #: largest degree of the polynomial laws searched
    degree: int = DEGREE
    #: the paper compared with, its statement about this setting (prose), and the count it
    #: implies (checked against the run; None when the paper states no count)
    paper: str = "Marcotte, Gribonval, Peyré 2023"
    #: where the family ``known`` comes from when it is not the paper's ("derived by ...")
    known_by: str = ""
    claim: str = ""
    claim_count: int | None = None

    def options(self) -> str:
        """The command-line options of the example (``--flow ... --subset ...``)."""
        out = []
        if self.flow:
            out.append(f"--flow '{self.flow}'")
        if self.subset:
            out.append(f"--subset '{self.subset}'")
        if self.degree != DEGREE:
            out.append(f"--degree {self.degree}")
        return " ".join(out)


KTM = "Marcotte, Gribonval, Peyré, Keep the Momentum, ICML 2024 (KtM)"
TC = "Marcotte, Peyré, Gribonval, Transformative or Conservative?, ICML 2025 (TC)"
_PHASE = (" Phase space z = (clock, θ, v) with v = θ̇ (conslaw_flint.models.flows); the count is "
          "of the laws h(z), which may involve the clock and the velocities.")

#: the settings of the follow-up papers (issue 11): flows, architectures, block laws
FLOW_EXAMPLES: tuple[Example, ...] = (
    Example("momentum-linear-1-2-1", "Flows: momentum",
            "Heavy ball on the linear network 1 → 2 → 1", "linear:1,2,1",
            "The heavy-ball flow θ̈ + τθ̇ = −∇E with τ = 1 on φ = u·w (u = W1, w = W2ᵀ), "
            "lifted with the clock s = e^{τt}: generators the drift (τs, v, −τv) and the "
            "forcing field (0, 0, ∇φ)." + _PHASE, flow="momentum:tau=1",
            known=("s*W1[1,1]*vW1[1,2] - s*W1[1,2]*vW1[1,1] + s*W2[1,1]*vW2[2,1] "
                   "- s*W2[2,1]*vW2[1,1]",
                   "s*W1[1,1]*vW2[2,1] - s*W1[1,2]*vW2[1,1] + s*W2[1,1]*vW1[1,2] "
                   "- s*W2[2,1]*vW1[1,1]"),
            known_source="the momenta s·θᵀAv of the antisymmetric matrices A with "
                         "⟨Aθ, ∇φ⟩ = 0 (here the rotation of the hidden layer and the rotation "
                         "mixing u and w)",
            known_by="derived by Noether's argument (d/dt θᵀAv = −τ θᵀAv when A is "
                     "antisymmetric and ⟨Aθ, ∇φ⟩ = 0)",
            paper=KTM, claim="(abstract) the conservation laws of momentum dynamics depend on "
            "time, and for linear networks they are fewer than under the gradient flow (3 "
            "here) except in sufficiently over-parameterized regimes."),
    Example("momentum-relu-2-2-2", "Flows: momentum", "Heavy ball on the ReLU network 2 → 2 → 2",
            "relu:2,2,2", "The heavy-ball flow (τ = 1) on the path lifting of a two-layer ReLU "
            "network without biases, which has 2 laws under the gradient flow." + _PHASE,
            flow="momentum", known=None, paper=KTM,
            claim="(abstract) with ReLU networks, no conservation law remains under "
            "momentum.", claim_count=0),
    Example("nesterov-linear-1-2-1", "Flows: momentum",
            "Nesterov's flow on the linear network 1 → 2 → 1", "linear:1,2,1",
            "Nesterov's accelerated flow θ̈ + (3/t)θ̇ = −∇E (Su, Boyd, Candès 2016): the drift "
            "(1, v, −3v/t) multiplied by t, i.e. (t, tv, −3v), and the forcing field "
            "(0, 0, ∇φ); the zero set t = 0 is excluded. The momenta now carry t³ (degree 5, "
            "so the search goes to degree 5)." + _PHASE, flow="nesterov", degree=5,
            known=("t^3*W1[1,1]*vW1[1,2] - t^3*W1[1,2]*vW1[1,1] + t^3*W2[1,1]*vW2[2,1] "
                   "- t^3*W2[2,1]*vW2[1,1]",
                   "t^3*W1[1,1]*vW2[2,1] - t^3*W1[1,2]*vW2[1,1] + t^3*W2[1,1]*vW1[1,2] "
                   "- t^3*W2[2,1]*vW1[1,1]"),
            known_source="t³·θᵀAv for the same two rotations as the heavy ball",
            known_by="derived by Noether's argument (d/dt θᵀAv = −(3/t) θᵀAv along the flow)",
            paper=KTM, claim="(abstract) the conservation laws of momentum dynamics depend on "
            "time; Nesterov's damping is not treated separately there."),
    Example("mirror-entropy-linear-2-2-2", "Flows: mirror and metric",
            "Entropy mirror on the factorisation UVᵀ (NMF)", "linear:2,2,2",
            "The mirror flow θ̇ = −M(θ)⁻¹∇E for the entropy ψ = Σ θ log θ, M⁻¹ = diag(θ), on the "
            "factorisation φ = UVᵀ (U = W1, V = W2ᵀ, 2 × 2 each) on the positive orthant: the "
            "geometry of non-negative matrix factorisation.", flow="mirror:entropy",
            known=("W1[1,1] + W1[2,1] - W2[1,1] - W2[1,2]",
                   "W1[1,2] + W1[2,2] - W2[2,1] - W2[2,2]"),
            known_source="Σ_i U_ik − Σ_j V_jk for each of the r = 2 columns k",
            paper=KTM, claim="(abstract) in non-Euclidean metrics, used e.g. for non-negative "
            "matrix factorisation, all conservation laws can be determined in the gradient-flow "
            "context (and none persists with momentum); issue 11 reads this statement, for the "
            "entropy mirror, as the r = 2 column balances Σ_i U_ik − Σ_j V_jk.",
            claim_count=2),
    Example("mirror-burg-linear-2-2-2", "Flows: mirror and metric",
            "Burg mirror on the factorisation UVᵀ", "linear:2,2,2",
            "The mirror flow for Burg's entropy ψ = −Σ log θ, M⁻¹ = diag(θ²), on φ = UVᵀ (2 × 2 "
            "factors) on the positive orthant. The laws are not polynomial: the rescaling "
            "symmetry of each column k gives Π_i U_ik / Π_j V_jk.", flow="mirror:burg",
            known=None, closed_forms=("x1*x3/(x5*x6)", "x2*x4/(x7*x8)"), paper=KTM,
            claim="the paper's mirror example is the entropy geometry of NMF; the closed forms "
            "above are derived from the column rescalings."),
    Example("mirror-diag-one-layer", "Flows: mirror and metric",
            "Entropy mirror on the first layer only", "linear:2,2,2",
            "A metric flow with M⁻¹ = diag(θ) on W1 and the identity on W2 "
            "(mirror:diag(x1,x2,x3,x4,1,1,1,1)): the Euclidean and the entropy geometry mixed "
            "in one network.", flow="mirror:diag(x1,x2,x3,x4,1,1,1,1)",
            known=("W2[1,1]^2 + W2[1,2]^2 - 2*W1[1,1] - 2*W1[2,1]",
                   "W2[2,1]^2 + W2[2,2]^2 - 2*W1[1,2] - 2*W1[2,2]"),
            known_source="‖outgoing‖² − 2 Σ incoming for each hidden neuron",
            known_by="derived from the rescaling of each hidden neuron through the two metrics",
            paper=KTM, claim="the paper treats one geometry for the whole network."),
    Example("decay-linear-2-2-2", "Flows: weight decay",
            "Weight decay on the linear network 2 → 2 → 2", "linear:2,2,2",
            "The flow θ̇ = −∇E − λθ with λ = 1, lifted to (s, θ) with s = e^{λt}: drift "
            "(λs, −λθ) and forcing fields (0, ∇φ_i). The count is of the laws h(s, θ).",
            flow="decay:lambda=1",
            known=("s^2*W1[1,1]^2 + s^2*W1[2,1]^2 - s^2*W2[1,1]^2 - s^2*W2[1,2]^2",
                   "s^2*W1[1,1]*W1[1,2] + s^2*W1[2,1]*W1[2,2] - s^2*W2[1,1]*W2[2,1] "
                   "- s^2*W2[1,2]*W2[2,2]",
                   "s^2*W1[1,2]^2 + s^2*W1[2,2]^2 - s^2*W2[2,1]^2 - s^2*W2[2,2]^2"),
            known_source="H(sθ) = s²H(θ) for the gradient-flow laws H, the entries of "
                         "W1ᵀW1 − W2W2ᵀ",
            paper=TC, claim="(Thm 2.1, as cited by issue 11) with weight decay, the laws are "
            "H(θe^{λt}) for H a law of the gradient flow: as many as the gradient flow's (3 "
            "here).", claim_count=3),
    Example("attention-2-2", "Architectures: attention",
            "One attention head, d1 = 2, dim = 2", "attention:2,2",
            "φ = (QᵀK, VᵀO) with Q, K, V, O of size dim × d1 = 2 × 2: the query-key and "
            "value-output products of one head.",
            known=("Q[1,1]^2 + Q[1,2]^2 - K[1,1]^2 - K[1,2]^2",
                   "Q[1,1]*Q[2,1] + Q[1,2]*Q[2,2] - K[1,1]*K[2,1] - K[1,2]*K[2,2]",
                   "Q[2,1]^2 + Q[2,2]^2 - K[2,1]^2 - K[2,2]^2",
                   "V[1,1]^2 + V[1,2]^2 - O[1,1]^2 - O[1,2]^2",
                   "V[1,1]*V[2,1] + V[1,2]*V[2,2] - O[1,1]*O[2,1] - O[1,2]*O[2,2]",
                   "V[2,1]^2 + V[2,2]^2 - O[2,1]^2 - O[2,2]^2"),
            known_source="the entries of QQᵀ − KKᵀ and VVᵀ − OOᵀ",
            paper=TC, claim="(abstract) all conservation laws of a single attention layer are "
            "described: the entries of QQᵀ − KKᵀ and VVᵀ − OOᵀ, dim(dim + 1) = 6 here.",
            claim_count=6),
    Example("attention-2-2-heads-2", "Architectures: attention",
            "Two attention heads, d1 = 2, dim = 2", "attention:2,2,heads=2",
            "φ = (Q_hᵀK_h, V_hᵀO_h) for h = 1, 2. The layer sums the heads' outputs; the count "
            "here is that of this φ, whose completeness for the multi-head layer is open.",
            known=None, paper=TC, claim="the per-head laws hold for every head; whether they "
            "are all the laws of a multi-head layer is left open."),
    Example("softmax-3-2", "Architectures: softmax classifier",
            "Linear classifier under cross-entropy, 3 classes, 2 features", "softmax:3,2",
            "Logits Wx with W of size n × m = 3 × 2 (classes × features); softmax(z + c1) = "
            "softmax(z), so the loss depends on W through PW, P = I − 11ᵀ/3.",
            known=("W[1,1] + W[2,1] + W[3,1]", "W[1,2] + W[2,2] + W[3,2]"),
            known_source="the column sums Σ_i W[i,j], one per feature",
            paper=TC, claim="(Prop. 3.11, as cited by issue 11) under the cross-entropy loss "
            "the sums over classes of the classifier's weights are conserved, one per feature "
            "(m = 2).", claim_count=2),
    Example("conv-1-2-1-2-2", "Architectures: convolutional networks",
            "Two-layer convolutional ReLU network", "conv:1,2,1,2,2",
            "c0 = 1 input channel, c1 = 2 hidden channels, c2 = 1 output channel, filters of "
            "sizes nu = nv = 2, circular convolutions on inputs of length L ≥ 2; φ = the path "
            "lifting U[a,b,k] V[b,c,l].",
            known=("U[1,1,1]^2 + U[1,1,2]^2 - V[1,1,1]^2 - V[1,1,2]^2",
                   "U[1,2,1]^2 + U[1,2,2]^2 - V[2,1,1]^2 - V[2,1,2]^2"),
            known_source="‖incoming filters‖² − ‖outgoing filters‖² of each hidden channel",
            paper=TC, claim="(Thm 3.6, as cited by issue 11; abstract: shallow networks with "
            "convolution have no more laws than the known ones) a two-layer convolutional ReLU "
            "network has exactly c1 conservation laws, one per hidden channel.",
            claim_count=2),
    Example("dag-residual-block", "Architectures: residual blocks",
            "A residual ReLU block 2 → 2 → 2 with shortcuts",
            "dag:x1>h1,x1>h2,x2>h1,x2>h2,h1>y1,h1>y2,h2>y1,h2>y2;skip=x1>y1,x2>y2",
            "A ReLU network on a graph: inputs x1, x2, hidden neurons h1, h2, outputs y1, y2, "
            "trained weights w[from,to], identity shortcuts x_i → y_i. φ is the path lifting; "
            "the shortcut paths are constant.",
            known=("w[x1,h1]^2 + w[x2,h1]^2 - w[h1,y1]^2 - w[h1,y2]^2",
                   "w[x1,h2]^2 + w[x2,h2]^2 - w[h2,y1]^2 - w[h2,y2]^2"),
            known_source="one balance per hidden neuron, as for relu:2,2,2",
            paper=TC, claim="(abstract) residual blocks have the same conservation laws as the "
            "same block without skip connection (relu:2,2,2: 2 laws).", claim_count=2),
    Example("residual-example-4-8", "Architectures: residual blocks",
            "Two scalar residual blocks on one activation region",
            "poly:x1*x2+x3*x4+x1*x2*x3*x4",
            "The scalar network x ↦ x(1 + x1x2)(1 + x3x4), two residual blocks of one neuron "
            "each, on one activation region: φ = x1x2 + x3x4 + x1x2x3x4.", known=None,
            closed_forms=("x1**2 - x2**2", "x3**2 - x4**2",
                          "log(x1 + x2) + (x1**2 + x2**2)/4 - log(x3 + x4) - (x3**2 + x4**2)/4"),
            paper=TC, claim="(Example 4.8, as cited by issue 11) this model has 3 conservation "
            "laws, one of them not polynomial; the closed form of that one is derived here.",
            claim_count=3),
    Example("subset-linear-2-2-2-2-W1-W3", "Block laws",
            "Laws of a deep linear network depending only on W1 and W3", "linear:2,2,2,2",
            "The laws of the 3-layer linear network 2 → 2 → 2 → 2 that depend only on the "
            "first and the last layer (--subset W1,W3): the laws of the fields obtained by "
            "expanding the generators' W1 and W3 components in the entries of W2 "
            "(conslaw_flint.algorithms.subsets).", subset="W1,W3",
            known=("W1[1,1]^2 + W1[1,2]^2 + W1[2,1]^2 + W1[2,2]^2 - W3[1,1]^2 - W3[1,2]^2 "
                   "- W3[2,1]^2 - W3[2,2]^2",),
            known_source="‖W1‖² − ‖W3‖²",
            known_by="derived as the sum of the traces of the two layer balances",
            paper=TC, claim="(Prop. 4.3, as cited by issue 11) laws depending on a block "
            "reduce to the block in isolation; W1, W3 is not a block of consecutive layers "
            "and the paper states no count for it."),
    Example("subset-linear-2-2-2-2-W1-W2", "Block laws",
            "Laws of a deep linear network depending only on W1 and W2", "linear:2,2,2,2",
            "The laws of the 3-layer linear network 2 → 2 → 2 → 2 that depend only on its "
            "first two layers (--subset W1,W2).", subset="W1,W2",
            known=("W1[1,1]^2 + W1[2,1]^2 - W2[1,1]^2 - W2[1,2]^2",
                   "W1[1,1]*W1[1,2] + W1[2,1]*W1[2,2] - W2[1,1]*W2[2,1] - W2[1,2]*W2[2,2]",
                   "W1[1,2]^2 + W1[2,2]^2 - W2[2,1]^2 - W2[2,2]^2"),
            known_source="the entries of W1ᵀW1 − W2W2ᵀ, the laws of the block linear:2,2,2",
            paper=TC, claim="(Prop. 4.3, as cited by issue 11) the laws that depend only on "
            "the block (W1, W2) are those of the block in isolation, linear:2,2,2: 3 laws.",
            claim_count=3),
)

EXAMPLES: tuple[Example, ...] = (
    *(Example(f"product-{D}", "Products", f"Product of {D} parameters", f"product:{D}",
              f"The one-component map φ(θ) = x1⋯x{D}: a single gradient field.",
              known_source="x1² − xk² for k = 2..D") for D in (3, 4, 5, 6)),
    Example("neuron-uv", "One neuron", "One linear neuron φ(u, v) = uv", "poly:x1*x2",
            "A scalar two-parameter model (one weight times another); here x1 = u, x2 = v.",
            names=("u", "v"), known=("x1^2 - x2^2",), known_source="the balance u² − v²"),
    *(Example(f"linear-{n}-{r}-{m}", "Two-layer linear networks",
              f"Two-layer linear network UVᵀ, (n, r, m) = ({n}, {r}, {m})",
              f"linear:{n},{r},{m}",
              f"φ(θ) = W1 W2 with W1 = U (n × r = {n} × {r}) and W2 = Vᵀ (r × m = {r} × {m}); "
              f"hidden width r = {r}, n + m = {n + m}.",
              known_source="the entries of the r × r matrix W1ᵀW1 − W2W2ᵀ = UᵀU − VᵀV")
      for n, r, m in ((2, 2, 2), (3, 2, 2), (2, 3, 2), (1, 4, 1), (2, 5, 2))),
    Example("relu-3-4-2", "Two-layer ReLU networks", "Two-layer ReLU network, no biases",
            "relu:3,4,2", "Path lifting of a 3 → 4 → 2 ReLU network without biases.",
            known_source="‖incoming‖² − ‖outgoing‖² of each hidden neuron"),
    Example("relu-bias-3-4-2", "Two-layer ReLU networks", "Two-layer ReLU network with biases",
            "relu-bias:3,4,2",
            "Path lifting of a 3 → 4 → 2 ReLU network with hidden biases (bias paths included).",
            known_source="‖incoming‖² + b² − ‖outgoing‖² of each hidden neuron"),
    Example("linear-2-3-4-3", "Deep linear networks", "Deep linear network 2 → 3 → 4 → 3",
            "linear:2,3,4,3", "Three-layer linear network, from the paper's experiments.",
            known_source="the entries of W_lᵀW_l − W_{l+1}W_{l+1}ᵀ for each hidden layer l"),
    Example("linear-3-4-5", "Deep linear networks", "Linear network 3 → 4 → 5",
            "linear:3,4,5", "Two-layer linear network of the README example.",
            known_source="the entries of W1ᵀW1 − W2W2ᵀ"),
    Example("relu-2-2-5-3", "Deep ReLU networks", "Deep ReLU network 2 → 2 → 5 → 3",
            "relu:2,2,5,3", "Three-layer ReLU network without biases, from the paper's "
            "experiments.", known_source="one balance per hidden neuron"),
    Example("relu-bias-3-4-3", "Deep ReLU networks", "ReLU network 3 → 4 → 3 with biases",
            "relu-bias:3,4,3", "Two-layer ReLU network with hidden biases.",
            known_source="one balance per hidden neuron, bias included"),
    Example("relu-4-6-5-3", "Deep ReLU networks", "Deep ReLU network 4 → 6 → 5 → 3",
            "relu:4,6,5,3", "Three-layer ReLU network without biases, from the paper's "
            "experiments.", known_source="one balance per hidden neuron"),
    Example("fields-nonpolynomial", "Non-polynomial laws",
            "Two commuting fields with non-polynomial laws", "fields:1,x2,0,0;0,0,1,x4",
            "General (non-gradient) fields X1 = (1, x2, 0, 0) and X2 = (0, 0, 1, x4): each "
            "moves one pair of coordinates along exponential curves.", known=None,
            closed_forms=("x2*exp(-x1)", "x4*exp(-x3)")),
    Example("random-3-1-2-0", "Random polynomial fields",
            "One random quadratic field in R³", "random:3,1,2,0",
            "A single random polynomial field of degree ≤ 2 in 3 variables (seed 0 of the "
            "model generator), as in the paper's first experiment.", known=None),
    *FLOW_EXAMPLES,
)


# ---------------------------------------------------------------------------------------------
# the families of laws from the literature, built from the parameter names


def known_laws(ex: Example, model: Model) -> list[Poly] | None:
    """The literature's family of polynomial laws for the example (or None), as FLINT
    polynomials in the model's ring, built from the parameter names."""
    if ex.known is None:
        return None
    if isinstance(ex.known, tuple):
        return [parse_polynomial(t, names=model.names) for t in ex.known]
    g = model.gens()
    if model.kind == "product":
        return [g[0] ** 2 - g[k] ** 2 for k in range(1, model.D)]
    if model.widths is None:
        return None
    w, out = model.widths, []
    ix = {n: i for i, n in enumerate(model.names)}

    def W(lay: int, i: int, j: int) -> Poly:
        return g[ix[f"W{lay}[{i + 1},{j + 1}]"]]

    for lay in range(1, len(w) - 1):
        n_in, n_hid, n_out = w[lay - 1], w[lay], w[lay + 1]
        pairs = ([(a, b) for a in range(n_hid) for b in range(a, n_hid)]
                 if model.kind == "linear" else [(a, a) for a in range(n_hid)])
        for a, b in pairs:
            h = sum((W(lay, i, a) * W(lay, i, b) for i in range(n_in)), model.ring.constant(0))
            if model.bias and a == b:
                h += g[ix[f"b{lay}[{a + 1}]"]] ** 2
            h -= sum((W(lay + 1, a, j) * W(lay + 1, b, j) for j in range(n_out)),
                     model.ring.constant(0))
            out.append(h)
    return out


# ---------------------------------------------------------------------------------------------
# page pieces


def _md_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return lines


def _layout(model: Model, names: Sequence[str]) -> list[str]:
    if model.widths is None:
        if tuple(names) == tuple(f"x{i + 1}" for i in range(model.D)):
            return [f"The parameters are the coordinates x1..x{model.D} of R^{model.D}."]
        return _md_table(["coordinate", "parameter"],
                         [(f"x{i + 1}", n) for i, n in enumerate(names)])
    out = [f"Parameter convention `{CONVENTION}`: layer 0 is the input side; W_l is an "
           "n_{l-1} × n_l matrix; parameters are numbered layer by layer, row-major inside "
           "each W_l, hidden biases after all weights.", ""]
    ix = {n: i for i, n in enumerate(model.names)}
    w = model.widths
    for lay in range(1, len(w)):
        out.append(f"**W{lay}** ({w[lay - 1]} × {w[lay]}): entry [i, j] is the coordinate shown.")
        out.append("")
        rows = [[f"i = {i + 1}"] + [f"x{ix[f'W{lay}[{i + 1},{j + 1}]'] + 1}"
                                    for j in range(w[lay])] for i in range(w[lay - 1])]
        out += _md_table([" "] + [f"j = {j + 1}" for j in range(w[lay])], rows)
        out.append("")
    if model.bias:
        for lay in range(1, len(w) - 1):
            out.append(f"**b{lay}** (length {w[lay]}):")
            out.append("")
            out += _md_table([" "] + [f"i = {i + 1}" for i in range(w[lay])],
                             [["b"] + [f"x{ix[f'b{lay}[{i + 1}]'] + 1}" for i in range(w[lay])]])
            out.append("")
    while out and out[-1] == "":
        out.pop()
    return out


_KIND_TEXT = {
    "linear": "The map φ(θ): the entries of W1 W2 ⋯ Wq (row-major), a linear network",
    "relu": "The map φ(θ): the path lifting, one product W1[i0,i1] W2[i1,i2] ⋯ per "
            "input-output path",
    "relu-bias": "The map φ(θ): the path lifting, plus one product per path from a hidden bias "
                 "to the output",
    "product": "The map φ(θ) = x1 x2 ⋯ xD",
    "poly": "The map φ, given by polynomial expressions",
    "fields": "The generators: polynomial vector fields, not gradients (no map φ)",
    "random": "The generators: random polynomial vector fields, not gradients (no map φ)",
    "momentum": "The generators, in phase space (clock, θ, v): the drift of the heavy-ball flow, "
                "then one forcing field (0, 0, ∇φ_i) per component of φ",
    "nesterov": "The generators, in phase space (t, θ, v): Nesterov's drift multiplied by t, "
                "then one forcing field (0, 0, ∇φ_i) per component of φ",
    "mirror": "The generators: M(θ)⁻¹∇φ_i, the gradient fields seen through the mirror (metric) M",
    "decay": "The generators, on (s, θ): the weight-decay drift, then one forcing field "
             "(0, ∇φ_i) per component of φ",
    "attention": "The map φ(θ): the entries of Q_hᵀK_h and V_hᵀO_h for each head h",
    "softmax": "The map φ(W) = PW with P = I − 11ᵀ/n: the weights projected on the sum-zero "
               "directions of the output",
    "conv": "The map φ(θ): the path lifting U[a,b,k] V[b,c,l] of the convolutional network",
    "dag": "The map φ(θ): the path lifting of the ReLU network on the graph (a skip connection "
           "contributes the factor 1)",
    "subset": "The generators: the fields Y_{i,β} on the chosen variables, the coefficients of "
              "the generators' components on them expanded in the other variables (their laws "
              "are the laws of the model that depend only on these variables)",
}


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def _generators(model: Model, names: Sequence[str]) -> list[str]:
    out = [_KIND_TEXT.get(model.kind, model.kind) + "."]
    fam = model.family
    if model.phi is not None:
        n_terms = sum(len(p) for p in model.phi)
        if model.d <= SHOW_MAX_COMPONENTS and n_terms <= SHOW_MAX_TERMS:
            out.append("")
            for i, p in enumerate(model.phi):
                out.append(f"$$\\phi_{{{i + 1}}} = {to_latex(p, names)}$$")
                out.append("")
            out.pop()
        out.append("")
        out.append("The generators are the gradient fields X_i = ∇φ_i.")
        return out
    n_terms = sum(len(c) for f in fam.fields for _, c in f.items())
    if model.d <= SHOW_MAX_COMPONENTS and n_terms <= SHOW_MAX_TERMS:
        out.append("")
        for i, f in enumerate(fam.fields):
            comps = ",\\ ".join(to_latex(f[k], names) for k in range(model.D))
            out.append(f"$$X_{{{i + 1}}} = \\left({comps}\\right)$$")
            out.append("")
        out.pop()
    return out


def _closed_form_check(ex: Example, model: Model, N: int) -> list[str]:
    """SymPy check that each closed form h satisfies <grad h, X_i> = 0 and their rank."""
    import sympy

    xs = sympy.symbols(f"x1:{model.D + 1}")
    loc = {f"x{i + 1}": s for i, s in enumerate(xs)}
    hs = [sympy.sympify(t, locals=loc) for t in ex.closed_forms]
    from ..io.export import to_sympy

    names = [f"x{i + 1}" for i in range(model.D)]
    fields = [[to_sympy(c, names) for c in f] for f in model.family.fields]
    ok = all(sympy.simplify(sum(sympy.diff(h, xs[k]) * X[k] for k in range(model.D))) == 0
             for h in hs for X in fields)
    rank = sympy.Matrix([[sympy.diff(h, x) for x in xs] for h in hs]).rank(simplify=True)
    lines = ["Known closed forms, checked with SymPy during the run (⟨∇h, X_i⟩ simplifies to "
             f"0 for every generator: {'yes' if ok else 'NO'}; rank of their gradients over "
             f"the field of functions: {rank}):", ""]
    for i, h in enumerate(hs):
        lines.append(f"$$h_{{{i + 1}}} = {sympy.latex(h)}$$")
        lines.append("")
    if ok and rank == N:
        lines.append(f"They are {rank} independent laws, as many as the certified count, so "
                     "near a generic point every law is a function of them.")
    else:
        lines.append(f"They give {rank} independent laws; the certified count is {N}.")
    return lines


def _known_check(ex: Example, model: Model, res: CountResult) -> list[str]:
    fam = known_laws(ex, model)
    if not fam:
        return []
    checker = LawChecker(model.family)
    verified = [checker.check(h) for h in fam]
    chosen, _ = independent_gradients([dict(terms(h)) for h, ok in zip(fam, verified,
                                                                       strict=True) if ok],
                                      model.D, res.lie.point, res.lie.prime)
    m, N = len(chosen), res.laws_lower
    origin = ex.known_by or f"from the paper ({ex.paper})"
    lines = [f"The family of laws {origin}, "
             f"{ex.known_source}: {_plural(len(fam), 'polynomial')}, "
             f"{sum(verified)} verified exactly as laws by this run, {m} independent at the "
             "certificate's point (rank modulo its prime, a lower bound on their generic "
             "rank)."]
    if not all(verified):
        lines.append("")
        lines.append("**Some of these polynomials are not laws of this model.**")
    if res.certified and m == N:
        lines.append("")
        lines.append(f"{m} = the certified count: this family is complete (every law is "
                     "locally a function of it).")
    elif res.certified:
        lines.append("")
        lines.append(f"The certified count is {N}: this family alone is not complete.")
    if len(fam) > m:
        lines.append("")
        lines.append(f"{_plural(len(fam) - m, 'member')} of the family "
                     f"{'is' if len(fam) - m == 1 else 'are'} functionally dependent on the "
                     "others.")
    return lines


def _command(spec: str, options: str = "") -> str:
    opts = f" {options}" if options else ""
    return (f"conslaw count '{spec}'{opts} --seed {SEED} --certificate c.json && "
            "conslaw verify c.json")


def _claim(ex: Example, res: CountResult) -> list[str]:
    """The paper's statement about the setting, compared with the certified count."""
    if not ex.claim:
        return []
    lines = [f"{ex.paper}: {ex.claim}", ""]
    N = res.laws_lower
    if ex.claim_count is None:
        lines.append(f"The paper states no count for this case; the certified count is {N}.")
    elif res.certified and N == ex.claim_count:
        lines.append(f"The paper's count is {ex.claim_count}; the certified count is {N}: "
                     "they agree.")
    else:
        lines.append(f"**The paper's count is {ex.claim_count}; this run gives "
                     f"{res.laws_lower}..{res.laws_upper}: they DISAGREE.**")
    return lines


@dataclass
class Run:
    """What a page reports: the example, its model and the results of the run."""

    ex: Example
    model: Model
    res: CountResult
    full_levels: list[int]
    full_stopped: str
    digest: str
    verified: bool
    verify_reason: str
    checks: int


def run_example(ex: Example) -> Run:
    """Build, count, certify and independently verify one example (deterministic)."""
    from ..verify import verify_certificate

    model = build_with_options(ex.spec, flow=ex.flow, subset=ex.subset)
    res = count_laws(model, degree=ex.degree, seed=SEED)
    full = lie_closure(model.family, cap=None, prime=res.lie.prime, point=res.lie.point)
    cert = certificate(res)
    verdict = verify_certificate(json.loads(json.dumps(cert)))
    return Run(ex, model, res, list(full.level_ranks), full.stopped, cert["digest"],
               verdict.ok, verdict.reason, len(verdict.checks))


def page(run: Run) -> str:
    """The Markdown page of one example."""
    ex, model, res = run.ex, run.model, run.res
    names = ex.names or model.names
    lie = res.lie
    D, N = model.D, res.laws_lower
    L: list[str] = [
        f"# {ex.title}",
        "",
        "<!-- generated by `conslaw theory` from a run of the code; do not edit by hand: "
        "`conslaw theory --check` compares this file with a fresh run -->",
        "",
        f"{ex.about}",
        "",
        f"**{res.verdict()}.**",
        "",
        "## Model",
        "",
        f"Specification: `{ex.spec}`" + (f", options `{ex.options()}`" if ex.options()
                                          else ""),
        "",
    ]
    L += _md_table(["D (parameters)", "d (generators)"], [(D, model.d)])
    L += ["", *_generators(model, names), "", "## Parameter layout", "", *_layout(model, names)]

    L += ["", "## Lie closure", "",
          "Rank of V_k(θ0) at one random integer point θ0, for V_1 = span of the generators "
          "and V_{k+1} = V_k + [V_1, V_k], computed exactly modulo the prime "
          f"p = {lie.prime} (seed {SEED}): each rank is a lower bound on dim Lie(V)(θ0) ≤ K*.",
          ""]
    full = run.full_levels
    rows = []
    for k in range(max(len(lie.level_ranks), len(full))):
        a = lie.level_ranks[k] if k < len(lie.level_ranks) else "—"
        b = full[k] if k < len(full) else "—"
        rows.append((k + 1, a, b))
    L += _md_table(["bracket level k", "rank in the count", "rank (full closure)"], rows)
    L.append("")
    m_laws = len(res.laws)
    if lie.stopped == "cap":
        L.append(f"The count's closure stops when its rank reaches D − (proven laws) = "
                 f"{D} − {m_laws} = {lie.rank}: with m = {m_laws} independent "
                 f"{'law' if m_laws == 1 else 'laws'} proven, dim Lie(V)(θ) ≤ D − m "
                 "everywhere, so no bracket can add a direction.")
    else:
        L.append(f"The count's closure stopped ({lie.stopped}) at rank {lie.rank}: the last "
                 "level added no new direction at θ0.")
    L.append(f"The full closure (no cap, same point and prime) stopped ({run.full_stopped}) at "
             f"rank {full[-1]} after {len(full)} levels.")

    L += ["", "## Certified count", ""]
    L.append(f"- Upper bound: N ≤ D − K_lo = {D} − {res.lie_rank_lower} = {res.laws_upper} "
             f"(the values of {_plural(lie.rank, 'named bracket word')} have rank {lie.rank} "
             "at θ0 modulo p, so K* ≥ K_lo).")
    law_res = res.law_result
    if res.method == "laws" or not res.certified:
        L.append(f"- Lower bound: N ≥ {m_laws}: {_plural(m_laws, 'polynomial law')} of degree ≤ "
                 f"{res.degree_reached}, each verified as an exact identity ⟨∇h, X_i⟩ ≡ 0 "
                 f"for every generator, with gradients of rank {m_laws} at θ0.")
    if res.method == "involutive":
        words = ", ".join(word_str(w) for w in lie.words)
        rows_ = ", ".join(f"x{j + 1}" for j in res.involutive_rows or [])
        L.append(f"- Lower bound: N ≥ D − r = {D} − {lie.rank} = {N} by the involutivity "
                 f"certificate on the frame Y = ({words}), r = {lie.rank}: every generator "
                 "and every bracket [Y_a, Y_b] lies in the span of Y over Q(θ) (exact "
                 f"polynomial identities through the r × r minor on the components {rows_}), "
                 "so Lie(V)(θ) = span Y(θ) on a dense open set and K* = r.")
    if law_res is not None and law_res.basis:
        L.append(f"- Polynomial laws of degree ≤ {law_res.degree}: an exact basis of "
                 f"{len(law_res.basis)} over Q, {len(law_res.independent)} of them "
                 "functionally independent.")
    elif law_res is not None:
        L.append(f"- Polynomial laws of degree ≤ {law_res.degree}: none (the exact kernel is "
                 f"zero), so none of the {N} laws can be chosen polynomial of degree ≤ "
                 f"{law_res.degree}.")
    L.append(f"- Method: {res.method if res.certified else 'not certified'}.")

    if res.laws:
        L += ["", "## Laws", "",
              f"{_plural(m_laws, 'independent polynomial law')} (a maximal independent "
              "subfamily of the "
              "basis" + (", complete: every law is locally a function of them" if
                         res.certified and res.method == "laws" else "") + "):", ""]
        for i, h in enumerate(res.laws):
            L.append(f"$$h_{{{i + 1}}} = {to_latex(h, names)}$$")
            L.append("")
        L.pop()
    if ex.closed_forms:
        L += ["", "## Closed forms", "", *_closed_form_check(ex, model, N)]
    comparison = _claim(ex, res) + ([""] if ex.claim else []) + _known_check(ex, model, res)
    while comparison and comparison[-1] == "":
        comparison.pop()
    if comparison:
        L += ["", "## Compared with the literature", "", *comparison]

    L += ["", "## Certificate", "",
          f"- seed {SEED}, prime {lie.prime}",
          f"- digest (SHA-256): `{run.digest}`",
          "- independent verifier: " + (f"accepted ({run.checks} checks passed)" if run.verified
                                        else f"REJECTED: {run.verify_reason}"),
          "",
          "Reproduce:",
          "",
          "```",
          _command(ex.spec, ex.options()),
          "```",
          ""]
    return "\n".join(L)


def index_page(runs: Sequence[Run]) -> str:
    """theory/README.md: the index with one summary table (no timing column)."""
    L = [
        "# Worked examples",
        "",
        "<!-- generated by `conslaw theory`; do not edit by hand -->",
        "",
        "Every page in this folder is generated by `conslaw theory` from a run of the code "
        f"(seed {SEED}, polynomial laws searched up to degree {DEGREE}); nothing in it is "
        "typed by hand except the prose. `conslaw theory --check` regenerates the pages in "
        "memory and fails if any file here differs.",
        "",
        "How to read a page: D parameters, d generators X_i of V; N = D − K* independent "
        "conservation laws near a generic θ, where K* is the generic dimension of the Lie "
        "trace. *Certified* means that an exact lower bound and an exact upper bound on N "
        "met: `laws` = the lower bound comes from exhibited polynomial laws, `involutive` = "
        "from an involutivity certificate of the Lie closure (used when the laws are not "
        "polynomial).",
        "",
    ]
    bad = [r.ex.slug for r in runs if not r.verified]
    L += [f"Certificates re-checked by the independent verifier: {len(runs) - len(bad)} of "
          f"{len(runs)} accepted" + (f"; rejected: {', '.join(bad)}." if bad else "."), ""]
    rows = []
    for r in runs:
        count = str(r.res.laws_lower) if r.res.certified else \
            f"{r.res.laws_lower}..{r.res.laws_upper} (not certified)"
        shown = r.ex.spec + (f" {r.ex.options()}" if r.ex.options() else "")
        rows.append((f"[{r.ex.title}]({r.ex.slug}.md)", f"`{shown}`", r.model.D, r.model.d,
                     count, r.res.method if r.res.certified else "—"))
    L += _md_table(["example", "model", "D", "d", "certified count", "method"], rows)
    L += ["", "Regenerate: `conslaw theory --out theory`; check: `conslaw theory --check`.", ""]
    return "\n".join(L)


def generate(examples: Sequence[Example] = EXAMPLES,
             progress: Callable[[str], None] | None = None) -> dict[str, str]:
    """All pages in memory: file name -> text (README.md first)."""
    runs = []
    for ex in examples:
        if progress:
            progress(ex.spec)
        runs.append(run_example(ex))
    files = {INDEX: index_page(runs)}
    for r in runs:
        files[f"{r.ex.slug}.md"] = page(r)
    return files


def stale_files(out: str, files: dict[str, str]) -> list[tuple[str, str]]:
    """(file, why) for every file of ``out`` that differs from ``files``: ``differs``,
    ``missing``, or ``not generated`` (a Markdown file no example produces)."""
    stale = []
    for name, text in files.items():
        path = os.path.join(out, name)
        if not os.path.isfile(path):
            stale.append((name, "missing"))
            continue
        try:
            with open(path, "rb") as fh:
                if fh.read(len(text.encode("utf-8")) + 1) != text.encode("utf-8"):
                    stale.append((name, "differs"))
        except OSError as e:
            stale.append((name, f"unreadable: {e.strerror or e}"))
    if os.path.isdir(out):
        for name in sorted(os.listdir(out)):
            if name.endswith(".md") and name not in files:
                stale.append((name, "not generated"))
    return stale


def check_theory_out(out: str) -> None:
    """Refuse a pages folder that cannot be used, before the (minute-long) regeneration."""
    if not isinstance(out, str) or not out.strip():
        raise UserError("the theory folder name is empty; give a folder, e.g. --out theory")
    if os.path.exists(out) and not os.path.isdir(out):
        raise UserError(f"cannot write theory pages to {out!r}: it is a file; give a folder")
    parent = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(parent):
        raise UserError(f"cannot create {out!r}: folder {parent!r} does not exist")
    target = out if os.path.isdir(out) else parent
    if not os.access(target, os.W_OK | os.X_OK):
        raise UserError(f"cannot write theory pages to {out!r}: {target!r} is not writable")


def write(out: str, files: dict[str, str]) -> list[str]:
    """Write the pages into ``out`` (created if missing); returns the paths written.
    Raises :class:`UserError` (one line) for an empty name, a file, a missing parent folder
    or a folder that cannot be written -- checked before anything is written."""
    check_theory_out(out)
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create {out!r}: {e.strerror or e}") from None
    paths = []
    for name, text in files.items():
        path = os.path.join(out, name)
        write_atomic(path, text)
        paths.append(path)
    return paths


def cmd_theory(args: argparse.Namespace) -> int:
    """``conslaw theory``: write (or with ``--check`` compare) the worked examples."""
    say = None
    if not (args.quiet or args.json) and sys.stderr.isatty():
        def say(msg: str) -> None:
            print(f"... {msg}", file=sys.stderr, flush=True)
    out = args.out
    if not args.check:
        check_theory_out(out)
    elif not isinstance(out, str) or not out.strip():
        raise UserError("the theory folder name is empty; give a folder, e.g. --out theory")
    files = generate(progress=say)
    if args.check:
        stale = stale_files(out, files)
        if args.json:
            print(json.dumps({"out": out, "fresh": not stale,
                              "stale": [{"file": n, "why": w} for n, w in stale]}, indent=1))
        elif stale:
            listed = ", ".join(f"{os.path.join(out, n)} ({w})" for n, w in stale)
            print(f"conslaw theory: stale: {listed}; regenerate with: conslaw theory "
                  f"--out {out}", file=sys.stderr)
        else:
            print(f"{out}: {len(files)} files up to date")
        return 1 if stale else 0
    paths = write(out, files)
    extra = [n for n, w in stale_files(out, files) if w == "not generated"]
    if args.json:
        print(json.dumps({"out": out, "files": paths, "not_generated": extra}, indent=1))
    elif not args.quiet:
        print(f"wrote {len(paths)} files to {out}")
        for n in extra:
            print(f"note: {os.path.join(out, n)} is not generated by conslaw theory (left "
                  "in place)")
    return 0


__all__ = ["EXAMPLES", "Example", "generate", "known_laws", "page", "run_example",
           "stale_files", "write"]
