"""The coder contract: what every input coder declares, and its steps chunk by chunk."""

from typing import Iterator, Optional

from torch import Tensor, nn

from gsnn.coding.validation import check_time_steps


class Coder(nn.Module):
    r"""Base class of input coders: ``forward(x, T) -> [T, *x.shape]`` currents or spikes.

    :meth:`chunks` yields the same steps in blocks, so a network simulated in
    chunks of steps (:attr:`gsnn.SpikingNetwork.steps_per_chunk`) never holds
    the whole :math:`(T, *)` code. Subclasses implement :meth:`chunks`;
    :meth:`forward` is one chunk of all :math:`T` steps. Any state a code
    carries from chunk to chunk lives in the generator of one call, so one
    coder serves concurrent calls.

    Attributes:
        amplitude (Tensor, optional): the value one spike of the code stands for,
            which the converter folds into the layers reading the input (like a
            neuron's threshold); ``None`` for codes whose outputs are the values
            themselves (analog current) or unit spikes of a rate code.

    Shapes:
        - **input:** :math:`(*)`
        - **output:** :math:`(T, *)`
    """

    amplitude: Optional[Tensor] = None

    def chunks(self, x: Tensor, T: int, steps_per_chunk: int) -> Iterator[Tensor]:
        """Yield the code of ``x`` for ``T`` steps in blocks of ``steps_per_chunk`` steps
        (the last block may be shorter); concatenated they equal ``coder(x, T)``."""
        raise NotImplementedError

    def forward(self, x: Tensor, T: int) -> Tensor:
        check_time_steps(T)
        return next(self.chunks(x, T, T))


def chunk_lengths(T: int, steps_per_chunk: int) -> Iterator[int]:
    """The lengths of consecutive chunks covering ``T`` steps."""
    check_time_steps(T)
    if isinstance(steps_per_chunk, bool) or not isinstance(steps_per_chunk, int):
        raise ValueError(f"steps_per_chunk must be a positive int, got {steps_per_chunk!r}.")
    if steps_per_chunk < 1:
        raise ValueError(f"steps_per_chunk must be >= 1, got {steps_per_chunk}.")
    for start in range(0, T, steps_per_chunk):
        yield min(steps_per_chunk, T - start)
