"""Two-phase conversion equals the QCFS ANN at any depth (O22a) and reports (D+1)T latency (O20)."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.utils import erdos_renyi_graph

import gsnn
from gsnn.ann import GCN, QCFS


def initialised(model, *inputs):
    """Run one training-mode pass so QCFS bounds initialise from data, then eval."""
    model.train()
    with torch.no_grad():
        model(*inputs)
    return model.eval()


@pytest.mark.parametrize("layers", [2, 3, 4])
@pytest.mark.parametrize("T", [2, 4, 8])
def test_graph_network_equals_its_quantised_ann(layers, T):
    torch.manual_seed(layers * 10 + T)
    x, edge_index = torch.rand(50, 6), erdos_renyi_graph(50, 0.1)
    model = initialised(
        GCN(6, 12, 3, num_layers=layers, activation="qcfs", qcfs_levels=T, residual=True),
        x, edge_index,
    )
    snn = gsnn.convert(model, (x, edge_index), method="two-phase", T=T)
    ann_out = model(x, edge_index)
    torch.testing.assert_close(snn(x, edge_index), ann_out, rtol=1e-4, atol=1e-5)
    assert torch.equal(snn(x, edge_index).argmax(-1), ann_out.argmax(-1))
    assert snn.depth == layers - 1
    assert snn.latency_steps == layers * T  # (D + 1) * T with D = layers - 1 spiking layers


class RandomMLP(nn.Module):
    def __init__(self, widths, levels):
        super().__init__()
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
        self.acts = nn.ModuleList(QCFS(levels=levels) for _ in widths[2:])

    def forward(self, x):
        for linear, act in zip(self.linears[:-1], self.acts):
            x = act(linear(x))
        return F.log_softmax(self.linears[-1](x), dim=-1)


@pytest.mark.parametrize("seed", range(20))
def test_random_networks_equal_their_quantised_ann(seed):
    torch.manual_seed(seed)
    depth = 2 + seed % 4
    model = initialised(RandomMLP([5] + [16] * depth + [4], levels=4), torch.randn(64, 5))
    x = torch.randn(200, 5)
    snn = gsnn.convert(model, x, method="two-phase", T=4)
    torch.testing.assert_close(snn(x), model(x), rtol=1e-4, atol=1e-5)
    assert snn.latency_steps == (depth + 1) * 4


def test_each_neuron_fires_at_most_T_spikes():
    torch.manual_seed(0)
    model = initialised(RandomMLP([5, 16, 16, 3], levels=4), torch.randn(64, 5))
    snn = gsnn.convert(model, torch.randn(30, 5), method="two-phase", T=4)
    snn(torch.randn(30, 5) * 10)
    for _, neuron in snn.neurons():
        assert isinstance(neuron, gsnn.neurons.TwoPhaseNeuron)
    assert snn.last_stats.spikes <= snn.last_stats.neurons * 4


def test_stepwise_simulation_is_refused_with_a_reason():
    torch.manual_seed(0)
    model = initialised(RandomMLP([5, 8, 3], levels=4), torch.randn(8, 5))
    snn = gsnn.convert(model, torch.randn(8, 5), method="two-phase", T=4)
    with pytest.raises(ValueError, match="windowed"):
        snn.forward_stepwise(torch.randn(8, 5))
