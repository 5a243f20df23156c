"""Non-spiking output layer: accumulates currents and decodes logits at every step."""

import torch
from torch import Tensor, nn


class MeanReadout(nn.Module):
    r"""Decodes the output currents of a rate-coded network.

    The output layer never spikes. Its decoded value after :math:`t` steps is
    the running mean :math:`y(t) = \frac{1}{t}\sum_{\tau \le t} I(\tau)`, so the
    logits at every step come out of the same pass.

    Shapes:
        - **input:** output currents :math:`(T, *)`
        - **output:** logits after every step :math:`(T, *)`
    """

    def forward(self, currents: Tensor) -> Tensor:
        steps = torch.arange(1, currents.shape[0] + 1, dtype=currents.dtype)
        steps = steps.view(-1, *([1] * (currents.dim() - 1)))
        return torch.cumsum(currents, dim=0) / steps


class SumReadout(nn.Module):
    r"""Decodes the output currents of a weighted (phase or single-spike) code.

    The step weights are already applied by the synaptic layer, so the value
    after :math:`t` steps is the accumulated membrane
    :math:`y(t) = \sum_{\tau \le t} I(\tau)`, complete at the end of the window.

    Shapes:
        - **input:** output currents :math:`(T, *)`
        - **output:** logits after every step :math:`(T, *)`
    """

    def forward(self, currents: Tensor) -> Tensor:
        return torch.cumsum(currents, dim=0)


class WeightedSumReadout(nn.Module):
    r"""Decodes currents whose steps carry fixed weights (signed-digit codes).

    :math:`y(t) = \sum_{\tau \le t} w_\tau I(\tau)`; e.g. CSS weights the
    :math:`k`-th digit arriving at the output by :math:`\beta^{-k}`.

    Args:
        step_weights (Tensor): :math:`(S,)` weight of every step.

    Shapes:
        - **input:** output currents :math:`(S, *)`
        - **output:** logits after every step :math:`(S, *)`
    """

    def __init__(self, step_weights: Tensor) -> None:
        super().__init__()
        self.register_buffer("step_weights", step_weights.detach().clone())

    def forward(self, currents: Tensor) -> Tensor:
        weights = self.step_weights.to(currents.dtype).view(-1, *([1] * (currents.dim() - 1)))
        return torch.cumsum(currents * weights, dim=0)
