"""Spiking local extremum convolution (LEConv of ASAP, Ranjan et al.)."""

from typing import List, Optional

import torch
from torch import Tensor, nn
from torch_geometric.nn import LEConv

from gsnn.nn.graph_adjacency import GraphAdjacency
from gsnn.nn.message_passing_options import check_sum_aggregation
from gsnn.nn.registry import converts
from gsnn.nn.spiking_graph_layer import SpikingGraphLayer
from gsnn.nn.spiking_linear import SpikingLinear
from gsnn.nn.time_constant import map_steps


@converts(LEConv)
class SpikingLEConv(SpikingGraphLayer):
    r"""The convolution of :class:`torch_geometric.nn.LEConv` over spike trains.

    .. math::
        \mathbf{x}'_i(t) = \sum_{j \in \mathcal{N}(i)} e_{j,i}
        \left(\mathbf{\Theta}_1 \mathbf{x}_j(t) + \mathbf{b}_1 -
        \mathbf{\Theta}_2 \mathbf{x}_i(t)\right) + \mathbf{\Theta}_3
        \mathbf{x}_i(t) + \mathbf{b}_3

    By linearity this is :math:`\mathbf{A}\mathbf{X}\mathbf{\Theta}_1^\top -
    \mathbf{d} \odot \mathbf{X}\mathbf{\Theta}_2^\top +
    \mathbf{X}\mathbf{\Theta}_3^\top` plus the per-node bias
    :math:`d_i \mathbf{b}_1 + \mathbf{b}_3`, with :math:`d_i = \sum_j e_{j,i}`
    the weighted in-degree: three weight maps on the spikes (silent rows
    skipped) and one sparse matmul over all :math:`T` steps.

    Args:
        in_channels (int): size of each input sample.
        out_channels (int): size of each output sample.
        bias (bool): learn the additive biases :math:`\mathbf{b}_1`,
            :math:`\mathbf{b}_3`. (default: ``True``)

    Shapes:
        - **input:** node spikes :math:`(T, |\mathcal{V}|, F_{in})`, edge indices
          :math:`(2, |\mathcal{E}|)`, optional edge weights :math:`(|\mathcal{E}|)`
        - **output:** node currents :math:`(T, |\mathcal{V}|, F_{out})`
    """

    def __init__(self, in_channels: int, out_channels: int, bias: bool = True) -> None:
        super().__init__(in_channels, out_channels, cached=False)
        self.lin1 = SpikingLinear(in_channels, out_channels, bias=False)
        self.lin2 = SpikingLinear(in_channels, out_channels, bias=False)
        self.lin3 = SpikingLinear(in_channels, out_channels, bias=False)
        self.neighbour_bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None

    @classmethod
    def from_ann(cls, conv: LEConv) -> "SpikingLEConv":
        """Copy a trained :class:`~torch_geometric.nn.LEConv`; raises ``ValueError`` for
        bipartite inputs, another aggregation or flow."""
        if isinstance(conv.in_channels, tuple):
            raise ValueError("LEConv on bipartite inputs (a channel pair) is not supported.")
        check_sum_aggregation(conv)
        has_bias = conv.lin1.bias is not None
        layer = cls(conv.in_channels, conv.out_channels, bias=has_bias).to(conv.lin1.weight.dtype)
        layer.copy_trained_([conv.lin1.weight, conv.lin2.weight, conv.lin3.weight], conv.lin3.bias)
        if has_bias:
            layer.neighbour_bias.data.copy_(conv.lin1.bias.detach())
        return layer

    def build_adjacency(
        self, edge_index: Tensor, edge_weight: Optional[Tensor], num_nodes: int, dtype: torch.dtype
    ) -> GraphAdjacency:
        return GraphAdjacency.from_edges(edge_index, edge_weight, num_nodes, dtype)

    def forward(
        self, x: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor] = None
    ) -> Tensor:
        adjacency = self.adjacency(x, edge_index, edge_weight)
        in_degree = self.weighted_in_degree(adjacency)

        def messages_and_root(steps: Tensor) -> Tensor:
            neighbours = adjacency.propagate(self.lin1(steps))
            return neighbours - in_degree * self.lin2(steps) + self.lin3(steps)

        out = map_steps(messages_and_root, x)  # a time-constant input is computed once
        bias = self.bias
        if self.neighbour_bias is not None:
            bias = in_degree * self.neighbour_bias + bias
        return self.finish_steps(out, bias)

    @staticmethod
    def weighted_in_degree(adjacency: GraphAdjacency) -> Tensor:
        """:math:`d_i = \\sum_j e_{j,i}`, shape ``[N, 1]``."""
        rows = adjacency.matrix.shape[0]
        ones = torch.ones(rows, 1, dtype=adjacency.matrix.values().dtype)
        return torch.sparse.mm(adjacency.matrix, ones)

    def linears(self) -> List[SpikingLinear]:
        return [self.lin1, self.lin2, self.lin3]

    @torch.no_grad()
    def fold_output_affine_(self, scale: Tensor, shift: Tensor) -> None:
        """Absorb a following per-channel affine map ``y * scale + shift`` (BN folding); the
        degree-weighted bias is scaled only."""
        super().fold_output_affine_(scale, shift)
        if self.neighbour_bias is not None:
            self.neighbour_bias.mul_(scale.to(self.neighbour_bias.dtype))

    def synaptic_fanout(
        self, x: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor] = None
    ) -> Tensor:
        """Accumulates per unit event at node ``j``: ``(out_degree(j) + 2) * F_out`` (the
        propagated weight and the two weights of the node itself), shape ``[N, 1]``."""
        adjacency = self.adjacency(x, edge_index, edge_weight)
        return ((adjacency.source_fanout + 2) * self.out_channels).unsqueeze(1).to(x.dtype)

    def dense_macs(
        self, x: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor] = None
    ) -> int:
        """ANN MACs for one step, as PyG computes it: ``3 * N * F_in * F_out`` for the
        weights, ``nnz(A) * F_out`` for the messages ``e_ji (a_j - b_i)``."""
        adjacency = self.adjacency(x, edge_index, edge_weight)
        return (
            3 * x.shape[1] * self.in_channels * self.out_channels
            + adjacency.num_entries * self.out_channels
        )
