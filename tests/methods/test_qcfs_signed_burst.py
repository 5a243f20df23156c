"""qcfs with signed bursts (burst = T) equals its QCFS ANN at T = L at any depth, online."""

import pytest
import torch
from test_two_phase_conversion import RandomMLP, initialised
from torch import nn
from torch_geometric.nn import GINConv, GraphConv, global_add_pool, global_max_pool
from torch_geometric.utils import erdos_renyi_graph

import gsnn
from gsnn.ann import GCN, QCFS


class PooledGraphNet(nn.Module):
    """GIN layers (QCFS inside and after each MLP), a global add or max pool, a QCFS head."""

    def __init__(self, pool, levels=4, hidden=12):
        super().__init__()

        def mlp(width):
            return nn.Sequential(nn.Linear(width, hidden), QCFS(levels), nn.Linear(hidden, hidden))

        self.convs = nn.ModuleList(
            [GINConv(mlp(5)), GINConv(mlp(hidden)), GraphConv(hidden, hidden)]
        )
        self.acts = nn.ModuleList(QCFS(levels) for _ in range(4))
        self.pool = {"add": global_add_pool, "max": global_max_pool}[pool]
        self.lin1, self.lin2 = nn.Linear(hidden, hidden), nn.Linear(hidden, 3)

    def forward(self, x, edge_index, batch):
        for conv, act in zip(self.convs, self.acts):
            x = act(conv(x, edge_index))
        return self.lin2(self.acts[-1](self.lin1(self.pool(x, batch))))


def graphs(seed, nodes=60, graphs_=6):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(nodes, 5, generator=g, dtype=torch.float64)
    edge_index = erdos_renyi_graph(nodes, 0.12)
    return x, edge_index, torch.arange(nodes) // (nodes // graphs_)


@pytest.mark.parametrize("seed", range(6))
def test_deep_mlp_equals_its_quantised_ann(seed):
    torch.manual_seed(seed)
    depth = 3 + seed % 4
    model = initialised(
        RandomMLP([5] + [16] * depth + [4], levels=4).double(), torch.randn(64, 5).double()
    )
    x = torch.randn(300, 5, dtype=torch.float64) * 2
    exact = gsnn.convert(model, x, method="qcfs", T=4, signed=True, burst=4, check=False)
    torch.testing.assert_close(exact(x), model(x), rtol=1e-9, atol=1e-9)
    assert exact.latency_steps == 4  # online: no window per layer as in two-phase


def test_online_qcfs_on_the_same_networks_is_not_exact():
    """What the option fixes (O22b): plain online qcfs misses the deep ANN on these nets."""
    misses = 0
    for seed in range(6):
        torch.manual_seed(seed)
        depth = 3 + seed % 4
        model = initialised(
            RandomMLP([5] + [16] * depth + [4], levels=4).double(), torch.randn(64, 5).double()
        )
        x = torch.randn(300, 5, dtype=torch.float64) * 2
        snn = gsnn.convert(model, x, method="qcfs", T=4, check=False)
        misses += int(not torch.allclose(snn(x), model(x), rtol=1e-9, atol=1e-9))
    assert misses >= 4


@pytest.mark.parametrize("pool", ["add", "max"])
@pytest.mark.parametrize("seed", range(3))
def test_pooled_graph_classifier_equals_its_quantised_ann(pool, seed):
    torch.manual_seed(seed)
    x, edge_index, batch = graphs(seed)
    model = initialised(PooledGraphNet(pool).double(), x, edge_index, batch)
    snn = gsnn.convert(
        model, (x, edge_index, batch), method="qcfs", T=4, signed=True, burst=4, check=False
    )
    torch.testing.assert_close(
        snn(x, edge_index, batch), model(x, edge_index, batch), rtol=1e-9, atol=1e-9
    )


def test_residual_gcn_streams_step_by_step_to_the_same_logits():
    torch.manual_seed(3)
    x, edge_index = torch.rand(50, 6, dtype=torch.float64), erdos_renyi_graph(50, 0.1)
    model = initialised(
        GCN(6, 12, 3, num_layers=4, activation="qcfs", qcfs_levels=8, residual=True).double(),
        x,
        edge_index,
    )
    snn = gsnn.convert(model, (x, edge_index), method="qcfs", T=8, signed=True, burst=None)
    assert all(n.max_spikes_per_step == 8 == n.max_count for _, n in snn.neurons())  # None: T
    whole = snn(x, edge_index)
    torch.testing.assert_close(whole, model(x, edge_index), rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(snn.forward_stepwise(x, edge_index), whole, rtol=0, atol=1e-12)
    snn.steps_per_chunk = 3
    torch.testing.assert_close(snn(x, edge_index), whole, rtol=0, atol=1e-12)


def test_corrective_and_burst_spikes_are_counted_as_events():
    torch.manual_seed(4)
    model = initialised(
        RandomMLP([5, 16, 16, 16, 4], levels=4).double(), torch.randn(64, 5).double()
    )
    x = torch.randn(200, 5, dtype=torch.float64) * 2
    snn = gsnn.convert(model, x, method="qcfs", T=4, signed=True, burst=4, check=False)
    counts = {}

    def record(name):
        return lambda module, inputs, output: counts.__setitem__(name, output.abs().sum())

    for name, neuron in snn.neurons():
        neuron.register_forward_hook(record(name))
    snn(x)
    assert snn.last_stats.spikes == pytest.approx(float(sum(counts.values())))
    net = {name: neuron for name, neuron in snn.neurons()}
    assert all(n.signed and n.max_spikes_per_step == 4 and n.max_count == 4 for n in net.values())


@pytest.mark.parametrize("options", [{"signed": 1}, {"burst": 0}, {"burst": 2.0}, {"burst": True}])
def test_bad_options_are_refused_by_name(options):
    model = initialised(RandomMLP([5, 8, 3], levels=4), torch.randn(16, 5))
    name = next(iter(options))
    with pytest.raises((ValueError, TypeError), match=name):
        gsnn.convert(model, torch.randn(16, 5), method="qcfs", T=4, check=False, **options)


def test_saved_network_keeps_the_neuron_options(tmp_path):
    torch.manual_seed(5)
    model = initialised(RandomMLP([5, 16, 16, 3], levels=4).double(), torch.randn(64, 5).double())
    x = torch.randn(40, 5, dtype=torch.float64) * 2
    snn = gsnn.convert(model, x, method="qcfs", T=4, signed=True, burst=4, check=False)
    gsnn.save(snn, tmp_path / "net.snn")
    loaded = gsnn.load(tmp_path / "net.snn")
    assert repr(loaded.method) == "QCFSMethod(signed=True, burst=4)"
    assert torch.equal(loaded(x), snn(x))
