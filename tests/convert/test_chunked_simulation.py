"""Running online codes in chunks of steps (design §5): same outputs and statistics, less memory."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch_geometric.data import Data
from torch_geometric.utils import erdos_renyi_graph

import gsnn
from gsnn.ann import GCN

NODES, FEATURES, HIDDEN, CLASSES, T = 30, 8, 10, 3, 8
F64 = torch.float64

# (method, options, ANN activation) for every method whose neurons run online
ONLINE = [
    ("rate", {}, "relu"),
    ("burst", {"burst": 2}, "relu"),
    ("optimal", {}, "threshold_relu"),
    ("qcfs", {}, "qcfs"),
    ("dual-phase", {"calibrate_weights": False}, "qcfs"),
    ("two-phase", {"signed": True}, "qcfs"),
]


@pytest.fixture(scope="module")
def graph() -> Data:
    torch.manual_seed(0)
    return Data(x=torch.rand(NODES, FEATURES, dtype=F64), edge_index=erdos_renyi_graph(NODES, 0.15))


class PoolingCNN(nn.Module):
    """Max pooling called at two sites (one ANN module), then a linear readout."""

    def __init__(self, activation: str):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(2, 4, 3, padding=1), nn.Conv2d(4, 4, 3, padding=1)
        self.act1 = gsnn.ann.make_activation(activation, qcfs_levels=4)
        self.act2 = gsnn.ann.make_activation(activation, qcfs_levels=4)
        self.pool, self.fc = nn.MaxPool2d(2), nn.Linear(4 * 2 * 2, CLASSES)

    def forward(self, x):
        h = self.pool(self.act1(self.conv1(x)))
        return self.fc(self.pool(self.act2(self.conv2(h))).flatten(1))


def initialised(model, *inputs):
    """One training-mode pass sets data-based QCFS bounds; then eval mode."""
    model.train()
    with torch.no_grad():
        model(*inputs)
    return model.eval()


def assert_same_run(one_pass, chunked):
    output_a, stats_a, steps_a = one_pass
    output_b, stats_b, steps_b = chunked
    torch.testing.assert_close(output_b, output_a, rtol=0, atol=1e-12)
    torch.testing.assert_close(steps_b, steps_a, rtol=0, atol=1e-12)
    assert stats_b.time_steps == stats_a.time_steps
    assert [layer.name for layer in stats_b.layers] == [layer.name for layer in stats_a.layers]
    for a, b in zip(stats_a.layers, stats_b.layers):
        assert (b.neurons, b.spikes, b.macs, b.ann_macs) == (
            a.neurons,
            a.spikes,
            a.macs,
            a.ann_macs,
        )
        assert b.synaptic_ops == pytest.approx(a.synaptic_ops, rel=1e-12)
        assert sorted(b.per_step) == sorted(a.per_step)
        for name in a.per_step:
            torch.testing.assert_close(b.per_step[name], a.per_step[name], rtol=1e-12, atol=0)


def run(snn, *inputs):
    with torch.no_grad():
        output = snn(*inputs)
    return output, snn.last_stats, snn.last_step_logits.clone()


@pytest.mark.parametrize("chunk", [1, 3, 5, 7])
@pytest.mark.parametrize("method, options, activation", ONLINE, ids=[m[0] for m in ONLINE])
def test_chunked_graph_network_equals_one_pass(graph, method, options, activation, chunk):
    torch.manual_seed(1)
    extra = {"qcfs_levels": 4} if activation == "qcfs" else {}
    model = GCN(
        FEATURES, HIDDEN, CLASSES, num_layers=3, activation=activation, residual=True, **extra
    ).double()
    model = initialised(model, graph.x, graph.edge_index)
    snn = gsnn.convert(model, graph, method=method, T=T, **options)
    one_pass = run(snn, graph.x, graph.edge_index)
    snn.steps_per_chunk = chunk
    assert_same_run(one_pass, run(snn, graph.x, graph.edge_index))
    assert snn.steps_per_chunk == chunk  # stays set, and the state does not leak between calls
    assert_same_run(one_pass, run(snn, graph.x, graph.edge_index))


@pytest.mark.parametrize("chunk", [1, 3])
@pytest.mark.parametrize("method, options, activation", ONLINE, ids=[m[0] for m in ONLINE])
def test_chunked_cnn_with_max_pooling_equals_one_pass(method, options, activation, chunk):
    torch.manual_seed(2)
    images = torch.randn(6, 2, 8, 8, dtype=F64)
    model = initialised(PoolingCNN(activation).double(), images)
    snn = gsnn.convert(model, images, method=method, T=T, **options)
    one_pass = run(snn, images)
    snn.steps_per_chunk = chunk
    assert_same_run(one_pass, run(snn, images))


@pytest.mark.parametrize("method", ["two-phase", "one-spike", "css", "phase"])
def test_windowed_methods_refuse_chunks_with_the_reason(graph, method):
    torch.manual_seed(3)
    activation = "qcfs" if method == "two-phase" else "relu"
    extra = {"qcfs_levels": 4} if activation == "qcfs" else {}
    model = initialised(
        GCN(FEATURES, HIDDEN, CLASSES, activation=activation, **extra).double(),
        graph.x,
        graph.edge_index,
    )
    snn = gsnn.convert(model, graph, method=method, T=8)
    with pytest.raises(ValueError, match="Only online methods run in chunks"):
        snn.steps_per_chunk = 2
    assert snn.steps_per_chunk is None


@pytest.mark.parametrize("value", [0, -2, 2.5, True, "4"])
def test_steps_per_chunk_is_validated(graph, value):
    model = GCN(FEATURES, HIDDEN, CLASSES).double().eval()
    snn = gsnn.convert(model, graph, method="rate", T=4)
    with pytest.raises(ValueError, match="steps_per_chunk"):
        snn.steps_per_chunk = value


class TinyMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(4, 3), nn.Linear(3, 2)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


def test_bytes_per_step_counts_every_intermediate_result_of_one_step():
    torch.manual_seed(4)
    x = torch.rand(10, 4)
    snn = gsnn.convert(TinyMLP().eval(), x, method="rate", T=8)
    # one step, 10 samples, float32: fc1 currents (3), spikes (3), output currents (2)
    assert snn.bytes_per_step(x) == 4 * 10 * (3 + 3 + 2)
    assert snn.bytes_per_step(torch.rand(20, 4)) == 4 * 20 * (3 + 3 + 2)


def test_convert_runs_its_agreement_check_in_chunks(graph):
    torch.manual_seed(6)
    model = GCN(FEATURES, HIDDEN, CLASSES, num_layers=3).double().eval()
    whole = gsnn.convert(model, graph, method="rate", T=T)
    chunked = gsnn.convert(model, graph, method="rate", T=T, steps_per_chunk=3)
    assert chunked.steps_per_chunk == 3
    assert chunked.conversion_check == whole.conversion_check
    with pytest.raises(ValueError, match="Only online methods run in chunks"):
        gsnn.convert(model, graph, method="one-spike", T=T, steps_per_chunk=3)


class LargestResult(TorchDispatchMode):
    """Notes the largest tensor any op returns while it is active."""

    def __init__(self):
        super().__init__()
        self.numel = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for result in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(result, torch.Tensor):
                self.numel = max(self.numel, result.numel())
        return out


@pytest.mark.parametrize("coding", ["bernoulli", "deterministic"])
def test_chunked_spike_coding_never_builds_the_whole_input_code(coding):
    # wide inputs, narrow layers: the [T, N, F] code would be the largest tensor by far
    torch.manual_seed(7)
    nodes, features, steps, chunk = 20, 64, 32, 4
    x, edge_index = torch.rand(nodes, features), erdos_renyi_graph(nodes, 0.2)
    model = GCN(features, 4, CLASSES).eval()
    snn = gsnn.convert(model, (x, edge_index), method="rate", T=steps, coding=coding)
    snn.coder = type(snn.coder)(seed=0) if coding == "bernoulli" else snn.coder
    one_pass = snn(x, edge_index)
    snn.steps_per_chunk = chunk
    with torch.no_grad(), LargestResult() as largest:
        chunked = snn(x, edge_index)
    assert largest.numel <= chunk * nodes * features
    assert torch.equal(chunked, one_pass)


@pytest.mark.parametrize("coding", ["bernoulli", "deterministic"])
def test_bytes_per_step_counts_a_spike_coded_input(coding):
    torch.manual_seed(8)
    x = torch.rand(10, 4)
    snn = gsnn.convert(TinyMLP().eval(), x, method="rate", T=8, coding=coding)
    # as for analog input, plus one step of the input code (10 samples, 4 values)
    assert snn.bytes_per_step(x) == 4 * 10 * (3 + 3 + 2) + 4 * 10 * 4


@pytest.mark.parametrize("budget", [float("nan"), float("inf"), -1, 0, "1GB", None])
def test_plan_chunks_refuses_a_budget_that_is_not_a_positive_number(graph, budget):
    model = GCN(FEATURES, HIDDEN, CLASSES).double().eval()
    snn = gsnn.convert(model, graph, method="rate", T=4)
    with pytest.raises(ValueError, match="memory_bytes must be"):
        snn.plan_chunks(budget, graph.x, graph.edge_index)
