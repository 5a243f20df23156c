"""Weightless propagation (APPNP) and the initial residual of GCN2Conv, written as PyG's
examples write them (citation/appnp.py, gcn2_cora.py)."""

import pytest
import torch
import torch.nn.functional as F
from small_graph import CLASSES, FEATURES, HIDDEN, LEVELS, NODES, initialised, run, small_graph
from torch import nn
from torch_geometric.data import Data
from torch_geometric.nn import APPNP, GCN2Conv

import gsnn
from gsnn.ann import QCFS
from gsnn.nn.spiking_appnp import SpikingAPPNP
from gsnn.nn.spiking_gcn2_conv import SpikingGCN2Conv

F64 = torch.float64


@pytest.fixture(scope="module")
def graph() -> Data:
    return small_graph()


class APPNPNet(nn.Module):
    """citation/appnp.py: Linear, act, Linear, then K propagation steps on the logits."""

    def __init__(self, activation=lambda: QCFS(levels=LEVELS), K=5, alpha=0.1):
        super().__init__()
        self.lin1 = nn.Linear(FEATURES, HIDDEN)
        self.act = activation()
        self.lin2 = nn.Linear(HIDDEN, CLASSES)
        self.prop1 = APPNP(K, alpha)

    def forward(self, x, edge_index):
        x = F.dropout(x, p=0.5, training=self.training)
        x = self.act(self.lin1(x))
        x = F.dropout(x, p=0.5, training=self.training)
        x = self.lin2(x)
        x = self.prop1(x, edge_index)
        return F.log_softmax(x, dim=1)


class PropagateFirst(nn.Module):
    """APPNP between a neuron and a linear layer: the threshold folds through it."""

    def __init__(self):
        super().__init__()
        self.lin1, self.act = nn.Linear(FEATURES, HIDDEN), QCFS(levels=LEVELS)
        self.prop = APPNP(3, 0.2)
        self.lin2 = nn.Linear(HIDDEN, CLASSES)

    def forward(self, x, edge_index):
        return self.lin2(self.prop(self.act(self.lin1(x)), edge_index))


class GCNII(nn.Module):
    """gcn2_cora.py: x = x_0 = relu(lin(x)); each GCN2Conv sees x and x_0."""

    def __init__(self, layers=3, shared_weights=True, alpha=0.1, theta=0.5):
        super().__init__()
        self.lins = nn.ModuleList([nn.Linear(FEATURES, HIDDEN), nn.Linear(HIDDEN, CLASSES)])
        self.convs = nn.ModuleList(
            GCN2Conv(HIDDEN, alpha, theta, layer + 1, shared_weights) for layer in range(layers)
        )
        self.acts = nn.ModuleList(QCFS(levels=LEVELS) for _ in range(layers + 1))

    def forward(self, x, edge_index):
        x = x_0 = self.acts[0](self.lins[0](x))
        for conv, act in zip(self.convs, self.acts[1:]):
            x = act(conv(x, x_0, edge_index))
        return self.lins[1](x).log_softmax(dim=-1)


@pytest.mark.parametrize("model_type", [APPNPNet, PropagateFirst])
def test_appnp_with_qcfs_at_T_equal_L_equals_the_qcfs_ann(graph, model_type):
    torch.manual_seed(1)
    model = initialised(model_type(), graph)
    snn = gsnn.convert(model, graph, method="qcfs", T=LEVELS, check=False)
    torch.testing.assert_close(run(snn, graph), run(model, graph), rtol=0, atol=1e-12)
    if model_type is PropagateFirst:  # folded: lin2 receives propagated spikes
        assert snn.body.lin2.receives_spikes
        assert not [m for m in snn.modules() if isinstance(m, gsnn.nn.OneToOneSynapse)]


def test_appnp_rate_conversion_approaches_the_relu_ann(graph):
    torch.manual_seed(2)
    model = initialised(APPNPNet(activation=nn.ReLU), graph)
    snn = gsnn.convert(model, graph, method="rate", T=1024, percentile=100, check=False)
    torch.testing.assert_close(run(snn, graph), run(model, graph), rtol=0, atol=2e-2)


@pytest.mark.parametrize("normalize", [True, False])
def test_spiking_appnp_equals_pyg_at_every_step(graph, normalize):
    appnp = APPNP(4, 0.3, normalize=normalize)
    spikes = (torch.rand(6, NODES, FEATURES) < 0.4).to(F64)
    out = SpikingAPPNP.from_ann(appnp)(spikes, graph.edge_index)
    for step in range(6):
        torch.testing.assert_close(out[step], appnp(spikes[step], graph.edge_index))


@pytest.mark.parametrize("shared_weights", [True, False])
def test_gcnii_with_qcfs_two_phase_is_exact_at_any_depth(graph, shared_weights):
    torch.manual_seed(3)
    model = initialised(GCNII(shared_weights=shared_weights), graph)
    snn = gsnn.convert(model, graph, method="two-phase", T=LEVELS, check=False)
    assert len(snn.neurons()) == 4
    torch.testing.assert_close(run(snn, graph), run(model, graph), rtol=0, atol=1e-12)


@pytest.mark.parametrize("shared_weights", [True, False])
def test_spiking_gcn2_conv_equals_pyg_at_every_step(graph, shared_weights):
    torch.manual_seed(4)
    conv = GCN2Conv(FEATURES, 0.2, 0.5, 2, shared_weights=shared_weights).double()
    layer = SpikingGCN2Conv.from_ann(conv)
    x, x_0 = (torch.rand(5, NODES, FEATURES) < 0.5).to(F64), torch.rand(5, NODES, FEATURES)
    x_0 = x_0.to(F64)
    with torch.no_grad():
        out = layer(x, x_0, graph.edge_index)
        for step in range(5):
            torch.testing.assert_close(out[step], conv(x[step], x_0[step], graph.edge_index))


def test_gcnii_rate_conversion_approaches_the_relu_ann(graph):
    torch.manual_seed(5)
    model = GCNII()
    model.acts = nn.ModuleList(nn.ReLU() for _ in model.acts)
    model = initialised(model, graph)
    snn = gsnn.convert(model, graph, method="rate", T=1024, percentile=100, check=False)
    torch.testing.assert_close(run(snn, graph), run(model, graph), rtol=0, atol=3e-2)
