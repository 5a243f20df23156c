"""Calibration on part of a large graph: the k-hop subgraph around chosen nodes."""

from typing import Optional, Tuple, Union

import torch
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.nn import MessagePassing
from torch_geometric.utils import k_hop_subgraph

CalibrationNodes = Union[int, Tensor]


def message_passing_hops(model: nn.Module) -> int:
    """An upper bound on how many hops a node's output reaches back: one per message-passing
    module, ``K`` for the K-hop ones (SGConv, TAGConv, ChebConv, APPNP, ...)."""
    return sum(
        int(getattr(module, "K", 1))
        for module in model.modules()
        if isinstance(module, MessagePassing)
    )


def calibration_subgraph(
    data, nodes: CalibrationNodes, model: nn.Module, hops: Optional[int] = None
) -> Tuple[Data, Tensor]:
    r"""The subgraph that gives ``nodes`` the activations they have in the whole graph.

    Every activation at a chosen node depends on its ``hops``-hop in-neighbourhood and
    on the degrees of those neighbours, so the subgraph induced by the
    ``hops + 1``-hop neighbourhood (PyG's ``k_hop_subgraph``, messages flowing source to
    target) reproduces them; calibration and the agreement check then see the chosen
    nodes only.

    Args:
        data (Data): the whole graph (``x`` and ``edge_index``).
        nodes (int or Tensor): node indices or a boolean mask over the nodes, or a count of
            nodes drawn uniformly without replacement (generator seeded with 0).
        model (nn.Module): the ANN, for the default ``hops``.
        hops (int, optional): hops of the model; defaults to :func:`message_passing_hops`.

    Returns:
        (Data, Tensor): the subgraph (node and edge attributes sliced by ``Data.subgraph``)
        and the boolean mask of the chosen nodes in it.
    """
    if not isinstance(data, Data) or data.edge_index is None or data.x is None:
        raise ValueError(
            "calibration_nodes selects nodes of one graph: pass a torch_geometric Data with x "
            f"and edge_index as the calibration data, got {type(data).__name__}."
        )
    num_nodes = data.num_nodes
    if isinstance(nodes, int) and not isinstance(nodes, bool):
        if not 1 <= nodes <= num_nodes:
            raise ValueError(
                f"calibration_nodes={nodes} must lie in [1, {num_nodes}] (the graph's nodes)."
            )
        generator = torch.Generator().manual_seed(0)
        nodes = torch.randperm(num_nodes, generator=generator)[:nodes]
    if not isinstance(nodes, Tensor) or nodes.dim() != 1 or torch.is_floating_point(nodes):
        raise ValueError(
            "calibration_nodes must be a node count, a 1-d tensor of node indices or a boolean "
            f"mask over the {num_nodes} nodes, got {nodes!r}."
        )
    if nodes.dtype == torch.bool:
        if nodes.numel() != num_nodes:
            raise ValueError(
                f"The calibration_nodes mask has {nodes.numel()} entries for {num_nodes} nodes."
            )
        nodes = nodes.nonzero().squeeze(1)
    if nodes.numel() == 0 or nodes.min() < 0 or nodes.max() >= num_nodes:
        raise ValueError(f"calibration_nodes must name at least one node in [0, {num_nodes - 1}].")
    hops = message_passing_hops(model) if hops is None else hops
    subset, _, chosen, _ = k_hop_subgraph(
        nodes, hops + 1, data.edge_index, relabel_nodes=True, num_nodes=num_nodes
    )
    mask = torch.zeros(subset.numel(), dtype=torch.bool)
    mask[chosen] = True
    return data.subgraph(subset), mask
