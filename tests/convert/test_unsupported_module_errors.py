"""Refusals name the module the user wrote, not the primitives tracing found inside it."""

import pytest
import torch
from torch import nn
from torch_geometric.nn import GCNConv

import gsnn


class Swish(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(x)


class GatedGCN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = GCNConv(4, 6), GCNConv(6, 2)
        self.gate = Swish()

    def forward(self, x, edge_index):
        return self.conv2(self.gate(self.conv1(x, edge_index)), edge_index)


def test_an_unsupported_user_module_is_named_by_path_and_class():
    x, edge_index = torch.rand(8, 4), torch.randint(0, 8, (2, 20))
    with pytest.raises(gsnn.ConversionError) as caught:
        gsnn.convert(GatedGCN().eval(), (x, edge_index), method="rate")
    (offending,) = caught.value.offending
    assert offending == f"gate ({__name__}.Swish)"
    message = str(caught.value)
    assert "tracing into it found torch.sigmoid, operator.mul" in message
    assert "gsnn.supported_ops()" in message


@pytest.mark.parametrize("conv", ["GATConv", "TransformerConv"])
def test_attention_convs_are_refused_with_the_reason(conv):
    import torch_geometric.nn as pyg_nn

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = getattr(pyg_nn, conv)(4, 6)
            self.conv2 = GCNConv(6, 2)

        def forward(self, x, edge_index):
            return self.conv2(self.conv1(x, edge_index).relu(), edge_index)

    x, edge_index = torch.rand(8, 4), torch.randint(0, 8, (2, 20))
    with pytest.raises(gsnn.ConversionError, match=f"conv1 .*{conv}.*: its attention"):
        gsnn.convert(Attention().eval(), (x, edge_index), method="rate")
