"""Attention layers, softmax classifiers and convolutional ReLU networks: layouts, maps, the
counts of "Transformative or Conservative?" (TC, ICML 2025) and input errors."""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest

from conslaw_flint import count_laws
from conslaw_flint.models import ModelError, build_model
from conslaw_flint.models.architectures import attention_model, conv_model, softmax_model


def _counted(spec: str) -> tuple[int, int, bool]:
    r = count_laws(build_model(spec))
    return r.laws_lower, r.laws_upper, r.certified


# ---------------------------------------------------------------------------------------------
# attention


def test_attention_oracle_and_laws() -> None:
    res = count_laws(build_model("attention:2,2"))
    assert (res.laws_lower, res.laws_upper, res.certified) == (6, 6, True)
    assert [str(h) for h in res.laws] == [
        "Q[1,1]^2 + Q[1,2]^2 - K[1,1]^2 - K[1,2]^2",
        "Q[1,1]*Q[2,1] + Q[1,2]*Q[2,2] - K[1,1]*K[2,1] - K[1,2]*K[2,2]",
        "Q[2,1]^2 + Q[2,2]^2 - K[2,1]^2 - K[2,2]^2",
        "V[1,1]^2 + V[1,2]^2 - O[1,1]^2 - O[1,2]^2",
        "V[1,1]*V[2,1] + V[1,2]*V[2,2] - O[1,1]*O[2,1] - O[1,2]*O[2,2]",
        "V[2,1]^2 + V[2,2]^2 - O[2,1]^2 - O[2,2]^2",
    ]


@pytest.mark.parametrize("d1,dim,heads", [(2, 1, 1), (3, 2, 1), (2, 3, 1), (2, 2, 2), (1, 1, 3)])
def test_attention_counts_are_those_of_its_products(d1: int, dim: int, heads: int) -> None:
    """Each product Q_h^T K_h is the two-layer linear net d1 -> dim -> d1 (W1 = Q_h^T, W2 =
    K_h), whose count the library computes independently; the heads do not interact."""
    linear = count_laws(build_model(f"linear:{d1},{dim},{d1}"))
    spec = f"attention:{d1},{dim}" + (f",heads={heads}" if heads > 1 else "")
    assert _counted(spec) == (2 * heads * linear.laws_lower,) * 2 + (True,)


def test_attention_layout() -> None:
    m = attention_model(3, 2)
    assert m.D == 4 * 6 and m.d == 2 * 9
    assert m.names[:6] == ("Q[1,1]", "Q[1,2]", "Q[1,3]", "Q[2,1]", "Q[2,2]", "Q[2,3]")
    assert m.names[6] == "K[1,1]" and m.names[12] == "V[1,1]" and m.names[18] == "O[1,1]"
    # phi_(a,b) = (Q^T K)[a,b] = sum_r Q[r,a] K[r,b], row-major over (a, b)
    assert str(m.phi[1]) == "Q[1,1]*K[1,2] + Q[2,1]*K[2,2]"
    assert str(m.phi[9]) == "V[1,1]*O[1,1] + V[2,1]*O[2,1]"
    two = attention_model(1, 1, heads=2)
    assert two.names == ("Q1[1,1]", "K1[1,1]", "V1[1,1]", "O1[1,1]",
                         "Q2[1,1]", "K2[1,1]", "V2[1,1]", "O2[1,1]")
    assert [str(p) for p in two.phi] == ["Q1[1,1]*K1[1,1]", "V1[1,1]*O1[1,1]",
                                         "Q2[1,1]*K2[1,1]", "V2[1,1]*O2[1,1]"]
    assert any("completeness" in n and "open" in n for n in two.notes)
    assert not attention_model(2, 2).notes


# ---------------------------------------------------------------------------------------------
# softmax


def test_softmax_oracle_and_laws() -> None:
    res = count_laws(build_model("softmax:3,2"))
    assert (res.laws_lower, res.laws_upper, res.certified) == (2, 2, True)
    assert [str(h) for h in res.laws] == ["W[1,1] + W[2,1] + W[3,1]",
                                          "W[1,2] + W[2,2] + W[3,2]"]


