"""The Planetoid citation graphs (Cora, CiteSeer, PubMed) through PyG's ``Planetoid``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from torch_geometric.data import Data
from torch_geometric.datasets import Planetoid

from gsnn.data.mirror import (
    DatasetUnavailableError,
    copy_missing_from_mirror,
    missing_files,
)
from gsnn.data.reachability import host_is_reachable

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
    raw_file_names = planetoid_raw_file_names(canonical_name)

    copy_missing_from_mirror(root, raw_relative_dir, raw_file_names)
    missing = missing_files(root / raw_relative_dir, raw_file_names)
    if missing and not host_is_reachable(Planetoid.url):
        download_failure = f"the download host {urlsplit(Planetoid.url).hostname} is not reachable"
        raise DatasetUnavailableError(root, raw_relative_dir, missing, download_failure)

    try:
        dataset = Planetoid(root=str(root / "planetoid"), name=canonical_name, transform=transform)
    except Exception as error:
        # PyG's downloader surfaces urllib, aiohttp and fsspec errors alike; whatever
        # it raised, raw files still missing afterwards mean the download failed.
        # Any other failure (while processing present files) is not ours to reword.
        still_missing = missing_files(root / raw_relative_dir, raw_file_names)
        if not still_missing:
            raise
        download_failure = f"fetching from {Planetoid.url} raised {error!r}"
        raise DatasetUnavailableError(
            root, raw_relative_dir, still_missing, download_failure
        ) from error
    return dataset[0]


def planetoid_canonical_name(name: str) -> str:
    """The spelling PyG and the mirror use for a Planetoid name given in any letter case.

    Raises:
        ValueError: if ``name`` is not ``Cora``, ``CiteSeer`` or ``PubMed``.
    """
    canonical_name = PLANETOID_NAMES.get(name.lower()) if isinstance(name, str) else None
    if canonical_name is None:
        valid = ", ".join(PLANETOID_NAMES.values())
        raise ValueError(f"Unknown Planetoid data set {name!r}; expected one of {valid}.")
    return canonical_name


def planetoid_raw_file_names(canonical_name: str) -> list[str]:
    """The raw file names PyG's Planetoid reads for a data set, e.g. ``ind.cora.x``."""
    return [f"ind.{canonical_name.lower()}.{suffix}" for suffix in PLANETOID_RAW_SUFFIXES]
