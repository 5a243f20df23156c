"""Shared machinery of the spiking graph layers: input checks and adjacency caching."""

from typing import List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from gsnn.nn.graph_adjacency import (
    GraphAdjacency,
    check_edge_index,
    check_edge_weight,
    edges_of_adjacency,
    graph_fingerprint,
    is_sparse_adjacency,
)
from gsnn.nn.spiking_linear import SpikingLinear
from gsnn.nn.synaptic_layer import WeightedLayer
from gsnn.nn.unchanged_inputs import UnchangedInputs


class SpikingGraphLayer(WeightedLayer):
    """Base class of spiking graph convolutions.

    Subclasses implement :meth:`from_ann`, :meth:`build_adjacency` (their
    normalisation) and the forward pass. With ``cached=True`` the adjacency is
    built on the first call and reused while the graph stays the same (PyG's
    transductive ``cached`` option); a different graph, told apart by
    :func:`graph_fingerprint`, rebuilds it instead of silently reusing the old one.
    """

    # False where the normalisation takes square roots of weighted degrees (gcn_norm)
    negative_edge_weights = True
    # caches and a rank's adjacency, not saved by gsnn.save: made again by _init_transient
    transient_attributes = ("_cached_adjacency", "partition_adjacency", "_checked_graph")

    def __init__(self, in_channels: int, out_channels: int, cached: bool = False) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.cached = cached
        self._init_transient()

    def _init_transient(self) -> None:
        self._cached_adjacency: Optional[Tuple[tuple, GraphAdjacency]] = None
        # set by gsnn.distributed while a rank runs on its rows and their halo
        self.partition_adjacency: Optional[GraphAdjacency] = None
        # the graph tensors of the cached adjacency, while they stay unchanged
        self._checked_graph = UnchangedInputs()

    @property
    def receives_spikes(self) -> bool:
        """Whether the input holds spikes (set by the converter); passed on to sub-layers."""
        return self._receives_spikes

    @receives_spikes.setter
    def receives_spikes(self, value: bool) -> None:
        self._receives_spikes = value
        for module in self.modules():
            if isinstance(module, SpikingLinear):
                module.receives_spikes = value

    def build_adjacency(
        self, edge_index: Tensor, edge_weight: Optional[Tensor], num_nodes: int, dtype: torch.dtype
    ) -> GraphAdjacency:
        raise NotImplementedError

    def reset_cache(self) -> None:
        """Forget a cached adjacency (the next call builds it again)."""
        self._cached_adjacency = None

    def adjacency(
        self, x: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor]
    ) -> GraphAdjacency:
        """Check the inputs and return the adjacency for ``x``; with ``cached=True`` the
        adjacency of the last graph, as long as its :func:`graph_fingerprint` is this one's.

        ``edge_index`` may also be a torch sparse ``adj_t`` (OGB style, after
        ``T.ToSparseTensor()``), whose values are the edge weights. While
        :attr:`partition_adjacency` is set (a rank of
        :class:`~gsnn.distributed.DistributedSpikingNetwork`), that is the adjacency and
        the graph inputs are not read."""
        if x.dim() != 3 or x.shape[-1] != self.in_channels:
            raise ValueError(
                f"{type(self).__name__} expects node inputs of shape "
                f"[T, num_nodes, {self.in_channels}], got {tuple(x.shape)}."
            )
        if self.partition_adjacency is not None:
            return self.partition_adjacency
        num_nodes = x.shape[1]
        if self.cached and self._cached_adjacency is not None:
            fingerprint, adjacency = self._cached_adjacency
            same_graph = self._checked_graph.same(edge_index, edge_weight)
            if same_graph and (fingerprint[0], fingerprint[-1]) == (num_nodes, x.dtype):
                return adjacency  # the very graph tensors, unchanged: checked already
        graph = (edge_index, edge_weight)
        if is_sparse_adjacency(edge_index):  # adj_t, as after T.ToSparseTensor()
            if edge_weight is not None:
                raise ValueError(
                    f"{type(self).__name__} got a sparse adj_t and an edge_weight; a sparse "
                    "adjacency carries its edge weights as its values."
                )
            edge_index, edge_weight = edges_of_adjacency(edge_index, num_nodes)
        # also when cached: a bad graph is an error
        check_edge_index(edge_index, num_nodes)
        check_edge_weight(edge_weight, edge_index, self.negative_edge_weights)
        if not self.cached:
            return self.build_adjacency(edge_index, edge_weight, num_nodes, x.dtype)
        fingerprint = graph_fingerprint(edge_index, edge_weight, num_nodes) + (x.dtype,)
        if self._cached_adjacency is None or self._cached_adjacency[0] != fingerprint:
            adjacency = self.build_adjacency(edge_index, edge_weight, num_nodes, x.dtype)
            self._cached_adjacency = (fingerprint, adjacency)
        self._checked_graph.remember(*graph)
        return self._cached_adjacency[1]

    @torch.no_grad()
    def copy_trained_(self, weights: Sequence[Tensor], bias: Optional[Tensor]) -> None:
        """Copy a trained layer's weight maps, in the order of :meth:`linears`, and its
        bias (``None`` for a layer without one)."""
        for lin, weight in zip(self.linears(), weights, strict=True):
            lin.weight.copy_(weight)
        if bias is not None:
            self.bias.copy_(bias)

    def linears(self) -> List[SpikingLinear]:
        """The weight maps applied to the input (all see the same spikes)."""
        return [self.lin]

    def scale_inputs_(self, gain: Tensor) -> None:
        """Multiply the weight of every input channel by ``gain`` (threshold folding)."""
        for lin in self.linears():
            lin.scale_inputs_(gain)

    @torch.no_grad()
    def fold_output_affine_(self, scale: Tensor, shift: Tensor) -> None:
        """Absorb a following per-channel affine map ``y * scale + shift`` (BN folding)."""
        for lin in self.linears():
            lin.weight.mul_(scale.to(lin.weight.dtype).unsqueeze(1))
        base = self.bias.detach() if self.bias is not None else torch.zeros_like(shift)
        dtype = self.linears()[0].weight.dtype
        self.bias = nn.Parameter((base * scale + shift).to(dtype))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels})"
