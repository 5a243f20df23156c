"""Spiking graph convolution of Kipf & Welling."""

from typing import Optional

import torch
from torch import Tensor, nn
from torch_geometric.nn import GCNConv
from torch_geometric.nn.conv.gcn_conv import gcn_norm

from gsnn.nn.graph_adjacency import GraphAdjacency
from gsnn.nn.registry import converts
from gsnn.nn.spiking_graph_layer import SpikingGraphLayer
from gsnn.nn.spiking_linear import SpikingLinear


@converts(GCNConv)
class SpikingGCNConv(SpikingGraphLayer):
    r"""The graph convolution of :class:`torch_geometric.nn.GCNConv` over spike trains.

    .. math::
        \mathbf{X}'(t) = \hat{\mathbf{D}}^{-1/2} \hat{\mathbf{A}}
        \hat{\mathbf{D}}^{-1/2} \mathbf{X}(t) \mathbf{\Theta} + \mathbf{b}

    for every step :math:`t`. The spike-times-weight product skips silent
    rows, and one sparse matmul aggregates all :math:`T` steps along the edges.
    The normalised adjacency comes from PyG's own ``gcn_norm``.

    Args:
        in_channels (int): size of each input sample.
        out_channels (int): size of each output sample.
        improved (bool): self loops of weight 2. (default: ``False``)
        cached (bool): cache the normalised adjacency. (default: ``False``)
        add_self_loops (bool, optional): add self loops; defaults to ``normalize``.
        normalize (bool): apply the symmetric normalisation. (default: ``True``)
        bias (bool): learn an additive bias. (default: ``True``)

    Shapes:
        - **input:** node spikes :math:`(T, |\mathcal{V}|, F_{in})`, edge indices
          :math:`(2, |\mathcal{E}|)`, optional edge weights :math:`(|\mathcal{E}|)`
        - **output:** node currents :math:`(T, |\mathcal{V}|, F_{out})`
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        improved: bool = False,
        cached: bool = False,
        add_self_loops: Optional[bool] = None,
        normalize: bool = True,
        bias: bool = True,
    ) -> None:
        super().__init__(in_channels, out_channels, cached)
        self.improved = improved
        self.add_self_loops = normalize if add_self_loops is None else add_self_loops
        self.normalize = normalize
        self.lin = SpikingLinear(in_channels, out_channels, bias=False)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None

    @classmethod
    def from_ann(cls, conv: GCNConv) -> "SpikingGCNConv":
        """Copy a trained :class:`~torch_geometric.nn.GCNConv` and its options."""
        layer = cls(
            conv.in_channels,
            conv.out_channels,
            improved=conv.improved,
            cached=conv.cached,
            add_self_loops=conv.add_self_loops,
            normalize=conv.normalize,
            bias=conv.bias is not None,
        ).to(conv.lin.weight.dtype)
        layer.copy_trained_([conv.lin.weight], conv.bias)
        return layer

    @property
    def negative_edge_weights(self) -> bool:
        """Whether negative edge weights are allowed: not under ``gcn_norm``."""
        return not self.normalize

    def build_adjacency(
        self, edge_index: Tensor, edge_weight: Optional[Tensor], num_nodes: int, dtype: torch.dtype
    ) -> GraphAdjacency:
        if self.normalize:
            edge_index, edge_weight = gcn_norm(
                edge_index, edge_weight, num_nodes, self.improved, self.add_self_loops, dtype=dtype
            )
        return GraphAdjacency.from_edges(edge_index, edge_weight, num_nodes, dtype)

    def forward(
        self, x: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor] = None
    ) -> Tensor:
        adjacency = self.adjacency(x, edge_index, edge_weight)
        return self.finish_steps(adjacency.propagate(self.lin(x)), self.bias, fresh=True)

    def synaptic_fanout(
        self, x: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor] = None
    ) -> Tensor:
        """Accumulates per unit event at node ``j``: ``out_degree(j) * F_out``, shape ``[N, 1]``."""
        adjacency = self.adjacency(x, edge_index, edge_weight)
        return (adjacency.source_fanout * self.out_channels).unsqueeze(1).to(x.dtype)

    def dense_macs(
        self, x: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor] = None
    ) -> int:
        """ANN MACs for one step: ``N * F_in * F_out`` then ``nnz(A) * F_out``."""
        adjacency = self.adjacency(x, edge_index, edge_weight)
        num_nodes = x.shape[1]
        return (
            num_nodes * self.in_channels * self.out_channels
            + adjacency.num_entries * self.out_channels
        )
