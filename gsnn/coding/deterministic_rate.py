"""Deterministic rate coding: an integrate-and-fire neuron driven by the input value."""

from torch import Tensor

from gsnn.coding.coder import Coder
from gsnn.coding.validation import check_time_steps
from gsnn.neurons import IFNeuron


class DeterministicRateCoder(Coder):
    r"""Turns each input value into a regular spike train.

    An :class:`~gsnn.neurons.IFNeuron` with threshold 1, soft reset and initial
    potential :math:`\varphi` is fed :math:`x` at every step, so the count after
    :math:`t` steps is :math:`\lfloor t x + \varphi \rfloor` (oracle O18, O1).

    Args:
        phase (float): initial potential :math:`\varphi \in [0, 1)`;
            ``0.5`` rounds instead of truncating. (default: ``0.0``)

    Shapes:
        - **input:** :math:`(*)` with values in :math:`[0, 1]`
        - **output:** :math:`(T, *)` binary spikes
    """

    def __init__(self, phase: float = 0.0) -> None:
        super().__init__()
        if not 0.0 <= phase < 1.0:
            raise ValueError(f"DeterministicRateCoder: phase must lie in [0, 1), got {phase!r}.")
        self.phase = phase
        self.neuron = IFNeuron(threshold=1.0, v0=phase)

    def forward(self, x: Tensor, T: int) -> Tensor:
        check_time_steps(T)
        if x.numel() and (x.min() < 0 or x.max() > 1):
            raise ValueError(
                "DeterministicRateCoder needs inputs in [0, 1] (one spike per step at most), "
                f"got values in [{x.min().item():g}, {x.max().item():g}]. Rescale the "
                "features first or use the analog coder."
            )
        return self.neuron(x.unsqueeze(0).expand(T, *x.shape))

    def extra_repr(self) -> str:
        return f"phase={self.phase}"
