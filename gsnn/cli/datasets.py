"""Data sets by name, or a user's own graph from a file: one table for every command."""

from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import torch
import torch_geometric.transforms as transforms
from torch_geometric.data import Data
from torch_geometric.data.data import DataEdgeAttr, DataTensorAttr
from torch_geometric.data.storage import EdgeStorage, GlobalStorage, NodeStorage

from gsnn.cli.console import CommandLineError
from gsnn.cli.graph_task import GRAPH
from gsnn.cli.image_task import IMAGE
from gsnn.cli.node_task import NODE
from gsnn.cli.task import Task
from gsnn.data import (
    actor,
    amazon,
    cifar10,
    coauthor,
    mnist,
    per_class_random_split,
    planetoid,
    tu_dataset,
    webkb,
    without_edge_features,
)

Loader = Callable[[str, int], Any]


def _planetoid(name: str) -> Loader:
    def load(root: str, seed: int) -> Data:
        return planetoid(name, root=root, transform=transforms.NormalizeFeatures())

    return load


def _shchur(loader: Callable[..., Data], name: str) -> Loader:
    def load(root: str, seed: int) -> Data:
        return per_class_random_split(loader(name, root=root), seed)

    return load


def _actor(root: str, seed: int) -> Data:
    return actor(seed, root=root, transform=transforms.NormalizeFeatures())


def _webkb(name: str) -> Loader:
    def load(root: str, seed: int) -> Data:
        return webkb(name, seed, root=root, transform=transforms.NormalizeFeatures())

    return load


def _tu(name: str) -> Loader:
    def load(root: str, seed: int) -> List[Data]:
        return [without_edge_features(graph) for graph in tu_dataset(name, root=root)]

    return load


def _images(name: str, loader: Callable[..., Any]) -> Loader:
    def load(root: str, seed: int) -> Tuple[str, Any, Any]:
        return name, loader("train", root=root), loader("test", root=root)

    return load


# Every offline copy the loaders support, by the name users type, with its task and a loader
# that takes the data root and the seed. Node-classification graphs come with train/val/test
# masks: Planetoid's public split; for Amazon and Coauthor, which have none, 20 training and
# 30 validation nodes per class drawn with the seed (Shchur et al.); for Actor and WebKB,
# Geom-GCN's given split number seed (0-9). Their features are row-normalised, except
# Amazon's and Coauthor's binary ones, kept as loaded (as experiments/node_classification.py
# does: row-normalised, its GCN trained far below the published accuracy on Photo). TU
# graphs come as a list (split by GraphData with the seed); images as the standardised train
# and test sets.
DATASETS: Dict[str, Tuple[Task, Loader]] = {
    "Cora": (NODE, _planetoid("Cora")),
    "CiteSeer": (NODE, _planetoid("CiteSeer")),
    "PubMed": (NODE, _planetoid("PubMed")),
    "Photo": (NODE, _shchur(amazon, "Photo")),
    "Computers": (NODE, _shchur(amazon, "Computers")),
    "CS": (NODE, _shchur(coauthor, "CS")),
    "Physics": (NODE, _shchur(coauthor, "Physics")),
    "Actor": (NODE, _actor),
    "Cornell": (NODE, _webkb("Cornell")),
    "Texas": (NODE, _webkb("Texas")),
    "Wisconsin": (NODE, _webkb("Wisconsin")),
    "MUTAG": (GRAPH, _tu("MUTAG")),
    "PROTEINS": (GRAPH, _tu("PROTEINS")),
    "NCI1": (GRAPH, _tu("NCI1")),
    "ENZYMES": (GRAPH, _tu("ENZYMES")),
    "IMDB-BINARY": (GRAPH, _tu("IMDB-BINARY")),
    "MNIST": (IMAGE, _images("MNIST", mnist)),
    "CIFAR10": (IMAGE, _images("CIFAR10", cifar10)),
}
DATA_FIELDS = ("x", "edge_index", "y", "train_mask", "val_mask", "test_mask")
# what a torch.save'd Data pickles besides tensors; PyG registers Data itself as safe
DATA_CLASSES = [DataEdgeAttr, DataTensorAttr, GlobalStorage, NodeStorage, EdgeStorage]


def _folded(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "")


def dataset_key(name: str) -> str:
    """The table's spelling of ``name`` (any letter case, with or without ``-`` and ``_``:
    ``cifar-10``, ``imdb_binary``), or ``""`` if it is not in the table."""
    return next((key for key in DATASETS if _folded(key) == _folded(name)), "")


def task_of(name: str) -> Task:
    """The task of a checked ``--dataset`` (a file holds a node-classification graph)."""
    key = dataset_key(name)
    return DATASETS[key][0] if key else NODE


def check_dataset(name: str) -> None:
    """Refuse ``name`` unless it is in the table or names an existing file."""
    if not dataset_key(name) and not Path(name).is_file():
        raise CommandLineError(
            f"--dataset {name}: no such data set or file; choose one of {', '.join(DATASETS)}, "
            "or give the path of a torch.save'd torch_geometric.data.Data."
        )


def load_dataset(name: str, root: str, seed: int) -> Any:
    """What the loader of ``name`` (a table name or a file path) returns, for
    :meth:`~gsnn.cli.task.Task.prepare`.

    Named data sets come as :data:`DATASETS` says; a file holds a node-classification
    graph, used as saved, and loaded without running code from it (``weights_only=True``).

    Raises:
        ValueError: if a file holds no ``Data`` or misses one of ``DATA_FIELDS``.
    """
    key = dataset_key(name)
    if key:
        return DATASETS[key][1](root, seed)
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
