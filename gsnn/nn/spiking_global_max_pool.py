"""Max readout of node spike trains per graph (``global_max_pool``) by running counts."""

from torch import Tensor
from torch_geometric.nn.aggr import MaxAggregation
from torch_geometric.utils import scatter

from gsnn.nn.graph_readout import GraphReadout
from gsnn.nn.registry import converts
from gsnn.nn.running_count_max import RunningCountMax


@converts(MaxAggregation)
class SpikingGlobalMaxPool(GraphReadout, RunningCountMax):
    r"""The largest running spike count of every feature over the nodes of every graph.

    It takes the max of the running counts :math:`C_i(t) = \sum_{\tau \le t} s_i(\tau)`
    over the nodes :math:`i` of graph :math:`g` and emits its increments,

    .. math::
        o_g(t) = \max_{i \in g} C_i(t) - \max_{i \in g} C_i(t - 1),

    so the output count of a graph after every step is its largest node count:
    exact for codes whose value is the spike count (rate, qcfs, two-phase,
    one-spike; see :class:`~gsnn.nn.running_count_max.RunningCountMax`). The
    converter refuses it for weighted digit codes (phase, CSS) and for currents.
    A graph without nodes reads 0, as in PyG. :attr:`keep_state` carries the
    counts over chunks of steps.

    Shapes:
        - **input:** node spikes :math:`(T, N, F)`, the graph of every node
          :math:`(N,)` or ``None`` (one graph), optional number of graphs ``dim_size``
        - **output:** spikes :math:`(T, G, F)`
    """

    operation = "max readout (global_max_pool)"
    linear_alternative = "global_add_pool or global_mean_pool"

    @classmethod
    def from_ann(cls, aggregation: MaxAggregation) -> "SpikingGlobalMaxPool":
        """The readout of a ``MaxAggregation`` (``global_max_pool``)."""
        return cls()

    def pool(self, x: Tensor, index: Tensor, size: int) -> Tensor:
        return self.running_max(
            x, lambda counts: scatter(counts, index, dim=1, dim_size=size, reduce="max")
        )
