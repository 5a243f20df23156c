"""The Planetoid loader: real data through the mirror, a synthetic PubMed, and offline failures."""

import importlib
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import scipy.sparse
import torch
from torch_geometric.datasets import Planetoid

from gsnn.data import DatasetUnavailableError, planetoid
from gsnn.data.mirror import MIRROR_ENV_VAR

# The module that checks the download host for every PyG-backed loader, to patch it.
pyg_dataset_module = importlib.import_module("gsnn.data.pyg_dataset")

PUBMED_RAW_FILES = [
    f"ind.pubmed.{suffix}"
    for suffix in ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")
]


# --- real data through the offline copy -------------------------------------------------------

needs_mirror = pytest.mark.skipif(
    not os.environ.get(MIRROR_ENV_VAR),
    reason=f"{MIRROR_ENV_VAR} is unset: no offline copy of Cora, CiteSeer and PubMed to load",
)


@needs_mirror
@pytest.mark.parametrize(
    ("name", "num_nodes", "num_edges", "num_features", "num_classes"),
    [
        # Published statistics of the Planetoid data sets (PyG's Planetoid documentation).
        ("CORA", 2708, 10556, 1433, 7),
        ("citeseer", 3327, 9104, 3703, 6),
        ("PubMed", 19717, 88648, 500, 3),
    ],
)
def test_loads_real_data_from_the_mirror(
    tmp_path, name, num_nodes, num_edges, num_features, num_classes
):
    data = planetoid(name, root=tmp_path)

    assert data.num_nodes == num_nodes
    assert data.num_edges == num_edges
    assert tuple(data.x.shape) == (num_nodes, num_features)
    assert int(data.y.max()) + 1 == num_classes
    # The public split: 20 training nodes per class, 500 validation, 1000 test.
    assert int(data.train_mask.sum()) == 20 * num_classes
    assert int(data.val_mask.sum()) == 500
    assert int(data.test_mask.sum()) == 1000


# --- a synthetic PubMed in the Planetoid raw format --------------------------------------------

NUM_CLASSES = 3
NUM_FEATURES = 5
NUM_TRAIN = 2 * NUM_CLASSES
# PyG's public split validates on the 500 nodes after the training nodes, so the block of
# non-test nodes (``allx``) must hold at least NUM_TRAIN + 500 nodes; 4 more stay unlabelled.
NUM_ALLX = NUM_TRAIN + 500 + 4
NUM_TEST = 10
NUM_NODES = NUM_ALLX + NUM_TEST


@dataclass
class SyntheticPlanetoid:
    """A graph whose nodes ``NUM_ALLX..NUM_NODES-1`` are the test nodes, listed shuffled."""

    features: np.ndarray
    labels: np.ndarray
    test_nodes: np.ndarray
    neighbours: dict[int, list[int]]

    def edges(self) -> set[tuple[int, int]]:
        return {(node, other) for node, others in self.neighbours.items() for other in others}


def make_synthetic_planetoid() -> SyntheticPlanetoid:
    rng = np.random.default_rng(0)
    # A ring plus chords from every 7th node to the node 3 ahead, stored in both directions.
    neighbours = {
        node: [(node - 1) % NUM_NODES, (node + 1) % NUM_NODES] for node in range(NUM_NODES)
    }
    for node in range(0, NUM_NODES, 7):
        neighbours[node].append((node + 3) % NUM_NODES)
        neighbours[(node + 3) % NUM_NODES].append(node)
    return SyntheticPlanetoid(
        features=rng.integers(0, 2, size=(NUM_NODES, NUM_FEATURES)).astype(np.float32),
        labels=rng.integers(0, NUM_CLASSES, size=NUM_NODES),
        test_nodes=rng.permutation(np.arange(NUM_ALLX, NUM_NODES)),
        neighbours=neighbours,
    )


def write_planetoid_raw(folder: Path, prefix: str, graph: SyntheticPlanetoid) -> None:
    """Write ``graph`` as the eight ``ind.<prefix>.*`` files of the Planetoid format."""
    one_hot = np.eye(NUM_CLASSES, dtype=np.int32)[graph.labels]
    pickled = {
        "x": scipy.sparse.csr_matrix(graph.features[:NUM_TRAIN]),
        "allx": scipy.sparse.csr_matrix(graph.features[:NUM_ALLX]),
        "tx": scipy.sparse.csr_matrix(graph.features[graph.test_nodes]),
        "y": one_hot[:NUM_TRAIN],
        "ally": one_hot[:NUM_ALLX],
        "ty": one_hot[graph.test_nodes],
        "graph": graph.neighbours,
    }
    folder.mkdir(parents=True, exist_ok=True)
    for suffix, value in pickled.items():
        with open(folder / f"ind.{prefix}.{suffix}", "wb") as file:
            pickle.dump(value, file)
    test_index = "\n".join(str(node) for node in graph.test_nodes) + "\n"
    (folder / f"ind.{prefix}.test.index").write_text(test_index)


@pytest.fixture
def synthetic_pubmed_mirror(tmp_path, monkeypatch):
    """A mirror holding a synthetic PubMed, with the network made off-limits."""
    graph = make_synthetic_planetoid()
    mirror = tmp_path / "mirror"
    write_planetoid_raw(mirror / "planetoid" / "PubMed" / "raw", "pubmed", graph)
    monkeypatch.setenv(MIRROR_ENV_VAR, str(mirror))
    forbid_network(monkeypatch)
    return graph


