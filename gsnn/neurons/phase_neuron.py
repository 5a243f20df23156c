"""Weighted-spike neuron of phase coding (Kim, Park, Na, Yoon, Neurocomputing 2018)."""

import torch
from torch import Tensor

from gsnn.neurons.if_neuron import Number, _as_buffer
from gsnn.neurons.neuron import Neuron
from gsnn.neurons.validation import check_time_axis


def phase_weights(steps: int, period: int, dtype: torch.dtype = torch.float64) -> Tensor:
    r"""The phase weights :math:`\omega(t) = 2^{-(1 + (t \bmod K))}`, :math:`t = 0, \dots, S-1`."""
    return 2.0 ** -(1 + torch.arange(steps, dtype=dtype) % period)


class PhaseNeuron(Neuron):
    r"""Integrate-and-fire neuron whose threshold and spike value follow the phase.

    Time is divided into periods of :math:`K` phases with weights
    :math:`\omega(t) = 2^{-(1 + (t \bmod K))}`. The neuron integrates its
    (already phase-weighted) input, fires when :math:`m \ge \theta\,\omega(t)` and
    subtracts :math:`\theta\,\omega(t)`, so each spike stands for
    :math:`\theta\,\omega(t)` and one period carries a :math:`K`-bit binary
    fraction of the activation instead of a count. The residual stays in the
    membrane and refines later periods. The receiving layer multiplies step
    :math:`t` by :math:`\omega(t)` after its matmul.

    Args:
        threshold (float or Tensor): :math:`\theta > 0`.
        period (int): phases per period :math:`K`. (default: ``8``)

    Shapes:
        - **input:** currents :math:`(T, *)`
        - **output:** binary spikes :math:`(T, *)`
    """

    def __init__(self, threshold: Number = 1.0, period: int = 8) -> None:
        super().__init__()
        threshold = _as_buffer(threshold, "threshold")
        if (threshold <= 0).any():
            raise ValueError("PhaseNeuron: threshold must be > 0 everywhere.")
        if not isinstance(period, int) or period < 1:
            raise ValueError(f"PhaseNeuron: period must be an integer >= 1, got {period!r}.")
        self.register_buffer("threshold", threshold)
        self.period = period

    def forward(self, current: Tensor) -> Tensor:
        check_time_axis(self, current)
        theta = self.threshold.to(current.dtype)
        weights = phase_weights(current.shape[0], self.period, current.dtype)
        membrane = torch.zeros(current.shape[1:], dtype=current.dtype)
        spikes = torch.empty(current.shape, dtype=current.dtype)
        for t in range(current.shape[0]):
            membrane = membrane + current[t]
            level = theta * weights[t]
            spikes[t] = (membrane >= level).to(current.dtype)
            membrane = membrane - level * spikes[t]
        return spikes

    def extra_repr(self) -> str:
        shown = f"{self.threshold.item():g}" if self.threshold.numel() == 1 else "tensor"
        return f"threshold={shown}, period={self.period}"
