"""Argument checks shared by coders and the spiking network."""

from torch import Tensor


def check_time_steps(T) -> None:
    """Raise ``ValueError`` unless ``T`` is a positive integer."""
    if isinstance(T, bool) or not isinstance(T, int) or T <= 0:
        raise ValueError(f"The number of time steps T must be a positive integer, got {T!r}.")


def check_unit_interval(coder, x: Tensor, why: str) -> None:
    """Raise ``ValueError`` unless every value of ``x`` lies in [0, 1] (a rate code's range)."""
    if x.numel() and (x.min() < 0 or x.max() > 1):
        raise ValueError(
            f"{type(coder).__name__} needs inputs in [0, 1] ({why}), got values in "
            f"[{x.min().item():g}, {x.max().item():g}]. Rescale the features first or use "
            "the analog coder."
        )
