"""A converted graph SNN run over a node partition by several ranks (torch.distributed)."""

import operator
from typing import Dict, List, Optional, Tuple

import torch
import torch.distributed as dist
from torch import Tensor, fx, nn

from gsnn.coding import BernoulliRateCoder
from gsnn.convert.spiking_network import SpikingNetwork
from gsnn.distributed.halo_exchange import HaloExchange
from gsnn.distributed.node_partition import NodePartition
from gsnn.neurons import IFNeuron, Neuron, OneSpikeNeuron
from gsnn.nn import (
    GraphAdjacency,
    OneToOneSynapse,
    SpikeDelay,
    SpikingBatchNorm,
    SpikingClusterGCNConv,
    SpikingGCNConv,
    SpikingGraphLayer,
    SpikingLEConv,
    SpikingLinear,
    SpikingSAGEConv,
)
from gsnn.nn.graph_adjacency import (
    check_edge_index,
    check_edge_weight,
    edges_of_adjacency,
    is_sparse_adjacency,
    node_blocks,
)

# graph layers whose output at a node depends on its own rows and its in-neighbours' only
ONE_HOP_LAYERS = (SpikingGCNConv, SpikingSAGEConv, SpikingLEConv, SpikingClusterGCNConv)
# modules that act on every node's rows independently
NODE_WISE_MODULES = (Neuron, SpikingLinear, SpikingBatchNorm, OneToOneSynapse, SpikeDelay)
NODE_WISE_FUNCTIONS = {operator.add, torch.add, torch.cat}
NODE_WISE_METHODS = {"add"}
GRAPH_INPUTS = ("edge_index", "edge_weight")


def check_partitionable(network: SpikingNetwork) -> None:
    """Raise ``ValueError`` naming every part of ``network`` that cannot run over a node
    partition: graph layers that propagate more than one hop per call (their halo would be
    several hops deep), ops that mix nodes or carry state, inputs other than
    ``x, edge_index, edge_weight``, and random input codes (each rank would draw its own).
    """
    problems = []
    modules = dict(network.body.named_modules())
    placeholders = [node for node in network.body.graph.nodes if node.op == "placeholder"]
    for node in placeholders[1:]:
        if node.target not in GRAPH_INPUTS:
            problems.append(f"the input {node.target!r} (only x and {', '.join(GRAPH_INPUTS)})")
    for node in network.body.graph.nodes:
        if node.op == "call_module":
            module = modules[node.target]
            if isinstance(module, ONE_HOP_LAYERS):
                if getattr(module, "max_aggregation", None) is not None:
                    problems.append(
                        f"{node.target} ({type(module).__name__}, aggr='max': a running max "
                        "carries state)"
                    )
            elif isinstance(module, SpikingGraphLayer):
                problems.append(
                    f"{node.target} ({type(module).__name__}: it propagates more than one "
                    "hop per call, which needs a halo several hops deep)"
                )
            elif not isinstance(module, NODE_WISE_MODULES):
                problems.append(
                    f"{node.target} ({type(module).__name__}: it mixes nodes or carries state)"
                )
        elif node.op == "call_function" and node.target not in NODE_WISE_FUNCTIONS:
            problems.append(f"{node.name} ({getattr(node.target, '__name__', node.target)})")
        elif node.op == "call_method" and node.target not in NODE_WISE_METHODS:
            problems.append(f"{node.name} (Tensor.{node.target})")
        if node.target is torch.cat:
            dim = node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else 0)
            if dim not in (-1, 2):
                problems.append(f"{node.name} (torch.cat along dim {dim}, not the features)")
    if isinstance(network.coder, BernoulliRateCoder):
        problems.append("the input coder BernoulliRateCoder (random: each rank draws its own)")
    if problems:
        raise ValueError(
            "This network cannot run over a node partition: "
            + "; ".join(problems)
            + f". Supported: the one-hop graph layers {[c.__name__ for c in ONE_HOP_LAYERS]}, "
            f"node-wise modules {[c.__name__ for c in NODE_WISE_MODULES]}, adds and feature "
            "concatenations, deterministic input codes."
        )


def binary_spikes(node: fx.Node, modules: Dict[str, nn.Module]) -> bool:
    """Whether ``node`` is the output of a neuron that emits only 0 and 1."""
    if node.op != "call_module":
        return False
    module = modules[node.target]
    if isinstance(module, OneSpikeNeuron):
        return True
    return isinstance(module, IFNeuron) and module.max_spikes_per_step == 1 and not module.signed


