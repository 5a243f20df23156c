"""Input checks shared by the spiking image layers."""

from torch import Tensor, nn


def check_image_steps(layer: nn.Module, x: Tensor) -> None:
    """Raise ``ValueError`` unless ``x`` is a time-major batch of images ``[T, B, C, H, W]``."""
    if x.dim() != 5:
        raise ValueError(
            f"{type(layer).__name__} expects inputs of shape [T, B, C, H, W], got {tuple(x.shape)}."
        )
