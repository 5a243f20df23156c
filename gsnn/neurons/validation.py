"""Argument checks shared by the neurons."""

from torch import Tensor, nn


def check_time_axis(neuron: nn.Module, current: Tensor) -> None:
    """Raise ``ValueError`` unless ``current`` has a leading time axis."""
    if current.dim() < 1:
        raise ValueError(
            f"{type(neuron).__name__} expects currents of shape [T, ...] with a leading time "
            f"axis, got a tensor of shape {tuple(current.shape)}."
        )
