"""The reference GraphSAGE: PyG's mean SAGEConv layers; its conversions are exact where O5 says."""

import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.nn import SAGEConv
from torch_geometric.utils import erdos_renyi_graph

import gsnn
from gsnn.ann import GraphSAGE

NODES, FEATURES, HIDDEN, CLASSES = 40, 10, 12, 3


@pytest.fixture(scope="module")
def graph() -> Data:
    torch.manual_seed(0)
    return Data(x=torch.rand(NODES, FEATURES), edge_index=erdos_renyi_graph(NODES, 0.1))


def test_layers_are_mean_sage_convolutions_and_the_forward_is_theirs(graph):
    torch.manual_seed(1)
    model = GraphSAGE(FEATURES, HIDDEN, CLASSES, num_layers=3, residual=True).eval()

    assert all(isinstance(conv, SAGEConv) and conv.aggr == "mean" for conv in model.convs)
    first, middle, last = model.convs
    h = torch.relu(first(graph.x, graph.edge_index))
    h = torch.relu(middle(h, graph.edge_index) + h)
    expected = last(h, graph.edge_index)
    torch.testing.assert_close(model(graph.x, graph.edge_index), expected)


# qcfs is exact at T = L with one hidden layer; two-phase at any depth (O5)
@pytest.mark.parametrize(("method", "num_layers", "levels"), [("qcfs", 2, 4), ("two-phase", 3, 8)])
def test_qcfs_sage_matches_its_ann_at_T_equal_L(graph, method, num_layers, levels):
    torch.manual_seed(levels)
    model = GraphSAGE(
        FEATURES,
        HIDDEN,
        CLASSES,
        num_layers=num_layers,
        residual=True,
        activation="qcfs",
        qcfs_levels=levels,
        qcfs_init=0.75,
    ).eval()
    with torch.no_grad():
        ann_out = model(graph.x, graph.edge_index)

    snn = gsnn.convert(model, graph, method=method, T=levels, check=False)
    with torch.no_grad():
        snn_out = snn(graph.x, graph.edge_index)

    torch.testing.assert_close(snn_out, ann_out, rtol=1e-5, atol=1e-6)