def forbid_network(monkeypatch):
    def fail(*args, **kwargs):
        pytest.fail("the loader went to the network although the raw files were available")

    monkeypatch.setattr(pyg_dataset_module, "host_is_reachable", fail)
    monkeypatch.setattr(Planetoid, "download", fail)


def nodes_of(mask: torch.Tensor) -> list[int]:
    return mask.nonzero().view(-1).tolist()


def test_loads_synthetic_pubmed_from_the_mirror(tmp_path, synthetic_pubmed_mirror):
    graph = synthetic_pubmed_mirror

    data = planetoid("pubmed", root=tmp_path / "root")

    assert data.num_nodes == NUM_NODES
    assert torch.equal(data.x, torch.from_numpy(graph.features))
    assert torch.equal(data.y, torch.from_numpy(graph.labels))
    assert set(map(tuple, data.edge_index.t().tolist())) == graph.edges()
    assert data.num_edges == len(graph.edges())
    assert nodes_of(data.train_mask) == list(range(NUM_TRAIN))
    assert nodes_of(data.val_mask) == list(range(NUM_TRAIN, NUM_TRAIN + 500))
    assert nodes_of(data.test_mask) == list(range(NUM_ALLX, NUM_NODES))


def test_copies_the_raw_files_into_the_root(tmp_path, synthetic_pubmed_mirror):
    planetoid("PubMed", root=tmp_path / "root")
    raw_dir = tmp_path / "root" / "planetoid" / "PubMed" / "raw"
    assert sorted(path.name for path in raw_dir.iterdir()) == sorted(PUBMED_RAW_FILES)


def test_passes_the_transform_through(tmp_path, synthetic_pubmed_mirror):
    def double_features(data):
        data.x = 2 * data.x
        return data

    data = planetoid("PubMed", root=tmp_path / "root", transform=double_features)

    assert torch.equal(data.x, 2 * torch.from_numpy(synthetic_pubmed_mirror.features))


def test_files_in_the_root_need_no_mirror(tmp_path, monkeypatch):
    graph = make_synthetic_planetoid()
    write_planetoid_raw(tmp_path / "planetoid" / "PubMed" / "raw", "pubmed", graph)
    monkeypatch.delenv(MIRROR_ENV_VAR, raising=False)
    forbid_network(monkeypatch)

    data = planetoid("PubMed", root=tmp_path)

    assert torch.equal(data.x, torch.from_numpy(graph.features))


def test_processing_errors_are_not_reworded_as_unavailable(tmp_path, monkeypatch):
    raw_dir = tmp_path / "planetoid" / "PubMed" / "raw"
    write_planetoid_raw(raw_dir, "pubmed", make_synthetic_planetoid())
    (raw_dir / "ind.pubmed.graph").write_bytes(b"not a pickle")
    monkeypatch.delenv(MIRROR_ENV_VAR, raising=False)
    forbid_network(monkeypatch)

    with pytest.raises(pickle.UnpicklingError):
        planetoid("PubMed", root=tmp_path)


# --- offline without a copy ---------------------------------------------------------------------


@pytest.fixture
def empty_mirror(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    (mirror / "planetoid" / "Cora" / "raw").mkdir(parents=True)
    monkeypatch.setenv(MIRROR_ENV_VAR, str(mirror))
    return mirror


def test_failed_download_names_the_missing_files(tmp_path, empty_mirror, monkeypatch):
    def download_without_network(dataset):
        raise URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(pyg_dataset_module, "host_is_reachable", lambda url: True)
    monkeypatch.setattr(Planetoid, "download", download_without_network)

    with pytest.raises(DatasetUnavailableError) as caught:
        planetoid("PubMed", root=tmp_path / "root")

    message = str(caught.value)
    assert caught.value.missing_file_names == PUBMED_RAW_FILES
    assert "ind.pubmed.x" in message
    assert "URLError" in message
    assert str(empty_mirror / "planetoid" / "PubMed" / "raw") in message
    assert f"{MIRROR_ENV_VAR} to a folder laid out like <mirror>/planetoid/PubMed/raw/" in message
    assert isinstance(caught.value.__cause__, URLError)


def test_unreachable_host_fails_without_trying_to_download(tmp_path, empty_mirror, monkeypatch):
    def download(dataset):
        pytest.fail("the download ran although its host is unreachable")

    monkeypatch.setattr(pyg_dataset_module, "host_is_reachable", lambda url: False)
    monkeypatch.setattr(Planetoid, "download", download)

    with pytest.raises(DatasetUnavailableError, match="ind.pubmed.x.*not reachable"):
        planetoid("PubMed", root=tmp_path / "root")


def test_partially_mirrored_data_names_only_the_files_still_missing(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    write_planetoid_raw(
        mirror / "planetoid" / "PubMed" / "raw", "pubmed", make_synthetic_planetoid()
    )
    (mirror / "planetoid" / "PubMed" / "raw" / "ind.pubmed.allx").unlink()
    monkeypatch.setenv(MIRROR_ENV_VAR, str(mirror))
    monkeypatch.setattr(pyg_dataset_module, "host_is_reachable", lambda url: False)

    with pytest.raises(DatasetUnavailableError) as caught:
        planetoid("PubMed", root=tmp_path / "root")

    assert caught.value.missing_file_names == ["ind.pubmed.allx"]


# --- names --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["reddit", "", "Cora2", None])
def test_unknown_name_lists_the_valid_ones(tmp_path, name):
    with pytest.raises(ValueError, match="Cora, CiteSeer, PubMed"):
        planetoid(name, root=tmp_path)
