"""Certificates of flow models: large ones record ``BASE|flow=FLOW`` (models/flows.py), which
the verifier rebuilds with the shared builders; anything else after a ``|`` is refused."""

from __future__ import annotations

import copy
import re

import pytest

from conslaw_flint.algorithms.certify import certificate, count_laws
from conslaw_flint.algorithms.certify import digest as writer_digest
from conslaw_flint.models import build_model
from conslaw_flint.verify import verify_certificate


@pytest.fixture(scope="module")
def momentum_cert() -> dict:
    """relu:4,6,5,3 under heavy ball: 361 generators in 139 variables, recorded inline as
    BASE|flow=FLOW (too many components for a fields: text)."""
    res = count_laws(build_model("relu:4,6,5,3", flow="momentum"), seed=0)
    assert res.certified
    cert = certificate(res)
    assert cert["model"] == "relu:4,6,5,3|flow=momentum:tau=1"
    return cert


@pytest.mark.parametrize("rational", [False, True])
def test_flow_certificate_verifies(momentum_cert: dict, rational: bool) -> None:
    v = verify_certificate(momentum_cert, rational=rational)
    assert v.ok, v.reason
    assert v.claims["laws_upper"] == momentum_cert["claims"]["laws_upper"]


@pytest.mark.parametrize("model, match", [
    ("relu:4,6,5,3|flow=evil", "is not one of gradient, momentum"),
    ("relu:4,6,5,3|subset=W1", "not an inline model specification"),
    ("relu:4,6,5,3|flow=momentum|flow=decay", "is not one of gradient"),
    ("model.json|flow=momentum", "not an inline model specification"),
    ("relu:100,100|flow=momentum", r"too large for the verifier: D = 20001"),
    ("relu:4,6,5,3|flow=decay", "D/d = .* differ"),
])
def test_bad_flow_specifications(momentum_cert: dict, model: str, match: str) -> None:
    bad = copy.deepcopy(momentum_cert)
    bad["model"] = model
    bad["digest"] = writer_digest(bad)
    v = verify_certificate(bad)
    assert not v.ok and re.search(match, v.reason), v.reason
