"""Threshold (clipped) ReLU of Deng & Gu."""

from torch import Tensor, nn


class ThresholdReLU(nn.Module):
    r"""ReLU clipped at a fixed threshold: :math:`a = \mathrm{clip}(z, 0, y_{th})`.

    Train with it in place of ReLU for the ``optimal`` conversion (Deng & Gu,
    ICLR 2021): the SNN threshold of each site is then the observed maximum,
    which the clip bounds. The gradient passes inside the band only.

    Args:
        threshold (float): the clip value :math:`y_{th} > 0`. (default: ``1.0``)

    Shapes:
        - **input:** :math:`(*)`
        - **output:** :math:`(*)`
    """

    def __init__(self, threshold: float = 1.0) -> None:
        super().__init__()
        if threshold <= 0:
            raise ValueError(f"ThresholdReLU: threshold must be > 0, got {threshold!r}.")
        self.threshold = float(threshold)

    def forward(self, x: Tensor) -> Tensor:
        return x.clamp(0.0, self.threshold)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold:g}"
