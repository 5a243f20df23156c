"""Stochastic rate coding: independent Bernoulli spikes with the input as probability."""

from typing import Iterator, Optional

import torch
from torch import Tensor

from gsnn.coding.coder import Coder, chunk_lengths
from gsnn.coding.validation import check_unit_interval


class BernoulliRateCoder(Coder):
    r"""Emits a spike at every step with probability equal to the input value.

    :math:`s(t) \sim \mathrm{Bernoulli}(x)` independently per step, so
    :math:`\mathbb{E}[N] = xT` (oracle O18). Inputs must lie in :math:`[0, 1]`
    (e.g. after ``torch_geometric.transforms.NormalizeFeatures`` or a min-max
    scaling). In chunks of steps the noise is drawn chunk by chunk from one
    generator per call, in step order, so a seeded coder gives the same spikes
    for every chunk size.

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

    def chunks(self, x: Tensor, T: int, steps_per_chunk: int) -> Iterator[Tensor]:
        check_unit_interval(self, x, "they are spike probabilities")
        generator = None
        if self.seed is not None:
            generator = torch.Generator(device=x.device).manual_seed(self.seed)
        for steps in chunk_lengths(T, steps_per_chunk):
            noise = torch.rand(
                (steps, *x.shape), generator=generator, dtype=x.dtype, device=x.device
            )
            yield (noise < x).to(x.dtype)

    def extra_repr(self) -> str:
        return f"seed={self.seed}"
