"""The Planetoid citation graphs (Cora, CiteSeer, PubMed) through PyG's ``Planetoid``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from torch_geometric.data import Data
from torch_geometric.datasets import Planetoid

from gsnn.data.pyg_dataset import canonical_dataset_name, load_pyg_graph

PLANETOID_NAMES = {"cora": "Cora", "citeseer": "CiteSeer", "pubmed": "PubMed"}
# The raw files PyG's Planetoid reads, as suffixes of ``ind.<name>.``.
PLANETOID_RAW_SUFFIXES = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")


def planetoid(
    name: str,
    root: str | Path = "datasets/",
    transform: Callable[[Data], Data] | None = None,
) -> Data:
    """Load a Planetoid citation graph with its public split.

    The raw files live at ``<root>/planetoid/<Name>/raw/ind.<name>.*``. Missing ones
    are copied from the folder named by ``GSNN_DATA_MIRROR`` when it holds them
    (laid out the same way below the mirror); otherwise PyG downloads them.

    Args:
        name (str): ``"Cora"``, ``"CiteSeer"`` or ``"PubMed"``, in any letter case.
        root (str or Path): the data root. (default: ``"datasets/"``)
        transform (callable, optional): applied by PyG to the graph on access.
            (default: ``None``)

    Returns:
        Data: the graph, with ``x``, ``edge_index``, ``y`` and the public
        ``train_mask``, ``val_mask`` and ``test_mask``.

    Raises:
        ValueError: if ``name`` is not a Planetoid data set.
        DatasetUnavailableError: if raw files are missing, the mirror does not hold
            them and the download fails; the message names the files and the fixes.
    """
    canonical_name = planetoid_canonical_name(name)
    root = Path(root)
    raw_relative_dir = f"planetoid/{canonical_name}/raw"
    return load_pyg_graph(
        lambda: Planetoid(root=str(root / "planetoid"), name=canonical_name, transform=transform),
        root,
        raw_relative_dir,
        planetoid_raw_file_names(canonical_name),
        Planetoid.url,
    )


def planetoid_canonical_name(name: str) -> str:
    """The spelling PyG and the mirror use for a Planetoid name given in any letter case.

    Raises:
        ValueError: if ``name`` is not ``Cora``, ``CiteSeer`` or ``PubMed``.
    """
    return canonical_dataset_name(name, PLANETOID_NAMES, "Planetoid")


def planetoid_raw_file_names(canonical_name: str) -> list[str]:
    """The raw file names PyG's Planetoid reads for a data set, e.g. ``ind.cora.x``."""
    return [f"ind.{canonical_name.lower()}.{suffix}" for suffix in PLANETOID_RAW_SUFFIXES]
