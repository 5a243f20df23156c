"""Calibration on part of a large graph: the k-hop subgraph around chosen nodes."""

from contextlib import contextmanager
from typing import Iterator, Optional, Tuple, Union

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


@contextmanager
def graph_caches_set_aside(model: nn.Module) -> Iterator[None]:
    """Run ``model`` on another graph than the one its ``cached=True`` layers have seen.

    PyG layers with ``cached=True`` (``GCNConv``, ``SGConv``, ...) keep the normalised
    adjacency of the first graph in ``_cached_*`` attributes and reuse it for any later
    one; on a subgraph they would compute with the whole graph's. The caches are set to
    ``None`` inside the block and put back afterwards, so the model is left as it was.
    """
    saved = []
    for module in model.modules():
        if isinstance(module, MessagePassing):
            for name, value in vars(module).items():
                if name.startswith("_cached_") and value is not None:
                    saved.append((module, name, value))
    for module, name, _ in saved:
        setattr(module, name, None)
    try:
        yield
    finally:
        for module in model.modules():
            if isinstance(module, MessagePassing):
                for name in [n for n in vars(module) if n.startswith("_cached_")]:
                    setattr(module, name, None)
        for module, name, value in saved:
            setattr(module, name, value)


def calibration_subgraph(
    data, nodes: CalibrationNodes, model: nn.Module, hops: Optional[int] = None
) -> Tuple[Data, Tensor]:
    r"""The subgraph of ``data`` around ``nodes`` that calibration runs on.

    By default it gives the chosen nodes exactly their whole-graph activations: each
    depends on its in-neighbourhood over the model's hops and on the degrees of those
    neighbours, so the subgraph induced by the ``model hops + 1``-hop neighbourhood (PyG's
    ``k_hop_subgraph``, messages flowing source to target) reproduces them. On graphs whose
    neighbourhoods grow fast that can be most of the graph; ``hops=0`` takes the subgraph
    induced by the chosen nodes alone, which approximates their activations (their
    neighbours outside the subset are missing). Calibration and the agreement check see the
    chosen nodes only.

    Args:
        data (Data): the whole graph (``x`` and ``edge_index``).
        nodes (int or Tensor): node indices or a boolean mask over the nodes, or a count of
            nodes drawn uniformly without replacement (generator seeded with 0).
        model (nn.Module): the ANN, for the default ``hops``.
        hops (int, optional): hops of the neighbourhood taken; defaults to
            :func:`message_passing_hops` ``+ 1`` (exact).

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
    hops = message_passing_hops(model) + 1 if hops is None else hops
    if not isinstance(hops, int) or hops < 0:
        raise ValueError(f"calibration_hops must be an int >= 0, got {hops!r}.")
    if hops == 0:
        subset = nodes.unique()
        chosen = torch.arange(subset.numel())
    else:
        subset, _, chosen, _ = k_hop_subgraph(
            nodes, hops, data.edge_index, relabel_nodes=True, num_nodes=num_nodes
        )
    mask = torch.zeros(subset.numel(), dtype=torch.bool)
    mask[chosen] = True
    return data.subgraph(subset), mask
