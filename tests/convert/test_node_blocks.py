"""Aggregating in row blocks of the adjacency (nodes_per_block): outputs equal the
unblocked run bit for bit, alone and together with chunks of steps."""

from unittest import mock

import pytest
import torch
from small_graph import CLASSES, FEATURES, HIDDEN, LEVELS, initialised, run, small_graph
from torch_geometric.data import Data
from torch_geometric.nn import SAGEConv

import gsnn
from gsnn.ann import GCN, QCFS, GraphSAGE
from gsnn.nn import GraphAdjacency
from gsnn.nn.graph_adjacency import node_blocks

BLOCKED = GraphAdjacency._propagate_in_blocks


@pytest.fixture(scope="module")
def graph() -> Data:
    return small_graph()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("rows", [1, 7, 39])
def test_propagate_in_blocks_equals_one_matmul(graph, dtype, rows):
    adjacency = GraphAdjacency.gcn_normalised(graph.edge_index, None, graph.num_nodes, dtype)
    torch.manual_seed(1)
    spikes = (torch.rand(5, graph.num_nodes, 9) < 0.4).to(dtype)
    analog = torch.rand(1, graph.num_nodes, 9, dtype=dtype).expand(5, -1, -1)
    for x in (spikes, analog):
        whole = adjacency.propagate(x)
        with node_blocks(rows):
            blocked = adjacency.propagate(x)
        assert torch.equal(blocked, whole)
    assert adjacency.propagate(spikes).shape == (5, graph.num_nodes, 9)


@pytest.mark.parametrize("model_class", [GCN, GraphSAGE])
@pytest.mark.parametrize("steps_per_chunk", [None, 3])
def test_network_in_node_blocks_equals_unblocked(graph, model_class, steps_per_chunk):
    torch.manual_seed(0)
    model = model_class(FEATURES, HIDDEN, CLASSES, activation="qcfs", qcfs_levels=LEVELS)
    snn = gsnn.convert(initialised(model, graph), graph, method="qcfs", T=LEVELS)
    whole = run(snn, graph)
    whole_steps = snn.last_step_logits.clone()
    snn.steps_per_chunk = steps_per_chunk
    snn.nodes_per_block = 6  # 40 nodes: seven blocks
    blocked = run(snn, graph)
    assert torch.equal(blocked, whole)
    assert torch.equal(snn.last_step_logits, whole_steps)
    snn.nodes_per_block = None
    assert torch.equal(run(snn, graph), whole)


def test_forward_stepwise_runs_in_node_blocks_bitwise(graph):
    torch.manual_seed(0)
    model = GCN(FEATURES, HIDDEN, CLASSES, activation="qcfs", qcfs_levels=LEVELS)
    snn = gsnn.convert(initialised(model, graph), graph, method="qcfs", T=LEVELS)
    with torch.no_grad():
        whole = snn.forward_stepwise(graph.x, graph.edge_index)
        whole_steps = snn.last_step_logits.clone()
        snn.nodes_per_block = 6
        with mock.patch.object(
            GraphAdjacency, "_propagate_in_blocks", autospec=True, side_effect=BLOCKED
        ) as blocked:
            stepwise = snn.forward_stepwise(graph.x, graph.edge_index)
    assert blocked.call_count == 2 * LEVELS  # two layers, one step per pass
    assert torch.equal(stepwise, whole)
    assert torch.equal(snn.last_step_logits, whole_steps)


def test_nodes_per_block_refuses_max_aggregation_and_bad_values(graph):
    class MaxSAGE(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = SAGEConv(FEATURES, HIDDEN, aggr="max")
            self.act = QCFS(levels=LEVELS)
            self.conv2 = SAGEConv(HIDDEN, CLASSES, aggr="max")

        def forward(self, x, edge_index):
            return self.conv2(self.act(self.conv1(x, edge_index)), edge_index)

    snn = gsnn.convert(initialised(MaxSAGE(), graph), graph, method="qcfs", T=LEVELS, check=False)
    with pytest.raises(ValueError, match="max aggregation.*cannot run in node blocks"):
        snn.nodes_per_block = 8
    assert snn.nodes_per_block is None
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="nodes_per_block must be"):
            snn.nodes_per_block = bad