def extended_rows(adjacency: GraphAdjacency, nodes: Tensor) -> Tuple[Tensor, GraphAdjacency]:
    r"""The extended node set of ``nodes`` and the adjacency restricted to it.

    Returns the sorted global ids of ``nodes`` (ascending global ids) and of every source of
    an entry in their rows, and the square adjacency over that set whose other rows are
    empty. Columns keep their order within a row, so each aggregation sums its terms in the
    order of the whole graph's and gives the same bits.

    Shapes:
        - **input:** ``nodes`` :math:`(N_r,)`
        - **output:** :math:`(|\mathcal{V}_r^+|,)` and :math:`(|\mathcal{V}_r^+|,
          |\mathcal{V}_r^+|)`
    """
    matrix = adjacency.matrix
    crow, col, values = matrix.crow_indices(), matrix.col_indices(), matrix.values()
    starts, counts = crow[nodes], crow[nodes + 1] - crow[nodes]
    offsets = torch.arange(int(counts.sum())) - torch.repeat_interleave(
        counts.cumsum(0) - counts, counts
    )
    entries = torch.repeat_interleave(starts, counts) + offsets  # row by row, order kept
    columns = col[entries]
    extended = torch.unique(torch.cat([columns, nodes.to(columns.dtype)]))
    size = extended.numel()
    row_counts = crow.new_zeros(size)
    row_counts[torch.searchsorted(extended, nodes)] = counts
    local = torch.sparse_csr_tensor(
        torch.cat([crow.new_zeros(1), row_counts.cumsum(0)]),
        torch.searchsorted(extended, columns).to(col.dtype),
        values[entries],
        (size, size),
        check_invariants=False,  # built from a valid matrix, order kept
    )
    return extended, GraphAdjacency(local, adjacency.source_fanout[extended])


