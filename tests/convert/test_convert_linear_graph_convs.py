"""Converting models written with the linear PyG convolutions, PyG's Linear and in-place ReLUs.

Oracles: qcfs at T = L equals its QCFS ANN (O5) for a two-layer model of each
conv; batch norm folds into each conv (O15); per-channel thresholds fold into
each conv's input weights (O19); in-place activations and PyG's ``Linear``
convert to the very network their out-of-place / ``torch.nn`` forms give.
"""

import pytest
import torch
import torch.nn.functional as F
from test_convert_exactness import CLASSES, FEATURES, HIDDEN, NODES, graph, randomise_batch_norm_
from torch import nn
from torch_geometric.data import Data
from torch_geometric.nn import (
    ChebConv,
    ClusterGCNConv,
    GCNConv,
    LEConv,
    Linear,
    MixHopConv,
    SSGConv,
    TAGConv,
)

import gsnn
from gsnn.ann import QCFS
from gsnn.coding import AnalogCoder

__all__ = ["graph"]  # the shared module fixture

# conv(in, out) and the width of its output for out channels
CONVS = {
    "cluster_gcn": (lambda i, o: ClusterGCNConv(i, o, diag_lambda=0.5), 1),
    "tag": (lambda i, o: TAGConv(i, o, K=2), 1),
    "cheb": (lambda i, o: ChebConv(i, o, K=3), 1),
    "cheb_rw": (lambda i, o: ChebConv(i, o, K=3, normalization="rw"), 1),
    "ssg": (lambda i, o: SSGConv(i, o, alpha=0.1, K=2), 1),
    "mixhop": (lambda i, o: MixHopConv(i, o), 3),
    "le": (lambda i, o: LEConv(i, o), 1),
}


class TwoConvNet(nn.Module):
    """``conv1 -> act -> conv2``, as PyG's examples write a two-layer network."""

    def __init__(self, conv, width, act, norm=None):
        super().__init__()
        self.conv1 = conv(FEATURES, HIDDEN)
        self.norm = norm
        self.act = act
        self.conv2 = conv(width * HIDDEN, CLASSES)

    def forward(self, x, edge_index):
        h = self.conv1(x, edge_index)
        if self.norm is not None:
            h = self.norm(h)
        return self.conv2(self.act(h), edge_index)


@pytest.fixture(scope="module")
def graph64(graph):
    return Data(x=graph.x.double(), edge_index=graph.edge_index)


@pytest.mark.parametrize("name", list(CONVS))
def test_qcfs_at_T_equal_L_equals_the_qcfs_ann(graph64, name):
    conv, width = CONVS[name]
    levels = 4
    torch.manual_seed(3)
    model = TwoConvNet(conv, width, QCFS(levels=levels, init_threshold=1.0)).double().eval()
    x, edge_index = graph64.x, graph64.edge_index
    with torch.no_grad():
        ann_out = model(x, edge_index)
        quantised = model.act(model.conv1(x, edge_index))
    assert quantised.unique().numel() >= levels  # the levels do occur: the oracle has teeth

    snn = gsnn.convert(model, graph64, method="qcfs", T=levels, check=False)
    with torch.no_grad():
        snn_out = snn(x, edge_index)
    assert snn_out.shape == ann_out.shape == (NODES, width * CLASSES)
    torch.testing.assert_close(snn_out, ann_out, rtol=0, atol=1e-12)
    assert not [m for m in snn.body.modules() if type(m).__module__.startswith("torch_geometric")]


