"""Dual-phase conversion: exact first layer, stage-2 calibration, allowed rows, graphs."""

import pytest
import torch
from torch import nn
from torch_geometric.utils import erdos_renyi_graph

import gsnn
from gsnn.ann import GCN, NoisyQC
from gsnn.methods.layerwise_calibration import split_calibration_rows
from gsnn.neurons import IFNeuron
from gsnn.neurons.surrogate_if import surrogate_if


class NoisyMLP(nn.Module):
    def __init__(self, widths, steps, bounds=None):
        super().__init__()
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
        bounds = bounds or [1.0] * (len(widths) - 2)
        self.acts = nn.ModuleList(NoisyQC(steps, init_threshold=b) for b in bounds)

    def forward(self, x):
        for linear, act in zip(self.linears[:-1], self.acts):
            x = act(linear(x))
        return self.linears[-1](x)


def dyadic_(model, scale=64):
    """Round every parameter to a multiple of 1/scale (exact sums in float64)."""
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.dim() > 0:
                parameter.copy_(torch.round(parameter * scale) / scale)
    return model


def site_errors(snn, model, x, rows):
    """Per hidden site: squared error of the SNN's decoded rate against the ANN, on ``rows``.

    Measured here with forward hooks, independently of the calibration code.
    """
    ann_out, snn_out = {}, {}
    handles = [
        act.register_forward_hook(lambda m, i, o, k=k: ann_out.__setitem__(k, o.detach()))
        for k, act in enumerate(model.acts)
    ]
    for k, (_, neuron) in enumerate(snn.neurons()):
        handles.append(
            neuron.register_forward_hook(
                lambda m, i, o, k=k: snn_out.__setitem__(k, m.threshold * o.mean(0))
            )
        )
    with torch.no_grad():
        model(x)
        snn(x)
    for handle in handles:
        handle.remove()
    return [float(((snn_out[k] - ann_out[k])[rows] ** 2).sum()) for k in range(len(model.acts))]


# -- the surrogate-gradient neuron ----------------------------------------------------------------


def test_surrogate_if_fires_exactly_like_the_neuron_and_has_a_gradient():
    torch.manual_seed(0)
    current = (torch.randint(-64, 96, (6, 40, 3)) / 64).double().requires_grad_()
    neuron = IFNeuron(0.5, v0=torch.tensor([0.25, 0.0, 0.125], dtype=torch.float64))
    spikes = surrogate_if(neuron, current)
    assert torch.equal(spikes.detach(), neuron(current.detach()))
    spikes.sum().backward()
    assert current.grad.abs().sum() > 0


def test_surrogate_if_refuses_other_neurons():
    with pytest.raises(ValueError, match="soft-reset"):
        surrogate_if(IFNeuron(1.0, reset="hard"), torch.zeros(2, 3))


# -- rows -----------------------------------------------------------------------------------------


def test_split_is_disjoint_and_inside_the_allowed_rows():
    mask = torch.zeros(100, dtype=torch.bool)
    mask[10:50] = True
    fit, held = split_calibration_rows(mask, 100, held_out=0.25, seed=3)
    assert len(set(fit.tolist()) & set(held.tolist())) == 0
    assert set(fit.tolist()) | set(held.tolist()) == set(range(10, 50))
    assert held.numel() == 10
    fit_again, held_again = split_calibration_rows(mask.nonzero().flatten(), 100, 0.25, seed=3)
    assert torch.equal(fit, fit_again) and torch.equal(held, held_again)
    with pytest.raises(ValueError, match="mask"):
        split_calibration_rows(mask[:50], 100, 0.25)


