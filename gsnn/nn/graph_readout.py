"""The base of graph-level readouts: ops that pool the nodes of every graph of a batch."""

from abc import abstractmethod
from typing import Optional, Tuple

import torch
from torch import Tensor

from gsnn.nn.structural_op import StructuralOp


class GraphReadout(StructuralOp):
    """Base class of readouts that pool node trains :math:`(T, N, F)` into graph trains
    :math:`(T, G, F)`, taking the graph of every node as PyG's readouts do (``batch``,
    ``size``).

    It is called like PyG's aggregations, ``readout(x, index, ptr, dim_size, dim)``;
    a subclass implements :meth:`pool`. The statistics recorder reads the
    ``index`` argument to split every count by graph
    (:attr:`gsnn.metrics.LayerStats.per_graph`).
    """

    def forward(
        self,
        x: Tensor,
        index: Optional[Tensor] = None,
        ptr: Optional[Tensor] = None,
        dim_size: Optional[int] = None,
        dim: int = -2,
    ) -> Tensor:
        index, size = self.graph_index(x, index, ptr, dim_size, dim)
        return self.pool(x, index, size)

    @abstractmethod
    def pool(self, x: Tensor, index: Tensor, size: int) -> Tensor:
        """Pool node trains :math:`(T, N, F)` into the trains of ``size`` graphs, node
        :math:`i` belonging to graph ``index[i]``."""

    def graph_index(
        self,
        x: Tensor,
        index: Optional[Tensor],
        ptr: Optional[Tensor],
        dim_size: Optional[int],
        dim: int,
    ) -> Tuple[Tensor, int]:
        """``(index, size)``: the graph of every node (all in graph 0 when ``index`` is
        ``None``, as PyG reads a single graph) and the number of graphs (``dim_size``,
        else one more than the largest index).

        Raises:
            ValueError: the input is not time-major node features, the readout is asked to
                pool another axis or by ``ptr``, or the index does not fit the nodes.
        """
        name = type(self).__name__
        if x.dim() != 3:
            raise ValueError(
                f"{name} expects node features of shape [T, N, F], got {tuple(x.shape)}."
            )
        if dim not in (-2, 1):
            raise ValueError(f"{name} pools over the node axis (dim=-2), got dim={dim}.")
        if ptr is not None:
            raise ValueError(
                f"{name} takes the graph of every node as index (data.batch), not ptr."
            )
        if index is None:
            return torch.zeros(x.shape[1], dtype=torch.long, device=x.device), 1
        if index.dim() != 1 or index.shape[0] != x.shape[1]:
            raise ValueError(
                f"{name} got a batch vector of shape {tuple(index.shape)} for {x.shape[1]} "
                "nodes; pass data.batch, one graph index per node."
            )
        if dim_size is None:
            dim_size = int(index.max()) + 1 if index.numel() else 0
        return index, int(dim_size)
