"""Single-spike phase coding of the input (the input code of One-Spike SNN) [R]."""

from typing import Iterator

import torch
from torch import Tensor

from gsnn.coding.coder import Coder, chunk_lengths
from gsnn.coding.validation import check_time_steps
from gsnn.neurons import OneSpikeNeuron


class SingleSpikeCoder(Coder):
    r"""Encodes each non-negative input value as at most one spike on a geometric ladder.

    A value :math:`x` becomes one spike at phase :math:`k^*` standing for
    :math:`\theta B^{-k^*}` (:class:`~gsnn.neurons.OneSpikeNeuron` fed :math:`x`
    once; relative error at most :math:`(B-1)/(B+1)` with the midpoint shift);
    zeros and values below the ladder send nothing. The receiving layer folds
    :attr:`amplitude` :math:`= \theta` into its weights and weights phase
    :math:`k` by :meth:`step_gains`.

    Args:
        threshold (float): top of the ladder :math:`\theta`, e.g. the largest input.
        base (float): ladder base :math:`B > 1`. (default: ``2.0``)
        shift (float, optional): threshold-shift factor; ``None`` for the midpoint.

    Shapes:
        - **input:** :math:`(*)`, non-negative
        - **output:** :math:`(K, *)` binary spikes, at most one per value
    """

    def __init__(self, threshold: float, base: float = 2.0, shift=None) -> None:
        super().__init__()
        self.neuron = OneSpikeNeuron(threshold, base=base, shift=shift)
        self.amplitude = self.neuron.threshold.clone()

    def step_gains(self, steps: int) -> Tensor:
        """The value of a spike at each phase, relative to :attr:`amplitude`."""
        return self.neuron.base ** -torch.arange(steps, dtype=torch.float64)

    def chunks(self, x: Tensor, T: int, steps_per_chunk: int) -> Iterator[Tensor]:
        """The whole code, cut into chunks: the one-spike schedule is windowed and runs its
        network in one pass anyway."""
        yield from self._encode(x, T).split(list(chunk_lengths(T, steps_per_chunk)))

    def _encode(self, x: Tensor, T: int) -> Tensor:
        check_time_steps(T)
        if x.numel() and x.min() < 0:
            raise ValueError(
                "SingleSpikeCoder represents non-negative inputs only, got values down to "
                f"{x.min().item():g}; shift the features or use the analog coding."
            )
        current = torch.zeros((T, *x.shape), dtype=x.dtype, device=x.device)
        current[0] = x
        return self.neuron(current)
