"""APPNP's personalised-PageRank propagation over spike trains."""

from typing import Optional, Sequence

from torch import Tensor
from torch_geometric.nn import APPNP
from torch_geometric.nn.conv.gcn_conv import gcn_norm

from gsnn.nn.graph_adjacency import GraphAdjacency, check_edge_index, check_edge_weight
from gsnn.nn.registry import converts
from gsnn.nn.structural_op import StructuralOp
from gsnn.nn.time_constant import map_steps
from gsnn.nn.validation import check_node_steps


@converts(APPNP)
class SpikingAPPNP(StructuralOp):
    r"""The propagation of :class:`torch_geometric.nn.APPNP` at every step:

    .. math::
        \mathbf{H}^{(0)}(t) = \mathbf{X}(t), \qquad
        \mathbf{H}^{(k)}(t) = (1 - \alpha) \hat{\mathbf{A}} \mathbf{H}^{(k-1)}(t)
        + \alpha \mathbf{X}(t), \quad k = 1, \ldots, K

    with PyG's normalised adjacency :math:`\hat{\mathbf{A}}` (``gcn_norm``).
    It has no weights and is linear and time-invariant, so it commutes with
    time averaging: applied to the currents after the last linear layer (as in
    PyG's example), the decoded output is the ANN's; between a neuron and a
    linear layer, the neuron's per-channel threshold folds through it into
    that layer. Edge dropout acts in training only. The normalised adjacency is
    built once per call and serves all steps and all :math:`K` iterations
    (PyG's ``cached`` keeps it across calls; here a call is a whole inference).

    Args:
        K (int): propagation steps.
        alpha (float): teleport probability :math:`\alpha`.
        add_self_loops (bool): add self loops before normalising. (default: ``True``)
        normalize (bool): apply the symmetric normalisation. (default: ``True``)

    Shapes:
        - **input:** node features or spikes :math:`(T, |\mathcal{V}|, F)`, edge
          indices :math:`(2, |\mathcal{E}|)`, optional edge weights :math:`(|\mathcal{E}|)`
        - **output:** :math:`(T, |\mathcal{V}|, F)`
    """

    def __init__(
        self, K: int, alpha: float, add_self_loops: bool = True, normalize: bool = True
    ) -> None:
        super().__init__()
        self.K = K
        self.alpha = alpha
        self.add_self_loops = add_self_loops
        self.normalize = normalize

    @classmethod
    def from_ann(cls, appnp: APPNP) -> "SpikingAPPNP":
        """The propagation of a trained ``APPNP`` with its options."""
        return cls(
            appnp.K, appnp.alpha, add_self_loops=appnp.add_self_loops, normalize=appnp.normalize
        )

    def forward(
        self, x: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor] = None
    ) -> Tensor:
        check_node_steps(self, x)
        num_nodes = x.shape[1]
        check_edge_index(edge_index, num_nodes)
        check_edge_weight(edge_weight, edge_index, allow_negative=not self.normalize)
        if self.normalize:
            edge_index, edge_weight = gcn_norm(
                edge_index, edge_weight, num_nodes, False, self.add_self_loops, dtype=x.dtype
            )
        adjacency = GraphAdjacency.from_edges(edge_index, edge_weight, num_nodes, x.dtype)

        def propagate(block: Tensor) -> Tensor:
            h = block
            for _ in range(self.K):
                h = (1 - self.alpha) * adjacency.propagate(h) + self.alpha * block
            return h

        return map_steps(propagate, x)

    def events_per_unit(self, sample_shape: Sequence[int]) -> Optional[float]:
        """One unit of propagated input stands for one spike event."""
        return 1.0

    def extra_repr(self) -> str:
        return f"K={self.K}, alpha={self.alpha:g}"
