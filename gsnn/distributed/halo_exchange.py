"""Sending the rows of a rank's nodes that its neighbouring ranks aggregate over."""

from typing import Optional

import torch
import torch.distributed as dist
from torch import Tensor

from gsnn.distributed.node_partition import NodePartition
from gsnn.distributed.spike_packing import pack_spikes, unpack_spikes
from gsnn.nn.time_constant import is_time_constant


class HaloExchange:
    r"""One rank's side of the exchange of halo rows before a graph layer.

    Rank :math:`r` computes the layer for its own nodes; their messages come
    from the *extended* node set :math:`\mathcal{V}_r^+` (its own nodes and the
    halo, the other ranks' nodes with an edge into them), kept in the order of
    global node ids so that every sum over a node's neighbours runs in the same
    order as in one process. :meth:`__call__` is a collective: every rank sends
    each peer the rows that peer needs, in one ``all_to_all_single``.

    Building it is a collective too (the ranks tell each other which of their
    rows they need).

    Args:
        partition (NodePartition): who owns which nodes.
        rank (int): this rank.
        extended (Tensor): :math:`(|\mathcal{V}_r^+|,)` sorted global ids of this rank's nodes
            and its halo.
        binary (bool): the rows hold binary spikes, sent packed eight to a byte; otherwise
            they are sent in their dtype.
        group (ProcessGroup, optional): the ranks of ``partition``.

    Attributes:
        own (slice or Tensor): where this rank's own nodes sit in the extended set (a slice
            when they are contiguous there).
        bytes_sent (int): payload bytes this rank sent in its last call.
        values_sent (int): spikes or features this rank sent in its last call (before
            packing).
    """

    def __init__(
        self,
        partition: NodePartition,
        rank: int,
        extended: Tensor,
        binary: bool,
        group: Optional[dist.ProcessGroup] = None,
    ) -> None:
        nodes = partition.nodes(rank)
        self.partition, self.binary, self.group = partition, binary, group
        self.num_extended = extended.numel()
        own = torch.searchsorted(extended, nodes)
        contiguous = int(own[-1]) - int(own[0]) + 1 == own.numel()  # every rank owns a node
        self.own = slice(int(own[0]), int(own[-1]) + 1) if contiguous else own
        halo_mask = torch.ones(self.num_extended, dtype=torch.bool)
        halo_mask[own] = False
        halo_positions = halo_mask.nonzero().squeeze(1)
        owners = partition.owners(extended[halo_positions])
        by_owner = torch.sort(owners, stable=True).indices  # peers send in rank order
        self.halo_positions = halo_positions[by_owner]
        halo = extended[self.halo_positions]
        self.recv_counts = torch.bincount(owners, minlength=partition.world_size).tolist()
        send_counts = torch.empty(partition.world_size, dtype=torch.long)
        dist.all_to_all_single(
            send_counts, torch.tensor(self.recv_counts, dtype=torch.long), group=group
        )
        self.send_counts = send_counts.tolist()
        requested = torch.empty(sum(self.send_counts), dtype=torch.long)
        dist.all_to_all_single(requested, halo, self.send_counts, self.recv_counts, group=group)
        self.send_index = torch.searchsorted(nodes, requested)  # own rows asked for, per peer
        self.bytes_sent = self.values_sent = 0

    @property
    def halo_size(self) -> int:
        """Nodes of other ranks this rank receives rows of."""
        return self.halo_positions.numel()

    def __call__(self, x: Tensor) -> Tensor:
        r"""The rows of the extended node set: this rank's ``x`` and the halo's from its peers.

        A time-constant ``x`` (analog input) sends one step and stays time-constant.

        Shapes:
            - **input:** this rank's nodes :math:`(T, N_r, F)`
            - **output:** the extended set :math:`(T, |\mathcal{V}_r^+|, F)`
        """
        constant = is_time_constant(x)
        block = x[:1] if constant else x
        steps, _, features = block.shape
        rows = block.transpose(0, 1)  # node-major, as graph aggregations leave it
        outgoing = rows.index_select(0, self.send_index).reshape(self.send_index.numel(), -1)
        if self.binary:
            outgoing = pack_spikes(outgoing)
        incoming = outgoing.new_empty(self.halo_size, outgoing.shape[1])
        dist.all_to_all_single(
            incoming, outgoing, self.recv_counts, self.send_counts, group=self.group
        )
        self.bytes_sent = outgoing.numel() * outgoing.element_size()
        self.values_sent = self.send_index.numel() * steps * features
        if self.binary:
            incoming = unpack_spikes(incoming, steps * features, block.dtype)
        extended = block.new_empty(self.num_extended, steps, features)
        extended[self.own] = rows
        extended[self.halo_positions] = incoming.view(-1, steps, features)
        extended = extended.transpose(0, 1)
        return extended.expand(x.shape[0], -1, -1) if constant else extended
