"""Spiking topology adaptive graph convolution (TAGCN, Du et al.)."""

from typing import List, Optional

import torch
from torch import Tensor, nn
from torch_geometric.nn import TAGConv

from gsnn.nn.graph_adjacency import GraphAdjacency
from gsnn.nn.message_passing_options import check_sum_aggregation
from gsnn.nn.registry import converts
from gsnn.nn.spiking_graph_layer import SpikingGraphLayer
from gsnn.nn.spiking_linear import SpikingLinear
from gsnn.nn.time_constant import map_steps


@converts(TAGConv)
class SpikingTAGConv(SpikingGraphLayer):
    r"""The convolution of :class:`torch_geometric.nn.TAGConv` over spike trains.

    .. math::
        \mathbf{X}'(t) = \sum_{k=0}^{K} \left(\mathbf{D}^{-1/2} \mathbf{A}
        \mathbf{D}^{-1/2}\right)^k \mathbf{X}(t) \mathbf{W}_k + \mathbf{b}

    The weights are applied to the spikes first (silent rows skipped) and the
    sum is evaluated by Horner's rule,
    :math:`\mathbf{Y}_0 + \hat{\mathbf{A}}(\mathbf{Y}_1 + \hat{\mathbf{A}}(\dots))`
    with :math:`\mathbf{Y}_k = \mathbf{X}\mathbf{W}_k`: :math:`K` sparse
    matmuls over all :math:`T` steps, on :math:`F_{out}` columns.

    Args:
        in_channels (int): size of each input sample.
        out_channels (int): size of each output sample.
        K (int): number of hops. (default: ``3``)
        bias (bool): learn an additive bias. (default: ``True``)
        normalize (bool): apply the symmetric normalisation (no self loops,
            as in PyG). (default: ``True``)

    Shapes:
        - **input:** node spikes :math:`(T, |\mathcal{V}|, F_{in})`, edge indices
          :math:`(2, |\mathcal{E}|)`, optional edge weights :math:`(|\mathcal{E}|)`
        - **output:** node currents :math:`(T, |\mathcal{V}|, F_{out})`
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        K: int = 3,
        bias: bool = True,
        normalize: bool = True,
    ) -> None:
        super().__init__(in_channels, out_channels, cached=False)
        self.K = K
        self.normalize = normalize
        self.negative_edge_weights = not normalize  # gcn_norm takes square roots of degrees
        self.lins = nn.ModuleList(
            SpikingLinear(in_channels, out_channels, bias=False) for _ in range(K + 1)
        )
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None

    @classmethod
    def from_ann(cls, conv: TAGConv) -> "SpikingTAGConv":
        """Copy a trained :class:`~torch_geometric.nn.TAGConv` and its options; raises
        ``ValueError`` for another aggregation or flow."""
        check_sum_aggregation(conv)
        layer = cls(
            conv.in_channels,
            conv.out_channels,
            K=conv.K,
            bias=conv.bias is not None,
            normalize=conv.normalize,
        ).to(conv.lins[0].weight.dtype)
        layer.copy_trained_([lin.weight for lin in conv.lins], conv.bias)
        return layer

    def build_adjacency(
        self, edge_index: Tensor, edge_weight: Optional[Tensor], num_nodes: int, dtype: torch.dtype
    ) -> GraphAdjacency:
        if self.normalize:
            return GraphAdjacency.gcn_normalised(
                edge_index, edge_weight, num_nodes, dtype, add_self_loops=False
            )
        return GraphAdjacency.from_edges(edge_index, edge_weight, num_nodes, dtype)

    def forward(
        self, x: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor] = None
    ) -> Tensor:
        adjacency = self.adjacency(x, edge_index, edge_weight)

        def horner(steps: Tensor) -> Tensor:
            out = self.lins[self.K](steps)
            for lin in reversed(self.lins[: self.K]):
                out = lin(steps) + adjacency.propagate(out)
            return out

        out = map_steps(horner, x)  # a time-constant input is computed once
        return self.finish_steps(out, self.bias)

    def linears(self) -> List[SpikingLinear]:
        return list(self.lins)

    def synaptic_fanout(
        self, x: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor] = None
    ) -> Tensor:
        """Accumulates per unit event at node ``j``: its walks of length ``0..K`` times
        ``F_out``, shape ``[N, 1]``."""
        adjacency = self.adjacency(x, edge_index, edge_weight)
        walks = adjacency.walk_counts(self.K).sum(0).to(x.dtype)
        return walks.unsqueeze(1) * self.out_channels

    def dense_macs(
        self, x: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor] = None
    ) -> int:
        """ANN MACs for one step, as PyG computes it: ``K * nnz(A) * F_in`` for the hops,
        ``(K + 1) * N * F_in * F_out`` for the weights."""
        adjacency = self.adjacency(x, edge_index, edge_weight)
        return (
            self.K * adjacency.num_entries * self.in_channels
            + (self.K + 1) * x.shape[1] * self.in_channels * self.out_channels
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, K={self.K})"
