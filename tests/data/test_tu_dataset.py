"""TU graph-classification data through the offline copy, and a real conversion on MUTAG."""

import importlib
import os

import pytest
import torch
from torch import nn
from torch_geometric.loader import DataLoader
from torch_geometric.nn import GraphConv, global_add_pool

import gsnn
from gsnn.ann import QCFS, train_graph_classifier
from gsnn.data import DatasetUnavailableError, tu_dataset, without_edge_features
from gsnn.data.mirror import MIRROR_ENV_VAR

tu_module = importlib.import_module("gsnn.data.tu_dataset")

needs_mirror = pytest.mark.skipif(
    not os.environ.get(MIRROR_ENV_VAR),
    reason=f"{MIRROR_ENV_VAR} is unset: no offline copy of the TU data sets to load",
)


@needs_mirror
@pytest.mark.parametrize(
    ("name", "graphs", "features", "classes"),
    [
        # published statistics (TU collection; PyG's TUDataset documentation)
        ("mutag", 188, 7, 2),
        ("IMDB-BINARY", 1000, 136, 2),  # one-hot degree up to the largest degree, 135
    ],
)
def test_loads_real_data_from_the_mirror(tmp_path, name, graphs, features, classes):
    dataset = tu_dataset(name, root=tmp_path)
    assert (len(dataset), dataset.num_node_features, dataset.num_classes) == (
        graphs,
        features,
        classes,
    )
    assert (tmp_path / "tu" / name.upper() / "raw" / f"{name.upper()}_A.txt").is_file()


def test_unknown_name_is_refused():
    with pytest.raises(ValueError, match="Unknown TU data set 'MUTANT'.*MUTAG"):
        tu_dataset("MUTANT")


def test_missing_files_without_mirror_or_network_name_the_fix(tmp_path, monkeypatch):
    monkeypatch.delenv(MIRROR_ENV_VAR, raising=False)
    monkeypatch.setattr(tu_module, "host_is_reachable", lambda url: False)
    with pytest.raises(DatasetUnavailableError, match="MUTAG_A.txt.*GSNN_DATA_MIRROR"):
        tu_dataset("MUTAG", root=tmp_path)


class MutagNet(nn.Module):
    """examples/mutag_gin.py's layout with one GraphConv (sum aggregation) and QCFS."""

    def __init__(self):
        super().__init__()
        self.conv = GraphConv(7, 16, aggr="add")
        self.act = QCFS(levels=4)
        self.lin = nn.Linear(16, 2)

    def forward(self, x, edge_index, batch):
        return self.lin(global_add_pool(self.act(self.conv(x, edge_index)), batch))


@needs_mirror
def test_mutag_sum_readout_converts_exactly_with_qcfs_at_T_equal_L(tmp_path):
    torch.manual_seed(0)
    dataset = tu_dataset("MUTAG", root=tmp_path)
    dataset.transform = without_edge_features
    model = train_graph_classifier(
        MutagNet(), DataLoader(dataset, batch_size=64, shuffle=True), epochs=5
    )
    snn = gsnn.convert(model, DataLoader(dataset[:128], batch_size=64), method="qcfs", T=4)
    every_graph = next(iter(DataLoader(dataset, batch_size=len(dataset))))
    with torch.no_grad():
        ann = model(every_graph.x, every_graph.edge_index, every_graph.batch)
        snn_out = snn(every_graph.x, every_graph.edge_index, every_graph.batch)
    torch.testing.assert_close(snn_out, ann, rtol=1e-4, atol=1e-4)
    assert torch.equal(snn_out.argmax(-1), ann.argmax(-1))
    assert snn.last_stats.per_graph("spikes").shape == (188,)
