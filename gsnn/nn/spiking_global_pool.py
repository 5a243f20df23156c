"""Sum and mean readouts of node spike trains per graph (global_add_pool, global_mean_pool)."""

from typing import Optional, Sequence

from torch import Tensor, nn
from torch_geometric.nn.aggr import MeanAggregation, SumAggregation
from torch_geometric.utils import scatter

from gsnn.nn.graph_readout import GraphReadout
from gsnn.nn.registry import converts
from gsnn.nn.time_constant import map_steps


@converts(SumAggregation, MeanAggregation)
class SpikingGlobalPool(GraphReadout):
    r"""The sum or mean of node spike trains over every graph of a batch, at every step.

    Both readouts are linear and time-invariant, so pooling the spikes of every
    step and decoding the pooled trains gives the pooled decoded values
    exactly, for every code. The converter folds the threshold of the neurons
    before the readout into the next weighted layer, which then receives the
    pooled spikes.

    What one pooled unit stands for: a unit of a graph's sum is one spike
    event, so the next layer's synaptic operations are the graph's spikes times
    their fan-out; a unit of a graph's mean stands for :math:`N_g` events (the
    graph's nodes). The converter marks the receiving layer
    (:attr:`averages_graph_nodes`) and the statistics count the events of every
    graph, plus one multiply per output value and step for the division by
    :math:`N_g`.

    Args:
        reduce (str): ``"sum"`` (``global_add_pool``, ``SumAggregation``) or ``"mean"``
            (``global_mean_pool``, ``MeanAggregation``).

    Shapes:
        - **input:** node spikes or currents :math:`(T, N, F)`, the graph of every
          node :math:`(N,)` or ``None`` (one graph), optional number of graphs ``dim_size``
        - **output:** :math:`(T, G, F)`
    """

    def __init__(self, reduce: str = "sum") -> None:
        super().__init__()
        if reduce not in ("sum", "mean"):
            raise ValueError(f"SpikingGlobalPool reduces by 'sum' or 'mean', got {reduce!r}.")
        self.reduce = reduce

    @property
    def averages_graph_nodes(self) -> bool:
        """A mean: one pooled unit of graph :math:`g` stands for :math:`N_g` events."""
        return self.reduce == "mean"

    @classmethod
    def from_ann(cls, aggregation: nn.Module) -> "SpikingGlobalPool":
        """The readout of a ``SumAggregation`` or ``MeanAggregation``."""
        return cls("mean" if isinstance(aggregation, MeanAggregation) else "sum")

    def pool(self, x: Tensor, index: Tensor, size: int) -> Tensor:
        return map_steps(
            lambda steps: scatter(steps, index, dim=1, dim_size=size, reduce=self.reduce), x
        )

    def events_per_unit(self, sample_shape: Sequence[int]) -> Optional[float]:
        """One for a sum; a mean's unit stands for as many events as its graph has nodes,
        which the statistics read per graph (:attr:`averages_graph_nodes`)."""
        return 1.0

    def extra_repr(self) -> str:
        return f"reduce={self.reduce!r}"
