"""Max aggregation (SAGEConv / GraphConv aggr="max") and jumping knowledge (models.GCN /
models.GraphSAGE jk=...): exact for count codes (O16b), refused for weighted codes."""

import pytest
import torch
from small_graph import CLASSES, FEATURES, HIDDEN, LEVELS, initialised, run, small_graph
from torch import nn
from torch_geometric.data import Data
from torch_geometric.nn import GraphConv, SAGEConv
from torch_geometric.nn.models import GCN, GraphSAGE

import gsnn
from gsnn.ann import QCFS

F64 = torch.float64


@pytest.fixture(scope="module")
def graph() -> Data:
    return small_graph()


class SAGE(nn.Module):
    """Two convolutions with max aggregation, as in PyG's GraphSAGE examples."""

    def __init__(self, conv=SAGEConv, activation=lambda: QCFS(levels=LEVELS)):
        super().__init__()
        self.conv1 = conv(FEATURES, HIDDEN, aggr="max")
        self.act = activation()
        self.conv2 = conv(HIDDEN, CLASSES, aggr="max")

    def forward(self, x, edge_index):
        return self.conv2(self.act(self.conv1(x, edge_index)), edge_index)


@pytest.mark.parametrize("conv", [SAGEConv, GraphConv])
def test_qcfs_at_T_equal_L_equals_the_qcfs_ann_on_every_node(graph, conv):
    torch.manual_seed(1)
    model = initialised(SAGE(conv), graph)
    snn = gsnn.convert(model, graph, method="qcfs", T=LEVELS, check=False)
    torch.testing.assert_close(run(snn, graph), run(model, graph), rtol=0, atol=1e-12)


def test_max_aggregation_of_spike_counts_equals_the_anns_max_aggregation(graph):
    """The second layer's max over neighbours' counts is the ANN's max over QCFS levels."""
    torch.manual_seed(2)
    model = initialised(SAGE(), graph)
    ann_aggregated, snn_aggregated = {}, {}
    model.conv2.aggr_module.register_forward_hook(lambda m, i, o: ann_aggregated.update(v=o))
    snn = gsnn.convert(model, graph, method="qcfs", T=LEVELS, check=False)
    aggregation = snn.body.conv2.max_aggregation
    aggregation.register_forward_hook(lambda m, i, o: snn_aggregated.update(v=o))
    run(model, graph), run(snn, graph)
    bound = float(model.act.threshold.detach())
    counts = snn_aggregated["v"].sum(0)
    assert torch.equal(counts, counts.round()) and counts.max() > 0
    torch.testing.assert_close(counts * bound / LEVELS, ann_aggregated["v"], rtol=0, atol=1e-12)


@pytest.mark.parametrize("method", ["phase", "css"])
def test_weighted_codes_are_refused_with_the_reason(graph, method):
    model = initialised(SAGE(activation=nn.ReLU), graph)
    with pytest.raises(gsnn.ConversionError, match="value is not its count") as error:
        gsnn.convert(model, graph, method=method, T=8, check=False)
    assert "conv2" in str(error.value) and "aggr='mean'" in str(error.value)


@pytest.mark.parametrize("jk", ["cat", "max", "last"])
@pytest.mark.parametrize("family", [GCN, GraphSAGE])
def test_basic_gnn_jumping_knowledge_is_exact_at_any_depth_with_two_phase(graph, family, jk):
    """Two-phase neurons are exact functions of their total input (O22a), so the whole
    three-layer network equals its QCFS ANN; one shared QCFS module, three call sites."""
    torch.manual_seed(3)
    options = {"aggr": "max"} if family is GraphSAGE else {}
    model = family(FEATURES, HIDDEN, 3, CLASSES, jk=jk, act=QCFS(levels=LEVELS), **options)
    model = initialised(model, graph)
    snn = gsnn.convert(model, graph, method="two-phase", T=LEVELS, check=False)
    assert len(snn.neurons()) == 3
    torch.testing.assert_close(run(snn, graph), run(model, graph), rtol=0, atol=1e-12)


def test_jumping_knowledge_lstm_is_refused_naming_the_module(graph):
    model = initialised(GCN(FEATURES, HIDDEN, 2, CLASSES, jk="lstm"), graph)
    with pytest.raises(gsnn.ConversionError, match="jk .*JumpingKnowledge.*LSTM") as error:
        gsnn.convert(model, graph, method="rate", T=8, check=False)
    assert "jk='cat'" in str(error.value)


def test_jumping_knowledge_max_is_refused_for_weighted_codes(graph):
    model = initialised(GCN(FEATURES, HIDDEN, 2, CLASSES, jk="max"), graph)
    with pytest.raises(gsnn.ConversionError, match="jumping knowledge 'max'.*jk='cat'"):
        gsnn.convert(model, graph, method="phase", T=8, check=False)


def test_chunked_simulation_equals_one_pass_for_the_stateful_max_ops(graph):
    torch.manual_seed(4)
    model = GraphSAGE(FEATURES, HIDDEN, 3, CLASSES, aggr="max", jk="max")
    model = initialised(model, graph)
    snn = gsnn.convert(model, graph, method="rate", T=32, check=False)
    whole = run(snn, graph)
    snn.steps_per_chunk = 5
    torch.testing.assert_close(run(snn, graph), whole, rtol=0, atol=1e-12)
    snn.steps_per_chunk = None
    torch.testing.assert_close(run(snn, graph), whole, rtol=0, atol=0)  # state was reset


def test_a_saved_network_with_max_ops_loads_and_runs_identically(graph, tmp_path):
    torch.manual_seed(5)
    model = initialised(GraphSAGE(FEATURES, HIDDEN, 2, CLASSES, aggr="max", jk="max"), graph)
    snn = gsnn.convert(model, graph, method="rate", T=16, check=False)
    gsnn.save(snn, tmp_path / "snn.pt")
    assert torch.equal(run(gsnn.load(tmp_path / "snn.pt"), graph), run(snn, graph))


def test_max_pooling_of_the_analog_input_is_exact():
    """The running sum t x of a constant input has the max t max(x): no longer refused."""

    class PoolInput(nn.Module):
        def __init__(self):
            super().__init__()
            self.pool, self.conv = nn.MaxPool2d(2), nn.Conv2d(2, 3, 3, padding=1)
            self.act, self.fc = QCFS(levels=LEVELS), nn.Linear(3 * 4 * 4, CLASSES)

        def forward(self, x):
            return self.fc(self.act(self.conv(self.pool(x))).flatten(1))

    torch.manual_seed(6)
    images = torch.randn(5, 2, 8, 8, dtype=F64)
    model = PoolInput().double().train()
    with torch.no_grad():
        model(images)
    model.eval()
    snn = gsnn.convert(model, images, method="qcfs", T=LEVELS, check=False)
    with torch.no_grad():
        torch.testing.assert_close(snn(images), model(images), rtol=0, atol=1e-12)
