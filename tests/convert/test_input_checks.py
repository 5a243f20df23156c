"""No silent wrong answers: unusual inputs to a converted network give the right result or a
clear error (issue 16)."""

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.data import Data
from torch_geometric.nn import GCNConv
from torch_geometric.utils import erdos_renyi_graph

import gsnn
from gsnn.ann import GCN
from gsnn.methods import RateMethod

NODES, FEATURES, CLASSES = 40, 6, 3


@pytest.fixture(scope="module")
def graph():
    torch.manual_seed(0)
    return torch.rand(NODES, FEATURES), erdos_renyi_graph(NODES, 0.15)


class WeightedGCN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = GCNConv(FEATURES, 8), GCNConv(8, CLASSES)

    def forward(self, x, edge_index, edge_weight=None):
        return self.conv2(F.relu(self.conv1(x, edge_index, edge_weight)), edge_index, edge_weight)


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


class TwoLinear(nn.Module):
    def __init__(self, features=FEATURES, hidden=8, bias=0.0):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(features, hidden), nn.Linear(hidden, CLASSES)
        with torch.no_grad():
            self.fc1.bias.fill_(bias)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_edge_weights_are_refused_at_conversion(graph, bad):
    x, edge_index = graph
    weight = torch.rand(edge_index.shape[1])
    weight[3] = bad
    model = WeightedGCN().eval()
    for data in (Data(x=x, edge_index=edge_index, edge_weight=weight), (x, edge_index, weight)):
        with pytest.raises(ValueError, match="edge_weight holds 1 NaN or infinite value"):
            gsnn.convert(model, data, method="rate", T=4, check=False)  # before calibration


def test_negative_edge_weights_under_gcn_norm_are_refused_at_conversion(graph):
    x, edge_index = graph
    weight = -torch.rand(edge_index.shape[1])  # negative degrees: NaN in the ANN's gcn_norm
    with pytest.raises(ValueError, match="NaN or infinite|negative"):
        gsnn.convert(WeightedGCN().eval(), (x, edge_index, weight), method="rate", check=False)


def test_non_finite_activations_name_their_site():
    model = TwoLinear().eval()
    with torch.no_grad():
        model.fc1.weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"activations at site 'relu' hold NaN"):
        gsnn.convert(model, torch.rand(10, FEATURES), method="rate", T=4)


def test_calibration_on_no_rows_is_refused(graph):
    x, edge_index = graph
    model = GCN(FEATURES, 8, CLASSES).eval()
    with pytest.raises(ValueError, match="mask selects no rows"):
        gsnn.convert(model, graph, method="rate", mask=torch.zeros(NODES, dtype=torch.bool))
    with pytest.raises(ValueError, match="mask selects no rows"):
        gsnn.convert(model, graph, method="rate", mask=torch.zeros(0, dtype=torch.long))
    with pytest.raises(ValueError, match="no rows"):
        gsnn.convert(TwoLinear().eval(), torch.rand(0, FEATURES), method="rate")


@pytest.mark.parametrize("channel_wise", [False, True])
def test_a_site_that_never_activates_is_named_in_a_warning(channel_wise):
    model = TwoLinear(bias=-100.0).eval()  # every pre-activation is negative
    with pytest.warns(UserWarning, match="site 'relu' never activated .* placeholder of 1.0"):
        gsnn.convert(model, torch.rand(10, FEATURES), method="rate", channel_wise=channel_wise)


@pytest.mark.parametrize(
    "mask, message",
    [
        (torch.ones(NODES), "boolean tensor of 40 entries or a 1-d tensor of integer row"),
        (torch.tensor([0, 5, NODES]), r"indices from 0 to 40.*\[0, 39\]"),
        (torch.tensor([-1, 2]), r"indices from -1 to 2"),
    ],
)
def test_a_mask_that_is_not_a_row_selection_is_refused(graph, mask, message):
    with pytest.raises(ValueError, match=message):
        gsnn.convert(GCN(FEATURES, 8, CLASSES).eval(), graph, method="rate", mask=mask)


def test_an_input_of_another_precision_is_refused_with_the_cast(graph):
    x, edge_index = graph
    snn = gsnn.convert(GCN(FEATURES, 8, CLASSES).eval(), graph, method="rate", T=4)
    with pytest.raises(ValueError, match=r"computes in torch.float32 .* x.to\(torch.float32\)"):
        snn(x.double(), edge_index)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_models_are_refused_clearly(graph, dtype):
    x, edge_index = graph
    model = GCN(FEATURES, 8, CLASSES).eval().to(dtype)
    with pytest.raises(ValueError, match=rf"{dtype} parameters.*model.float\(\)"):
        gsnn.convert(model, (x.to(dtype), edge_index), method="rate", T=4)


def test_image_batches_of_different_shapes_are_refused_naming_the_batch():
    class SmallCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.fc = nn.Conv2d(1, 2, 3, padding=1), nn.Linear(2 * 8 * 8, CLASSES)

        def forward(self, x):
            return self.fc(F.relu(self.conv(x)).flatten(1))

    batches = [torch.rand(4, 1, 8, 8), torch.rand(4, 1, 10, 10)]
    with pytest.raises(ValueError, match=r"batch 1 has inputs of shape \(4, 1, 10, 10\)"):
        gsnn.convert(SmallCNN().eval(), batches, method="rate", T=4)


class NegativeThresholds(RateMethod):
    """A broken method: its thresholds are negative."""

    def threshold(self, site):
        return -super().threshold(site)


def test_a_non_positive_threshold_names_its_site():
    with pytest.raises(ValueError, match=r"activation site 'relu' .*threshold must be > 0"):
        gsnn.convert(TwoLinear().eval(), torch.rand(10, FEATURES), method=NegativeThresholds())
