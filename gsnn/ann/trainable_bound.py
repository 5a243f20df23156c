"""A trainable activation bound that can initialise itself from the first batch."""

from typing import Optional

import torch
from torch import Tensor, nn


class TrainableBound(nn.Module):
    r"""Base of activations with a trainable upper bound :math:`\lambda` (``threshold``).

    With ``init_threshold=None`` the bound is set from the data on the first
    forward pass (the largest input, 1 if none is positive); a saved flag keeps
    a reloaded model from re-initialising. Subclasses call
    :meth:`initialise_bound` at the start of ``forward``.

    Args:
        name (str): the subclass name, for error messages.
        init_threshold (float, optional): initial :math:`\lambda > 0`.

    Shapes:
        - **input:** :math:`(*)`
        - **output:** :math:`(*)`
    """

    def __init__(self, name: str, init_threshold: Optional[float] = None) -> None:
        super().__init__()
        if init_threshold is not None and not init_threshold > 0:
            raise ValueError(f"{name}: init_threshold must be > 0, got {init_threshold!r}.")
        self.threshold = nn.Parameter(torch.tensor(float(init_threshold or 1.0)))
        self.register_buffer("initialised", torch.tensor(init_threshold is not None))

    @torch.no_grad()
    def initialise_bound(self, x: Tensor) -> None:
        """Set :math:`\\lambda` from ``x`` unless it was set before."""
        if self.initialised:
            return
        largest = float(x.max()) if x.numel() else 0.0
        self.threshold.fill_(largest if largest > 0 else 1.0)
        self.initialised.fill_(True)
