"""GraphAdjacency.from_edges builds the CSR matrix torch's COO coalesce builds, bit for bit."""

import warnings

import pytest
import torch
from torch_geometric.nn.conv.gcn_conv import gcn_norm

from gsnn.nn import GraphAdjacency


def coalesced(edge_index, edge_weight, num_nodes, dtype):
    """The adjacency as torch's sparse COO tensor coalesces it (the build before)."""
    if edge_weight is None:
        edge_weight = torch.ones(edge_index.shape[1], dtype=dtype)
    coo = torch.sparse_coo_tensor(
        edge_index.flip(0), edge_weight.to(dtype), (num_nodes, num_nodes)
    ).coalesce()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        matrix = coo.to_sparse_csr()
    return matrix, torch.bincount(coo.indices()[1], minlength=num_nodes)


def assert_same_bits(adjacency, expected):
    matrix, fanout = expected
    for ours, theirs in (
        (adjacency.matrix.crow_indices(), matrix.crow_indices()),
        (adjacency.matrix.col_indices(), matrix.col_indices()),
        (adjacency.matrix.values(), matrix.values()),
        (adjacency.source_fanout, fanout),
    ):
        assert ours.dtype == theirs.dtype and torch.equal(ours, theirs)


def badly_scaled(generator, count, dtype):
    """Weights over many orders of magnitude: a sum of three or more of them depends on
    the order its terms are added in."""
    return (
        torch.randn(count, generator=generator)
        * torch.exp(8 * torch.randn(count, generator=generator))
    ).to(dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_duplicates_add_up_in_coalesce_order(dtype):
    generator = torch.Generator().manual_seed(0)
    num_nodes, num_edges = 30, 4000  # about 4 copies of every (target, source) pair
    edge_index = torch.randint(num_nodes, (2, num_edges), generator=generator)
    weight = badly_scaled(generator, num_edges, dtype)
    adjacency = GraphAdjacency.from_edges(edge_index, weight, num_nodes, dtype)
    assert_same_bits(adjacency, coalesced(edge_index, weight, num_nodes, dtype))
    # the test has teeth: adding the same terms in their given order changes some sums
    reordered = torch.zeros(num_nodes * num_nodes, dtype=dtype)
    for index in range(num_edges):
        key = edge_index[1, index] * num_nodes + edge_index[0, index]
        reordered[key] += weight[index]
    dense = adjacency.matrix.to_dense().reshape(-1)
    assert not torch.equal(dense, reordered) and torch.allclose(dense, reordered, rtol=1e-3)


@pytest.mark.parametrize(
    "edge_index, num_nodes",
    [
        (torch.tensor([[0, 1, 2, 2], [1, 2, 0, 2]]), 5),  # a self loop, isolated nodes
        (torch.tensor([[3, 0, 3], [1, 1, 1]]), 4),  # duplicates of one edge
        (torch.empty(2, 0, dtype=torch.long), 3),  # no edges
    ],
)
def test_small_graphs_without_weights(edge_index, num_nodes):
    adjacency = GraphAdjacency.from_edges(edge_index, None, num_nodes, torch.float32)
    assert_same_bits(adjacency, coalesced(edge_index, None, num_nodes, torch.float32))


def test_gcn_normalised_random_graph():
    generator = torch.Generator().manual_seed(1)
    edge_index = torch.randint(2000, (2, 20_000), generator=generator)
    adjacency = GraphAdjacency.gcn_normalised(edge_index, None, 2000, torch.float32)
    normalised, weight = gcn_norm(edge_index, None, 2000, False, True, dtype=torch.float32)
    assert_same_bits(adjacency, coalesced(normalised, weight, 2000, torch.float32))
