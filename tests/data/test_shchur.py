"""The Amazon and Coauthor loaders: real Photo through the mirror, synthetic npz, failures."""

import importlib
import os

import numpy as np
import pytest
import scipy.sparse
import torch
from torch_geometric.datasets import Amazon, Coauthor

from gsnn.data import DatasetUnavailableError, amazon, coauthor
from gsnn.data.mirror import MIRROR_ENV_VAR

pyg_dataset_module = importlib.import_module("gsnn.data.pyg_dataset")


@pytest.mark.skipif(
    not os.environ.get(MIRROR_ENV_VAR), reason=f"{MIRROR_ENV_VAR} is unset: no Amazon Photo"
)
def test_loads_amazon_photo_from_the_mirror(tmp_path):
    data = amazon("photo", root=tmp_path)

    # Published statistics (Shchur et al.; PyG's Amazon documentation).
    assert data.num_nodes == 7650
    assert data.num_edges == 238162
    assert tuple(data.x.shape) == (7650, 745)
    assert int(data.y.max()) + 1 == 8
    assert (tmp_path / "amazon" / "Photo" / "raw" / "amazon_electronics_photo.npz").is_file()


# --- a synthetic graph in gnn-benchmark's npz layout -------------------------------------------

# A directed path 0 -> 1 -> 2 -> 3 plus a self-loop on 4, which PyG drops.
ADJACENCY = scipy.sparse.csr_matrix(
    (np.ones(4), ([0, 1, 2, 4], [1, 2, 3, 4])), shape=(5, 5), dtype=np.float32
)
ATTRIBUTES = scipy.sparse.csr_matrix(np.array([[0, 2], [1, 0], [0, 0], [3, 1], [1, 1]]))
LABELS = np.array([0, 1, 1, 0, 2])


def write_npz(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        path,
        adj_data=ADJACENCY.data,
        adj_indices=ADJACENCY.indices,
        adj_indptr=ADJACENCY.indptr,
        adj_shape=ADJACENCY.shape,
        attr_data=ATTRIBUTES.data,
        attr_indices=ATTRIBUTES.indices,
        attr_indptr=ATTRIBUTES.indptr,
        attr_shape=ATTRIBUTES.shape,
        labels=LABELS,
    )


def forbid_network(monkeypatch):
    def fail(*args, **kwargs):
        pytest.fail("the loader went to the network although the raw file was available")

    monkeypatch.setattr(pyg_dataset_module, "host_is_reachable", fail)
    monkeypatch.setattr(Amazon, "download", fail)
    monkeypatch.setattr(Coauthor, "download", fail)


LOADERS = [
    (amazon, "Computers", "amazon/Computers/raw/amazon_electronics_computers.npz"),
    (coauthor, "cs", "coauthor/CS/raw/ms_academic_cs.npz"),
    (coauthor, "Physics", "coauthor/Physics/raw/ms_academic_phy.npz"),
]


@pytest.mark.parametrize(("loader", "name", "raw_path"), LOADERS)
def test_loads_a_synthetic_graph_from_the_mirror(tmp_path, monkeypatch, loader, name, raw_path):
    write_npz(tmp_path / "mirror" / raw_path)
    monkeypatch.setenv(MIRROR_ENV_VAR, str(tmp_path / "mirror"))
    forbid_network(monkeypatch)

    data = loader(name, root=tmp_path / "root")

    # Binarised attributes, the path made undirected, the self-loop gone.
    assert torch.equal(data.x, torch.tensor(ATTRIBUTES.toarray() > 0, dtype=torch.float))
    assert torch.equal(data.y, torch.from_numpy(LABELS))
    edges = set(map(tuple, data.edge_index.t().tolist()))
    assert edges == {(0, 1), (1, 0), (1, 2), (2, 1), (2, 3), (3, 2)}
    assert (tmp_path / "root" / raw_path).is_file()


@pytest.mark.parametrize(("loader", "name", "raw_path"), LOADERS)
def test_unreachable_host_names_the_missing_file(tmp_path, monkeypatch, loader, name, raw_path):
    monkeypatch.setenv(MIRROR_ENV_VAR, str(tmp_path / "empty-mirror"))
    monkeypatch.setattr(pyg_dataset_module, "host_is_reachable", lambda url: False)

    with pytest.raises(DatasetUnavailableError, match="not reachable") as caught:
        loader(name, root=tmp_path / "root")

    assert caught.value.missing_file_names == [raw_path.rsplit("/", 1)[1]]
    assert f"<mirror>/{raw_path}" in str(caught.value)


@pytest.mark.parametrize(
    ("loader", "name", "valid"),
    [(amazon, "Books", "Computers, Photo"), (coauthor, "Math", "CS, Physics"), (amazon, None, "")],
)
def test_unknown_name_lists_the_valid_ones(tmp_path, loader, name, valid):
    with pytest.raises(ValueError, match=f"Unknown .* data set {name!r}; expected one of {valid}"):
        loader(name, root=tmp_path)
