"""Noisy quantise-clip: the quantisation-aware ANN stage of the dual-phase conversion."""

from typing import Optional

import torch
from torch import Tensor

from gsnn.ann.trainable_bound import TrainableBound


class NoisyQC(TrainableBound):
    r"""Clip to :math:`[0, |\lambda|]` and quantise to :math:`T` levels, with quantisation noise.

    Stage 1b of the dual-phase conversion (Wang et al., methods.md §3). With
    :math:`u = zT/|\lambda|`:

    .. math::
        \text{eval:}\quad a = |\lambda| \cdot \mathrm{clip}\left(
        \frac{\lfloor u + \tfrac12 \rfloor}{T}, 0, 1\right)

    In training each element is quantised with probability :math:`1 - p` and
    left unquantised with probability :math:`p` (the "noise"), and the rounding
    passes gradients straight through, so both :math:`z` and :math:`\lambda`
    keep learning. An IF neuron with threshold :math:`|\lambda|`, soft reset and
    :math:`v_0 = |\lambda|/2` reproduces the eval output exactly after :math:`T`
    steps of constant input (methods.md O1/O5).

    Deviation from the reference code: rounding is :math:`\lfloor u + 1/2\rfloor`
    (ties half up, the neuron's rule) instead of ``torch.round`` (half to even),
    so that O5 holds at the ties too.

    Args:
        steps (int): the target number of time steps :math:`T \geq 1` (quantisation
            levels). (default: ``8``)
        noise_prob (float): probability :math:`p \in [0, 1]` that an element stays
            unquantised in training. (default: ``0.1``)
        init_threshold (float, optional): initial :math:`\lambda > 0`; ``None`` sets
            it from the data on the first forward pass (the largest input).
            (default: ``None``)

    Shapes:
        - **input:** :math:`(*)`
        - **output:** :math:`(*)`
    """

    def __init__(
        self, steps: int = 8, noise_prob: float = 0.1, init_threshold: Optional[float] = None
    ) -> None:
        super().__init__("NoisyQC", init_threshold)
        if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
            raise ValueError(f"NoisyQC: steps must be an integer >= 1, got {steps!r}.")
        if not 0.0 <= noise_prob <= 1.0:
            raise ValueError(f"NoisyQC: noise_prob must lie in [0, 1], got {noise_prob!r}.")
        self.steps = steps
        self.noise_prob = float(noise_prob)

    def forward(self, x: Tensor) -> Tensor:
        self.initialise_bound(x)
        bound = self.threshold.abs()
        scaled = x * self.steps / bound
        # floor(u + 1/2): ties half up, as the IF neuron with v0 = theta/2 fires
        rounded = scaled + (torch.floor(scaled + 0.5) - scaled).detach()
        if self.training and self.noise_prob > 0:
            keep = torch.rand_like(scaled) < self.noise_prob
            rounded = torch.where(keep, scaled, rounded)
        return bound * torch.clamp(rounded / self.steps, 0, 1)

    def extra_repr(self) -> str:
        return (
            f"steps={self.steps}, noise_prob={self.noise_prob:g}, "
            f"threshold={self.threshold.item():.4g}"
        )
