"""The sum aggregation of a GINConv, split from the MLP it feeds."""

from torch import Tensor
from torch_geometric.nn import GINConv, MessagePassing


class GINAggregation(MessagePassing):
    r"""The weightless part of :class:`torch_geometric.nn.GINConv`:

    .. math::
        \mathbf{h}_i = (1 + \epsilon) \cdot \mathbf{x}_i + \sum_{j \in \mathcal{N}(i)}
        \mathbf{x}_j

    ``GINConv(nn)`` is ``nn`` applied to this sum. The converter splits every
    ``GINConv`` into the two (see :mod:`gsnn.convert.pre_trace`), so that the
    tracer sees the layers and activations of ``nn``; the sum is linear in
    :math:`\mathbf{x}` and has no weights, so thresholds fold through it.

    Args:
        eps (float): :math:`\epsilon`, the (trained) weight of the root node.

    Shapes:
        - **input:** node features :math:`(|\mathcal{V}|, F)`, edge indices
          :math:`(2, |\mathcal{E}|)`
        - **output:** node features :math:`(|\mathcal{V}|, F)`
    """

    def __init__(self, eps: float = 0.0) -> None:
        super().__init__(aggr="add")
        self.eps = float(eps)

    @classmethod
    def from_gin_conv(cls, conv: GINConv) -> "GINAggregation":
        """The aggregation of a trained ``GINConv`` (its ``eps``, trained or not)."""
        if str(conv.aggr) != "add":
            raise ValueError(
                f"GINConv with aggr={str(conv.aggr)!r} is not the sum of GIN; only the default "
                "aggr='add' converts."
            )
        return cls(float(conv.eps.detach()))

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        return self.propagate(edge_index, x=x) + (1 + self.eps) * x

    def message(self, x_j: Tensor) -> Tensor:
        return x_j

    def extra_repr(self) -> str:
        return f"eps={self.eps:g}"
