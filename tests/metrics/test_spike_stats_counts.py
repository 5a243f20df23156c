"""Spike, operation and energy counts of a converted network, checked against hand counts.

The graph has 4 nodes: an undirected path 0-1-2-3 plus one directed edge 3 -> 0,
so in- and out-degrees differ (node 0 receives from 1 and 3 but sends only to 1).
Every expected number below is computed here from the definitions (O1/O4 spike
counts, O21 operation counts), never by calling the code under test.
"""

import math

import pytest
import torch
from torch import nn
from torch_geometric.data import Data
from torch_geometric.nn import GCNConv

import gsnn
from gsnn.ann import QCFS, ThresholdReLU
from gsnn.metrics import EnergyModel, LayerStats, SpikeStats

T = 4
SOURCES = [0, 1, 1, 2, 2, 3, 3]
TARGETS = [1, 0, 2, 1, 3, 2, 0]
EDGE_INDEX = torch.tensor([SOURCES, TARGETS])
X = torch.tensor([[1.0, 0.5, 0.0], [0.25, 1.0, 0.75], [0.0, 0.5, 1.0], [0.75, 0.25, 0.5]])
W1 = [[0.8, -0.3, 0.5], [-0.2, 0.9, 0.4]]
B1 = [0.4, -0.47]
W2 = [[1.0, -0.5], [-0.7, 0.6]]
B2 = [0.1, -0.1]
N, F_IN, HIDDEN, CLASSES = 4, 3, 2, 2

# -- hand-made graph facts ------------------------------------------------------------------------
# A[target, source] with self loops
A = [[0.0] * N for _ in range(N)]
for s, t in zip(SOURCES, TARGETS):
    A[t][s] = 1.0
for i in range(N):
    A[i][i] = 1.0
NNZ = 11  # 7 edges + 4 self loops
OUT_DEGREE = [2, 3, 3, 3]  # targets each source reaches, self included: 0->{0,1}, 3->{0,2,3}
assert sum(map(sum, A)) == NNZ
assert [sum(A[t][s] for t in range(N)) for s in range(N)] == OUT_DEGREE


def hidden_preactivation():
    """z = D^-1/2 (A+I) D^-1/2 X W1^T + b1 in float64, degrees from the targets' side."""
    deg = [sum(A[i]) for i in range(N)]
    xw = [
        [sum(X[j][f].item() * W1[h][f] for f in range(F_IN)) for h in range(HIDDEN)]
        for j in range(N)
    ]
    return [
        [
            sum(A[i][j] / math.sqrt(deg[i] * deg[j]) * xw[j][h] for j in range(N)) + B1[h]
            for h in range(HIDDEN)
        ]
        for i in range(N)
    ]


class TwoLayerGCN(nn.Module):
    def __init__(self, activation: nn.Module):
        super().__init__()
        self.conv1 = GCNConv(F_IN, HIDDEN)
        self.act = activation
        self.conv2 = GCNConv(HIDDEN, CLASSES)
        with torch.no_grad():
            self.conv1.lin.weight.copy_(torch.tensor(W1))
            self.conv1.bias.copy_(torch.tensor(B1))
            self.conv2.lin.weight.copy_(torch.tensor(W2))
            self.conv2.bias.copy_(torch.tensor(B2))

    def forward(self, x, edge_index):
        return self.conv2(self.act(self.conv1(x, edge_index)), edge_index)


def expected_counts(method: str):
    """Spike counts per (node, unit) after T steps and the threshold, from O1 / O4."""
    z = hidden_preactivation()
    if method == "qcfs":  # theta = lambda = 1, v0 = theta / 2:  clip(floor(T z + 1/2), 0, T)
        theta = 1.0
    else:  # optimal: theta = max activation, v0 = 0, shift theta / 2T: same formula (O4)
        theta = max(max(v, 0.0) for row in z for v in row)
    raw = [[T * v / theta + 0.5 for v in row] for row in z]
    margins = [abs(r - round(r)) for row in raw for r in row]
    assert min(margins) > 1e-2  # no count sits on a float-sensitive boundary
    counts = [[min(max(math.floor(r), 0), T) for r in row] for row in raw]
    return counts, theta


