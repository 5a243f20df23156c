"""Learnable clip: the first ANN stage of the dual-phase (two-stage) conversion."""

from typing import Optional

import torch
from torch import Tensor

from gsnn.ann.trainable_bound import TrainableBound


class TClamp(TrainableBound):
    r"""ReLU clipped at a trainable bound: :math:`a = \lambda\,\mathrm{clip}(z/\lambda, 0, 1)`.

    Stage 1a of the dual-phase conversion (Wang et al., methods.md §3): train
    the ANN with it in place of ReLU so that every layer learns its own
    clipping bound :math:`\lambda` (used as :math:`|\lambda|`), then swap it for
    :class:`~gsnn.ann.NoisyQC` at the target :math:`T`
    (:func:`~gsnn.ann.noisy_qc_from_clip`) and fine-tune. Below the bound the
    output is the input; above it, :math:`|\lambda|`, whose gradient trains
    the bound.

    Args:
        init_threshold (float, optional): initial :math:`\lambda > 0`; ``None`` sets
            it from the data on the first forward pass (the largest input, as
            :class:`~gsnn.ann.QCFS` does). (default: ``None``)

    Shapes:
        - **input:** :math:`(*)`
        - **output:** :math:`(*)`
    """

    def __init__(self, init_threshold: Optional[float] = None) -> None:
        super().__init__("TClamp", init_threshold)

    def forward(self, x: Tensor) -> Tensor:
        self.initialise_bound(x)
        bound = self.threshold.abs()
        return bound * torch.clamp(x / bound, 0, 1)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold.item():.4g}"
