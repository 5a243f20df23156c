"""One-spike conversion: the SNN equals the ANN with every activation on the ladder (O11, O20)."""

import pytest
import torch
from basic_block import BasicBlockCNN
from torch import nn
from torch_geometric.nn import GCNConv
from torch_geometric.utils import erdos_renyi_graph

import gsnn


def ladder(x, theta, base, phases, shift):
    """Reference single-spike quantiser Q of methods.md O11, written independently."""
    out = torch.zeros_like(x)
    for k in reversed(range(phases)):  # the smallest k that crosses wins
        level = theta * base ** (-k)
        out = torch.where(x >= shift * level, torch.full_like(x, level), out)
    return out


class ResidualGCN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2, self.conv3 = GCNConv(6, 12), GCNConv(12, 12), GCNConv(12, 3)

    def forward(self, x, edge_index):
        h = self.conv1(x, edge_index).relu()
        h = (self.conv2(h, edge_index) + h).relu()
        return self.conv3(h, edge_index)


def reference_forward(model, x, edge_index, thresholds, base, phases, shift):
    q = [lambda v, t=t: ladder(v, t, base, phases, shift) for t in thresholds]
    h = q[0](model.conv1(x, edge_index))
    h = q[1](model.conv2(h, edge_index) + h)
    return model.conv3(h, edge_index)


@pytest.mark.parametrize("base,phases", [(2.0, 8), (1.5, 12), (2**0.5, 16)])
def test_graph_network_equals_ladder_quantised_ann(base, phases):
    torch.manual_seed(phases)
    x, edge_index = torch.rand(40, 6), erdos_renyi_graph(40, 0.15)
    model = ResidualGCN().eval()
    snn = gsnn.convert(model, (x, edge_index), method="one-spike", T=phases, base=base)
    thresholds = [float(t) for t in snn.thresholds.values()]
    shift = (1 + 1 / base) / 2
    expected = reference_forward(model, x, edge_index, thresholds, base, phases, shift)
    torch.testing.assert_close(snn(x, edge_index), expected, rtol=1e-4, atol=1e-5)


def test_at_most_one_spike_per_neuron_and_latency():
    torch.manual_seed(0)
    x, edge_index = torch.rand(40, 6), erdos_renyi_graph(40, 0.15)
    snn = gsnn.convert(ResidualGCN().eval(), (x, edge_index), method="one-spike", T=8)
    snn(x * 5, edge_index)  # inputs far above calibration: still one spike at most
    stats = snn.last_stats
    assert stats.spikes <= stats.neurons
    assert snn.depth == 2 and snn.latency_steps == 2 * 8 + 1  # D*K + 1, analog input in one step
    assert stats.multiplies > 0  # step gains are reported, not folded into SOPs


def test_changing_T_rebuilds_the_step_gains():
    torch.manual_seed(1)
    x, edge_index = torch.rand(40, 6), erdos_renyi_graph(40, 0.15)
    model = ResidualGCN().eval()
    snn = gsnn.convert(model, (x, edge_index), method="one-spike", T=8)
    snn.T = 12
    fresh = gsnn.convert(model, (x, edge_index), method="one-spike", T=12)
    torch.testing.assert_close(snn(x, edge_index), fresh(x, edge_index))


def test_single_spike_input_equals_the_ann_on_ladder_quantised_input():
    torch.manual_seed(5)
    x, edge_index = torch.rand(40, 6), erdos_renyi_graph(40, 0.15)
    model = ResidualGCN().eval()
    base, phases = 1.5, 12
    snn = gsnn.convert(
        model, (x, edge_index), method="one-spike", T=phases, base=base, input_coding="single-spike"
    )
    shift = (1 + 1 / base) / 2
    thresholds = [float(t) for t in snn.thresholds.values()]
    coded_x = ladder(x, float(x.max()), base, phases, shift)
    expected = reference_forward(model, coded_x, edge_index, thresholds, base, phases, shift)
    torch.testing.assert_close(snn(x, edge_index), expected, rtol=1e-4, atol=1e-5)
    assert snn.latency_steps == (2 + 1) * phases  # the input is a window of its own
    first = next(layer for layer in snn.last_stats.layers if layer.name == "conv1")
    assert first.macs == 0 and first.synaptic_ops > 0  # the first layer runs on spikes


def test_single_spike_input_needs_a_known_coding():
    x, edge_index = torch.rand(10, 6), erdos_renyi_graph(10, 0.3)
    with pytest.raises(ValueError, match="input_coding"):
        gsnn.convert(ResidualGCN().eval(), (x, edge_index), method="one-spike", input_coding="x")


def test_basic_block_equals_ladder_quantised_cnn():
    """A shortcut that skips a spiking layer meets the main branch window for window."""
    torch.manual_seed(1)
    model = BasicBlockCNN().double().eval()
    images = torch.randn(32, 3, 8, 8, dtype=torch.float64)
    snn = gsnn.convert(model, images, method="one-spike", T=12, base=1.5)
    shift = (1 + 1 / 1.5) / 2
    quantise = [lambda v, t=float(t): ladder(v, t, 1.5, 12, shift) for t in snn.thresholds.values()]
    expected = model.quantised_forward(images, quantise)
    torch.testing.assert_close(snn(images), expected, rtol=1e-12, atol=1e-12)
    assert snn.latency_steps == 3 * 12 + 1
