"""Stochastic rate coding: independent Bernoulli spikes with the input as probability."""

from typing import Optional

import torch
from torch import Tensor

from gsnn.coding.coder import Coder
from gsnn.coding.validation import check_time_steps


class BernoulliRateCoder(Coder):
    r"""Emits a spike at every step with probability equal to the input value.

    :math:`s(t) \sim \mathrm{Bernoulli}(x)` independently per step, so
    :math:`\mathbb{E}[N] = xT` (oracle O18). Inputs must lie in :math:`[0, 1]`
    (e.g. after ``torch_geometric.transforms.NormalizeFeatures`` or a min-max
    scaling).

    Args:
        seed (int, optional): seed of a private generator, for reproducible
            spike trains. (default: ``None``, the global generator)

    Shapes:
        - **input:** :math:`(*)` with values in :math:`[0, 1]`
        - **output:** :math:`(T, *)` binary spikes
    """

    def __init__(self, seed: Optional[int] = None) -> None:
        super().__init__()
        self.seed = seed

    def forward(self, x: Tensor, T: int) -> Tensor:
        check_time_steps(T)
        if x.numel() and (x.min() < 0 or x.max() > 1):
            raise ValueError(
                "BernoulliRateCoder needs inputs in [0, 1] (they are spike probabilities), "
                f"got values in [{x.min().item():g}, {x.max().item():g}]. Rescale the "
                "features first or use the analog coder."
            )
        generator = None
        if self.seed is not None:
            generator = torch.Generator(device=x.device).manual_seed(self.seed)
        noise = torch.rand((T, *x.shape), generator=generator, dtype=x.dtype, device=x.device)
        return (noise < x).to(x.dtype)

    def extra_repr(self) -> str:
        return f"seed={self.seed}"
