"""The fast path's shortcuts give the bits of the full path: input checks run once while the
same tensors come back unchanged, and biases are added in place."""

import copy
import pickle

import pytest
import torch
from small_graph import CLASSES, FEATURES, HIDDEN, initialised, small_graph

import gsnn
from gsnn.ann import GCN
from gsnn.nn.unchanged_inputs import UnchangedInputs


@pytest.fixture
def network():
    graph = small_graph()
    model = GCN(FEATURES, HIDDEN, CLASSES, activation="qcfs", qcfs_levels=4)
    snn = gsnn.convert(initialised(model, graph), graph, method="qcfs", T=8)
    return snn, graph


def fresh_call(snn, x, edge_index):
    """The logits of the path that checks everything: new tensors, no cached adjacency."""
    twin = copy.deepcopy(snn)
    for module in twin.modules():
        if hasattr(module, "reset_cache"):
            module.reset_cache()
    return twin(x.clone(), edge_index.clone())


def test_repeated_calls_give_the_bits_of_a_fully_checked_call(network):
    snn, graph = network
    first = snn(graph.x, graph.edge_index)
    second = snn(graph.x, graph.edge_index)  # checks skipped
    assert torch.equal(second, first)
    assert torch.equal(second, fresh_call(snn, graph.x, graph.edge_index))


def test_features_written_in_place_are_checked_again(network):
    snn, graph = network
    x = graph.x.clone()
    snn(x, graph.edge_index)
    x[3, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN or infinite"):
        snn(x, graph.edge_index)


def test_edges_written_in_place_rebuild_the_cached_adjacency(network):
    snn, graph = network
    edge_index = graph.edge_index.clone()
    snn(graph.x, edge_index)
    edge_index[0, :5] = edge_index[0, :5].flip(0)
    assert torch.equal(snn(graph.x, edge_index), fresh_call(snn, graph.x, edge_index))
    edge_index[1, 0] = 10_000
    with pytest.raises(ValueError, match="refers to node 10000"):
        snn(graph.x, edge_index)


def test_the_memory_is_neither_pickled_nor_deep_copied():
    memory, tensor = UnchangedInputs(), torch.zeros(3)
    memory.remember(tensor, None)
    assert memory.same(tensor, None)
    assert not memory.same(tensor.clone(), None) and not memory.same(tensor)
    assert not pickle.loads(pickle.dumps(memory)).same(tensor, None)
    assert not copy.deepcopy(memory).same(tensor, None)
    tensor.add_(1)
    assert not memory.same(tensor, None)


def test_biases_added_in_place_give_the_bits_of_an_added_copy(network):
    snn, graph = network
    layer = snn.body.convs.get_submodule("1")
    spikes = (torch.rand(8, graph.num_nodes, layer.in_channels) < 0.4).double()
    adjacency = layer.adjacency(spikes, graph.edge_index, None)
    expected = adjacency.propagate(layer.lin(spikes)) + layer.bias
    assert torch.equal(layer(spikes, graph.edge_index), expected)
    linear = gsnn.nn.SpikingLinear(layer.in_channels, 3).double()
    assert torch.equal(linear(spikes), linear.linear_map(spikes) + linear.bias)
    constant = graph.x.unsqueeze(0).expand(8, -1, -1)  # analog input: one step computed
    linear = gsnn.nn.SpikingLinear(FEATURES, 3).double()
    assert torch.equal(linear(constant), linear.linear_map(constant) + linear.bias)


def test_weighted_steps_add_their_bias_in_place_with_the_same_bits():
    torch.manual_seed(0)
    linear = gsnn.nn.SpikingLinear(4, 3).double()
    linear.step_gains = 2.0 ** -torch.arange(5, dtype=torch.float64)
    linear.bias_gains = torch.tensor([1.0, 0, 0, 0, 0], dtype=torch.float64)
    for x in (torch.rand(5, 7, 4, dtype=torch.float64), torch.rand(7, 4).double().expand(5, 7, 4)):
        steps = linear.linear_map(x) * linear.step_gains.view(-1, 1, 1)
        expected = steps + linear.bias_gains.view(-1, 1, 1) * linear.bias
        assert torch.equal(linear(x), expected)