def test_excluded_rows_never_change_the_calibration():
    """Adversarial values in the excluded (e.g. test) rows leave the calibrated SNN unchanged."""
    torch.manual_seed(1)
    model = NoisyMLP([5, 24, 24, 24, 3], steps=4, bounds=[1.0, 0.5, 0.5]).eval()
    x = torch.rand(120, 5)
    rows = torch.zeros(120, dtype=torch.bool)
    rows[:80] = True
    adversarial = x.clone()
    adversarial[~rows] = torch.randn(40, 5) * 50 - 10
    options = dict(epochs=15, lr=5e-3, patience=15)
    snns = [
        gsnn.convert(model, data, method="dual-phase", T=4, mask=rows, **options)
        for data in (x, adversarial)
    ]
    states = [snn.body.state_dict() for snn in snns]
    for name in states[0]:
        torch.testing.assert_close(states[0][name], states[1][name], rtol=1e-6, atol=1e-7)
    assert any(  # the calibration did change something, so the comparison means something
        not torch.equal(snns[0].body.state_dict()[name], state)
        for name, state in gsnn.convert(
            model,
            x,
            method="dual-phase",
            T=4,
            mask=rows,
            calibrate_potential=False,
            calibrate_weights=False,
        )
        .body.state_dict()
        .items()
    )


# -- exactness and calibration --------------------------------------------------------------------


@pytest.mark.parametrize("T", [1, 2, 4])
def test_one_hidden_layer_snn_equals_its_ann_and_calibration_keeps_it(T):
    """O5 at the only spiking layer, and the linear readout of the rates: SNN == ANN exactly."""
    torch.manual_seed(T)
    model = dyadic_(NoisyMLP([4, 16, 3], steps=T, bounds=[0.5])).double().eval()
    x = (torch.randint(-64, 64, (200, 4)) / 64).double()
    plain = gsnn.convert(
        model, x, method="dual-phase", T=T, calibrate_potential=False, calibrate_weights=False
    )
    assert torch.equal(plain(x), model(x))
    calibrated = gsnn.convert(model, x, method="dual-phase", T=T)
    assert torch.equal(calibrated(x), model(x))
    neuron = calibrated.neurons()[0][1]
    assert torch.equal(neuron.v0.expand(16), torch.full((16,), 0.25, dtype=torch.float64))


def test_calibration_reduces_the_error_of_deep_layers():
    torch.manual_seed(0)
    model = NoisyMLP([6, 32, 32, 32, 32, 4], steps=4, bounds=[1.0, 0.5, 0.5, 0.5]).eval()
    x = torch.rand(400, 6)
    rows = torch.arange(400)
    plain = gsnn.convert(
        model, x, method="dual-phase", T=4, calibrate_potential=False, calibrate_weights=False
    )
    calibrated = gsnn.convert(model, x, method="dual-phase", T=4, epochs=30, lr=5e-3)
    before, after = site_errors(plain, model, x, rows), site_errors(calibrated, model, x, rows)
    assert before[0] == 0 and after[0] == 0  # the first layer is exact (O5) and stays so
    assert before[-1] > 0
    assert all(a < b for a, b in zip(after[1:], before[1:]))  # every deeper layer improves


# -- conversion through gsnn.convert --------------------------------------------------------------


def test_graph_conversion_end_to_end():
    torch.manual_seed(2)
    x, edge_index = torch.rand(60, 6), erdos_renyi_graph(60, 0.1)
    model = GCN(6, 16, 3, num_layers=4, residual=True, activation="noisy_qc", noisy_qc_steps=2)
    model.train()
    with torch.no_grad():
        model(x, edge_index)  # bounds from the data
    model.eval()
    mask = torch.zeros(60, dtype=torch.bool)
    mask[:40] = True
    snn = gsnn.convert(model, (x, edge_index), method="dual-phase", T=2, mask=mask, epochs=5)
    out = snn(x, edge_index)
    assert out.shape == (60, 3)
    assert [r["site"] for r in snn.method.last_report] == ["acts_0", "acts_1", "acts_2"]
    assert all(isinstance(n, IFNeuron) for _, n in snn.neurons())
    thresholds = [float(act.threshold.detach().abs()) for act in model.acts]
    assert [float(n.threshold) for _, n in snn.neurons()] == thresholds


def test_relu_models_and_bad_options_are_refused():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    with pytest.raises(gsnn.ConversionError, match="NoisyQC"):
        gsnn.convert(model, torch.rand(10, 3), method="dual-phase", T=2)
    for options in ({"epochs": -1}, {"held_out": 1.0}, {"loss": "l1"}, {"lr": 0.0}):
        with pytest.raises(ValueError, match="dual-phase"):
            gsnn.convert(model, torch.rand(10, 3), method="dual-phase", T=2, **options)
