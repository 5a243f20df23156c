"""gsnn.save / gsnn.load: a file of tensors and primitive containers, no code, exact round trip."""

import pickle

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn import GCNConv, GraphConv, SAGEConv, SGConv
from torch_geometric.utils import erdos_renyi_graph

import gsnn
from gsnn.ann import make_activation
from gsnn.methods import METHODS
from gsnn.serialization import FORMAT_VERSION, SerializationError

T = 8  # a multiple of phase's period K = 8


def activation(method: str) -> nn.Module:
    """The first activation the method accepts, with fixed bounds (no data-based init)."""
    kind = METHODS[method].accepted_activations[0]
    return make_activation(kind, qcfs_levels=T, qcfs_init=1.0, noisy_qc_steps=T, clip_init=1.0)


class GraphNet(nn.Module):
    """Four PyG graph layers, one edge-weighted, a residual add and log_softmax."""

    def __init__(self, method: str, features: int = 5, hidden: int = 8, classes: int = 3):
        super().__init__()
        self.conv1 = GCNConv(features, hidden, cached=True)
        self.conv2 = SAGEConv(hidden, hidden)
        self.conv3 = GraphConv(hidden, hidden)
        self.conv4 = SGConv(hidden, classes, K=2)
        self.acts = nn.ModuleList(activation(method) for _ in range(3))

    def forward(self, x, edge_index, edge_weight):
        h = self.acts[0](self.conv1(x, edge_index, edge_weight))
        h = self.acts[1](self.conv2(h, edge_index)) + h
        h = self.acts[2](self.conv3(h, edge_index, edge_weight))
        return F.log_softmax(self.conv4(h, edge_index), dim=-1)


class ImageNet(nn.Module):
    """Conv - BN - act - pool twice (one residual), flatten, linear."""

    def __init__(self, method: str):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.act1, self.act2 = activation(method), activation(method)
        self.pool = nn.AvgPool2d(2)
        self.fc = nn.Linear(4 * 2 * 2, 3)

    def forward(self, x):
        h = self.pool(self.act1(self.bn1(self.conv1(x))))
        h = self.act2(self.conv2(h)) + h
        return self.fc(torch.flatten(self.pool(h), 1))


@pytest.fixture(scope="module")
def graph():
    generator = torch.Generator().manual_seed(0)
    edge_index = erdos_renyi_graph(30, 0.2)
    weight = 0.5 + torch.rand(edge_index.shape[1], generator=generator)
    return torch.rand(30, 5, generator=generator), edge_index, weight


