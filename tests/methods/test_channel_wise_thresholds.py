"""Channel-wise data-based normalisation: one threshold per channel (Kim et al. 2020)."""

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from basic_block import BasicBlockCNN
from torch import nn
from torch_geometric.data import Data
from torch_geometric.nn import GCNConv
from torch_geometric.utils import erdos_renyi_graph

import gsnn
from gsnn.calibration import SiteStatistics
from gsnn.methods import RateMethod


def relu_maps(*shape, silent_channel=None, seed=0):
    """ReLU'd random feature maps whose channels differ in scale; one may never activate."""
    generator = torch.Generator().manual_seed(seed)
    scales = torch.logspace(-1, 1, shape[1]).view(1, -1, *([1] * (len(shape) - 2)))
    maps = F.relu(torch.randn(*shape, generator=generator)) * scales
    if silent_channel is not None:
        maps[:, silent_channel] = 0
    return maps


@pytest.mark.parametrize("p", [50.0, 99.9, 100.0])
def test_channel_percentile_is_each_channels_percentile_of_its_nonzero_values(p):
    batches = [relu_maps(3, 5, 4, 4, silent_channel=2, seed=s) for s in range(2)]
    statistics = SiteStatistics.from_batches(batches)
    every = torch.cat(batches)
    expected = []
    for channel in range(5):
        values = every[:, channel].flatten().numpy()
        nonzero = values[values != 0]
        expected.append(np.percentile(nonzero, p) if nonzero.size else 0.0)
    assert statistics.channel_percentile(p).numpy() == pytest.approx(expected, rel=1e-6)
    assert statistics.channel_percentile(p)[2] == 0  # never activated
    # the layer-wise percentile is unchanged by keeping the channels
    nonzero = every.flatten().numpy()
    assert statistics.percentile(p) == pytest.approx(np.percentile(nonzero[nonzero != 0], p))


def test_channel_percentile_of_a_site_that_never_activated_is_zero():
    statistics = SiteStatistics.from_activations(torch.zeros(4, 3))
    assert statistics.channel_percentile(99.9).tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="percentile must lie in"):
        statistics.channel_percentile(0)


class TwoLayerGCN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = GCNConv(8, 16), GCNConv(16, 3)

    def forward(self, x, edge_index):
        return self.conv2(F.relu(self.conv1(x, edge_index)), edge_index)


class PooledCNN(nn.Module):
    """conv, ReLU, average pooling, flatten, linear: thresholds fold through pool and flatten."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, padding=1)
        self.pool = nn.AvgPool2d(2)
        self.fc = nn.Linear(4 * 2 * 2, 3)

    def forward(self, x):
        return self.fc(self.pool(F.relu(self.conv(x))).flatten(1))


@pytest.mark.parametrize("percentile", [99.0, 100.0])
def test_channel_wise_first_layer_rounds_each_channel_at_its_own_threshold(percentile):
    """Oracle (analog input, v0 = theta_c/2): channel c fires clip(floor(a T/theta_c + 1/2),
    0, T) times, so the readout is fc(pool(theta_c N / T)) with the channel-major flatten."""
    torch.manual_seed(0)
    model = PooledCNN().double().eval()
    with torch.no_grad():
        model.conv.weight.mul_(torch.tensor([0.1, 1.0, 3.0, 10.0]).view(-1, 1, 1, 1).double())
    images = torch.randn(16, 2, 4, 4, dtype=torch.float64)
    T = 32
    snn = gsnn.convert(
        model,
        images,
        method="rate",
        T=T,
        percentile=percentile,
        initial_potential=0.5,
        channel_wise=True,
        check=False,
    )
    with torch.no_grad():
        activations = F.relu(model.conv(images))
        thresholds = []
        for channel in range(4):
            values = activations[:, channel].flatten().numpy()
            thresholds.append(np.percentile(values[values != 0], percentile))
        theta = torch.tensor(thresholds, dtype=torch.float64).view(1, -1, 1, 1)
        counts = torch.clamp(torch.floor(activations * T / theta + 0.5), 0, T)
        expected = model.fc(model.pool(theta * counts / T).flatten(1))
    ((_, neuron),) = snn.neurons()
    assert neuron.threshold.shape == (4, 1, 1)
    assert neuron.threshold.flatten().numpy() == pytest.approx(thresholds, rel=1e-9)
    assert len(set(np.round(thresholds, 6))) == 4  # the channels do differ in scale
    torch.testing.assert_close(snn(images), expected, rtol=1e-9, atol=1e-9)


def test_channel_wise_rate_converts_a_residual_cnn_and_agrees_at_large_T():
    torch.manual_seed(6)
    model = BasicBlockCNN().eval()  # spikes reach the residual add through one-to-one synapses
    images = torch.randn(32, 3, 8, 8)
    snn = gsnn.convert(model, images, method="rate", T=512, channel_wise=True)
    assert snn.conversion_check["agreement"] >= 0.95
    assert all(neuron.threshold.shape == (6, 1, 1) for _, neuron in snn.neurons())


def test_channel_wise_rate_on_a_gcn_has_one_threshold_per_feature():
    torch.manual_seed(0)
    graph = Data(x=torch.rand(60, 8), edge_index=erdos_renyi_graph(60, 0.1))
    model = TwoLayerGCN().eval()
    with torch.no_grad():
        model.conv1.bias[0] = -100.0  # feature 0 never activates
    snn = gsnn.convert(model, graph, method="rate", T=1024, channel_wise=True, percentile=100)
    ((_, neuron),) = snn.neurons()
    with torch.no_grad():
        hidden = F.relu(model.conv1(graph.x, graph.edge_index))
    assert neuron.threshold.shape == (16,)
    silent = hidden.max(dim=0).values == 0
    assert silent[0] and not silent.all()
    expected = torch.where(silent, torch.ones(16), hidden.max(dim=0).values)
    torch.testing.assert_close(neuron.threshold, expected)  # a silent channel gets 1
    assert snn.conversion_check["agreement"] >= 0.95


def test_channel_wise_must_be_a_bool():
    assert RateMethod().channel_wise is False
    with pytest.raises(ValueError, match="channel_wise must be True or False"):
        RateMethod(channel_wise="yes")


def test_a_method_threshold_of_the_wrong_shape_is_refused_naming_the_site():
    class WrongShape(RateMethod):
        name = "wrong-shape-test-only"

        def threshold(self, site):
            return torch.ones(5)  # the site has 16 channels

    torch.manual_seed(0)
    graph = Data(x=torch.rand(20, 8), edge_index=erdos_renyi_graph(20, 0.2))

    model = TwoLayerGCN().eval()
    with pytest.raises(ValueError, match=r"threshold of site 'relu' has shape \(5,\)"):
        gsnn.convert(model, graph, method=WrongShape(), T=4, check=False)


class TwoConvCNN(nn.Module):
    """conv, ReLU, conv, ReLU, average pooling, flatten, linear."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 3, 3, padding=1)
        self.pool = nn.AvgPool2d(2)
        self.fc = nn.Linear(3 * 2 * 2, 5)

    def forward(self, x):
        h = F.relu(self.conv2(F.relu(self.conv1(x))))
        return self.fc(self.pool(h).flatten(1))


