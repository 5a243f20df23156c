"""GIN's sum aggregation over spike trains."""

from typing import Optional, Sequence

import torch
from torch import Tensor

from gsnn.ann.gin_aggregation import GINAggregation
from gsnn.nn.graph_adjacency import GraphAdjacency, check_edge_index
from gsnn.nn.registry import converts
from gsnn.nn.structural_op import StructuralOp
from gsnn.nn.validation import check_node_steps


@converts(GINAggregation)
class SpikingGINAggregation(StructuralOp):
    r"""The sum :math:`(1 + \epsilon)\, \mathbf{x}_i(t) + \sum_{j \in \mathcal{N}(i)}
    \mathbf{x}_j(t)` of :class:`~gsnn.ann.gin_aggregation.GINAggregation` at every step.

    It is linear, time-invariant and mixes nodes, not channels, so it commutes
    with time averaging and with the per-channel threshold of the neurons
    before it: the converter folds that threshold through it into the first
    linear layer of the GIN MLP, which then receives sums of spikes.

    Args:
        eps (float): :math:`\epsilon`. (default: ``0``)

    Shapes:
        - **input:** node spikes :math:`(T, |\mathcal{V}|, F)`, edge indices
          :math:`(2, |\mathcal{E}|)`
        - **output:** :math:`(T, |\mathcal{V}|, F)`
    """

    def __init__(self, eps: float = 0.0) -> None:
        super().__init__()
        self.eps = float(eps)

    @classmethod
    def from_ann(cls, aggregation: GINAggregation) -> "SpikingGINAggregation":
        """The spiking form of a split GINConv's aggregation."""
        return cls(aggregation.eps)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        check_node_steps(self, x)
        num_nodes = x.shape[1]
        check_edge_index(edge_index, num_nodes)
        nodes = torch.arange(num_nodes, device=edge_index.device)
        edges = torch.cat([edge_index, torch.stack([nodes, nodes])], dim=1)
        weights = torch.ones(edges.shape[1], dtype=x.dtype, device=x.device)
        weights[edge_index.shape[1] :] = 1 + self.eps  # self loops add up with existing ones
        return GraphAdjacency.from_edges(edges, weights, num_nodes, x.dtype).propagate(x)

    def events_per_unit(self, sample_shape: Sequence[int]) -> Optional[float]:
        """One unit of the sum is one spike event (with :math:`\\epsilon = 0`)."""
        return 1.0

    def extra_repr(self) -> str:
        return f"eps={self.eps:g}"
