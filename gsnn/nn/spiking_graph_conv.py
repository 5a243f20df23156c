"""Spiking graph convolution of Morris et al. (PyG's GraphConv)."""

from typing import Optional

from torch import Tensor
from torch_geometric.nn import GraphConv

from gsnn.nn.registry import converts
from gsnn.nn.spiking_sage_conv import SpikingSAGEConv


@converts(GraphConv)
class SpikingGraphConv(SpikingSAGEConv):
    r"""The convolution of :class:`torch_geometric.nn.GraphConv` over spike trains.

    .. math::
        \mathbf{x}'_i(t) = \mathbf{W}_1 \mathbf{x}_i(t) + \mathbf{W}_2
        \sum_{j \in \mathcal{N}(i)} e_{j,i} \cdot \mathbf{x}_j(t) + \mathbf{b}

    It is a :class:`SpikingSAGEConv` with a root weight, sum aggregation by
    default and edge weights :math:`e_{j,i}`.

    Args:
        in_channels (int): size of each input sample.
        out_channels (int): size of each output sample.
        aggr (str): ``"add"``/``"sum"`` or ``"mean"``. (default: ``"add"``)
        bias (bool): learn an additive bias. (default: ``True``)

    Shapes:
        - **input:** node spikes :math:`(T, |\mathcal{V}|, F_{in})`, edge indices
          :math:`(2, |\mathcal{E}|)`, optional edge weights :math:`(|\mathcal{E}|)`
        - **output:** node currents :math:`(T, |\mathcal{V}|, F_{out})`
    """

    def __init__(
        self, in_channels: int, out_channels: int, aggr: str = "add", bias: bool = True
    ) -> None:
        super().__init__(in_channels, out_channels, aggr=aggr, root_weight=True, bias=bias)

    @classmethod
    def from_ann(cls, conv: GraphConv) -> "SpikingGraphConv":
        """Copy a trained :class:`~torch_geometric.nn.GraphConv`."""
        if isinstance(conv.in_channels, tuple):
            raise ValueError("GraphConv on bipartite inputs (a channel pair) is not supported.")
        layer = cls(
            conv.in_channels,
            conv.out_channels,
            aggr=str(conv.aggr),
            bias=conv.lin_rel.bias is not None,
        ).to(conv.lin_rel.weight.dtype)
        layer.copy_trained_([conv.lin_rel.weight, conv.lin_root.weight], conv.lin_rel.bias)
        return layer

    def forward(
        self, x: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor] = None
    ) -> Tensor:
        return self.neighbour_and_root(x, edge_index, edge_weight)
