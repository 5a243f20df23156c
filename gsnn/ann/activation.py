"""Build the ANN-side activation a conversion method needs, by name."""

from typing import Optional

from torch import nn

from gsnn.ann.qcfs import QCFS
from gsnn.ann.threshold_relu import ThresholdReLU

ACTIVATIONS = ("relu", "threshold_relu", "qcfs")


def make_activation(
    name: str, threshold: float = 1.0, qcfs_levels: int = 8, qcfs_init: Optional[float] = None
) -> nn.Module:
    """Return a fresh activation module.

    Args:
        name (str): ``"relu"``, ``"threshold_relu"`` (Deng & Gu) or ``"qcfs"``.
        threshold (float): clip value of the threshold ReLU.
        qcfs_levels (int): quantisation levels :math:`L` of QCFS.
        qcfs_init (float, optional): initial trainable bound :math:`\\lambda` of QCFS
            (``None``: from the data on the first forward pass).
    """
    if name == "relu":
        return nn.ReLU()
    if name == "threshold_relu":
        return ThresholdReLU(threshold)
    if name == "qcfs":
        return QCFS(levels=qcfs_levels, init_threshold=qcfs_init)
    raise ValueError(f"Unknown activation {name!r}; choose one of {ACTIVATIONS}.")
