"""The converted network takes its ANN's forward signature; calibration data binds by name."""

import pytest
import torch
import torch.nn.functional as F
import torch_geometric.transforms as T
from torch import nn
from torch_geometric.data import Data
from torch_geometric.nn import GCNConv, SAGEConv
from torch_geometric.utils import erdos_renyi_graph

import gsnn
from gsnn.ann import QCFS

NODES, FEATURES, HIDDEN, CLASSES, LEVELS = 40, 6, 8, 3, 4


@pytest.fixture(scope="module")
def graph() -> Data:
    torch.manual_seed(0)
    edge_index = erdos_renyi_graph(NODES, 0.15)
    weight = torch.rand(edge_index.shape[1]) + 0.1
    return Data(x=torch.rand(NODES, FEATURES), edge_index=edge_index, edge_attr=weight)


class DocsGCN(nn.Module):
    """The PyG docs' introduction: ``forward(self, data)``."""

    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = GCNConv(FEATURES, HIDDEN), GCNConv(HIDDEN, CLASSES)
        self.act = QCFS(LEVELS, init_threshold=1.0)

    def forward(self, data):
        x, edge_index = data.x, data.edge_index
        x = self.act(self.conv1(x, edge_index))
        x = F.dropout(x, training=self.training)
        return F.log_softmax(self.conv2(x, edge_index), dim=1)


class WeightedGCN(nn.Module):
    """examples/gcn.py: ``forward(self, x, edge_index, edge_weight=None)``."""

    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = GCNConv(FEATURES, HIDDEN), GCNConv(HIDDEN, CLASSES)
        self.act = QCFS(LEVELS, init_threshold=1.0)

    def forward(self, x, edge_index, edge_weight=None):
        x = self.act(self.conv1(x, edge_index, edge_weight))
        return self.conv2(x, edge_index, edge_weight)


class SparseSAGE(nn.Module):
    """OGB style after ``T.ToSparseTensor()``: ``forward(self, x, adj_t)``."""

    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = SAGEConv(FEATURES, HIDDEN), GCNConv(HIDDEN, CLASSES)
        self.act = QCFS(LEVELS, init_threshold=1.0)

    def forward(self, x, adj_t):
        return self.conv2(self.act(self.conv1(x, adj_t)), adj_t)


def exact(snn_out, ann_out):
    """QCFS at T = L is the QCFS ANN (methods.md O5), up to float32 rounding."""
    torch.testing.assert_close(snn_out, ann_out, rtol=1e-5, atol=1e-5)


def test_forward_data_model_is_called_with_data(graph):
    torch.manual_seed(1)
    model = DocsGCN().eval()
    data = Data(x=graph.x, edge_index=graph.edge_index)
    snn = gsnn.convert(model, data, method="qcfs", T=LEVELS)
    exact(snn(data), model(data).detach())
    assert snn.conversion_check["agreement"] == 1.0
    # the body reads data.x and data.edge_index; a Data missing one is refused by name
    with pytest.raises(ValueError, match="reads data.edge_index"):
        snn(Data(x=graph.x))


def test_adj_t_model_converts_exactly(graph):
    torch.manual_seed(2)
    model = SparseSAGE().eval()
    data = T.ToSparseTensor()(Data(x=graph.x, edge_index=graph.edge_index))
    snn = gsnn.convert(model, data, method="qcfs", T=LEVELS)
    exact(snn(data.x, data.adj_t), model(data.x, data.adj_t).detach())
    # the same network on the edge_index form of the same graph gives the same logits
    edge_model = SparseSAGE().eval()
    edge_model.load_state_dict(model.state_dict())
    exact(model(data.x, data.adj_t).detach(), edge_model(graph.x, graph.edge_index).detach())


def test_edge_attr_that_no_parameter_takes_is_an_error_not_dropped(graph):
    # examples/gcn.py --use_gdc keeps the weights in data.edge_attr and calls
    # model(data.x, data.edge_index, data.edge_attr); binding by name must not drop them
    torch.manual_seed(3)
    model = WeightedGCN().eval()
    with pytest.raises(ValueError, match=r"data\.edge_attr.*no parameter of that name"):
        gsnn.convert(model, graph, method="qcfs", T=LEVELS)
    inputs = (graph.x, graph.edge_index, graph.edge_attr)
    snn = gsnn.convert(model, inputs, method="qcfs", T=LEVELS)
    exact(snn(*inputs), model(*inputs).detach())
    # the agreement check called the ANN with the weights too
    unweighted = model(graph.x, graph.edge_index).argmax(1)
    weighted = model(*inputs).argmax(1)
    assert not torch.equal(unweighted, weighted)  # the weights matter on this graph
    assert snn.conversion_check["agreement"] == 1.0
    with pytest.raises(ValueError, match="converted with 'edge_weight' given"):
        snn(graph.x, graph.edge_index)