@pytest.mark.parametrize("n,m", [(2, 1), (2, 3), (4, 2), (5, 5)])
def test_softmax_counts(n: int, m: int) -> None:
    assert _counted(f"softmax:{n},{m}") == (m, m, True)   # one column sum per feature


def test_softmax_fields_are_projected_on_sum_zero() -> None:
    m = softmax_model(3, 2)
    assert str(m.phi[0]) == "2/3*W[1,1] - 1/3*W[2,1] - 1/3*W[3,1]"
    for X in m.fields:
        for j in range(2):   # each column of each field sums to zero
            assert sum(Fraction(str(X[i * 2 + j])) for i in range(3)) == 0


# ---------------------------------------------------------------------------------------------
# convolution


def test_conv_oracle_and_laws() -> None:
    res = count_laws(build_model("conv:1,2,1,2,2"))
    assert (res.laws_lower, res.laws_upper, res.certified) == (2, 2, True)
    assert [str(h) for h in res.laws] == [
        "U[1,1,1]^2 + U[1,1,2]^2 - V[1,1,1]^2 - V[1,1,2]^2",
        "U[1,2,1]^2 + U[1,2,2]^2 - V[2,1,1]^2 - V[2,1,2]^2"]


@pytest.mark.parametrize("dims", [(1, 1, 1, 1, 1), (2, 3, 2, 2, 3), (1, 3, 2, 3, 1),
                                  (3, 2, 1, 1, 2)])
def test_conv_counts_one_law_per_hidden_channel(dims: tuple[int, ...]) -> None:
    """TC Thm 3.6: c1 laws."""
    spec = "conv:" + ",".join(map(str, dims))
    assert _counted(spec) == (dims[1], dims[1], True)


def test_conv_is_a_path_lifting() -> None:
    c0, c1, c2, nu, nv = 2, 2, 1, 2, 3
    m = conv_model(c0, c1, c2, nu, nv)
    ix = {n: i for i, n in enumerate(m.names)}
    assert m.D == c1 * (c0 * nu + c2 * nv) and m.d == c0 * nu * c1 * c2 * nv
    expected = [f"U[{a},{b},{k}]*V[{b},{c},{t}]"
                for a, k, b, c, t in itertools.product(range(1, c0 + 1), range(1, nu + 1),
                                                       range(1, c1 + 1), range(1, c2 + 1),
                                                       range(1, nv + 1))]
    assert [str(p) for p in m.phi] == expected
    assert ix["V[1,1,1]"] == c0 * c1 * nu
    assert any("length" in n for n in m.notes)


# ---------------------------------------------------------------------------------------------
# specifications, inline and errors


@pytest.mark.parametrize("spec", ["attention:2,2", "attention:2,1,heads=2", "softmax:3,2",
                                  "conv:1,2,1,2,2"])
def test_inline_rebuilds_phi(spec: str) -> None:
    m = build_model(spec)
    again = build_model(m.inline)
    assert m.inline.startswith(f"poly[{m.D}]:")
    assert [str(p) for p in again.phi] == [
        str(p.project_to_context(again.ring, mapping={i: i for i in range(m.D)}))
        for p in m.phi]


@pytest.mark.parametrize("spec,needle", [
    ("attention:2", "expected 2 comma-separated sizes"),
    ("attention:2,0", "at least 1"),
    ("attention:2,2,heads=0", "heads = 0"),
    ("attention:2,2,heads=two", "is not an integer"),
    ("attention:2,x", "is not an integer"),
    ("softmax:1,3", "at least 2 classes"),
    ("softmax:3", "expected 2"),
    ("conv:1,2,1,2", "expected 5"),
    ("conv:1,2,1,2,-1", "at least 1"),
    ("conv:1,2,1,2,200000", "above the limit"),
])
def test_bad_specs(spec: str, needle: str) -> None:
    with pytest.raises(ModelError, match=needle):
        build_model(spec)
