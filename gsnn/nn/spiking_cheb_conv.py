"""Spiking Chebyshev spectral graph convolution (Defferrard et al.)."""

from typing import List, Optional, Union

import torch
from torch import Tensor, nn
from torch_geometric.nn import ChebConv
from torch_geometric.utils import get_laplacian

from gsnn.nn.graph_adjacency import GraphAdjacency
from gsnn.nn.message_passing_options import check_sum_aggregation
from gsnn.nn.registry import converts
from gsnn.nn.spiking_graph_layer import SpikingGraphLayer
from gsnn.nn.spiking_linear import SpikingLinear
from gsnn.nn.time_constant import map_steps

NORMALIZATIONS = (None, "sym", "rw")


@converts(ChebConv)
class SpikingChebConv(SpikingGraphLayer):
    r"""The convolution of :class:`torch_geometric.nn.ChebConv` over spike trains.

    .. math::
        \mathbf{X}'(t) = \sum_{k=0}^{K-1} T_k(\tilde{\mathbf{L}}) \mathbf{X}(t)
        \mathbf{\Theta}_k + \mathbf{b}, \qquad
        \tilde{\mathbf{L}} = \frac{2\mathbf{L}}{\lambda_{\max}} - \mathbf{I}

    with :math:`T_k` the Chebyshev polynomials and :math:`\mathbf{L}` the
    Laplacian of PyG's ``get_laplacian`` (``normalization`` ``None``:
    :math:`\mathbf{D} - \mathbf{A}`, ``"sym"``, ``"rw"``). The weights are
    applied to the spikes first (silent rows skipped) and the sum is evaluated
    by Clenshaw's recurrence,
    :math:`\mathbf{B}_k = \mathbf{Y}_k + 2\tilde{\mathbf{L}}\mathbf{B}_{k+1}
    - \mathbf{B}_{k+2}` with :math:`\mathbf{Y}_k = \mathbf{X}\mathbf{\Theta}_k`:
    :math:`K - 1` sparse matmuls over all :math:`T` steps on :math:`F_{out}`
    columns. Entries of :math:`\tilde{\mathbf{L}}` that are exactly zero (the
    diagonal of ``"sym"`` and ``"rw"`` at :math:`\lambda_{\max} = 2`) are not
    stored, so they cost nothing and are not counted.

    Args:
        in_channels (int): size of each input sample.
        out_channels (int): size of each output sample.
        K (int): Chebyshev filter size (polynomials of order ``0 .. K-1``).
        normalization (str, optional): ``None``, ``"sym"`` or ``"rw"``. (default: ``"sym"``)
        bias (bool): learn an additive bias. (default: ``True``)

    Shapes:
        - **input:** node spikes :math:`(T, |\mathcal{V}|, F_{in})`, edge indices
          :math:`(2, |\mathcal{E}|)`, optional edge weights :math:`(|\mathcal{E}|)`,
          batch vector :math:`(|\mathcal{V}|)` and :math:`\lambda_{\max}`
          (a number, or one per graph of the batch); by default
          :math:`\lambda_{\max}` is twice the largest entry of :math:`\mathbf{L}`, as in PyG
        - **output:** node currents :math:`(T, |\mathcal{V}|, F_{out})`
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        K: int,
        normalization: Optional[str] = "sym",
        bias: bool = True,
    ) -> None:
        super().__init__(in_channels, out_channels, cached=False)
        if K < 1:
            raise ValueError(f"SpikingChebConv needs K >= 1, got K={K}.")
        if normalization not in NORMALIZATIONS:
            raise ValueError(
                f"SpikingChebConv's normalization is one of {NORMALIZATIONS}, "
                f"got {normalization!r}."
            )
        self.K = K
        self.normalization = normalization
        self.negative_edge_weights = normalization != "sym"  # sym: square roots of degrees
        self.lins = nn.ModuleList(
            SpikingLinear(in_channels, out_channels, bias=False) for _ in range(K)
        )
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None

    @classmethod
    def from_ann(cls, conv: ChebConv) -> "SpikingChebConv":
        """Copy a trained :class:`~torch_geometric.nn.ChebConv` and its options; raises
        ``ValueError`` for another aggregation or flow."""
        check_sum_aggregation(conv)
        layer = cls(
            conv.in_channels,
            conv.out_channels,
            K=len(conv.lins),
            normalization=conv.normalization,
            bias=conv.bias is not None,
        ).to(conv.lins[0].weight.dtype)
        layer.copy_trained_([lin.weight for lin in conv.lins], conv.bias)
        return layer

    def build_adjacency(
        self, edge_index: Tensor, edge_weight: Optional[Tensor], num_nodes: int, dtype: torch.dtype
    ) -> GraphAdjacency:
        """The Laplacian :math:`\\mathbf{L}` (scaled per call, see :meth:`scaled_laplacian`)."""
        edge_index, edge_weight = get_laplacian(
            edge_index, edge_weight, self.normalization, dtype, num_nodes
        )
        return GraphAdjacency.from_edges(edge_index, edge_weight, num_nodes, dtype)

    def scaled_laplacian(
        self,
        x: Tensor,
        edge_index: Tensor,
        edge_weight: Optional[Tensor] = None,
        batch: Optional[Tensor] = None,
        lambda_max: Optional[Union[float, Tensor]] = None,
    ) -> GraphAdjacency:
        r""":math:`\tilde{\mathbf{L}} = 2\mathbf{L} / \lambda_{\max} - \mathbf{I}`, as PyG's
        ``ChebConv`` builds it, with its zero entries dropped."""
        laplacian = self.adjacency(x, edge_index, edge_weight)
        matrix = laplacian.matrix
        values = matrix.values()
        target = torch.repeat_interleave(
            torch.arange(matrix.shape[0], device=values.device), matrix.crow_indices().diff()
        )
        source = matrix.col_indices()
        if lambda_max is None:
            lambda_max = 2.0 * values.max()
        lambda_max = torch.as_tensor(lambda_max, dtype=values.dtype, device=values.device)
        if lambda_max.numel() > 1:
            if batch is None:
                raise ValueError(
                    f"lambda_max holds {lambda_max.numel()} values (one per graph) but no batch "
                    "vector was given; pass batch, or one lambda_max for the whole graph."
                )
            lambda_max = lambda_max[batch[source]]
        scaled = 2.0 * values / lambda_max
        scaled.masked_fill_(scaled == float("inf"), 0)
        scaled[source == target] -= 1
        stored = scaled != 0
        return GraphAdjacency.from_edges(
            torch.stack([source[stored], target[stored]]),
            scaled[stored],
            matrix.shape[0],
            values.dtype,
        )

    def forward(
        self,
        x: Tensor,
        edge_index: Tensor,
        edge_weight: Optional[Tensor] = None,
        batch: Optional[Tensor] = None,
        lambda_max: Optional[Union[float, Tensor]] = None,
    ) -> Tensor:
        operator = self.scaled_laplacian(x, edge_index, edge_weight, batch, lambda_max)

        def clenshaw(steps: Tensor) -> Tensor:
            if self.K == 1:
                return self.lins[0](steps)
            later, latest = None, self.lins[self.K - 1](steps)  # B_{k+2}, B_{k+1}
            for lin in reversed(self.lins[1 : self.K - 1]):
                current = lin(steps) + 2.0 * operator.propagate(latest)
                if later is not None:
                    current = current - later
                later, latest = latest, current
            out = self.lins[0](steps) + operator.propagate(latest)
            return out if later is None else out - later

        out = map_steps(clenshaw, x)  # a time-constant input is computed once
        return self.finish_steps(out, self.bias)

    def linears(self) -> List[SpikingLinear]:
        return list(self.lins)

    def synaptic_fanout(self, x: Tensor, *graph) -> Tensor:
        r"""Accumulates per unit event at node ``j``, shape ``[N, 1]``: ``F_out`` times the
        paths from ``j`` through the recurrence, :math:`\sum_k c_k(j)` with
        :math:`c_0 = 1`, :math:`c_1 = c_0 P`, :math:`c_k = c_{k-1} P + c_{k-2}`
        (:math:`P` the pattern of :math:`\tilde{\mathbf{L}}`, row vectors). ``graph``: the
        arguments of :meth:`forward` after ``x``."""
        operator = self.scaled_laplacian(x, *graph)
        pattern = operator.unit_pattern()
        paths = [torch.ones(1, x.shape[1], dtype=x.dtype)]
        for order in range(1, self.K):
            step = paths[-1] @ pattern
            paths.append(step if order == 1 else step + paths[-2])
        return torch.cat(paths).sum(0).unsqueeze(1) * self.out_channels

    def dense_macs(self, x: Tensor, *graph) -> int:
        """ANN MACs for one step, as PyG computes it: ``(K - 1) * nnz * F_in`` for the
        recurrence's propagations, ``(K - 2) * N * F_in`` for its ``2 T_{k-1} - T_{k-2}``,
        ``K * N * F_in * F_out`` for the weights."""
        operator = self.scaled_laplacian(x, *graph)
        nodes = x.shape[1]
        return (
            (self.K - 1) * operator.num_entries * self.in_channels
            + max(self.K - 2, 0) * nodes * self.in_channels
            + self.K * nodes * self.in_channels * self.out_channels
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.in_channels}, {self.out_channels}, K={self.K}, "
            f"normalization={self.normalization})"
        )