def make_model(method: str) -> nn.Module:
    if method == "qcfs":
        return TwoLayerGCN(QCFS(levels=T, init_threshold=1.0)).eval()
    return TwoLayerGCN(ThresholdReLU(2.0)).eval()


@pytest.fixture(scope="module")
def data() -> Data:
    return Data(x=X, edge_index=EDGE_INDEX)


@pytest.mark.parametrize("method", ["qcfs", "optimal"])
def test_counts_match_hand_counts(data, method):
    counts, theta = expected_counts(method)
    spikes_per_node = [sum(row) for row in counts]
    total_spikes = sum(spikes_per_node)
    sops = sum(spikes_per_node[j] * OUT_DEGREE[j] * CLASSES for j in range(N))
    first_macs = N * F_IN * HIDDEN + NNZ * HIDDEN  # 24 + 22, once: the input is time-constant
    second_ann_macs = N * HIDDEN * CLASSES + NNZ * CLASSES  # 16 + 22
    ann_macs = first_macs + second_ann_macs
    assert (first_macs, ann_macs) == (46, 84)
    assert len({c for row in counts for c in row}) >= 3  # silent, partial and saturated units

    snn = gsnn.convert(make_model(method), data, method=method, T=T, check=False)
    ((neuron_name, neuron),) = snn.neurons()
    assert float(neuron.threshold) == pytest.approx(theta, rel=1e-6)
    captured = {}
    handle = neuron.register_forward_hook(lambda m, i, o: captured.setdefault("spikes", o))
    with torch.no_grad():
        snn(X, EDGE_INDEX)
    handle.remove()
    spikes = captured["spikes"]
    assert spikes.shape == (T, N, HIDDEN)
    assert spikes.sum(dim=0).tolist() == counts

    stats = snn.last_stats
    assert stats.time_steps == T
    assert stats.neurons == N * HIDDEN
    assert stats.spikes == total_spikes == spikes.sum().item()
    assert stats.spikes_per_neuron == pytest.approx(total_spikes / (N * HIDDEN))
    assert stats.synaptic_ops == pytest.approx(sops)
    assert stats.macs == first_macs
    assert stats.ann_macs == ann_macs
    assert stats.energy_pj == pytest.approx(4.6 * first_macs + 0.9 * sops)
    assert stats.ann_energy_pj == pytest.approx(4.6 * ann_macs)
    assert stats.energy_ratio == pytest.approx((4.6 * first_macs + 0.9 * sops) / (4.6 * ann_macs))

    layers = {layer.name: layer for layer in stats.layers}
    assert list(layers) == ["conv1", neuron_name, "conv2"]  # execution order
    conv1, population, conv2 = layers["conv1"], layers[neuron_name], layers["conv2"]
    assert (conv1.kind, population.kind, conv2.kind) == ("synapse", "neuron", "synapse")
    assert (conv1.macs, conv1.synaptic_ops, conv1.ann_macs) == (first_macs, 0, first_macs)
    assert (population.neurons, population.spikes) == (N * HIDDEN, total_spikes)
    assert conv2.macs == 0 and conv2.ann_macs == second_ann_macs
    assert conv2.synaptic_ops == pytest.approx(sops)

    table = stats.table()
    for name in ("conv1", neuron_name, "conv2", "total", "energy estimate"):
        assert name in table


def test_sops_equal_o21_unit_weight_layer(data):
    """O21: SOPs = sum of the layer with unit weights, no bias, applied to |S(t)|."""
    counts, _ = expected_counts("qcfs")
    snn = gsnn.convert(make_model("qcfs"), data, method="qcfs", T=T, check=False)
    with torch.no_grad():
        snn(X, EDGE_INDEX)
    spikes = torch.tensor(counts, dtype=torch.float64)  # summed over t: the layer is linear
    pattern = torch.tensor(A, dtype=torch.float64)  # non-zero pattern of A-hat
    ones = torch.ones(HIDDEN, CLASSES, dtype=torch.float64)
    unit_layer = pattern @ (spikes @ ones)
    assert snn.last_stats.synaptic_ops == pytest.approx(unit_layer.sum().item())


