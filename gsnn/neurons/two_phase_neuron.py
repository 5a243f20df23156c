"""Integrate-then-fire neuron of the two-phase (SpikeConverter-style) schedule."""

import torch
from torch import Tensor

from gsnn.neurons.if_neuron import Number, _as_buffer
from gsnn.neurons.neuron import Neuron
from gsnn.neurons.validation import check_time_axis


class TwoPhaseNeuron(Neuron):
    r"""Integrates a whole window of input, then fires in the next window.

    Phase A sums the input of the window, :math:`V = v_0 + \sum_t I(t)`; phase B
    emits :math:`N = \mathrm{clip}(\lfloor V/\theta \rfloor, 0, T)` spikes, one
    per step from the start of its firing window (methods.md O8). The count is
    an exact function of the total input, whatever its order or sign, so a
    network of these neurons with :math:`v_0 = \theta/2` equals a QCFS ANN with
    :math:`L = T` at any depth (O22a). [R]: reconstruction of SpikeConverter
    (Liu et al., AAAI 2022) from its abstract.

    Time indices of the output refer to the neuron's own firing window; in a
    network the window of layer :math:`l` starts :math:`l \cdot T` steps after the
    input, so the end-to-end latency is :math:`(L+1) T` (O20). The layer-major
    simulation processes whole windows, so the shift needs no extra work.

    Args:
        threshold (float or Tensor): firing threshold :math:`\theta > 0` (per channel if a tensor).
        v0 (float or Tensor): initial potential, :math:`\theta/2` for rounding. (default: ``0.0``)

    Shapes:
        - **input:** currents of the integration window :math:`(T, *)`
        - **output:** binary spikes of the firing window :math:`(T, *)`
    """

    def __init__(self, threshold: Number = 1.0, v0: Number = 0.0) -> None:
        super().__init__()
        threshold = _as_buffer(threshold, "threshold")
        if (threshold <= 0).any():
            raise ValueError("TwoPhaseNeuron: threshold must be > 0 everywhere.")
        self.register_buffer("threshold", threshold)
        self.register_buffer("v0", _as_buffer(v0, "v0"))

    def forward(self, current: Tensor) -> Tensor:
        check_time_axis(self, current)
        steps = current.shape[0]
        potential = self.v0.to(current.dtype) + current.sum(dim=0)
        count = torch.clamp(torch.floor(potential / self.threshold.to(current.dtype)), 0, steps)
        step_index = torch.arange(steps, dtype=current.dtype).view(-1, *([1] * count.dim()))
        return (step_index < count).to(current.dtype)

    def extra_repr(self) -> str:
        def show(t: Tensor) -> str:
            return f"{t.item():g}" if t.numel() == 1 else f"tensor{tuple(t.shape)}"

        return f"threshold={show(self.threshold)}, v0={show(self.v0)}"