class DistributedSpikingNetwork(nn.Module):
    r"""A converted graph network run by the ranks of a process group, each on its own nodes.

    Rank :math:`r` holds the features of its block of nodes (:attr:`nodes`, from a
    :class:`NodePartition`) and returns their logits. Before every graph layer
    the ranks exchange the rows of their halo nodes (:class:`HaloExchange`): binary
    spikes packed eight to a byte, other spike values and the analog input in their
    dtype, a time-constant input once per call rather than once per step. Everything
    else runs on the rank's own rows. Each aggregation sums the same terms in the same
    order as one process would, so the logits equal the single-process network's
    bitwise (tested).

    The ranks run in chunks of steps when the network's :attr:`steps_per_chunk` is set
    (one exchange per layer and chunk), and aggregate in row blocks of their adjacency
    when its :attr:`nodes_per_block` is set (blocks of the rank's extended rows, the same
    bits). Spike statistics are not recorded
    (:attr:`last_stats` stays ``None``); :attr:`halo_bytes` reports the traffic.

    Building it is a collective (every rank must build it, in the same order): each rank
    builds every graph layer's normalised adjacency from the whole ``edge_index`` once,
    keeps its own rows and agrees with its peers on the halo rows to send.

    Args:
        network (SpikingNetwork): the converted network, the same on every rank.
        edge_index (Tensor): the whole graph's edges :math:`(2, |\mathcal{E}|)` (or a sparse
            ``adj_t``), global node ids.
        num_nodes (int): :math:`N`, the nodes of the whole graph.
        edge_weight (Tensor, optional): :math:`(|\mathcal{E}|,)` edge weights.
        partition (NodePartition, optional): who owns which nodes; defaults to
            ``NodePartition.balanced(edge_index, num_nodes, world_size)``: equal blocks of the
            reverse Cuthill-McKee order, whose halo is less than half the contiguous
            blocks' on Cora (``experiments/results/benchmark_distributed.md``).
        group (ProcessGroup, optional): the ranks; defaults to the world. gloo on CPU is
            tested; the exchange buffers are CPU tensors, so NCCL (GPUs) would need them
            moved to the device and has not been run.

    Attributes:
        nodes (Tensor): :math:`(N_r,)` the ascending global ids of this rank's nodes.

    Shapes:
        - **input:** this rank's node features :math:`(N_r, F)`, in the order of
          :attr:`nodes` (``x[ranks.nodes]``)
        - **output:** this rank's logits :math:`(N_r, C)`, in the same order

    Raises:
        ValueError: the network has ops a node partition cannot run
            (:func:`check_partitionable` names them).
    """

    def __init__(
        self,
        network: SpikingNetwork,
        edge_index: Tensor,
        num_nodes: int,
        edge_weight: Optional[Tensor] = None,
        partition: Optional[NodePartition] = None,
        group: Optional[dist.ProcessGroup] = None,
    ) -> None:
        super().__init__()
        check_partitionable(network)
        self.network = network
        self.group = group
        if is_sparse_adjacency(edge_index):
            edge_index, edge_weight = edges_of_adjacency(edge_index, num_nodes)
        check_edge_index(edge_index, num_nodes)
        self.partition = partition or NodePartition.balanced(
            edge_index, num_nodes, dist.get_world_size(group)
        )
        if self.partition.num_nodes != num_nodes:
            raise ValueError(
                f"The partition covers {self.partition.num_nodes} nodes, the graph has {num_nodes}."
            )
        self.rank = dist.get_rank(group)
        self.nodes = self.partition.nodes(self.rank)
        self.graph_inputs = {"edge_index": edge_index, "edge_weight": edge_weight}
        dtype = next(p.dtype for p in network.body.parameters() if p.is_floating_point())
        modules = dict(network.body.named_modules())
        self.adjacencies: Dict[str, GraphAdjacency] = {}
        self.exchanges: Dict[str, List[Optional[HaloExchange]]] = {}
        for node in network.body.graph.nodes:
            layer = modules.get(node.target) if node.op == "call_module" else None
            if not isinstance(layer, SpikingGraphLayer):
                continue
            check_edge_weight(edge_weight, edge_index, layer.negative_edge_weights)
            whole = layer.build_adjacency(edge_index, edge_weight, num_nodes, dtype)
            extended, self.adjacencies[node.target] = extended_rows(whole, self.nodes)
            self.exchanges[node.target] = [
                HaloExchange(
                    self.partition, self.rank, extended, binary_spikes(arg, modules), group
                )
                if isinstance(arg, fx.Node) and arg.target not in GRAPH_INPUTS
                else None
                for arg in node.args
            ]

    @property
    def halo_bytes(self) -> Dict[str, int]:
        """Payload bytes this rank sent before each graph layer in the last call (summed
        over chunks of steps)."""
        return dict(self._halo_bytes) if hasattr(self, "_halo_bytes") else {}

    def halo_nodes(self) -> Dict[str, int]:
        """Nodes of other ranks whose rows this rank receives before each graph layer."""
        return {name: next(e for e in ex if e).halo_size for name, ex in self.exchanges.items()}

    def forward(self, x: Tensor) -> Tensor:
        network = self.network
        if x.dim() < 1 or x.shape[0] != self.nodes.numel():
            raise ValueError(
                f"Rank {self.rank} owns {self.nodes.numel()} nodes and needs their feature "
                f"rows, x[ranks.nodes], got a tensor of shape {tuple(x.shape)}."
            )
        names = [n.target for n in network.body.graph.nodes if n.op == "placeholder"][1:]
        inputs = (x, *(self.graph_inputs[name] for name in names))
        layers = dict(network.body.named_modules())
        with network._lock:
            network._check_inputs(inputs)
            self._halo_bytes = dict.fromkeys(self.exchanges, 0)
            for name, adjacency in self.adjacencies.items():
                layers[name].partition_adjacency = adjacency
            try:
                chunk = network.steps_per_chunk or network.steps
                body = _PartitionedBody(self)
                with node_blocks(network.nodes_per_block):
                    currents = network._simulate(inputs, chunk, body=body.run)
            finally:
                for name in self.adjacencies:
                    layers[name].partition_adjacency = None
            network.last_stats = None
            return network._decode(currents)


class _PartitionedBody(fx.Interpreter):
    """Runs the body on one rank's rows, exchanging halo rows before every graph layer."""

    def __init__(self, owner: DistributedSpikingNetwork) -> None:
        super().__init__(owner.network.body)
        self.owner = owner

    def run_node(self, node: fx.Node):
        exchanges = self.owner.exchanges.get(node.target) if node.op == "call_module" else None
        if exchanges is None:
            return super().run_node(node)
        args, kwargs = self.fetch_args_kwargs_from_env(node)
        args = [arg if ex is None else ex(arg) for arg, ex in zip(args, exchanges)]
        self.owner._halo_bytes[node.target] += sum(ex.bytes_sent for ex in exchanges if ex)
        out = self.call_module(node.target, tuple(args), kwargs)
        return out[:, exchanges[0].own]
