"""SpikingNetwork behaviour: streaming equivalence, per-step logits, changing T."""

import copy
import threading

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.data import Data
from torch_geometric.nn import GCNConv
from torch_geometric.utils import erdos_renyi_graph

import gsnn
from gsnn.ann import GCN
from gsnn.metrics import SpikeStats
from gsnn.neurons import IFNeuron

NODES, FEATURES, HIDDEN, CLASSES = 36, 10, 12, 4


@pytest.fixture(scope="module")
def graph() -> Data:
    torch.manual_seed(0)
    return Data(x=torch.rand(NODES, FEATURES), edge_index=erdos_renyi_graph(NODES, 0.12))


class ThreeLayerLogSoftmax(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = GCNConv(FEATURES, HIDDEN)
        self.conv2 = GCNConv(HIDDEN, HIDDEN)
        self.conv3 = GCNConv(HIDDEN, CLASSES)

    def forward(self, x, edge_index):
        h = F.relu(self.conv1(x, edge_index))
        h = F.relu(self.conv2(h, edge_index) + h)
        return F.log_softmax(self.conv3(h, edge_index), dim=1)


def three_layer(activation: str) -> GCN:
    options = {"threshold_relu": {"threshold": 0.5}, "qcfs": {"qcfs_levels": 4}}.get(activation, {})
    return GCN(FEATURES, HIDDEN, CLASSES, num_layers=3, activation=activation, **options)


STREAMING_CASES = [
    ("relu", "rate", "analog"),
    ("relu", "rate", "deterministic"),
    ("threshold_relu", "optimal", "analog"),
    ("qcfs", "qcfs", "analog"),
]


@pytest.mark.parametrize("activation,method,coding", STREAMING_CASES)
def test_forward_stepwise_equals_forward(graph, activation, method, coding):
    torch.manual_seed(1)
    model = three_layer(activation).eval()
    snn = gsnn.convert(model, graph, method=method, T=12, coding=coding, check=False)
    with torch.no_grad():
        batched = snn(graph.x, graph.edge_index)
        batched_steps = snn.last_step_logits.clone()
        streamed = snn.forward_stepwise(graph.x, graph.edge_index)
    torch.testing.assert_close(streamed, batched, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(snn.last_step_logits, batched_steps, rtol=1e-5, atol=1e-6)
    # neurons are left stateless and the network gives the same answer again
    for neuron in (m for m in snn.body.modules() if isinstance(m, IFNeuron)):
        assert neuron.keep_state is False and neuron.membrane is None
    with torch.no_grad():
        torch.testing.assert_close(snn(graph.x, graph.edge_index), batched)


def test_forward_stepwise_with_residual_and_output_op(graph):
    torch.manual_seed(2)
    snn = gsnn.convert(ThreeLayerLogSoftmax().eval(), graph, method="rate", T=10, check=False)
    with torch.no_grad():
        torch.testing.assert_close(
            snn.forward_stepwise(graph.x, graph.edge_index),
            snn(graph.x, graph.edge_index),
            rtol=1e-5,
            atol=1e-6,
        )


def test_last_step_logits_shape_and_last_step(graph):
    torch.manual_seed(3)
    model = three_layer("relu").eval()
    snn = gsnn.convert(model, graph, method="rate", T=8, check=False)
    assert snn.last_step_logits is None and snn.last_stats is None
    with torch.no_grad():
        out = snn(graph.x, graph.edge_index)
    assert out.shape == (NODES, CLASSES)
    assert snn.last_step_logits.shape == (8, NODES, CLASSES)
    torch.testing.assert_close(snn.last_step_logits[-1], out)


def test_last_step_logits_are_running_means_of_the_output_currents(graph):
    """Step t holds the mean of the first t output currents (a mean readout)."""
    torch.manual_seed(4)
    model = three_layer("relu").eval()
    snn = gsnn.convert(model, graph, method="rate", T=6, check=False)
    captured = {}
    output_layer = snn.body.get_submodule("convs.2")
    handle = output_layer.register_forward_hook(lambda m, i, o: captured.setdefault("out", o))
    with torch.no_grad():
        snn(graph.x, graph.edge_index)
    handle.remove()
    currents = captured["out"]
    for t in range(6):
        torch.testing.assert_close(snn.last_step_logits[t], currents[: t + 1].mean(dim=0))


def test_last_step_logits_are_before_the_output_op(graph):
    torch.manual_seed(5)
    snn = gsnn.convert(ThreeLayerLogSoftmax().eval(), graph, method="rate", T=8, check=False)
    with torch.no_grad():
        out = snn(graph.x, graph.edge_index)
    assert snn.last_step_logits.shape == (8, NODES, CLASSES)
    torch.testing.assert_close(out, torch.log_softmax(snn.last_step_logits[-1], dim=1))
    assert not torch.allclose(out, snn.last_step_logits[-1])


@pytest.mark.parametrize("method,activation", [("rate", "relu"), ("optimal", "threshold_relu")])
def test_changing_T_rebuilds_neurons(graph, method, activation):
    torch.manual_seed(6)
    model = three_layer(activation).eval()
    snn = gsnn.convert(model, graph, method=method, T=8, check=False)
    before = {name: neuron for name, neuron in snn.neurons()}
    with torch.no_grad():
        snn(graph.x, graph.edge_index)

    snn.T = 16
    assert snn.T == 16
    after = dict(snn.neurons())
    assert after.keys() == before.keys()
    for name, neuron in after.items():
        assert neuron is not before[name]
        assert neuron is getattr(snn.body, name)  # the body runs the new neuron
        torch.testing.assert_close(neuron.threshold, before[name].threshold)
        if method == "optimal":  # the shift theta / 2T follows T
            torch.testing.assert_close(neuron.shift, neuron.threshold / 32)
    with torch.no_grad():
        out = snn(graph.x, graph.edge_index)
        stepwise = snn.forward_stepwise(graph.x, graph.edge_index)
    assert out.shape == (NODES, CLASSES)
    assert snn.last_step_logits.shape == (16, NODES, CLASSES)
    assert snn.last_stats.time_steps == 16
    torch.testing.assert_close(stepwise, out, rtol=1e-5, atol=1e-6)

    # the result equals that of a network converted at T=16 directly
    direct = gsnn.convert(model, graph, method=method, T=16, check=False)
    with torch.no_grad():
        torch.testing.assert_close(direct(graph.x, graph.edge_index), out)


def test_last_stats_is_spike_stats_of_the_last_call(graph):
    torch.manual_seed(7)
    snn = gsnn.convert(three_layer("relu").eval(), graph, method="rate", T=8, check=False)
    with torch.no_grad():
        snn(graph.x, graph.edge_index)
    first = snn.last_stats
    assert isinstance(first, SpikeStats) and first.time_steps == 8
    assert first.neurons == 2 * NODES * HIDDEN
    with torch.no_grad():
        snn(graph.x, graph.edge_index)
    assert snn.last_stats is not first  # fresh statistics per call, not accumulated
    assert snn.last_stats.spikes == first.spikes
    snn.record_stats = False
    previous = snn.last_stats
    with torch.no_grad():
        snn(graph.x, graph.edge_index)
    assert snn.last_stats is previous


def test_network_is_called_like_the_ann_with_edge_weights(graph):
    class Weighted(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.conv2 = GCNConv(FEATURES, HIDDEN), GCNConv(HIDDEN, CLASSES)

        def forward(self, x, edge_index, edge_weight=None):
            return self.conv2(
                F.relu(self.conv1(x, edge_index, edge_weight)), edge_index, edge_weight
            )

    torch.manual_seed(8)
    weight = torch.rand(graph.edge_index.shape[1]) + 0.5
    data = Data(x=graph.x, edge_index=graph.edge_index, edge_weight=weight)
    model = Weighted().eval()
    snn = gsnn.convert(model, data, method="rate", T=512, percentile=100, check=False)
    with torch.no_grad():
        out = snn(graph.x, graph.edge_index, weight)
        ann = model(graph.x, graph.edge_index, weight)
        unweighted = model(graph.x, graph.edge_index)
    assert (out - ann).abs().max() < (out - unweighted).abs().max()
    torch.testing.assert_close(out, ann, rtol=0, atol=2e-2)


@pytest.mark.parametrize("method", ["two-phase", "one-spike", "css", "phase"])
def test_forward_stepwise_of_a_windowed_method_says_why_and_what_to_use(graph, method):
    activation = "qcfs" if method == "two-phase" else "relu"
    snn = gsnn.convert(three_layer(activation).eval(), graph, method=method, T=8, check=False)
    with pytest.raises(ValueError, match=r"online methods run one step at a time.*forward\(\)"):
        snn.forward_stepwise(graph.x, graph.edge_index)


def test_state_dict_carries_the_thresholds_through_a_change_of_T(graph):
    torch.manual_seed(8)
    model = three_layer("relu").eval()
    snn = gsnn.convert(model, graph, method="rate", T=8, check=False)
    # the same model calibrated on other features: other thresholds
    other = gsnn.convert(model, (graph.x * 3, graph.edge_index), method="rate", T=8, check=False)
    other.load_state_dict(snn.state_dict())
    snn.T = other.T = 16
    with torch.no_grad():
        assert torch.equal(other(graph.x, graph.edge_index), snn(graph.x, graph.edge_index))
    smaller = gsnn.convert(GCN(FEATURES, HIDDEN, CLASSES).eval(), graph, method="rate", T=8)
    with pytest.raises((ValueError, RuntimeError), match="thresholds for the neurons"):
        smaller.load_state_dict(snn.state_dict(), strict=False)


@pytest.mark.parametrize("steps_per_chunk", [None, 2])
def test_one_network_called_from_two_threads_gives_each_its_own_result(steps_per_chunk):
    torch.manual_seed(9)
    nodes = 400
    x, edge_index = torch.rand(nodes, FEATURES), erdos_renyi_graph(nodes, 0.05)
    model = three_layer("relu").eval()
    snn = gsnn.convert(model, (x, edge_index), method="rate", T=16, check=False)
    snn.steps_per_chunk = steps_per_chunk
    inputs = [(x, edge_index), (torch.rand(nodes, FEATURES), erdos_renyi_graph(nodes, 0.05))]
    with torch.no_grad():
        expected = [(snn(*i), snn.last_stats.spikes) for i in inputs]
    start = threading.Barrier(2)
    results = [[], []]

    def run(index):
        start.wait()
        for _ in range(6):
            with torch.no_grad():
                output = snn(*inputs[index])
            results[index].append((output, snn.last_stats.spikes))

    threads = [threading.Thread(target=run, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for index in range(2):
        for output, spikes in results[index]:
            assert torch.equal(output, expected[index][0])
            assert spikes == expected[index][1]  # this thread's statistics, not doubled


def test_a_network_deep_copies_with_its_own_lock(graph):
    snn = gsnn.convert(three_layer("relu").eval(), graph, method="rate", T=8, check=False)
    twin = copy.deepcopy(snn)
    assert twin._lock is not snn._lock
    with torch.no_grad():
        assert torch.equal(twin(graph.x, graph.edge_index), snn(graph.x, graph.edge_index))
    assert twin.last_stats.spikes == snn.last_stats.spikes
