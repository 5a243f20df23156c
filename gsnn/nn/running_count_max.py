"""What every max over spike trains shares: the max of running counts, emitted as increments."""

from typing import Callable, ClassVar

import torch
from torch import Tensor

from gsnn.nn.structural_op import StructuralOp
from gsnn.nn.time_constant import is_time_constant, map_steps


class RunningCountMax(StructuralOp):
    r"""Base class of max ops that are exact on spike counts (methods.md O16b).

    A per-step max of spikes over-counts whenever the inputs' spikes are not
    nested (O16a). A subclass instead takes the max of the running counts
    :math:`C_i(t) = \sum_{\tau \le t} s_i(\tau)` and emits the increments

    .. math::
        o(t) = \max_i C_i(t) - \max_i C_i(t-1),

    so the output count after every step is the largest input count. Exact for
    codes whose value is the spike count (rate, qcfs, two-phase, one-spike), and
    for the analog input, a constant current :math:`x` whose running sum
    :math:`t x` has the max :math:`t \max_i x_i`. Weighted digit codes (phase,
    CSS) are not monotone in the count, so the converter refuses them.

    By default every call starts from zero counts. Set :attr:`keep_state` to
    ``True`` to stream a long input in chunks of steps; :meth:`reset` then
    starts a new sample.

    Attributes:
        operation (str): what the op computes, for the converter's messages.
        linear_alternative (str): the linear op to train with instead where a
            method's spikes are not counts.
    """

    stateful = True
    exact_for_counts_only = True
    operation: ClassVar[str]
    linear_alternative: ClassVar[str]

    def __init__(self) -> None:
        super().__init__()
        self.keep_state = False
        self.reset()

    def reset(self) -> None:
        """Forget the running counts kept between calls (``keep_state=True``)."""
        self._input_counts = None
        self._max_counts = None

    def running_max(self, x: Tensor, maximum: Callable[[Tensor], Tensor]) -> Tensor:
        """Increments of ``maximum`` applied to the running counts of ``x`` (time first).

        ``maximum`` maps counts :math:`(T, *)` to their max for every step and
        must be positively homogeneous (a max of scaled copies of its input).
        """
        if is_time_constant(x) and not self.keep_state:
            return map_steps(maximum, x)  # max_i(t x_i) = t max_i x_i: constant increments
        running = torch.cumsum(x, dim=0)
        if self.keep_state and self._input_counts is not None:
            running = running + self._input_counts
        counts = maximum(running)
        previous = torch.zeros_like(counts[:1])
        if self.keep_state and self._max_counts is not None:
            previous = self._max_counts
        if self.keep_state:
            self._input_counts, self._max_counts = running[-1:], counts[-1:]
        return torch.diff(counts, dim=0, prepend=previous)
