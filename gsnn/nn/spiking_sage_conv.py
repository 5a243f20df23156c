"""Spiking GraphSAGE convolution (mean, sum or max aggregation)."""

from typing import List, Optional

import torch
from torch import Tensor
from torch_geometric.nn import SAGEConv

from gsnn.nn.graph_adjacency import GraphAdjacency
from gsnn.nn.registry import converts
from gsnn.nn.running_max_aggregation import RunningMaxAggregation
from gsnn.nn.spiking_graph_layer import SpikingGraphLayer
from gsnn.nn.spiking_linear import SpikingLinear

LINEAR_AGGREGATIONS = ("mean", "sum", "add")
AGGREGATIONS = LINEAR_AGGREGATIONS + ("max",)


@converts(SAGEConv)
class SpikingSAGEConv(SpikingGraphLayer):
    r"""The convolution of :class:`torch_geometric.nn.SAGEConv` over spike trains.

    .. math::
        \mathbf{x}'_i(t) = \mathbf{W}_1 \mathbf{x}_i(t) + \mathbf{W}_2 \cdot
        \mathrm{mean}_{j \in \mathcal{N}(i)} \mathbf{x}_j(t) + \mathbf{b}

    For the linear aggregations (``"mean"``, ``"sum"``) the weight is applied
    before aggregating (the same result by linearity, and cheaper on spikes
    since silent rows are skipped). ``"max"`` aggregates the neighbours'
    running spike counts (:attr:`max_aggregation`, a
    :class:`~gsnn.nn.RunningMaxAggregation`), exact for count codes only, and
    applies the weight after it; the layer then carries state across chunks
    of steps.

    Args:
        in_channels (int): size of each input sample.
        out_channels (int): size of each output sample.
        aggr (str): ``"mean"``, ``"sum"`` or ``"max"``. (default: ``"mean"``)
        root_weight (bool): add the transformed root node features. (default: ``True``)
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
        aggr: str = "mean",
        root_weight: bool = True,
        bias: bool = True,
    ) -> None:
        super().__init__(in_channels, out_channels, cached=False)
        if aggr not in AGGREGATIONS:
            raise ValueError(
                f"SpikingSAGEConv supports the aggregations {AGGREGATIONS}, got aggr={aggr!r}; "
                "min, softmax, std and learnt aggregations have no exact spiking form."
            )
        self.aggr = aggr
        self.max_aggregation = RunningMaxAggregation() if aggr == "max" else None
        self.root_weight = root_weight
        self.lin_l = SpikingLinear(in_channels, out_channels, bias=False)
        self.lin_r = SpikingLinear(in_channels, out_channels, bias=False) if root_weight else None
        self.bias = torch.nn.Parameter(torch.zeros(out_channels)) if bias else None

    @classmethod
    def from_ann(cls, conv: SAGEConv) -> "SpikingSAGEConv":
        """Copy a trained :class:`~torch_geometric.nn.SAGEConv`; raises ``ValueError`` on
        options without a spiking equivalent (non-linear aggregation, ``project``,
        ``normalize``)."""
        if conv.project or conv.normalize:
            raise ValueError(
                "SAGEConv with project=True or normalize=True is not linear in its input; "
                "train with project=False, normalize=False to convert it."
            )
        in_channels = conv.in_channels
        if isinstance(in_channels, tuple):
            raise ValueError("SAGEConv on bipartite inputs (a channel pair) is not supported.")
        layer = cls(
            in_channels,
            conv.out_channels,
            aggr=str(conv.aggr),
            root_weight=conv.root_weight,
            bias=conv.lin_l.bias is not None,
        ).to(conv.lin_l.weight.dtype)
        roots = [conv.lin_r.weight] if conv.root_weight else []
        layer.copy_trained_([conv.lin_l.weight, *roots], conv.lin_l.bias)
        return layer

    def build_adjacency(
        self, edge_index: Tensor, edge_weight: Optional[Tensor], num_nodes: int, dtype: torch.dtype
    ) -> GraphAdjacency:
        weight = torch.ones(edge_index.shape[1], dtype=dtype)
        if edge_weight is not None:
            weight = edge_weight.to(dtype)
        if self.aggr == "mean":
            in_degree = torch.bincount(edge_index[1], minlength=num_nodes).to(dtype)
            weight = weight / in_degree[edge_index[1]]
        return GraphAdjacency.from_edges(edge_index, weight, num_nodes, dtype)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        return self.neighbour_and_root(x, edge_index, None)

    def neighbour_and_root(
        self, x: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor]
    ) -> Tensor:
        """Aggregated neighbours through ``lin_l`` plus the root through ``lin_r``."""
        adjacency = self.adjacency(x, edge_index, edge_weight)  # also checks the inputs
        if self.max_aggregation is not None:
            out = self.lin_l(self.max_aggregation(x, edge_index, edge_weight))
        else:
            out = adjacency.propagate(self.lin_l(x))
        if self.lin_r is not None:
            out = out + self.lin_r(x)
        return self.finish_steps(out, self.bias)

    def linears(self) -> List[SpikingLinear]:
        return [lin for lin in (self.lin_l, self.lin_r) if lin is not None]

    def synaptic_fanout(
        self, x: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor] = None
    ) -> Tensor:
        """Accumulates per unit event at node ``j``: ``(out_degree(j) + root) * F_out``.

        For ``"max"`` an upper bound: an event reaches a neighbour's weights only
        when it raises that neighbour's max count.
        """
        adjacency = self.adjacency(x, edge_index, edge_weight)
        fanout = adjacency.source_fanout + (1 if self.root_weight else 0)
        return (fanout * self.out_channels).unsqueeze(1).to(x.dtype)

    def dense_macs(
        self, x: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor] = None
    ) -> int:
        """ANN MACs for one step: ``nnz(A) * F_in`` plus one or two ``N * F_in * F_out``."""
        adjacency = self.adjacency(x, edge_index, edge_weight)
        transforms = len(self.linears())
        return (
            adjacency.num_entries * self.in_channels
            + transforms * x.shape[1] * self.in_channels * self.out_channels
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, aggr={self.aggr})"
