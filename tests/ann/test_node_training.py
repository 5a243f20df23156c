"""Full-batch node training on edge_index or on a transposed CSR adjacency of the same edges."""

import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.nn import models

from gsnn.ann import GCN, GraphSAGE, node_accuracy, train_node_classifier, transposed_csr_adjacency

NODES, FEATURES, CLASSES = 30, 5, 3


@pytest.fixture(scope="module")
def graph() -> Data:
    """A directed random graph (no reverse edges), so a transposed adjacency would show."""
    torch.manual_seed(0)
    source, target = torch.randint(0, NODES, (2, 120))
    keep = source < target
    masks = torch.arange(NODES) % 3
    return Data(
        x=torch.rand(NODES, FEATURES, dtype=torch.float64),
        edge_index=torch.stack([source[keep], target[keep]]).unique(dim=1),
        y=torch.randint(0, CLASSES, (NODES,)),
        train_mask=masks == 0,
        val_mask=masks == 1,
        test_mask=masks == 2,
    )


def test_the_adjacency_has_a_row_per_target_node(graph):
    dense = transposed_csr_adjacency(graph).to_dense()

    expected = torch.zeros(NODES, NODES, dtype=torch.float64)
    expected[graph.edge_index[1], graph.edge_index[0]] = 1.0
    torch.testing.assert_close(dense, expected)


@pytest.mark.parametrize(
    "make_model",
    [
        lambda: GraphSAGE(FEATURES, 8, CLASSES),
        lambda: GCN(FEATURES, 8, CLASSES),
        lambda: models.GraphSAGE(FEATURES, 8, num_layers=2, out_channels=CLASSES),
        lambda: models.GIN(FEATURES, 8, num_layers=2, out_channels=CLASSES),
    ],
    ids=["gsnn GraphSAGE", "gsnn GCN", "PyG models.GraphSAGE", "PyG models.GIN"],
)
def test_a_model_on_the_csr_adjacency_computes_its_edge_index_function(graph, make_model):
    torch.manual_seed(1)
    model = make_model().double().eval()

    with torch.no_grad():
        expected = model(graph.x, graph.edge_index)
        output = model(graph.x, transposed_csr_adjacency(graph))
    torch.testing.assert_close(output, expected)


def test_training_follows_the_given_adjacency(graph):
    def trained(adjacency):
        torch.manual_seed(2)
        model = GraphSAGE(FEATURES, 8, CLASSES).double()
        train_node_classifier(model, graph, epochs=5, adjacency=adjacency)
        return model.convs[0].lin_l.weight.detach()

    on_edge_index = trained(None)
    torch.testing.assert_close(trained(transposed_csr_adjacency(graph)), on_edge_index)
    no_edges = Data(x=graph.x, edge_index=torch.empty(2, 0, dtype=torch.long))
    assert not torch.allclose(trained(transposed_csr_adjacency(no_edges)), on_edge_index)


def test_accuracy_is_scored_on_the_given_adjacency(graph):
    torch.manual_seed(3)
    model = GraphSAGE(FEATURES, 8, CLASSES).double()
    csr = transposed_csr_adjacency(graph)

    assert node_accuracy(model, graph, adjacency=csr) == node_accuracy(model, graph)
    no_edges = transposed_csr_adjacency(Data(x=graph.x, edge_index=torch.empty(2, 0).long()))
    with torch.no_grad():
        prediction = model(graph.x, no_edges).argmax(-1)[graph.test_mask]
    expected = float((prediction == graph.y[graph.test_mask]).double().mean())
    assert node_accuracy(model, graph, adjacency=no_edges) == expected
