"""One-to-one synapses: each neuron drives one target with a fixed weight."""

import torch
from torch import Tensor

from gsnn.nn.synaptic_layer import SynapticLayer


class OneToOneSynapse(SynapticLayer):
    r"""Carries spikes to a non-synaptic consumer (a residual add, a concatenation).

    Spikes stay binary in the neuron; where the receiver is not a weighted
    layer into which the threshold can be folded, this synapse applies the
    per-channel weight :math:`\theta`: :math:`y(t) = \theta \odot s(t)`. Every
    spike costs one accumulate.

    Args:
        gain (Tensor): weight per channel (scalar or :math:`(F,)`).

    Shapes:
        - **input:** spikes :math:`(T, *, F)`
        - **output:** currents :math:`(T, *, F)`
    """

    def __init__(self, gain: Tensor) -> None:
        super().__init__()
        self.register_buffer("gain", torch.as_tensor(gain).detach().clone())

    def forward(self, x: Tensor) -> Tensor:
        return self.finish_steps(x * self.gain.to(x.dtype), None)

    def synaptic_fanout(self, x: Tensor) -> Tensor:
        """One accumulate per event."""
        return torch.ones((), dtype=x.dtype)

    def dense_macs(self, x: Tensor) -> int:
        """The ANN has no such operation: its activation feeds the add directly."""
        return 0

    def extra_repr(self) -> str:
        return (
            f"gain={self.gain.item():g}"
            if self.gain.numel() == 1
            else f"gain{tuple(self.gain.shape)}"
        )
