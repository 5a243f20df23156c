"""Data sets by name, or a user's own graph from a file: one table for every command."""

from pathlib import Path
from typing import Callable, Dict

import torch
import torch_geometric.transforms as transforms
from torch_geometric.data import Data
from torch_geometric.data.data import DataEdgeAttr, DataTensorAttr
from torch_geometric.data.storage import EdgeStorage, GlobalStorage, NodeStorage

from gsnn.cli.console import CommandLineError
from gsnn.data import actor, amazon, coauthor, per_class_random_split, planetoid


def _planetoid(name: str) -> Callable[[str, int], Data]:
    def load(root: str, seed: int) -> Data:
        return planetoid(name, root=root, transform=transforms.NormalizeFeatures())

    return load


def _shchur(loader: Callable[..., Data], name: str) -> Callable[[str, int], Data]:
    def load(root: str, seed: int) -> Data:
        graph = loader(name, root=root, transform=transforms.NormalizeFeatures())
        return per_class_random_split(graph, seed)

    return load


def _actor(root: str, seed: int) -> Data:
    return actor(seed, root=root, transform=transforms.NormalizeFeatures())


# Every offline copy the loaders support, by the name users type; each loader takes the data
# root and the seed and returns a node-classification graph with row-normalised features
# and train/val/test masks: Planetoid's public split; for Amazon and Coauthor, which have
# none, 20 training and 30 validation nodes per class drawn with the seed (Shchur et al.);
# for Actor, Geom-GCN's given split number seed (0-9).
DATASETS: Dict[str, Callable[[str, int], Data]] = {
    "Cora": _planetoid("Cora"),
    "CiteSeer": _planetoid("CiteSeer"),
    "PubMed": _planetoid("PubMed"),
    "Photo": _shchur(amazon, "Photo"),
    "Computers": _shchur(amazon, "Computers"),
    "CS": _shchur(coauthor, "CS"),
    "Physics": _shchur(coauthor, "Physics"),
    "Actor": _actor,
}
DATA_FIELDS = ("x", "edge_index", "y", "train_mask", "val_mask", "test_mask")
# what a torch.save'd Data pickles besides tensors; PyG registers Data itself as safe
DATA_CLASSES = [DataEdgeAttr, DataTensorAttr, GlobalStorage, NodeStorage, EdgeStorage]


def dataset_key(name: str) -> str:
    """The table's spelling of ``name`` (any letter case), or ``""`` if it is not in the table."""
    return next((key for key in DATASETS if key.lower() == name.lower()), "")


def check_dataset(name: str) -> None:
    """Refuse ``name`` unless it is in the table or names an existing file."""
    if not dataset_key(name) and not Path(name).is_file():
        raise CommandLineError(
            f"--dataset {name}: no such data set or file; choose one of {', '.join(DATASETS)}, "
            "or give the path of a torch.save'd torch_geometric.data.Data."
        )


def load_graph(name: str, root: str, seed: int) -> Data:
    """The graph ``name`` (a table name or a file path), with the fields every command uses.

    Named graphs come with row-normalised features (``NormalizeFeatures``) and the split
    of :data:`DATASETS`; a file is used as saved, and loaded without running code from it
    (``weights_only=True``).

    Raises:
        ValueError: if a file holds no ``Data`` or misses one of ``DATA_FIELDS``.
    """
    key = dataset_key(name)
    if key:
        return DATASETS[key](root, seed)
    try:
        with torch.serialization.safe_globals(DATA_CLASSES):
            data = torch.load(name, weights_only=True)
    except Exception as error:  # pickle and zip errors alike: the file is not a saved Data
        raise ValueError(
            f"--dataset {name}: cannot be read as a torch.save'd Data ({error}); save the graph "
            "with torch.save(data, path)."
        ) from error
    if not isinstance(data, Data):
        raise ValueError(
            f"--dataset {name} holds a {type(data).__name__}, not a torch_geometric.data.Data."
        )
    missing = [field for field in DATA_FIELDS if getattr(data, field, None) is None]
    if missing:
        raise ValueError(
            f"--dataset {name}: the Data has no {', '.join(missing)}; add them before saving "
            "(masks e.g. with torch_geometric.transforms.RandomNodeSplit)."
        )
    return data