def trained_like(model: nn.Module, seed: int) -> nn.Module:
    """Random weights and batch norm statistics, then eval mode."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 1.5)
    return model.eval()


def assert_same_outputs(snn, loaded, inputs):
    with torch.no_grad():
        expected, got = snn(*inputs), loaded(*inputs)
    assert torch.equal(got, expected)
    assert torch.equal(loaded.last_step_logits, snn.last_step_logits)
    assert loaded.last_stats.table() == snn.last_stats.table()


def round_trip(snn, path):
    gsnn.save(snn, path)
    return gsnn.load(path)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_graph_network_round_trip_is_bitwise_exact(method, graph, tmp_path):
    model = trained_like(GraphNet(method), 1)
    snn = gsnn.convert(model, graph, method=method, T=T)
    loaded = round_trip(snn, tmp_path / "snn.pt")
    assert type(loaded.method) is type(snn.method) and repr(loaded.method) == repr(snn.method)
    assert loaded.T == T and loaded.depth == snn.depth
    assert_same_outputs(snn, loaded, graph)
    other = (graph[0], erdos_renyi_graph(30, 0.3), None)  # the cache is rebuilt, not saved
    other = other[:2] + (torch.ones(other[1].shape[1]),)
    assert_same_outputs(snn, loaded, other)
    snn.T = loaded.T = 2 * T  # neurons rebuilt from the saved thresholds
    assert_same_outputs(snn, loaded, graph)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_image_network_round_trip_is_bitwise_exact(method, tmp_path):
    images = torch.rand(6, 2, 8, 8, generator=torch.Generator().manual_seed(2))
    snn = gsnn.convert(trained_like(ImageNet(method), 3), images, method=method, T=T)
    loaded = round_trip(snn, tmp_path / "snn.pt")
    assert_same_outputs(snn, loaded, (images,))
    snn.T = loaded.T = 2 * T
    assert_same_outputs(snn, loaded, (images,))


def test_coding_and_chunking_survive_a_round_trip(graph, tmp_path):
    x = graph[0]
    model = trained_like(GraphNet("rate"), 4)
    snn = gsnn.convert(model, graph, method="rate", T=T, coding="deterministic")
    snn.steps_per_chunk = 3
    loaded = round_trip(snn, tmp_path / "snn.pt")
    assert loaded.steps_per_chunk == 3 and type(loaded.coder) is type(snn.coder)
    assert_same_outputs(snn, loaded, (x,) + graph[1:])


def primitive_only(value) -> bool:
    if value is None or isinstance(value, (bool, int, float, str, torch.Tensor)):
        return type(value) in (bool, int, float, str, torch.Tensor, type(None))
    if isinstance(value, (list, tuple)):
        return type(value) in (list, tuple) and all(primitive_only(item) for item in value)
    if type(value) is dict:
        return all(type(key) is str and primitive_only(item) for key, item in value.items())
    return False


def test_the_file_holds_only_tensors_and_primitive_containers(graph, tmp_path):
    snn = gsnn.convert(trained_like(GraphNet("qcfs"), 5), graph, method="qcfs", T=T)
    gsnn.save(snn, tmp_path / "snn.pt")
    payload = torch.load(tmp_path / "snn.pt", weights_only=True)
    assert primitive_only(payload)
    assert payload["gsnn_version"] == gsnn.__version__
    assert payload["format_version"] == list(FORMAT_VERSION)


def test_a_newer_major_format_is_refused_with_the_fix(graph, tmp_path):
    snn = gsnn.convert(trained_like(GraphNet("rate"), 6), graph, method="rate", T=T)
    gsnn.save(snn, tmp_path / "snn.pt")
    payload = torch.load(tmp_path / "snn.pt", weights_only=True)
    payload["format_version"] = [FORMAT_VERSION[0] + 1, 0]
    payload["gsnn_version"] = "9.0.0"
    torch.save(payload, tmp_path / "newer.pt")
    with pytest.raises(SerializationError, match=r"saved by gsnn 9\.0\.0 .*Upgrade gsnn"):
        gsnn.load(tmp_path / "newer.pt")
    payload["format_version"] = [FORMAT_VERSION[0], FORMAT_VERSION[1] + 1]  # newer minor: fine
    torch.save(payload, tmp_path / "minor.pt")
    assert_same_outputs(snn, gsnn.load(tmp_path / "minor.pt"), graph)


def rename_class(payload, old="gsnn.neurons.if_neuron.IFNeuron", new="os.system"):
    if isinstance(payload, list):
        return [rename_class(item, old, new) for item in payload]
    if isinstance(payload, dict):
        return {k: new if v == old else rename_class(v, old, new) for k, v in payload.items()}
    return payload


def graph_nodes(payload):
    body = next(child for name, child in payload["network"]["children"]["dict"] if name == "body")
    return body["graph"]


def call_eval(payload):
    node = next(node for node in graph_nodes(payload) if node["op"] == "call_function")
    node["target"] = {"function": "builtins.eval"}
    return payload


def call_numpy(payload):
    node = next(node for node in graph_nodes(payload) if node["op"] == "call_function")
    node["op"], node["target"] = "call_method", "numpy"
    return payload


@pytest.mark.parametrize(
    "tamper, message",
    [
        (rename_class, "class 'os.system'.*SAFE_CLASSES"),
        (call_eval, "'builtins.eval'.*SAFE_FUNCTIONS"),
        (call_numpy, r"Tensor\.numpy.*SAFE_METHODS"),
    ],
)
def test_names_outside_the_whitelists_are_refused(graph, tmp_path, tamper, message):
    snn = gsnn.convert(trained_like(GraphNet("qcfs"), 7), graph, method="qcfs", T=T)
    gsnn.save(snn, tmp_path / "snn.pt")
    tampered = tamper(torch.load(tmp_path / "snn.pt", weights_only=True))
    torch.save(tampered, tmp_path / "tampered.pt")
    with pytest.raises(SerializationError, match=message):
        gsnn.load(tmp_path / "tampered.pt")


class _Planted:
    def __reduce__(self):
        return (print, ("code from the file ran",))


def test_a_pickled_object_in_the_file_is_refused_unrun(tmp_path, capsys):
    torch.save({"format": "gsnn.SpikingNetwork", "network": _Planted()}, tmp_path / "bad.pt")
    with pytest.raises(SerializationError, match="not a network saved by gsnn.save"):
        gsnn.load(tmp_path / "bad.pt")
    assert "code from the file ran" not in capsys.readouterr().out
    (tmp_path / "plain.pickle").write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(SerializationError, match="not a network saved by gsnn.save"):
        gsnn.load(tmp_path / "plain.pickle")


def test_saving_refuses_what_it_cannot_describe(graph, tmp_path):
    snn = gsnn.convert(trained_like(GraphNet("rate"), 8), graph, method="rate", T=T)
    snn.coder = nn.Tanh()  # not a coder gsnn knows
    with pytest.raises(SerializationError, match=r"snn.*torch\.nn\.modules\.activation\.Tanh"):
        gsnn.save(snn, tmp_path / "snn.pt")
    with pytest.raises(SerializationError, match="gsnn.save writes a SpikingNetwork"):
        gsnn.save(nn.Linear(2, 2), tmp_path / "linear.pt")
    handle = snn.body.register_forward_hook(lambda *args: None)
    snn.coder = gsnn.coding.AnalogCoder()
    with pytest.raises(SerializationError, match="hooks"):
        gsnn.save(snn, tmp_path / "snn.pt")
    handle.remove()
