"""Random per-class splits: counts per class, a partition, determinism, too small classes."""

import pytest
import torch
from torch_geometric.data import Data

from gsnn.data import per_class_random_split

# 3 classes of 60, 75 and 51 nodes, interleaved
LABELS = torch.cat([torch.zeros(60), torch.ones(75), torch.full((51,), 2)]).long()
SHUFFLE = torch.randperm(186, generator=torch.Generator().manual_seed(1))
GRAPH = Data(x=torch.randn(186, 4), y=LABELS[SHUFFLE])


def test_twenty_and_thirty_per_class_and_the_rest_test():
    split = per_class_random_split(GRAPH, seed=0)

    for label, size in [(0, 60), (1, 75), (2, 51)]:
        members = GRAPH.y == label
        assert int((split.train_mask & members).sum()) == 20
        assert int((split.val_mask & members).sum()) == 30
        assert int((split.test_mask & members).sum()) == size - 50
    masks = torch.stack([split.train_mask, split.val_mask, split.test_mask]).long()
    assert torch.equal(masks.sum(dim=0), torch.ones(186, dtype=torch.long))


def test_same_seed_same_split_other_seed_other_split_graph_untouched():
    first, again, other = (per_class_random_split(GRAPH, seed) for seed in (3, 3, 4))

    assert torch.equal(first.train_mask, again.train_mask)
    assert torch.equal(first.val_mask, again.val_mask)
    assert not torch.equal(first.train_mask, other.train_mask)
    assert "train_mask" not in GRAPH
    assert first.x is GRAPH.x


def test_class_without_test_nodes_is_refused():
    with pytest.raises(ValueError, match="Class 2 has 51 nodes, too few for 20 training and 31"):
        per_class_random_split(GRAPH, seed=0, val_per_class=31)
