"""The TU graph-classification benchmarks (MUTAG, PROTEINS, NCI1, ENZYMES, IMDB-BINARY)."""

from __future__ import annotations

from pathlib import Path

import torch_geometric.transforms as T
from torch_geometric.data import Data
from torch_geometric.datasets import TUDataset
from torch_geometric.utils import degree

from gsnn.data.mirror import DatasetUnavailableError, copy_missing_from_mirror, missing_files
from gsnn.data.reachability import host_is_reachable

TU_NAMES = {name.lower(): name for name in ("MUTAG", "PROTEINS", "NCI1", "ENZYMES", "IMDB-BINARY")}
# the files of a TU archive: the first three are required, the others present where they exist
TU_FILE_KINDS = (
    "A",
    "graph_indicator",
    "graph_labels",
    "node_labels",
    "node_attributes",
    "edge_labels",
    "edge_attributes",
    "graph_attributes",
)
REQUIRED_KINDS = 3


def without_edge_features(graph: Data) -> Data:
    """A copy of ``graph`` without ``edge_attr``, for models that read no edge features
    (the converter refuses a graph input that no forward parameter takes).

    Use it as the data set's ``transform``: ``dataset.transform = without_edge_features``.
    """
    graph = graph.clone()
    del graph.edge_attr
    return graph


def tu_dataset(name: str, root: str | Path = "datasets/") -> TUDataset:
    """Load a TU graph-classification data set through PyG's ``TUDataset``.

    The raw files live at ``<root>/tu/<NAME>/raw/<NAME>_*.txt``. Missing ones are
    copied from the folder named by ``GSNN_DATA_MIRROR`` when it holds them (laid
    out the same way below the mirror); otherwise PyG downloads them.

    Node features are PyG's defaults (the one-hot node labels; PROTEINS and
    ENZYMES without their continuous attributes). IMDB-BINARY has no node
    features; it gets PyG's ``OneHotDegree`` transform up to its largest degree
    (135), the input the GIN paper uses for social graphs.

    Args:
        name (str): ``"MUTAG"``, ``"PROTEINS"``, ``"NCI1"``, ``"ENZYMES"`` or
            ``"IMDB-BINARY"``, in any letter case.
        root (str or Path): the data root. (default: ``"datasets/"``)

    Raises:
        ValueError: ``name`` is not one of these data sets.
        DatasetUnavailableError: raw files are missing, the mirror does not hold them
            and the download fails; the message names the files and the fixes.
    """
    canonical = TU_NAMES.get(name.lower()) if isinstance(name, str) else None
    if canonical is None:
        raise ValueError(
            f"Unknown TU data set {name!r}; expected one of {', '.join(TU_NAMES.values())}."
        )
    root = Path(root)
    relative = f"tu/{canonical}/raw"
    file_names = [f"{canonical}_{kind}.txt" for kind in TU_FILE_KINDS]
    copy_missing_from_mirror(root, relative, file_names)
    missing = missing_files(root / relative, file_names[:REQUIRED_KINDS])
    if missing and not host_is_reachable(TUDataset.url):
        raise DatasetUnavailableError(
            root, relative, missing, "the download host www.chrsmrrs.com is not reachable"
        )
    dataset = TUDataset(str(root / "tu"), canonical)
    if dataset.num_node_features == 0:
        largest = max(int(degree(g.edge_index[0], g.num_nodes).max()) for g in dataset)
        dataset = TUDataset(str(root / "tu"), canonical, transform=T.OneHotDegree(largest))
    return dataset
