"""Axonal delay: a branch's events arrive a fixed number of steps later."""

import torch
from torch import Tensor, nn


class SpikeDelay(nn.Module):
    r"""Delays a time-major tensor by ``steps``: :math:`y(t) = x(t - \text{steps})`, zero before.

    The converter puts one on the shallower input of a residual add (or
    concatenation) when the method's schedule needs the branches aligned in
    time, e.g. CSS, whose layer :math:`l` fires from step :math:`l d` on: an
    identity shortcut that skips :math:`g` spiking layers is delayed by
    :math:`g d` steps, so that digits of equal weight meet (methods.md §4,
    "align silent periods of both branches"). A delay is weightless and costs
    no synaptic operation.

    Args:
        steps (int): delay in steps, at least 1.

    Shapes:
        - **input:** :math:`(S, *)`
        - **output:** :math:`(S, *)`
    """

    def __init__(self, steps: int) -> None:
        super().__init__()
        if not isinstance(steps, int) or steps < 1:
            raise ValueError(f"SpikeDelay: steps must be an integer >= 1, got {steps!r}.")
        self.steps = steps

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[0] <= self.steps or x[-self.steps :].any():
            raise ValueError(
                f"SpikeDelay({self.steps}) would push events past the last of the "
                f"{x.shape[0]} simulated steps; the method's simulation_steps must cover "
                "the deepest branch's schedule."
            )
        return torch.cat([torch.zeros_like(x[: self.steps]), x[: -self.steps]], dim=0)

    def extra_repr(self) -> str:
        return f"steps={self.steps}"
