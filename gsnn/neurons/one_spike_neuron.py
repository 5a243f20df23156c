"""Single-spike phase neuron of One-Spike SNN (Hwang & Kung, IEEE TETC 2024) [R]."""

import torch
from torch import Tensor

from gsnn.neurons.if_neuron import Number, _as_buffer
from gsnn.neurons.neuron import Neuron
from gsnn.neurons.validation import check_time_axis


class OneSpikeNeuron(Neuron):
    r"""Integrates a window, then fires at most once, on a geometric ladder of values.

    The potential :math:`V = \sum_k I(k)` of the integration window is compared
    with the decaying threshold :math:`c\,\theta B^{-k}` at phases
    :math:`k = 0, \dots, K-1`; the neuron fires once, at the first crossing
    :math:`k^*`, and its spike stands for :math:`\theta B^{-k^*}` (methods.md §5,
    oracle O11). Below :math:`c\,\theta B^{-(K-1)}` it stays silent; values above
    :math:`\theta` fire at phase 0 (clipped to :math:`\theta`). The value is
    carried by the phase: the receiving layer weights step :math:`k` by
    :math:`B^{-k}` after its matmul, and :math:`\theta` is folded into its weights.

    Threshold shift: ``shift=None`` picks :math:`c = (1 + 1/B)/2`, which rounds to
    the nearest ladder value (relative error at most :math:`(B-1)/(B+1)`);
    :math:`c = 1` truncates (error below :math:`(B-1)/B`). Base manipulation:
    any :math:`B > 1`, e.g. :math:`B < 2` for a denser ladder at the cost of range.

    Args:
        threshold (float or Tensor): top of the ladder :math:`\theta > 0`.
        base (float): ladder base :math:`B > 1`. (default: ``2.0``)
        shift (float, optional): threshold-shift factor :math:`c \in (0, 1]`.

    Shapes:
        - **input:** currents of the integration window :math:`(K, *)`
        - **output:** spikes of the firing window :math:`(K, *)`, at most one per neuron
    """

    def __init__(self, threshold: Number = 1.0, base: float = 2.0, shift=None) -> None:
        super().__init__()
        threshold = _as_buffer(threshold, "threshold")
        if (threshold <= 0).any():
            raise ValueError("OneSpikeNeuron: threshold must be > 0 everywhere.")
        if not base > 1:
            raise ValueError(f"OneSpikeNeuron: base must be > 1, got {base!r}.")
        shift = (1 + 1 / base) / 2 if shift is None else shift
        if not 0 < shift <= 1:
            raise ValueError(f"OneSpikeNeuron: shift must lie in (0, 1], got {shift!r}.")
        self.register_buffer("threshold", threshold)
        self.base = float(base)
        self.shift = float(shift)

    def forward(self, current: Tensor) -> Tensor:
        check_time_axis(self, current)
        phases = current.shape[0]
        potential = current.sum(dim=0)
        theta = self.threshold.to(current.dtype)
        ladder = self.base ** -torch.arange(phases, dtype=current.dtype)
        ladder = ladder.view(-1, *([1] * potential.dim()))
        crossed = potential >= self.shift * theta * ladder  # [K, *]
        # the ladder falls with k, so crossed never turns false again: the first crossing
        # is where it turns true (one pass, no running count)
        first = crossed.clone()
        first[1:] ^= crossed[:-1]
        return first.to(current.dtype)

    def extra_repr(self) -> str:
        shown = f"{self.threshold.item():g}" if self.threshold.numel() == 1 else "tensor"
        return f"threshold={shown}, base={self.base:g}, shift={self.shift:g}"
