"""Inference over a node partition with torch.distributed (design §5)."""

from gsnn.distributed.halo_exchange import HaloExchange
from gsnn.distributed.launch import launched_by_torchrun, run_ranks, world_size_of
from gsnn.distributed.node_partition import NodePartition
from gsnn.distributed.partitioned_network import (
    DistributedSpikingNetwork,
    check_partitionable,
)
from gsnn.distributed.spike_packing import pack_spikes, unpack_spikes

__all__ = [
    "DistributedSpikingNetwork",
    "HaloExchange",
    "NodePartition",
    "check_partitionable",
    "launched_by_torchrun",
    "pack_spikes",
    "run_ranks",
    "unpack_spikes",
    "world_size_of",
]