def rescaled_channels(model, scales1, scales2):
    """The same function with every hidden channel c scaled by s_c and its consumers'
    weights by 1/s_c (the ReLU commutes with s_c > 0)."""
    twin = copy.deepcopy(model)
    s1, s2 = torch.tensor(scales1, dtype=torch.float64), torch.tensor(scales2, dtype=torch.float64)
    with torch.no_grad():
        twin.conv1.weight.mul_(s1.view(-1, 1, 1, 1))
        twin.conv1.bias.mul_(s1)
        twin.conv2.weight.div_(s1.view(1, -1, 1, 1)).mul_(s2.view(-1, 1, 1, 1))
        twin.conv2.bias.mul_(s2)
        twin.fc.weight.div_(s2.repeat_interleave(4))  # the flatten is channel-major
    return twin


@pytest.mark.parametrize(
    "method,options,T",
    [
        ("rate", {"initial_potential": 0.5}, 16),
        ("burst", {"burst": 2}, 16),
        ("phase", {"period": 4}, 8),
        ("one-spike", {"base": 1.5}, 8),
        ("css", {}, 8),
    ],
)
def test_channel_wise_thresholds_make_every_percentile_method_blind_to_channel_scales(
    method, options, T
):
    """Metamorphic oracle: scaling a hidden channel by a power of two (and its consumers'
    weights back) leaves the ANN unchanged; with one threshold per channel the SNN must not
    change either, bit for bit, through conv-to-conv and pool-flatten-linear folding."""
    torch.manual_seed(7)
    model = TwoConvCNN().double().eval()
    twin = rescaled_channels(model, [0.25, 4.0, 1.0, 8.0], [2.0, 0.125, 16.0])
    images = torch.randn(24, 2, 4, 4, dtype=torch.float64)
    torch.testing.assert_close(twin(images), model(images))
    outputs = []
    for ann in (model, twin):
        snn = gsnn.convert(ann, images, method=method, T=T, channel_wise=True, check=False)
        outputs.append(snn(images))
    assert outputs[0].abs().sum() > 0
    torch.testing.assert_close(outputs[1], outputs[0], rtol=1e-12, atol=1e-12)


def test_layer_wise_thresholds_do_see_channel_scales():
    """The oracle above has teeth: one threshold per layer changes with the channel scales."""
    torch.manual_seed(7)
    model = TwoConvCNN().double().eval()
    twin = rescaled_channels(model, [0.25, 4.0, 1.0, 8.0], [2.0, 0.125, 16.0])
    images = torch.randn(24, 2, 4, 4, dtype=torch.float64)
    outputs = [
        gsnn.convert(ann, images, method="rate", T=16, check=False)(images) for ann in (model, twin)
    ]
    assert not torch.allclose(outputs[0], outputs[1], rtol=1e-3, atol=1e-3)
