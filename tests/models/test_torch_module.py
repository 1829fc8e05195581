"""PyTorch front end: module -> model (phi, variables, parameter map), refusals, files."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from conslaw_flint import build_model, certificate, count_laws, verify_certificate  # noqa: E402
from conslaw_flint.core.polynomials import rename, variables  # noqa: E402
from conslaw_flint.io.export import to_torch  # noqa: E402
from conslaw_flint.models import torch_module as tm  # noqa: E402
from conslaw_flint.models.model import ModelError  # noqa: E402
from conslaw_flint.torch import from_module, model_from_torch_file, parameter_map  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def net_of(*layers: object, seed: int = 0) -> object:
    torch.manual_seed(seed)
    return nn.Sequential(*[f() for f in layers])


def phi_text(model: object, R: object = None) -> list[str]:
    R = R or model.ring
    return [str(rename(p, R)) for p in model.phi]


# ---------------------------------------------------------------------------------------------
# standard layouts: the builders' generators, in the same order


@pytest.mark.parametrize("layers,spec", [
    ((lambda: nn.Linear(3, 4, bias=False), nn.ReLU, lambda: nn.Linear(4, 2, bias=False)),
     "relu:3,4,2"),
    ((lambda: nn.Linear(3, 4), nn.ReLU, lambda: nn.Linear(4, 5), nn.LeakyReLU,
      lambda: nn.Linear(5, 2, bias=False)), "relu-bias:3,4,5,2"),
    ((lambda: nn.Linear(3, 4, bias=False), nn.Identity, lambda: nn.Linear(4, 2, bias=False)),
     "linear:3,4,2"),
    ((lambda: nn.Linear(2, 3, bias=False), lambda: nn.Linear(3, 3, bias=False),
      lambda: nn.Linear(3, 2, bias=False)), "linear:2,3,3,2"),
    ((lambda: nn.Linear(3, 2, bias=False),), "linear:3,2"),
])
def test_standard_layouts(layers: tuple, spec: str) -> None:
    net = net_of(*layers)
    m = from_module(net)
    ref = build_model(spec)
    assert m.inline == spec and m.kind == spec.split(":")[0]
    assert (m.D, m.d) == (ref.D, ref.d)
    assert phi_text(m, ref.ring) == phi_text(ref)
    # the builder here gives the same generators in the same order
    g = from_module(net, standard=False)
    assert g.kind == "torch" and phi_text(g) == phi_text(m)
    assert count_laws(m).laws_lower == count_laws(ref).laws_lower


def test_names_and_order() -> None:
    net = net_of(lambda: nn.Linear(2, 3), nn.ReLU, lambda: nn.Linear(3, 1, bias=False))
    m = from_module(net)
    assert m.inline == "relu-bias:2,3,1"
    # W1[i,j] (input i, output j) is 0.weight[j,i] (PyTorch stores out x in), 0-based
    assert m.names[:4] == ("0.weight[0,0]", "0.weight[1,0]", "0.weight[2,0]", "0.weight[0,1]")
    assert m.names[6:9] == ("2.weight[0,0]", "2.weight[0,1]", "2.weight[0,2]")
    assert m.names[9:] == ("0.bias[0]", "0.bias[1]", "0.bias[2]")
    pm = m.meta["parameter_map"]
    assert pm.tensors == ("0.weight", "0.bias", "2.weight")
    theta = pm.flatten(net)
    params = dict(net.named_parameters())
    for k, name in enumerate(m.names):
        tensor, idx = pm.locate(k)
        assert name == f"{tensor}[{','.join(map(str, idx))}]"
        assert theta[k].item() == params[tensor][idx].item()
    # the naive flattening is a permutation of the mapped vector, not the same order
    naive = pm.naive(net)
    assert torch.equal(naive[torch.as_tensor(pm.index)], theta)
    assert not torch.equal(naive, theta)


def test_nested_sequential_names() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Linear(3, 2)))
    m = from_module(net)
    assert "1.1.weight[1,2]" in m.names and "1.1.bias[0]" in m.names
    assert set(parameter_map(net).tensors) == {n for n, _ in net.named_parameters()}
    # a single layer alone is a module too
    assert from_module(nn.Linear(2, 2, bias=False)).inline == "linear:2,2"


def test_assign_roundtrip() -> None:
    net = net_of(lambda: nn.Linear(3, 2), nn.ReLU, lambda: nn.Linear(2, 2))
    pm = parameter_map(net)
    theta = torch.arange(pm.D, dtype=torch.float64) / 8
    pm.assign(net, theta)
    assert torch.equal(pm.flatten(net).detach().double(), theta)
    with pytest.raises(ModelError, match="expected"):
        pm.assign(net, theta[:-1])
    other = net_of(lambda: nn.Linear(3, 3), nn.ReLU, lambda: nn.Linear(3, 2))
    with pytest.raises(ModelError, match="not the module this map was made for"):
        pm.flatten(other)


# ---------------------------------------------------------------------------------------------
# phi: biases, activations, linear blocks


def test_output_bias_is_a_path_without_edges() -> None:
    net = net_of(lambda: nn.Linear(3, 4), nn.ReLU, lambda: nn.Linear(4, 2))
    m = from_module(net)
    ref = build_model("relu-bias:3,4,2")
    assert m.kind == "torch" and (m.D, m.d) == (ref.D + 2, ref.d + 2)
    out_bias = [m.names.index("2.bias[0]"), m.names.index("2.bias[1]")]
    # the last components are the output biases themselves
    assert [variables(p) for p in m.phi[-2:]] == [[out_bias[0]], [out_bias[1]]]
    assert all(p.total_degree() == 1 for p in m.phi[-2:])
    res = count_laws(m)
    assert res.certified and res.laws_lower == 4          # one per hidden neuron
    for h in res.laws:
        assert not set(variables(h)) & set(out_bias)
    # input-side bias: b1[j]^2 joins the incoming weights of neuron j
    assert any("0.bias[0]^2" in str(h) for h in res.laws)


def test_leaky_relu_shares_the_path_lifting() -> None:
    a = from_module(net_of(lambda: nn.Linear(2, 3), nn.ReLU, lambda: nn.Linear(3, 2)))
    b = from_module(net_of(lambda: nn.Linear(2, 3), lambda: nn.LeakyReLU(0.3),
                           lambda: nn.Linear(3, 2)))
    assert phi_text(a) == phi_text(b)


def test_linear_block_with_biases() -> None:
    # Linear-Identity-Linear with biases: phi = (entries of W1 W2, entries of b1 W2 + b2)
    net = net_of(lambda: nn.Linear(2, 3), nn.Identity, lambda: nn.Linear(3, 2))
    m = from_module(net)
    assert m.d == 2 * 2 + 2
    x = dict(zip(m.names, m.gens(), strict=True))
    c0 = sum((x[f"0.bias[{k}]"] * x[f"2.weight[0,{k}]"] for k in range(3)), x["2.bias[0]"])
    assert m.phi[4] == c0
    res = count_laws(m)
    assert res.certified and res.laws_lower == 6          # 3x3 symmetric W1'W1 + b b' - W2 W2'


def _gradient_span(net: object, x_shape: tuple, n: int) -> tuple[int, int, int]:
    """(rank of grad phi, rank of the output gradients over n inputs, rank of both), the
    output gradients in one vectorised Jacobian (torch.func)."""
    from torch.func import functional_call, jacrev

    m = from_module(net, standard=False)
    pm = m.meta["parameter_map"]
    theta = pm.flatten(net).detach().double()
    J = torch.autograd.functional.jacobian(to_torch(list(m.phi)), theta)
    X = torch.randn(n, *x_shape, generator=torch.Generator().manual_seed(1),
                    dtype=torch.float64)
    offs = pm.offsets

    def outputs(flat: object) -> object:
        params = {name: flat[offs[t]:offs[t + 1]].reshape(shape)
                  for t, (name, shape) in enumerate(zip(pm.tensors, pm.shapes, strict=True))}
        return functional_call(net, params, (X,)).reshape(-1)

    G = jacrev(outputs)(pm.naive(net).detach().double())[:, torch.as_tensor(pm.index)]
    rank = torch.linalg.matrix_rank
    return int(rank(J)), int(rank(G)), int(rank(torch.cat([J, G])))


@pytest.mark.parametrize("make,x_shape,n", [
    (lambda: nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)), (3,), 150),
    (lambda: nn.Sequential(nn.Linear(3, 4), nn.Identity(), nn.Linear(4, 2)), (3,), 20),
    (lambda: nn.Sequential(nn.Linear(5, 3), nn.LeakyReLU(0.1), nn.Linear(3, 3), nn.Linear(3, 2),
                           nn.LeakyReLU(0.2), nn.Linear(2, 2)), (5,), 200),
    (lambda: nn.Sequential(nn.Conv1d(1, 2, 3, padding=1, padding_mode="circular"), nn.ReLU(),
                           nn.Conv1d(2, 2, 3)), (1, 9), 60),
    (lambda: nn.Sequential(nn.Conv1d(2, 2, 2), nn.Conv1d(2, 2, 2, dilation=2), nn.ReLU(),
                           nn.Conv1d(2, 1, 3, padding=2, padding_mode="circular")), (2, 12), 60),
    (lambda: nn.Sequential(nn.Conv2d(1, 2, 2), nn.ReLU(), nn.Conv2d(2, 1, 2)), (1, 5, 5), 60),
])
def test_network_factors_through_phi(make: object, x_shape: tuple, n: int) -> None:
    """Every output gradient lies in span grad phi_i (g = f(phi(theta), x): the laws of phi
    are conserved), and for these nets the output gradients span all of it (phi is not finer
    than the network: no law is missed)."""
    torch.manual_seed(0)
    net = make().double()
    r_phi, r_out, r_both = _gradient_span(net, x_shape, n)
    assert r_both == r_phi
    assert r_out == r_phi


def test_conv_laws_are_channel_rescalings() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv1d(1, 3, 3, padding=1, padding_mode="circular"), nn.ReLU(),
                        nn.Conv1d(3, 2, 3))
    m = from_module(net)
    assert m.D == 9 + 3 + 18 + 2 and m.inline.startswith("poly[32]:")
    res = count_laws(m)
    assert res.certified and res.laws_lower == 3          # one per hidden channel
    assert any(str(h).startswith("0.weight[0,0,0]^2") for h in res.laws)


def test_conv2d_names_and_order() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(2, 1, (1, 2), bias=False))
    pm = parameter_map(net)
    # input channel, output channel, kernel position
    assert pm.names == ("0.weight[0,0,0,0]", "0.weight[0,0,0,1]",
                        "0.weight[0,1,0,0]", "0.weight[0,1,0,1]")


# ---------------------------------------------------------------------------------------------
# certificates and inline specifications


def test_inline_rebuilds_and_certificate_verifies() -> None:
    net = net_of(lambda: nn.Linear(2, 3), nn.ReLU, lambda: nn.Linear(3, 2))
    m = from_module(net)
    assert m.inline.startswith(f"poly[{m.D}]:")
    ref = build_model(m.inline)
    assert phi_text(m, ref.ring) == phi_text(ref)
    cert = certificate(count_laws(m))
    assert cert["model"] == m.inline
    assert verify_certificate(cert).ok


def test_large_model_has_no_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tm, "INLINE_MAX_CHARS", 50)
    m = from_module(net_of(lambda: nn.Linear(2, 3), nn.ReLU, lambda: nn.Linear(3, 2)))
    assert m.inline is None and m.canonical_spec() == m.spec
    assert count_laws(m).laws_lower == 3


# ---------------------------------------------------------------------------------------------
# refusals: one line naming the layer


class Custom(nn.Module):
    def forward(self, x: object) -> object:
        return x


@pytest.mark.parametrize("make,match", [
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)), r"layer 1 \(Tanh\)"),
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3)), r"layer 1 \(BatchNorm1d\)"),
    (lambda: nn.Sequential(nn.Conv1d(1, 2, 3), nn.Flatten(), nn.Linear(4, 1)),
     r"layer 1 \(Flatten\)"),
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), Custom())),
     r"layer 1\.1 \(Custom\)"),
    (lambda: nn.Sequential(nn.Conv1d(1, 2, 3, stride=2)), "stride"),
    (lambda: nn.Sequential(nn.Conv1d(1, 2, 3, padding=1)), "padding"),
    (lambda: nn.Sequential(nn.Conv1d(2, 2, 3, padding=1, padding_mode="reflect")), "padding"),
    (lambda: nn.Sequential(nn.Conv1d(2, 2, 3, groups=2)), "groups"),
    (lambda: nn.Sequential(nn.Conv1d(1, 2, 3), nn.ReLU(), nn.Linear(2, 1)),
     "dense and convolutional"),
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(4, 1)),
     r"layer 2 \(Linear\) takes 4 inputs but layer 0 gives 3"),
    (lambda: nn.Sequential(nn.ReLU(), nn.Identity()), "no Linear or convolution"),
    (lambda: nn.Sequential(), "no Linear or convolution"),
])
def test_refusals(make: object, match: str) -> None:
    torch.manual_seed(0)
    with pytest.raises(ModelError, match=match) as e:
        from_module(make())
    assert "\n" not in str(e.value)


def test_refusals_of_parameters() -> None:
    torch.manual_seed(0)
    lin = nn.Linear(2, 2)
    with pytest.raises(ModelError, match="same module"):
        from_module(nn.Sequential(lin, nn.ReLU(), lin))
    frozen = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
    frozen[2].bias.requires_grad_(False)
    with pytest.raises(ModelError, match=r"'2\.bias' is frozen"):
        from_module(frozen)
    extra = nn.Sequential(nn.Linear(2, 2))
    extra.register_parameter("scale", nn.Parameter(torch.ones(1)))
    with pytest.raises(ModelError, match="'scale' belongs to no Linear"):
        from_module(extra)
    with pytest.raises(ModelError, match="expected a torch.nn.Module"):
        from_module([nn.Linear(2, 2)])
    # a ReLU used twice is fine (no parameters)
    relu = nn.ReLU()
    assert from_module(nn.Sequential(nn.Linear(2, 2), relu, nn.Linear(2, 2), relu,
                                     nn.Linear(2, 1))).D == 4 + 4 + 2 + 2 + 2 + 1


# ---------------------------------------------------------------------------------------------
# files


def test_model_from_torch_file(tmp_path: object) -> None:
    net = net_of(lambda: nn.Linear(2, 3), nn.ReLU, lambda: nn.Linear(3, 1, bias=False))
    path = str(tmp_path / "net.pt")
    torch.save(net, path)
    m = model_from_torch_file(path)
    assert m.spec == f"torch:{path}" and m.inline == "relu-bias:2,3,1"
    assert m.names == from_module(net).names
    assert count_laws(m).laws_lower == 3


def test_torch_file_refusals(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ModelError, match="not found"):
        model_from_torch_file(str(tmp_path / "missing.pt"))
    with pytest.raises(ModelError, match="not a regular file"):
        model_from_torch_file(str(tmp_path))
    fifo = str(tmp_path / "fifo.pt")
    os.mkfifo(fifo)
    with pytest.raises(ModelError, match="not a regular file"):
        model_from_torch_file(fifo)
    net = nn.Sequential(nn.Linear(2, 2))
    sd = str(tmp_path / "sd.pt")
    torch.save(net.state_dict(), sd)
    with pytest.raises(ModelError, match="state_dict"):
        model_from_torch_file(sd)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a torch file")
    with pytest.raises(ModelError, match="cannot be loaded"):
        model_from_torch_file(str(junk))
    tensor = str(tmp_path / "t.pt")
    torch.save(torch.zeros(2), tensor)
    with pytest.raises(ModelError, match="holds a Tensor"):
        model_from_torch_file(tensor)
    monkeypatch.setattr(tm, "MAX_TORCH_FILE_BYTES", 10)
    with pytest.raises(ModelError, match="above the limit 10"):
        model_from_torch_file(sd)


def test_torch_missing_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ModelError, match=r"pip install 'conslaw_flint\[torch\]'"):
        from_module(object())


def test_import_does_not_load_torch() -> None:
    code = ("import sys, conslaw_flint, conslaw_flint.torch, conslaw_flint.models; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
