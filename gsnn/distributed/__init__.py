"""Inference over a node partition with torch.distributed (design §5)."""

from gsnn.distributed.halo_exchange import HaloExchange
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
    "pack_spikes",
    "unpack_spikes",
]
