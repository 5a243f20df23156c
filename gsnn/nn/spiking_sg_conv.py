"""Spiking simplified graph convolution (SGC, Wu et al.)."""

from typing import Optional

import torch
from torch import Tensor
from torch_geometric.nn import SGConv

from gsnn.nn.graph_adjacency import GraphAdjacency
from gsnn.nn.message_passing_options import check_sum_aggregation
from gsnn.nn.registry import converts
from gsnn.nn.spiking_graph_layer import SpikingGraphLayer
from gsnn.nn.spiking_linear import SpikingLinear


@converts(SGConv)
class SpikingSGConv(SpikingGraphLayer):
    r"""The :math:`K`-hop propagation of :class:`torch_geometric.nn.SGConv` over spike trains.

    .. math::
        \mathbf{X}'(t) = \left(\hat{\mathbf{D}}^{-1/2} \hat{\mathbf{A}}
        \hat{\mathbf{D}}^{-1/2}\right)^K \mathbf{X}(t) \mathbf{\Theta} + \mathbf{b}

    Each hop is one sparse matmul over all :math:`T` steps. Only the adjacency
    is cached, never the propagated features (they change with the spikes).

    Args:
        in_channels (int): size of each input sample.
        out_channels (int): size of each output sample.
        K (int): number of hops. (default: ``1``)
        cached (bool): cache the normalised adjacency. (default: ``False``)
        add_self_loops (bool): add self loops. (default: ``True``)
        bias (bool): learn an additive bias. (default: ``True``)

    Shapes:
        - **input:** node spikes :math:`(T, |\mathcal{V}|, F_{in})`, edge indices
          :math:`(2, |\mathcal{E}|)`, optional edge weights :math:`(|\mathcal{E}|)`
        - **output:** node currents :math:`(T, |\mathcal{V}|, F_{out})`
    """

    negative_edge_weights = False  # gcn_norm takes square roots of weighted degrees

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        K: int = 1,
        cached: bool = False,
        add_self_loops: bool = True,
        bias: bool = True,
    ) -> None:
        super().__init__(in_channels, out_channels, cached)
        self.K = K
        self.add_self_loops = add_self_loops
        self.lin = SpikingLinear(in_channels, out_channels, bias=False)
        self.bias = torch.nn.Parameter(torch.zeros(out_channels)) if bias else None

    @classmethod
    def from_ann(cls, conv: SGConv) -> "SpikingSGConv":
        """Copy a trained :class:`~torch_geometric.nn.SGConv` and its options; raises
        ``ValueError`` for another aggregation or flow."""
        check_sum_aggregation(conv)
        layer = cls(conv.in_channels, conv.out_channels, **cls.options_of(conv))
        layer = layer.to(conv.lin.weight.dtype)
        layer.copy_trained_([conv.lin.weight], conv.lin.bias)
        return layer

    @classmethod
    def options_of(cls, conv: SGConv) -> dict:
        """The constructor options that reproduce ``conv``."""
        return {
            "K": conv.K,
            "cached": conv.cached,
            "add_self_loops": conv.add_self_loops,
            "bias": conv.lin.bias is not None,
        }

    def build_adjacency(
        self, edge_index: Tensor, edge_weight: Optional[Tensor], num_nodes: int, dtype: torch.dtype
    ) -> GraphAdjacency:
        return GraphAdjacency.gcn_normalised(
            edge_index, edge_weight, num_nodes, dtype, self.add_self_loops
        )

    def forward(
        self, x: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor] = None
    ) -> Tensor:
        adjacency = self.adjacency(x, edge_index, edge_weight)
        for _ in range(self.K):
            x = adjacency.propagate(x)
        return self.finish_steps(self.lin(x), self.bias)

    def synaptic_fanout(
        self, x: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor] = None
    ) -> Tensor:
        """Accumulates per unit event at node ``j``: its ``K``-hop walks times ``F_out``."""
        adjacency = self.adjacency(x, edge_index, edge_weight)
        walks = adjacency.walk_counts(self.K)[-1].to(x.dtype)
        return walks.unsqueeze(1) * self.out_channels

    def dense_macs(
        self, x: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor] = None
    ) -> int:
        """ANN MACs for one step: ``K * nnz(A) * F_in`` then ``N * F_in * F_out``."""
        adjacency = self.adjacency(x, edge_index, edge_weight)
        return (
            self.K * adjacency.num_entries * self.in_channels
            + x.shape[1] * self.in_channels * self.out_channels
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, K={self.K})"
