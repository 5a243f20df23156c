"""Spiking Cluster-GCN convolution (Chiang et al.)."""

from typing import List, Optional

import torch
from torch import Tensor, nn
from torch_geometric.nn import ClusterGCNConv
from torch_geometric.utils import add_self_loops, degree, remove_self_loops

from gsnn.nn.graph_adjacency import GraphAdjacency
from gsnn.nn.message_passing_options import check_sum_aggregation
from gsnn.nn.registry import converts
from gsnn.nn.spiking_graph_layer import SpikingGraphLayer
from gsnn.nn.spiking_linear import SpikingLinear
from gsnn.nn.time_constant import map_steps


@converts(ClusterGCNConv)
class SpikingClusterGCNConv(SpikingGraphLayer):
    r"""The convolution of :class:`torch_geometric.nn.ClusterGCNConv` over spike trains.

    .. math::
        \mathbf{X}'(t) = \left(\hat{\mathbf{A}} + \lambda \cdot
        \mathrm{diag}(\hat{\mathbf{A}})\right) \mathbf{X}(t) \mathbf{W}_1 +
        \mathbf{X}(t) \mathbf{W}_2 + \mathbf{b}

    with :math:`\hat{\mathbf{A}} = (\mathbf{D} + \mathbf{I})^{-1}(\mathbf{A} +
    \mathbf{I})`. Both weights are applied to the spikes (silent rows
    skipped); one sparse matmul aggregates all :math:`T` steps. Edge weights
    are not an input, as in PyG.

    Args:
        in_channels (int): size of each input sample.
        out_channels (int): size of each output sample.
        diag_lambda (float): diagonal enhancement :math:`\lambda`. (default: ``0.``)
        add_self_loops (bool): replace the graph's self loops by one per node;
            with ``False`` the graph's own loops get the enhancement. (default: ``True``)
        bias (bool): learn an additive bias. (default: ``True``)

    Shapes:
        - **input:** node spikes :math:`(T, |\mathcal{V}|, F_{in})`, edge indices
          :math:`(2, |\mathcal{E}|)`
        - **output:** node currents :math:`(T, |\mathcal{V}|, F_{out})`
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        diag_lambda: float = 0.0,
        add_self_loops: bool = True,
        bias: bool = True,
    ) -> None:
        super().__init__(in_channels, out_channels, cached=False)
        self.diag_lambda = diag_lambda
        self.add_self_loops = add_self_loops
        self.lin_out = SpikingLinear(in_channels, out_channels, bias=False)
        self.lin_root = SpikingLinear(in_channels, out_channels, bias=False)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None

    @classmethod
    def from_ann(cls, conv: ClusterGCNConv) -> "SpikingClusterGCNConv":
        """Copy a trained :class:`~torch_geometric.nn.ClusterGCNConv` and its options;
        raises ``ValueError`` for another aggregation or flow."""
        check_sum_aggregation(conv)
        layer = cls(
            conv.in_channels,
            conv.out_channels,
            diag_lambda=conv.diag_lambda,
            add_self_loops=conv.add_self_loops,
            bias=conv.lin_out.bias is not None,
        ).to(conv.lin_out.weight.dtype)
        layer.copy_trained_([conv.lin_out.weight, conv.lin_root.weight], conv.lin_out.bias)
        return layer

    def build_adjacency(
        self, edge_index: Tensor, edge_weight: Optional[Tensor], num_nodes: int, dtype: torch.dtype
    ) -> GraphAdjacency:
        # PyG's ClusterGCNConv.forward (its degrees in the default float dtype, whatever
        # the features' dtype), written per loop so that add_self_loops=False also works
        # on graphs without one loop per node
        if self.add_self_loops:
            edge_index, _ = remove_self_loops(edge_index)
            edge_index, _ = add_self_loops(edge_index, num_nodes=num_nodes)
        source, target = edge_index
        deg_inv = 1.0 / degree(target, num_nodes=num_nodes).clamp_(1.0)
        weight = deg_inv[target]
        loops = source == target
        weight[loops] += self.diag_lambda * deg_inv[target[loops]]
        return GraphAdjacency.from_edges(edge_index, weight, num_nodes, dtype)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        adjacency = self.adjacency(x, edge_index, None)
        out = map_steps(  # a time-constant input is computed once
            lambda steps: adjacency.propagate(self.lin_out(steps)) + self.lin_root(steps), x
        )
        return self.finish_steps(out, self.bias)

    def linears(self) -> List[SpikingLinear]:
        return [self.lin_out, self.lin_root]

    def synaptic_fanout(self, x: Tensor, edge_index: Tensor) -> Tensor:
        """Accumulates per unit event at node ``j``: ``(out_degree(j) + 1) * F_out`` (the
        propagated and the root weight), shape ``[N, 1]``."""
        adjacency = self.adjacency(x, edge_index, None)
        return ((adjacency.source_fanout + 1) * self.out_channels).unsqueeze(1).to(x.dtype)

    def dense_macs(self, x: Tensor, edge_index: Tensor) -> int:
        """ANN MACs for one step, as PyG computes it: ``nnz(A) * F_in`` for the propagation,
        ``2 * N * F_in * F_out`` for the two weights."""
        adjacency = self.adjacency(x, edge_index, None)
        return (
            adjacency.num_entries * self.in_channels
            + 2 * x.shape[1] * self.in_channels * self.out_channels
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.in_channels}, {self.out_channels}, "
            f"diag_lambda={self.diag_lambda})"
        )
