"""The heterophilous WebKB graphs of Pei et al. (Geom-GCN) through PyG's ``WebKB``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from torch_geometric.data import Data
from torch_geometric.datasets import WebKB

from gsnn.data.geom_gcn_split import GEOM_GCN_SPLITS, check_split, take_split
from gsnn.data.pyg_dataset import canonical_dataset_name, load_pyg_graph

WEBKB_NAMES = {"cornell": "Cornell", "texas": "Texas", "wisconsin": "Wisconsin"}


def webkb(
    name: str,
    split: int,
    root: str | Path = "datasets/",
    transform: Callable[[Data], Data] | None = None,
) -> Data:
    """Load Cornell, Texas or Wisconsin (web pages and their links) with one of its ten
    given 60/20/20 splits.

    The raw files live at ``<root>/webkb/<name>/raw/`` (lower-case name:
    ``out1_node_feature_label.txt``, ``out1_graph_edges.txt`` and
    ``<name>_split_0.6_0.2_<i>.npz``). Missing ones are copied from the folder named
    by ``GSNN_DATA_MIRROR`` where it holds them (laid out the same way below the
    mirror); otherwise PyG downloads them.

    Args:
        name (str): ``"Cornell"``, ``"Texas"`` or ``"Wisconsin"``, in any letter case.
        split (int): which of the ten Geom-GCN splits, ``0`` to ``9``.
        root (str or Path): the data root. (default: ``"datasets/"``)
        transform (callable, optional): applied by PyG to the graph on access.
            (default: ``None``)

    Returns:
        Data: the graph, with ``x``, ``edge_index``, ``y`` and the split's
        one-dimensional ``train_mask``, ``val_mask`` and ``test_mask``.

    Raises:
        ValueError: if ``name`` is not a WebKB graph or ``split`` is not an integer
            from 0 to 9.
        DatasetUnavailableError: if raw files are missing, the mirror does not hold
            them and the download fails; the message names the files and the fixes.
    """
    canonical_name = canonical_dataset_name(name, WEBKB_NAMES, "WebKB")
    check_split(split, canonical_name)
    root = Path(root)
    folder = canonical_name.lower()
    raw_file_names = ["out1_node_feature_label.txt", "out1_graph_edges.txt"] + [
        f"{folder}_split_0.6_0.2_{index}.npz" for index in range(GEOM_GCN_SPLITS)
    ]
    data = load_pyg_graph(
        lambda: WebKB(root=str(root / "webkb"), name=folder, transform=transform),
        root,
        f"webkb/{folder}/raw",
        raw_file_names,
        WebKB.url,
    )
    return take_split(data, split)
