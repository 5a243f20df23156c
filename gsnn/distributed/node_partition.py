"""A graph's nodes split into contiguous row blocks, one per rank."""

from dataclasses import dataclass
from typing import Optional

import torch
import torch.distributed as dist
from torch import Tensor


@dataclass(frozen=True)
class NodePartition:
    r"""Rank :math:`r` owns the nodes ``bounds[r] <= i < bounds[r + 1]``.

    Attributes:
        bounds (Tensor): :math:`(W + 1,)` non-decreasing node offsets, ``bounds[0] = 0`` and
            ``bounds[W] = N`` for :math:`W` ranks and :math:`N` nodes.
    """

    bounds: Tensor

    def __post_init__(self) -> None:
        bounds = self.bounds
        if bounds.dim() != 1 or bounds.numel() < 2 or bounds.dtype != torch.long:
            raise ValueError(
                f"NodePartition bounds must be a 1-d torch.long tensor of world_size + 1 "
                f"offsets, got {bounds.dtype} of shape {tuple(bounds.shape)}."
            )
        if int(bounds[0]) != 0 or bool((bounds[1:] < bounds[:-1]).any()):
            raise ValueError(
                f"NodePartition bounds must start at 0 and never decrease, got {bounds.tolist()}."
            )

    @classmethod
    def contiguous(cls, num_nodes: int, world_size: int) -> "NodePartition":
        """Blocks of equal size (the first ``num_nodes % world_size`` one node larger)."""
        if world_size < 1 or num_nodes < world_size:
            raise ValueError(
                f"Cannot split {num_nodes} nodes over {world_size} ranks: every rank needs at "
                "least one node."
            )
        sizes = torch.full((world_size,), num_nodes // world_size, dtype=torch.long)
        sizes[: num_nodes % world_size] += 1
        return cls(torch.cat([torch.zeros(1, dtype=torch.long), sizes.cumsum(0)]))

    @property
    def world_size(self) -> int:
        return self.bounds.numel() - 1

    @property
    def num_nodes(self) -> int:
        return int(self.bounds[-1])

    def rows(self, rank: int) -> slice:
        """The nodes of ``rank`` as a slice of the global node axis."""
        return slice(int(self.bounds[rank]), int(self.bounds[rank + 1]))

    def owners(self, nodes: Tensor) -> Tensor:
        """The rank owning each node of ``nodes`` (any shape, global ids)."""
        return torch.searchsorted(self.bounds, nodes, right=True) - 1

    def gather(self, local: Tensor, group: Optional[dist.ProcessGroup] = None) -> Tensor:
        r"""Concatenate every rank's rows on every rank (a collective call).

        Shapes:
            - **input:** this rank's rows :math:`(N_r, *)`
            - **output:** all rows :math:`(N, *)`
        """
        sizes = (self.bounds[1:] - self.bounds[:-1]).tolist()
        largest = max(sizes)
        padded = local.new_zeros(largest, *local.shape[1:])
        padded[: local.shape[0]] = local
        blocks = [torch.empty_like(padded) for _ in sizes]
        dist.all_gather(blocks, padded, group=group)
        return torch.cat([block[:size] for block, size in zip(blocks, sizes)])
