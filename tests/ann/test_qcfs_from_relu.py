"""qcfs_from_relu: calibrated QCFS bounds, exact conversion at T = L."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn
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


def test_functional_relu_models_are_refused_with_a_reason():
    class Functional(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 2)

        def forward(self, x):
            return F.relu(self.lin(x))

    with pytest.raises(ValueError, match="no nn.ReLU"):
        qcfs_from_relu(Functional(), (torch.rand(4, 3),))


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
