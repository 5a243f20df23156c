"""Neighbourhood max aggregation of spike trains by their running counts."""

from typing import Optional

import torch
from torch import Tensor
from torch_geometric.nn.aggr import MaxAggregation

from gsnn.nn.graph_adjacency import check_edge_index, check_edge_weight
from gsnn.nn.running_count_max import RunningCountMax
from gsnn.nn.validation import check_node_steps


class RunningMaxAggregation(RunningCountMax):
    r"""PyG's ``aggr="max"`` over spike trains, exact for count codes.

    Every node receives the largest running count among its incoming messages,

    .. math::
        M_i(t) = \max_{(j, i) \in \mathcal{E}} e_{j,i} \, C_j(t), \qquad
        o_i(t) = M_i(t) - M_i(t - 1),

    with edge weights :math:`e_{j,i}` (1 without them), so that the output
    count of node :math:`i` after every step is the max aggregation of its
    neighbours' counts (see :class:`~gsnn.nn.running_count_max.RunningCountMax`).
    A node without incoming edges gets 0, as in PyG. Binary spikes and unit
    weights give binary outputs.

    Shapes:
        - **input:** node spikes :math:`(T, |\mathcal{V}|, F)`, edge indices
          :math:`(2, |\mathcal{E}|)`, optional edge weights :math:`(|\mathcal{E}|)`
        - **output:** node spikes :math:`(T, |\mathcal{V}|, F)`
    """

    operation = "max aggregation"
    linear_alternative = "aggr='mean' or aggr='sum'"

    @classmethod
    def from_ann(cls, aggregation: MaxAggregation) -> "RunningMaxAggregation":
        """The spiking form of PyG's ``MaxAggregation`` (a convolution's ``aggr_module``)."""
        return cls()

    def forward(
        self, x: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor] = None
    ) -> Tensor:
        check_node_steps(self, x)
        check_edge_index(edge_index, x.shape[1])
        check_edge_weight(edge_weight, edge_index)
        source, target = edge_index

        def maximum(counts: Tensor) -> Tensor:
            messages = counts[:, source]
            if edge_weight is not None:
                messages = messages * edge_weight.to(counts.dtype).view(1, -1, 1)
            index = target.view(1, -1, 1).expand_as(messages)
            out = torch.zeros_like(counts)
            return out.scatter_reduce_(1, index, messages, "amax", include_self=False)

        return self.running_max(x, maximum)
