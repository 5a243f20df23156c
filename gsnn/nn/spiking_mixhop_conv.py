"""Spiking mix-hop convolution (MixHop, Abu-El-Haija et al.)."""

from typing import List, Optional

import torch
from torch import Tensor, nn
from torch_geometric.nn import MixHopConv

from gsnn.nn.graph_adjacency import GraphAdjacency
from gsnn.nn.message_passing_options import check_sum_aggregation
from gsnn.nn.registry import converts
from gsnn.nn.spiking_graph_layer import SpikingGraphLayer
from gsnn.nn.spiking_linear import SpikingLinear
from gsnn.nn.time_constant import map_steps


@converts(MixHopConv)
class SpikingMixHopConv(SpikingGraphLayer):
    r"""The convolution of :class:`torch_geometric.nn.MixHopConv` over spike trains.

    .. math::
        \mathbf{X}'(t) = {\Big\Vert}_{p \in P} \hat{\mathbf{A}}^p \mathbf{X}(t)
        \mathbf{\Theta}_p + \mathbf{b}

    with :math:`\hat{\mathbf{A}}` the GCN-normalised adjacency. All weights
    are applied to the spikes first (silent rows skipped); hop :math:`h`
    propagates, in one sparse matmul over all :math:`T` steps, the blocks of
    the powers :math:`p \ge h` only.

    Args:
        in_channels (int): size of each input sample.
        out_channels (int): size of each output sample per power; the output
            has ``len(powers) * out_channels`` channels.
        powers (List[int], optional): the powers :math:`P` of the adjacency,
            in output order. (default: ``[0, 1, 2]``)
        add_self_loops (bool): add self loops. (default: ``True``)
        bias (bool): learn an additive bias. (default: ``True``)

    Shapes:
        - **input:** node spikes :math:`(T, |\mathcal{V}|, F_{in})`, edge indices
          :math:`(2, |\mathcal{E}|)`, optional edge weights :math:`(|\mathcal{E}|)`
        - **output:** node currents :math:`(T, |\mathcal{V}|, |P| \cdot F_{out})`
    """

    negative_edge_weights = False  # gcn_norm takes square roots of weighted degrees

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        powers: Optional[List[int]] = None,
        add_self_loops: bool = True,
        bias: bool = True,
    ) -> None:
        super().__init__(in_channels, out_channels, cached=False)
        self.powers = [0, 1, 2] if powers is None else list(powers)
        self.add_self_loops = add_self_loops
        self.lins = nn.ModuleList(
            SpikingLinear(in_channels, out_channels, bias=False) for _ in self.powers
        )
        width = len(self.powers) * out_channels
        self.bias = nn.Parameter(torch.zeros(width)) if bias else None

    @classmethod
    def from_ann(cls, conv: MixHopConv) -> "SpikingMixHopConv":
        """Copy a trained :class:`~torch_geometric.nn.MixHopConv` and its options; raises
        ``ValueError`` for another aggregation or flow."""
        check_sum_aggregation(conv)
        layer = cls(
            conv.in_channels,
            conv.out_channels,
            powers=conv.powers,
            add_self_loops=conv.add_self_loops,
            bias=conv.bias is not None,
        ).to(conv.bias.dtype if conv.bias is not None else conv.lins[conv.powers[0]].weight.dtype)
        layer.copy_trained_([conv.lins[power].weight for power in conv.powers], conv.bias)
        return layer

    def build_adjacency(
        self, edge_index: Tensor, edge_weight: Optional[Tensor], num_nodes: int, dtype: torch.dtype
    ) -> GraphAdjacency:
        return GraphAdjacency.gcn_normalised(
            edge_index, edge_weight, num_nodes, dtype, self.add_self_loops
        )

    def forward(
        self, x: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor] = None
    ) -> Tensor:
        adjacency = self.adjacency(x, edge_index, edge_weight)
        # the blocks in increasing power; each hop propagates the blocks not yet done
        order = sorted(range(len(self.powers)), key=lambda i: self.powers[i])

        def mix_hops(steps: Tensor) -> Tensor:
            pending = torch.cat([self.lins[i](steps) for i in order], dim=-1)
            blocks, hops = {}, 0
            for i in order:
                for _ in range(self.powers[i] - hops):
                    pending = adjacency.propagate(pending)
                hops = self.powers[i]
                blocks[i] = pending[..., : self.out_channels]
                pending = pending[..., self.out_channels :]
            return torch.cat([blocks[i] for i in range(len(self.powers))], dim=-1)

        out = map_steps(mix_hops, x)  # a time-constant input is computed once
        return self.finish_steps(out, self.bias)

    def linears(self) -> List[SpikingLinear]:
        return list(self.lins)

    @torch.no_grad()
    def fold_output_affine_(self, scale: Tensor, shift: Tensor) -> None:
        """Absorb a following per-channel affine map ``y * scale + shift`` (BN folding) over
        all ``len(powers) * F_out`` channels."""
        for lin, block_scale in zip(self.lins, scale.split(self.out_channels)):
            lin.weight.mul_(block_scale.to(lin.weight.dtype).unsqueeze(1))
        base = self.bias.detach() if self.bias is not None else torch.zeros_like(shift)
        self.bias = nn.Parameter((base * scale + shift).to(self.lins[0].weight.dtype))

    def synaptic_fanout(
        self, x: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor] = None
    ) -> Tensor:
        """Accumulates per unit event at node ``j``: the sum over the powers ``p`` of its
        walks of length ``p``, times ``F_out``, shape ``[N, 1]``."""
        adjacency = self.adjacency(x, edge_index, edge_weight)
        walks = adjacency.walk_counts(max(self.powers))[self.powers].sum(0).to(x.dtype)
        return walks.unsqueeze(1) * self.out_channels

    def dense_macs(
        self, x: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor] = None
    ) -> int:
        """ANN MACs for one step, as PyG computes it: ``max(P) * nnz(A) * F_in`` for the
        hops, ``|P| * N * F_in * F_out`` for the weights."""
        adjacency = self.adjacency(x, edge_index, edge_weight)
        return (
            max(self.powers) * adjacency.num_entries * self.in_channels
            + len(self.powers) * x.shape[1] * self.in_channels * self.out_channels
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.in_channels}, {self.out_channels}, powers={self.powers})"
        )
