"""Exact facts of conversion: QCFS at T = L (O1/O5), BN folding (O15), threshold folding (O19)."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.data import Data
from torch_geometric.nn import GCNConv, SAGEConv
from torch_geometric.nn.norm import BatchNorm as PygBatchNorm
from torch_geometric.utils import erdos_renyi_graph

import gsnn
from gsnn.ann import GCN, QCFS
from gsnn.coding import AnalogCoder
from gsnn.neurons import IFNeuron

NODES, FEATURES, HIDDEN, CLASSES = 40, 10, 12, 3


@pytest.fixture(scope="module")
def graph() -> Data:
    torch.manual_seed(0)
    return Data(x=torch.rand(NODES, FEATURES), edge_index=erdos_renyi_graph(NODES, 0.1))


# -- O5: QCFS at T = L ----------------------------------------------------------------------------


@pytest.mark.parametrize("levels", [4, 8])
def test_two_layer_qcfs_gcn_matches_ann_at_T_equal_L(graph, levels):
    torch.manual_seed(levels)
    model = GCN(
        FEATURES, HIDDEN, CLASSES, activation="qcfs", qcfs_levels=levels, qcfs_init=0.75
    ).eval()
    with torch.no_grad():
        ann_out = model(graph.x, graph.edge_index)
    snn = gsnn.convert(model, graph, method="qcfs", T=levels, check=False)
    with torch.no_grad():
        snn_out = snn(graph.x, graph.edge_index)
    torch.testing.assert_close(snn_out, ann_out, rtol=1e-5, atol=1e-6)
    assert torch.equal(snn_out.argmax(1), ann_out.argmax(1))


class DyadicMLP(nn.Module):
    def __init__(self, levels: int, bound: float):
        super().__init__()
        self.fc1 = nn.Linear(FEATURES, HIDDEN)
        self.act = QCFS(levels=levels, init_threshold=bound)
        self.fc2 = nn.Linear(HIDDEN, CLASSES)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class DyadicGraphNet(nn.Module):
    """Plain sum aggregation (normalize=False) keeps every sum dyadic."""

    def __init__(self, levels: int, bound: float):
        super().__init__()
        self.conv1 = GCNConv(FEATURES, HIDDEN, normalize=False)
        self.act = QCFS(levels=levels, init_threshold=bound)
        self.conv2 = GCNConv(HIDDEN, CLASSES, normalize=False)

    def forward(self, x, edge_index):
        return self.conv2(self.act(self.conv1(x, edge_index)), edge_index)


def dyadic_(module: nn.Module, generator: torch.Generator, scale: float = 0.25) -> None:
    """Overwrite every parameter except QCFS bounds by small integers times ``scale``."""
    with torch.no_grad():
        for name, parameter in module.named_parameters():
            if not name.endswith("threshold"):
                values = torch.randint(-4, 5, parameter.shape, generator=generator)
                parameter.copy_(values.to(parameter.dtype) * scale)


def first_layer_spikes(snn):
    """Hook the only neuron population; the returned dict gets its spikes."""
    ((_, neuron),) = snn.neurons()
    captured = {}
    handle = neuron.register_forward_hook(lambda m, i, o: captured.setdefault("spikes", o))
    return handle, captured


@pytest.mark.parametrize("net", ["mlp", "graph"])
def test_dyadic_qcfs_spike_counts_equal_ann_levels(graph, net):
    """Power-of-two lambda, dyadic weights and inputs: counts equal h(z) L / lambda exactly,
    ties z L / lambda + 1/2 in Z included (both round half up)."""
    levels, bound = 4, 2.0
    generator = torch.Generator().manual_seed(7)
    x = torch.randint(0, 5, (NODES, FEATURES), generator=generator).float() * 0.25
    if net == "mlp":
        model, data = DyadicMLP(levels, bound), x
        run = lambda m: m(x)  # noqa: E731
        pre = lambda m: m.fc1(x)  # noqa: E731
    else:
        model, data = DyadicGraphNet(levels, bound), Data(x=x, edge_index=graph.edge_index)
        run = lambda m: m(x, graph.edge_index)  # noqa: E731
        pre = lambda m: m.conv1(x, graph.edge_index)  # noqa: E731
    dyadic_(model.eval(), generator)
    with torch.no_grad():
        z = pre(model)
        ann_levels = model.act(z) * levels / bound
        ann_out = run(model)
    # the data exercise the tie rule and both clip ends
    scaled = z * levels / bound + 0.5
    assert (scaled == scaled.floor()).sum() > 0
    assert (z < 0).any() and (z > bound).any()
    assert torch.equal(ann_levels, ann_levels.round())

    snn = gsnn.convert(model, data, method="qcfs", T=levels, check=False)
    handle, captured = first_layer_spikes(snn)
    with torch.no_grad():
        snn_out = run(snn)
    handle.remove()
    counts = captured["spikes"].sum(dim=0)
    assert torch.equal(counts, ann_levels)
    assert set(captured["spikes"].unique().tolist()) <= {0.0, 1.0}
    torch.testing.assert_close(snn_out, ann_out, rtol=0, atol=1e-6)


# -- O15: batch-norm folding ----------------------------------------------------------------------


def randomise_batch_norm_(bn: nn.BatchNorm1d, generator: torch.Generator) -> None:
    with torch.no_grad():
        bn.running_mean.copy_(torch.randn(bn.num_features, generator=generator))
        bn.running_var.copy_(torch.rand(bn.num_features, generator=generator) * 3 + 0.2)
        if bn.affine:
            bn.weight.copy_(torch.randn(bn.num_features, generator=generator))
            bn.bias.copy_(torch.randn(bn.num_features, generator=generator))


class ConvBN(nn.Module):
    def __init__(self, conv: nn.Module, bn: nn.Module):
        super().__init__()
        self.conv1, self.bn, self.conv2 = conv, bn, GCNConv(HIDDEN, CLASSES)

    def forward(self, x, edge_index):
        return self.conv2(F.relu(self.bn(self.conv1(x, edge_index))), edge_index)


@pytest.mark.parametrize(
    "layers",
    ["gcn+bn", "gcn+bn_no_affine", "sage+bn", "gcn+pyg_bn"],
)
def test_folded_batch_norm_layer_equals_bn_of_conv(graph, layers):
    torch.manual_seed(11)
    generator = torch.Generator().manual_seed(11)
    conv_name, bn_name = layers.split("+")
    conv = GCNConv(FEATURES, HIDDEN) if conv_name == "gcn" else SAGEConv(FEATURES, HIDDEN)
    if bn_name == "pyg_bn":
        bn = PygBatchNorm(HIDDEN)
        randomise_batch_norm_(bn.module, generator)
    else:
        bn = nn.BatchNorm1d(HIDDEN, affine=bn_name == "bn")
        randomise_batch_norm_(bn, generator)
    model = ConvBN(conv, bn).eval()
    with torch.no_grad():
        expected = model.bn(model.conv1(graph.x, graph.edge_index))
        plain = model.conv1(graph.x, graph.edge_index)
    assert not torch.allclose(expected, plain, atol=1e-2)  # the BN does something

    snn = gsnn.convert(model, graph, method="rate", T=4, check=False)
    assert not [m for m in snn.modules() if isinstance(m, (nn.BatchNorm1d, PygBatchNorm))]
    T = 5
    encoded = AnalogCoder()(graph.x, T)
    with torch.no_grad():
        currents = snn.body.conv1(encoded, graph.edge_index)
    assert currents.shape == (T, NODES, HIDDEN)
    for step in range(T):
        torch.testing.assert_close(currents[step], expected, rtol=1e-5, atol=1e-5)
    # the ANN is left untouched
    with torch.no_grad():
        torch.testing.assert_close(model.bn(model.conv1(graph.x, graph.edge_index)), expected)


def test_converted_network_with_folded_bn_matches_relu_ann(graph):
    torch.manual_seed(12)
    model = ConvBN(GCNConv(FEATURES, HIDDEN), nn.BatchNorm1d(HIDDEN))
    randomise_batch_norm_(model.bn, torch.Generator().manual_seed(12))
    model.eval()
    snn = gsnn.convert(model, graph, method="rate", T=1024, percentile=100, check=False)
    with torch.no_grad():
        torch.testing.assert_close(
            snn(graph.x, graph.edge_index), model(graph.x, graph.edge_index), rtol=0, atol=2e-2
        )


# -- O19: thresholds folded into receiving weights ------------------------------------------------


def test_threshold_is_folded_into_the_receiving_layer(graph):
    torch.manual_seed(13)
    model = GCN(FEATURES, HIDDEN, CLASSES, activation="relu").eval()
    snn = gsnn.convert(model, graph, method="rate", T=8, check=False)
    ((_, neuron),) = snn.neurons()
    theta = neuron.threshold.float()
    spiking_first = snn.body.get_submodule("convs.0")
    spiking_second = snn.body.get_submodule("convs.1")
    # first layer: ANN weights unchanged (analog input); second: weights times theta
    torch.testing.assert_close(spiking_first.lin.weight, model.convs[0].lin.weight)
    torch.testing.assert_close(spiking_second.lin.weight, model.convs[1].lin.weight * theta)
    torch.testing.assert_close(spiking_second.bias, model.convs[1].bias)
    assert isinstance(neuron, IFNeuron) and float(neuron.v0) == 0.0