def test_edge_weight_attribute_binds_by_name_and_keywords_work(graph):
    torch.manual_seed(4)
    model = WeightedGCN().eval()
    data = Data(x=graph.x, edge_index=graph.edge_index, edge_weight=graph.edge_attr)
    snn = gsnn.convert(model, data, method="qcfs", T=LEVELS)
    expected = model(data.x, data.edge_index, data.edge_weight).detach()
    exact(snn(data.x, data.edge_index, data.edge_weight), expected)
    exact(snn(x=data.x, edge_index=data.edge_index, edge_weight=data.edge_weight), expected)


def test_a_network_converted_without_edge_weight_refuses_one(graph):
    torch.manual_seed(5)
    model = WeightedGCN().eval()
    snn = gsnn.convert(model, Data(x=graph.x, edge_index=graph.edge_index), method="qcfs", T=4)
    with pytest.raises(ValueError, match="converted with edge_weight=None"):
        snn(graph.x, graph.edge_index, graph.edge_attr)
    with pytest.raises(ValueError, match="called like WeightedGCN.forward"):
        snn(graph.x)


def test_a_required_parameter_the_data_lacks_is_named(graph):
    class NeedsMask(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = GCNConv(FEATURES, CLASSES)

        def forward(self, x, edge_index, node_mask):
            return self.conv(x, edge_index)[node_mask]

    with pytest.raises(ValueError, match="needs 'node_mask', which the calibration Data"):
        gsnn.convert(NeedsMask(), Data(x=graph.x, edge_index=graph.edge_index), method="rate")


def test_site_errors_take_the_same_call(graph):
    torch.manual_seed(6)
    model = DocsGCN().eval()
    data = Data(x=graph.x, edge_index=graph.edge_index)
    snn = gsnn.convert(model, data, method="qcfs", T=LEVELS, check=False)
    (error,) = gsnn.site_errors(snn, model, data)
    assert error.within_half_step == 1.0  # qcfs at T = L is exact at every site


def test_a_saved_network_keeps_the_signature(graph, tmp_path):
    torch.manual_seed(7)
    model = DocsGCN().eval()
    data = Data(x=graph.x, edge_index=graph.edge_index)
    snn = gsnn.convert(model, data, method="qcfs", T=LEVELS, check=False)
    gsnn.save(snn, tmp_path / "snn.pt")
    loaded = gsnn.load(tmp_path / "snn.pt")
    assert torch.equal(loaded(data), snn(data))
    with pytest.raises(ValueError, match="reads data.edge_index"):
        loaded(Data(x=graph.x))


def test_a_binding_refuses_parameter_kinds_it_does_not_know(graph):
    model = DocsGCN().eval()
    snn = gsnn.convert(model, Data(x=graph.x, edge_index=graph.edge_index), method="qcfs", T=2)
    snn.input_binding.parameters[0][1] = "__class__"  # as a tampered file could name it
    with pytest.raises(ValueError, match="Unknown parameter kinds"):
        snn(Data(x=graph.x, edge_index=graph.edge_index))


def test_multi_column_edge_features_no_parameter_takes_are_not_inputs(graph):
    # MUTAG stores bond types as edge_attr [E, 4]; a GCN without edge features converts
    torch.manual_seed(8)
    model = WeightedGCN().eval()
    features = torch.rand(graph.edge_index.shape[1], 4)
    data = Data(x=graph.x, edge_index=graph.edge_index, edge_attr=features)
    snn = gsnn.convert(model, data, method="qcfs", T=LEVELS)
    exact(snn(data.x, data.edge_index), model(data.x, data.edge_index).detach())
    # one column could be weights: that is still refused rather than dropped
    with pytest.raises(ValueError, match=r"data\.edge_attr"):
        gsnn.convert(model, Data(x=graph.x, edge_index=graph.edge_index, edge_attr=features[:, 0]))
