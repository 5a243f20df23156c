"""Max ops over running spike counts (O16): neighbourhood max aggregation and jumping
knowledge "max", against PyG's own ops on the running counts."""

import pytest
import torch
from torch_geometric.nn import JumpingKnowledge, SAGEConv
from torch_geometric.nn.aggr import MaxAggregation
from torch_geometric.utils import erdos_renyi_graph

from gsnn.nn.running_max_aggregation import RunningMaxAggregation
from gsnn.nn.spiking_jumping_knowledge import SpikingJumpingKnowledge
from gsnn.nn.spiking_sage_conv import SpikingSAGEConv

T, NODES, FEATURES = 12, 25, 4


@pytest.fixture(scope="module")
def graph():
    torch.manual_seed(0)
    edge_index = erdos_renyi_graph(NODES, 0.12)
    edge_index = edge_index[:, edge_index[1] != 0]  # node 0 receives nothing: PyG gives 0
    assert (torch.bincount(edge_index[1], minlength=NODES) == 0).any()  # an isolated target
    spikes = (torch.rand(T, NODES, FEATURES) < 0.3).double()
    return edge_index, spikes


def pyg_max(values, edge_index, edge_weight=None):
    """PyG's max aggregation of the messages ``w_e * values[source]`` at every target."""
    messages = values[edge_index[0]]
    if edge_weight is not None:
        messages = messages * edge_weight.view(-1, 1)
    return MaxAggregation()(messages, edge_index[1], dim_size=NODES)


@pytest.mark.parametrize("weighted", [False, True])
def test_neighbour_max_count_equals_pyg_max_of_counts_at_every_prefix(graph, weighted):
    edge_index, spikes = graph
    weight = torch.rand(edge_index.shape[1], dtype=torch.float64) + 0.5 if weighted else None
    out = RunningMaxAggregation()(spikes, edge_index, weight)
    for t in range(1, T + 1):
        expected = pyg_max(spikes[:t].sum(0), edge_index, weight)
        torch.testing.assert_close(out[:t].sum(0), expected, rtol=0, atol=1e-12)
    if not weighted:  # unit weights keep spikes binary
        assert set(out.unique().tolist()) <= {0.0, 1.0}


def test_per_step_max_of_spikes_would_over_count_o16a(graph):
    """The oracle above can fail: a max of each step's spikes counts more than the max count."""
    edge_index, spikes = graph
    per_step = torch.stack([pyg_max(step, edge_index) for step in spikes]).sum(0)
    counted = RunningMaxAggregation()(spikes, edge_index).sum(0)
    assert (per_step > counted).any()
    assert (per_step >= counted).all()


def test_analog_input_gives_the_max_of_the_features_every_step(graph):
    edge_index, _ = graph
    x = torch.randn(NODES, FEATURES, dtype=torch.float64)
    out = RunningMaxAggregation()(x.expand(T, NODES, FEATURES), edge_index)
    expected = pyg_max(x, edge_index)
    for step in out:
        torch.testing.assert_close(step, expected, rtol=0, atol=0)


def test_chunks_with_kept_state_equal_one_pass(graph):
    edge_index, spikes = graph
    aggregation = RunningMaxAggregation()
    whole = aggregation(spikes, edge_index)
    aggregation.keep_state = True
    chunks = torch.cat([aggregation(spikes[s : s + 5], edge_index) for s in range(0, T, 5)])
    torch.testing.assert_close(chunks, whole, rtol=0, atol=0)
    aggregation.reset()
    torch.testing.assert_close(aggregation(spikes[:5], edge_index), whole[:5], rtol=0, atol=0)


def test_sage_max_layer_decodes_to_pyg_sage_max_of_the_rates(graph):
    edge_index, spikes = graph
    torch.manual_seed(1)
    conv = SAGEConv(FEATURES, 3, aggr="max").double()
    layer = SpikingSAGEConv.from_ann(conv)
    with torch.no_grad():
        decoded = layer(spikes, edge_index).mean(0)
        torch.testing.assert_close(decoded, conv(spikes.mean(0), edge_index))


def test_jumping_knowledge_max_equals_pyg_max_of_the_layers_counts(graph):
    _, spikes = graph
    layers = [spikes, spikes.roll(3, dims=0), (torch.rand_like(spikes) < 0.5).double()]
    out = SpikingJumpingKnowledge.from_ann(JumpingKnowledge("max"))(layers)
    for t in range(1, T + 1):
        expected = JumpingKnowledge("max")([x[:t].sum(0) for x in layers])
        torch.testing.assert_close(out[:t].sum(0), expected, rtol=0, atol=0)


def test_jumping_knowledge_cat_is_the_concatenation_at_every_step(graph):
    _, spikes = graph
    layers = [spikes, spikes.roll(3, dims=0)]
    out = SpikingJumpingKnowledge.from_ann(JumpingKnowledge("cat"))(layers)
    for step in range(T):
        assert torch.equal(out[step], JumpingKnowledge("cat")([x[step] for x in layers]))


def test_jumping_knowledge_lstm_is_refused_with_the_reason():
    jk = JumpingKnowledge("lstm", channels=FEATURES, num_layers=2)
    with pytest.raises(ValueError, match="LSTM and a softmax.*jk='cat' or jk='max'"):
        SpikingJumpingKnowledge.from_ann(jk)
