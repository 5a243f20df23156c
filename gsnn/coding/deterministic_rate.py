"""Deterministic rate coding: an integrate-and-fire neuron driven by the input value."""

from typing import Iterator

from torch import Tensor

from gsnn.coding.coder import Coder, chunk_lengths
from gsnn.coding.validation import check_unit_interval
from gsnn.neurons import IFNeuron


class DeterministicRateCoder(Coder):
    r"""Turns each input value into a regular spike train.

    An :class:`~gsnn.neurons.IFNeuron` with threshold 1, soft reset and initial
    potential :math:`\varphi` is fed :math:`x` at every step, so the count after
    :math:`t` steps is :math:`\lfloor t x + \varphi \rfloor` (oracle O18, O1).
    Every call builds its own neuron, which carries its membrane from chunk to
    chunk of steps.

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

    def chunks(self, x: Tensor, T: int, steps_per_chunk: int) -> Iterator[Tensor]:
        check_unit_interval(self, x, "one spike per step at most")
        neuron = IFNeuron(threshold=1.0, v0=self.phase)
        neuron.keep_state = True
        for steps in chunk_lengths(T, steps_per_chunk):
            yield neuron(x.unsqueeze(0).expand(steps, *x.shape))

    def extra_repr(self) -> str:
        return f"phase={self.phase}"
