"""Shchur et al.'s graphs ("Pitfalls of GNN Evaluation") through PyG's ``Amazon`` and ``Coauthor``.

Amazon Computers / Photo (co-purchases) and Coauthor CS / Physics (co-authorship) come as
one npz file each, ``<root>/<amazon|coauthor>/<Name>/raw/<file>.npz``. A missing file is
copied from the folder named by ``GSNN_DATA_MIRROR`` where it holds it (laid out the same
way below the mirror); otherwise PyG downloads it. The graphs have no public split: draw
one with :func:`gsnn.data.per_class_random_split`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from torch_geometric.data import Data
from torch_geometric.datasets import Amazon, Coauthor

from gsnn.data.pyg_dataset import canonical_dataset_name, load_pyg_graph

AMAZON_NAMES = {"computers": "Computers", "photo": "Photo"}
COAUTHOR_NAMES = {"cs": "CS", "physics": "Physics"}


def amazon(
    name: str,
    root: str | Path = "datasets/",
    transform: Callable[[Data], Data] | None = None,
) -> Data:
    """Load Amazon Computers or Amazon Photo, ``amazon_electronics_<name>.npz``.

    Args:
        name (str): ``"Computers"`` or ``"Photo"``, in any letter case.
        root (str or Path): the data root. (default: ``"datasets/"``)
        transform (callable, optional): applied by PyG to the graph on access.
            (default: ``None``)

    Returns:
        Data: the whole graph (undirected, binary features), with ``x``, ``edge_index``, ``y``.

    Raises:
        ValueError: if ``name`` is not an Amazon data set.
        DatasetUnavailableError: if the raw file is missing, the mirror does not hold
            it and the download fails; the message names the file and the fixes.
    """
    canonical_name = canonical_dataset_name(name, AMAZON_NAMES, "Amazon")
    raw_file_name = f"amazon_electronics_{canonical_name.lower()}.npz"
    return _npz_graph(Amazon, "amazon", canonical_name, raw_file_name, Path(root), transform)


def coauthor(
    name: str,
    root: str | Path = "datasets/",
    transform: Callable[[Data], Data] | None = None,
) -> Data:
    """Load Coauthor CS or Coauthor Physics, ``ms_academic_<cs|phy>.npz``.

    Args:
        name (str): ``"CS"`` or ``"Physics"``, in any letter case.
        root (str or Path): the data root. (default: ``"datasets/"``)
        transform (callable, optional): applied by PyG to the graph on access.
            (default: ``None``)

    Returns:
        Data: the whole graph (undirected, binary features), with ``x``, ``edge_index``, ``y``.

    Raises:
        ValueError: if ``name`` is not a Coauthor data set.
        DatasetUnavailableError: if the raw file is missing, the mirror does not hold
            it and the download fails; the message names the file and the fixes.
    """
    canonical_name = canonical_dataset_name(name, COAUTHOR_NAMES, "Coauthor")
    raw_file_name = f"ms_academic_{canonical_name[:3].lower()}.npz"
    return _npz_graph(Coauthor, "coauthor", canonical_name, raw_file_name, Path(root), transform)


def _npz_graph(dataset_class, folder, canonical_name, raw_file_name, root, transform):
    return load_pyg_graph(
        lambda: dataset_class(root=str(root / folder), name=canonical_name, transform=transform),
        root,
        f"{folder}/{canonical_name}/raw",
        [raw_file_name],
        dataset_class.url,
    )
