"""Bad input gives a clear ValueError / ConversionError, never a deep torch error."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.data import Data
from torch_geometric.nn import GATConv, GCNConv
from torch_geometric.utils import erdos_renyi_graph

import gsnn
from gsnn import ConversionError
from gsnn.ann import GCN, QCFS

NODES, FEATURES, HIDDEN, CLASSES = 30, 8, 8, 3


@pytest.fixture(scope="module")
def graph() -> Data:
    torch.manual_seed(0)
    return Data(x=torch.rand(NODES, FEATURES), edge_index=erdos_renyi_graph(NODES, 0.15))


@pytest.fixture(params=[True, False], ids=["cached", "uncached"])
def relu_gcn(request) -> GCN:
    torch.manual_seed(1)
    model = GCN(FEATURES, HIDDEN, CLASSES, activation="relu").eval()
    for conv in model.convs:
        conv.cached = request.param
    return model


def out_of_range(edge_index: torch.Tensor) -> torch.Tensor:
    bad = edge_index.clone()
    bad[0, 0] = NODES + 5
    return bad


def test_conversion_error_is_a_value_error():
    assert issubclass(ConversionError, ValueError)
    assert ConversionError("x", ["a"]).offending == ["a"]


# -- T --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("T", [0, -3, 2.0, 2.5, "8", True, None])
def test_bad_time_steps(graph, relu_gcn, T):
    with pytest.raises(ValueError, match="time steps T must be a positive integer"):
        gsnn.convert(relu_gcn, graph, method="rate", T=T)


@pytest.mark.parametrize("T", [0, -1, 4.0])
def test_bad_time_steps_on_the_network(graph, relu_gcn, T):
    snn = gsnn.convert(relu_gcn, graph, method="rate", T=4, check=False)
    with pytest.raises(ValueError, match="positive integer"):
        snn.T = T
    assert snn.T == 4


# -- features -------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_features_at_convert_time(graph, relu_gcn, bad):
    x = graph.x.clone()
    x[3, 2] = bad
    with pytest.raises(ValueError, match="NaN or infinite"):
        gsnn.convert(relu_gcn, Data(x=x, edge_index=graph.edge_index), method="rate")
    with pytest.raises(ValueError, match="NaN or infinite"):
        gsnn.convert(relu_gcn, (x, graph.edge_index), method="rate")


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_features_at_call_time(graph, relu_gcn, bad):
    snn = gsnn.convert(relu_gcn, graph, method="rate", T=4, check=False)
    x = graph.x.clone()
    x[0, 0] = bad
    with pytest.raises(ValueError, match="NaN or infinite"):
        snn(x, graph.edge_index)
    with pytest.raises(ValueError, match="NaN or infinite"):
        snn.forward_stepwise(x, graph.edge_index)


def test_integer_features_are_rejected(graph, relu_gcn):
    with pytest.raises(ValueError, match="floating point"):
        gsnn.convert(relu_gcn, Data(x=graph.x.long(), edge_index=graph.edge_index), method="rate")


# -- edge_index -----------------------------------------------------------------------------------


def test_edge_index_out_of_range_at_convert_time(graph, relu_gcn):
    data = Data(x=graph.x, edge_index=out_of_range(graph.edge_index))
    with pytest.raises(ValueError, match=r"edge_index refers to node 35.*\[0, 29\]"):
        gsnn.convert(relu_gcn, data, method="rate")


def test_negative_edge_index_at_convert_time(graph, relu_gcn):
    bad = graph.edge_index.clone()
    bad[1, 0] = -1
    with pytest.raises(ValueError, match="edge_index"):
        gsnn.convert(relu_gcn, Data(x=graph.x, edge_index=bad), method="rate")


def test_edge_index_out_of_range_in_a_tuple_is_a_value_error(graph, relu_gcn):
    with pytest.raises(ValueError, match="calibration data"):
        gsnn.convert(relu_gcn, (graph.x, out_of_range(graph.edge_index)), method="rate")


def test_edge_index_out_of_range_at_call_time(graph, relu_gcn):
    """Also with cached layers (the reference GCN caches its adjacency)."""
    snn = gsnn.convert(relu_gcn, graph, method="rate", T=4)
    with pytest.raises(ValueError, match="edge_index refers to node 35"):
        snn(graph.x, out_of_range(graph.edge_index))
    with pytest.raises(ValueError, match="edge_index refers to node 35"):
        snn.forward_stepwise(graph.x, out_of_range(graph.edge_index))
    # a valid call still works afterwards
    assert snn(graph.x, graph.edge_index).shape == (NODES, CLASSES)


def test_edge_index_of_wrong_shape_or_dtype(graph, relu_gcn):
    with pytest.raises(ValueError, match=r"shape \[2, num_edges\]"):
        gsnn.convert(relu_gcn, Data(x=graph.x, edge_index=graph.edge_index.T.contiguous()))
    with pytest.raises(ValueError, match="torch.long"):
        gsnn.convert(relu_gcn, Data(x=graph.x, edge_index=graph.edge_index.int()))


# -- unsupported ops ------------------------------------------------------------------------------


class GatAndSigmoid(nn.Module):
    def __init__(self):
        super().__init__()
        self.gat = GATConv(FEATURES, HIDDEN)
        self.conv = GCNConv(HIDDEN, CLASSES)

    def forward(self, x, edge_index):
        return self.conv(torch.sigmoid(self.gat(x, edge_index)), edge_index)


class ManyUnsupported(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = GCNConv(FEATURES, HIDDEN)
        self.norm = nn.LayerNorm(HIDDEN)
        self.conv2 = GCNConv(HIDDEN, CLASSES)

    def forward(self, x, edge_index):
        h = torch.tanh(self.norm(self.conv1(x, edge_index)))
        return self.conv2(F.relu(h), edge_index)


def test_unsupported_ops_are_all_named(graph):
    with pytest.raises(ConversionError) as caught:
        gsnn.convert(GatAndSigmoid().eval(), graph, method="rate")
    error = caught.value
    assert len(error.offending) == 2
    gat, sigmoid = error.offending
    assert gat.startswith("gat ") and "torch_geometric.nn.conv.gat_conv.GATConv" in gat
    assert sigmoid.startswith("torch.sigmoid")
    message = str(error)
    for name in error.offending:
        assert name in message
    # the message points at the supported list instead of reciting it
    assert "gsnn.supported_ops()" in message
    assert len(message) < 400


def test_layer_norm_and_tanh_are_named(graph):
    with pytest.raises(ConversionError) as caught:
        gsnn.convert(ManyUnsupported().eval(), graph, method="rate")
    offending = caught.value.offending
    assert len(offending) == 2
    assert offending[0] == "norm (torch.nn.modules.normalization.LayerNorm)"
    assert offending[1].startswith("torch.tanh")


def test_batch_norm_that_cannot_be_folded(graph):
    class InputNorm(nn.Module):
        def __init__(self):
            super().__init__()
            self.bn = nn.BatchNorm1d(FEATURES)
            self.conv = GCNConv(FEATURES, CLASSES)

        def forward(self, x, edge_index):
            return self.conv(self.bn(x), edge_index)

    with pytest.raises(ConversionError, match="must directly follow a linear or graph layer") as c:
        gsnn.convert(InputNorm().eval(), graph, method="rate")
    assert c.value.offending == ["bn (torch.nn.modules.batchnorm.BatchNorm1d)"]


def test_softmax_in_the_middle_is_rejected(graph):
    class MidSoftmax(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.conv2 = GCNConv(FEATURES, HIDDEN), GCNConv(HIDDEN, CLASSES)

        def forward(self, x, edge_index):
            return self.conv2(F.softmax(self.conv1(x, edge_index), dim=1), edge_index)

    with pytest.raises(ConversionError, match="only supported as the last op") as caught:
        gsnn.convert(MidSoftmax().eval(), graph, method="rate")
    assert len(caught.value.offending) == 1 and "softmax" in caught.value.offending[0]


# -- calibration data -----------------------------------------------------------------------------


def test_calibration_data_with_wrong_feature_count(graph, relu_gcn):
    data = Data(x=torch.rand(NODES, FEATURES + 3), edge_index=graph.edge_index)
    with pytest.raises(ValueError, match=r"cannot run on the calibration data.*\(30, 11\)"):
        gsnn.convert(relu_gcn, data, method="rate")


def test_calibration_data_of_unknown_type(relu_gcn):
    with pytest.raises(ValueError, match=r"Calibration data is a dict \(keys \['x'\]\)"):
        gsnn.convert(relu_gcn, {"x": 1}, method="rate")
    with pytest.raises(ValueError, match="GCN.forward needs 'x', which the calibration Data"):
        gsnn.convert(relu_gcn, Data(edge_index=torch.zeros(2, 0, dtype=torch.long)))


def test_mask_of_wrong_length(graph, relu_gcn):
    with pytest.raises(ValueError, match="mask has 7 entries"):
        gsnn.convert(relu_gcn, graph, method="rate", mask=torch.ones(7, dtype=torch.bool))


# -- method and coding ----------------------------------------------------------------------------


def test_unknown_method(graph, relu_gcn):
    with pytest.raises(ValueError, match="Unknown conversion method 'spiky'") as error:
        gsnn.convert(relu_gcn, graph, method="spiky")
    for name in ("rate", "optimal", "qcfs", "two-phase", "one-spike", "css", "phase", "burst"):
        assert name in str(error.value)


def test_bad_method_options(graph, relu_gcn):
    with pytest.raises(ValueError, match="Bad options for method 'rate'"):
        gsnn.convert(relu_gcn, graph, method="rate", nonsense=3)
    with pytest.raises(ValueError, match="percentile must lie in"):
        gsnn.convert(relu_gcn, graph, method="rate", percentile=0)


def test_qcfs_method_on_relu_model(graph, relu_gcn):
    with pytest.raises(ConversionError, match="QCFS") as caught:
        gsnn.convert(relu_gcn, graph, method="qcfs")
    assert "method 'qcfs'" in str(caught.value) and "relu" in str(caught.value)
    assert caught.value.offending == ["acts.0 (torch.nn.modules.activation.ReLU)"]


def test_optimal_method_on_relu_model(graph, relu_gcn):
    with pytest.raises(ConversionError, match="ThresholdReLU"):
        gsnn.convert(relu_gcn, graph, method="optimal")


def test_mismatch_names_only_the_offending_sites(graph):
    class Mixed(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.conv2 = GCNConv(FEATURES, HIDDEN), GCNConv(HIDDEN, HIDDEN)
            self.conv3 = GCNConv(HIDDEN, CLASSES)
            self.q = QCFS(levels=4, init_threshold=1.0)

        def forward(self, x, edge_index):
            h = self.q(self.conv1(x, edge_index))
            return self.conv3(F.relu(self.conv2(h, edge_index)), edge_index)

    with pytest.raises(ConversionError, match="QCFS") as caught:
        gsnn.convert(Mixed().eval(), graph, method="qcfs")
    assert caught.value.offending == ["torch.nn.functional.relu (at relu)"]


def test_bad_coding_name(graph, relu_gcn):
    with pytest.raises(ValueError, match="Unknown input coding 'poisson'.*analog"):
        gsnn.convert(relu_gcn, graph, method="rate", coding="poisson")


def test_method_instance_with_options(graph, relu_gcn):
    with pytest.raises(ValueError, match="constructor"):
        gsnn.convert(relu_gcn, graph, method=gsnn.methods.RateMethod(), percentile=99.0)


# -- the converted network's inputs ---------------------------------------------------------------


def test_network_called_with_wrong_feature_count(graph, relu_gcn):
    snn = gsnn.convert(relu_gcn, graph, method="rate", T=4, check=False)
    with pytest.raises(ValueError, match=r"converted for inputs with 8 features.*\(30, 5\)"):
        snn(torch.rand(NODES, 5), graph.edge_index)
    with pytest.raises(ValueError, match="converted for inputs with 8 features"):
        snn.forward_stepwise(torch.rand(NODES, 9), graph.edge_index)


def test_network_called_with_non_tensor_features(graph, relu_gcn):
    snn = gsnn.convert(relu_gcn, graph, method="rate", T=4, check=False)
    with pytest.raises(ValueError, match="floating-point feature tensor"):
        snn(graph.x.tolist(), graph.edge_index)
    with pytest.raises(ValueError, match="floating-point feature tensor"):
        snn(graph.x.long(), graph.edge_index)


@pytest.mark.parametrize("method", ["one-spike", "css", "phase"])
def test_schedules_that_own_the_input_refuse_spike_coding(graph, relu_gcn, method):
    with pytest.raises(ValueError, match="needs coding='analog'"):
        gsnn.convert(relu_gcn, graph, method=method, T=8, coding="bernoulli")


class OffsetAdd(nn.Module):
    """A learnt offset and a raw-input skip, added to spike-driven currents."""

    def __init__(self, skip_input: bool):
        super().__init__()
        self.skip_input = skip_input
        self.lin1, self.lin2, self.lin3 = nn.Linear(5, 5), nn.Linear(5, 5), nn.Linear(5, 3)
        self.offset = nn.Parameter(torch.full((5,), 0.1))

    def forward(self, x):
        h = torch.relu(self.lin1(x))
        h = self.lin2(h) + (x if self.skip_input else self.offset)
        return self.lin3(torch.relu(h))


@pytest.mark.parametrize("skip_input", [False, True], ids=["offset", "input-skip"])
@pytest.mark.parametrize("method", ["css", "one-spike", "phase"])
def test_weighted_schedules_refuse_constants_added_at_every_step(method, skip_input):
    torch.manual_seed(0)
    x = torch.rand(20, 5)
    with pytest.raises(ConversionError, match="added at every step. Fold it into the bias"):
        gsnn.convert(OffsetAdd(skip_input).eval(), x, method=method, T=8)


def test_online_codes_add_a_constant_every_step_like_a_bias():
    torch.manual_seed(0)
    model, x = OffsetAdd(skip_input=False).double().eval(), torch.rand(20, 5).double()
    snn = gsnn.convert(model, x, method="rate", T=2048, percentile=100.0)
    torch.testing.assert_close(snn(x), model(x), atol=5e-3, rtol=0)
