"""The heterophilous Actor (film) graph of Pei et al. (Geom-GCN) through PyG's ``Actor``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from torch_geometric.data import Data
from torch_geometric.datasets import Actor

from gsnn.data.geom_gcn_split import GEOM_GCN_SPLITS, check_split, take_split
from gsnn.data.pyg_dataset import load_pyg_graph


def actor(
    split: int,
    root: str | Path = "datasets/",
    transform: Callable[[Data], Data] | None = None,
) -> Data:
    """Load the Actor co-occurrence graph with one of its ten given 60/20/20 splits.

    The raw files live at ``<root>/actor/raw/`` (``out1_node_feature_label.txt``,
    ``out1_graph_edges.txt`` and ``film_split_0.6_0.2_<i>.npz``). Missing ones are
    copied from the folder named by ``GSNN_DATA_MIRROR`` where it holds them (laid out
    the same way below the mirror); otherwise PyG downloads them.

    Args:
        split (int): which of the ten Geom-GCN splits, ``0`` to ``9``.
        root (str or Path): the data root. (default: ``"datasets/"``)
        transform (callable, optional): applied by PyG to the graph on access.
            (default: ``None``)

    Returns:
        Data: the graph, with ``x``, ``edge_index``, ``y`` and the split's
        one-dimensional ``train_mask``, ``val_mask`` and ``test_mask``.

    Raises:
        ValueError: if ``split`` is not an integer from 0 to 9.
        DatasetUnavailableError: if raw files are missing, the mirror does not hold
            them and the download fails; the message names the files and the fixes.
    """
    check_split(split, "Actor")
    root = Path(root)
    raw_file_names = ["out1_node_feature_label.txt", "out1_graph_edges.txt"] + [
        f"film_split_0.6_0.2_{index}.npz" for index in range(GEOM_GCN_SPLITS)
    ]
    data = load_pyg_graph(
        lambda: Actor(root=str(root / "actor"), transform=transform),
        root,
        "actor/raw",
        raw_file_names,
        Actor.url,
    )
    return take_split(data, split)
