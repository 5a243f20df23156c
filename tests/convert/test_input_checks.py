"""No silent wrong answers: unusual inputs to a converted network give the right result or a
clear error (issue 16)."""

import copy

import pytest
import torch
from torch_geometric.utils import erdos_renyi_graph

import gsnn
from gsnn.ann import GCN

NODES, FEATURES, CLASSES = 40, 6, 3


@pytest.fixture(scope="module")
def graph():
    torch.manual_seed(0)
    return torch.rand(NODES, FEATURES), erdos_renyi_graph(NODES, 0.15)


def test_a_cached_gcn_runs_on_each_graph_it_is_given(graph):
    # gsnn.ann.GCN builds GCNConv(cached=True), as the CLI trains it
    x, edge_index = graph
    torch.manual_seed(1)
    model = GCN(FEATURES, 16, CLASSES).eval()
    uncached = copy.deepcopy(model)
    for conv in uncached.convs:
        conv.cached = False
    snn = gsnn.convert(model, (x, edge_index), method="rate", T=8)
    reference = gsnn.convert(uncached, (x, edge_index), method="rate", T=8)
    other = erdos_renyi_graph(NODES, 0.3)
    no_edges = edge_index[:, :0]
    for edges in (other, no_edges, edge_index):
        torch.testing.assert_close(snn(x, edges), reference(x, edges), rtol=0, atol=0)
    assert not torch.equal(snn(x, no_edges), snn(x, edge_index))
