"""qcfs_from_relu: calibrated QCFS bounds, exact conversion at T = L."""

import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.data import Data
from torch_geometric.nn import GCNConv
from torch_geometric.nn.models import GCN as PygGCN
from torch_geometric.utils import erdos_renyi_graph

import gsnn
from gsnn.ann import GCN, QCFS, qcfs_from_relu


def test_bounds_are_the_percentile_of_positive_activations():
    torch.manual_seed(0)
    x, edge_index = torch.rand(50, 6), erdos_renyi_graph(50, 0.1)
    model = GCN(6, 8, 3, num_layers=3).eval()
    with torch.no_grad():
        first = model.convs[0](x, edge_index).relu()
    quantised = qcfs_from_relu(model, (x, edge_index), levels=4, percentile=90.0)
    assert all(isinstance(act, QCFS) for act in quantised.acts)
    expected = torch.quantile(first[first > 0].double(), 0.9).item()
    assert quantised.acts[0].threshold.item() == pytest.approx(expected, rel=1e-6)
    assert all(isinstance(act, nn.ReLU) for act in model.acts)  # the original is untouched


@pytest.mark.parametrize("levels", [2, 4, 8])
def test_two_layer_conversion_at_T_equal_L_is_exact(levels):
    torch.manual_seed(levels)
    x, edge_index = torch.rand(60, 6), erdos_renyi_graph(60, 0.1)
    quantised = qcfs_from_relu(GCN(6, 16, 3).eval(), (x, edge_index), levels=levels)
    snn = gsnn.convert(quantised, (x, edge_index), method="qcfs", T=levels)
    torch.testing.assert_close(snn(x, edge_index), quantised(x, edge_index), rtol=1e-4, atol=1e-5)


class FunctionalGCN(nn.Module):
    """The official examples' style: ``F.relu`` and ``.relu()``."""

    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = GCNConv(6, 8), GCNConv(8, 8)
        self.lin = nn.Linear(8, 3)

    def forward(self, x, edge_index):
        x = F.relu(self.conv1(x, edge_index))
        x = self.conv2(x, edge_index).relu()
        return self.lin(x)


def test_functional_relus_get_one_bound_per_call_site():
    torch.manual_seed(2)
    x, edge_index = torch.rand(50, 6), erdos_renyi_graph(50, 0.1)
    model = FunctionalGCN().eval()
    with torch.no_grad():
        first = F.relu(model.conv1(x, edge_index))
        second = model.conv2(first, edge_index).relu()
    quantised = qcfs_from_relu(model, (x, edge_index), levels=4, percentile=95.0)
    bounds = [m.threshold.item() for m in quantised.modules() if isinstance(m, QCFS)]
    expected = [torch.quantile(a[a > 0].double(), 0.95).item() for a in (first, second)]
    assert bounds == pytest.approx(expected, rel=1e-6)
    snn = gsnn.convert(quantised, (x, edge_index), method="qcfs", T=4)
    torch.testing.assert_close(snn(x, edge_index), quantised(x, edge_index), rtol=1e-4, atol=1e-5)


def test_a_shared_relu_module_gets_one_bound_per_call_site():
    # PyG's BasicGNN calls one self.act after every layer; one bound for all of them
    # dropped accuracy (jk="cat": 78.6 -> 55.9 % on Cora)
    torch.manual_seed(3)
    x, edge_index = torch.rand(50, 6), erdos_renyi_graph(50, 0.1)
    model = PygGCN(6, 16, 3, out_channels=3, jk="cat").eval()
    quantised = qcfs_from_relu(model, (x, edge_index), levels=8)
    qcfs = [m for m in quantised.modules() if isinstance(m, QCFS)]
    assert len(qcfs) == 3 and len({m.threshold.item() for m in qcfs}) == 3
    assert isinstance(model.act, nn.ReLU)  # the original is untouched
    # two-phase equals its QCFS ANN at any depth (three sites here)
    snn = gsnn.convert(quantised, (x, edge_index), method="two-phase", T=8)
    torch.testing.assert_close(snn(x, edge_index), quantised(x, edge_index), rtol=1e-4, atol=1e-5)


def test_the_report_compares_the_qcfs_model_with_the_relu_model():
    torch.manual_seed(4)
    x, edge_index = torch.randn(60, 6), erdos_renyi_graph(60, 0.1)
    model = FunctionalGCN().eval()
    with torch.no_grad():
        model.lin.bias.zero_()  # so that the untrained model predicts several classes
    labels = model(x, edge_index).argmax(1)
    data = Data(x=x, edge_index=edge_index, y=labels)
    for levels, percentile, warns in ((1, 50.0, True), (64, 100.0, False)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            quantised = qcfs_from_relu(model, data, levels=levels, percentile=percentile)
        report = quantised.qcfs_report
        agreement = (quantised(x, edge_index).argmax(1) == labels).float().mean().item()
        assert report["agreement"] == pytest.approx(agreement)
        assert report["relu_accuracy"] == 1.0 and report["qcfs_accuracy"] == pytest.approx(
            agreement
        )
        assert (agreement < 0.95) is warns  # one clipped level moves predictions, 64 do not
        assert any("keeps the ReLU model's prediction" in str(w.message) for w in caught) is warns


def test_an_in_place_relu_feeds_its_qcfs_output_on():
    class InPlace(nn.Module):  # examples/reddit.py writes x.relu_() and reads x after it
        def __init__(self):
            super().__init__()
            self.lin1, self.lin2 = nn.Linear(4, 6), nn.Linear(6, 2)

        def forward(self, x):
            x = self.lin1(x)
            x.relu_()
            return self.lin2(x)

    torch.manual_seed(5)
    x = torch.randn(30, 4)
    model = InPlace().eval()
    quantised = qcfs_from_relu(model, (x,), levels=2)
    (qcfs,) = [m for m in quantised.modules() if isinstance(m, QCFS)]
    expected = model.lin2(qcfs(model.lin1(x)))
    torch.testing.assert_close(quantised(x), expected)


def test_a_model_without_relu_is_refused():
    with pytest.raises(ValueError, match="found no ReLU"):
        qcfs_from_relu(nn.Linear(3, 2), (torch.rand(4, 3),))


def test_cnn_bounds_from_an_image_tensor():
    from gsnn.ann import LeNet5

    torch.manual_seed(1)
    images = torch.rand(20, 1, 28, 28)
    model = LeNet5().eval()
    with torch.no_grad():
        first = model.act1(model.conv1(images))
    quantised = qcfs_from_relu(model, (images,), levels=4, percentile=99.9)
    expected = torch.quantile(first[first > 0].double(), 0.999).item()
    assert quantised.act1.threshold.item() == pytest.approx(expected, rel=1e-6)
    assert [type(act) for act in (quantised.act2, quantised.act3, quantised.act4)] == [QCFS] * 3
