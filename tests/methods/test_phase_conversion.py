"""Phase-coded conversion of a GCN: close to the ANN, T tied to the period."""

import pytest
import torch
from torch_geometric.utils import erdos_renyi_graph

import gsnn
from gsnn.ann import GCN


def test_agrees_with_the_ann_and_improves_with_periods():
    torch.manual_seed(0)
    x, edge_index = torch.rand(80, 6), erdos_renyi_graph(80, 0.1)
    model = GCN(6, 16, 3).eval()
    errors = []
    for T in (8, 32):
        snn = gsnn.convert(model, (x, edge_index), method="phase", T=T, period=8)
        errors.append((snn(x, edge_index) - model(x, edge_index)).abs().mean().item())
        assert snn.conversion_check["agreement"] >= 0.9
    assert errors[1] < errors[0]


def test_T_must_be_a_multiple_of_the_period():
    torch.manual_seed(0)
    x, edge_index = torch.rand(20, 6), erdos_renyi_graph(20, 0.2)
    with pytest.raises(ValueError, match="multiple of the period"):
        gsnn.convert(GCN(6, 8, 3).eval(), (x, edge_index), method="phase", T=12, period=8)
