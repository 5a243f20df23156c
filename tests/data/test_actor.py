"""The Actor loader: the real graph and its ten splits through the mirror, and bad splits."""

import os

import numpy as np
import pytest
import torch

from gsnn.data import actor
from gsnn.data.mirror import MIRROR_ENV_VAR


@pytest.mark.skipif(not os.environ.get(MIRROR_ENV_VAR), reason=f"{MIRROR_ENV_VAR} is unset")
def test_loads_actor_and_the_chosen_split_from_the_mirror(tmp_path):
    data = actor(7, root=tmp_path)

    # Published statistics (Pei et al.; PyG's Actor documentation).
    assert data.num_nodes == 7600
    assert data.num_edges == 30019
    assert tuple(data.x.shape) == (7600, 932)
    assert int(data.y.max()) + 1 == 5
    # The split is the file's own masks, one-dimensional.
    raw = np.load(tmp_path / "actor" / "raw" / "film_split_0.6_0.2_7.npz")
    for mask in ("train_mask", "val_mask", "test_mask"):
        assert torch.equal(data[mask], torch.from_numpy(raw[mask]).bool())
    assert not (data.train_mask & data.test_mask).any()
    assert not torch.equal(actor(0, root=tmp_path).train_mask, data.train_mask)


@pytest.mark.parametrize("split", [-1, 10, 1.0, True, "0"])
def test_split_outside_the_ten_is_refused(tmp_path, split):
    with pytest.raises(ValueError, match="splits 0 to 9"):
        actor(split, root=tmp_path)
