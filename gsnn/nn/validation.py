"""Input checks shared by the spiking image and node layers."""

from torch import Tensor, nn


def check_image_steps(layer: nn.Module, x: Tensor) -> None:
    """Raise ``ValueError`` unless ``x`` is a time-major batch of images ``[T, B, C, H, W]``."""
    if x.dim() != 5:
        raise ValueError(
            f"{type(layer).__name__} expects inputs of shape [T, B, C, H, W], got {tuple(x.shape)}."
        )


def check_node_steps(layer: nn.Module, x: Tensor) -> None:
    """Raise ``ValueError`` unless ``x`` is time-major node features ``[T, N, F]``."""
    if x.dim() != 3:
        raise ValueError(
            f"{type(layer).__name__} expects node inputs of shape [T, num_nodes, F], "
            f"got {tuple(x.shape)}."
        )
