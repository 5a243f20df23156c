"""Build the ANN-side activation a conversion method needs, by name."""

from typing import Optional

from torch import nn

from gsnn.ann.noisy_qc import NoisyQC
from gsnn.ann.qcfs import QCFS
from gsnn.ann.tclamp import TClamp
from gsnn.ann.threshold_relu import ThresholdReLU

ACTIVATIONS = ("relu", "threshold_relu", "qcfs", "clip", "noisy_qc")


def make_activation(
    name: str,
    threshold: float = 1.0,
    qcfs_levels: int = 8,
    qcfs_init: Optional[float] = None,
    noisy_qc_steps: int = 8,
    noise_prob: float = 0.1,
    clip_init: Optional[float] = None,
) -> nn.Module:
    """Return a fresh activation module.

    Args:
        name (str): ``"relu"``, ``"threshold_relu"`` (Deng & Gu), ``"qcfs"``,
            ``"clip"`` (:class:`TClamp`, dual-phase stage 1a) or ``"noisy_qc"``
            (:class:`NoisyQC`, dual-phase stage 1b).
        threshold (float): clip value of the threshold ReLU.
        qcfs_levels (int): quantisation levels :math:`L` of QCFS.
        qcfs_init (float, optional): initial trainable bound :math:`\\lambda` of QCFS
            (``None``: from the data on the first forward pass).
        noisy_qc_steps (int): target time steps :math:`T` of NoisyQC.
        noise_prob (float): NoisyQC's probability of leaving an element unquantised.
        clip_init (float, optional): initial trainable bound of TClamp and NoisyQC
            (``None``: from the data on the first forward pass).
    """
    if name == "relu":
        return nn.ReLU()
    if name == "threshold_relu":
        return ThresholdReLU(threshold)
    if name == "qcfs":
        return QCFS(levels=qcfs_levels, init_threshold=qcfs_init)
    if name == "clip":
        return TClamp(init_threshold=clip_init)
    if name == "noisy_qc":
        return NoisyQC(noisy_qc_steps, noise_prob, init_threshold=clip_init)
    raise ValueError(f"Unknown activation {name!r}; choose one of {ACTIVATIONS}.")
