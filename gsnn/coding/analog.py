"""Analog (direct) input: the input itself is injected as a constant current."""

from typing import Iterator

from torch import Tensor

from gsnn.coding.coder import Coder, chunk_lengths


class AnalogCoder(Coder):
    r"""Injects the input unchanged as a constant current at every step.

    This is the default input coding of Deng & Gu, QCFS and the dual-phase
    method: the first synaptic layer sees the real-valued input. The result is
    a stride-0 view along time, so time-invariant layers compute it once (see
    :func:`gsnn.nn.time_constant.is_time_constant`).

    Shapes:
        - **input:** :math:`(*)`
        - **output:** :math:`(T, *)`, a view without copies
    """

    def chunks(self, x: Tensor, T: int, steps_per_chunk: int) -> Iterator[Tensor]:
        for steps in chunk_lengths(T, steps_per_chunk):
            # stride 0 along time even for one step, so every chunk is time-constant
            yield x.as_strided((steps, *x.shape), (0, *x.stride()), x.storage_offset())
