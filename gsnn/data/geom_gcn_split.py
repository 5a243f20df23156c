"""The ten given 60/20/20 splits of Geom-GCN's graphs (Actor, WebKB), one picked by number."""

from __future__ import annotations

from torch_geometric.data import Data

GEOM_GCN_SPLITS = 10


def check_split(split: int, family: str) -> None:
    """Refuse anything but an integer from 0 to 9 as the split number of ``family``.

    Raises:
        ValueError: naming the splits there are.
    """
    if isinstance(split, bool) or not isinstance(split, int) or not 0 <= split < GEOM_GCN_SPLITS:
        raise ValueError(
            f"{family} has the splits 0 to {GEOM_GCN_SPLITS - 1} of Geom-GCN, got split={split!r}."
        )


def take_split(data: Data, split: int) -> Data:
    """Keep column ``split`` of the ``[N, 10]`` train, validation and test masks.

    Shapes:
        - **data masks:** :math:`(N, 10)` in, :math:`(N)` out
    """
    for mask in ("train_mask", "val_mask", "test_mask"):
        data[mask] = data[mask][:, split]
    return data
