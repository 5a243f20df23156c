"""Build the 2×2 down-sampling of the reference CNNs by name."""

from torch import nn

POOLS = ("avg", "max")


def make_pool(name: str, kernel_size: int = 2) -> nn.Module:
    """Return a fresh pooling module with stride equal to its kernel size.

    Args:
        name (str): ``"avg"`` (exact in a spiking network, the default of every reference
            CNN) or ``"max"``.
        kernel_size (int): window and stride. (default: ``2``)
    """
    if name == "avg":
        return nn.AvgPool2d(kernel_size)
    if name == "max":
        return nn.MaxPool2d(kernel_size)
    raise ValueError(f"Unknown pooling {name!r}; choose one of {POOLS}.")
