"""Loading PyG's own dataset classes with the offline-copy rule of :mod:`gsnn.data.mirror`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from torch_geometric.data import Data, InMemoryDataset

from gsnn.data.mirror import (
    DatasetUnavailableError,
    copy_missing_from_mirror,
    missing_files,
)
from gsnn.data.reachability import host_is_reachable


def canonical_dataset_name(name: str, names: dict[str, str], family: str) -> str:
    """The spelling PyG and the mirror use for a dataset name given in any letter case.

    Args:
        name (str): the name as given.
        names (dict): lower-case name to canonical spelling, e.g. ``{"cora": "Cora"}``.
        family (str): the collection's name, for the error message, e.g. ``"Planetoid"``.

    Raises:
        ValueError: if ``name`` is not one of ``names``; the message lists them.
    """
    canonical_name = names.get(name.lower()) if isinstance(name, str) else None
    if canonical_name is None:
        valid = ", ".join(names.values())
        raise ValueError(f"Unknown {family} data set {name!r}; expected one of {valid}.")
    return canonical_name


def load_pyg_graph(
    make_dataset: Callable[[], InMemoryDataset],
    root: Path,
    raw_relative_dir: str,
    raw_file_names: Sequence[str],
    url: str,
) -> Data:
    """The single graph of a PyG dataset whose raw files may come from the mirror.

    Raw files missing under ``root/raw_relative_dir`` are copied from the folder named
    by ``GSNN_DATA_MIRROR`` where it holds them; PyG downloads whatever is still
    missing, unless the download host is unreachable.

    Args:
        make_dataset (callable): builds the PyG dataset rooted so that its raw folder is
            ``root/raw_relative_dir``.
        root (Path): the data root.
        raw_relative_dir (str): the raw folder inside the root and the mirror.
        raw_file_names (Sequence[str]): the raw files the PyG class reads.
        url (str): the address PyG downloads from, named when the download fails.

    Returns:
        Data: the dataset's first (only) graph.

    Raises:
        DatasetUnavailableError: if raw files are missing, the mirror does not hold
            them and the download fails; the message names the files and the fixes.
    """
    copy_missing_from_mirror(root, raw_relative_dir, raw_file_names)
    missing = missing_files(root / raw_relative_dir, raw_file_names)
    if missing and not host_is_reachable(url):
        download_failure = f"the download host {urlsplit(url).hostname} is not reachable"
        raise DatasetUnavailableError(root, raw_relative_dir, missing, download_failure)
    try:
        dataset = make_dataset()
    except Exception as error:
        # PyG's downloader surfaces urllib, aiohttp and fsspec errors alike; whatever
        # it raised, raw files still missing afterwards mean the download failed.
        # Any other failure (while processing present files) is not ours to reword.
        still_missing = missing_files(root / raw_relative_dir, raw_file_names)
        if not still_missing:
            raise
        download_failure = f"fetching from {url} raised {error!r}"
        raise DatasetUnavailableError(
            root, raw_relative_dir, still_missing, download_failure
        ) from error
    return dataset[0]
