"""calibration_nodes: calibrating on a k-hop subgraph gives the whole graph's thresholds."""

import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.nn.models import GCN as PyGGCN
from torch_geometric.utils import erdos_renyi_graph

import gsnn
from gsnn.convert.calibration_subgraph import calibration_subgraph


def random_graph(num_nodes=600, seed=0):
    torch.manual_seed(seed)
    edge_index = erdos_renyi_graph(num_nodes, 6 / num_nodes)
    return Data(x=torch.rand(num_nodes, 12), edge_index=edge_index)


@pytest.fixture(scope="module")
def model_and_graph():
    torch.manual_seed(1)
    model = PyGGCN(12, 16, num_layers=3, out_channels=4).eval()  # written as PyG's models
    return model, random_graph()


def test_chosen_nodes_get_their_whole_graph_activations(model_and_graph):
    model, data = model_and_graph
    nodes = torch.arange(0, 600, 7)
    sub, mask = calibration_subgraph(data, nodes, model)
    assert sub.num_nodes < data.num_nodes
    with torch.no_grad():
        whole = model(data.x, data.edge_index)[nodes]
        part = model(sub.x, sub.edge_index)[mask]
    torch.testing.assert_close(part, whole, rtol=1e-5, atol=1e-6)


def test_one_hop_too_few_changes_the_activations(model_and_graph):
    model, data = model_and_graph  # the oracle above is not vacuous: the extra hop matters
    nodes = torch.tensor([0, 300])  # few, so that 3 hops do not cover the whole graph
    sub, mask = calibration_subgraph(data, nodes, model, hops=3)  # the model has 3
    with torch.no_grad():
        whole = model(data.x, data.edge_index)[nodes]
        part = model(sub.x, sub.edge_index)[mask]
    assert not torch.allclose(part, whole, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("method", ["rate", "burst"])
def test_subgraph_calibration_equals_masked_whole_graph_calibration(model_and_graph, method):
    model, data = model_and_graph
    nodes = torch.zeros(600, dtype=torch.bool)
    nodes[::5] = True
    on_subgraph = gsnn.convert(model, data, method=method, T=8, calibration_nodes=nodes)
    on_whole = gsnn.convert(model, data, method=method, T=8, mask=nodes)
    for name, threshold in on_whole.thresholds.items():
        torch.testing.assert_close(on_subgraph.thresholds[name], threshold, rtol=1e-5, atol=0)
    assert on_subgraph.conversion_check["agreement"] == pytest.approx(
        on_whole.conversion_check["agreement"], abs=2 / int(nodes.sum())
    )
    with torch.no_grad():
        torch.testing.assert_close(
            on_subgraph(data.x, data.edge_index), on_whole(data.x, data.edge_index)
        )


def test_a_node_count_draws_that_many_nodes_reproducibly(model_and_graph):
    model, data = model_and_graph
    first, mask = calibration_subgraph(data, 50, model)
    again, mask_again = calibration_subgraph(data, 50, model)
    assert int(mask.sum()) == 50 and torch.equal(first.x, again.x)
    assert torch.equal(mask, mask_again)


@pytest.mark.parametrize(
    "nodes, message",
    [
        (0, r"\[1, 600\]"),
        (torch.tensor([0.5]), "node count, a 1-d tensor"),
        (torch.zeros(5, dtype=torch.bool), "5 entries for 600 nodes"),
        (torch.tensor([600]), r"\[0, 599\]"),
    ],
)
def test_bad_calibration_nodes_are_refused(model_and_graph, nodes, message):
    model, data = model_and_graph
    with pytest.raises(ValueError, match=message):
        gsnn.convert(model, data, method="rate", calibration_nodes=nodes)


def test_calibration_nodes_and_mask_together_are_refused(model_and_graph):
    model, data = model_and_graph
    with pytest.raises(ValueError, match="either mask"):
        gsnn.convert(model, data, mask=torch.arange(3), calibration_nodes=torch.arange(3))


def test_calibration_nodes_need_one_graph(model_and_graph):
    model, data = model_and_graph
    with pytest.raises(ValueError, match="Data with x and edge_index"):
        gsnn.convert(model, (data.x, data.edge_index), method="rate", calibration_nodes=5)


def test_cached_layers_calibrate_on_the_subgraph_and_keep_their_whole_graph_cache():
    from gsnn.ann import GCN  # GCNConv(cached=True), as in PyG's examples/gcn.py

    data = random_graph(seed=3)
    torch.manual_seed(2)
    model = GCN(12, 16, 4, activation="relu").eval()
    with torch.no_grad():
        before = model(data.x, data.edge_index)  # caches the whole graph's adjacency
    nodes = torch.arange(0, 600, 4)
    snn = gsnn.convert(model, data, method="rate", T=8, calibration_nodes=nodes)
    reference = gsnn.convert(model, data, method="rate", T=8, mask=nodes)
    for name, threshold in reference.thresholds.items():
        torch.testing.assert_close(snn.thresholds[name], threshold, rtol=1e-5, atol=0)
    with torch.no_grad():
        assert torch.equal(model(data.x, data.edge_index), before)


def test_zero_hops_calibrate_on_the_induced_subgraph_of_the_nodes(model_and_graph):
    model, data = model_and_graph
    nodes = torch.tensor([5, 1, 9, 5])
    sub, mask = calibration_subgraph(data, nodes, model, hops=0)
    assert torch.equal(sub.x, data.x[[1, 5, 9]]) and bool(mask.all())
    snn = gsnn.convert(model, data, method="rate", calibration_nodes=60, calibration_hops=0)
    assert 0 <= snn.conversion_check["agreement"] <= 1
