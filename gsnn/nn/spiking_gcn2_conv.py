"""Spiking GCNII convolution (initial residual and identity mapping)."""

from typing import List, Optional

import torch
from torch import Tensor
from torch_geometric.nn import GCN2Conv

from gsnn.nn.registry import converts
from gsnn.nn.spiking_gcn_conv import SpikingGCNConv
from gsnn.nn.spiking_linear import SpikingLinear


@converts(GCN2Conv)
class SpikingGCN2Conv(SpikingGCNConv):
    r"""The convolution of :class:`torch_geometric.nn.GCN2Conv` over spike trains.

    GCN2Conv computes :math:`\mathbf{X}' = \big((1 - \alpha) \hat{\mathbf{P}}
    \mathbf{X} + \alpha \mathbf{X}^{(0)}\big) \mathbf{M}` with
    :math:`\mathbf{M} = (1 - \beta) \mathbf{I} + \beta \mathbf{W}_1` (with
    ``shared_weights=False`` the initial residual has its own
    :math:`\mathbf{M}_2` from :math:`\mathbf{W}_2`). Both terms are linear, so
    at every step

    .. math::
        \mathbf{X}'(t) = \hat{\mathbf{P}} \mathbf{X}(t) \big((1 - \alpha)
        \mathbf{M}\big) + \mathbf{X}^{(0)}(t) \big(\alpha \mathbf{M}_{(2)}\big),

    two weight maps (:attr:`lin` on the propagated input, :attr:`lin_initial`
    on the initial representation) whose input channels absorb the thresholds
    of the neurons that feed them. It propagates with GCNConv's normalised
    adjacency :math:`\hat{\mathbf{P}}` (``gcn_norm``), hence the base class.

    Args:
        channels (int): size of each input and output sample.
        add_self_loops (bool): add self loops before normalising. (default: ``True``)
        normalize (bool): apply the symmetric normalisation. (default: ``True``)
        cached (bool): cache the normalised adjacency. (default: ``False``)

    Shapes:
        - **input:** node spikes :math:`(T, |\mathcal{V}|, F)`, initial
          representation :math:`(T, |\mathcal{V}|, F)`, edge indices
          :math:`(2, |\mathcal{E}|)`, optional edge weights :math:`(|\mathcal{E}|)`
        - **output:** node currents :math:`(T, |\mathcal{V}|, F)`
    """

    def __init__(
        self,
        channels: int,
        add_self_loops: bool = True,
        normalize: bool = True,
        cached: bool = False,
    ) -> None:
        super().__init__(
            channels,
            channels,
            cached=cached,
            add_self_loops=add_self_loops,
            normalize=normalize,
            bias=False,
        )
        self.lin_initial = SpikingLinear(channels, channels, bias=False)

    @classmethod
    def from_ann(cls, conv: GCN2Conv) -> "SpikingGCN2Conv":
        """Copy a trained :class:`~torch_geometric.nn.GCN2Conv` (either ``shared_weights``)."""
        layer = cls(
            conv.channels,
            add_self_loops=conv.add_self_loops,
            normalize=conv.normalize,
            cached=conv.cached,
        ).to(conv.weight1.dtype)
        identity = torch.eye(conv.channels, dtype=conv.weight1.dtype)

        def mixing(weight: Tensor) -> Tensor:  # (1 - beta) I + beta W, as (out, in)
            return ((1 - conv.beta) * identity + conv.beta * weight.detach()).T

        second = conv.weight1 if conv.weight2 is None else conv.weight2
        layer.lin.weight.data.copy_((1 - conv.alpha) * mixing(conv.weight1))
        layer.lin_initial.weight.data.copy_(conv.alpha * mixing(second))
        return layer

    def forward(
        self, x: Tensor, x_0: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor] = None
    ) -> Tensor:
        if x_0.shape != x.shape:
            raise ValueError(
                f"{type(self).__name__} needs the initial representation x_0 shaped like x, "
                f"{tuple(x.shape)}, got {tuple(x_0.shape)}."
            )
        adjacency = self.adjacency(x, edge_index, edge_weight)
        out = adjacency.propagate(self.lin(x)) + self.lin_initial(x_0)
        return self.finish_steps(out, None)

    def linears(self) -> List[SpikingLinear]:
        return [self.lin, self.lin_initial]

    def scale_inputs_(self, gain: Tensor) -> None:
        """Multiply the weight of every channel of ``x`` (the first input) by ``gain``."""
        self.lin.scale_inputs_(gain)

    def synaptic_fanout(
        self,
        x: Tensor,
        x_0: Tensor,
        edge_index: Tensor,
        edge_weight: Optional[Tensor] = None,
    ) -> Tensor:
        """Accumulates per unit event of ``x`` at node ``j``: ``out_degree(j) * F``."""
        return super().synaptic_fanout(x, edge_index, edge_weight)

    def dense_macs(
        self,
        x: Tensor,
        x_0: Tensor,
        edge_index: Tensor,
        edge_weight: Optional[Tensor] = None,
    ) -> int:
        """ANN MACs for one step: GCNConv's plus ``N * F * F`` for the initial residual."""
        return super().dense_macs(x, edge_index, edge_weight) + x.shape[1] * self.in_channels**2
