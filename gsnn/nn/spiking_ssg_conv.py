"""Spiking simple spectral graph convolution (SSGC, Zhu and Koniusz)."""

from typing import Optional

from torch import Tensor
from torch_geometric.nn import SSGConv

from gsnn.nn.registry import converts
from gsnn.nn.spiking_sg_conv import SpikingSGConv
from gsnn.nn.time_constant import map_steps


@converts(SSGConv)
class SpikingSSGConv(SpikingSGConv):
    r"""The convolution of :class:`torch_geometric.nn.SSGConv` over spike trains.

    .. math::
        \mathbf{X}'(t) = \left(\alpha \mathbf{X}(t) + \frac{1 - \alpha}{K}
        \sum_{k=1}^K \hat{\mathbf{A}}^k \mathbf{X}(t)\right) \mathbf{\Theta}
        + \mathbf{b}

    with :math:`\hat{\mathbf{A}}` the GCN-normalised adjacency. The weight is
    applied to the spikes first (silent rows skipped), then :math:`K` sparse
    matmuls over all :math:`T` steps accumulate the hops on :math:`F_{out}`
    columns. Only the adjacency is cached, never PyG's propagated features
    (they change with the spikes). The adjacency and options are those of
    :class:`~gsnn.nn.SpikingSGConv`.

    Args:
        in_channels (int): size of each input sample.
        out_channels (int): size of each output sample.
        alpha (float): teleport probability :math:`\alpha`.
        K (int): number of hops. (default: ``1``)
        cached (bool): cache the normalised adjacency. (default: ``False``)
        add_self_loops (bool): add self loops. (default: ``True``)
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
        alpha: float,
        K: int = 1,
        cached: bool = False,
        add_self_loops: bool = True,
        bias: bool = True,
    ) -> None:
        super().__init__(in_channels, out_channels, K, cached, add_self_loops, bias)
        self.alpha = alpha

    @classmethod
    def options_of(cls, conv: SSGConv) -> dict:
        return {**super().options_of(conv), "alpha": conv.alpha}

    def forward(
        self, x: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor] = None
    ) -> Tensor:
        adjacency = self.adjacency(x, edge_index, edge_weight)

        def mix_hops(steps: Tensor) -> Tensor:
            hop = self.lin(steps)
            out = hop * self.alpha
            for _ in range(self.K):
                hop = adjacency.propagate(hop)
                out = out + (1 - self.alpha) / self.K * hop
            return out

        out = map_steps(mix_hops, x)  # a time-constant input is computed once
        return self.finish_steps(out, self.bias)

    def synaptic_fanout(
        self, x: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor] = None
    ) -> Tensor:
        """Accumulates per unit event at node ``j``: its walks of length ``0..K`` (the
        ``alpha`` term is one) times ``F_out``, shape ``[N, 1]``."""
        adjacency = self.adjacency(x, edge_index, edge_weight)
        walks = adjacency.walk_counts(self.K).sum(0).to(x.dtype)
        return walks.unsqueeze(1) * self.out_channels

    def dense_macs(
        self, x: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor] = None
    ) -> int:
        """ANN MACs for one step, as PyG computes it: ``K * nnz(A) * F_in`` for the hops,
        ``(K + 1) * N * F_in`` for the weighted sum of hops, ``N * F_in * F_out``."""
        adjacency = self.adjacency(x, edge_index, edge_weight)
        nodes = x.shape[1]
        return (
            self.K * adjacency.num_entries * self.in_channels
            + (self.K + 1) * nodes * self.in_channels
            + nodes * self.in_channels * self.out_channels
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.in_channels}, {self.out_channels}, K={self.K}, "
            f"alpha={self.alpha})"
        )
