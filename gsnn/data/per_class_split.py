"""Seeded random splits with a fixed number of training and validation nodes per class."""

from __future__ import annotations

import copy

import torch
from torch_geometric.data import Data


def per_class_random_split(
    data: Data, seed: int, train_per_class: int = 20, val_per_class: int = 30
) -> Data:
    """A copy of ``data`` with a random split drawn per class, as in Shchur et al. (2018).

    For every class, ``train_per_class`` of its nodes go to training and
    ``val_per_class`` others to validation, drawn uniformly with a generator seeded by
    ``seed``; every remaining node is a test node. The defaults (20 and 30) are the
    split of "Pitfalls of Graph Neural Network Evaluation" for graphs without a public
    split, such as Amazon Computers / Photo and Coauthor CS / Physics.

    Args:
        data (Data): a node-classification graph with labels ``y`` of shape ``(N,)``.
        seed (int): seeds the draw; the same seed gives the same split.
        train_per_class (int): training nodes per class. (default: ``20``)
        val_per_class (int): validation nodes per class. (default: ``30``)

    Returns:
        Data: a shallow copy of ``data`` with boolean ``train_mask``, ``val_mask`` and
        ``test_mask`` of shape ``(N,)`` that partition the nodes.

    Raises:
        ValueError: if a class has no more than ``train_per_class + val_per_class``
            nodes, so that it would have no test node.
    """
    generator = torch.Generator().manual_seed(seed)
    num_nodes = data.y.numel()
    masks = {name: torch.zeros(num_nodes, dtype=torch.bool) for name in ("train", "val")}
    for label in torch.unique(data.y).tolist():
        members = (data.y == label).nonzero().view(-1)
        if members.numel() <= train_per_class + val_per_class:
            raise ValueError(
                f"Class {label} has {members.numel()} nodes, too few for {train_per_class} "
                f"training and {val_per_class} validation nodes and at least one test node; "
                "lower train_per_class / val_per_class or drop the class."
            )
        members = members[torch.randperm(members.numel(), generator=generator)]
        masks["train"][members[:train_per_class]] = True
        masks["val"][members[train_per_class : train_per_class + val_per_class]] = True
    split = copy.copy(data)  # shares x and edge_index with data, masks of its own
    split.train_mask = masks["train"]
    split.val_mask = masks["val"]
    split.test_mask = ~(masks["train"] | masks["val"])
    return split