@pytest.mark.parametrize("name", list(CONVS))
def test_batch_norm_folds_into_the_conv(graph64, name):
    conv, width = CONVS[name]
    torch.manual_seed(4)
    norm = nn.BatchNorm1d(width * HIDDEN)
    randomise_batch_norm_(norm, torch.Generator().manual_seed(4))
    model = TwoConvNet(conv, width, nn.ReLU(), norm).double().eval()
    x, edge_index = graph64.x, graph64.edge_index
    with torch.no_grad():
        expected = model.norm(model.conv1(x, edge_index))

    snn = gsnn.convert(model, graph64, method="rate", T=4, check=False)
    assert not [m for m in snn.modules() if isinstance(m, nn.BatchNorm1d)]
    with torch.no_grad():
        currents = snn.body.conv1(AnalogCoder()(x, 3), edge_index)
    for step in range(3):
        torch.testing.assert_close(currents[step], expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", list(CONVS))
def test_per_channel_thresholds_fold_into_the_receiving_conv(graph64, name):
    conv, width = CONVS[name]
    torch.manual_seed(5)
    model = TwoConvNet(conv, width, nn.ReLU()).double().eval()
    snn = gsnn.convert(model, graph64, method="rate", T=4, channel_wise=True, check=False)
    ((_, neuron),) = snn.neurons()
    theta = neuron.threshold.double()
    assert theta.shape == (width * HIDDEN,) and theta.unique().numel() > 1

    generator = torch.Generator().manual_seed(5)
    spikes = (torch.rand(3, NODES, width * HIDDEN, generator=generator) < 0.4).double()
    with torch.no_grad():
        currents = snn.body.conv2(spikes, graph64.edge_index)
        for step in range(3):
            expected = model.conv2(spikes[step] * theta, graph64.edge_index)
            torch.testing.assert_close(currents[step], expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", list(CONVS))
def test_saved_and_loaded_network_is_bitwise_the_same(graph, name, tmp_path):
    conv, width = CONVS[name]
    torch.manual_seed(6)
    model = TwoConvNet(conv, width, nn.ReLU()).eval()
    snn = gsnn.convert(model, graph, method="rate", T=8, check=False)
    gsnn.save(snn, tmp_path / "snn.pt")
    loaded = gsnn.load(tmp_path / "snn.pt")
    with torch.no_grad():
        assert torch.equal(loaded(graph.x, graph.edge_index), snn(graph.x, graph.edge_index))


# ------------------------------------------------------------------- in-place activations
class GCNWithActivation(nn.Module):
    def __init__(self, style):
        super().__init__()
        self.style = style
        self.conv1, self.conv2 = GCNConv(FEATURES, HIDDEN), GCNConv(HIDDEN, CLASSES)
        self.lin = nn.Linear(HIDDEN, CLASSES)
        self.act = nn.ReLU(inplace=style == "module_inplace")

    def forward(self, x, edge_index):
        h = self.conv1(x, edge_index)
        if self.style == "functional":
            h = F.relu(h)
        elif self.style == "method_inplace":  # examples/reddit.py
            h = h.relu_()
        elif self.style == "functional_inplace":
            h = F.relu(h, inplace=True)
        elif self.style == "module_inplace":
            h = self.act(h)
        elif self.style == "unassigned_inplace":  # the result lives on in h
            h.relu_()
        return self.conv2(h, edge_index) + self.lin(h)  # both read the activated h


@pytest.mark.parametrize(
    "style", ["method_inplace", "functional_inplace", "module_inplace", "unassigned_inplace"]
)
def test_in_place_relu_converts_to_the_network_of_its_out_of_place_form(graph, style):
    torch.manual_seed(6)
    reference = GCNWithActivation("functional").eval()
    model = GCNWithActivation(style).eval()
    model.load_state_dict(reference.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(
            model(graph.x, graph.edge_index), reference(graph.x, graph.edge_index)
        )
    expected = gsnn.convert(reference, graph, method="rate", T=16, check=False)
    snn = gsnn.convert(model, graph, method="rate", T=16, check=False)
    assert len(snn.neurons()) == 1
    with torch.no_grad():
        assert torch.equal(snn(graph.x, graph.edge_index), expected(graph.x, graph.edge_index))


# ------------------------------------------------------------- torch_geometric.nn.Linear
class RedditStyleMLP(nn.Module):
    """Two of PyG's ``Linear`` with ``x.relu_()``, as examples/reddit.py writes them."""

    def __init__(self, linear=Linear):
        super().__init__()
        self.lin1, self.lin2 = linear(FEATURES, HIDDEN), linear(HIDDEN, CLASSES)

    def forward(self, x):
        return self.lin2(self.lin1(x).relu_())


def test_pyg_linear_converts_like_torch_linear(graph):
    torch.manual_seed(7)
    model = RedditStyleMLP().eval()
    reference = RedditStyleMLP(nn.Linear).eval()
    reference.load_state_dict(model.state_dict())
    snn = gsnn.convert(model, graph.x, method="rate", T=16, check=False)
    expected = gsnn.convert(reference, graph.x, method="rate", T=16, check=False)
    with torch.no_grad():
        assert torch.equal(snn(graph.x), expected(graph.x))


def test_lazy_pyg_linear_converts_once_the_model_has_run(graph):
    """The converter runs the model before tracing, which initialises lazy layers."""
    torch.manual_seed(8)
    model = RedditStyleMLP(lambda i, o: Linear(-1, o)).eval()
    snn = gsnn.convert(model, graph.x, method="rate", T=16, check=False)
    reference = RedditStyleMLP().eval()
    reference.load_state_dict(model.state_dict())  # the weights it was initialised with
    expected = gsnn.convert(reference, graph.x, method="rate", T=16, check=False)
    with torch.no_grad():
        assert torch.equal(snn(graph.x), expected(graph.x))
