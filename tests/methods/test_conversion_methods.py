"""The conversion methods: registry, thresholds and the neurons they build."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.data import Data
from torch_geometric.nn import GCNConv
from torch_geometric.utils import erdos_renyi_graph

import gsnn
from gsnn.ann import GCN, QCFS, ThresholdReLU
from gsnn.methods import (
    METHODS,
    ActivationSite,
    ConversionMethod,
    OptimalMethod,
    QCFSMethod,
    RateMethod,
    get_method,
    register_method,
)
from gsnn.neurons import IFNeuron

NODES, FEATURES, HIDDEN, CLASSES = 50, 8, 16, 3


@pytest.fixture(scope="module")
def graph() -> Data:
    torch.manual_seed(0)
    return Data(x=torch.rand(NODES, FEATURES), edge_index=erdos_renyi_graph(NODES, 0.1))


class TwoSites(nn.Module):
    def __init__(self, activation=F.relu):
        super().__init__()
        self.conv1 = GCNConv(FEATURES, HIDDEN)
        self.conv2 = GCNConv(HIDDEN, HIDDEN)
        self.conv3 = GCNConv(HIDDEN, CLASSES)

    def forward(self, x, edge_index):
        h1 = F.relu(self.conv1(x, edge_index))
        h2 = F.relu(self.conv2(h1, edge_index))
        return self.conv3(h2, edge_index)

    @torch.no_grad()
    def activations(self, x, edge_index):
        h1 = F.relu(self.conv1(x, edge_index))
        return h1, F.relu(self.conv2(h1, edge_index))


# -- registry -------------------------------------------------------------------------------------


def test_registry_lists_the_methods():
    assert {"rate", "optimal", "qcfs"} <= set(METHODS)
    assert METHODS["rate"] is RateMethod
    assert METHODS["optimal"] is OptimalMethod
    assert METHODS["qcfs"] is QCFSMethod
    for name, cls in METHODS.items():
        assert cls.name == name and issubclass(cls, ConversionMethod)


def test_get_method_resolves_names_options_and_instances():
    assert isinstance(get_method("rate"), RateMethod)
    assert get_method("rate", percentile=99.0).percentile == 99.0
    instance = OptimalMethod()
    assert get_method(instance) is instance
    with pytest.raises(ValueError, match="Unknown conversion method"):
        get_method("nope")


def test_register_method_refuses_duplicates():
    with pytest.raises(ValueError, match="already registered"):

        @register_method
        class Again(RateMethod):
            name = "rate"

    assert METHODS["rate"] is RateMethod


def test_accepted_activations():
    assert RateMethod.accepted_activations == ("relu", "threshold_relu")
    assert OptimalMethod.accepted_activations == ("threshold_relu",)
    assert QCFSMethod.accepted_activations == ("qcfs",)


# -- rate -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("percentile", [99.9, 90.0, 100.0])
def test_rate_threshold_is_a_percentile_of_nonzero_activations(graph, percentile):
    torch.manual_seed(1)
    model = TwoSites().eval()
    h1, h2 = model.activations(graph.x, graph.edge_index)
    snn = gsnn.convert(model, graph, method="rate", T=8, percentile=percentile, check=False)
    neurons = [neuron for _, neuron in snn.neurons()]
    assert len(neurons) == 2
    for activations, neuron in zip((h1, h2), neurons):
        values = activations.flatten().numpy()
        nonzero = values[values != 0]
        assert 0 < nonzero.size < values.size  # zeros exist and must be left out
        expected = np.percentile(nonzero, percentile)  # linear interpolation
        with_zeros = np.percentile(values, percentile)
        assert float(neuron.threshold) == pytest.approx(expected, rel=1e-5)
        if percentile < 100:
            assert expected != pytest.approx(with_zeros, rel=1e-3)
        assert isinstance(neuron, IFNeuron)
        assert float(neuron.v0) == 0.0 and float(neuron.shift) == 0.0
        assert neuron.reset_mode == "soft"


def test_rate_threshold_uses_only_masked_rows(graph):
    torch.manual_seed(2)
    model = TwoSites().eval()
    h1, _ = model.activations(graph.x, graph.edge_index)
    mask = torch.ones(NODES, dtype=torch.bool)
    mask[h1.max(dim=1).values.argmax()] = False  # leave out the row holding the maximum
    snn = gsnn.convert(model, graph, method="rate", T=8, mask=mask, percentile=100, check=False)
    (_, first), _ = snn.neurons()
    assert float(first.threshold) == pytest.approx(h1[mask].max().item(), rel=1e-6)
    assert h1[mask].max() < h1.max()  # the mask matters for this model


def test_rate_default_percentile_is_99_9():
    assert RateMethod().percentile == 99.9
    with pytest.raises(ValueError):
        RateMethod(percentile=101)


def test_rate_threshold_of_a_silent_site_falls_back_to_one(graph):
    class Silent(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.conv2 = GCNConv(FEATURES, HIDDEN), GCNConv(HIDDEN, CLASSES)
            with torch.no_grad():
                self.conv1.bias.fill_(-100.0)

        def forward(self, x, edge_index):
            return self.conv2(F.relu(self.conv1(x, edge_index)), edge_index)

    snn = gsnn.convert(Silent().eval(), graph, method="rate", T=4, check=False)
    ((_, neuron),) = snn.neurons()
    assert float(neuron.threshold) == 1.0


class OneHiddenLayer(nn.Module):
    """Linear - activation - Linear in float64: the first spiking layer sees a constant current."""

    def __init__(self, activation: nn.Module):
        super().__init__()
        self.hidden, self.act, self.out = nn.Linear(6, 12), activation, nn.Linear(12, 3)

    def forward(self, x):
        return self.out(self.act(self.hidden(x)))


def rounded_prefix_logits(model, x, theta, T):
    """The logits after every prefix t of an IF layer that rounds: theta * N(t) / t with
    N(t) = clip(floor(t z / theta + 1/2), 0, t) of the pre-activation z (O1, phi = 1/2)."""
    with torch.no_grad():
        z = model.hidden(x)
        rows = []
        for t in range(1, T + 1):
            count = torch.clamp(torch.floor(t * z / theta + 0.5), 0, t)
            rows.append(model.out(theta * count / t))
    return torch.stack(rows)


@pytest.mark.parametrize("T", [3, 8])
def test_rate_with_half_initial_potential_rounds_at_every_step(T):
    torch.manual_seed(11)
    model = OneHiddenLayer(nn.ReLU()).double().eval()
    x = torch.randn(40, 6, dtype=torch.float64)
    snn = gsnn.convert(model, x, method="rate", T=T, percentile=100, initial_potential=0.5)
    ((_, neuron),) = snn.neurons()
    theta = float(neuron.threshold)
    assert float(neuron.v0) == pytest.approx(theta / 2) and float(neuron.shift) == 0.0
    snn(x)
    expected = rounded_prefix_logits(model, x, theta, T)
    torch.testing.assert_close(snn.last_step_logits, expected)
    plain = gsnn.convert(model, x, method="rate", T=T, percentile=100)
    plain(x)  # v0 = 0 floors instead, so the oracle tells the two apart
    assert not torch.allclose(plain.last_step_logits, expected)


@pytest.mark.parametrize("bad", [1.0, -0.1, True, 2, "half"])
def test_rate_refuses_an_initial_potential_outside_0_1(bad):
    with pytest.raises(ValueError, match="initial_potential"):
        RateMethod(initial_potential=bad)


# -- optimal --------------------------------------------------------------------------------------


@pytest.mark.parametrize("T", [4, 32])
@pytest.mark.parametrize("clip", [0.2, 5.0])
def test_optimal_neuron_has_shift_theta_over_2T(graph, T, clip):
    torch.manual_seed(3)
    model = GCN(FEATURES, HIDDEN, CLASSES, activation="threshold_relu", threshold=clip).eval()
    with torch.no_grad():
        pre = model.convs[0](graph.x, graph.edge_index)
    snn = gsnn.convert(model, graph, method="optimal", T=T, check=False)
    ((_, neuron),) = snn.neurons()
    theta = float(neuron.threshold)
    # the observed maximum of the clipped activation: the clip value when it bites
    assert theta == pytest.approx(min(pre.max().item(), clip), rel=1e-6)
    assert (pre.max().item() > clip) == (clip == 0.2)  # both regimes are exercised
    assert float(neuron.shift) == pytest.approx(theta / (2 * T), rel=1e-6)
    assert float(neuron.v0) == 0.0 and neuron.reset_mode == "soft"


def test_optimal_method_neuron_directly():
    neuron = OptimalMethod().make_neuron(torch.tensor(2.0), T=8, depth=1)
    assert float(neuron.shift) == 2.0 / 16 and float(neuron.threshold) == 2.0


def test_optimal_threshold_falls_back_to_the_clip_value():
    from gsnn.calibration import SiteStatistics

    site = ActivationSite(
        name="act",
        kind="threshold_relu",
        module=ThresholdReLU(0.7),
        statistics=SiteStatistics.from_activations(torch.zeros(5, 3)),
    )
    assert float(OptimalMethod().threshold(site)) == pytest.approx(0.7)


@pytest.mark.parametrize("T", [3, 8])
def test_optimal_with_initial_shift_rounds_at_every_step(T):
    torch.manual_seed(12)
    model = OneHiddenLayer(ThresholdReLU(0.8)).double().eval()
    x = torch.randn(40, 6, dtype=torch.float64)
    snn = gsnn.convert(model, x, method="optimal", T=T, shift="initial")
    ((_, neuron),) = snn.neurons()
    theta = float(neuron.threshold)
    assert float(neuron.v0) == pytest.approx(theta / 2) and float(neuron.shift) == 0.0
    snn(x)
    torch.testing.assert_close(snn.last_step_logits, rounded_prefix_logits(model, x, theta, T))


def test_optimal_per_step_shift_rounds_at_T_only():
    torch.manual_seed(12)
    T = 8
    model = OneHiddenLayer(ThresholdReLU(0.8)).double().eval()
    x = torch.randn(40, 6, dtype=torch.float64)
    snn = gsnn.convert(model, x, method="optimal", T=T)
    ((_, neuron),) = snn.neurons()
    snn(x)
    expected = rounded_prefix_logits(model, x, float(neuron.threshold), T)
    torch.testing.assert_close(snn.last_step_logits[-1], expected[-1])
    assert not torch.allclose(snn.last_step_logits[: T // 2], expected[: T // 2])


def doubling_chain() -> nn.Sequential:
    """x -> clip(x, 0, 1) -> clip(2 h, 0, 1) -> identity readout, in float64."""
    model = nn.Sequential(
        nn.Linear(1, 1), ThresholdReLU(1.0), nn.Linear(1, 1), ThresholdReLU(1.0), nn.Linear(1, 1)
    )
    model = model.double().eval()
    with torch.no_grad():
        for layer, weight in zip(model[::2], (1.0, 2.0, 1.0)):
            layer.weight.fill_(weight)
            layer.bias.zero_()
    return model


def test_optimal_per_step_shift_starts_deep_layers_late():
    # Input 1/2 (calibration also sees 1, so both thresholds are 1), T = 8; the ANN gives
    # clip(2 * 1/2, 0, 1) = 1, i.e. the second layer must fire at all 8 steps.
    # v0 = 1/2: layer 1 fires at steps 1, 3, 5, 7 (membrane 1/2 + t/2 reaches 1 at t = 1);
    #   each spike brings 2 to layer 2, which starts at 1/2 + 2 and fires at all 8 steps.
    # theta/2T = 1/16 per step: layer 1 fires at steps 2, 4, 6, 8 (t/2 + t/16 reaches 1 at
    #   t = 2); layer 2 holds 1/16 < 1 after step 1, so it misses that step: 7 of 8 spikes,
    #   though the charge of 8.5 it receives would pay for 8.
    T = 8
    model = doubling_chain()
    x = torch.tensor([[0.5], [1.0]], dtype=torch.float64)
    initial = gsnn.convert(model, x, method="optimal", T=T, shift="initial", check=False)
    per_step = gsnn.convert(model, x, method="optimal", T=T, check=False)
    assert [float(n.threshold) for _, n in initial.neurons()] == [1.0, 1.0]
    assert initial(x)[0, 0].item() == 1.0 == model(x)[0, 0].item()
    assert per_step(x)[0, 0].item() == 7 / 8


def test_optimal_refuses_an_unknown_shift_placement():
    with pytest.raises(ValueError, match="per-step"):
        OptimalMethod(shift="half")


# -- qcfs -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("bound", [0.5, 1.25, 3.0])
def test_qcfs_neuron_has_v0_half_lambda_and_theta_lambda(graph, bound):
    torch.manual_seed(4)
    model = GCN(FEATURES, HIDDEN, CLASSES, num_layers=3, activation="qcfs", qcfs_init=bound).eval()
    with torch.no_grad():
        model.acts[1].threshold.fill_(2 * bound)  # each site has its own lambda
    snn = gsnn.convert(model, graph, method="qcfs", T=8, check=False)
    neurons = [neuron for _, neuron in snn.neurons()]
    assert len(neurons) == 2
    for neuron, expected in zip(neurons, (bound, 2 * bound)):
        assert float(neuron.threshold) == pytest.approx(expected)
        assert float(neuron.v0) == pytest.approx(expected / 2)
        assert float(neuron.shift) == 0.0 and neuron.reset_mode == "soft"
    # the trainable bound is copied, not shared
    assert not neurons[0].threshold.requires_grad


def test_qcfs_thresholds_do_not_depend_on_the_data(graph):
    torch.manual_seed(5)
    model = GCN(FEATURES, HIDDEN, CLASSES, activation="qcfs", qcfs_init=0.8).eval()
    scaled = Data(x=graph.x * 10, edge_index=graph.edge_index)
    a = gsnn.convert(model, graph, method="qcfs", T=4, check=False)
    b = gsnn.convert(model, scaled, method="qcfs", T=4, check=False)
    assert float(a.neurons()[0][1].threshold) == float(b.neurons()[0][1].threshold)
    assert float(a.neurons()[0][1].threshold) == pytest.approx(0.8)


def test_qcfs_method_accepts_a_qcfs_module_reused_at_two_sites(graph):
    class Shared(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.conv2 = GCNConv(FEATURES, HIDDEN), GCNConv(HIDDEN, HIDDEN)
            self.conv3 = GCNConv(HIDDEN, CLASSES)
            self.act = QCFS(levels=4, init_threshold=0.6)

        def forward(self, x, edge_index):
            h = self.act(self.conv1(x, edge_index))
            return self.conv3(self.act(self.conv2(h, edge_index)), edge_index)

    snn = gsnn.convert(Shared().eval(), graph, method="qcfs", T=4, check=False)
    neurons = [neuron for _, neuron in snn.neurons()]
    assert len(neurons) == 2 and neurons[0] is not neurons[1]
    assert all(float(n.threshold) == pytest.approx(0.6) for n in neurons)