def test_energy_model_changes_the_estimate(data):
    counts, _ = expected_counts("qcfs")
    sops = sum(sum(row) * OUT_DEGREE[j] * CLASSES for j, row in enumerate(counts))
    snn = gsnn.convert(make_model("qcfs"), data, method="qcfs", T=T, check=False)
    snn.energy_model = EnergyModel(mac_pj=3.0, ac_pj=0.25)
    with torch.no_grad():
        snn(X, EDGE_INDEX)
    stats = snn.last_stats
    assert stats.energy_model == EnergyModel(mac_pj=3.0, ac_pj=0.25)
    assert stats.energy_pj == pytest.approx(3.0 * 46 + 0.25 * sops)
    assert stats.ann_energy_pj == pytest.approx(3.0 * 84)
    assert "3.0 pJ/MAC" in stats.table() and "0.25 pJ/AC" in stats.table()


def test_spike_coded_input_counts_synaptic_ops_not_macs(data):
    """With deterministic rate coding the first layer receives spikes: no MACs at all."""
    snn = gsnn.convert(
        make_model("qcfs"), data, method="qcfs", T=T, coding="deterministic", check=False
    )
    with torch.no_grad():
        snn(X, EDGE_INDEX)
    # input spikes per feature: floor(T x) (phase 0); all inputs are multiples of 1/4
    input_spikes = [sum(math.floor(T * v) for v in row) for row in X.tolist()]
    first_sops = sum(input_spikes[j] * OUT_DEGREE[j] * HIDDEN for j in range(N))
    layers = {layer.name: layer for layer in snn.last_stats.layers}
    assert layers["conv1"].macs == 0
    assert layers["conv1"].synaptic_ops == pytest.approx(first_sops)
    assert layers["conv1"].ann_macs == 46
    assert snn.last_stats.macs == 0
    hidden_spikes = layers["neuron_act"].spikes
    second_sops = layers["conv2"].synaptic_ops
    assert snn.last_stats.synaptic_ops == pytest.approx(first_sops + second_sops)
    assert snn.last_stats.energy_pj == pytest.approx(0.9 * (first_sops + second_sops))
    assert 0 < hidden_spikes <= N * HIDDEN * T


# -- the dataclasses on their own -----------------------------------------------------------------


def test_spike_stats_aggregates_layers():
    stats = SpikeStats(
        time_steps=8,
        layers=[
            LayerStats("a", "synapse", macs=100.0, ann_macs=100.0),
            LayerStats("n", "neuron", neurons=10, spikes=25.0),
            LayerStats("b", "synapse", synaptic_ops=40.0, ann_macs=60.0),
        ],
        energy_model=EnergyModel(mac_pj=2.0, ac_pj=0.5),
    )
    assert stats.spikes == 25.0 and stats.neurons == 10
    assert stats.spikes_per_neuron == 2.5
    assert stats.layers[1].spikes_per_neuron == 2.5 and stats.layers[0].spikes_per_neuron == 0
    assert stats.macs == 100.0 and stats.ann_macs == 160.0 and stats.synaptic_ops == 40.0
    assert stats.energy_pj == 2.0 * 100 + 0.5 * 40
    assert stats.ann_energy_pj == 2.0 * 160
    assert stats.energy_ratio == pytest.approx(220 / 320)
    assert all(name in stats.table() for name in ("a", "n", "b", "total"))


def test_energy_model_defaults_and_empty_stats():
    model = EnergyModel()
    assert (model.mac_pj, model.ac_pj) == (4.6, 0.9)
    assert model.energy_pj(10, 100) == pytest.approx(46 + 90)
    empty = SpikeStats(time_steps=0)
    assert empty.spikes_per_neuron == 0.0
    assert math.isnan(empty.energy_ratio)
