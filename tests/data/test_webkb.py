"""The WebKB loader: the real graphs and their ten splits through the mirror, and bad input."""

import os

import numpy as np
import pytest
import torch

from gsnn.data import webkb
from gsnn.data.mirror import MIRROR_ENV_VAR


@pytest.mark.skipif(not os.environ.get(MIRROR_ENV_VAR), reason=f"{MIRROR_ENV_VAR} is unset")
@pytest.mark.parametrize(
    "name, nodes, features",
    [("Cornell", 183, 1703), ("texas", 183, 1703), ("WISCONSIN", 251, 1703)],
)
def test_loads_each_graph_and_the_chosen_split_from_the_mirror(tmp_path, name, nodes, features):
    data = webkb(name, 3, root=tmp_path)

    # Published statistics (Pei et al.; PyG's WebKB documentation): five classes each.
    assert data.num_nodes == nodes
    assert tuple(data.x.shape) == (nodes, features)
    assert int(data.y.max()) + 1 == 5
    # The split is the file's own masks, one-dimensional.
    folder = name.lower()
    raw = np.load(tmp_path / "webkb" / folder / "raw" / f"{folder}_split_0.6_0.2_3.npz")
    for mask in ("train_mask", "val_mask", "test_mask"):
        assert torch.equal(data[mask], torch.from_numpy(raw[mask]).bool())
    assert not (data.train_mask & data.test_mask).any()
    assert not torch.equal(webkb(name, 0, root=tmp_path).train_mask, data.train_mask)


def test_unknown_graph_and_bad_split_are_refused(tmp_path):
    with pytest.raises(ValueError, match="expected one of Cornell, Texas, Wisconsin"):
        webkb("cora", 0, root=tmp_path)
    with pytest.raises(ValueError, match="Texas has the splits 0 to 9"):
        webkb("texas", 10, root=tmp_path)
